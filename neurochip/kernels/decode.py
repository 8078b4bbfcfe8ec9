"""Decoding a sample's prediction from the readout, shared by every kernel (and the Lava decoder).

Codes follow ``neurochip.network.DECODERS`` without 'auto' (``decoder_code``):

* 0 membrane: the class with the largest membrane integrated over the window (integrator readout:
  its membrane; spiking readout: the pre-reset membrane), snnTorch's membrane decoding;
* 1 rate: the class with the most spikes (rate decoding), ties broken by the integrated membrane;
* 2 latency: the class that spiked first (time-to-first-spike decoding, snnTorch tutorial 5),
  ties broken by the spike count, then the integrated membrane; a class that never spiked has
  first spike ``T`` (later than any).

Ties that remain go to the lowest class index.
"""
from __future__ import annotations

import numba as nb

from ..fixedpoint import NJIT

D_MEMBRANE, D_RATE, D_LATENCY = 0, 1, 2


def decoder_code(cfg) -> int:
    return ("membrane", "rate", "latency").index(cfg.decoder_resolved)


@nb.njit(**NJIT)
def predict(counts, outsum, first, mode):
    best = 0
    for i in range(1, outsum.shape[0]):
        if mode == D_MEMBRANE:
            better = outsum[i] > outsum[best]
        elif mode == D_RATE:
            better = counts[i] > counts[best] or (counts[i] == counts[best] and outsum[i] > outsum[best])
        else:
            better = first[i] < first[best] or (first[i] == first[best] and (
                counts[i] > counts[best] or (counts[i] == counts[best] and outsum[i] > outsum[best])))
        if better:
            best = i
    return best
