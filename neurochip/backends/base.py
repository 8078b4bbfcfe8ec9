"""What every engine back end holds and offers (the protocol :class:`neurochip.engine.Engine` uses).

A back end owns the arrays its kernels mutate: the flat parameter vector ``W`` (feed-forward
weights, recurrent weights, thresholds; offsets in ``lay``), biases ``B``, fixed random feedback
``FB``, the two PRNG states ``rng`` (learning, encoder), counters ``sat``/``ops``, and whatever its
rule needs besides (shadow weights, accumulators, optimizer moments...). The facade reads and
writes these by name.
"""
from __future__ import annotations

import numpy as np

from .. import fixedpoint as fx
from ..counters import new_counters
from ..kernels.decode import decoder_code
from ..kernels.pack import P_DEC, Layout
from ..network import NetworkConfig, NetworkState
from ..profile import Profile


class Backend:
    """Base of the back ends: the arrays every precision shares, and the default (no-op) hooks."""

    is_int = False

    def __init__(self, cfg: NetworkConfig, profile: Profile, st: NetworkState):
        self.cfg = cfg
        self.profile = profile
        self.lay = Layout.of(cfg.sizes, cfg.recurrent, cfg.learn_threshold,
                             [lay.n_weights for lay in cfg.layers] if cfg.arch else None)
        # one flat parameter vector: feed-forward weights, recurrent weights, thresholds (Layout)
        self.W = np.concatenate([w.ravel() for w in st.weights] + [r.ravel() for r in st.recurrent]
                                + [t.ravel() for t in st.threshold])
        self.B = np.concatenate([b.ravel() for b in st.bias])
        fb = [b.ravel() for b in st.feedback]
        self.FB = np.concatenate(fb) if fb else np.zeros(1, self.W.dtype)
        self.rng = np.array([fx.seed_state(cfg.seed, 0), fx.seed_state(cfg.seed, 1)], np.int64)
        self.sat, self.ops = new_counters(cfg.n_layers)
        self.tape_bytes = 0   # BPTT: bytes of the last sample's forward tape (grows with T)

    # ---- protocol ------------------------------------------------------------------------
    def prepare(self, x: np.ndarray):
        """Encode checked float inputs in [0, 1] (shape (n, n_in)) for this back end's kernel."""
        raise NotImplementedError

    def run(self, xin, y: np.ndarray, order: np.ndarray, learn: bool, preds: np.ndarray) -> None:
        """Run samples ``order`` of prepared input ``xin``; predictions into ``preds``."""
        raise NotImplementedError

    def shadow_flat(self) -> np.ndarray | None:
        """Flat shadow (learned) weights, or None when the inference weights are the learned ones."""
        return None

    def optimizer_state(self) -> dict[str, np.ndarray]:
        return {}

    def load_optimizer_state(self, d: dict[str, np.ndarray]) -> None:
        return None

    def set_lr(self, lr: float) -> None:
        raise NotImplementedError

    def set_decoder(self, cfg: NetworkConfig) -> None:
        """Adopt ``cfg`` (the same network with another decoder, kernels/decode.py)."""
        self.cfg = cfg
        self.P[P_DEC] = decoder_code(cfg)
