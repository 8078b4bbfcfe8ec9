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

One concept per module:

* :mod:`neurochip.lava.learning_spec` (this module): one learning chain, :class:`LearnNet` (weights,
  :class:`RuleSpec`, :class:`LearningNeuronSpec`, optional :class:`HiddenSpec` / :class:`HiddenLearnSpec`),
  the host-side constants exactly as Lava computes them, and :class:`LearnResult`;
* :mod:`neurochip.lava.learning_emulator`: :class:`Emulator` and :func:`emulate` (neurochip);
* :mod:`neurochip.lava.learning_graph`: :func:`run_lava_learning` (the Lava graph; several chains
  share one runtime);
* :mod:`neurochip.lava.learning_task`: :func:`digits_task` and :func:`learn_compare`, which trains
  on digits-like data in both and returns a :class:`LearnComparison` (differing weights, both
  accuracies, spike mismatches, timings) for ``neurochip lava learn``.

Time alignment (Lava's, which the emulation reproduces; lava-semantics.md §1, §5.5): input row g is sent at
Lava step g + 1; each Dense hop adds one step, so the output layer processes row g at Lava step
g + 1 + hops. The learning phase of step tau pairs delta(tau) with ``x1(tau) = decay(x1(tau - 1)) +
s_pre(tau)``, while v(tau) was driven by s_pre(tau - 1): one step later than neurochip's native OTTT
kernel pairs them (``neurochip/kernels/ottt_int.py`` pairs delta(t) with the trace including s(t),
the spike that drove v(t)). That is Lava's semantics, not an emulation error; docs/lava_learning.md.

Nothing here imports Lava until a Lava graph is built.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

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
class LearningNeuronSpec:
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
    output computed it (one Dense hop), i.e. two rows after the hidden layer saw the input.

    ``recurrent``: the layer is recurrent (neurochip's ``r<n>``): a second LearningDense (weights
    ``recurrent``, ``recurrent_exp``, ``rec_rule()``) from the hidden OtttLIF's ``s_out`` back to its
    own ``a_in``, fed the same y-traces and bAPs; its one-step hop delivers s(t - 1). At every
    hidden reset step its buffer (the previous sample's last spikes) is cleared, so a sample starts
    from rest (``docs/lava_learning.md`` §6)."""
    weights: np.ndarray            # n_h x n_in int32 (Lava layout), initial LearningDense weights
    feedback: np.ndarray           # n_h x n_out int32, fixed Dense (graded messages)
    feedback_exp: int = 0
    feedback_sign_mode: str = "MIXED"
    rule: RuleSpec = RuleSpec()
    neuron: LearningNeuronSpec = LearningNeuronSpec(mode="error")
    weight_exp: int = 0
    sign_mode: str = "MIXED"
    num_weight_bits: int = 8
    bias: np.ndarray | None = None
    recurrent: np.ndarray | None = None     # n_h x n_h (Lava layout: [post, pre]): a recurrent hidden layer
    recurrent_exp: int = 0
    recurrent_sign_mode: str = "MIXED"
    recurrent_rule: RuleSpec | None = None  # None: ``rule`` (Lava: its own LearningDense, the same rule)

    def __post_init__(self):
        if self.neuron.mode != "error":
            raise NeurochipError("the hidden learning neurons take the fed-back error: neuron mode must be 'error'")
        if (self.sign_mode not in SIGN_MODES or self.feedback_sign_mode not in SIGN_MODES
                or self.recurrent_sign_mode not in SIGN_MODES):
            raise NeurochipError(f"sign modes must be among {tuple(SIGN_MODES)}")
        n_h = np.asarray(self.weights).shape[0]
        if np.asarray(self.feedback).shape[0] != n_h:
            raise NeurochipError("feedback matrix must have one row per hidden neuron")
        if self.recurrent is not None:
            if np.asarray(self.recurrent).shape != (n_h, n_h):
                raise NeurochipError(f"recurrent weights must be n_h x n_h = {n_h} x {n_h}, "
                                     f"got {np.asarray(self.recurrent).shape}")
            rr = self.rec_rule()
            # the recurrent LearningDense receives the same y-traces and bAPs as the input one: the
            # emulation shares them, which needs the same epochs and the same y encoding
            if rr.t_epoch != self.rule.t_epoch or rr.encoding != self.rule.encoding:
                raise NeurochipError("the recurrent rule must have the hidden rule's t_epoch and encoding")
        elif self.recurrent_rule is not None:
            raise NeurochipError("recurrent_rule given without recurrent weights")

    def rec_rule(self) -> RuleSpec:
        """The recurrent LearningDense's rule."""
        return self.rule if self.recurrent_rule is None else self.recurrent_rule

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
    neuron: LearningNeuronSpec = LearningNeuronSpec()
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



def truncated_initial(net) -> np.ndarray:
    """A LearningDense's weights (of a :class:`LearnNet` or :class:`HiddenLearnSpec`) after its
    first-step truncation (before any learning)."""
    return truncated(net.weights, net.num_weight_bits, net.sign_mode)


def truncated(weights, num_weight_bits: int = 8, sign_mode: str = "MIXED") -> np.ndarray:
    """LearningDense weights after its first-step truncation (lava/utils/weightutils.py)."""
    W = np.asarray(weights, np.int64)
    k = 8 - num_weight_bits + (1 if sign_mode == "MIXED" else 0)
    if sign_mode == "INHIBITORY":
        return -(((-W) >> k) << k)
    return (W >> k) << k


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


def var_written_rule(rule: RuleSpec) -> RuleSpec:
    """The rule a LearningDense runs after one of its Vars is written (``Var.set``, e.g. clearing a
    recurrent layer's buffer): Lava's ``on_var_update`` rebuilds x1 tau and impulse from the
    process's Vars, which ``PyLearningDenseModelBitApproximate`` types ``int``
    (connection.py:152-178, 606-607), truncating a fractional value (numpy float -> int)."""
    return replace(rule, x1_tau=float(int(rule.x1_tau)), x1_impulse=float(int(rule.x1_impulse)))


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


# ---------------------------------------------------------------------------------------------
# The result of a learning run (emulation or Lava)
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
    hidden_recurrent_weights: np.ndarray | None = None   # recurrent hidden layer (n_h x n_h) after learning
