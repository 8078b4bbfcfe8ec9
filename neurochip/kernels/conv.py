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
from ..fixedpoint import MASK32, NJIT, sat, shift_round, xorshift32
from .cuba import neurons_step
from .dense import scramble_multiplier
from .error import error_to_lower, surrogate_at
from .state import G_CIN, G_COUT, G_HIN, G_HOUT, G_K, G_NCONN, G_PAD, G_STRIDE, G_WIN, G_WOUT
from .update import write_weight

U = np.uint64


@nb.njit(**NJIT)
def conv_forward(l, net, lif, k_u, wts, st, sc, cnt):
    """Weighted sums of conv layer l (event-driven over non-zero inputs), then its neurons.

    The sums are gathered position-major (``acc[(oy wout + ox) C_out + co]``, in st.g's slice of
    layer l + 1, free during the forward pass) so that an input's fan-out over the output channels
    is one contiguous, vectorisable row of W and of acc; then copied to st.cur in CHW order.
    Integer sums: the order does not change them."""
    geo = net.geom[l]
    cin, hin, win = geo[G_CIN], geo[G_HIN], geo[G_WIN]
    cout, hout, wout = geo[G_COUT], geo[G_HOUT], geo[G_WOUT]
    k, stride, pad = geo[G_K], geo[G_STRIDE], geo[G_PAD]
    W = wts.W
    s = st.s
    cur = st.cur
    acc = st.g
    pre = U(net.noff[l])
    post = U(net.noff[l + 1])
    wo = U(net.woff[l])
    hwo = hout * wout
    npost = cout * hwo
    ucout = U(cout)
    for i in range(U(npost)):
        acc[post + i] = 0
    nev = 0
    nsyn = 0
    neff = 0
    for ci in range(cin):
        for y in range(hin):
            for x in range(win):
                sj = s[pre + U((ci * hin + y) * win + x)]
                if sj == 0:
                    continue
                nev += 1
                for ky in range(k):
                    ty = y + pad - ky
                    if ty < 0 or ty % stride != 0:
                        continue
                    oy = ty // stride
                    if oy >= hout:
                        continue
                    for kx in range(k):
                        tx = x + pad - kx
                        if tx < 0 or tx % stride != 0:
                            continue
                        ox = tx // stride
                        if ox >= wout:
                            continue
                        wb = wo + U(((ci * k + ky) * k + kx) * cout)
                        ab = post + U((oy * wout + ox) * cout)
                        ne = 0
                        if sj == 1:
                            for co in range(ucout):
                                w = W[wb + co]
                                acc[ab + co] += w
                                ne += w != 0
                        else:
                            for co in range(ucout):
                                w = W[wb + co]
                                acc[ab + co] += w * sj
                                ne += w != 0
                        neff += ne
                        nsyn += cout
    for co in range(cout):
        for p in range(hwo):
            cur[post + U(co * hwo + p)] = acc[post + U(p * cout + co)]
    ops = cnt.ops
    ops[l, O_PRE_EV] += nev
    ops[l, O_PRE_VAL] += cin * hin * win
    ops[l, O_SYN] += nsyn
    ops[l, O_EFF] += neff
    ops[l, O_DENSE] += geo[G_NCONN]
    neurons_step(l, net, lif, k_u, wts, st, cnt)


