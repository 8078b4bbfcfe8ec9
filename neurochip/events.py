"""Event data: readers for the formats event sensors and their datasets ship in, validated.

Every reader returns an *event source*: ``len(src)`` samples, ``src.labels`` (int64), ``src.sensor``
``(width, height, polarities)``, ``src.name`` and ``src.chunks(size)``, which yields the events of
consecutive samples as an :class:`EventChunk` (flat ``x, y, p, t`` arrays plus per-sample offsets,
the layout :mod:`neurochip.binning` bins in one numba pass). Times are integer microseconds.

Formats (details and the exact bit/field layouts in docs/data.md):

* :class:`H5Spikes` -- the Spiking Heidelberg Digits / Spiking Speech Commands HDF5 layout:
  ``spikes/times`` and ``spikes/units`` (one variable-length array per sample; times in seconds,
  units ``0..699``), ``labels``; optional ``extra/keys`` (class names). Read per chunk of samples
  straight from the file (never the whole file at once), validated as it is read.
* :func:`read_bin_events` / :func:`load_event_folder` / :func:`load_nmnist` -- N-MNIST and
  N-Caltech101 binary files: 5 bytes (40 bits) per event, big-endian bit fields
  ``x[39:32] y[31:24] p[23] t[22:0]`` (t in microseconds, p 1 = ON); an event with ``y == 240`` is
  a timestamp-overflow marker adding 2^13 us to every later event (as the dataset authors' own
  reader does). A folder per class, as distributed (``Train/0/*.bin ... Test/9/*.bin``).
* :func:`load_event_npz` -- NPZ with a structured ``events`` array (fields ``x, y, p, t`` as
  tonic writes them, or ``unit, t``), ``offsets`` (n + 1 sample boundaries) and ``labels``;
  optional ``sensor_size`` ``(W, H, P)``; or one sample per file with a scalar ``label``.
* :class:`EventList` -- events already in memory (also what the readers above build and what the
  DVS emulation :mod:`neurochip.dvs` produces).

Bad input (out-of-sensor events, negative or unsorted times, an empty sample, a wrong format,
missing labels) raises a one-line :class:`~neurochip.errors.NeurochipError` naming the file and
the sample.
"""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import numpy as np

from .errors import NeurochipError

#: one event in memory: pixel/unit x, row y, polarity channel p, time t in microseconds
EVENT_DTYPE = np.dtype([("x", "<u2"), ("y", "<u2"), ("p", "u1"), ("t", "<i8")])
#: declared sensor sizes (width, height, polarity channels) of the supported datasets
SENSORS = {"nmnist": (34, 34, 2), "ncaltech101": (240, 180, 2), "shd": (700, 1, 1), "ssc": (700, 1, 1)}
#: y value that marks a timestamp-overflow event in N-MNIST / N-Caltech101 binaries
OVERFLOW_Y = 240
OVERFLOW_US = 1 << 13
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"
_MAX_COORD = np.iinfo(np.uint16).max

Progress = Callable[[int, int], None]


def progress_printer(label: str, stream=None, step: float = 0.1) -> Progress:
    """A ``progress(done, total)`` callback writing ``label: 40% (4000/10000)`` lines to ``stream``
    (stderr by default) each time another ``step`` of the total is done, and at the end."""
    import sys

    out = sys.stderr if stream is None else stream
    state = {"next": step}

    def report(done: int, total: int) -> None:
        frac = done / total if total else 1.0
        if frac + 1e-12 >= state["next"] or done >= total:
            out.write(f"{label}: {100 * frac:.0f}% ({done}/{total})\n")
            out.flush()
            while state["next"] <= frac + 1e-12:
                state["next"] += step

    return report


class EventChunk(NamedTuple):
    """Events of samples ``start .. start + len(offsets) - 2``, flat; sample k's events are
    ``[offsets[k], offsets[k + 1])``. x, y uint16; p uint8; t int64 (us); offsets int64."""

    start: int
    x: np.ndarray
    y: np.ndarray
    p: np.ndarray
    t: np.ndarray
    offsets: np.ndarray

    @property
    def n_samples(self) -> int:
        return len(self.offsets) - 1


def _one_line(e: BaseException) -> str:
    msg = " ".join(str(e).split())
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__


