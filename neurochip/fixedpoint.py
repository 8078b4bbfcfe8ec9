"""Integer primitives of the chip: saturation, wrap, shift leak, named rounding, PRNG, exp2 LUT.

Every function here is a pure scalar function compiled with numba (``cache=True``) and is the only
place its rule is written; the kernels call these. Each has a slow pure-Python twin in
``tests/reference.py`` that the tests compare against, including negative values and edges.

Conventions (all values are Python/numba int64 unless stated):

* ``sat(x, bits)``      two's complement saturation to [-2^(bits-1), 2^(bits-1) - 1].
* ``sat_sym(x, bits)``  symmetric saturation to [-(2^(bits-1) - 1), 2^(bits-1) - 1]: Loihi's
  membrane clip (lava/proc/lif/models.py, ``np.clip(v, -max_uv_val + 1, max_uv_val - 1)``).
* ``wrap_lava(x, bits)`` Loihi's current wrap: one conditional add/subtract of 2^bits, so the range
  is (-2^(bits-1), 2^(bits-1)] (lava/proc/lif/models.py ``subthr_dynamics``; lava-semantics.md §3).
* ``leak(v, k, mode)``   v * (1 - 2^-k) in integers; k = 0 means "no memory" (result 0), as Lava's
  dv = 4096 >> 0 = 4096. mode 0 = floor: ``v - (v >> k)`` (arithmetic shift, OTTT chip);
  mode 1 = toward zero: ``sign(v) * ((|v| * (2^k - 1)) >> k)``, which is exactly Lava's
  ``sign(v) * ((|v| * (4096 - dv)) >> 12)`` with dv = 4096 >> k (chip-model.md §1, lava-semantics.md §4).
* ``mul_shift_rtz(x, m, s)`` ``sign(x m) (|x m| >> s)``, the toward-zero decay of ``leak`` mode 1 and
  of Lava's LIF (``rtz`` in lava-semantics.md §4).
* ``shift_round(x, s, mode, r)`` x / 2^s rounded: 0 floor, 1 nearest (ties up), 2 stochastic with r
  uniform in [0, 2^s) (unbiased: E[result] = x / 2^s). s < 0 shifts left.
* ``xorshift32(state)`` Marsaglia's 32-bit xorshift (13, 17, 5): the on-chip PRNG. State is a
  non-zero uint32 held in an int64.
* ``shl32(x, k)``, ``ashr32(x, k)`` 32-bit shifts of int32 values, amount ``k & 31``: left (modulo
  2^32) and arithmetic right, as LLVM's i32 ``shl``/``ashr`` (numba types ``int32 << int32`` as
  int64, so a loop of them vectorises as 64-bit lanes; these keep 32-bit lanes, kernels/lif32.py).
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba.core import types as _nbt
from numba.extending import intrinsic as _intrinsic

from .kernel_cache import install as _install_kernel_cache

# Options of every neurochip kernel. The cache is keyed by the kernel's file and every package file
# it imports (neurochip/kernel_cache.py); the locator is registered here, before the first @njit.
_install_kernel_cache()
NJIT = dict(cache=True, nogil=True)
#: kernel-internal steps (called only from other kernels): no Python/C wrappers to build, which
#: would unbox every array of their typed tuples and dominate the cold compile time
NJIT_INNER = dict(cache=True, nogil=True, no_cpython_wrapper=True, no_cfunc_wrapper=True)
#: small helpers a kernel calls once per step with arrays: inlined into the caller at numba's IR
#: level, so that no reference count of their array arguments is incremented and decremented
#: (atomic operations) per call; a non-inlined ``lif_layer32`` spent more time on that than on
#: its 10-neuron readout (docs/architecture.md, Speed)
NJIT_INLINE = dict(cache=True, nogil=True, inline="always")
#: kernel-internal steps with a ``prange`` over chunks of disjoint outputs (kernels/conv.py)
NJIT_PAR_INNER = dict(NJIT_INNER, parallel=True)


def _start_numba_threads() -> None:
    """Start numba's threading layer now, leaving multiprocessing's start method unset.

    numba starts it the first time a kernel with a ``prange`` is compiled, loaded or run, and
    while starting it reads ``multiprocessing.get_start_method()``, which fixes the start method as
    a side effect; Lava's import then fails (it calls ``set_start_method('fork')``). Starting it
    here, before any such kernel, and clearing the method again if it was unset, keeps the choice
    open for whoever comes later (``set_start_method(None, force=True)`` is multiprocessing's own
    reset)."""
    import multiprocessing as mp
    unset = mp.get_start_method(allow_none=True) is None
    nb.get_num_threads()          # starts the threading layer (idempotent)
    if unset:
        mp.set_start_method(None, force=True)


_start_numba_threads()

MASK32 = 0xFFFFFFFF


def _shift32(kind):
    """An intrinsic ``(x, k) -> int32``: x and k cast (truncated) to i32, k masked to 0..31 (LLVM's
    shifts by 32 or more are poison), then the i32 ``shl`` or ``ashr`` instruction."""
    def shift(typingctx, x, k):
        if not (isinstance(x, _nbt.Integer) and isinstance(k, _nbt.Integer)):
            return None
        sig = _nbt.int32(x, k)

        def codegen(context, builder, sig, args):
            a = context.cast(builder, args[0], sig.args[0], _nbt.int32)
            b = context.cast(builder, args[1], sig.args[1], _nbt.int32)
            b = builder.and_(b, b.type(31))
            return builder.shl(a, b) if kind == "shl" else builder.ashr(a, b)
        return sig, codegen
    shift.__name__ = f"_{kind}32"
    return _intrinsic(shift)


_shl32 = _shift32("shl")
_ashr32 = _shift32("ashr")


@nb.njit(**NJIT)
def shl32(x, k):
    """``x << (k & 31)`` in 32 bits (int32 result, wraps modulo 2^32); x, k are truncated to int32."""
    return _shl32(x, k)


@nb.njit(**NJIT)
def ashr32(x, k):
    """``x >> (k & 31)``, arithmetic, in 32 bits (int32 result); x, k are truncated to int32."""
    return _ashr32(x, k)


@nb.njit(**NJIT)
def sat(x, bits):
    hi = (1 << (bits - 1)) - 1
    lo = -(1 << (bits - 1))
    if x > hi:
        return hi
    if x < lo:
        return lo
    return x


@nb.njit(**NJIT)
def sat_sym(x, bits):
    hi = (1 << (bits - 1)) - 1
    if x > hi:
        return hi
    if x < -hi:
        return -hi
    return x


@nb.njit(**NJIT)
def sat_unsigned(x, bits):
    hi = (1 << bits) - 1
    if x > hi:
        return hi
    if x < 0:
        return 0
    return x


@nb.njit(**NJIT)
def wrap_lava(x, bits):
    m = 1 << (bits - 1)
    if x > m:
        return x - 2 * m
    if x <= -m:
        return x + 2 * m
    return x


@nb.njit(**NJIT)
def mul_shift_rtz(x, m, s):
    """``sign(x m) (|x m| >> s)``: a product scaled down, rounded toward zero (m >= 0). The one
    toward-zero decay: ``leak`` mode 1 and Lava's LIF decays (kernels/lava_engine.py) use it."""
    p = x * m
    if p >= 0:
        return p >> s
    return -((-p) >> s)


