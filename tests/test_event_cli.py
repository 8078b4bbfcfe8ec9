"""Event data at the CLI: train/eval --data EVENTS with binning options, the binning kept in the
checkpoint (eval re-bins identically), --dataset digits-events, and bad event input as one-line
errors with exit code 2."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from neurochip.cli import main
from neurochip.events import write_shd

FAST = ["-T", "4", "--hidden", "16", "--epochs", "2", "--train-eval", "0", "--seed", "0"]


def _shd(path, n=60, seed=0):
    """Three classes of spike patterns: class k fires units 100k..100k+30, early for k = 0,
    late for k = 2 (times in seconds)."""
    rng = np.random.default_rng(seed)
    times, units, labels = [], [], []
    for i in range(n):
        k = i % 3
        m = 300
        u = rng.integers(100 * k, 100 * k + 30, m)
        t = np.sort(rng.uniform(0.0, 0.3, m) + 0.3 * k * rng.uniform(0.5, 1.0))
        times.append(t)
        units.append(u)
        labels.append(k)
    write_shd(path, times, units, labels, times_dtype=np.float32)
    return path


def _run(args):
    return CliRunner().invoke(main, args)


def test_train_eval_shd_rebins_identically(tmp_path):
    data = _shd(tmp_path / "shd.h5")
    ck = tmp_path / "ev.h5"
    r = _run(["train", "--data", str(data), *FAST, "--bin-mode", "counts", "--max-count", "4",
              "--out", str(ck), "--json"])
    assert r.exit_code == 0, r.output
    acc = json.loads(r.output.strip().splitlines()[-1])["test_accuracy"]
    assert acc > 0.6                                  # 3 classes: chance is 1/3
    with h5py.File(ck, "r") as f:
        info = json.loads(f.attrs["dataset"])
        cfg = json.loads(f.attrs["config"])
    assert info["name"] == "events" and info["binning"]["max_count"] == 4 and info["binning"]["timesteps"] == 4
    assert cfg["encoder"] == "raster" and cfg["input_full_scale"] == 4 and cfg["sizes"][0] == 700
    e = _run(["eval", str(ck), "--json"])
    assert e.exit_code == 0, e.output
    assert json.loads(e.output.strip().splitlines()[-1])["accuracy"] == acc
    # another event file is binned with the checkpoint's binning
    other = _shd(tmp_path / "other.h5", n=30, seed=1)
    e2 = _run(["eval", str(ck), "--data", str(other), "--json"])
    assert e2.exit_code == 0, e2.output


def test_train_spike_binning_uses_raster_spikes(tmp_path):
    data = _shd(tmp_path / "shd.h5")
    ck = tmp_path / "sp.h5"
    r = _run(["train", "--data", str(data), *FAST, "--bin-mode", "spikes", "--polarity", "merge",
              "--bin-by", "count", "--out", str(ck)])
    assert r.exit_code == 0, r.output
    with h5py.File(ck, "r") as f:
        assert json.loads(f.attrs["config"])["encoder"] == "raster-spikes"
        assert json.loads(f.attrs["dataset"])["binning"]["mode"] == "count"


def _one_line_error(r, *fragments):
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.output
    for fr in fragments:
        assert fr in lines[0], lines[0]


def test_bad_event_input(tmp_path):
    data = _shd(tmp_path / "shd.h5")
    # binning option without event data
    _one_line_error(_run(["train", "--dataset", "digits", "--max-count", "3", *FAST]), "--max-count", "event data")
    # a static encoder for per-step input
    _one_line_error(_run(["train", "--data", str(data), "--encoder", "direct", *FAST]), "raster")
    # units outside the declared sensor (700 units), naming the file and the sample
    bad = tmp_path / "bad.h5"
    write_shd(bad, [np.array([0.1, 0.2])], [np.array([3, 900])], [0], times_dtype=np.float32)
    _one_line_error(_run(["train", "--data", str(bad), *FAST]), str(bad))
    # unsorted times in an event npz
    ev = np.zeros(3, [("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
    ev["t"] = [5, 2, 9]
    npz = tmp_path / "unsorted.npz"
    np.savez(npz, events=ev, offsets=np.array([0, 3]), labels=np.array([1]), sensor_size=np.array([4, 4, 2]))
    _one_line_error(_run(["train", "--data", str(npz), *FAST]), str(npz))
    # labels missing
    npz2 = tmp_path / "nolabels.npz"
    np.savez(npz2, events=ev, offsets=np.array([0, 3]))
    _one_line_error(_run(["train", "--data", str(npz2), *FAST]), "labels")
    # eval of an event-trained network on static data
    ck = tmp_path / "ev.h5"
    assert _run(["train", "--data", str(data), *FAST, "--out", str(ck)]).exit_code == 0
    static = tmp_path / "static.npz"
    np.savez(static, x_train=np.zeros((4, 3)), y_train=np.zeros(4, int), x_test=np.zeros((4, 3)), y_test=np.zeros(4, int))
    _one_line_error(_run(["eval", str(ck), "--data", str(static)]), "event data")
    # resume with binning options
    _one_line_error(_run(["train", "--resume", str(ck), "--epochs", "3", "--pool", "2"]), "--pool")


@pytest.mark.slow
def test_digits_events_dataset(tmp_path):
    ck = tmp_path / "de.h5"
    r = _run(["train", "--dataset", "digits-events", *FAST, "--out", str(ck), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.strip().splitlines()[-1])["test_accuracy"] > 0.5
    with h5py.File(ck, "r") as f:
        assert json.loads(f.attrs["dataset"])["name"] == "digits-events"


def test_energy_of_an_event_checkpoint_rebins(tmp_path):
    data = _shd(tmp_path / "shd.h5")
    ck = tmp_path / "ev.h5"
    assert _run(["train", "--data", str(data), *FAST, "--out", str(ck)]).exit_code == 0
    r = _run(["energy", str(ck), "--json"])
    assert r.exit_code == 0, r.output


def _dvs_npz(path, n=150, sensor=(8, 6, 2), seed=0):
    """Event NPZ on a W x H x 2 sensor: class 0 fires ON events in the top-left quadrant, class 1
    OFF events in the bottom-right, class 2 both polarities along row 0 (times in microseconds)."""
    rng = np.random.default_rng(seed)
    W, H, _ = sensor
    evs, offsets, labels = [], [0], []
    for i in range(n):
        k = i % 3
        m = 300
        if k == 0:
            x, y, p = rng.integers(0, W // 2, m), rng.integers(0, H // 2, m), np.ones(m, bool)
        elif k == 1:
            x, y, p = rng.integers(W // 2, W, m), rng.integers(H // 2, H, m), np.zeros(m, bool)
        else:
            x, y, p = rng.integers(0, W, m), np.zeros(m, int), rng.integers(0, 2, m).astype(bool)
        ev = np.zeros(m, [("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
        ev["x"], ev["y"], ev["p"], ev["t"] = x, y, p, np.sort(rng.integers(0, 10000, m))
        evs.append(ev)
        offsets.append(offsets[-1] + m)
        labels.append(k)
    np.savez(path, events=np.concatenate(evs), offsets=np.array(offsets), labels=np.array(labels),
             sensor_size=np.array(sensor))
    return path


def test_conv_arch_on_event_maps(tmp_path):
    """Binned events feed conv layers as (C, H, W) maps: the input shape comes from the sensor (W x H
    x polarities, after pooling), a contradicting --input-shape or an eval sensor of another shape is
    a one-line error (even with the same number of values)."""
    data = _dvs_npz(tmp_path / "dvs.npz")
    ck = tmp_path / "conv.h5"
    conv = ["-T", "4", "--arch", "c4k3-p2-d16", "--epochs", "4", "--train-eval", "0", "--seed", "0"]
    r = _run(["train", "--data", str(data), *conv, "--out", str(ck), "--json"])
    assert r.exit_code == 0, r.output
    acc = json.loads(r.output.strip().splitlines()[-1])["test_accuracy"]
    assert acc > 0.6
    with h5py.File(ck, "r") as f:
        cfg = json.loads(f.attrs["config"])
    assert cfg["input_shape"] == [2, 6, 8] and cfg["sizes"][0] == 96 and cfg["encoder"] == "raster"
    e = _run(["eval", str(ck), "--json"])
    assert e.exit_code == 0, e.output
    assert json.loads(e.output.strip().splitlines()[-1])["accuracy"] == acc
    # the input shape given explicitly must be the map; pooling and merged polarity change the map
    assert _run(["train", "--data", str(data), *conv, "--input-shape", "2x6x8"]).exit_code == 0
    r2 = _run(["train", "--data", str(data), "-T", "4", "--arch", "c4k2-d16", "--epochs", "1", "--pool", "2",
               "--polarity", "merge", "--out", str(tmp_path / "p.h5")])
    assert r2.exit_code == 0, r2.output
    with h5py.File(tmp_path / "p.h5", "r") as f:
        assert json.loads(f.attrs["config"])["input_shape"] == [1, 3, 4]
    _one_line_error(_run(["train", "--data", str(data), *conv, "--input-shape", "2x8x6"]), "2x6x8", "2x8x6",
                    str(data))
    # eval on events from a sensor of another shape (8 x 6 -> 6 x 8: as many values per step)
    other = _dvs_npz(tmp_path / "tall.npz", sensor=(6, 8, 2))
    _one_line_error(_run(["eval", str(ck), "--data", str(other)]), "2x8x6", "2x6x8", str(other))
