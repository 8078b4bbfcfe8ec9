"""Presynaptic eligibility traces of the integer learner (OTTT eq. 4; chip-model.md §3).

``a = decay(a) + impulse`` (impulse on a spike or graded input), saturated at ``tr_bits``; the
decay ``a (1 - 2^-k)`` rounds down, or stochastically with a draw from the learning PRNG (Loihi's
traces, lava-semantics.md §5.3). Functional: the PRNG state goes in and comes back.
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


__all__ = ["trace_decay", "trace_step"]
