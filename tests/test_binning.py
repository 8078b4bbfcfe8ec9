"""Binning events onto T chip steps: the numba kernel against a plain-Python reference of the
documented rules, and invariants (hypothesis): counts preserved, spikes = any event, equal-count
shares, flat = map, merged = summed channels, pooling = block sums; options round-trip."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurochip.binning import EventBinning, bin_events, bin_sample
from neurochip.errors import NeurochipError
from neurochip.events import EVENT_DTYPE, EventList


def make_events(rng, n_samples=5, W=6, H=5, P=2, max_events=40, tmax=10_000, allow_empty=False):
    samples = []
    for _ in range(n_samples):
        m = int(rng.integers(0 if allow_empty else 1, max_events + 1))
        ev = np.empty(m, EVENT_DTYPE)
        ev["x"], ev["y"], ev["p"] = rng.integers(0, W, m), rng.integers(0, H, m), rng.integers(0, P, m)
        ev["t"] = np.sort(rng.integers(0, tmax, m))
        samples.append(ev)
    return EventList.from_samples(samples, np.arange(n_samples) % 3, (W, H, P), allow_empty=allow_empty)


def reference(lst: EventList, b: EventBinning):
    """The binning rules of neurochip.binning's docstring, one event at a time in Python."""
    W, H, P = lst.sensor
    f = b.spatial_factor
    C = P if b.polarity == "split" else 1
    out = np.zeros((len(lst), b.timesteps, C, -(-H // f), -(-W // f)), np.int64)
    dropped = 0
    for s in range(len(lst)):
        ev = lst[s]
        n = len(ev)
        if n == 0:
            continue
        t0 = int(ev["t"][0]) if b.origin == "first" else 0
        span = int(ev["t"][-1]) - t0 + 1
        for i, e in enumerate(ev):
            dt = int(e["t"]) - t0
            if b.mode == "time":
                k = dt // b.window_us if b.window_us else dt * b.timesteps // span
            else:
                k = i // b.events_per_step if b.events_per_step else i * b.timesteps // n
            if k >= b.timesteps:
                dropped += 1
                continue
            c = int(e["p"]) if b.polarity == "split" else 0
            cell = (s, k, c, int(e["y"]) // f, int(e["x"]) // f)
            out[cell] = min(out[cell] + 1, b.cap)
    if b.layout == "flat":
        out = out.reshape(len(lst), b.timesteps, -1)
    return out, dropped


CASES = [
    dict(timesteps=4),
    dict(timesteps=7, window_us=1000),
    dict(timesteps=3, window_us=500, origin="zero"),
    dict(timesteps=5, mode="count"),
    dict(timesteps=4, mode="count", events_per_step=6),
    dict(timesteps=6, output="spike"),
    dict(timesteps=4, max_count=2),
    dict(timesteps=4, polarity="merge", spatial_factor=2),
    dict(timesteps=4, layout="flat", spatial_factor=4),
    dict(timesteps=3, max_count=300, mode="count", events_per_step=1),
]


@pytest.mark.parametrize("opts", CASES, ids=[json.dumps(c) for c in CASES])
def test_kernel_matches_reference(opts):
    lst = make_events(np.random.default_rng(0), 8, allow_empty=True)
    b = EventBinning(**opts)
    got = bin_events(lst, b, chunk=3)
    want, dropped = reference(lst, b)
    assert got.x.dtype == b.dtype and got.x.shape == want.shape
    assert np.array_equal(got.x.astype(np.int64), want)
    assert got.dropped == dropped and got.n_events == lst.n_events
    assert got.y.tolist() == lst.labels.tolist()


def test_span_split_into_equal_windows():
    ev = np.zeros(40, EVENT_DTYPE)
    ev["t"] = 1000 + np.arange(40)                 # one event per us over a 40 us span
    x = bin_sample(ev, (1, 1, 1), EventBinning(4, max_count=65535))
    assert x[:, 0, 0, 0].tolist() == [10, 10, 10, 10]
    ev3 = np.zeros(3, EVENT_DTYPE)
    ev3["t"] = [0, 5, 9]                           # span 10: steps 0, 20 // 10, 36 // 10
    assert bin_sample(ev3, (1, 1, 1), EventBinning(4))[:, 0, 0, 0].tolist() == [1, 0, 1, 1]


def test_window_drops_late_events():
    ev = np.zeros(4, EVENT_DTYPE)
    ev["t"] = [100, 150, 1099, 1100]
    x = bin_sample(ev, (1, 1, 1), EventBinning(2, window_us=500))
    assert x[:, 0, 0, 0].tolist() == [2, 1]       # 100,150 -> step 0; 1099 - 100 = 999 -> step 1; 1100 dropped
    z = bin_sample(ev, (1, 1, 1), EventBinning(3, window_us=500, origin="zero"))
    assert z[:, 0, 0, 0].tolist() == [2, 0, 2]


def test_progress_and_out_buffer(tmp_path):
    lst = make_events(np.random.default_rng(2), 7)
    b = EventBinning(4, layout="flat")
    calls = []
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", b.dtype, (7,) + b.sample_shape(lst.sensor))
    res = bin_events(lst, b, progress=lambda d, n: calls.append((d, n)), chunk=3, out=mm)
    assert calls == [(3, 7), (6, 7), (7, 7)]
    assert res.x is mm and np.array_equal(np.load(tmp_path / "x.npy"), bin_events(lst, b).x)
    with pytest.raises(NeurochipError, match="out must have shape"):
        bin_events(lst, b, out=np.zeros((7, 4), b.dtype))


def test_unit_interval():
    lst = make_events(np.random.default_rng(3), 3)
    r = bin_events(lst, EventBinning(2, max_count=4))
    u = r.unit_interval()
    assert u.dtype == np.float32 and u.max() <= 1 and np.allclose(u * 4, r.x)


def test_options_roundtrip_and_errors():
    b = EventBinning(20, mode="count", events_per_step=50, output="spike", polarity="merge", spatial_factor=2,
                     layout="flat", origin="zero", max_count=9)
    d = json.loads(json.dumps(b.to_dict()))
    assert EventBinning.from_dict(d) == b
    assert b.sample_shape((34, 34, 2)) == (20, 17 * 17)
    assert EventBinning(8).sample_shape((700, 1, 1)) == (8, 1, 1, 700)
    for kw, match in [(dict(timesteps=0), "timesteps must be a positive"),
                      (dict(timesteps=4, mode="space"), "mode must be one of"),
                      (dict(timesteps=4, window_us=-1), "window_us must be"),
                      (dict(timesteps=4, events_per_step=3), "events_per_step belongs to mode 'count'"),
                      (dict(timesteps=4, mode="count", window_us=3), "window_us belongs to mode 'time'"),
                      (dict(timesteps=4, max_count=70000), "at most 65535"),
                      (dict(timesteps=4, layout="cube"), "layout must be one of")]:
        with pytest.raises(NeurochipError, match=match):
            EventBinning(**kw)
    with pytest.raises(NeurochipError, match="unknown option"):
        EventBinning.from_dict({"timesteps": 3, "bins": 2})
    with pytest.raises(NeurochipError, match="timesteps missing"):
        EventBinning.from_dict({})


# ------------------------------------------------------------------------------ invariants

@st.composite
def event_lists(draw):
    seed = draw(st.integers(0, 2 ** 32 - 1))
    n = draw(st.integers(1, 4))
    return make_events(np.random.default_rng(seed), n, W=draw(st.integers(1, 7)), H=draw(st.integers(1, 5)),
                       P=draw(st.integers(1, 2)), max_events=draw(st.integers(1, 80)),
                       tmax=draw(st.integers(1, 10 ** 7)))


@settings(max_examples=60, deadline=None)
@given(lst=event_lists(), T=st.integers(1, 12), mode=st.sampled_from(MODES_ := ("time", "count")))
def test_total_count_preserved_and_spikes(lst, T, mode):
    b = EventBinning(T, mode=mode, max_count=65535)
    r = bin_events(lst, b)
    assert r.dropped == 0
    per_sample = np.diff(lst.offsets)
    assert r.x.reshape(len(lst), -1).sum(axis=1).tolist() == per_sample.tolist()
    s = bin_events(lst, EventBinning(T, mode=mode, output="spike"))
    assert np.array_equal(s.x, (r.x > 0).astype(np.uint8))
    flat = bin_events(lst, EventBinning(T, mode=mode, max_count=65535, layout="flat"))
    assert np.array_equal(flat.x, r.x.reshape(flat.x.shape))
    merged = bin_events(lst, EventBinning(T, mode=mode, max_count=65535, polarity="merge"))
    assert np.array_equal(merged.x[:, :, 0], r.x.sum(axis=2))


@settings(max_examples=40, deadline=None)
@given(lst=event_lists(), T=st.integers(1, 12))
def test_equal_count_shares(lst, T):
    r = bin_events(lst, EventBinning(T, mode="count", max_count=65535))
    per_step = r.x.reshape(len(lst), T, -1).sum(axis=2)
    for s, n in enumerate(np.diff(lst.offsets)):
        want = [len(range(-(-k * n // T), -(-(k + 1) * n // T))) for k in range(T)]
        assert per_step[s].tolist() == want and max(want) - min(want) <= 1


@settings(max_examples=40, deadline=None)
@given(lst=event_lists(), T=st.integers(1, 8), f=st.integers(1, 4))
def test_pooling_is_block_sum(lst, T, f):
    base = bin_events(lst, EventBinning(T, max_count=65535)).x.astype(np.int64)
    pooled = bin_events(lst, EventBinning(T, max_count=65535, spatial_factor=f)).x
    n, _, C, H, W = base.shape
    pad = np.zeros((n, T, C, -(-H // f) * f, -(-W // f) * f), np.int64)
    pad[..., :H, :W] = base
    want = pad.reshape(n, T, C, pad.shape[3] // f, f, pad.shape[4] // f, f).sum(axis=(4, 6))
    assert np.array_equal(pooled, want)


@settings(max_examples=40, deadline=None)
@given(lst=event_lists(), T=st.integers(1, 8), w=st.integers(1, 10 ** 6))
def test_window_drop_count(lst, T, w):
    r = bin_events(lst, EventBinning(T, window_us=w, max_count=65535))
    late = sum(int(((lst[s]["t"] - lst[s]["t"][0]) >= T * w).sum()) for s in range(len(lst)))
    assert r.dropped == late and int(r.x.sum()) + late == lst.n_events


def test_binned_dataset_is_a_static_dataset():
    from neurochip.binning import binned_dataset
    from neurochip.data import Dataset

    rng = np.random.default_rng(5)
    tr, te = make_events(rng, 6), make_events(rng, 4)
    b = EventBinning(3, max_count=4)
    btr, bte = bin_events(tr, b), bin_events(te, b)
    ds = binned_dataset(btr, bte, "ev")
    assert isinstance(ds, Dataset) and ds.name == "ev" and ds.shape == (3, 2, 5, 6)
    assert ds.x_train.shape == (6, 3 * 2 * 5 * 6) and ds.x_train.dtype == np.float32
    assert np.array_equal(ds.x_train, btr.x.reshape(6, -1) / np.float32(4))
    assert ds.y_test.tolist() == te.labels.tolist() and ds.n_classes == 3
    with pytest.raises(NeurochipError, match="differ in binning"):
        binned_dataset(btr, bin_events(te, EventBinning(2)))
