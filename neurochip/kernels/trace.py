"""Presynaptic eligibility traces of the integer learner (OTTT eq. 4; chip-model.md §3).

``a = decay(a) + impulse`` (impulse on a spike or graded input), saturated at ``tr_bits``; the
decay ``a (1 - 2^-k)`` rounds down, or stochastically with a draw from the learning PRNG (Loihi's
traces, lava-semantics.md §5.3). Functional: the PRNG state goes in and comes back.

A CUBA layer's exact eligibility (docs/layers.md "CUBA layers: the exact OTTT trace") is the input
filtered twice: a current trace ``z = decay_{k_u}(z) + impulse`` and the trace of it,
``a = decay_k(a) + z`` (:func:`cuba_trace_step`), each a :func:`trace_step`.
"""
from __future__ import annotations

import numba as nb

from ..fixedpoint import NJIT, rand_bits


@nb.njit(**NJIT)
def trace_decay(a, k, stochastic, rng):
    """a * (1 - 2^-k) for a >= 0, floor or stochastic rounding: returns (a', rng', draws)."""
    if k == 0:
        return 0 * a, rng, 0
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
def trace_step(a, impulse, k, stochastic, bits, rng):
    """Decay, add ``impulse`` (0: none), saturate at ``bits``: returns (a', rng', draws, saturated)."""
    a, rng, dr = trace_decay(a, k, stochastic, rng)
    a += impulse
    top = (1 << bits) - 1
    if a > top:
        return top, rng, dr, 1
    return a, rng, dr, 0


@nb.njit(**NJIT)
def cuba_trace_step(z, a, impulse, k_u, k, stochastic, bits, rng):
    """The exact trace of a CUBA layer's input: the current trace ``z`` (decay ``k_u``, impulse as
    the plain trace's), then ``a`` (decay ``k``) with ``z`` as its impulse; both saturate at
    ``bits`` and draw in that order. Returns (z', a', rng', draws, saturations)."""
    z, rng, d1, s1 = trace_step(z, impulse, k_u, stochastic, bits, rng)
    a, rng, d2, s2 = trace_step(a, z, k, stochastic, bits, rng)
    return z, a, rng, d1 + d2, s1 + s2


@nb.njit(**NJIT)
def layer_trace_step(z, a, impulse, k_u, k, stochastic, bits, rng):
    """One presynaptic trace of a weight layer whose current trace decays with ``k_u``
    (``LearnParams.tr_ku``): the exact CUBA trace (:func:`cuba_trace_step`) where ``k_u > 0``,
    else the plain trace (:func:`trace_step`; ``z`` comes back unchanged). Returns (z', a', rng',
    draws, saturations)."""
    if k_u > 0:
        return cuba_trace_step(z, a, impulse, k_u, k, stochastic, bits, rng)
    a, rng, dr, satd = trace_step(a, impulse, k, stochastic, bits, rng)
    return z, a, rng, dr, satd


@nb.njit(**NJIT)
def trace_updates(k_u):
    """Trace updates one presynaptic neuron costs per step (the ``trace`` counter): two under the
    exact CUBA trace (``k_u > 0``), one otherwise."""
    return 2 if k_u > 0 else 1


__all__ = ["trace_decay", "trace_step", "cuba_trace_step", "layer_trace_step", "trace_updates"]
