"""The integer step helpers (kernels/lif.py, trace.py, error.py, update.py, fixedpoint.mul_shift_rtz)
against pure-Python models written from docs/design/chip-model.md with tests/reference.py's
primitives; the typed kernel parameters (kernels/state.py) compiled with ``cache=True``; the layer
specs and the engine's back ends."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurochip import fixedpoint as fx
from neurochip.kernels.dense import SCRAMBLE, scramble_multiplier
from neurochip.kernels.error import error_to_lower, surrogate_at
from neurochip.kernels.lif import lif_step
from neurochip.kernels.state import LifParams
from neurochip.kernels.trace import layer_trace_step, trace_step, trace_updates
from neurochip.kernels.update import add_clip, write_weight

from . import reference as ref

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- LIF ------------------------------------------------------------------------------------

def ref_lif(c, v, bias, p: LifParams):
    """chip-model.md §1: u = shift_exp(c, e) << in_shift, wrapped or saturated; v = sat_sym(leak(v)
    + u + bias); spike v > thr (or >=) unless an integrator; reset to 0 or by subtraction."""
    u = ref.shift_exp(c, p.weight_exp) * 2 ** p.in_shift
    u2 = ref.wrap_lava(u, p.cur_bits) if p.cur_wrap else ref.sat(u, p.cur_bits)
    leaked = ref.leak_floor(v, p.leak_shift) if p.leak_mode == 0 else ref.leak_lava(v, p.leak_shift)
    vp = ref.sat_sym(leaked + u2 + bias, p.mem_bits)
    s = p.fires and (vp >= p.thr if p.ge else vp > p.thr)
    after = (vp - p.thr if p.reset_sub else 0) if s else vp
    return int(s), after, vp, int(u2 != u), int(vp != leaked + u2 + bias)


lif_params = st.builds(
    LifParams, thr=st.integers(1, 2 ** 20), leak_shift=st.integers(0, 12), leak_mode=st.integers(0, 1),
    weight_exp=st.integers(-8, 8), in_shift=st.integers(0, 6), cur_bits=st.integers(8, 24),
    cur_wrap=st.booleans(), mem_bits=st.integers(8, 24), reset_sub=st.booleans(), ge=st.booleans(),
    fires=st.booleans())


@settings(max_examples=400, deadline=None)
@given(st.integers(-(2 ** 16), 2 ** 16), st.integers(-(2 ** 23), 2 ** 23), st.integers(-(2 ** 12), 2 ** 12), lif_params)
def test_lif_step_matches_the_spec(c, v, bias, p):
    assert tuple(lif_step(c, v, bias, p)) == ref_lif(c, v, bias, p)


@settings(max_examples=200, deadline=None)
@given(lif_params, st.integers(-1, 1))
def test_lif_step_at_the_threshold(p, delta):
    """The membrane lands on thr - 1, thr, thr + 1 (no input, no memory, bias only): compare and
    reset at the boundary."""
    p = p._replace(leak_shift=0, mem_bits=24, thr=min(p.thr, 2 ** 22))
    assert tuple(lif_step(0, 12345, p.thr + delta, p)) == ref_lif(0, 12345, p.thr + delta, p)


def test_lif_step_edges():
    p = LifParams(thr=100, leak_shift=1, leak_mode=1, weight_exp=0, in_shift=0, cur_bits=8, cur_wrap=True,
                  mem_bits=8, reset_sub=False, ge=False, fires=True)
    assert tuple(lif_step(100, 0, 0, p)) == (0, 100, 100, 0, 0)          # '>' : equal does not fire
    assert tuple(lif_step(100, 0, 0, p._replace(ge=True))) == (1, 0, 100, 0, 0)
    assert tuple(lif_step(129, 0, 0, p))[3] == 1                          # 129 wraps at 8 bits
    assert tuple(lif_step(0, 200, 0, p))[4] == 0 and tuple(lif_step(0, 300, 0, p))[4] == 1
    assert tuple(lif_step(101, 0, 0, p._replace(reset_sub=True))) == (1, 1, 101, 0, 0)
    assert tuple(lif_step(1000, 0, 0, p._replace(fires=False, cur_bits=16, mem_bits=16)))[:2] == (0, 1000)


@given(st.integers(-(2 ** 40), 2 ** 40), st.integers(0, 4096), st.integers(0, 16))
def test_mul_shift_rtz(x, m, s):
    p = x * m
    want = (abs(p) >> s) * (1 if p >= 0 else -1)
    assert fx.mul_shift_rtz(x, m, s) == want


# ---- traces -------------------------------------------------------------------------------

def ref_trace(a, impulse, k, stochastic, bits, rng):
    """chip-model.md §2: a <- a (1 - 2^-k) (floor, or + 1 when a k-bit draw < the dropped
    remainder, one draw per non-zero trace), + impulse, clipped at 2^bits - 1."""
    draws = 0
    if k == 0:
        d = 0
    else:
        num = a * (2 ** k - 1)
        d = num // 2 ** k
        if stochastic and a != 0:
            rng = ref.xorshift32(rng)
            draws = 1
            if rng >> (32 - k) < num % 2 ** k:
                d += 1
    a2 = d + impulse
    top = 2 ** bits - 1
    return min(a2, top), rng, draws, int(a2 > top)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2 ** 12), st.integers(0, 2 ** 9), st.integers(0, 8), st.booleans(), st.integers(4, 16),
       st.integers(1, 2 ** 32 - 1))
def test_trace_step_matches_the_spec(a, impulse, k, stochastic, bits, rng):
    assert tuple(trace_step(a, impulse, k, stochastic, bits, rng)) == ref_trace(a, impulse, k, stochastic, bits, rng)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2 ** 12), st.integers(0, 2 ** 12), st.integers(0, 2 ** 9), st.integers(0, 4), st.integers(0, 8),
       st.booleans(), st.integers(4, 16), st.integers(1, 2 ** 32 - 1))
def test_layer_trace_step_is_the_plain_or_the_exact_cuba_trace(z, a, impulse, k_u, k, stochastic, bits, rng):
    """k_u = 0: the plain trace, z unchanged; k_u > 0: the current trace z (decay k_u), then a with
    z as its impulse, drawing in that order (both by the spec's trace step)."""
    got = tuple(layer_trace_step(z, a, impulse, k_u, k, stochastic, bits, rng))
    if k_u == 0:
        a2, r2, d, sat = ref_trace(a, impulse, k, stochastic, bits, rng)
        assert got == (z, a2, r2, d, sat)
    else:
        z2, r1, d1, s1 = ref_trace(z, impulse, k_u, stochastic, bits, rng)
        a2, r2, d2, s2 = ref_trace(a, z2, k, stochastic, bits, r1)
        assert got == (z2, a2, r2, d1 + d2, s1 + s2)
    assert trace_updates(k_u) == (2 if k_u else 1)


# ---- errors -------------------------------------------------------------------------------

@given(st.integers(-(2 ** 24), 2 ** 24), st.integers(0, 2 ** 8), st.integers(0, 20), st.integers(4, 16))
def test_error_to_lower_matches_the_spec(d, sg, shift, bits):
    """chip-model.md §4: g = sat(round_nearest(d sg / 2^shift), bits) (ties up)."""
    e = ref.round_nearest(d * sg, shift)
    assert tuple(error_to_lower(d, sg, shift, bits)) == (ref.sat(e, bits), int(ref.sat(e, bits) != e))


@given(st.integers(-(2 ** 20), 2 ** 20), st.integers(1, 2 ** 16), st.integers(1, 2 ** 12), st.booleans(), st.booleans())
def test_surrogate_at_matches_the_spec(v, thr, c_sg, spiked, spike_op):
    """surrogate.py: bin ((v - thr) c) >> 24 + LUT_SIZE / 2 of the table, 0 outside; spike operator: S."""
    lut = np.arange(1, 65, dtype=np.int64) * 3
    idx = ((v - thr) * c_sg) // 2 ** 24 + 32
    want = (16 if spiked else 0) if spike_op else (int(lut[idx]) if 0 <= idx < 64 else 0)
    assert surrogate_at(v, spiked, thr, c_sg, lut, spike_op, 16) == want


# ---- weight writes ----------------------------------------------------------------------------

@given(st.integers(-(2 ** 20), 2 ** 20), st.integers(-(2 ** 20), 2 ** 20), st.integers(2, 24))
def test_add_clip(w, d, bits):
    assert tuple(add_clip(w, d, bits)) == (ref.sat(w + d, bits), int(ref.sat(w + d, bits) != w + d))


@given(st.integers(-128, 127), st.integers(-300, 300), st.integers(0, 6))
def test_write_weight_with_and_without_shadow(w, d, shadow):
    """chip-model.md §5: the learned value saturates at its width; with shadow bits the inference
    weight is shadow >> extra (floor)."""
    bits = 8 + shadow
    W = np.array([w >> shadow if shadow else w], np.int32)
    WS = np.array([w], np.int32) if shadow else np.zeros(0, np.int32)
    old_inf = int(W[0])
    changed, satd, dnz = write_weight(W, WS, 0, d, bits, shadow)
    new = ref.sat(w + d, bits)
    assert (changed, satd) == (int(new != w), int(new != w + d))
    if shadow:
        assert WS[0] == new and W[0] == new >> shadow
    else:
        assert W[0] == new
    assert dnz == int(W[0] != 0) - int(old_inf != 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 11), st.integers(-300, 300)), min_size=1, max_size=12, unique_by=lambda t: t[0]),
       st.integers(0, 6), st.integers(0, 2 ** 31))
