"""Hardware profiles: the bit widths and arithmetic conventions of one chip, read from TOML.

A profile is a data file in ``hw_profiles/`` (or any path the user gives). Nothing about a chip is
a constant in code: the kernels receive every width, shift and rounding mode from here.

Schema (every key is required; unknown keys are errors that name the key; ``energy`` and
``resources`` tables belong to the energy model and are validated there). A profile without the
three simulation tables is a pricing-only profile (e.g. the cmos45 ANN baseline)::

    name, description, lava_exact
    [neuron]   leak_shift, leak_rounding, reset, compare, membrane_bits, current_bits,
               current_overflow, input_shift, threshold, threshold_bits
    [synapse]  weight_bits, weight_lsb_shift, weight_exp_min, weight_exp_max, input_bits
    [learning] trace_bits, trace_frac_bits, trace_rounding, error_bits, error_frac_bits,
               surrogate_bits, accumulator_bits, accumulator_frac_bits, update_rounding,
               shadow_weight_bits

See ``docs/profiles.md`` for what each key means and where the loihi values come from.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NeurochipError


def _bundled_dir() -> Path:
    """Where the bundled profiles are: ``$NEUROCHIP_PROFILES`` if set; else ``neurochip/hw_profiles/``
    of an installed wheel (setup.py maps the top-level ``hw_profiles/`` there); else the top-level
    ``hw_profiles/`` of a source checkout (run with the repository on ``PYTHONPATH``, or editable)."""
    env = os.environ.get("NEUROCHIP_PROFILES")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    installed = here / "hw_profiles"
    return installed if installed.is_dir() else here.parent / "hw_profiles"


#: Folder of the bundled profiles (``hw_profiles/`` at the top level of the repository).
PROFILE_DIR = _bundled_dir()

# Integer codes used by the numba kernels (kernels never see strings).
LEAK_ROUNDING = {"floor": 0, "toward_zero": 1}
RESET = {"zero": 0, "subtract": 1}
COMPARE = {">": 0, ">=": 1}
OVERFLOW = {"wrap": 0, "clip": 1}
ROUNDING = {"floor": 0, "nearest": 1, "stochastic": 2}


def _int(lo: int, hi: int):
    return ("int", lo, hi)


def _choice(*opts: str):
    return ("choice", opts)


# key -> (kind, ...) ; the ranges are what the kernels support (int64 arithmetic, int32 storage).
_SCHEMA: dict[str, dict[str, tuple]] = {
    "neuron": {
        "leak_shift": _int(0, 12),
        "leak_rounding": _choice(*LEAK_ROUNDING),
        "reset": _choice(*RESET),
        "compare": _choice(*COMPARE),
        "membrane_bits": _int(8, 32),
        "current_bits": _int(8, 32),
        "current_overflow": _choice(*OVERFLOW),
        "input_shift": _int(0, 12),
        "threshold": _int(1, 2**24),
        "threshold_bits": _int(1, 24),
    },
    "synapse": {
        "weight_bits": _int(2, 16),
        "weight_lsb_shift": _int(0, 8),
        "weight_exp_min": _int(-16, 16),
        "weight_exp_max": _int(-16, 16),
        "input_bits": _int(1, 16),
    },
    "learning": {
        "trace_bits": _int(2, 16),
        "trace_frac_bits": _int(0, 15),
        "trace_rounding": _choice("floor", "stochastic"),
        "error_bits": _int(2, 16),
        "error_frac_bits": _int(0, 15),
        "surrogate_bits": _int(1, 12),
        "accumulator_bits": _int(4, 32),
        "accumulator_frac_bits": _int(0, 16),
        "update_rounding": _choice(*ROUNDING),
        "shadow_weight_bits": _int(0, 24),
    },
}
_TOP = {"name": "str", "description": "str", "lava_exact": "bool"}
_RAW_TABLES = ("energy", "resources")


@dataclass(frozen=True)
class NeuronSpec:
    leak_shift: int
    leak_rounding: str
    reset: str
    compare: str
    membrane_bits: int
    current_bits: int
    current_overflow: str
    input_shift: int
    threshold: int
    threshold_bits: int

    @property
    def threshold_membrane(self) -> int:
        """The threshold in membrane units: ``threshold << input_shift`` (Lava: ``vth << 6``)."""
        return self.threshold << self.input_shift


@dataclass(frozen=True)
class SynapseSpec:
    weight_bits: int
    weight_lsb_shift: int
    weight_exp_min: int
    weight_exp_max: int
    input_bits: int


@dataclass(frozen=True)
class LearningSpec:
    trace_bits: int
    trace_frac_bits: int
    trace_rounding: str
    error_bits: int
    error_frac_bits: int
    surrogate_bits: int
    accumulator_bits: int
    accumulator_frac_bits: int
    update_rounding: str
    shadow_weight_bits: int


@dataclass(frozen=True)
class Profile:
    """One chip's bit widths and arithmetic (``docs/profiles.md``), validated; frozen.

    Example::

        p = load_profile("loihi")
        print(p.synapse.weight_bits, p.replace("synapse.weight_bits", 6).synapse.weight_bits)
    """
    name: str
    description: str
    lava_exact: bool
    neuron: NeuronSpec | None          # None: a pricing-only profile (energy/resources, no simulation)
    synapse: SynapseSpec | None
    learning: LearningSpec | None
    energy: dict = field(default_factory=dict, compare=False)
    resources: dict = field(default_factory=dict, compare=False)
    source: str = field(default="", compare=False)

    @property
    def can_simulate(self) -> bool:
        return self.neuron is not None

    def require_simulation(self) -> "Profile":
        if not self.can_simulate:
            raise NeurochipError(f"profile '{self.name}' has no [neuron], [synapse] and [learning] tables: "
                                 "it can price operations but not simulate a network")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict, TOML-shaped (round-trips through :func:`profile_from_dict`)."""
        d = dataclasses.asdict(self)
        d.pop("source")
        for k in _SCHEMA:
            if d[k] is None:
                d.pop(k)
        for k in _RAW_TABLES:
            if not d[k]:
                d.pop(k)
        return d

    def with_overrides(self, **sections: dict[str, Any]) -> "Profile":
        """A copy with some keys replaced, e.g. ``with_overrides(neuron={'leak_shift': 2})``."""
        d = self.to_dict()
        for sec, kv in sections.items():
            if sec not in _SCHEMA:
                raise NeurochipError(f"profile override: unknown section '{sec}'")
            d[sec] = {**d[sec], **kv}
        return profile_from_dict(d, source=self.source + " (overridden)")

    def replace(self, key: str, value: Any) -> "Profile":
        """A validated copy with one key changed; ``key`` is ``'section.name'`` or a top-level key.

        Example::

            p6 = load_profile("loihi").replace("synapse.weight_bits", 6)

        Raises NeurochipError for an unknown key or a value the schema rejects (the message names
        the key, as for a TOML file)."""
        if not isinstance(key, str):
            raise NeurochipError(f"profile key must be a string like 'synapse.weight_bits', got {key!r}")
        d = self.to_dict()
        sec, dot, name = key.partition(".")
        if not dot:
            if key not in _TOP:
                raise NeurochipError(f"unknown profile key '{key}' (top-level keys: {', '.join(_TOP)}; "
                                     "others are 'section.key', e.g. 'synapse.weight_bits')")
            d[key] = value
        else:
            if sec not in _SCHEMA or name not in _SCHEMA[sec]:
                raise NeurochipError(f"unknown profile key '{key}'")
            if sec not in d:
                raise NeurochipError(f"profile '{self.name}' has no [{sec}] table (a pricing-only profile): "
                                     f"cannot set '{key}'")
            d[sec] = {**d[sec], name: value}
        src = self.source if self.source.endswith(" (overridden)") else self.source + " (overridden)"
        return profile_from_dict(d, source=src)


