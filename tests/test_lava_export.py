"""Inference export to Lava (neurochip/lava/export.py, lava_models/, lava_cli.py) and the inference
kernel it uses as neurochip's reference (neurochip/kernels/lif_run.py).

* Without Lava: the inference kernel equals the engine (``run_int``) step by step; the export keeps
  every weight (Lava's Dense truncation computed per ``docs/design/lava-semantics.md`` §2); biases,
  errors and hardware notes.
* With Lava: many random networks (mixed / excitatory / inhibitory weights, Dense weight_exp -3..3,
  several leak shifts and thresholds, biases, u wraps and v clips, 1-3 layers, graded and binary
  input, integrator and spiking readouts, per-sample resets and a continuous run, the generic
  profile's NcLIF) run bit-exact against Lava's fixed-point simulator. Several networks share one
  Lava runtime (one source fanning out), since each Lava start-up costs ~1 s. Every Lava run stops
  in a ``finally`` (inside ``run_lava_many``). The longer set is marked ``slow``.

No Lava Process is defined in this directory (Lava imports every .py next to a Process's module).
"""
from __future__ import annotations

import dataclasses
import importlib.util
import json
import os

import click
import numpy as np
import pytest
from click.testing import CliRunner

from neurochip.lava import export as lx
from neurochip.counters import S_CURRENT, S_MEMBRANE
from neurochip.engine import Engine
from neurochip.errors import NeurochipError
from neurochip.kernels.lif_run import encode_raster
from neurochip.network import NetworkConfig, NetworkState
from neurochip.profile import load_profile

HAVE_LAVA = importlib.util.find_spec("lava") is not None
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _need_lava():
    """Skip only when lava-nc is not installed at all, and never in CI (scripts/setup.sh installs it).
    Installs neurochip's import fix before the test imports anything from Lava."""
    if HAVE_LAVA:
        from neurochip.lava.compat import require_lava

        require_lava()
        return
    if IN_CI:
        pytest.fail("lava-nc is not installed in CI: scripts/setup.sh should have installed it")
    pytest.skip("lava-nc not installed")


# ---------------------------------------------------------------------------------------------
# random networks
# ---------------------------------------------------------------------------------------------

WIDE_EXP = {"weight_exp_min": -16, "weight_exp_max": 16}


def make_engine(rng, *, profile="loihi", n0=6, sizes=None, T=None, encoder=None, readout=None,
                wmode=None, wexp=None, thr=None, leak=None, readout_leak=None, bias=None,
                weights=None, wide=True) -> Engine:
    """An integer engine with random (or given) weights, biases, per-layer weight exponents and
    leak shifts. The exponents are set on the engine's IntLayout, which both the engine's kernel
    and the export read."""
    base = load_profile(profile)
    if thr is None:
        thr = int(rng.choice([40, 300, 2000, 4096, 30000, 131071] if profile == "loihi" else [40, 300, 1024, 8000]))
    k = int(rng.choice([1, 2, 3, 4, 6, 12])) if leak is None else leak
    prof = base.with_overrides(neuron={"leak_shift": k, "threshold": thr}, synapse=WIDE_EXP if wide else {})
    if sizes is None:
        L = int(rng.integers(1, 4))
        sizes = (n0,) + tuple(int(rng.integers(2, 7)) for _ in range(L))
    L = len(sizes) - 1
    cfg = NetworkConfig(sizes=sizes, timesteps=int(rng.integers(1, 6)) if T is None else T,
                        encoder=encoder or str(rng.choice(["direct", "rate"])),
                        readout=readout or str(rng.choice(["integrator", "spiking"])), loss="mse",
                        readout_leak_shift=int(rng.choice([-1, 0, 1, 5, 12])) if readout_leak is None else readout_leak)
    wmode = wmode or str(rng.choice(["mixed", "exc", "inh"]))
    if weights is None:
        weights = []
        for l in range(L):
            w = rng.integers(-128, 128, size=(sizes[l], sizes[l + 1]))
            if wmode == "exc":
                w = np.abs(w).clip(0, 127)
            elif wmode == "inh":
                w = -np.abs(w)
            weights.append(w.astype(np.int32))
    if bias is None:
        bias = []
        for n in sizes[1:]:
            kind = int(rng.integers(0, 3))
            b = (np.zeros(n, np.int64) if kind == 0 else rng.integers(-4096, 4096, n) if kind == 1
                 else rng.integers(-4096, 4096, n) << rng.integers(0, 8, n))
            bias.append(b.astype(np.int32))
    fb = [np.zeros((sizes[l], sizes[-1]), np.int32) for l in range(1, L)]
    eng = Engine(cfg, prof, NetworkState(cfg, [np.asarray(w, np.int32) for w in weights], None,
                                         [np.asarray(b, np.int32) for b in bias], fb))
    if wexp is None:
        wexp = tuple(int(rng.integers(-2, 5)) for _ in range(L))   # Lava Dense weight_exp = e - 1: -3..3
    eng.ilay = dataclasses.replace(eng.ilay, weight_exp=tuple(int(e) for e in wexp))
    return eng


