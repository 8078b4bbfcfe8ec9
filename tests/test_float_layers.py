"""The float OTTT reference for layer kinds (kernels/ottt_float_layers.py) against an explicit
unrolled computation: dense matrices built from the geometry by loops, traces as unrolled sums
``a(t) = sum_{tau <= t} resp(t - tau) s(tau)`` (recurrent: of s(tau - 1)) with the membrane's response
``resp(n) = lambda^n`` to a unit input, or for a CUBA layer under the exact trace the response through
the current, ``resp(n) = sum_{i=0..n} lambda^i lambda_u^(n - i)`` (docs/layers.md), and the OTTT
gradient ``sum_t g(t) a(t)^T`` of every synapse folded onto the weight it uses (a conv's shared
weight collects the products of every output position). The optimizers (momentum, Adam) against
their update formulas written out in numpy."""
from __future__ import annotations

import numpy as np
import pytest

from neurochip.engine import Engine
from neurochip.kernels.lif_float import surrogate_f
from neurochip.kernels.losses import membrane_error
from neurochip.layers import CONV, POOL, RECURRENT
from neurochip.network import CE_MSE_MIX, LOSSES, NetworkConfig
from neurochip.profile import load_profile
from neurochip.surrogate import SURROGATE_CODES, param_of


def dense_of(spec, w):
    """(n_out x n_in feed-forward matrix, weight index per entry or -1 (pool / none); recurrent
    matrix and its indices or None), by loops over the geometry."""
    if spec.kind in (CONV, POOL):
        (ci_n, h, wd), (co_n, ho, wo) = spec.in_shape, spec.out_shape
        k, s, p = spec.kernel, spec.stride, spec.padding
        M = np.zeros((co_n * ho * wo, ci_n * h * wd))
        idx = np.full(M.shape, -2)
        for co in range(co_n):
            for oy in range(ho):
                for ox in range(wo):
                    for ky in range(k):
                        for kx in range(k):
                            iy, ix = oy * s - p + ky, ox * s - p + kx
                            if not (0 <= iy < h and 0 <= ix < wd):
                                continue
                            i = (co * ho + oy) * wo + ox
                            if spec.kind == POOL:
                                M[i, (co * h + iy) * wd + ix] = 2.0 ** -spec.shift
                                idx[i, (co * h + iy) * wd + ix] = -1
                            else:
                                for ci in range(ci_n):
                                    m = ((ci * k + ky) * k + kx) * co_n + co
                                    M[i, (ci * h + iy) * wd + ix] = w[m]
                                    idx[i, (ci * h + iy) * wd + ix] = m
        return M, idx, None, None
    W2 = w.reshape(spec.weight_shape)
    idx = np.arange(spec.n_weights).reshape(spec.weight_shape)
    if spec.kind == RECURRENT:
        return W2[:spec.n_in].T, idx[:spec.n_in].T, W2[spec.n_in:].T, idx[spec.n_in:].T
    return W2.T, idx.T, None, None


