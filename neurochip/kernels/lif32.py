"""The integer LIF update of a whole layer in int32 lanes, where a bound proves it exact.

:func:`neurochip.kernels.lif.lif_step` computes in int64 (numba's integer type), so a loop of it
vectorises as 4 lanes per AVX2 register; this is the same arithmetic (chip-model.md §1,
lava-semantics.md §2-4) rewritten for 16 int32 lanes, used by ``lif_forward`` (kernels/lif_run.py)
where :func:`lif32_exact` proves that every intermediate fits int32 (``dense_forward``, whose state
arrays are int64, keeps ``lif_step``: docs/architecture.md, Speed). Then each int32 operation
equals the int64 one and the results are bit-identical (``tests/test_lif32.py`` checks it against
``lif_step`` for both hardware profiles with neuron models and every mode).

* written in explicit 16-lane vectors (kernels/simd.py ``i32x16``: one AVX-512 instruction per
  operation), not as a scalar loop left to the vectoriser, which emitted 8-lane loops with a scalar
  remainder (the whole of a 10-neuron readout) and overlap checks; the last pass is masked;
* shifts as ``v32_shl`` / ``v32_ashr`` by ``k & 31`` (the vector form of
  :func:`neurochip.fixedpoint.shl32` / ``ashr32``);
* the profile's modes are parameters of one branch-free loop (:class:`Lif32`, built once per layer
  by :func:`lif32_of`), not branches: wrap and saturation are the same two steps (a conditional
  add of 2^cur_bits at thresholds, then a clamp) with the unused one's limits at the int32 range;
  the leak ``v - ((v + r) >> k)`` with ``r = 2^k - 1`` for ``v >= 0`` under toward-zero rounding
  and ``r = 0`` otherwise (floor: ``v - (v >> k)``; toward zero: ``sign(v) ((|v| (2^k - 1)) >> k)``
  without the product, fixedpoint.leak); ``>=`` is ``> thr - 1``, an integrator's threshold is
  the int32 maximum; the reset keeps ``(v - thr) & m`` with m = -1 (subtract) or 0 (to zero).
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from ..fixedpoint import NJIT, NJIT_INLINE
from .simd import (m16_count, v32_add, v32_and, v32_ashr, v32_ge, v32_gt, v32_le, v32_load, v32_max, v32_min,
                   v32_ne, v32_shl, v32_splat, v32_store, v32_sub, v32_where)
from .state import lif_of

U = np.uint64

I32_MAX = 2 ** 31 - 1
I32_MIN = -(2 ** 31)
#: the bounds below are exact integer arithmetic in int64: biases beyond this are "does not fit"
_BIG = 1 << 40


class Lif32(NamedTuple):
    """One layer's LIF parameters as int32 (:func:`lif32_of`)."""
    rs: np.int32          # u = (c >> rs) << ls: rs = -weight_exp if < 0,
    ls: np.int32          # ls = max(weight_exp, 0) + in_shift
    wrap_hi: np.int32     # u > wrap_hi: u - wrap_2m (Lava's wrap; saturation: the int32 maximum, never)
    wrap_lo: np.int32     # u <= wrap_lo: u + wrap_2m (saturation: the int32 minimum, never)
    wrap_2m: np.int32     # 2^cur_bits
    cur_lo: np.int32      # then u clamped to [cur_lo, cur_hi] (wrap: the int32 range, a no-op)
    cur_hi: np.int32
    k: np.int32           # leak shift
    r_pos: np.int32       # rounding add of the leak for v >= 0: 2^k - 1 toward zero, 0 floor
    mem_hi: np.int32      # v clamped to [-mem_hi, mem_hi], 2^(mem_bits - 1) - 1
    thr_gt: np.int32      # spike iff v > thr_gt: thr (">"), thr - 1 (">="), the int32 maximum (integrator)
    thr: np.int32
    keep: np.int32        # reset: v <- (v - thr) & keep, -1 by subtraction, 0 to zero