@nb.njit(**NJIT)
def conv_error(l, net, lifs, lrn, wts, st, sc, cnt):
    """Errors of neuron layer l (hidden) from layer l + 1's through the transposed convolution:
    per output position with a non-zero error, its errors over the output channels (gathered into
    sc.wacc's head) dotted with each reaching input's contiguous row of W. The sums are gathered in
    st.cur of layer l (its forward sums are not needed any more)."""
    geo = net.geom[l]
    cin, hin, win = geo[G_CIN], geo[G_HIN], geo[G_WIN]
    cout, hout, wout = geo[G_COUT], geo[G_HOUT], geo[G_WOUT]
    k, stride, pad = geo[G_K], geo[G_STRIDE], geo[G_PAD]
    W = wts.W
    g = st.g
    d = st.cur
    gv = sc.gneg
    pre = net.noff[l]
    post = net.noff[l + 1]
    wo = U(net.woff[l])
    hwo = hout * wout
    npre = cin * hin * win
    ucout = U(cout)
    for j in range(npre):
        d[pre + j] = 0
    nbwd = 0
    for oy in range(hout):
        for ox in range(wout):
            nzg = 0
            for co in range(cout):
                gi = g[post + co * hwo + oy * wout + ox]
                gv[co] = gi
                nzg += gi != 0
            if nzg == 0:
                continue
            for ky in range(k):
                iy = oy * stride - pad + ky
                if iy < 0 or iy >= hin:
                    continue
                for kx in range(k):
                    ix = ox * stride - pad + kx
                    if ix < 0 or ix >= win:
                        continue
                    for ci in range(cin):
                        wb = wo + U(((ci * k + ky) * k + kx) * cout)
                        dd = 0
                        for co in range(ucout):
                            dd += W[wb + co] * gv[co]
                        d[pre + (ci * hin + iy) * win + ix] += dd
                    nbwd += cin * nzg
    sh = lrn.qerr[l] + lrn.sg_bits
    one = 1 << lrn.sg_bits
    nz = 0
    nsat = 0
    for j in range(npre):
        sg = surrogate_at(st.vpre[pre + j], st.s[pre + j], lifs.thr, lrn.c_sg, sc.lut_sg, lrn.spike_op, one)
        g2, satd = error_to_lower(d[pre + j], sg, sh, lrn.err_bits)
        nsat += satd
        g[pre + j] = g2
        nz += g2 != 0
    cnt.sat[l - 1, S_ERROR] += nsat
    cnt.ops[l - 1, O_SURR] += npre
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


@nb.njit(**NJIT)
def conv_update(l, net, lrn, wts, st, sc, cnt):
    """OTTT update of the shared weights of conv layer l (module docstring); event-driven over
    output positions with a non-zero error and non-zero input traces: per position, its
    ``-(g lr_mant)`` over the output channels (sc.gneg) times each reaching non-zero trace is added
    to that input offset's contiguous row of sums. wupd_attempted counts the (non-zero error x
    non-zero trace) products accumulated into the shared sums."""
    geo = net.geom[l]
    cin, hin, win = geo[G_CIN], geo[G_HIN], geo[G_WIN]
    cout, hout, wout = geo[G_COUT], geo[G_HOUT], geo[G_WOUT]
    k, stride, pad = geo[G_K], geo[G_STRIDE], geo[G_PAD]
    g = st.g
    tr = st.tr
    wacc = sc.wacc
    gv = sc.gneg
    pre = net.noff[l]
    post = net.noff[l + 1]
    hwo = hout * wout
    nw = cin * k * k * cout
    ucout = U(cout)
    for m in range(nw):
        wacc[m] = 0
    npairs = 0
    for oy in range(hout):
        for ox in range(wout):
            nzg = 0
            for co in range(cout):
                gi = g[post + co * hwo + oy * wout + ox]
                gv[co] = -(gi * lrn.lr_mant)
                nzg += gi != 0
            if nzg == 0:
                continue
            for ky in range(k):
                iy = oy * stride - pad + ky
                if iy < 0 or iy >= hin:
                    continue
                for kx in range(k):
                    ix = ox * stride - pad + kx
                    if ix < 0 or ix >= win:
                        continue
                    for ci in range(cin):
                        a = tr[pre + (ci * hin + iy) * win + ix]
                        if a == 0:
                            continue
                        wb = U(((ci * k + ky) * k + kx) * cout)
                        for co in range(ucout):
                            wacc[wb + co] += gv[co] * a
                        npairs += nzg
    cnt.ops[l, O_WUPD] += npairs
    if npairs:
        write_sums(l, net.woff[l], nw, cout, lrn, wts, st, sc, cnt)


__all__ = ["conv_forward", "conv_error", "conv_update", "write_sums"]
