"""Datasets: scikit-learn's bundled digits (offline) and the user's own files, validated.

* :func:`load_digits`: 8x8 digits, pixels 0..16 scaled to [0, 1], stratified split
  ``train_test_split(test_size=0.2, random_state=seed, stratify=y)`` (1437 / 360 samples).
* :func:`load_file`: NPZ in the keras MNIST layout (``x_train, y_train, x_test, y_test``), HDF5 with
  the same four datasets at its root, or a directory of MNIST IDX files (plain or ``.gz``).
* :func:`load_dataset`: exactly one of a bundled name (``'digits'``, ``'yinyang'``) or a path.
  ``'yinyang'`` is the Yin-Yang benchmark generated in :mod:`neurochip.yinyang` (standard splits,
  5000 train / 1000 test, 4 inputs, 3 classes; the same split whatever the seed).

Event data (SHD/SSC HDF5, N-MNIST/N-Caltech101 binaries, event NPZ) are read by
:mod:`neurochip.events` and binned onto chip steps by :mod:`neurochip.binning` (docs/data.md).

Images of any size are flattened to ``(n, features)`` float32 in [0, 1]; the original per-sample
shape is kept in :attr:`Dataset.shape`. Labels become 1-D int64 ``0..n_classes-1``.

Every problem (missing file or key, corrupt file, shapes, NaN/inf, labels) raises a one-line
:class:`~neurochip.errors.NeurochipError` that names the file and the problem. Nothing here prints
or keeps state between calls.
"""
from __future__ import annotations

import gzip
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from math import prod
from pathlib import Path

import numpy as np

from .errors import NeurochipError

KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_NAMES = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}
# IDX type codes (third magic byte); multi-byte types are big-endian.
IDX_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
BUNDLED = ("digits", "yinyang")
_NPZ_SUFFIXES = (".npz",)
_H5_SUFFIXES = (".h5", ".hdf5")
_ZIP_MAGIC = b"PK\x03\x04"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_LABEL = 2 ** 31 - 1


