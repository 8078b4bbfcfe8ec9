"""The neuron update in int32 lanes (kernels/lif32.py) against the int64 one (kernels/lif.py
lif_step) and the 32-bit shifts against their pure-Python models (tests/reference.py)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurochip import fixedpoint as fx
from neurochip.counters import S_CURRENT, S_MEMBRANE
from neurochip.engine import Engine
from neurochip.kernels.lif import lif_step
from neurochip.kernels.lif import lif_input
from neurochip.kernels.lif32 import lif32_exact, lif32_input_exact, lif32_of, lif32_row, lif32_table, lif_layer32
from neurochip.kernels.state import LifLayers, LifParams
from neurochip.lava import export as lx
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile

from . import reference as ref

U = np.uint64
I32 = st.integers(-(2 ** 31), 2 ** 31 - 1)
#: the hardware profiles with a neuron model (the others are pricing only)
NEURON_PROFILES = ["generic", "loihi"]


@settings(max_examples=600, deadline=None)
@given(I32, st.integers(0, 31))
def test_shifts_match_the_llvm_i32_model(x, k):
    assert fx.shl32(x, k) == ref.shl32(x, k)
    assert fx.ashr32(x, k) == ref.ashr32(x, k)


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2 ** 40), 2 ** 40), st.integers(0, 100))
def test_shifts_truncate_their_operands_to_32_bits(x, k):
    """x and k are cut to their low 32 bits and the amount to k mod 32 (LLVM: larger is poison)."""
    assert fx.shl32(x, k) == ref.shl32(x, k)
    assert fx.ashr32(x, k) == ref.ashr32(x, k)


def _layers(p: LifParams) -> LifLayers:
    """One-layer LifLayers holding LifParams p (lif32_exact reads the layer's arrays)."""
    return LifLayers(thr=p.thr, leak_mode=p.leak_mode, in_shift=p.in_shift, cur_bits=p.cur_bits, cur_wrap=p.cur_wrap,
                     mem_bits=p.mem_bits, reset_sub=p.reset_sub, ge=p.ge, spiking_out=p.fires,
                     leak_shift=np.array([p.leak_shift]), weight_exp=np.array([p.weight_exp]),
                     cur_leak=np.zeros(1, np.int64))


def _params(profile: str, leak_shift, leak_mode, weight_exp, wrap, reset_sub, ge, fires) -> LifParams:
    n = load_profile(profile).neuron
    return LifParams(thr=n.threshold_membrane, leak_shift=leak_shift, leak_mode=leak_mode, weight_exp=weight_exp,
                     in_shift=n.input_shift, cur_bits=n.current_bits, cur_wrap=wrap, mem_bits=n.membrane_bits,
                     reset_sub=reset_sub, ge=ge, fires=fires)


def _largest(f, hi):
    """The largest x in [0, hi] with f(x) (f monotone: true up to some point), or -1."""
    if not f(0):
        return -1
    lo = 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if f(mid) else (lo, mid - 1)
    return lo


def _check_layer(p: LifParams, cmax: int, bmax: int, seed: int, dtype, exact_u: bool = False) -> None:
    """lif_layer32 on n neurons (the extremes first, then random values within the bounds) equals
    lif_step neuron by neuron: spike, membrane after and before the reset, wrap and clip counts."""
    rng = np.random.default_rng(seed)
    n = 37
    vmax = 2 ** (p.mem_bits - 1) - 1
    c = rng.integers(-cmax, cmax + 1, n)
    v = rng.integers(-vmax, vmax + 1, n)
    b = rng.integers(-bmax, bmax + 1, n)
    ext = list(itertools.product((-cmax, 0, cmax), (-vmax, 0, vmax), (-bmax, bmax)))
    for i, (ci, vi, bi) in enumerate(ext[:n]):
        if rng.random() < 0.5:
            c[i], v[i], b[i] = ci, vi, bi
    v[-4:] = (p.thr - 1, p.thr, p.thr + 1, -p.thr) if p.thr < vmax else v[-4:]
    want = [lif_step(int(c[i]), int(v[i]), int(b[i]), p) for i in range(n)]
    # 20 sentinels after the n neurons: the update reads none (they would wrap, clip and spike) and
    # writes none (its last 16-lane pass is masked to the 5 neurons left)
    big = np.iinfo(dtype).max
    c_a, v_a, b_a = (np.concatenate([a, np.full(20, big)]).astype(t) for a, t in ((c, dtype), (v, dtype), (b, np.int32)))
    vp, s = np.full(n + 23, 7, dtype), np.full(n + 23, 7, dtype)
    got = lif_layer32(lif32_of(p), U(n), c_a, U(0), v_a, U(0), b_a, U(0), vp, U(3), s, U(3), exact_u)
    assert [int(x) for x in s[3:n + 3]] == [w[0] for w in want]
    assert [int(x) for x in v_a[:n]] == [w[1] for w in want]
    assert [int(x) for x in vp[3:n + 3]] == [w[2] for w in want]
    assert tuple(int(g) for g in got) == (sum(w[3] for w in want), sum(w[4] for w in want))
    assert (v_a[n:] == big).all() and (vp[n + 3:] == 7).all() and (s[n + 3:] == 7).all()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(NEURON_PROFILES), st.integers(0, 12), st.integers(0, 1), st.integers(-8, 7),
       st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.floats(0, 1), st.floats(0, 1),
       st.integers(0, 2 ** 32), st.sampled_from([np.int32, np.int64]))