@nb.njit(**NJIT)
def leak(v, k, mode):
    if k == 0:
        return 0 * v
    if mode == 0:
        return v - (v >> k)
    return mul_shift_rtz(v, (1 << k) - 1, k)


@nb.njit(**NJIT)
def shift_exp(a, e):
    """``a << e`` for e >= 0, else ``a >> -e`` (floor): Lava Dense's weight_exp (lava-semantics.md §2)."""
    if e >= 0:
        return a << e
    return a >> (-e)


@nb.njit(**NJIT)
def shift_round(x, s, mode, r):
    if s <= 0:
        return x << (-s)
    if mode == 0:
        return x >> s
    if mode == 1:
        return (x + (1 << (s - 1))) >> s
    return (x + r) >> s


@nb.njit(**NJIT)
def xorshift32(state):
    x = state
    x ^= (x << 13) & MASK32
    x ^= x >> 17
    x ^= (x << 5) & MASK32
    return x


@nb.njit(**NJIT)
def rand_bits(state, s):
    """Advance the PRNG and return (new_state, r) with r uniform in [0, 2^s), 0 <= s <= 32."""
    state = xorshift32(state)
    if s <= 0:
        return state, 0 * state
    return state, state >> (32 - s)


def seed_state(seed: int, stream: int) -> int:
    """A non-zero 32-bit xorshift state from a user seed and a stream number (host side)."""
    h = (int(seed) * 0x9E3779B1 + (int(stream) + 1) * 0x85EBCA77) & MASK32
    h ^= h >> 16
    h = (h * 0x7FEB352D) & MASK32
    h ^= h >> 15
    return h or 0x6D2B79F5


# --- exp2 look-up table for the on-chip softmax -----------------------------------------------

EXP2_FRAC_BITS = 8     # the LUT is indexed by the 8 fractional bits of the exponent
EXP2_OUT_BITS = 16     # entries are 2^-f in Q16


def exp2_lut() -> np.ndarray:
    """``LUT[f] = round(2^16 * 2^(-f / 256))`` for f in 0..255: 256 entries of 17 bits."""
    f = np.arange(1 << EXP2_FRAC_BITS, dtype=np.float64)
    return np.round((1 << EXP2_OUT_BITS) * np.exp2(-f / (1 << EXP2_FRAC_BITS))).astype(np.int64)


def log2e_scale(threshold_membrane: int) -> int:
    """Constant C so that ``(d * C) >> 16`` is d / theta * log2(e) with 8 fractional bits."""
    return int(round(math.log2(math.e) * (1 << EXP2_FRAC_BITS) * (1 << 16) / threshold_membrane))


@nb.njit(**NJIT)
def exp2_neg(y_fx, lut):
    """2^(-y) in Q16 for y >= 0 given with 8 fractional bits: LUT of the fraction, shift of the rest."""
    ip = y_fx >> EXP2_FRAC_BITS
    if ip >= 62:
        return 0 * y_fx
    return lut[y_fx & ((1 << EXP2_FRAC_BITS) - 1)] >> ip


@nb.njit(**NJIT)
def softmax_int(v, out, c_log2e, lut, p_bits):
    """Softmax of logits v / theta into ``out`` with p_bits fractional bits; returns the sum of exps.

    ``e_i = 2^(-(max v - v_i) * log2(e) / theta)`` via the exp2 LUT, then ``p_i = (e_i << p_bits) // sum``
    (one integer division per output: a chip needs a divider or a reciprocal table here).
    """
    n = v.shape[0]
    m = v[0]
    for i in range(1, n):
        if v[i] > m:
            m = v[i]
    s = 0
    for i in range(n):
        y = ((m - v[i]) * c_log2e) >> 16
        e = exp2_neg(y, lut)
        out[i] = e
        s += e
    for i in range(n):
        out[i] = (out[i] << p_bits) // s
    return s
