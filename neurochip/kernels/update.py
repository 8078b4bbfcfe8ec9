"""Weight writes of the integer learner: rounding of the update product and saturation.

``d = shift_round(-(g a lr_mant), s, mode, r)`` (fixedpoint.shift_round; stochastic rounding
takes r from the learning PRNG), then ``w = clip(w + d)`` at the learned-weight width; with
shadow weights the learned value lives in WS and the inference weight is ``WS >> shadow``
(chip-model.md §5).
"""
from __future__ import annotations

import numba as nb

from ..fixedpoint import NJIT


@nb.njit(**NJIT)
def add_clip(w0, d, bits):
    """``w0 + d`` saturated to a signed ``bits``-wide value: returns (w, saturated)."""
    hi = (1 << (bits - 1)) - 1
    lo = -(1 << (bits - 1))
    w1 = w0 + d
    if w1 > hi:
        return hi, 1
    if w1 < lo:
        return lo, 1
    return w1, 0


@nb.njit(**NJIT)
def write_weight(W, WS, m, d, bits, shadow):
    """Add update ``d`` to weight m (to its shadow weight if ``shadow`` > 0, then the inference
    weight is ``WS >> shadow``). Returns (changed, saturated, inference weight's non-zero change)."""
    w0 = WS[m] if shadow > 0 else W[m]
    w1, satd = add_clip(w0, d, bits)
    wi0 = W[m]
    if shadow > 0:
        WS[m] = w1
        W[m] = w1 >> shadow
    else:
        W[m] = w1
    return (1 if w1 != w0 else 0), satd, (1 if W[m] != 0 else 0) - (1 if wi0 != 0 else 0)


@nb.njit(**NJIT)
def write_row(W, WS, base, idx, dbuf, n, bits, shadow):
    """Add updates ``dbuf[k]`` to weights ``base + idx[k]``, k < n (zeros leave a weight as it is),
    branch-free; as :func:`write_weight` for each. Returns (non-zero updates, changed weights,
    saturated, change in the number of non-zero inference weights)."""
    hi = (1 << (bits - 1)) - 1
    lo = -(1 << (bits - 1))
    n_hit = 0
    n_changed = 0
    n_sat = 0
    d_nz = 0
    for k in range(n):
        m = base + idx[k]
        d = dbuf[k]
        w0 = WS[m] if shadow > 0 else W[m]
        wi0 = W[m]
        w = w0 + d
        w1 = min(max(w, lo), hi)
        if shadow > 0:
            WS[m] = w1
            W[m] = w1 >> shadow
        else:
            W[m] = w1
        n_hit += d != 0
        n_changed += w1 != w0
        n_sat += w1 != w
        d_nz += (W[m] != 0) - (wi0 != 0)
    return n_hit, n_changed, n_sat, d_nz


__all__ = ["add_clip", "write_weight", "write_row"]
