"""Each loss against a hand-worked example (kernels/losses.py), float and integer forms, and the
online (OTTT) form against the exact (BPTT) form where they must agree."""
from __future__ import annotations

import math

import numpy as np
import pytest

from neurochip import fixedpoint as fx
from neurochip.engine import Engine
from neurochip.errors import NeurochipError
from neurochip.kernels.losses import (L_CE, L_CE_MSE, L_COUNT, L_COUNT_ENH, L_MSE, L_RATE_CE,
                                      L_RATE_MSE, membrane_error, membrane_error_int, spike_error,
                                      spike_error_int)
from neurochip.network import LOSSES, NetworkConfig
from neurochip.profile import load_profile

R_HI, R_LO = 0.8, 0.05


def test_codes_follow_the_config_names():
    assert [LOSSES[c] for c in (L_CE, L_MSE, L_CE_MSE, L_COUNT, L_RATE_CE, L_RATE_MSE, L_COUNT_ENH)] == \
        ["ce", "mse", "ce_mse", "count", "rate_ce", "rate_mse", "count_enh"]


# u = [1, 0, -1], label 0: exp(u - 1) = [1, e^-1, e^-2] = [1, 0.367879, 0.135335], sum 1.503215
P3 = np.array([0.665241, 0.244728, 0.090031])
CE3 = P3 - np.array([1, 0, 0])                       # [-0.334759, 0.244728, 0.090031]
MSE3 = 2 * (np.array([1.0, 0, -1]) - [1, 0, 0]) / 3  # [0, 0, -2/3]


@pytest.mark.parametrize("loss,want", [(L_CE, CE3), (L_MSE, MSE3), (L_CE_MSE, 0.95 * CE3 + 0.05 * MSE3)])
def test_membrane_losses_by_hand(loss, want):
    out = np.zeros(3)
    membrane_error(loss, np.array([1.0, 0.0, -1.0]), 0, 0.05, out)
    np.testing.assert_allclose(out, want, atol=1e-6)


# spiking readout, T = 4, label 0, after 4 steps: counts [3, 1, 0], this step's spikes [1, 0, 1];
# target counts N = r T = [3.2, 0.2, 0.2]
COUNTS = np.array([3.0, 1.0, 0.0])
S = np.array([1.0, 0.0, 1.0])
SPIKE_CASES = [
    (L_MSE, [0.05, -0.0125, 0.2375]),                 # (s - r) / T
    (L_COUNT, [-0.05, 0.2, -0.05]),                   # (c - N) / T
    (L_RATE_MSE, [-0.0125, 0.05, -0.0125]),           # (c / T - r) / T
    # softmax([3, 1, 0]) = [1, e^-2, e^-3] / 1.185122 = [0.843795, 0.114195, 0.042010]; (p - y) / T
    (L_RATE_CE, [-0.039051, 0.028549, 0.010503]),
    # enhanced count: clipped [3, 1, 0.2] (the silent non-label output is already below its
    # target); ratio 1.2 / 3 -> weight max(0.04, 1) = 1; delta [-0.05, 0.2, 0] / clipped count,
    # on the steps with a spike only (s = [1, 0, 1])
    (L_COUNT_ENH, [-0.05 / 3, 0.0, 0.0]),
]


@pytest.mark.parametrize("loss,want", SPIKE_CASES, ids=[LOSSES[c] for c, _ in SPIKE_CASES])
def test_spike_losses_by_hand(loss, want):
    out = np.zeros(3)
    spike_error(loss, S, COUNTS, 4, 4, 0, R_HI, R_LO, out)
    np.testing.assert_allclose(out, want, atol=1e-6)


def _complex_step_grad(f, x):
    """df/dx_i by the complex step, Im f(x + i h e_i) / h: exact to float64 rounding (no
    subtraction), and independent of the kernels' formulas."""
    h = 1e-30
    g = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        xc = x.astype(np.complex128)
        xc[i] += 1j * h
        g[i] = f(xc).imag / h
    return g


def _logsumexp(x):
    m = x.real.max()
    return m + np.log(np.sum(np.exp(x - m)))


