"""The float kernels' optimizer step: SGD, SGD with momentum or Adam on every learned parameter,
through sWS when it is on, with learned thresholds kept at or above TH_MIN. One definition for
float OTTT and BPTT."""
from __future__ import annotations

import math

import numba as nb

from ..fixedpoint import NJIT
from .sws import sws_backward, sws_forward

TH_MIN = 0.05      # learned thresholds are kept at or above this (threshold units)


@nb.njit(**NJIT)
def param_step(W, G, M1, M2, lo, hi, lp, step):
    """Apply one optimizer step to W[lo:hi] with gradient G[lo:hi]; G is cleared (also the float
    layer reference's step, kernels/ottt_float_layers.py)."""
    lr = lp.lr
    opt = lp.opt
    if opt == 0:
        for m in range(lo, hi):
            W[m] -= lr * G[m]
            G[m] = 0.0
    elif opt == 1:
        mu = lp.momentum
        for m in range(lo, hi):
            M1[m] = mu * M1[m] + G[m]
            W[m] -= lr * M1[m]
            G[m] = 0.0
    else:
        b1 = lp.beta1
        b2 = lp.beta2
        c1 = 1.0 - b1 ** step
        c2 = 1.0 - b2 ** step
        eps = lp.eps
        for m in range(lo, hi):
            gm = G[m]
            M1[m] = b1 * M1[m] + (1.0 - b1) * gm
            M2[m] = b2 * M2[m] + (1.0 - b2) * gm * gm
            W[m] -= lr * (M1[m] / c1) / (math.sqrt(M2[m] / c2) + eps)
            G[m] = 0.0


@nb.njit(**NJIT)
def optimizer_step(net, lp, prm):
    """One optimizer step on all parameters from the gradient ``prm.G`` (cleared), counted in
    ``prm.step``: through sWS when on (the feed-forward part steps the raw weights V, then W is
    re-standardized), and thresholds kept at or above TH_MIN."""
    prm.step[0] += 1
    step = prm.step[0]
    W, V, G, M1, M2 = prm.W, prm.V, prm.G, prm.M1, prm.M2
    nW = W.shape[0]
    n_ff = net.n_ff
    gain = lp.sws_gain
    if gain > 0:
        sws_backward(V, G, net.sizes, net.woff, gain)
        param_step(V, G, M1, M2, 0, n_ff, lp, step)
        sws_forward(V, W, net.sizes, net.woff, gain)
        param_step(W, G, M1, M2, n_ff, nW, lp, step)
    else:
        param_step(W, G, M1, M2, 0, nW, lp, step)
    if net.thoff >= 0:
        for m in range(net.thoff, nW):
            W[m] = max(W[m], TH_MIN)
