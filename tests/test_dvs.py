"""The saccade DVS emulation: path, pixel model properties (no change -> no events, ON = OFF per
pixel over a closed path, thresholds and refractory period), determinism, errors, and that the
emulated digits still carry their class."""
from __future__ import annotations

import numpy as np
import pytest

from neurochip.binning import EventBinning, bin_events
from neurochip.dvs import SaccadeDVS, digits_events, emulate, emulate_images, render
from neurochip.errors import NeurochipError


def blob():
    img = np.zeros((8, 8))
    img[2:6, 3:5] = 1.0
    img[3, 2] = 0.5
    return img


def test_triangle_path():
    cfg = SaccadeDVS(amplitude=4, saccade_ms=100)
    dx, dy = cfg.path(np.array([0, 100_000, 200_000, 300_000, 50_000]))
    assert dx.tolist() == [0, 2, 4, 0, 1] and dy.tolist() == [0, 4, 0, 0, 2]
    assert cfg.sensor((8, 8)) == (12, 12, 2) and SaccadeDVS(amplitude=6).sensor((28, 28)) == (34, 34, 2)


def test_render_bilinear_shift():
    img = np.arange(16, dtype=np.float64).reshape(4, 4) / 16
    cfg = SaccadeDVS(amplitude=1, background=0.25)
    r = render(img, 0.0, 0.0, cfg)
    assert r.shape == (5, 5) and np.array_equal(r[:4, :4], img) and (r[4] == 0.25).all()
    s = render(img, 0.25, 0.0, cfg)               # pixel u sees image x = u - 0.25
    assert np.allclose(s[:4, 1:4], 0.75 * img[:, 1:4] + 0.25 * img[:, 0:3])
    assert np.allclose(s[:4, 0], 0.75 * img[:, 0] + 0.25 * 0.25)
    d = render(img, 0.0, 0.5, cfg)
    assert np.allclose(d[1:4, :4], 0.5 * img[1:4] + 0.5 * img[0:3])


def test_events_valid_and_sorted():
    cfg = SaccadeDVS()
    ev = emulate(blob(), cfg)
    W, H, _ = cfg.sensor((8, 8))
    assert len(ev) > 0 and (np.diff(ev["t"]) >= 0).all()
    assert ev["t"].min() >= 0 and ev["t"].max() <= cfg.duration_us
    assert ev["x"].max() < W and ev["y"].max() < H and set(np.unique(ev["p"])) == {0, 1}


def test_no_change_no_events():
    assert len(emulate(np.full((6, 6), 0.5), SaccadeDVS(background=0.5))) == 0
    assert len(emulate(np.zeros((6, 6)), SaccadeDVS())) == 0


@pytest.mark.parametrize("sigma", [0.0, 0.2])
def test_closed_path_balances_on_and_off_per_pixel(sigma):
    """The image returns to its start, so each pixel's net memorised change ON th_on - OFF th_off
    lies in (-th_on, th_off): equal counts when the thresholds are equal."""
    cfg = SaccadeDVS(threshold_sigma=sigma, seed=3)
    ev = emulate(blob(), cfg)
    W, H = 10, 10
    pix = ev["y"].astype(np.int64) * W + ev["x"]
    on = np.bincount(pix[ev["p"] == 1], minlength=W * H)
    off = np.bincount(pix[ev["p"] == 0], minlength=W * H)
    th_on, th_off = (a.reshape(-1) for a in cfg.thresholds((8, 8)))
    net = on * th_on - off * th_off
    assert on.sum() > 0 and (net > -th_on - 1e-9).all() and (net < th_off + 1e-9).all()
    if sigma == 0:
        assert np.array_equal(on, off)


def test_threshold_and_refractory():
    n_lo = len(emulate(blob(), SaccadeDVS(theta_on=0.1, theta_off=0.1)))
    n_hi = len(emulate(blob(), SaccadeDVS(theta_on=0.4, theta_off=0.4)))
    assert n_hi < n_lo / 2.5
    ev = emulate(blob(), SaccadeDVS(refractory_us=10 ** 6))
    pix = ev["y"].astype(np.int64) * 10 + ev["x"]
    assert np.bincount(pix).max() == 1                          # one event per pixel per sample at most
    ev2 = emulate(blob(), SaccadeDVS(refractory_us=20_000))
    for q in np.unique(ev2["y"].astype(np.int64) * 10 + ev2["x"]):
        tq = ev2["t"][(ev2["y"].astype(np.int64) * 10 + ev2["x"]) == q]
        assert (np.diff(tq) >= 20_000).all()


def test_mismatch_is_seeded():
    a = emulate(blob(), SaccadeDVS(threshold_sigma=0.3, seed=1))
    b = emulate(blob(), SaccadeDVS(threshold_sigma=0.3, seed=1))
    c = emulate(blob(), SaccadeDVS(threshold_sigma=0.3, seed=2))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_errors_and_dict():
    with pytest.raises(NeurochipError, match="theta_on must be a positive"):
        SaccadeDVS(theta_on=0)
    with pytest.raises(NeurochipError, match="dt_us must be"):
        SaccadeDVS(dt_us=0)
    with pytest.raises(NeurochipError, match=r"in \[0, 1\]"):
        emulate(np.full((3, 3), 2.0))
    with pytest.raises(NeurochipError, match="images \\(n, H, W\\)"):
        emulate_images(np.zeros((3, 3)), [0])
    cfg = SaccadeDVS(amplitude=3.0, refractory_us=5)
    assert SaccadeDVS.from_dict(cfg.to_dict()) == cfg


def test_emulated_digits_keep_their_class():
    """A linear classifier on the binned emulated events of the digits scores far above chance."""
    from sklearn.linear_model import LogisticRegression

    tr, te = digits_events(seed=0)
    assert len(tr) == 1437 and len(te) == 360 and tr.sensor == (10, 10, 2)
    assert "emulated" in tr.name
    b = EventBinning(3, max_count=255)
    xtr = bin_events(tr, b).unit_interval().reshape(len(tr), -1)
    xte = bin_events(te, b).unit_interval().reshape(len(te), -1)
    acc = LogisticRegression(max_iter=300).fit(xtr, tr.labels).score(xte, te.labels)
    assert acc > 0.85, acc
