"""The integer chip kernel: forward LIF dynamics and on-chip OTTT learning, one sample at a time.

Pure numerics: arrays in, arrays out (state arrays are updated in place). The orchestration
(epochs, shuffling, checkpoints) lives in :mod:`neurochip.train`; parameters are packed by
:func:`neurochip.kernels.pack.pack_int`. Equations cite the OTTT paper (Xiao et al. 2022) and
``docs/design/chip-model.md``; Lava-exact arithmetic cites ``docs/design/lava-semantics.md``.

Per time step t of a sample, for weight layers l = 0..L-1 (neuron layers 1..L):

1. input layer 0: graded value (direct), Bernoulli spike from the encoder PRNG (rate), or a spike
   at a precomputed step (latency); its trace ``a0 = decay(a0) + impulse`` (OTTT eq. 4).
2. ``cur_i = sum_j W[j, i] * s_j`` event-driven over non-zero s_j (int64, no saturation: lava-semantics.md §2),
   ``a = cur << weight_exp`` (floor shift if negative), ``u = a << input_shift`` wrapped or clipped at
   the current width, ``v = leak(v) + u + bias`` clipped (symmetric) at the membrane width
   (chip-model.md §1; Lava PyLifModelBitAcc with du = 4095), spike ``v > thr`` or ``v >= thr``,
   reset to zero or by subtraction. The readout (integrator) neither spikes nor resets.
3. trace of the layer's spikes: ``a = decay(a) + (s << F)``, saturated at the trace width.

Then, when learning (OTTT eq. 5 and §4.3; chip-model.md §3-5):

4. output error e (E fractional bits) from the instantaneous loss on the readout.
5. hidden errors, top-down: ``g_j = sat(round((sum_i W[j, i] g_i) * sg(v_j) / 2^(q + Q)))`` (nearest, ties up) with exact
   transposed weights, or ``sum_i B[j, i] e_i`` (fixed random feedback) in place of the sum.
6. updates: ``dm = -(g_i * a_j * lr_mant) >> s`` with the profile's rounding (stochastic draws
   from the learning PRNG), saturating; OTTT_O writes the weight now, OTTT_A adds into a
   per-synapse accumulator (``accumulator_frac_bits`` below the weight LSB) applied once per sample.
   The per-step products enter the accumulator with floor rounding whatever the profile's rounding
   (which applies once, when the sum is written back): a tiny negative product adds -1 accumulator
   LSB (2^-acc_frac of a weight step) where a tiny positive one adds 0, a small downward drift.
"""
from __future__ import annotations

import numba as nb
import numpy as np

from ..counters import (O_ACC, O_ACTIVE, O_BWD, O_DENSE, O_EFF, O_ENC, O_ERR, O_IDLE, O_LOSS,
                        O_MSGS, O_PRE_EV, O_PRE_VAL, O_PRNG, O_SPIKES, O_SURR, O_SYN, O_TRACE,
                        O_WUPD, O_WUPD_NZ, S_ACC, S_CURRENT, S_ERROR, S_MEMBRANE, S_TRACE,
                        S_UPD_TRY, S_UPD_ZERO, S_WEIGHT)
from .decode import predict
from ..fixedpoint import NJIT, leak, rand_bits, sat, sat_sym, shift_exp, shift_round, wrap_lava
from .losses import membrane_error_int, spike_error_int
from ..surrogate import LUT_SIZE, SPIKE_OPERATOR
from .pack import (P_ACC_BITS, P_ACC_FRAC, P_C_LOG2E, P_C_OUT, P_C_SG, P_COMPARE, P_CUR_BITS,
                   P_CUR_OVF, P_DEC, P_C_LOG2E_CNT, P_ENC, P_ERR_BITS, P_ERR_FRAC, P_FEEDBACK, P_IN_SHIFT, P_INF_BITS,
                   P_LEAK_MODE, P_LOSS, P_LR_MANT, P_MEM_BITS, P_MIX_CE, P_MIX_MSE, P_RATE_HI,
                   P_RATE_LO, P_READOUT, P_RESET, P_RULE, P_SG_BITS, P_SHADOW, P_SURR, P_T, P_THR,
                   P_TR_BITS, P_TR_FRAC, P_TR_ROUND, P_UPD_ROUND, P_W_BITS)


