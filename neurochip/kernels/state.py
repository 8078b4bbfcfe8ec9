"""Typed parameters and state of the integer kernels: ``typing.NamedTuple``s that numba compiles.

Host code (:func:`neurochip.kernels.pack.int_kernel_params`) builds them; kernels read fields by name
(``lif.thr``, ``lrn.tr_bits``), never slots of a packed vector. Tuples are immutable: arrays in
them are updated in place, scalars are rebuilt on the host (``_replace``) when a choice changes
between calls (learning rate, decoder). Per-layer values are int64 arrays indexed by weight layer
``l`` (neuron layer ``l + 1``); :func:`lif_of` turns them into one layer's scalar
:class:`LifParams` inside a kernel, so one compiled kernel serves every network depth.

Functional shape (Norse's ``step(x, state, params) -> (out, state)``): scalar steps take the state
value and return the new one (``lif_step(c, v, bias, lif) -> (s, v, v_pre, ...)``, PRNG states are
returned); layer steps update their slices of the state arrays in place, as numba needs for speed.
"""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from ..fixedpoint import NJIT, NJIT_INNER


#: columns of IntNet.geom: input C, H, W; output C, H, W; kernel, stride, padding; valid connections;
#: a pool's fixed weight mantissa (2^(q - shift), network.int_layout)
(G_CIN, G_HIN, G_WIN, G_COUT, G_HOUT, G_WOUT, G_K, G_STRIDE, G_PAD, G_NCONN, G_PW, GEOM) = range(12)


class IntNet(NamedTuple):
    """The layer sequence: kind codes (:mod:`neurochip.layers`) and flat offsets (kernels/pack.Layout)."""
    kind: np.ndarray      # int64[L] layer kind of weight layer l
    sizes: np.ndarray     # int64[L + 1] neurons per layer
    woff: np.ndarray      # int64[L] start of layer l's weights in the flat weight arrays
    noff: np.ndarray      # int64[L + 1] start of neuron layer l in flat per-neuron arrays
    boff: np.ndarray      # int64[max(L - 1, 1)] start of hidden layer l + 1's feedback matrix
    narrow: np.ndarray    # bool[L] weighted sums provably fit int32 (see kernels/dense.py)
    geom: np.ndarray      # int64[L, GEOM] image geometry of conv/pool layers (G_* columns; dense: 0)
    chunks: int = 1       # threads a sample's conv kernels split their outputs over (1: serial;
                          # kernels/conv.py n_chunks, neurochip/parallel.py)


class LifLayers(NamedTuple):
    """LIF parameters of neuron layers 1..L (profile.neuron + the integer layout)."""
    thr: int              # threshold on the membrane scale (threshold << input_shift)
    leak_mode: int        # fixedpoint.leak: 0 floor, 1 toward zero
    in_shift: int         # u = a << in_shift
    cur_bits: int
    cur_wrap: bool        # True: Lava's wrap, False: saturate
    mem_bits: int
    reset_sub: bool       # True: reset by subtraction, False: to zero
    ge: bool              # True: spike on v >= thr, False: v > thr
    spiking_out: bool     # the readout layer fires (spiking readout) or integrates
    leak_shift: np.ndarray   # int64[L] k of neuron layer l + 1
    weight_exp: np.ndarray   # int64[L] Dense weight exponent of weight layer l
    cur_leak: np.ndarray     # int64[L] k_u of neuron layer l + 1 (CUBA current decay; 0: no current memory)


class LifParams(NamedTuple):
    """One neuron layer's LIF parameters (scalars), built in-kernel by :func:`lif_of`."""
    thr: int
    leak_shift: int
    leak_mode: int
    weight_exp: int
    in_shift: int
    cur_bits: int
    cur_wrap: bool
    mem_bits: int
    reset_sub: bool
    ge: bool
    fires: bool           # False: an integrator (the readout): no spike, no reset


class LearnParams(NamedTuple):
    """On-chip OTTT learning (profile.learning + the integer layout)."""
    tr_bits: int
    tr_frac: int
    tr_sto: bool          # stochastic trace decay
    err_bits: int
    err_frac: int
    sg_bits: int
    c_sg: int             # surrogate LUT index scale (surrogate.lut_index_scale)
    spike_op: bool        # spike-operator surrogate (dS/dU = S)
    upd_round: int        # fixedpoint.shift_round mode of the weight update
    lr_mant: int
    rule_a: bool          # OTTT_A (accumulate per sample) instead of OTTT_O
    acc_bits: int
    acc_frac: int
    w_bits: int           # width of the learned weights (shadow if on)
    shadow: int           # shadow bits below the inference weight (0: none)
    random_fb: bool       # fixed random feedback instead of transposed weights
    update_shift: np.ndarray  # int64[L] s of dm = -(g a lr_mant) >> s
    qerr: np.ndarray          # int64[L] fractional bits q of layer l's weights
    tr_ku: np.ndarray         # int64[L] k_u of layer l's current trace (exact CUBA trace, kernels/trace.py); 0: none


