"""EMULATION of N-MNIST-style recordings: static images turned into DVS events by moving them in
saccades in front of a simple event-camera model. This is not a recording and not a calibrated
sensor model; it imitates how N-MNIST was made so any image dataset (the embedded digits too) can
be used as event data.

How N-MNIST was recorded (Orchard et al. 2015): an ATIS sensor on a pan-tilt unit looked at each
MNIST digit on a monitor and made 3 saccades along a triangle, about 100 ms each; the 28x28 digit
became 34x34 sensor pixels of ON/OFF events. Here, with :class:`SaccadeDVS` parameters:

* **Motion.** The image slides over a sensor of ``(H + pad, W + pad)`` pixels (``pad =
  ceil(amplitude)``) along the triangle (0, 0) -> (A/2, A) -> (A, 0) -> (0, 0) (dx, dy in pixels,
  A = ``amplitude``), each edge taking ``saccade_ms`` at constant speed. Pixel (u, v) sees the image
  bilinearly sampled at (u - dx, v - dy); outside the image it sees ``background``.
* **Pixels.** Every ``dt_us`` each pixel compares its log intensity L = log(I + ``eps``) with the
  level it memorised at its last event (initially its level at t = 0). While L has risen by at
  least the pixel's ON threshold it emits an ON event (p = 1) and raises the memorised level by
  that threshold; falling by the OFF threshold gives OFF events (p = 0). An event's time is where
  the linearly interpolated L crosses the level within the step (integer us, floor).
* **Mismatch.** Per-pixel thresholds ``theta * (1 + threshold_sigma * N(0, 1))`` (at least
  ``0.01``), drawn once per sensor from ``seed``, like one physical camera.
* **Refractory period.** An event within ``refractory_us`` after the pixel's previous emitted
  event is suppressed (not emitted), but the memorised level still moves: the change is lost, as
  in a pixel held in reset.
* Not modelled: noise/background-activity events, bandwidth limits, pixel latency, the monitor's
  refresh, the sensor's optics.

Events come out sorted by time, in the :data:`~neurochip.events.EVENT_DTYPE` layout; whole
datasets as :class:`~neurochip.events.EventList` with sensor ``(W + pad, H + pad, 2)``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numba as nb
import numpy as np

from .errors import NeurochipError
from .fixedpoint import NJIT
from .events import EVENT_DTYPE, EventList


@dataclass(frozen=True)
class SaccadeDVS:
    """Parameters of the saccade + DVS emulation (module docstring). Defaults suit the 8x8 digits;
    for 28x28 MNIST, ``amplitude=6`` gives N-MNIST's 34x34 sensor."""

    amplitude: float = 2.0
    saccade_ms: float = 100.0
    dt_us: int = 1000
    theta_on: float = 0.2
    theta_off: float = 0.2
    threshold_sigma: float = 0.0
    refractory_us: int = 0
    eps: float = 0.1
    background: float = 0.0
    seed: int = 0

    def __post_init__(self):
        for name in ("amplitude", "saccade_ms", "theta_on", "theta_off", "eps"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise NeurochipError(f"DVS emulation: {name} must be a positive number, got {v!r}")
        if isinstance(self.dt_us, bool) or not isinstance(self.dt_us, int) or self.dt_us < 1:
            raise NeurochipError(f"DVS emulation: dt_us must be a positive integer, got {self.dt_us!r}")
        if isinstance(self.refractory_us, bool) or not isinstance(self.refractory_us, int) or self.refractory_us < 0:
            raise NeurochipError(f"DVS emulation: refractory_us must be a non-negative integer, "
                                 f"got {self.refractory_us!r}")
        if not (math.isfinite(self.threshold_sigma) and self.threshold_sigma >= 0):
            raise NeurochipError(f"DVS emulation: threshold_sigma must be >= 0, got {self.threshold_sigma!r}")
        if not (math.isfinite(self.background) and 0 <= self.background <= 1):
            raise NeurochipError(f"DVS emulation: background must lie in [0, 1], got {self.background!r}")

    @property
    def pad(self) -> int:
        return int(math.ceil(self.amplitude))

    @property
    def duration_us(self) -> int:
        return int(round(3 * self.saccade_ms * 1000))

    def sensor(self, image_shape) -> tuple[int, int, int]:
        h, w = image_shape
        return (w + self.pad, h + self.pad, 2)

    def thresholds(self, image_shape) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel ON and OFF thresholds (sensor rows x columns), fixed by ``seed``."""
        W, H, _ = self.sensor(image_shape)
        rng = np.random.default_rng(self.seed)
        on = self.theta_on * (1 + self.threshold_sigma * rng.standard_normal((H, W)))
        off = self.theta_off * (1 + self.threshold_sigma * rng.standard_normal((H, W)))
        return np.maximum(on, 0.01), np.maximum(off, 0.01)

    def path(self, t_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image offset (dx, dy) in pixels at times t (us): the triangle, one edge per saccade."""
        A = float(self.amplitude)
        verts = np.array([[0.0, 0.0], [A / 2, A], [A, 0.0], [0.0, 0.0]])
        s = np.clip(np.asarray(t_us, np.float64) / (self.saccade_ms * 1000.0), 0.0, 3.0)
        k = np.minimum(s.astype(np.int64), 2)
        f = (s - k)[..., None]
        xy = verts[k] * (1 - f) + verts[k + 1] * f
        return xy[..., 0], xy[..., 1]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SaccadeDVS":
        return cls(**d)


@nb.njit(**NJIT)
def _frame(img, dx, dy, bg, out):
    """Intensity seen by every sensor pixel with the image shifted by (dx, dy) (bilinear)."""
    H, W = img.shape
    SH, SW = out.shape
    for v in range(SH):
        for u in range(SW):
            sx = u - dx
            sy = v - dy
            x0 = math.floor(sx)
            y0 = math.floor(sy)
            fx = sx - x0
            fy = sy - y0
            acc = 0.0
            for j in range(2):
                for i in range(2):
                    xx = x0 + i
                    yy = y0 + j
                    wgt = (fx if i else 1.0 - fx) * (fy if j else 1.0 - fy)
                    if wgt == 0.0:
                        continue
                    val = img[yy, xx] if 0 <= xx < W and 0 <= yy < H else bg
                    acc += wgt * val
            out[v, u] = acc


@nb.njit(**NJIT)
def dvs_kernel(img, dxs, dys, dt, th_on, th_off, refr, eps, bg, ex, ey, ep, et):
    """Run the pixel model over steps 0..len(dxs)-1; write events into ex/ey/ep/et; return the
    number written, or -1 if the buffers are too small."""
    SH, SW = th_on.shape
    cur = np.empty((SH, SW))
    _frame(img, dxs[0], dys[0], bg, cur)
    prev = np.log(cur + eps)
    ref = prev.copy()
    last = np.full((SH, SW), -(2 ** 62), np.int64)
    lv = np.empty((SH, SW))
    cap = et.shape[0]
    n = 0
    for s in range(1, dxs.shape[0]):
        _frame(img, dxs[s], dys[s], bg, cur)
        t_prev = (s - 1) * dt
        for v in range(SH):
            for u in range(SW):
                L = math.log(cur[v, u] + eps)
                lv[v, u] = L
                L0 = prev[v, u]
                while True:
                    if L - ref[v, u] >= th_on[v, u]:
                        level = ref[v, u] + th_on[v, u]
                        pol = 1
                    elif ref[v, u] - L >= th_off[v, u]:
                        level = ref[v, u] - th_off[v, u]
                        pol = 0
                    else:
                        break
                    ref[v, u] = level
                    frac = (level - L0) / (L - L0) if L != L0 else 1.0
                    frac = min(max(frac, 0.0), 1.0)
                    te = t_prev + int(math.floor(frac * dt))
                    if te - last[v, u] < refr:
                        continue
                    last[v, u] = te
                    if n >= cap:
                        return -1
                    ex[n] = u
                    ey[n] = v
                    ep[n] = pol
                    et[n] = te
                    n += 1
        prev[:, :] = lv
    return n


def render(image: np.ndarray, dx: float, dy: float, cfg: SaccadeDVS = SaccadeDVS()) -> np.ndarray:
    """What the sensor's pixels see with the image shifted by (dx, dy): (H + pad, W + pad) floats."""
    img = np.asarray(image, np.float64)
    W, H, _ = cfg.sensor(img.shape)
    out = np.empty((H, W))
    _frame(img, float(dx), float(dy), float(cfg.background), out)
    return out


def emulate(image: np.ndarray, cfg: SaccadeDVS = SaccadeDVS(), thresholds=None) -> np.ndarray:
    """Events (:data:`~neurochip.events.EVENT_DTYPE`, sorted by time) of one image (H, W) in [0, 1]."""
    img = np.asarray(image, np.float64)
    if img.ndim != 2 or img.size == 0:
        raise NeurochipError(f"DVS emulation: expected one 2-D image, got shape {img.shape}")
    if not np.isfinite(img).all() or img.min() < 0 or img.max() > 1:
        raise NeurochipError("DVS emulation: image values must lie in [0, 1]")
    on, off = thresholds if thresholds is not None else cfg.thresholds(img.shape)
    steps = cfg.duration_us // cfg.dt_us
    t = np.arange(steps + 1, dtype=np.float64) * cfg.dt_us
    dxs, dys = cfg.path(t)
    cap = 4096
    while True:
        ex, ey = np.empty(cap, np.int64), np.empty(cap, np.int64)
        ep, et = np.empty(cap, np.int64), np.empty(cap, np.int64)
        n = dvs_kernel(img, dxs, dys, cfg.dt_us, on, off, cfg.refractory_us, cfg.eps, cfg.background, ex, ey, ep, et)
        if n >= 0:
            break
        cap *= 4
    order = np.argsort(et[:n], kind="stable")
    out = np.empty(n, EVENT_DTYPE)
    out["x"], out["y"], out["p"], out["t"] = ex[:n][order], ey[:n][order], ep[:n][order], et[:n][order]
    return out


def emulate_images(images: np.ndarray, labels, cfg: SaccadeDVS = SaccadeDVS(), name: str = "dvs-emulated",
                   progress=None) -> EventList:
    """Every image of ``images`` (n, H, W) in [0, 1] through :func:`emulate` with one sensor's
    thresholds: an EventList (blank images give empty samples)."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise NeurochipError(f"DVS emulation: expected images (n, H, W), got shape {images.shape}")
    thr = cfg.thresholds(images.shape[1:])
    samples = []
    for i, im in enumerate(images):
        samples.append(emulate(im, cfg, thr))
        if progress:
            progress(i + 1, len(images))
    return EventList.from_samples(samples, np.asarray(labels), cfg.sensor(images.shape[1:]), name,
                                  allow_empty=True)


def digits_events(seed: int = 0, cfg: SaccadeDVS = SaccadeDVS(), progress=None) -> tuple[EventList, EventList]:
    """The embedded 8x8 digits (same split as ``load_digits(seed)``) as emulated saccade events:
    (train, test) EventLists on a 10x10 two-polarity sensor with the default amplitude."""
    from .data import load_digits

    ds = load_digits(seed=seed)
    tr = emulate_images(ds.x_train.reshape(-1, 8, 8), ds.y_train, cfg, "digits-saccades (emulated)", progress)
    te = emulate_images(ds.x_test.reshape(-1, 8, 8), ds.y_test, cfg, "digits-saccades (emulated)", progress)
    return tr, te


__all__ = ["SaccadeDVS", "render", "emulate", "emulate_images", "digits_events", "dvs_kernel"]