@pytest.mark.parametrize("loss", [L_RATE_CE, L_CE, L_CE_MSE])
def test_ce_gradients_are_rounded_once_into_a_float32_error_buffer(loss):
    """The float OTTT kernel stores the output error in float32. The CE gradients (rate_ce on the
    float64 counts, ce and the ce_mse mix on float64 logits) must be the exact gradient of the
    loss (complex step in float64) rounded once: exactly equal in float32, not within a
    tolerance. Commit 7e0ed73 used the float32 buffer as scratch for the exponentials and for the
    CE term before the mix, a second rounding that silently changed the rate_ce and --recurrent
    results (issue 14)."""
    rng = np.random.default_rng(7)
    T, n, mix = 8, 10, 0.05
    for _ in range(300):
        label = int(rng.integers(n))
        y = np.zeros(n)
        y[label] = 1.0
        if loss == L_RATE_CE:
            x = rng.integers(0, T + 1, n).astype(np.float64)       # spike counts

            def f(c):
                return (_logsumexp(c) - c[label]) / T
        else:
            x = rng.normal(size=n) * rng.choice([0.3, 1.0, 3.0])
            w_ce = 1.0 if loss == L_CE else 1.0 - mix

            def f(u):
                return w_ce * (_logsumexp(u) - u[label]) + (1.0 - w_ce) * np.mean((u - y) ** 2)
        want = _complex_step_grad(f, x)
        for dt in (np.float32, np.float64):
            out = np.zeros(n, dt)
            if loss == L_RATE_CE:
                spike_error(loss, np.zeros(n), x, T, T, label, R_HI, R_LO, out)
            else:
                membrane_error(loss, x, label, mix, out)
            if dt is np.float32:
                np.testing.assert_array_equal(out, want.astype(np.float32))
            else:
                np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-15)


def test_enhanced_count_ratio_weight_and_zero_boundary():
    out = np.zeros(4)
    # T = 8, label 0 with 1 spike, three others with 8: N = [6.4, 0.4, 0.4, 0.4];
    # ratio = 24 / 1 -> label weight 2.4: (1 - 6.4) / 8 * 2.4 / 1 = -1.62; others (8 - 0.4) / 8 / 8
    spike_error(L_COUNT_ENH, np.ones(4), np.array([1.0, 8, 8, 8]), 8, 8, 0, R_HI, R_LO, out)
    np.testing.assert_allclose(out, [-1.62, 0.11875, 0.11875, 0.11875], rtol=1e-5)
    # a label neuron with no spikes gets no gradient (eq. 14), where the plain count loss pushes it
    spike_error(L_COUNT_ENH, np.ones(4), np.array([0.0, 2, 0, 0]), 8, 8, 0, R_HI, R_LO, out)
    assert out[0] == 0.0 and out[2] == 0.0 and out[3] == 0.0
    assert out[1] == pytest.approx((2 - 0.4) / 8 / 2)
    spike_error(L_COUNT, np.zeros(4), np.array([0.0, 2, 0, 0]), 8, 8, 0, R_HI, R_LO, out)
    assert out[0] == pytest.approx(-0.8)


E = 8     # error fractional bits
RI_HI, RI_LO = round(R_HI * 256), round(R_LO * 256)    # 205, 13


def test_integer_spike_losses_by_hand():
    out = np.zeros(3, np.int64)
    c = np.array([3, 1, 0], np.int64)
    s = np.array([1, 0, 1], np.int64)
    lut = fx.exp2_lut()
    spike_error_int(L_COUNT, s, c, 3, 0, RI_HI, RI_LO, fx.log2e_scale(1), lut, E, out)
    assert out.tolist() == [3 * 256 - 4 * 205, 256 - 4 * 13, -4 * 13]          # (c << E) - r (t + 1)
    spike_error_int(L_MSE, s, c, 3, 0, RI_HI, RI_LO, fx.log2e_scale(1), lut, E, out)
    assert out.tolist() == [256 - 205, -13, 256 - 13]                            # (s << E) - r
    spike_error_int(L_RATE_CE, s, c, 3, 0, RI_HI, RI_LO, fx.log2e_scale(1), lut, E, out)
    want = (np.array([0.843795, 0.114195, 0.042010]) - [1, 0, 0]) * 256          # (p - y) in E bits
    assert np.abs(out - want).max() <= 2


