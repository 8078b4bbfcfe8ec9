"""The float family's shared step helpers (kernels/lif_float.py, kernels/optim_float.py) and typed
tuples (kernels/float_types.py, kernels/pack_float.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from neurochip import fixedpoint as fx
from neurochip.engine import Engine
from neurochip.kernels.bptt_float import run_bptt
from neurochip.kernels.lif_float import encode, lif_fire, lif_fire_smooth, threshold, trace
from neurochip.kernels.optim_float import TH_MIN
from neurochip.kernels.ottt_float import run_float
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile


@pytest.mark.parametrize("ge,subtract,u,want", [
    (True, True, 1.0, (1.0, 0.0)),       # '>=' fires at the threshold, subtract
    (False, True, 1.0, (0.0, 1.0)),      # '>' does not
    (False, True, 1.25, (1.0, 0.25)),
    (False, False, 1.25, (1.0, 0.0)),    # reset to zero
    (True, False, 0.5, (0.0, 0.5)),      # below: no spike, membrane kept
    (True, True, -0.5, (0.0, -0.5)),
])
def test_lif_fire_compare_and_reset(ge, subtract, u, want):
    assert lif_fire(u, 1.0, ge, subtract) == want


def test_lif_fire_smooth_is_the_sigmoid_with_a_graded_reset():
    u, th, a = 1.3, 0.8, 4.0
    s = 1 / (1 + math.exp(-a * (u - th)))
    assert lif_fire_smooth(u, th, True, a) == pytest.approx((s, u - s * th), abs=1e-15)
    assert lif_fire_smooth(u, th, False, a) == pytest.approx((s, u * (1 - s)), abs=1e-15)


def test_encode_direct_rate_latency():
    assert encode(0.3, 2, 0, 7) == (0.3, 7)                         # direct: the value, PRNG untouched
    r1, b = fx.rand_bits(7, 8)
    assert encode(float(b + 1), 0, 1, 7) == (1.0, r1)                # rate: spike iff draw < p
    assert encode(float(b), 0, 1, 7) == (0.0, r1)
    assert encode(3.0, 3, 2, 7) == (1.0, 7) and encode(3.0, 2, 2, 7) == (0.0, 7)   # latency
    assert encode(-1.0, 0, 2, 7) == (0.0, 7)                        # never


def test_trace_and_threshold():
    assert trace(2.0, 0.75, 1.0) == 2.5
    W = np.array([0.1, 0.2, 0.7, 0.9], np.float32)
    assert threshold(W, -1, 1) == 1.0
    assert threshold(W, 2, 1) == pytest.approx(0.9)


CONFIGS = [dict(), dict(rule="ottt-a", optimizer="adam", lr=0.01), dict(recurrent=True, sws=True),
           dict(learn_threshold=True, readout="spiking", loss="count", encoder="rate"),
           dict(feedback="random", sizes=(5, 4, 4, 3), encoder="latency", surrogate="triangle"),
           dict(readout="spiking", loss="rate_ce", optimizer="momentum", lr=0.01, readout_leak_shift=3)]


def test_one_compiled_kernel_serves_every_float_network():
    """The tuples' field types do not depend on the options: after the first network, neither
    kernel compiles again (a field typed int here and float there would recompile it, and
    cache=True would keep one copy per variant)."""
    prof = load_profile("generic")
    x = np.random.default_rng(0).uniform(0, 1, (3, 5))
    n = {}
    for k, kw in enumerate(CONFIGS):
        opts = dict(sizes=(5, 4, 3), precision="float", timesteps=4, seed=k)
        opts.update(kw)
        for rule in (opts.pop("rule", "ottt-o"), "bptt"):
            if rule == "bptt" and opts.get("feedback") == "random":
                continue
            eng = Engine(NetworkConfig(rule=rule, **opts), prof)
            eng.run(eng.prepare(x), np.array([0, 1, 2]), np.arange(3), True)
            eng.set_lr(0.5)
            eng.set_decoder("membrane")
            eng.run(eng.prepare(x), np.array([0, 1, 2]), np.arange(3), False)
            if k == 0:
                n[rule] = len((run_bptt if rule == "bptt" else run_float).signatures)
    assert len(run_float.signatures) == n["ottt-o"]
    assert len(run_bptt.signatures) == n["bptt"]


def test_set_lr_and_thresholds_floor():
    """set_lr reaches the kernel (an update twice as large), and learned thresholds stay >= TH_MIN."""
    prof = load_profile("generic")
    x = np.random.default_rng(1).uniform(0.5, 1, (1, 5))
    d = []
    for lr in (0.1, 0.2):
        eng = Engine(NetworkConfig(sizes=(5, 4, 3), precision="float", rule="ottt-a", lr=1.0,
                                   lr_schedule="constant", init_gain=4.0), prof)
        eng.set_lr(lr)
        w0 = eng.W.copy()
        eng.run(eng.prepare(x), np.array([1]), np.array([0]), True)
        d.append(eng.W - w0)
    assert np.abs(d[0]).max() > 1e-4
    np.testing.assert_allclose(d[1], 2 * d[0], rtol=0, atol=1e-6)
    eng = Engine(NetworkConfig(sizes=(5, 4, 3), precision="float", learn_threshold=True, lr=1e-6,
                               lr_schedule="constant", rule="ottt-a"), prof)
    eng.W[eng.lay.thoff:] = 0.01       # below the floor: the optimizer step lifts every one to it
    eng.run(eng.prepare(x), np.array([1]), np.array([0]), True)
    np.testing.assert_array_equal(np.concatenate(eng.thresholds()), np.float32(TH_MIN))


@pytest.mark.parametrize("name", ["sigmoid", "rectangular", "triangle", "gaussian", "fast_sigmoid",
                                  "spike_operator"])
def test_float_surrogate_equals_the_definitions_the_chip_tables_come_from(name):
    """surrogate_f (float kernels) and neurochip.surrogate (source of the integer tables) agree,
    at the default and at another parameter, on both sides of the threshold."""
    from neurochip.kernels.lif_float import surrogate_f
    from neurochip.surrogate import DEFAULT_PARAM, SURROGATE_CODES, SURROGATES

    xs = np.linspace(-2.1, 2.1, 43)
    spiked = (xs > 0).astype(float)
    for p in {DEFAULT_PARAM[name], 0.7 * DEFAULT_PARAM[name] or 0.7}:
        if name == "spike_operator":
            want = SURROGATES[name](xs, spiked)
        else:
            want = SURROGATES[name](xs, p)
        got = [surrogate_f(x, s, SURROGATE_CODES[name], p) for x, s in zip(xs, spiked)]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
