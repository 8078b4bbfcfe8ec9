"""Packing a network (config + profile + state) into what the numba kernels take.

Kernels never see strings or Python objects: every list of matrices becomes one flat array with
offsets (:class:`Layout`). The integer kernels take typed tuples (kernels/state.py) built by
:func:`int_kernel_params`; the float kernels take the choices they share as integers in a small
vector ``P`` (:func:`pack_common`, indices below).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import fixedpoint as fx
from ..network import (CE_MSE_MIX, ENCODERS, RASTER_ENCODERS, FEEDBACK, LOSSES, RATE_TARGET, READOUTS, RULES,
                       IntLayout, NetworkConfig, NetworkState, int_layout)
from ..profile import COMPARE, LEAK_ROUNDING, OVERFLOW, RESET, ROUNDING, Profile
from ..surrogate import SPIKE_OPERATOR, SURROGATE_CODES, lut_index_scale, surrogate_lut
from .decode import decoder_code
from .state import G_NCONN, G_PW, GEOM, IntNet, LearnParams, LifLayers, RunParams

# the float kernels' choice vector (the integer kernels read kernels/state.py tuples instead)
(P_T, P_ENC, P_READOUT, P_LOSS, P_FEEDBACK, P_RULE, P_RESET, P_COMPARE, P_SURR, P_DEC, N_P) = range(11)


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
    def of(cls, sizes, recurrent: bool = False, learn_threshold: bool = False, nweights=None) -> "Layout":
        """``nweights``: weights per layer when not all layers are dense (neurochip/layers.py)."""
        sizes = np.asarray(sizes, np.int64)
        L = len(sizes) - 1
        nw = ([int(sizes[l] * sizes[l + 1]) for l in range(L)] if nweights is None
              else [int(x) for x in nweights])
        woff = np.zeros(L, np.int64)
        noff = np.zeros(L + 1, np.int64)
        boff = np.zeros(max(L - 1, 1), np.int64)
        for l in range(1, L):
            woff[l] = woff[l - 1] + nw[l - 1]
        for l in range(1, L + 1):
            noff[l] = noff[l - 1] + sizes[l - 1]
        for l in range(1, L - 1):
            boff[l] = boff[l - 1] + sizes[l] * sizes[-1]
        n = int(woff[L - 1] + nw[L - 1])
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


def narrow_layers(cfg: NetworkConfig, profile: Profile, in_max: int, W: np.ndarray, lay: Layout) -> np.ndarray:
    """bool[L]: layer l's weighted sums provably fit int32 (kernels/dense.py accumulates them so).

    Bound: max |input value| x n_pre x max |W_l|, where max |W_l| covers the current weights and
    every value the learner can write (inference weights stay within the profile's weight width);
    ``in_max`` is the largest |value| of the prepared input X (layer 0 under direct encoding)."""
    L = cfg.n_layers
    w_lim = 1 << (profile.synapse.weight_bits - 1)
    out = np.zeros(L, np.bool_)
    for l in range(L):
        n_pre, n_post = cfg.sizes[l], cfg.sizes[l + 1]
        w = W[lay.woff[l]: lay.woff[l] + n_pre * n_post]
        wmax = max(int(w.max()) if w.size else 0, -int(w.min()) if w.size else 0, w_lim)
        if l == 0 and cfg.encoder == "direct":
            x_max = max(int(in_max), 1)
        elif l == 0 and cfg.encoder == "raster":
            x_max = (1 << profile.synapse.input_bits) - 1      # graded x_q from the raster table
        else:
            x_max = 1
        out[l] = x_max * n_pre * wmax < (1 << 31)
    return out


#: the int8 range: a layer whose weights all lie in it may be read from an int8 copy
I8_MIN, I8_MAX = -128, 127


def int8_weights(cfg: NetworkConfig, W: np.ndarray, lay: Layout) -> tuple[np.ndarray, np.ndarray]:
    """(W8, w8) of :class:`~neurochip.kernels.state.Weights` for an inference call: ``w8[l]`` is
    True for the dense layers every one of whose current weights lies in [-128, 127] (checked on the
    values, not on the profile's weight width), and W8 is W's int8 copy in those layers (zeros
    elsewhere; empty if no layer qualifies). kernels/dense.py's spike row adds then read a quarter
    of the bytes; the sums are the same integers."""
    from ..layers import DENSE

    L = cfg.n_layers
    w8 = np.zeros(L, np.bool_)
    for l, spec in enumerate(cfg.layers):
        if spec.kind != DENSE:
            continue
        w = W[lay.woff[l]: lay.woff[l] + cfg.sizes[l] * cfg.sizes[l + 1]]
        w8[l] = w.size > 0 and int(w.min()) >= I8_MIN and int(w.max()) <= I8_MAX
    if not w8.any():
        return np.zeros(0, np.int8), w8
    W8 = np.zeros(W.shape[0], np.int8)
    for l in np.flatnonzero(w8):
        a = lay.woff[l]
        b = a + cfg.sizes[l] * cfg.sizes[l + 1]
        W8[a:b] = W[a:b]
    return W8, w8


def layer_geometry(layers, q=None) -> np.ndarray:
    """int64[L, GEOM] (kernels/state.py G_* columns): the image geometry of conv and pool layers
    and their number of real (inside the padded input) connections; zeros for dense layers."""
    from ..layers import CONV, POOL, n_connections
    g = np.zeros((len(layers), GEOM), np.int64)
    for l, lay in enumerate(layers):
        if lay.kind not in (CONV, POOL):
            continue
        (ci, hi, wi), (co, ho, wo) = lay.in_shape, lay.out_shape
        g[l, :G_NCONN] = (ci, hi, wi, co, ho, wo, lay.kernel, lay.stride, lay.padding)
        g[l, G_NCONN] = n_connections(lay)      # NeuroBench Dense ops per step
        if lay.kind == POOL and q is not None:
            g[l, G_PW] = 1 << (int(q[l]) - lay.shift)     # the pool's fixed weight mantissa
    return g


def int_kernel_params(cfg: NetworkConfig, profile: Profile, ilay: IntLayout, lay: Layout):
    """(IntNet, LifLayers, LearnParams, RunParams) of the integer kernels (kernels/state.py).

    ``IntNet.narrow`` starts all False: :func:`narrow_layers` sets it per call from the input."""
    n, s, l = profile.neuron, profile.synapse, profile.learning
    thr = n.threshold_membrane
    e = l.error_frac_bits
    L = cfg.n_layers
    layers = cfg.layers
    net = IntNet(kind=np.array([layer.kind for layer in layers], np.int64), sizes=lay.sizes,
                 woff=lay.woff, noff=lay.noff, boff=lay.boff, narrow=np.zeros(L, np.bool_),
                 geom=layer_geometry(layers, ilay.q))
    lifs = LifLayers(thr=int(thr), leak_mode=LEAK_ROUNDING[n.leak_rounding], in_shift=int(n.input_shift),
                     cur_bits=int(n.current_bits), cur_wrap=OVERFLOW[n.current_overflow] == 0,
                     mem_bits=int(n.membrane_bits), reset_sub=RESET[n.reset] == 1,
                     ge=COMPARE[n.compare] == 1, spiking_out=cfg.readout == "spiking",
                     leak_shift=np.asarray(ilay.leak_shift, np.int64),
                     weight_exp=np.asarray(ilay.weight_exp, np.int64),
                     cur_leak=np.array([layer.k_u for layer in layers], np.int64))
    lrn = LearnParams(tr_bits=int(l.trace_bits), tr_frac=int(l.trace_frac_bits),
                      tr_sto=l.trace_rounding == "stochastic", err_bits=int(l.error_bits), err_frac=int(e),
                      sg_bits=int(l.surrogate_bits), c_sg=int(lut_index_scale(thr)),
                      spike_op=SURROGATE_CODES[cfg.surrogate] == SPIKE_OPERATOR,
                      upd_round=ROUNDING[l.update_rounding], lr_mant=int(ilay.lr_mant),
                      rule_a=cfg.rule == "ottt-a", acc_bits=int(l.accumulator_bits),
                      acc_frac=int(l.accumulator_frac_bits), w_bits=int(ilay.learn_bits),
                      shadow=int(ilay.shadow_extra), random_fb=cfg.feedback == "random",
                      update_shift=np.asarray(ilay.update_shift, np.int64),
                      qerr=np.asarray(ilay.q, np.int64),
                      tr_ku=np.array([layer.k_u if cfg.cuba_trace == "exact" and layer.learned else 0
                                     for layer in layers], np.int64))
    mix_ce = int(round((1 - CE_MSE_MIX) * 256))
    rp = RunParams(T=int(cfg.timesteps), enc=ENCODERS.index(cfg.encoder), loss=LOSSES.index(cfg.loss),
                   dec=decoder_code(cfg), c_log2e=fx.log2e_scale(thr),
                   c_log2e_cnt=fx.log2e_scale(1),      # softmax of spike counts (rate_ce)
                   c_out=int(round((1 << (24 + e)) / thr)), mix_ce=mix_ce, mix_mse=256 - mix_ce,
                   rate_hi=int(round(RATE_TARGET[0] * (1 << e))), rate_lo=int(round(RATE_TARGET[1] * (1 << e))))
    return net, lifs, lrn, rp


def int_input(cfg: NetworkConfig, profile: Profile, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantize inputs for the chip: (X, impulse) int64 arrays (see run_int).

    Static inputs, float in [0, 1], shape (n, features):
    direct: x_q = min(round(x 2^b), 2^b - 1), trace impulse x_q 2^F / 2^b (nearest);
    rate:   x_q as 8-bit firing probability, impulse 2^F;
    latency: spike step round((1 - x) (T - 1)) for x > 0, never (-1) for x = 0; impulse 2^F.

    Per-step inputs (encoders raster, raster-spikes), non-negative integer counts of shape
    (n, T, features): see :func:`raster_input`.
    """
    if cfg.encoder in RASTER_ENCODERS:
        return raster_input(cfg, profile, x)
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


def raster_table(cfg: NetworkConfig, profile: Profile, n_values: int) -> np.ndarray:
    """int64 (2, n_values): the chip's layer-0 value (row 0) and trace impulse (row 1) of a raster
    entry c = 0..n_values-1.

    raster (graded, like direct encoding): ``x_q = min(round(min(c, N) 2^b / N), 2^b - 1)`` with
    N = ``cfg.input_full_scale``, impulse ``(x_q 2^F + 2^(b-1)) >> b``;
    raster-spikes: a spike (1) for c > 0, impulse 2^F."""
    b = profile.synapse.input_bits
    F = profile.learning.trace_frac_bits
    c = np.arange(n_values, dtype=np.int64)
    tab = np.zeros((2, n_values), np.int64)
    if cfg.encoder == "raster":
        N = cfg.input_full_scale
        xq = np.minimum((np.minimum(c, N) * (1 << (b + 1)) + N) // (2 * N), (1 << b) - 1)
        tab[0] = xq
        tab[1] = (xq * (1 << F) + (1 << (b - 1))) >> b
    else:
        tab[0] = c > 0
        tab[1] = np.where(c > 0, 1 << F, 0)
    return tab


def raster_view(cfg: NetworkConfig, x: np.ndarray) -> np.ndarray:
    """The per-step input (n, T, features...) as the kernels read it: (n, T * features), row t of
    sample n at columns ``t * features ..``; a view when x is C-contiguous (uint8/uint16 kept)."""
    x = np.asarray(x)
    n = x.shape[0]
    if x.dtype not in (np.uint8, np.uint16):
        x = x.astype(np.uint16 if x.size and x.max() > 255 else np.uint8)
    return np.ascontiguousarray(x).reshape(n, -1)


def raster_input(cfg: NetworkConfig, profile: Profile, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-step integer input (n, T, features): (the (n, T * features) view, :func:`raster_table`)."""
    X = raster_view(cfg, x)
    return X, raster_table(cfg, profile, 256 if X.dtype == np.uint8 else 65536)


def float_input(cfg: NetworkConfig, x: np.ndarray) -> np.ndarray:
    """Float-reference input: x itself (direct), 8-bit probability (rate, same PRNG stream as the
    chip), or spike step (latency), as float64 values the float kernel interprets per encoder;
    per-step inputs (raster encoders): the (n, T * features) view of :func:`raster_view` (the
    kernel scales counts by ``1 / input_full_scale``)."""
    if cfg.encoder in RASTER_ENCODERS:
        return raster_view(cfg, x)
    x = np.asarray(x, np.float64)
    if cfg.encoder == "direct":
        return x
    if cfg.encoder == "rate":
        return np.minimum(np.round(x * 256), 255)
    steps = np.round((1.0 - x) * (cfg.timesteps - 1))
    return np.where(x > 0, steps, -1.0)


__all__ = ["Layout", "int_kernel_params", "narrow_layers", "int8_weights", "I8_MIN", "I8_MAX", "pack_common",
           "int_input", "float_input", "raster_input", "raster_table", "raster_view", "int_layout",
           "surrogate_lut", "NetworkState"]
