"""The Conv2d layer kind (``neurochip.layers.Conv2d``) of the integer kernels: forward, error, update.

Geometry from ``IntNet.geom`` (kernels/state.py G_* columns); values are flat CHW, weights
``W[ci, ky, kx, co]`` (flat ``((ci k + ky) k + kx) C_out + co``). An input at (ci, y, x) reaches
output (co, oy, ox) through kernel offset (ky, kx) when ``y = oy stride - pad + ky`` (and the same
for x): zero padding means the padded positions simply have no synapses.

* forward: event-driven over non-zero inputs; each adds ``W[ci, ky, kx, :] * s`` to the outputs
  it reaches (int64 sums, no saturation: lava-semantics.md §2), then the neurons (kernels/cuba.py).
* error to the layer below: the transposed convolution, ``d[ci, y, x] = sum W[ci, ky, kx, co]
  g[co, oy, ox]`` over the outputs the input reaches, then surrogate and rounding exactly as a
  dense layer (kernels/error.py ``error_to_lower``).
* update of a shared weight (docs/layers.md "Learning"): the exact integer sum over every output
  position of ``-(g[co, oy, ox] lr_mant) a[ci, iy, ix]`` (int64: no rounding, no saturation inside
  the sum), then ONE rounding ``shift_round(sum, s, profile rounding, r)`` and a saturating write,
  as a dense synapse's single product is. Stochastic rounding is the dense layers' row-shared
  rule (chip-model.md §5) with a row = one input offset (ci, ky, kx) and its C_out weights: one
  draw per row with a non-zero sum, in weight-index order, ``r = ((u M_co) mod 2^32) >> (32 - s)``. OTTT_A adds ``floor(sum / 2^(s - acc_frac))`` into the weight's
  accumulator, saturating at the accumulator width, and writes it back once per sample.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from ..counters import (O_ACC, O_BWD, O_DENSE, O_EFF, O_ERR, O_PRE_EV, O_PRE_VAL, O_PRNG, O_SURR,
                        O_SYN, O_WUPD, O_WUPD_NZ, S_ACC, S_ERROR, S_UPD_TRY, S_UPD_ZERO, S_WEIGHT)
from ..fixedpoint import MASK32, NJIT, NJIT_INNER, NJIT_PAR_INNER, sat, shift_round, xorshift32
from .chunks import n_chunks
from .cuba import neurons_step
from .dense import scramble_multiplier
from .error import error_to_lower, surrogate_at
from .state import G_CIN, G_COUT, G_HIN, G_HOUT, G_K, G_NCONN, G_PAD, G_STRIDE, G_WIN, G_WOUT
from .update import write_weight

U = np.uint64


@nb.njit(**NJIT_INNER)
def _fwd_rows(o0, o1, acc, cur, post, s, pre, W, wo, rownz, geo, narrow):
    """conv_forward for output rows o0..o1-1 only: event-driven over the non-zero inputs that reach
    them (the input rows ``o0 stride - pad .. (o1 - 1) stride - pad + k - 1``). The kernel offsets
    an input (y, x) reaches are ``ky = (y + pad) mod stride + n stride`` (output row falling by
    one per step), so no division per offset. Sums position-major in ``acc`` (a row's fan-out over
    the output channels is one contiguous row of W and of acc), then copied to cur in CHW order.
    Returns (synaptic ops, effective ops)."""
    cin, hin, win = geo[G_CIN], geo[G_HIN], geo[G_WIN]
    cout, hout, wout = geo[G_COUT], geo[G_HOUT], geo[G_WOUT]
    k, stride, pad = geo[G_K], geo[G_STRIDE], geo[G_PAD]
    ucout = U(cout)
    for i in range(U(o0 * wout * cout), U(o1 * wout * cout)):
        acc[i] = 0
    nsyn = 0
    neff = 0
    y_lo = max(0, o0 * stride - pad)
    y_hi = min(hin, (o1 - 1) * stride - pad + k)
    for ci in range(cin):
        for y in range(y_lo, y_hi):
            ty = y + pad
            ky0 = ty % stride
            oy0 = (ty - ky0) // stride
            rowb = U(pre + (ci * hin + y) * win)
            for x in range(win):
                a = s[rowb + U(x)]
                if a == 0:
                    continue
                tx = x + pad
                kx0 = tx % stride
                ox0 = (tx - kx0) // stride
                ky = ky0
                oy = oy0
                while ky < k and oy >= o0:
                    if oy < o1:
                        kx = kx0
                        ox = ox0
                        while kx < k and ox >= 0:
                            if ox < wout:
                                r = (ci * k + ky) * k + kx
                                wb = U(wo + r * cout)
                                ab = U((oy * wout + ox) * cout)
                                if narrow:
                                    # int32 sums (twice the SIMD lanes): exact, |sum| < 2^31 is
                                    # proven on the host (kernels/pack.narrow_layers)
                                    a32 = np.int32(a)
                                    for co in range(ucout):
                                        acc[ab + co] += W[wb + co] * a32
                                else:
                                    for co in range(ucout):
                                        acc[ab + co] += W[wb + co] * a
                                nsyn += cout
                                neff += rownz[r]
                            kx += stride
                            ox -= 1
                    ky += stride
                    oy -= 1
    hwo = U(hout * wout)
    for oy in range(o0, o1):
        for ox in range(wout):
            p = U(oy * wout + ox)
            for co in range(ucout):
                cur[U(post) + co * hwo + p] = acc[p * ucout + co]
    return nsyn, neff


@nb.njit(**NJIT_PAR_INNER)
def _fwd_par(nch, acc, cur, post, s, pre, W, wo, rownz, geo, narrow, part):
    """_fwd_rows over nch chunks of output rows, one per thread: disjoint outputs, so the sums do
    not depend on the thread count or the schedule; counts per chunk in ``part``."""
    hout = geo[G_HOUT]
    for c in nb.prange(nch):
        nsyn, neff = _fwd_rows(hout * c // nch, hout * (c + 1) // nch, acc, cur, post, s, pre, W, wo, rownz,
                               geo, narrow)
        part[c, 0] = nsyn
        part[c, 1] = neff


@nb.njit(**NJIT)
def conv_forward(l, net, lif, k_u, wts, st, sc, cnt):
    """Weighted sums of conv layer l (event-driven over non-zero inputs), then its neurons.

    The output rows are split into ``n_chunks`` chunks, one per thread (kernels own disjoint
    outputs: bit-identical for any thread count). The sums are gathered position-major in int32
    (sc.c32, when IntNet.narrow proves they fit) or int64 (st.g's slice of layer l + 1, free during
    the forward pass). Integer sums: the order does not change them."""
    geo = net.geom[l]
    cin, hin, win = geo[G_CIN], geo[G_HIN], geo[G_WIN]
    cout, hout, wout = geo[G_COUT], geo[G_HOUT], geo[G_WOUT]
    k = geo[G_K]
    W = wts.W
    s = st.s
    pre = net.noff[l]
    post = net.noff[l + 1]
    wo = net.woff[l]
    npre = cin * hin * win
    npost = cout * hout * wout
    nr = cin * k * k
    rownz = np.empty(nr, np.int64)      # non-zero weights per input offset (Effective ops)
    for r in range(nr):
        c = 0
        for co in range(cout):
            c += W[wo + r * cout + co] != 0
        rownz[r] = c
    nev = 0
    for j in range(npre):
        nev += s[pre + j] != 0
    nch = n_chunks(net.chunks, hout, npre * k * k * cout)
    part = np.empty((nch, 2), np.int64)
    narrow = net.narrow[l]
    if nch == 1:
        if narrow:
            part[0, 0], part[0, 1] = _fwd_rows(0, hout, sc.c32, st.cur, post, s, pre, W, wo, rownz, geo, True)
        else:
            part[0, 0], part[0, 1] = _fwd_rows(0, hout, st.g[post:post + npost], st.cur, post, s, pre, W, wo,
                                               rownz, geo, False)
    elif narrow:
        _fwd_par(nch, sc.c32, st.cur, post, s, pre, W, wo, rownz, geo, True, part)
    else:
        _fwd_par(nch, st.g[post:post + npost], st.cur, post, s, pre, W, wo, rownz, geo, False, part)
    nsyn, neff = part.sum(axis=0)           # the chunks' counters (integer sums: order-free)
    ops = cnt.ops
    ops[l, O_PRE_EV] += nev
    ops[l, O_PRE_VAL] += npre
    ops[l, O_SYN] += nsyn
    ops[l, O_EFF] += neff
    ops[l, O_DENSE] += geo[G_NCONN]
    neurons_step(l, net, lif, k_u, wts, st, cnt)


@nb.njit(**NJIT_INNER)
def _err_chans(c0, c1, nnz, poy, pox, gpos, sh, one, pre, W, wo, geo, lifs, lrn, sc, st):
    """conv_error for input channels c0..c1-1: event-driven over the nnz output positions with a
    non-zero error (row ``poy``, column ``pox``; errors over the output channels compacted in
    ``gpos``), each adding its dot product with an input offset's contiguous row of W to the input
    it reaches (sums in st.cur of layer l: its forward sums are not needed any more); then
    surrogate and rounding as kernels/error.py (skipped for a zero sum, whose rounded error is 0).
    Returns (saturated, non-zero errors)."""
    hin, win = geo[G_HIN], geo[G_WIN]
    cout = geo[G_COUT]
    k, stride, pad = geo[G_K], geo[G_STRIDE], geo[G_PAD]
    ucout = U(cout)
    d, g = st.cur, st.g
    hw = hin * win
    nsat = 0
    nz = 0
    for ci in range(c0, c1):
        base = pre + ci * hw
        for j in range(hw):
            d[base + j] = 0
        for q in range(nnz):
            oy = poy[q]
            ox = pox[q]
            gb = U(q * cout)
            for ky in range(k):
                iy = oy * stride - pad + ky
                if iy < 0 or iy >= hin:
                    continue
                for kx in range(k):
                    ix = ox * stride - pad + kx
                    if ix < 0 or ix >= win:
                        continue
                    wb = U(wo + ((ci * k + ky) * k + kx) * cout)
                    dd = 0
                    for co in range(ucout):
                        dd += W[wb + co] * gpos[gb + co]
                    d[base + iy * win + ix] += dd
        for j in range(base, base + hw):
            g2 = 0
            if d[j] != 0:
                sg = surrogate_at(st.vpre[j], st.s[j], lifs.thr, lrn.c_sg, sc.lut_sg, lrn.spike_op, one)
                g2, satd = error_to_lower(d[j], sg, sh, lrn.err_bits)
                nsat += satd
            g[j] = g2
            nz += g2 != 0
    return nsat, nz


@nb.njit(**NJIT_PAR_INNER)
def _err_par(nch, nnz, poy, pox, gpos, sh, one, pre, W, wo, geo, lifs, lrn, sc, st, part):
    """_err_chans over nch chunks of input channels, one per thread (disjoint outputs)."""
    cin = geo[G_CIN]
    for c in nb.prange(nch):
        nsat, nz = _err_chans(cin * c // nch, cin * (c + 1) // nch, nnz, poy, pox, gpos, sh, one, pre, W, wo, geo,
                              lifs, lrn, sc, st)
        part[c, 0] = nsat
        part[c, 1] = nz


@nb.njit(**NJIT_INNER)
def nonzero_positions(l, net, st, sc, mult):
    """List conv layer l's output positions with a non-zero error: row, column and number of
    non-zero errors in sc.idx, sc.jdx, sc.aval, and their errors times ``mult`` over the output
    channels compacted in sc.gneg (position q at q C_out). Returns how many."""
    geo = net.geom[l]
    cout, hout, wout = geo[G_COUT], geo[G_HOUT], geo[G_WOUT]
    g = st.g
    gpos = sc.gneg
    post = net.noff[l + 1]
    hwo = hout * wout
    nnz = 0
    for oy in range(hout):
        for ox in range(wout):
            p = oy * wout + ox
            nzg = 0
            for co in range(cout):
                gi = g[post + co * hwo + p]
                gpos[nnz * cout + co] = gi * mult
                nzg += gi != 0
            if nzg:
                sc.idx[nnz] = oy
                sc.jdx[nnz] = ox
                sc.aval[nnz] = nzg
                nnz += 1
    return nnz


@nb.njit(**NJIT)
def conv_error(l, net, lifs, lrn, wts, st, sc, cnt):
    """Errors of neuron layer l (hidden) from layer l + 1's through the transposed convolution:
    the output positions with a non-zero error are listed (``nonzero_positions``), then each chunk
    of input channels (one per thread, ``n_chunks``) gathers and rounds its inputs' errors."""
    geo = net.geom[l]
    cin, hin, win = geo[G_CIN], geo[G_HIN], geo[G_WIN]
    cout = geo[G_COUT]
    k, stride, pad = geo[G_K], geo[G_STRIDE], geo[G_PAD]
    nnz = nonzero_positions(l, net, st, sc, 1)
    poy, pox, pnz = sc.idx, sc.jdx, sc.aval
    nbwd = 0
    for q in range(nnz):
        vy = max(0, min(k, hin + pad - poy[q] * stride) - max(0, pad - poy[q] * stride))   # kernel rows inside
        vx = max(0, min(k, win + pad - pox[q] * stride) - max(0, pad - pox[q] * stride))
        nbwd += cin * pnz[q] * vy * vx
    sh = lrn.qerr[l] + lrn.sg_bits
    one = 1 << lrn.sg_bits
    pre = net.noff[l]
    nch = n_chunks(net.chunks, cin, nnz * k * k * cin * cout)
    part = np.empty((nch, 2), np.int64)
    if nch == 1:
        part[0, 0], part[0, 1] = _err_chans(0, cin, nnz, poy, pox, sc.gneg, sh, one, pre, wts.W, net.woff[l], geo,
                                            lifs, lrn, sc, st)
    else:
        _err_par(nch, nnz, poy, pox, sc.gneg, sh, one, pre, wts.W, net.woff[l], geo, lifs, lrn, sc, st, part)
    nsat, nz = part.sum(axis=0)
    cnt.sat[l - 1, S_ERROR] += nsat
    cnt.ops[l - 1, O_SURR] += cin * hin * win
    cnt.ops[l - 1, O_ERR] += nz
    cnt.ops[l, O_BWD] += nbwd


