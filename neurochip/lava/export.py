"""Export a trained integer neurochip network to Lava (lava-nc 0.10.0) and check it runs bit-exact.

Mapping (``docs/design/lava-semantics.md`` is the verified spec of Lava's fixed-point semantics; user
documentation in ``docs/lava.md``). For weight layer l (neurochip ``W[l]`` is n_pre x n_post,
presynaptic-major):

* **Dense** ``weights = (m << 1).T`` (n_post x n_pre), ``num_weight_bits = 8``,
  ``weight_exp = weight_exp[l] - 1``, ``sign_mode`` EXCITATORY if every m >= 0, INHIBITORY if every
  m <= 0 (and none is -128), else MIXED. Lava keeps ``(W >> k) << k`` with k = 1 in MIXED mode and
  k = 0 otherwise (lava-semantics.md §2): every even W in range is kept, so the export changes no weight.
  Lava then computes ``shift_exp(sum 2m, e - 1) = shift_exp(sum m, e)`` (floor shift of the sum),
  which is exactly what neurochip's kernel computes. ``num_message_bits = input_bits`` on the
  first Dense under direct encoding (graded input x_q), 0 (binary spikes) elsewhere.
* **LIF** (stock ``LIFReset``, ``PyLifResetModelBitAcc``) for a Lava-exact profile: ``du = 4095``
  (no current memory, u = a << 6), ``dv = 4096 >> k`` (toward-zero leak, lava-semantics.md §4),
  ``vth = threshold``, bias = ``bias_mant << bias_exp`` (not shifted by 6, as in neurochip). The
  integrator readout is a LIF with ``vth = 2^17``: ``vth << 6 = 2^23`` is above the largest
  membrane value 2^23 - 1, so it never fires. ``reset_interval = T``, ``reset_offset = (1 + l) % T``
  return each layer to rest at the first step of every sample, so samples stream back to back.
* Any other profile (subtractive reset, ``>=``, floor leak, other widths: the generic profile)
  gets the SIMULATION-ONLY process :class:`neurochip.lava.models.nc_lif.NcLIF`.

Timing: the input RingBuffer sends raster row g at Lava step g + 1, and every Dense hop adds one
step, so neuron layer l (1-based) computes neurochip's global step g at Lava's 0-based step
g + l. Recorded Lava arrays are shifted back by l before comparing; a run of S neurochip steps
takes S + L Lava steps.

Nothing here imports Lava until a Lava graph is built (:func:`build_lava`, :func:`run_lava`).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import NeurochipError
from ..kernels.decode import predict
from .. import parallel
from ..kernels.lif_run import encode_raster, lif_forward, raster_rows
from ..network import GRADED_ENCODERS, RASTER_ENCODERS

#: Lava steps added by each Dense hop (lava-semantics.md §1)
from ..kernels.lava_engine import HOP_DELAY  # noqa: E402
#: Lava's LIF: 12-bit decay constants, 6-bit MSB alignment of activation and threshold, 24-bit u/v
LAVA_DECAY_UNITY = 4096
LAVA_ACT_SHIFT = 6
LAVA_UV_BITS = 24
#: readout threshold mantissa: vth << 6 = 2^23 > 2^23 - 1, the largest membrane value: never fires
READOUT_VTH = 1 << 17
#: hardware ranges (Loihi; Lava's simulator does not enforce them)
HW_VTH_MAX = (1 << 17) - 1          # 17-bit unsigned vth
HW_DECAY_MAX = 4095                 # 12-bit unsigned du, dv
HW_BIAS_MANT = (-(1 << 12), (1 << 12) - 1)   # 13-bit signed bias mantissa
HW_BIAS_EXP = (0, 7)                # 3-bit unsigned bias exponent
SIM_BIAS_MANT = (-(1 << 15), (1 << 15) - 1)  # Lava stores bias_mant as int16
SIGN_MODES = ("MIXED", "EXCITATORY", "INHIBITORY")


# ---------------------------------------------------------------------------------------------
# The export itself: numbers only, no Lava needed
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerExport:
    """Lava parameters of weight layer ``index`` (Dense) and neuron layer ``index + 1`` (LIF)."""
    index: int
    weights: np.ndarray          # Dense weights, n_post x n_pre int32 (= mantissa.T << 1)
    weight_exp: int
    num_weight_bits: int
    sign_mode: str               # one of SIGN_MODES
    num_message_bits: int
    du: int
    dv: int
    vth: int
    bias_mant: np.ndarray        # int32 per neuron
    bias_exp: np.ndarray         # int32 per neuron
    readout: bool                # integrator readout: never fires
    leak_shift: int
    neuron: dict = field(default_factory=dict)   # custom model parameters (NcLIF), empty for stock

    @property
    def n_pre(self) -> int:
        return self.weights.shape[1]

    @property
    def n_post(self) -> int:
        return self.weights.shape[0]


@dataclass(frozen=True)
class LavaExport:
    sizes: tuple[int, ...]
    timesteps: int
    encoder: str
    stock: bool                  # True: stock Lava processes only (hardware-ready graph)
    layers: tuple[LayerExport, ...]
    notes: tuple[str, ...]       # what is not hardware-ready, and why
    decoder: str = "membrane"    # how predictions are read from the readout (kernels/decode.py)

    @property
    def n_layers(self) -> int:
        return len(self.layers)


def lava_exact_reasons(profile) -> list[str]:
    """Why stock Lava LIF/Dense cannot run this profile's arithmetic (empty: they can)."""
    n, s = profile.neuron, profile.synapse
    why = []
    if n.leak_rounding != "toward_zero":
        why.append(f"leak_rounding = {n.leak_rounding} (Lava's LIF leak rounds toward zero)")
    if n.reset != "zero":
        why.append(f"reset = {n.reset} (Lava 0.10's LIF resets to zero; no subtractive-reset model exists)")
    if n.compare != ">":
        why.append(f"compare = '{n.compare}' (Lava's LIF spikes on v > vth << 6)")
    if n.membrane_bits != LAVA_UV_BITS:
        why.append(f"membrane_bits = {n.membrane_bits} (Lava: 24)")
    if n.current_bits != LAVA_UV_BITS or n.current_overflow != "wrap":
        why.append(f"current {n.current_bits} bits {n.current_overflow} (Lava: 24 bits wrap)")
    if n.input_shift != LAVA_ACT_SHIFT:
        why.append(f"input_shift = {n.input_shift} (Lava: 6)")
    return why


