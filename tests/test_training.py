"""Training behaviour: learning happens, is bit-reproducible from the seed, and resumes exactly."""
from __future__ import annotations

import numpy as np
import pytest

from neurochip import checkpoint
from neurochip.data import load_digits
from neurochip.engine import Engine
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile
from neurochip.train import History, fit


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def _train(ds, epochs, profile="loihi", **kw):
    cfg = NetworkConfig(sizes=(64, 32, 10), **kw)
    eng = Engine(cfg, load_profile(profile))
    return eng, fit(eng, ds, epochs)


@pytest.mark.parametrize("profile", ["loihi", "generic"])
def test_integer_training_learns_and_is_bit_identical(digits, profile):
    eng1, h1 = _train(digits, 2, profile=profile)
    eng2, h2 = _train(digits, 2, profile=profile)
    assert h1.test_acc[-1] > 0.80          # chance is 0.10
    for a, b in zip(eng1.weights(), eng2.weights()):
        assert a.dtype == np.int32 and np.array_equal(a, b)
    assert np.array_equal(eng1.rng, eng2.rng)
    assert np.array_equal(eng1.ops, eng2.ops) and np.array_equal(eng1.sat, eng2.sat)
    assert h1.test_acc == h2.test_acc


def test_weights_stay_within_the_profile_width(digits):
    eng, _ = _train(digits, 1, lr=2.0)      # a huge learning rate drives weights into saturation
    for w in eng.weights():
        assert w.min() >= -128 and w.max() <= 127
    assert eng.sat[:, 2].sum() > 0           # weight_sat counted


def test_different_seeds_differ(digits):
    e0, _ = _train(digits, 1, seed=0)
    e1, _ = _train(digits, 1, seed=1)
    assert not np.array_equal(e0.weights()[0], e1.weights()[0])


@pytest.mark.parametrize("kw", [
    dict(precision="int"),
    dict(precision="int", rule="ottt-a", shadow_weight_bits=12),
    dict(precision="int", encoder="rate", feedback="random"),
    dict(precision="float", optimizer="adam", lr=0.001),
])
def test_resume_equals_uninterrupted(digits, tmp_path, kw):
    small = type(digits)(x_train=digits.x_train[:300], y_train=digits.y_train[:300],
                         x_test=digits.x_test[:100], y_test=digits.y_test[:100],
                         n_classes=10, name="digits-small", shape=digits.shape)
    cfg = NetworkConfig(sizes=(64, 24, 10), **kw)
    prof = load_profile("loihi")
    full = Engine(cfg, prof)
    hf = fit(full, small, 3)

    part = Engine(cfg, prof)
    path = tmp_path / "run.h5"

    class Interrupted(Exception):
        pass

    def save_then_die(h):
        checkpoint.save(path, part, h, {"name": "digits", "seed": 0})
        if len(h) == 2:
            raise Interrupted  # the run is killed after epoch 2 of 3

    with pytest.raises(Interrupted):
        fit(part, small, 3, on_epoch=save_then_die)
    resumed, hist, info = checkpoint.load(path)
    assert len(hist) == 2 and info == {"name": "digits", "seed": 0}
    hr = fit(resumed, small, 3, hist)
    for a, b in zip(full.weights(), resumed.weights()):
        assert np.array_equal(a, b)
    if full.shadow():
        for a, b in zip(full.shadow(), resumed.shadow()):
            assert np.array_equal(a, b)
    assert np.array_equal(full.rng, resumed.rng)
    assert hf.test_acc == hr.test_acc


def test_float_reference_learns(digits):
    _, h = _train(digits, 2, precision="float")
    assert h.test_acc[-1] > 0.85


@pytest.mark.parametrize("kw", [
    dict(readout="spiking", loss="mse"),
    dict(readout="spiking", loss="count"),
    dict(loss="ce"), dict(loss="mse"),
    dict(encoder="latency"), dict(surrogate="triangle"), dict(surrogate="rectangular"),
    dict(surrogate="gaussian"), dict(surrogate="fast_sigmoid"), dict(surrogate="spike_operator"),
    dict(surrogate="fast_sigmoid", precision="float"), dict(surrogate="spike_operator", precision="float"),
    dict(hidden2=True),
])
def test_variants_learn_above_chance(digits, kw):
    sizes = (64, 32, 16, 10) if kw.pop("hidden2", False) else (64, 32, 10)
    cfg = NetworkConfig(sizes=sizes, **kw)
    eng = Engine(cfg, load_profile("loihi"))
    h = fit(eng, digits, 2)
    assert h.test_acc[-1] > 0.3


def test_history_roundtrip():
    h = History()
    h.append(epoch=1, train_acc_online=0.5, test_acc=0.4, seconds=1.0, samples_per_s=10.0)
    assert History.from_arrays(h.as_arrays()).test_acc == [0.4]