def test_layer_update_equals_lif_step_within_the_bound(profile, k, leak_mode, e, wrap, reset_sub, ge, fires,
                                                       fc, fb, seed, dtype):
    """Every mode combination of both neuron profiles, sums and biases anywhere within the bound
    that lif32_exact accepts (up to its limit): bit-identical to the int64 update."""
    p = _params(profile, k, leak_mode, e, wrap, reset_sub, ge, fires)
    lifs = _layers(p)
    bmax = _largest(lambda b: lif32_exact(0, b, lifs, 0), 2 ** 31)
    if bmax < 0:
        return
    bmax = int(fb * bmax)
    cmax = _largest(lambda c: lif32_exact(c, bmax, lifs, 0), 2 ** 31)
    assert cmax >= 0
    _check_layer(p, int(round(fc * cmax)), bmax, seed, dtype)
    _check_layer(p, cmax, bmax, seed + 1, dtype)            # at the limit


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(NEURON_PROFILES), st.integers(0, 12), st.integers(0, 1), st.integers(-8, 7),
       st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.floats(0, 1), st.floats(0, 1),
       st.integers(0, 2 ** 32))
def test_update_without_wrap_steps_equals_lif_step_within_the_input_bound(profile, k, leak_mode, e, wrap, reset_sub,
                                                                        ge, fires, narrow_u, fc, fb, seed):
    """exact_u (no wrap or saturation steps) where lif32_input_exact proves no input needs them:
    bit-identical to the int64 update, at the largest sums the bound accepts and below, with a
    zero count of wrapped/saturated inputs. ``narrow_u`` makes the current width the binding
    limit (12 bits) instead of the int32 one."""
    p = _params(profile, k, leak_mode, e, wrap, reset_sub, ge, fires)
    if narrow_u:
        p = p._replace(cur_bits=12)
    lifs = _layers(p)
    bmax = _largest(lambda b: lif32_exact(0, b, lifs, 0), 2 ** 31)
    if bmax < 0:
        return
    bmax = int(fb * bmax)
    cmax = _largest(lambda c: lif32_exact(c, bmax, lifs, 0) and lif32_input_exact(c, lifs, 0), 2 ** 31)
    if cmax < 0:
        return
    _check_layer(p, int(round(fc * cmax)), bmax, seed, np.int32, exact_u=True)
    _check_layer(p, cmax, bmax, seed + 1, np.int32, exact_u=True)


@pytest.mark.parametrize("profile", NEURON_PROFILES)
@pytest.mark.parametrize("wrap", [True, False])
@pytest.mark.parametrize("e", [-3, 0, 2])
def test_input_bound_is_the_first_sum_that_wraps_or_saturates(profile, wrap, e):
    """lif32_input_exact accepts cmax exactly when neither -cmax nor cmax changes in lif_input
    (kernels/lif.py, the int64 reference), and rejects cmax + 1 because -(cmax + 1) does change
    (Lava's wrap at u <= -2^(cur_bits - 1)) or, saturating, one past it does."""
    p = _params(profile, 1, 1, e, wrap, False, False, True)._replace(cur_bits=16)
    lifs = _layers(p)
    cmax = _largest(lambda c: lif32_input_exact(c, lifs, 0), 2 ** 31)
    assert cmax > 0
    assert lif_input(cmax, p)[1] == 0 and lif_input(-cmax, p)[1] == 0
    worst = -(cmax + 1) - (0 if wrap else (1 << max(-e, 0)))
    assert lif_input(worst, p)[1] == 1
    assert not lif32_input_exact(-1, lifs, 0) and not lif32_input_exact(2 ** 31, lifs, 0)


