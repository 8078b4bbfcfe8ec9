"""NIR export: a neurochip network as a NIR graph (``nir.write``), re-importable exactly.

Integer networks are written as their float equivalents, in threshold units (``v_threshold = 1``):
weight ``m * 2^(log2(threshold) - q) / threshold`` (= ``m 2^-q`` for a power-of-two threshold),
bias ``b / (threshold << input_shift)``, leak shift ``k`` as ``tau = dt 2^k`` (so that
``1 - dt/tau = 1 - 2^-k`` exactly) with ``r = tau / dt`` (snnTorch's convention: the input enters
with gain 1), CUBA current shift ``k_u`` as ``tau_syn = dt 2^k_u`` with ``w_in = tau_syn / dt``.
Each layer is an ``Affine`` into ``LIF`` (``CubaLIF`` with a current; the integrator readout an
``LI``), a recurrent layer adds a ``Linear`` from its neurons back to themselves. The graph's
metadata keeps ``neurochip_dt``, ``neurochip_q`` (each layer's fractional bits),
``neurochip_timesteps`` and ``neurochip_encoder``, so that ``neurochip nir import`` gives back
the identical integer weights (docs/nir.md).
"""
from __future__ import annotations

import math

import numpy as np

from .errors import NeurochipError
from .nir_import import DEFAULT_DT


def float_layers(engine) -> list[dict]:
    """Per weight layer: W (n_in, n_out), R (n_out, n_out) or None, bias (n_out,) in threshold
    units, leak shift k, current shift k_u, fires (bool)."""
    from .kernels.pack_float import float_leaks
    from .layers import RECURRENT

    cfg, prof = engine.cfg, engine.profile
    st = engine.state()
    out = []
    if engine.is_int:
        n = prof.neuron
        log2_thr = int(round(math.log2(n.threshold)))
        ks = list(engine.ilay.leak_shift)
        qs = list(engine.ilay.q)
        thr_mem = float(n.threshold_membrane)
    else:
        if cfg.recurrent or cfg.learn_threshold or cfg.sws:
            raise NeurochipError("NIR export of float networks with --recurrent, --learn-threshold or --sws is not"
                                 " supported (export the weights as trained without them)")
        lam = float_leaks(cfg, prof)
        ks = [int(round(-math.log2(1.0 - float(x)))) if x > 0 else 0 for x in lam]
        qs = [None] * cfg.n_layers
    for li, spec in enumerate(cfg.layers):
        w = np.asarray(st.weights[li], np.float64)
        if engine.is_int:
            w = w * (2.0 ** (log2_thr - qs[li]) / n.threshold)
            b = np.asarray(st.bias[li], np.float64) / thr_mem
        else:
            b = np.asarray(st.bias[li], np.float64)
        R = None
        if spec.kind == RECURRENT:
            w, R = w[:spec.n_in], w[spec.n_in:]
        last = li == cfg.n_layers - 1
        out.append(dict(W=w, R=R, bias=b, k=int(ks[li]), k_u=int(spec.k_u), q=qs[li], spec=spec,
                        fires=not last or cfg.readout == "spiking"))
    return out


def shape_of(prev: str, nodes: dict, fls: list, li: int) -> tuple:
    """Shape of the values node ``prev`` sends to layer li."""
    if li == 0:
        return tuple(int(x) for x in np.asarray(nodes["input"].input_type["input"]).ravel())
    return tuple(fls[li - 1]["spec"].out_shape)


