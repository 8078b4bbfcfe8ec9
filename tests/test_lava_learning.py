"""Learning export to Lava (neurochip/lava/learning_*.py, neurochip/lava/models_learning/) and
neurochip's emulation of Lava's learning engine (neurochip/kernels/lava_engine.py).

* Without Lava: the host-side random streams, decay factors and impulse split; the emulation's own
  properties (no teaching signal leaves the weights as truncated; resumable runs; signed y-traces
  lose their negative half on bAP neurons); learn_compare's result and its JSON.
* With Lava: the rule strings parse to the products the kernel evaluates; Lava's own random
  generators equal the host streams; and the weights after learning, the output spikes and the
  pre-reset membranes are bit-identical between Lava and the emulation on random chains (seeds,
  learning-rate mantissas and exponents, trace taus and impulses incl. fractional ones, t_epoch
  1..3, uK, split / signed encodings, target / error third factors incl. negative errors, bAP on
  spike / always / while taught / never, y1 factor, sign modes, a fixed hidden layer, biases)
  and on digits. Several chains share one Lava runtime (each start-up costs ~1 s); the longer set
  is marked ``slow``.

No Lava Process is defined in this directory (Lava imports every .py next to a Process's module).
"""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from neurochip.errors import NeurochipError
from neurochip.kernels import lava_engine as K
from neurochip.lava.learning_emulator import Emulator, emulate
from neurochip.lava.learning_graph import lava_rule, run_lava_learning
from neurochip.lava.learning_spec import (HiddenLearnSpec, HiddenSpec, LearnNet, LearningNeuronSpec, Product, RuleSpec,
                                          decay_factors, impulse_parts, random_streams, truncated, truncated_initial,
                                          var_written_rule)
from neurochip.lava.learning_task import digits_task, lava_lr, learn_compare

HAVE_LAVA = importlib.util.find_spec("lava") is not None
need_lava = pytest.mark.skipif(not HAVE_LAVA, reason="lava-nc not installed")


def _lava():
    from neurochip.lava.compat import require_lava

    require_lava()


# ---------------------------------------------------------------------------------------------
# random learning chains
# ---------------------------------------------------------------------------------------------

SURROGATES = (("sigmoid", 1.0), ("rectangular", 6.0), ("triangle", 4.0), ("spike_operator", -1.0))


