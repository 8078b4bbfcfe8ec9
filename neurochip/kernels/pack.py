"""Packing a network (config + profile + state) into the flat arrays the numba kernels take.

Kernels never see strings or Python objects: every choice becomes an integer in ``P`` (indices
below), every per-layer value an int64 array, every list of matrices one flat array with offsets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fx
from ..network import (CE_MSE_MIX, ENCODERS, FEEDBACK, LOSSES, RATE_TARGET, READOUTS, RULES,
                       IntLayout, NetworkConfig, NetworkState, int_layout)
from ..profile import COMPARE, LEAK_ROUNDING, OVERFLOW, RESET, ROUNDING, Profile
from ..surrogate import SURROGATE_CODES, lut_index_scale, surrogate_lut
from .decode import decoder_code

(P_T, P_ENC, P_READOUT, P_LOSS, P_FEEDBACK, P_RULE, P_LEAK_MODE, P_RESET, P_COMPARE, P_MEM_BITS,
 P_CUR_BITS, P_CUR_OVF, P_IN_SHIFT, P_THR, P_W_BITS, P_SHADOW, P_INF_BITS, P_TR_BITS, P_TR_FRAC,
 P_TR_ROUND, P_ERR_BITS, P_ERR_FRAC, P_SG_BITS, P_ACC_BITS, P_ACC_FRAC, P_UPD_ROUND, P_LR_MANT,
 P_C_LOG2E, P_C_SG, P_C_OUT, P_RATE_HI, P_RATE_LO, P_MIX_CE, P_MIX_MSE, P_SURR, P_DEC, P_C_LOG2E_CNT,
 N_P) = range(38)


@dataclass
class Layout:
    """Flat offsets shared by the integer and float kernels."""
    sizes: np.ndarray      # int64[L + 1]
    woff: np.ndarray       # start of W_l in the flat weight array
    noff: np.ndarray       # start of neuron layer l in flat per-neuron arrays
    boff: np.ndarray       # start of B_l (feedback to hidden layer l + 1) in the flat feedback array
    roff: np.ndarray       # float: start of R_l (recurrent, neuron layer l) in the flat parameters, -1: none
    thoff: int             # float: start of the per-neuron thresholds (layers 1..L) in them, -1: fixed at 1
    n_ff: int              # feed-forward weights: the parameters [0, n_ff)
    n_params: int          # feed-forward weights, then recurrent weights, then thresholds

    @classmethod
    def of(cls, sizes, recurrent: bool = False, learn_threshold: bool = False) -> "Layout":
        sizes = np.asarray(sizes, np.int64)
        L = len(sizes) - 1
        woff = np.zeros(L, np.int64)
        noff = np.zeros(L + 1, np.int64)
        boff = np.zeros(max(L - 1, 1), np.int64)
        for l in range(1, L):
            woff[l] = woff[l - 1] + sizes[l - 1] * sizes[l]
        for l in range(1, L + 1):
            noff[l] = noff[l - 1] + sizes[l - 1]
        for l in range(1, L - 1):
            boff[l] = boff[l - 1] + sizes[l] * sizes[-1]
        n = int(woff[L - 1] + sizes[L - 1] * sizes[L])
        n_ff = n
        roff = np.full(L + 1, -1, np.int64)
        if recurrent:
            for l in range(1, L):
                roff[l] = n
                n += int(sizes[l] * sizes[l])
        thoff = -1
        if learn_threshold:
            thoff = n
            n += int(sizes[1:].sum())
        return cls(sizes, woff, noff, boff, roff, thoff, n_ff, n)

    @property
    def n_neurons(self) -> int:
        return int(self.sizes.sum())


def pack_common(cfg: NetworkConfig, profile: Profile) -> np.ndarray:
    """The choices both precisions share (encoder, readout, loss, reset, compare...)."""
    P = np.zeros(N_P, np.int64)
    P[P_T] = cfg.timesteps
    P[P_ENC] = ENCODERS.index(cfg.encoder)
    P[P_READOUT] = READOUTS.index(cfg.readout)
    P[P_LOSS] = LOSSES.index(cfg.loss)
    P[P_FEEDBACK] = FEEDBACK.index(cfg.feedback)
    P[P_RULE] = RULES.index(cfg.rule)
    P[P_RESET] = RESET[profile.neuron.reset]
    P[P_COMPARE] = COMPARE[profile.neuron.compare]
    P[P_SURR] = SURROGATE_CODES[cfg.surrogate]
    P[P_DEC] = decoder_code(cfg)
    return P


def pack_int(cfg: NetworkConfig, profile: Profile, lay: IntLayout) -> np.ndarray:
    n, s, l = profile.neuron, profile.synapse, profile.learning
    P = pack_common(cfg, profile)
    thr = n.threshold_membrane
    e = l.error_frac_bits
    P[P_LEAK_MODE] = LEAK_ROUNDING[n.leak_rounding]
    P[P_MEM_BITS] = n.membrane_bits
    P[P_CUR_BITS] = n.current_bits
    P[P_CUR_OVF] = OVERFLOW[n.current_overflow]
    P[P_IN_SHIFT] = n.input_shift
    P[P_THR] = thr
    P[P_W_BITS] = lay.learn_bits
    P[P_SHADOW] = lay.shadow_extra
    P[P_INF_BITS] = s.weight_bits
    P[P_TR_BITS] = l.trace_bits
    P[P_TR_FRAC] = l.trace_frac_bits
    P[P_TR_ROUND] = 1 if l.trace_rounding == "stochastic" else 0
    P[P_ERR_BITS] = l.error_bits
    P[P_ERR_FRAC] = e
    P[P_SG_BITS] = l.surrogate_bits
    P[P_ACC_BITS] = l.accumulator_bits
    P[P_ACC_FRAC] = l.accumulator_frac_bits
    P[P_UPD_ROUND] = ROUNDING[l.update_rounding]
    P[P_LR_MANT] = lay.lr_mant
    P[P_C_LOG2E] = fx.log2e_scale(thr)
    P[P_C_LOG2E_CNT] = fx.log2e_scale(1)      # softmax of spike counts (rate_ce)
    P[P_C_SG] = lut_index_scale(thr)
    P[P_C_OUT] = int(round((1 << (24 + e)) / thr))
    P[P_RATE_HI] = int(round(RATE_TARGET[0] * (1 << e)))
    P[P_RATE_LO] = int(round(RATE_TARGET[1] * (1 << e)))
    P[P_MIX_CE] = int(round((1 - CE_MSE_MIX) * 256))
    P[P_MIX_MSE] = 256 - P[P_MIX_CE]
    return P


def int_input(cfg: NetworkConfig, profile: Profile, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantize float inputs in [0, 1] for the chip: (X, impulse) int64 arrays (see run_int).

    direct: x_q = min(round(x 2^b), 2^b - 1), trace impulse x_q 2^F / 2^b (nearest);
    rate:   x_q as 8-bit firing probability, impulse 2^F;
    latency: spike step round((1 - x) (T - 1)) for x > 0, never (-1) for x = 0; impulse 2^F.
    """
    b = profile.synapse.input_bits
    F = profile.learning.trace_frac_bits
    x = np.asarray(x, np.float64)
    if cfg.encoder == "direct":
        xq = np.minimum(np.round(x * (1 << b)), (1 << b) - 1).astype(np.int64)
        imp = (xq * (1 << F) + (1 << (b - 1))) >> b
        return xq, imp.astype(np.int64)
    imp = np.full(x.shape, 1 << F, np.int64)
    if cfg.encoder == "rate":
        return np.minimum(np.round(x * 256), 255).astype(np.int64), imp
    steps = np.round((1.0 - x) * (cfg.timesteps - 1)).astype(np.int64)
    return np.where(x > 0, steps, -1), imp


def float_input(cfg: NetworkConfig, x: np.ndarray) -> np.ndarray:
    """Float-reference input: x itself (direct), 8-bit probability (rate, same PRNG stream as the
    chip), or spike step (latency), as float64 values the float kernel interprets per encoder."""
    x = np.asarray(x, np.float64)
    if cfg.encoder == "direct":
        return x
    if cfg.encoder == "rate":
        return np.minimum(np.round(x * 256), 255)
    steps = np.round((1.0 - x) * (cfg.timesteps - 1))
    return np.where(x > 0, steps, -1.0)


__all__ = ["Layout", "pack_int", "pack_common", "int_input", "float_input", "int_layout",
           "surrogate_lut", "NetworkState"]