def sign_mode_for(m: np.ndarray) -> str:
    """EXCITATORY / INHIBITORY when every mantissa has one sign (and 2m stays in Lava's 8-bit
    magnitude), else MIXED; with W = 2m every choice keeps every weight (lava-semantics.md §2)."""
    if m.size == 0 or m.min() >= 0:
        return "EXCITATORY"
    if m.max() <= 0 and m.min() >= -127:
        return "INHIBITORY"
    return "MIXED"


def effective_dense_weights(W: np.ndarray, sign_mode: str | None = None, num_weight_bits: int = 8) -> np.ndarray:
    """What Lava's Dense fixed_pt keeps of ``W`` on its first step (lava-semantics.md §2; Lava's
    ``clip_weights`` and ``truncate_weights``), computed without Lava."""
    W = np.asarray(W, np.int64)
    sm = sign_mode or ("EXCITATORY" if W.min() >= 0 else "INHIBITORY" if W.max() <= 0 else "MIXED")
    mixed = sm == "MIXED"
    w = -W if sm == "INHIBITORY" else W
    w = np.clip(w, -256 if mixed else 0, 255)
    k = 8 - num_weight_bits + int(mixed)
    w = (w >> k) << k
    return -w if sm == "INHIBITORY" else w


def bias_to_mant_exp(b: np.ndarray, mant_range=SIM_BIAS_MANT, exp_range=HW_BIAS_EXP):
    """Per-neuron (bias_mant, bias_exp) with ``mant << exp == b`` exactly, smallest exponent first.
    Returns (mant, exp, ok) where ok[i] says b[i] is representable in the given ranges."""
    b = np.asarray(b, np.int64)
    mant = np.zeros_like(b)
    bexp = np.zeros_like(b)
    ok = np.zeros(b.shape, bool)
    for e in range(exp_range[0], exp_range[1] + 1):
        m = b >> e
        fits = (~ok) & ((m << e) == b) & (m >= mant_range[0]) & (m <= mant_range[1])
        mant[fits] = m[fits]
        bexp[fits] = e
        ok |= fits
    return mant.astype(np.int32), bexp.astype(np.int32), ok


#: W = m << EXPORT_WEIGHT_SHIFT: an even weight survives every sign mode of Lava's Dense (lava-semantics.md §2)
EXPORT_WEIGHT_SHIFT = 1


def lava_weight_exp(weight_exp: int) -> int:
    """Lava Dense ``weight_exp`` for neurochip's per-layer ``weight_exp``.

    neurochip's kernels (``ottt_int.run_int``, ``lif_run.lif_forward``) compute
    ``shift_exp(sum_j m_j s_j, weight_exp)`` (network.py: one mantissa LSB is 2^-q thresholds).
    Lava computes ``shift_exp(sum_j W_j s_j, weight_exp_lava)`` with ``W = m << 1``, and
    ``shift_exp(2 S, e - 1) == shift_exp(S, e)`` for every e (floor shifts of the sum), hence
    ``e - 1``: the profile's ``weight_lsb_shift`` (the LSB Lava drops) is absorbed here.
    """
    return int(weight_exp) - EXPORT_WEIGHT_SHIFT


