"""Event data as per-step chip input: an event file or folder (or the emulated saccade digits),
binned onto the network's T steps (:class:`neurochip.binning.EventBinning`), as a
:class:`~neurochip.data.Dataset` of integer rasters ``(n, T, features)`` for the raster encoders.

The dataset info kept in a checkpoint (``event_info``) holds the source and the binning, so
``eval`` and ``energy`` re-bin exactly as training did:

* ``{"name": "events", "path": ..., "binning": {...}, "seed": s, "test_fraction": f}``: a file or
  folder :func:`neurochip.events.open_events` reads; a source that is one split (an SHD file, an
  event NPZ, a class folder) is split ``test_fraction`` into test by a permutation of ``seed``; an
  N-MNIST root with Train/Test keeps its own splits.
* ``{"name": "digits-events", "seed": s, "binning": {...}}``: the embedded digits turned into
  events by the saccade DVS emulation (:func:`neurochip.dvs.digits_events`): **an emulation, not a
  recording**.
"""
from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from .binning import EventBinning, bin_events
from .errors import NeurochipError

TEST_FRACTION = 0.2
_ZIP_MAGIC = b"PK\x03\x04"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def is_event_source(path) -> bool:
    """True for event input: an HDF5 file with a ``spikes`` group (SHD/SSC), an NPZ with an
    ``events`` array, or a folder of class folders (or Train/Test of them) holding ``.bin`` files.
    Static data (x_train... NPZ/HDF5, MNIST IDX folders) is False."""
    p = Path(path).expanduser()
    if p.is_dir():
        return any(p.glob("*/*.bin")) or any(p.glob("Train/*/*.bin"))
    if not p.is_file():
        return False
    with open(p, "rb") as fh:
        head = fh.read(8)
    try:
        if head == _HDF5_MAGIC:
            import h5py

            with h5py.File(p, "r") as f:
                return "spikes" in f
        if head.startswith(_ZIP_MAGIC):
            with zipfile.ZipFile(p) as z:
                return "events.npy" in z.namelist()
    except (OSError, ValueError, zipfile.BadZipFile):
        return False
    return False


def event_info(binning: EventBinning, seed: int, path=None, name: str = "events") -> dict:
    """The checkpoint's dataset info for event data (see the module docstring)."""
    info = {"name": name, "seed": int(seed), "binning": binning.to_dict()}
    if path is not None:
        info["path"] = str(Path(path).expanduser().resolve())
        info["test_fraction"] = TEST_FRACTION
    return info


def _split(n: int, seed: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * fraction))
    if n_test < 1 or n_test >= n:
        raise NeurochipError(f"event data: {n} samples cannot be split {fraction:.0%} into a test set "
                             f"(give an N-MNIST-style root with Train/Test, or more samples)")
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def _progress(label: str, enabled: bool):
    if not enabled:
        return None
    from .events import progress_printer

    return progress_printer(label)


def load_event_dataset(info: dict, progress: bool = False):
    """Bin the source ``info`` names (see the module docstring) into a Dataset of integer rasters
    (layout flat: ``(n, T, C H W)``, uint8 or uint16; ``Dataset.shape`` is the map ``(T, C, H, W)`` the
    rows flatten, C order, so a convolution reads them as ``(C, H, W)`` images)."""
    from .data import Dataset

    binning = EventBinning.from_dict(dict(info["binning"], layout="flat"))
    seed = int(info.get("seed", 0))
    name = info.get("name")
    if name == "digits-events":
        from .dvs import digits_events

        tr, te = digits_events(seed)
        label = "digits-events (emulated saccade DVS)"
    elif name == "events" and info.get("path"):
        from .events import open_events

        src = open_events(info["path"], progress=_progress("reading events", progress))
        label = str(info["path"])
        if isinstance(src, tuple):
            tr, te = src
        else:
            b = bin_events(src, binning, _progress("binning", progress))
            itr, ite = _split(len(b.y), seed, float(info.get("test_fraction", TEST_FRACTION)))
            return _dataset(b.x[itr], b.y[itr], b.x[ite], b.y[ite], binning, label, b.sensor)
    else:
        raise NeurochipError(f"event data: unknown source {name!r} (want 'events' with a path, or 'digits-events')")
    btr = bin_events(tr, binning, _progress("binning train", progress))
    bte = bin_events(te, binning, _progress("binning test", progress))
    return _dataset(btr.x, btr.y, bte.x, bte.y, binning, label, btr.sensor)


def _dataset(xtr, ytr, xte, yte, binning: EventBinning, name: str, sensor):
    from .data import Dataset

    shape = replace(binning, layout="map").sample_shape(sensor)    # (T, C, H, W): what the rows hold

    if len(ytr) == 0 or len(yte) == 0:
        raise NeurochipError(f"{name}: no samples in the {'training' if len(ytr) == 0 else 'test'} split")
    n_classes = int(max(ytr.max(), yte.max())) + 1
    return Dataset(xtr, ytr.astype(np.int64), xte, yte.astype(np.int64), n_classes, name, tuple(shape),
                   full_scale=int(binning.cap), spikes=binning.output == "spike")


def _shape_str(shape) -> str:
    return "x".join(str(int(v)) for v in shape)


def event_input_shape(ds, input_shape: tuple = ()) -> tuple[int, int, int]:
    """The ``(C, H, W)`` map one step of event data ``ds`` fills (channels = polarities kept, after
    pooling), for convolution layers: ``input_shape`` if it is that map, else a one-line error; ``()``
    takes the map."""
    if not ds.full_scale or len(ds.shape) != 4:
        raise NeurochipError(f"{ds.name}: not binned event data (no per-step (C, H, W) map)")
    sensor = tuple(int(v) for v in ds.shape[1:])
    if input_shape and tuple(int(v) for v in input_shape) != sensor:
        raise NeurochipError(f"{ds.name}: the events bin to {_shape_str(sensor)} (C x H x W) maps per step "
                             f"(sensor, polarity and pooling), but the conv input shape is {_shape_str(input_shape)}")
    return sensor


def check_event_input(ds, cfg) -> None:
    """One-line error unless event data ``ds`` fits network ``cfg``: a network whose first layer
    takes a ``(C, H, W)`` image needs exactly the map the events bin to (a dense first layer takes
    the flat vector, so only the count is checked, by the caller)."""
    if cfg.input_shape and ds.full_scale and len(ds.shape) == 4:
        event_input_shape(ds, cfg.input_shape)


__all__ = ["is_event_source", "event_info", "load_event_dataset", "event_input_shape", "check_event_input",
           "TEST_FRACTION"]
