"""BPTT: finite-difference check of its gradient, and its link to OTTT."""
from __future__ import annotations

import numpy as np
import pytest

from neurochip.engine import Engine
from neurochip.kernels.bptt_float import run_bptt
from neurochip.kernels.float_types import FloatParams
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile

T = 5


RATE = (0.8, 0.05)


def smooth_loss(params, eng, x, y):
    """float64 numpy forward of the smooth-spike network (spike = sig(alpha (u - theta))) and its
    loss, written from the definitions (network.py, kernels/losses.py docstrings): feed-forward
    weights, recurrent weights R_l acting on s_l[t-1], per-neuron thresholds, every loss."""
    cfg, lay = eng.cfg, eng.lay
    sz, L = cfg.sizes, cfg.n_layers
    lam = np.asarray(eng.lam, np.float64)
    alpha = eng.fk.learn.sg_param
    subtract = eng.profile.neuron.reset == "subtract"
    spiking = cfg.readout == "spiking"
    W = [params[lay.woff[l]: lay.woff[l] + sz[l] * sz[l + 1]].reshape(sz[l], sz[l + 1]) for l in range(L)]
    R = {l: params[lay.roff[l]: lay.roff[l] + sz[l] ** 2].reshape(sz[l], sz[l]) for l in range(1, L) if lay.roff[l] >= 0}
    th, off = [], lay.thoff
    for n in sz[1:]:
        th.append(params[off:off + n] if lay.thoff >= 0 else np.ones(n))
        off += n
    v = [np.zeros(n) for n in sz[1:]]
    s_prev = [np.zeros(n) for n in sz[1:]]
    onehot = np.eye(sz[-1])[y]
    r = np.where(onehot > 0, RATE[0], RATE[1])
    counts = np.zeros(sz[-1])
    total = 0.0
    for _ in range(T):
        inp = x
        for l in range(L):
            u = lam[l] * v[l] + inp @ W[l]
            if l + 1 in R:
                u = u + s_prev[l] @ R[l + 1]
            if l < L - 1 or spiking:
                s = 1.0 / (1.0 + np.exp(-alpha * (u - th[l])))
                v[l] = u - s * th[l] if subtract else u * (1.0 - s)
                s_prev[l] = s
                inp = s
            else:
                v[l] = u
        if spiking:
            counts += s_prev[-1]
            if cfg.loss == "mse":
                total += 0.5 * np.sum((s_prev[-1] - r) ** 2) / T
        else:
            o = v[-1]
            p = np.exp(o - o.max())
            p /= p.sum()
            ce = -np.log(p[y])
            mse = np.mean((o - onehot) ** 2)
            total += {"ce": ce, "mse": mse, "ce_mse": 0.95 * ce + 0.05 * mse}[cfg.loss] / T
    if cfg.loss == "count":
        total += 0.5 * np.sum((counts - r * T) ** 2) / T
    elif cfg.loss == "rate_mse":
        total += 0.5 * np.sum((counts / T - r) ** 2)
    elif cfg.loss == "rate_ce":
        p = np.exp(counts - counts.max())
        p /= p.sum()
        total += -np.log(p[y]) / T
    return total


CASES = [  # (sizes, readout, loss, recurrent, learn_threshold)
    ((5, 4, 3), "integrator", "ce", False, False),
    ((5, 4, 3), "integrator", "mse", False, False),
    ((5, 4, 3), "integrator", "ce_mse", False, False),
    ((5, 4, 3), "spiking", "mse", False, False),
    ((5, 4, 3), "spiking", "count", False, False),
    ((5, 4, 3), "spiking", "rate_mse", False, False),
    ((5, 4, 3), "spiking", "rate_ce", False, False),
    ((4, 3, 3, 2), "integrator", "ce_mse", True, False),
    ((4, 3, 3, 2), "spiking", "count", True, False),
    ((5, 4, 3), "integrator", "ce", False, True),
    ((5, 4, 3), "spiking", "rate_ce", False, True),
    ((4, 3, 3, 2), "spiking", "rate_mse", True, True),
]