def export_network(engine, force_custom: bool = False) -> LavaExport:
    """The Lava parameters of an integer :class:`~neurochip.engine.Engine`'s network.

    Stock Lava processes for a Lava-exact profile (see :func:`lava_exact_reasons`), else (or with
    ``force_custom``) the simulation-only :class:`~neurochip.lava.models.nc_lif.NcLIF` neurons.
    Raises NeurochipError when a value cannot be represented exactly in Lava.
    """
    if not getattr(engine, "is_int", False):
        raise NeurochipError("only integer networks (--precision int) can be exported to Lava's fixed-point simulator")
    cfg, prof, ilay = engine.cfg, engine.profile, engine.ilay
    n, s = prof.neuron, prof.synapse
    if not cfg.plain_dense:
        lay = next(x for x in cfg.layers if type(x).__name__ != "Dense" or x.k_u)
        raise NeurochipError(f"layer {cfg.layers.index(lay)} ({lay.token}): this export writes dense layers; layer kinds "
                             "go through neurochip.lava.export_layers (neurochip lava run does so)")
    if s.weight_bits > 8:
        raise NeurochipError(f"profile '{prof.name}' has {s.weight_bits}-bit weights; Lava's Dense keeps at most "
                             "8 bits (W in [-256, 255], mixed-sign LSB dropped): cannot export without losing bits")
    why = lava_exact_reasons(prof)
    stock = not why and not force_custom
    notes = []
    if not stock:
        reason = "; ".join(why) if why else "custom neuron model requested"
        notes.append(f"SIMULATION ONLY: neurons use neurochip's NcLIF ProcessModel ({reason})")
    weights = engine.weights()
    st = engine.state()
    L = cfg.n_layers
    layers = []
    for l in range(L):
        m = weights[l].astype(np.int64)
        if m.size and (m.min() < -128 or m.max() > 127):
            raise NeurochipError(f"layer {l + 1}: weight mantissas outside [-128, 127] cannot be exported to Lava's 8-bit Dense")
        W = (m.T << EXPORT_WEIGHT_SHIFT).astype(np.int32)
        sm = sign_mode_for(m)
        lexp = lava_weight_exp(ilay.weight_exp[l])
        if not s.weight_exp_min <= lexp <= s.weight_exp_max:
            notes.append(f"layer {l + 1}: Dense weight_exp {lexp} is outside the chip's [{s.weight_exp_min}, {s.weight_exp_max}]")
        nmb = s.input_bits if (l == 0 and cfg.encoder in GRADED_ENCODERS) else 0
        k = int(ilay.leak_shift[l])
        readout = l == L - 1 and cfg.readout == "integrator"
        b = np.asarray(st.bias[l], np.int64)
        neuron = {}
        if stock:
            mant, bexp, ok = bias_to_mant_exp(b)
            if not ok.all():
                bad = int(np.flatnonzero(~ok)[0])
                raise NeurochipError(f"layer {l + 1}: bias {int(b[bad])} of neuron {bad} is not bias_mant << bias_exp with an "
                                     "int16 mantissa and exponent 0..7: Lava cannot represent it")
            _, _, hw = bias_to_mant_exp(b, HW_BIAS_MANT, HW_BIAS_EXP)
            if not hw.all():
                notes.append(f"layer {l + 1}: {int((~hw).sum())} biases need a mantissa beyond Loihi's 13 bits (simulation only)")
            dv = LAVA_DECAY_UNITY >> k
            if dv > HW_DECAY_MAX:
                notes.append(f"layer {l + 1}: leak shift 0 (no memory) needs dv = 4096, beyond Loihi's 12-bit dv (simulation only)")
            vth = READOUT_VTH if readout else n.threshold
            if readout:
                notes.append(f"layer {l + 1}: integrator readout uses vth = 2^17 so it can never fire (Loihi's vth is 17-bit: on "
                             "chip use 131071, which fires only within 63 of membrane saturation, or leave s_out unconnected)")
            elif vth > HW_VTH_MAX:
                notes.append(f"layer {l + 1}: vth {vth} is beyond Loihi's 17 bits")
            du = LAVA_DECAY_UNITY - 1
        else:
            mant, bexp = b.astype(np.int32), np.zeros(b.shape, np.int32)
            du, dv, vth = 0, 0, n.threshold
            neuron = dict(leak_shift=k, leak_mode=n.leak_rounding, reset=n.reset, compare=n.compare,
                          membrane_bits=n.membrane_bits, current_bits=n.current_bits,
                          current_overflow=n.current_overflow, input_shift=n.input_shift,
                          threshold=n.threshold_membrane, fires=not readout)
        layers.append(LayerExport(index=l, weights=W, weight_exp=lexp, num_weight_bits=8, sign_mode=sm,
                                  num_message_bits=nmb, du=du, dv=dv, vth=vth, bias_mant=mant, bias_exp=bexp,
                                  readout=readout, leak_shift=k, neuron=neuron))
    return LavaExport(sizes=tuple(cfg.sizes), timesteps=cfg.timesteps, encoder=cfg.encoder, stock=stock,
                      layers=tuple(layers), notes=tuple(notes), decoder=cfg.decoder_resolved)


