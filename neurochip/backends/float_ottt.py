"""Float back ends' shared state, and float OTTT_O / OTTT_A (kernels/ottt_float.py).

:class:`FloatBackend` holds what the float32 reference kernels share: the typed tuples of
:mod:`neurochip.kernels.float_types` (built by :func:`neurochip.kernels.pack_float.float_kernel`:
leak factors, learning parameters, sWS raw weights, gradient and optimizer moments, neuron state),
sharing ``W``, ``B``, ``FB`` and ``rng`` with the base. :class:`FloatOttt` runs online training
through time on it; :mod:`.bptt` runs backpropagation through time.
"""
from __future__ import annotations

from .. import parallel
from ..kernels.float_types import FloatState
from ..kernels.ottt_float import run_float
from ..kernels.pack import P_DEC, float_input, pack_common
from ..kernels.pack_float import float_kernel
from ..kernels.sws import sws_forward
from .base import Backend


class FloatBackend(Backend):
    """float32 state shared by float OTTT and BPTT."""

    def __init__(self, cfg, profile, st):
        super().__init__(cfg, profile, st)
        self.ilay = None
        self.P = pack_common(cfg, profile)
        # the float kernels' typed tuples (kernels/float_types.py), sharing W, B, FB, rng; sWS:
        # raw weights V, the network runs on their standardization (kernels/sws.py)
        self.fk = fk = float_kernel(cfg, profile, self.lay, self.W, self.B, self.FB, self.rng)
        p, s = fk.params, fk.state
        self.lam, self.V, self.G, self.M1, self.M2, self.opt_step = fk.net.lam, p.V, p.G, p.M1, p.M2, p.step
        self.v, self.tr, self.trr = s.v, s.tr, s.trr
        self._scratch = [s.s, s.vpre, s.g, s.cur]
        self._out = [s.outsum, s.counts, s.first]

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
            sws_forward(self.V, self.W, self.lay.sizes, self.lay.woff, self.fk.learn.sws_gain)

    def set_lr(self, lr):
        self.fk.set_lr(lr)

    def infer(self, X, order, preds, kernel):
        """``kernel(order_part, state, preds_part)`` over the samples ``order`` (inference), on
        every thread as the integer back end does (neurochip/parallel.py): parts taken by whichever
        thread is free, each starting the encoder stream where the serial run would be
        (``parallel.jump``: T x n_in draws per sample under rate encoding), each worker on its own
        copy of the state, the part holding the last sample on the back end's own state, so the
        state and PRNG left behind are the serial run's. Returns the kernel's result for that last
        part."""
        st = self.fk.state
        N = order.shape[0]
        nthr = parallel.threads()
        if nthr < 2 or N < 2:
            return kernel(order, st, preds)
        net = self.fk.net
        per_sample = net.T * X.shape[1] if net.enc == 1 else 0
        r0 = int(st.rng[1])
        out = []
        mine = {}

        def chunk(w, a, b, last):
            if w not in mine:
                mine[w] = FloatState(*(parallel.private_copy(f) for f in st))
            st_c = st if last else mine[w]
            st_c.rng[1] = parallel.jump(r0, a * per_sample)
            r = kernel(order[a:b], st_c, preds[a:b])
            if last:
                out.append(r)

        parallel.run_chunks(N, nthr, chunk)
        return out[0]

    def set_decoder(self, cfg):
        super().set_decoder(cfg)
        self.fk.set_decoder(self.P[P_DEC])


class FloatOttt(FloatBackend):
    """Float OTTT_O / OTTT_A."""

    def run(self, xin, y, order, learn, preds):
        net, lp, prm, st = self.fk.args
        if learn:
            run_float(xin[0], y, order, net, lp, prm, st, preds, True)
            return
        self.infer(xin[0], order, preds, lambda o, st_c, p: run_float(xin[0], y, o, net, lp, prm, st_c, p, False))