def with_timesteps(eng: Engine, T: int) -> Engine:
    cfg = dataclasses.replace(eng.cfg, timesteps=T)
    e2 = Engine(cfg, eng.profile, eng.state())
    e2.ilay = dataclasses.replace(e2.ilay, weight_exp=eng.ilay.weight_exp, leak_shift=eng.ilay.leak_shift)
    e2.rng[:] = eng.rng
    return e2


def raster_for(eng: Engine, R: np.ndarray) -> np.ndarray:
    """The shared graded raster as this network's input: graded (direct) or spikes (R != 0)."""
    return R if eng.cfg.encoder == "direct" else (R != 0).astype(np.int32)


# ---------------------------------------------------------------------------------------------
# the inference kernel vs the engine (no Lava)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["loihi", "generic"])
@pytest.mark.parametrize("encoder", ["direct", "rate", "latency"])
@pytest.mark.parametrize("readout", ["integrator", "spiking"])
def test_reference_kernel_equals_engine_step_by_step(profile, encoder, readout):
    rng = np.random.default_rng([3, len(profile), len(encoder), len(readout)])
    for trial in range(4):
        T = int(rng.integers(1, 7))
        eng = make_engine(rng, profile=profile, T=T, encoder=encoder, readout=readout)
        x = rng.random((12, eng.cfg.sizes[0])) * (rng.random((12, eng.cfg.sizes[0])) < 0.7)
        y = rng.integers(0, eng.cfg.sizes[-1], 12)
        xin = eng.prepare(x)
        order = np.arange(12)
        R = lx.input_raster(eng, xin, order)
        ref = lx.reference_run(eng, R)
        n0 = eng.cfg.sizes[0]
        # predictions and the encoder PRNG after the run
        rng_before = eng.rng.copy()
        r_after = encode_raster(xin[0], order, T, eng.kernel_params()[3].enc, int(eng.rng[1]), np.zeros_like(R))
        pe = eng.run(xin, y, order, False)
        assert np.array_equal(pe, ref.preds)
        assert int(eng.rng[1]) == r_after
        # state after every step t of sample 0: an engine with t time steps, same PRNG start
        for t in range(1, T + 1):
            e_t = with_timesteps(eng, t)
            e_t.rng[:] = rng_before
            e_t.run(xin, y, order[:1], False)
            v_ref = np.concatenate([v[t - 1] for v in ref.v])
            s_ref = np.concatenate([s[t - 1] for s in ref.spikes])
            assert np.array_equal(e_t.v[n0:], v_ref), (trial, t)
            assert np.array_equal(e_t._scratch[0][n0:], s_ref), (trial, t)


def raster_engine(eng: Engine, encoder: str, full_scale: int) -> Engine:
    """``eng``'s network (weights, biases, exponents, leaks) reading per-step input with ``encoder``."""
    cfg = dataclasses.replace(eng.cfg, encoder=encoder, input_full_scale=full_scale)
    e2 = Engine(cfg, eng.profile, eng.state())
    e2.ilay = dataclasses.replace(e2.ilay, weight_exp=eng.ilay.weight_exp, leak_shift=eng.ilay.leak_shift)
    return e2


