"""Lava inference export of networks with layer kinds (conv, pool, flatten, recurrent, CUBA neurons).

Extends :mod:`neurochip.lava.export` (dense networks) with, per weight layer (docs/layers.md
"Lava"), stock Lava processes only (a Lava-exact profile):

* **Conv2d** -> ``lava.proc.conv.process.Conv`` (fixed_pt ``PyConvModelFixed``, read in lava-nc
  0.10.0's lava/proc/conv): Lava images are (W, H, C); its fixed-point model applies NO weight
  exponent and no weight truncation, convolves (flips the kernel: scipy ``convolve2d``), sums
  exactly in float64 and clamps the result to signed 24 bits. So the export writes
  ``weight[co, K-1-kx, K-1-ky, ci] = m[ci, ky, kx, co] << e`` (e = neurochip's weight exponent,
  which must be >= 0: then ``sum(m << e) s == shift_exp(sum m s, e)`` exactly); a conv with a
  negative exponent (a graded first layer) is exported as a Dense over the unrolled convolution
  (exact, with Dense's floor shift), and said so in the notes.
* **SumPool2d / AvgPool2d** -> a ``Conv`` with stride k and fixed weights ``M << e`` on the
  channel diagonal (Lava has no pooling process).
* **Flatten** -> the previous layer's ``s_out.flatten()`` (a Lava ReshapePort, C order of
  (W, H, C)); the next Dense's columns are permuted from neurochip's CHW order to it.
* **RecurrentDense** -> a Dense for the input and a second Dense from the layer's own ``s_out``
  back to its ``a_in`` (its one-step hop delivers s(t-1) exactly when neurochip uses it); Lava adds
  the two Dense outputs after each applies its weight exponent, so the exponent must be >= 0.
* **CUBA** (``k_u``) -> LIF ``du = 2^(12 - k_u) - 1`` (k_u = 0: du = 4095), lava-semantics.md §3-4.

Dense layers are exported as in export.py. Recording: Lava's (W, H, C) arrays are flattened and
put back in CHW order before comparing.
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import NeurochipError
from ..layers import CONV, POOL, RECURRENT
from ..network import GRADED_ENCODERS
from .export import (EXPORT_WEIGHT_SHIFT, HOP_DELAY, LAVA_DECAY_UNITY, READOUT_VTH, Comparison, LayerDiff,
                     RunRecord, _first_diff, bias_to_mant_exp, decode_predictions, input_raster,
                     lava_exact_reasons, lava_weight_exp, sign_mode_for)


def _whc_perm(shape) -> np.ndarray:
    """perm[lava_index] = chw_index for an image of CHW ``shape`` laid out (W, H, C) in Lava."""
    c, h, w = shape
    x, y, ch = np.meshgrid(np.arange(w), np.arange(h), np.arange(c), indexing="ij")
    return ((ch * h + y) * w + x).ravel()


def _unrolled(spec, m: np.ndarray) -> np.ndarray:
    """The conv as a dense n_out x n_in matrix (CHW both sides)."""
    (ci_n, h, w), (co_n, ho, wo) = spec.in_shape, spec.out_shape
    k, s, p = spec.kernel, spec.stride, spec.padding
    M = np.zeros((co_n * ho * wo, ci_n * h * w), np.int64)
    for co in range(co_n):
        for oy in range(ho):
            for ox in range(wo):
                for ky in range(k):
                    for kx in range(k):
                        iy, ix = oy * s - p + ky, ox * s - p + kx
                        if 0 <= iy < h and 0 <= ix < w:
                            for ci in range(ci_n):
                                M[(co * ho + oy) * wo + ox, (ci * h + iy) * w + ix] = m[ci, ky, kx, co]
    return M


def export_layers(engine) -> dict:
    """Lava parameters of every layer (plain dicts), and notes. Raises NeurochipError naming the
    layer for what stock Lava cannot run exactly."""
    if not getattr(engine, "is_int", False):
        raise NeurochipError("only integer networks (--precision int) can be exported to Lava's fixed-point simulator")
    cfg, prof, ilay = engine.cfg, engine.profile, engine.ilay
    n, s = prof.neuron, prof.synapse
    why = lava_exact_reasons(prof)
    if why:
        raise NeurochipError(f"layer kinds export with stock Lava processes only, and profile '{prof.name}' is not "
                             f"Lava-exact ({why[0]}); use a Lava-exact profile such as loihi")
    if s.weight_bits > 8:
        raise NeurochipError(f"profile '{prof.name}' has {s.weight_bits}-bit weights; Lava keeps at most 8")
    weights, st = engine.weights(), engine.state()
    specs = cfg.layers
    L = len(specs)
    out, notes = [], []
    for l, sp in enumerate(specs):
        e = int(ilay.weight_exp[l])
        graded = l == 0 and cfg.encoder in GRADED_ENCODERS
        nmb = s.input_bits if graded else 0
        d = dict(index=l, kind=sp.kind, token=sp.token, nmb=nmb, k_u=sp.k_u)
        prev = specs[l - 1] if l else None
        if sp.kind in (CONV, POOL) and e >= 0:
            ci, h, w = sp.in_shape
            k = sp.kernel
            if sp.kind == CONV:
                m = weights[l].astype(np.int64)
                W = (m.transpose(3, 2, 1, 0)[:, ::-1, ::-1, :] << e).copy()
            else:
                M = int(engine.kernel_params()[0].geom[l, 10])
                W = np.zeros((ci, k, k, ci), np.int64)
                for c in range(ci):
                    W[c, :, :, c] = M << e
            if np.abs(W).max(initial=0) > 255:
                notes.append(f"layer {l + 1} ({sp.token}): Conv weights m << {e} exceed 8 bits (Lava's simulator does not "
                             "truncate them; simulation only)")
            d.update(proc="conv", weight=W.astype(np.int32), input_shape=(w, h, ci), stride=sp.stride,
                     padding=sp.padding, out_shape=sp.out_shape)
        else:
            if sp.kind == CONV:
                m = _unrolled(sp, weights[l].astype(np.int64)).T            # n_in x n_out
                notes.append(f"layer {l + 1} ({sp.token}): weight exponent {e} < 0 (graded input); Lava's Conv has no "
                             "weight exponent, exported as a Dense over the unrolled convolution")
            elif sp.kind == POOL:
                raise NeurochipError(f"layer {l + 1} ({sp.token}): a pool with a negative weight exponent cannot be exported")
            else:
                m = weights[l].astype(np.int64)[:sp.n_in]
            if m.min(initial=0) < -128 or m.max(initial=0) > 127:
                raise NeurochipError(f"layer {l + 1} ({sp.token}): weight mantissas outside [-128, 127]")
            Wd = (m.T << EXPORT_WEIGHT_SHIFT)
            if l > 0 and prev.kind in (CONV, POOL):
                Wd = Wd[:, _whc_perm(prev.out_shape)]       # its input arrives in Lava's (W, H, C) order
            if sp.kind == CONV:
                Wd = Wd[_whc_perm(sp.out_shape), :]          # its neurons are a Lava (W, H, C) image
            d.update(proc="dense", weights=Wd.astype(np.int32), weight_exp=lava_weight_exp(e), sign_mode=sign_mode_for(m),
                     out_shape=sp.out_shape if sp.kind == CONV else (sp.n_out,))
            if sp.kind == RECURRENT:
                if e < 0:
                    raise NeurochipError(f"layer {l + 1} ({sp.token}): a recurrent layer with a negative weight exponent "
                                         "(graded input) is not exact in Lava (it shifts each Dense's sum separately)")
                r = weights[l].astype(np.int64)[sp.n_in:]
                d.update(rec_weights=(r.T << EXPORT_WEIGHT_SHIFT).astype(np.int32), rec_sign_mode=sign_mode_for(r))
        # neurons
        out_shape = d["out_shape"]
        readout = l == L - 1 and cfg.readout == "integrator"
        b = np.asarray(st.bias[l], np.int64)
        mant, bexp, ok = bias_to_mant_exp(b)
        if not ok.all():
            raise NeurochipError(f"layer {l + 1} ({sp.token}): a bias is not representable in Lava")
        kv = int(ilay.leak_shift[l])
        img = len(out_shape) == 3
        perm = _whc_perm(out_shape) if img else None
        d.update(du=(LAVA_DECAY_UNITY >> sp.k_u) - 1 if sp.k_u else LAVA_DECAY_UNITY - 1, dv=LAVA_DECAY_UNITY >> kv,
                 vth=READOUT_VTH if readout else n.threshold, readout=readout, leak_shift=kv,
                 lava_shape=(out_shape[2], out_shape[1], out_shape[0]) if img else (int(np.prod(out_shape)),),
                 perm=perm, bias_mant=(mant[perm] if img else mant), bias_exp=(bexp[perm] if img else bexp),
                 n=int(np.prod(out_shape)))
        out.append(d)
    return {"layers": out, "notes": notes, "input_shape": cfg.input_shape, "T": cfg.timesteps,
            "decoder": cfg.decoder_resolved}


class _Exp:
    """What export.decode_predictions reads of an export."""

    def __init__(self, ex, last):
        self.timesteps = ex["T"]
        self.decoder = ex["decoder"]
        self.stock = True
        self.layers = [type("L", (), {"readout": last["readout"], "leak_shift": last["leak_shift"]})()]


def run_lava_layers(ex: dict, R: np.ndarray, bias_last=None):
    """Build and run the Lava graph; returns (spikes, v, u of the readout, effective weights read back,
    seconds), per layer in neurochip's CHW order and time."""
    from .compat import require_lava

    require_lava()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.conv.process import Conv
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import Read
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIFReset

    from .export import sign_mode_of

    layers = ex["layers"]
    L = len(layers)
    T = ex["T"]
    steps = R.shape[0]
    lava_steps = steps + L * HOP_DELAY
    in_shape = ex["input_shape"]
    first = layers[0]
    if first["proc"] == "conv":
        c, h, w = in_shape
        data = np.zeros((w, h, c, lava_steps), np.int32)
        data[..., :steps] = R.T.reshape(c, h, w, steps).transpose(2, 1, 0, 3)
    else:
        data = np.zeros((R.shape[1], lava_steps), np.int32)
        data[:, :steps] = R.T
    src = Source(data=data)
    prev = src.s_out
    prev_img = first["proc"] == "conv"
    conns, nrns, sinks, vread, uread, recs = [], [], [], [], [], []
    for d in layers:
        img_out = len(d["lava_shape"]) == 3
        if d["proc"] == "conv":
            if not prev_img:
                raise NeurochipError(f"layer {d['index'] + 1} ({d['token']}): a Lava Conv needs an image input")
            syn = Conv(weight=d["weight"], weight_exp=0, input_shape=d["input_shape"], padding=d["padding"],
                       stride=d["stride"], num_message_bits=d["nmb"])
            a_out = syn.a_out
        else:
            if prev_img:
                prev = prev.flatten()
            syn = Dense(weights=d["weights"], weight_exp=d["weight_exp"], num_weight_bits=8,
                        sign_mode=sign_mode_of(d["sign_mode"]), num_message_bits=d["nmb"])
            a_out = syn.a_out.reshape(d["lava_shape"]) if img_out else syn.a_out
        start = 1 + (d["index"] + 1) * HOP_DELAY
        nrn = LIFReset(shape=d["lava_shape"], du=d["du"], dv=d["dv"], vth=d["vth"], bias_mant=d["bias_mant"].reshape(d["lava_shape"]),
                       bias_exp=d["bias_exp"].reshape(d["lava_shape"]), reset_interval=T, reset_offset=start % T)
        prev.connect(syn.s_in)
        a_out.connect(nrn.a_in)
        if "rec_weights" in d:
            rec = Dense(weights=d["rec_weights"], weight_exp=d["weight_exp"], num_weight_bits=8,
                        sign_mode=sign_mode_of(d["rec_sign_mode"]))
            nrn.s_out.connect(rec.s_in)
            rec.a_out.connect(nrn.a_in)
            conns.append(rec)
            recs.append((d["index"], rec, d["n"]))
        conns.append(syn)
        nrns.append(nrn)
        sk = Sink(shape=d["lava_shape"], buffer=lava_steps)
        nrn.s_out.connect(sk.a_in)
        sinks.append(sk)
        r = Read(buffer=lava_steps)
        r.connect_var(nrn.v)
        vread.append(r)
        prev = nrn.s_out
        prev_img = img_out
    last = layers[-1]
    ur = None
    if not last["readout"]:
        ur = Read(buffer=lava_steps)
        ur.connect_var(nrns[-1].u)
    t0 = time.perf_counter()
    try:
        # a sample starts from rest, its recurrent input too: Lava's LIFReset clears u and v, not the
        # spike of the previous sample's last step that a recurrent Dense holds in its buffer. So the
        # run pauses right before each recurrent layer's first step of every sample (0-based Lava
        # step k T + i + 1 for weight layer i) and clears that Dense's a_buff.
        stops = sorted({k * T + i + 1 for k in range(1, -(-steps // T)) for i, _, _ in recs})
        cfg = Loihi2SimCfg(select_tag="fixed_pt")
        done = 0
        for stop in stops + [lava_steps]:
            if stop > done:
                src.run(condition=RunSteps(num_steps=stop - done), run_cfg=cfg)
                done = stop
            for i, rec, nn in recs:
                if any(stop == k * T + i + 1 for k in range(1, -(-steps // T))):
                    rec.a_buff.set(np.zeros(nn, np.int32))
        dt = time.perf_counter() - t0

        def chw(arr, d, l):
            a = np.rint(np.asarray(arr, np.float64)).astype(np.int64).reshape(-1, lava_steps)
            a = a[:, (l + 1) * HOP_DELAY:(l + 1) * HOP_DELAY + steps].T         # steps x n (Lava order)
            if d["perm"] is not None:
                o = np.empty_like(a)
                o[:, d["perm"]] = a
                a = o
            return a
        spikes = [chw(sk.data.get(), d, l) for l, (sk, d) in enumerate(zip(sinks, layers))]
        vs = [chw(r.data.get(), d, l) for l, (r, d) in enumerate(zip(vread, layers))]
        us = chw(ur.data.get(), last, L - 1) if ur is not None else None
        eff = []
        for c in conns:
            wv = c.weights.get() if hasattr(c, "weights") else c.weight.get()
            eff.append(np.rint(np.asarray(wv, np.float64)).astype(np.int64))
    finally:
        try:
            src.stop()
        except Exception:
            pass
    return spikes, vs, us, eff, dt


def expected_weights(ex) -> list:
    out = []
    for d in ex["layers"]:
        if "rec_weights" in d:
            out.append(d["rec_weights"])
        out.append(d["weight"] if d["proc"] == "conv" else d["weights"])
    return out


def reference_layers(engine, R: np.ndarray):
    """neurochip's per-step spikes and membranes (kernels/layers_run.py), CHW order per layer."""
    from ..counters import S_CURRENT, S_MEMBRANE
    from ..kernels.layers_run import layers_forward
    from ..kernels.state import Counters, NeuronState, Scratch

    b = engine.backend
    net, lifs, lrn, rp = b.kernel_params()
    n_all = b.lay.n_neurons
    steps = R.shape[0]
    n_rec = n_all - int(b.lay.sizes[0])
    rec_s = np.zeros((steps, n_rec), np.int64)
    rec_v = np.zeros((steps, n_rec), np.int64)
    T = rp.T
    preds = np.zeros(-(-steps // T), np.int64)
    z = lambda: np.zeros(n_all, np.int64)      # noqa: E731
    st = NeuronState(z(), z(), z(), z(), z(), z(), np.zeros(2, np.int64), z(), z(), z(), z())
    n_out = int(b.lay.sizes[-1])
    sc = Scratch(*b._row, np.zeros(n_all, np.int64), np.zeros(n_out, np.int64),
                 np.zeros(n_out, np.int64), np.zeros(n_out, np.int64), b.lut_exp, b.lut_sg, b._wacc)
    from ..counters import new_counters
    sat, ops = new_counters(len(engine.cfg.layers))
    wts = b.kernel_weights(False)
    t0 = time.perf_counter()
    layers_forward(np.ascontiguousarray(R, np.int64), T, net, lifs, lrn, rp.dec, wts, st, sc, Counters(sat, ops),
                   rec_s, rec_v, preds)
    dt = time.perf_counter() - t0
    spikes, vs, off = [], [], 0
    for nl in b.lay.sizes[1:]:
        spikes.append(rec_s[:, off:off + nl])
        vs.append(rec_v[:, off:off + nl])
        off += nl
    return RunRecord(spikes, vs, preds, np.stack([sat[:, S_CURRENT], sat[:, S_MEMBRANE]], 1), dt)


def compare_layers(engine, x: np.ndarray, y: np.ndarray) -> Comparison:
    """export.compare for networks with layer kinds."""
    x = np.asarray(x)
    y = np.asarray(y, np.int64)
    if len(x) == 0:
        raise NeurochipError("no samples to compare")
    ex = export_layers(engine)
    xin = engine.prepare(x)
    order = np.arange(len(y), dtype=np.int64)
    rng0 = engine.rng.copy()
    R = input_raster(engine, xin, order)
    reference_layers(engine, R[:1])
    ref = reference_layers(engine, R)
    pe = engine.run(xin, y, order, False)
    engine.rng[:] = rng0
    st = engine.state()
    spikes, vs, us, eff, dt = run_lava_layers(ex, R)
    last = ex["layers"][-1]
    preds = decode_predictions(_Exp(ex, last), spikes[-1], vs[-1], us, np.asarray(st.bias[-1], np.int64), True)
    expect = expected_weights(ex)
    changes = [int(np.count_nonzero(np.asarray(a, np.int64) != np.asarray(b, np.int64).reshape(np.shape(a))))
               for a, b in zip(expect, eff)]
    diffs = []
    ci = 0
    for l, d in enumerate(ex["layers"]):
        nch = 2 if "rec_weights" in d else 1
        rs, ls = ref.spikes[l], spikes[l]
        rv, lv = ref.v[l], vs[l]
        first = _first_diff(rs, ls) or _first_diff(rv, lv)
        diffs.append(LayerDiff(layer=l + 1, neurons=rs.shape[1], values=rs.size, spikes_neurochip=int(rs.sum()),
                               spikes_lava=int(ls.sum()), spike_mismatches=int(np.count_nonzero(rs != ls)),
                               v_mismatches=int(np.count_nonzero(rv != lv)), current_events=int(ref.events[l][0]),
                               membrane_events=int(ref.events[l][1]), weight_changes=sum(changes[ci:ci + nch]),
                               first_mismatch=first))
        ci += nch
    return Comparison(samples=len(y), timesteps=ex["T"], lava_steps=R.shape[0] + len(ex["layers"]) * HOP_DELAY,
                      stock=True, acc_neurochip=float(np.mean(pe == y)), acc_reference=float(np.mean(ref.preds == y)),
                      acc_lava=float(np.mean(preds == y)), pred_mismatches=int(np.count_nonzero(preds != ref.preds)),
                      engine_reference_mismatches=int(np.count_nonzero(pe != ref.preds)), layers=diffs,
                      notes=tuple(ex["notes"]), seconds_lava=dt, seconds_neurochip=ref.seconds)


__all__ = ["export_layers", "run_lava_layers", "reference_layers", "compare_layers"]
