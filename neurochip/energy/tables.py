"""Profile tables of the energy model: the ``[energy]`` and ``[resources]`` figures, validated.

``neurochip.profile`` keeps these tables raw; here every figure is checked and becomes a
:class:`Figure` (value, source, estimate)::

    [energy]                      unit = "pJ", learning = true|false, source = "..."
    [energy.<op>]                 pj = <number >= 0> | "unknown", source = "...", estimate = bool
    [resources.<key>]             value = <int>, source = "...", estimate = bool

See ``docs/energy.md`` for every key and its source.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import NeurochipError
from ..profile import Profile

UNIT = "pJ"
#: op kinds every [energy] table prices (forward / inference)
INFERENCE_KEYS = ("syn_ac", "syn_mac", "neuron_active", "neuron_idle", "spike_msg", "prng_draw")
#: op kinds a profile with ``learning = true`` must also price
LEARNING_KEYS = ("trace_update", "surrogate_eval", "loss_eval", "error_msg", "bwd_syn_op",
                 "weight_update", "weight_write", "acc_write")
#: op kinds only the ANN baseline needs
OPTIONAL_KEYS = ("ann_mac", "sram_read_64b")
ENERGY_TOP = ("unit", "learning", "source")

RESOURCE_KEYS = ("cores_per_chip", "neurons_per_core", "synaptic_memory_bytes_per_core",
                 "max_weight_bits", "max_fan_in")
OPTIONAL_RESOURCE_KEYS = ("neurons_per_chip", "synapses_per_chip")
_ZERO_OK = ("max_fan_in",)   # 0 = no separate limit


@dataclass(frozen=True)
class Figure:
    key: str
    value: float | None        # pJ (energy) or a count (resources); None: unknown, not priced
    source: str
    estimate: bool


@dataclass(frozen=True)
class EnergyModel:
    profile: str
    path: str
    learning: bool
    source: str
    figures: dict[str, Figure] = field(default_factory=dict)

    def pj(self, key: str) -> float | None:
        return self.figures[key].value


@dataclass(frozen=True)
class ResourceModel:
    profile: str
    path: str
    figures: dict[str, Figure] = field(default_factory=dict)

    def __getitem__(self, key: str) -> int | None:
        f = self.figures.get(key)
        return None if f is None else int(f.value)


def _figure(where: str, key: str, tab, value_key: str, allow_unknown: bool, integer: bool,
            zero_ok: bool = True) -> Figure:
    name = f"{where}.{key}"
    if not isinstance(tab, dict):
        raise NeurochipError(f"'{name}' must be a table with keys {value_key}, source, estimate")
    for k in (value_key, "source", "estimate"):
        if k not in tab:
            raise NeurochipError(f"missing key '{name}.{k}'")
    unknown = set(tab) - {value_key, "source", "estimate"}
    if unknown:
        raise NeurochipError(f"unknown key '{name}.{sorted(unknown)[0]}'")
    v = tab[value_key]
    if allow_unknown and v == "unknown":
        value = None
    else:
        ok_type = isinstance(v, int) if integer else isinstance(v, (int, float))
        if isinstance(v, bool) or not ok_type or not math.isfinite(v) or v < 0 or (v == 0 and not zero_ok):
            want = ("a positive integer" if integer and not zero_ok else
                    "a non-negative integer" if integer else "a non-negative number")
            if allow_unknown:
                want += ' or "unknown"'
            raise NeurochipError(f"key '{name}.{value_key}' must be {want}, got {v!r}")
        value = float(v) if not integer else int(v)
    src = tab["source"]
    if not isinstance(src, str) or not src.strip():
        raise NeurochipError(f"key '{name}.source' must be a non-empty string naming where the figure comes from")
    if not isinstance(tab["estimate"], bool):
        raise NeurochipError(f"key '{name}.estimate' must be true or false")
    return Figure(key, value, src.strip(), tab["estimate"])


def energy_model(profile: Profile) -> EnergyModel:
    """Validate ``profile.energy``; errors name the missing or malformed key."""
    where = profile.source or profile.name
    d = profile.energy
    if not d:
        raise NeurochipError(f"{where}: profile '{profile.name}' has no [energy] table (missing key 'energy')")
    for k in ("unit", "learning"):
        if k not in d:
            raise NeurochipError(f"{where}: missing key 'energy.{k}'")
    if d["unit"] != UNIT:
        raise NeurochipError(f"{where}: key 'energy.unit' must be \"{UNIT}\", got {d['unit']!r}")
    if not isinstance(d["learning"], bool):
        raise NeurochipError(f"{where}: key 'energy.learning' must be true or false")
    if "source" in d and not isinstance(d["source"], str):
        raise NeurochipError(f"{where}: key 'energy.source' must be a string")
    known = set(ENERGY_TOP) | set(INFERENCE_KEYS) | set(LEARNING_KEYS) | set(OPTIONAL_KEYS)
    unknown = set(d) - known
    if unknown:
        raise NeurochipError(f"{where}: unknown key 'energy.{sorted(unknown)[0]}'")
    required = INFERENCE_KEYS + (LEARNING_KEYS if d["learning"] else ())
    figs = {}
    for k in required:
        if k not in d:
            raise NeurochipError(f"{where}: missing key 'energy.{k}'")
    for k in list(INFERENCE_KEYS) + list(LEARNING_KEYS) + list(OPTIONAL_KEYS):
        if k in d:
            try:
                figs[k] = _figure("energy", k, d[k], "pj", allow_unknown=True, integer=False)
            except NeurochipError as e:
                raise NeurochipError(f"{where}: {e}") from None
    return EnergyModel(profile.name, where, d["learning"], d.get("source", ""), figs)


def resource_model(profile: Profile) -> ResourceModel | None:
    """Validate ``profile.resources`` (None when the profile has no [resources] table)."""
    where = profile.source or profile.name
    d = profile.resources
    if not d:
        return None
    unknown = set(d) - set(RESOURCE_KEYS) - set(OPTIONAL_RESOURCE_KEYS)
    if unknown:
        raise NeurochipError(f"{where}: unknown key 'resources.{sorted(unknown)[0]}'")
    figs = {}
    for k in RESOURCE_KEYS:
        if k not in d:
            raise NeurochipError(f"{where}: missing key 'resources.{k}'")
    for k in RESOURCE_KEYS + OPTIONAL_RESOURCE_KEYS:
        if k in d:
            try:
                figs[k] = _figure("resources", k, d[k], "value", allow_unknown=False, integer=True,
                                  zero_ok=k in _ZERO_OK)
            except NeurochipError as e:
                raise NeurochipError(f"{where}: {e}") from None
    return ResourceModel(profile.name, where, figs)


def figures_of(profile: Profile) -> list[Figure]:
    """Every energy and resource figure of a profile (validated), for listings and tests."""
    out = list(energy_model(profile).figures.values())
    rm = resource_model(profile)
    if rm is not None:
        out += list(rm.figures.values())
    return out
