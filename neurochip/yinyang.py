"""The Yin-Yang dataset (Kriener, Goeltz, Petrovici 2021), generated here from its definition.

A point (x, y) is drawn uniformly in the square [0, 2 R)^2 with R = ``r_big`` = 0.5 and kept only
inside the disc of radius R centred on (R, R). Its class follows the yin-yang figure built from
two "eyes" of radius r = ``r_small`` = 0.1 centred on (R/2, R) (left) and (3R/2, R) (right):

* class 2 (``dot``): within distance < r of either eye centre;
* class 1: within <= r of the right eye centre, or between r and R/2 of the left one, or in the
  upper half (y > R) farther than R/2 from the right one;
* class 0: everything else in the disc.

The reference names the classes ``('yin', 'yang', 'dot')`` in index order; note that its own
test for "yin" yields index 1. We keep its indices and its names unchanged so labels agree.

Balance: for every sample the target class is drawn first (``randint(3)``) and points are drawn
(``rand(2)``, scaled by 2R) until one falls in the disc with that class: rejection sampling with
a single ``numpy.random.RandomState(seed)``, in exactly that order of draws. Each sample's input
is ``(x, y, 1 - x, 1 - y)`` (the mirrored pair lets neurons without a bias see both ends).

Standard splits: train 5000 samples seed 42, validation 1000 seed 41, test 1000 seed 40. With the
draw order and arithmetic above the arrays equal the reference generator's and its published
``publication_data/*.npy`` bit for bit (pinned by checksums in ``tests/test_yinyang.py``).

Also here: the time-to-first-spike input code of the spike-time Yin-Yang papers,
:func:`latency_raster` (a data-side transform into a 0/1 raster with a bias spike) and
:func:`with_bias_input` (a constant input that the chip's own ``latency`` encoder turns into a
spike at step 0).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .errors import NeurochipError

R_SMALL = 0.1
R_BIG = 0.5
CLASS_NAMES = ("yin", "yang", "dot")
#: split name -> (size, seed), the reference repository's standard splits
SPLITS = {"train": (5000, 42), "validation": (1000, 41), "test": (1000, 40)}


def _in_disc(x: float, y: float, r_big: float) -> bool:
    return np.sqrt((x - r_big) ** 2 + (y - r_big) ** 2) <= r_big


def yinyang_class(x: float, y: float, r_small: float = R_SMALL, r_big: float = R_BIG) -> int:
    """Class 0, 1 or 2 of a point inside the disc (see the module docstring)."""
    right = np.sqrt((x - 1.5 * r_big) ** 2 + (y - r_big) ** 2)
    left = np.sqrt((x - 0.5 * r_big) ** 2 + (y - r_big) ** 2)
    if right < r_small or left < r_small:
        return 2
    upper_body = y > r_big and right > 0.5 * r_big
    left_ring = r_small < left <= 0.5 * r_big
    return 1 if (right <= r_small or left_ring or upper_body) else 0


def generate(size: int, seed: int, r_small: float = R_SMALL, r_big: float = R_BIG) -> tuple[np.ndarray, np.ndarray]:
    """``size`` samples from ``RandomState(seed)``: x float64 ``(size, 4)``, labels int64 ``(size,)``."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise NeurochipError(f"yinyang: size must be a positive integer, got {size!r}")
    if not 0 < r_small < 0.5 * r_big:
        raise NeurochipError(f"yinyang: need 0 < r_small < r_big / 2, got r_small={r_small}, r_big={r_big}")
    rng = np.random.RandomState(seed)
    xs = np.empty((size, 4), np.float64)
    ys = np.empty(size, np.int64)
    for i in range(size):
        want = rng.randint(3)
        while True:
            px, py = rng.rand(2) * 2.0 * r_big
            if not _in_disc(px, py, r_big):
                continue
            if yinyang_class(px, py, r_small, r_big) == want:
                break
        xs[i] = (px, py, 1.0 - px, 1.0 - py)
        ys[i] = want
    return xs, ys


@lru_cache(maxsize=8)
def _split(name: str) -> tuple[np.ndarray, np.ndarray]:
    size, seed = SPLITS[name]
    x, y = generate(size, seed)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def yinyang_split(name: str) -> tuple[np.ndarray, np.ndarray]:
    """One standard split (``'train'``, ``'validation'`` or ``'test'``) as float64 x and int64 y
    (fresh copies; generated once per process and cached)."""
    if name not in SPLITS:
        raise NeurochipError(f"yinyang: unknown split {name!r} (splits: {', '.join(SPLITS)})")
    x, y = _split(name)
    return x.copy(), y.copy()


