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
    from .layers import DENSE, RECURRENT

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
        if spec.kind not in (DENSE, RECURRENT):
            raise NeurochipError(f"layer {li} ({spec.token}): NIR export of convolution and pooling is not implemented yet")
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
        out.append(dict(W=w, R=R, bias=b, k=int(ks[li]), k_u=int(spec.k_u), q=qs[li],
                        fires=not last or cfg.readout == "spiking"))
    return out


def to_graph(engine, dt: float | None = None):
    """The nir.NIRGraph of ``engine``'s network (module docstring)."""
    import nir

    dt = DEFAULT_DT if dt is None else float(dt)
    if not (math.isfinite(dt) and dt > 0):
        raise NeurochipError(f"--dt must be a positive number of seconds, got {dt}")
    fls = float_layers(engine)
    cfg = engine.cfg
    nodes = {"input": nir.Input(input_type=np.array([cfg.sizes[0]]))}
    edges = []
    prev = "input"
    for li, fl in enumerate(fls):
        n = fl["W"].shape[1]
        tau = np.full(n, dt * 2.0 ** fl["k"])
        zeros, ones = np.zeros(n), np.ones(n)
        cur = 2.0 ** fl["k_u"] if fl["k_u"] else 1.0
        nodes[f"fc{li}"] = nir.Affine(weight=fl["W"].T.copy(), bias=fl["bias"] / cur)
        if fl["k_u"]:
            ts = np.full(n, dt * 2.0 ** fl["k_u"])
            if fl["fires"]:
                neuron = nir.CubaLIF(tau_syn=ts, tau_mem=tau, r=tau / dt, v_leak=zeros, v_threshold=ones,
                                     v_reset=zeros.copy(), w_in=ts / dt)
            else:
                neuron = nir.CubaLI(tau_syn=ts, tau_mem=tau, r=tau / dt, v_leak=zeros, w_in=ts / dt)
        elif fl["fires"]:
            neuron = nir.LIF(tau=tau, r=tau / dt, v_leak=zeros, v_threshold=ones, v_reset=zeros.copy())
        else:
            neuron = nir.LI(tau=tau, r=tau / dt, v_leak=zeros)
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
