"""Slow pure-Python models of neurochip's integer primitives, written from the spec (chip-model.md,
lava-semantics.md), independently of neurochip/fixedpoint.py: plain Python ints, no numba, no numpy."""
from __future__ import annotations

import math


def sat(x, bits):
    return max(-(2 ** (bits - 1)), min(2 ** (bits - 1) - 1, x))


def sat_sym(x, bits):
    m = 2 ** (bits - 1) - 1
    return max(-m, min(m, x))


def sat_unsigned(x, bits):
    return max(0, min(2 ** bits - 1, x))


def wrap_lava(u, bits):
    """lava/proc/lif/models.py subthr_dynamics: np.where(u > max, u - 2max, u); then <= -max: + 2max."""
    m = 2 ** (bits - 1)
    if u > m:
        return u - 2 * m
    if u <= -m:
        return u + 2 * m
    return u


def leak_floor(v, k):
    if k == 0:
        return 0
    return v - math.floor(v / 2 ** k)


def leak_lava(v, k):
    """Lava: sign(v) * ((|v| * (4096 - dv)) >> 12), dv = 4096 >> k (lava-semantics.md §3-4)."""
    dv = 4096 // 2 ** k
    p = abs(v) * (4096 - dv)
    r = p // 4096
    return r if v >= 0 else -r


def shift_exp(a, e):
    return a * 2 ** e if e >= 0 else math.floor(a / 2 ** -e)


def round_floor(x, s):
    return math.floor(x / 2 ** s)


def round_nearest(x, s):
    return math.floor(x / 2 ** s + 0.5)


def round_stochastic(x, s, r):
    """floor((x + r) / 2^s), r uniform in [0, 2^s)."""
    return math.floor((x + r) / 2 ** s)


def xorshift32(x):
    """Marsaglia 2003, 'Xorshift RNGs', the (13, 17, 5) triple on 32-bit words."""
    x ^= (x << 13) % 2 ** 32
    x ^= x >> 17
    x ^= (x << 5) % 2 ** 32
    return x % 2 ** 32


def softmax(values):
    m = max(values)
    e = [math.exp(v - m) for v in values]
    s = sum(e)
    return [x / s for x in e]


def shl32(x, k):
    """LLVM's i32 ``shl`` by k mod 32 of the low 32 bits of x: the product by 2^k, modulo 2^32,
    read as a signed 32-bit value."""
    r = (x * 2 ** (k % 32)) % 2 ** 32
    return r - 2 ** 32 if r >= 2 ** 31 else r


def ashr32(x, k):
    """LLVM's i32 ``ashr`` by k mod 32 of the low 32 bits of x (read as signed): floor(x / 2^k)."""
    x %= 2 ** 32
    x = x - 2 ** 32 if x >= 2 ** 31 else x
    return math.floor(x / 2 ** (k % 32))
