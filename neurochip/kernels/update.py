"""Weight writes of the integer learner: rounding of the update product and saturation.

``d = shift_round(-(g a lr_mant), s, mode, r)`` (fixedpoint.shift_round; stochastic rounding
takes r from the learning PRNG), then ``w = clip(w + d)`` at the learned-weight width; with
shadow weights the learned value lives in WS and the inference weight is ``WS >> shadow``
(chip-model.md §5).
"""
from __future__ import annotations

import numba as nb

from ..counters import O_PRNG, O_WUPD_NZ, S_WEIGHT
from ..fixedpoint import NJIT, NJIT_INNER, shift_round, xorshift32


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


@nb.njit(**NJIT_INNER)
def apply_accumulated(l, wo, nw, npost, rowoff, rownz, lrn, wts, st, cnt):
    """OTTT_A, end of sample, for the weights wo..wo+nw of weight layer l: write each accumulator
    into its weight (the profile's rounding, stochastic draws from the learning PRNG) and clear it.
    ``rowoff >= 0``: weights are presynaptic-major rows of ``npost`` (a dense layer), and each row's
    count of non-zero writes goes to ``rownz[rowoff + row]``; ``rowoff < 0`` (shared or recurrent
    weights) keeps no row counts."""
    ACC = wts.ACC
    acc_frac = lrn.acc_frac
    upd_round = lrn.upd_round
    r_learn = st.rng[0]
    n_draw = 0
    n_nz = 0
    n_wsat = 0
    for m in range(wo, wo + nw):
        x = ACC[m]
        if x == 0:
            continue
        ACC[m] = 0
        r = 0
        if upd_round == 2 and acc_frac > 0:
            r_learn = xorshift32(r_learn)
            r = r_learn >> (32 - acc_frac)
            n_draw += 1
        d = shift_round(x, acc_frac, upd_round, r)
        if d == 0:
            continue
        changed, satd, dnz = write_weight(wts.W, wts.WS, m, d, lrn.w_bits, lrn.shadow)
        n_nz += changed
        n_wsat += satd
        if rowoff >= 0:
            rownz[rowoff + (m - wo) // npost] += dnz
    st.rng[0] = r_learn
    cnt.ops[l, O_PRNG] += n_draw
    cnt.ops[l, O_WUPD_NZ] += n_nz
    cnt.sat[l, S_WEIGHT] += n_wsat


__all__ = ["apply_accumulated", "add_clip", "write_weight", "write_row"]
