"""A layered LIF network: its configuration, its integer layout on a chip profile, and its state.

* :class:`NetworkConfig` is everything a user chooses (sizes, T, encoder, readout, loss, rule...).
* :class:`IntLayout` is what the chip needs to run it: per layer the weight scale (fractional bits
  ``q``), the weight exponent, the learning shifts, all derived from the config and the profile,
  and checked against the profile's ranges.
* :class:`NetworkState` holds the arrays: weights (integer mantissas or float32), biases, fixed
  random feedback matrices, and the flat offsets the kernels use.

Scales. One weight LSB is ``2^-q`` threshold units: a presynaptic spike through mantissa ``m``
adds ``m << (weight_exp + input_shift)`` to the membrane, whose threshold is
``threshold << input_shift``; so ``weight_exp = log2(threshold) - q`` (and ``- input_bits`` more for
the first layer under direct encoding, whose graded input ``x_q`` stands for ``x_q / 2^input_bits``).
The float reference runs the same network in threshold units (Vth = 1). On a chip that drops the
weight LSB (Lava's mixed sign mode, ``weight_lsb_shift = 1``) the exported weight is
``m << weight_lsb_shift`` with exponent ``weight_exp - weight_lsb_shift``: the same product, and the
exported exponent is what the profile's ``weight_exp_min/max`` range constrains.
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field

import numpy as np

from .errors import NeurochipError
from .profile import Profile
from .surrogate import SURROGATES

ENCODERS = ("direct", "rate", "latency", "raster", "raster-spikes")
RASTER_ENCODERS = ("raster", "raster-spikes")   # per-step input (n, T, features): binned events, spike rasters
GRADED_ENCODERS = ("direct", "raster")          # layer-0 values are graded x_q (input_bits-bit messages), not spikes
READOUTS = ("integrator", "spiking")
LOSSES = ("ce", "mse", "ce_mse", "count", "rate_ce", "rate_mse", "count_enh", "ttfs_ce")
SPIKE_LOSSES = ("count", "rate_ce", "rate_mse", "count_enh", "ttfs_ce")   # need a spiking readout
FLOAT_LOSSES = ("rate_mse",)                                   # no integer form (see losses.py)
DECODERS = ("auto", "membrane", "rate", "latency")
FEEDBACK = ("transpose", "random")
RULES = ("ottt-o", "ottt-a", "bptt")
PRECISIONS = ("int", "float")
OPTIMIZERS = ("sgd", "momentum", "adam")
CUBA_TRACES = ("exact", "plain")    # docs/layers.md "CUBA layers: the exact OTTT trace"
LR_SCHEDULES = ("cosine", "constant")
LR_FLOOR = 0.05              # cosine annealing stops at 5% of the initial rate
CE_MSE_MIX = 0.05            # OTTT's (1 - 0.05) * CE + 0.05 * MSE (official code, paper §5)
RATE_TARGET = (0.8, 0.05)    # spiking readout: target firing rate of the label / other outputs


@dataclass(frozen=True)
class NetworkConfig:
    """What a network is (``Network.config``), frozen and validated: the neuron-layer ``sizes``
    (input first, classes last), ``arch`` (layer kinds, docs/layers.md; "" for dense layers) and
    every option :func:`neurochip.build` takes (the table in docs/api.md). ``to_dict`` /
    ``from_dict`` are the checkpoint form.

    Example::

        cfg = nc.build([64, 32, 10], timesteps=4).config
        print(cfg.sizes, cfg.timesteps, cfg.to_dict()["rule"])
    """
    sizes: tuple[int, ...]
    timesteps: int = 8
    encoder: str = "direct"
    readout: str = "integrator"
    loss: str = "ce_mse"
    surrogate: str = "sigmoid"
    surrogate_param: float = -1.0    # <= 0: the surrogate's default (surrogate.DEFAULT_PARAM)
    feedback: str = "transpose"
    rule: str = "ottt-o"
    precision: str = "int"
    lr: float = 0.05
    optimizer: str = "sgd"
    lr_schedule: str = "cosine"
    lr_horizon: int = 0              # epochs the cosine anneals over (0: the epochs train.fit is asked for)
    detach_reset: bool = True        # BPTT: no gradient through the reset (as OTTT assumes)
    decoder: str = "auto"            # auto: membrane (integrator readout) or rate (spiking readout)
    recurrent: bool = False          # hidden layers get feedback weights R_l (n_l x n_l), float only
    sws: bool = False                # scaled weight standardization of the feed-forward weights (float)
    learn_threshold: bool = False    # per-neuron thresholds learned by gradient descent (float)
    momentum: float = 0.9
    init_gain: float = 2.5
    readout_leak_shift: int = -1     # -1: the profile's leak_shift
    shadow_weight_bits: int = -1     # -1: the profile's value
    seed: int = 0
    arch: str = ""                   # layer kinds (docs/layers.md); "": dense layers from sizes
    cuba_trace: str = "exact"        # CUBA layers' OTTT trace: exact (filtered by current and membrane) or plain
    input_shape: tuple[int, ...] = ()   # (C, H, W) of the input for convolutions; (): flat
    leak_shifts: tuple[int, ...] = ()   # per neuron layer 1..L: leak shift k (NIR import); (): the profile's
    weight_q: tuple[int, ...] = ()      # per weight layer: fractional bits q (NIR import); (): from init_gain

    input_full_scale: int = 1        # raster encoder: the count that is full-scale graded input (1.0)

    def __post_init__(self):
        sizes = tuple(int(s) for s in self.sizes)
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "input_shape", tuple(int(s) for s in self.input_shape))
        object.__setattr__(self, "leak_shifts", tuple(int(k) for k in self.leak_shifts))
        object.__setattr__(self, "weight_q", tuple(int(q) for q in self.weight_q))
        if self.arch:
            if len(sizes) < 2 or min(sizes) < 1:
                raise NeurochipError(f"network sizes must be at least input and output, all >= 1; got {sizes}")
            from .layers import canonical_arch, weight_layers
            specs = _parse_cached(self.arch, sizes[0], sizes[-1], self.input_shape)
            sizes = (sizes[0],) + tuple(lay.n_out for lay in weight_layers(specs))
            object.__setattr__(self, "sizes", sizes)
            object.__setattr__(self, "arch", canonical_arch(specs))
            first = weight_layers(specs)[0]
            if len(first.in_shape) == 3:
                object.__setattr__(self, "input_shape", tuple(first.in_shape))
            if self.precision == "float":
                for li, lay in enumerate(weight_layers(specs)):
                    if type(lay).__name__ != "Dense" or lay.k_u:
                        # the float reference for layer kinds (kernels/ottt_float_layers.py): SGD, momentum, Adam
                        for bad, why in ((self.sws, "--sws"), (self.learn_threshold, "--learn-threshold")):
                            if bad:
                                raise NeurochipError(f"layer {li} ({lay.token}): the float reference runs {why} on plain dense"
                                                     " layers only; layer kinds train without it")
            if self.recurrent:
                raise NeurochipError("--recurrent is the float reference's option; in --arch write r<n> for a recurrent layer")
        if len(sizes) < 2 or min(sizes) < 1:
            raise NeurochipError(f"network sizes must be at least input and output, all >= 1; got {sizes}")
        if not 1 <= self.timesteps <= 100000:
            raise NeurochipError(f"timesteps must be in [1, 100000], got {self.timesteps}")
        for name, allowed in (("encoder", ENCODERS), ("readout", READOUTS), ("loss", LOSSES),
                              ("surrogate", tuple(SURROGATES)), ("feedback", FEEDBACK),
                              ("rule", RULES), ("precision", PRECISIONS), ("optimizer", OPTIMIZERS),
                              ("lr_schedule", LR_SCHEDULES), ("decoder", DECODERS), ("cuba_trace", CUBA_TRACES)):
            if getattr(self, name) not in allowed:
                raise NeurochipError(f"{name} must be one of {', '.join(allowed)}, got '{getattr(self, name)}'")
        if not (isinstance(self.input_full_scale, int) and 1 <= self.input_full_scale <= 65535):
            raise NeurochipError(f"input full scale must be a count in [1, 65535], got {self.input_full_scale}")
        if not (isinstance(self.lr_horizon, int) and 0 <= self.lr_horizon <= 10 ** 6):
            raise NeurochipError(f"--lr-horizon must be a number of epochs (>= 1), got {self.lr_horizon}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise NeurochipError(f"learning rate must be a positive number, got {self.lr}")
        if not math.isfinite(self.surrogate_param):
            raise NeurochipError(f"surrogate parameter must be a finite number, got {self.surrogate_param}")
        if not (math.isfinite(self.init_gain) and self.init_gain > 0):
            raise NeurochipError(f"init gain must be a positive number, got {self.init_gain}")
        if self.readout == "integrator" and self.loss in SPIKE_LOSSES:
            raise NeurochipError(f"--loss {self.loss} is a loss on spike counts: it needs a spiking readout (--readout spiking)")
        if self.readout == "integrator" and self.decoder in ("rate", "latency"):
            raise NeurochipError(f"--decoder {self.decoder} decodes output spikes: it needs a spiking readout (--readout spiking)")
        if self.precision == "int" and self.loss in FLOAT_LOSSES:
            raise NeurochipError(f"--loss {self.loss} has no integer form (it divides per output and step); use --precision float,"
                                 " or --loss count on chip")
        for name in ("recurrent", "sws", "learn_threshold"):
            if getattr(self, name) and self.precision == "int":
                raise NeurochipError(f"--{name.replace('_', '-')} is a float-reference option: use --precision float")
        if self.recurrent and len(sizes) < 3:
            raise NeurochipError("--recurrent needs at least one hidden layer (--hidden)")
        if self.readout == "spiking" and self.loss in ("ce", "ce_mse"):
            raise NeurochipError("a spiking readout trains with --loss mse or count; CE needs the integrator readout")
        if self.rule == "bptt" and self.precision != "float":
            raise NeurochipError("--rule bptt is the float reference (it needs the whole T-step tape): use --precision float")
        if self.rule == "bptt" and self.loss == "ttfs_ce":
            raise NeurochipError("--loss ttfs_ce has an online (OTTT) form only; use --rule ottt-o or ottt-a")
        if self.rule == "bptt" and self.feedback != "transpose":
            raise NeurochipError("--rule bptt backpropagates through the transposed weights; --feedback random is for OTTT")
        if self.precision == "int" and self.optimizer != "sgd":
            raise NeurochipError(f"--optimizer {self.optimizer} is a float-reference option (the chip learns by plain SGD, "
                                 "a shift): use --precision float, or drop --optimizer")
        if self.precision == "float" and self.shadow_weight_bits > 0:
            raise NeurochipError("--shadow-bits sets the chip's mixed precision; the float reference has no shadow "
                                 "weights: use --precision int, or drop --shadow-bits")
        if self.readout_leak_shift > 12 or self.readout_leak_shift < -1:
            raise NeurochipError(f"readout leak shift must be in [0, 12], got {self.readout_leak_shift}")
        for name in ("leak_shifts", "weight_q"):
            v = getattr(self, name)
            if v and len(v) != len(sizes) - 1:
                raise NeurochipError(f"{name} has {len(v)} entries, the network has {len(sizes) - 1} layers")
        if self.leak_shifts and not all(0 <= k <= 12 for k in self.leak_shifts):
            raise NeurochipError(f"leak_shifts must be in [0, 12], got {list(self.leak_shifts)}")
        if self.weight_q and not all(-32 <= q <= 48 for q in self.weight_q):
            raise NeurochipError(f"weight_q must be in [-32, 48], got {list(self.weight_q)}")

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def layers(self):
        """The weight layers (neurochip/layers.py): from ``arch``, or Dense layers from the sizes."""
        from .layers import layers_from_sizes, weight_layers
        if self.arch:
            return weight_layers(_parse_cached(self.arch, self.sizes[0], self.sizes[-1], self.input_shape))
        return layers_from_sizes(self.sizes)

    @property
    def layer_specs(self):
        """Every layer spec, Flatten included (the architecture as written)."""
        from .layers import layers_from_sizes
        if self.arch:
            return _parse_cached(self.arch, self.sizes[0], self.sizes[-1], self.input_shape)
        return layers_from_sizes(self.sizes)

    @property
    def plain_dense(self) -> bool:
        """Every weight layer is a current-less Dense (what the float kernels and old code assume)."""
        return all(type(lay).__name__ == "Dense" and not lay.k_u for lay in self.layers)

    @property
    def decoder_resolved(self) -> str:
        """The decoder in use: 'auto' is membrane for the integrator readout, rate for spiking."""
        if self.decoder != "auto":
            return self.decoder
        return "membrane" if self.readout == "integrator" else "rate"

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["sizes"] = list(self.sizes)
        d["input_shape"] = list(self.input_shape)
        d["leak_shifts"] = list(self.leak_shifts)
        d["weight_q"] = list(self.weight_q)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "NetworkConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise NeurochipError(f"unknown network config key '{sorted(unknown)[0]}'")
        return cls(**d)


@functools.lru_cache(maxsize=64)
def _parse_cached(arch: str, n_in: int, n_classes: int, input_shape: tuple):
    from .layers import parse_arch
    return parse_arch(arch, n_in, n_classes, input_shape)


@dataclass(frozen=True)
class IntLayout:
    """Integer parameters of every layer, derived from config + profile (see module docstring)."""
    q: tuple[int, ...]                 # fractional bits of each layer's learned weights (shadow if on)
    weight_exp: tuple[int, ...]        # Dense weight exponent per layer
    leak_shift: tuple[int, ...]        # k of each neuron layer 1..L (the readout may differ)
    update_shift: tuple[int, ...]      # s in dm = -(g * a * lr_mant) >> s, per layer
    lr_mant: int
    lr_exp: int
    shadow_extra: int                  # shadow bits - weight bits (0: no shadow weights)
    learn_bits: int                    # width of the learned weights (shadow or inference)

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

def parse_hidden(hidden: str) -> tuple[int, ...]:
    """Hidden layer sizes from the ``--hidden`` text ``"256,128"``."""
    try:
        sizes = tuple(int(h) for h in hidden.split(",") if h.strip())
    except ValueError:
        raise NeurochipError(f"--hidden must be comma-separated layer sizes like 256,128; got '{hidden}'") from None
    if any(s < 1 for s in sizes):
        raise NeurochipError(f"--hidden sizes must be positive; got '{hidden}'")
    return sizes



def quantize_lr(x: float) -> tuple[int, int]:
    """x ~= mant * 2^exp with a 4-bit mantissa in [8, 15] (a shift-and-add multiplier)."""
    e = math.floor(math.log2(x)) - 3
    m = int(round(x / 2.0 ** e))
    if m > 15:
        m, e = 8, e + 1
    return m, e


def lr_at(cfg: NetworkConfig, epoch: int, epochs: int) -> float:
    """Learning rate of epoch ``epoch`` (0-based): constant, or cosine annealing (as the OTTT paper
    trains) from lr down to LR_FLOOR * lr over ``cfg.lr_horizon`` epochs (0: over ``epochs``).
    Past the horizon the rate stays at LR_FLOOR * lr, where the cosine ends, so a run extended
    beyond its planned epochs keeps its schedule (a 1-epoch horizon is constant). On chip this
    reprograms the rule's learning-rate mantissa and shift between epochs."""
    horizon = cfg.lr_horizon or epochs
    if cfg.lr_schedule == "constant" or horizon <= 1:
        return cfg.lr
    c = 0.5 * (1.0 + math.cos(math.pi * min(epoch, horizon) / horizon))
    return cfg.lr * (LR_FLOOR + (1.0 - LR_FLOOR) * c)


