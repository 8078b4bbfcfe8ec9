"""Digits-like learning laid out in Lava steps, run in Lava and in neurochip's emulation, compared.

:func:`digits_task` exports neurochip's network (rate encoder, spiking readout, Lava-exact profile)
as a learning chain with its input raster and teaching signal; :func:`learn_compare` runs it in both
and returns a :class:`LearnComparison` (``to_dict()`` is what ``neurochip lava learn --json`` prints).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import NeurochipError
from .learning_emulator import Emulator
from .learning_graph import run_lava_learning
from .learning_spec import (HiddenLearnSpec, HiddenSpec, LearnNet, LearningNeuronSpec, RuleSpec, truncated,
                            truncated_initial)


@dataclass(frozen=True)
class RuleSettings:
    """The learning chain's rule and neuron settings as run (the ``learning`` entry of the JSON)."""
    dw: str
    x1_tau: float
    x1_impulse: float
    t_epoch: int
    rng_seed: int
    encoding: str
    bap: str
    weight_exp: int
    sign_mode: str
    vth: int
    dv: int
    err_frac: int
    err_shift: int
    surrogate: str
    lr_requested: float | None
    lr_effective: float | None         # None: the rule scale was given directly
    hidden_dw: str | None = None       # a learning hidden layer only
    hidden_err_shift: int | None = None
    feedback_exp: int | None = None
    hidden_recurrent_dw: str | None = None   # a recurrent learning hidden layer only

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k in (("hidden_dw", "hidden_err_shift", "feedback_exp") if self.hidden_dw is None else ()) + (
                ("hidden_recurrent_dw",) if self.hidden_recurrent_dw is None else ()):
            del d[k]
        return d


