"""neurochip's bit-exact emulation of a Lava learning chain (see :mod:`neurochip.lava.learning_spec`).

:class:`Emulator` packs a :class:`~neurochip.lava.learning_spec.LearnNet` into the tuples of the
numba kernel :func:`neurochip.kernels.lava_engine.lava_learn_run` and runs it in Lava's own time
steps, resumable across calls; :func:`emulate` runs a whole raster at once.
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import NeurochipError
from ..kernels import lava_engine as K
from .learning_spec import (ACC_SHIFT, BAPS, ENCODINGS, FACTORS, MODES, SIGN_MODES, LearnNet, LearnResult,
                            LearningNeuronSpec, RuleSpec, decay_factors, impulse_parts, random_streams,
                            var_written_rule)


def _neuron_params(wexp: int, du: int, dv: int, vth: int, interval: int, offset: int, numw: int, sign: str,
                   nrn: LearningNeuronSpec | None = None, encoding: str = "split") -> np.ndarray:
    P = np.zeros(K.N_PARAMS, np.int64)
    P[K.N_WEXP], P[K.N_DU], P[K.N_DV], P[K.N_VTH] = wexp, du, dv, vth
    P[K.N_RINT], P[K.N_ROFF] = interval, offset
    P[K.N_NUMW], P[K.N_SIGN] = numw, SIGN_MODES[sign]
    if nrn is not None:
        _, c_sg, spop = nrn.lut(vth << 6)
        P[K.N_MODE] = MODES.index(nrn.mode)
        P[K.N_F], P[K.N_SGB], P[K.N_CSG], P[K.N_SPOP] = nrn.err_frac, nrn.sg_bits, c_sg, int(spop)
        P[K.N_ESH], P[K.N_DMAX], P[K.N_BAP] = nrn.err_shift, nrn.delta_max, BAPS[nrn.bap]
        P[K.N_ENC], P[K.N_Y1] = ENCODINGS.index(encoding), nrn.y1_const
        P[K.N_DRND] = int(nrn.delta_rounding == "nearest")
    return P


def _products(rule: RuleSpec):
    prods = rule.all_products()
    n = len(prods)
    PM = np.array([p.mant for p in prods], np.int64)
    PE = np.array([p.exp + ACC_SHIFT for p in prods], np.int64)
    PS = np.array([p.shift for p in prods], np.int64)
    PF = np.full((n, 3), K.F_NONE, np.int64)
    PC = np.zeros((n, 3), np.int64)
    for a, p in enumerate(prods):
        for b, (name, c) in enumerate(p.factors):
            PF[a, b] = FACTORS[name]
            PC[a, b] = c
    return PM, PE, PS, PF, PC


def _layer(W, weight_exp: int, sign_mode: str, numw: int, nrn: LearningNeuronSpec, rule: RuleSpec, bias, interval: int,
           offset: int, max_steps: int) -> tuple:
    """The kernel's learning-layer tuple (see neurochip/kernels/lava_engine.py) of one LearningDense
    with its OTTT neurons."""
    W = np.ascontiguousarray(W, np.int32).copy()
    n_post, n_pre = W.shape
    OP = _neuron_params(weight_exp, nrn.du, nrn.dv, nrn.vth, interval, offset, numw, sign_mode, nrn, rule.encoding)
    b = np.zeros(n_post, np.int64) if bias is None else np.asarray(bias, np.int64).copy()
    lut = nrn.lut(nrn.vth << 6)[0]
    PM, PE, PS, PF, PC = _products(rule)
    LP = np.zeros(K.L_NPARAMS, np.int64)
    LP[K.L_TEPOCH], LP[K.L_K] = rule.t_epoch, rule.uk
    LP[K.L_XTAU] = int(rule.x1_tau != 0)
    LP[K.L_IMPI], LP[K.L_IMPF] = impulse_parts(rule.x1_impulse)
    xf, yf = decay_factors(rule)
    rw = var_written_rule(rule)
    LP[K.L_XTAU_SET] = int(rw.x1_tau != 0)
    LP[K.L_IMPI_SET], LP[K.L_IMPF_SET] = impulse_parts(rw.x1_impulse)
    xf_set = decay_factors(rw)[0]
    rs = random_streams(rule.rng_seed, max_steps, rule.t_epoch)
    n_prod = PM.shape[0]
    return (W, OP, b, lut, PM, PE, PS, PF, PC, LP, np.array([xf, xf_set]), yf, rs.rxd, rs.rxi, rs.ryd, rs.rc,
            np.zeros((2, n_post), np.int64), np.zeros(n_post, np.int64), np.zeros(n_pre, np.int64),
            np.zeros(n_pre, np.int64), np.zeros(n_post, np.int64), np.zeros((3, n_post), np.int64),
            np.zeros((3, n_post), np.int64), np.zeros((n_prod, n_post), np.int64),
            np.zeros((n_prod, n_pre), np.int64), np.zeros(n_pre, np.int64))


class Emulator:
    """neurochip's emulation of one :class:`LearnNet`, resumable across calls (state kept)."""

    def __init__(self, net: LearnNet, max_steps: int, record: bool = True):
        self.net = net
        n_out, n_pre = np.asarray(net.weights).shape
        self.max_steps = max_steps
        oi, oo = net.reset_offset(net.hops)
        self.LO = _layer(net.weights, net.weight_exp, net.sign_mode, net.num_weight_bits, net.neuron, net.rule,
                         net.bias, oi, oo, max_steps)
        hid, hl = net.hidden, net.hidden_learn
        hi, ho = net.reset_offset(1)
        n_h = n_pre if (hid is not None or hl is not None) else 0
        if hid is not None:
            self.hmode = K.H_FIXED
            WhT = np.ascontiguousarray(hid.effective().T, np.int32)      # n_in x n_h, presynaptic-major
            HP = _neuron_params(hid.weight_exp, hid.du, hid.dv, hid.vth, hi, ho, hid.num_weight_bits, hid.sign_mode)
            bh = np.zeros(n_h, np.int64) if hid.bias is None else np.asarray(hid.bias, np.int64).copy()
        else:
            WhT, HP, bh = np.zeros((0, 0), np.int32), np.zeros(K.N_PARAMS, np.int64), np.zeros(0, np.int64)
        self.FH = (WhT, HP, bh, np.zeros((2, n_h if hid is not None else 0), np.int64),
                   np.zeros(n_h if hid is not None else 0, np.int64))
        if hl is not None:
            self.hmode = K.H_LEARN
            self.LH = _layer(hl.weights, hl.weight_exp, hl.sign_mode, hl.num_weight_bits, hl.neuron, hl.rule,
                             hl.bias, hi, ho, max_steps)
            self.FB = (np.ascontiguousarray(hl.effective_feedback(), np.int32),
                       np.array([hl.feedback_exp], np.int64), np.zeros(n_h, np.int64))
            if hl.recurrent is not None:
                # the recurrent LearningDense: its own weights (8-bit), Dense parameters and rule; the
                # neuron part of its tuple is unused (its post neurons are LH's)
                self.hmode = K.H_LEARN_REC
                self.LR = _layer(hl.recurrent, hl.recurrent_exp, hl.recurrent_sign_mode, 8, hl.neuron,
                                 hl.rec_rule(), None, hi, ho, max_steps)
        else:
            # typed placeholders (never touched)
            self.LH = _layer(np.zeros((1, 1), np.int32), 0, "MIXED", 8, LearningNeuronSpec(), RuleSpec(), None, 0, 0, 1)
            self.FB = (np.zeros((0, 0), np.int32), np.zeros(1, np.int64), np.zeros(0, np.int64))
        if hl is None or hl.recurrent is None:
            self.LR = self.LH       # typed placeholder: the kernel touches LR only in H_LEARN_REC
        if hid is None and hl is None:
            self.hmode = K.H_NONE
        rows = max_steps if record else 0
        self.rec_s = np.zeros((rows, n_out), np.uint8)
        self.rec_v = np.zeros((rows, n_out), np.int32)
        hrows = rows if hl is not None else 0
        self.rec_hs = np.zeros((hrows, n_h), np.uint8)
        self.rec_hv = np.zeros((hrows, n_h), np.int32)
        self.counts = np.zeros(8, np.int64)
        self.tau = 0

    @property
    def W(self) -> np.ndarray:
        """The output LearningDense's weights (live)."""
        return self.LO[0]

    def run(self, R: np.ndarray, TF: np.ndarray, n_steps: int | None = None) -> float:
        """Run the next ``n_steps`` Lava steps (default: all of R's rows from the current step);
        R and TF are indexed by absolute Lava step (row tau - 1). Returns the kernel's seconds."""
        n_steps = R.shape[0] - self.tau if n_steps is None else int(n_steps)
        if self.tau + n_steps > self.max_steps or R.shape[0] < self.tau + n_steps or TF.shape[0] < self.tau + n_steps:
            raise NeurochipError("emulation: not enough steps prepared (max_steps, input or third-factor rows)")
        R = np.ascontiguousarray(R, np.int32)
        TF = np.ascontiguousarray(TF, np.int32)
        t0 = time.perf_counter()
        K.lava_learn_run(self.tau, n_steps, R, TF, self.hmode, self.FH, self.LH, self.LR, self.LO, self.FB,
                         self.rec_s, self.rec_v, self.rec_hs, self.rec_hv, self.counts)
        self.tau += n_steps
        return time.perf_counter() - t0

    def result(self, seconds: float) -> LearnResult:
        c = self.counts
        res = LearnResult(self.W.copy(), self.rec_s[:self.tau].copy(), self.rec_v[:self.tau].copy(), self.tau,
                          seconds, 0.0, {"synapse_updates": int(c[0]), "weights_changed": int(c[1]),
                                         "rows_skipped": int(c[2]), "hidden_spikes": int(c[3]),
                                         "nonzero_deltas": int(c[4]), "y_decay_events": int(c[5]),
                                         "nonzero_hidden_deltas": int(c[6])})
        if self.hmode == K.H_LEARN_REC:
            res.hidden_recurrent_weights = self.LR[0].copy()
        if self.hmode in (K.H_LEARN, K.H_LEARN_REC):
            res.hidden_weights = self.LH[0].copy()
            res.hidden_spikes = self.rec_hs[:self.tau].copy()
            res.hidden_v = self.rec_hv[:self.tau].copy()
        return res


def emulate(net: LearnNet, R: np.ndarray, TF: np.ndarray, record: bool = True) -> LearnResult:
    """Run the whole input raster R (Lava step tau reads row tau - 1) and third factor TF through
    neurochip's emulation of ``net``'s Lava graph."""
    em = Emulator(net, R.shape[0], record)
    dt = em.run(R, TF)
    return em.result(dt)