@nb.njit(**NJIT)
def write_sums(l, wo, nw, row, lrn, wts, st, sc, cnt):
    """Write the exact update sums sc.wacc[0:nw] into weights wo..wo+nw (see module docstring):
    one rounding per weight with a non-zero sum (rows of ``row`` weights share one stochastic
    draw); OTTT_A: into the accumulators instead."""
    wacc = sc.wacc
    sh = lrn.update_shift[l]
    n_try = 0
    n_zero = 0
    n_nz = 0
    n_wsat = 0
    n_asat = 0
    n_draw = 0
    if lrn.rule_a:
        ACC = wts.ACC
        sh_acc = sh - lrn.acc_frac
        for m in range(nw):
            x = wacc[m]
            if x == 0:
                continue
            n_try += 1
            dd = shift_round(x, sh_acc, 0, 0)
            if dd == 0:
                n_zero += 1
                continue
            a2 = ACC[wo + m] + dd
            a3 = sat(a2, lrn.acc_bits)
            n_asat += a3 != a2
            n_nz += a3 != ACC[wo + m]
            ACC[wo + m] = a3
        cnt.ops[l, O_ACC] += n_nz
        cnt.sat[l, S_ACC] += n_asat
    else:
        stochastic = lrn.upd_round == 2 and sh > 0
        r_learn = st.rng[0]
        u = 0
        for m in range(nw):
            x = wacc[m]
            co = m % row
            if co == 0 and stochastic:
                # row-shared stochastic rounding (chip-model.md §5), a row being one input offset's
                # C_out weights: one draw per row with a non-zero sum, scrambled per output channel
                u = -1
            if x == 0:
                continue
            n_try += 1
            r = 0
            if stochastic:
                if u < 0:
                    r_learn = xorshift32(r_learn)
                    u = r_learn
                    n_draw += 1
                r = np.int64(((U(u) * U(scramble_multiplier(co))) & U(MASK32)) >> U(32 - sh))
            dd = shift_round(x, sh, lrn.upd_round, r)
            if dd == 0:
                n_zero += 1
                continue
            changed, satd, dnz = write_weight(wts.W, wts.WS, wo + m, dd, lrn.w_bits, lrn.shadow)
            n_nz += changed
            n_wsat += satd
        st.rng[0] = r_learn
        cnt.ops[l, O_WUPD_NZ] += n_nz
        cnt.ops[l, O_PRNG] += n_draw
        cnt.sat[l, S_WEIGHT] += n_wsat
    cnt.sat[l, S_UPD_TRY] += n_try
    cnt.sat[l, S_UPD_ZERO] += n_zero