def test_interrupted_save_keeps_the_previous_checkpoint(digits, tmp_path, monkeypatch):
    eng = Engine(NetworkConfig(sizes=(64, 8, 10)), load_profile("loihi"))
    path = tmp_path / "run.h5"
    h = History()
    h.append(epoch=1, train_acc_online=0.5, test_acc=0.5, seconds=1.0, samples_per_s=1.0)
    checkpoint.save(path, eng, h, {"name": "digits", "seed": 0})
    before = path.read_bytes()

    def boom():
        raise KeyboardInterrupt  # the user hits Ctrl-C in the middle of writing

    monkeypatch.setattr(eng, "optimizer_state", boom)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(path, eng, h, {"name": "digits", "seed": 0})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run.h5"]   # no temp file left behind
    checkpoint.load(path)


def test_train_acc_is_a_frozen_pass_not_the_online_figure(digits):
    """issue 9 §4.1: at lr 5 OTTT_O pulls each sample's prediction to its label while it learns
    (online figure near 1.0) but the network learns nothing (test near chance). ``train_acc`` is a
    frozen pass over the fixed train subset and says so."""
    from neurochip.train import TRAIN_EVAL, evaluate, train_subset

    eng = Engine(NetworkConfig(sizes=(64, 32, 10), lr=5.0), load_profile("loihi"))
    h = fit(eng, digits, 1)
    assert h.train_acc_online[-1] > 0.9 and h.test_acc[-1] < 0.3
    assert h.train_acc[-1] < 0.3
    sub = train_subset(eng.cfg.seed, len(digits.y_train), TRAIN_EVAL)
    assert len(sub) == TRAIN_EVAL == len(set(sub.tolist()))
    assert np.array_equal(sub, train_subset(eng.cfg.seed, len(digits.y_train), TRAIN_EVAL))   # fixed
    assert h.train_acc[-1] == evaluate(eng, digits.x_train[sub], digits.y_train[sub])["accuracy"]
    eng, h = _train(digits, 2)
    assert 0.8 < h.train_acc[-1] <= 1.0


@pytest.mark.parametrize("kw", [dict(encoder="rate"), dict(precision="float", encoder="rate")])
def test_frozen_train_pass_leaves_training_bit_identical(digits, kw):
    """The frozen pass restores the PRNG states and counters: training is the same with or without it."""
    runs = []
    for te in (0, 300):
        eng = Engine(NetworkConfig(sizes=(64, 16, 10), timesteps=4, **kw), load_profile("loihi"))
        runs.append((eng, fit(eng, digits, 2, train_eval=te)))
    (e0, h0), (e1, h1) = runs
    assert all(np.array_equal(a, b) for a, b in zip(e0.weights(), e1.weights()))
    assert np.array_equal(e0.rng, e1.rng) and np.array_equal(e0.ops, e1.ops) and np.array_equal(e0.sat, e1.sat)
    assert h0.test_acc == h1.test_acc and np.isnan(h0.train_acc).all() and 0 < h1.train_acc[-1] <= 1


def test_training_counters_hold_the_learning_passes_only(digits):
    """docs/energy.md §1: the per-epoch test and train-subset passes are not in the training counts."""
    from neurochip.network import lr_at
    from neurochip.train import epoch_order, run_epoch

    cfg = NetworkConfig(sizes=(64, 16, 10), timesteps=4)
    eng = Engine(cfg, load_profile("loihi"))
    fit(eng, digits, 2)
    ref = Engine(cfg, load_profile("loihi"))
    x, y = ref.prepare(digits.x_train), digits.y_train.astype(np.int64)
    for ep in range(2):
        ref.set_lr(lr_at(cfg, ep, 2))
        run_epoch(ref, x, y, epoch_order(cfg.seed, ep, len(y)), True)
    assert np.array_equal(eng.ops, ref.ops) and np.array_equal(eng.sat, ref.sat)
    assert all(np.array_equal(a, b) for a, b in zip(eng.weights(), ref.weights()))


def test_lr_schedule_keeps_its_horizon():
    """issue 9 §4.4: the cosine runs over cfg.lr_horizon (0: the epochs asked for) and stays at its
    floor past it, so extending a finished run keeps the schedule it was trained with."""
    from neurochip.network import LR_FLOOR, lr_at

    c = NetworkConfig(sizes=(4, 2), lr=0.1)
    h = NetworkConfig(sizes=(4, 2), lr=0.1, lr_horizon=10)
    assert [lr_at(c, e, 10) for e in range(10)] == [lr_at(h, e, 40) for e in range(10)]
    assert lr_at(c, 0, 10) == 0.1 and lr_at(c, 5, 10) < 0.1
    assert all(abs(lr_at(h, e, 40) - LR_FLOOR * 0.1) < 1e-15 for e in range(10, 40))
    assert lr_at(NetworkConfig(sizes=(4, 2), lr=0.1, lr_schedule="constant", lr_horizon=3), 7, 9) == 0.1