def unrolled_gradient(eng, x, label):
    cfg, prof = eng.cfg, eng.profile
    specs, L, T = cfg.layers, cfg.n_layers, cfg.timesteps
    sizes = cfg.sizes
    W = eng.W.astype(np.float64)
    mats = [dense_of(sp, W[eng.lay.woff[l]:eng.lay.woff[l] + sp.n_weights]) for l, sp in enumerate(specs)]
    k = prof.neuron.leak_shift
    lam = [1 - 2.0 ** -k] * L
    lam_u = [1 - 2.0 ** -sp.k_u if sp.k_u else 0.0 for sp in specs]
    lam_tr = lam_u if cfg.cuba_trace == "exact" else [0.0] * L

    def resp(l, n):
        """dv(t)/dW through one input at t - n, reset ignored: through the current and the membrane."""
        return sum(lam[l] ** i * lam_tr[l] ** (n - i) for i in range(n + 1))
    code, par = SURROGATE_CODES[cfg.surrogate], param_of(cfg.surrogate, cfg.surrogate_param)
    S = [[None] * (L + 1) for _ in range(T)]
    v = [np.zeros(n) for n in sizes[1:]]
    u = [np.zeros(n) for n in sizes[1:]]
    G = np.zeros(len(W))
    gs = []
    for t in range(T):
        S[t][0] = x.copy()
        vpre = [None]
        for l, sp in enumerate(specs):
            M, _, R, _ = mats[l]
            I = M @ S[t][l]
            if R is not None and t > 0:
                I = I + R @ S[t - 1][l + 1]
            u[l] = lam_u[l] * u[l] + I
            vv = lam[l] * v[l] + u[l]
            vpre.append(vv)
            if l < L - 1:
                S[t][l + 1] = (vv > 1.0).astype(float)
                v[l] = vv * (1 - S[t][l + 1])
            else:
                S[t][l + 1] = np.zeros(sizes[-1])
                v[l] = vv
        eo = np.zeros(sizes[-1])
        membrane_error(LOSSES.index(cfg.loss), v[L - 1].copy(), label, CE_MSE_MIX, eo)
        g = [None] * (L + 1)
        g[L] = eo / T
        for h in range(L - 1, 0, -1):
            sg = np.array([surrogate_f(vp - 1.0, sp_, code, par) for vp, sp_ in zip(vpre[h], S[t][h])])
            g[h] = (mats[h][0].T @ g[h + 1]) * sg
        gs.append(g)
        for l, sp in enumerate(specs):
            if not sp.learned:
                continue
            o = eng.lay.woff[l]
            # unrolled traces: of the layer's input, and (recurrent) of its own spikes one step late
            a = sum(resp(l, t - tau) * S[tau][l] for tau in range(t + 1))
            M, idx, R, ridx = mats[l]
            outer = np.outer(g[l + 1], a)
            for (i, j), m in np.ndenumerate(idx):
                if m >= 0:
                    G[o + m] += outer[i, j]
            if R is not None:
                ar = sum(resp(l, t - tau) * S[tau - 1][l + 1] for tau in range(1, t + 1)) if t > 0 else np.zeros(sizes[l + 1])
                outer = np.outer(g[l + 1], ar)
                for (i, j), m in np.ndenumerate(ridx):
                    G[o + m] += outer[i, j]
    return G, S


@pytest.mark.parametrize("arch,shape,trace", [("c3k3s2p1-p2-d6", (1, 7, 7), "exact"), ("c2k2-p2u2-c3k2-d4", (1, 7, 7), "exact"),
                                              ("c4k2p1-a2u3-d4", (1, 7, 7), "exact"), ("r8-r6u2-d4", (), "exact"),
                                              ("c2k3-f-r5-d4", (1, 7, 7), "exact"), ("c3k2u1-d6u2-d4", (1, 7, 7), "exact"),
                                              ("r8u1-r6u2-d4", (), "plain"), ("c3k2u1-d6u2-d4", (1, 7, 7), "plain")])
def test_float_ottt_gradient_equals_unrolled(arch, shape, trace):
    prof = load_profile("loihi")
    cfg = NetworkConfig(sizes=(49, 4), arch=arch, input_shape=shape, timesteps=6, precision="float", rule="ottt-a",
                        lr=1e-9, init_gain=5.0, lr_schedule="constant", seed=2, cuba_trace=trace)
    eng = Engine(cfg, prof)
    rng = np.random.default_rng(3)
    x = rng.uniform(0.2, 1.0, size=(1, 49))
    y = np.array([1])
    rec = []
    eng.backend.net.run(eng.prepare(x)[0], y, np.array([0]), True, np.zeros(1, np.int64), eng.rng, record=rec)
    G, S = unrolled_gradient(eng, x[0], 1)
    for t, step in enumerate(rec[0]):           # the same forward pass
        for l in range(1, cfg.n_layers):
            np.testing.assert_array_equal(step["s"][l], S[t][l])
    assert sum(int(S[t][l].sum()) for t in range(cfg.timesteps) for l in range(1, cfg.n_layers)) > 0, "silent network"
    Gk = eng.backend.net.G.astype(np.float64)
    for l, sp in enumerate(cfg.layers):
        o = eng.lay.woff[l]
        seg = slice(o, o + sp.n_weights)
        if sp.learned:
            assert np.abs(G[seg]).max() > 1e-4, f"layer {l} ({sp.token}): no gradient to compare"
        np.testing.assert_allclose(Gk[seg], G[seg], atol=1e-5, rtol=1e-5, err_msg=f"layer {l} ({sp.token})")


