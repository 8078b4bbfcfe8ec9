"""Float back end: backpropagation through time (kernels/bptt_float.py), the reference system."""
from __future__ import annotations

from ..kernels.bptt_float import run_bptt
from .float_ottt import FloatBackend


class Bptt(FloatBackend):
    def run(self, xin, y, order, learn, preds):
        self.tape_bytes = run_bptt(xin[0], y, order, *self.fk.args, preds, learn, self.cfg.detach_reset, False)
