"""Step helpers of the float kernels, written once for float OTTT and BPTT: input encoding, the
LIF spike and reset, the surrogate derivative, the presynaptic trace, a neuron's threshold.

The leak-and-integrate line ``u = lambda v + I`` stays in each kernel: the two sum the input
current in different orders (OTTT event-driven by presynaptic neuron, then the bias; BPTT per
postsynaptic neuron from the bias), and float addition is not associative.
"""
from __future__ import annotations

import math

import numba as nb

from ..fixedpoint import NJIT, rand_bits


@nb.njit(**NJIT)
def encode(x, t, enc, r):
    """Layer-0 value of one input channel at step t, and the encoder PRNG state: the value itself
    (direct, enc 0), a spike with 8-bit probability x (rate, 1; kernels/pack.float_input), or a
    spike at step x (latency, 2; x = -1: never)."""
    if enc == 0:
        return x, r
    if enc == 1:
        r, b = rand_bits(r, 8)
        return (1.0 if b < x else 0.0), r
    return (1.0 if x == t else 0.0), r


@nb.njit(**NJIT)
def threshold(W, thoff, k):
    """Threshold of neuron k (counted from the first neuron of layer 1): learned (at W[thoff:])
    or 1 (threshold units)."""
    return W[thoff + k] if thoff >= 0 else 1.0


@nb.njit(**NJIT)
def lif_fire(u, th, ge, subtract):
    """Spike and reset of one LIF neuron from its pre-reset membrane u: returns (s, v).
    s = H(u - th), with ``ge`` u >= th, else u > th; v = u - s th (``subtract``) or u (1 - s):
    after a spike u - th or 0, else u. (Written without a branch on the spike: the select keeps
    the BPTT forward as fast as inline code. A diverged, infinite membrane resets to NaN.)"""
    sp = 1.0 if (ge and u >= th) or ((not ge) and u > th) else 0.0
    return sp, (u - sp * th if subtract else u * (1.0 - sp))


@nb.njit(**NJIT)
def lif_fire_smooth(u, th, subtract, alpha):
    """lif_fire with H replaced by the sigmoid s = sig(alpha (u - th)), the primitive of the
    sigmoid surrogate (BPTT's finite-difference check), and the graded reset v = u - s th or
    u (1 - s)."""
    sp = 1.0 / (1.0 + math.exp(-alpha * (u - th)))
    return sp, (u - sp * th if subtract else u * (1.0 - sp))


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
def trace(a, lam, s):
    """Presynaptic trace after one step (OTTT eq. 4): a <- lambda a + s, lambda the leak of the
    synapse's postsynaptic layer."""
    return lam * a + s