@nb.njit(**NJIT)
def lif32_of(lif):
    """The :class:`Lif32` of LifParams ``lif`` (valid where :func:`lif32_exact` holds)."""
    e = lif.weight_exp
    wrap = lif.cur_wrap
    half = 1 << (lif.cur_bits - 1)
    thr_gt = lif.thr - 1 if lif.ge else lif.thr
    return Lif32(np.int32(-e if e < 0 else 0), np.int32((e if e > 0 else 0) + lif.in_shift),
                 np.int32(half if wrap else I32_MAX), np.int32(-half if wrap else I32_MIN),
                 np.int32(2 * half if wrap else 0),
                 np.int32(I32_MIN if wrap else -half), np.int32(I32_MAX if wrap else half - 1),
                 np.int32(lif.leak_shift), np.int32((1 << lif.leak_shift) - 1 if lif.leak_mode == 1 else 0),
                 np.int32((1 << (lif.mem_bits - 1)) - 1),
                 np.int32(thr_gt if lif.fires else I32_MAX), np.int32(lif.thr),
                 np.int32(-1 if lif.reset_sub else 0))


@nb.njit(**NJIT)
def input_bound(cmax, lifs, l):
    """The largest |u| a weighted sum |c| <= cmax of neuron layer l + 1 gives before the wrap or
    saturation: ceil(cmax / 2^rs) 2^ls (the weight exponent's right shift rs rounds toward minus
    infinity, so -cmax reaches it), or -1 where the int32 lanes cannot hold it (cmax outside
    [0, 2^31), a left shift beyond 30, currents wider than 32 bits). The one bound behind both
    :func:`lif32_exact` and :func:`lif32_input_exact`."""
    if cmax < 0 or cmax > I32_MAX:
        return -1
    e = lifs.weight_exp[l]
    rs = -e if e < 0 else 0
    ls = (e if e > 0 else 0) + lifs.in_shift
    if ls > 30 or lifs.cur_bits > 32:
        return -1
    return ((cmax + (1 << rs) - 1) >> rs) << ls


@nb.njit(**NJIT)
def lif32_exact(cmax, bmax, lifs, l):
    """True if the int32 update of neuron layer l + 1 (LifLayers ``lifs``) equals ``lif_step`` for
    every weighted sum |c| <= cmax, bias |b| <= bmax and membrane |v| <= 2^(mem_bits - 1) - 1 (every
    membrane the update leaves).

    Bounds, each < 2^31: |c| itself (read as int32); |u| <= ceil(cmax / 2^rs) 2^ls (the shifted
    sum); Lava's wrap moves u toward zero (u - 2^cur_bits for u > 2^(cur_bits - 1), u + 2^cur_bits
    for u <= -2^(cur_bits - 1)), so |u'| <= |u| (its constant 2^cur_bits must be an int32:
    cur_bits <= 30), saturation gives |u'| <= min(|u|, 2^(cur_bits - 1));
    |v| + 2^k - 1 (the leak's rounding add); |leak(v)| + |u'| + |b| <= v_max + u'_max + bmax (the
    membrane before the clip). The compare and reset stay within [-v_max, v_max] (threshold
    < 2^(mem_bits - 1), profile.py)."""
    if bmax < 0 or bmax >= _BIG or lifs.mem_bits > 32 or (lifs.cur_wrap and lifs.cur_bits > 30):
        return False
    umax = input_bound(cmax, lifs, l)
    if umax < 0 or umax > I32_MAX:
        return False
    u2max = umax if lifs.cur_wrap else min(umax, 1 << (lifs.cur_bits - 1))
    vmax = (1 << (lifs.mem_bits - 1)) - 1
    return vmax + (1 << lifs.leak_shift[l]) - 1 <= I32_MAX and vmax + u2max + bmax <= I32_MAX


@nb.njit(**NJIT)
def lif32_input_exact(cmax, lifs, l):
    """True if no weighted sum |c| <= cmax of neuron layer l + 1 can wrap or saturate its
    synaptic input: |u| <= ceil(cmax / 2^rs) 2^ls < 2^(cur_bits - 1), strictly inside both Lava's
    wrap thresholds (u > 2^(cur_bits - 1), u <= -2^(cur_bits - 1)) and the saturation range
    [-2^(cur_bits - 1), 2^(cur_bits - 1) - 1]. Then :func:`lif_layer32` may skip both steps
    (``exact_u``) and its count of wrapped/saturated inputs is 0."""
    umax = input_bound(cmax, lifs, l)
    return umax >= 0 and umax < (1 << (lifs.cur_bits - 1))


