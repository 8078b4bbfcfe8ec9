"""On-chip OTTT learning in Lava (lava-nc 0.10.0) and neurochip's bit-exact emulation of it.

The output layer of a spiking network learns with OTTT's online rule (Xiao et al. 2022, eq. 5:
``dW = -eta * delta(t) * x_hat(t)^T``) on Lava's learning engine:

* a ``LearningDense`` (``PyLearningDenseModelBitApproximate``, fixed_pt) with a
  ``Loihi3FLearningRule``: x1 is the presynaptic trace (``x1_tau``, ``x1_impulse``), y2 / y3 carry
  the post neuron's delta, split by sign, and the rule is
  ``dw = "M*2^E*u0*x1*y2 - M*2^E*u0*x1*y3"`` (``docs/design/lava-semantics.md`` §5.5);
* a custom learning neuron, :class:`neurochip.lava.models_learning.ottt_lif.OtttLIF`, that receives
  the target (or an error) on ``a_third_factor_in`` and computes ``delta = surrogate(v) * error``
  in integers;
* optionally a fixed hidden layer in front (stock ``Dense`` + ``LIFReset``: a random projection).

neurochip's side is the numba kernel :func:`neurochip.kernels.lava_engine.lava_learn_run`, which
emulates that graph in Lava's own time steps, including the learning engine's 7-bit traces with
their stochastic decay and impulse rounding, its numpy random streams, the 2^-S product scaling,
the 16-bit accumulator, ``t_epoch``, stochastic weight rounding and the clipping by sign mode.
With the same seed the weights after learning are bit-identical (tests/test_lava_learning.py).

Entry points:

* :class:`LearnNet` (one learning chain: weights, :class:`RuleSpec`, :class:`NeuronSpec`, optional
  :class:`HiddenSpec`), :func:`emulate` (neurochip) and :func:`run_lava_learning` (Lava, several
  chains share one runtime);
* :func:`learn_compare`: trains on digits-like data in both and returns a JSON-serialisable dict
  (differing weights, both accuracies, spike mismatches, timings) for ``neurochip lava learn``.

Time alignment (Lava's, which the emulation reproduces; lava-semantics.md §1, §5.5): input row g is sent at
Lava step g + 1; each Dense hop adds one step, so the output layer processes row g at Lava step
g + 1 + hops. The learning phase of step tau pairs delta(tau) with ``x1(tau) = decay(x1(tau - 1)) +
s_pre(tau)``, while v(tau) was driven by s_pre(tau - 1): one step later than neurochip's native OTTT
kernel pairs them (``neurochip/kernels/ottt_int.py`` pairs delta(t) with the trace including s(t),
the spike that drove v(t)). That is Lava's semantics, not an emulation error; docs/lava_learning.md.

Nothing here imports Lava until a Lava graph is built.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import NeurochipError
from ..kernels import lava_engine as K

#: Lava's accumulator holds W << 7 (W_ACCUMULATOR_S - W_SYN_VAR_S = 16 - 9; constants.py)
ACC_SHIFT = 7
TRACE_MAX = 127
TRACE_BITS = 7
#: lava/magma/core/learning/constants.py W_S_MANT, W_ACCUMULATOR_U
W_S_MANT = 4
W_ACC_U = 15
#: Loihi3FLearningRule's y-trace time constant (learning_rule.py:739-745: np.iinfo(np.uint16).max)
Y_TAU_3F = 65535
#: ConnVarRandom's fixed seed (random.py:113): LoihiLearningRule.rng_seed never reaches it
R_C_SEED = 2
FACTORS = {"x1": K.F_X1, "y1": K.F_Y1, "y2": K.F_Y2, "y3": K.F_Y3}
SIGN_MODES = {"MIXED": K.SM_MIXED, "EXCITATORY": K.SM_EXC, "INHIBITORY": K.SM_INH}
BAPS = {"never": K.BAP_NEVER, "spike": K.BAP_SPIKE, "always": K.BAP_ALWAYS, "teach": K.BAP_TEACH}
ENCODINGS = ("split", "signed")
MODES = ("target", "error")
HOP_DELAY = K.HOP_DELAY


# ---------------------------------------------------------------------------------------------
# Specification of one learning chain
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Product:
    """One product of a Lava learning rule: ``mant * 2^exp * u<K> * factor * ...``, each factor a
    trace name (x1, y1, y2, y3) plus an additive constant."""
    mant: int                                  # signed, |mant| <= 7 (Lava: [-8, 7] after sign)
    exp: int                                   # E in [-7, 8]
    factors: tuple[tuple[str, int], ...]       # ((name, const), ...), 1..3 factors

    @property
    def shift(self) -> int:
        """Lava's implicit ``2^-S``: S = max(0, sum of factor widths + 4 - 15) (A:302-312)."""
        return max(0, TRACE_BITS * len(self.factors) + W_S_MANT - W_ACC_U)

    def term(self, k: int) -> str:
        m = abs(self.mant)
        lit = f"2^{self.exp}" if m == 1 else f"{m}*2^{self.exp}"
        fs = []
        for name, c in self.factors:
            fs.append(name if c == 0 else f"({name}{'+' if c > 0 else '-'}{abs(c)})")
        return "*".join([lit, f"u{k}"] + fs)


@dataclass(frozen=True)
class RuleSpec:
    """The LearningDense's Loihi3FLearningRule.

    ``products`` empty: OTTT's rule from ``lr_mant``, ``lr_exp`` and ``encoding``
    (split: ``M*2^E*u0*x1*y2 - M*2^E*u0*x1*y3``; signed: ``M*2^E*u0*x1*y2``); ``y1_factor`` makes it
    the three-factor form ``...*x1*y1*y2 - ...*x1*y1*y3`` (S = 10 instead of 3)."""
    lr_mant: int = 1
    lr_exp: int = 0
    encoding: str = "split"
    y1_factor: bool = False
    x1_tau: float = 2
    x1_impulse: float = 32
    t_epoch: int = 1
    rng_seed: int = 0
    uk: int = 0
    products: tuple[Product, ...] = ()

    def __post_init__(self):
        if self.encoding not in ENCODINGS:
            raise NeurochipError(f"rule encoding must be one of {ENCODINGS}, got {self.encoding!r}")
        if not 1 <= self.lr_mant <= 7:
            raise NeurochipError(f"learning-rate mantissa must be in 1..7 (Lava's 4-bit signed mantissa), got {self.lr_mant}")
        if not -7 <= self.lr_exp <= 8:
            raise NeurochipError(f"learning-rate exponent must be in -7..8 (Lava), got {self.lr_exp}")
        if self.t_epoch < 1 or self.t_epoch > 63:
            raise NeurochipError(f"t_epoch must be in 1..63 (6-bit epoch time), got {self.t_epoch}")
        if self.x1_tau < 0 or self.x1_impulse < 0:
            raise NeurochipError("x1_tau and x1_impulse must be non-negative (Lava rejects negative values)")
        if not 0 <= self.uk <= 7:
            raise NeurochipError(f"uK dependency exponent must be in 0..7, got {self.uk}")
        if int(self.rng_seed) != self.rng_seed or self.rng_seed < 0:
            raise NeurochipError(f"rng_seed must be a non-negative integer, got {self.rng_seed!r}")
        for p in self.all_products():
            if not 1 <= len(p.factors) <= 3:
                raise NeurochipError("each product needs 1..3 trace factors (more could overflow Lava's int32 products)")
            if not (-8 <= p.mant <= 7 and p.mant != 0 and -7 <= p.exp <= 8):
                raise NeurochipError(f"product scale {p.mant}*2^{p.exp} is outside Lava's mantissa [-8, 7] / exponent [-7, 8]")
            for name, c in p.factors:
                if name not in FACTORS:
                    raise NeurochipError(f"unsupported rule factor {name!r} (supported: {', '.join(FACTORS)})")
                if not -256 <= c <= 255:
                    raise NeurochipError(f"factor constant {c} outside Lava's 8-bit constants")

    def all_products(self) -> tuple[Product, ...]:
        if self.products:
            return self.products
        y = (("y1", 0),) if self.y1_factor else ()
        pos = Product(self.lr_mant, self.lr_exp, (("x1", 0),) + y + (("y2", 0),))
        if self.encoding == "signed":
            return (pos,)
        return (pos, Product(-self.lr_mant, self.lr_exp, (("x1", 0),) + y + (("y3", 0),)))

    def dw(self) -> str:
        out = ""
        for n, p in enumerate(self.all_products()):
            t = p.term(self.uk)
            if n == 0:
                out = ("-" if p.mant < 0 else "") + t
            else:
                out += (" - " if p.mant < 0 else " + ") + t
        return out

    def uses(self, name: str) -> bool:
        return any(f == name for p in self.all_products() for f, _ in p.factors)


