"""Every integer primitive against its slow pure-Python model (tests/reference.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurochip import fixedpoint as fx
from neurochip import surrogate
from neurochip.kernels.error import surrogate_at as _surrogate
from neurochip.kernels.trace import trace_decay as _trace_decay

from . import reference as ref

V24 = st.integers(-(2 ** 25), 2 ** 25)


@given(V24, st.integers(2, 32))
def test_saturations(x, bits):
    assert fx.sat(x, bits) == ref.sat(x, bits)
    assert fx.sat_sym(x, bits) == ref.sat_sym(x, bits)
    assert fx.sat_unsigned(x, bits) == ref.sat_unsigned(x, bits)


@pytest.mark.parametrize("x", [2 ** 23, 2 ** 23 + 1, -(2 ** 23), -(2 ** 23) + 1, 2 ** 24 - 1, -(2 ** 24) + 1, 0, 5, -5])
def test_wrap_lava_edges(x):
    assert fx.wrap_lava(x, 24) == ref.wrap_lava(x, 24)
    assert fx.wrap_lava(2 ** 23, 24) == 2 ** 23 and fx.wrap_lava(-(2 ** 23), 24) == 2 ** 23


@given(V24, st.integers(8, 32))
def test_wrap_lava(x, bits):
    assert fx.wrap_lava(x, bits) == ref.wrap_lava(x, bits)


@given(st.integers(-(2 ** 23), 2 ** 23), st.integers(0, 12))
def test_leak_both_roundings(v, k):
    assert fx.leak(v, k, 0) == ref.leak_floor(v, k)
    assert fx.leak(v, k, 1) == ref.leak_lava(v, k)


@pytest.mark.parametrize("k", range(0, 13))
def test_leak_edges_and_the_off_by_one(k):
    for v in (0, 1, -1, 2 ** 23 - 1, -(2 ** 23) + 1, 2 ** k, 2 ** k + 1, -(2 ** k) - 1, 12345, -12345):
        assert fx.leak(v, k, 0) == ref.leak_floor(v, k)
        assert fx.leak(v, k, 1) == ref.leak_lava(v, k)
    if k >= 1:
        # lava-semantics.md §4: the naive shift is exactly 1 larger for positive v not divisible by 2^k
        v = 2 ** k * 7 + 1
        assert fx.leak(v, k, 0) - fx.leak(v, k, 1) == 1
        # for a negative membrane the two roundings agree: floor(v - v/2^k) = -(|v| - ceil(|v|/2^k))
        assert fx.leak(-v, k, 0) == fx.leak(-v, k, 1) == -v + (v + (1 << k) - 1) // (1 << k)


@given(st.integers(-(2 ** 30), 2 ** 30), st.integers(-12, 12))
def test_shift_exp(a, e):
    assert fx.shift_exp(a, e) == ref.shift_exp(a, e)


@given(st.integers(-(2 ** 40), 2 ** 40), st.integers(0, 24))
def test_shift_round_floor_nearest(x, s):
    assert fx.shift_round(x, s, 0, 0) == ref.round_floor(x, s)
    assert fx.shift_round(x, s, 1, 0) == ref.round_nearest(x, s)


@given(st.integers(-(2 ** 40), 2 ** 40), st.integers(1, 24), st.data())
def test_shift_round_stochastic(x, s, data):
    r = data.draw(st.integers(0, 2 ** s - 1))
    assert fx.shift_round(x, s, 2, r) == ref.round_stochastic(x, s, r)


@pytest.mark.parametrize("x", [-37, -1, 0, 1, 5, 100, -100, 255])
@pytest.mark.parametrize("s", [1, 3, 6])
def test_stochastic_rounding_is_unbiased_over_all_r(x, s):
    mean = sum(fx.shift_round(x, s, 2, r) for r in range(2 ** s)) / 2 ** s
    assert mean == x / 2 ** s


def test_shift_round_negative_shift_is_left_shift():
    assert fx.shift_round(3, -2, 2, 0) == 12


def test_xorshift32_and_rand_bits():
    x = ref_x = 2463534242   # Marsaglia's example seed
    for _ in range(1000):
        x = fx.xorshift32(x)
        ref_x = ref.xorshift32(ref_x)
        assert x == ref_x and 0 < x < 2 ** 32
    st_, r = fx.rand_bits(123456789, 5)
    assert st_ == ref.xorshift32(123456789) and r == st_ >> 27
    assert fx.rand_bits(99, 0)[1] == 0


def test_seed_state_nonzero_and_distinct():
    states = {fx.seed_state(s, k) for s in range(50) for k in range(2)}
    assert 0 not in states and len(states) == 100


def test_exp2_lut_and_exp2_neg():
    lut = fx.exp2_lut()
    assert len(lut) == 256 and lut[0] == 2 ** 16
    for y_fx in list(range(0, 4096, 37)) + [2 ** 20]:
        exact = 2 ** 16 * 2 ** (-y_fx / 256)
        assert abs(fx.exp2_neg(y_fx, lut) - exact) <= 1 + exact * 2 ** -15


@settings(max_examples=200)
@given(st.lists(st.integers(-(2 ** 21), 2 ** 21), min_size=2, max_size=12), st.integers(4, 12))
def test_softmax_int_against_float(vals, p_bits):
    theta = 4096 << 6
    lut = fx.exp2_lut()
    out = np.zeros(len(vals), np.int64)
    fx.softmax_int(np.array(vals, np.int64), out, fx.log2e_scale(theta), lut, p_bits)
    exact = ref.softmax([v / theta for v in vals])
    for o, e in zip(out, exact):
        # LUT (Q16), the 8-bit exponent fraction and the final floor division
        assert abs(o / 2 ** p_bits - e) <= 2 ** -p_bits + 0.01 * e + 2 ** -7
    assert sum(out) <= 2 ** p_bits


@pytest.mark.parametrize("name", [n for n in surrogate.SURROGATES if n != "spike_operator"])
def test_surrogate_lut_and_index(name):
    bits = 6
    lut = surrogate.surrogate_lut(name, bits)
    theta = 1024
    c = surrogate.lut_index_scale(theta)
    f = surrogate.get(name)
    for v in range(-5 * theta, 5 * theta, 37):
        x = (v - theta) / theta
        got = _surrogate(v, 0, theta, c, lut, False, 1 << bits)
        b = math.floor(x * surrogate.LUT_RES)
        if -surrogate.LUT_SIZE // 2 <= b < surrogate.LUT_SIZE // 2:
            centre = (b + 0.5) / surrogate.LUT_RES
            assert got == round(float(f(centre)) * 2 ** bits)
        else:
            assert got == 0


def test_trace_decay_floor_and_stochastic():
    for a in (0, 1, 5, 63, 127):
        for k in range(0, 5):
            q, _, draws = _trace_decay(a, k, False, 1)
            assert q == (a * (2 ** k - 1)) // 2 ** k and draws == 0
    # stochastic: E[decayed] = a * (1 - 2^-k) over the draws
    rng, total, n = 12345, 0, 20000
    for _ in range(n):
        q, rng, _ = _trace_decay(37, 2, True, rng)
        total += q
    assert abs(total / n - 37 * 0.75) < 0.02


@pytest.mark.parametrize("name", list(surrogate.SMOOTH))
@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_surrogates_are_derivatives_of_their_smooth_functions(name, scale):
    p = surrogate.DEFAULT_PARAM[name] * scale
    f, F = surrogate.get(name), surrogate.SMOOTH[name]
    h = 1e-6
    # away from the kinks of the piecewise ones
    xs = [x for x in np.linspace(-3, 3, 121) if all(abs(abs(x) - k) > 1e-3 for k in (0.0, p / 2, p))]
    for x in xs:
        num = (F(np.float64(x + h), p) - F(np.float64(x - h), p)) / (2 * h)
        assert abs(float(num) - float(f(x, p))) < 1e-4 * max(1.0, abs(float(f(x, p)))), (name, x)


def test_spike_operator_uses_the_spike():
    assert list(surrogate.spike_operator(np.zeros(3), spiked=[1, 0, 1])) == [1.0, 0.0, 1.0]
    assert not surrogate.surrogate_lut("spike_operator", 4).any()
    assert _surrogate(0, 1, 10, 1, np.zeros(64, np.int64), True, 16) == 16
    assert _surrogate(10**6, 0, 10, 1, np.full(64, 5, np.int64), True, 16) == 0