def test_table_rows_are_the_layers_parameters():
    """lif32_table / lif32_row: the Lif32 of each layer as lif32_of(lif_of(...)) builds it, the
    readout's (an integrator here) included."""
    eng = _engine("loihi", "rate", 0, sizes=(6, 5, 4, 3))
    lifs = eng.backend.kernel_params()[1]
    lifs = lifs._replace(leak_shift=np.array([1, 5, 9]), weight_exp=np.array([-2, 0, 3]), spiking_out=False)
    P = lif32_table(lifs, 3)
    for l in range(3):
        lif = LifParams(lifs.thr, int(lifs.leak_shift[l]), lifs.leak_mode, int(lifs.weight_exp[l]), lifs.in_shift,
                        lifs.cur_bits, lifs.cur_wrap, lifs.mem_bits, lifs.reset_sub, lifs.ge, l < 2)
        assert tuple(int(x) for x in lif32_row(P, l)) == tuple(int(x) for x in lif32_of(lif))
    assert lif32_row(P, 2).thr_gt == 2 ** 31 - 1 and lif32_row(P, 1).thr_gt < 2 ** 31 - 1


@pytest.mark.parametrize("profile", NEURON_PROFILES)
def test_every_mode_combination_at_the_limit(profile):
    """The same, exhaustively over the modes, at the largest sums and biases the bound allows."""
    for leak_mode, wrap, reset_sub, ge, fires in itertools.product((0, 1), *([(False, True)] * 4)):
        for k, e in ((0, 0), (1, -3), (12, 7)):
            p = _params(profile, k, leak_mode, e, wrap, reset_sub, ge, fires)
            lifs = _layers(p)
            bmax = 4096
            cmax = _largest(lambda c: lif32_exact(c, bmax, lifs, 0), 2 ** 31)
            _check_layer(p, cmax, bmax, k + 13 * (e + 8), np.int32)


@pytest.mark.parametrize("profile", NEURON_PROFILES)
def test_compare_and_reset_at_the_threshold(profile):
    """No memory (k = 0), no input: the membrane is the bias, thr - 1, thr, thr + 1: '>' and '>=',
    reset to zero and by subtraction, an integrator, as lif_step."""
    for wrap, reset_sub, ge, fires in itertools.product(*([(False, True)] * 4)):
        p = _params(profile, 0, 1, 0, wrap, reset_sub, ge, fires)
        b = np.array([p.thr - 1, p.thr, p.thr + 1, -p.thr, 0], np.int32)
        n = b.shape[0]
        v, vp, s = np.full(n, 77, np.int32), np.zeros(n, np.int32), np.zeros(n, np.int32)
        lif_layer32(lif32_of(p), U(n), np.zeros(n, np.int32), U(0), v, U(0), b, U(0), vp, U(0), s, U(0))
        want = [lif_step(0, 77, int(bi), p) for bi in b]
        assert (s.tolist(), v.tolist(), vp.tolist()) == ([w[0] for w in want], [w[1] for w in want], [w[2] for w in want])