def int_layout(cfg: NetworkConfig, profile: Profile, lr: float | None = None) -> IntLayout:
    """The integer layout; ``lr`` (default cfg.lr) sets the learning-rate mantissa and shifts."""
    n, s, l = profile.neuron, profile.synapse, profile.learning
    shadow_bits = l.shadow_weight_bits if cfg.shadow_weight_bits < 0 else cfg.shadow_weight_bits
    if shadow_bits and shadow_bits <= s.weight_bits:
        raise NeurochipError(f"shadow weight bits ({shadow_bits}) must be 0 (off) or wider than weight bits ({s.weight_bits})")
    if shadow_bits > 24:
        raise NeurochipError(f"shadow weight bits must be at most 24, got {shadow_bits}")
    extra = shadow_bits - s.weight_bits if shadow_bits else 0
    if cfg.rule == "ottt-a":
        # the accumulator keeps accumulator_frac_bits below the learned (shadow) LSB, so it holds
        # 2^(acc_bits - 1 - acc_frac) learned LSBs: one inference-weight step at this shadow width
        limit = s.weight_bits + l.accumulator_bits - 1 - l.accumulator_frac_bits
        if s.weight_bits + extra > limit:
            raise NeurochipError(
                f"--rule ottt-a: {s.weight_bits + extra}-bit learned weights overflow the {l.accumulator_bits}-bit accumulator"
                f" ({l.accumulator_frac_bits} bits below their LSB); the limit is weight_bits + accumulator_bits - 1"
                f" - accumulator_frac_bits = {limit} bits (docs/profiles.md): lower --shadow-bits or use --rule ottt-o")
    log2_thr = int(round(math.log2(n.threshold)))
    q, wexp = [], []
    layers = cfg.layers
    for li, spec in enumerate(layers):
        if cfg.weight_q and spec.learned:
            qi = cfg.weight_q[li]       # chosen per layer from given weights (NIR import, docs/nir.md)
        elif spec.learned:
            bound = cfg.init_gain / math.sqrt(spec.fan_in)
            # room for 2x the init bound in the signed mantissa: finer steps beat range here
            # (digits 64-128-10, 3 seeds: 2x 97.87 +- 0.58 %, 4x 96.94 +- 0.48 %, 8x 97.22 %)
            qi = (s.weight_bits - 1) - math.ceil(math.log2(2 * bound))
        else:
            # pooling: fixed unit weights worth 2^-shift threshold (sum: one threshold), stored as the
            # mantissa 2^j with q = shift + j, j the smallest that brings the exponent into range
            qi = spec.shift
            e0 = log2_thr - qi - (s.input_bits if li == 0 and cfg.encoder == "direct" else 0)
            qi += min(max(0, e0 - s.weight_lsb_shift - s.weight_exp_max), s.weight_bits - 2)
        e = log2_thr - qi
        if li == 0 and cfg.encoder in ("direct", "raster"):   # graded input x_q of input_bits
            e -= s.input_bits
        if not s.weight_exp_min <= e - s.weight_lsb_shift <= s.weight_exp_max:
            raise NeurochipError(
                f"layer {li} ({spec.token}): weight exponent {e - s.weight_lsb_shift} is outside the profile's [{s.weight_exp_min}, {s.weight_exp_max}]"
                f" (threshold {n.threshold}, {s.weight_bits}-bit weights); change the threshold or the init gain")
        q.append(qi)
        wexp.append(e)
    k_r = n.leak_shift if cfg.readout_leak_shift < 0 else cfg.readout_leak_shift
    leak = tuple([n.leak_shift] * (cfg.n_layers - 1) + [k_r])
    if cfg.leak_shifts:
        leak = tuple(cfg.leak_shifts)
    lr_mant, lr_exp = quantize_lr((cfg.lr if lr is None else lr) / cfg.timesteps)
    ushift = []
    for li in range(cfg.n_layers):
        sh = l.error_frac_bits + l.trace_frac_bits - (q[li] + extra) - lr_exp
        if sh > 31 and layers[li].learned:
            raise NeurochipError(f"layer {li}: update shift {sh} > 31: the learning rate is too small for these widths")
        ushift.append(sh)
    return IntLayout(q=tuple(q), weight_exp=tuple(wexp), leak_shift=leak, update_shift=tuple(ushift),
                     lr_mant=lr_mant, lr_exp=lr_exp, shadow_extra=extra,
                     learn_bits=s.weight_bits + extra)