def test_float_layers_learn_digits():
    from neurochip.data import load_dataset
    ds = load_dataset("digits", None, 0)
    prof = load_profile("loihi")
    cfg = NetworkConfig(sizes=(64, 10), arch="c4k3-p2-d32", timesteps=4, precision="float", lr=0.05, seed=0)
    eng = Engine(cfg, prof)
    x = eng.prepare(ds.x_train[:300])
    eng.run(x, ds.y_train[:300], np.arange(300), True)
    acc = np.mean(eng.run(eng.prepare(ds.x_test), ds.y_test, np.arange(len(ds.y_test)), False) == ds.y_test)
    assert acc > 0.5


def test_float_layers_refusals():
    from neurochip.errors import NeurochipError
    for arch, kw, msg in (("c4k3", dict(sws=True), r"layer 0 \(c4k3\): the float reference runs \-\-sws"),
                          ("d8-r6u2", dict(learn_threshold=True), r"layer 1 \(r6u2\): the float reference runs \-\-learn\-threshold")):
        with pytest.raises(NeurochipError, match=msg):
            NetworkConfig(sizes=(64, 10), arch=arch, precision="float", **kw)
    for opt in ("momentum", "adam"):       # no longer refused
        NetworkConfig(sizes=(64, 10), arch="c4k3-p2-r6u2", precision="float", optimizer=opt)


@pytest.mark.parametrize("rule", ["ottt-a", "ottt-o", "bptt"])
@pytest.mark.parametrize("opt", ["sgd", "momentum", "adam"])
def test_float_layers_optimizer_step(opt, rule):
    """Every weight layer kind (conv shared weights, recurrent rows, CUBA dense) steps by the
    optimizer's formula applied to the gradient of the sample (OTTT_A, BPTT: one step per sample;
    OTTT_O at T = 1: one step per sample too), moments carried from sample to sample."""
    from neurochip.kernels.pack_float import ADAM
    T = 1 if rule == "ottt-o" else 4
    lr, mu = 0.02, 0.8
    cfg = NetworkConfig(sizes=(49, 4), arch="c2k3-p2u1-r6u2-d4", input_shape=(1, 7, 7), timesteps=T, precision="float",
                        rule=rule, optimizer=opt, lr=lr, momentum=mu, init_gain=5.0, lr_schedule="constant", seed=4)
    eng = Engine(cfg, load_profile("loihi"))
    net = eng.backend.net
    rng = np.random.default_rng(5)
    x = rng.uniform(0.2, 1.0, size=(4, 49))
    y = np.array([1, 2, 0, 3])
    xin = eng.prepare(x)
    n_ff = eng.lay.n_ff
    m1, m2 = np.zeros(n_ff), np.zeros(n_ff)
    b1, b2, eps = ADAM
    moved = np.zeros(n_ff, bool)
    for k in range(4):
        w0 = eng.W[:n_ff].astype(np.float64)
        eng.run(xin, y, np.array([k]), True)
        G = net.G[:n_ff].astype(np.float64)
        if opt == "sgd":
            step = lr * G
        elif opt == "momentum":
            m1 = mu * m1 + G
            step = lr * m1
        else:
            m1 = b1 * m1 + (1 - b1) * G
            m2 = b2 * m2 + (1 - b2) * G * G
            step = lr * (m1 / (1 - b1 ** (k + 1))) / (np.sqrt(m2 / (1 - b2 ** (k + 1))) + eps)
        dw = eng.W[:n_ff].astype(np.float64) - w0
        np.testing.assert_allclose(dw, -step, rtol=1e-3, atol=2e-7, err_msg=f"sample {k}")
        moved |= dw != 0
        assert int(net.step[0]) == k + 1
    for l, sp in enumerate(cfg.layers):
        o = eng.lay.woff[l]
        assert not sp.learned or moved[o:o + sp.n_weights].any(), f"layer {l} ({sp.token}) never stepped"
    if opt != "sgd":
        np.testing.assert_allclose(eng.optimizer_state()["M1"][:n_ff], m1, rtol=1e-4, atol=1e-9)


