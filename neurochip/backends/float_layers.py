"""Float OTTT / BPTT reference for layer kinds (kernels/ottt_float_layers.py): SGD, momentum or Adam,
OTTT_O / OTTT_A."""
from __future__ import annotations

from ..kernels.ottt_float_layers import FloatLayerNet
from ..kernels.pack import float_input
from .base import Backend


class FloatLayers(Backend):
    def __init__(self, cfg, profile, st):
        super().__init__(cfg, profile, st)
        self.ilay = None
        self.net = FloatLayerNet(cfg, profile, self.lay, self.W, self.B, self.FB)
        self.G = self.net.G
        self.v = self.tr = self.W[:0]

    def prepare(self, x):
        return float_input(self.cfg, x), None

    def run(self, xin, y, order, learn, preds):
        if learn and self.cfg.rule == "bptt":
            self.net.run_bptt(xin[0], y, order, preds, self.rng)
        else:
            self.net.run(xin[0], y, order, learn, preds, self.rng)

    def optimizer_state(self):
        return {"M1": self.net.M1, "M2": self.net.M2, "step": self.net.step}

    def load_optimizer_state(self, d):
        self.net.M1[:] = d["M1"]
        self.net.M2[:] = d["M2"]
        self.net.step[:] = d["step"]

    def set_lr(self, lr):
        self.net.lr = lr

    def set_decoder(self, cfg):
        self.cfg = cfg
        self.net.cfg = cfg