@dataclass
class NetworkState:
    """Weights and constants of one network. Layer l's weights are stored presynaptic-major,
    ``W[l][j, i]`` = synapse from neuron j of layer l to neuron i of layer l + 1 (a neuron's fan-out
    is contiguous, as in a chip's synapse memory)."""
    cfg: NetworkConfig
    weights: list[np.ndarray]                  # int32 mantissas (int) or float32 (float)
    shadow: list[np.ndarray] | None = None     # int32 shadow weights (int, mixed precision)
    bias: list[np.ndarray] = field(default_factory=list)       # per neuron layer 1..L
    feedback: list[np.ndarray] = field(default_factory=list)   # fixed random feedback B_l (n_l x n_out)
    recurrent: list[np.ndarray] = field(default_factory=list)  # R_l (n_l x n_l) of hidden layers 1..L-1 (float, --recurrent)
    threshold: list[np.ndarray] = field(default_factory=list)  # per-neuron thresholds of layers 1..L (float, --learn-threshold)

    def flat(self, arrays) -> np.ndarray:
        return np.concatenate([a.ravel() for a in arrays]) if arrays else np.zeros(0)


def init_float_weights(cfg: NetworkConfig) -> list[np.ndarray]:
    """U(-b, b), b = init_gain / sqrt(fan_in), from the config's seed (numpy PCG64)."""
    rng = np.random.default_rng(cfg.seed)
    out = []
    if not cfg.arch:
        for li in range(cfg.n_layers):
            b = cfg.init_gain / math.sqrt(cfg.sizes[li])
            out.append(rng.uniform(-b, b, size=(cfg.sizes[li], cfg.sizes[li + 1])))
        return out
    for spec in cfg.layers:
        # layer kinds (docs/layers.md): fan-in of a convolution is C_in k k; pooling has no weights;
        # a recurrent layer's recurrent rows start at RECURRENT_GAIN / sqrt(n_out)
        if not spec.learned:
            out.append(np.zeros(spec.weight_shape))
            continue
        b = cfg.init_gain / math.sqrt(spec.fan_in)
        w = rng.uniform(-b, b, size=spec.weight_shape)
        if spec.kind == 3:
            w[spec.n_in:] *= RECURRENT_GAIN * math.sqrt(spec.fan_in) / (cfg.init_gain * math.sqrt(spec.n_out))
        out.append(w)
    return out