def random_chain(seed: int, n_in: int, steps: int, *, t_epoch: int | None = None, hidden: bool | None = None):
    """A random learning chain whose neurons stay near threshold (so deltas are non-zero) and its
    third factor (targets, or signed errors incl. negative ones)."""
    rng = np.random.default_rng(seed)
    n_out = int(rng.integers(2, 6))
    period = int(rng.integers(3, 9)) if rng.random() < 0.85 else 0      # 0: never reset
    sm = str(rng.choice(["MIXED", "MIXED", "EXCITATORY", "INHIBITORY"]))
    mode = str(rng.choice(["target", "error"]))
    enc = str(rng.choice(["split", "split", "signed"]))
    bap = str(rng.choice(["never", "spike", "always", "teach"]))
    y1f = bool(rng.random() < 0.25)
    te = int(rng.choice([1, 1, 1, 2, 3])) if t_epoch is None else t_epoch
    sg, sgp = SURROGATES[int(rng.integers(len(SURROGATES)))]
    vth = int(rng.integers(8, 40))
    hid = bool(rng.random() < 0.3) if hidden is None else hidden
    n_pre = int(rng.integers(3, 9)) if hid else n_in
    if sm == "MIXED":
        W = rng.integers(-120, 121, size=(n_out, n_pre))
        bias = rng.integers(-200, 400, size=n_out)
    elif sm == "EXCITATORY":
        W = rng.integers(0, 120, size=(n_out, n_pre))
        bias = rng.integers(-vth * 64, 0, size=n_out)
    else:
        W = -rng.integers(0, 60, size=(n_out, n_pre))
        bias = rng.integers(vth * 48, vth * 80, size=n_out)
    rule = RuleSpec(lr_mant=int(rng.integers(1, 8)), lr_exp=int(rng.integers(-4, 5)), encoding=enc, y1_factor=y1f,
                       x1_tau=float(rng.choice([0, 1, 2, 5, 1.5, 12])),
                       x1_impulse=float(rng.choice([16, 20.5, 33.25, 12.75, 60, 100, 7.3])), t_epoch=te,
                       rng_seed=int(rng.integers(0, 10000)), uk=int(rng.choice([0, 0, 0, 1, 2])))
    nrn = LearningNeuronSpec(vth=vth, dv=int(rng.choice([0, 256, 1024, 2048, 4096])), du=int(rng.choice([4095, 4095, 2048, 0])),
                        mode=mode, bap=bap, err_frac=6, err_shift=int(rng.integers(0, 3)),
                        delta_max=int(rng.choice([127, 127, 40])), surrogate=sg, surrogate_param=sgp,
                        y1_const=int(rng.choice([127, 90, 33])) if y1f else 0)
    TF = np.zeros((steps, n_out), np.int32)
    if mode == "target":
        for t in range(steps):
            if rng.random() < 0.8:
                TF[t] = int(rng.integers(1, 8))
                TF[t, rng.integers(0, n_out)] = int(rng.integers(40, 60))
    else:
        TF[:] = rng.integers(-90, 91, size=(steps, n_out))
        TF[rng.random((steps, n_out)) < 0.2] = 0
    h = None
    if hid:
        h = HiddenSpec(weights=rng.integers(-100, 128, size=(n_pre, n_in)).astype(np.int32),
                          weight_exp=int(rng.integers(-1, 2)), vth=int(rng.integers(8, 40)),
                          dv=int(rng.choice([1024, 2048])), bias=rng.integers(-100, 300, size=n_pre))
    net = LearnNet(weights=W.astype(np.int32), rule=rule, neuron=nrn, weight_exp=int(rng.integers(-1, 3)),
                      sign_mode=sm, bias=bias, hidden=h, period=period)
    return net, TF


def dfa_chain(seed: int, n_in: int, steps: int):
    """A random chain whose hidden layer LEARNS with fixed random feedback: the output deltas reach
    the hidden neurons' third factor through a fixed graded Dense (direct feedback alignment)."""
    import dataclasses

    net, TF = random_chain(seed, n_in, steps, hidden=False)
    rng = np.random.default_rng(seed + 500)
    n_h = int(rng.integers(3, 9))
    sg, sgp = SURROGATES[int(rng.integers(len(SURROGATES)))]
    hl = HiddenLearnSpec(
        weights=rng.integers(-100, 101, size=(n_h, n_in)).astype(np.int32),
        feedback=rng.integers(-120, 121, size=(n_h, net.n_out)).astype(np.int32),
        feedback_exp=int(rng.integers(-3, 1)),
        rule=RuleSpec(lr_mant=int(rng.integers(1, 8)), lr_exp=int(rng.integers(-3, 4)),
                         x1_tau=float(rng.choice([1, 2, 4])), x1_impulse=float(rng.choice([20, 33.5])),
                         t_epoch=int(rng.choice([1, 1, 2])), rng_seed=int(rng.integers(0, 999))),
        neuron=LearningNeuronSpec(vth=int(rng.integers(8, 40)), dv=1024, mode="error", bap=str(rng.choice(["never", "spike"])),
                             surrogate=sg, surrogate_param=sgp, err_shift=int(rng.integers(0, 9)),
                             delta_rounding=str(rng.choice(["floor", "nearest"]))),
        weight_exp=int(rng.integers(-1, 2)), bias=rng.integers(-100, 300, size=n_h))
    if net.sign_mode == "MIXED":
        W = rng.integers(-120, 121, size=(net.n_out, n_h))
    else:
        W = rng.integers(0, 120, size=(net.n_out, n_h)) * (1 if net.sign_mode == "EXCITATORY" else -1)
    return dataclasses.replace(net, weights=W.astype(np.int32), hidden_learn=hl), TF