@nb.njit(**NJIT)
def lif32_table(lifs, L):
    """The :class:`Lif32` of every neuron layer 1..L (the last one the readout) as rows of an
    int32[L, 13] table, built once before a run; :func:`lif32_row` reads one back."""
    P = np.zeros((L, 13), np.int32)
    for l in range(L):
        q = lif32_of(lif_of(lifs, l, l == L - 1))
        for f in range(13):
            P[l, f] = q[f]
    return P


@nb.njit(**NJIT_INLINE)
def lif32_row(P, l):
    """Row l of a :func:`lif32_table` as a :class:`Lif32` (13 loads; building it from LifLayers
    with ``lif32_of(lif_of(...))`` inside the step loop cost a visible share of a small step)."""
    return Lif32(P[l, 0], P[l, 1], P[l, 2], P[l, 3], P[l, 4], P[l, 5], P[l, 6], P[l, 7], P[l, 8],
                 P[l, 9], P[l, 10], P[l, 11], P[l, 12])


@nb.njit(**NJIT_INLINE)
def lif_layer32(p, n, cur, co, v, vo, B, bo, vpre, po, s, so, exact_u=False):
    """n neurons, one step: c = cur[co + i], membrane v[vo + i], bias B[bo + i]; writes the
    membrane before the reset to vpre[po + i], after it to v[vo + i], the spike to s[so + i].
    Returns (wrapped/saturated currents, clipped membranes).
    ``exact_u``: the caller has proven (:func:`lif32_input_exact`) that no input wraps or
    saturates; the loop then leaves out those steps (a third of its operations). Wrong only if
    the proof is: the result is then what a chip without the wrap would compute.

    Written in explicit 16-lane int32 vectors (kernels/simd.py): each pass updates 16 neurons
    with one instruction per operation (AVX-512; two on AVX2), the last pass masked to the
    neurons left (its loads read and its stores write nothing past neuron n - 1), the counts
    the population counts of lane masks. Arrays of any integer type; offsets uint64."""
    # the parameters as vectors of int32 lanes, and the shift amounts as int32 scalars
    rs, ls, k = np.int32(p.rs), np.int32(p.ls), np.int32(p.k)
    wrap_hi, wrap_lo, wrap_2m = v32_splat(p.wrap_hi), v32_splat(p.wrap_lo), v32_splat(p.wrap_2m)
    cur_lo, cur_hi, r_pos = v32_splat(p.cur_lo), v32_splat(p.cur_hi), v32_splat(p.r_pos)
    mem_hi, mem_lo = v32_splat(p.mem_hi), v32_splat(-p.mem_hi)
    thr_gt, thr, keep = v32_splat(p.thr_gt), v32_splat(p.thr), v32_splat(p.keep)
    zero, one = v32_splat(0), v32_splat(1)
    n_cur = 0
    n_mem = 0
    for b in range(U(0), n, U(16)):
        left = n - b
        u = v32_shl(v32_ashr(v32_load(cur, co + b, left), rs), ls)
        if exact_u:
            u2 = u
        else:
            uw = v32_where(v32_gt(u, wrap_hi), v32_sub(u, wrap_2m),
                           v32_where(v32_le(u, wrap_lo), v32_add(u, wrap_2m), u))
            u2 = v32_min(v32_max(uw, cur_lo), cur_hi)
        v0 = v32_load(v, vo + b, left)
        r = v32_where(v32_ge(v0, zero), r_pos, zero)
        vv = v32_add(v32_sub(v0, v32_ashr(v32_add(v0, r), k)), v32_add(u2, v32_load(B, bo + b, left)))
        v2 = v32_min(v32_max(vv, mem_lo), mem_hi)
        sp = v32_gt(v2, thr_gt)
        v32_store(vpre, po + b, left, v2)
        v32_store(v, vo + b, left, v32_where(sp, v32_and(v32_sub(v2, thr), keep), v2))
        v32_store(s, so + b, left, v32_where(sp, one, zero))
        # a masked-off lane loads zeros: u = v = b = 0 neither wraps, saturates nor clips
        if not exact_u:
            n_cur += m16_count(v32_ne(u2, u))
        n_mem += m16_count(v32_ne(v2, vv))
    return n_cur, n_mem


__all__ = ["Lif32", "lif32_of", "input_bound", "lif32_exact", "lif32_input_exact", "lif32_table", "lif32_row", "lif_layer32"]
