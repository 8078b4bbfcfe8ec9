"""Integer back end: the chip's arithmetic, on-chip OTTT_O / OTTT_A (kernels/ottt_int.py).

Holds the typed kernel parameters and state (kernels/state.py); rebuilds the immutable parameter
tuples when the learning rate or the decoder changes between calls.
"""
from __future__ import annotations


import numpy as np

from .. import fixedpoint as fx
from .. import parallel
from ..kernels.ottt_int import run_int
from ..kernels.pack import int8_weights, int_input, int_kernel_params, narrow_layers
from ..kernels.state import Counters, NeuronState, Scratch, Weights
from ..layers import CONV, DENSE
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
        m = max(cfg.sizes)
        self.ilay = int_layout(cfg, profile)
        self.WS = (np.concatenate([w.ravel() for w in st.shadow]) if st.shadow
                   else np.zeros(0, np.int32))
        self.ACC = np.zeros(self.W.shape[0] if cfg.rule == "ottt-a" else 1, np.int32)
        self.lut_exp = fx.exp2_lut()
        self.lut_sg = surrogate_lut(cfg.surrogate, profile.learning.surrogate_bits, cfg.surrogate_param)
        self.v = np.zeros(n_all, np.int64)
        self.tr = np.zeros(n_tr, np.int64)
        self._scratch = [np.zeros(n_all, np.int64) for _ in range(4)]
        self._rownz = np.zeros(n_all, np.int64)
        self._out = [np.zeros(cfg.sizes[-1], np.int64) for _ in range(3)]
        self.u = np.zeros(n_all, np.int64)       # CUBA currents (layers with k_u > 0)
        self.trr = np.zeros(n_all, np.int64)     # recurrent layers' own-spike traces
        self.tz = np.zeros(n_tr, np.int64)       # CUBA layers' current traces (exact trace, kernels/trace.py)
        self.trz = np.zeros(n_all, np.int64)
        self._wacc = np.zeros(max([lay.n_weights for lay in cfg.layers if lay.kind == CONV], default=1), np.int64)
        self._params_key = self._narrow_key = None
        self._row = (np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m, np.int64),
                     np.zeros(m, np.int64), np.zeros(m, np.int64), np.zeros(m, np.int32))

    def kernel_params(self):
        """(IntNet, LifLayers, LearnParams, RunParams) for the current config and layout (rebuilt
        when either changes: set_lr, set_decoder, or a caller replacing ``ilay``)."""
        key = (self.cfg, self.ilay)
        if self._params_key != key:
            self._params = int_kernel_params(self.cfg, self.profile, self.ilay, self.lay)
            self._params_key = key
        return self._params

    def _narrow(self, X):
        """IntNet.narrow for input X and the current weights (kernels/pack.narrow_layers); the
        input's largest value is cached per input array."""
        key = (id(X), X.shape)
        if self._narrow_key != key:
            self._in_max = int(np.abs(X).max()) if X.size else 0
            self._narrow_key = key
            self._narrow_X = X           # keeps id(X) from being reused while cached
        return narrow_layers(self.cfg, self.profile, self._in_max, self.W, self.lay)

    def kernel_weights(self, learn):
        """Weights (kernels/state.py) for one kernel call. Inference also gets W's int8 copy in the
        dense layers whose weights all fit int8 (kernels/pack.int8_weights: rebuilt per call, since
        W may have changed in place since the last one); learning changes W every sample and keeps
        reading it alone."""
        if learn:
            W8, w8 = np.zeros(0, np.int8), np.zeros(self.cfg.n_layers, np.bool_)
        else:
            W8, w8 = int8_weights(self.cfg, self.W, self.lay)
        return Weights(self.W, self.WS, self.B, self.FB, self.ACC, W8, w8)

    def prepare(self, x):
        return int_input(self.cfg, self.profile, x)

    def run(self, xin, y, order, learn, preds):
        X, imp = xin
        net, lifs, lrn, rp = self.kernel_params()
        net = net._replace(narrow=self._narrow(X))
        s, vpre, g, cur = self._scratch
        outsum, counts, first = self._out
        idx, gneg, jdx, aval, mult, dbuf, c32 = self._row
        wts = self.kernel_weights(learn)
        st = NeuronState(self.v, s, vpre, cur, g, self.tr, self.rng, self.u, self.trr, self.tz, self.trz)
        sc = Scratch(idx, gneg, jdx, aval, mult, dbuf, c32, self._rownz, outsum, counts, first, self.lut_exp, self.lut_sg,
                     self._wacc)
        cnt = Counters(self.sat, self.ops)
        nthr = parallel.threads()
        if learn or nthr < 2 or order.shape[0] < 2:
            # samples in order; a sample's conv layers split over the threads (bit-identical)
            run_int(X, imp, y, order, learn, net._replace(chunks=parallel.kernel_chunks(nthr)), lifs, lrn, rp, wts,
                    st, sc, cnt, preds)
            return
        # inference: samples are independent (neurochip/parallel.py); part [a, b) starts the encoder
        # stream where the serial run would be after the samples before it. Parts are taken by
        # whichever thread is free (parallel.run_chunks); each worker has its own padded state,
        # scratch and counters, made in its thread on its first part, except that the part holding
        # the last sample runs on the caller's state and scratch, so the state left behind is the
        # serial run's. Kernels run serially in each of these threads (IntNet.chunks = 1)
        per_sample = rp.T * X.shape[1] if rp.enc == 1 else 0
        r0 = int(self.rng[1])
        pc = parallel.private_copy
        mine = {}

        def chunk(w, a, b, last):
            if w not in mine:
                mine[w] = (NeuronState(*(pc(f) for f in st)), Scratch(*(pc(f) for f in sc)),
                           Counters(pc(self.sat, True), pc(self.ops, True)))
            st_w, sc_w, cnt_w = mine[w]
            st_c, sc_c = (st, sc) if last else (st_w, sc_w)
            st_c.rng[1] = parallel.jump(r0, a * per_sample)
            run_int(X, imp, y, order[a:b], False, net, lifs, lrn, rp, wts, st_c, sc_c, cnt_w, preds[a:b])

        parallel.run_chunks(order.shape[0], nthr, chunk)
        for _, _, cnt_w in mine.values():
            self.sat += cnt_w.sat
            self.ops += cnt_w.ops

    def shadow_flat(self):
        return self.WS if self.WS.shape[0] else None

    def set_lr(self, lr):
        self.ilay = int_layout(self.cfg, self.profile, lr)

    def set_decoder(self, cfg):
        self.cfg = cfg