@nb.njit(**NJIT_INNER)
def _upd_rows(r0, r1, nnz, poy, pox, pnz, gpos, wacc, tr, pre, geo):
    """conv_update's exact sums for weight rows r0..r1-1 (row r = (ci k + ky) k + kx, its C_out
    weights contiguous in ``wacc``): over the nnz output positions with a non-zero error (row
    ``poy``, column ``pox``, non-zero errors ``pnz``, ``-(g lr_mant)`` compacted in ``gpos``),
    in position order. Returns the (non-zero error x non-zero trace) products."""
    hin, win = geo[G_HIN], geo[G_WIN]
    cout = geo[G_COUT]
    k, stride, pad = geo[G_K], geo[G_STRIDE], geo[G_PAD]
    ucout = U(cout)
    kk = k * k
    npairs = 0
    for r in range(r0, r1):
        ci = r // kk
        ky = (r - ci * kk) // k
        kx = r - ci * kk - ky * k
        wb = U(r * cout)
        for co in range(ucout):
            wacc[wb + co] = 0
        base = pre + ci * hin * win
        for q in range(nnz):
            iy = poy[q] * stride - pad + ky
            ix = pox[q] * stride - pad + kx
            if iy < 0 or iy >= hin or ix < 0 or ix >= win:
                continue
            a = tr[base + iy * win + ix]
            if a == 0:
                continue
            gb = U(q * cout)
            for co in range(ucout):
                wacc[wb + co] += gpos[gb + co] * a
            npairs += pnz[q]
    return npairs


