"""Energy, footprint and chip resources of a network, from the kernels' operation counts.

Pure bookkeeping: the counts come from the simulation (``engine.ops``, updated by the kernel where
the work happens, see :mod:`neurochip.counters`); this module only multiplies them by the per-op
energies of a hardware profile and checks the network against the profile's resources. Nothing
here re-derives a count from a formula.

* ``energy = sum over op kinds of count x pJ per op``. Each term keeps its count (per layer, per
  run and per sample), its price and its source, so a reader can check it by hand; the total is
  the sum of the terms as printed (each term is rounded to 0.001 pJ first).
* Inference and training are priced separately. Training = the forward ops of the learning run
  plus its learning ops (traces, surrogates, errors, backward ops, weight updates, PRNG draws).
* The equivalent ANN (same layer sizes, one MAC per connection per sample) is priced on the
  baseline profile (``cmos45``) so the SNN/ANN ratio is visible.
* NeuroBench metrics keep NeuroBench's names (``Dense``, ``Effective_MACs``, ``Effective_ACs``,
  ``ActivationSparsity``, ``ConnectionSparsity``, ``Footprint``).

Profile tables (validated here; ``neurochip.profile`` keeps them raw)::

    [energy]                      unit = "pJ", learning = true|false, source = "..."
    [energy.<op>]                 pj = <number >= 0> | "unknown", source = "...", estimate = bool
    [resources.<key>]             value = <int>, source = "...", estimate = bool

See ``docs/energy.md`` for every term, every source and the caveats.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from ..counters import OPS, SAT, as_dict
from ..errors import NeurochipError
from ..profile import Profile, load_profile

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

# (term, price key, kernel counter). syn_ops splits into MACs (layer 0 under direct encoding: the
# input is graded) and ACs (every layer whose input is spikes).
FORWARD_TERMS = (
    ("syn_mac", "syn_mac", "syn_ops"),
    ("syn_ac", "syn_ac", "syn_ops"),
    ("neuron_active", "neuron_active", "neuron_active"),
    ("neuron_idle", "neuron_idle", "neuron_idle"),
    ("spike_msg", "spike_msg", "spike_msgs"),
    ("encoder_draw", "prng_draw", "encoder_draws"),
)
LEARNING_TERMS = (
    ("trace_update", "trace_update", "trace_updates"),
    ("surrogate_eval", "surrogate_eval", "surrogate_evals"),
    ("loss_eval", "loss_eval", "loss_evals"),
    ("error_msg", "error_msg", "error_msgs"),
    ("bwd_syn_op", "bwd_syn_op", "bwd_syn_ops"),
    ("weight_update", "weight_update", "wupd_attempted"),
    ("weight_write", "weight_write", "wupd_nonzero"),
    ("acc_write", "acc_write", "acc_writes"),
    ("prng_draw", "prng_draw", "prng_draws"),
)
#: counters the energy model reports but does not price (NeuroBench and sparsity statistics)
UNPRICED_COUNTERS = ("eff_syn_ops", "dense_ops", "pre_events", "pre_values", "spikes")

DEFAULT_LEARN_SAMPLES = 1000
NDIGITS = 3   # energies are rounded to 0.001 pJ before summing: the total is the sum of what is printed


# ---- profile tables ---------------------------------------------------------------------------
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


# ---- counts -----------------------------------------------------------------------------------
@dataclass
class Counts:
    """Kernel counters summed over ``samples`` samples of one run (inference or learning)."""
    ops: np.ndarray            # (L, len(OPS)) int64
    samples: int
    learn: bool
    sat: np.ndarray | None = None
    accuracy: float | None = None

    def col(self, name: str) -> np.ndarray:
        return self.ops[:, OPS.index(name)].astype(np.int64)

    def to_dict(self) -> dict:
        n = max(self.samples, 1)
        d = {"samples": self.samples, "learning": self.learn, "ops": as_dict(OPS, self.ops),
             "ops_per_sample": {k: [v / n for v in vals] for k, vals in as_dict(OPS, self.ops).items()}}
        if self.sat is not None:
            d["saturation"] = as_dict(SAT, self.sat)
        if self.accuracy is not None:
            d["accuracy"] = self.accuracy
        return d


def gather_counts(engine, x_test, y_test, x_train=None, y_train=None, samples: int | None = None,
                  learn_samples: int = DEFAULT_LEARN_SAMPLES) -> tuple[Counts, Counts | None]:
    """Counts of inference over the test set (or its first ``samples``), and of learning over
    ``learn_samples`` training samples (the first of epoch 0's order), each on a deep copy of the
    engine: the caller's weights, PRNG states and counters are untouched; nothing is saved."""
    from ..train import epoch_order, run_epoch

    if not engine.is_int:
        raise NeurochipError("op counts come from the integer chip kernel; this network is the float "
                             "reference (--precision float), which keeps no counters")
    y_test = np.asarray(y_test, np.int64)
    n = len(y_test) if samples is None else min(int(samples), len(y_test))
    if n < 1:
        raise NeurochipError("no test samples to count inference over")
    eng = copy.deepcopy(engine)
    eng.reset_counters()
    pred = run_epoch(eng, eng.prepare(np.asarray(x_test)[:n]), y_test[:n], np.arange(n), False)
    inf = Counts(eng.ops.copy(), n, False, eng.sat.copy(), float(np.mean(pred == y_test[:n])))
    train = None
    if learn_samples and x_train is not None and len(y_train):
        y_train = np.asarray(y_train, np.int64)
        m = min(int(learn_samples), len(y_train))
        eng = copy.deepcopy(engine)
        eng.reset_counters()
        order = epoch_order(engine.cfg.seed, 0, len(y_train))[:m]
        pred = run_epoch(eng, eng.prepare(x_train), y_train, order, True)
        train = Counts(eng.ops.copy(), m, True, eng.sat.copy(), float(np.mean(pred == y_train[order])))
    return inf, train


# ---- pricing ----------------------------------------------------------------------------------
def _r(x: float) -> float:
    return round(x, NDIGITS)


def _term_counts(term: str, counter: str, counts: Counts, cfg) -> np.ndarray:
    c = counts.col(counter)
    if counter == "syn_ops":
        mac = np.zeros_like(c)
        if cfg.encoder == "direct":
            mac[0] = c[0]
        return mac if term == "syn_mac" else c - mac
    return c


def price(counts: Counts, cfg, model: EnergyModel) -> dict:
    """Energy of one run: every term (count x pJ/op) per layer, per run and per sample, and totals.

    ``counts.learn`` selects training (forward + learning terms) or inference (forward terms).
    A profile without on-chip learning rejects training counts with NeurochipError."""
    if counts.learn and not model.learning:
        raise NeurochipError(f"profile '{model.profile}' has no on-chip learning (energy.learning = false in "
                             f"{model.path}): it prices inference only; learning energy on it is not defined")
    n = max(counts.samples, 1)
    L = counts.ops.shape[0]
    groups = [("forward", FORWARD_TERMS)] + ([("learning", LEARNING_TERMS)] if counts.learn else [])
    terms = []
    for group, spec in groups:
        for term, key, counter in spec:
            per_layer = _term_counts(term, counter, counts, cfg)
            fig = model.figures[key]
            count = int(per_layer.sum())
            t = {"op": term, "group": group, "price": key, "counter": counter,
                 "count_per_layer": [int(x) for x in per_layer], "count": count,
                 "count_per_sample": count / n, "pj_per_op": fig.value, "estimate": fig.estimate,
                 "source": fig.source}
            if fig.value is None:
                t.update(energy_pj=None, energy_pj_per_sample=None, energy_pj_per_sample_per_layer=None)
            else:
                t.update(energy_pj=_r(count * fig.value), energy_pj_per_sample=_r(count * fig.value / n),
                         energy_pj_per_sample_per_layer=[_r(int(c) * fig.value / n) for c in per_layer])
            terms.append(t)
    priced = [t for t in terms if t["energy_pj"] is not None]
    out = {
        "profile": model.profile, "phase": "training" if counts.learn else "inference",
        "samples": counts.samples, "terms": terms,
        "total_pj_per_sample": _r(sum(t["energy_pj_per_sample"] for t in priced)),
        "total_pj": _r(sum(t["energy_pj"] for t in priced)),
        "per_layer_pj_per_sample": [_r(sum(t["energy_pj_per_sample_per_layer"][l] for t in priced)) for l in range(L)],
        "unpriced": [t["op"] for t in terms if t["energy_pj"] is None and t["count"] > 0],
    }
    out["complete"] = not out["unpriced"]
    for group, _ in groups:
        out[f"{group}_pj_per_sample"] = _r(sum(t["energy_pj_per_sample"] for t in priced if t["group"] == group))
    return out


def ann_baseline(sizes, model: EnergyModel) -> dict:
    """The equivalent ANN on ``model`` (cmos45): same layer sizes, one MAC per connection per sample.

    Training (SGD, batch 1, as the chip learns) = forward MACs + backward MACs (errors to every
    hidden layer: all connections but the first layer's) + one MAC per connection for the
    gradient-and-update. ``with_weight_reads`` adds one 32-bit weight read per MAC (half a 64-bit
    SRAM read) when the profile has ``sram_read_64b``."""
    if "ann_mac" not in model.figures or model.pj("ann_mac") is None:
        raise NeurochipError(f"{model.path}: profile '{model.profile}' cannot be the ANN baseline: missing key 'energy.ann_mac'")
    sizes = [int(s) for s in sizes]
    conn = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    C = sum(conn)
    train_macs = C + (C - conn[0]) + C
    mac = model.pj("ann_mac")
    d = {"profile": model.profile, "macs_per_sample": C, "mac_pj": mac, "source": model.figures["ann_mac"].source,
         "inference_pj_per_sample": _r(C * mac), "training_macs_per_sample": train_macs,
         "training_pj_per_sample": _r(train_macs * mac)}
    sram = model.figures.get("sram_read_64b")
    if sram is not None and sram.value is not None:
        per = mac + sram.value / 2
        d["with_weight_reads"] = {"pj_per_mac": per, "sram_read_64b_pj": sram.value, "source": sram.source,
                                  "inference_pj_per_sample": _r(C * per),
                                  "training_pj_per_sample": _r(train_macs * per)}
    return d


# ---- footprint and NeuroBench metrics ------------------------------------------------------------
def footprint(engine) -> dict:
    """Bytes of the network's state at the profile's true bit widths (packed), next to float32.

    Inference: weights, biases (at the membrane width: they are added into it), membranes.
    Training adds: shadow weights (mixed precision), traces (every presynaptic neuron), error
    values (every neuron of layers 1..L), OTTT_A accumulators, fixed random feedback matrices."""
    cfg, p = engine.cfg, engine.profile
    sizes = cfg.sizes
    n_w = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    n_post = sum(sizes[1:])
    n_pre = sum(sizes[:-1])
    n_fb = sum(sizes[l] * sizes[-1] for l in range(1, len(sizes) - 1))
    items = [("weights", "inference", n_w, p.synapse.weight_bits),
             ("biases", "inference", n_post, p.neuron.membrane_bits),
             ("membranes", "inference", n_post, p.neuron.membrane_bits)]
    if engine.is_int and engine.ilay.shadow_extra:
        items.append(("shadow_weights", "training", n_w, engine.ilay.learn_bits))
    items += [("traces", "training", n_pre, p.learning.trace_bits),
              ("errors", "training", n_post, p.learning.error_bits)]
    if cfg.rule == "ottt-a":
        items.append(("accumulators", "training", n_w, p.learning.accumulator_bits))
    if cfg.feedback == "random" and n_fb:
        items.append(("feedback", "training", n_fb, p.synapse.weight_bits))
    rows = []
    for name, phase, count, bits in items:
        f32 = 0 if name == "shadow_weights" else count * 4   # the float reference has no shadow copy
        rows.append({"item": name, "phase": phase, "count": count, "bits": bits,
                     "bytes": math.ceil(count * bits / 8), "float32_bytes": f32})
    inf = [r for r in rows if r["phase"] == "inference"]
    return {"profile": p.name, "items": rows,
            "inference_bytes": sum(r["bytes"] for r in inf),
            "inference_float32_bytes": sum(r["float32_bytes"] for r in inf),
            "training_bytes": sum(r["bytes"] for r in rows),
            "training_float32_bytes": sum(r["float32_bytes"] for r in rows)}


def neurobench(counts: Counts, engine) -> dict:
    """NeuroBench-named metrics of an inference run (Yik et al. 2025; definitions in docs/energy.md).

    SynapticOperations per sample: ``Dense`` (every connection, every step), ``Effective_MACs``
    (non-zero graded input x non-zero weight: layer 0 under direct encoding) and ``Effective_ACs``
    (non-zero spike x non-zero weight). ActivationSparsity over the spiking layers' outputs (hidden
    layers, and the readout when it spikes). ConnectionSparsity of the inference weights."""
    cfg = engine.cfg
    n = max(counts.samples, 1)
    eff = counts.col("eff_syn_ops")
    macs = int(eff[0]) if cfg.encoder == "direct" else 0
    L = counts.ops.shape[0]
    rows = list(range(L - 1)) + ([L - 1] if cfg.readout == "spiking" else [])
    upd = (counts.col("neuron_active") + counts.col("neuron_idle"))[rows].sum()
    spk = counts.col("spikes")[rows].sum()
    W = engine.W
    fp = footprint(engine)
    return {
        "samples": counts.samples,
        "SynapticOperations": {"Effective_MACs": macs / n, "Effective_ACs": (int(eff.sum()) - macs) / n,
                               "Dense": int(counts.col("dense_ops").sum()) / n},
        "ActivationSparsity": (1.0 - spk / upd) if upd else None,
        "ConnectionSparsity": float(np.mean(W == 0)) if W.size else None,
        "Footprint": fp["inference_bytes"],
        "Footprint_float32": fp["inference_float32_bytes"],
    }


# ---- resources ------------------------------------------------------------------------------------
def fit_resources(sizes, bits_per_synapse: int, weight_bits: int, rm: ResourceModel) -> dict:
    """Cores needed per layer (the neurons of layer l + 1 with their fan-in synapses) and in total.

    A core holds min(neurons_per_core, synaptic memory / (fan-in x bits per synapse)) neurons.
    Input neurons are not placed (inputs arrive from off-chip). Returns ``fits`` and, when it does
    not fit, ``limit``: the limiting resource, named."""
    sizes = [int(s) for s in sizes]
    mem_bits = rm["synaptic_memory_bytes_per_core"] * 8
    npc = rm["neurons_per_core"]
    layers, problems = [], []
    if weight_bits > rm["max_weight_bits"]:
        problems.append(f"weight width: {weight_bits}-bit weights, the chip's synapses hold at most "
                        f"{rm['max_weight_bits']} bit(s)")
    for l in range(len(sizes) - 1):
        fan_in, n = sizes[l], sizes[l + 1]
        row = {"layer": l, "neurons": n, "fan_in": fan_in, "synapses": fan_in * n,
               "bits_per_neuron": fan_in * bits_per_synapse}
        if rm["max_fan_in"] and fan_in > rm["max_fan_in"]:
            row.update(cores=None, limit="fan-in per core")
            problems.append(f"layer {l}: fan-in {fan_in} exceeds the {rm['max_fan_in']} axons per core")
        else:
            by_mem = mem_bits // (fan_in * bits_per_synapse)
            if by_mem == 0:
                row.update(cores=None, limit="synaptic memory per core")
                problems.append(f"layer {l}: one neuron's {fan_in} synapses x {bits_per_synapse} bits exceed a core's "
                                f"synaptic memory ({rm['synaptic_memory_bytes_per_core']:,} bytes)")
            else:
                per = min(npc, by_mem)
                row.update(neurons_per_core=per, cores=math.ceil(n / per),
                           limit="neurons per core" if npc <= by_mem else "synaptic memory per core")
        layers.append(row)
    total = sum(r["cores"] for r in layers if r["cores"] is not None)
    chip = rm["cores_per_chip"]
    if not problems and total > chip:
        worst = max(layers, key=lambda r: r["cores"])
        problems.append(f"cores per chip: needs {total} cores, the chip has {chip} "
                        f"(layer {worst['layer']} needs {worst['cores']}, limited by {worst['limit']})")
    n_neurons = sum(sizes[1:])
    n_syn = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    if rm["neurons_per_chip"] is not None and n_neurons > rm["neurons_per_chip"]:
        problems.append(f"neurons per chip: {n_neurons:,} > {rm['neurons_per_chip']:,}")
    if rm["synapses_per_chip"] is not None and n_syn > rm["synapses_per_chip"]:
        problems.append(f"synapses per chip: {n_syn:,} > {rm['synapses_per_chip']:,}")
    return {"profile": rm.profile, "bits_per_synapse": bits_per_synapse, "layers": layers,
            "cores": total, "cores_per_chip": chip, "chips": math.ceil(total / chip) if total else 0,
            "fits": not problems, "limit": problems[0] if problems else None, "problems": problems}


def _synapse_bits(engine) -> tuple[int, int]:
    """(inference, training) bits per synapse of this network at its profile's widths."""
    wb = engine.profile.synapse.weight_bits
    learn = wb + (engine.ilay.learn_bits if engine.is_int and engine.ilay.shadow_extra else 0)
    if engine.cfg.rule == "ottt-a":
        learn += engine.profile.learning.accumulator_bits
    return wb, learn


def resources(engine, profile: Profile) -> dict:
    rm = resource_model(profile)
    if rm is None:
        return {"profile": profile.name, "assessed": False,
                "reason": f"profile '{profile.name}' has no [resources] table"}
    wb, lb = _synapse_bits(engine)
    return {"profile": profile.name, "assessed": True,
            "inference": fit_resources(engine.cfg.sizes, wb, wb, rm),
            "training": fit_resources(engine.cfg.sizes, lb, wb, rm)}


# ---- reports --------------------------------------------------------------------------------------
def network_info(engine) -> dict:
    c = engine.cfg
    return {"sizes": list(c.sizes), "timesteps": c.timesteps, "encoder": c.encoder, "readout": c.readout,
            "loss": c.loss, "rule": c.rule, "feedback": c.feedback, "precision": c.precision,
            "surrogate": c.surrogate, "simulated_on": engine.profile.name}


def price_on(profile: Profile, engine, inf: Counts, train: Counts | None, baseline: EnergyModel | None,
             strict: bool = True) -> dict:
    """Everything one pricing profile says about the counts: inference, training, ANN, resources.

    ``strict``: a profile without on-chip learning raises on training counts; otherwise its
    training entry records the rejection."""
    model = energy_model(profile)
    out = {"profile": profile.name, "path": model.path, "learning_supported": model.learning,
           "inference": price(inf, engine.cfg, model)}
    if train is not None:
        try:
            out["training"] = price(train, engine.cfg, model)
        except NeurochipError as e:
            if strict:
                raise
            out["training"] = {"rejected": str(e)}
    else:
        out["training"] = None
    if baseline is not None:
        ann = ann_baseline(engine.cfg.sizes, baseline)
        out["ann"] = ann
        ratio = {"inference": None, "training": None}
        if ann["inference_pj_per_sample"]:
            ratio["inference"] = out["inference"]["total_pj_per_sample"] / ann["inference_pj_per_sample"]
        tr = out["training"]
        if tr and "total_pj_per_sample" in tr and ann["training_pj_per_sample"]:
            ratio["training"] = tr["total_pj_per_sample"] / ann["training_pj_per_sample"]
        out["snn_over_ann"] = ratio
    out["resources"] = resources(engine, profile)
    return out


def build_report(engine, inf: Counts, train: Counts | None, profiles: list[Profile],
                 baseline: Profile | None = None, strict: bool = True, notes: list[str] | None = None) -> dict:
    """The full JSON-serialisable report for one or more pricing profiles."""
    base = energy_model(baseline) if baseline is not None else None
    return {
        "network": network_info(engine),
        "counts": {"inference": inf.to_dict(), "training": train.to_dict() if train else None},
        "neurobench": neurobench(inf, engine),
        "footprint": footprint(engine),
        "pricing": {p.name: price_on(p, engine, inf, train, base, strict) for p in profiles},
        "baseline": baseline.name if baseline is not None else None,
        "notes": list(notes or []),
    }


def training_report(engine, n_samples: int) -> dict:
    """Counts gathered during training (``engine.ops`` over ``n_samples`` learning samples), priced
    on the engine's own profile when it (or the bundled profile of the same name) has an [energy]
    table. Never raises for pricing problems: they are recorded under ``energy``."""
    n = int(n_samples)
    rep = {"samples": n, "ops": as_dict(OPS, engine.ops), "saturation": as_dict(SAT, engine.sat),
           "ops_per_sample": {k: [x / max(n, 1) for x in v] for k, v in as_dict(OPS, engine.ops).items()},
           "network": network_info(engine), "footprint": footprint(engine),
           "notes": ["counts are the engine's counters as accumulated by the learning passes of training; "
                     "the per-epoch test and train-subset passes of neurochip.train.fit are not counted"]}
    if not engine.is_int:
        rep["notes"].append("float reference: the float kernels keep no counters, so every count is 0")
    prof = engine.profile
    try:
        if not prof.energy:
            prof = load_profile(prof.name)
        counts = Counts(engine.ops.copy(), n, True)
        rep["energy"] = price(counts, engine.cfg, energy_model(prof))
        rep["resources"] = resources(engine, prof)
    except NeurochipError as e:
        rep["energy"] = {"error": str(e)}
    return rep


# ---- text ---------------------------------------------------------------------------------------
def _fmt_pj(x) -> str:
    return "unknown" if x is None else f"{x:,.{NDIGITS}f}"


def _human(pj: float) -> str:
    for unit, f in (("mJ", 1e9), ("uJ", 1e6), ("nJ", 1e3)):
        if abs(pj) >= f:
            return f"{pj / f:,.3f} {unit}"
    return f"{pj:,.3f} pJ"


def format_priced(pr: dict, L: int) -> list[str]:
    """Lines of one priced run: every term with its per-layer counts, pJ/op and energy per sample."""
    lines = []
    hdr = (f"  {'op':15s}" + "".join(f"{'count L' + str(l):>14s}" for l in range(L))
           + f"{'count/sample':>16s}{'pJ/op':>10s}{'pJ/sample':>20s}  {'run pJ':>22s}")
    lines.append(hdr)
    group = None
    for t in pr["terms"]:
        if t["group"] != group:
            group = t["group"]
            if "learning_pj_per_sample" in pr:
                lines.append(f"  [{group}]")
        pj = "unknown" if t["pj_per_op"] is None else f"{t['pj_per_op']:g}" + ("*" if t["estimate"] else "")
        lines.append(f"  {t['op']:15s}" + "".join(f"{c:14,d}" for c in t["count_per_layer"])
                     + f"{t['count_per_sample']:16,.4f}{pj:>10s}{_fmt_pj(t['energy_pj_per_sample']):>20s}"
                     f"  {_fmt_pj(t['energy_pj']):>22s}")
    lines.append(f"  {'total':15s}" + " " * (14 * L + 26) + f"{_fmt_pj(pr['total_pj_per_sample']):>20s}"
                 f"  {_fmt_pj(pr['total_pj']):>22s}")
    extra = ""
    if "learning_pj_per_sample" in pr:
        extra = (f"; forward {_human(pr['forward_pj_per_sample'])} + learning "
                 f"{_human(pr['learning_pj_per_sample'])}")
    lines.append(f"  = {_human(pr['total_pj_per_sample'])} per sample, {_human(pr['total_pj'])} per run of "
                 f"{pr['samples']} samples{extra}")
    lines.append("  per layer (pJ/sample): " + ", ".join(f"L{l} {_fmt_pj(x)}" for l, x in enumerate(pr["per_layer_pj_per_sample"])))
    if pr["unpriced"]:
        lines.append(f"  WARNING: the total excludes {', '.join(pr['unpriced'])}: no published energy (pj = \"unknown\")")
    return lines


def _fit_line(fit: dict) -> str:
    per = ", ".join(f"L{r['layer']}: {r['cores'] if r['cores'] is not None else '-'} ({r['limit']})" for r in fit["layers"])
    head = (f"fits: {fit['cores']} of {fit['cores_per_chip']} cores" if fit["fits"]
            else f"DOES NOT FIT: {fit['limit']}")
    return f"{head}  [{fit['bits_per_synapse']} bits/synapse; cores per layer {per}]"


def format_report(rep: dict) -> str:
    """Terminal text of a single-profile report (the first entry of ``pricing``)."""
    net = rep["network"]
    L = len(net["sizes"]) - 1
    lines = [f"network {'-'.join(map(str, net['sizes']))}, T={net['timesteps']}, {net['encoder']} encoder, "
             f"{net['readout']} readout, {net['rule']}, simulated on '{net['simulated_on']}'"]
    ci, ct = rep["counts"]["inference"], rep["counts"]["training"]
    lines.append(f"counts: inference averaged over {ci['samples']} test samples (accuracy {ci.get('accuracy', float('nan')):.4f})"
                 + (f"; learning over {ct['samples']} training samples on a copy (nothing saved)" if ct else "; no learning run"))
    lines += [f"note: {n}" for n in rep["notes"]]
    lines.append("rows: count per weight layer L0..; * = estimate (borrowed or unverified figure: see the profile)")
    for name, pr in rep["pricing"].items():
        lines.append("")
        lines.append(f"== {name} ({pr['path']}) ==")
        lines.append("INFERENCE, per sample")
        lines += format_priced(pr["inference"], L)
        tr = pr["training"]
        if tr is not None:
            lines.append("TRAINING (forward + learning), per sample")
            if "rejected" in tr:
                lines.append(f"  rejected: {tr['rejected']}")
            else:
                lines += format_priced(tr, L)
        if "ann" in pr:
            a = pr["ann"]
            r = pr["snn_over_ann"]
            lb = " (a lower bound: the SNN total excludes unpriced ops)"
            lines.append(f"equivalent ANN on {a['profile']}: {a['macs_per_sample']:,} MACs/sample x {a['mac_pj']:g} pJ = "
                         f"{_human(a['inference_pj_per_sample'])}; SNN/ANN = "
                         + (f"{r['inference']:.3f}" if r["inference"] is not None else "-")
                         + ("" if pr["inference"]["complete"] else lb))
            if tr is not None and "rejected" not in tr:
                lines.append(f"  ANN training (forward + backward + update) {a['training_macs_per_sample']:,} MACs = "
                             f"{_human(a['training_pj_per_sample'])}; SNN/ANN = "
                             + (f"{r['training']:.3f}" if r["training"] is not None else "-")
                             + ("" if tr["complete"] else lb))
            if "with_weight_reads" in a:
                w = a["with_weight_reads"]
                lines.append(f"  ANN with one 32-bit weight read per MAC ({w['pj_per_mac']:g} pJ/MAC): "
                             f"{_human(w['inference_pj_per_sample'])} inference, {_human(w['training_pj_per_sample'])} training")
        res = pr["resources"]
        if res["assessed"]:
            lines.append(f"resources ({name}), inference: " + _fit_line(res["inference"]))
            lines.append(f"resources ({name}), training:  " + _fit_line(res["training"]))
        else:
            lines.append(f"resources: not assessed ({res['reason']})")
    nb = rep["neurobench"]
    so = nb["SynapticOperations"]
    lines.append("")
    lines.append(f"NeuroBench (per inference sample): Dense {so['Dense']:,.1f}, Effective_MACs {so['Effective_MACs']:,.1f}, "
                 f"Effective_ACs {so['Effective_ACs']:,.1f}, ActivationSparsity "
                 + (f"{nb['ActivationSparsity']:.4f}" if nb["ActivationSparsity"] is not None else "-")
                 + f", ConnectionSparsity {nb['ConnectionSparsity']:.4f}")
    fp = rep["footprint"]
    lines.append(f"footprint at {fp['profile']} widths (bytes, packed) vs float32:")
    for it in fp["items"]:
        lines.append(f"  {it['item']:15s} {it['phase']:9s} {it['count']:10,d} x {it['bits']:2d} bit = {it['bytes']:12,d}   float32 {it['float32_bytes']:12,d}")
    lines.append(f"  {'inference':25s} {fp['inference_bytes']:27,d}   float32 {fp['inference_float32_bytes']:12,d}")
    lines.append(f"  {'training':25s} {fp['training_bytes']:27,d}   float32 {fp['training_float32_bytes']:12,d}")
    return "\n".join(lines)


def format_compare(rep: dict) -> str:
    """Side-by-side energy per sample of every pricing profile."""
    net = rep["network"]
    names = list(rep["pricing"])
    w = max(16, *(len(n) + 2 for n in names))
    ci, ct = rep["counts"]["inference"], rep["counts"]["training"]
    lines = [f"network {'-'.join(map(str, net['sizes']))}, T={net['timesteps']}, {net['encoder']} encoder, {net['rule']}, "
             f"simulated on '{net['simulated_on']}'; counts over {ci['samples']} test samples"
             + (f" and {ct['samples']} training samples (on a copy)" if ct else "")]
    lines += [f"note: {n}" for n in rep["notes"]]
    lines.append("energy per sample in pJ (* = the figure is an estimate; 'unknown' = not priced)")

    def block(phase: str):
        first = rep["pricing"][names[0]][phase]
        ops = [t["op"] for t in first["terms"]] if first and "terms" in first else None
        if ops is None:
            for n in names:
                p = rep["pricing"][n][phase]
                if p and "terms" in p:
                    ops = [t["op"] for t in p["terms"]]
                    break
        if ops is None:
            return
        lines.append("")
        lines.append(f"{phase.upper():16s}" + "".join(f"{n:>{w}s}" for n in names))
        for i, op in enumerate(ops):
            row = f"{op:16s}"
            for n in names:
                p = rep["pricing"][n][phase]
                if not p or "terms" not in p:
                    row += f"{'n/a':>{w}s}"
                    continue
                t = p["terms"][i]
                cell = _fmt_pj(t["energy_pj_per_sample"]) + ("*" if t["estimate"] and t["pj_per_op"] is not None else " ")
                row += f"{cell:>{w}s}"
            lines.append(row)
        row = f"{'total':16s}"
        for n in names:
            p = rep["pricing"][n][phase]
            row += f"{(_fmt_pj(p['total_pj_per_sample']) + ' ') if p and 'terms' in p else 'n/a ':>{w}s}"
        lines.append(row)
        for n in names:
            p = rep["pricing"][n][phase]
            if p and "rejected" in p:
                lines.append(f"  {n}: rejected: {p['rejected']}")
            elif p and p["unpriced"]:
                lines.append(f"  {n}: total excludes {', '.join(p['unpriced'])} (no published energy)")

    block("inference")
    if ct:
        block("training")
    if rep.get("baseline"):
        lines.append("")
        for phase, label in (("inference", "SNN/ANN inf."), ("training", "SNN/ANN train")):
            if phase == "training" and not ct:
                continue
            row = f"{label:16s}"
            for n in names:
                r = rep["pricing"][n]["snn_over_ann"][phase]
                p = rep["pricing"][n][phase]
                mark = "+" if p and not p.get("complete", True) else " "
                row += f"{(f'{r:.3f}' + mark if r is not None else '- '):>{w}s}"
            lines.append(row)
        lines.append("  (+ = the SNN total excludes unpriced ops, so the ratio is a lower bound)")
        a = next(iter(rep["pricing"].values()))["ann"]
        lines.append(f"ANN baseline ({a['profile']}): {a['macs_per_sample']:,} MACs x {a['mac_pj']:g} pJ = "
                     f"{_fmt_pj(a['inference_pj_per_sample'])} pJ/sample inference, "
                     f"{a['training_macs_per_sample']:,} MACs = {_fmt_pj(a['training_pj_per_sample'])} pJ/sample training")
    lines.append("")
    row = f"{'fits (inf.)':16s}"
    for n in names:
        res = rep["pricing"][n]["resources"]
        cell = "-" if not res["assessed"] else (f"{res['inference']['cores']} cores" if res["inference"]["fits"] else "NO")
        row += f"{cell + ' ':>{w}s}"
    lines.append(row)
    for n in names:
        res = rep["pricing"][n]["resources"]
        if res["assessed"] and not res["inference"]["fits"]:
            lines.append(f"  {n}: does not fit: {res['inference']['limit']}")
    return "\n".join(lines)
