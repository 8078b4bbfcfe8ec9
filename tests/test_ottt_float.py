"""Float OTTT (kernels/ottt_float.py) against an explicit unrolled float64 computation written here
from the definitions (OTTT, Xiao et al. 2022, eqs. 2-5), for networks the two-layer tests in
test_gradients.py do not reach: two and three hidden layers, a readout leak that differs from the
hidden leak, recurrent hidden layers (each with its own leak), fixed random feedback.

Per step t, neuron layer l (1..L) with leak lambda_l and threshold 1:
    u_l[t] = lambda_l v_l[t-1] + s_{l-1}[t] W_{l-1} (+ s_l[t-1] R_l),  s_l = H(u_l - 1), v_l = reset
The presynaptic trace of W_{l-1} decays with the leak of the layer it feeds:
    a_{l-1}[t] = lambda_l a_{l-1}[t-1] + s_{l-1}[t]
and the trace of R_l (input s_l[t-1]) with layer l's own leak:
    r_l[t] = lambda_l r_l[t-1] + s_l[t-1]
OTTT's gradient of L[t] = loss / T is g_l[t] a_{l-1}[t]^T and g_l[t] r_l[t]^T, with g_L from the
loss and g_l = (W_l g_{l+1}) sigma'(u_l - 1) (or B_l g_L with random feedback). The kernel's
gradient is read from one OTTT_A sample with SGD at lr 1: dW = W_before - W_after (the weights are
frozen during the sample). For the last layer OTTT equals BPTT with the reset detached (eq. 3-4),
computed here by the backward recursion delta[t] = dL/du_L[t] + lambda_L delta[t+1].
"""
from __future__ import annotations

import numpy as np
import pytest

from neurochip.engine import Engine
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile

T = 6
RATE = (0.8, 0.05)


def sigmoid_grad(x, alpha):
    z = 1.0 / (1.0 + np.exp(-alpha * x))
    return alpha * z * (1.0 - z)


def ottt_reference(eng, x, y):
    """float64 unrolled forward of ``eng``'s network on one sample with OTTT's per-step gradients.
    Returns (dW per layer, dR per hidden layer, last-layer BPTT-detached gradient, margin), margin
    being the smallest |u - 1| of any spiking neuron (float32 vs float64 cannot flip a spike when it
    is well above float32 rounding)."""
    cfg, prof = eng.cfg, eng.profile
    L = cfg.n_layers
    sz = cfg.sizes
    W = [w.astype(np.float64) for w in eng.weights()]
    R = [r.astype(np.float64) for r in eng.recurrent()]          # hidden layers 1..L-1
    B = [b.astype(np.float64) for b in eng.state().feedback]     # hidden layers 1..L-1
    # leaks from the profile and the config, not from the engine
    k_h = prof.neuron.leak_shift
    k_r = k_h if cfg.readout_leak_shift < 0 else cfg.readout_leak_shift
    lam = [1.0 - 2.0 ** -k if k > 0 else 0.0 for k in [k_h] * (L - 1) + [k_r]]   # lam[l-1]: layer l
    alpha = 4.0 if cfg.surrogate_param <= 0 else cfg.surrogate_param
    ge = prof.neuron.compare == ">="
    subtract = prof.neuron.reset == "subtract"
    spiking = cfg.readout == "spiking"
    onehot = np.eye(sz[-1])[y]
    r_target = np.where(onehot > 0, RATE[0], RATE[1])
    v = [np.zeros(n) for n in sz[1:]]
    s = [x.copy()] + [np.zeros(n) for n in sz[1:]]               # s[l]: layer l's spikes, s[0] input
    a = [np.zeros(n) for n in sz[:-1]]                           # a[l]: trace of W_l's input
    rt = [np.zeros(n) for n in sz[1:-1]]                         # rt[l-1]: trace of R_l's input
    dW = [np.zeros_like(w) for w in W]
    dR = [np.zeros_like(r) for r in R]
    counts = np.zeros(sz[-1])
    a_last, g_last = [], []
    margin = np.inf
    for t in range(T):
        s_prev = [si.copy() for si in s]
        s[0] = x
        u = [None] * (L + 1)
        for l in range(1, L + 1):
            ul = lam[l - 1] * v[l - 1] + s[l - 1] @ W[l - 1]
            if R:
                if l < L:
                    ul = ul + s_prev[l] @ R[l - 1]
            u[l] = ul
            if l < L or spiking:
                margin = min(margin, np.abs(ul - 1.0).min())
                sl = ((ul >= 1.0) if ge else (ul > 1.0)).astype(np.float64)
                v[l - 1] = np.where(sl > 0, ul - 1.0 if subtract else 0.0, ul)
                s[l] = sl
            else:
                v[l - 1] = ul
        for l in range(L):
            a[l] = lam[l] * a[l] + s[l]
        for l in range(1, L):
            if R:
                rt[l - 1] = lam[l - 1] * rt[l - 1] + s_prev[l]
        # output error, L[t] = loss / T
        if not spiking:
            o = u[L]
            p = np.exp(o - o.max())
            p /= p.sum()
            e_ce, e_mse = p - onehot, 2.0 * (o - onehot) / sz[-1]
            g_out = {"ce": e_ce, "mse": e_mse, "ce_mse": 0.95 * e_ce + 0.05 * e_mse}[cfg.loss] / T
        else:
            counts += s[L]
            dlds = {"mse": (s[L] - r_target) / T, "count": (counts - r_target * (t + 1)) / T}[cfg.loss]
            g_out = dlds * sigmoid_grad(u[L] - 1.0, alpha)
        g = [None] * (L + 1)
        g[L] = g_out
        for l in range(L - 1, 0, -1):
            back = B[l - 1] @ g_out if cfg.feedback == "random" else W[l] @ g[l + 1]
            g[l] = back * sigmoid_grad(u[l] - 1.0, alpha)
        for l in range(L):
            dW[l] += np.outer(a[l], g[l + 1])
        for l in range(1, L):
            if R:
                dR[l - 1] += np.outer(rt[l - 1], g[l])
        a_last.append(s[L - 1].copy())
        g_last.append(g_out)
    bptt = np.zeros_like(W[-1])
    delta = np.zeros(sz[-1])
    for t in reversed(range(T)):
        delta = g_last[t] + lam[L - 1] * delta
        bptt += np.outer(a_last[t], delta)
    return dW, dR, bptt, margin


