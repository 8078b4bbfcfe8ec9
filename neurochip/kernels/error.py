"""Errors of the integer learner: the surrogate look-up and the error sent to a lower layer.

(OTTT eq. 5 and §4.3; chip-model.md §4.) The surrogate derivative of the integer membrane is a
table look-up (``neurochip.surrogate``: ``LUT_SIZE`` bins around the threshold) or, for the spike
operator, the spike itself. A hidden neuron's error is the error of the layer above through the
transposed weights (or fixed random feedback), times its surrogate, rounded to nearest (ties up)
and saturated at the error width.
"""
from __future__ import annotations

import numba as nb

from ..fixedpoint import NJIT, sat, shift_round
from ..surrogate import LUT_SIZE


@nb.njit(**NJIT)
def surrogate_at(v, spiked, thr, c_sg, lut, spike_op, one):
    """Surrogate derivative at membrane v (``one`` = 1.0 in the LUT's fixed point)."""
    if spike_op:
        return one if spiked else 0 * one
    idx = (((v - thr) * c_sg) >> 24) + LUT_SIZE // 2
    if idx < 0 or idx >= LUT_SIZE:
        return 0 * one
    return lut[idx]


@nb.njit(**NJIT)
def error_to_lower(d, sg, shift, bits):
    """Error of a lower-layer neuron from ``d`` = its weighted sum of upper errors and its surrogate
    ``sg``: ``sat(round((d sg) / 2^shift), bits)`` (nearest, ties up); returns (g, saturated)."""
    gg = shift_round(d * sg, shift, 1, 0)
    g = sat(gg, bits)
    return g, 1 if g != gg else 0


__all__ = ["LUT_SIZE", "surrogate_at", "error_to_lower"]
