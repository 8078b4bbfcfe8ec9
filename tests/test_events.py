"""Event readers: SHD/SSC HDF5, N-MNIST/N-Caltech101 binaries in class folders, event NPZ; every
fixture is written here in exactly the published layout; every bad input is one NeurochipError
line naming the file and the sample."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from neurochip.binning import EventBinning, bin_events
from neurochip.errors import NeurochipError
from neurochip.events import (EVENT_DTYPE, EventList, H5Spikes, decode_bin, encode_bin, load_event_folder,
                              load_event_npz, load_nmnist, load_shd, open_events, read_bin_events,
                              save_event_npz, write_shd)


def one_line(excinfo):
    msg = str(excinfo.value)
    assert "\n" not in msg
    return msg


def shd_samples(n=6, seed=0, units=700):
    rng = np.random.default_rng(seed)
    times, unit_ids = [], []
    for _ in range(n):
        m = int(rng.integers(1, 40))
        times.append(np.sort(rng.random(m) * 0.9))
        unit_ids.append(rng.integers(0, units, m))
    return times, unit_ids, rng.integers(0, 20, n)


def write_shd_raw(path, times, units, labels, times_dtype=np.float16, with_labels=True):
    """The SHD file layout written with h5py directly (independent of events.write_shd)."""
    with h5py.File(path, "w") as f:
        n = len(times)
        f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.dtype(times_dtype)))
        f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.dtype(np.uint16)))
        for i in range(n):
            f["spikes/times"][i] = np.asarray(times[i], times_dtype)
            f["spikes/units"][i] = np.asarray(units[i], np.uint16)
        if with_labels:
            lab = np.asarray(labels)
            f.create_dataset("labels", data=lab if lab.min(initial=0) < 0 else lab.astype(np.uint16))
        f.create_dataset("extra/keys", data=np.array([f"w{i}".encode() for i in range(20)]))
        f.create_dataset("extra/speaker", data=np.zeros(n, np.uint16))
    return path


# ----------------------------------------------------------------------------------- SHD / SSC

@pytest.mark.parametrize("tdt", [np.float16, np.float32, np.float64])
def test_shd_roundtrip(tmp_path, tdt):
    times, units, labels = shd_samples()
    p = write_shd_raw(tmp_path / "shd.h5", times, units, labels, tdt)
    src = H5Spikes(p)
    assert len(src) == 6 and src.sensor == (700, 1, 1) and src.classes[:2] == ("w0", "w1")
    assert src.labels.dtype == np.int64 and src.labels.tolist() == labels.tolist()
    seen = []
    lst = src.load(progress=lambda d, n: seen.append((d, n)), chunk=4)
    assert seen == [(4, 6), (6, 6)]
    for i in range(6):
        ev = lst[i]
        want_t = np.rint(np.asarray(times[i], tdt).astype(np.float64) * 1e6).astype(np.int64)
        assert ev.dtype == EVENT_DTYPE
        assert ev["x"].tolist() == list(units[i]) and (ev["y"] == 0).all() and (ev["p"] == 0).all()
        assert ev["t"].tolist() == want_t.tolist()
    assert load_shd(p).n_events == sum(len(t) for t in times)


def test_write_shd_is_the_layout(tmp_path):
    times, units, labels = shd_samples(3)
    p = tmp_path / "w.h5"
    write_shd(p, times, units, labels, keys=["a", "b"])
    with h5py.File(p) as f:
        assert h5py.check_vlen_dtype(f["spikes/times"].dtype) == np.float16
        assert h5py.check_vlen_dtype(f["spikes/units"].dtype) == np.uint16
        assert f["labels"].dtype == np.uint16 and f["labels"].shape == (3,)
        assert np.array_equal(f["spikes/units"][1], units[1])
    assert H5Spikes(p).classes == ("a", "b")


def test_shd_streams_in_chunks(tmp_path, monkeypatch):
    """Binning reads the vlen datasets a chunk at a time, never the whole dataset."""
    times, units, labels = shd_samples(10)
    p = write_shd_raw(tmp_path / "s.h5", times, units, labels)
    reads = []
    orig = h5py.Dataset.__getitem__

    def spy(self, key):
        if self.name in ("/spikes/times", "/spikes/units"):
            reads.append(key)
        return orig(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    b = bin_events(H5Spikes(p), EventBinning(4), chunk=3)
    assert b.n_events == sum(len(t) for t in times)
    assert reads and all(isinstance(k, slice) and k.stop - k.start <= 3 for k in reads)


@pytest.mark.parametrize("case, match", [
    ("unit", "sample 2: event 0 has x = 700, outside the declared sensor size 700x1"),
    ("negative", "sample 1: negative time"),
    ("unsorted", "sample 3: times are not sorted"),
    ("empty", "sample 4: sample has no events"),
    ("nolabels", "missing 'labels'"),
    ("lengths", "sample 0 has 3 spike times but 2 units"),
    ("count", "spikes/times has 6 samples"),
    ("nan", "sample 5 has a NaN or infinite spike time"),
    ("badlabel", "labels must be non-negative"),
])
def test_shd_bad_input(tmp_path, case, match):
    times, units, labels = shd_samples()
    times, units = [np.array(t) for t in times], [np.array(u) for u in units]
    with_labels = True
    if case == "unit":
        units[2][0] = 700
    elif case == "negative":
        times[1][0] = -0.01
    elif case == "unsorted":
        times[3] = np.concatenate([times[3], [0.0]])
        units[3] = np.concatenate([units[3], [1]])
    elif case == "empty":
        times[4], units[4] = np.empty(0), np.empty(0, np.uint16)
    elif case == "nolabels":
        with_labels = False
    elif case == "lengths":
        times[0], units[0] = np.array([0.1, 0.2, 0.3]), np.array([1, 2])
    elif case == "count":
        labels = labels[:5]
    elif case == "nan":
        times[5][-1] = np.nan
    elif case == "badlabel":
        labels = labels.astype(np.int64)
        labels[2] = -1
    p = write_shd_raw(tmp_path / "bad.h5", times, units, labels, with_labels=with_labels)
    with pytest.raises(NeurochipError) as e:
        bin_events(H5Spikes(p), EventBinning(4))
    msg = one_line(e)
    assert str(p) in msg and match in msg


def test_shd_wrong_format(tmp_path):
    p = tmp_path / "x.h5"
    p.write_bytes(b"not hdf5 at all")
    with pytest.raises(NeurochipError, match="not an HDF5 file"):
        H5Spikes(p)
    q = tmp_path / "flat.h5"
    with h5py.File(q, "w") as f:
        f["spikes/times"] = np.zeros(3)
        f["spikes/units"] = np.zeros(3, np.int64)
        f["labels"] = np.zeros(3, np.int64)
    with pytest.raises(NeurochipError, match="variable-length"):
        H5Spikes(q)


# ------------------------------------------------------------------------ N-MNIST / N-Caltech101

def test_bin_record_bit_layout(tmp_path):
    """Hand-made 40-bit records: x, y, then p in bit 7 of byte 2 and a big-endian 23-bit time."""
    raw = bytes([5, 7, 0x80 | 0x01, 0x02, 0x03,      # x 5, y 7, ON, t = 0x010203
                 33, 0, 0x7F, 0xFF, 0xFF])          # x 33, y 0, OFF, t = 2^23 - 1
    p = tmp_path / "00001.bin"
    p.write_bytes(raw)
    ev = read_bin_events(p)
    assert ev["x"].tolist() == [5, 33] and ev["y"].tolist() == [7, 0] and ev["p"].tolist() == [1, 0]
    assert ev["t"].tolist() == [0x010203, (1 << 23) - 1]
    assert encode_bin(ev) == raw


def test_bin_overflow_marker():
    raw = bytes([1, 1, 0, 0, 10]) + bytes([0, 240, 0, 0, 0]) + bytes([2, 2, 0x80, 0, 5])
    ev = decode_bin(raw, "f")
    assert len(ev) == 2 and ev["t"].tolist() == [10, 5 + 8192] and ev["p"].tolist() == [0, 1]


def random_events(rng, n, W=34, H=34, tmax=300_000):
    ev = np.empty(n, EVENT_DTYPE)
    ev["x"], ev["y"], ev["p"] = rng.integers(0, W, n), rng.integers(0, H, n), rng.integers(0, 2, n)
    ev["t"] = np.sort(rng.integers(0, tmax, n))
    return ev


def write_nmnist(root, n_per_class=2, classes=range(10), seed=0):
    rng = np.random.default_rng(seed)
    truth = {}
    for split in ("Train", "Test"):
        for c in classes:
            d = root / split / str(c)
            d.mkdir(parents=True)
            for k in range(n_per_class):
                ev = random_events(rng, int(rng.integers(5, 60)))
                (d / f"{k:05d}.bin").write_bytes(encode_bin(ev))
                truth[(split, c, k)] = ev
    return truth


def test_nmnist_folder(tmp_path):
    truth = write_nmnist(tmp_path, classes=[0, 1, 2, 10])     # 10 sorts after 2 (numeric order)
    seen = []
    tr, te = load_nmnist(tmp_path, progress=lambda d, n: seen.append(n))
    assert tr.classes == ("0", "1", "2", "10") and tr.sensor == (34, 34, 2)
    assert tr.labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3] and len(te) == 8
    assert np.array_equal(tr[7], truth[("Train", 10, 1)]) and np.array_equal(te[0], truth[("Test", 0, 0)])
    assert seen[-1] == 8
    assert isinstance(open_events(tmp_path), tuple)


def test_ncaltech_sensor_and_alpha_classes(tmp_path):
    rng = np.random.default_rng(1)
    for name in ("airplanes", "Faces_easy"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "image_0001.bin").write_bytes(encode_bin(random_events(rng, 30, 240, 180)))
    lst = load_event_folder(tmp_path, "ncaltech101")
    assert lst.classes == ("Faces_easy", "airplanes") and lst.sensor == (240, 180, 2)
    with pytest.raises(NeurochipError, match="image_0001.bin: event 0 has x"):
        ev = random_events(rng, 5, 240, 180)
        ev["x"][0] = 239
        (tmp_path / "airplanes" / "image_0001.bin").write_bytes(encode_bin(ev))
        load_event_folder(tmp_path, "nmnist")


@pytest.mark.parametrize("case, match", [
    ("outside", "event 3 has x = 34, outside the declared sensor size 34x34"),
    ("unsorted", "times are not sorted (event 2"),
    ("empty", "sample has no events"),
    ("truncated", "is not a multiple of 5"),
])
def test_nmnist_bad_input(tmp_path, case, match):
    write_nmnist(tmp_path, 1, classes=[0, 1])
    f = tmp_path / "Train" / "1" / "00000.bin"
    ev = random_events(np.random.default_rng(3), 6)
    if case == "outside":
        ev["x"][3] = 34
    elif case == "unsorted":
        ev["t"][2] = ev["t"][1] - 1 if ev["t"][1] > 0 else ev["t"][1]
        ev["t"][1] = max(ev["t"][1], ev["t"][2] + 1)
    raw = encode_bin(ev)
    f.write_bytes(b"" if case == "empty" else raw[:-2] if case == "truncated" else raw)
    with pytest.raises(NeurochipError) as e:
        load_nmnist(tmp_path)
    msg = one_line(e)
    assert str(f) in msg and match in msg


def test_folder_errors(tmp_path):
    with pytest.raises(NeurochipError, match="event folder not found"):
        load_event_folder(tmp_path / "nope")
    (tmp_path / "0").mkdir()
    with pytest.raises(NeurochipError, match="no event files"):
        load_event_folder(tmp_path)
    with pytest.raises(NeurochipError, match=r"\(Train/ is missing\)"):
        load_nmnist(tmp_path)


# ------------------------------------------------------------------------------------------ NPZ

def test_npz_xytp_tonic_style(tmp_path):
    rng = np.random.default_rng(4)
    samples = [random_events(rng, int(rng.integers(1, 30))) for _ in range(5)]
    ev = np.empty(sum(map(len, samples)), [("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
    cat = np.concatenate(samples)
    ev["x"], ev["y"], ev["t"], ev["p"] = cat["x"], cat["y"], cat["t"], cat["p"].astype(bool)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in samples])])
    p = tmp_path / "ev.npz"
    np.savez(p, events=ev, offsets=offsets, labels=np.arange(5) % 2, sensor_size=np.array([34, 34, 2]))
    lst = load_event_npz(p)
    assert lst.sensor == (34, 34, 2) and lst.labels.tolist() == [0, 1, 0, 1, 0]
    for i in range(5):
        assert np.array_equal(lst[i], samples[i])
    q = tmp_path / "again.npz"
    save_event_npz(q, lst)
    back = load_event_npz(q)
    assert np.array_equal(back.t, lst.t) and np.array_equal(back.x, lst.x) and back.sensor == lst.sensor


def test_npz_unit_t_and_seconds(tmp_path):
    ev = np.zeros(4, [("unit", "<u2"), ("t", "<f8")])
    ev["unit"], ev["t"] = [3, 1, 699, 2], [0.0, 0.001, 0.0015, 0.25]
    p = tmp_path / "u.npz"
    np.savez(p, events=ev, offsets=np.array([0, 3, 4]), labels=np.array([1, 0]))
    lst = load_event_npz(p, sensor="shd", time_scale=1e6)
    assert lst.sensor == (700, 1, 1) and lst[0]["x"].tolist() == [3, 1, 699]
    assert lst[0]["t"].tolist() == [0, 1000, 1500] and lst[1]["t"].tolist() == [250000]
    single = tmp_path / "one.npz"
    np.savez(single, events=ev[:2], label=np.array(4))
    one = load_event_npz(single, sensor=(10, 1, 1))
    assert len(one) == 1 and one.labels.tolist() == [4]
    assert isinstance(open_events(p, sensor="shd"), EventList)


def test_npz_polarity_minus_one():
    from neurochip.events import _fields

    ev = np.zeros(3, [("x", "i4"), ("y", "i4"), ("p", "i1"), ("t", "i8")])
    ev["p"] = [-1, 1, -1]
    assert _fields(ev, "f")["p"].tolist() == [0, 1, 0]


@pytest.mark.parametrize("case, match", [
    ("nolabels", "labels missing"),
    ("fields", "fields x, y, p, t or unit, t"),
    ("offsets", "offsets must be 3 non-decreasing"),
    ("outside", "sample 1: event 0 has y = 5, outside the declared sensor size 4x4"),
    ("negative", "sample 0: negative time"),
    ("notzip", "not an NPZ archive"),
])
def test_npz_bad_input(tmp_path, case, match):
    ev = np.zeros(4, [("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
    ev["t"] = [0, 5, 1, 2]
    d = dict(events=ev, offsets=np.array([0, 2, 4]), labels=np.array([0, 1]), sensor_size=np.array([4, 4, 2]))
    if case == "nolabels":
        del d["labels"]
    elif case == "fields":
        d["events"] = np.zeros(4)
    elif case == "offsets":
        d["offsets"] = np.array([0, 3, 2])
    elif case == "outside":
        ev["y"][2] = 5
    elif case == "negative":
        ev["t"][0] = -3
    p = tmp_path / "bad.npz"
    if case == "notzip":
        p.write_bytes(b"\x93NUMPY not a zip")
    else:
        np.savez(p, **d)
    with pytest.raises(NeurochipError) as e:
        load_event_npz(p)
    msg = one_line(e)
    assert str(p) in msg and match in msg


def test_open_events_unknown(tmp_path):
    p = tmp_path / "x.dat"
    p.write_bytes(b"\x00" * 10)
    with pytest.raises(NeurochipError, match="unknown event format"):
        open_events(p)


def test_chunk_faults_matches_per_sample_check():
    """The vectorised chunk check flags exactly the samples check_events rejects."""
    from neurochip.events import _chunk_faults, check_events

    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 6))
        lens = rng.integers(0, 5, n)
        offsets = np.concatenate([[0], np.cumsum(lens)])
        units = rng.integers(-1, 12, offsets[-1]) if rng.random() < 0.3 else rng.integers(0, 10, offsets[-1])
        t = np.concatenate([np.sort(rng.integers(-1 if rng.random() < 0.2 else 0, 50, k)) for k in lens]
                           + [np.empty(0, np.int64)]).astype(np.int64)
        if len(t) > 1 and rng.random() < 0.3:
            t = rng.permutation(t)
        z = np.zeros(len(t), np.int64)
        want = []
        for k in range(n):
            a, b = offsets[k], offsets[k + 1]
            try:
                check_events(units[a:b], z[a:b], z[a:b], t[a:b], (10, 1, 1), "s")
            except NeurochipError:
                want.append(k)
        assert _chunk_faults(units, t, offsets, 10).tolist() == want


def test_bench_events_runs(tmp_path):
    """scripts/bench_events.py on a small file prints its figures."""
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    res = subprocess.run([sys.executable, os.path.join(root, "scripts", "bench_events.py"), "--samples", "60",
                          "--events", "50", "--timesteps", "10"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "60 samples" in res.stdout and "M events/s" in res.stdout and "peak RSS" in res.stdout


def test_sort_option_orders_instead_of_rejecting(tmp_path):
    times = [np.array([0.3, 0.1, 0.2]), np.array([0.05, 0.06])]
    units = [np.array([7, 8, 9]), np.array([1, 2])]
    p = write_shd_raw(tmp_path / "u.h5", times, units, [0, 1], np.float32)
    with pytest.raises(NeurochipError, match="sample 0: times are not sorted"):
        load_shd(p)
    lst = load_shd(p, sort=True)
    assert lst[0]["x"].tolist() == [8, 9, 7] and lst[0]["t"].tolist() == [100000, 200000, 300000]
    assert lst[1]["x"].tolist() == [1, 2]
    ev = np.zeros(3, [("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
    ev["t"], ev["x"] = [5, 1, 3], [0, 1, 2]
    q = tmp_path / "u.npz"
    np.savez(q, events=ev, label=np.array(0), sensor_size=np.array([4, 4, 2]))
    assert load_event_npz(q, sort=True)[0]["x"].tolist() == [1, 2, 0]
    write_nmnist(tmp_path / "nm", 1, classes=[0, 1])
    f = tmp_path / "nm" / "Test" / "1" / "00000.bin"
    ev2 = read_bin_events(f)[::-1].copy()
    f.write_bytes(encode_bin(ev2))
    tr, te = load_nmnist(tmp_path / "nm", sort=True)
    assert np.array_equal(te[1]["t"], np.sort(ev2["t"]))


def test_progress_printer():
    import io

    from neurochip.events import progress_printer

    buf = io.StringIO()
    rep = progress_printer("SHD", buf, step=0.25)
    for d in (1, 2, 3, 5, 8, 10):
        rep(d, 10)
    assert buf.getvalue().splitlines() == ["SHD: 30% (3/10)", "SHD: 50% (5/10)", "SHD: 80% (8/10)",
                                           "SHD: 100% (10/10)"]


def test_static_loader_points_event_files_to_the_event_readers(tmp_path):
    from neurochip.data import load_file

    times, units, labels = shd_samples(2)
    p = write_shd_raw(tmp_path / "shd.h5", times, units, labels)
    with pytest.raises(NeurochipError, match="SHD/SSC layout.*docs/data.md"):
        load_file(p)
    q = tmp_path / "ev.npz"
    np.savez(q, events=np.zeros(2, [("unit", "i2"), ("t", "i8")]), label=np.array(0))
    with pytest.raises(NeurochipError, match="holds event data"):
        load_file(q)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), n=st.integers(1, 200))
def test_bin_and_npz_roundtrips(tmp_path_factory, seed, n):
    rng = np.random.default_rng(seed)
    ev = random_events(rng, n, 240, 180, tmax=1 << 23)
    assert np.array_equal(decode_bin(encode_bin(ev), "f"), ev)
    lst = EventList.from_samples([ev, ev[: n // 2 + 1]], np.array([1, 0]), (240, 180, 2))
    d = tmp_path_factory.mktemp("rt")
    for unit in (False, True):
        save_event_npz(d / "e.npz", lst, unit_fields=unit)
        back = load_event_npz(d / "e.npz", sensor=None if not unit else (240, 1, 1))
        assert np.array_equal(back.offsets, lst.offsets) and np.array_equal(back.t, lst.t)
        assert np.array_equal(back.x, lst.x) and back.labels.tolist() == [1, 0]
        if not unit:
            assert np.array_equal(back.y, lst.y) and np.array_equal(back.p, lst.p) and back.sensor == lst.sensor