@dataclass(frozen=True)
class NeuronSpec:
    """The OTTT learning neuron (Lava LIF arithmetic + integer delta), see OtttLIF."""
    vth: int = 4096
    du: int = 4095
    dv: int = 2048
    mode: str = "target"
    err_frac: int = 6
    sg_bits: int = 4
    surrogate: str = "sigmoid"
    surrogate_param: float = -1.0
    err_shift: int = 0
    delta_max: int = 127
    bap: str = "spike"
    y1_const: int = 0
    delta_rounding: str = "floor"

    def __post_init__(self):
        if self.delta_rounding not in ("floor", "nearest"):
            raise NeurochipError(f"delta_rounding must be 'floor' or 'nearest', got {self.delta_rounding!r}")
        if self.mode not in MODES:
            raise NeurochipError(f"neuron mode must be one of {MODES}, got {self.mode!r}")
        if self.bap not in BAPS:
            raise NeurochipError(f"bap must be one of {tuple(BAPS)}, got {self.bap!r}")
        if not 0 <= self.du <= 4095 or not 0 <= self.dv <= 4096:
            raise NeurochipError("du must be in 0..4095 and dv in 0..4096")
        if not 0 <= self.delta_max < 2 ** 31:
            raise NeurochipError(f"delta_max must be non-negative, got {self.delta_max}")
        if not (0 <= self.err_frac <= 24 and 0 <= self.sg_bits <= 12 and 0 <= self.err_shift <= 31):
            raise NeurochipError("err_frac must be in 0..24, sg_bits in 0..12, err_shift in 0..31")
        if not 0 <= self.vth < 2 ** 17:
            raise NeurochipError(f"vth must be in 0..2^17 - 1, got {self.vth}")

    def lut(self, vth_membrane: int) -> tuple[np.ndarray, int, bool]:
        from ..surrogate import SURROGATES, lut_index_scale, surrogate_lut

        if self.surrogate not in SURROGATES:
            raise NeurochipError(f"unknown surrogate {self.surrogate!r}")
        return (surrogate_lut(self.surrogate, self.sg_bits, self.surrogate_param), lut_index_scale(vth_membrane),
                self.surrogate == "spike_operator")


@dataclass(frozen=True)
class HiddenSpec:
    """A fixed hidden layer: stock Dense (its effective weights) + stock LIFReset."""
    weights: np.ndarray            # n_h x n_in int32, Lava layout, as given to Dense
    weight_exp: int = 0
    sign_mode: str = "MIXED"
    num_weight_bits: int = 8
    vth: int = 4096
    du: int = 4095
    dv: int = 2048
    bias: np.ndarray | None = None  # effective bias (bias_mant, exponent 0), int

    def effective(self) -> np.ndarray:
        from .export import effective_dense_weights

        return effective_dense_weights(self.weights, self.sign_mode, self.num_weight_bits).astype(np.int32)


@dataclass(frozen=True)
class HiddenLearnSpec:
    """A LEARNING hidden layer with fixed random feedback (direct feedback alignment):
    LearningDense(weights, rule) -> OtttLIF in error mode, whose third factor is the output layer's
    delta sent (graded, ``s_out_err``) through a fixed Dense with weights ``feedback`` (n_h x n_out,
    Lava layout) and ``feedback_exp``. The feedback reaches the hidden neurons one step after the
    output computed it (one Dense hop), i.e. two rows after the hidden layer saw the input."""
    weights: np.ndarray            # n_h x n_in int32 (Lava layout), initial LearningDense weights
    feedback: np.ndarray           # n_h x n_out int32, fixed Dense (graded messages)
    feedback_exp: int = 0
    feedback_sign_mode: str = "MIXED"
    rule: RuleSpec = RuleSpec()
    neuron: NeuronSpec = NeuronSpec(mode="error")
    weight_exp: int = 0
    sign_mode: str = "MIXED"
    num_weight_bits: int = 8
    bias: np.ndarray | None = None

    def __post_init__(self):
        if self.neuron.mode != "error":
            raise NeurochipError("the hidden learning neurons take the fed-back error: neuron mode must be 'error'")
        if self.sign_mode not in SIGN_MODES or self.feedback_sign_mode not in SIGN_MODES:
            raise NeurochipError(f"sign modes must be among {tuple(SIGN_MODES)}")
        if np.asarray(self.feedback).shape[0] != np.asarray(self.weights).shape[0]:
            raise NeurochipError("feedback matrix must have one row per hidden neuron")

    def effective_feedback(self) -> np.ndarray:
        from .export import effective_dense_weights

        return effective_dense_weights(self.feedback, self.feedback_sign_mode, 8).astype(np.int32)