def test_bound_rejects_what_does_not_fit():
    """The bound's terms: the sum read as int32, the shifted sum, Lava's wrap (toward zero: no
    larger after it), saturation, the membrane width, the bias."""
    p = _params("loihi", 1, 1, 0, True, False, False, True)
    lifs = _layers(p)
    # loihi: |u| <= cmax 2^6; membrane 2^23 - 1
    room = 2 ** 31 - 1 - (2 ** 23 - 1)
    assert lif32_exact(room >> 6, 0, lifs, 0) and not lif32_exact((room >> 6) + 1, 0, lifs, 0)
    assert lif32_exact(0, room, lifs, 0) and not lif32_exact(0, room + 1, lifs, 0)
    assert lif32_exact(room >> 7, room >> 1, lifs, 0) and not lif32_exact(room >> 7, (room >> 1) + 64, lifs, 0)
    # saturation at 24 bits caps |u| at 2^23 whatever the sum (up to the shifted sum's own int32 limit)
    sat = _layers(p._replace(cur_wrap=False))
    assert lif32_exact((2 ** 31 - 1) >> 6, room - 2 ** 23, sat, 0) and not lif32_exact(2 ** 25, 0, sat, 0)
    assert not lif32_exact(0, 0, _layers(p._replace(mem_bits=32)), 0)            # v + 2^k - 1 overflows
    assert not lif32_exact(0, 0, _layers(p._replace(cur_bits=31)), 0)            # the wrap adds 2^31
    assert lif32_exact(0, 0, _layers(p._replace(cur_bits=31, cur_wrap=False)), 0)  # saturating: no add
    assert not lif32_exact(2 ** 31, 0, _layers(p._replace(in_shift=0)), 0)
    assert lif32_exact(2 ** 31 - 1, 0, _layers(p._replace(in_shift=0, cur_wrap=False)), 0)
    assert not lif32_exact(-1, 0, lifs, 0) and not lif32_exact(0, 1 << 50, lifs, 0)
    # a negative exponent shifts the sum right first: ceil(cmax / 2^3)
    q = _layers(p._replace(weight_exp=-3))
    assert lif32_exact(((room >> 6) << 3), 0, q, 0) and not lif32_exact(((room >> 6) << 3) + 1, 0, q, 0)


def _engine(profile, encoder, bias, modes=None, sizes=(20, 24, 5)):
    prof = load_profile(profile)
    if modes:
        prof = prof.with_overrides(neuron=modes)
    cfg = NetworkConfig(sizes=sizes, timesteps=6, encoder=encoder, readout="spiking", loss="mse",
                        init_gain=6.0, seed=4)
    eng = Engine(cfg, prof)
    eng.B[:] = np.random.default_rng(2).integers(-bias, bias + 1, eng.B.shape[0])
    return eng


def _sum_bounds(eng, in_max):
    """lif_forward's bound of each layer's weighted sums: max |input| x max column sum of |W|."""
    out = []
    for l, w in enumerate(eng.weights()):
        out.append(int(np.abs(w.astype(np.int64)).sum(axis=0).max()) * (in_max if l == 0 else 1))
    return out


def _lif_forward_vs_run_int(eng, x, y, spikes=True):
    """Run samples x through lif_forward (lava/export.reference_run) and through run_int (int64
    sums and update, kernels/dense.py), and compare predictions, membranes at the end, wrap and
    clip counts and, with ``spikes``, the spikes at the end. Returns (R, reference record)."""
    n = len(y)
    xin = eng.prepare(x)
    R = lx.input_raster(eng, xin, np.arange(n))
    rec = lx.reference_run(eng, R)
    sat0 = eng.sat.copy()
    p = eng.run(xin, y, np.arange(n), False)
    n0 = eng.cfg.sizes[0]
    assert np.array_equal(p, rec.preds)
    assert np.array_equal(eng.v[n0:], np.concatenate([v[-1] for v in rec.v]))
    if spikes:
        assert np.array_equal(eng.backend._scratch[0][n0:], np.concatenate([s[-1] for s in rec.spikes]))
    assert np.array_equal((eng.sat - sat0)[:, [S_CURRENT, S_MEMBRANE]], rec.events)
    return R, rec


def test_bench_network_takes_the_int32_lanes():
    """scripts/bench_vs_lava.py's 64-128-10 loihi network (spike input): both layers within the bound."""
    eng = _engine("loihi", "rate", 0, sizes=(64, 128, 10))
    lifs = eng.backend.kernel_params()[1]
    assert all(lif32_exact(c, 0, lifs, l) for l, c in enumerate(_sum_bounds(eng, 1)))


MODES = [{}, {"leak_rounding": "floor", "reset": "subtract", "compare": ">="},
         {"current_overflow": "clip", "leak_shift": 3}, {"leak_rounding": "toward_zero", "current_overflow": "wrap",
                                                         "reset": "zero", "compare": ">", "leak_shift": 0}]


@pytest.mark.parametrize("profile", NEURON_PROFILES)
@pytest.mark.parametrize("modes", range(len(MODES)))
def test_lif_forward_int32_lanes_equal_run_int(profile, modes):
    """lif_forward, whose layers take the int32 lanes here, against run_int (int64 update, kernels/
    dense.py): predictions, membranes and spikes at the end, wrap and clip counts."""
    rng = np.random.default_rng([modes, len(profile)])
    x = rng.random((9, 20)) * (rng.random((9, 20)) < 0.8)
    y = rng.integers(0, 5, 9)
    eng = _engine(profile, "rate" if modes % 2 else "direct", 3000, MODES[modes])
    lifs = eng.backend.kernel_params()[1]
    R, rec = _lif_forward_vs_run_int(eng, x, y)
    assert all(lif32_exact(c, 3000, lifs, l) for l, c in enumerate(_sum_bounds(eng, int(np.abs(R).max()))))
    assert sum(int(s.sum()) for s in rec.spikes) > 0