def rec_chain(seed: int, n_in: int, steps: int):
    """A random chain whose LEARNING hidden layer is recurrent: a second LearningDense from the hidden
    neurons back to themselves. Its own weight exponent and sign mode, sometimes its own rule (other
    rate, seed, fractional x1 tau / impulse: truncated by Lava once its buffer is cleared); the hidden
    neurons sometimes send signed y-traces with bAPs (the y clip then depends on the shared bAP times)."""
    import dataclasses

    net, TF = dfa_chain(seed, n_in, steps)
    hl = net.hidden_learn
    rng = np.random.default_rng(seed + 900)
    n_h = hl.weights.shape[0]
    sm = str(rng.choice(["MIXED", "MIXED", "EXCITATORY", "INHIBITORY"]))
    Wr = rng.integers(-100, 101, size=(n_h, n_h))
    if sm != "MIXED":
        Wr = np.abs(Wr) * (1 if sm == "EXCITATORY" else -1)
    rule = hl.rule
    if rng.random() < 0.4:
        rule = dataclasses.replace(rule, encoding="signed")
        hl = dataclasses.replace(hl, neuron=dataclasses.replace(hl.neuron, bap=str(rng.choice(["spike", "always"]))))
    rr = None
    if rng.random() < 0.6:
        rr = dataclasses.replace(rule, lr_mant=int(rng.integers(1, 8)), lr_exp=int(rng.integers(-3, 4)),
                                 x1_tau=float(rng.choice([1.5, 2, 3.7])), x1_impulse=float(rng.choice([20.5, 33.25, 40])),
                                 rng_seed=int(rng.integers(0, 999)))
    hl = dataclasses.replace(hl, rule=rule, recurrent=Wr.astype(np.int32), recurrent_exp=int(rng.integers(-1, 2)),
                             recurrent_sign_mode=sm, recurrent_rule=rr)
    return dataclasses.replace(net, hidden_learn=hl, period=int(rng.integers(3, 9))), TF


def raster(seed: int, steps: int, n_in: int, p: float = 0.45) -> np.ndarray:
    return (np.random.default_rng(seed).random((steps, n_in)) < p).astype(np.int32)


def check_chains(seeds, n_in=10, steps=60, dfa_seeds=(), rec_seeds=(), **kw):
    """Emulate and run in Lava (one runtime); assert bit-identical weights, spikes and membranes
    (of the learning hidden layer too, for the ``dfa_seeds`` and ``rec_seeds`` chains, and its
    recurrent weights for the latter)."""
    R = raster(1000 + (list(seeds) + list(dfa_seeds) + list(rec_seeds))[0], steps, n_in)
    chains = ([random_chain(s, n_in, steps, **kw) for s in seeds] + [dfa_chain(s, n_in, steps) for s in dfa_seeds]
              + [rec_chain(s, n_in, steps) for s in rec_seeds])
    seeds = list(seeds) + list(dfa_seeds) + list(rec_seeds)
    ems = [emulate(net, R, tf) for net, tf in chains]
    lvs = run_lava_learning([c[0] for c in chains], R, [c[1] for c in chains])
    total_changed = 0
    for s, (net, _), em, lv in zip(seeds, chains, ems, lvs):
        what = f"seed {s}: {net.rule.dw()} {net.sign_mode} t_epoch={net.rule.t_epoch} bap={net.neuron.bap} " \
               f"mode={net.neuron.mode} hidden={net.hidden is not None}"
        assert np.array_equal(em.spikes, lv.spikes), what
        assert np.array_equal(em.v, lv.v), what
        assert np.array_equal(em.weights, lv.weights), what
        total_changed += int(np.count_nonzero(em.weights != truncated_initial(net)))
        if net.hidden_learn is not None:
            assert np.array_equal(em.hidden_spikes, lv.hidden_spikes), what
            assert np.array_equal(em.hidden_v, lv.hidden_v), what
            assert np.array_equal(em.hidden_weights, lv.hidden_weights), what
            total_changed += int(np.count_nonzero(em.hidden_weights != truncated_initial(net.hidden_learn)))
        if net.hidden_learn is not None and net.hidden_learn.recurrent is not None:
            hl = net.hidden_learn
            assert np.array_equal(em.hidden_recurrent_weights, lv.hidden_recurrent_weights), what
            total_changed += int(np.count_nonzero(em.hidden_recurrent_weights
                                                  != truncated(hl.recurrent, 8, hl.recurrent_sign_mode)))
    return chains, ems, total_changed