@dataclass
class LearnComparison:
    """Learning in Lava and in neurochip's emulation of it, compared. The Lava fields are None when
    Lava was not run (``learn_compare(..., lava=False)``)."""
    dataset: str
    samples_train: int
    samples_test: int
    timesteps: int
    period: int
    lava_steps: int
    network: list[int]
    hidden: str                        # "none", "fixed", "learning, fixed random feedback" or
                                       # "recurrent, learning, fixed random feedback"
    learning: RuleSettings
    weights_total: int
    weights_changed_by_learning: int
    acc_train_neurochip: float | None
    acc_test_neurochip: float | None
    seconds_neurochip: float
    steps_per_s_neurochip: float | None
    counts_neurochip: dict
    notes: list[str] = field(default_factory=list)
    weights_differing: int | None = None
    max_abs_weight_diff: int | None = None
    spike_mismatches: int | None = None
    v_mismatches: int | None = None
    pred_mismatches: int | None = None
    acc_train_lava: float | None = None
    acc_test_lava: float | None = None
    seconds_lava_startup: float | None = None
    seconds_lava: float | None = None
    steps_per_s_lava: float | None = None
    speedup: float | None = None
    exact: bool | None = None

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["learning"] = self.learning.to_dict()
        d["network"], d["notes"], d["counts_neurochip"] = list(self.network), list(self.notes), dict(self.counts_neurochip)
        return d


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
                init_gain: float = 2.5, feedback: str = "none", hidden_lr: float | None = None,
                recurrent: bool = False) -> LearnTask:
    """Lay out learning on a dataset's first ``n_train`` training samples, then inference (no teaching
    signal: delta = 0, weights untouched) on its first ``n_test`` test samples, as one continuous run.

    The network is neurochip's: a :class:`~neurochip.network.NetworkConfig` with a rate encoder and a
    spiking readout on the (Lava-exact) ``profile``; its initial integer weights are exported as the
    inference export does (Lava W = mantissa << 1, weight_exp - 1). With ``hidden`` > 0 the first layer
    is a FIXED random projection (stock Dense + LIFReset) and only the output layer learns. The
    target of the label neuron is the spiking readout's high rate (0.8), of the others the low rate
    (0.05), in ``error_frac_bits`` units, sent as ``r + 1`` on the third-factor port.
    ``recurrent`` makes the hidden layer neurochip's recurrent ``r<hidden>`` layer (its recurrent
    rows a second LearningDense); it learns, so it needs ``feedback="random"``."""
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
    if recurrent and not (hidden and feedback == "random"):
        raise NeurochipError("a recurrent hidden layer learns in Lava with fixed random feedback only: give a hidden "
                             "size and feedback 'random'")
    if recurrent:
        # neurochip's r<n> layer: weights (n_in + n_h) x n_h, the last n_h rows recurrent (docs/layers.md)
        cfg = NetworkConfig(sizes=(ds.n_features, ds.n_classes), arch=f"r{hidden}", timesteps=timesteps,
                            encoder="rate", readout="spiking", loss="mse", surrogate=surrogate, init_gain=init_gain,
                            seed=seed)
    else:
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
    nrn = LearningNeuronSpec(vth=prof.neuron.threshold, du=4095, dv=4096 >> k_out if k_out else 4096, mode="target",
                     err_frac=lrn.error_frac_bits, sg_bits=lrn.surrogate_bits, surrogate=surrogate,
                     surrogate_param=cfg.surrogate_param, err_shift=err_shift, delta_max=127, bap=bap)
    if feedback not in ("none", "random"):
        raise NeurochipError(f"feedback must be 'none' (fixed hidden layer) or 'random' (hidden layer learns), got {feedback!r}")
    if feedback == "random" and not hidden:
        raise NeurochipError("feedback 'random' trains a hidden layer: give a hidden size")
    hid = hl = None
    if hidden:
        k_h = int(ilay.leak_shift[0])
        W1 = m[0][:ds.n_features].T.astype(np.int32) << EXPORT_WEIGHT_SHIFT
        e1 = lava_weight_exp(ilay.weight_exp[0])
        if recurrent and e1 < 0:
            raise NeurochipError(f"layer 0 (r{hidden}): a recurrent layer with a negative Lava weight exponent is not "
                                 "neurochip's layer in Lava (it shifts each Dense's sum separately)")
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
            nrn_h = LearningNeuronSpec(vth=prof.neuron.threshold, du=4095, dv=dv_h, mode="error",
                               err_frac=lrn.error_frac_bits, sg_bits=lrn.surrogate_bits, surrogate=surrogate,
                               surrogate_param=cfg.surrogate_param, err_shift=q_out + EXPORT_WEIGHT_SHIFT + es1,
                               delta_max=127, bap=bap, delta_rounding="nearest")
            Wr = m[0][ds.n_features:].T.astype(np.int32) << EXPORT_WEIGHT_SHIFT if recurrent else None
            hl = HiddenLearnSpec(weights=W1, weight_exp=e1, feedback=fbq << EXPORT_WEIGHT_SHIFT, feedback_exp=0,
                                 rule=rule_h, neuron=nrn_h, recurrent=Wr, recurrent_exp=e1)
            notes.append(f"hidden layer of {hidden} LIF neurons LEARNS with fixed random feedback: the output deltas "
                         "reach its third-factor port through a fixed Dense one step later (two input rows after the "
                         f"hidden layer saw them); hidden rule {rule_h.dw()}, delta >> {nrn_h.err_shift}")
            if recurrent:
                notes.append(f"the hidden layer is RECURRENT (r{hidden}): a second LearningDense from its spikes back to "
                             "its input learns with the same rule and deltas; Lava pauses before every sample to "
                             "clear that LearningDense's buffer (docs/lava_learning.md §6)")
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
                  data=None, lava: bool = True, repeats: int = 1, **task_kw) -> LearnComparison:
    """Train the output layer on ``n_samples`` training samples in Lava and in neurochip's emulation
    of Lava's learning engine, then test both on ``n_test`` test samples (default ``min(n_samples,
    360)``) in the same continuous run; return everything ``neurochip lava learn`` prints
    (``to_dict()``: the JSON). ``task_kw`` go to :func:`digits_task` (timesteps, hidden, lr, lr_mant,
    lr_exp, x1_tau, x1_impulse, t_epoch, encoding, bap, err_shift, gap, rng_seed, profile,
    surrogate, init_gain, feedback, hidden_lr, recurrent). ``lava=False`` runs neurochip only (the Lava fields are None).
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
    rule, nrn = net.rule, net.neuron
    settings = RuleSettings(
        dw=rule.dw(), x1_tau=rule.x1_tau, x1_impulse=rule.x1_impulse, t_epoch=rule.t_epoch,
        rng_seed=int(rule.rng_seed), encoding=rule.encoding, bap=nrn.bap, weight_exp=net.weight_exp,
        sign_mode=net.sign_mode, vth=nrn.vth, dv=nrn.dv, err_frac=nrn.err_frac, err_shift=nrn.err_shift,
        surrogate=nrn.surrogate, lr_requested=task.lr_requested, lr_effective=task.lr_effective)
    rec = hl is not None and hl.recurrent is not None
    if hl is not None:
        settings = dataclasses.replace(settings, hidden_dw=hl.rule.dw(), hidden_err_shift=hl.neuron.err_shift,
                                       feedback_exp=hl.feedback_exp,
                                       hidden_recurrent_dw=hl.rec_rule().dw() if rec else None)
    W_rec0 = truncated(hl.recurrent, 8, hl.recurrent_sign_mode) if rec else np.zeros(0, np.int64)
    out = LearnComparison(
        dataset=dataset if data is None else getattr(data, "name", "data"),
        samples_train=task.n_train, samples_test=task.n_test, timesteps=task.timesteps,
        period=task.period, lava_steps=task.lava_steps,
        network=[net.n_in] + ([int(np.asarray(h.weights).shape[0])] if h is not None else []) + [net.n_out],
        hidden="none" if h is None else ("fixed" if hl is None else
                                         ("recurrent, " if rec else "") + "learning, fixed random feedback"),
        learning=settings,
        weights_total=int(W0.size) + (int(np.asarray(hl.weights).size) if hl is not None else 0) + int(W_rec0.size),
        weights_changed_by_learning=int(np.count_nonzero(ref.weights != (truncated_initial(net))))
        + (int(np.count_nonzero(ref.hidden_weights != truncated_initial(hl))) if hl is not None else 0)
        + (int(np.count_nonzero(ref.hidden_recurrent_weights != W_rec0)) if rec else 0),
        acc_train_neurochip=acc(pred_nc, tr), acc_test_neurochip=acc(pred_nc, te),
        seconds_neurochip=ref.seconds,
        steps_per_s_neurochip=task.lava_steps / ref.seconds if ref.seconds > 0 else None,
        counts_neurochip=ref.counts,
        notes=list(task.notes),
    )
    if not lava:
        return out
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
    if rec:
        diff = np.concatenate([diff.ravel(), np.abs(lv.hidden_recurrent_weights.astype(np.int64)
                                                    - ref.hidden_recurrent_weights.astype(np.int64)).ravel()])
    out.weights_differing = int(np.count_nonzero(diff))
    out.max_abs_weight_diff = int(diff.max(initial=0))
    out.spike_mismatches, out.v_mismatches = sm, vm
    out.pred_mismatches = int(np.count_nonzero(pred_lv != pred_nc))
    out.acc_train_lava, out.acc_test_lava = acc(pred_lv, tr), acc(pred_lv, te)
    out.seconds_lava_startup, out.seconds_lava = lv.seconds_startup, lv.seconds
    out.steps_per_s_lava = (task.lava_steps - 1) / lv.seconds if lv.seconds > 0 else None
    out.speedup = (out.steps_per_s_neurochip / out.steps_per_s_lava
                   if out.steps_per_s_neurochip and out.steps_per_s_lava else None)
    out.exact = (out.weights_differing == 0 and out.spike_mismatches == 0 and out.v_mismatches == 0
                 and out.pred_mismatches == 0)
    return out
