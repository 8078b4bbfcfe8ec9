"""The engine: one network's arrays, ready for the numba kernels, for either precision.

A facade over one back end per precision and rule (:mod:`neurochip.backends`).

It owns everything that changes while a network runs (weights, PRNG states, optimizer moments,
counters) and turns the kernels' flat arrays back into per-layer matrices for checkpoints and
export. ``Engine.run(x, y, order, learn)`` is the only entry to the kernels.
"""
from __future__ import annotations

import math

import numpy as np

from .backends import Backend, backend_for
from .errors import NeurochipError
from .network import NetworkConfig, NetworkState, init_state
from .profile import Profile


def _forward(name: str, doc: str) -> property:
    """A facade attribute that reads and writes the back end's array or value ``name``."""
    return property(lambda self: getattr(self.backend, name),
                    lambda self, value: setattr(self.backend, name, value), doc=doc)


class Engine:
    """One network's running state behind one interface; the arithmetic is the back end's
    (:mod:`neurochip.backends`: integer OTTT, float OTTT, BPTT), chosen from the config."""

    def __init__(self, cfg: NetworkConfig, profile: Profile, state: NetworkState | None = None):
        self.profile = profile.require_simulation()
        st = state if state is not None else init_state(cfg, profile)
        _check_extras(cfg, st)
        self.backend: Backend = backend_for(cfg, self.profile, st)
        self.is_int = self.backend.is_int

    # the back end's arrays, by name (kernels mutate them in place)
    cfg = _forward("cfg", "the network configuration")
    lay = _forward("lay", "flat offsets (kernels/pack.Layout)")
    W = _forward("W", "flat parameters: feed-forward weights, recurrent weights, thresholds")
    B = _forward("B", "flat biases of neuron layers 1..L")
    FB = _forward("FB", "flat fixed random feedback matrices")
    P = _forward("P", "float back ends: packed choices (kernels/pack.pack_common)")
    rng = _forward("rng", "int64[2]: learning and encoder PRNG states")
    sat = _forward("sat", "saturation counters (counters.py)")
    ops = _forward("ops", "operation counters (counters.py)")
    v = _forward("v", "membranes, flat over neuron layers")
    tr = _forward("tr", "presynaptic traces, flat over layers 0..L-1")
    ilay = _forward("ilay", "integer layout (network.IntLayout), None for float")
    tape_bytes = _forward("tape_bytes", "BPTT: bytes of the last sample's forward tape")

    def __getattr__(self, name):
        # back-end specific arrays (ACC, WS, lut_sg, FP, lam, V, M1...): read-only pass-through
        if name == "backend":
            raise AttributeError(name)
        return getattr(self.backend, name)

    # ---- inputs ----------------------------------------------------------------------------
    def prepare(self, x: np.ndarray):
        """Encode float inputs in [0, 1] for this engine (quantized for the chip)."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.cfg.sizes[0]:
            raise NeurochipError(f"input must have shape (n, {self.cfg.sizes[0]}), got {x.shape}")
        if not np.isfinite(x).all():
            raise NeurochipError("input contains NaN or inf")
        return self.backend.prepare(x)

    # ---- running ---------------------------------------------------------------------------
    def run(self, xin, y: np.ndarray, order: np.ndarray, learn: bool) -> np.ndarray:
        """Run samples ``order`` of prepared input ``xin`` (from :meth:`prepare`)."""
        y = np.ascontiguousarray(y, np.int64)
        order = np.ascontiguousarray(order, np.int64)
        preds = np.zeros(order.shape[0], np.int64)
        self.backend.run(xin, y, order, learn, preds)
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
        ws = self.backend.shadow_flat()
        return self._split(ws) if ws is not None else None

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
        return self.backend.optimizer_state()

    def load_optimizer_state(self, d: dict[str, np.ndarray]) -> None:
        self.backend.load_optimizer_state(d)

    def set_lr(self, lr: float) -> None:
        """Reprogram the learning rate (between epochs: the schedule in network.lr_at)."""
        self.backend.set_lr(lr)

    def set_decoder(self, decoder: str) -> None:
        """Decode predictions another way (kernels/decode.py); the network itself is unchanged."""
        import dataclasses

        self.backend.set_decoder(dataclasses.replace(self.cfg, decoder=decoder))

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