# ---------------------------------------------------------------------------------------------
# without Lava
# ---------------------------------------------------------------------------------------------

def test_random_streams_equal_one_at_a_time_draws():
    """The host streams equal Lava's draws: one at construction, two per step (trace streams),
    one per learning phase (r_c from default_rng(2)), each call drawing a single number."""
    for seed, steps, te in ((0, 300, 1), (17, 257, 3), (4242, 100, 2)):
        rs = random_streams(seed, steps, te)
        gd, gi, gy, gc = (np.random.default_rng(seed), np.random.default_rng(seed + 1),
                          np.random.default_rng(seed + 2), np.random.default_rng(2))
        d, i, y, c = [gd.random(1)[0]], [gi.integers(0, 128, size=1, dtype=int)[0]], [gy.random(1)[0]], [gc.random(1)[0]]
        for tau in range(1, steps + 1):
            for _ in range(2):
                d.append(gd.random(1)[0])
                i.append(gi.integers(0, 128, size=1, dtype=int)[0])
                y.append(gy.random(1)[0])
            if tau % te == 0:
                c.append(gc.random(1)[0])
        assert np.array_equal(rs.rxd, np.array(d)[::2])
        assert np.array_equal(rs.rxi, np.array(i)[::2])
        assert np.array_equal(rs.ryd, np.array(y)[::2])
        assert np.array_equal(rs.rc, np.array(c))


def test_impulse_parts_and_decay_factors():
    assert impulse_parts(32) == (32, 0)
    assert impulse_parts(10.25) == (10, 64)
    assert impulse_parts(12.75) == (12, 192)
    assert impulse_parts(0.5 / 256) == (0, 0)      # np.round: half to even
    xf, yf = decay_factors(RuleSpec(x1_tau=2))
    assert xf == float(np.exp(-1 / np.array([[2.0]]))[0, 0])
    assert yf.shape == (3,) and np.all(yf < 1) and np.all(yf > 1 - 2e-5)
    assert decay_factors(RuleSpec(x1_tau=0))[0] == 0.0


def test_rule_strings_and_validation():
    assert RuleSpec(lr_mant=1, lr_exp=-7).dw() == "2^-7*u0*x1*y2 - 2^-7*u0*x1*y3"
    assert RuleSpec(lr_mant=3, lr_exp=2, encoding="signed").dw() == "3*2^2*u0*x1*y2"
    assert RuleSpec(y1_factor=True, uk=1).dw() == "2^0*u1*x1*y1*y2 - 2^0*u1*x1*y1*y3"
    p = Product(5, 4, (("x1", 0), ("y2", -64)))
    assert RuleSpec(products=(p,)).dw() == "5*2^4*u0*x1*(y2-64)"
    assert [q.shift for q in RuleSpec(y1_factor=True).all_products()] == [10, 10]
    assert [q.shift for q in RuleSpec().all_products()] == [3, 3]
    for bad in (dict(lr_mant=8), dict(lr_exp=-8), dict(lr_exp=9), dict(encoding="offset"), dict(t_epoch=0),
                dict(x1_tau=-1), dict(products=(Product(1, 0, (("x2", 0),)),)),
                dict(products=(Product(1, 0, (("x1", 0), ("y1", 0), ("y2", 0), ("y3", 0))),))):
        with pytest.raises(NeurochipError):
            RuleSpec(**bad)