@pytest.mark.parametrize("encoder", ["raster", "raster-spikes"])
@pytest.mark.parametrize("readout", ["integrator", "spiking"])
def test_reference_kernel_equals_engine_step_by_step_raster(encoder, readout):
    """Per-step input (binned event counts, spike rasters): the inference kernel's input rows are the
    raster table's values (graded x_q of a count, capped at the full scale; or 0/1) and its state
    after every step equals the engine's on the first t steps of the input."""
    rng = np.random.default_rng([5, len(encoder), len(readout)])
    for trial in range(4):
        T, N = int(rng.integers(1, 7)), int(rng.integers(1, 6))
        eng = raster_engine(make_engine(rng, T=T, encoder="direct", readout=readout), encoder, N)
        n0 = eng.cfg.sizes[0]
        dt = np.uint8 if trial % 2 == 0 else np.uint16
        x = (rng.integers(0, N + 3, (12, T, n0)) * (rng.random((12, T, n0)) < 0.6)).astype(dt)
        y = rng.integers(0, eng.cfg.sizes[-1], 12)
        xin = eng.prepare(x)
        order = rng.permutation(12)
        R = lx.input_raster(eng, xin, order)
        b = eng.profile.synapse.input_bits
        want = (np.minimum((np.minimum(x, N).astype(np.int64) * (2 << b) + N) // (2 * N), (1 << b) - 1)
                if encoder == "raster" else (x > 0).astype(np.int64))
        assert np.array_equal(R, want[order].reshape(12 * T, n0)), trial
        ref = lx.reference_run(eng, R)
        assert np.array_equal(eng.run(xin, y, order, False), ref.preds)
        for t in range(1, T + 1):
            e_t = with_timesteps(eng, t)
            e_t.run(e_t.prepare(np.ascontiguousarray(x[:, :t])), y, order[:1], False)
            assert np.array_equal(e_t.v[n0:], np.concatenate([v[t - 1] for v in ref.v])), (trial, t)
            assert np.array_equal(e_t._scratch[0][n0:], np.concatenate([s[t - 1] for s in ref.spikes])), (trial, t)


def test_reference_kernel_saturates_and_wraps_like_engine():
    """Huge inputs (u wraps, v clips, int64 beyond int32) give the engine's state too."""
    rng = np.random.default_rng(11)
    events = 0
    for wexp in ([12, 3], [6, 7], [-8, 0]):
        eng = make_engine(rng, sizes=(16, 5, 3), T=3, encoder="direct", readout="spiking", wexp=wexp, thr=100)
        x = np.ones((2, 16))
        xin = eng.prepare(x)
        R = lx.input_raster(eng, xin, np.arange(2))
        ref = lx.reference_run(eng, R)
        e1 = with_timesteps(eng, 3)
        e1.run(xin, np.zeros(2, np.int64), np.arange(1, 2), False)
        assert np.array_equal(e1.v[16:], np.concatenate([v[-1] for v in ref.v]))
        # the wrap / clip counts equal the engine's saturation counters over the same samples
        e2 = with_timesteps(eng, 3)
        e2.run(xin, np.zeros(2, np.int64), np.arange(2), False)
        assert np.array_equal(ref.events[:, 0], e2.sat[:, S_CURRENT])
        assert np.array_equal(ref.events[:, 1], e2.sat[:, S_MEMBRANE])
        events += ref.events.sum()
    assert events > 0


def _python_forward(eng, R, period):
    """Slow per-step model of the forward arithmetic with Python ints (no numba, no int32 paths)."""
    n, prof = eng.cfg.sizes, eng.profile.neuron
    W = [w.astype(object) for w in eng.weights()]
    B = [b.astype(object) for b in eng.state().bias]
    thr = prof.threshold_membrane
    L = len(n) - 1
    vs = [[0] * k for k in n[1:]]
    out_v, out_s = [], []
    for st in range(R.shape[0]):
        if st % period == 0:
            vs = [[0] * k for k in n[1:]]
        x = [int(a) for a in R[st]]
        rec_v, rec_s = [], []
        for l in range(L):
            e, k = eng.ilay.weight_exp[l], eng.ilay.leak_shift[l]
            spikes = []
            for i in range(n[l + 1]):
                c = sum(int(W[l][j, i]) * x[j] for j in range(n[l]))
                u = (c << e if e >= 0 else c >> -e) << prof.input_shift
                half = 1 << (prof.current_bits - 1)
                if prof.current_overflow == "wrap":
                    u = u - 2 * half if u > half else (u + 2 * half if u <= -half else u)
                else:
                    u = min(max(u, -half), half - 1)
                v = vs[l][i]
                if k == 0:
                    lv = 0
                elif prof.leak_rounding == "floor":
                    lv = v - (v >> k)
                else:
                    r = (abs(v) * ((1 << k) - 1)) >> k
                    lv = r if v >= 0 else -r
                hi = (1 << (prof.membrane_bits - 1)) - 1
                v = min(max(lv + u + int(B[l][i]), -hi), hi)
                fires = l < L - 1 or eng.cfg.readout == "spiking"
                sp = int(fires and (v >= thr if prof.compare == ">=" else v > thr))
                if sp:
                    v = v - thr if prof.reset == "subtract" else 0
                vs[l][i] = v
                spikes.append(sp)
            rec_v += vs[l]
            rec_s += spikes
            x = spikes
        out_v.append(rec_v)
        out_s.append(rec_s)
    return np.array(out_v, dtype=object), np.array(out_s, dtype=object)


@pytest.mark.parametrize("profile", ["loihi", "generic"])
def test_reference_kernel_equals_python_model_int32_and_int64_sums(profile):
    """The kernel's int32 fast path (sums provably < 2^31) and its int64 path give the state of a
    plain Python-int model, including sums far beyond int32 (only reachable with raw rasters)."""
    rng = np.random.default_rng(8)
    for huge in (False, True):
        eng = make_engine(rng, profile=profile, sizes=(5, 4, 3), T=3, encoder="direct", readout="spiking",
                          wexp=(-6, 2) if huge else (1, 2), thr=300)
        R = rng.integers(0, 256, size=(6, 5)).astype(np.int64)
        if huge:
            R[:, 0] = 1 << 30                            # sum_j W x > 2^31: the int64 path
        ref = lx.reference_run(eng, R)
        pv, ps = _python_forward(eng, R, 3)
        assert np.array_equal(np.concatenate(ref.v, axis=1).astype(np.int64), pv.astype(np.int64))
        assert np.array_equal(np.concatenate(ref.spikes, axis=1).astype(np.int64), ps.astype(np.int64))


@pytest.mark.parametrize("sizes", [(20, 24, 12), (12, 17, 16, 3), (30, 16, 40)])
@pytest.mark.parametrize("encoder", ["direct", "rate"])
def test_reference_kernel_row_and_transposed_paths_equal_python_model(sizes, encoder):
    """Layers wider than SMALL_POST add the rows of their non-zero inputs, layers with at most
    SMALL_POST neurons sum densely over transposed weights: both (int32 and int64 sums, spikes and
    graded inputs, membranes at the clip edges) give the Python-int model's spikes and membranes."""
    from neurochip.kernels.lif_run import SMALL_POST

    assert any(n > SMALL_POST for n in sizes[1:]) and any(n <= SMALL_POST for n in sizes[1:])
    rng = np.random.default_rng([9, len(sizes), len(encoder)])
    for huge in (False, True):
        eng = make_engine(rng, sizes=sizes, T=4, encoder=encoder, readout="spiking", wmode="mixed",
                          wexp=(12 if huge else 2,) * (len(sizes) - 1), thr=40, leak=2)
        R = rng.integers(0, 256, size=(9, sizes[0])) * (rng.random((9, sizes[0])) < 0.4)
        if encoder == "rate":
            R = (R != 0).astype(np.int64)
        elif huge:
            R[:, 0] = 1 << 30                            # sum_j W x > 2^31: the int64 path
        ref = lx.reference_run(eng, R, period=4)
        pv, ps = _python_forward(eng, R, 4)
        assert np.array_equal(np.concatenate(ref.v, axis=1).astype(np.int64), pv.astype(np.int64))
        assert np.array_equal(np.concatenate(ref.spikes, axis=1).astype(np.int64), ps.astype(np.int64))
        assert ps.astype(np.int64).sum() > 0
        if huge:
            assert ref.events.sum() > 0                       # currents wrap, membranes clip


def test_reference_continuous_run_has_no_resets():
    rng = np.random.default_rng(5)
    eng = make_engine(rng, sizes=(6, 4, 3), T=4, encoder="rate", readout="spiking", thr=40, wexp=(4, 4), leak=12)
    R = (rng.random((12, 6)) < 0.5).astype(np.int32)
    per = lx.reference_run(eng, R)
    cont = lx.reference_run(eng, R, period=12)
    assert np.array_equal(per.v[0][:4], cont.v[0][:4])          # first sample identical
    assert not np.array_equal(per.v[0], cont.v[0])              # then the state carries over
    assert cont.preds.shape == (1,) and per.preds.shape == (3,)


# ---------------------------------------------------------------------------------------------
# export mapping (no Lava)
# ---------------------------------------------------------------------------------------------

def _engine_with_weights(weights, profile="loihi", **kw):
    sizes = (weights[0].shape[0],) + tuple(w.shape[1] for w in weights)
    return make_engine(np.random.default_rng(0), profile=profile, sizes=sizes, weights=weights,
                       bias=[np.zeros(n, np.int32) for n in sizes[1:]], **kw)


@pytest.mark.parametrize("kind", ["mixed", "exc", "inh", "extremes", "zero", "inh_min"])
def test_export_changes_no_weight(kind):
    rng = np.random.default_rng(len(kind))
    m = rng.integers(-128, 128, size=(9, 7))
    if kind == "exc":
        m = np.abs(m).clip(0, 127)
    elif kind == "inh":
        m = -np.abs(m).clip(0, 127)
    elif kind == "extremes":
        m = rng.choice([-128, -127, -1, 0, 1, 126, 127], size=m.shape)
    elif kind == "zero":
        m = np.zeros_like(m)
    elif kind == "inh_min":
        m = -np.abs(m)
        m[0, 0] = -128           # -2 * 128 = -256 does not fit INHIBITORY's 8-bit magnitude: MIXED
    eng = _engine_with_weights([m.astype(np.int32), rng.integers(-128, 128, (7, 3)).astype(np.int32)])
    exp = lx.export_network(eng)
    lay = exp.layers[0]
    assert lay.weights.shape == (7, 9) and lay.num_weight_bits == 8
    assert lay.sign_mode == {"mixed": "MIXED", "exc": "EXCITATORY", "inh": "INHIBITORY", "extremes": "MIXED",
                             "zero": "EXCITATORY", "inh_min": "MIXED"}[kind]
    assert np.array_equal(lay.weights, m.T << 1)
    eff = [lx.effective_dense_weights(la.weights, la.sign_mode, la.num_weight_bits) for la in exp.layers]
    assert lx.weight_changes(exp, eff, eng.weights()) == [0, 0]
    # the automatic sign mode Lava would pick keeps them too, except INHIBITORY's -256
    auto = lx.effective_dense_weights(lay.weights)
    assert np.array_equal(auto, lay.weights) == (kind != "inh_min")


def test_effective_weights_formula_is_lavas():
    """lava-semantics.md §2's truncation, as effective_dense_weights computes it, equals Lava's own functions."""
    _need_lava()
    from lava.utils.weightutils import SignMode, clip_weights, truncate_weights

    rng = np.random.default_rng(2)
    for _ in range(60):
        W = rng.integers(-300, 300, size=(5, 4))
        sm = str(rng.choice(lx.SIGN_MODES))
        if sm == "EXCITATORY":
            W = np.abs(W)
        elif sm == "INHIBITORY":
            W = -np.abs(W)
        nb = int(rng.integers(1, 9))
        mode = getattr(SignMode, sm)
        want = truncate_weights(clip_weights(W.copy(), mode, num_bits=8), mode, nb)
        assert np.array_equal(lx.effective_dense_weights(W, sm, nb), want), (sm, nb)


def test_export_parameters_loihi():
    rng = np.random.default_rng(4)
    eng = make_engine(rng, sizes=(6, 5, 4, 3), T=4, encoder="direct", readout="integrator", leak=3,
                      readout_leak=0, thr=2000, wexp=(0, -2, 4))
    exp = lx.export_network(eng)
    assert exp.stock and exp.timesteps == 4 and exp.n_layers == 3
    assert [la.weight_exp for la in exp.layers] == [-1, -3, 3]
    assert [la.num_message_bits for la in exp.layers] == [8, 0, 0]       # graded input: direct encoding
    assert [la.dv for la in exp.layers] == [512, 512, 4096]               # 4096 >> k, k = 0: no memory
    assert all(la.du == 4095 for la in exp.layers)                        # no current memory
    assert [la.vth for la in exp.layers] == [2000, 2000, 1 << 17]         # readout never fires
    assert [la.readout for la in exp.layers] == [False, False, True]
    assert any("4096" in n for n in exp.notes) and any("readout" in n for n in exp.notes)
    e_rate = make_engine(rng, sizes=(6, 3), encoder="rate", readout="spiking", thr=4096, leak=1, wexp=(8,))
    x = lx.export_network(e_rate)
    assert x.layers[0].num_message_bits == 0 and x.layers[0].vth == 4096 and not x.layers[0].readout
    assert not any("readout" in n for n in x.notes)
    # with the loihi profile's own exponent range [-8, 7]: Dense weight_exp -9 is flagged
    narrow = make_engine(rng, sizes=(6, 3), encoder="direct", thr=4096, wide=False)
    assert not any("weight_exp" in n for n in lx.export_network(narrow).notes)
    narrow.ilay = dataclasses.replace(narrow.ilay, weight_exp=(-8,))
    assert any("Dense weight_exp -9 is outside the chip's [-8, 7]" in n for n in lx.export_network(narrow).notes)


def test_export_generic_is_simulation_only():
    rng = np.random.default_rng(6)
    eng = make_engine(rng, profile="generic", sizes=(6, 4, 3), T=3)
    exp = lx.export_network(eng)
    assert not exp.stock
    assert exp.notes[0].startswith("SIMULATION ONLY")
    for why in ("subtract", ">=", "floor", "membrane_bits = 16", "input_shift = 0"):
        assert why in exp.notes[0]
    nrn = exp.layers[0].neuron
    assert nrn["reset"] == "subtract" and nrn["compare"] == ">=" and nrn["leak_mode"] == "floor"
    assert nrn["threshold"] == eng.profile.neuron.threshold_membrane and nrn["fires"]
    assert not exp.layers[-1].neuron["fires"] or eng.cfg.readout == "spiking"
    assert lx.export_network(make_engine(rng, sizes=(6, 3)), force_custom=True).stock is False


def test_bias_mantissa_exponent():
    b = np.array([0, 1, -1, 4095, -4096, 4096, 32767, -32768, 32768, 4095 << 7, -(1 << 22), 3 << 5])
    mant, bexp, ok = lx.bias_to_mant_exp(b)
    assert ok.all()
    assert np.array_equal(mant.astype(np.int64) << bexp, b)
    assert bexp[list(b).index(32768)] == 1 and bexp[0] == 0
    _, _, hw = lx.bias_to_mant_exp(b, lx.HW_BIAS_MANT, lx.HW_BIAS_EXP)
    # 32767 is odd (13-bit mantissa impossible); -2^22 = -4096 << 10 needs exponent 10 > 7
    assert list(hw) == [True] * 6 + [False] + [True] * 3 + [False, True]
    _, _, ok = lx.bias_to_mant_exp(np.array([(1 << 23) - 1, 32769, -(1 << 30)]))
    assert not ok.any()


def test_export_errors():
    rng = np.random.default_rng(7)
    odd = make_engine(rng, sizes=(4, 3), bias=[np.array([0, (1 << 22) + 1, 0], np.int32)])
    with pytest.raises(NeurochipError, match="bias 4194305 of neuron 1"):
        lx.export_network(odd)
    cfg = NetworkConfig(sizes=(4, 3), precision="float")
    with pytest.raises(NeurochipError, match="only integer networks"):
        lx.export_network(Engine(cfg, load_profile("loihi")))
    wide = load_profile("loihi").with_overrides(synapse={"weight_bits": 12})
    with pytest.raises(NeurochipError, match="12-bit weights"):
        lx.export_network(Engine(NetworkConfig(sizes=(4, 3)), wide))
    eng = make_engine(rng, sizes=(4, 3), T=2, encoder="rate")
    with pytest.raises(NeurochipError, match="input raster has 5 columns, the network has 4 inputs"):
        lx.build_lava(lx.export_network(eng), np.zeros((4, 5), np.int32))


# ---------------------------------------------------------------------------------------------
# bit-exact against Lava
# ---------------------------------------------------------------------------------------------

def edge_networks(rng):
    """Hand-made corner cases, each with its own point (all 6 inputs, sharing the raster)."""
    nets = []
    # u wraps (|a << 6| > 2^23) and v clips, excitatory and inhibitory, below the int32 limit
    nets.append(("wrap exc", make_engine(rng, sizes=(6, 4, 3), T=3, encoder="direct", wmode="exc", wexp=(4, 4), thr=131071,
                                         readout_leak=0)))      # readout without memory: dv = 4096
    nets.append(("wrap inh", make_engine(rng, sizes=(6, 4), T=3, encoder="direct", wmode="inh", wexp=(4,), thr=500)))
    # bias only (no weights): the bias drives v, spikes and resets; largest bias mantissa/exponent
    nets.append(("bias only", make_engine(rng, sizes=(6, 3, 2), T=4, encoder="rate", readout="spiking",
                                          weights=[np.zeros((6, 3), np.int32), np.zeros((3, 2), np.int32)],
                                          bias=[np.array([4095 << 7, -(4096 << 7), 9], np.int32),
                                                np.array([32767, 100], np.int32)], thr=3000, leak=2, wexp=(0, 0))))
    return nets


def random_batch(seed: int, n: int, n0: int = 6, generic_every: int = 5):
    rng = np.random.default_rng(seed)
    nets = []
    for i in range(n):
        prof = "generic" if generic_every and i % generic_every == generic_every - 1 else "loihi"
        nets.append((f"random {seed}/{i} {prof}", make_engine(rng, profile=prof, n0=n0)))
    return nets


def run_and_compare(nets, R, reset=True):
    """One Lava runtime for all networks; returns per network (name, engine, export, diffs, preds equal)."""
    exps = [lx.export_network(e) for _, e in nets]
    resets = reset if isinstance(reset, list) else [reset] * len(nets)
    recs = lx.run_lava_many(exps, R, reset=resets, biases=[e.state().bias for _, e in nets])
    out = []
    for (name, eng), exp, rec, rs in zip(nets, exps, recs, resets):
        ref = lx.reference_run(eng, raster_for(eng, R), period=None if rs else R.shape[0])
        diffs = lx.compare_records(ref, rec, exp, eng.weights())
        preds_equal = np.array_equal(ref.preds, rec.preds) if rs else True
        out.append((name, eng, exp, diffs, preds_equal))
    return out


def assert_exact(results):
    bad = []
    for name, eng, exp, diffs, preds_equal in results:
        for d in diffs:
            if d.spike_mismatches or d.v_mismatches or d.weight_changes:
                bad.append(f"{name} {eng.cfg.sizes} layer {d.layer}: {d.spike_mismatches} spikes, "
                           f"{d.v_mismatches} v, {d.weight_changes} weights differ; first at {d.first_mismatch}")
        if not preds_equal:
            bad.append(f"{name}: predictions differ")
    assert not bad, "\n".join(bad)


def coverage(results) -> dict:
    c = {"spikes": 0, "wraps": 0, "clips": 0, "wexp": set(), "sign": set(), "leak": set(), "layers": set(),
         "stock": set(), "graded": set(), "readout": set(), "silent_or_saturated_only": 0}
    for _, eng, exp, diffs, _ in results:
        c["spikes"] += sum(d.spikes_neurochip for d in diffs)
        c["wraps"] += sum(d.current_events for d in diffs)
        c["clips"] += sum(d.membrane_events for d in diffs)
        c["wexp"] |= {la.weight_exp for la in exp.layers}
        c["sign"] |= {la.sign_mode for la in exp.layers}
        c["leak"] |= {la.leak_shift for la in exp.layers}
        c["layers"].add(exp.n_layers)
        c["stock"].add(exp.stock)
        c["graded"].add(exp.layers[0].num_message_bits > 0)
        c["readout"].add(exp.layers[-1].readout)
    return c


def shared_raster(rng, steps, n0=6, p=0.5):
    return (rng.integers(1, 256, size=(steps, n0)) * (rng.random((steps, n0)) < p)).astype(np.int32)


def test_lava_bit_exact_random_and_edge_networks():
    """~14 networks in one Lava runtime: random loihi (stock LIFReset) and generic (NcLIF) networks
    plus hand-made corner cases and one continuous (plain LIF) run; zero differences anywhere."""
    _need_lava()
    rng = np.random.default_rng(2024)
    nets = random_batch(1, 9) + edge_networks(rng)
    # continuous runs: plain LIF (no biases) and LIFReset resetting once (biases)
    nets.append(("continuous", make_engine(rng, sizes=(6, 5, 3), T=4, encoder="rate", readout="spiking", thr=300,
                                           wexp=(3, 3), leak=4, bias=[np.zeros(5, np.int32), np.zeros(3, np.int32)])))
    nets.append(("continuous bias", make_engine(rng, sizes=(6, 5, 3), T=4, encoder="direct", readout="integrator",
                                                thr=3000, wexp=(-1, 3), leak=3,
                                                bias=[np.arange(5, dtype=np.int32) * 700 - 1400,
                                                      np.array([5, -5, 0], np.int32)])))
    R = shared_raster(rng, 16)
    results = run_and_compare(nets, R, reset=[True] * (len(nets) - 2) + [False, False])
    assert_exact(results)
    c = coverage(results)
    assert c["spikes"] > 100 and c["wraps"] > 0 and c["clips"] > 0
    assert c["sign"] == set(lx.SIGN_MODES)
    assert c["stock"] == {True, False} and c["graded"] == {True, False} and c["readout"] == {True, False}
    assert len(c["wexp"]) >= 5 and len(c["leak"]) >= 4 and 0 in c["leak"] and 3 in c["layers"]


def test_lava_threshold_equality_does_not_spike():
    """The v == vth << 6 corner, checked for what it is meant to show (beyond agreeing)."""
    _need_lava()
    rng = np.random.default_rng(9)
    w = np.zeros((6, 2), np.int32)
    w[0] = 5                                          # W = 10, Dense weight_exp 0: a = 10 * x
    eng = make_engine(rng, sizes=(6, 2), T=2, encoder="direct", readout="spiking", weights=[w], wexp=(1,),
                      thr=10, leak=1, bias=[np.array([0, 1], np.int32)])
    R = np.zeros((2, 6), np.int32)
    R[:, 0] = 1                                       # a = 10: v = a << 6 = 640 = vth << 6; +1 bias on neuron 1
    ((_, _, exp, diffs, _),) = run_and_compare([("eq", eng)], R)
    assert exp.layers[0].weight_exp == 0 and exp.layers[0].vth == 10
    assert all(d.spike_mismatches == 0 and d.v_mismatches == 0 for d in diffs)
    ref = lx.reference_run(eng, R)
    assert ref.v[0][0].tolist() == [640, 0]           # neuron 0 sits at vth << 6 without spiking
    assert ref.spikes[0][0].tolist() == [0, 1]
    assert ref.spikes[0][1].tolist() == [1, 1]        # 320 + 640 > 640


def test_pinned_models_are_lavas_own_choice():
    """The exception_proc_model_map that skips Lava's model search holds exactly the models
    Loihi2SimCfg(select_tag='fixed_pt') selects by itself (checked without running)."""
    _need_lava()
    from lava.magma.compiler.compiler_graphs import ProcGroupDiGraphs

    rng = np.random.default_rng(1)
    engs = [make_engine(rng, sizes=(6, 3, 2), encoder="direct", readout="spiking"),
            make_engine(rng, profile="generic", sizes=(6, 2)),
            make_engine(rng, sizes=(6, 2), bias=[np.zeros(2, np.int32)])]
    g = lx.build_lava([lx.export_network(e) for e in engs], np.zeros((4, 6), np.int32), reset=[True, False, False],
                      record_u=True)
    names = {type(p).__name__ for p in g.processes()}
    assert names == {"RingBuffer", "Dense", "LIFReset", "LIF", "NcLIF", "Read"}
    cfg = g.run_cfg(pin_models=False)
    pinned = g.model_map()
    kinds = {}
    for p in g.processes():
        kinds.setdefault(type(p), p)
    for cls, p in kinds.items():
        chosen = ProcGroupDiGraphs._select_proc_models(p, ProcGroupDiGraphs._find_proc_models(p), cfg)
        assert chosen is pinned[p], cls.__name__
    g.stop()   # never started: harmless


@pytest.mark.xfail(strict=True, reason="known discrepancy: Lava's LIF shifts a << 6 in int32 and wraps at 32 bits "
                   "when |a << 6| >= 2^31; neurochip's kernels compute in int64 (see docs/lava.md)")
def test_lava_int32_overflow_of_huge_activation():
    _need_lava()
    rng = np.random.default_rng(0)
    w = np.full((64, 1), 127, np.int32)               # a = 64 * 254 * 255 << 4 = 66,324,480 >= 2^25
    eng = make_engine(rng, sizes=(64, 1), T=2, encoder="direct", readout="spiking", weights=[w], wexp=(5,),
                      thr=4096, bias=[np.zeros(1, np.int32)])
    R = np.full((2, 64), 255, np.int32)
    assert_exact(run_and_compare([("int32 overflow", eng)], R))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_lava_bit_exact_random_networks_slow(seed):
    _need_lava()
    rng = np.random.default_rng(seed)
    nets = random_batch(seed, 14, n0=8, generic_every=4)
    R = shared_raster(rng, 48, n0=8, p=float(rng.uniform(0.2, 0.8)))
    results = run_and_compare(nets, R)
    assert_exact(results)
    assert coverage(results)["spikes"] > 0


def test_lava_bit_exact_raster_input():
    """Per-step input through the export: graded counts (raster, 8-bit messages) and spike rasters
    (raster-spikes) give Lava every spike and membrane value of neurochip's engine and reference."""
    _need_lava()
    rng = np.random.default_rng(77)
    for encoder, N in (("raster", 3), ("raster-spikes", 1)):
        base = make_engine(rng, profile="loihi", sizes=(8, 6, 3), T=5, encoder="direct", readout="spiking",
                           thr=300, wexp=(2, 3), leak=2)
        eng = raster_engine(base, encoder, N)
        x = (rng.integers(0, N + 2, (10, 5, 8)) * (rng.random((10, 5, 8)) < 0.5)).astype(np.uint8)
        y = rng.integers(0, 3, 10)
        c = lx.compare(eng, x, y)
        assert c.exact, (encoder, c.layers)
        assert sum(d.spikes_neurochip for d in c.layers) > 20
        assert export_graded(eng) == (encoder == "raster")


def export_graded(eng) -> bool:
    return lx.export_network(eng).layers[0].num_message_bits > 0


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["loihi", "generic"])
def test_lava_compare_trained_digits_slow(profile):
    """A network trained on digits in neurochip: Lava's accuracy and every spike and v match."""
    _need_lava()
    from neurochip.data import load_dataset
    from neurochip.train import fit

    data = load_dataset("digits", None, 0)
    cfg = NetworkConfig(sizes=(64, 48, 10), timesteps=6, encoder="direct" if profile == "loihi" else "rate")
    eng = Engine(cfg, load_profile(profile))
    fit(eng, data, epochs=1)
    c = lx.compare(eng, data.x_test[:60], data.y_test[:60])
    assert c.exact, c.layers
    assert c.acc_lava == c.acc_neurochip > 0.5
    assert c.stock == (profile == "loihi")


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from neurochip.checkpoint import save
    from neurochip.data import load_dataset
    from neurochip.train import fit

    data = load_dataset("digits", None, 0)
    eng = Engine(NetworkConfig(sizes=(64, 24, 10), timesteps=4), load_profile("loihi"))
    hist = fit(eng, data, epochs=1)
    path = tmp_path_factory.mktemp("lava") / "run.h5"
    save(path, eng, hist, {"name": "digits", "seed": 0})
    return path