def _sensor(sensor, where: str) -> tuple[int, int, int]:
    if isinstance(sensor, str):
        if sensor not in SENSORS:
            raise NeurochipError(f"{where}: unknown sensor {sensor!r} (known: {', '.join(SENSORS)}, or (W, H, P))")
        return SENSORS[sensor]
    try:
        s = tuple(int(v) for v in sensor)
    except (TypeError, ValueError):
        raise NeurochipError(f"{where}: sensor size must be (width, height, polarities), got {sensor!r}") from None
    if len(s) == 2:
        s = s + (2,)
    if len(s) != 3 or min(s) < 1 or max(s[:2]) > _MAX_COORD + 1 or s[2] > 255:
        raise NeurochipError(f"{where}: sensor size must be (width, height, polarities) with positive sizes, "
                             f"got {sensor!r}")
    return s


def check_events(x, y, p, t, sensor: tuple, where: str, allow_empty: bool = False) -> None:
    """Raise a one-line NeurochipError (prefixed by ``where``) unless the events of one sample are
    non-empty, have times >= 0 in non-decreasing order and lie inside ``sensor`` (W, H, P)."""
    n = len(t)
    if n == 0:
        if allow_empty:
            return
        raise NeurochipError(f"{where}: sample has no events")
    if not (len(x) == len(y) == len(p) == n):
        raise NeurochipError(f"{where}: event fields have different lengths (x {len(x)}, y {len(y)}, "
                             f"p {len(p)}, t {n})")
    t = np.asarray(t)
    if t.min() < 0:
        k = int(np.argmax(t < 0))
        raise NeurochipError(f"{where}: negative time {t[k]} us at event {k}")
    if n > 1:
        back = np.diff(t) < 0
        if back.any():
            k = int(np.argmax(back)) + 1
            raise NeurochipError(f"{where}: times are not sorted (event {k} at t={t[k]} us comes after "
                                 f"t={t[k - 1]} us)")
    W, H, P = sensor
    for name, v, lim in (("x", x, W), ("y", y, H), ("polarity", p, P)):
        v = np.asarray(v)
        bad = (v < 0) | (v >= lim)
        if bad.any():
            k = int(np.argmax(bad))
            raise NeurochipError(f"{where}: event {k} has {name} = {int(v[k])}, outside the declared sensor size "
                                 f"{W}x{H} with {P} polarit{'y' if P == 1 else 'ies'} ({name} must be < {lim})")