def init_feedback(cfg: NetworkConfig) -> list[np.ndarray]:
    """Fixed random feedback B_l (n_l x n_out) for hidden layers l = 1..L-1, float64 in threshold units."""
    rng = np.random.default_rng([cfg.seed, 1])
    n_out = cfg.sizes[-1]
    return [rng.uniform(-1, 1, size=(cfg.sizes[li], n_out)) / math.sqrt(n_out)
            for li in range(1, cfg.n_layers)]


RECURRENT_GAIN = 0.5   # recurrent weights start at U(-b, b), b = 0.5 / sqrt(n_l): feed-forward drive dominates


def init_recurrent(cfg: NetworkConfig) -> list[np.ndarray]:
    """Recurrent weights R_l (n_l x n_l, presynaptic-major) of hidden layers 1..L-1, or [] if off."""
    if not cfg.recurrent:
        return []
    rng = np.random.default_rng([cfg.seed, 3])
    return [rng.uniform(-1, 1, size=(n, n)) * RECURRENT_GAIN / math.sqrt(n) for n in cfg.sizes[1:-1]]


def init_state(cfg: NetworkConfig, profile: Profile) -> NetworkState:
    wf = init_float_weights(cfg)
    fb = init_feedback(cfg)
    if cfg.precision == "float":
        return NetworkState(cfg, [w.astype(np.float32) for w in wf], None,
                            [np.zeros(n, np.float32) for n in cfg.sizes[1:]],
                            [b.astype(np.float32) for b in fb],
                            [r.astype(np.float32) for r in init_recurrent(cfg)],
                            [np.ones(n, np.float32) for n in cfg.sizes[1:]] if cfg.learn_threshold else [])
    lay = int_layout(cfg, profile)
    wb = profile.synapse.weight_bits
    lb = lay.learn_bits
    learned = [np.clip(np.round(w * 2.0 ** (q + lay.shadow_extra)), -(1 << (lb - 1)), (1 << (lb - 1)) - 1).astype(np.int32)
               for w, q in zip(wf, lay.q)]
    if lay.shadow_extra:
        weights = [(m >> lay.shadow_extra).astype(np.int32) for m in learned]
        shadow = learned
    else:
        weights, shadow = learned, None
    # feedback matrices in the next layer's weight scale, at the weight width
    fbq = [np.clip(np.round(b * 2.0 ** lay.q[li + 1]), -(1 << (wb - 1)), (1 << (wb - 1)) - 1).astype(np.int32)
           for li, b in enumerate(fb)]
    return NetworkState(cfg, weights, shadow, [np.zeros(n, np.int32) for n in cfg.sizes[1:]], fbq)
