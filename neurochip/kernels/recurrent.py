"""The RecurrentDense layer kind (``neurochip.layers.RecurrentDense``), and CUBA dense layers.

A recurrent layer is a dense layer over ``[input s_in(t); its own spikes s(t-1)]``: weights
``(n_in + n_out) x n_out``, presynaptic-major, the last ``n_out`` rows recurrent. At step t the
neurons' spikes of step t - 1 are still in ``st.s`` when the weighted sums are formed (they are
overwritten by this step's neuron update), so the recurrence costs no extra state.

OTTT learning (Xiao et al. 2022, as the float reference's recurrent layers): no backpropagation
through time; the recurrent synapses learn ``dR = -eta g(t) a_rec(t)`` from the trace of the
layer's own spikes as they arrive through the recurrent synapses,
``a_rec(t) = decay_k(a_rec(t-1)) + s(t-1) 2^F`` (k: the layer's own leak, the neurons these
synapses drive; kernels/trace.py rounding, drawn from the learning PRNG right before the
layer's neuron update), kept in ``st.trr`` (a CUBA layer with the exact trace: the trace of the
current trace ``st.trz``, kernels/trace.py ``cuba_trace_step``). The error sent to the layer below goes through the
feed-forward rows only (kernels/dense.py ``dense_error`` reads rows 0..n_in-1). Updates visit
(non-zero trace x non-zero error) pairs row by row, input rows then recurrent rows, one
stochastic draw per pair in that order (the dense rule, kernels/dense.py).

With ``rec = False`` the same forward serves a dense layer of CUBA neurons (``k_u > 0``).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from ..counters import (O_ACC, O_DENSE, O_EFF, O_PRE_EV, O_PRE_VAL, O_PRNG, O_SYN, O_TRACE, O_WUPD,
                        O_WUPD_NZ, S_ACC, S_TRACE, S_UPD_TRY, S_UPD_ZERO, S_WEIGHT)
from ..fixedpoint import MASK32, NJIT, sat, shift_round, xorshift32
from .cuba import neurons_step
from .dense import scramble_multiplier
from .trace import layer_trace_step, trace_updates
from .update import write_weight

U = np.uint64


@nb.njit(**NJIT)
def rec_forward(l, net, lif, k_u, rec, learn, lifs, lrn, wts, st, sc, cnt):
    W = wts.W
    s = st.s
    cur = st.cur
    npre = net.sizes[l]
    npost = net.sizes[l + 1]
    pre = net.noff[l]
    post = net.noff[l + 1]
    wo = net.woff[l]
    for i in range(npost):
        cur[post + i] = 0
    nev = 0
    neff = 0
    for j in range(npre):
        sj = s[pre + j]
        if sj == 0:
            continue
        nev += 1
        base = wo + j * npost
        for i in range(npost):
            w = W[base + i]
            cur[post + i] += w * sj
            neff += w != 0
    nrow = npre
    if rec:
        nrow += npost
        for j in range(npost):
            if s[post + j] == 0:
                continue
            nev += 1
            base = wo + (npre + j) * npost
            for i in range(npost):
                w = W[base + i]
                cur[post + i] += w
                neff += w != 0
        if learn:
            trr = st.trr
            imp1 = 1 << lrn.tr_frac
            r_learn = st.rng[0]
            n_draw = 0
            n_sat = 0
            k = lifs.leak_shift[l]
            ku = lrn.tr_ku[l]
            for j in range(npost):
                z, a, r_learn, dr, satd = layer_trace_step(st.trz[post + j], trr[post + j], imp1 if s[post + j] else 0,
                                                           ku, k, lrn.tr_sto, lrn.tr_bits, r_learn)
                st.trz[post + j] = z
                n_draw += dr
                n_sat += satd
                trr[post + j] = a
            st.rng[0] = r_learn
            cnt.ops[l, O_PRNG] += n_draw
            cnt.ops[l, O_TRACE] += npost * trace_updates(ku)
            cnt.sat[l, S_TRACE] += n_sat
    ops = cnt.ops
    ops[l, O_PRE_EV] += nev
    ops[l, O_PRE_VAL] += nrow
    ops[l, O_SYN] += nev * npost
    ops[l, O_EFF] += neff
    ops[l, O_DENSE] += nrow * npost
    neurons_step(l, net, lif, k_u, wts, st, cnt)


@nb.njit(**NJIT)
def rec_update(l, net, lrn, wts, st, sc, cnt):
    """OTTT update of a recurrent layer's weights: input rows from layer l's traces, recurrent
    rows from st.trr; the dense rule per (non-zero trace x non-zero error) pair, with its row-shared
    stochastic rounding (one draw per row with a non-zero trace, scrambled per synapse)."""
    g = st.g
    npre = net.sizes[l]
    npost = net.sizes[l + 1]
    pre = net.noff[l]
    post = net.noff[l + 1]
    wo = net.woff[l]
    sh = lrn.update_shift[l]
    stochastic = (not lrn.rule_a) and lrn.upd_round == 2 and sh > 0
    ACC = wts.ACC
    r_learn = st.rng[0]
    n_try = 0
    n_zero = 0
    n_nz = 0
    n_draw = 0
    n_wsat = 0
    n_asat = 0
    nzg = 0
    for i in range(npost):
        nzg += g[post + i] != 0
    if nzg == 0:
        return
    for jr in range(npre + npost):
        a = st.tr[pre + jr] if jr < npre else st.trr[post + jr - npre]
        if a == 0:
            continue
        base = wo + jr * npost
        u = 0
        if stochastic:
            # row-shared stochastic rounding, the dense rule (chip-model.md §5): one draw per row
            r_learn = xorshift32(r_learn)
            u = r_learn
            n_draw += 1
        for i in range(npost):
            gi = g[post + i]
            if gi == 0:
                continue
            n_try += 1
            x = -(gi * lrn.lr_mant) * a
            m = base + i
            if lrn.rule_a:
                dd = shift_round(x, sh - lrn.acc_frac, 0, 0)
                if dd == 0:
                    n_zero += 1
                    continue
                a2 = ACC[m] + dd
                a3 = sat(a2, lrn.acc_bits)
                n_asat += a3 != a2
                n_nz += a3 != ACC[m]
                ACC[m] = a3
                continue
            r = 0
            if stochastic:
                r = np.int64(((U(u) * U(scramble_multiplier(i))) & U(MASK32)) >> U(32 - sh))
            dd = shift_round(x, sh, lrn.upd_round, r)
            if dd == 0:
                n_zero += 1
                continue
            changed, satd, dnz = write_weight(wts.W, wts.WS, m, dd, lrn.w_bits, lrn.shadow)
            n_nz += changed
            n_wsat += satd
    st.rng[0] = r_learn
    ops = cnt.ops
    ops[l, O_WUPD] += n_try
    if lrn.rule_a:
        ops[l, O_ACC] += n_nz
        cnt.sat[l, S_ACC] += n_asat
    else:
        ops[l, O_WUPD_NZ] += n_nz
        ops[l, O_PRNG] += n_draw
        cnt.sat[l, S_WEIGHT] += n_wsat
    cnt.sat[l, S_UPD_TRY] += n_try
    cnt.sat[l, S_UPD_ZERO] += n_zero


__all__ = ["rec_forward", "rec_update"]
