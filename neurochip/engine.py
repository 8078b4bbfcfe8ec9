"""The engine: one network's arrays, ready for the numba kernels, for either precision.

It owns everything that changes while a network runs (weights, PRNG states, optimizer moments,
counters) and turns the kernels' flat arrays back into per-layer matrices for checkpoints and
export. ``Engine.run(x, y, order, learn)`` is the only entry to the kernels.
"""
from __future__ import annotations

import math

import numpy as np

from . import fixedpoint as fx
from .counters import new_counters
from .errors import NeurochipError
from .kernels.ottt_float import run_float
from .kernels.pack_float import float_kernel
from .kernels.sws import sws_forward
from .kernels.bptt_float import run_bptt
from .kernels.ottt_int import run_int
from .kernels.decode import decoder_code
from .kernels.pack import P_DEC, P_LR_MANT, Layout, float_input, int_input, pack_common, pack_int
from .network import NetworkConfig, NetworkState, init_state, int_layout
from .profile import Profile
from .surrogate import surrogate_lut


class Engine:
    def __init__(self, cfg: NetworkConfig, profile: Profile, state: NetworkState | None = None):
        self.cfg = cfg
        self.profile = profile.require_simulation()
        self.lay = Layout.of(cfg.sizes, cfg.recurrent, cfg.learn_threshold)
        st = state if state is not None else init_state(cfg, profile)
        self.is_int = cfg.precision == "int"
        lay = self.lay
        L = cfg.n_layers
        _check_extras(cfg, st)
        # one flat parameter vector: feed-forward weights, recurrent weights, thresholds (Layout)
        self.W = np.concatenate([w.ravel() for w in st.weights] + [r.ravel() for r in st.recurrent]
                                + [t.ravel() for t in st.threshold])
        self.B = np.concatenate([b.ravel() for b in st.bias])
        fb = [b.ravel() for b in st.feedback]
        self.FB = np.concatenate(fb) if fb else np.zeros(1, self.W.dtype)
        n_all = lay.n_neurons
        n_tr = int(lay.sizes[:-1].sum())
        self.rng = np.array([fx.seed_state(cfg.seed, 0), fx.seed_state(cfg.seed, 1)], np.int64)
        self.sat, self.ops = new_counters(L)
        self.tape_bytes = 0   # BPTT: bytes of the last sample's forward tape (grows with T)
        if self.is_int:
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
        else:
            self.ilay = None
            self.P = pack_common(cfg, profile)
            # the float kernels' typed tuples (kernels/float_types.py), sharing W, B, FB, rng; sWS:
            # raw weights V, the network runs on their standardization (kernels/sws.py)
            self.fk = fk = float_kernel(cfg, profile, lay, self.W, self.B, self.FB, self.rng)
            p, st = fk.params, fk.state
            self.lam, self.V, self.G, self.M1, self.M2, self.opt_step = fk.net.lam, p.V, p.G, p.M1, p.M2, p.step
            self.v, self.tr, self.trr = st.v, st.tr, st.trr
            self._scratch = [st.s, st.vpre, st.g, st.cur]
            self._out = [st.outsum, st.counts, st.first]

    # ---- inputs ----------------------------------------------------------------------------
    def prepare(self, x: np.ndarray):
        """Encode float inputs in [0, 1] for this engine (quantized for the chip)."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.cfg.sizes[0]:
            raise NeurochipError(f"input must have shape (n, {self.cfg.sizes[0]}), got {x.shape}")
        if not np.isfinite(x).all():
            raise NeurochipError("input contains NaN or inf")
        if self.is_int:
            return int_input(self.cfg, self.profile, x)
        return float_input(self.cfg, x), None

    # ---- running ---------------------------------------------------------------------------
    def run(self, xin, y: np.ndarray, order: np.ndarray, learn: bool) -> np.ndarray:
        """Run samples ``order`` of prepared input ``xin`` (from :meth:`prepare`)."""
        X, imp = xin
        y = np.ascontiguousarray(y, np.int64)
        order = np.ascontiguousarray(order, np.int64)
        preds = np.zeros(order.shape[0], np.int64)
        s, vpre, g, cur = self._scratch
        outsum, counts, first = self._out
        lay = self.lay
        if self.is_int:
            run_int(X, imp, y, order, self.P, lay.sizes, lay.woff, lay.noff,
                    np.asarray(self.ilay.weight_exp, np.int64), np.asarray(self.ilay.leak_shift, np.int64),
                    np.asarray(self.ilay.update_shift, np.int64), np.asarray(self.ilay.q, np.int64),
                    self.W, self.WS, self.B, self.FB, lay.boff, self.ACC, self.lut_exp, self.lut_sg,
                    self.v, self.tr, s, vpre, g, cur, self._idx, self._rownz, outsum, counts, first, self.rng,
                    self.sat, self.ops, preds, learn)
        elif self.cfg.rule == "bptt":
            self.tape_bytes = run_bptt(X, y, order, *self.fk.args, preds, learn, self.cfg.detach_reset, False)
        else:
            run_float(X, y, order, *self.fk.args, preds, learn)
        return preds

    # ---- state out -------------------------------------------------------------------------
    def _split(self, flat: np.ndarray) -> list[np.ndarray]:
        sz = self.cfg.sizes
        return [flat[self.lay.woff[l]: self.lay.woff[l] + sz[l] * sz[l + 1]].reshape(sz[l], sz[l + 1]).copy()
                for l in range(self.cfg.n_layers)]

    def weights(self) -> list[np.ndarray]:
        """Per-layer weight matrices W[l] (n_l x n_{l+1}): int32 mantissas or float32."""
        return self._split(self.W)

    def recurrent(self) -> list[np.ndarray]:
        """Recurrent weights R_l (n_l x n_l, presynaptic-major) of hidden layers 1..L-1 ([] if off)."""
        sz, ro = self.cfg.sizes, self.lay.roff
        return [self.W[ro[l]: ro[l] + sz[l] * sz[l]].reshape(sz[l], sz[l]).copy()
                for l in range(1, self.cfg.n_layers) if ro[l] >= 0]

    def thresholds(self) -> list[np.ndarray]:
        """Learned per-neuron thresholds of layers 1..L in threshold units ([] if fixed at 1)."""
        if self.lay.thoff < 0:
            return []
        out, off = [], self.lay.thoff
        for n in self.cfg.sizes[1:]:
            out.append(self.W[off:off + n].copy())
            off += n
        return out

    def shadow(self) -> list[np.ndarray] | None:
        return self._split(self.WS) if self.is_int and self.WS.shape[0] else None

    def state(self) -> NetworkState:
        sz = self.cfg.sizes
        bias, off = [], 0
        for n in sz[1:]:
            bias.append(self.B[off:off + n].copy())
            off += n
        fb, off = [], 0
        for l in range(1, self.cfg.n_layers):
            k = sz[l] * sz[-1]
            fb.append(self.FB[off:off + k].reshape(sz[l], sz[-1]).copy())
            off += k
        return NetworkState(self.cfg, self.weights(), self.shadow(), bias, fb, self.recurrent(),
                            self.thresholds())

    def optimizer_state(self) -> dict[str, np.ndarray]:
        if self.is_int:
            return {}
        d = {"M1": self.M1, "M2": self.M2, "step": self.opt_step}
        if self.cfg.sws:
            d["V"] = self.V      # the raw weights under sWS
        return d

    def load_optimizer_state(self, d: dict[str, np.ndarray]) -> None:
        if self.is_int:
            return
        self.M1[:] = d["M1"]
        self.M2[:] = d["M2"]
        self.opt_step[:] = d["step"]
        if self.cfg.sws:
            self.V[:] = d["V"]
            sws_forward(self.V, self.W, self.lay.sizes, self.lay.woff, self.fk.learn.sws_gain)

    def set_lr(self, lr: float) -> None:
        """Reprogram the learning rate (between epochs: the schedule in network.lr_at)."""
        if self.is_int:
            self.ilay = int_layout(self.cfg, self.profile, lr)
            self.P[P_LR_MANT] = self.ilay.lr_mant
        else:
            self.fk.set_lr(lr)

    def set_decoder(self, decoder: str) -> None:
        """Decode predictions another way (kernels/decode.py); the network itself is unchanged."""
        import dataclasses

        self.cfg = dataclasses.replace(self.cfg, decoder=decoder)
        self.P[P_DEC] = decoder_code(self.cfg)
        if not self.is_int:
            self.fk.set_decoder(self.P[P_DEC])

    def reset_counters(self) -> None:
        self.sat[:] = 0
        self.ops[:] = 0


def _check_extras(cfg: NetworkConfig, st: NetworkState) -> None:
    """The recurrent weights and thresholds in ``st`` must match the config's options."""
    want_r = [(n, n) for n in cfg.sizes[1:-1]] if cfg.recurrent else []
    if [r.shape for r in st.recurrent] != want_r:
        raise NeurochipError(f"recurrent weights have shapes {[r.shape for r in st.recurrent]}, the config wants {want_r}")
    want_t = [(n,) for n in cfg.sizes[1:]] if cfg.learn_threshold else []
    if [t.shape for t in st.threshold] != want_t:
        raise NeurochipError(f"thresholds have shapes {[t.shape for t in st.threshold]}, the config wants {want_t}")


def warm_up(cfg: NetworkConfig, profile: Profile) -> float:
    """Load (or, on a cold cache, compile) the numba kernels for ``cfg``'s precision; seconds taken.

    Runs one learning sample through a throwaway 2-2-2 network with the same options, so the
    caller's engine and its PRNG states are untouched."""
    import dataclasses
    import time

    t0 = time.perf_counter()
    tiny = dataclasses.replace(cfg, sizes=(2, 2, 2), timesteps=1)
    eng = Engine(tiny, profile)
    eng.run(eng.prepare(np.full((1, 2), 0.5)), np.zeros(1, np.int64), np.zeros(1, np.int64), True)
    return time.perf_counter() - t0


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(pred == y)) if len(y) else math.nan