@nb.njit(**NJIT_PAR_INNER)
def _upd_par(nch, nr, nnz, poy, pox, pnz, gpos, wacc, tr, pre, geo, part):
    """_upd_rows over nch chunks of weight rows, one per thread (disjoint sums)."""
    for c in nb.prange(nch):
        part[c] = _upd_rows(nr * c // nch, nr * (c + 1) // nch, nnz, poy, pox, pnz, gpos, wacc, tr, pre, geo)


@nb.njit(**NJIT)
def conv_update(l, net, lrn, wts, st, sc, cnt):
    """OTTT update of the shared weights of conv layer l (module docstring); event-driven over
    output positions with a non-zero error and non-zero input traces. The positions with a
    non-zero error are listed first (row, column, count in sc.idx, sc.jdx, sc.aval; their
    ``-(g lr_mant)`` over the output channels compacted in sc.gneg); then each chunk of weight rows
    (one per thread, ``n_chunks``) sums its own weights over them. wupd_attempted counts the
    (non-zero error x non-zero trace) products accumulated into the shared sums."""
    geo = net.geom[l]
    cin, cout, k = geo[G_CIN], geo[G_COUT], geo[G_K]
    nnz = nonzero_positions(l, net, st, sc, -lrn.lr_mant)
    poy, pox, pnz = sc.idx, sc.jdx, sc.aval
    gpos = sc.gneg
    nr = cin * k * k
    nw = nr * cout
    if nnz == 0:
        return
    nch = n_chunks(net.chunks, nr, nnz * nw)
    part = np.empty(nch, np.int64)
    if nch == 1:
        part[0] = _upd_rows(0, nr, nnz, poy, pox, pnz, gpos, sc.wacc, st.tr, net.noff[l], geo)
    else:
        _upd_par(nch, nr, nnz, poy, pox, pnz, gpos, sc.wacc, st.tr, net.noff[l], geo, part)
    npairs = part.sum()
    cnt.ops[l, O_WUPD] += npairs
    if npairs:
        write_sums(l, net.woff[l], nw, cout, lrn, wts, st, sc, cnt)


__all__ = ["conv_forward", "conv_error", "conv_update", "write_sums"]