@dataclass(frozen=True)
class LearnNet:
    """One learning chain: [hidden] -> LearningDense(W) -> OtttLIF, reset every ``period`` steps.
    ``hidden``: a fixed hidden layer; ``hidden_learn``: a learning one with fixed random feedback
    (at most one of them)."""
    weights: np.ndarray            # n_out x n_pre int32 (Lava layout), initial LearningDense weights
    rule: RuleSpec = RuleSpec()
    neuron: NeuronSpec = NeuronSpec()
    weight_exp: int = 0
    sign_mode: str = "MIXED"
    num_weight_bits: int = 8
    bias: np.ndarray | None = None  # output neurons' bias (bias_mant, exponent 0)
    hidden: HiddenSpec | None = None
    period: int = 0                # per-sample reset interval (0: never reset)
    hidden_learn: HiddenLearnSpec | None = None

    def __post_init__(self):
        if self.sign_mode not in SIGN_MODES:
            raise NeurochipError(f"sign mode must be one of {tuple(SIGN_MODES)}")
        W = np.asarray(self.weights)
        if W.ndim != 2:
            raise NeurochipError("LearningDense weights must be a 2-D array (n_post x n_pre)")
        if self.hidden is not None and self.hidden_learn is not None:
            raise NeurochipError("a chain has either a fixed or a learning hidden layer, not both")
        h = self.hidden if self.hidden is not None else self.hidden_learn
        if h is not None and np.asarray(h.weights).shape[0] != W.shape[1]:
            raise NeurochipError("hidden layer size must equal the LearningDense's presynaptic size")
        if self.hidden_learn is not None and np.asarray(self.hidden_learn.feedback).shape[1] != W.shape[0]:
            raise NeurochipError("feedback matrix must have one column per output neuron")
        if not 1 <= self.num_weight_bits <= 8:
            raise NeurochipError("num_weight_bits must be in 1..8")

    @property
    def hops(self) -> int:
        """Dense hops from the input source to the output neurons."""
        return 1 if self.hidden is None and self.hidden_learn is None else 2

    @property
    def n_in(self) -> int:
        h = self.hidden if self.hidden is not None else self.hidden_learn
        return np.asarray(h.weights).shape[1] if h is not None else self.weights.shape[1]

    @property
    def n_out(self) -> int:
        return self.weights.shape[0]

    def reset_offset(self, hop: int) -> tuple[int, int]:
        """(interval, offset) of the layer ``hop`` Dense hops from the source: row g = k * period
        reaches it at Lava step g + 1 + hop (lava-semantics.md §1)."""
        if self.period <= 0:
            return 0, 0
        return self.period, (1 + hop) % self.period


# ---------------------------------------------------------------------------------------------
# Host-side constants exactly as Lava computes them
# ---------------------------------------------------------------------------------------------

def decay_factors(rule: RuleSpec) -> tuple[float, np.ndarray]:
    """(x1 factor, y1..y3 factors): ``np.exp(-t / taus)`` with Lava's array shapes (L:841-852)."""
    x_taus = np.array([rule.x1_tau, 0.0])          # x2 unused: tau 0
    nz = x_taus != 0
    xf = np.exp(-1 / x_taus[nz][:, np.newaxis]) if nz.any() else np.zeros((0, 1))
    y_taus = np.array([Y_TAU_3F, Y_TAU_3F, Y_TAU_3F])
    yf = np.exp(-1 / y_taus[y_taus != 0][:, np.newaxis])
    return (float(xf[0, 0]) if nz[0] else 0.0), yf[:, 0].astype(np.float64).copy()


def impulse_parts(impulse: float) -> tuple[int, int]:
    """Lava's ``_decompose_impulses`` (L:649-672): floor, and the fraction in 1/256 rounded half-even."""
    imp = np.array([impulse, 0.0])
    ii = np.floor(imp)
    fr = np.round((imp - ii) * 2 ** 8)
    return int(ii.astype(int)[0]), int(fr.astype(int)[0])


@dataclass
class RandomStreams:
    """Random numbers of one LearningDense, indexed as the kernel reads them."""
    rxd: np.ndarray      # x decay, step tau -> draw 2 tau of default_rng(seed).random
    rxi: np.ndarray      # x impulse, draw 2 tau of default_rng(seed + 1).integers(0, 128)
    ryd: np.ndarray      # y decay, draw 2 tau of default_rng(seed + 2).random
    rc: np.ndarray       # r_c of epoch ep: draw ep of default_rng(2).random