@nb.njit(**NJIT)
def _trace_decay(a, k, stochastic, rng):
    """a * (1 - 2^-k) for a >= 0, floor or stochastic rounding (Loihi traces: lava-semantics.md §5.3)."""
    if k == 0:
        return 0, rng, 0
    num = a * ((1 << k) - 1)
    q = num >> k
    if stochastic and a != 0:
        rem = num & ((1 << k) - 1)
        rng, r = rand_bits(rng, k)
        if r < rem:
            q += 1
        return q, rng, 1
    return q, rng, 0


@nb.njit(**NJIT)
def _surrogate(v, spiked, thr, c_sg, lut, spike_op, one):
    """Surrogate derivative of the integer membrane v: table look-up, or the spike itself
    (spike operator, dS/dU = S)."""
    if spike_op:
        return one if spiked else 0
    idx = (((v - thr) * c_sg) >> 24) + LUT_SIZE // 2
    if idx < 0 or idx >= LUT_SIZE:
        return 0
    return lut[idx]


@nb.njit(**NJIT)
def run_int(X, imp, Y, order, P, sizes, woff, noff, wexp, kleak, ushift, qerr,
            W, WS, B, FB, boff, ACC, lut_exp, lut_sg, v, tr, s, vpre, g, cur, idx, rownz, outsum,
            counts, first, rng, sat_c, ops, preds, learn):
    """Run the samples ``order`` (indices into X) through the network; learn if ``learn``.

    X[n, j]   graded input x_q (direct, rate) or spike step (latency, -1 never), int64
    imp[n, j] input trace impulse (direct: x_q scaled to F bits; spikes: 2^F), int64
    W, WS     inference weights and shadow (learned) weights, flat int32 (WS empty: no shadow)
    B, ACC    biases (flat over neuron layers 1..L), OTTT_A accumulators (flat like W)
    FB        fixed random feedback (flat over hidden layers, n_l x n_out each, offsets boff)
    v, s, vpre, g, cur   scratch flat over neuron layers 0..L (offsets noff); idx, rownz int64 scratch
    tr        traces, flat over layers 0..L-1 (offsets noff)
    rng       int64[2]: [learning PRNG, encoder PRNG] states, advanced in place
    outsum, counts, first  readout decoding scratch (kernels/decode.py): integrated membrane,
              spike count, first spike step (T: none) of each output
    sat_c, ops  counters (see neurochip.counters), preds[n] predictions out
    """
    L = sizes.shape[0] - 1
    T = P[P_T]
    enc = P[P_ENC]
    thr = P[P_THR]
    reset_sub = P[P_RESET] == 1
    ge = P[P_COMPARE] == 1
    leak_mode = P[P_LEAK_MODE]
    mem_bits = P[P_MEM_BITS]
    cur_bits = P[P_CUR_BITS]
    cur_wrap = P[P_CUR_OVF] == 0
    in_shift = P[P_IN_SHIFT]
    spiking_out = P[P_READOUT] == 1
    tr_bits = P[P_TR_BITS]
    tr_frac = P[P_TR_FRAC]
    tr_sto = P[P_TR_ROUND] == 1
    err_bits = P[P_ERR_BITS]
    err_frac = P[P_ERR_FRAC]
    sg_bits = P[P_SG_BITS]
    c_sg = P[P_C_SG]
    upd_round = P[P_UPD_ROUND]
    lr_mant = P[P_LR_MANT]
    rule_a = P[P_RULE] == 1
    acc_bits = P[P_ACC_BITS]
    acc_frac = P[P_ACC_FRAC]
    w_bits = P[P_W_BITS]
    inf_bits = P[P_INF_BITS]
    shadow = P[P_SHADOW]
    loss = P[P_LOSS]
    random_fb = P[P_FEEDBACK] == 1
    spike_op = P[P_SURR] == SPIKE_OPERATOR
    n_out = sizes[L]
    o_off = noff[L]
    r_learn = rng[0]
    r_enc = rng[1]
    cmax = (1 << 62)

    # non-zero weights per presynaptic row (NeuroBench Effective ops); kept current by the updates
    for l in range(L):
        for j in range(sizes[l]):
            base = woff[l] + j * sizes[l + 1]
            c = 0
            for i in range(sizes[l + 1]):
                c += W[base + i] != 0
            rownz[noff[l] + j] = c
    for nn in range(order.shape[0]):
        n = order[nn]
        # a sample starts from rest: membranes, traces, spike counts, accumulators
        for k in range(v.shape[0]):
            v[k] = 0
            s[k] = 0
        for k in range(tr.shape[0]):
            tr[k] = 0
        for i in range(n_out):
            outsum[i] = 0
            counts[i] = 0
            first[i] = T
        label = Y[n]
        for t in range(T):
            # ---- 1. input layer ------------------------------------------------------------
            n0 = sizes[0]
            k0 = kleak[0]
            for j in range(n0):
                x = X[n, j]
                if enc == 0:
                    sj = x
                elif enc == 1:
                    r_enc, r = rand_bits(r_enc, 8)
                    ops[0, O_ENC] += 1
                    sj = 1 if r < x else 0
                else:
                    sj = 1 if x == t else 0
                s[j] = sj
                if learn:
                    a, r_learn, dr = _trace_decay(tr[j], k0, tr_sto, r_learn)
                    ops[0, O_PRNG] += dr
                    if sj != 0:
                        a += imp[n, j]
                    if a > (1 << tr_bits) - 1:
                        a = (1 << tr_bits) - 1
                        sat_c[0, S_TRACE] += 1
                    tr[j] = a
                    ops[0, O_TRACE] += 1
            # ---- 2. forward through the layers ---------------------------------------------
            for l in range(L):
                npre = sizes[l]
                npost = sizes[l + 1]
                pre = noff[l]
                post = noff[l + 1]
                wo = woff[l]
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
                    neff += rownz[pre + j]
                    if sj == 1:
                        for i in range(npost):
                            cur[post + i] += W[base + i]
                    else:
                        for i in range(npost):
                            cur[post + i] += W[base + i] * sj
                ops[l, O_PRE_EV] += nev
                ops[l, O_PRE_VAL] += npre
                ops[l, O_SYN] += nev * npost
                ops[l, O_EFF] += neff
                ops[l, O_DENSE] += npre * npost
                last = l == L - 1
                fires = (not last) or spiking_out
                k = kleak[l]
                e = wexp[l]
                nspk = 0
                nact = 0
                for i in range(npost):
                    c = cur[post + i]
                    u = shift_exp(c, e) << in_shift
                    if cur_wrap:
                        u2 = wrap_lava(u, cur_bits)
                    else:
                        u2 = sat(u, cur_bits)
                    if u2 != u:
                        sat_c[l, S_CURRENT] += 1
                    vv = leak(v[post + i], k, leak_mode) + u2 + B[post - sizes[0] + i]
                    v2 = sat_sym(vv, mem_bits)
                    if v2 != vv:
                        sat_c[l, S_MEMBRANE] += 1
                    vpre[post + i] = v2
                    sp = 0
                    if fires:
                        if ge:
                            sp = 1 if v2 >= thr else 0
                        else:
                            sp = 1 if v2 > thr else 0
                        if sp:
                            if reset_sub:
                                v2 -= thr
                            else:
                                v2 = 0
                    v[post + i] = v2
                    s[post + i] = sp
                    nspk += sp
                    if c != 0 or sp:
                        nact += 1
                ops[l, O_SPIKES] += nspk
                if not last:
                    ops[l, O_MSGS] += nspk
                ops[l, O_ACTIVE] += nact
                ops[l, O_IDLE] += npost - nact
                # ---- 3. trace of this layer's spikes (presynaptic for layer l + 1) ---------
                if learn and not last:
                    kn = kleak[l + 1]
                    imp1 = 1 << tr_frac
                    for i in range(npost):
                        a, r_learn, dr = _trace_decay(tr[post + i], kn, tr_sto, r_learn)
                        ops[l + 1, O_PRNG] += dr
                        if s[post + i]:
                            a += imp1
                        if a > (1 << tr_bits) - 1:
                            a = (1 << tr_bits) - 1
                            sat_c[l + 1, S_TRACE] += 1
                        tr[post + i] = a
                    ops[l + 1, O_TRACE] += npost
            # ---- decoding state ----------------------------------------------------------------
            for i in range(n_out):
                outsum[i] += v[o_off + i] if not spiking_out else vpre[o_off + i]
                counts[i] += s[o_off + i]
                if s[o_off + i] and first[i] == T:
                    first[i] = t
            if not learn:
                continue
            # ---- 4. output error (kernels/losses.py) -----------------------------------------
            lo = L - 1
            eo = cur[o_off:o_off + n_out]
            if not spiking_out:
                membrane_error_int(loss, v[o_off:o_off + n_out], label, P[P_C_LOG2E], P[P_C_OUT],
                                   P[P_MIX_CE], P[P_MIX_MSE], lut_exp, err_frac, eo)
            else:
                spike_error_int(loss, s[o_off:o_off + n_out], counts, t, label, P[P_RATE_HI],
                                P[P_RATE_LO], P[P_C_LOG2E_CNT], lut_exp, err_frac, eo)
            for i in range(n_out):
                ee = eo[i]
                if spiking_out:
                    # times the surrogate derivative of the output membrane
                    ee = (ee * _surrogate(vpre[o_off + i], s[o_off + i], thr, c_sg, lut_sg, spike_op, 1 << sg_bits)) >> sg_bits
                    ops[lo, O_SURR] += 1
                g2 = sat(ee, err_bits)
                if g2 != ee:
                    sat_c[lo, S_ERROR] += 1
                g[o_off + i] = g2
            ops[lo, O_LOSS] += n_out
            nz = 0
            for i in range(n_out):
                nz += g[o_off + i] != 0
            ops[lo, O_ERR] += nz
            # ---- 5. hidden errors, top-down ------------------------------------------------
            for l in range(L - 1, 0, -1):
                # neurons of layer l receive errors of layer l + 1 through W_l (or B)
                npre = sizes[l]
                npost = sizes[l + 1]
                pre = noff[l]
                post = noff[l + 1]
                sh = qerr[l] + sg_bits
                nz = 0
                for j in range(npre):
                    d = 0
                    if random_fb:
                        fb = boff[l - 1] + j * n_out
                        for i in range(n_out):
                            d += FB[fb + i] * g[o_off + i]
                    else:
                        base = woff[l] + j * npost
                        for i in range(npost):
                            d += W[base + i] * g[post + i]
                    sg = _surrogate(vpre[pre + j], s[pre + j], thr, c_sg, lut_sg, spike_op, 1 << sg_bits)
                    gg = shift_round(d * sg, sh, 1, 0)
                    g2 = sat(gg, err_bits)
                    if g2 != gg:
                        sat_c[l - 1, S_ERROR] += 1
                    g[pre + j] = g2
                    nz += g2 != 0
                ops[l - 1, O_SURR] += npre
                ops[l - 1, O_ERR] += nz
                if random_fb:
                    for i in range(n_out):
                        if g[o_off + i] != 0:
                            ops[l, O_BWD] += npre
                else:
                    for i in range(npost):
                        if g[post + i] != 0:
                            ops[l, O_BWD] += npre
            # ---- 6. weight updates ------------------------------------------------------------
            for l in range(L):
                npre = sizes[l]
                npost = sizes[l + 1]
                pre = noff[l]
                post = noff[l + 1]
                wo = woff[l]
                sh = ushift[l]
                sh_acc = sh - acc_frac
                hi = (1 << (w_bits - 1)) - 1
                lo_w = -(1 << (w_bits - 1))
                n_try = 0
                n_nz = 0
                n_zero = 0
                n_draw = 0
                n_wsat = 0
                n_asat = 0
                # compact the non-zero errors once: the synapse loop then touches only
                # (non-zero trace x non-zero error) pairs, as an event-driven learning engine would
                nzg = 0
                for i in range(npost):
                    if g[post + i] != 0:
                        idx[nzg] = i
                        nzg += 1
                if nzg == 0:
                    continue
                for j in range(npre):
                    a = tr[pre + j]
                    if a == 0:
                        continue
                    base = wo + j * npost
                    for ii in range(nzg):
                        i = idx[ii]
                        gi = g[post + i]
                        x = -(gi * a * lr_mant)
                        n_try += 1
                        if rule_a:
                            d = shift_round(x, sh_acc, 0, 0)
                            if d == 0:
                                n_zero += 1
                                continue
                            a2 = ACC[base + i] + d
                            a3 = sat(a2, acc_bits)
                            n_asat += a3 != a2
                            n_nz += a3 != ACC[base + i]
                            ACC[base + i] = a3
                        else:
                            r = 0
                            if upd_round == 2 and sh > 0:
                                r_learn, r = rand_bits(r_learn, sh)
                                n_draw += 1
                            d = shift_round(x, sh, upd_round, r)
                            if d == 0:
                                n_zero += 1
                                continue
                            if shadow > 0:
                                w0 = WS[base + i]
                            else:
                                w0 = W[base + i]
                            w1 = w0 + d
                            if w1 > hi:
                                w1 = hi
                                n_wsat += 1
                            elif w1 < lo_w:
                                w1 = lo_w
                                n_wsat += 1
                            n_nz += w1 != w0
                            wi0 = W[base + i]
                            if shadow > 0:
                                WS[base + i] = w1
                                W[base + i] = w1 >> shadow
                            else:
                                W[base + i] = w1
                            rownz[pre + j] += (W[base + i] != 0) - (wi0 != 0)
                ops[l, O_WUPD] += n_try
                ops[l, O_PRNG] += n_draw
                if rule_a:
                    ops[l, O_ACC] += n_nz
                else:
                    ops[l, O_WUPD_NZ] += n_nz
                sat_c[l, S_UPD_TRY] += n_try
                sat_c[l, S_UPD_ZERO] += n_zero
                sat_c[l, S_WEIGHT] += n_wsat
                sat_c[l, S_ACC] += n_asat
        # ---- end of sample: OTTT_A applies the accumulated update once ---------------------
        if learn and rule_a:
            for l in range(L):
                wo = woff[l]
                nw = sizes[l] * sizes[l + 1]
                hi = (1 << (w_bits - 1)) - 1
                lo_w = -(1 << (w_bits - 1))
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
                        r_learn, r = rand_bits(r_learn, acc_frac)
                        n_draw += 1
                    d = shift_round(x, acc_frac, upd_round, r)
                    if d == 0:
                        continue
                    w0 = WS[m] if shadow > 0 else W[m]
                    w1 = w0 + d
                    if w1 > hi:
                        w1 = hi
                        n_wsat += 1
                    elif w1 < lo_w:
                        w1 = lo_w
                        n_wsat += 1
                    n_nz += w1 != w0
                    wi0 = W[m]
                    if shadow > 0:
                        WS[m] = w1
                        W[m] = w1 >> shadow
                    else:
                        W[m] = w1
                    rj = noff[l] + (m - wo) // sizes[l + 1]
                    rownz[rj] += (W[m] != 0) - (wi0 != 0)
                ops[l, O_PRNG] += n_draw
                ops[l, O_WUPD_NZ] += n_nz
                sat_c[l, S_WEIGHT] += n_wsat
        # ---- prediction ---------------------------------------------------------------------
        preds[nn] = predict(counts, outsum, first, P[P_DEC])
    rng[0] = r_learn
    rng[1] = r_enc