def test_no_teaching_signal_keeps_truncated_weights():
    """tf = 0 everywhere: delta = 0, so every learning phase leaves A = W << 7 and W unchanged;
    only the LearningDense's first-step truncation ((W >> 1) << 1, MIXED) shows."""
    rng = np.random.default_rng(3)
    W = rng.integers(-255, 256, size=(4, 9)).astype(np.int32)
    net = LearnNet(weights=W, rule=RuleSpec(lr_exp=8, lr_mant=7), neuron=LearningNeuronSpec(vth=10), weight_exp=1,
                      period=5)
    res = emulate(net, raster(0, 50, 9), np.zeros((50, 4), np.int32))
    assert np.array_equal(res.weights, (W >> 1) << 1)
    assert res.counts["nonzero_deltas"] == 0
    assert res.spikes.sum() > 0


def test_emulation_is_resumable_and_reproducible():
    net, TF = random_chain(5, 10, 80, t_epoch=2, hidden=True)
    R = raster(5, 80, 10)
    one = emulate(net, R, TF)
    em = Emulator(net, 80)
    em.run(R, TF, 30)
    em.run(R, TF, 50)
    two = em.result(0.0)
    assert np.array_equal(one.weights, two.weights)
    assert np.array_equal(one.spikes, two.spikes) and np.array_equal(one.v, two.v)
    assert np.array_equal(one.weights, emulate(net, R, TF).weights)


def test_recurrent_hidden_starts_samples_from_rest():
    """A recurrent hidden layer's recurrent input is cleared at every sample start (its reset step):
    with no teaching signal nothing learns, and at each reset step the hidden membranes equal those
    of the same chain without recurrence, while between them the recurrence changes them."""
    import dataclasses

    net, _ = rec_chain(3, 10, 90)
    hl = net.hidden_learn
    TF = np.zeros((90, net.n_out), np.int32)
    R = raster(3, 90, 10)
    rec = emulate(net, R, TF)
    ff = emulate(dataclasses.replace(net, hidden_learn=dataclasses.replace(hl, recurrent=None, recurrent_rule=None)), R, TF)
    interval, offset = net.reset_offset(1)
    starts = [t - 1 for t in range(1, 91) if t % interval == offset]
    assert len(starts) > 5 and rec.hidden_spikes.sum() > 20
    assert np.array_equal(rec.hidden_v[starts], ff.hidden_v[starts])
    assert not np.array_equal(rec.hidden_v, ff.hidden_v)
    assert np.array_equal(rec.hidden_recurrent_weights, truncated(hl.recurrent, 8, hl.recurrent_sign_mode))


def test_recurrent_emulation_is_resumable_and_var_write_truncates_traces():
    """Resuming across the recurrent layer's buffer clears gives the same run; and the clears'
    Var write makes the recurrent rule use int(x1_tau), int(x1_impulse) (Lava's on_var_update)."""
    import dataclasses

    net, TF = rec_chain(8, 10, 80)
    rr = dataclasses.replace(net.hidden_learn.rec_rule(), x1_tau=1.5, x1_impulse=20.75)
    assert var_written_rule(rr) == dataclasses.replace(rr, x1_tau=1.0, x1_impulse=20.0)
    net = dataclasses.replace(net, hidden_learn=dataclasses.replace(net.hidden_learn, recurrent_rule=rr))
    R = raster(8, 80, 10)
    one = emulate(net, R, TF)
    em = Emulator(net, 80)
    for n in (1, 6, 30, 43):
        em.run(R, TF, n)
    two = em.result(0.0)
    for a in ("weights", "hidden_weights", "hidden_recurrent_weights", "hidden_v", "v"):
        assert np.array_equal(getattr(one, a), getattr(two, a)), a
    LR = em.LR
    assert (LR[9][K.L_IMPI], LR[9][K.L_IMPF]) == impulse_parts(20.0) and LR[10][0] == decay_factors(var_written_rule(rr))[0]
    assert np.count_nonzero(one.hidden_recurrent_weights != truncated(net.hidden_learn.recurrent, 8,
                                                                      net.hidden_learn.recurrent_sign_mode)) > 3