@pytest.mark.parametrize("profile", ["loihi", "generic"])     # reset to zero / by subtraction
@pytest.mark.parametrize("sizes,readout,loss,recurrent,learn_th", CASES)
def test_bptt_gradient_matches_finite_differences(profile, sizes, readout, loss, recurrent, learn_th):
    prof = load_profile(profile)
    lr = 1e-3
    cfg = NetworkConfig(sizes=sizes, timesteps=T, precision="float", rule="bptt", optimizer="sgd",
                        lr=lr, lr_schedule="constant", loss=loss, readout=readout, init_gain=3.0,
                        detach_reset=False, recurrent=recurrent, learn_threshold=learn_th)
    eng = Engine(cfg, prof)
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, size=(1, sizes[0]))
    W = eng.W.astype(np.float64)
    if recurrent:       # make the recurrent weights matter
        W[eng.lay.roff[1]:eng.lay.thoff if learn_th else None] *= 4.0
    f64 = lambda a: np.asarray(a, np.float64)
    Wk = W.copy()
    lay = eng.lay
    z = np.zeros_like(W)
    # the engine's network in float64 (kernels/float_types.py tuples)
    net = eng.fk.net._replace(lam=f64(eng.lam))
    prm = FloatParams(Wk, np.zeros(1), f64(eng.B), np.zeros(1), z, z.copy(), z.copy(), np.zeros(1, np.int64))
    st = eng.fk.state._replace(rng=eng.rng.copy())
    run_bptt(f64(x), np.array([1]), np.zeros(1, np.int64), net, eng.fk.learn, prm, st,
             np.zeros(1, np.int64), True, False, True)
    grad = (W - Wk) / lr       # one SGD step
    h = 1e-6
    num = np.zeros_like(W)
    for k in range(W.size):
        Wp, Wm = W.copy(), W.copy()
        Wp[k] += h
        Wm[k] -= h
        num[k] = (smooth_loss(Wp, eng, x[0], 1) - smooth_loss(Wm, eng, x[0], 1)) / (2 * h)
    assert np.abs(num[:lay.n_ff]).max() > 1e-3
    if recurrent:
        assert np.abs(num[lay.roff[1]:lay.roff[1] + sizes[1] ** 2]).max() > 1e-4
    if learn_th:
        assert np.abs(num[lay.thoff:]).max() > 1e-4
    np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_detached_bptt_last_layer_equals_ottt(seed):
    prof = load_profile("generic")
    common = dict(sizes=(7, 6, 4), timesteps=T, precision="float", optimizer="sgd", lr=1.0,
                  lr_schedule="constant", loss="ce_mse", init_gain=3.0, seed=seed)
    x = np.random.default_rng(seed).uniform(0, 1, size=(1, 7))
    y = np.array([seed % 4])
    dW = {}
    for rule in ("bptt", "ottt-a"):
        eng = Engine(NetworkConfig(rule=rule, **common), prof)
        before = eng.weights()
        eng.run(eng.prepare(x), y, np.array([0]), True)
        dW[rule] = [b - a for b, a in zip(before, eng.weights())]
    np.testing.assert_allclose(dW["bptt"][1], dW["ottt-a"][1], atol=1e-6)
    assert np.abs(dW["bptt"][1]).max() > 1e-3
    # hidden layer: BPTT adds the future terms OTTT drops, so they differ
    assert not np.allclose(dW["bptt"][0], dW["ottt-a"][0], atol=1e-6)


def test_bptt_tape_grows_with_T_and_needs_float():
    prof = load_profile("loihi")
    sizes = []
    for t in (8, 32):
        eng = Engine(NetworkConfig(sizes=(64, 16, 10), timesteps=t, precision="float", rule="bptt"), prof)
        eng.run(eng.prepare(np.full((1, 64), 0.5)), np.zeros(1, np.int64), np.zeros(1, np.int64), True)
        sizes.append(eng.tape_bytes)
    assert sizes[1] == 4 * sizes[0] > 0
    from neurochip.errors import NeurochipError
    with pytest.raises(NeurochipError, match="precision float"):
        NetworkConfig(sizes=(4, 2), rule="bptt")
