"""kernels/simd.py: every explicit-vector operation against numpy on the same lanes."""
from __future__ import annotations

import numba as nb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurochip.fixedpoint import NJIT
from neurochip.kernels.simd import (ctz64, m16_bits, m16_count, nonzero_mask16, v16_add,
                                    v16_load, v16_store32, v16_zero, v32_add, v32_and, v32_ashr, v32_ge, v32_gt,
                                    v32_le, v32_load, v32_max, v32_min, v32_ne, v32_shl, v32_splat, v32_store,
                                    v32_sub, v32_where)

I32 = st.integers(-2 ** 31, 2 ** 31 - 1)
LANES16 = st.lists(I32, min_size=16, max_size=16)


@nb.njit(**NJIT)
def _rows16(W, offs, nz, out32):
    acc = v16_zero()
    for k in range(nz):
        acc = v16_add(acc, v16_load(W, offs[k]))
    v16_store32(out32, 1, acc)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-2 ** 15, 2 ** 15 - 1), min_size=80, max_size=80), st.lists(st.integers(0, 64), max_size=9))
def test_int16_lanes_add_modulo_2_16_and_widen(w, offs):
    """v16_load / v16_add / v16_store32: rows of 16 int16 summed with numpy's int16 wraparound,
    stored sign-extended into int32 lanes; the neighbours are untouched."""
    W = np.array(w, np.int16)
    o = np.array(offs, np.uint64)
    want = np.zeros(16, np.int16)
    for k in offs:
        want = want + W[k:k + 16]
    out32 = np.full(19, 7, np.int32)
    _rows16(W, o, len(offs), out32)
    assert np.array_equal(out32[1:17], want.astype(np.int32)) and (out32[[0, 17, 18]] == 7).all()


@nb.njit(**NJIT)
def _mask(a, off):
    return nonzero_mask16(a, off)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.int64])
def test_nonzero_mask_has_a_bit_per_nonzero_lane(dtype):
    rng = np.random.default_rng(1)
    for _ in range(50):
        a = (rng.integers(-3, 4, 40) * (rng.random(40) < 0.4)).astype(dtype)
        off = int(rng.integers(0, 24))
        want = sum(1 << k for k in range(16) if a[off + k] != 0)
        assert _mask(a, off) == want


@nb.njit(**NJIT)
def _ctz(x):
    return ctz64(x)


@given(st.integers(1, 2 ** 63 - 1) | st.integers(-2 ** 63, -1))
def test_ctz_counts_trailing_zero_bits(x):
    assert _ctz(x) == ((x & -x).bit_length() - 1)


@nb.njit(**NJIT)
def _load_store(src, so, n, dst, do, m):
    v32_store(dst, do, m, v32_load(src, so, n))


@pytest.mark.parametrize("src_t", [np.uint8, np.int8, np.int16, np.int32, np.int64])
@pytest.mark.parametrize("dst_t", [np.uint8, np.int16, np.int32, np.int64])
def test_load_and_store_convert_and_mask_the_tail(src_t, dst_t):
    """v32_load: lanes k < n of any integer array, sign- or zero-extended (int64 truncated), the
    rest 0; v32_store: lanes k < m converted to the destination type (numpy's astype), nothing
    written at or past m, for every n and m in -1..17."""
    rng = np.random.default_rng([np.dtype(src_t).num, np.dtype(dst_t).num])
    info = np.iinfo(src_t)
    src = rng.integers(max(info.min, -2 ** 40), min(info.max, 2 ** 40), 40, endpoint=True).astype(src_t)
    for n in range(-1, 18):
        for m in (-1, 0, 5, 15, 16, 17):
            dst = np.full(40, 3, dst_t)
            _load_store(src, 4, n, dst, 7, m)
            lanes = np.zeros(16, np.int64)
            k = max(0, min(n, 16))
            lanes[:k] = src[4:4 + k].astype(np.int64).astype(np.int32)
            want = np.full(40, 3, dst_t)
            w = max(0, min(m, 16))
            want[7:7 + w] = lanes[:w].astype(np.int32).astype(dst_t)
            assert np.array_equal(dst, want), (n, m)


@nb.njit(**NJIT)
def _ops(x, y, k, out, bits):
    a = v32_load(x, 0, 16)
    b = v32_load(y, 0, 16)
    v32_store(out, 0, 16, v32_add(a, b))
    v32_store(out, 16, 16, v32_sub(a, b))
    v32_store(out, 32, 16, v32_and(a, b))
    v32_store(out, 48, 16, v32_min(a, b))
    v32_store(out, 64, 16, v32_max(a, b))
    v32_store(out, 80, 16, v32_shl(a, k))
    v32_store(out, 96, 16, v32_ashr(a, k))
    v32_store(out, 112, 16, v32_where(v32_gt(a, b), a, v32_splat(k)))
    bits[0] = m16_bits(v32_gt(a, b))
    bits[1] = m16_bits(v32_ge(a, b))
    bits[2] = m16_bits(v32_le(a, b))
    bits[3] = m16_bits(v32_ne(a, b))
    bits[4] = m16_count(v32_ne(a, b))


def _bits(mask):
    return sum(1 << i for i, b in enumerate(mask) if b)


@settings(max_examples=200, deadline=None)
@given(LANES16, LANES16, st.integers(-40, 40))
def test_int32_lane_arithmetic_equals_numpy(x, y, k):
    """add/sub (modulo 2^32), and, signed min/max, shifts by k & 31 (fixedpoint.shl32/ashr32),
    select, compares as bit masks, the population count of a mask."""
    a = np.array(x, np.int32)
    b = np.array(y, np.int32)
    out = np.zeros(128, np.int32)
    bits = np.zeros(5, np.int64)
    if x[:2] == y[:2]:
        b[:2] = a[:2]                        # some equal lanes for the compares
    _ops(a, b, k, out, bits)
    s = k & 31
    with np.errstate(over="ignore"):
        assert np.array_equal(out[0:16], a + b)
        assert np.array_equal(out[16:32], a - b)
    assert np.array_equal(out[32:48], a & b)
    assert np.array_equal(out[48:64], np.minimum(a, b))
    assert np.array_equal(out[64:80], np.maximum(a, b))
    assert np.array_equal(out[80:96], (a.astype(np.int64) << s).astype(np.uint64).astype(np.uint32).view(np.int32))
    assert np.array_equal(out[96:112], a >> s)
    assert np.array_equal(out[112:128], np.where(a > b, a, np.int32(np.int64(k))))
    assert list(bits) == [_bits(a > b), _bits(a >= b), _bits(a <= b), _bits(a != b), int((a != b).sum())]