def test_recurrent_spec_errors():
    import dataclasses

    net, _ = rec_chain(2, 10, 20)
    hl = net.hidden_learn
    with pytest.raises(NeurochipError, match="recurrent weights must be"):
        dataclasses.replace(hl, recurrent=np.zeros((2, 3), np.int32))
    with pytest.raises(NeurochipError, match="t_epoch and encoding"):
        dataclasses.replace(hl, recurrent_rule=dataclasses.replace(hl.rule, t_epoch=hl.rule.t_epoch + 1))
    with pytest.raises(NeurochipError, match="without recurrent weights"):
        dataclasses.replace(hl, recurrent=None, recurrent_rule=hl.rule)


def test_signed_encoding_loses_negative_half_on_bap():
    """lava-semantics.md §5.5: a bAP clips the neuron's y-traces to [0, 127]. With the signed encoding
    (y2 = -delta) and a bAP every step, only the weight increases survive; the split encoding
    learns both ways. neurochip reproduces the clipping (it is what Lava does)."""
    rng = np.random.default_rng(11)
    W = rng.integers(-60, 61, size=(3, 10)).astype(np.int32)
    TF = rng.integers(-80, 81, size=(200, 3)).astype(np.int32)
    R = raster(2, 200, 10)
    out = {}
    for enc in ("split", "signed"):
        net = LearnNet(weights=W, rule=RuleSpec(lr_exp=-2, encoding=enc),
                          neuron=LearningNeuronSpec(vth=20, mode="error", bap="always", surrogate="rectangular",
                                               surrogate_param=6.0), weight_exp=0, period=10)
        out[enc] = emulate(net, R, TF).weights.astype(np.int64) - truncated_initial(net)
    assert (out["split"] < 0).any() and (out["split"] > 0).any()
    assert (out["signed"] >= 0).all() and (out["signed"] > 0).any()


def test_learn_compare_without_lava_is_json():
    res = learn_compare(30, 0, n_test=10, lava=False, timesteps=6)
    r = json.loads(json.dumps(res.to_dict()))
    assert r["learning"] == res.learning.to_dict() and "hidden_dw" not in r["learning"]
    assert r["samples_train"] == 30 and r["samples_test"] == 10
    assert r["weights_changed_by_learning"] > 0
    assert 0.0 <= r["acc_test_neurochip"] <= 1.0
    assert r["weights_differing"] is None and r["exact"] is None
    assert r["learning"]["dw"].endswith("*u0*x1*y3")


def test_bad_inputs():
    with pytest.raises(NeurochipError):
        digits_task(10, 5, 0, profile="generic")         # not Lava's arithmetic
    with pytest.raises(NeurochipError):
        LearnNet(weights=np.zeros((2, 3), np.int32), sign_mode="SIGNED")
    with pytest.raises(NeurochipError):
        LearningNeuronSpec(bap="sometimes")
    net, TF = random_chain(1, 10, 20)
    em = Emulator(net, 20)
    with pytest.raises(NeurochipError):
        em.run(raster(0, 20, 10), TF, 21)


# ---------------------------------------------------------------------------------------------
# with Lava
# ---------------------------------------------------------------------------------------------

@need_lava
def test_lava_parses_rules_as_neurochip_encodes_them():
    _lava()
    for rule in (RuleSpec(), RuleSpec(lr_mant=7, lr_exp=8, uk=3), RuleSpec(encoding="signed", lr_exp=-7),
                 RuleSpec(y1_factor=True, lr_mant=5),
                 RuleSpec(products=(Product(5, 4, (("x1", 0), ("y2", -64))), Product(-2, -1, (("y3", 3),))))):
        lava_rule(rule)     # raises if Lava's ProductSeries differs