def weight_changes(exp: LavaExport, effective: list[np.ndarray], mantissas: list[np.ndarray]) -> list[int]:
    """Per layer: how many of Lava's effective Dense weights differ from the neurochip mantissas
    (effective n_post x n_pre, read back from Lava or from :func:`effective_dense_weights`)."""
    out = []
    for lay, eff, m in zip(exp.layers, effective, mantissas):
        eff = np.asarray(eff, np.int64)
        expect = np.asarray(m, np.int64).T << EXPORT_WEIGHT_SHIFT
        out.append(int(np.count_nonzero(eff != expect)))
    return out


# ---------------------------------------------------------------------------------------------
# neurochip reference: per-step spikes and membranes
# ---------------------------------------------------------------------------------------------

def input_raster(engine, xin, order: np.ndarray, advance: bool = False) -> np.ndarray:
    """The input layer's value at every global step (len(order) * T rows, n0 columns, int32) for
    samples ``order`` of ``engine.prepare(x)``'s output, exactly as the engine's kernel emits it.
    The rate encoder draws from the engine's encoder PRNG; ``advance`` keeps the advanced state."""
    order = np.ascontiguousarray(order, np.int64)
    rp = engine.kernel_params()[3]
    T = rp.T
    if engine.cfg.encoder in RASTER_ENCODERS:          # per-step input: one table look-up per value
        R = np.zeros((len(order) * T, engine.cfg.sizes[0]), np.int32)
        raster_rows(xin[0], np.ascontiguousarray(xin[1], np.int64), order, T, R)
        return R
    X = np.ascontiguousarray(xin[0], np.int64)
    R = np.zeros((len(order) * T, X.shape[1]), np.int32)
    r = encode_raster(X, order, T, rp.enc, int(engine.rng[1]), R)
    if advance:
        engine.rng[1] = r
    return R


@dataclass
class RunRecord:
    """Per-step state of neuron layers 1..L, aligned to neurochip's global steps."""
    spikes: list[np.ndarray]     # per layer: steps x n_l, uint8 / int
    v: list[np.ndarray]          # per layer: steps x n_l, membrane after reset
    preds: np.ndarray            # prediction per period (sample)
    events: np.ndarray | None = None   # neurochip: int64[L, 2] current wraps, membrane clips
    seconds: float = 0.0