def _labels(y, where: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise NeurochipError(f"{where}: labels must be 1-D, got shape {y.shape}")
    if y.dtype == np.bool_:
        y = y.astype(np.int64)
    if np.issubdtype(y.dtype, np.floating):
        if not np.isfinite(y).all() or (y != np.round(y)).any():
            raise NeurochipError(f"{where}: labels must be integers")
    elif not np.issubdtype(y.dtype, np.integer):
        raise NeurochipError(f"{where}: labels must be integers, got dtype {y.dtype}")
    if len(y) and y.min() < 0:
        raise NeurochipError(f"{where}: labels must be non-negative, found {int(y.min())}")
    return y.astype(np.int64)


class EventList:
    """Samples of events held in memory in flat (CSR) form: ``x, y, p, t`` over all samples and
    ``offsets`` (n + 1). Build it with :meth:`from_samples` from per-sample structured arrays."""

    def __init__(self, x, y, p, t, offsets, labels, sensor, name: str = "events", classes=None,
                 check: bool = True, allow_empty: bool = False):
        self.x = np.ascontiguousarray(x, np.uint16)
        self.y = np.ascontiguousarray(y, np.uint16)
        self.p = np.ascontiguousarray(p, np.uint8)
        self.t = np.ascontiguousarray(t, np.int64)
        self.offsets = np.ascontiguousarray(offsets, np.int64)
        self.name = name
        self.sensor = _sensor(sensor, name)
        self.labels = _labels(labels, name)
        self.classes = None if classes is None else tuple(str(c) for c in classes)
        if len(self.offsets) != len(self.labels) + 1 or self.offsets[0] != 0 or self.offsets[-1] != len(self.t):
            raise NeurochipError(f"{name}: offsets must be {len(self.labels) + 1} sample boundaries from 0 to "
                                 f"{len(self.t)} (got {len(self.offsets)})")
        if check:
            for i in range(len(self)):
                a, b = self.offsets[i], self.offsets[i + 1]
                check_events(self.x[a:b], self.y[a:b], self.p[a:b], self.t[a:b], self.sensor,
                             f"{name}: sample {i}", allow_empty)

    @classmethod
    def from_samples(cls, samples, labels, sensor, name: str = "events", classes=None, where=None,
                     allow_empty: bool = False, sort: bool = False) -> "EventList":
        """From a list of per-sample arrays with fields x, y, p, t (any numeric dtypes; checked
        before conversion, so negative or too large coordinates are reported, not wrapped).
        ``where``: optional per-sample names for error messages (e.g. file paths). ``sort``: put
        each sample's events in time order (stable) instead of rejecting unsorted times."""
        sensor = _sensor(sensor, name)
        lens = [len(s["t"]) for s in samples]
        offsets = np.zeros(len(samples) + 1, np.int64)
        np.cumsum(lens, out=offsets[1:])
        tot = int(offsets[-1])
        x, y, t = np.empty(tot, np.uint16), np.empty(tot, np.uint16), np.empty(tot, np.int64)
        p = np.empty(tot, np.uint8)
        for i, s in enumerate(samples):
            w = where[i] if where is not None else f"{name}: sample {i}"
            if sort and len(s["t"]) > 1 and (np.diff(np.asarray(s["t"])) < 0).any():
                order = np.argsort(np.asarray(s["t"]), kind="stable")
                s = {k: np.asarray(s[k])[order] for k in ("x", "y", "p", "t")}
            check_events(s["x"], s["y"], s["p"], s["t"], sensor, w, allow_empty)
            a, b = offsets[i], offsets[i + 1]
            x[a:b], y[a:b], p[a:b], t[a:b] = s["x"], s["y"], s["p"], s["t"]
        return cls(x, y, p, t, offsets, labels, sensor, name, classes, check=False)

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n_events(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, i: int) -> np.ndarray:
        """Sample i as a structured :data:`EVENT_DTYPE` array (a copy)."""
        a, b = self.offsets[i], self.offsets[i + 1]
        out = np.empty(b - a, EVENT_DTYPE)
        out["x"], out["y"], out["p"], out["t"] = self.x[a:b], self.y[a:b], self.p[a:b], self.t[a:b]
        return out

    def chunks(self, size: int = 256) -> Iterator[EventChunk]:
        for s in range(0, len(self), size):
            e = min(s + size, len(self))
            a, b = self.offsets[s], self.offsets[e]
            yield EventChunk(s, self.x[a:b], self.y[a:b], self.p[a:b], self.t[a:b], self.offsets[s:e + 1] - a)

    def subset(self, idx) -> "EventList":
        """The samples ``idx`` (in that order) as a new EventList."""
        idx = np.asarray(idx, np.int64)
        return EventList.from_samples([self[i] for i in idx], self.labels[idx], self.sensor, self.name, self.classes,
                                      allow_empty=True)


# ------------------------------------------------------------------------------ SHD / SSC HDF5

class H5Spikes:
    """An SHD / SSC HDF5 file, read a chunk of samples at a time (the file stays on disk).

    ``times_scale``: factor from the file's time unit to microseconds (1e6: seconds, the published
    files). ``n_units``: declared number of input units (700 for SHD and SSC); a unit id at or
    beyond it is an error. ``sort``: put each sample's spikes in time order (stable) instead of
    rejecting unsorted times. The file is opened for each pass of :meth:`chunks` and closed after.
    """

    def __init__(self, path, n_units: int = 700, times_scale: float = 1e6, sort: bool = False):
        self.path = Path(path).expanduser()
        self.sort = bool(sort)
        self.name = str(self.path)
        if isinstance(n_units, bool) or not isinstance(n_units, (int, np.integer)) or n_units < 1:
            raise NeurochipError(f"{self.path}: n_units must be a positive integer, got {n_units!r}")
        self.sensor = (int(n_units), 1, 1)
        self.times_scale = float(times_scale)
        if not (np.isfinite(self.times_scale) and self.times_scale > 0):
            raise NeurochipError(f"{self.path}: times_scale must be a positive number, got {times_scale!r}")
        with self._open() as f:
            times, units, labels = self._datasets(f)
            if len(times) != len(units) or len(times) != len(labels):
                raise NeurochipError(f"{self.path}: spikes/times has {len(times)} samples, spikes/units "
                                     f"{len(units)} and labels {len(labels)}; they must match")
            self.labels = _labels(labels[()], f"{self.path}: labels")
            self.classes = None
            if "extra" in f and isinstance(f["extra"], _h5py().Group) and "keys" in f["extra"]:
                keys = f["extra"]["keys"][()]
                self.classes = tuple(k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k) for k in keys)

    def _open(self):
        h5py = _h5py()
        if not self.path.is_file():
            raise NeurochipError(f"{self.path}: event file not found")
        with open(self.path, "rb") as fh:
            head = fh.read(8)
        if head != _HDF5_MAGIC:
            raise NeurochipError(f"{self.path}: not an HDF5 file (the SHD/SSC layout is HDF5 with spikes/times, "
                                 f"spikes/units, labels)")
        try:
            return h5py.File(self.path, "r")
        except (OSError, ValueError) as e:
            raise NeurochipError(f"{self.path}: cannot read HDF5 file ({_one_line(e)})") from None

    def _datasets(self, f):
        h5py = _h5py()
        out = []
        for key in ("spikes/times", "spikes/units", "labels"):
            obj = f.get(key)
            if obj is None:
                raise NeurochipError(f"{self.path}: missing '{key}' (SHD/SSC layout: spikes/times, spikes/units, "
                                     f"labels; present: {', '.join(sorted(f.keys())) or 'nothing'})")
            if not isinstance(obj, h5py.Dataset) or obj.ndim != 1:
                raise NeurochipError(f"{self.path}: '{key}' must be a 1-D dataset (one entry per sample)")
            out.append(obj)
        for key, obj in zip(("spikes/times", "spikes/units"), out[:2]):
            base = h5py.check_vlen_dtype(obj.dtype)
            if base is None:
                raise NeurochipError(f"{self.path}: '{key}' must hold one variable-length array per sample, "
                                     f"got dtype {obj.dtype}")
            if key.endswith("units") and not np.issubdtype(base, np.integer):
                raise NeurochipError(f"{self.path}: spikes/units must be integers, got {base}")
            if key.endswith("times") and not (np.issubdtype(base, np.floating) or np.issubdtype(base, np.integer)):
                raise NeurochipError(f"{self.path}: spikes/times must be numbers, got {base}")
        return out

    def __len__(self) -> int:
        return len(self.labels)

    def chunks(self, size: int = 256) -> Iterator[EventChunk]:
        with self._open() as f:
            times, units, _ = self._datasets(f)
            n = len(self)
            for s in range(0, n, size):
                e = min(s + size, n)
                tc, uc = times[s:e], units[s:e]
                lens = np.fromiter((len(a) for a in tc), np.int64, e - s)
                ulens = np.fromiter((len(a) for a in uc), np.int64, e - s)
                if (lens != ulens).any():
                    k = int(np.argmax(lens != ulens))
                    raise NeurochipError(f"{self.path}: sample {s + k} has {lens[k]} spike times but {ulens[k]} units")
                offsets = np.zeros(e - s + 1, np.int64)
                np.cumsum(lens, out=offsets[1:])
                t_raw = np.concatenate(tc) if e > s else np.empty(0)
                u_raw = np.concatenate(uc) if e > s else np.empty(0, np.int64)
                if np.issubdtype(t_raw.dtype, np.floating) and not np.isfinite(t_raw).all():
                    k = int(np.searchsorted(offsets, int(np.argmax(~np.isfinite(t_raw))), side="right")) - 1
                    raise NeurochipError(f"{self.path}: sample {s + k} has a NaN or infinite spike time")
                t = np.rint(t_raw.astype(np.float64) * self.times_scale).astype(np.int64)
                if self.sort and len(t) > 1:
                    order = np.lexsort((t, np.repeat(np.arange(e - s), lens)))
                    t, u_raw = t[order], u_raw[order]
                zeros16 = np.zeros(len(t), np.uint16)
                bad = _chunk_faults(u_raw, t, offsets, self.sensor[0])
                for k in bad:  # only samples that fail the vectorised check are re-checked for the message
                    a, b = offsets[k], offsets[k + 1]
                    check_events(u_raw[a:b], zeros16[a:b], zeros16[a:b], t[a:b], self.sensor,
                                 f"{self.path}: sample {s + k}")
                yield EventChunk(s, u_raw.astype(np.uint16), zeros16, np.zeros(len(t), np.uint8), t, offsets)

    def load(self, progress: Progress | None = None, chunk: int = 256) -> EventList:
        """All samples in memory as an EventList (13 bytes per event; the file is not kept)."""
        parts, done = [], 0
        for c in self.chunks(chunk):
            parts.append(c)
            done += c.n_samples
            if progress:
                progress(done, len(self))
        return _concat(parts, self.labels, self.sensor, self.name, self.classes)