@need_lava
def test_lava_random_generators_equal_host_streams():
    _lava()
    from lava.magma.core.learning.random import ConnVarRandom, TraceRandom

    steps, seed = 200, 77
    rs = random_streams(seed, steps)
    x, yr, c = TraceRandom(seed, seed + 1), TraceRandom(seed + 2, seed + 3), ConnVarRandom()
    for tau in range(1, steps + 1):
        x.advance(), yr.advance(), x.advance(), yr.advance()
        c.advance()
        assert x.random_trace_decay == rs.rxd[tau] and x.random_impulse_addition == rs.rxi[tau]
        assert yr.random_trace_decay == rs.ryd[tau] and c.random_stochastic_round == rs.rc[tau]


@need_lava
def test_lava_impulse_split_equals_host():
    _lava()
    from lava.magma.core.model.py.connection import LearningConnectionModelBitApproximate as M

    for imp in (0, 1, 7.3, 10.25, 12.75, 20.5, 33.25, 100, 0.5 / 256, 1.5 / 256):
        ii, ff = M._decompose_impulses(np.array([imp, 0.0]))
        assert (int(ii[0]), int(ff[0])) == impulse_parts(imp)


@need_lava
def test_lava_learning_bit_exact_random_chains():
    """CI set: six random chains in one Lava runtime, all bit-exact, with learning happening."""
    _lava()
    chains, ems, changed = check_chains([1, 2, 3, 4, 5], n_in=10, steps=48, dfa_seeds=[4], rec_seeds=[11, 25])
    assert changed > 20
    assert chains[-3][0].hidden_learn is not None and ems[-3].counts["nonzero_hidden_deltas"] > 0
    for (net, _), em in zip(chains[-2:], ems[-2:]):        # the recurrent hidden layers learned
        hl = net.hidden_learn
        assert np.count_nonzero(em.hidden_recurrent_weights != truncated(hl.recurrent, 8, hl.recurrent_sign_mode)) > 3
    assert sum(e.counts["nonzero_deltas"] for e in ems) > 50
    kinds = {(c[0].neuron.mode, c[0].rule.encoding) for c in chains}
    assert len(kinds) >= 3


@need_lava
def test_lava_learn_compare_digits_exact():
    """CI: the digits task (learning then inference in one run) is bit-exact end to end."""
    _lava()
    r = learn_compare(12, 1, n_test=6, timesteps=5)
    assert r.exact is True
    assert r.weights_differing == 0 and r.spike_mismatches == 0 and r.v_mismatches == 0
    assert r.weights_changed_by_learning > 0
    assert r.acc_test_lava == r.acc_test_neurochip
    json.dumps(r.to_dict())


@need_lava
@pytest.mark.slow
@pytest.mark.parametrize("block", range(3))
def test_lava_learning_bit_exact_random_chains_slow(block):
    _lava()
    seeds = list(range(100 + 8 * block, 108 + 8 * block))
    _, _, changed = check_chains(seeds, n_in=int(8 + 3 * block), steps=150)
    assert changed > 50


@need_lava
@pytest.mark.slow
@pytest.mark.parametrize("recurrent", [False, True])
def test_lava_learning_fixed_random_feedback_slow(recurrent):
    """Learning hidden layers (fixed random feedback): 8 dense ones, or 10 recurrent ones."""
    _lava()
    kw = {"rec_seeds": list(range(400, 410))} if recurrent else {"dfa_seeds": list(range(300, 308))}
    chains, ems, changed = check_chains([], n_in=9, steps=150 if recurrent else 120, **kw)
    assert changed > 100 and sum(e.counts["nonzero_hidden_deltas"] for e in ems) > 40
    if recurrent:
        hls = [c[0].hidden_learn for c in chains]
        assert len({(h.rule.encoding, h.recurrent_rule is None, h.recurrent_sign_mode) for h in hls}) >= 4


@need_lava
@pytest.mark.slow
def test_lava_learning_t_epoch_and_hidden_slow():
    _lava()
    for te in (2, 3, 5):
        check_chains([200 + te, 210 + te, 220 + te], n_in=9, steps=90, t_epoch=te, hidden=True)