def load_yinyang(test_split: str = "test", bias: bool = False):
    """The standard Yin-Yang splits as a :class:`~neurochip.data.Dataset` named ``'yinyang'``.

    ``x_train``: the 5000 training samples; ``x_test``: the 1000 test samples (or the validation
    split with ``test_split='validation'``), float32 ``(x, y, 1-x, 1-y)``; 3 classes. ``bias=True``
    appends a constant input 1.0 (a fifth feature), see :func:`with_bias_input`.
    """
    from .data import Dataset

    if test_split not in ("test", "validation"):
        raise NeurochipError(f"yinyang: test_split must be 'test' or 'validation', got {test_split!r}")
    xtr, ytr = yinyang_split("train")
    xte, yte = yinyang_split(test_split)
    if bias:
        xtr, xte = with_bias_input(xtr), with_bias_input(xte)
    shape = (xtr.shape[1],)
    return Dataset(np.ascontiguousarray(xtr, np.float32), ytr, np.ascontiguousarray(xte, np.float32), yte,
                   3, "yinyang", shape)


def with_bias_input(x: np.ndarray) -> np.ndarray:
    """Append a constant 1.0 input to every sample: ``(n, f) -> (n, f + 1)``.

    With the chip's ``latency`` encoder (spike step ``round((1 - x)(T - 1))``) this input spikes at
    step 0 of every sample: the bias spike of the spike-time Yin-Yang papers, with no kernel change.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise NeurochipError(f"bias input: expected (samples, features), got shape {x.shape}")
    return np.concatenate([x, np.ones((len(x), 1), x.dtype)], axis=1)


def latency_steps(x: np.ndarray, timesteps: int, t_early: int = 0, t_late: int | None = None,
                  later_is_larger: bool = True) -> np.ndarray:
    """Time-to-first-spike step of every value x in [0, 1]: int64, same shape as x.

    ``later_is_larger=True`` (the spike-time Yin-Yang papers: t = t_early + x (t_late - t_early)):
    step ``t_early + round(x (t_late - t_early))``; ``False``: larger values spike earlier (the
    chip's ``latency`` encoder convention, ``t_early + round((1 - x)(t_late - t_early))``).
    ``t_late`` defaults to ``timesteps - 1``. Every value spikes exactly once.
    """
    if isinstance(timesteps, bool) or not isinstance(timesteps, (int, np.integer)) or timesteps < 1:
        raise NeurochipError(f"latency: timesteps must be a positive integer, got {timesteps!r}")
    t_late = timesteps - 1 if t_late is None else t_late
    if not 0 <= t_early <= t_late <= timesteps - 1:
        raise NeurochipError(f"latency: need 0 <= t_early <= t_late <= T - 1 = {timesteps - 1}, "
                             f"got t_early={t_early}, t_late={t_late}")
    x = np.asarray(x, np.float64)
    if x.size and (not np.isfinite(x).all() or x.min() < 0 or x.max() > 1):
        raise NeurochipError("latency: input values must lie in [0, 1]")
    frac = x if later_is_larger else 1.0 - x
    return t_early + np.round(frac * (t_late - t_early)).astype(np.int64)


def latency_raster(x: np.ndarray, timesteps: int, t_early: int = 0, t_late: int | None = None,
                   bias_steps: tuple = (0,), later_is_larger: bool = True) -> np.ndarray:
    """Spike raster uint8 ``(n, T, f + len(bias_steps))`` of inputs x ``(n, f)`` in [0, 1].

    Input j of sample n spikes once, at :func:`latency_steps`; one extra input per entry of
    ``bias_steps`` spikes at that step in every sample (the bias spike; ``()`` for none). The
    raster is what a per-step input path of the chip would consume (see docs/data.md).
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise NeurochipError(f"latency: expected inputs (samples, features), got shape {x.shape}")
    steps = latency_steps(x, timesteps, t_early, t_late, later_is_larger)
    bias = np.asarray(bias_steps, np.int64).reshape(-1)
    if bias.size and (bias.min() < 0 or bias.max() >= timesteps):
        raise NeurochipError(f"latency: bias steps {bias.tolist()} must lie in 0..{timesteps - 1}")
    n, f = x.shape
    out = np.zeros((n, timesteps, f + bias.size), np.uint8)
    rows = np.repeat(np.arange(n), f)
    out[rows, steps.reshape(-1), np.tile(np.arange(f), n)] = 1
    for k, b in enumerate(bias):
        out[:, b, f + k] = 1
    return out


__all__ = ["CLASS_NAMES", "SPLITS", "generate", "yinyang_class", "yinyang_split", "load_yinyang",
           "with_bias_input", "latency_steps", "latency_raster"]