def _chunk_faults(units: np.ndarray, t: np.ndarray, offsets: np.ndarray, n_units: int) -> np.ndarray:
    """Indices (within the chunk) of samples that are empty, have a unit outside 0..n_units-1, a
    negative time or a time before its predecessor's: one vectorised pass over the chunk."""
    lens = np.diff(offsets)
    bad_ev = (units < 0) | (units >= n_units) | (t < 0)
    if len(t) > 1:
        back = np.zeros(len(t), bool)
        back[1:] = t[1:] < t[:-1]
        starts = offsets[1:-1]
        back[starts[starts < len(t)]] = False        # a sample's first event has no predecessor in it
        bad_ev |= back
    owner = np.repeat(np.arange(len(lens)), lens)
    bad = np.zeros(len(lens), bool)
    bad[owner[bad_ev]] = True
    bad |= lens == 0
    return np.flatnonzero(bad)


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a dependency
        raise NeurochipError("reading HDF5 needs h5py (pip install h5py)") from None
    return h5py


def _concat(parts: list, labels, sensor, name, classes) -> EventList:
    if not parts:
        return EventList(np.empty(0), np.empty(0), np.empty(0), np.empty(0), np.zeros(1), labels, sensor, name,
                         classes, check=False)
    offs, base = [np.zeros(1, np.int64)], 0
    for c in parts:
        offs.append(c.offsets[1:] + base)
        base += int(c.offsets[-1])
    cat = lambda k: np.concatenate([getattr(c, k) for c in parts])  # noqa: E731
    return EventList(cat("x"), cat("y"), cat("p"), cat("t"), np.concatenate(offs), labels, sensor, name, classes,
                     check=False)