def test_write_row_equals_one_write_per_update(updates, shadow, seed):
    """update.write_row (branch-free, one row) = write_weight for each non-zero update."""
    from neurochip.kernels.update import write_row

    rng = np.random.default_rng(seed)
    bits = 8 + shadow
    WS = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), 16).astype(np.int32) if shadow else np.zeros(0, np.int32)
    W = (WS >> shadow).astype(np.int32) if shadow else rng.integers(-128, 128, 16).astype(np.int32)
    W2, WS2 = W.copy(), WS.copy()
    idx = np.array([i for i, _ in updates], np.int64)
    d = np.array([x for _, x in updates], np.int64)
    got = write_row(W, WS, 4, idx, d, len(updates), bits, shadow)
    want = [0, 0, 0, 0]
    for i, x in updates:
        if x != 0:
            c, sa, dn = write_weight(W2, WS2, 4 + i, x, bits, shadow)
            want = [want[0] + 1, want[1] + c, want[2] + sa, want[3] + dn]
    assert list(got) == want
    np.testing.assert_array_equal(W, W2)
    np.testing.assert_array_equal(WS, WS2)


def test_scramble_multipliers_are_odd_and_permute_words():
    """chip-model.md §5: M_i = (2i + 1) 0x9E3779B1 mod 2^32 is odd, so u -> u M_i mod 2^32 is a
    bijection of 32-bit words (each synapse's random number as uniform as its own draw)."""
    for i in range(300):
        m = scramble_multiplier(i)
        assert m == ((2 * i + 1) * SCRAMBLE) % 2 ** 32 and m % 2 == 1
    m = scramble_multiplier(7)
    sample = np.arange(1, 1 << 16, dtype=np.uint64)
    assert len(set(((sample * np.uint64(m)) & np.uint64(0xFFFFFFFF)).tolist())) == len(sample)


