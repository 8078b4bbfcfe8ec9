"""Recurrent hidden layers: a temporal task that needs memory, learned by OTTT (and BPTT), and
OTTT's recurrent gradient against an explicit unrolled computation."""
from __future__ import annotations

import numpy as np
import pytest

from neurochip.engine import Engine, accuracy
from neurochip.errors import NeurochipError
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile
from neurochip.train import epoch_order

T = 8


def which_first(n, seed):
    """Two input channels each spike once (latency code); label 1 iff channel B spiked first.
    Channel times differ, so the two spikes never share a step."""
    rng = np.random.default_rng(seed)
    ta, tb = rng.integers(0, T - 1, n), rng.integers(0, T - 1, n)
    keep = ta != tb
    ta, tb = ta[keep], tb[keep]
    x = np.stack([1 - ta / (T - 1), 1 - tb / (T - 1)], 1)
    return x, (tb < ta).astype(np.int64)


def memoryless(profile):
    """No leak memory anywhere (lambda = 0): only recurrence can carry information across steps."""
    return load_profile(profile).with_overrides(neuron={"leak_shift": 0})


def train_order_task(rule, recurrent, profile="generic", seed=0, epochs=8):
    cfg = NetworkConfig(sizes=(2, 16, 2), timesteps=T, encoder="latency", precision="float", rule=rule,
                        recurrent=recurrent, optimizer="adam", lr=0.01, readout_leak_shift=0, seed=seed)
    eng = Engine(cfg, memoryless(profile))
    x, y = which_first(1200, 1)
    xt, yt = which_first(400, 2)
    xin, xtin = eng.prepare(x), eng.prepare(xt)
    for ep in range(epochs):
        eng.run(xin, y, epoch_order(seed, ep, len(y)), True)
    return accuracy(eng.run(xtin, yt, np.arange(len(yt)), False), yt)


@pytest.mark.parametrize("rule", ["ottt-o", "ottt-a", "bptt"])
def test_recurrent_network_learns_which_channel_fired_first(rule):
    acc_rec = train_order_task(rule, True)
    acc_ff = train_order_task(rule, False)
    # without memory the answer is out of reach of a feed-forward network (the label's base rate
    # and the never-firing latency code of x = 0 give it at most ~0.65); recurrence solves it
    assert acc_ff < 0.7
    assert acc_rec > 0.95


def test_ottt_recurrent_gradient_equals_unrolled_sum():
    """OTTT_A's accumulated gradient of R equals sum_t g_u[t] a_rec[t]^T, with a_rec[t] the trace of
    s[t-1], recomputed here by an explicit unrolled numpy forward of the same network."""
    prof = load_profile("generic")
    cfg = NetworkConfig(sizes=(4, 5, 3), timesteps=6, precision="float", rule="ottt-a", recurrent=True,
                        optimizer="sgd", lr=1.0, lr_schedule="constant", loss="ce", init_gain=6.0, seed=3)
    eng = Engine(cfg, prof)
    lay = eng.lay
    W = eng.W.astype(np.float64)
    W[lay.roff[1]:] *= 4
    eng.W[:] = W
    x = np.random.default_rng(0).uniform(0.5, 1, (1, 4))
    y = 2
    W0 = W[:20].reshape(4, 5)
    W1 = W[20:35].reshape(5, 3)
    R = W[lay.roff[1]:].reshape(5, 5)
    lam = float(eng.lam[0])
    v1, v2, s1 = np.zeros(5), np.zeros(3), np.zeros(5)
    tr1 = np.zeros(5)
    gR = np.zeros((5, 5))
    alpha = eng.fk.learn.sg_param
    for _ in range(cfg.timesteps):
        u1 = lam * v1 + x[0] @ W0 + s1 @ R
        a_rec = tr1.copy()                       # trace of s1[t-1]
        s1 = (u1 >= 1.0).astype(float)          # generic: '>=' and reset by subtraction
        v1 = u1 - s1
        tr1 = lam * tr1 + s1
        v2 = lam * v2 + s1 @ W1
        p = np.exp(v2 - v2.max())
        p /= p.sum()
        g2 = (p - np.eye(3)[y]) / cfg.timesteps
        z = 1 / (1 + np.exp(-alpha * (u1 - 1.0)))
        g1 = (W1 @ g2) * alpha * z * (1 - z)
        gR += np.outer(a_rec, g1)
    eng.run(eng.prepare(x), np.array([y]), np.array([0]), True)
    got = W[lay.roff[1]:].reshape(5, 5) - eng.recurrent()[0]
    assert np.abs(gR).max() > 1e-3
    np.testing.assert_allclose(got, gR, rtol=1e-4, atol=1e-6)


def test_recurrent_options_are_checked():
    with pytest.raises(NeurochipError, match="hidden layer"):
        NetworkConfig(sizes=(4, 2), precision="float", recurrent=True)
    with pytest.raises(NeurochipError, match="precision float"):
        NetworkConfig(sizes=(4, 3, 2), recurrent=True)


def test_recurrent_checkpoint_round_trip(tmp_path):
    from neurochip import checkpoint
    from neurochip.train import History

    cfg = NetworkConfig(sizes=(2, 6, 2), timesteps=T, encoder="latency", precision="float", recurrent=True,
                        learn_threshold=True, sws=True, optimizer="adam", lr=0.01)
    eng = Engine(cfg, load_profile("generic"))
    x, y = which_first(50, 0)
    xin = eng.prepare(x)
    eng.run(xin, y, np.arange(len(y)), True)
    path = tmp_path / "rec.h5"
    checkpoint.save(path, eng, History(), {"name": "digits", "seed": 0})
    eng2, _, _ = checkpoint.load(path)
    np.testing.assert_array_equal(eng2.W, eng.W)
    np.testing.assert_array_equal(eng2.V, eng.V)
    # both continue identically
    p1 = eng.run(xin, y, np.arange(len(y)), True)
    p2 = eng2.run(xin, y, np.arange(len(y)), True)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(eng2.W, eng.W)
