"""Scaled weight standardization (sWS), the float reference's optional weight parametrisation.

OTTT section 4.4 (after NF-Nets, Brock et al. 2021): each neuron's fan-in weights are standardized,
``W_hat[:, i] = gain * (V[:, i] - mean_i) / sqrt(N var_i + eps)`` with N the fan-in and var the
population variance over that fan-in, so every neuron's input weights keep zero mean and norm
``gain``; the optimizer updates the raw weights V through this map. The gain is fixed (seed 001
§4.5: with the weight scale fixed, the threshold is the learnable scale, see --learn-threshold).
Weights are presynaptic-major (``W[woff[l] + j * n_post + i]``): a fan-in is a strided column.
"""
from __future__ import annotations

import math

import numba as nb

from ..fixedpoint import NJIT

SWS_EPS = 1e-4     # as OTTT's official ScaledWSLinear


@nb.njit(**NJIT)
def _column_stats(V, base, npre, npost):
    mu = 0.0
    for j in range(npre):
        mu += V[base + j * npost]
    mu /= npre
    ss = 0.0
    for j in range(npre):
        x = V[base + j * npost] - mu
        ss += x * x
    return mu, math.sqrt(ss + SWS_EPS)        # sqrt(N var + eps) = sqrt(sum x^2 + eps)


@nb.njit(**NJIT)
def sws_forward(V, W, sizes, woff, gain):
    """W[0:n_ff] = standardized V (every layer, every neuron's fan-in)."""
    for l in range(sizes.shape[0] - 1):
        npre = sizes[l]
        npost = sizes[l + 1]
        for i in range(npost):
            base = woff[l] + i
            mu, sd = _column_stats(V, base, npre, npost)
            for j in range(npre):
                m = base + j * npost
                W[m] = gain * (V[m] - mu) / sd


@nb.njit(**NJIT)
def sws_backward(V, G, sizes, woff, gain):
    """In place: G[0:n_ff] = dL/dW_hat becomes dL/dV (the chain rule through the standardization):
    ``dL/dV_m = gain / sd (G_m - mean G) - gain x_m / sd^3 sum_k G_k x_k``, x = V - mean."""
    for l in range(sizes.shape[0] - 1):
        npre = sizes[l]
        npost = sizes[l + 1]
        for i in range(npost):
            base = woff[l] + i
            mu, sd = _column_stats(V, base, npre, npost)
            gm = 0.0
            gx = 0.0
            for j in range(npre):
                m = base + j * npost
                gm += G[m]
                gx += G[m] * (V[m] - mu)
            gm /= npre
            for j in range(npre):
                m = base + j * npost
                G[m] = gain / sd * (G[m] - gm) - gain * (V[m] - mu) / (sd * sd * sd) * gx
