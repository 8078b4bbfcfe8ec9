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

Parameters and state arrive as typed tuples (kernels/float_types.py, built by
kernels/pack_float.py); the LIF spike and reset, surrogate, trace, encoder and optimizer step are
shared with BPTT (kernels/lif_float.py, kernels/optim_float.py).
"""
from __future__ import annotations

import numba as nb

from .decode import predict
from ..fixedpoint import NJIT
from .lif_float import encode, lif_fire, surrogate_f, threshold, trace
from .losses import membrane_error, spike_error
from .optim_float import TH_MIN, optimizer_step

__all__ = ["run_float", "surrogate_f", "TH_MIN"]


@nb.njit(**NJIT)
def run_float(X, Y, order, net, lp, prm, st, preds, learn):
    """Float twin of run_int: run samples ``order`` of X (float_input) with labels Y, learning
    when ``learn``; ``preds[nn]`` the prediction of sample order[nn]. ``net`` FloatNet, ``lp``
    FloatLearn, ``prm`` FloatParams (updated in place), ``st`` FloatState (scratch; the encoder
    PRNG state rng[1] carries over)."""
    sizes, woff, noff, roff, boff, lam = net.sizes, net.woff, net.noff, net.roff, net.boff, net.lam
    thoff = net.thoff
    W, B, FB, G = prm.W, prm.B, prm.FB, prm.G
    v, tr, trr, s, vpre, g, cur = st.v, st.tr, st.trr, st.s, st.vpre, st.g, st.cur
    outsum, counts, first = st.outsum, st.counts, st.first
    L = sizes.shape[0] - 1
    T = net.T
    enc = net.enc
    reset_sub = net.reset_sub
    ge = net.ge
    spiking_out = net.spiking_out
    loss = lp.loss
    rule_a = lp.rule_a
    random_fb = lp.random_fb
    surr = lp.surr
    mix = lp.mix
    sgp = lp.sg_param
    n_out = sizes[L]
    n0 = sizes[0]
    o_off = noff[L]
    r_enc = st.rng[1]
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
                sj, r_enc = encode(X[n, j], t, enc, r_enc)
                s[j] = sj
                tr[j] = trace(tr[j], lam[0], sj)
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
                            trr[post + j] = trace(trr[post + j], lam[l], s[post + j])
                last = l == L - 1
                fires = (not last) or spiking_out
                for i in range(npost):
                    vv = lam[l] * v[post + i] + cur[post + i] + B[post - n0 + i]
                    vpre[post + i] = vv
                    sp = 0.0
                    if fires:
                        sp, vv = lif_fire(vv, threshold(W, thoff, post - n0 + i), ge, reset_sub)
                    v[post + i] = vv
                    s[post + i] = sp
                if learn and not last:
                    for i in range(npost):
                        tr[post + i] = trace(tr[post + i], lam[l + 1], s[post + i])
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
                spike_error(loss, s[o_off:o_off + n_out], counts, t + 1, T, label, lp.rate_hi,
                            lp.rate_lo, eo)
                for i in range(n_out):
                    th = threshold(W, thoff, o_off - n0 + i)
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
                    th = threshold(W, thoff, pre - n0 + j)
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
                optimizer_step(net, lp, prm)
        if learn and rule_a:
            optimizer_step(net, lp, prm)
        preds[nn] = predict(counts, outsum, first, net.decoder)
    st.rng[1] = r_enc
