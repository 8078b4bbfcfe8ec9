"""Inference-only run of a network with layer kinds, recording every step (the Lava comparison).

The layer-kind twin of kernels/lif_run.py ``lif_forward``: the raster ``R[step, j]`` (from
``lif_run.encode_raster``) drives the same forward steps as ``run_int`` with ``learn = False``
(kernels/dense.py, conv.py, pool.py, recurrent.py), state at rest every ``period`` steps, and every
neuron layer's spikes and membranes (after reset) are recorded per step, CHW order.
"""
from __future__ import annotations

import numba as nb

from ..fixedpoint import NJIT
from ..layers import CONV, DENSE, RECURRENT
from .conv import conv_forward
from .decode import predict
from .dense import dense_forward
from .pool import pool_forward
from .recurrent import rec_forward
from .state import lif_of


@nb.njit(**NJIT)
def layers_forward(R, period, net, lifs, lrn, dec, wts, st, sc, cnt, rec_s, rec_v, preds):
    L = net.sizes.shape[0] - 1
    n0 = net.sizes[0]
    n_out = net.sizes[L]
    o_off = net.noff[L]
    record = rec_s.shape[0] > 0
    outsum, counts, first = sc.outsum, sc.counts, sc.first
    for l in range(L):           # non-zero weights per row (dense_forward's effective ops)
        if net.kind[l] != DENSE:
            continue
        npost = net.sizes[l + 1]
        for j in range(net.sizes[l]):
            base = net.woff[l] + j * npost
            c = 0
            for i in range(npost):
                c += wts.W[base + i] != 0
            sc.rownz[net.noff[l] + j] = c
    for g in range(R.shape[0]):
        t = g % period
        if t == 0:
            for k in range(st.v.shape[0]):
                st.v[k] = 0
                st.s[k] = 0
                st.u[k] = 0
            for i in range(n_out):
                outsum[i] = 0
                counts[i] = 0
                first[i] = period
        for j in range(n0):
            st.s[j] = R[g, j]
        for l in range(L):
            lif = lif_of(lifs, l, l == L - 1)
            kind = net.kind[l]
            k_u = lifs.cur_leak[l]
            if kind == DENSE and k_u == 0:
                dense_forward(l, net, lif, wts, st, sc, cnt)
            elif kind == DENSE or kind == RECURRENT:
                rec_forward(l, net, lif, k_u, kind == RECURRENT, False, lifs, lrn, wts, st, sc, cnt)
            elif kind == CONV:
                conv_forward(l, net, lif, k_u, wts, st, sc, cnt)
            else:
                pool_forward(l, net, lif, k_u, wts, st, sc, cnt)
        for i in range(n_out):
            outsum[i] += st.v[o_off + i] if not lifs.spiking_out else st.vpre[o_off + i]
            counts[i] += st.s[o_off + i]
            if st.s[o_off + i] and first[i] == period:
                first[i] = t
        if record:
            for k in range(n0, st.v.shape[0]):
                rec_s[g, k - n0] = st.s[k]
                rec_v[g, k - n0] = st.v[k]
        if t == period - 1 or g == R.shape[0] - 1:
            preds[g // period] = predict(counts, outsum, first, dec)


__all__ = ["layers_forward"]
