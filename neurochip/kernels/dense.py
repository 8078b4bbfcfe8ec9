"""The Dense layer kind (``neurochip.layers.Dense``) of the integer kernels: forward, error, update.

Each step handles one weight layer ``l`` (neuron layer ``l`` -> ``l + 1``) and updates its slices of
the flat state arrays in place (offsets in :class:`neurochip.kernels.state.IntNet`); the per-neuron
and per-synapse arithmetic is the shared helpers' (kernels/lif.py, error.py, update.py), so the
kind adds only the connectivity. Counters are kept where the work happens (neurochip/counters.py).

Speed, same results: hot loops index with uint64 offsets (``U``), so numba emits no negative-index
wraparound code and the loops vectorise; a layer whose weighted sums provably fit int32
(``IntNet.narrow``) accumulates in int32 (twice the SIMD width), and in inference its spike row
adds read an int8 copy of the weights where they all fit (``Weights.W8``, a quarter of the
bytes, kernels/pack.int8_weights); stochastic rounding of the
updates draws once per presynaptic row (row-shared stochastic rounding, chip-model.md §5), so
the per-synapse test is a vectorised multiply-shift-OR.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from ..counters import (O_ACC, O_ACTIVE, O_BWD, O_DENSE, O_EFF, O_ERR, O_IDLE, O_MSGS, O_PRE_EV,
                        O_PRE_VAL, O_PRNG, O_SPIKES, O_SURR, O_SYN, O_WUPD, O_WUPD_NZ, S_ACC,
                        S_CURRENT, S_ERROR, S_MEMBRANE, S_UPD_TRY, S_UPD_ZERO, S_WEIGHT)
from ..fixedpoint import MASK32, NJIT, NJIT_INLINE, NJIT_INNER, sat, shift_round, xorshift32
from .error import error_to_lower, surrogate_at
from .lif import lif_step
from .update import write_row, write_weight

U = np.uint64


#: Weyl constant of the per-synapse scramble (2^32 / golden ratio, odd)
SCRAMBLE = 0x9E3779B1


@nb.njit(**NJIT)
def scramble_multiplier(i):
    """M_i = ((2 i + 1) SCRAMBLE) mod 2^32: odd, so u -> u M_i mod 2^32 permutes 32-bit words."""
    return ((2 * i + 1) * SCRAMBLE) & MASK32


@nb.njit(**NJIT_INLINE)
def add_rows(c, Wr, jdx, nev, wo, npost):
    """Spikes only: c += the weight rows ``Wr[wo + jdx[jj] * npost : ... + npost]`` of the ``nev``
    compacted inputs, four rows per pass (a quarter of the loads and stores of the sums), then the
    rest one by one. Exact where the caller's bound holds for c's type: every partial sum is a sum
    of some of the column's terms, and addition is associative modulo 2^bits anyway. ``Wr`` is
    ``W`` (int32), its int8 copy ``W8`` or lif_run's int16 copy (one specialisation each, inlined:
    no reference counting of the arrays per call)."""
    jj0 = U(0)
    while jj0 + U(4) <= nev:
        b1 = wo + U(jdx[jj0]) * npost
        b2 = wo + U(jdx[jj0 + U(1)]) * npost
        b3 = wo + U(jdx[jj0 + U(2)]) * npost
        b4 = wo + U(jdx[jj0 + U(3)]) * npost
        for i in range(npost):
            c[i] += (Wr[b1 + i] + Wr[b2 + i]) + (Wr[b3 + i] + Wr[b4 + i])
        jj0 += U(4)
    for jj in range(jj0, nev):
        base = wo + U(jdx[jj]) * npost
        for i in range(npost):
            c[i] += Wr[base + i]


@nb.njit(**NJIT_INNER)
def dense_forward(l, net, lif, wts, st, sc, cnt):
    """Weighted sums of layer l's values (event-driven over non-zero s_j) and the LIF step of
    neuron layer l + 1: st.cur, st.vpre, st.v, st.s of layer l + 1."""
    W = wts.W
    s = st.s
    cur = st.cur
    ops = cnt.ops
    npre = U(net.sizes[l])
    npost = U(net.sizes[l + 1])
    pre = U(net.noff[l])
    post = U(net.noff[l + 1])
    wo = U(net.woff[l])
    rownz = sc.rownz
    # the non-zero presynaptic values, compacted without branches (sc.jdx is free until the update
    # step): the zero pattern is data-dependent, a branch per input would mispredict
    jdx = sc.jdx
    nev = U(0)
    for j in range(npre):
        jdx[nev] = j
        nev += U(s[pre + j] != 0)
    neff = 0
    nbin = U(0)
    for jj in range(nev):
        j = pre + U(jdx[jj])
        neff += rownz[j]
        nbin += U(s[j] == 1)
    if net.narrow[l]:
        # int32 sums (8 lanes per AVX2 add), exact: |sum| <= max|input| n_pre max|W| < 2^31 (checked on the host)
        c32 = sc.c32
        for i in range(npost):
            c32[i] = 0
        if nbin == nev and wts.w8[l]:
            # spikes only, inference, every weight of W_l in int8 (backends/int_ottt.py): the same
            # row adds read the int8 copy (a quarter of the bytes; sign-extended in the loop)
            add_rows(c32, wts.W8, jdx, nev, wo, npost)
        elif nbin == nev:
            add_rows(c32, W, jdx, nev, wo, npost)
        else:
            for jj in range(nev):
                j = U(jdx[jj])
                sj = s[pre + j]
                base = wo + j * npost
                if sj == 1:          # spikes: always taken, so predicted
                    for i in range(npost):
                        c32[i] += W[base + i]
                else:
                    s32 = np.int32(sj)
                    for i in range(npost):
                        c32[i] += W[base + i] * s32
        for i in range(npost):
            cur[post + i] = c32[i]
    else:
        for i in range(npost):
            cur[post + i] = 0
        for jj in range(nev):
            j = U(jdx[jj])
            sj = s[pre + j]
            base = wo + j * npost
            if sj == 1:
                for i in range(npost):
                    cur[post + i] += W[base + i]
            else:
                for i in range(npost):
                    cur[post + i] += W[base + i] * sj
    n_pre = net.sizes[l]
    n_post = net.sizes[l + 1]
    ops[l, O_PRE_EV] += np.int64(nev)
    ops[l, O_PRE_VAL] += n_pre
    ops[l, O_SYN] += np.int64(nev) * n_post
    ops[l, O_EFF] += neff
    ops[l, O_DENSE] += n_pre * n_post
    B = wts.B
    b0 = post - U(net.sizes[0])
    v = st.v
    vpre = st.vpre
    nspk = 0
    nact = 0
    ncur = 0
    nmem = 0
    for i in range(npost):
        c = cur[post + i]
        sp, v2, vp, wrapped, clipped = lif_step(c, v[post + i], B[b0 + i], lif)
        ncur += wrapped
        nmem += clipped
        vpre[post + i] = vp
        v[post + i] = v2
        s[post + i] = sp
        nspk += sp
        if c != 0 or sp:
            nact += 1
    cnt.sat[l, S_CURRENT] += ncur
    cnt.sat[l, S_MEMBRANE] += nmem
    ops[l, O_SPIKES] += nspk
    if l < net.sizes.shape[0] - 2:
        ops[l, O_MSGS] += nspk
    ops[l, O_ACTIVE] += nact
    ops[l, O_IDLE] += n_post - nact


@nb.njit(**NJIT_INNER)
def dense_error(l, net, lifs, lrn, wts, st, sc, cnt):
    """Errors of neuron layer l (a hidden layer, l >= 1) from those of layer l + 1 through W_l
    (transposed) or, with random feedback, from the output errors through B_l."""
    L = net.sizes.shape[0] - 1
    g = st.g
    npre = net.sizes[l]
    npost = net.sizes[l + 1]
    n_out = net.sizes[L]
    pre = net.noff[l]
    post = net.noff[l + 1]
    o_off = net.noff[L]
    sh = lrn.qerr[l] + lrn.sg_bits
    one = 1 << lrn.sg_bits
    W = wts.W
    FB = wts.FB
    nz = 0
    nsat = 0
    for j in range(npre):
        d = 0
        if lrn.random_fb:
            fb = U(net.boff[l - 1] + j * n_out)
            uo = U(o_off)
            for i in range(U(n_out)):
                d += FB[fb + i] * g[uo + i]
        else:
            base = U(net.woff[l] + j * npost)
            up = U(post)
            for i in range(U(npost)):
                d += W[base + i] * g[up + i]
        sg = surrogate_at(st.vpre[pre + j], st.s[pre + j], lifs.thr, lrn.c_sg, sc.lut_sg, lrn.spike_op, one)
        g2, satd = error_to_lower(d, sg, sh, lrn.err_bits)
        nsat += satd
        g[pre + j] = g2
        nz += g2 != 0
    cnt.sat[l - 1, S_ERROR] += nsat
    cnt.ops[l - 1, O_SURR] += npre
    cnt.ops[l - 1, O_ERR] += nz
    if lrn.random_fb:
        for i in range(n_out):
            if g[o_off + i] != 0:
                cnt.ops[l, O_BWD] += npre
    else:
        for i in range(npost):
            if g[post + i] != 0:
                cnt.ops[l, O_BWD] += npre


@nb.njit(**NJIT_INNER)
def dense_update(l, net, lrn, wts, st, sc, cnt):
    """OTTT update of W_l from layer l's traces and layer l + 1's errors: OTTT_O writes the weights
    now; OTTT_A adds (floor-rounded, acc_frac bits below the weight LSB) into the accumulators.

    Only (non-zero trace x non-zero error) pairs are visited, presynaptic-major, as an event-driven
    learning engine would: both are compacted first. Stochastic rounding draws once per row (a
    presynaptic neuron with a non-zero trace) and derives each synapse's number from that draw by
    an odd multiplication (:func:`scramble_multiplier`); a row's rounded updates are first OR-ed
    (vectorised): most rows round to all zeros and write nothing."""
    g = st.g
    tr = st.tr
    W = wts.W
    WS = wts.WS
    ACC = wts.ACC
    idx = sc.idx
    gneg = sc.gneg
    jdx = sc.jdx
    aval = sc.aval
    mult = sc.mult
    dbuf = sc.dbuf
    npre = net.sizes[l]
    npost = net.sizes[l + 1]
    pre = net.noff[l]
    post = net.noff[l + 1]
    wo = net.woff[l]
    sh = lrn.update_shift[l]
    rule_a = lrn.rule_a
    upd_round = lrn.upd_round
    w_bits = lrn.w_bits
    shadow = lrn.shadow
    # branch-free compaction (the zero pattern is data-dependent: branches would mispredict)
    nzg = 0
    for i in range(npost):
        gi = g[post + i]
        idx[nzg] = i
        gneg[nzg] = -(gi * lrn.lr_mant)
        nzg += gi != 0
    if nzg == 0:
        return
    nza = 0
    for j in range(npre):
        a = tr[pre + j]
        jdx[nza] = j
        aval[nza] = a
        nza += a != 0
    if nza == 0:
        return
    n_try = nza * nzg
    n_nz = 0
    n_zero = 0
    n_draw = 0
    n_wsat = 0
    n_asat = 0
    if rule_a:
        sh_acc = sh - lrn.acc_frac
        for jj in range(nza):
            a = aval[jj]
            base = wo + jdx[jj] * npost
            for ii in range(nzg):
                d = shift_round(a * gneg[ii], sh_acc, 0, 0)
                if d == 0:
                    n_zero += 1
                    continue
                m = base + idx[ii]
                a2 = ACC[m] + d
                a3 = sat(a2, lrn.acc_bits)
                n_asat += a3 != a2
                n_nz += a3 != ACC[m]
                ACC[m] = a3
        ops = cnt.ops
        ops[l, O_WUPD] += n_try
        ops[l, O_ACC] += n_nz
        cnt.sat[l, S_UPD_TRY] += n_try
        cnt.sat[l, S_UPD_ZERO] += n_zero
        cnt.sat[l, S_ACC] += n_asat
        return
    n_hit = 0
    if upd_round == 2 and sh > 0:
        # row-shared stochastic rounding (docs/design/chip-model.md §5): one draw u per row,
        # scrambled per synapse, r_ji = ((u M_i) mod 2^32) >> (32 - sh), M_i odd
        # the OR test in uint64: (x + r) lies outside [0, 2^sh) iff its bits >> sh (logical) != 0,
        # and logical shifts (unlike 64-bit arithmetic ones) vectorise on AVX2
        r_learn = st.rng[0]
        usr = 32 - sh
        ush = U(sh)
        usr_u = U(usr)
        m32 = U(MASK32)
        for ii in range(nzg):
            mult[ii] = scramble_multiplier(idx[ii])
        for jj in range(nza):
            a = aval[jj]
            r_learn = xorshift32(r_learn)
            ua = U(a)
            uu = U(r_learn)
            hit = U(0)
            for ii in range(nzg):
                xr = ua * U(gneg[ii]) + (((uu * U(mult[ii])) & m32) >> usr_u)
                dbuf[ii] = np.int64(xr) >> sh
                hit |= xr >> ush
            if hit == 0:
                continue
            h, changed, satd, dnz = write_row(W, WS, wo + jdx[jj] * npost, idx, dbuf, nzg, w_bits, shadow)
            n_hit += h
            n_nz += changed
            n_wsat += satd
            sc.rownz[pre + jdx[jj]] += dnz
        st.rng[0] = r_learn
        n_draw = nza
    else:
        for jj in range(nza):
            a = aval[jj]
            base = wo + jdx[jj] * npost
            for ii in range(nzg):
                d = shift_round(a * gneg[ii], sh, upd_round, 0)
                if d == 0:
                    continue
                n_hit += 1
                changed, satd, dnz = write_weight(W, WS, base + idx[ii], d, w_bits, shadow)
                n_nz += changed
                n_wsat += satd
                sc.rownz[pre + jdx[jj]] += dnz
    ops = cnt.ops
    ops[l, O_WUPD] += n_try
    ops[l, O_PRNG] += n_draw
    ops[l, O_WUPD_NZ] += n_nz
    cnt.sat[l, S_UPD_TRY] += n_try
    cnt.sat[l, S_UPD_ZERO] += n_try - n_hit
    cnt.sat[l, S_WEIGHT] += n_wsat


__all__ = ["dense_forward", "dense_error", "dense_update", "scramble_multiplier", "SCRAMBLE"]
