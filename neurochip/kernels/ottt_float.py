"""The float32 OTTT reference kernel: the same network, encoder and loss as the chip, in float.

The paper's exact OTTT (Xiao et al. 2022): multiplicative leak ``lambda = 1 - 2^-k`` (eq. 2),
presynaptic traces ``a <- lambda a + s`` (eq. 4), instantaneous loss ``L[t] = loss / T`` (eq. 5),
surrogate derivatives on ``u - Vth`` with Vth = 1, and the gradient ``g_u a^T`` per step (eq. 4),
stepped by SGD, SGD with momentum or Adam: every step (OTTT_O) or once per sample on the summed
gradient (OTTT_A). Reset (zero | subtract) and the spike comparison follow the profile, so that the
float network is the same network as the chip's. Layout and control flow mirror
:mod:`neurochip.kernels.ottt_int`; only the arithmetic differs.

Float-only options, all in one flat parameter vector W (kernels/pack.Layout: feed-forward weights,
then recurrent weights, then thresholds), so one optimizer steps them all:

* recurrent hidden layers: ``I_l[t] += R_l^T s_l[t-1]``. OTTT's gradient for R_l is the same
  outer product as for any synapse, ``g_u[t] a^T``, with ``a`` the trace of R_l's presynaptic
  input s_l[t-1], ``a <- lambda_l a + s_l[t-1]`` (kept in ``trr``). Like every trace it decays
  with the leak of its postsynaptic layer, which for R_l is layer l itself; the trace ``tr`` of
  s_l feeds W_l and decays with layer l + 1's leak (the readout's may differ), so it cannot be
  reused. As for the feed-forward weights, OTTT drops the future effects of u[t] (here through R).
* learnable thresholds: ``s = H(u - theta)``, so ``dL/dtheta = -dL/ds sigma'(u - theta) = -g_u``
  (reset detached, as OTTT assumes); thresholds stay >= TH_MIN.
* sWS (kernels/sws.py): the kernels run on the standardized weights; the gradient is mapped back to
  the raw weights V before each optimizer step.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from .decode import predict
from ..fixedpoint import NJIT, rand_bits
from .losses import membrane_error, spike_error
from .pack import (P_COMPARE, P_DEC, P_ENC, P_FEEDBACK, P_LOSS, P_READOUT, P_RESET, P_RULE, P_SURR,
                   P_T)
from .sws import sws_backward, sws_forward

# float parameters
(F_LR, F_MOM, F_B1, F_B2, F_EPS, F_MIX, F_RATE_HI, F_RATE_LO, F_OPT, F_SG_PARAM, F_SWS_GAIN,
 N_F) = range(12)
TH_MIN = 0.05      # learned thresholds are kept at or above this (threshold units)


@nb.njit(**NJIT)
def surrogate_f(x, spiked, code, p):
    """ds/du at x = u - Vth with parameter p, codes as neurochip.surrogate.SURROGATE_CODES:
    0 sigmoid, 1 rectangular, 2 triangle, 3 gaussian, 4 fast sigmoid, 5 spike operator (= s)."""
    if code == 0:
        z = 1.0 / (1.0 + math.exp(-p * x))
        return p * z * (1.0 - z)
    if code == 1:
        return 1.0 / p if abs(x) < 0.5 * p else 0.0
    if code == 2:
        return max(0.0, 1.0 - abs(x) / p) / p
    if code == 3:
        return math.exp(-x * x / (2.0 * p)) / math.sqrt(2.0 * math.pi * p)
    if code == 4:
        return 1.0 / (p * abs(x) + 1.0) ** 2
    return spiked


@nb.njit(**NJIT)
def _opt_step(W, G, M1, M2, lo, hi, FP, step):
    """Apply one optimizer step to W[lo:hi] with gradient G[lo:hi]; G is cleared."""
    lr = FP[F_LR]
    opt = int(FP[F_OPT])
    if opt == 0:
        for m in range(lo, hi):
            W[m] -= lr * G[m]
            G[m] = 0.0
    elif opt == 1:
        mu = FP[F_MOM]
        for m in range(lo, hi):
            M1[m] = mu * M1[m] + G[m]
            W[m] -= lr * M1[m]
            G[m] = 0.0
    else:
        b1 = FP[F_B1]
        b2 = FP[F_B2]
        c1 = 1.0 - b1 ** step
        c2 = 1.0 - b2 ** step
        eps = FP[F_EPS]
        for m in range(lo, hi):
            gm = G[m]
            M1[m] = b1 * M1[m] + (1.0 - b1) * gm
            M2[m] = b2 * M2[m] + (1.0 - b2) * gm * gm
            W[m] -= lr * (M1[m] / c1) / (math.sqrt(M2[m] / c2) + eps)
            G[m] = 0.0


@nb.njit(**NJIT)
def apply_update(W, V, G, M1, M2, FP, step, sizes, woff, n_ff, thoff):
    """One optimizer step on all parameters from the gradient G (cleared): through sWS when on
    (the feed-forward part steps the raw weights V, then W is re-standardized), and thresholds
    kept at or above TH_MIN."""
    nW = W.shape[0]
    gain = FP[F_SWS_GAIN]
    if gain > 0:
        sws_backward(V, G, sizes, woff, gain)
        _opt_step(V, G, M1, M2, 0, n_ff, FP, step)
        sws_forward(V, W, sizes, woff, gain)
        _opt_step(W, G, M1, M2, n_ff, nW, FP, step)
    else:
        _opt_step(W, G, M1, M2, 0, nW, FP, step)
    if thoff >= 0:
        for m in range(thoff, nW):
            W[m] = max(W[m], TH_MIN)


@nb.njit(**NJIT)
def run_float(X, Y, order, P, FP, sizes, woff, noff, roff, thoff, n_ff, lam, W, V, B, FB, boff, G, M1,
              M2, v, tr, trr, s, vpre, g, cur, outsum, counts, first, rng, ops_step, preds, learn):
    """Float twin of run_int. lam[l] is the leak factor of neuron layer l + 1; W the flat
    parameters (feed-forward, recurrent from roff[l] for neuron layer l, thresholds from thoff;
    -1: none), V the raw weights under sWS; G the gradient buffer (flat like W); M1, M2 optimizer
    moments; trr the traces of the recurrent inputs; ops_step[0] counts optimizer steps."""
    L = sizes.shape[0] - 1
    T = P[P_T]
    enc = P[P_ENC]
    reset_sub = P[P_RESET] == 1
    ge = P[P_COMPARE] == 1
    spiking_out = P[P_READOUT] == 1
    loss = P[P_LOSS]
    rule_a = P[P_RULE] == 1
    random_fb = P[P_FEEDBACK] == 1
    surr = P[P_SURR]
    mix = FP[F_MIX]
    sgp = FP[F_SG_PARAM]
    n_out = sizes[L]
    n0 = sizes[0]
    o_off = noff[L]
    r_enc = rng[1]
    for nn in range(order.shape[0]):
        n = order[nn]
        for k in range(v.shape[0]):
            v[k] = 0.0
            s[k] = 0.0
        for k in range(tr.shape[0]):
            tr[k] = 0.0
            trr[k] = 0.0
        for i in range(n_out):
            outsum[i] = 0.0
            counts[i] = 0.0
            first[i] = T
        label = Y[n]
        for t in range(T):
            for j in range(n0):
                x = X[n, j]
                if enc == 0:
                    sj = x
                elif enc == 1:
                    r_enc, r = rand_bits(r_enc, 8)
                    sj = 1.0 if r < x else 0.0
                else:
                    sj = 1.0 if x == t else 0.0
                s[j] = sj
                tr[j] = lam[0] * tr[j] + sj
            for l in range(L):
                npre = sizes[l]
                npost = sizes[l + 1]
                pre = noff[l]
                post = noff[l + 1]
                for i in range(npost):
                    cur[post + i] = 0.0
                for j in range(npre):
                    sj = s[pre + j]
                    if sj == 0.0:
                        continue
                    base = woff[l] + j * npost
                    for i in range(npost):
                        cur[post + i] += W[base + i] * sj
                if roff[l + 1] >= 0:
                    # recurrent input: this layer's spikes of the previous step (s not yet overwritten)
                    for j in range(npost):
                        if s[post + j] == 0.0:
                            continue
                        base = roff[l + 1] + j * npost
                        for i in range(npost):
                            cur[post + i] += W[base + i]
                    if learn:
                        # R's presynaptic trace: s[t-1] of this layer, decaying with this layer's
                        # leak lam[l] (the postsynaptic side of R is this layer too)
                        for j in range(npost):
                            trr[post + j] = lam[l] * trr[post + j] + s[post + j]
                last = l == L - 1
                fires = (not last) or spiking_out
                for i in range(npost):
                    vv = lam[l] * v[post + i] + cur[post + i] + B[post - n0 + i]
                    vpre[post + i] = vv
                    sp = 0.0
                    if fires:
                        th = W[thoff + post - n0 + i] if thoff >= 0 else 1.0
                        if (ge and vv >= th) or ((not ge) and vv > th):
                            sp = 1.0
                            vv = vv - th if reset_sub else 0.0
                    v[post + i] = vv
                    s[post + i] = sp
                if learn and not last:
                    for i in range(npost):
                        tr[post + i] = lam[l + 1] * tr[post + i] + s[post + i]
            for i in range(n_out):
                outsum[i] += v[o_off + i] if not spiking_out else vpre[o_off + i]
                counts[i] += s[o_off + i]
                if s[o_off + i] != 0.0 and first[i] == T:
                    first[i] = t
            if not learn:
                continue
            # output error dL[t]/du_out (kernels/losses.py), with L[t] = loss / T (OTTT eq. 5)
            eo = cur[o_off:o_off + n_out]
            if not spiking_out:
                membrane_error(loss, v[o_off:o_off + n_out], label, mix, eo)
                for i in range(n_out):
                    g[o_off + i] = eo[i] / T
            else:
                spike_error(loss, s[o_off:o_off + n_out], counts, t + 1, T, label, FP[F_RATE_HI],
                            FP[F_RATE_LO], eo)
                for i in range(n_out):
                    th = W[thoff + o_off - n0 + i] if thoff >= 0 else 1.0
                    g[o_off + i] = eo[i] * surrogate_f(vpre[o_off + i] - th, s[o_off + i], surr, sgp)
            for l in range(L - 1, 0, -1):
                npre = sizes[l]
                npost = sizes[l + 1]
                pre = noff[l]
                post = noff[l + 1]
                for j in range(npre):
                    d = 0.0
                    if random_fb:
                        fb = boff[l - 1] + j * n_out
                        for i in range(n_out):
                            d += FB[fb + i] * g[o_off + i]
                    else:
                        base = woff[l] + j * npost
                        for i in range(npost):
                            d += W[base + i] * g[post + i]
                    th = W[thoff + pre - n0 + j] if thoff >= 0 else 1.0
                    g[pre + j] = d * surrogate_f(vpre[pre + j] - th, s[pre + j], surr, sgp)
            # gradient g_u a^T (OTTT eq. 4), accumulated in G
            for l in range(L):
                npre = sizes[l]
                npost = sizes[l + 1]
                pre = noff[l]
                post = noff[l + 1]
                for j in range(npre):
                    a = tr[pre + j]
                    if a == 0.0:
                        continue
                    base = woff[l] + j * npost
                    for i in range(npost):
                        G[base + i] += g[post + i] * a
                if roff[l + 1] >= 0:
                    for j in range(npost):
                        a = trr[post + j]
                        if a == 0.0:
                            continue
                        base = roff[l + 1] + j * npost
                        for i in range(npost):
                            G[base + i] += g[post + i] * a
            if thoff >= 0:
                # dL/dtheta = -g_u of every spiking neuron (the integrator readout has none)
                n_th = noff[L] - n0 + (n_out if spiking_out else 0)
                for k in range(n_th):
                    G[thoff + k] -= g[n0 + k]
            if not rule_a:
                ops_step[0] += 1
                apply_update(W, V, G, M1, M2, FP, ops_step[0], sizes, woff, n_ff, thoff)
        if learn and rule_a:
            ops_step[0] += 1
            apply_update(W, V, G, M1, M2, FP, ops_step[0], sizes, woff, n_ff, thoff)
        preds[nn] = predict(counts, outsum, first, P[P_DEC])
    rng[1] = r_enc
