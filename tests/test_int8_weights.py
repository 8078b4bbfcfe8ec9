"""Inference row adds from an int8 copy of the weights (kernels/pack.int8_weights, kernels/dense.py
``dense_forward``): bit-identical to the int32 path (predictions, counters, the state left behind)
on 1 and 2 threads, the copy used only where every weight of a dense layer fits int8, never when
learning, and one compiled kernel signature either way."""
import copy

import numba
import numpy as np
import pytest

from neurochip import parallel
from neurochip.backends import int_ottt
from neurochip.engine import Engine
from neurochip.kernels.pack import I8_MAX, I8_MIN, int8_weights
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile
from neurochip.train import run_epoch

# 37 and 19 neurons: the 16-lane vector loop, its 4-lane remainder and a scalar tail all run
SIZES = (23, 37, 19, 5)
#: thread counts compared (neurochip/parallel.py; 2 needs NUMBA_NUM_THREADS >= 2, as in test_parallel_eval.py)
THREADS = (1, 2) if numba.config.NUMBA_NUM_THREADS >= 2 else (1,)


@pytest.fixture(autouse=True)
def _restore_threads():
    n = parallel.threads()
    yield
    parallel.set_threads(n)


def _int32_only(cfg, W, lay):
    """int8_weights with no layer flagged: the int32 path (the reference)."""
    return np.zeros(0, np.int8), np.zeros(cfg.n_layers, np.bool_)


def _net(encoder, readout, rule="ottt-o"):
    """A trained network whose weights are then spread over the whole int8 range, -128 and 127 in
    every layer."""
    cfg = NetworkConfig(sizes=SIZES, timesteps=6, encoder=encoder, readout=readout,
                        loss="mse" if readout == "spiking" else "ce_mse", rule=rule, lr=1.0,
                        lr_schedule="constant", init_gain=4.0, seed=3)
    eng = Engine(cfg, load_profile("loihi"))
    rng = np.random.default_rng(7)
    x = rng.random((45, SIZES[0]))
    y = rng.integers(0, SIZES[-1], 45)
    run_epoch(eng, eng.prepare(x[:20]), y[:20], np.arange(20), True)
    eng.W[:] = np.clip(eng.W * 2, I8_MIN, I8_MAX)
    for l in range(cfg.n_layers):
        a = int(eng.backend.lay.woff[l])
        eng.W[a + 3] = I8_MIN
        eng.W[a + 5] = I8_MAX
    return eng, x, y


def _everything(eng, preds):
    b = eng.backend
    out = {"preds": preds, "W": b.W, "rng": b.rng, "ops": b.ops, "sat": b.sat, "v": b.v, "tr": b.tr, "rownz": b._rownz}
    for i, a in enumerate(b._scratch + b._out + list(b._row)):
        out[f"scratch{i}"] = a
    return {k: np.array(v) for k, v in out.items()}


def _infer(eng, x, y, threads):
    e = copy.deepcopy(eng)
    parallel.set_threads(threads)
    order = np.r_[np.arange(45), np.arange(7)[::-1]]        # odd count, repeated samples
    preds = e.run(e.prepare(x), y, order, False)
    return _everything(e, preds)


def _assert_same(a, b, what):
    for k in a:
        assert np.array_equal(a[k], b[k]), f"{what}: {k}"


def test_int8_weights_flags_only_layers_that_fit():
    eng, _, _ = _net("rate", "integrator")
    b = eng.backend
    W8, w8 = int8_weights(eng.cfg, b.W, b.lay)
    assert w8.tolist() == [True, True, True] and W8.dtype == np.int8 and np.array_equal(W8, b.W)
    assert W8.min() == I8_MIN and W8.max() == I8_MAX
    W = b.W.copy()
    W[int(b.lay.woff[1]) + 2] = I8_MAX + 1
    W[int(b.lay.woff[2]) + 4] = I8_MIN - 1
    W8, w8 = int8_weights(eng.cfg, W, b.lay)
    assert w8.tolist() == [True, False, False]
    n0 = SIZES[0] * SIZES[1]
    assert np.array_equal(W8[:n0], W[:n0]) and not W8[n0:].any()
    W[7] = I8_MIN - 1
    W8, w8 = int8_weights(eng.cfg, W, b.lay)
    assert not w8.any() and W8.shape == (0,)


def test_learning_reads_int32_and_one_signature():
    eng, _, _ = _net("rate", "integrator")
    b = eng.backend
    learn, infer = b.kernel_weights(True), b.kernel_weights(False)
    assert learn.W8.shape == (0,) and not learn.w8.any() and infer.w8.all()
    assert numba.typeof(learn) == numba.typeof(infer)          # one compiled run_int for both


@pytest.mark.parametrize("encoder,readout,rule", [("rate", "integrator", "ottt-o"), ("direct", "spiking", "ottt-a"),
                                                   ("latency", "integrator", "ottt-o")])
def test_int8_rows_bit_identical(encoder, readout, rule, monkeypatch):
    """int8 row adds against the int32 path (one thread), on 1 and 2 threads."""
    eng, x, y = _net(encoder, readout, rule)
    assert eng.backend.kernel_weights(False).w8.all()
    got = {n: _infer(eng, x, y, n) for n in THREADS}
    monkeypatch.setattr(int_ottt, "int8_weights", _int32_only)
    ref = _infer(eng, x, y, 1)
    for n in THREADS:
        _assert_same(ref, got[n], f"{n} threads")
    assert ref["ops"].sum() > 0 and ref["v"].any()


def test_weights_outside_int8_fall_back(monkeypatch):
    """A layer with a weight outside int8 sums from W (int32) and the others from the copy; one with
    none fitting has no copy at all: both identical to the int32 path."""
    eng, x, y = _net("rate", "integrator")
    for outside in ([1], [0, 1, 2]):
        e = copy.deepcopy(eng)
        for l in outside:
            e.W[int(e.backend.lay.woff[l]) + 1] = I8_MAX + 1 + l
        w8 = e.backend.kernel_weights(False).w8
        assert w8.tolist() == [l not in outside for l in range(3)]
        got = {n: _infer(e, x, y, n) for n in THREADS}
        with monkeypatch.context() as m:
            m.setattr(int_ottt, "int8_weights", _int32_only)
            ref = _infer(e, x, y, 1)
        for n in THREADS:
            _assert_same(ref, got[n], f"layers {outside} outside int8, {n} threads")


def test_inference_reads_the_copy(monkeypatch):
    """The flagged layers' sums come from W8 (a zeroed copy changes the results), so the identity
    tests above compare two different paths."""
    eng, x, y = _net("rate", "integrator")
    ref = _infer(eng, x, y, 1)

    def zeros(cfg, W, lay):
        W8, w8 = int8_weights(cfg, W, lay)
        return np.zeros_like(W8), w8

    monkeypatch.setattr(int_ottt, "int8_weights", zeros)
    got = _infer(eng, x, y, 1)
    assert not np.array_equal(ref["ops"], got["ops"])
