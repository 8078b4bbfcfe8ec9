"""Footprint and NeuroBench metrics of a network (Yik et al. 2025; definitions in docs/energy.md).

The metrics keep NeuroBench's names in the report (``Dense``, ``Effective_MACs``,
``Effective_ACs``, ``ActivationSparsity``, ``ConnectionSparsity``, ``Footprint``).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .counts import Counts


@dataclass(frozen=True)
class FootprintItem:
    item: str                 # weights, biases, membranes, shadow_weights, traces, errors, ...
    phase: str                # "inference" or "training"
    count: int
    bits: int
    bytes: int                # packed at ``bits``
    float32_bytes: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Footprint:
    profile: str
    items: list[FootprintItem]
    inference_bytes: int
    inference_float32_bytes: int
    training_bytes: int
    training_float32_bytes: int

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["items"] = [it.to_dict() for it in self.items]
        return d


def footprint(engine) -> Footprint:
    """Bytes of the network's state at the profile's true bit widths (packed), next to float32.

    Inference: weights, biases (at the membrane width: they are added into it), membranes.
    Training adds: shadow weights (mixed precision), traces (every presynaptic neuron), current
    traces (every input of a learned CUBA layer under the exact trace), error values (every neuron
    of layers 1..L), OTTT_A accumulators, fixed random feedback matrices."""
    cfg, p = engine.cfg, engine.profile
    sizes = cfg.sizes
    n_w = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    n_post = sum(sizes[1:])
    n_pre = sum(sizes[:-1])
    if cfg.arch:
        # layer kinds (docs/layers.md): shared conv weights are stored once, pools store none;
        # recurrent layers keep a trace of their own spikes too
        n_w = sum(lay.n_weights for lay in cfg.layers)
        n_pre += sum(lay.n_out for lay in cfg.layers if lay.kind == 3)
    n_fb = sum(sizes[l] * sizes[-1] for l in range(1, len(sizes) - 1))
    items = [("weights", "inference", n_w, p.synapse.weight_bits),
             ("biases", "inference", n_post, p.neuron.membrane_bits),
             ("membranes", "inference", n_post, p.neuron.membrane_bits)]
    if engine.is_int and engine.ilay.shadow_extra:
        items.append(("shadow_weights", "training", n_w, engine.ilay.learn_bits))
    items += [("traces", "training", n_pre, p.learning.trace_bits),
              ("errors", "training", n_post, p.learning.error_bits)]
    # the exact CUBA trace (docs/layers.md): one current trace per input of a learned CUBA layer
    n_cur = sum(lay.n_in + (lay.n_out if lay.kind == 3 else 0) for lay in cfg.layers
                if lay.k_u and lay.learned) if cfg.cuba_trace == "exact" else 0
    if n_cur:
        items.append(("current_traces", "training", n_cur, p.learning.trace_bits))
    if cfg.rule == "ottt-a":
        items.append(("accumulators", "training", n_w, p.learning.accumulator_bits))
    if cfg.feedback == "random" and n_fb:
        items.append(("feedback", "training", n_fb, p.synapse.weight_bits))
    rows = []
    for name, phase, count, bits in items:
        f32 = 0 if name == "shadow_weights" else count * 4   # the float reference has no shadow copy
        rows.append(FootprintItem(item=name, phase=phase, count=count, bits=bits,
                                  bytes=math.ceil(count * bits / 8), float32_bytes=f32))
    inf = [r for r in rows if r.phase == "inference"]
    return Footprint(profile=p.name, items=rows,
                     inference_bytes=sum(r.bytes for r in inf),
                     inference_float32_bytes=sum(r.float32_bytes for r in inf),
                     training_bytes=sum(r.bytes for r in rows),
                     training_float32_bytes=sum(r.float32_bytes for r in rows))


@dataclass(frozen=True)
class NeuroBench:
    """NeuroBench metrics of one inference run, per sample (``to_dict`` uses NeuroBench's names)."""
    samples: int
    effective_macs: float
    effective_acs: float
    dense: float
    activation_sparsity: float | None
    connection_sparsity: float | None
    footprint: int
    footprint_float32: int

    def to_dict(self) -> dict:
        return {"samples": self.samples,
                "SynapticOperations": {"Effective_MACs": self.effective_macs, "Effective_ACs": self.effective_acs,
                                       "Dense": self.dense},
                "ActivationSparsity": self.activation_sparsity,
                "ConnectionSparsity": self.connection_sparsity,
                "Footprint": self.footprint,
                "Footprint_float32": self.footprint_float32}


def neurobench(counts: Counts, engine) -> NeuroBench:
    """NeuroBench-named metrics of an inference run.

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
    return NeuroBench(samples=counts.samples, effective_macs=macs / n, effective_acs=(int(eff.sum()) - macs) / n,
                      dense=int(counts.col("dense_ops").sum()) / n,
                      activation_sparsity=(1.0 - spk / upd) if upd else None,
                      connection_sparsity=float(np.mean(W == 0)) if W.size else None,
                      footprint=fp.inference_bytes, footprint_float32=fp.inference_float32_bytes)
