"""The Lava graph of one or several learning chains (LearningDense + OtttLIF), run in one runtime.

Nothing here imports Lava until a graph is built.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..errors import NeurochipError
from .export import sign_mode_of
from .learning_spec import ACC_SHIFT, LearnNet, LearnResult, LearningNeuronSpec, RuleSpec


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




@dataclass
class _LavaChain:
    net: LearnNet
    procs: list
    ldense: object
    neuron: object
    hidden_ldense: object = None
    hidden_neuron: object = None
    rec_ldense: object = None            # a recurrent hidden layer's second LearningDense

    def clear_steps(self, n_steps: int) -> list[int]:
        """Lava steps (2..n_steps) before which the recurrent LearningDense's buffer is cleared: the
        hidden layer's reset steps (its first step of every sample)."""
        interval, offset = self.net.reset_offset(1)
        if self.rec_ldense is None or interval <= 0:
            return []
        return [t for t in range(2, n_steps + 1) if t % interval == offset]


def _learning_dense(W, weight_exp, sign_mode, numw, rule_spec: RuleSpec, name):
    from lava.proc.dense.process import LearningDense

    return LearningDense(weights=np.asarray(W, np.int32).copy(), weight_exp=weight_exp, num_weight_bits=numw,
                         sign_mode=sign_mode_of(sign_mode), learning_rule=lava_rule(rule_spec), name=name)


def _wire_post(nrn, ld, rule_spec: RuleSpec, n: LearningNeuronSpec):
    """The post neurons' bAP and y-traces into a LearningDense (an OutPort may fan out to several)."""
    if n.bap != "never":
        nrn.s_out_bap.connect(ld.s_in_bap)
    for k in ("y1", "y2", "y3"):
        if rule_spec.uses(k):
            getattr(nrn, f"s_out_{k}").connect(getattr(ld, f"s_in_{k}"))


def _learning_layer(W, weight_exp, sign_mode, numw, rule_spec: RuleSpec, n: LearningNeuronSpec, bias, interval, offset,
                    n_steps, tag):
    """LearningDense + OtttLIF, the y-traces and bAP wired back."""
    from .models_learning.ottt_lif import OtttLIF

    rule = lava_rule(rule_spec)
    W = np.asarray(W, np.int32)
    ld = _learning_dense(W, weight_exp, sign_mode, numw, rule_spec, f"{tag}ldense")
    lut, c_sg, spop = n.lut(n.vth << 6)
    b = np.zeros(W.shape[0], np.int32) if bias is None else np.asarray(bias, np.int32)
    nrn = OtttLIF(shape=(W.shape[0],), learning_rule=rule, du=n.du, dv=n.dv, vth=n.vth, bias_mant=b.copy(),
                  bias_exp=np.zeros_like(b), reset_interval=interval, reset_offset=offset, mode=n.mode,
                  err_frac=n.err_frac, sg_lut=lut, c_sg=c_sg, sg_bits=n.sg_bits, spike_op=spop,
                  err_shift=n.err_shift, delta_max=n.delta_max, bap=n.bap, encoding=rule_spec.encoding,
                  y1_const=n.y1_const, record_steps=n_steps, delta_rounding=n.delta_rounding, name=f"{tag}ottt")
    ld.a_out.connect(nrn.a_in)
    _wire_post(nrn, ld, rule_spec, n)
    return ld, nrn


def _add_learning_chain(net: LearnNet, src_out, TF: np.ndarray, n_steps: int, tag: str) -> _LavaChain:
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIFReset

    procs = []
    prev = src_out
    hid, hl = net.hidden, net.hidden_learn
    hld = hnrn = rld = None
    if hid is not None:
        interval, offset = net.reset_offset(1)
        dh = Dense(weights=np.asarray(hid.weights, np.int32).copy(), weight_exp=hid.weight_exp,
                   num_weight_bits=hid.num_weight_bits, sign_mode=sign_mode_of(hid.sign_mode), name=f"{tag}dense_h")
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
        if hl.recurrent is not None:
            # recurrent hidden layer: its spikes back to its own a_in (fan-in: Lava sums the two
            # LearningDense outputs), learning with the same bAPs and y-traces
            rld = _learning_dense(hl.recurrent, hl.recurrent_exp, hl.recurrent_sign_mode, 8, hl.rec_rule(),
                                  f"{tag}h_rec_ldense")
            hnrn.s_out.connect(rld.s_in)
            rld.a_out.connect(hnrn.a_in)
            _wire_post(hnrn, rld, hl.rec_rule(), hl.neuron)
            procs.append(rld)
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
                   sign_mode=sign_mode_of(hl.feedback_sign_mode), num_message_bits=8, name=f"{tag}feedback")
        nrn.s_out_err.connect(fb.s_in)
        fb.a_out.connect(hnrn.a_third_factor_in)
        procs.append(fb)
    return _LavaChain(net, procs, ld, nrn, hld, hnrn, rld)


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
    chains = [_add_learning_chain(net, src.s_out, tf, n_steps, f"c{i}_") for i, (net, tf) in enumerate(zip(nets, TFs))]
    procs = [src] + [p for ch in chains for p in ch.procs]
    cfg = (Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=_model_map(procs)) if pin_models
           else Loihi2SimCfg(select_tag="fixed_pt"))
    # pauses: before each recurrent hidden layer's reset step its LearningDense's buffer is cleared
    # (it holds the previous sample's last spikes; LIF resets clear only u and v). Step 1 starts
    # with an empty buffer.
    clears = {}
    for ch in chains:
        for t in ch.clear_steps(n_steps):
            clears.setdefault(t, []).append(ch.rec_ldense)
    out = []
    try:
        t0 = time.perf_counter()
        src.run(condition=RunSteps(num_steps=1), run_cfg=cfg)
        t1 = time.perf_counter()
        done = 1
        for stop in sorted(clears) + [n_steps + 1]:
            if stop - 1 > done:
                src.run(condition=RunSteps(num_steps=stop - 1 - done), run_cfg=cfg)
                done = stop - 1
            for rld in clears.get(stop, []):
                rld.a_buff.set(np.zeros(rld.a_buff.shape, np.int32))
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
            if ch.rec_ldense is not None:
                res.hidden_recurrent_weights = np.rint(np.asarray(ch.rec_ldense.weights.get(),
                                                                  np.float64)).astype(np.int64)
            out.append(res)
    finally:
        try:
            src.stop()
        except Exception:   # never started or already stopped
            pass
    return out
