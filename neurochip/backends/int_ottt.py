"""Integer back end: the chip's arithmetic, on-chip OTTT_O / OTTT_A (kernels/ottt_int.py)."""
from __future__ import annotations

import numpy as np

from .. import fixedpoint as fx
from ..kernels.ottt_int import run_int
from ..kernels.pack import P_LR_MANT, int_input, pack_int
from ..network import int_layout
from ..surrogate import surrogate_lut
from .base import Backend


class IntOttt(Backend):
    is_int = True

    def __init__(self, cfg, profile, st):
        super().__init__(cfg, profile, st)
        lay = self.lay
        n_all = lay.n_neurons
        n_tr = int(lay.sizes[:-1].sum())
        self.ilay = int_layout(cfg, profile)
        self.P = pack_int(cfg, profile, self.ilay)
        self.WS = (np.concatenate([w.ravel() for w in st.shadow]) if st.shadow
                   else np.zeros(0, np.int32))
        self.ACC = np.zeros(self.W.shape[0] if cfg.rule == "ottt-a" else 1, np.int32)
        self.lut_exp = fx.exp2_lut()
        self.lut_sg = surrogate_lut(cfg.surrogate, profile.learning.surrogate_bits, cfg.surrogate_param)
        self.v = np.zeros(n_all, np.int64)
        self.tr = np.zeros(n_tr, np.int64)
        self._scratch = [np.zeros(n_all, np.int64) for _ in range(4)]
        self._idx = np.zeros(max(cfg.sizes), np.int64)
        self._rownz = np.zeros(n_all, np.int64)
        self._out = [np.zeros(cfg.sizes[-1], np.int64) for _ in range(3)]

    def prepare(self, x):
        return int_input(self.cfg, self.profile, x)

    def run(self, xin, y, order, learn, preds):
        X, imp = xin
        s, vpre, g, cur = self._scratch
        outsum, counts, first = self._out
        lay, il = self.lay, self.ilay
        run_int(X, imp, y, order, self.P, lay.sizes, lay.woff, lay.noff,
                np.asarray(il.weight_exp, np.int64), np.asarray(il.leak_shift, np.int64),
                np.asarray(il.update_shift, np.int64), np.asarray(il.q, np.int64),
                self.W, self.WS, self.B, self.FB, lay.boff, self.ACC, self.lut_exp, self.lut_sg,
                self.v, self.tr, s, vpre, g, cur, self._idx, self._rownz, outsum, counts, first, self.rng,
                self.sat, self.ops, preds, learn)

    def shadow_flat(self):
        return self.WS if self.WS.shape[0] else None

    def set_lr(self, lr):
        self.ilay = int_layout(self.cfg, self.profile, lr)
        self.P[P_LR_MANT] = self.ilay.lr_mant
