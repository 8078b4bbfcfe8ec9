"""The pooling layer kinds (``neurochip.layers.SumPool2d`` / ``AvgPool2d``) of the integer kernels.

A pool output (c, oy, ox) sums its k x k window of channel c (stride k, no padding; inputs past the
last whole window have no synapse) through fixed equal weights: mantissa ``M = 2^(q - shift)`` (``IntNet.geom`` G_PW; network.int_layout
picks the smallest power of two that brings the weight exponent into the profile's range), so the
weighted sum is M times the window's sum and, with the layer's exponent, each input is worth one
threshold (sum pool) or ``2^-shift`` of one (average pool). The
neurons are ordinary (or CUBA) LIF neurons (kernels/cuba.py), as lava-dl's pooling blocks are.

Learning: no weights; the error passes back to the positions each output summed, through the
same weights: ``d[c, y, x] = M g[c, y // k, x // k]``, then surrogate and rounding as every
layer (kernels/error.py, with the pool's q).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from ..counters import O_BWD, O_DENSE, O_EFF, O_ERR, O_PRE_EV, O_PRE_VAL, O_SURR, O_SYN, S_ERROR
from ..fixedpoint import NJIT, NJIT_INNER, NJIT_PAR_INNER
from .chunks import NEURON_WORK, n_chunks
from .cuba import neurons_step
from .error import error_to_lower, surrogate_at
from .state import G_CIN, G_HIN, G_HOUT, G_K, G_NCONN, G_PW, G_WIN, G_WOUT


@nb.njit(**NJIT)
def pool_forward(l, net, lif, k_u, wts, st, sc, cnt):
    geo = net.geom[l]
    cin, hin, win = geo[G_CIN], geo[G_HIN], geo[G_WIN]
    hout, wout, k = geo[G_HOUT], geo[G_WOUT], geo[G_K]
    pw = geo[G_PW]
    s = st.s
    cur = st.cur
    pre = net.noff[l]
    post = net.noff[l + 1]
    for i in range(cin * hout * wout):
        cur[post + i] = 0
    nev = 0
    nsyn = 0
    for c in range(cin):
        for y in range(hin):
            oy = y // k
            for x in range(win):
                sj = s[pre + (c * hin + y) * win + x]
                if sj == 0:
                    continue
                nev += 1
                ox = x // k
                if oy < hout and ox < wout:
                    cur[post + (c * hout + oy) * wout + ox] += sj * pw
                    nsyn += 1
    ops = cnt.ops
    ops[l, O_PRE_EV] += nev
    ops[l, O_PRE_VAL] += cin * hin * win
    ops[l, O_SYN] += nsyn
    ops[l, O_EFF] += nsyn
    ops[l, O_DENSE] += geo[G_NCONN]
    neurons_step(l, net, lif, k_u, wts, st, cnt)


@nb.njit(**NJIT_INNER)
def _err_chans(c0, c1, l, net, lifs, lrn, st, sc):
    """pool_error for channels c0..c1-1: returns (saturated, non-zero errors, non-zero output
    errors passed back). A zero sum skips the surrogate (its rounded error is 0)."""
    geo = net.geom[l]
    hin, win = geo[G_HIN], geo[G_WIN]
    hout, wout, k = geo[G_HOUT], geo[G_WOUT], geo[G_K]
    pw = geo[G_PW]
    g = st.g
    pre = net.noff[l]
    post = net.noff[l + 1]
    sh = lrn.qerr[l] + lrn.sg_bits
    one = 1 << lrn.sg_bits
    nz = 0
    nsat = 0
    nbwd = 0
    for c in range(c0, c1):
        for y in range(hin):
            oy = y // k
            for x in range(win):
                j = pre + (c * hin + y) * win + x
                ox = x // k
                d = 0
                if oy < hout and ox < wout:
                    d = g[post + (c * hout + oy) * wout + ox]
                    nbwd += d != 0
                    d *= pw
                g2 = 0
                if d != 0:
                    sg = surrogate_at(st.vpre[j], st.s[j], lifs.thr, lrn.c_sg, sc.lut_sg, lrn.spike_op, one)
                    g2, satd = error_to_lower(d, sg, sh, lrn.err_bits)
                    nsat += satd
                g[j] = g2
                nz += g2 != 0
    return nsat, nz, nbwd


@nb.njit(**NJIT_PAR_INNER)
def _err_par(nch, l, net, lifs, lrn, st, sc, part):
    """_err_chans over nch chunks of channels, one per thread (kernels/chunks.py)."""
    cin = net.geom[l][G_CIN]
    for c in nb.prange(nch):
        nsat, nz, nbwd = _err_chans(cin * c // nch, cin * (c + 1) // nch, l, net, lifs, lrn, st, sc)
        part[c, 0] = nsat
        part[c, 1] = nz
        part[c, 2] = nbwd


@nb.njit(**NJIT)
def pool_error(l, net, lifs, lrn, wts, st, sc, cnt):
    """Errors of neuron layer l (hidden) from the pool outputs' errors; channels split into chunks
    over the threads for large layers (kernels/chunks.py)."""
    geo = net.geom[l]
    cin, hin, win = geo[G_CIN], geo[G_HIN], geo[G_WIN]
    npre = cin * hin * win
    nch = n_chunks(net.chunks, cin, npre * NEURON_WORK)
    part = np.empty((nch, 3), np.int64)
    if nch == 1:
        part[0, 0], part[0, 1], part[0, 2] = _err_chans(0, cin, l, net, lifs, lrn, st, sc)
    else:
        _err_par(nch, l, net, lifs, lrn, st, sc, part)
    nsat, nz, nbwd = part.sum(axis=0)       # the chunks' counters (integer sums: order-free)
    cnt.sat[l - 1, S_ERROR] += nsat
    cnt.ops[l - 1, O_SURR] += npre
    cnt.ops[l - 1, O_ERR] += nz
    cnt.ops[l, O_BWD] += nbwd


__all__ = ["pool_forward", "pool_error"]