@pytest.mark.parametrize("npost", [10, 20])                 # rows of one and of two 16-lane vectors
@pytest.mark.parametrize("col", [2 ** 15 - 1, 2 ** 15, 2 ** 15 + 1000])
def test_lif_forward_int16_sums_at_their_bound(npost, col):
    """lif_forward sums a spiking layer in int16 lanes only where max |input| x the largest column
    sum of |W| < 2^15. Every one of 300 hidden neurons fires at every step (a large bias) and the
    next layer's weights make column sums of exactly ``col`` (positive and negative columns), so its
    weighted sums reach +-col: against run_int (int64 sums) at, just past and well past the int16
    limit, for rows of one vector (10 neurons) and of two (20)."""
    eng = _engine("generic", "direct", 0, sizes=(4, 300, npost))
    lay = eng.lay
    W1 = np.zeros((300, npost), np.int64)
    for i in range(npost):
        sign = 1 if i % 2 == 0 else -1
        left = col - (i % 3)                   # columns of col, col - 1, col - 2
        for j in range(300):
            w = min(127, left)
            W1[j, i] = sign * w
            left -= w
        assert left == 0
    eng.W[lay.woff[1]: lay.woff[1] + 300 * npost] = W1.reshape(-1)
    eng.W[lay.woff[0]: lay.woff[0] + 4 * 300] = 0
    eng.B[:300] = 2 ** 20                      # hidden: fires at every step
    eng.B[300:] = 0
    _, rec = _lif_forward_vs_run_int(eng, np.full((3, 4), 0.5), np.zeros(3, np.int64), spikes=False)
    assert rec.spikes[0].all()                 # every hidden neuron, every step
    assert np.array_equal(rec.v[1][-1], eng.v[eng.cfg.sizes[0] + 300:])


@pytest.mark.parametrize("sizes", [(70, 37, 10), (130, 64, 17), (16, 16, 16), (200, 100, 3)])
def test_lif_forward_int16_vectors_equal_run_int(sizes):
    """The explicit-vector int16 path of lif_forward (spiking inputs found as the set bits of 64-input
    words, weight rows padded to whole 16-lane vectors) at sizes that are not multiples of 16 or 64
    (a tail in the last word, a padded last vector, 1-4 words, 1-7 vectors per row) with sparse random
    spikes: predictions, membranes, spikes and counts equal run_int's (int64 sums)."""
    rng = np.random.default_rng(sum(sizes))
    n = 12
    x = rng.random((n, sizes[0])) * (rng.random((n, sizes[0])) < 0.7)
    y = rng.integers(0, sizes[-1], n)
    eng = _engine("loihi", "rate", 200, sizes=sizes)
    assert all(c < 2 ** 15 for c in _sum_bounds(eng, 1))        # both layers take the int16 path
    _, rec = _lif_forward_vs_run_int(eng, x, y)
    hidden = rec.spikes[0].sum(axis=1)
    assert 0 < hidden.min() and hidden.max() < sizes[1]           # sparse: some, never all, per step


def test_lif_forward_int16_sums_feed_the_int64_update():
    """With 32-bit membranes the int32 update is not exact (lif32_exact fails), so lif_forward
    updates in int64 (lif_step) from the int16 path's sums: against run_int."""
    rng = np.random.default_rng(5)
    sizes = (70, 37, 10)
    x = rng.random((8, sizes[0])) * (rng.random((8, sizes[0])) < 0.7)
    y = rng.integers(0, sizes[-1], 8)
    eng = _engine("loihi", "rate", 200, {"membrane_bits": 32}, sizes=sizes)
    lifs = eng.backend.kernel_params()[1]
    bounds = _sum_bounds(eng, 1)
    assert all(c < 2 ** 15 for c in bounds) and not any(lif32_exact(c, 200, lifs, l) for l, c in enumerate(bounds))
    _, rec = _lif_forward_vs_run_int(eng, x, y, spikes=False)
    assert rec.spikes[0].sum() > 0 and rec.spikes[1].sum() > 0
