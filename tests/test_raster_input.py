"""Per-step input (encoders raster, raster-spikes): row t of a (n, T, features) array at step t.

The checks are equivalences with the static encoders the per-step path must reproduce exactly:
a raster that repeats one row every step is direct encoding (graded x_q, the same impulse rule),
and a one-hot spike raster at each input's latency step is latency encoding; both bit-identical
in the integer learner (weights, traces, PRNG states, counters) and identical in the float
reference (OTTT and BPTT). Plus the value table, the memory (no copy of uint8 rasters) and the
shape errors.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neurochip.engine import Engine
from neurochip.errors import NeurochipError
from neurochip.kernels.pack import raster_table
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile

PROF = load_profile("loihi")


def _run_pair(cfg_a, xa, cfg_b, xb, y, epochs=2):
    ea, eb = Engine(cfg_a, PROF), Engine(cfg_b, PROF)
    pa = pb = None
    pia, pib = ea.prepare(xa), eb.prepare(xb)
    order = np.arange(len(y))
    for _ in range(epochs):
        pa = ea.run(pia, y, order, True)
        pb = eb.run(pib, y, order, True)
    return ea, eb, pa, pb


def _same(ea, eb):
    np.testing.assert_array_equal(ea.W, eb.W)
    np.testing.assert_array_equal(ea.v, eb.v)
    np.testing.assert_array_equal(ea.tr, eb.tr)
    np.testing.assert_array_equal(ea.rng, eb.rng)
    np.testing.assert_array_equal(ea.sat, eb.sat)
    if ea.is_int:
        # the per-step input only differs in the encoder's bookkeeping of the static array
        np.testing.assert_array_equal(ea.ops, eb.ops)


@pytest.mark.parametrize("precision,rule", [("int", "ottt-o"), ("int", "ottt-a"), ("float", "ottt-o"),
                                            ("float", "bptt")])
def test_repeated_row_raster_is_direct_encoding(precision, rule):
    rng = np.random.default_rng(1)
    T, n, f = 5, 12, 9
    c = rng.integers(0, 256, (n, f)).astype(np.uint8)
    y = rng.integers(0, 3, n)
    base = NetworkConfig(sizes=(f, 7, 3), timesteps=T, precision=precision, rule=rule, seed=3)
    direct = dataclasses.replace(base, encoder="direct")
    raster = dataclasses.replace(base, encoder="raster", input_full_scale=256)
    x_raster = np.ascontiguousarray(np.broadcast_to(c[:, None, :], (n, T, f)))
    ea, eb, pa, pb = _run_pair(direct, c / 256.0, raster, x_raster, y)
    np.testing.assert_array_equal(pa, pb)
    _same(ea, eb)
    assert np.abs(ea.W - Engine(base, PROF).W).max() > 0     # it learned something


@pytest.mark.parametrize("precision,rule", [("int", "ottt-o"), ("float", "ottt-o"), ("float", "bptt")])
def test_one_hot_spike_raster_is_latency_encoding(precision, rule):
    rng = np.random.default_rng(2)
    T, n, f = 6, 10, 8
    x = rng.random((n, f))
    x[x < 0.2] = 0.0                    # some inputs never spike
    y = rng.integers(0, 3, n)
    base = NetworkConfig(sizes=(f, 6, 3), timesteps=T, precision=precision, rule=rule, seed=5)
    lat = dataclasses.replace(base, encoder="latency")
    ras = dataclasses.replace(base, encoder="raster-spikes")
    steps = np.round((1.0 - x) * (T - 1)).astype(int)
    r = np.zeros((n, T, f), np.uint8)
    for i in range(n):
        for j in range(f):
            if x[i, j] > 0:
                r[i, steps[i, j], j] = 3          # any count > 0 is one spike
    ea, eb, pa, pb = _run_pair(lat, x, ras, r, y)
    np.testing.assert_array_equal(pa, pb)
    _same(ea, eb)


def test_map_layout_equals_flat():
    rng = np.random.default_rng(3)
    T, n = 4, 6
    x = rng.integers(0, 5, (n, T, 2, 3, 3)).astype(np.uint8)
    y = rng.integers(0, 2, n)
    cfg = NetworkConfig(sizes=(18, 5, 2), timesteps=T, encoder="raster", input_full_scale=4, seed=1)
    ea, eb, pa, pb = _run_pair(cfg, x, cfg, x.reshape(n, T, 18), y, epochs=1)
    np.testing.assert_array_equal(pa, pb)
    _same(ea, eb)


def test_raster_table_by_hand():
    cfg = NetworkConfig(sizes=(2, 2), timesteps=2, encoder="raster", input_full_scale=3)
    b, F = PROF.synapse.input_bits, PROF.learning.trace_frac_bits
    assert b == 8
    tab = raster_table(cfg, PROF, 6)
    # round(c 256 / 3), capped at 255; c >= 3 is full scale
    assert tab[0].tolist() == [0, 85, 171, 255, 255, 255]
    assert tab[1].tolist() == [(q * (1 << F) + 128) >> 8 for q in [0, 85, 171, 255, 255, 255]]
    spk = raster_table(dataclasses.replace(cfg, encoder="raster-spikes"), PROF, 4)
    assert spk[0].tolist() == [0, 1, 1, 1] and spk[1].tolist() == [0, 1 << F, 1 << F, 1 << F]


def test_uint8_raster_is_not_copied():
    x = np.zeros((3, 4, 5), np.uint8)
    for precision in ("int", "float"):
        eng = Engine(NetworkConfig(sizes=(5, 2), timesteps=4, encoder="raster", precision=precision), PROF)
        X = eng.prepare(x)[0]
        assert X.dtype == np.uint8 and X.shape == (3, 20) and np.shares_memory(X, x)


@pytest.mark.parametrize("x,msg", [
    (np.zeros((3, 5, 5), np.uint8), r"shape \(n, 4, 5\)"),
    (np.zeros((3, 4, 6), np.uint8), r"shape \(n, 4, 5\)"),
    (np.zeros((3, 4, 5), np.float32), "integer counts"),
    (np.full((3, 4, 5), -1, np.int16), r"\[0, 65535\]"),
    (np.zeros((3, 5), np.uint8), r"shape \(n, 4, 5\)"),
])
def test_raster_shape_errors(x, msg):
    eng = Engine(NetworkConfig(sizes=(5, 2), timesteps=4, encoder="raster"), PROF)
    with pytest.raises(NeurochipError, match=msg):
        eng.prepare(x)


def test_static_encoder_rejects_raster_with_hint():
    eng = Engine(NetworkConfig(sizes=(5, 2), timesteps=4), PROF)
    with pytest.raises(NeurochipError, match="raster"):
        eng.prepare(np.zeros((3, 4, 5), np.uint8))
