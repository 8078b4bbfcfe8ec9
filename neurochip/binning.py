"""Events onto the chip's T time steps: :class:`EventBinning` (the options, checkpoint-ready) and
:func:`bin_events` (one numba pass per chunk of samples from any event source of
:mod:`neurochip.events`).

Which step an event of a sample goes to (t: its time in us, i: its index within the sample,
n: the sample's event count, t0: the sample's first time, or 0 with ``origin='zero'``):

* ``mode='time'``, ``window_us=w``: step ``(t - t0) // w``; events at or beyond ``T w`` are dropped
  (counted in :attr:`Binned.dropped`).
* ``mode='time'``, ``window_us=None``: the sample's own span ``[t0, t_last]`` cut into T equal
  windows, step ``(t - t0) T // (t_last - t0 + 1)``: every event lands, the last in step T - 1.
* ``mode='count'``, ``events_per_step=k``: step ``i // k``; events beyond ``T k`` are dropped.
* ``mode='count'``, ``events_per_step=None``: step ``i T // n`` (equal shares, nothing dropped).

Each event adds 1 to its (step, channel, row, column) cell: channel = polarity with
``polarity='split'`` (C = P channels; ON = 1, OFF = 0) or 0 with ``'merge'`` (C = 1); rows and
columns are divided by ``spatial_factor`` (sum pooling). ``output='count'`` keeps counts,
saturating at ``max_count`` (graded input); ``output='spike'`` gives 0/1 (a cell with any event
spikes). ``layout='map'`` returns samples as ``(T, C, H, W)`` for conv layers, ``'flat'`` as
``(T, C H W)`` for dense layers (C-order, so a flat index is ``(c H + y) W + x``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Callable

import numba as nb
import numpy as np

from .errors import NeurochipError
from .fixedpoint import NJIT

MODES = ("time", "count")
OUTPUTS = ("count", "spike")
POLARITY = ("split", "merge")
LAYOUTS = ("map", "flat")
ORIGINS = ("first", "zero")


def _posint(v, what: str, allow_none: bool = False):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise NeurochipError(f"event binning: {what} must be a positive integer{' or None' if allow_none else ''}, "
                             f"got {v!r}")
    return int(v)


@dataclass(frozen=True)
class EventBinning:
    """How events become the chip's input: T steps, windows, channels, counts or spikes, layout.

    Saved in checkpoints as :meth:`to_dict` (plain JSON types) and restored by :meth:`from_dict`.
    ``mode`` ``"time"`` (``window_us`` per step, default each sample's span / T) or ``"count"``
    (``events_per_step``); ``output`` ``"count"`` (graded, saturating at ``max_count``) or
    ``"spike"`` (0/1); ``polarity`` ``"split"`` or ``"merge"``; ``spatial_factor`` sum-pools x
    and y; ``layout`` ``"map"`` (T, C, H, W) or ``"flat"`` (T, C H W, what the network takes).

    Example::

        b = nc.EventBinning(16, mode="count", output="spike", layout="flat")
        ds = nc.load_data("digits-events", binning=b)
    """

    timesteps: int
    mode: str = "time"
    window_us: int | None = None
    events_per_step: int | None = None
    origin: str = "first"
    output: str = "count"
    max_count: int = 255
    polarity: str = "split"
    spatial_factor: int = 1
    layout: str = "map"

    def __post_init__(self):
        _posint(self.timesteps, "timesteps")
        for name, allowed in (("mode", MODES), ("output", OUTPUTS), ("polarity", POLARITY), ("layout", LAYOUTS),
                              ("origin", ORIGINS)):
            if getattr(self, name) not in allowed:
                raise NeurochipError(f"event binning: {name} must be one of {', '.join(allowed)}, "
                                     f"got {getattr(self, name)!r}")
        _posint(self.window_us, "window_us", allow_none=True)
        _posint(self.events_per_step, "events_per_step", allow_none=True)
        _posint(self.spatial_factor, "spatial_factor")
        _posint(self.max_count, "max_count")
        if self.max_count > 65535:
            raise NeurochipError(f"event binning: max_count must be at most 65535, got {self.max_count}")
        if self.mode == "time" and self.events_per_step is not None:
            raise NeurochipError("event binning: events_per_step belongs to mode 'count', not 'time'")
        if self.mode == "count" and self.window_us is not None:
            raise NeurochipError("event binning: window_us belongs to mode 'time', not 'count'")

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint8 if self.output == "spike" or self.max_count <= 255 else np.uint16)

    @property
    def cap(self) -> int:
        return 1 if self.output == "spike" else self.max_count

    def sample_shape(self, sensor) -> tuple:
        """Shape of one binned sample for a sensor (W, H, P): (T, C, H', W') or (T, C H' W')."""
        W, H, P = (int(v) for v in sensor)
        f = self.spatial_factor
        c, h, w = (P if self.polarity == "split" else 1), -(-H // f), -(-W // f)
        return (self.timesteps, c, h, w) if self.layout == "map" else (self.timesteps, c * h * w)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "EventBinning":
        if not isinstance(d, dict):
            raise NeurochipError(f"event binning: expected a dict, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        extra = set(d) - known
        if extra:
            raise NeurochipError(f"event binning: unknown option(s) {', '.join(sorted(extra))}")
        if "timesteps" not in d:
            raise NeurochipError("event binning: timesteps missing")
        return cls(**d)


@nb.njit(**NJIT)
def bin_kernel(x, y, p, t, offsets, T, by_count, window, per_step, origin_first, split, factor, cap, out):
    """Add each event of each sample to ``out[sample, step, channel, y // factor, x // factor]``
    (saturating at ``cap``); returns the number of events dropped beyond the last step.

    by_count 0: step from time (window > 0: (t - t0) // window; else (t - t0) T // span);
    by_count 1: step from index (per_step > 0: i // per_step; else i T // n).
    """
    dropped = 0
    for s in range(offsets.shape[0] - 1):
        a = offsets[s]
        b = offsets[s + 1]
        m = b - a
        if m == 0:
            continue
        t0 = t[a] if origin_first else 0
        span = t[b - 1] - t0 + 1
        for i in range(a, b):
            if by_count:
                j = i - a
                k = j // per_step if per_step > 0 else (j * T) // m
            else:
                dt = t[i] - t0
                k = dt // window if window > 0 else (dt * T) // span
            if k >= T or k < 0:
                dropped += 1
                continue
            c = p[i] if split else 0
            r = y[i] // factor
            q = x[i] // factor
            v = out[s, k, c, r, q]
            if v < cap:
                out[s, k, c, r, q] = v + 1
    return dropped


@dataclass(frozen=True)
class Binned:
    """Binned event samples: ``x`` ``(n, T, C, H, W)`` (layout map) or ``(n, T, F)`` (flat), uint8 or
    uint16; ``y`` int64 labels; the sensor and binning they came from; events dropped past step T."""

    x: np.ndarray
    y: np.ndarray
    sensor: tuple
    binning: EventBinning
    name: str
    classes: tuple | None
    dropped: int
    n_events: int

    def unit_interval(self) -> np.ndarray:
        """float32 ``x / cap`` in [0, 1] (counts scaled by max_count; spikes unchanged)."""
        return (self.x.astype(np.float32) / np.float32(self.binning.cap)).astype(np.float32)


def bin_events(source, binning: EventBinning, progress: Callable[[int, int], None] | None = None,
               chunk: int = 256, out: np.ndarray | None = None) -> Binned:
    """Bin every sample of an event source (:mod:`neurochip.events`) with ``binning``.

    The source is read one chunk of ``chunk`` samples at a time (an :class:`~neurochip.events.H5Spikes`
    file never sits in memory whole); only the binned output, ``n T C H W`` cells of 1 or 2 bytes,
    is allocated for all samples (or pass ``out``, e.g. an ``np.memmap``, of that shape and dtype).
    ``progress(done, total)`` is called after each chunk.
    """
    if not isinstance(binning, EventBinning):
        raise NeurochipError(f"event binning: expected an EventBinning, got {type(binning).__name__}")
    n = len(source)
    T, (Wd, Hd, P) = binning.timesteps, source.sensor
    full = (n,) + binning.sample_shape(source.sensor)
    c, h, w = (P if binning.polarity == "split" else 1), -(-Hd // binning.spatial_factor), \
        -(-Wd // binning.spatial_factor)
    if out is None:
        out = np.zeros(full, binning.dtype)
    elif out.shape != full or out.dtype != binning.dtype:
        raise NeurochipError(f"event binning: out must have shape {full} and dtype {binning.dtype}, got "
                             f"{out.shape} {out.dtype}")
    grid = out.reshape(n, T, c, h, w)
    dropped = events = done = 0
    for ch in source.chunks(chunk):
        e = ch.start + ch.n_samples
        dropped += bin_kernel(ch.x, ch.y, ch.p, ch.t, ch.offsets, T, binning.mode == "count",
                              binning.window_us or 0, binning.events_per_step or 0, binning.origin == "first",
                              binning.polarity == "split", binning.spatial_factor, binning.cap,
                              grid[ch.start:e])
        events += int(ch.offsets[-1])
        done = e
        if progress:
            progress(done, n)
    return Binned(out, np.asarray(source.labels, np.int64).copy(), tuple(source.sensor), binning, source.name,
                  getattr(source, "classes", None), int(dropped), events)


def binned_dataset(train: Binned, test: Binned, name: str | None = None):
    """A static :class:`~neurochip.data.Dataset` from binned train and test events, every sample's
    (T, C, H, W) cells flattened into one feature vector scaled to [0, 1] (``x / max_count``).

    This lets today's chip (static input, expanded per step by its encoder) learn from event data
    as a frame stack: time becomes input features, not chip time. It is a baseline, not temporal
    processing; ``shape`` keeps the per-sample (T, C, H, W) shape.
    """
    from .data import Dataset

    for b, what in ((train, "train"), (test, "test")):
        if not isinstance(b, Binned):
            raise NeurochipError(f"binned dataset: {what} must be a Binned result, got {type(b).__name__}")
    if train.x.shape[1:] != test.x.shape[1:] or train.binning != test.binning:
        raise NeurochipError(f"binned dataset: train and test differ in binning or shape "
                             f"({train.x.shape[1:]} vs {test.x.shape[1:]})")
    n_classes = int(max(train.y.max(initial=0), test.y.max(initial=0))) + 1
    flat = lambda b: b.unit_interval().reshape(len(b.x), -1)  # noqa: E731
    return Dataset(flat(train), train.y.copy(), flat(test), test.y.copy(), n_classes, name or train.name,
                   tuple(int(v) for v in train.x.shape[1:]))


def bin_sample(events: np.ndarray, sensor, binning: EventBinning) -> np.ndarray:
    """One structured sample (fields x, y, p, t) binned: shape ``binning.sample_shape(sensor)``."""
    from .events import EventList

    lst = EventList.from_samples([events], np.zeros(1, np.int64), sensor, "sample", allow_empty=True)
    return bin_events(lst, binning).x[0]


__all__ = ["EventBinning", "Binned", "bin_events", "binned_dataset", "bin_sample", "bin_kernel", "MODES", "OUTPUTS",
           "POLARITY",
           "LAYOUTS", "ORIGINS"]
