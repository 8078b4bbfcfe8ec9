"""Float BPTT with surrogate gradients: the yardstick OTTT is measured against (STBP; snnTorch).

Same network, encoders, readouts, instantaneous losses and surrogates as the float OTTT kernel
(:mod:`neurochip.kernels.ottt_float`), but the gradient is the full backpropagation through the T
steps of a sample: the forward pass records a tape of every membrane and spike (memory O(T x
neurons), the cost OTTT avoids), then the backward recursion runs from t = T-1 down to 0.

Per neuron layer (threshold 1), with lambda the layer's leak:
    u[t] = lambda v[t-1] + I[t],   s[t] = H(u[t] - 1),   v[t] = reset(u[t], s[t])
    subtract: v = u - s;  zero: v = u (1 - s)
Backward (dL/dv[t] = lambda dL/du[t+1]):
    dL/ds[t] = loss term + sum_k W[i, k] dL/du_next_layer[k][t]  (+ dL/dv[t] dv/ds unless the
               reset is detached: subtract -1, zero -u[t])
    dL/du[t] = dL/ds[t] sigma'(u[t] - 1) + dL/dv[t] dv/du   (subtract 1, zero 1 - s[t])
The integrator readout has v = u. With the reset detached (OTTT paper footnote 3) the last
layer's gradient equals OTTT's; hidden layers differ by the future terms OTTT drops.
Spiking-readout window losses (count, rate_ce, rate_mse, count_enh: kernels/losses.py) are
differentiated exactly: their dL/ds is computed from the final counts, once the window is over.
Recurrent hidden layers add ``R_l^T s_l[t-1]`` to the input, so dL/ds_l[t] also receives
``R_l dL/du_l[t+1]``; learnable thresholds get ``dL/dtheta = -dL/ds sigma'(u - theta)`` (plus
``-dL/dv s`` through a subtractive reset when it is not detached).
``smooth`` replaces H by the surrogate's primitive (sigmoid only), making the network exactly
differentiable: the tests check that mode's gradient against finite differences in float64.

Parameters arrive as the float family's typed tuples (kernels/float_types.py); the spike and
reset, surrogate, encoder and optimizer step are the float OTTT kernel's (kernels/lif_float.py,
kernels/optim_float.py).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from .decode import predict
from ..fixedpoint import NJIT
from .lif_float import encode, lif_fire, lif_fire_smooth, surrogate_f, threshold
from .losses import L_MSE, membrane_error, spike_error
from .optim_float import optimizer_step


@nb.njit(**NJIT)
def run_bptt(X, Y, order, net, lp, prm, st, preds, learn, detach, smooth):
    """Run samples ``order``; when learning, one optimizer step per sample on the BPTT gradient.
    Arguments as run_float (of ``st`` only the encoder PRNG state rng[1] is used: the tape is the
    kernel's own). Returns the bytes of the tape of one sample (the memory that grows with T)."""
    sizes, woff, noff, roff, lam = net.sizes, net.woff, net.noff, net.roff, net.lam
    thoff = net.thoff
    W, B, G = prm.W, prm.B, prm.G
    L = sizes.shape[0] - 1
    T = net.T
    enc = net.enc
    subtract = net.reset_sub
    ge = net.ge
    spiking_out = net.spiking_out
    loss = lp.loss
    surr = lp.surr
    sgp = lp.sg_param
    mix = lp.mix
    n0 = sizes[0]
    n_all = noff[L] + sizes[L]
    n_out = sizes[L]
    o_off = noff[L]
    r_enc = st.rng[1]
    dt = W.dtype
    # the tape: pre-reset membranes, spikes (layer 0: input values), loss terms
    U = np.zeros((T, n_all), dt)
    S = np.zeros((T, n_all), dt)
    GL = np.zeros((T, n_out), dt)
    v = np.zeros(n_all, dt)
    gnext = np.zeros(n_all, dt)
    gcur = np.zeros(n_all, dt)
    outsum = np.zeros(n_out, np.float64)
    counts = np.zeros(n_out, np.float64)
    first = np.zeros(n_out, np.float64)
    eo = np.zeros(n_out, np.float64)
    for nn in range(order.shape[0]):
        n = order[nn]
        label = Y[n]
        v[:] = 0.0
        outsum[:] = 0.0
        counts[:] = 0.0
        first[:] = T
        for t in range(T):
            for j in range(n0):
                sj, r_enc = encode(X[n, j], t, enc, r_enc)
                S[t, j] = sj
            for l in range(L):
                npre = sizes[l]
                npost = sizes[l + 1]
                pre = noff[l]
                post = noff[l + 1]
                last = l == L - 1
                fires = (not last) or spiking_out
                for i in range(npost):
                    c = B[post - n0 + i]
                    for j in range(npre):
                        sj = S[t, pre + j]
                        if sj != 0.0:
                            c += W[woff[l] + j * npost + i] * sj
                    if roff[l + 1] >= 0 and t > 0:
                        for j in range(npost):
                            sj = S[t - 1, post + j]
                            if sj != 0.0:
                                c += W[roff[l + 1] + j * npost + i] * sj
                    u = lam[l] * v[post + i] + c
                    U[t, post + i] = u
                    sp = 0.0
                    if fires:
                        th = threshold(W, thoff, post - n0 + i)
                        if smooth:
                            sp, vn = lif_fire_smooth(u, th, subtract, sgp)
                        else:
                            sp, vn = lif_fire(u, th, ge, subtract)
                        v[post + i] = vn
                    else:
                        v[post + i] = u
                    S[t, post + i] = sp
            for i in range(n_out):
                outsum[i] += v[o_off + i] if not spiking_out else U[t, o_off + i]
                counts[i] += S[t, o_off + i]
                if S[t, o_off + i] != 0.0 and first[i] == T:
                    first[i] = t
            if learn:
                # per-step loss terms of L[t] = loss / T: dL/du_out (integrator), dL/ds_out (mse)
                if not spiking_out:
                    membrane_error(loss, U[t, o_off:o_off + n_out], label, mix, eo)
                    for i in range(n_out):
                        GL[t, i] = eo[i] / T
                elif loss == L_MSE:
                    spike_error(loss, S[t, o_off:o_off + n_out], counts, t + 1, T, label,
                                lp.rate_hi, lp.rate_lo, eo)
                    for i in range(n_out):
                        GL[t, i] = eo[i]
        if learn:
            if spiking_out and loss != L_MSE:
                # window loss on the final counts (count_enh also needs each step's spikes)
                for t in range(T):
                    spike_error(loss, S[t, o_off:o_off + n_out], counts, T, T, label,
                                lp.rate_hi, lp.rate_lo, eo)
                    for i in range(n_out):
                        GL[t, i] = eo[i]
            gnext[:] = 0.0
            for t in range(T - 1, -1, -1):
                for l in range(L, 0, -1):
                    n_l = sizes[l]
                    off = noff[l]
                    last = l == L
                    for i in range(n_l):
                        u = U[t, off + i]
                        s = S[t, off + i]
                        gv = lam[l - 1] * gnext[off + i]
                        if last and not spiking_out:
                            gcur[off + i] = GL[t, i] + gv
                            continue
                        if last:
                            gs = GL[t, i]
                        else:
                            gs = 0.0
                            base = woff[l] + i * sizes[l + 1]
                            for k in range(sizes[l + 1]):
                                gs += W[base + k] * gcur[noff[l + 1] + k]
                            if roff[l] >= 0:
                                base = roff[l] + i * n_l
                                for k in range(n_l):
                                    gs += W[base + k] * gnext[off + k]
                        th = threshold(W, thoff, off - n0 + i)
                        if not detach:
                            gs += -th * gv if subtract else -u * gv
                        sg = surrogate_f(u - th, s, surr, sgp)
                        dvdu = 1.0 if subtract else 1.0 - s
                        gcur[off + i] = gs * sg + gv * dvdu
                        if thoff >= 0:
                            G[thoff + off - n0 + i] -= gs * sg
                            if subtract and not detach:
                                G[thoff + off - n0 + i] -= gv * s
                    # weight gradients of the layer feeding layer l (and of R_l), at step t
                    npre = sizes[l - 1]
                    pre = noff[l - 1]
                    for j in range(npre):
                        sj = S[t, pre + j]
                        if sj == 0.0:
                            continue
                        base = woff[l - 1] + j * n_l
                        for i in range(n_l):
                            G[base + i] += sj * gcur[off + i]
                    if roff[l] >= 0 and t > 0:
                        for j in range(n_l):
                            sj = S[t - 1, off + j]
                            if sj == 0.0:
                                continue
                            base = roff[l] + j * n_l
                            for i in range(n_l):
                                G[base + i] += sj * gcur[off + i]
                for k in range(n_all):
                    gnext[k] = gcur[k]
            optimizer_step(net, lp, prm)
        preds[nn] = predict(counts, outsum, first, net.decoder)
    st.rng[1] = r_enc
    return U.nbytes + S.nbytes + GL.nbytes
