"""Float back end: backpropagation through time (kernels/bptt_float.py), the reference system."""
from __future__ import annotations

from ..kernels.bptt_float import run_bptt
from .float_ottt import FloatBackend


class Bptt(FloatBackend):
    def run(self, xin, y, order, learn, preds):
        X, _ = xin
        lay = self.lay
        self.tape_bytes = run_bptt(X, y, order, self.P, self.FP, lay.sizes, lay.woff, lay.noff, lay.roff,
                                   lay.thoff, lay.n_ff, self.lam, self.W, self.V, self.B, self.G, self.M1,
                                   self.M2, self.rng, self.opt_step, preds, learn, self.cfg.detach_reset, False)