def load_shd(path, n_units: int = 700, progress: Progress | None = None, sort: bool = False) -> EventList:
    """An SHD / SSC HDF5 file read into memory (see :class:`H5Spikes`; for streaming use H5Spikes
    directly with :func:`neurochip.binning.bin_events`)."""
    return H5Spikes(path, n_units, sort=sort).load(progress)


def write_shd(path, samples_times, samples_units, labels, keys=None, times_dtype=np.float16,
              units_dtype=np.uint16) -> None:
    """Write the SHD/SSC layout (for tests and benchmarks): per-sample variable-length
    ``spikes/times`` (seconds) and ``spikes/units``, ``labels`` (uint16), optional ``extra/keys``."""
    h5py = _h5py()
    n = len(labels)
    with h5py.File(path, "w") as f:
        g = f.create_group("spikes")
        dt = g.create_dataset("times", (n,), dtype=h5py.vlen_dtype(np.dtype(times_dtype)))
        du = g.create_dataset("units", (n,), dtype=h5py.vlen_dtype(np.dtype(units_dtype)))
        for i in range(n):
            dt[i] = np.asarray(samples_times[i], times_dtype)
            du[i] = np.asarray(samples_units[i], units_dtype)
        f.create_dataset("labels", data=np.asarray(labels, np.uint16))
        if keys is not None:
            f.create_group("extra").create_dataset("keys", data=np.array([k.encode() for k in keys]))


# ------------------------------------------------------------------- N-MNIST / N-Caltech101