def _check(where: str, key: str, value: Any, spec: tuple) -> Any:
    kind = spec[0]
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise NeurochipError(f"{where}: key '{key}' must be an integer, got {value!r}")
        lo, hi = spec[1], spec[2]
        if not lo <= value <= hi:
            raise NeurochipError(f"{where}: key '{key}' = {value} is out of range [{lo}, {hi}]")
    else:
        if value not in spec[1]:
            raise NeurochipError(f"{where}: key '{key}' = {value!r} must be one of {', '.join(spec[1])}")
    return value


def profile_from_dict(d: dict[str, Any], source: str = "<dict>") -> Profile:
    """Validate a TOML-shaped dict and build a :class:`Profile`; errors name the offending key."""
    if not isinstance(d, dict):
        raise NeurochipError(f"{source}: a profile must be a table of keys")
    unknown = set(d) - set(_TOP) - set(_SCHEMA) - set(_RAW_TABLES)
    if unknown:
        raise NeurochipError(f"{source}: unknown key '{sorted(unknown)[0]}'")
    for key, kind in _TOP.items():
        if key not in d:
            raise NeurochipError(f"{source}: missing key '{key}'")
        want = bool if kind == "bool" else str
        if not isinstance(d[key], want):
            raise NeurochipError(f"{source}: key '{key}' must be a {kind}")
    present = [sec for sec in _SCHEMA if sec in d]
    if not present:
        # a pricing-only profile (e.g. the cmos45 ANN baseline): energy and resources, no simulation
        return Profile(name=d["name"], description=d["description"], lava_exact=d["lava_exact"],
                       neuron=None, synapse=None, learning=None, energy=dict(d.get("energy", {})),
                       resources=dict(d.get("resources", {})), source=source)
    sections = {}
    for sec, schema in _SCHEMA.items():
        table = d.get(sec)
        if not isinstance(table, dict):
            raise NeurochipError(f"{source}: missing table [{sec}]")
        unknown = set(table) - set(schema)
        if unknown:
            raise NeurochipError(f"{source}: unknown key '{sec}.{sorted(unknown)[0]}'")
        vals = {}
        for key, spec in schema.items():
            if key not in table:
                raise NeurochipError(f"{source}: missing key '{sec}.{key}'")
            vals[key] = _check(source, f"{sec}.{key}", table[key], spec)
        sections[sec] = vals
    for k in _RAW_TABLES:
        if k in d and not isinstance(d[k], dict):
            raise NeurochipError(f"{source}: '{k}' must be a table")
    p = Profile(
        name=d["name"], description=d["description"], lava_exact=d["lava_exact"],
        neuron=NeuronSpec(**sections["neuron"]), synapse=SynapseSpec(**sections["synapse"]),
        learning=LearningSpec(**sections["learning"]),
        energy=dict(d.get("energy", {})), resources=dict(d.get("resources", {})), source=source,
    )
    _check_consistency(p)
    return p


