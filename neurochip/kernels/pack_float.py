"""Building the float kernels' typed tuples (kernels/float_types.py) from a network.

Every field gets a fixed type (Python int, float, bool; arrays of fixed dtype), so the cached
compiled kernels serve every network and option without recompiling.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..network import CE_MSE_MIX, ENCODERS, LOSSES, OPTIMIZERS, RATE_TARGET, NetworkConfig
from ..profile import COMPARE, RESET, Profile
from ..surrogate import SURROGATE_CODES, param_of
from .decode import decoder_code
from .float_types import FloatLearn, FloatNet, FloatParams, FloatState
from .pack import Layout
from .sws import sws_forward

ADAM = (0.9, 0.999, 1e-8)   # beta1, beta2, eps


def float_leaks(cfg: NetworkConfig, profile: Profile) -> np.ndarray:
    """lambda = 1 - 2^-k of neuron layers 1..L (float32): the profile's leak shift, the readout's
    own when the config sets one; k = 0 is no memory (lambda = 0)."""
    k_hidden = profile.neuron.leak_shift
    k_r = k_hidden if cfg.readout_leak_shift < 0 else cfg.readout_leak_shift
    ks = [k_hidden] * (cfg.n_layers - 1) + [k_r]
    return np.array([1.0 - 2.0 ** -k if k > 0 else 0.0 for k in ks], np.float32)


def float_net(cfg: NetworkConfig, profile: Profile, lay: Layout) -> FloatNet:
    return FloatNet(T=int(cfg.timesteps), enc=ENCODERS.index(cfg.encoder), decoder=int(decoder_code(cfg)),
                    spiking_out=cfg.readout == "spiking", reset_sub=RESET[profile.neuron.reset] == 1,
                    ge=COMPARE[profile.neuron.compare] == 1, lam=float_leaks(cfg, profile),
                    sizes=lay.sizes, woff=lay.woff, noff=lay.noff, boff=lay.boff, roff=lay.roff,
                    thoff=int(lay.thoff), n_ff=int(lay.n_ff))


def float_learn(cfg: NetworkConfig) -> FloatLearn:
    b1, b2, eps = ADAM
    return FloatLearn(loss=LOSSES.index(cfg.loss), mix=float(CE_MSE_MIX), rate_hi=float(RATE_TARGET[0]),
                      rate_lo=float(RATE_TARGET[1]), surr=int(SURROGATE_CODES[cfg.surrogate]),
                      sg_param=float(param_of(cfg.surrogate, cfg.surrogate_param)),
                      rule_a=cfg.rule == "ottt-a", random_fb=cfg.feedback == "random",
                      opt=OPTIMIZERS.index(cfg.optimizer), lr=float(cfg.lr), momentum=float(cfg.momentum),
                      beta1=b1, beta2=b2, eps=eps,
                      # sWS's fixed gain gives every fan-in the norm of the U(-b, b) init (b / sqrt(3))
                      sws_gain=float(cfg.init_gain / math.sqrt(3.0)) if cfg.sws else 0.0)


@dataclass
class FloatKernel:
    """The four tuples a float kernel takes, ``run_float(X, Y, order, *fk.args, preds, learn)``.
    The arrays are shared with the engine (updated in place); the hyper-parameters are replaced."""
    net: FloatNet
    learn: FloatLearn
    params: FloatParams
    state: FloatState

    @property
    def args(self) -> tuple:
        return self.net, self.learn, self.params, self.state

    def set_lr(self, lr: float) -> None:
        self.learn = self.learn._replace(lr=float(lr))

    def set_decoder(self, code: int) -> None:
        self.net = self.net._replace(decoder=int(code))


def float_kernel(cfg: NetworkConfig, profile: Profile, lay: Layout, W: np.ndarray, B: np.ndarray,
                 FB: np.ndarray, rng: np.ndarray) -> FloatKernel:
    """Tuples for the network with flat parameters W (feed-forward, recurrent, thresholds; float32),
    biases B, feedback FB and PRNG states rng (all used in place, not copied). Under sWS the raw
    weights V start as W's feed-forward part and W becomes their standardization."""
    net = float_net(cfg, profile, lay)
    lp = float_learn(cfg)
    V = np.zeros(1, W.dtype)
    if cfg.sws:
        V = W[:lay.n_ff].copy()
        sws_forward(V, W, lay.sizes, lay.woff, lp.sws_gain)
    params = FloatParams(W=W, V=V, B=B, FB=FB, G=np.zeros_like(W), M1=np.zeros_like(W),
                         M2=np.zeros_like(W), step=np.zeros(1, np.int64))
    n_all = lay.n_neurons
    n_tr = int(lay.sizes[:-1].sum())
    n_out = int(lay.sizes[-1])
    f32 = lambda n: np.zeros(n, np.float32)  # noqa: E731
    state = FloatState(v=f32(n_all), tr=f32(n_tr), trr=f32(n_tr), s=f32(n_all), vpre=f32(n_all),
                       g=f32(n_all), cur=f32(n_all), outsum=np.zeros(n_out), counts=np.zeros(n_out),
                       first=np.zeros(n_out), rng=rng)
    return FloatKernel(net, lp, params, state)
