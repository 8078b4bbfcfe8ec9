"""Typed parameters and state of the float kernels (float OTTT, BPTT), as numba-compiled tuples.

The kernels read ``net.lam``, ``learn.lr``, ``params.W``, ``state.v`` instead of positional
arrays and slots of a parameter vector. ``typing.NamedTuple`` compiles under ``@njit(cache=True)``:
numba types each field from its value, so the builder (kernels/pack_float.py) keeps every field's
type fixed (Python int, float, bool, or an array of a fixed dtype) and one compiled kernel serves
every network. Changing a value (``learn._replace(lr=...)``) needs no recompilation.

* :class:`FloatNet`    the network: coding, LIF dynamics per layer, layout (kernels/pack.Layout)
* :class:`FloatLearn`  learning: loss, surrogate, rule, feedback, optimizer hyper-parameters
* :class:`FloatParams` learned parameters (flat like W: feed-forward, recurrent, thresholds), the
                       fixed biases and feedback, the gradient buffer and the optimizer's moments
* :class:`FloatState`  neuron state and scratch of the OTTT kernel, the PRNG states
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class FloatNet(NamedTuple):
    T: int                  # time steps per sample
    enc: int                # input encoder (network.ENCODERS): 0 direct, 1 rate, 2 latency
    decoder: int            # kernels/decode.py code
    spiking_out: bool       # the readout spikes (spiking) or integrates (integrator)
    reset_sub: bool         # reset by subtracting the threshold (else to zero)
    ge: bool                # spike when u >= theta (else u > theta)
    lam: np.ndarray         # leak factor of neuron layer l + 1 at [l] (the readout's may differ)
    sizes: np.ndarray       # int64[L + 1]
    woff: np.ndarray        # start of W_l in params.W
    noff: np.ndarray        # start of neuron layer l in the per-neuron arrays
    boff: np.ndarray        # start of B_l (feedback to hidden layer l + 1) in params.FB
    roff: np.ndarray        # start of R_l (recurrent weights of neuron layer l) in params.W, -1: none
    thoff: int              # start of the thresholds (layers 1..L) in params.W, -1: fixed at 1
    n_ff: int               # the feed-forward weights are params.W[:n_ff]


class FloatLearn(NamedTuple):
    loss: int               # kernels/losses.py code
    mix: float              # weight of MSE in ce_mse
    rate_hi: float          # target firing rate of the label output (spiking readout)
    rate_lo: float          # ... of the other outputs
    surr: int               # surrogate code (surrogate.SURROGATE_CODES)
    sg_param: float         # its parameter
    rule_a: bool            # OTTT_A: one optimizer step per sample (else every step: OTTT_O)
    random_fb: bool         # hidden errors through fixed random feedback (else transposed weights)
    opt: int                # network.OPTIMIZERS: 0 sgd, 1 momentum, 2 adam
    lr: float
    momentum: float
    beta1: float
    beta2: float
    eps: float
    sws_gain: float         # > 0: scaled weight standardization with this gain (kernels/sws.py)


class FloatParams(NamedTuple):
    W: np.ndarray           # learned parameters, flat (FloatNet offsets)
    V: np.ndarray           # raw feed-forward weights under sWS (else a 1-element placeholder)
    B: np.ndarray           # biases, flat over neuron layers 1..L
    FB: np.ndarray          # fixed random feedback, flat (FloatNet.boff)
    G: np.ndarray           # gradient buffer, flat like W
    M1: np.ndarray          # optimizer moments, flat like W
    M2: np.ndarray
    step: np.ndarray        # int64[1]: optimizer steps taken (Adam's bias correction)


class FloatState(NamedTuple):
    v: np.ndarray           # membranes after reset, every neuron (layer 0 unused)
    tr: np.ndarray          # presynaptic traces of layers 0..L-1
    trr: np.ndarray         # traces of the recurrent inputs s_l[t-1] (layers with R_l)
    s: np.ndarray           # spikes (layer 0: input values)
    vpre: np.ndarray        # pre-reset membranes
    g: np.ndarray           # dL/du per neuron at this step
    cur: np.ndarray         # input currents; the output error reuses the readout's slots
    outsum: np.ndarray      # float64[n_out] readout membrane summed over the window
    counts: np.ndarray      # float64[n_out] readout spike counts
    first: np.ndarray       # float64[n_out] step of the first readout spike (T: none)
    rng: np.ndarray         # int64[2]: learning and encoder PRNG states (fixedpoint.rand_bits)