@dataclass(frozen=True)
class Dataset:
    """A train/test split ready for the simulator.

    ``x_*``: float32, shape ``(n, n_features)``, values in [0, 1]. ``y_*``: int64, shape ``(n,)``,
    values in ``0..n_classes-1``. ``shape``: the original shape of one sample (``(8, 8)`` for
    digits, ``(28, 28)`` for MNIST). ``name``: ``'digits'`` or the path the data came from.

    Example::

        ds = neurochip.load_data("digits")
        print(ds.x_train.shape, ds.n_classes, ds.n_features)
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str
    shape: tuple
    # per-step (event) data: x_* are integer counts (n, T, features) for the raster encoders,
    # ``full_scale`` the count that is full-scale input (0: static data), ``spikes`` 0/1 rasters
    full_scale: int = 0
    spikes: bool = False

    @property
    def n_features(self) -> int:
        return int(np.prod(self.x_train.shape[2:])) if self.x_train.ndim >= 3 else int(self.x_train.shape[1])


def _one_line(e: BaseException) -> str:
    """An exception as one line: its type and its message with all whitespace runs collapsed."""
    msg = " ".join(str(e).split())
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__


def load_digits(seed: int = 0, test_size: float = 0.2) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 samples, no download), pixels 0..16 divided by 16.

    Split with ``train_test_split(test_size=test_size, random_state=seed, stratify=y)``; the
    default 0.2 gives 1437 training and 360 test samples, the same split for the same seed.
    """
    from sklearn.datasets import load_digits as _digits
    from sklearn.model_selection import train_test_split

    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)) or not 0.0 < test_size < 1.0:
        raise NeurochipError(f"digits: test_size must be a fraction strictly between 0 and 1, got {test_size!r}")
    d = _digits()
    x = (d.data / 16.0).astype(np.float32)
    y = np.asarray(d.target, dtype=np.int64)
    try:
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)
    except ValueError as e:  # e.g. a test split smaller than the number of classes
        raise NeurochipError(f"digits: cannot split with test_size={test_size} ({_one_line(e)})") from None
    return Dataset(xtr, ytr, xte, yte, 10, "digits", (8, 8))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse one MNIST IDX file, gzipped or not (recognised by its gzip magic, not its name).

    Layout: magic ``0x00 0x00 <type code> <ndim>``, then ``ndim`` big-endian uint32 sizes, then
    exactly ``prod(sizes)`` big-endian items. Anything else raises NeurochipError.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == _GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise NeurochipError(f"{path}: cannot read IDX file ({_one_line(e)})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise NeurochipError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'none'})")
    if raw[2] not in IDX_DTYPES:
        raise NeurochipError(f"{path}: IDX file has unknown data type code 0x{raw[2]:02x}")
    ndim = raw[3]
    if ndim < 1:
        raise NeurochipError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise NeurochipError(f"{path}: IDX header is truncated ({len(raw)} bytes, needs {header} for {ndim} dims)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dt = IDX_DTYPES[raw[2]]
    want = prod(dims) * dt.itemsize
    got = len(raw) - header
    if got != want:
        raise NeurochipError(f"{path}: IDX payload has {got} bytes but the header dims {dims} need {want}")
    return np.frombuffer(raw, dtype=dt, offset=header).reshape(dims)


def _read_idx_dir(path: Path) -> dict:
    found, missing = {}, []
    for key, names in IDX_NAMES.items():
        cands = [path / (n + gz) for n in names for gz in ("", ".gz")]
        hit = next((c for c in cands if c.is_file()), None)
        if hit is None:
            missing.append(f"{names[0]}[.gz]")
        else:
            found[key] = hit
    if missing:
        try:
            present = sorted(p.name for p in path.iterdir())
        except OSError:
            present = []
        shown = ", ".join(present[:8]) + (", ..." if len(present) > 8 else "") if present else "nothing"
        raise NeurochipError(f"{path}: missing MNIST IDX files {', '.join(missing)} (directory holds: {shown})")
    return {k: read_idx(p) for k, p in found.items()}


def _missing_keys(path: Path, what: str, present: list) -> None:
    missing = [k for k in KEYS if k not in present]
    if missing:
        raise NeurochipError(f"{path}: missing {what} {', '.join(missing)} "
                             f"(present: {', '.join(map(str, present)) or 'none'})")


def _read_npz(path: Path) -> dict:
    bad = (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error)
    try:
        z = np.load(path, allow_pickle=False)
    except bad as e:
        raise NeurochipError(f"{path}: cannot read NPZ file ({_one_line(e)})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise NeurochipError(f"{path}: holds a single array, not an NPZ archive with keys {', '.join(KEYS)}")
    with z:
        if "events" in z.files and "x_train" not in z.files:
            raise NeurochipError(f"{path}: holds event data ('events'), not x_train/y_train/x_test/y_test; event "
                                 f"files are read with neurochip.events and binned onto steps (docs/data.md)")
        _missing_keys(path, "keys", list(z.files))
        try:
            return {k: z[k] for k in KEYS}
        except bad as e:  # a damaged member, or an object array (needs pickle)
            raise NeurochipError(f"{path}: cannot read NPZ file ({_one_line(e)})") from None


def _read_h5(path: Path) -> dict:
    try:
        import h5py
    except ImportError:
        raise NeurochipError(f"{path}: reading HDF5 needs h5py (pip install h5py)") from None
    try:
        f = h5py.File(path, "r")
    except (OSError, ValueError) as e:
        raise NeurochipError(f"{path}: cannot read HDF5 file ({_one_line(e)})") from None
    with f:
        if "spikes" in f and "x_train" not in f:
            raise NeurochipError(f"{path}: holds event data in the SHD/SSC layout (spikes/times, spikes/units), not "
                                 f"x_train/y_train/x_test/y_test; event files are read with neurochip.events and "
                                 f"binned onto steps (docs/data.md)")
        _missing_keys(path, "datasets", list(f.keys()))
        out = {}
        for k in KEYS:
            try:
                obj = f[k]
                if not isinstance(obj, h5py.Dataset):
                    raise NeurochipError(f"{path}: '{k}' is an HDF5 {type(obj).__name__}, not a dataset")
                out[k] = np.asarray(obj[()])
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise NeurochipError(f"{path}: cannot read HDF5 dataset '{k}' ({_one_line(e)})") from None
        return out


def _labels(y: np.ndarray, where: str) -> np.ndarray:
    if y.dtype == np.bool_:
        y = y.astype(np.int64)
    if np.issubdtype(y.dtype, np.floating):
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            raise NeurochipError(f"{where}: labels must be integers, found non-integer value {float(y[bad][0])!r}")
    elif not np.issubdtype(y.dtype, np.integer):
        raise NeurochipError(f"{where}: labels must be integers, got dtype {y.dtype}")
    lo, hi = y.min(), y.max()
    if lo < 0:
        raise NeurochipError(f"{where}: labels must be non-negative, found negative label {int(lo)}")
    if hi > _MAX_LABEL:
        raise NeurochipError(f"{where}: label {int(hi)} is too large (labels are class indices 0..n_classes-1)")
    return y.astype(np.int64)


def _scaler(ref: np.ndarray):
    """How to map x to [0, 1], decided from the training split ``ref`` alone.

    * bool: 0/1. uint8: ``x / 255``.
    * other integers: ``x / max(train)`` when the max is above 1 (else unchanged); if train has
      negative values, min-max scaling with train's min and max instead.
    * floats: unchanged when train is already within [0, 1]; otherwise min-max scaled with train's
      min and max, ``(x - min) / (max - min)``.

    The same map is applied to the test split, then clipped to [0, 1] (test values beyond train's
    range would otherwise leave it). A constant train split maps to zeros.
    """
    kind = ref.dtype
    if kind == np.bool_ or kind == np.uint8:
        return 0.0, (1.0 if kind == np.bool_ else 255.0)
    lo, hi = ref.min(), ref.max()
    if np.issubdtype(kind, np.integer):
        if lo >= 0:
            return 0.0, float(hi) if hi > 1 else 1.0
    elif lo >= 0 and hi <= 1:
        return 0.0, 1.0
    span = float(hi) - float(lo)
    return float(lo), span if span > 0 else 1.0


def _apply(x: np.ndarray, offset: float, scale: float) -> np.ndarray:
    work = np.promote_types(x.dtype, np.float32) if np.issubdtype(x.dtype, np.floating) else np.float32
    out = x.astype(work)
    if offset:
        out -= offset
    if scale != 1.0:
        out /= scale
    np.clip(out, 0.0, 1.0, out=out)
    return np.ascontiguousarray(out, dtype=np.float32)


def validate(d: dict, name: str) -> Dataset:
    """Check the four arrays of ``d`` (keys :data:`KEYS`) and build a :class:`Dataset` named ``name``."""
    xs, ys = {}, {}
    for split in ("train", "test"):
        x, y = np.asarray(d[f"x_{split}"]), np.asarray(d[f"y_{split}"])
        if x.ndim < 2:
            raise NeurochipError(f"{name}: x_{split} must be (samples, features...) but has shape {x.shape}")
        if y.ndim != 1:
            raise NeurochipError(f"{name}: y_{split} labels must be 1-D but have shape {y.shape}")
        if len(x) == 0 or len(y) == 0:
            raise NeurochipError(f"{name}: the {split} split is empty (x_{split} {x.shape}, y_{split} {y.shape})")
        if len(x) != len(y):
            raise NeurochipError(f"{name}: length mismatch: x_{split} has {len(x)} samples but y_{split} has {len(y)} labels")
        if prod(x.shape[1:]) == 0:
            raise NeurochipError(f"{name}: x_{split} samples have no features (shape {x.shape})")
        if not (x.dtype == np.bool_ or np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
            raise NeurochipError(f"{name}: x_{split} must be numeric, got dtype {x.dtype}")
        if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
            raise NeurochipError(f"{name}: x_{split} contains NaN or inf")
        xs[split], ys[split] = x, y
    if xs["train"].shape[1:] != xs["test"].shape[1:]:
        raise NeurochipError(f"{name}: sample shapes differ: x_train has {xs['train'].shape[1:]}, "
                             f"x_test has {xs['test'].shape[1:]}")
    ytr = _labels(ys["train"], f"{name}: y_train")
    yte = _labels(ys["test"], f"{name}: y_test")
    n_classes = int(max(ytr.max(), yte.max())) + 1
    if n_classes < 2:
        raise NeurochipError(f"{name}: need at least 2 classes, but every label is 0")
    shape = tuple(int(s) for s in xs["train"].shape[1:])
    flat = {s: x.reshape(len(x), -1) for s, x in xs.items()}
    offset, scale = _scaler(flat["train"])
    return Dataset(_apply(flat["train"], offset, scale), ytr, _apply(flat["test"], offset, scale), yte,
                   n_classes, name, shape)


def _classes(c, verb: str) -> str:
    """'class 3 appears' / 'classes 3, 4 appear' (at most 20 listed)."""
    c = sorted(int(k) for k in c)
    shown = ", ".join(map(str, c[:20])) + (f", ... ({len(c)} in all)" if len(c) > 20 else "")
    return f"classes {shown} {verb}" if len(c) > 1 else f"class {shown} {verb}s"


def class_coverage(ds: Dataset) -> str | None:
    """None if every class 0..n_classes-1 appears in both splits; else one line naming the classes
    that only one split has (or neither: a gap in the labels). The caller decides how to warn."""
    tr, te = set(np.unique(ds.y_train).tolist()), set(np.unique(ds.y_test).tolist())
    parts = []
    if tr - te:
        parts.append(f"{_classes(tr - te, 'occur')} in the training set but never in the test set")
    if te - tr:
        parts.append(f"{_classes(te - tr, 'occur')} in the test set but never in the training set (never learned)")
    gap = set(range(ds.n_classes)) - tr - te
    if gap:
        parts.append(f"{_classes(gap, 'occur')} in neither split (labels are class indices 0..{ds.n_classes - 1})")
    return "; ".join(parts) or None


def _sniff(p: Path) -> bytes:
    try:
        with open(p, "rb") as f:
            return f.read(8)
    except OSError as e:
        raise NeurochipError(f"{p}: cannot read file ({_one_line(e)})") from None


def load_file(path: str | os.PathLike) -> Dataset:
    """Load the user's data from ``path`` and validate it (see the module docstring for scaling).

    * a ``.npz`` file: keras MNIST layout, keys ``x_train, y_train, x_test, y_test``;
    * an ``.h5`` / ``.hdf5`` file: the same four datasets at the root;
    * a directory: the four MNIST IDX files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
      ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (or ``train-images.idx3-ubyte`` style),
      each optionally ``.gz``.

    A file with another suffix is recognised by its content (zip -> NPZ, HDF5 signature -> HDF5).
    """
    if str(path) == "":
        raise NeurochipError("data path is empty")
    p = Path(path).expanduser()
    if not p.exists():
        raise NeurochipError(f"{p}: data file or directory not found")
    if p.is_dir():
        raw = _read_idx_dir(p)
    elif not p.is_file():
        raise NeurochipError(f"{p}: not a regular file or directory")
    else:
        suffix = p.suffix.lower()
        if suffix in _NPZ_SUFFIXES:
            raw = _read_npz(p)
        elif suffix in _H5_SUFFIXES:
            raw = _read_h5(p)
        else:
            head = _sniff(p)
            if head.startswith(_ZIP_MAGIC):
                raw = _read_npz(p)
            elif head.startswith(_HDF5_MAGIC):
                raw = _read_h5(p)
            else:
                raise NeurochipError(f"{p}: unknown data format (use .npz, .h5/.hdf5 or a directory of MNIST IDX files)")
    return validate(raw, str(p))


def load_dataset(name: str | None, path: str | os.PathLike | None, seed: int = 0) -> Dataset:
    """``name='digits'`` (split with ``seed``), ``name='yinyang'`` (fixed standard splits, ``seed``
    unused) or a ``path`` for :func:`load_file`; exactly one of them."""
    if name is not None and path is not None:
        raise NeurochipError(f"give a dataset name or a data path, not both (got name {name!r} and path '{path}')")
    if name is None and path is None:
        raise NeurochipError(f"give a dataset name ({', '.join(BUNDLED)}) or a data path; got neither")
    if path is not None:
        return load_file(path)
    if name not in BUNDLED:
        raise NeurochipError(f"unknown dataset {name!r} (bundled: {', '.join(BUNDLED)})")
    if name == "yinyang":
        from .yinyang import load_yinyang

        return load_yinyang()
    return load_digits(seed=seed)