def decode_bin(raw: bytes | np.ndarray, where: str) -> np.ndarray:
    """Decode N-MNIST / N-Caltech101 binary content (5 bytes per event) to :data:`EVENT_DTYPE`,
    applying timestamp-overflow markers (``y == 240``: +2^13 us for all later events, marker dropped)."""
    b = np.frombuffer(raw, np.uint8) if isinstance(raw, (bytes, bytearray, memoryview)) else np.asarray(raw, np.uint8)
    if len(b) % 5:
        raise NeurochipError(f"{where}: not an N-MNIST/N-Caltech101 event file (size {len(b)} bytes is not a "
                             f"multiple of 5)")
    r = b.reshape(-1, 5).astype(np.int64)
    t = ((r[:, 2] & 0x7F) << 16) | (r[:, 3] << 8) | r[:, 4]
    over = r[:, 1] == OVERFLOW_Y
    if over.any():
        t = t + OVERFLOW_US * np.cumsum(over)
    keep = ~over
    out = np.empty(int(keep.sum()), EVENT_DTYPE)
    out["x"], out["y"], out["p"], out["t"] = r[keep, 0], r[keep, 1], r[keep, 2] >> 7, t[keep]
    return out


def encode_bin(events: np.ndarray) -> bytes:
    """Inverse of :func:`decode_bin` for events without overflow (t < 2^23 us): the 40-bit records."""
    ev = np.asarray(events)
    t = np.asarray(ev["t"], np.int64)
    if len(t) and (t.min() < 0 or t.max() >= 1 << 23):
        raise NeurochipError("N-MNIST binary: times must lie in 0 .. 2^23 - 1 us")
    r = np.empty((len(ev), 5), np.uint8)
    r[:, 0], r[:, 1] = ev["x"], ev["y"]
    r[:, 2] = (np.asarray(ev["p"], np.int64) << 7) | (t >> 16)
    r[:, 3], r[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    return r.tobytes()


def read_bin_events(path) -> np.ndarray:
    """One N-MNIST / N-Caltech101 ``.bin`` file as a structured :data:`EVENT_DTYPE` array."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise NeurochipError(f"{path}: cannot read event file ({_one_line(e)})") from None
    return decode_bin(raw, str(path))


def _read_sample_file(path: Path) -> np.ndarray:
    suf = path.suffix.lower()
    if suf == ".bin":
        return read_bin_events(path)
    try:
        if suf == ".npy":
            ev = np.load(path, allow_pickle=False)
        else:
            with np.load(path, allow_pickle=False) as z:
                if "events" not in z.files:
                    raise NeurochipError(f"{path}: missing 'events' (present: {', '.join(z.files) or 'none'})")
                ev = z["events"]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise NeurochipError(f"{path}: cannot read event file ({_one_line(e)})") from None
    return _fields(ev, str(path))


def _class_dirs(root: Path) -> list[Path]:
    dirs = [d for d in root.iterdir() if d.is_dir()]
    if all(d.name.isdigit() for d in dirs):
        return sorted(dirs, key=lambda d: int(d.name))
    return sorted(dirs, key=lambda d: d.name)


def load_event_folder(root, sensor="nmnist", classes=None, progress: Progress | None = None,
                      suffixes=(".bin", ".npy", ".npz"), sort: bool = False) -> EventList:
    """A folder with one subfolder per class holding one event file per sample (``.bin`` N-MNIST
    binaries, or ``.npy`` / ``.npz`` structured event arrays), e.g. ``N-MNIST/Train``.

    Class order: numeric folder names by value (``0 .. 9``), otherwise alphabetical; ``classes``
    fixes it explicitly (e.g. the training split's, for the test split). Files in name order.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise NeurochipError(f"{root}: event folder not found")
    dirs = _class_dirs(root)
    if classes is None:
        classes = [d.name for d in dirs]
    classes = [str(c) for c in classes]
    index = {c: i for i, c in enumerate(classes)}
    files, labels = [], []
    for d in dirs:
        if d.name not in index:
            raise NeurochipError(f"{d}: class folder '{d.name}' is not one of the classes {', '.join(classes)}")
        for fp in sorted(d.iterdir()):
            if fp.is_file() and fp.suffix.lower() in suffixes:
                files.append(fp)
                labels.append(index[d.name])
    if not files:
        raise NeurochipError(f"{root}: no event files ({', '.join(suffixes)}) in class subfolders "
                             f"(found folders: {', '.join(d.name for d in dirs) or 'none'})")
    samples = []
    for i, fp in enumerate(files):
        samples.append(_read_sample_file(fp))
        if progress:
            progress(i + 1, len(files))
    return EventList.from_samples(samples, np.asarray(labels, np.int64), _sensor(sensor, str(root)), str(root),
                                  classes, where=[str(f) for f in files], sort=sort)


def load_nmnist(root, sensor="nmnist", progress: Progress | None = None,
                sort: bool = False) -> tuple[EventList, EventList]:
    """N-MNIST (or N-Caltech101 with ``sensor='ncaltech101'``) as distributed: ``root/Train`` and
    ``root/Test``, each a folder per class. Returns (train, test); the test split uses train's classes."""
    root = Path(root).expanduser()
    tr, te = root / "Train", root / "Test"
    for d in (tr, te):
        if not d.is_dir():
            raise NeurochipError(f"{root}: expected the N-MNIST layout with Train/ and Test/ class folders "
                                 f"({d.name}/ is missing)")
    train = load_event_folder(tr, sensor, progress=progress, sort=sort)
    return train, load_event_folder(te, sensor, classes=train.classes, progress=progress, sort=sort)


# ------------------------------------------------------------------------------------- NPZ

def _fields(ev, where: str, time_scale: float = 1.0) -> np.ndarray:
    """A structured array with fields x, y, p, t or unit, t -> plain dict-like of int arrays."""
    ev = np.asarray(ev)
    names = ev.dtype.names or ()
    if {"x", "y", "p", "t"} <= set(names):
        p = np.asarray(ev["p"])
        if p.dtype == np.bool_:
            p = p.astype(np.int64)
        elif len(p) and p.min() == -1:  # -1 / +1 polarity convention
            p = np.where(p == -1, 0, p)
        fields = {"x": ev["x"], "y": ev["y"], "p": p}
    elif {"unit", "t"} <= set(names):
        z = np.zeros(len(ev), np.int64)
        fields = {"x": ev["unit"], "y": z, "p": z}
    else:
        raise NeurochipError(f"{where}: events must be a structured array with fields x, y, p, t or unit, t "
                             f"(got {'fields ' + ', '.join(names) if names else f'a plain {ev.dtype} array'})")
    for k, v in fields.items():
        v = np.asarray(v)
        if not (np.issubdtype(v.dtype, np.integer) or v.dtype == np.bool_):
            raise NeurochipError(f"{where}: event field {k} must be integers, got {v.dtype}")
    t = np.asarray(ev["t"])
    if np.issubdtype(t.dtype, np.floating):
        if not np.isfinite(t).all():
            raise NeurochipError(f"{where}: event times contain NaN or inf")
        t = np.rint(t * time_scale)
    elif time_scale != 1.0:
        t = np.rint(t.astype(np.float64) * time_scale)
    elif not np.issubdtype(t.dtype, np.integer):
        raise NeurochipError(f"{where}: event field t must be numbers, got {t.dtype}")
    out = {k: np.asarray(v).astype(np.int64) for k, v in fields.items()}
    out["t"] = t.astype(np.int64)
    return out


def load_event_npz(path, sensor=None, time_scale: float = 1.0, sort: bool = False) -> EventList:
    """Events from an NPZ file (layout in the module docstring and docs/data.md).

    ``sensor``: declared (W, H, P) or a name from :data:`SENSORS`; default the file's
    ``sensor_size``, else (units, 1, 1) / (max x + 1, max y + 1, 2) from the data. ``time_scale``
    converts the file's ``t`` to microseconds (1e6 if t is in seconds). ``sort``: order each
    sample's events by time instead of rejecting unsorted times.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise NeurochipError(f"{path}: event file not found")
    with open(path, "rb") as fh:
        if fh.read(4) != _ZIP_MAGIC:
            raise NeurochipError(f"{path}: not an NPZ archive")
    bad = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)
    try:
        with np.load(path, allow_pickle=False) as z:
            files = set(z.files)
            if "events" not in files:
                raise NeurochipError(f"{path}: missing 'events' (present: {', '.join(sorted(files)) or 'none'})")
            ev = z["events"]
            if "labels" in files:
                labels = z["labels"]
                offsets = z["offsets"] if "offsets" in files else None
                if offsets is None:
                    raise NeurochipError(f"{path}: 'labels' given without 'offsets' (n + 1 sample boundaries)")
            elif "label" in files:
                labels, offsets = np.asarray(z["label"]).reshape(1), np.array([0, len(ev)])
            else:
                raise NeurochipError(f"{path}: labels missing (give 'labels' with 'offsets', or 'label' for a "
                                     f"single sample)")
            declared = z["sensor_size"] if "sensor_size" in files else None
    except bad as e:
        raise NeurochipError(f"{path}: cannot read NPZ file ({_one_line(e)})") from None
    f = _fields(ev, str(path), time_scale)
    offsets = np.asarray(offsets).astype(np.int64)
    labels = _labels(labels, f"{path}: labels")
    if offsets.ndim != 1 or len(offsets) != len(labels) + 1 or offsets[0] != 0 or offsets[-1] != len(ev) \
            or (np.diff(offsets) < 0).any():
        raise NeurochipError(f"{path}: offsets must be {len(labels) + 1} non-decreasing sample boundaries "
                             f"from 0 to {len(ev)}")
    if sensor is None and declared is not None:
        sensor = tuple(int(v) for v in np.asarray(declared).reshape(-1))
    if sensor is None:
        has_xy = "x" in (ev.dtype.names or ())
        mx = int(f["x"].max()) + 1 if len(ev) else 1
        sensor = (mx, int(f["y"].max()) + 1 if len(ev) else 1, 2) if has_xy else (mx, 1, 1)
    sensor = _sensor(sensor, str(path))
    samples = []
    for i in range(len(labels)):
        a, b = offsets[i], offsets[i + 1]
        samples.append({k: v[a:b] for k, v in f.items()})
    return EventList.from_samples(samples, labels, sensor, str(path), sort=sort,
                                  where=[f"{path}: sample {i}" for i in range(len(labels))])


def save_event_npz(path, events: EventList, unit_fields: bool = False) -> None:
    """Write ``events`` in the NPZ layout :func:`load_event_npz` reads (fields x, y, p, t as int16 /
    bool / int64 like tonic, or unit, t), with offsets, labels and sensor_size."""
    if unit_fields:
        ev = np.empty(events.n_events, [("unit", "<i2"), ("t", "<i8")])
        ev["unit"], ev["t"] = events.x, events.t
    else:
        ev = np.empty(events.n_events, [("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])
        ev["x"], ev["y"], ev["t"], ev["p"] = events.x, events.y, events.t, events.p.astype(bool)
    np.savez(path, events=ev, offsets=events.offsets, labels=events.labels,
             sensor_size=np.asarray(events.sensor, np.int64))


def open_events(path, sensor=None, progress: Progress | None = None):
    """Any supported event input by its content: an HDF5 file (SHD/SSC layout, streamed), an NPZ
    file, or a class folder of event files (an ``N-MNIST``-style root with Train/Test returns
    ``(train, test)``)."""
    p = Path(path).expanduser()
    if p.is_dir():
        if (p / "Train").is_dir() and (p / "Test").is_dir():
            return load_nmnist(p, sensor or "nmnist", progress)
        return load_event_folder(p, sensor or "nmnist", progress=progress)
    if not p.is_file():
        raise NeurochipError(f"{p}: event file or folder not found")
    with open(p, "rb") as fh:
        head = fh.read(8)
    if head == _HDF5_MAGIC:
        return H5Spikes(p, _sensor(sensor if sensor is not None else "shd", str(p))[0])
    if head.startswith(_ZIP_MAGIC):
        return load_event_npz(p, sensor)
    raise NeurochipError(f"{p}: unknown event format (expected SHD/SSC HDF5, an event NPZ, or a folder of "
                         f"class folders with .bin files)")


__all__ = ["EVENT_DTYPE", "SENSORS", "progress_printer", "EventChunk", "EventList", "H5Spikes", "check_events",
           "load_shd",
           "write_shd", "decode_bin", "encode_bin", "read_bin_events", "load_event_folder", "load_nmnist",
           "load_event_npz", "save_event_npz", "open_events"]