@need_lava
@pytest.mark.slow
def test_lava_learning_y_decay_events_slow():
    """Loihi3F decays the received y-traces once per epoch with tau = 65535: a value y drops by one
    with probability ~ y / 65535. Long runs with y1 = 127 make such events happen; still exact."""
    _lava()
    steps = 1500
    R = raster(7, steps, 8)
    net = LearnNet(weights=np.random.default_rng(7).integers(-80, 81, size=(3, 8)).astype(np.int32),
                      rule=RuleSpec(y1_factor=True, lr_exp=3, rng_seed=11),
                      neuron=LearningNeuronSpec(vth=20, mode="error", y1_const=127, surrogate="rectangular",
                                           surrogate_param=6.0, bap="spike"), period=10)
    TF = np.random.default_rng(8).integers(-60, 61, size=(steps, 3)).astype(np.int32)
    em = emulate(net, R, TF)
    assert em.counts["y_decay_events"] > 0
    lv = run_lava_learning([net], R, [TF])[0]
    assert np.array_equal(em.weights, lv.weights) and np.array_equal(em.spikes, lv.spikes)


@need_lava
@pytest.mark.slow
def test_lava_learn_compare_digits_hidden_slow():
    _lava()
    r = learn_compare(150, 0, n_test=60, timesteps=8, hidden=32)
    assert r.exact is True and r.weights_changed_by_learning > 0
    r = learn_compare(200, 2, n_test=100, timesteps=8)
    assert r.exact is True
    assert r.acc_test_lava > 0.3
    r = learn_compare(120, 3, n_test=40, timesteps=6, hidden=24, feedback="random")
    assert r.exact is True and r.hidden.startswith("learning")


def test_lava_lr_mapping():
    """neurochip's lr 0.05 over T = 8 steps on a q = 6 output layer is below Lava's smallest rule
    scale (2^-7): one bit of delta shift reaches it, and the effective rate is reported."""
    m, e, es, eff = lava_lr(0.05, 8, 6, 5, 6, 1)
    assert (m, e, es) == (1, -7, 1) and eff == pytest.approx(0.0625)
    m, e, es, eff = lava_lr(0.05, 8, 6, 5, 6, 1, err_shift=0)
    assert (m, e, es) == (1, -7, 0) and eff == pytest.approx(0.125)
    m, e, es, eff = lava_lr(40.0, 1, 6, 5, 6, 1)
    assert es == 0 and 1 <= m <= 7 and abs(np.log2(eff / 40.0)) < 0.3
    with pytest.raises(NeurochipError):
        lava_lr(0.0, 8, 6, 5, 6)


def test_delta_rounding():
    """floor (neurochip's output error) vs nearest, ties up (its hidden errors): (e * sg) >> n."""
    lut = np.full(64, 16, np.int64)       # sg = 1.0 everywhere in range
    for rnd, expect in ((0, [-2, -1, -1, 0, 0, 1]), (1, [-1, 0, 0, 0, 1, 1])):      # e / 4
        OP = np.zeros(K.N_PARAMS, np.int64)
        OP[K.N_MODE], OP[K.N_SGB], OP[K.N_ESH], OP[K.N_DMAX], OP[K.N_VTH] = 1, 4, 2, 127, 10
        OP[K.N_CSG], OP[K.N_DRND] = 1, rnd
        got = [K.ottt_delta(640, False, e, OP, lut) for e in (-5, -2, -1, 1, 2, 5)]
        assert got == expect, (rnd, got)


def test_fixed_random_feedback_learns_without_lava():
    """The hidden layer of a digits network learns through fixed random feedback (emulation only)."""
    r = learn_compare(60, 0, n_test=20, lava=False, hidden=32, feedback="random")
    assert r.hidden.startswith("learning") and r.network == [64, 32, 10]
    assert r.counts_neurochip["nonzero_hidden_deltas"] > 0
    assert r.weights_changed_by_learning > 300
    with pytest.raises(NeurochipError):
        digits_task(10, 5, 0, feedback="random")          # no hidden layer to train