def test_integer_membrane_losses_follow_the_float_ones():
    thr = 1 << 12
    v = np.array([thr, 0, -thr], np.int64)            # logits [1, 0, -1]
    lut = fx.exp2_lut()
    c_out = int(round((1 << (24 + E)) / thr))
    for loss, mix_ce in ((L_CE, 256), (L_MSE, 0), (L_CE_MSE, 243)):
        out = np.zeros(3, np.int64)
        membrane_error_int(loss, v, 0, fx.log2e_scale(thr), c_out, mix_ce, 256 - mix_ce, lut, E, out)
        want = np.zeros(3)
        membrane_error(loss, np.array([1.0, 0.0, -1.0]), 0, (256 - mix_ce) / 256, want)
        assert np.abs(out - want * 256).max() <= 2, (loss, out, want * 256)


@pytest.mark.parametrize("loss", ["mse", "count", "rate_ce", "rate_mse", "count_enh"])
def test_online_form_equals_exact_form_when_the_window_is_one_step(loss):
    """At T = 1 the running count is the final count: OTTT's output-layer update equals the exact
    (detached-reset) BPTT gradient for every spiking-readout loss."""
    prof = load_profile("generic")
    common = dict(sizes=(6, 5, 4), timesteps=1, precision="float", optimizer="sgd", lr=1.0,
                  lr_schedule="constant", readout="spiking", loss=loss, init_gain=6.0, seed=1)
    x = np.random.default_rng(3).uniform(0.3, 1, size=(1, 6))
    dW = {}
    for rule in ("bptt", "ottt-a"):
        eng = Engine(NetworkConfig(rule=rule, **common), prof)
        before = eng.weights()
        eng.run(eng.prepare(x), np.array([2]), np.array([0]), True)
        dW[rule] = [b - a for b, a in zip(before, eng.weights())]
    assert np.abs(dW["bptt"][1]).max() > 1e-4
    np.testing.assert_allclose(dW["bptt"][1], dW["ottt-a"][1], atol=1e-6)


def test_spike_losses_need_a_spiking_readout_and_float_only_ones_are_refused_on_chip():
    with pytest.raises(NeurochipError, match="spiking readout"):
        NetworkConfig(sizes=(4, 2), loss="rate_ce")
    with pytest.raises(NeurochipError, match="no integer form"):
        NetworkConfig(sizes=(4, 2), readout="spiking", loss="count_enh")
    NetworkConfig(sizes=(4, 2), readout="spiking", loss="rate_ce")            # int rate_ce is fine


@pytest.mark.parametrize("loss", ["mse", "count", "rate_ce", "rate_mse"])
def test_every_spiking_loss_trains_digits_above_chance(loss):
    from neurochip.data import load_dataset
    from neurochip.train import fit

    ds = load_dataset("digits", None, 0)
    cfg = NetworkConfig(sizes=(64, 64, 10), precision="float", readout="spiking", loss=loss, lr=0.05)
    h = fit(Engine(cfg, load_profile("loihi")), ds, 2)
    assert h.test_acc[-1] > 0.6, (loss, h.test_acc)
    assert math.isfinite(h.test_acc[-1])


def test_enhanced_count_loss_keeps_training_an_active_network():
    """count_enh gives a silent neuron no gradient (eq. 14): from a silent start the outputs stay
    silent (docs), so it is tested from a network whose outputs are active: one epoch of the
    counting loss, then the enhanced loss must keep improving it (a sign or scale error would
    collapse it)."""
    from neurochip.data import load_dataset
    from neurochip.train import fit

    ds = load_dataset("digits", None, 0)
    cfg = NetworkConfig(sizes=(64, 64, 10), precision="float", readout="spiking", loss="count", lr=0.05,
                        lr_schedule="constant")
    eng = Engine(cfg, load_profile("loihi"))
    h = fit(eng, ds, 1)
    eng.fk.learn = eng.fk.learn._replace(loss=L_COUNT_ENH)
    h = fit(eng, ds, 3, h)
    assert h.test_acc[-1] > max(h.test_acc[0], 0.9), h.test_acc