def random_streams(rng_seed: int, n_steps: int, t_epoch: int = 1) -> RandomStreams:
    """The draws Lava makes (R:36-139): one at construction, two per step per trace stream
    (recv_traces advances before and after the post spikes, L:395, L:414), one per learning phase
    for r_c, advanced before use (L:432). Batch draws equal one-at-a-time draws (tested)."""
    n = 2 * n_steps + 1
    s = int(rng_seed)
    rxd = np.random.default_rng(s).random(n)[::2].copy()
    rxi = np.random.default_rng(s + 1).integers(0, 2 ** TRACE_BITS, size=n, dtype=int)[::2].astype(np.int64)
    ryd = np.random.default_rng(s + 2).random(n)[::2].copy()
    rc = np.random.default_rng(R_C_SEED).random(n_steps // t_epoch + 1)
    return RandomStreams(rxd, rxi, ryd, rc)


def _neuron_params(wexp: int, du: int, dv: int, vth: int, interval: int, offset: int, numw: int, sign: str,
                   nrn: NeuronSpec | None = None, encoding: str = "split") -> np.ndarray:
    P = np.zeros(K.N_PARAMS, np.int64)
    P[K.N_WEXP], P[K.N_DU], P[K.N_DV], P[K.N_VTH] = wexp, du, dv, vth
    P[K.N_RINT], P[K.N_ROFF] = interval, offset
    P[K.N_NUMW], P[K.N_SIGN] = numw, SIGN_MODES[sign]
    if nrn is not None:
        _, c_sg, spop = nrn.lut(vth << 6)
        P[K.N_MODE] = MODES.index(nrn.mode)
        P[K.N_F], P[K.N_SGB], P[K.N_CSG], P[K.N_SPOP] = nrn.err_frac, nrn.sg_bits, c_sg, int(spop)
        P[K.N_ESH], P[K.N_DMAX], P[K.N_BAP] = nrn.err_shift, nrn.delta_max, BAPS[nrn.bap]
        P[K.N_ENC], P[K.N_Y1] = ENCODINGS.index(encoding), nrn.y1_const
        P[K.N_DRND] = int(nrn.delta_rounding == "nearest")
    return P


def _products(rule: RuleSpec):
    prods = rule.all_products()
    n = len(prods)
    PM = np.array([p.mant for p in prods], np.int64)
    PE = np.array([p.exp + ACC_SHIFT for p in prods], np.int64)
    PS = np.array([p.shift for p in prods], np.int64)
    PF = np.full((n, 3), K.F_NONE, np.int64)
    PC = np.zeros((n, 3), np.int64)
    for a, p in enumerate(prods):
        for b, (name, c) in enumerate(p.factors):
            PF[a, b] = FACTORS[name]
            PC[a, b] = c
    return PM, PE, PS, PF, PC


# ---------------------------------------------------------------------------------------------
# neurochip: the emulation
# ---------------------------------------------------------------------------------------------

@dataclass
class LearnResult:
    weights: np.ndarray          # n_out x n_pre after learning (Lava layout)
    spikes: np.ndarray           # steps x n_out output spikes (uint8), row tau - 1
    v: np.ndarray                # steps x n_out pre-reset membranes
    steps: int
    seconds: float               # emulation: kernel time; Lava: run time after start-up
    seconds_startup: float = 0.0  # Lava: compile + start + first step
    counts: dict = field(default_factory=dict)
    hidden_weights: np.ndarray | None = None   # learning hidden layer (n_h x n_in) after learning
    hidden_spikes: np.ndarray | None = None    # steps x n_h spikes of the learning hidden layer
    hidden_v: np.ndarray | None = None


def _layer(W, weight_exp: int, sign_mode: str, numw: int, nrn: NeuronSpec, rule: RuleSpec, bias, interval: int,
           offset: int, max_steps: int) -> tuple:
    """The kernel's learning-layer tuple (see neurochip/kernels/lava_engine.py) of one LearningDense
    with its OTTT neurons."""
    W = np.ascontiguousarray(W, np.int32).copy()
    n_post, n_pre = W.shape
    OP = _neuron_params(weight_exp, nrn.du, nrn.dv, nrn.vth, interval, offset, numw, sign_mode, nrn, rule.encoding)
    b = np.zeros(n_post, np.int64) if bias is None else np.asarray(bias, np.int64).copy()
    lut = nrn.lut(nrn.vth << 6)[0]
    PM, PE, PS, PF, PC = _products(rule)
    LP = np.zeros(K.L_NPARAMS, np.int64)
    LP[K.L_TEPOCH], LP[K.L_K] = rule.t_epoch, rule.uk
    LP[K.L_XTAU] = int(rule.x1_tau != 0)
    LP[K.L_IMPI], LP[K.L_IMPF] = impulse_parts(rule.x1_impulse)
    xf, yf = decay_factors(rule)
    rs = random_streams(rule.rng_seed, max_steps, rule.t_epoch)
    n_prod = PM.shape[0]
    return (W, OP, b, lut, PM, PE, PS, PF, PC, LP, np.array([xf]), yf, rs.rxd, rs.rxi, rs.ryd, rs.rc,
            np.zeros((2, n_post), np.int64), np.zeros(n_post, np.int64), np.zeros(n_pre, np.int64),
            np.zeros(n_pre, np.int64), np.zeros(n_post, np.int64), np.zeros((3, n_post), np.int64),
            np.zeros((3, n_post), np.int64), np.zeros((n_prod, n_post), np.int64),
            np.zeros((n_prod, n_pre), np.int64), np.zeros(n_pre, np.int64))


class Emulator:
    """neurochip's emulation of one :class:`LearnNet`, resumable across calls (state kept)."""

    def __init__(self, net: LearnNet, max_steps: int, record: bool = True):
        self.net = net
        n_out, n_pre = np.asarray(net.weights).shape
        self.max_steps = max_steps
        oi, oo = net.reset_offset(net.hops)
        self.LO = _layer(net.weights, net.weight_exp, net.sign_mode, net.num_weight_bits, net.neuron, net.rule,
                         net.bias, oi, oo, max_steps)
        hid, hl = net.hidden, net.hidden_learn
        hi, ho = net.reset_offset(1)
        n_h = n_pre if (hid is not None or hl is not None) else 0
        if hid is not None:
            self.hmode = K.H_FIXED
            WhT = np.ascontiguousarray(hid.effective().T, np.int32)      # n_in x n_h, presynaptic-major
            HP = _neuron_params(hid.weight_exp, hid.du, hid.dv, hid.vth, hi, ho, hid.num_weight_bits, hid.sign_mode)
            bh = np.zeros(n_h, np.int64) if hid.bias is None else np.asarray(hid.bias, np.int64).copy()
        else:
            WhT, HP, bh = np.zeros((0, 0), np.int32), np.zeros(K.N_PARAMS, np.int64), np.zeros(0, np.int64)
        self.FH = (WhT, HP, bh, np.zeros((2, n_h if hid is not None else 0), np.int64),
                   np.zeros(n_h if hid is not None else 0, np.int64))
        if hl is not None:
            self.hmode = K.H_LEARN
            self.LH = _layer(hl.weights, hl.weight_exp, hl.sign_mode, hl.num_weight_bits, hl.neuron, hl.rule,
                             hl.bias, hi, ho, max_steps)
            self.FB = (np.ascontiguousarray(hl.effective_feedback(), np.int32),
                       np.array([hl.feedback_exp], np.int64), np.zeros(n_h, np.int64))
        else:
            # typed placeholders (never touched)
            self.LH = _layer(np.zeros((1, 1), np.int32), 0, "MIXED", 8, NeuronSpec(), RuleSpec(), None, 0, 0, 1)
            self.FB = (np.zeros((0, 0), np.int32), np.zeros(1, np.int64), np.zeros(0, np.int64))
        if hid is None and hl is None:
            self.hmode = K.H_NONE
        rows = max_steps if record else 0
        self.rec_s = np.zeros((rows, n_out), np.uint8)
        self.rec_v = np.zeros((rows, n_out), np.int32)
        hrows = rows if hl is not None else 0
        self.rec_hs = np.zeros((hrows, n_h), np.uint8)
        self.rec_hv = np.zeros((hrows, n_h), np.int32)
        self.counts = np.zeros(8, np.int64)
        self.tau = 0

    @property
    def W(self) -> np.ndarray:
        """The output LearningDense's weights (live)."""
        return self.LO[0]

    def run(self, R: np.ndarray, TF: np.ndarray, n_steps: int | None = None) -> float:
        """Run the next ``n_steps`` Lava steps (default: all of R's rows from the current step);
        R and TF are indexed by absolute Lava step (row tau - 1). Returns the kernel's seconds."""
        n_steps = R.shape[0] - self.tau if n_steps is None else int(n_steps)
        if self.tau + n_steps > self.max_steps or R.shape[0] < self.tau + n_steps or TF.shape[0] < self.tau + n_steps:
            raise NeurochipError("emulation: not enough steps prepared (max_steps, input or third-factor rows)")
        R = np.ascontiguousarray(R, np.int32)
        TF = np.ascontiguousarray(TF, np.int32)
        t0 = time.perf_counter()
        K.lava_learn_run(self.tau, n_steps, R, TF, self.hmode, self.FH, self.LH, self.LO, self.FB,
                         self.rec_s, self.rec_v, self.rec_hs, self.rec_hv, self.counts)
        self.tau += n_steps
        return time.perf_counter() - t0

    def result(self, seconds: float) -> LearnResult:
        c = self.counts
        res = LearnResult(self.W.copy(), self.rec_s[:self.tau].copy(), self.rec_v[:self.tau].copy(), self.tau,
                          seconds, 0.0, {"synapse_updates": int(c[0]), "weights_changed": int(c[1]),
                                         "rows_skipped": int(c[2]), "hidden_spikes": int(c[3]),
                                         "nonzero_deltas": int(c[4]), "y_decay_events": int(c[5]),
                                         "nonzero_hidden_deltas": int(c[6])})
        if self.hmode == K.H_LEARN:
            res.hidden_weights = self.LH[0].copy()
            res.hidden_spikes = self.rec_hs[:self.tau].copy()
            res.hidden_v = self.rec_hv[:self.tau].copy()
        return res


def emulate(net: LearnNet, R: np.ndarray, TF: np.ndarray, record: bool = True) -> LearnResult:
    """Run the whole input raster R (Lava step tau reads row tau - 1) and third factor TF through
    neurochip's emulation of ``net``'s Lava graph."""
    em = Emulator(net, R.shape[0], record)
    dt = em.run(R, TF)
    return em.result(dt)


# ---------------------------------------------------------------------------------------------
# Lava
# ---------------------------------------------------------------------------------------------

def _require_lava():
    from .compat import require_lava

    require_lava()


def lava_rule(rule: RuleSpec):
    """The Loihi3FLearningRule of ``rule``, checked against neurochip's encoding of its products."""
    from lava.magma.core.learning.learning_rule import Loihi3FLearningRule

    lr = Loihi3FLearningRule(dw=rule.dw(), x1_impulse=rule.x1_impulse, x1_tau=rule.x1_tau,
                             t_epoch=rule.t_epoch, rng_seed=int(rule.rng_seed))
    ours = rule.all_products()
    theirs = lr.dw.products
    ok = len(ours) == len(theirs) and (lr.dw.decimate_exponent or 0) == rule.uk
    for a, b in zip(ours, theirs):
        fb = tuple((f.state_var, int(f.const) if f.has_const() else 0) for f in b.factors)
        ok = ok and b.dependency == "u" and a.mant == b.s_mantissa and a.exp + ACC_SHIFT == b.s_exp and a.factors == fb
    if not ok:
        raise NeurochipError(f"Lava parses the rule {rule.dw()!r} differently from neurochip's encoding of it")
    return lr


def _sign(name: str):
    from lava.utils.weightutils import SignMode

    return getattr(SignMode, name)


@dataclass
class _LavaChain:
    net: LearnNet
    procs: list
    ldense: object
    neuron: object
    hidden_ldense: object = None
    hidden_neuron: object = None


def _learning_layer(W, weight_exp, sign_mode, numw, rule_spec: RuleSpec, n: NeuronSpec, bias, interval, offset,
                    n_steps, tag):
    """LearningDense + OtttLIF, the y-traces and bAP wired back."""
    from lava.proc.dense.process import LearningDense

    from .models_learning.ottt_lif import OtttLIF

    rule = lava_rule(rule_spec)
    W = np.asarray(W, np.int32)
    ld = LearningDense(weights=W.copy(), weight_exp=weight_exp, num_weight_bits=numw, sign_mode=_sign(sign_mode),
                       learning_rule=rule, name=f"{tag}ldense")
    lut, c_sg, spop = n.lut(n.vth << 6)
    b = np.zeros(W.shape[0], np.int32) if bias is None else np.asarray(bias, np.int32)
    nrn = OtttLIF(shape=(W.shape[0],), learning_rule=rule, du=n.du, dv=n.dv, vth=n.vth, bias_mant=b.copy(),
                  bias_exp=np.zeros_like(b), reset_interval=interval, reset_offset=offset, mode=n.mode,
                  err_frac=n.err_frac, sg_lut=lut, c_sg=c_sg, sg_bits=n.sg_bits, spike_op=spop,
                  err_shift=n.err_shift, delta_max=n.delta_max, bap=n.bap, encoding=rule_spec.encoding,
                  y1_const=n.y1_const, record_steps=n_steps, delta_rounding=n.delta_rounding, name=f"{tag}ottt")
    ld.a_out.connect(nrn.a_in)
    if n.bap != "never":
        nrn.s_out_bap.connect(ld.s_in_bap)
    for k in ("y1", "y2", "y3"):
        if rule_spec.uses(k):
            getattr(nrn, f"s_out_{k}").connect(getattr(ld, f"s_in_{k}"))
    return ld, nrn


def _add_chain(net: LearnNet, src_out, TF: np.ndarray, n_steps: int, tag: str) -> _LavaChain:
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIFReset

    procs = []
    prev = src_out
    hid, hl = net.hidden, net.hidden_learn
    hld = hnrn = None
    if hid is not None:
        interval, offset = net.reset_offset(1)
        dh = Dense(weights=np.asarray(hid.weights, np.int32).copy(), weight_exp=hid.weight_exp,
                   num_weight_bits=hid.num_weight_bits, sign_mode=_sign(hid.sign_mode), name=f"{tag}dense_h")
        bh = np.zeros(hid.weights.shape[0], np.int32) if hid.bias is None else np.asarray(hid.bias, np.int32)
        lif = LIFReset(shape=(hid.weights.shape[0],), du=hid.du, dv=hid.dv, vth=hid.vth, bias_mant=bh.copy(),
                       bias_exp=np.zeros_like(bh), reset_interval=interval if interval else n_steps + 10,
                       reset_offset=offset if interval else n_steps + 5, name=f"{tag}lif_h")
        prev.connect(dh.s_in)
        dh.a_out.connect(lif.a_in)
        prev = lif.s_out
        procs += [dh, lif]
    elif hl is not None:
        interval, offset = net.reset_offset(1)
        hld, hnrn = _learning_layer(hl.weights, hl.weight_exp, hl.sign_mode, hl.num_weight_bits, hl.rule, hl.neuron,
                                    hl.bias, interval, offset, n_steps, f"{tag}h_")
        prev.connect(hld.s_in)
        prev = hnrn.s_out
        procs += [hld, hnrn]
    interval, offset = net.reset_offset(net.hops)
    ld, nrn = _learning_layer(net.weights, net.weight_exp, net.sign_mode, net.num_weight_bits, net.rule, net.neuron,
                              net.bias, interval, offset, n_steps, f"{tag}o_")
    tf = Source(data=np.ascontiguousarray(np.asarray(TF, np.int32)[:n_steps].T))
    prev.connect(ld.s_in)
    tf.s_out.connect(nrn.a_third_factor_in)
    procs += [ld, nrn, tf]
    if hl is not None:
        # fixed random feedback: output delta (graded) -> Dense(B) -> hidden third factor
        fb = Dense(weights=np.asarray(hl.feedback, np.int32).copy(), weight_exp=hl.feedback_exp, num_weight_bits=8,
                   sign_mode=_sign(hl.feedback_sign_mode), num_message_bits=8, name=f"{tag}feedback")
        nrn.s_out_err.connect(fb.s_in)
        fb.a_out.connect(hnrn.a_third_factor_in)
        procs.append(fb)
    return _LavaChain(net, procs, ld, nrn, hld, hnrn)


def _model_map(procs) -> dict:
    from lava.proc.dense.models import PyDenseModelBitAcc, PyLearningDenseModelBitApproximate
    from lava.proc.dense.process import Dense, LearningDense
    from lava.proc.io.source import PySendModelFixed
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.models import PyLifResetModelBitAcc
    from lava.proc.lif.process import LIFReset

    from .models_learning.ottt_lif import OtttLIF, PyOtttLIFModelFixed

    table = {LearningDense: PyLearningDenseModelBitApproximate, Dense: PyDenseModelBitAcc,
             LIFReset: PyLifResetModelBitAcc, Source: PySendModelFixed, OtttLIF: PyOtttLIFModelFixed}
    return {p: table[type(p)] for p in procs}


def run_lava_learning(nets, R: np.ndarray, TFs, pin_models: bool = True) -> list[LearnResult]:
    """Run one or several learning chains in ONE Lava runtime, all fed by input raster R (one
    RingBuffer fanning out; each chain has its own third-factor RingBuffer). Returns, per chain, the
    LearningDense weights after the run and the output spikes / pre-reset membranes per step."""
    _require_lava()
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer as Source

    nets = [nets] if isinstance(nets, LearnNet) else list(nets)
    TFs = [TFs] if not isinstance(TFs, (list, tuple)) else list(TFs)
    if len(TFs) != len(nets):
        raise NeurochipError("one third-factor array per learning chain")
    R = np.asarray(R, np.int32)
    n_steps = R.shape[0]
    if n_steps < 2:
        raise NeurochipError("a Lava learning run needs at least 2 steps")
    for net, tf in zip(nets, TFs):
        if net.n_in != R.shape[1] or tf.shape != (n_steps, net.n_out):
            raise NeurochipError("input raster / third factor shapes do not match the learning chain")
    src = Source(data=np.ascontiguousarray(R.T))
    chains = [_add_chain(net, src.s_out, tf, n_steps, f"c{i}_") for i, (net, tf) in enumerate(zip(nets, TFs))]
    procs = [src] + [p for ch in chains for p in ch.procs]
    cfg = (Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=_model_map(procs)) if pin_models
           else Loihi2SimCfg(select_tag="fixed_pt"))
    out = []
    try:
        t0 = time.perf_counter()
        src.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
        t1 = time.perf_counter()
        src.run(condition=RunSteps(num_steps=n_steps - 1), run_cfg=cfg)
        t2 = time.perf_counter()
        for ch in chains:
            W = np.rint(np.asarray(ch.ldense.weights.get(), np.float64)).astype(np.int64)
            rs = np.rint(np.asarray(ch.neuron.rec_s.get(), np.float64)).astype(np.uint8).T.copy()
            rv = np.rint(np.asarray(ch.neuron.rec_v.get(), np.float64)).astype(np.int32).T.copy()
            res = LearnResult(W, rs, rv, n_steps, t2 - t1, t1 - t0)
            if ch.hidden_ldense is not None:
                res.hidden_weights = np.rint(np.asarray(ch.hidden_ldense.weights.get(), np.float64)).astype(np.int64)
                res.hidden_spikes = np.rint(np.asarray(ch.hidden_neuron.rec_s.get(), np.float64)).astype(np.uint8).T.copy()
                res.hidden_v = np.rint(np.asarray(ch.hidden_neuron.rec_v.get(), np.float64)).astype(np.int32).T.copy()
            out.append(res)
    finally:
        try:
            src.stop()
        except Exception:   # never started or already stopped
            pass
    return out


