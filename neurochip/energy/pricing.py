"""Pricing: energy = sum over op kinds of count x pJ per op, and the equivalent ANN.

Each term keeps its count (per layer, per run and per sample), its price and its source, so a
reader can check it by hand; the total is the sum of the terms as printed (each term is rounded to
0.001 pJ first). Inference and training are priced separately: training = the forward ops of the
learning run plus its learning ops (traces, surrogates, errors, backward ops, weight updates, PRNG
draws). The equivalent ANN (same layer sizes, one MAC per connection per sample) is priced on the
baseline profile (``cmos45``) so the SNN/ANN ratio is visible.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import NeurochipError
from .counts import Counts
from .tables import EnergyModel

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

NDIGITS = 3   # energies are rounded to 0.001 pJ before summing: the total is the sum of what is printed


def _r(x: float) -> float:
    return round(x, NDIGITS)


@dataclass(frozen=True)
class Term:
    """One op kind of one run: its counts, its price and (when the price is known) its energy."""
    op: str
    group: str                       # "forward" or "learning"
    price: str                       # key of the profile's [energy] table
    counter: str                     # kernel counter (neurochip.counters.OPS)
    count_per_layer: list[int]
    count: int
    count_per_sample: float
    pj_per_op: float | None          # None: "unknown" in the profile, not priced
    estimate: bool
    source: str
    energy_pj: float | None
    energy_pj_per_sample: float | None
    energy_pj_per_sample_per_layer: list[float] | None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class PricedRun:
    """The energy of one run (inference or training) on one profile."""
    profile: str
    phase: str                       # "inference" or "training"
    samples: int
    terms: list[Term]
    total_pj_per_sample: float
    total_pj: float
    per_layer_pj_per_sample: list[float]
    unpriced: list[str]              # op kinds with counts but no published energy
    complete: bool
    forward_pj_per_sample: float
    learning_pj_per_sample: float | None = None     # training only

    def to_dict(self) -> dict:
        d = {"profile": self.profile, "phase": self.phase, "samples": self.samples,
             "terms": [t.to_dict() for t in self.terms], "total_pj_per_sample": self.total_pj_per_sample,
             "total_pj": self.total_pj, "per_layer_pj_per_sample": list(self.per_layer_pj_per_sample),
             "unpriced": list(self.unpriced), "complete": self.complete,
             "forward_pj_per_sample": self.forward_pj_per_sample}
        if self.learning_pj_per_sample is not None:
            d["learning_pj_per_sample"] = self.learning_pj_per_sample
        return d


def _term_counts(term: str, counter: str, counts: Counts, cfg) -> np.ndarray:
    c = counts.col(counter)
    if counter == "syn_ops":
        mac = np.zeros_like(c)
        if cfg.encoder == "direct":
            mac[0] = c[0]
        return mac if term == "syn_mac" else c - mac
    return c


def price(counts: Counts, cfg, model: EnergyModel) -> PricedRun:
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
            if fig.value is None:
                energy = dict(energy_pj=None, energy_pj_per_sample=None, energy_pj_per_sample_per_layer=None)
            else:
                energy = dict(energy_pj=_r(count * fig.value), energy_pj_per_sample=_r(count * fig.value / n),
                              energy_pj_per_sample_per_layer=[_r(int(c) * fig.value / n) for c in per_layer])
            terms.append(Term(op=term, group=group, price=key, counter=counter,
                              count_per_layer=[int(x) for x in per_layer], count=count, count_per_sample=count / n,
                              pj_per_op=fig.value, estimate=fig.estimate, source=fig.source, **energy))
    priced = [t for t in terms if t.energy_pj is not None]
    unpriced = [t.op for t in terms if t.energy_pj is None and t.count > 0]

    def group_total(group):
        return _r(sum(t.energy_pj_per_sample for t in priced if t.group == group))

    return PricedRun(
        profile=model.profile, phase="training" if counts.learn else "inference", samples=counts.samples,
        terms=terms, total_pj_per_sample=_r(sum(t.energy_pj_per_sample for t in priced)),
        total_pj=_r(sum(t.energy_pj for t in priced)),
        per_layer_pj_per_sample=[_r(sum(t.energy_pj_per_sample_per_layer[l] for t in priced)) for l in range(L)],
        unpriced=unpriced, complete=not unpriced, forward_pj_per_sample=group_total("forward"),
        learning_pj_per_sample=group_total("learning") if counts.learn else None)


@dataclass(frozen=True)
class WeightReads:
    """The ANN baseline with one 32-bit weight read (half a 64-bit SRAM read) per MAC."""
    pj_per_mac: float
    sram_read_64b_pj: float
    source: str
    inference_pj_per_sample: float
    training_pj_per_sample: float

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class AnnBaseline:
    """The equivalent ANN's MACs and energy per sample."""
    profile: str
    macs_per_sample: int
    mac_pj: float
    source: str
    inference_pj_per_sample: float
    training_macs_per_sample: int
    training_pj_per_sample: float
    with_weight_reads: WeightReads | None = None

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "with_weight_reads"}
        if self.with_weight_reads is not None:
            d["with_weight_reads"] = self.with_weight_reads.to_dict()
        return d


def ann_baseline(sizes, model: EnergyModel, connections=None) -> AnnBaseline:
    """The equivalent ANN on ``model`` (cmos45): same layer sizes, one MAC per connection per sample.

    Training (SGD, batch 1, as the chip learns) = forward MACs + backward MACs (errors to every
    hidden layer: all connections but the first layer's) + one MAC per connection for the
    gradient-and-update. ``with_weight_reads`` adds one 32-bit weight read per MAC (half a 64-bit
    SRAM read) when the profile has ``sram_read_64b``."""
    if "ann_mac" not in model.figures or model.pj("ann_mac") is None:
        raise NeurochipError(f"{model.path}: profile '{model.profile}' cannot be the ANN baseline: missing key 'energy.ann_mac'")
    sizes = [int(s) for s in sizes]
    # other layer kinds: ``connections`` per layer (layers.n_connections: a conv's MACs are its
    # real connections, computed once per output position, as the ANN convolution does)
    conn = [int(c) for c in connections] if connections is not None else [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    C = sum(conn)
    train_macs = C + (C - conn[0]) + C
    mac = model.pj("ann_mac")
    reads = None
    sram = model.figures.get("sram_read_64b")
    if sram is not None and sram.value is not None:
        per = mac + sram.value / 2
        reads = WeightReads(pj_per_mac=per, sram_read_64b_pj=sram.value, source=sram.source,
                            inference_pj_per_sample=_r(C * per), training_pj_per_sample=_r(train_macs * per))
    return AnnBaseline(profile=model.profile, macs_per_sample=C, mac_pj=mac, source=model.figures["ann_mac"].source,
                       inference_pj_per_sample=_r(C * mac), training_macs_per_sample=train_macs,
                       training_pj_per_sample=_r(train_macs * mac), with_weight_reads=reads)