def _grads(arch, shape, T, rule_grads, seed=2):
    prof = load_profile("loihi")
    cfg = NetworkConfig(sizes=(49, 4), arch=arch, input_shape=shape, timesteps=T, precision="float", rule="ottt-a",
                        lr=1e-9, init_gain=5.0, lr_schedule="constant", seed=seed)
    eng = Engine(cfg, prof)
    x = np.random.default_rng(3).uniform(0.2, 1.0, size=(1, 49))
    xin = eng.prepare(x)[0]
    net = eng.backend.net
    rng0 = eng.rng.copy()
    net.run(xin, np.array([1]), np.array([0]), True, np.zeros(1, np.int64), eng.rng)
    g_ottt = net.G.copy()
    eng.rng[:] = rng0
    net.run_bptt(xin, np.array([1]), np.array([0]), np.zeros(1, np.int64), eng.rng, grad_only=True)
    return cfg, eng, g_ottt, net.G.copy()


@pytest.mark.parametrize("arch,shape", [("c3k3s2p1-p2-d6", (1, 7, 7)), ("c2k2-p2u2-c3k2-d4", (1, 7, 7)),
                                        ("c2k3-f-r5-d4", (1, 7, 7))])
def test_bptt_equals_ottt_at_one_step(arch, shape):
    """With T = 1 there is no time to backpropagate through: BPTT's gradient of every layer equals
    OTTT's (the transposed convolution, pooling and flatten of the backward pass are the same)."""
    cfg, eng, go, gb = _grads(arch, shape, 1, None)
    assert np.abs(go).max() > 1e-4
    for l, sp in enumerate(cfg.layers):
        seg = slice(eng.lay.woff[l], eng.lay.woff[l] + sp.n_weights)
        np.testing.assert_allclose(gb[seg], go[seg], atol=1e-6, rtol=1e-5, err_msg=f"layer {l} ({sp.token})")


@pytest.mark.parametrize("arch,shape", [("c3k3s2p1-p2-d6", (1, 7, 7)), ("c2k3-f-r5u2-d4", (1, 7, 7))])
def test_bptt_agrees_with_ottt_on_the_last_layer(arch, shape):
    """The readout (an integrator, no reset) is where OTTT is exact: sum_t e(t) a(t) with the
    unrolled trace equals BPTT's sum_t dI(t) s(t); hidden layers differ (OTTT drops the future)."""
    cfg, eng, go, gb = _grads(arch, shape, 6, None)
    L = cfg.n_layers
    last = slice(eng.lay.woff[L - 1], eng.lay.woff[L - 1] + cfg.layers[-1].n_weights)
    assert np.abs(go[last]).max() > 1e-4
    np.testing.assert_allclose(gb[last], go[last], atol=1e-6, rtol=1e-5)
    first = slice(0, cfg.layers[0].n_weights)
    assert not np.allclose(gb[first], go[first], atol=1e-6), "hidden layers should differ at T = 6"


def test_bptt_layers_learn_digits():
    from neurochip.data import load_dataset
    ds = load_dataset("digits", None, 0)
    cfg = NetworkConfig(sizes=(64, 10), arch="c4k3-p2-d32", timesteps=4, precision="float", rule="bptt", lr=0.05, seed=0)
    eng = Engine(cfg, load_profile("loihi"))
    eng.run(eng.prepare(ds.x_train[:300]), ds.y_train[:300], np.arange(300), True)
    acc = np.mean(eng.run(eng.prepare(ds.x_test), ds.y_test, np.arange(len(ds.y_test)), False) == ds.y_test)
    assert acc > 0.5
