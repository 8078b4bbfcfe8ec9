"""Float back ends' shared state, and float OTTT_O / OTTT_A (kernels/ottt_float.py).

:class:`FloatBackend` holds what the float32 reference kernels share (leak factors, the float
parameter vector ``FP``, sWS raw weights, gradient and optimizer moments); :class:`FloatOttt`
runs online training through time on it; :mod:`.bptt` runs backpropagation through time.
"""
from __future__ import annotations

import math

import numpy as np

from ..kernels.ottt_float import (F_B1, F_B2, F_EPS, F_LR, F_MIX, F_MOM, F_OPT, F_RATE_HI,
                                  F_RATE_LO, F_SG_PARAM, F_SWS_GAIN, N_F, run_float)
from ..kernels.pack import float_input, pack_common
from ..kernels.sws import sws_forward
from ..network import CE_MSE_MIX, OPTIMIZERS, RATE_TARGET
from ..surrogate import param_of
from .base import Backend


class FloatBackend(Backend):
    """float32 state shared by float OTTT and BPTT."""

    def __init__(self, cfg, profile, st):
        super().__init__(cfg, profile, st)
        lay = self.lay
        L = cfg.n_layers
        n_all = lay.n_neurons
        n_tr = int(lay.sizes[:-1].sum())
        self.ilay = None
        self.P = pack_common(cfg, profile)
        k_hidden = profile.neuron.leak_shift
        k_r = k_hidden if cfg.readout_leak_shift < 0 else cfg.readout_leak_shift
        ks = [k_hidden] * (L - 1) + [k_r]
        self.lam = np.array([1.0 - 2.0 ** -k if k > 0 else 0.0 for k in ks], np.float32)
        self.FP = np.zeros(N_F, np.float64)
        self.FP[F_LR] = cfg.lr
        self.FP[F_MOM] = cfg.momentum
        self.FP[F_B1], self.FP[F_B2], self.FP[F_EPS] = 0.9, 0.999, 1e-8
        self.FP[F_MIX] = CE_MSE_MIX
        self.FP[F_RATE_HI], self.FP[F_RATE_LO] = RATE_TARGET
        self.FP[F_OPT] = OPTIMIZERS.index(cfg.optimizer)
        self.FP[F_SG_PARAM] = param_of(cfg.surrogate, cfg.surrogate_param)
        # sWS: raw weights V; the network runs on their standardization (kernels/sws.py), whose
        # fixed gain gives every fan-in the norm of the U(-b, b) initialisation (b / sqrt(3))
        self.V = np.zeros(1, self.W.dtype)
        if cfg.sws:
            self.FP[F_SWS_GAIN] = cfg.init_gain / math.sqrt(3.0)
            self.V = self.W[:lay.n_ff].copy()
            sws_forward(self.V, self.W, lay.sizes, lay.woff, self.FP[F_SWS_GAIN])
        self.G = np.zeros_like(self.W)
        self.M1 = np.zeros_like(self.W)
        self.M2 = np.zeros_like(self.W)
        self.opt_step = np.zeros(1, np.int64)
        self.v = np.zeros(n_all, np.float32)
        self.tr = np.zeros(n_tr, np.float32)
        self.trr = np.zeros(n_tr, np.float32)
        self._scratch = [np.zeros(n_all, np.float32) for _ in range(4)]
        self._out = [np.zeros(cfg.sizes[-1], np.float64) for _ in range(3)]

    def prepare(self, x):
        return float_input(self.cfg, x), None

    def optimizer_state(self):
        d = {"M1": self.M1, "M2": self.M2, "step": self.opt_step}
        if self.cfg.sws:
            d["V"] = self.V      # the raw weights under sWS
        return d

    def load_optimizer_state(self, d):
        self.M1[:] = d["M1"]
        self.M2[:] = d["M2"]
        self.opt_step[:] = d["step"]
        if self.cfg.sws:
            self.V[:] = d["V"]
            sws_forward(self.V, self.W, self.lay.sizes, self.lay.woff, self.FP[F_SWS_GAIN])

    def set_lr(self, lr):
        self.FP[F_LR] = lr


class FloatOttt(FloatBackend):
    """Float OTTT_O / OTTT_A."""

    def run(self, xin, y, order, learn, preds):
        X, _ = xin
        s, vpre, g, cur = self._scratch
        outsum, counts, first = self._out
        lay = self.lay
        run_float(X, y, order, self.P, self.FP, lay.sizes, lay.woff, lay.noff, lay.roff, lay.thoff,
                  lay.n_ff, self.lam, self.W, self.V, self.B, self.FB, lay.boff, self.G, self.M1, self.M2,
                  self.v, self.tr, self.trr, s, vpre, g, cur, outsum, counts, first, self.rng,
                  self.opt_step, preds, learn)
