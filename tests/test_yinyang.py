"""Yin-Yang: the generator equals the reference (lkriener/yin_yang_data_set, dataset.py at commit
e6eef96) on the three standard splits, the Dataset and CLI wiring, and the latency input code.

The checksums below were recorded once by running the reference generator (torch stubbed out) in
a temporary directory outside this repository and comparing every sample with ours and with the
repository's published ``publication_data/*.npy`` (all three equal, bit for bit)."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
from click.testing import CliRunner

from neurochip.cli import main
from neurochip.data import Dataset, load_dataset
from neurochip.errors import NeurochipError
from neurochip.yinyang import (generate, latency_raster, latency_steps, load_yinyang, with_bias_input,
                               yinyang_class, yinyang_split)

# sha256 of float64 x (n, 4) C-order and of int64 little-endian labels; class counts; sample 17
REFERENCE = {
    "train": ("f5a4054d56f2a058f8250fba7ff9720458e1625db7af78a295e45701745b2228",
              "534d12acda4f9dbc7208a99d3646115a4aa7d74ca31d6d23f822079a568559b7", [1681, 1702, 1617],
              [0.14008401523652403, 0.5183296523637367, 0.859915984763476, 0.48167034763626326], 1),
    "validation": ("5eac358bdf2122763dce3703a79f3005e56e46a4db25ec329a07333d0f7b8093",
                   "5a4c2f605814a620f514c1091f10441ce562cd81e902ce701b3cf94ae7576f7d", [316, 336, 348],
                   [0.4367041243491516, 0.5254917462399457, 0.5632958756508484, 0.47450825376005434], 1),
    "test": ("7bab3ed668ed4992679cff6339fe21bfe7d0c921ddc6187eaa3bc6ef34b888d7",
             "daa0f8f4e3b37b1ddec2afee22f09afb768f0e575f3f568e7469f1ebc6af73c1", [350, 316, 334],
             [0.6751576472802411, 0.4587301968542785, 0.3248423527197589, 0.5412698031457215], 2),
}


@pytest.mark.parametrize("split", list(REFERENCE))
def test_splits_equal_reference(split):
    x, y = yinyang_split(split)
    hx, hy, counts, x17, y17 = REFERENCE[split]
    assert x.dtype == np.float64 and y.dtype == np.int64
    assert np.bincount(y, minlength=3).tolist() == counts
    assert x[17].tolist() == x17 and int(y[17]) == y17
    assert hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest() == hx
    assert hashlib.sha256(y.astype("<i8").tobytes()).hexdigest() == hy


def test_geometry_and_mirror():
    x, y = generate(400, 3)
    assert np.array_equal(x[:, 2], 1.0 - x[:, 0]) and np.array_equal(x[:, 3], 1.0 - x[:, 1])
    assert (np.hypot(x[:, 0] - 0.5, x[:, 1] - 0.5) <= 0.5).all()
    assert all(yinyang_class(a, b) == c for (a, b, _, _), c in zip(x, y))
    # the eyes are dots; the left eye's ring and the upper right body are class 1; below, class 0
    assert yinyang_class(0.75, 0.5) == 2 and yinyang_class(0.25, 0.5) == 2
    assert yinyang_class(0.25 + 0.15, 0.5) == 1 and yinyang_class(0.5, 0.9) == 1
    assert yinyang_class(0.5, 0.1) == 0 and yinyang_class(0.75 + 0.15, 0.5) == 0


def test_dataset_and_load_dataset():
    ds = load_dataset("yinyang", None, seed=7)
    assert isinstance(ds, Dataset) and ds.name == "yinyang" and ds.n_classes == 3 and ds.shape == (4,)
    assert ds.x_train.shape == (5000, 4) and ds.x_test.shape == (1000, 4)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert np.array_equal(ds.x_test, yinyang_split("test")[0].astype(np.float32))
    val = load_yinyang(test_split="validation")
    assert np.array_equal(val.y_test, yinyang_split("validation")[1])
    b = load_yinyang(bias=True)
    assert b.x_train.shape == (5000, 5) and (b.x_train[:, 4] == 1).all()
    with pytest.raises(NeurochipError, match="unknown split"):
        yinyang_split("dev")
    with pytest.raises(NeurochipError, match="size must be a positive"):
        generate(0, 1)


def test_cli_trains_on_yinyang(tmp_path):
    out = tmp_path / "yy.h5"
    res = CliRunner().invoke(main, ["train", "--dataset", "yinyang", "--hidden", "8", "--epochs", "1",
                                    "--timesteps", "4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    ev = CliRunner().invoke(main, ["eval", str(out), "--json"])      # the checkpoint reloads yinyang
    assert ev.exit_code == 0, ev.output
    assert "accuracy" in ev.output


def test_latency_steps_and_raster():
    x = np.array([[0.0, 0.5, 1.0]])
    assert latency_steps(x, 5).tolist() == [[0, 2, 4]]
    assert latency_steps(x, 5, later_is_larger=False).tolist() == [[4, 2, 0]]
    assert latency_steps(x, 10, t_early=2, t_late=6).tolist() == [[2, 4, 6]]
    r = latency_raster(x, 5, bias_steps=(0,))
    assert r.shape == (1, 5, 4) and r.dtype == np.uint8
    assert r.sum(axis=1).tolist() == [[1, 1, 1, 1]]                 # every input spikes exactly once
    assert np.argmax(r[0], axis=0).tolist() == [0, 2, 4, 0]         # bias spike at step 0
    rng = np.random.default_rng(1)
    xs = rng.random((50, 4))
    ras = latency_raster(xs, 16, bias_steps=(1, 3))
    assert (ras.sum(axis=1) == 1).all()
    assert np.array_equal(np.argmax(ras[:, :, :4], axis=1), latency_steps(xs, 16))
    assert (ras[:, 1, 4] == 1).all() and (ras[:, 3, 5] == 1).all()
    with pytest.raises(NeurochipError, match=r"in \[0, 1\]"):
        latency_steps(np.array([1.5]), 4)
    with pytest.raises(NeurochipError, match="bias steps"):
        latency_raster(xs, 4, bias_steps=(4,))


def test_bias_input_spikes_first_under_chip_latency_encoder():
    """The constant 1.0 input becomes a spike at step 0 in the chip's latency encoder."""
    from neurochip.kernels.pack import float_input
    from neurochip.network import NetworkConfig

    x = with_bias_input(yinyang_split("test")[0][:10])
    cfg = NetworkConfig(sizes=(5, 3), timesteps=8, encoder="latency")
    steps = float_input(cfg, x)
    assert (steps[:, 4] == 0).all()
