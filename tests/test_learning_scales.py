"""The scales of learning that no other test pins (issue 9 §4.5): the chip's learning rate (its 1/T
and its mantissa/shift) and the fixed random feedback.

* The integer OTTT update, in threshold units, must equal the float OTTT update of the same
  network on the same samples: the float kernel applies the 1/T of ``L[t] = loss / T`` to the
  error, the chip folds it into ``lr_mant * 2^lr_exp ~= lr / T`` (network.int_layout) and the
  update shift ``E + F - q - lr_exp``. Dropping the 1/T, or a factor in the shift, multiplies the
  integer update by T or a power of two.
* The feedback matrices follow their documented initialisation (network.init_feedback):
  ``B_l ~ U(-1, 1) / sqrt(n_out)`` in threshold units, float32 in the float engine and
  ``round(B_l 2^q_l)`` mantissas on chip (the weight scale of W_l, whose role B_l takes); with
  random feedback the integer hidden-layer update equals the float one.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from neurochip.data import load_digits
from neurochip.engine import Engine
from neurochip.network import NetworkConfig, init_feedback, int_layout, quantize_lr
from neurochip.profile import load_profile

SIZES = (64, 32, 10)


def learned_weights(eng):
    """Learned weights in threshold units: float32, or mantissas times 2^-(q + shadow bits)."""
    if eng.cfg.precision == "float":
        return [w.astype(np.float64) for w in eng.weights()]
    lay = eng.ilay
    ws = eng.shadow() or eng.weights()
    return [w.astype(np.float64) * 2.0 ** -(q + lay.shadow_extra) for w, q in zip(ws, lay.q)]


def summed_updates(precision, profile, rule, feedback, T, lr=0.1, n=12):
    """Sum over n samples of the one-sample update from the same initial network (so the integer
    and float networks never drift apart), per layer, in threshold units."""
    ds = load_digits(seed=0)
    total = None
    for k in range(n):
        cfg = NetworkConfig(sizes=SIZES, timesteps=T, precision=precision, rule=rule, lr=lr,
                            lr_schedule="constant", feedback=feedback, seed=1)
        eng = Engine(cfg, load_profile(profile))
        w0 = learned_weights(eng)
        eng.run(eng.prepare(ds.x_train[k:k + 1]), ds.y_train[k:k + 1], np.array([0]), True)
        d = [a - b for a, b in zip(learned_weights(eng), w0)]
        total = d if total is None else [t + x for t, x in zip(total, d)]
    return total


@pytest.mark.parametrize("profile,rule,feedback,T", [
    ("generic", "ottt-a", "transpose", 8),
    ("loihi", "ottt-a", "random", 8),
    ("loihi", "ottt-o", "transpose", 4),
    ("generic", "ottt-o", "random", 16),
])
def test_integer_update_equals_float_update(profile, rule, feedback, T):
    """Projection of the integer update on the float one, per layer: 1 up to rounding (measured
    0.96-1.01; the 1/T dropped gives T, a feedback 4x too large gives ~4 in the hidden layer)."""
    di = summed_updates("int", profile, rule, feedback, T)
    df = summed_updates("float", profile, rule, feedback, T)
    for l, (a, b) in enumerate(zip(di, df)):
        assert np.abs(b).max() > 0.05, "the float update must be sizeable"
        ratio = float((a * b).sum() / (b * b).sum())
        corr = float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
        assert corr > 0.85, f"layer {l}: integer and float updates disagree in direction ({corr:.2f})"
        assert 0.87 < ratio < 1.15, f"layer {l}: integer update = {ratio:.2f} x the float update"


@pytest.mark.parametrize("T,lr", [(8, 0.05), (4, 0.2), (16, 0.01), (1, 0.05)])
def test_chip_learning_rate_is_lr_over_T(T, lr):
    """lr_mant 2^lr_exp = lr / T (4-bit mantissa: within 1/16), and the update shift makes
    dm = g a lr_mant >> s equal g a lr / T in threshold units."""
    prof = load_profile("loihi")
    cfg = NetworkConfig(sizes=SIZES, timesteps=T, lr=lr)
    lay = int_layout(cfg, prof)
    assert (lay.lr_mant, lay.lr_exp) == quantize_lr(lr / T)
    assert 8 <= lay.lr_mant <= 15
    assert lay.lr_mant * 2.0 ** lay.lr_exp == pytest.approx(lr / T, rel=1 / 16)
    E, F = prof.learning.error_frac_bits, prof.learning.trace_frac_bits
    for q, s in zip(lay.q, lay.update_shift):
        # g = 2^E (one unit of error), a = 2^F (one spike's trace): dm 2^-q = lr_mant 2^(E+F-s-q)
        assert lay.lr_mant * 2.0 ** (E + F - s - q) == pytest.approx(lay.lr_mant * 2.0 ** lay.lr_exp)


def test_feedback_follows_its_documented_initialisation():
    cfg = NetworkConfig(sizes=(64, 200, 100, 10), seed=5, feedback="random")
    fb = init_feedback(cfg)
    assert [b.shape for b in fb] == [(200, 10), (100, 10)]
    bound = 1 / math.sqrt(10)
    for b in fb:
        assert np.abs(b).max() <= bound
        assert np.abs(b).max() > 0.97 * bound                   # U(-bound, bound) fills its range
        assert b.std() == pytest.approx(bound / math.sqrt(3), rel=0.08)
        assert abs(b.mean()) < 0.1 * bound
    # the engines hold exactly these: float32, and mantissas at W_l's weight scale on chip
    fl = Engine(NetworkConfig(sizes=cfg.sizes, seed=5, feedback="random", precision="float"),
                load_profile("loihi")).state().feedback
    for a, b in zip(fl, fb):
        np.testing.assert_array_equal(a, b.astype(np.float32))
    prof = load_profile("loihi")
    it = Engine(cfg, prof).state().feedback
    q = int_layout(cfg, prof).q
    for l, (a, b) in enumerate(zip(it, fb)):
        np.testing.assert_array_equal(a, np.round(b * 2.0 ** q[l + 1]))