# ---- typed parameters under numba's cache ----------------------------------------------------

def test_namedtuple_kernels_compile_with_cache(tmp_path):
    """A kernel taking NamedTuples (lif_step with LifParams; run_int with the state tuples) is
    compiled once and loaded from numba's on-disk cache by the next process."""
    code = textwrap.dedent("""
        import numpy as np
        from neurochip.kernels.lif import lif_step
        from neurochip.kernels.ottt_int import run_int
        from neurochip.kernels.state import LifParams
        from neurochip.engine import Engine
        from neurochip.network import NetworkConfig
        from neurochip.profile import load_profile
        p = LifParams(thr=10, leak_shift=1, leak_mode=0, weight_exp=0, in_shift=0, cur_bits=16,
                      cur_wrap=True, mem_bits=16, reset_sub=False, ge=False, fires=True)
        assert tuple(lif_step(11, 0, 0, p)) == (1, 0, 11, 0, 0)
        eng = Engine(NetworkConfig(sizes=(2, 2, 2), timesteps=1), load_profile("loihi"))
        eng.run(eng.prepare(np.full((1, 2), 0.5)), np.zeros(1, np.int64), np.zeros(1, np.int64), True)
        print(sum(lif_step.stats.cache_hits.values()), sum(run_int.stats.cache_hits.values()))
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT)
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
            for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr[-2000:]
    assert runs[0].stdout.split() == ["0", "0"]              # cold: compiled
    assert runs[1].stdout.split() == ["1", "1"]              # warm: both loaded from the cache
    assert any(f.endswith(".nbc") for _, _, fs in os.walk(tmp_path) for f in fs)


# ---- layers and back ends ------------------------------------------------------------------------

def test_layer_specs_from_sizes():
    import dataclasses

    from neurochip.layers import DENSE, Dense, layers_from_sizes
    from neurochip.network import NetworkConfig

    layers = NetworkConfig(sizes=(4, 3, 2)).layers
    assert layers == (Dense(4, 3), Dense(3, 2)) == layers_from_sizes((4, 3, 2))
    assert layers[0].kind == DENSE and layers[0].weight_shape == (4, 3) and layers[1].n_weights == 6
    with pytest.raises(dataclasses.FrozenInstanceError):
        layers[0].n_in = 5


@pytest.mark.parametrize("precision, rule, name", [("int", "ottt-o", "IntOttt"), ("int", "ottt-a", "IntOttt"),
                                                   ("float", "ottt-o", "FloatOttt"), ("float", "bptt", "Bptt")])
def test_engine_picks_one_back_end(precision, rule, name):
    from neurochip.engine import Engine
    from neurochip.network import NetworkConfig
    from neurochip.profile import load_profile

    eng = Engine(NetworkConfig(sizes=(3, 4, 2), precision=precision, rule=rule), load_profile("loihi"))
    assert type(eng.backend).__name__ == name and eng.is_int == (precision == "int")
    assert eng.W is eng.backend.W                          # the facade passes the arrays through
    w = [m.shape for m in eng.weights()]
    assert w == [layer.weight_shape for layer in eng.cfg.layers]


def test_int32_sums_equal_int64_sums():
    """kernels/dense.py accumulates in int32 only where the bound proves it exact: forcing the
    int64 path everywhere gives bit-identical training."""
    from neurochip.engine import Engine
    from neurochip.kernels import pack
    from neurochip.network import NetworkConfig
    from neurochip.profile import load_profile

    cfg = NetworkConfig(sizes=(16, 24, 5), timesteps=4, seed=3)
    rng = np.random.default_rng(0)
    x, y = rng.random((20, 16)), rng.integers(0, 5, 20)
    out = []
    for force_wide in (False, True):
        eng = Engine(cfg, load_profile("loihi"))
        if force_wide:
            eng.backend._narrow = lambda X: np.zeros(cfg.n_layers, np.bool_)
        else:
            assert eng.backend._narrow(eng.prepare(x)[0]).all()
        p = eng.run(eng.prepare(x), y, np.arange(20), True)
        out.append((p, eng.W.copy(), eng.rng.copy(), eng.ops.copy()))
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
