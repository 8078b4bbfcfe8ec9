"""Chip resources: how many cores a network needs on a profile, and the resource that limits it."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..profile import Profile
from .tables import ResourceModel, resource_model


@dataclass(frozen=True)
class LayerFit:
    """The neurons of weight layer ``layer`` (layer + 1 of the network) with their fan-in synapses."""
    layer: int
    neurons: int
    fan_in: int
    synapses: int
    bits_per_neuron: int
    cores: int | None                 # None: the layer cannot be placed (see ``limit``)
    limit: str                        # the resource that sets the neurons per core
    neurons_per_core: int | None = None
    shared_weights: int | None = None   # conv: distinct weights (stored once if the chip shares them)

    def to_dict(self) -> dict:
        d = {"layer": self.layer, "neurons": self.neurons, "fan_in": self.fan_in, "synapses": self.synapses,
             "bits_per_neuron": self.bits_per_neuron}
        if self.neurons_per_core is not None:
            d["neurons_per_core"] = self.neurons_per_core
        if self.shared_weights is not None:
            d["shared_weights"] = self.shared_weights
        d.update(cores=self.cores, limit=self.limit)
        return d


@dataclass(frozen=True)
class ResourceFit:
    profile: str
    bits_per_synapse: int
    layers: list[LayerFit]
    cores: int
    cores_per_chip: int
    chips: int
    fits: bool
    limit: str | None                 # the first problem, named, when it does not fit
    problems: list[str]

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["layers"] = [r.to_dict() for r in self.layers]
        d["problems"] = list(self.problems)
        return d


def fit_resources(sizes, bits_per_synapse: int, weight_bits: int, rm: ResourceModel, layers=None) -> ResourceFit:
    """Cores needed per layer (the neurons of layer l + 1 with their fan-in synapses) and in total.

    A core holds min(neurons_per_core, synaptic memory / (fan-in x bits per synapse)) neurons.
    Input neurons are not placed (inputs arrive from off-chip). ``fits`` and, when it does not
    fit, ``limit``: the limiting resource, named.

    ``layers`` (layer kinds, neurochip/layers.py): a neuron's fan-in is its real synapses (conv
    C_in k k, pool k k, recurrent n_in + n_out). Weight sharing is NOT assumed: every synapse is
    stored, as on a chip without shared-weight storage; this is an upper bound (estimate: NxTF,
    Rueckauer et al. 2022, arXiv:2101.04261, compresses conv layers on Loihi with its weight-sharing
    features; we do not model that format). The conv rows report ``shared_weights``, the distinct
    weights, the lower bound a shared-weight store would need."""
    sizes = [int(s) for s in sizes]
    specs = list(layers) if layers is not None else None
    mem_bits = rm["synaptic_memory_bytes_per_core"] * 8
    npc = rm["neurons_per_core"]
    layers, problems = [], []
    if weight_bits > rm["max_weight_bits"]:
        problems.append(f"weight width: {weight_bits}-bit weights, the chip's synapses hold at most "
                        f"{rm['max_weight_bits']} bit(s)")
    for l in range(len(sizes) - 1):
        fan_in, n = sizes[l], sizes[l + 1]
        syn = fan_in * n
        row = {}
        if specs is not None:
            from ..layers import CONV, n_connections
            spec = specs[l]
            fan_in = spec.fan_in if spec.kind != 3 else spec.n_in + spec.n_out
            syn = n_connections(spec)
            if spec.kind == CONV:
                row["shared_weights"] = spec.n_weights
        row.update(layer=l, neurons=n, fan_in=fan_in, synapses=syn, bits_per_neuron=fan_in * bits_per_synapse)
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
        layers.append(LayerFit(**row))
    total = sum(r.cores for r in layers if r.cores is not None)
    chip = rm["cores_per_chip"]
    if not problems and total > chip:
        worst = max(layers, key=lambda r: r.cores)
        problems.append(f"cores per chip: needs {total} cores, the chip has {chip} "
                        f"(layer {worst.layer} needs {worst.cores}, limited by {worst.limit})")
    n_neurons = sum(sizes[1:])
    n_syn = sum(r.synapses for r in layers)
    if rm["neurons_per_chip"] is not None and n_neurons > rm["neurons_per_chip"]:
        problems.append(f"neurons per chip: {n_neurons:,} > {rm['neurons_per_chip']:,}")
    if rm["synapses_per_chip"] is not None and n_syn > rm["synapses_per_chip"]:
        problems.append(f"synapses per chip: {n_syn:,} > {rm['synapses_per_chip']:,}")
    return ResourceFit(profile=rm.profile, bits_per_synapse=bits_per_synapse, layers=layers, cores=total,
                       cores_per_chip=chip, chips=math.ceil(total / chip) if total else 0, fits=not problems,
                       limit=problems[0] if problems else None, problems=problems)


def _synapse_bits(engine) -> tuple[int, int]:
    """(inference, training) bits per synapse of this network at its profile's widths."""
    wb = engine.profile.synapse.weight_bits
    learn = wb + (engine.ilay.learn_bits if engine.is_int and engine.ilay.shadow_extra else 0)
    if engine.cfg.rule == "ottt-a":
        learn += engine.profile.learning.accumulator_bits
    return wb, learn


def resources(engine, profile: Profile) -> dict:
    """The report entry: inference and training fit on ``profile`` (or why it is not assessed)."""
    rm = resource_model(profile)
    if rm is None:
        return {"profile": profile.name, "assessed": False,
                "reason": f"profile '{profile.name}' has no [resources] table"}
    wb, lb = _synapse_bits(engine)
    specs = engine.cfg.layers if engine.cfg.arch else None
    return {"profile": profile.name, "assessed": True,
            "inference": fit_resources(engine.cfg.sizes, wb, wb, rm, specs).to_dict(),
            "training": fit_resources(engine.cfg.sizes, lb, wb, rm, specs).to_dict()}