def _cli():
    from neurochip.lava.lava_commands import lava

    @click.group()
    def main():
        pass

    main.add_command(lava)
    return main


def test_cli_check():
    res = CliRunner().invoke(_cli(), ["lava", "check"])
    if HAVE_LAVA:
        assert res.exit_code == 0 and "lava-nc 0.10.0 is usable" in res.output
    else:
        assert res.exit_code == 1 and "install" in res.output


def test_cli_run_exact(checkpoint):
    _need_lava()
    res = CliRunner().invoke(_cli(), ["lava", "run", str(checkpoint), "--samples", "6", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["exact"] and d["samples"] == 6 and d["stock"]
    assert d["acc_lava"] == d["acc_neurochip"]
    assert [x["spike_mismatches"] for x in d["layers"]] == [0, 0]
    assert [x["v_mismatches"] for x in d["layers"]] == [0, 0]
    assert [x["weight_changes"] for x in d["layers"]] == [0, 0]
    assert d["lava_steps"] == 6 * 4 + 2


def test_cli_run_event_checkpoint_exact(tmp_path):
    """A network trained on binned event counts (per-step input) runs bit-exact in Lava from the CLI."""
    _need_lava()
    from neurochip.events import write_shd

    rng = np.random.default_rng(3)
    times = [np.sort(rng.uniform(0, 0.2, 400)) for _ in range(30)]
    units = [rng.integers(40 * (i % 2), 40 * (i % 2) + 40, 400) for i in range(30)]
    data = tmp_path / "shd.h5"
    write_shd(data, times, units, [i % 2 for i in range(30)], times_dtype=np.float32)
    ck = tmp_path / "ev.h5"
    from neurochip.cli import main as cli_main

    r = CliRunner().invoke(cli_main, ["train", "--data", str(data), "-T", "4", "--hidden", "12", "--epochs", "1",
                                    "--max-count", "2", "--train-eval", "0", "--out", str(ck)])
    assert r.exit_code == 0, r.output
    res = CliRunner().invoke(_cli(), ["lava", "run", str(ck), "-n", "6", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["exact"] and d["samples"] == 6 and d["lava_steps"] == 6 * 4 + 2
    assert sum(x["spikes_neurochip"] for x in d["layers"]) > 0


def test_cli_run_table_and_bad_input(checkpoint, tmp_path):
    runner = CliRunner()
    res = runner.invoke(_cli(), ["lava", "run", str(tmp_path / "missing.h5")])
    assert res.exit_code == 2 and "Error:" in res.output
    if not HAVE_LAVA:
        assert "lava-nc is not installed" in res.output
        return
    assert "checkpoint not found" in res.output
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5")
    res = runner.invoke(_cli(), ["lava", "run", str(bad)])
    assert res.exit_code == 2 and "not an HDF5 file" in res.output
    res = runner.invoke(_cli(), ["lava", "run", str(checkpoint), "-n", "3"])
    assert res.exit_code == 0, res.output
    assert "EXACT" in res.output and "accuracy: neurochip" in res.output and "hardware-ready" in res.output
    assert "spike diff" in res.output
