"""Scaled weight standardization (kernels/sws.py) and learnable thresholds (float reference)."""
from __future__ import annotations

import numpy as np
import pytest

from neurochip.engine import Engine
from neurochip.errors import NeurochipError
from neurochip.kernels.pack import Layout
from neurochip.kernels.sws import SWS_EPS, sws_backward, sws_forward
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile


def test_sws_forward_gives_zero_mean_and_fixed_norm_per_fan_in():
    lay = Layout.of((7, 5, 3))
    V = np.random.default_rng(0).normal(0.3, 2.0, lay.n_ff)
    W = np.zeros_like(V)
    sws_forward(V, W, lay.sizes, lay.woff, 1.7)
    W0 = W[:35].reshape(7, 5)
    np.testing.assert_allclose(W0.mean(axis=0), 0, atol=1e-12)
    # ||w_hat|| = gain * ||x|| / sqrt(||x||^2 + eps)
    x = V[:35].reshape(7, 5) - V[:35].reshape(7, 5).mean(axis=0)
    want = 1.7 * np.linalg.norm(x, axis=0) / np.sqrt((x ** 2).sum(axis=0) + SWS_EPS)
    np.testing.assert_allclose(np.linalg.norm(W0, axis=0), want, rtol=1e-12)


def test_sws_backward_is_the_chain_rule_of_sws_forward():
    """dL/dV for L = sum(C * W_hat(V)) against central differences (float64)."""
    lay = Layout.of((6, 4, 3))
    rng = np.random.default_rng(1)
    V = rng.normal(0, 1, lay.n_ff)
    C = rng.normal(0, 1, lay.n_ff)

    def loss(Vx):
        W = np.zeros_like(Vx)
        sws_forward(Vx, W, lay.sizes, lay.woff, 1.3)
        return float((C * W).sum())

    G = C.copy()
    sws_backward(V, G, lay.sizes, lay.woff, 1.3)
    h = 1e-6
    num = np.array([(loss(V + h * e) - loss(V - h * e)) / (2 * h) for e in np.eye(lay.n_ff)])
    np.testing.assert_allclose(G, num, rtol=1e-6, atol=1e-9)


def _digits_fit(epochs=3, **kw):
    from neurochip.data import load_dataset
    from neurochip.train import fit

    ds = load_dataset("digits", None, 0)
    eng = Engine(NetworkConfig(sizes=(64, 64, 10), precision="float", **kw), load_profile("loihi"))
    return eng, fit(eng, ds, epochs)


def test_sws_training_keeps_weights_standardized_and_learns():
    eng, h = _digits_fit(sws=True)
    assert h.test_acc[-1] > 0.85
    for w in eng.weights():
        np.testing.assert_allclose(w.mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(w, axis=0), 2.5 / np.sqrt(3), rtol=1e-3)
    assert not np.allclose(eng.V, Engine(eng.cfg, eng.profile).V)     # the raw weights moved


@pytest.mark.parametrize("rule", ["ottt-o", "bptt"])
def test_learned_thresholds_move_and_the_network_learns(rule):
    eng, h = _digits_fit(learn_threshold=True, readout="spiking", loss="count", rule=rule, sws=True)
    th = np.concatenate(eng.thresholds())
    assert h.test_acc[-1] > 0.8
    assert th.min() >= 0.05 and np.abs(th - 1).max() > 0.05


def test_ottt_threshold_gradient_is_minus_the_membrane_error():
    """For the output layer of a spiking readout at T = 1 (per-step loss), OTTT's threshold update
    equals BPTT's (reset detached): dL/dtheta = -dL/ds sigma'(u - theta)."""
    prof = load_profile("generic")
    common = dict(sizes=(6, 5, 4), timesteps=1, precision="float", optimizer="sgd", lr=1.0,
                  lr_schedule="constant", readout="spiking", loss="mse", init_gain=6.0, seed=4,
                  learn_threshold=True)
    x = np.random.default_rng(3).uniform(0.3, 1, size=(1, 6))
    d = {}
    for rule in ("bptt", "ottt-a"):
        eng = Engine(NetworkConfig(rule=rule, **common), prof)
        before = eng.thresholds()[1]
        eng.run(eng.prepare(x), np.array([1]), np.array([0]), True)
        d[rule] = before - eng.thresholds()[1]
    assert np.abs(d["bptt"]).max() > 1e-4
    np.testing.assert_allclose(d["bptt"], d["ottt-a"], atol=1e-6)


def test_float_only_options_are_refused_on_chip():
    for opt in ("sws", "learn_threshold"):
        with pytest.raises(NeurochipError, match="precision float"):
            NetworkConfig(sizes=(4, 2), **{opt: True})
