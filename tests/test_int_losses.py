"""Integer spiking-readout losses: the enhanced counting loss (count_enh) and the first-spike-time
cross-entropy (ttfs_ce), by hand-worked examples, against their float forms on fixed inputs, and
training through the integer and float kernels (docs/losses.md)."""
from __future__ import annotations

import numpy as np
import pytest

from neurochip.engine import Engine
from neurochip.errors import NeurochipError
from neurochip.fixedpoint import exp2_lut, log2e_scale
from neurochip.kernels.losses import (L_COUNT_ENH, L_TTFS, count_enh_int, spike_error, spike_error_int,
                                      ttfs_error, ttfs_error_int)
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile

E = 8
R_HI, R_LO = 205, 13          # round(0.8 * 256), round(0.05 * 256)


def _enh(counts, s, t, label=0):
    out = np.zeros(len(counts), np.int64)
    count_enh_int(np.array(s, np.int64), np.array(counts, np.int64), t, label, R_HI, R_LO, E, out)
    return out.tolist()


def test_count_enh_int_by_hand():
    # t = 3 (4 steps), label 0, counts [3, 1, 0], spikes [1, 0, 1]: N = [820, 52, 52];
    # C = [min(768, 820), max(256, 52), max(0, 52)] = [768, 256, 52]; d = [-52, 204, 0];
    # w = (309 << 8) // (10 * 769) = 10 -> 256 (1.0); out0 = -((52 << 8) // 768) = -17;
    # output 1 has no spike; output 2 has d = 0
    assert _enh([3, 1, 0], [1, 0, 1], 3) == [-17, 0, 0]
    # t = 7 (8 steps), counts [1, 8, 8], spikes [1, 1, 0]: N = [1640, 104, 104]; C = [256, 2048, 2048];
    # w = (4097 << 8) // (10 * 257) = 408; d0 = (-1384 * 408) >> 8 = -2206 (floor of -2205.75);
    # out0 = -((2206 << 8) // 256) = -2206; out1 = (1944 << 8) // 2048 = 243
    assert _enh([1, 8, 8], [1, 1, 0], 7) == [-2206, 243, 0]
    # a silent label gets no gradient (eq. 14: C = 0), however large its weight
    assert _enh([0, 4, 4], [1, 1, 1], 3) == [0, 243, 243]


def test_count_enh_int_matches_float():
    """out_int ~ T 2^E out_float (the int form folds 1/T into the learning rate); the label weight
    has 8 fractional bits and the divisions floor, so allow 1 % + 2 LSB."""
    rng = np.random.default_rng(0)
    for _ in range(400):
        n, T = 4, 8
        t = int(rng.integers(0, T))
        counts = rng.integers(0, t + 2, n)
        s = rng.integers(0, 2, n)
        counts = np.maximum(counts, s)
        label = int(rng.integers(n))
        oi = np.array(_enh(counts, s, t, label), float)
        of = np.zeros(n)
        spike_error(L_COUNT_ENH, s.astype(float), counts.astype(float), t + 1, T, label, R_HI / 256, R_LO / 256, of)
        want = of * T * (1 << E)
        assert np.all(np.abs(oi - want) <= 0.01 * np.abs(want) + 2), (counts, s, t, label, oi, want)


def _ttfs_int(first, t, label):
    out = np.zeros(len(first), np.int64)
    ttfs_error_int(np.array(first, np.int64), t, label, log2e_scale(1), exp2_lut(), E, out)
    return out


def test_ttfs_by_hand():
    # T = 4, t = 3, first = [1, 3, 4 (silent)], label 0: t_hat = [1, 3, 4];
    # softmax(-t_hat) = [1, e^-2, e^-3] / 1.185122 = [0.843795, 0.114195, 0.042010];
    # output 0 fired before t: no gradient; (p - y) / T for the others
    out = np.zeros(3)
    ttfs_error(np.array([1.0, 3.0, 4.0]), 3, 4, 0, out)
    np.testing.assert_allclose(out, [0.0, 0.114195 / 4, 0.042010 / 4], atol=1e-6)
    oi = _ttfs_int([1, 3, 4], 3, 0)
    assert oi[0] == 0 and abs(oi[1] - 0.114195 * 256) <= 1 and abs(oi[2] - 0.042010 * 256) <= 1
    # t = 2, first = [4, 4, 2], label 0: t_hat = [3, 3, 2], all still count;
    # p = [e^-1, e^-1, 1] / 1.735759 = [0.211942, 0.211942, 0.576117]
    ttfs_error(np.array([4.0, 4.0, 2.0]), 2, 4, 0, out)
    np.testing.assert_allclose(out, np.array([0.211942 - 1, 0.211942, 0.576117]) / 4, atol=1e-6)
    oi = _ttfs_int([4, 4, 2], 2, 0)
    np.testing.assert_allclose(oi, np.array([0.211942 - 1, 0.211942, 0.576117]) * 256, atol=1.01)


def test_ttfs_int_matches_float():
    rng = np.random.default_rng(1)
    for _ in range(300):
        n, T = 5, 8
        t = int(rng.integers(0, T))
        first = rng.integers(0, T + 1, n)
        label = int(rng.integers(n))
        of = np.zeros(n)
        ttfs_error(first.astype(float), t, T, label, of)
        oi = _ttfs_int(first, t, label)
        np.testing.assert_allclose(oi, of * T * 256, atol=1.01)
        # dispatch through the shared entry point
        o2 = np.zeros(n, np.int64)
        spike_error_int(L_TTFS, np.zeros(n, np.int64), np.zeros(n, np.int64), t, label, R_HI, R_LO,
                        log2e_scale(1), exp2_lut(), E, o2, first.astype(np.int64))
        np.testing.assert_array_equal(o2, oi)


@pytest.mark.parametrize("precision", ["int", "float"])
@pytest.mark.parametrize("loss", ["count_enh", "ttfs_ce"])
def test_losses_train_digits(precision, loss):
    from neurochip.data import load_dataset
    from neurochip.train import fit

    ds = load_dataset("digits", None, 0)
    dec = "latency" if loss == "ttfs_ce" else "rate"
    if loss == "count_enh":
        # count_enh gives silent outputs no gradient: start from a network the counting loss woke up
        cfg = NetworkConfig(sizes=(64, 64, 10), precision=precision, readout="spiking", loss="count", lr=0.05,
                            lr_schedule="constant", decoder=dec)
        eng = Engine(cfg, load_profile("loihi"))
        h = fit(eng, ds, 1)
        import dataclasses
        eng2 = Engine(dataclasses.replace(cfg, loss=loss), load_profile("loihi"), eng.state())
        h = fit(eng2, ds, 2)
        assert h.test_acc[-1] > 0.8, h.test_acc
    else:
        cfg = NetworkConfig(sizes=(64, 64, 10), precision=precision, readout="spiking", loss=loss, lr=0.05,
                            decoder=dec)
        h = fit(Engine(cfg, load_profile("loihi")), ds, 3)
        assert h.test_acc[-1] > 0.8, h.test_acc


def test_ttfs_has_no_bptt_form():
    with pytest.raises(NeurochipError, match="online"):
        NetworkConfig(sizes=(4, 2), readout="spiking", loss="ttfs_ce", precision="float", rule="bptt")