def kernel_gradients(eng, x, y):
    before_w = [w.astype(np.float64) for w in eng.weights()]
    before_r = [r.astype(np.float64) for r in eng.recurrent()]
    eng.run(eng.prepare(x[None, :]), np.array([y]), np.array([0]), True)
    dW = [b - w.astype(np.float64) for b, w in zip(before_w, eng.weights())]
    dR = [b - r.astype(np.float64) for b, r in zip(before_r, eng.recurrent())]
    return dW, dR


def make(sizes, profile="generic", **kw):
    opts = dict(timesteps=T, precision="float", rule="ottt-a", optimizer="sgd", lr=1.0,
                lr_schedule="constant", init_gain=4.0)
    opts.update(kw)
    return Engine(NetworkConfig(sizes=sizes, **opts), load_profile(profile))


def check(eng, x, y, atol=1e-5):
    ref_w, ref_r, bptt, margin = ottt_reference(eng, x, y)
    assert margin > 1e-4, "a membrane sits on the threshold: pick another seed"
    got_w, got_r = kernel_gradients(eng, x, y)
    for l, (g, r) in enumerate(zip(got_w, ref_w)):
        assert np.abs(r).max() > 1e-4, f"layer {l}: no gradient reaches it, the test would be empty"
        np.testing.assert_allclose(g, r, rtol=0, atol=atol, err_msg=f"W_{l}")
    for l, (g, r) in enumerate(zip(got_r, ref_r)):
        assert np.abs(r).max() > 1e-4, f"R_{l + 1}: no gradient reaches it, the test would be empty"
        np.testing.assert_allclose(g, r, rtol=0, atol=atol, err_msg=f"R_{l + 1}")
    # the paper's last-layer equivalence (reset detached), here with the readout's own leak
    np.testing.assert_allclose(ref_w[-1], bptt, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got_w[-1], bptt, rtol=0, atol=atol)


DEEP = [  # (sizes, profile, readout, loss, readout_leak_shift, feedback)
    ((6, 5, 4, 3), "generic", "integrator", "ce_mse", 3, "transpose"),
    ((6, 5, 4, 3), "loihi", "integrator", "ce", 0, "transpose"),
    ((6, 5, 4, 3), "generic", "spiking", "count", 3, "transpose"),
    ((6, 5, 4, 3), "generic", "integrator", "ce_mse", 4, "random"),
    ((6, 5, 5, 4, 3), "generic", "integrator", "mse", 2, "transpose"),
    ((6, 5, 5, 4, 3), "loihi", "spiking", "mse", -1, "transpose"),
]


@pytest.mark.parametrize("sizes,profile,readout,loss,k_r,feedback", DEEP)
@pytest.mark.parametrize("seed", [0, 1])
def test_deep_ottt_gradient_equals_unrolled_computation(sizes, profile, readout, loss, k_r, feedback, seed):
    """Two and three hidden layers, readout leak different from the hidden leak (issue 9 §4.6)."""
    eng = make(sizes, profile, readout=readout, loss=loss, readout_leak_shift=k_r, feedback=feedback,
               seed=seed)
    x = np.random.default_rng(seed).uniform(0.3, 1.0, sizes[0])
    check(eng, x, seed % sizes[-1])


@pytest.mark.parametrize("sizes,k_r", [((4, 5, 3), 3), ((4, 5, 3), 0), ((4, 5, 4, 3), 4)])
@pytest.mark.parametrize("seed", [0, 3])
def test_recurrent_gradient_uses_its_own_layers_leak(sizes, k_r, seed):
    """R_l's trace decays with layer l's leak, not with the next layer's (issue 9 §4.3): with a
    readout leak unlike the hidden leak the two differ by up to ~0.1 here."""
    eng = make(sizes, "generic", recurrent=True, readout_leak_shift=k_r, seed=seed, loss="ce")
    eng.W[eng.lay.n_ff:] *= 4          # recurrent weights that matter
    x = np.random.default_rng(seed).uniform(0.5, 1.0, sizes[0])
    check(eng, x, 2)