# ---------------------------------------------------------------------------------------------
# Digits-like learning in both, compared
# ---------------------------------------------------------------------------------------------

@dataclass
class LearnTask:
    """A learning run laid out in Lava steps: input raster, third factor, the chain and the labels."""
    net: LearnNet
    R: np.ndarray                # lava_steps x n_in
    TF: np.ndarray               # lava_steps x n_out
    y: np.ndarray                # labels of all samples (train first, then test)
    n_train: int
    n_test: int
    timesteps: int
    period: int
    notes: list
    lr_requested: float | None = None
    lr_effective: float | None = None     # None: the rule scale was given directly

    @property
    def lava_steps(self) -> int:
        return self.R.shape[0]

    def sample_rows(self, k: int) -> slice:
        """Rows (Lava step - 1) where the output layer processes sample k."""
        start = k * self.period + self.net.hops
        return slice(start, start + self.timesteps)


def predictions(task: LearnTask, spikes: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Per sample: argmax of the output spike count, ties broken by the summed pre-reset membrane
    (neurochip's spiking readout, neurochip/kernels/ottt_int.py 'prediction')."""
    n = task.n_train + task.n_test
    out = np.zeros(n, np.int64)
    for k in range(n):
        sl = task.sample_rows(k)
        cnt = spikes[sl].astype(np.int64).sum(axis=0)
        vs = v[sl].astype(np.int64).sum(axis=0)
        best = 0
        for i in range(1, len(cnt)):
            if cnt[i] > cnt[best] or (cnt[i] == cnt[best] and vs[i] > vs[best]):
                best = i
        out[k] = best
    return out


def lava_lr(lr: float, timesteps: int, q: int, trace_frac: int, err_frac: int, w_shift: int = 1,
            err_shift: int | None = None, max_err_shift: int = 4) -> tuple[int, int, int, float]:
    """Lava's rule scale for neurochip's OTTT learning rate ``lr`` (per sample, spread over T steps as
    neurochip does): (mant, E, err_shift, effective lr).

    neurochip changes a weight by ``lr / T * e * a`` threshold units per step (e, a the error and the
    trace in their fractional bits F_e, F_a); one Lava weight unit is ``2^-(q + w_shift)`` thresholds
    (exported W = m << w_shift), so that is ``g = lr / T * 2^(q + w_shift - F_e - F_a)`` Lava weight
    units per unit of ``delta * x1``. Lava's rule changes it by ``mant * 2^(E - 3)`` (S = 3) per unit of
    ``delta * x1``, with ``delta`` shifted down by ``err_shift`` in the neuron. Lava's smallest scale is
    2^-7 (mant 1, E = -7), so a smaller rate is reached by an ``err_shift`` (chosen here unless given;
    it costs delta resolution). The effective lr is what (mant, E, err_shift) amount to."""
    if not (math.isfinite(lr) and lr > 0):
        raise NeurochipError(f"learning rate must be a positive number, got {lr}")
    g = lr / timesteps * 2.0 ** (q + w_shift - err_frac - trace_frac)
    es = 0 if err_shift is None else int(err_shift)
    if err_shift is None:
        while g * 8.0 * 2.0 ** es < 2.0 ** -7.5 and es < max_err_shift:
            es += 1
    target = g * 8.0 * 2.0 ** es
    best = None
    for E in range(-7, 9):
        for m in range(1, 8):
            err = abs(math.log2(m * 2.0 ** E) - math.log2(target))
            if best is None or err < best[0] - 1e-12:
                best = (err, m, E)
    m, E = best[1], best[2]
    return m, E, es, lr * (m * 2.0 ** E) / target


def digits_task(n_train: int, n_test: int, seed: int = 0, *, dataset: str = "digits", data=None,
                timesteps: int = 8, hidden: int = 0, lr: float | None = None, lr_mant: int | None = None,
                lr_exp: int | None = None, x1_tau: float = 2, x1_impulse: float | None = None, t_epoch: int = 1,
                encoding: str = "split", bap: str = "spike", err_shift: int | None = None, gap: int = 0,
                rng_seed: int | None = None, profile: str = "loihi", surrogate: str = "sigmoid",
                init_gain: float = 2.5, feedback: str = "none", hidden_lr: float | None = None) -> LearnTask:
    """Lay out learning on a dataset's first ``n_train`` training samples, then inference (no teaching
    signal: delta = 0, weights untouched) on its first ``n_test`` test samples, as one continuous run.

    The network is neurochip's: a :class:`~neurochip.network.NetworkConfig` with a rate encoder and a
    spiking readout on the (Lava-exact) ``profile``; its initial integer weights are exported as the
    inference export does (Lava W = mantissa << 1, weight_exp - 1). With ``hidden`` > 0 the first layer
    is a FIXED random projection (stock Dense + LIFReset) and only the output layer learns. The
    target of the label neuron is the spiking readout's high rate (0.8), of the others the low rate
    (0.05), in ``error_frac_bits`` units, sent as ``r + 1`` on the third-factor port."""
    from ..data import load_dataset
    from ..engine import Engine
    from .export import EXPORT_WEIGHT_SHIFT, input_raster, lava_exact_reasons, lava_weight_exp
    from ..network import RATE_TARGET, NetworkConfig
    from ..profile import load_profile

    prof = load_profile(profile)
    why = lava_exact_reasons(prof.require_simulation())
    if why:
        raise NeurochipError(f"profile '{prof.name}' is not Lava's arithmetic ({'; '.join(why)}): learning export needs a "
                             "Lava-exact profile such as loihi")
    if prof.synapse.weight_lsb_shift != 1 or prof.synapse.weight_bits != 8:
        raise NeurochipError("learning export expects 8-bit mantissas exported as W = m << 1 (loihi profile)")
    ds = data if data is not None else load_dataset(dataset, None, seed)
    if n_train < 0 or n_test < 0 or n_train + n_test < 1:
        raise NeurochipError("need at least one sample")
    n_train = min(n_train, len(ds.y_train))
    n_test = min(n_test, len(ds.y_test))
    if hidden < 0:
        raise NeurochipError("hidden size must be >= 0")
    sizes = (ds.n_features,) + ((hidden,) if hidden else ()) + (ds.n_classes,)
    cfg = NetworkConfig(sizes=sizes, timesteps=timesteps, encoder="rate", readout="spiking", loss="mse",
                        surrogate=surrogate, init_gain=init_gain, seed=seed)
    eng = Engine(cfg, prof)
    ilay = eng.ilay
    m = eng.weights()
    L = cfg.n_layers
    lrn = prof.learning
    notes = []
    k_out = int(ilay.leak_shift[L - 1])
    lr_req = cfg.lr if lr is None else float(lr)
    mm, ee, es, lr_eff = lava_lr(lr_req, timesteps, int(ilay.q[L - 1]), lrn.trace_frac_bits, lrn.error_frac_bits,
                                 EXPORT_WEIGHT_SHIFT, err_shift)
    if lr_mant is not None or lr_exp is not None:
        lr_eff = None        # given directly: no neurochip equivalent claimed
    lr_mant = mm if lr_mant is None else lr_mant
    lr_exp = ee if lr_exp is None else lr_exp
    err_shift = es
    if lr_eff is not None and abs(math.log2(lr_eff / lr_req)) > 0.5:
        notes.append(f"learning rate {lr_req} is not representable: Lava's rule scale gives {lr_eff:.4g} "
                     f"(mantissa {lr_mant}, 2^{lr_exp}, delta >> {err_shift})")
    imp = float(1 << lrn.trace_frac_bits) if x1_impulse is None else float(x1_impulse)
    rule = RuleSpec(lr_mant=int(lr_mant), lr_exp=int(lr_exp), encoding=encoding, x1_tau=x1_tau, x1_impulse=imp,
                    t_epoch=t_epoch, rng_seed=int(seed if rng_seed is None else rng_seed))
    nrn = NeuronSpec(vth=prof.neuron.threshold, du=4095, dv=4096 >> k_out if k_out else 4096, mode="target",
                     err_frac=lrn.error_frac_bits, sg_bits=lrn.surrogate_bits, surrogate=surrogate,
                     surrogate_param=cfg.surrogate_param, err_shift=err_shift, delta_max=127, bap=bap)
    if feedback not in ("none", "random"):
        raise NeurochipError(f"feedback must be 'none' (fixed hidden layer) or 'random' (hidden layer learns), got {feedback!r}")
    if feedback == "random" and not hidden:
        raise NeurochipError("feedback 'random' trains a hidden layer: give a hidden size")
    hid = hl = None
    if hidden:
        k_h = int(ilay.leak_shift[0])
        W1 = m[0].T.astype(np.int32) << EXPORT_WEIGHT_SHIFT
        e1 = lava_weight_exp(ilay.weight_exp[0])
        dv_h = 4096 >> k_h if k_h else 4096
        if feedback == "none":
            hid = HiddenSpec(weights=W1, weight_exp=e1, sign_mode="MIXED", vth=prof.neuron.threshold, du=4095, dv=dv_h)
            notes.append(f"hidden layer of {hidden} LIF neurons with FIXED random weights (stock Dense + LIFReset); "
                         "only the output layer learns")
        else:
            # direct feedback alignment: delta_h = sg(v_h) * (B delta_out) / 2^q_out, B = neurochip's fixed
            # random feedback (network.init_feedback, quantized at the output layer's scale q_out), as
            # neurochip's own kernel (ottt_int.py step 5) computes it, rounded to nearest. Lava: a Dense
            # with W = 2B and weight_exp 0 sends B delta_out exactly (a floor shift there would bias every
            # small hidden error towards -1, i.e. towards stronger hidden weights); the hidden neuron
            # shifts by sg_bits + q_out + 1 (+ the learning-rate shift) with rounding to nearest
            fbq = np.asarray(eng.state().feedback[0], np.int64).astype(np.int32)        # n_h x n_out
            q_out = int(ilay.q[L - 1])
            m1, e1r, es1, lr1 = lava_lr(lr_req if hidden_lr is None else float(hidden_lr), timesteps, int(ilay.q[0]),
                                        lrn.trace_frac_bits, lrn.error_frac_bits, EXPORT_WEIGHT_SHIFT)
            rule_h = RuleSpec(lr_mant=m1, lr_exp=e1r, encoding=encoding, x1_tau=x1_tau, x1_impulse=imp,
                              t_epoch=t_epoch, rng_seed=int(seed if rng_seed is None else rng_seed) + 7919)
            nrn_h = NeuronSpec(vth=prof.neuron.threshold, du=4095, dv=dv_h, mode="error",
                               err_frac=lrn.error_frac_bits, sg_bits=lrn.surrogate_bits, surrogate=surrogate,
                               surrogate_param=cfg.surrogate_param, err_shift=q_out + EXPORT_WEIGHT_SHIFT + es1,
                               delta_max=127, bap=bap, delta_rounding="nearest")
            hl = HiddenLearnSpec(weights=W1, weight_exp=e1, feedback=fbq << EXPORT_WEIGHT_SHIFT, feedback_exp=0,
                                 rule=rule_h, neuron=nrn_h)
            notes.append(f"hidden layer of {hidden} LIF neurons LEARNS with fixed random feedback: the output deltas "
                         "reach its third-factor port through a fixed Dense one step later (two input rows after the "
                         f"hidden layer saw them); hidden rule {rule_h.dw()}, delta >> {nrn_h.err_shift}")
    period = timesteps + gap
    net = LearnNet(weights=(m[L - 1].T.astype(np.int32) << EXPORT_WEIGHT_SHIFT), rule=rule, neuron=nrn,
                   weight_exp=lava_weight_exp(ilay.weight_exp[L - 1]), sign_mode="MIXED", hidden=hid, period=period,
                   hidden_learn=hl)
    # input raster: train then test samples, T rows each, gap zero rows between samples
    x = np.concatenate([ds.x_train[:n_train], ds.x_test[:n_test]])
    y = np.concatenate([ds.y_train[:n_train], ds.y_test[:n_test]]).astype(np.int64)
    n = len(y)
    xin = eng.prepare(x)
    Rs = input_raster(eng, xin, np.arange(n, dtype=np.int64))
    steps = n * period + net.hops
    R = np.zeros((steps, x.shape[1]), np.int32)
    for k in range(n):
        R[k * period:k * period + timesteps] = Rs[k * timesteps:(k + 1) * timesteps]
    e = lrn.error_frac_bits
    r_hi, r_lo = int(round(RATE_TARGET[0] * (1 << e))), int(round(RATE_TARGET[1] * (1 << e)))
    TF = np.zeros((steps, ds.n_classes), np.int32)
    for k in range(n_train):
        rows = slice(k * period + net.hops, k * period + net.hops + timesteps)
        TF[rows] = r_lo + 1
        TF[rows, y[k]] = r_hi + 1
    return LearnTask(net, R, TF, y, n_train, n_test, timesteps, period, notes, lr_req, lr_eff)


def learn_compare(n_samples: int = 100, seed: int = 0, *, n_test: int | None = None, dataset: str = "digits",
                  data=None, lava: bool = True, repeats: int = 1, **task_kw) -> dict:
    """Train the output layer on ``n_samples`` training samples in Lava and in neurochip's emulation
    of Lava's learning engine, then test both on ``n_test`` test samples (default ``min(n_samples,
    360)``) in the same continuous run; return everything ``neurochip lava learn`` prints, as a
    JSON-serialisable dict. ``task_kw`` go to :func:`digits_task` (timesteps, hidden, lr, lr_mant,
    lr_exp, x1_tau, x1_impulse, t_epoch, encoding, bap, err_shift, gap, rng_seed, profile,
    surrogate, init_gain, feedback, hidden_lr). ``lava=False`` runs neurochip only (the Lava fields are None).
    neurochip's time is the emulation kernel's (median of ``repeats`` runs after a warm-up);
    Lava's excludes compile + start-up + the first step (reported apart)."""
    n_test = min(n_samples, 360) if n_test is None else n_test
    task = digits_task(n_samples, n_test, seed, dataset=dataset, data=data, **task_kw)
    net = task.net
    em = Emulator(net, 2, record=True)
    # the first call may load (or compile) the kernel; time fresh emulators on the same data instead
    em.run(task.R[:2], task.TF[:2], 2)
    times = []
    for _ in range(max(1, int(repeats))):
        em = Emulator(net, task.lava_steps, record=True)
        times.append(em.run(task.R, task.TF))
    ref = em.result(float(np.median(times)))
    pred_nc = predictions(task, ref.spikes, ref.v)
    y = task.y
    tr, te = slice(0, task.n_train), slice(task.n_train, task.n_train + task.n_test)

    def acc(p, s):
        return float(np.mean(p[s] == y[s])) if s.stop > s.start else None

    W0 = np.asarray(net.weights, np.int64)
    hl = net.hidden_learn
    h = net.hidden if net.hidden is not None else hl
    out = {
        "dataset": dataset if data is None else getattr(data, "name", "data"),
        "samples_train": task.n_train, "samples_test": task.n_test, "timesteps": task.timesteps,
        "period": task.period, "lava_steps": task.lava_steps,
        "network": [net.n_in] + ([int(np.asarray(h.weights).shape[0])] if h is not None else []) + [net.n_out],
        "hidden": "none" if h is None else ("fixed" if hl is None else "learning, fixed random feedback"),
        "learning": {"dw": net.rule.dw(), "x1_tau": net.rule.x1_tau, "x1_impulse": net.rule.x1_impulse,
                     "t_epoch": net.rule.t_epoch, "rng_seed": int(net.rule.rng_seed), "encoding": net.rule.encoding,
                     "bap": net.neuron.bap, "weight_exp": net.weight_exp, "sign_mode": net.sign_mode,
                     "vth": net.neuron.vth, "dv": net.neuron.dv, "err_frac": net.neuron.err_frac,
                     "err_shift": net.neuron.err_shift, "surrogate": net.neuron.surrogate,
                     "lr_requested": task.lr_requested, "lr_effective": task.lr_effective},
        "weights_total": int(W0.size) + (int(np.asarray(hl.weights).size) if hl is not None else 0),
        "weights_changed_by_learning": int(np.count_nonzero(ref.weights != (truncated_initial(net))))
        + (int(np.count_nonzero(ref.hidden_weights != truncated_initial(hl))) if hl is not None else 0),
        "acc_train_neurochip": acc(pred_nc, tr), "acc_test_neurochip": acc(pred_nc, te),
        "seconds_neurochip": ref.seconds,
        "steps_per_s_neurochip": task.lava_steps / ref.seconds if ref.seconds > 0 else None,
        "counts_neurochip": ref.counts,
        "notes": list(task.notes),
    }
    if hl is not None:
        out["learning"]["hidden_dw"] = hl.rule.dw()
        out["learning"]["hidden_err_shift"] = hl.neuron.err_shift
        out["learning"]["feedback_exp"] = hl.feedback_exp
    lava_keys = ("weights_differing", "max_abs_weight_diff", "spike_mismatches", "v_mismatches", "pred_mismatches",
                 "acc_train_lava", "acc_test_lava", "seconds_lava_startup", "seconds_lava", "steps_per_s_lava",
                 "speedup", "exact")
    out.update({k: None for k in lava_keys})
    if lava:
        lv = run_lava_learning([net], task.R, [task.TF])[0]
        pred_lv = predictions(task, lv.spikes, lv.v)
        diff = np.abs(lv.weights.astype(np.int64) - ref.weights.astype(np.int64))
        sm = int(np.count_nonzero(lv.spikes != ref.spikes))
        vm = int(np.count_nonzero(lv.v != ref.v))
        if hl is not None:
            diff = np.concatenate([diff.ravel(), np.abs(lv.hidden_weights.astype(np.int64)
                                                        - ref.hidden_weights.astype(np.int64)).ravel()])
            sm += int(np.count_nonzero(lv.hidden_spikes != ref.hidden_spikes))
            vm += int(np.count_nonzero(lv.hidden_v != ref.hidden_v))
        out.update({
            "weights_differing": int(np.count_nonzero(diff)), "max_abs_weight_diff": int(diff.max(initial=0)),
            "spike_mismatches": sm, "v_mismatches": vm,
            "pred_mismatches": int(np.count_nonzero(pred_lv != pred_nc)),
            "acc_train_lava": acc(pred_lv, tr), "acc_test_lava": acc(pred_lv, te),
            "seconds_lava_startup": lv.seconds_startup, "seconds_lava": lv.seconds,
            "steps_per_s_lava": (task.lava_steps - 1) / lv.seconds if lv.seconds > 0 else None,
        })
        out["speedup"] = (out["steps_per_s_neurochip"] / out["steps_per_s_lava"]
                          if out["steps_per_s_neurochip"] and out["steps_per_s_lava"] else None)
        out["exact"] = (out["weights_differing"] == 0 and out["spike_mismatches"] == 0 and out["v_mismatches"] == 0
                        and out["pred_mismatches"] == 0)
    return out


def truncated_initial(net) -> np.ndarray:
    """A LearningDense's weights (of a :class:`LearnNet` or :class:`HiddenLearnSpec`) after its
    first-step truncation (before any learning)."""
    W = np.asarray(net.weights, np.int64)
    k = 8 - net.num_weight_bits + (1 if net.sign_mode == "MIXED" else 0)
    if net.sign_mode == "INHIBITORY":
        return -(((-W) >> k) << k)
    return (W >> k) << k
