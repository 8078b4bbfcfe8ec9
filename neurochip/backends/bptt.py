"""Float back end: backpropagation through time (kernels/bptt_float.py), the reference system."""
from __future__ import annotations

from ..kernels.bptt_float import run_bptt
from .float_ottt import FloatBackend


class Bptt(FloatBackend):
    def run(self, xin, y, order, learn, preds):
        net, lp, prm, st = self.fk.args
        if learn:
            self.tape_bytes = run_bptt(xin[0], y, order, net, lp, prm, st, preds, True, self.cfg.detach_reset, False)
            return
        self.tape_bytes = self.infer(xin[0], order, preds, lambda o, st_c, p: run_bptt(
            xin[0], y, o, net, lp, prm, st_c, p, False, self.cfg.detach_reset, False))
