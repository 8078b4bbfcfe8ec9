"""Current-based (CUBA) LIF neurons, and the neuron-layer step the newer layer kinds share.

Loihi's neuron keeps a synaptic current with its own decay (lava-semantics.md §3):

    u  = wrap_or_sat(leak(u, k_u, mode) + (shift_exp(c, weight_exp) << in_shift), cur_bits)
    v' = sat_sym(leak(v, k, mode) + u + bias, mem_bits)

then fire and reset as kernels/lif.py (u is not reset). ``k_u = 0`` is "no current memory"
(leak(u, 0) = 0), the plain neuron of kernels/lif.py. With the toward-zero leak this is Lava's
``PyLifModelBitAcc`` with ``du = 2^(12 - k_u) - 1`` (lava-semantics.md §4: on u the offset of one
in ``4096 - du - 1`` makes ``du = 2^(12-k) - 1`` the 1 - 2^-k decay).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from ..counters import O_ACTIVE, O_IDLE, O_MSGS, O_SPIKES, S_CURRENT, S_MEMBRANE
from ..fixedpoint import NJIT, NJIT_INNER, NJIT_PAR_INNER, leak, sat, shift_exp, wrap_lava
from .chunks import NEURON_WORK, n_chunks
from .lif import lif_fire, lif_integrate


@nb.njit(**NJIT)
def cuba_step(c, u, v, bias, k_u, lif):
    """One CUBA neuron, one step: returns (spike, v after reset, v before reset, u, wrapped, clipped)."""
    uu = leak(u, k_u, lif.leak_mode) + (shift_exp(c, lif.weight_exp) << lif.in_shift)
    if lif.cur_wrap:
        u2 = wrap_lava(uu, lif.cur_bits)
    else:
        u2 = sat(uu, lif.cur_bits)
    vp, clipped = lif_integrate(v, u2, bias, lif)
    sp, v2 = lif_fire(vp, lif)
    return sp, v2, vp, u2, (1 if u2 != uu else 0), clipped


@nb.njit(**NJIT_INNER)
def _neurons(i0, i1, post, b0, k_u, lif, B, cur, u, v, vpre, s):
    """Neurons post + i0 .. post + i1 - 1 of a layer: returns (spikes, active, wrapped, clipped)."""
    nspk = 0
    nact = 0
    ncur = 0
    nmem = 0
    for i in range(i0, i1):
        c = cur[post + i]
        sp, v2, vp, u2, wrapped, clipped = cuba_step(c, u[post + i], v[post + i], B[b0 + i], k_u, lif)
        ncur += wrapped
        nmem += clipped
        u[post + i] = u2
        vpre[post + i] = vp
        v[post + i] = v2
        s[post + i] = sp
        nspk += sp
        if c != 0 or sp:
            nact += 1
    return nspk, nact, ncur, nmem


@nb.njit(**NJIT_PAR_INNER)
def _neurons_par(nch, npost, post, b0, k_u, lif, B, cur, u, v, vpre, s, part):
    """_neurons over nch chunks of the layer, one per thread (kernels/chunks.py)."""
    for c in nb.prange(nch):
        nspk, nact, ncur, nmem = _neurons(npost * c // nch, npost * (c + 1) // nch, post, b0, k_u, lif, B, cur, u, v,
                                          vpre, s)
        part[c, 0] = nspk
        part[c, 1] = nact
        part[c, 2] = ncur
        part[c, 3] = nmem


@nb.njit(**NJIT)
def neurons_step(l, net, lif, k_u, wts, st, cnt):
    """Neuron layer l + 1 from its weighted sums st.cur: st.u, st.vpre, st.v, st.s, and the same
    counters as kernels/dense.py (active/idle neurons, spikes, spike messages, wrap/clip events).
    Large layers split into chunks over the threads (kernels/chunks.py; every neuron is
    independent)."""
    post = net.noff[l + 1]
    npost = net.sizes[l + 1]
    b0 = post - net.sizes[0]
    nch = n_chunks(net.chunks, npost, npost * NEURON_WORK)
    part = np.empty((nch, 4), np.int64)
    if nch == 1:
        part[0, 0], part[0, 1], part[0, 2], part[0, 3] = _neurons(0, npost, post, b0, k_u, lif, wts.B, st.cur, st.u,
                                                                  st.v, st.vpre, st.s)
    else:
        _neurons_par(nch, npost, post, b0, k_u, lif, wts.B, st.cur, st.u, st.v, st.vpre, st.s, part)
    nspk, nact, ncur, nmem = part.sum(axis=0)    # the chunks' counters (integer sums: order-free)
    ops = cnt.ops
    cnt.sat[l, S_CURRENT] += ncur
    cnt.sat[l, S_MEMBRANE] += nmem
    ops[l, O_SPIKES] += nspk
    if l < net.sizes.shape[0] - 2:
        ops[l, O_MSGS] += nspk
    ops[l, O_ACTIVE] += nact
    ops[l, O_IDLE] += npost - nact


__all__ = ["cuba_step", "neurons_step"]