def reference_run(engine, R: np.ndarray, period: int | None = None, record: bool = True) -> RunRecord:
    """Run raster R through ``engine``'s network with neurochip's integer arithmetic
    (:func:`neurochip.kernels.lif_run.lif_forward`), state at rest every ``period`` (default T)."""
    if not engine.is_int:
        raise NeurochipError("the integer reference needs an integer network")
    lay = engine.lay
    sizes = lay.sizes
    steps = R.shape[0]
    net, lifs, _, rp = engine.kernel_params()
    period = rp.T if period is None else int(period)
    n_all = lay.n_neurons
    n_rec = n_all - int(sizes[0])
    rec_s = np.zeros((steps, n_rec) if record else (0, 0), np.uint8)
    rec_v = np.zeros((steps, n_rec) if record else (0, 0), np.int32)
    n_out = int(sizes[-1])
    preds = np.zeros(-(-steps // period), np.int64)
    events = np.zeros((len(sizes) - 1, 2), np.int64)
    v = np.zeros(n_all, np.int64)
    s = np.zeros(n_all, np.int64)
    cur = np.zeros(n_all, np.int64)
    R = np.ascontiguousarray(R, np.int32)
    t0 = time.perf_counter()
    # periods are independent (state at rest at each start): period-aligned chunks run in threads
    # (neurochip/parallel.py); the last chunk leaves v, s as a single run would
    parts = parallel.chunks(steps, parallel.threads(), period)
    evs = [events] + [np.zeros_like(events) for _ in parts[1:]]
    runs = []
    for c, (a, b) in enumerate(parts):
        last = c == len(parts) - 1
        vs_ = (v, s, cur) if last else tuple(np.zeros(n_all, np.int64) for _ in range(3))
        runs.append(lambda a=a, b=b, vs_=vs_, ev=evs[c]: lif_forward(
            R[a:b], period, net, lifs, rp.dec, engine.W, engine.B, *vs_,
            rec_s[a:b] if record else rec_s, rec_v[a:b] if record else rec_v,
            np.zeros(n_out, np.int64), np.zeros(n_out, np.int64), np.zeros(n_out, np.int64),
            preds[a // period:-(-b // period)], ev))
    parallel.run_parallel(runs)
    for ev in evs[1:]:
        events += ev
    dt = time.perf_counter() - t0
    spikes, vs = [], []
    if record:
        off = 0
        for n in sizes[1:]:
            spikes.append(rec_s[:, off:off + n])
            vs.append(rec_v[:, off:off + n])
            off += n
    return RunRecord(spikes, vs, preds, events, dt)


# ---------------------------------------------------------------------------------------------
# Lava
# ---------------------------------------------------------------------------------------------

def _lava():
    from .compat import require_lava

    require_lava()


def sign_mode_of(name: str):
    """Lava's SignMode member of that name (imported lazily: Lava loads only when used)."""
    from lava.utils.weightutils import SignMode

    return getattr(SignMode, name)


@dataclass
class LavaGraph:
    """Lava processes of one or more exported networks fed by one input source, ready to run with
    ``Loihi2SimCfg(select_tag='fixed_pt')``. Per network (``nets``): lists of Dense, neurons,
    spike sinks and v / u readers, one entry per layer."""
    source: object
    nets: list
    lava_steps: int

    def processes(self) -> list:
        return [self.source] + [p for ch in self.nets for lst in (ch.dense, ch.neurons, ch.spike_sinks,
                                                                  ch.v_readers, ch.u_readers) for p in lst]

    def model_map(self) -> dict:
        """Process instance -> the ProcessModel ``Loihi2SimCfg(select_tag='fixed_pt')`` selects for it
        (tests check it equals Lava's own selection). Passing it as the run config's
        ``exception_proc_model_map`` skips Lava's per-process directory scan (which re-imports every
        module next to each process class) and makes compiling several times faster."""
        return {p: fixed_pt_model(type(p)) for p in self.processes()}

    def run_cfg(self, pin_models: bool = True):
        from lava.magma.core.run_configs import Loihi2SimCfg

        if pin_models:
            return Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=self.model_map())
        return Loihi2SimCfg(select_tag="fixed_pt")

    def run(self, pin_models: bool = True):
        """Run all Lava steps; the caller must call :meth:`stop` (in a ``finally``)."""
        from lava.magma.core.run_conditions import RunSteps

        self.source.run(condition=RunSteps(num_steps=self.lava_steps), run_cfg=self.run_cfg(pin_models))

    def stop(self):
        try:
            self.source.stop()
        except Exception:   # never started, or already stopped
            pass


def fixed_pt_model(proc_cls):
    """The fixed-point ProcessModel class of the process classes an export uses."""
    from lava.proc.dense.models import PyDenseModelBitAcc
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import PyReadFixed, PyReceiveModelFixed, Read
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import PySendModelFixed
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.models import PyLifModelBitAcc, PyLifResetModelBitAcc
    from lava.proc.lif.process import LIF, LIFReset

    from .models.nc_lif import NcLIF, PyNcLIFModelFixed

    table = {Dense: PyDenseModelBitAcc, LIF: PyLifModelBitAcc, LIFReset: PyLifResetModelBitAcc,
             Source: PySendModelFixed, Sink: PyReceiveModelFixed, Read: PyReadFixed, NcLIF: PyNcLIFModelFixed}
    try:
        return table[proc_cls]
    except KeyError:
        raise NeurochipError(f"no fixed-point model known for Lava process {proc_cls.__name__}") from None


@dataclass
class _Chain:
    dense: list
    neurons: list
    spike_sinks: list
    v_readers: list
    u_readers: list


def _add_chain(exp: LavaExport, src_out, lava_steps: int, reset: bool, record_spikes: bool,
               record_v: bool, record_u: bool, tag: str) -> _Chain:
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import Read
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.lif.process import LIF, LIFReset

    T = exp.timesteps
    ch = _Chain([], [], [], [], [])
    prev = src_out
    for lay in exp.layers:
        d = Dense(weights=lay.weights.copy(), weight_exp=lay.weight_exp, num_weight_bits=lay.num_weight_bits,
                  sign_mode=sign_mode_of(lay.sign_mode), num_message_bits=lay.num_message_bits,
                  name=f"{tag}dense{lay.index}")
        shape = (lay.n_post,)
        # neuron layer l = index + 1 computes global step g at Lava time step g + 1 + l * HOP_DELAY:
        # with per-sample resets, every T steps from there. A continuous run with biases resets once,
        # at that first step (before it, the bias alone would have moved v during the pipeline fill);
        # without biases the state is still at rest then, and a plain LIF does.
        first = 1 + (lay.index + 1) * HOP_DELAY
        if reset:
            interval, offset = T, first % T
        elif np.any(lay.bias_mant != 0):
            interval, offset = lava_steps + 1, first
        else:
            interval, offset = 0, 0
        if exp.stock:
            kw = dict(shape=shape, du=lay.du, dv=lay.dv, vth=lay.vth, bias_mant=lay.bias_mant.copy(),
                      bias_exp=lay.bias_exp.copy(), name=f"{tag}lif{lay.index + 1}")
            nrn = LIFReset(reset_interval=interval, reset_offset=offset, **kw) if interval else LIF(**kw)
        else:
            from .models.nc_lif import NcLIF

            nrn = NcLIF(shape=shape, bias=lay.bias_mant.astype(np.int64), reset_interval=interval,
                        reset_offset=offset, name=f"{tag}nclif{lay.index + 1}", **lay.neuron)
        prev.connect(d.s_in)
        d.a_out.connect(nrn.a_in)
        prev = nrn.s_out
        ch.dense.append(d)
        ch.neurons.append(nrn)
        if record_spikes:
            sk = Sink(shape=shape, buffer=lava_steps)
            nrn.s_out.connect(sk.a_in)
            ch.spike_sinks.append(sk)
        if record_v:
            r = Read(buffer=lava_steps)
            r.connect_var(nrn.v)
            ch.v_readers.append(r)
        if record_u:
            r = Read(buffer=lava_steps)
            r.connect_var(nrn.u)
            ch.u_readers.append(r)
    return ch


def build_lava(exps, R: np.ndarray, reset: bool | list = True, record_spikes: bool = True, record_v: bool = True,
               record_u: bool | list = False) -> LavaGraph:
    """Build the Lava process graph of one export (or a list of exports sharing the input) fed by
    raster R (steps x n0, one row per neurochip step) from a fixed-point RingBuffer (graded int32
    values; a Dense with ``num_message_bits = 0`` treats any non-zero value as a spike).
    ``reset``: LIFReset returning every layer to rest at each sample's first step (period T), else
    one continuous run (plain LIF; a LIFReset resetting once at the layer's first step if it has
    biases); ``reset`` and ``record_u`` may be lists (one per export). Per layer, sink RingBuffers record spikes and ``Read``
    processes record v (and u), each holding steps + L columns."""
    exps = [exps] if isinstance(exps, LavaExport) else list(exps)
    R = np.asarray(R)
    for e in exps:
        if R.ndim != 2 or e.sizes[0] != R.shape[1]:
            raise NeurochipError(f"input raster has {R.shape[1] if R.ndim == 2 else R.shape} columns, "
                                 f"the network has {e.sizes[0]} inputs")
    _lava()
    from lava.proc.io.source import RingBuffer as Source

    steps = R.shape[0]
    lava_steps = steps + max(e.n_layers for e in exps) * HOP_DELAY
    data = np.zeros((R.shape[1], lava_steps), np.int32)
    data[:, :steps] = R.T
    src = Source(data=data)
    ru = record_u if isinstance(record_u, list) else [record_u] * len(exps)
    rs = reset if isinstance(reset, list) else [reset] * len(exps)
    nets = [_add_chain(e, src.s_out, lava_steps, r, record_spikes, record_v, u, f"n{i}_")
            for i, (e, r, u) in enumerate(zip(exps, rs, ru))]
    return LavaGraph(src, nets, lava_steps)


@dataclass
class LavaRecord(RunRecord):
    effective_weights: list = field(default_factory=list)   # Dense weights as Lava holds them after the run
    u: list = field(default_factory=list)


def align_to_neurochip(arr: np.ndarray, layer: int, steps: int) -> np.ndarray:
    """Lava recording (n x lava_steps) of neuron layer ``layer`` (1-based) -> steps x n, neurochip time."""
    d = layer * HOP_DELAY
    return np.rint(np.asarray(arr, np.float64)[:, d:d + steps]).astype(np.int64).T


def run_lava_many(exps: list, R: np.ndarray, reset: bool | list = True, record_v: bool = True,
                  biases: list | None = None, pin_models: bool = True) -> list:
    """Run several exported networks on one shared input raster in ONE Lava runtime (one compile
    and start-up); returns one :class:`LavaRecord` per network (see :func:`run_lava`). ``reset``
    and ``biases`` may differ per network (lists)."""
    exps = list(exps)
    resets = reset if isinstance(reset, list) else [reset] * len(exps)
    steps = R.shape[0]
    spiking = [not e.layers[-1].readout and record_v for e in exps]
    g = build_lava(exps, R, reset=resets, record_v=record_v, record_u=spiking)
    recs = []
    t0 = time.perf_counter()
    try:
        g.run(pin_models)
        dt = time.perf_counter() - t0
        for ch in g.nets:
            spikes = [align_to_neurochip(sk.data.get(), l + 1, steps) for l, sk in enumerate(ch.spike_sinks)]
            vs = [align_to_neurochip(r.data.get(), l + 1, steps) for l, r in enumerate(ch.v_readers)]
            us = [align_to_neurochip(r.data.get(), l + 1, steps) for l, r in enumerate(ch.u_readers)]
            eff = [np.rint(np.asarray(d.weights.get(), np.float64)).astype(np.int64) for d in ch.dense]
            recs.append((spikes, vs, us, eff))
    finally:
        g.stop()
    out = []
    for i, (e, (spikes, vs, us, eff)) in enumerate(zip(exps, recs)):
        preds = np.zeros(0, np.int64)
        if record_v:
            b = None if biases is None else biases[i][-1]
            preds = decode_predictions(e, spikes[-1], vs[-1], us[-1] if us else None, b, resets[i])
        rec = LavaRecord(spikes, vs, preds, None, dt)
        rec.effective_weights = eff
        rec.u = us
        out.append(rec)
    return out


def run_lava(exp: LavaExport, R: np.ndarray, reset: bool = True, record_v: bool = True,
             bias: list[np.ndarray] | None = None) -> LavaRecord:
    """Run raster R through Lava's fixed-point simulator: spikes and v per layer aligned to
    neurochip's steps, the Dense weights Lava effectively used (read back after the run), and the
    predictions decoded from Lava's state. ``bias``: per-layer integer biases (needed to decode a
    spiking readout's pre-reset membrane)."""
    return run_lava_many([exp], R, reset=reset, record_v=record_v,
                         biases=None if bias is None else [bias])[0]


def _leak_np(v: np.ndarray, k: int, toward_zero: bool = True) -> np.ndarray:
    """neurochip's fixedpoint.leak, vectorised."""
    if k == 0:
        return np.zeros_like(v)
    if not toward_zero:
        return v - (v >> k)
    r = (np.abs(v) * ((1 << k) - 1)) >> k
    return np.where(v >= 0, r, -r)


def decode_predictions(exp: LavaExport, s_out: np.ndarray, v_out: np.ndarray, u_out: np.ndarray | None,
                       bias: np.ndarray | None, reset: bool = True) -> np.ndarray:
    """Predictions from a readout layer's recorded spikes and membranes, decoded as neurochip does:
    argmax of the summed membrane (integrator), or of the spike count with ties broken by the summed
    pre-reset membrane (spiking readout; reconstructed from Lava's recorded v(t-1), u(t) and bias)."""
    T = exp.timesteps
    steps = v_out.shape[0]
    n = -(-steps // T)
    last = exp.layers[-1]
    v = v_out.astype(np.int64)
    if last.readout:
        vpre = v
    else:
        if u_out is None or bias is None:
            raise NeurochipError("decoding a spiking readout needs its recorded u and its biases")
        prev = np.vstack([np.zeros((1, v.shape[1]), np.int64), v[:-1]])
        if reset:
            prev[::T] = 0
        if exp.stock:
            toward_zero, mem_bits = True, LAVA_UV_BITS
        else:
            toward_zero, mem_bits = last.neuron["leak_mode"] == "toward_zero", last.neuron["membrane_bits"]
        lim = (1 << (mem_bits - 1)) - 1
        vpre = np.clip(_leak_np(prev, last.leak_shift, toward_zero) + np.asarray(u_out, np.int64)
                       + np.asarray(bias, np.int64), -lim, lim)
        vpre = np.where(s_out.astype(bool), vpre, v)
    preds = np.zeros(n, np.int64)
    mode = ("membrane", "rate", "latency").index(exp.decoder)
    for k in range(n):
        sl = slice(k * T, min((k + 1) * T, steps))
        osum = vpre[sl].sum(axis=0).astype(np.int64)
        spk = np.asarray(s_out[sl]).astype(bool)
        cnt = spk.sum(axis=0).astype(np.int64)
        first = np.where(spk.any(axis=0), spk.argmax(axis=0), T).astype(np.int64)
        preds[k] = predict(cnt, osum, first, mode)
    return preds


# ---------------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------------

@dataclass
class LayerDiff:
    layer: int                 # neuron layer, 1-based
    neurons: int
    values: int                # steps x neurons compared
    spikes_neurochip: int
    spikes_lava: int
    spike_mismatches: int
    v_mismatches: int
    current_events: int        # neurochip: current wraps (or saturations) in this layer
    membrane_events: int       # neurochip: membrane clips
    weight_changes: int        # Lava's effective Dense weights vs neurochip's mantissas
    first_mismatch: tuple | None = None   # (step, neuron) of the first differing spike or v


@dataclass
class Comparison:
    samples: int
    timesteps: int
    lava_steps: int
    stock: bool
    acc_neurochip: float       # the engine's own predictions (Engine.run)
    acc_reference: float       # lif_forward's predictions (must equal the engine's)
    acc_lava: float
    pred_mismatches: int       # Lava vs neurochip predictions
    engine_reference_mismatches: int
    layers: list[LayerDiff]
    notes: tuple[str, ...]
    seconds_lava: float
    seconds_neurochip: float

    @property
    def exact(self) -> bool:
        return (self.pred_mismatches == 0 and self.engine_reference_mismatches == 0
                and all(d.spike_mismatches == 0 and d.v_mismatches == 0 and d.weight_changes == 0
                        for d in self.layers))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["exact"] = self.exact
        return d


def _first_diff(a: np.ndarray, b: np.ndarray):
    idx = np.argwhere(a != b)
    return tuple(int(i) for i in idx[0]) if len(idx) else None


def compare_records(ref: RunRecord, lava: LavaRecord, exp: LavaExport, mantissas) -> list[LayerDiff]:
    changes = weight_changes(exp, lava.effective_weights, mantissas)
    out = []
    for l in range(exp.n_layers):
        rs, ls = ref.spikes[l].astype(np.int64), lava.spikes[l].astype(np.int64)
        rv, lv = ref.v[l].astype(np.int64), lava.v[l] if lava.v else None
        sm = int(np.count_nonzero(rs != ls))
        vm = int(np.count_nonzero(rv != lv)) if lv is not None else -1
        first = _first_diff(rs, ls)
        if first is None and lv is not None:
            first = _first_diff(rv, lv)
        ev = ref.events[l] if ref.events is not None else (0, 0)
        out.append(LayerDiff(layer=l + 1, neurons=rs.shape[1], values=rs.size, spikes_neurochip=int(rs.sum()),
                             spikes_lava=int(ls.sum()), spike_mismatches=sm, v_mismatches=vm,
                             current_events=int(ev[0]), membrane_events=int(ev[1]),
                             weight_changes=changes[l], first_mismatch=first))
    return out


def compare(engine, x: np.ndarray, y: np.ndarray, force_custom: bool = False) -> Comparison:
    """Run samples x (floats in [0, 1], labels y) through neurochip and through Lava; count the
    differing spikes and membrane values per layer (expected 0), with the one-step delay per Dense
    hop accounted for. The engine's encoder PRNG is used, not advanced."""
    if getattr(engine, "is_int", False) and not engine.cfg.plain_dense:
        # layer kinds (conv, pool, recurrent, CUBA): neurochip/lava/export_layers.py
        if force_custom:
            raise NeurochipError("layer kinds export with stock Lava processes only (no --custom-neurons)")
        from .export_layers import compare_layers
        return compare_layers(engine, x, y)
    x = np.asarray(x)
    y = np.asarray(y, np.int64)
    if len(x) == 0:
        raise NeurochipError("no samples to compare")
    exp = export_network(engine, force_custom=force_custom)
    xin = engine.prepare(x)
    order = np.arange(len(y), dtype=np.int64)
    rng0 = engine.rng.copy()
    R = input_raster(engine, xin, order)
    reference_run(engine, R[:1], record=False)          # load the kernel: the timing below is the run
    ref = reference_run(engine, R)
    # the engine's own predictions (the trained network's reported accuracy), from the same PRNG state
    pe = engine.run(xin, y, order, False)
    engine.rng[:] = rng0
    st = engine.state()
    lava = run_lava(exp, R, bias=[np.asarray(b, np.int64) for b in st.bias])
    layers = compare_records(ref, lava, exp, st.weights)
    return Comparison(
        samples=len(y), timesteps=exp.timesteps, lava_steps=R.shape[0] + exp.n_layers * HOP_DELAY,
        stock=exp.stock, acc_neurochip=float(np.mean(pe == y)), acc_reference=float(np.mean(ref.preds == y)),
        acc_lava=float(np.mean(lava.preds == y)), pred_mismatches=int(np.count_nonzero(lava.preds != ref.preds)),
        engine_reference_mismatches=int(np.count_nonzero(pe != ref.preds)), layers=layers, notes=exp.notes,
        seconds_lava=lava.seconds, seconds_neurochip=ref.seconds)