def _check_consistency(p: Profile) -> None:
    n, s, l = p.neuron, p.synapse, p.learning
    src = p.source
    if n.threshold >= 2**n.threshold_bits:
        raise NeurochipError(f"{src}: key 'neuron.threshold' = {n.threshold} does not fit threshold_bits = {n.threshold_bits}")
    if n.threshold_membrane >= 2 ** (n.membrane_bits - 1):
        raise NeurochipError(f"{src}: key 'neuron.threshold' << input_shift does not fit membrane_bits = {n.membrane_bits}")
    if s.weight_exp_min > s.weight_exp_max:
        raise NeurochipError(f"{src}: key 'synapse.weight_exp_min' is larger than weight_exp_max")
    if l.trace_frac_bits >= l.trace_bits:
        raise NeurochipError(f"{src}: key 'learning.trace_frac_bits' must be smaller than trace_bits")
    if l.error_frac_bits >= l.error_bits:
        raise NeurochipError(f"{src}: key 'learning.error_frac_bits' must be smaller than error_bits")
    if l.shadow_weight_bits and l.shadow_weight_bits <= s.weight_bits:
        raise NeurochipError(f"{src}: key 'learning.shadow_weight_bits' must be 0 (off) or wider than weight_bits")


def list_profiles() -> list[Path]:
    """The bundled profile files, sorted by name."""
    return sorted(PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path: str | os.PathLike) -> Profile:
    """Load a bundled profile by name (``loihi``) or any TOML file by path."""
    s = str(name_or_path)
    path = Path(s)
    if not (s.endswith(".toml") or os.sep in s or path.exists()):
        path = PROFILE_DIR / f"{s}.toml"
        if not path.exists():
            names = ", ".join(p.stem for p in list_profiles())
            raise NeurochipError(f"unknown profile '{s}' (bundled: {names}; or give a path to a .toml file)")
    if not path.is_file():
        raise NeurochipError(f"profile file not found: {path}")
    try:
        with open(path, "rb") as f:
            d = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise NeurochipError(f"{path}: not valid TOML ({e})") from None
    return profile_from_dict(d, source=str(path))