class RunParams(NamedTuple):
    """Encoding, loss and decoding."""
    T: int
    enc: int              # 0 direct, 1 rate, 2 latency
    loss: int             # network.LOSSES index
    dec: int              # kernels/decode.py mode
    c_log2e: int
    c_log2e_cnt: int
    c_out: int
    mix_ce: int
    mix_mse: int
    rate_hi: int
    rate_lo: int


class Weights(NamedTuple):
    """Parameters the learner writes (flat, offsets in IntNet)."""
    W: np.ndarray         # int32 inference weights
    WS: np.ndarray        # int32 shadow (learned) weights; empty: none
    B: np.ndarray         # int32 biases of neuron layers 1..L
    FB: np.ndarray        # int32 fixed random feedback (hidden layers, n_l x n_out each)
    ACC: np.ndarray       # int32 OTTT_A accumulators (flat like W), or 1 unused slot
    W8: np.ndarray        # int8 copy of W read by inference spike row adds (kernels/dense.py; flat like
                          # W, zeros in layers not flagged in w8), or empty (learning: W changes)
    w8: np.ndarray        # bool[L] layer l's spike row adds read W8 (every weight of W_l fits int8)


class NeuronState(NamedTuple):
    """Per-neuron state, flat over neuron layers 0..L (offsets noff); traces over 0..L-1."""
    v: np.ndarray         # membranes (after reset)
    s: np.ndarray         # spikes (layer 0: graded input values)
    vpre: np.ndarray      # membranes before reset (surrogate input)
    cur: np.ndarray       # weighted input sums; the output layer's slice also holds its error
    g: np.ndarray         # errors
    tr: np.ndarray        # presynaptic traces
    rng: np.ndarray       # int64[2]: learning PRNG, encoder PRNG (xorshift32 states)
    u: np.ndarray         # CUBA synaptic currents (flat like v; used where k_u > 0)
    trr: np.ndarray       # traces of recurrent layers' own spikes (flat like v; kernels/recurrent.py)
    tz: np.ndarray        # current traces of CUBA layers' inputs (flat like tr; kernels/trace.py cuba_trace_step)
    trz: np.ndarray       # current traces of CUBA recurrent layers' own spikes (flat like trr)


class Scratch(NamedTuple):
    idx: np.ndarray       # int64[max size] indices of non-zero errors
    gneg: np.ndarray      # int64[max size] -(g lr_mant) of those errors
    jdx: np.ndarray       # int64[max size] indices of non-zero traces
    aval: np.ndarray      # int64[max size] those traces
    mult: np.ndarray      # int64[max size] scramble multipliers of those errors (dense.py)
    dbuf: np.ndarray      # int64[max size] one row's rounded updates
    c32: np.ndarray       # int32[max size] narrow weighted sums
    rownz: np.ndarray     # int64[neurons] non-zero weights per presynaptic row (Effective ops)
    outsum: np.ndarray    # readout decoding: integrated membrane,
    counts: np.ndarray    # spike count,
    first: np.ndarray     # first spike step (T: none)
    lut_exp: np.ndarray   # exp2 LUT (fixedpoint.exp2_lut)
    lut_sg: np.ndarray    # surrogate LUT (surrogate.surrogate_lut)
    wacc: np.ndarray      # int64[max shared weights per layer] exact update sums (kernels/conv.py)


class Counters(NamedTuple):
    sat: np.ndarray       # int64[L, len(SAT)] (neurochip.counters)
    ops: np.ndarray       # int64[L, len(OPS)]


@nb.njit(**NJIT_INNER)
def lif_of(lifs, l, last):
    """Scalar LIF parameters of neuron layer l + 1 (``last``: the readout)."""
    return LifParams(lifs.thr, lifs.leak_shift[l], lifs.leak_mode, lifs.weight_exp[l], lifs.in_shift,
                     lifs.cur_bits, lifs.cur_wrap, lifs.mem_bits, lifs.reset_sub, lifs.ge,
                     (not last) or lifs.spiking_out)


__all__ = ["IntNet", "LifLayers", "LifParams", "LearnParams", "RunParams", "Weights", "NeuronState",
           "Scratch", "Counters", "lif_of"]