def to_graph(engine, dt: float | None = None):
    """The nir.NIRGraph of ``engine``'s network (module docstring)."""
    import nir

    dt = DEFAULT_DT if dt is None else float(dt)
    if not (math.isfinite(dt) and dt > 0):
        raise NeurochipError(f"--dt must be a positive number of seconds, got {dt}")
    fls = float_layers(engine)
    cfg = engine.cfg
    from .layers import CONV, POOL

    first = fls[0]["spec"]
    in_shape = list(first.in_shape) if first.kind in (CONV, POOL) else [cfg.sizes[0]]
    nodes = {"input": nir.Input(input_type=np.array(in_shape))}
    edges = []
    prev = "input"
    for li, fl in enumerate(fls):
        spec = fl["spec"]
        if spec.kind not in (CONV, POOL) and len(shape_of(prev, nodes, fls, li)) > 1:
            nodes[f"flat{li}"] = nir.Flatten(input_type={"input": np.array(fls[li - 1]["spec"].out_shape)}, start_dim=0)
            edges.append((prev, f"flat{li}"))
            prev = f"flat{li}"
        oshape = tuple(spec.out_shape)
        tau = np.full(oshape, dt * 2.0 ** fl["k"])
        zeros, ones = np.zeros(oshape), np.ones(oshape)
        cur = 2.0 ** fl["k_u"] if fl["k_u"] else 1.0
        gain = np.ones(oshape)
        bias = fl["bias"].reshape(oshape)
        v_leak = zeros
        if spec.kind == CONV:
            # the chip's biases are per neuron: they go into v_leak (per step dt/tau v_leak = bias)
            nodes[f"fc{li}"] = nir.Conv2d(input_shape=tuple(spec.in_shape[1:]), weight=fl["W"].transpose(3, 0, 1, 2).copy(),
                                          stride=spec.stride, padding=spec.padding, dilation=1, groups=1,
                                          bias=np.zeros(spec.out_channels))
            v_leak = bias * tau / dt
        elif spec.kind == POOL:
            k = spec.kernel
            avg = spec.shift > 0
            cls = nir.AvgPool2d if avg else nir.SumPool2d
            nodes[f"fc{li}"] = cls(kernel_size=np.array([k, k]), stride=np.array([k, k]), padding=np.array([0, 0]))
            # the pool's fixed weight 2^-shift threshold per input: NIR's sum (1) or average (1/k^2) x gain
            gain = gain * (2.0 ** -spec.shift) * (k * k if avg else 1)
            v_leak = bias * tau / dt
        else:
            nodes[f"fc{li}"] = nir.Affine(weight=fl["W"].T.copy(), bias=fl["bias"] / cur)
        r = tau / dt * gain
        if fl["k_u"]:
            ts = np.full(oshape, dt * 2.0 ** fl["k_u"])
            vl = v_leak
            if fl["fires"]:
                neuron = nir.CubaLIF(tau_syn=ts, tau_mem=tau, r=r, v_leak=vl, v_threshold=ones,
                                     v_reset=zeros.copy(), w_in=ts / dt)
            else:
                neuron = nir.CubaLI(tau_syn=ts, tau_mem=tau, r=r, v_leak=vl, w_in=ts / dt)
        elif fl["fires"]:
            neuron = nir.LIF(tau=tau, r=r, v_leak=v_leak, v_threshold=ones, v_reset=zeros.copy())
        else:
            neuron = nir.LI(tau=tau, r=r, v_leak=v_leak)
        nodes[f"lif{li}"] = neuron
        edges += [(prev, f"fc{li}"), (f"fc{li}", f"lif{li}")]
        if fl["R"] is not None:
            nodes[f"rec{li}"] = nir.Linear(weight=fl["R"].T.copy())
            edges += [(f"lif{li}", f"rec{li}"), (f"rec{li}", f"lif{li}")]
        prev = f"lif{li}"
    nodes["output"] = nir.Output(output_type=np.array([cfg.sizes[-1]]))
    edges.append((prev, "output"))
    meta = {"neurochip_dt": dt, "neurochip_timesteps": int(cfg.timesteps), "neurochip_encoder": cfg.encoder,
            "neurochip_profile": engine.profile.name, "neurochip_precision": cfg.precision}
    if engine.is_int:
        meta["neurochip_q"] = np.array([fl["q"] for fl in fls], np.int64)
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def export_nir(engine, path, dt: float | None = None) -> None:
    """Write ``engine``'s network to the NIR file ``path``."""
    import nir

    g = to_graph(engine, dt)
    try:
        nir.write(str(path), g)
    except OSError as e:
        raise NeurochipError(f"cannot write {path}: {' '.join(str(e).split())}") from None
