"""The public Python API: everything the ``neurochip`` command does, for notebooks and scripts.

The names listed in ``docs/api.md`` (and in ``neurochip.__all__``) are the stable surface; they are
importable from the package top (``import neurochip as nc``). Anything else may change.

A session::

    import neurochip as nc

    prof = nc.load_profile("loihi").replace("synapse.weight_bits", 6)
    net = nc.build([nc.Dense(64, 128), nc.Dense(128, 10)], prof, timesteps=8)
    hist = net.fit("digits", epochs=3, on_epoch=lambda h: print(h.test_acc[-1]))
    print(net.evaluate().accuracy)
    net.save("run.h5")
    rec = nc.load("run.h5").run_sample(nc.load_data("digits").x_test[0])
    report = net.energy()              # EnergyReport, report.to_dict() is the CLI's --json

Orchestration only: the arithmetic stays in the kernels (:mod:`neurochip.kernels`), the training
loop in :mod:`neurochip.train`, the energy model in :mod:`neurochip.energy` and the Lava export in
:mod:`neurochip.lava`. The CLI (:mod:`neurochip.cli`) is a thin layer over this module. Bad input
raises :class:`~neurochip.errors.NeurochipError` with the one-line message the CLI prints after
``Error:``; nothing here exits the process.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import os
import sys
import time
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Mapping, Sequence, Union

import numpy as np

from .binning import EventBinning
from .data import Dataset
from .errors import NeurochipError
from .layers import AvgPool2d, Conv2d, Dense, Flatten, RecurrentDense, SumPool2d
from .network import (DECODERS, ENCODERS, FEEDBACK, LOSSES, LR_SCHEDULES, OPTIMIZERS, CUBA_TRACES, PRECISIONS, READOUTS, RULES,
                      NetworkConfig)
from .profile import Profile
from .surrogate import SURROGATES
from .train import TRAIN_EVAL, History

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .energy.counts import Counts
    from .energy.neurobench import Footprint, NeuroBench
    from .engine import Engine
    from .lava.export import Comparison, LavaExport
    from .lava.learning_task import LearnComparison
    from .nir_import import ImportReport

#: default learning rate per optimizer (the chip learns by plain SGD; momentum and adam are float)
DEFAULT_LR = {"sgd": 0.05, "momentum": 0.01, "adam": 0.001}
#: the profile a network is built on when none is given
DEFAULT_PROFILE = "loihi"

#: the allowed values of every option that takes a name (what the CLI offers as choices)
CHOICES: dict[str, tuple[str, ...]] = {
    "precision": PRECISIONS, "rule": RULES, "encoder": ENCODERS, "readout": READOUTS, "loss": LOSSES,
    "decoder": DECODERS, "feedback": FEEDBACK, "optimizer": OPTIMIZERS, "lr_schedule": LR_SCHEDULES, "cuba_trace": CUBA_TRACES,
    "surrogate": tuple(SURROGATES), "dataset": ("digits", "yinyang", "digits-events"),
    "nir_convention": ("euler", "norse", "sinabs"),
}

ProfileLike = Union[Profile, str, "os.PathLike[str]"]
DataLike = Union[Dataset, str, "os.PathLike[str]", Mapping[str, Any], Sequence[Any]]
ProgressFactory = Callable[[int, str], ContextManager[Any]]
LayerSpec = Union[Dense, RecurrentDense, Conv2d, SumPool2d, AvgPool2d, Flatten]
LayersLike = Union[Sequence[LayerSpec], Sequence[int], str, "os.PathLike[str]"]


# ---- the process ---------------------------------------------------------------------------------

def set_threads(n: int | None) -> int:
    """Threads that inference passes (evaluation, test passes, energy counts, Lava reference runs)
    use from now on, process-wide; ``None`` keeps the current setting (default: all cores, or
    ``NUMBA_NUM_THREADS``). Results are identical for any number; learning stays sequential.
    Returns the setting.

    Example::

        nc.set_threads(1)        # reproducible timing on a shared machine
    """
    from .parallel import set_threads as _set

    return _set(n)


def check_output(path: str | os.PathLike[str], *, overwrite: bool = False, option: str = "path") -> Path:
    """Check, before any work, that ``path`` can be written: not a folder, its folder (or the
    nearest existing ancestor: missing folders are made when writing) a writable folder, and not an
    existing file unless ``overwrite``. ``option`` names the path in the message. Returns the path.

    Example::

        nc.check_output("runs/a.h5", option="--out")     # raises if runs/a.h5 exists
    """
    p = Path(path)
    if p.is_dir():
        raise NeurochipError(f"{option} {path} is a folder; give a file name")
    if p.exists() and not overwrite:
        raise NeurochipError(f"{path} exists; pass --overwrite to replace it")
    parent = p.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NeurochipError(f"{option} {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK):
        raise NeurochipError(f"{option} {path}: cannot write in {parent}")
    return p


# ---- profiles -----------------------------------------------------------------------------------

def load_profile(source: ProfileLike) -> Profile:
    """A hardware profile: a bundled name (``"loihi"``), a path to a ``.toml`` file, or a
    :class:`Profile` (returned as is). Change a key with :meth:`Profile.replace`.

    Example::

        p = nc.load_profile("loihi").replace("learning.trace_bits", 8)
    """
    from .profile import load_profile as _load

    if isinstance(source, Profile):
        return source
    return _load(source)


def list_profiles() -> list[str]:
    """Names of the bundled hardware profiles, sorted (each loads with :func:`load_profile`).

    Example::

        for name in nc.list_profiles():
            print(name, nc.load_profile(name).description)
    """
    from .profile import list_profiles as _list

    return [p.stem for p in _list()]


def profile_summaries() -> list[dict[str, Any]]:
    """One dict per bundled profile file (what ``neurochip profiles --json`` prints): its bit widths,
    leak, reset and compare for a profile that simulates; ``pricing_only`` for one that only prices
    energy; ``error`` (the one-line message) for a file that does not load.

    Example::

        for row in nc.profile_summaries():
            print(row["name"], row.get("weight_bits"))
    """
    from .profile import list_profiles as _list, load_profile as _load

    rows: list[dict[str, Any]] = []
    for p in _list():
        try:
            prof = _load(p)
        except NeurochipError as e:
            rows.append({"name": p.stem, "error": str(e)})
            continue
        if not prof.can_simulate:
            rows.append({"name": prof.name, "pricing_only": True, "description": prof.description, "path": str(p)})
            continue
        n, syn, lrn = prof.neuron, prof.synapse, prof.learning
        assert n is not None and syn is not None and lrn is not None    # a profile that can simulate
        rows.append({"name": prof.name, "lava_exact": prof.lava_exact, "membrane_bits": n.membrane_bits,
                     "weight_bits": syn.weight_bits, "trace_bits": lrn.trace_bits, "error_bits": lrn.error_bits,
                     "accumulator_bits": lrn.accumulator_bits, "leak": f"k={n.leak_shift} {n.leak_rounding}",
                     "reset": n.reset, "compare": n.compare, "description": prof.description, "path": str(p)})
    return rows


# ---- data ---------------------------------------------------------------------------------------

# where a Dataset came from (for checkpoints): id(dataset) -> {"name"|"path", "seed", ...}
_SOURCES: dict[int, dict] = {}


def _remember(ds: Dataset, info: dict) -> Dataset:
    key = id(ds)
    _SOURCES[key] = dict(info)
    weakref.finalize(ds, _SOURCES.pop, key, None)
    return ds


def load_data(source: DataLike = "digits", seed: int = 0, *, binning: EventBinning | Mapping[str, Any] | None = None,
              progress: bool = False) -> Dataset:
    """A train/test split ready for the simulator (features scaled to [0, 1], integer labels).

    ``source``: a bundled dataset name (``"digits"``, ``"yinyang"``, split with ``seed``); a path
    to ``.npz``, ``.h5`` or a folder of MNIST IDX files (a :class:`pathlib.Path` is always read as
    a path); arrays as a mapping with keys ``x_train, y_train, x_test, y_test`` or the tuple
    ``(x_train, y_train, x_test, y_test)``; or a :class:`Dataset` (returned as is). Checkpoints
    record the name or path, so a run trained on arrays is saved with the dataset name
    ``"arrays"`` (give the data again to evaluate or resume it).

    Event data (``"digits-events"``, emulated saccade DVS events of the digits; or a path to SHD/SSC
    ``.h5``, an event ``.npz`` or an N-MNIST folder) is binned onto the chip's T steps by
    ``binning`` (an :class:`EventBinning`, or a dict of its fields over the defaults: 8 steps by
    time, counts up to 8, polarities split, flat layout; static data ignores it:
    ``Dataset.full_scale`` is 0 there); ``progress`` prints reading
    and binning progress on stderr. A network built on such data
    takes per-step input (``encoder="raster"`` or ``"raster-spikes"``, set by :func:`build`).

    Example::

        ds = nc.load_data("digits", seed=1)
        ds = nc.load_data((x_tr, y_tr, x_te, y_te))
        ev = nc.load_data("digits-events", binning=nc.EventBinning(16, max_count=4, layout="flat"))
    """
    from .data import BUNDLED, load_dataset, validate

    if isinstance(source, Dataset):
        return source
    if isinstance(source, Mapping):
        if {"name", "path"} & set(source):          # a checkpoint's dataset record
            info = dict(source)
            if "binning" in info:
                from .event_data import load_event_dataset

                return _remember(load_event_dataset(info, progress), info)
            return _remember(load_dataset(info.get("name"), info.get("path"), info.get("seed", seed)), info)
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in source]
        if missing:
            raise NeurochipError(f"data arrays: missing key '{missing[0]}' (want x_train, y_train, x_test, y_test)")
        return _remember(validate(dict(source), "arrays"), {"name": "arrays", "seed": seed})
    if isinstance(source, (str, os.PathLike)):
        s = os.fspath(source)
        from .event_data import event_info, is_event_source

        named = isinstance(source, str) and (s in BUNDLED or s == "digits-events"
                                             or not (Path(s).exists() or os.sep in s or "." in s))
        if (named and s == "digits-events") or (not named and is_event_source(s)):
            fields = {"timesteps": 8, "max_count": 8, "layout": "flat"}
            b = binning if isinstance(binning, EventBinning) else EventBinning(**{**fields, **dict(binning or {})})
            info = event_info(b, seed, path=None if named else s, name=s if named else "events")
            return load_data(info, seed, progress=progress)
        if named:
            # a bundled name, or a word that is neither a file nor a path: "unknown dataset"
            return _remember(load_dataset(s, None, seed), {"name": s, "seed": seed})
        return _remember(load_dataset(None, s, seed), {"path": str(Path(s).resolve()), "seed": seed})
    if isinstance(source, Sequence) and len(source) == 4:
        d = dict(zip(("x_train", "y_train", "x_test", "y_test"), source))
        return _remember(validate(d, "arrays"), {"name": "arrays", "seed": seed})
    raise NeurochipError(f"data must be a dataset name, a path, a Dataset or four arrays "
                         f"(x_train, y_train, x_test, y_test); got {type(source).__name__}")


def _source_of(ds: Dataset, seed: int) -> dict:
    info = _SOURCES.get(id(ds))
    if info is not None:
        return dict(info)
    from .data import BUNDLED

    if ds.name in BUNDLED:
        return {"name": ds.name, "seed": seed}
    if Path(ds.name).exists():
        return {"path": str(Path(ds.name).resolve()), "seed": seed}
    return {"name": "arrays", "seed": seed}


# ---- results ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    """Inference over a test set: accuracy, predictions, confusion matrix and the counters of
    this pass (integer networks; ``None`` for the float reference, whose kernels keep none).

    ``ops`` and ``saturation`` map each counter name (:mod:`neurochip.counters`) to one count per
    weight layer.

    Example::

        ev = net.evaluate()
        print(ev.accuracy, ev.per_class_accuracy, ev.most_confused(3))
    """
    accuracy: float
    predictions: np.ndarray
    labels: np.ndarray
    confusion: np.ndarray
    seconds: float
    ops: dict[str, list[int]] | None
    saturation: dict[str, list[int]] | None

    @property
    def samples(self) -> int:
        return int(len(self.labels))

    @property
    def per_class_accuracy(self) -> list[float]:
        """Accuracy per true class (0 for a class with no samples)."""
        c = self.confusion
        return (np.diag(c) / np.maximum(c.sum(1), 1)).tolist()

    def most_confused(self, n: int = 5) -> list[tuple[int, int, int]]:
        """The ``n`` most frequent errors as ``(true, predicted, count)``, most frequent first."""
        off = self.confusion.copy()
        np.fill_diagonal(off, 0)
        pairs = sorted(((int(off[i, j]), i, j) for i in range(len(off)) for j in range(len(off)) if off[i, j]),
                       reverse=True)[:n]
        return [(i, j, c) for c, i, j in pairs]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (predictions and the confusion matrix as lists)."""
        return {"accuracy": self.accuracy, "samples": self.samples, "seconds": self.seconds,
                "per_class_accuracy": self.per_class_accuracy,
                "most_confused": [{"true": i, "pred": j, "count": c} for i, j, c in self.most_confused()],
                "confusion": self.confusion.tolist(), "predictions": self.predictions.tolist(),
                "ops": self.ops, "saturation": self.saturation}


@dataclass(frozen=True)
class Recording:
    """One sample through the network, step by step: what people plot.

    Indexed by weight layer ``l`` (``0..L-1``): ``spikes[l]`` and ``membranes[l]`` are the output
    neurons of weight layer ``l`` (neuron layer ``l + 1``; the last is the readout), shape
    ``(T, n_{l+1})``; ``membranes`` are after the reset, in membrane units (the threshold is
    ``threshold``). ``traces[l]`` are the presynaptic eligibility traces that weight layer ``l``
    learns from (``traces[0]``: the input's), shape ``(T, n_l)``, integers with
    ``trace_frac_bits`` fractional bits. ``input`` is what the input layer emits at each step
    (graded values under direct encoding, 0/1 spikes otherwise).

    Traces are computed from the recorded spikes with the profile's trace rule (the kernel's own
    step, :func:`neurochip.kernels.trace.trace_step`); under stochastic trace rounding the draws
    come from a copy of the network's learning PRNG, the stream a learning pass would start from
    (a learning pass interleaves its update draws with them, so later values differ from it).

    Float reference: the same fields in threshold units (``threshold`` 1.0; learned thresholds
    are per neuron, ``Network.weights`` does not show them), float32 membranes and traces
    (``trace_frac_bits`` 0), recorded by the float OTTT kernel's forward (a BPTT network's own
    kernel sums the same currents in another order, so its last float bits may differ). The
    traces of recurrent inputs are not recorded.

    Example::

        rec = net.run_sample(x)
        plt.imshow(rec.spikes[0].T, aspect="auto")      # hidden raster
        plt.plot(rec.membranes[-1])                     # readout membranes
    """
    input: np.ndarray
    spikes: list[np.ndarray]
    membranes: list[np.ndarray]
    traces: list[np.ndarray]
    prediction: int
    threshold: int | float
    trace_frac_bits: int

    @property
    def timesteps(self) -> int:
        return int(self.input.shape[0])

    def to_dict(self) -> dict[str, Any]:
        """Nested lists (JSON-serialisable)."""
        return {"input": self.input.tolist(), "spikes": [a.tolist() for a in self.spikes],
                "membranes": [a.tolist() for a in self.membranes], "traces": [a.tolist() for a in self.traces],
                "prediction": self.prediction, "threshold": self.threshold, "trace_frac_bits": self.trace_frac_bits}


@dataclass(frozen=True)
class EnergyReport:
    """Op counts of a network (from the integer kernel) priced on one or more profiles.

    ``inference`` and ``training`` are the counts (``neurochip.energy.counts.Counts``), ``neurobench``
    and ``footprint`` the NeuroBench metrics, ``pricing`` one entry per pricing profile (its
    inference and training energy, the equivalent ANN and the chip resources, as dicts).
    :meth:`to_dict` is exactly ``neurochip energy --json``; ``docs/energy.md`` explains every term.

    Example::

        rep = net.energy(profile=["loihi", "loihi2"])
        print(rep.pj_per_sample("loihi2"), rep.to_dict()["footprint"])
    """
    network: dict[str, Any]
    inference: "Counts"
    training: "Counts | None"
    neurobench: "NeuroBench"
    footprint: "Footprint"
    pricing: dict[str, dict[str, Any]]
    baseline: str | None
    notes: tuple[str, ...]

    @property
    def profiles(self) -> list[str]:
        return list(self.pricing)

    def pj_per_sample(self, profile: str | None = None, phase: str = "inference") -> float | None:
        """Energy per sample in pJ of ``phase`` (``"inference"`` or ``"training"``) on ``profile``
        (default: the first); None when that phase was not counted or the profile rejects it."""
        if phase not in ("inference", "training"):
            raise NeurochipError(f"phase must be inference or training, got {phase!r}")
        name = profile if profile is not None else self.profiles[0]
        if name not in self.pricing:
            raise NeurochipError(f"the report has no profile '{name}' (it has: {', '.join(self.profiles)})")
        entry = self.pricing[name].get(phase)
        return None if not entry or "total_pj_per_sample" not in entry else float(entry["total_pj_per_sample"])

    def to_dict(self) -> dict[str, Any]:
        """The JSON report of ``neurochip energy --json``."""
        return {"network": dict(self.network),
                "counts": {"inference": self.inference.to_dict(),
                           "training": self.training.to_dict() if self.training else None},
                "neurobench": self.neurobench.to_dict(), "footprint": self.footprint.to_dict(),
                "pricing": self.pricing, "baseline": self.baseline, "notes": list(self.notes)}

    def text(self) -> str:
        """The report as ``neurochip energy`` prints it (side by side for several profiles)."""
        from .energy.report import format_compare, format_report

        return format_report(self.to_dict()) if len(self.pricing) == 1 else format_compare(self.to_dict())


# ---- the network --------------------------------------------------------------------------------

def _config_fields() -> list[str]:
    return [f.name for f in dataclasses.fields(NetworkConfig) if f.name != "sizes"]


def _sizes_of(layers: Sequence[Any]) -> tuple[int, ...]:
    sizes: list[int] = []
    for i, spec in enumerate(layers):
        if sizes and spec.n_in != sizes[-1]:
            raise NeurochipError(f"layer {i}: Dense({spec.n_in}, {spec.n_out}) takes {spec.n_in} inputs but the "
                                 f"layer before it has {sizes[-1]} outputs")
        if not sizes:
            sizes.append(int(spec.n_in))
        sizes.append(int(spec.n_out))
    return tuple(sizes)


def _shape_of(input_shape: str | Sequence[int] | None) -> tuple[int, ...]:
    """(C, H, W) from ``"1x28x28"`` or a sequence of three sizes; () for None."""
    if input_shape is None:
        return ()
    if isinstance(input_shape, str):
        try:
            shape = tuple(int(x) for x in input_shape.lower().split("x"))
        except ValueError:
            raise NeurochipError(f"--input-shape must look like 1x28x28, got '{input_shape}'") from None
    else:
        shape = tuple(int(x) for x in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise NeurochipError(f"--input-shape must be three positive sizes CxHxW, got '{_shape_text(input_shape)}'")
    return shape


def _shape_text(input_shape: str | Sequence[int]) -> str:
    return input_shape if isinstance(input_shape, str) else "x".join(str(x) for x in input_shape)


def _layer_options(layers: LayersLike | None, data: Dataset | None, input_shape: str | Sequence[int] | None,
                   hidden: str | Sequence[int] | None = None) -> tuple[tuple[int, ...], dict[str, Any]]:
    """(sizes, {arch, input_shape} or {}) of what :func:`build` takes as ``layers`` or ``hidden``."""
    if layers is not None and hidden is not None:
        raise NeurochipError("give layers or hidden, not both")
    if layers is None:
        if data is None:
            raise NeurochipError("hidden sizes take the input and output sizes from data: give data")
        from .network import parse_hidden

        if _shape_of(input_shape):
            raise NeurochipError("--input-shape describes the input of --arch or --network layers")
        text = hidden if isinstance(hidden, str) else ",".join(str(int(h)) for h in (hidden or ()))
        return (data.n_features,) + parse_hidden(text) + (data.n_classes,), {}
    if isinstance(layers, (str, os.PathLike)):
        text = os.fspath(layers)
        is_file = isinstance(layers, os.PathLike) or text.lower().endswith(".toml")
        if data is None:
            raise NeurochipError(f"layers given as {'a network file' if is_file else 'text'} ('{text}') take their "
                                 "input and output sizes from data: give data")
        shape = _shape_of(input_shape)
        if is_file:
            from .layers import arch_from_toml

            arch, file_shape = arch_from_toml(text)
            if file_shape and shape and file_shape != shape:
                raise NeurochipError(f"--input-shape {_shape_text(input_shape or '')} contradicts the network file's "
                                     f"input_shape {list(file_shape)}")
            return (data.n_features, data.n_classes), {"arch": arch, "input_shape": shape or file_shape}
        return (data.n_features, data.n_classes), {"arch": text, "input_shape": shape}
    specs = list(layers)
    if not specs:
        raise NeurochipError("a network needs at least one layer")
    if all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in specs):
        if input_shape is not None:
            raise NeurochipError("--input-shape describes the input of --arch or --network layers")
        return tuple(int(x) for x in specs), {}
    kinds = (Dense, RecurrentDense, Conv2d, SumPool2d, AvgPool2d, Flatten)
    for i, spec in enumerate(specs):
        if not isinstance(spec, kinds):
            raise NeurochipError(f"layer {i}: {type(spec).__name__} is not a layer spec (layer kinds: "
                                 f"{', '.join(k.__name__ for k in kinds)}; or give the sizes, e.g. [64, 128, 10])")
    if input_shape is not None:
        raise NeurochipError("input_shape comes from the first layer spec; do not also give it")
    if all(type(x) is Dense and not x.k_u for x in specs):
        return _sizes_of(specs), {}
    from .layers import canonical_arch, weight_layers

    weighted = weight_layers(specs)
    first = specs[0]
    shape = tuple(first.in_shape) if len(first.in_shape) == 3 else ()
    return (int(np.prod(first.in_shape)), int(weighted[-1].n_out)), {"arch": canonical_arch(specs), "input_shape": shape}


def _event_encoder(ds: Dataset | None, opts: dict[str, Any]) -> None:
    """Event data takes per-step input: the raster encoder and the binning's full-scale count."""
    if ds is not None and ds.full_scale:
        want = "raster-spikes" if ds.spikes else "raster"
        if opts.get("encoder", want) != want:
            raise NeurochipError(f"event data binned as {'spikes' if ds.spikes else 'counts'} "
                                 f"takes --encoder {want} (per-step input), not {opts['encoder']}")
        opts.update(encoder=want, input_full_scale=int(ds.full_scale))


def build(layers: LayersLike | None = None, profile: ProfileLike = DEFAULT_PROFILE, *, data: DataLike | None = None,
          hidden: str | Sequence[int] | None = None, input_shape: str | Sequence[int] | None = None,
          **options: Any) -> "Network":
    """A new network (initial weights from ``seed``) of the given layers on a profile.

    ``layers``:

    - layer specs: ``[Dense(64, 128), Dense(128, 10)]``, or any kinds
      ``[Conv2d((1, 8, 8), 4, 3), SumPool2d((4, 6, 6), 2), Dense(36, 10)]`` (the sizes must chain;
      a :class:`Flatten` is implied before a dense layer);
    - the sizes ``[64, 128, 10]``;
    - a string of layers between the input and the readout, the sizes of both taken from ``data``:
      the layer grammar ``"c8k3-p2-d64"`` (``docs/layers.md``), or the path of a TOML network file
      (``docs/layers.md``; an ``os.PathLike`` or a name ending ``.toml``). ``input_shape``
      (``(1, 28, 28)`` or ``"1x28x28"``) is the image shape of the input for convolutions (default
      ``1 x s x s`` for ``s^2`` inputs; a network file may give it);
    - or, instead of ``layers``, ``hidden``: dense hidden sizes ``"256,128"`` or ``[256, 128]``
      between ``data``'s inputs and classes.

    ``data`` (anything :func:`load_data` takes): the data the network is for; event data sets the
    per-step encoder (``"raster"``, or ``"raster-spikes"`` for 0/1 bins) and its full-scale count.
    ``options`` are the :class:`NetworkConfig` fields: ``timesteps``, ``precision`` (``"int"``: the
    chip's integer learner; ``"float"``: the float reference), ``rule`` (``"ottt-o"``,
    ``"ottt-a"``, ``"bptt"``), ``encoder``, ``readout``, ``loss``, ``lr``, ``seed``...
    (``docs/api.md`` lists them; None means the default). ``lr`` defaults to 0.05 for sgd (0.01
    momentum, 0.001 adam).

    Example::

        net = nc.build([64, 128, 10], "loihi", timesteps=8, lr=0.05)
        ref = nc.build([64, 128, 10], "loihi", precision="float", rule="bptt")
        cnn = nc.build("c8k3-p2-d64", "loihi", data="digits")
        mlp = nc.build(hidden="256,128", data="digits", timesteps=16)
    """
    from .engine import Engine

    known = _config_fields()
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise NeurochipError(f"unknown network option '{unknown[0]}' (options: {', '.join(known)})")
    opts = {k: v for k, v in options.items() if v is not None}
    ds = None
    if data is not None:
        ds = load_data(data, int(opts.get("seed", 0)))
    sizes, arch = _layer_options(layers, ds, input_shape, hidden)
    if ds is not None and ds.full_scale and arch.get("arch"):
        # event data: conv layers see the (C, H, W) map one step bins to (docs/data.md)
        from .event_data import event_input_shape

        if isinstance(layers, (str, os.PathLike)):
            arch["input_shape"] = event_input_shape(ds, arch.get("input_shape") or ())
        elif arch.get("input_shape"):
            event_input_shape(ds, arch["input_shape"])
    opts.update(arch)
    _event_encoder(ds, opts)
    opts.setdefault("lr", DEFAULT_LR.get(opts.get("optimizer", "sgd"), DEFAULT_LR["sgd"]))
    prof = load_profile(profile)
    cfg = NetworkConfig(sizes=sizes, **opts)
    if arch.get("arch") and layers is not None and not isinstance(layers, (str, os.PathLike)):
        from .layers import weight_layers

        want_layers = weight_layers(list(layers))        # type: ignore[arg-type]
        if tuple(cfg.layers) != tuple(want_layers):
            got = next(i for i, (a, b) in enumerate(zip(list(cfg.layers) + [None] * len(want_layers), want_layers))
                       if a != b)
            raise NeurochipError(f"layer {got}: {want_layers[got]} does not take what the layer before it gives "
                                 f"(the specs must chain: {cfg.arch})")
    return Network(Engine(cfg, prof))


def load(path: str | os.PathLike[str]) -> "Network":
    """A network saved by :meth:`Network.save` or ``neurochip train --out`` (HDF5), with its
    history and its dataset record; every array is checked before use.

    Example::

        net = nc.load("run.h5")
        net.fit(epochs=len(net.history) + 5)     # continue, bit-identical to an uninterrupted run
    """
    from . import checkpoint

    engine, history, info = checkpoint.load(path)
    return Network(engine, history, info)


class Network:
    """A network on a hardware profile, its training history and where its data came from.

    Made by :func:`build` or :func:`load`. The integer network runs the chip's arithmetic and
    learns on chip (OTTT); the float one is the float reference (OTTT or BPTT).

    Example::

        net = nc.build([nc.Dense(64, 10)], "loihi")
        net.fit("digits", epochs=2)
        print(net.config.timesteps, net.profile.name, net.evaluate().accuracy)
    """

    def __init__(self, engine: "Engine", history: History | None = None, dataset: dict | None = None) -> None:
        self._engine = engine
        self.history: History = history if history is not None else History()
        #: where the training data came from ({"name" or "path", "seed", "train_eval"}); saved in checkpoints
        self.dataset_info: dict[str, Any] = dict(dataset) if dataset else {}

    # ---- what it is -----------------------------------------------------------------------------
    @property
    def config(self) -> NetworkConfig:
        """The network's configuration (sizes, T, encoder, rule...)."""
        return self._engine.cfg

    @property
    def profile(self) -> Profile:
        """The hardware profile it runs on."""
        return self._engine.profile

    @property
    def layers(self) -> tuple[Dense, ...]:
        """The layer specs."""
        return tuple(self.config.layers)

    @property
    def is_int(self) -> bool:
        """True for the chip's integer network, False for the float reference."""
        return bool(self._engine.is_int)

    def __repr__(self) -> str:
        c = self.config
        return (f"Network({list(c.sizes)}, profile={self.profile.name!r}, precision={c.precision!r}, "
                f"rule={c.rule!r}, timesteps={c.timesteps}, epochs={len(self.history)})")

    @property
    def int_layout(self) -> dict[str, Any] | None:
        """The integer layout the profile gives this network (per layer: weight fractional bits
        ``q``, weight exponent, leak shift, update shift; learning-rate mantissa and exponent), or
        None for the float reference."""
        ilay = self._engine.ilay
        return ilay.to_dict() if ilay is not None else None

    def weights(self) -> list[np.ndarray]:
        """Per-layer weights ``W[l]`` (``n_l x n_{l+1}``, presynaptic-major): integer mantissas
        (int32) on chip, float32 in the float reference. Copies."""
        return self._engine.weights()

    def counters(self) -> dict[str, dict[str, list[int]]]:
        """The training counters so far: ``{"ops": {...}, "saturation": {...}}``, one count per
        weight layer for each name of :mod:`neurochip.counters` (all 0 for the float reference)."""
        from .counters import OPS, SAT, as_dict

        return {"ops": as_dict(OPS, self._engine.ops), "saturation": as_dict(SAT, self._engine.sat)}

    def copy(self, profile: ProfileLike | None = None, *, data: DataLike | None = None, **options: Any) -> "Network":
        """A new network with this one's layers, weights and biases (and integer layout), an empty
        history and the :class:`NetworkConfig` options in ``options`` changed (None: unchanged):
        fine-tuning, as ``neurochip train --init`` (e.g. a network from :func:`import_nir`).
        ``profile`` may only name the profile it already runs on; the learning-rate horizon
        starts again (fixed at the next :meth:`fit`'s ``epochs`` unless given). Event ``data`` sets
        the per-step encoder, as in :func:`build`.

        Example::

            ft = nc.import_nir("model.nir")[0].copy(lr=0.02)
            ft.fit("digits", epochs=2)
        """
        from .engine import Engine
        from .network import NetworkState

        if profile is not None and load_profile(profile) != self.profile:
            raise NeurochipError(f"the network runs on profile {self.profile.name}; drop the profile or give that one")
        known = _config_fields()
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise NeurochipError(f"unknown network option '{unknown[0]}' (options: {', '.join(known)})")
        opts = {k: v for k, v in options.items() if v is not None}
        if data is not None:
            _event_encoder(load_data(data, int(opts.get("seed", self.config.seed))), opts)
        opts.setdefault("lr_horizon", 0)
        cfg = dataclasses.replace(self.config, **opts)
        st = self._engine.state()
        return Network(Engine(cfg, self.profile, NetworkState(cfg, st.weights, st.shadow, st.bias, st.feedback,
                                                             st.recurrent, st.threshold)))

    # ---- data ------------------------------------------------------------------------------------
    def _data(self, data: DataLike | None) -> Dataset:
        if data is None:
            if not self.dataset_info:
                raise NeurochipError("no data given, and the network has none recorded (give data, e.g. 'digits')")
            if self.dataset_info.get("name") == "arrays":
                raise NeurochipError("the network was trained on arrays, which a checkpoint does not keep: give the data")
            return load_data(self.dataset_info)
        if "binning" in self.dataset_info and isinstance(data, (str, os.PathLike)):
            # event data: another source binned as in training (docs/data.md)
            from .event_data import event_info, is_event_source

            if not is_event_source(data):
                raise NeurochipError(f"{os.fspath(data)}: the network was trained on event data; give an event file or folder")
            return load_data(event_info(EventBinning.from_dict(self.dataset_info["binning"]),
                                        self.dataset_info.get("seed", 0), path=data))
        if isinstance(data, (str, os.PathLike)) and self.dataset_info:
            return load_data(data, int(self.dataset_info.get("seed", 0)))
        return load_data(data, self.config.seed)

    def _check_data(self, ds: Dataset) -> None:
        sz = self.config.sizes
        if ds.full_scale:           # event data on a conv network: the same (C, H, W) map per step
            from .event_data import check_event_input

            check_event_input(ds, self.config)
        if ds.n_features != sz[0]:
            raise NeurochipError(f"data has {ds.n_features} features, the network takes {sz[0]}")
        if ds.n_classes > sz[-1]:
            raise NeurochipError(f"data has {ds.n_classes} classes, the network has {sz[-1]} outputs")

    # ---- training --------------------------------------------------------------------------------
    def warm_up(self) -> float:
        """Load (or compile, on a cold cache) the numba kernels this network needs; seconds taken.
        Optional: the first run does it anyway. The network itself is untouched."""
        from .engine import warm_up

        return warm_up(self.config, self.profile)

    def fit(self, data: DataLike | None = None, epochs: int = 1, *,
            on_epoch: Callable[[History], None] | None = None, train_eval: int | None = None,
            checkpoint: str | os.PathLike[str] | None = None,
            progress: bool | ProgressFactory = False) -> History:
        """Train until ``epochs`` epochs are done in total (a loaded network's count included, as
        Keras' ``epochs``), on chip (integer OTTT) or in float, as the network was built.

        ``data``: anything :func:`load_data` takes; default: the network's recorded dataset.
        ``on_epoch(history)`` is called after every epoch; ``train_eval`` training samples run
        frozen after each epoch for ``history.train_acc`` (default 512, 0 = off); a class that only
        one split has is a ``UserWarning``; ``checkpoint``:
        a file saved after every epoch; ``progress``: a progress bar on stderr. The learning rate
        follows the config's schedule over ``lr_horizon`` epochs (fixed at ``epochs`` by the first
        call when the config leaves it 0, so a resumed run keeps it). Returns the history.

        Example::

            hist = net.fit("digits", epochs=5, on_epoch=lambda h: print(h.epoch[-1], h.test_acc[-1]))
        """
        if not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise NeurochipError(f"--epochs must be at least 1, got {epochs}")
        if train_eval is not None and train_eval < 0:
            raise NeurochipError(f"--train-eval must be 0 (off) or a number of samples, got {train_eval}")
        if len(self.history) >= epochs:
            raise NeurochipError(f"the checkpoint already has {len(self.history)} epochs; ask for more with --epochs")
        ds = self._data(data)
        self._check_data(ds)
        from .data import class_coverage

        gap = class_coverage(ds)
        if gap:
            warnings.warn(f"{ds.name}: {gap}", UserWarning, stacklevel=2)
        info = dict(self.dataset_info) if data is None else _source_of(ds, self.config.seed)
        if train_eval is None:
            train_eval = int(info.get("train_eval", self.dataset_info.get("train_eval", TRAIN_EVAL)))
        info["train_eval"] = int(train_eval)
        self.dataset_info = info
        self._n_train = len(ds.y_train)
        if self.config.lr_horizon == 0 and len(self.history) == 0:
            self._engine.cfg = dataclasses.replace(self.config, lr_horizon=int(epochs))
        from .train import fit

        def after_epoch(h: History) -> None:
            if checkpoint is not None:
                self.save(checkpoint)
            if on_epoch is not None:
                on_epoch(h)

        return fit(self._engine, ds, int(epochs), self.history, _progress_factory(progress), after_epoch,
                   int(train_eval))

    # ---- inference -------------------------------------------------------------------------------
    def _frozen(self):
        """Context: whatever runs inside leaves the PRNG states and counters as they were."""
        eng = self._engine

        class _Keep:
            def __enter__(self_):
                self_.saved = eng.rng.copy(), eng.ops.copy(), eng.sat.copy()

            def __exit__(self_, *exc):
                eng.rng[:], eng.ops[:], eng.sat[:] = self_.saved
                return False

        return _Keep()

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted classes of samples ``x`` (``(n, n_in)`` floats in [0, 1]); the network is unchanged.

        Example::

            pred = net.predict(ds.x_test[:10])
        """
        from .train import run_epoch

        x = np.asarray(x)
        if x.ndim == 1:
            x = x[None]
        with self._frozen():
            y = np.zeros(len(x), np.int64)
            return run_epoch(self._engine, self._engine.prepare(x), y, np.arange(len(x)), False)

    def evaluate(self, data: DataLike | None = None, *, decoder: str | None = None) -> Evaluation:
        """Inference over the test split of ``data`` (default: the network's recorded dataset).

        ``decoder`` reads predictions another way for this evaluation only (``"membrane"``,
        ``"rate"``, ``"latency"``). The network, its PRNG states and its training counters are
        unchanged; the counters of this pass are in the result.

        Example::

            ev = net.evaluate("digits")
            print(f"{ev.accuracy:.3f}", ev.confusion)
        """
        from .counters import OPS, SAT, as_dict
        from .train import evaluate as _evaluate

        eng = self._engine
        old = self.config.decoder
        if decoder is not None:
            eng.set_decoder(decoder)
        try:
            ds = self._data(data)
            self._check_data(ds)
            with self._frozen():
                eng.reset_counters()
                t0 = time.perf_counter()
                res = _evaluate(eng, ds.x_test, ds.y_test)
                seconds = time.perf_counter() - t0
                ops = as_dict(OPS, eng.ops) if eng.is_int else None
                sat = as_dict(SAT, eng.sat) if eng.is_int else None
        finally:
            if decoder is not None:
                eng.set_decoder(old)
        return Evaluation(accuracy=res["accuracy"], predictions=res["pred"], labels=np.asarray(ds.y_test, np.int64),
                          confusion=res["confusion"], seconds=seconds, ops=ops, saturation=sat)

    def run_sample(self, x: np.ndarray) -> Recording:
        """Run one sample (``n_in`` floats in [0, 1]) through the network for T steps, recording
        every layer's spikes, membranes and traces (:class:`Recording`; integer or float). The
        network is unchanged (its encoder PRNG is read, not advanced).

        Example::

            rec = net.run_sample(ds.x_test[0])
            print(rec.prediction, [s.sum() for s in rec.spikes])
        """
        eng = self._engine
        x = np.asarray(x)
        if x.ndim == 2 and x.shape[0] == 1:
            x = x[0]
        if x.ndim != 1:
            raise NeurochipError(f"run_sample takes one sample of shape ({self.config.sizes[0]},), got {x.shape}")
        xin = eng.prepare(x[None])
        if not eng.is_int:
            return _record_float(eng, xin)
        from .lava.export import input_raster, reference_run

        R = input_raster(eng, xin, np.zeros(1, np.int64))
        rec = reference_run(eng, R)
        traces = _traces(eng, R, xin[1][0], rec.spikes)
        neuron, learning = self.profile.neuron, self.profile.learning
        assert neuron is not None and learning is not None     # an engine's profile can simulate
        return Recording(input=R.astype(np.int64), spikes=[s.astype(np.uint8) for s in rec.spikes],
                         membranes=[v.astype(np.int64) for v in rec.v], traces=traces,
                         prediction=int(rec.preds[0]), threshold=int(neuron.threshold_membrane),
                         trace_frac_bits=int(learning.trace_frac_bits))

    # ---- checkpoints -----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write an HDF5 checkpoint (atomic: an interrupted save keeps the previous file); it holds
        everything needed to continue bit-identically (docs/checkpoint.md). Replaces ``path``.

        Example::

            net.save("runs/digits.h5"); same = nc.load("runs/digits.h5")
        """
        from . import checkpoint

        info = dict(self.dataset_info) or {"name": "arrays", "seed": self.config.seed}
        checkpoint.save(path, self._engine, self.history, info)

    # ---- energy ----------------------------------------------------------------------------------
    def energy(self, data: DataLike | None = None, profile: ProfileLike | Sequence[ProfileLike] | None = None, *,
               baseline: ProfileLike | None = "cmos45", samples: int | None = None,
               learn_samples: int | None = None, notes: Sequence[str] = ()) -> EnergyReport:
        """Count operations (running the integer kernel on a copy: nothing changes) and price them.

        Inference over the test split (its first ``samples``), learning over ``learn_samples``
        training samples (default 1000; 0: inference only, needed for a profile without on-chip
        learning) at the configured learning rate ``config.lr``. ``profile``: one profile or a list to compare (default: the network's own,
        priced with the bundled profile of that name when there is one); ``baseline``: the
        equivalent ANN's profile (None: skip).

        Example::

            rep = net.energy(profile="loihi2", learn_samples=0)
            print(rep.pj_per_sample(), rep.to_dict()["neurobench"])
        """
        from .energy.counts import DEFAULT_LEARN_SAMPLES, gather_counts
        from .energy.neurobench import footprint, neurobench
        from .energy.report import network_info, price_on
        from .energy.tables import energy_model

        if samples is not None and samples < 1:
            raise NeurochipError(f"--samples must be at least 1, got {samples}")
        if learn_samples is not None and learn_samples < 0:
            raise NeurochipError(f"--learn-samples must be 0 or more, got {learn_samples}")
        n_learn = DEFAULT_LEARN_SAMPLES if learn_samples is None else int(learn_samples)
        if profile is None:
            try:
                pricing = [load_profile(self.profile.name)]
            except NeurochipError:
                pricing = [self.profile]
        elif isinstance(profile, (Profile, str, os.PathLike)):
            pricing = [load_profile(profile)]
        else:
            pricing = [load_profile(p) for p in profile]
            if not pricing:
                raise NeurochipError("give at least one pricing profile")
        ds = self._data(data)
        self._check_data(ds)
        models = [energy_model(p) for p in pricing]          # validate before simulating
        single = len(pricing) == 1
        if single and n_learn and not models[0].learning:
            raise NeurochipError(f"profile '{pricing[0].name}' has no on-chip learning (energy.learning = false in "
                                 f"{models[0].path}): its learning energy is not defined; pass --inference-only "
                                 "or --learn-samples 0")
        base_model = base = None
        if baseline is not None and not (isinstance(baseline, str) and baseline.lower() == "none"):
            base = load_profile(baseline)
            base_model = energy_model(base)
        eng = self._engine
        if n_learn and eng.is_int:
            # learn at the configured rate, as a loaded checkpoint does (fit leaves the engine at the
            # last epoch's annealed rate): a network and its checkpoint count the same
            eng = copy.deepcopy(eng)
            eng.set_lr(self.config.lr)
        inf, train = gather_counts(eng, ds.x_test, ds.y_test, ds.x_train if n_learn else None, ds.y_train,
                                   samples=samples, learn_samples=n_learn)
        notes = list(notes)
        if train is not None:
            notes.append(f"learning counts: the first {train.samples} samples of epoch 0's order, learning with "
                         f"{self.config.rule} on a copy of the network; nothing is saved")
        eng = self._engine
        return EnergyReport(
            network=network_info(eng), inference=inf, training=train, neurobench=neurobench(inf, eng),
            footprint=footprint(eng),
            pricing={p.name: price_on(p, eng, inf, train, base_model, single) for p in pricing},
            baseline=base.name if base is not None else None, notes=tuple(notes))

    def training_report(self, samples: int | None = None) -> dict[str, Any]:
        """The counters gathered by training (``samples`` learning samples so far; default: the
        training split of the last :meth:`fit` times the epochs of the history), priced on the
        network's profile: the ``train --report`` file. Pricing problems are recorded, not raised.

        Example::

            net.fit("digits", epochs=2)
            rep = net.training_report()
        """
        from .energy.report import training_report

        if samples is None:
            n = getattr(self, "_n_train", None)
            if n is None:
                raise NeurochipError("training_report: give samples (this network has not been fit here)")
            samples = int(n) * len(self.history)
        return training_report(self._engine, samples)

    # ---- NIR -------------------------------------------------------------------------------------
    def to_nir(self, path: str | os.PathLike[str], dt: float | None = None, *, overwrite: bool = False) -> None:
        """Write the network as a NIR graph (integers as their float equivalents; ``docs/nir.md``),
        ``dt`` seconds per step for the time constants (default 1e-4, snnTorch's). An existing
        file is replaced only with ``overwrite``.

        Example::

            net.to_nir("net.nir"); back, report = nc.import_nir("net.nir", net.profile)
        """
        from .nir_export import export_nir

        check_output(path, overwrite=overwrite, option="MODEL")
        export_nir(self._engine, path, dt)

    # ---- Lava ------------------------------------------------------------------------------------
    def to_lava(self, custom_neurons: bool = False) -> "LavaExport":
        """The Lava (lava-nc 0.10.0) parameters of this integer network: per layer the Dense
        weights, exponent and sign mode and the LIF constants (numbers only: Lava is not needed).

        Example::

            exp = net.to_lava(); print(exp.stock, exp.notes)
        """
        from .lava.export import export_network

        return export_network(self._engine, force_custom=custom_neurons)

    def compare_lava(self, data: DataLike | None = None, samples: int = 100, *,
                     custom_neurons: bool = False) -> "Comparison":
        """Run the first ``samples`` test samples in neurochip and in Lava's fixed-point simulator;
        count differing spikes and membranes per layer (expected 0): ``.exact``, ``.to_dict()``.
        Raises NeurochipError when Lava is not usable here (see :func:`lava_status`).

        Example::

            c = net.compare_lava("digits", samples=20)
            assert c.exact, c.to_dict()
        """
        from .lava.compat import require_lava
        from .lava.export import compare

        require_lava()
        if not self.is_int:
            raise NeurochipError("this checkpoint holds a float network; only integer networks (--precision int) "
                                 "can run in Lava's fixed-point simulator")
        if samples < 1:
            raise NeurochipError(f"--samples must be at least 1, got {samples}")
        ds = self._data(data)
        n = min(int(samples), len(ds.y_test))
        if n < 1:
            raise NeurochipError("the checkpoint's dataset has no test samples")
        return compare(self._engine, ds.x_test[:n], ds.y_test[:n], force_custom=custom_neurons)


def energy_report(network: "Network | str | os.PathLike[str] | None" = None,
           profile: ProfileLike | Sequence[ProfileLike] | None = None, *, data: DataLike | None = None,
           layers: LayersLike | None = None, hidden: str | Sequence[int] | None = None,
           sim_profile: ProfileLike | None = None,
           baseline: ProfileLike | None = "cmos45", samples: int | None = None, learn_samples: int | None = None,
           **options: Any) -> EnergyReport:
    """Op counts and energy of a network, what ``neurochip energy`` reports: ``network`` a
    :class:`Network`, a checkpoint path, or None for an untrained network of ``layers`` or
    ``hidden`` (as :func:`build` takes them; default one hidden layer of 128) on ``data`` (default
    ``"digits"``) with
    the :class:`NetworkConfig` ``options``, simulated on ``sim_profile`` (default: the first
    pricing profile that can simulate, else loihi). ``profile``: one profile or a list to compare
    (default: the network's own; loihi for an untrained network). The rest as
    :meth:`Network.energy`; the report's notes say what was counted.

    Example::

        rep = nc.energy_report("run.h5", ["loihi", "loihi2", "cmos45"])
        rep = nc.energy_report(None, "loihi", layers="c4k3-d32", timesteps=4, learn_samples=0)
    """
    names: list[ProfileLike] | None
    if profile is None:
        names = None
    elif isinstance(profile, (Profile, str, os.PathLike)):
        names = [profile]
    else:
        names = list(profile)
        plain = [n.name if isinstance(n, Profile) else os.fspath(n) for n in names]
        twice = sorted({n for n in plain if plain.count(n) > 1})
        if twice:
            raise NeurochipError(f"--compare lists a profile twice: '{twice[0]}'")
    notes: list[str] = []
    if network is not None:
        given = ([k for k, v in (("hidden", hidden), ("arch", layers)) if v is not None]
                 + [k for k, v in options.items() if v is not None] + (["sim_profile"] if sim_profile is not None else []))
        if given:
            raise NeurochipError(f"the checkpoint defines the network and its data; do not also give "
                                 f"--{given[0].replace('_', '-')}")
        if isinstance(network, Network):
            net = network
        else:
            net = load(network)
            notes.append(f"checkpoint {os.fspath(network)}: {len(net.history)} epochs trained; counts re-run on its weights")
    else:
        pricing = [load_profile(n) for n in (names or ["loihi"])]
        ds = load_data(data if data is not None else "digits", int(options.get("seed") or 0))
        if sim_profile is not None:
            sim = load_profile(sim_profile).require_simulation()
        else:
            sim = next((p for p in pricing if p.can_simulate), None)
            if sim is None:
                sim = load_profile("loihi")
                notes.append(f"{', '.join(p.name for p in pricing)} {'is' if len(pricing) == 1 else 'are'} pricing-only: "
                             "the network is simulated on 'loihi' (Lava fixed_pt arithmetic); --sim-profile picks another")
        opts = {k: v for k, v in options.items() if v is not None}
        if opts.get("readout") == "spiking" and "loss" not in opts:
            opts["loss"] = "mse"
        if layers is not None and hidden is not None:
            raise NeurochipError("give --hidden or --arch, not both")
        net = build(layers, sim, data=ds, hidden="128" if layers is None and hidden is None else hidden, **opts)
        net.dataset_info = _source_of(ds, int(options.get("seed") or 0))
        data = ds
        names = pricing      # type: ignore[assignment]
        notes.append("untrained network (initial weights)")
    return net.energy(data, names if names is None or len(names) != 1 else names[0], baseline=baseline,
                      samples=samples, learn_samples=learn_samples, notes=notes)


def import_nir(model: str | os.PathLike[str], profile: ProfileLike = DEFAULT_PROFILE, *, dt: float | None = None,
               convention: str = "euler", timesteps: int | None = None, precision: str = "int", lr: float = 0.05,
               data: DataLike | None = None, samples: int = 0, seed: int = 0) -> tuple["Network", "ImportReport"]:
    """A network read from a NIR file (snnTorch, Norse, Sinabs, or ``Network.to_nir``) onto a
    profile, and the report of what changed (``.lines()``, ``.to_dict()``; ``docs/nir.md``).

    ``dt``: seconds per step the file's time constants assume (default 1e-4, snnTorch's; Norse
    1e-3); ``convention``: how the ODEs become steps (``"euler"``, ``"norse"``, ``"sinabs"``);
    ``precision``: ``"int"`` quantized to the profile, ``"float"`` the float reference; ``lr``
    the learning rate kept for fine-tuning; with ``data`` the report compares the float network
    and the chip network on its first ``samples`` test samples (0: all). Save it with
    :meth:`Network.save`, fine-tune it with :meth:`Network.copy` and :meth:`Network.fit`.

    Example::

        net, rep = nc.import_nir("snntorch_model.nir", "loihi", data="digits")
        print("\\n".join(rep.lines())); net.save("imported.h5")
    """
    from .nir_import import import_nir as _import

    if convention not in CHOICES["nir_convention"]:
        raise NeurochipError(f"convention must be one of {', '.join(CHOICES['nir_convention'])}, got '{convention}'")
    if timesteps is not None and not 1 <= timesteps <= 100000:
        raise NeurochipError(f"--timesteps must be in [1, 100000], got {timesteps}")
    if samples < 0:
        raise NeurochipError(f"--samples must be 0 (all) or a number of samples, got {samples}")
    prof = load_profile(profile)
    ds = load_data(data, seed) if data is not None else None
    engine, rep, _ = _import(model, prof, dt, precision, timesteps, lr, seed, ds, samples, convention)
    info = _source_of(ds, seed) if ds is not None else {"name": "digits", "seed": seed}
    info["train_eval"] = TRAIN_EVAL
    info["nir_source"] = str(Path(model).resolve())
    return Network(engine, History(), info), rep


def lava_status() -> tuple[bool, str]:
    """Whether stock lava-nc 0.10.0 is usable here (with neurochip's import fix), and why not.

    Example::

        ok, why = nc.lava_status()
        if ok:
            print(net.compare_lava(samples=10).exact)
    """
    from .lava.compat import lava_status as _status

    return _status()


def compare_lava_learning(samples: int = 200, *, dataset: str = "digits", data: str | os.PathLike[str] | None = None,
                          test_samples: int | None = None, seed: int = 0, hidden: int = 0, feedback: str = "none",
                          timesteps: int = 8, arch: str | None = None, lava: bool = True) -> "LearnComparison":
    """On-chip OTTT learning in Lava (LearningDense with the Loihi3F rule) and in neurochip's exact
    emulation of Lava's learning engine, on ``samples`` training samples, then ``test_samples``
    test samples (default ``min(samples, 360)``); what ``neurochip lava learn`` prints
    (``.exact``, ``.weights_differing``, ``.to_dict()``; ``docs/lava_learning.md``).

    ``hidden``: a hidden layer of that size (0: the input feeds the learning output layer), or
    ``arch`` the same in the layer grammar (``"d32"``, or ``"r32"`` with ``feedback="random"``: a
    recurrent hidden layer learning its input and recurrent weights; conv, pool and CUBA layers are
    refused with the reason);
    ``feedback``: ``"none"`` (only the output layer learns) or ``"random"`` (the hidden layer learns
    too, by fixed random feedback). ``lava=False`` runs the emulation only (Lava not needed).
    Raises NeurochipError when Lava is asked for and not usable (before any work).

    Example::

        res = nc.compare_lava_learning(100, hidden=32, feedback="random")
        print(res.exact, res.acc_test_lava, res.acc_test_neurochip)
    """
    from .lava import learning_task

    if samples < 1:
        raise NeurochipError(f"--samples must be at least 1, got {samples}")
    recurrent = False
    if arch is not None:
        hidden, recurrent = _learn_arch(arch, hidden, feedback)
    if lava:
        from .lava.compat import require_lava

        require_lava()
    kw: dict[str, Any] = {"timesteps": timesteps, "feedback": feedback}
    if hidden:
        kw["hidden"] = hidden
    if recurrent:
        kw["recurrent"] = True
    return learning_task.learn_compare(samples, seed, n_test=test_samples, dataset=dataset, data=data, lava=lava, **kw)


# ---- design-space sweeps ------------------------------------------------------------------------

@dataclass(frozen=True)
class SweepTable:
    """A sweep's results table (``results.csv``, ``docs/sweep.md``): one row per finished point,
    every cell the text the file holds (``""`` when empty). ``axes`` are the swept columns;
    :meth:`column` reads one column as floats (NaN where empty, e.g. the float reference's energy).

    Example::

        t = nc.read_sweep("runs/tiny")
        print(len(t), t.axes, t.column("accuracy").max())
    """
    path: Path
    columns: list[str]
    rows: list[dict[str, str]]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def axes(self) -> list[str]:
        """The axis columns (between ``index`` and ``precision``)."""
        from .plot import axis_columns

        return axis_columns(self.columns)

    def column(self, name: str) -> np.ndarray:
        """One column as float64 (NaN where the cell is empty or not a number)."""
        from .sweep import number

        if name not in self.columns:
            raise NeurochipError(f"{self.path}: no column '{name}' (columns: {', '.join(self.columns)})")
        return np.array([number(r.get(name)) for r in self.rows], float)


def read_sweep(path: str | os.PathLike[str]) -> SweepTable:
    """The results table of a sweep: ``results.csv`` or the folder that holds it.

    Example::

        rows = nc.read_sweep("runs/tiny").rows      # list of dicts, one per point
    """
    from .sweep import TABLE, read_table

    p = Path(path)
    p = p / TABLE if p.is_dir() else p
    cols, rows = read_table(p)
    return SweepTable(p, cols, rows)


@dataclass(frozen=True)
class SweepRun:
    """What :func:`run_sweep` did: points computed now (``ran``), already in the table (``skipped``),
    lost to the infrastructure (``lost``: their keys; run the sweep again to compute them), the
    wall-clock ``seconds``, the whole ``table`` after the run and the ``summary`` (best accuracy, and
    per accuracy bucket the cheapest point; also written to ``summary.json``).

    Example::

        run = nc.run_sweep("sweeps/tiny.toml", "runs/tiny", serial=True)
        print(run.text()); best = run.summary["best"]
    """
    out_dir: Path
    table: SweepTable
    ran: int
    skipped: int
    lost: tuple[str, ...]
    seconds: float
    summary: dict[str, Any]
    axis_names: tuple[str, ...]

    def text(self) -> str:
        """The summary as ``neurochip sweep`` prints it."""
        from .sweep import format_summary

        return format_summary(self.summary, list(self.axis_names))

    def to_dict(self) -> dict[str, Any]:
        """The line ``neurochip sweep --json`` prints."""
        return {"ran": self.ran, "skipped": self.skipped, "lost": len(self.lost), "seconds": round(self.seconds, 3),
                "table": str(self.table.path), **self.summary}


SpecLike = Union[str, "os.PathLike[str]", Mapping[str, Any]]


def _spec(spec: SpecLike):
    from .sweep import load_spec, parse_spec

    if isinstance(spec, Mapping):
        return parse_spec(dict(spec), "<spec>")
    if isinstance(spec, (str, os.PathLike)):
        return load_spec(spec)
    raise NeurochipError(f"a sweep spec is a TOML file or a dict of its tables, got {type(spec).__name__}")


def sweep_points(spec: SpecLike) -> list[dict[str, Any]]:
    """Every point of a sweep spec, resolved and validated, nothing run (``neurochip sweep
    --dry-run``): per point ``index``, ``point`` (its key, ``""`` when invalid), ``values`` (axis ->
    value), ``label`` and ``error`` (None, or the one-line reason it cannot run). ``spec``: a TOML
    file (relative paths in it are relative to the file) or the same tables as a dict.

    Example::

        pts = nc.sweep_points({"base": {"hidden": [16], "epochs": 1}, "axes": {"synapse.weight_bits": [4, 8]}})
        print([p["label"] for p in pts if p["error"] is None])
    """
    from .sweep import expand

    return [{"index": p.index, "point": p.key, "values": dict(p.values), "label": p.label(), "error": p.error}
            for p in expand(_spec(spec))]


def _echo_warning(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=4)   # at the caller of run_sweep


def run_sweep(spec: SpecLike, out_dir: str | os.PathLike[str], *, scheduler: str | None = None,
          workers: int | None = None, serial: bool = False, skip_invalid: bool = False,
          progress: bool | ProgressFactory = False, echo: Callable[[str], None] | None = None) -> SweepRun:
    """Train, evaluate and price every point of a design-space sweep (``neurochip sweep``,
    ``docs/sweep.md``): rows stream into ``out_dir/results.csv`` (a re-run skips the points already
    there), with ``points.json`` and ``summary.json`` beside it.

    Runs on a LocalCluster of ``workers`` processes (default one per core), on the Dask scheduler at
    ``scheduler``, or, ``serial``, one point after another in this process. Invalid points raise
    before anything runs unless ``skip_invalid``; ``echo`` gets each invalid or lost point's line
    (default: a ``UserWarning``); ``progress``: a bar over points on stderr. A script that starts a
    LocalCluster needs the ``if __name__ == "__main__":`` guard.

    Example::

        run = nc.run_sweep("sweeps/tiny.toml", "runs/tiny", serial=True)
        fig = nc.plot_pareto(run.table, out="pareto.png")
    """
    from .sweep import atomic_write, run_sweep as _run, summarize

    if serial and (scheduler or workers):
        raise NeurochipError("--serial runs in this process: do not also give --scheduler or --workers")
    if scheduler and workers:
        raise NeurochipError("--workers sizes the LocalCluster; with --scheduler the cluster has its own workers")
    if workers is not None and workers < 1:
        raise NeurochipError(f"--workers must be at least 1, got {workers}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NeurochipError(f"--out {out_dir} is a file; give a folder")
    sp = _spec(spec)
    res = _run(sp, out, scheduler=scheduler, workers=workers, serial=serial, skip_invalid=skip_invalid,
                    progress=_points_bar(progress), echo=echo or _echo_warning)
    summary = summarize(res.points, res.table)
    atomic_write(out / "summary.json", json.dumps(summary, indent=1))
    return SweepRun(out_dir=out, table=read_sweep(res.table.path), ran=res.ran, skipped=res.skipped,
                    lost=tuple(res.lost), seconds=res.seconds, summary=summary, axis_names=tuple(sp.axis_names))


def _points_bar(progress: bool | ProgressFactory):
    """The sweep runner's progress protocol (``make(n)`` -> ``update(k)``, ``finish()``) over a
    progress-bar factory of :meth:`Network.fit`'s kind."""
    factory = _progress_factory(progress)
    if factory is None:
        return None

    class _Bar:
        def __init__(self, n: int) -> None:
            self._cm = factory(n, "points")
            self._bar = self._cm.__enter__()

        def update(self, k: int) -> None:
            self._bar.update(k)

        def finish(self) -> None:
            self._cm.__exit__(None, None, None)

    return _Bar


# ---- figures ------------------------------------------------------------------------------------

TableLike = Union[SweepTable, str, "os.PathLike[str]"]
NetworkLike = Union["Network", str, "os.PathLike[str]"]
PathLike = Union[str, "os.PathLike[str]"]


def _figure(out: PathLike | None, overwrite: bool, draw: Callable[[], tuple[Any, Any]],
            summary: Callable[[Any], str]) -> "Figure":
    """Check ``out`` (extension; an existing file only with ``overwrite``) before any work, draw,
    attach what was drawn, write ``out``; the figure is closed in pyplot (``savefig`` still works)."""
    from .plot import _plt, check_path, save

    if out is not None:
        check_path(out)
        check_output(out, overwrite=overwrite, option="--out")
    fig, data = draw()
    fig.neurochip_data = data              # type: ignore[attr-defined]
    fig.neurochip_summary = summary(data)  # type: ignore[attr-defined]
    if out is not None:
        save(fig, out)
    else:
        _plt().close(fig)
    return fig


def _table(table: TableLike) -> SweepTable:
    return table if isinstance(table, SweepTable) else read_sweep(table)


def _network(network: NetworkLike) -> "Network":
    return network if isinstance(network, Network) else load(network)


def plot_pareto(table: TableLike, *, x: str = "inference_pj_per_sample", y: str = "accuracy",
                label: str | Sequence[str] | None = None, mean_over: str | None = None,
                out: PathLike | None = None, overwrite: bool = False) -> "Figure":
    """Accuracy (``y``) against energy per sample (``x``) of a sweep's points (``table``: a
    :class:`SweepTable`, ``results.csv`` or its folder), the Pareto front joined; float-reference
    rows (no energy) as a dashed line. ``label``: columns whose values annotate the points;
    ``mean_over``: an axis to average over first (``"seed"``).

    Every figure function returns a matplotlib ``Figure`` (Agg backend, closed in pyplot: call
    ``fig.savefig`` or show it in a notebook) with ``fig.neurochip_data`` (what was drawn) and
    ``fig.neurochip_summary`` (the line ``neurochip plot`` prints); ``out`` (``.png``, ``.svg``,
    ``.pdf``) is checked before any work and written, an existing file only with ``overwrite``.

    Example::

        fig = nc.plot_pareto("runs/tiny", label="synapse.weight_bits", out="pareto.png")
    """
    from .plot import pareto

    def draw():
        t = _table(table)
        lab = label if label is None or isinstance(label, str) else ",".join(label)
        return pareto(t.columns, t.rows, x, y, lab, mean_over)

    return _figure(out, overwrite, draw, lambda d: f"{len(d['x'])} points, {len(d['front'])} on the Pareto front")


def plot_axis(table: TableLike, x: str, *, by: str | None = None, y: str = "accuracy",
              out: PathLike | None = None, overwrite: bool = False) -> "Figure":
    """Mean ``y`` against the values of the sweep axis ``x``, one line per value of ``by`` (the
    other axes averaged, bars from min to max). Returns a ``Figure`` as :func:`plot_pareto`.

    Example::

        fig = nc.plot_axis("runs/tiny", "synapse.weight_bits", by="seed")
    """
    from .plot import versus_axis

    def draw():
        t = _table(table)
        return versus_axis(t.columns, t.rows, x, by, y)

    return _figure(out, overwrite, draw, lambda d: f"{len(d['lines'])} line(s) over {len(d['x_values'])} values of {x}")


def plot_curves(network: NetworkLike, *, out: PathLike | None = None, overwrite: bool = False) -> "Figure":
    """Test accuracy per epoch of a :class:`Network` or checkpoint, and the frozen train-subset
    accuracy when it was measured. Returns a ``Figure`` as :func:`plot_pareto`.

    Example::

        fig = nc.plot_curves("run.h5", out="curves.png")
    """
    from .plot import training_curves

    return _figure(out, overwrite, lambda: training_curves(_network(network).history),
                   lambda d: f"{len(d['epoch'])} epochs")


def plot_weights(network: NetworkLike, *, out: PathLike | None = None, overwrite: bool = False) -> "Figure":
    """Weight histogram per layer: one bin per mantissa value of the profile's weight width (64
    bins for the float reference). Returns a ``Figure`` as :func:`plot_pareto`.

    Example::

        fig = nc.plot_weights(net); fig.savefig("weights.svg")
    """
    from .plot import weight_histograms

    return _figure(out, overwrite, lambda: weight_histograms(_network(network)._engine), lambda d: f"{len(d)} layers")


def plot_counters(network: NetworkLike, *, out: PathLike | None = None, overwrite: bool = False) -> "Figure":
    """Saturation and rounding counters of training, per layer (integer networks). Returns a
    ``Figure`` as :func:`plot_pareto`.

    Example::

        fig = nc.plot_counters("run.h5", out="counters.pdf")
    """
    from .plot import counters

    return _figure(out, overwrite, lambda: counters(_network(network)._engine),
                   lambda d: f"{len(d['names'])} counters x {d['counts'].shape[0]} layers")


def _neuron_list(neurons: str | Sequence[tuple[int, int]] | None) -> list[tuple[int, int]] | None:
    if neurons is None or not isinstance(neurons, str):
        return None if neurons is None else [(int(l), int(i)) for l, i in neurons]
    out = []
    for part in neurons.split(","):
        try:
            l, i = part.split(":")
            out.append((int(l), int(i)))
        except ValueError:
            raise NeurochipError(f"--neurons wants LAYER:INDEX pairs like 1:0,2:3; got '{part}'") from None
    return out


def plot_raster(network: NetworkLike, sample: int = 0, *, data: DataLike | None = None,
                neurons: str | Sequence[tuple[int, int]] | None = None, out: PathLike | None = None,
                overwrite: bool = False) -> "Figure":
    """Spikes of every layer over the T steps of test sample ``sample`` (of ``data``, default the
    network's recorded dataset), and the membranes of ``neurons`` (``[(layer, index), ...]`` or
    ``"1:0,2:3"``, layers 1..L; default the readout) with the threshold; integer networks.
    ``fig.neurochip_data["pred"]`` is the prediction. Returns a ``Figure`` as :func:`plot_pareto`.

    Example::

        fig = nc.plot_raster("run.h5", sample=3, neurons=[(1, 0), (2, 7)], out="raster.png")
    """
    from .plot import raster

    picked = _neuron_list(neurons)

    def draw():
        net = _network(network)
        ds = net._data(data)
        if not 0 <= sample < len(ds.y_test):
            raise NeurochipError(f"--sample {sample}: the test set has {len(ds.y_test)} samples (0..{len(ds.y_test) - 1})")
        net._check_data(ds)
        fig, d = raster(net._engine, ds.x_test[sample], picked, int(ds.y_test[sample]))
        d["label"] = int(ds.y_test[sample])
        return fig, d

    return _figure(out, overwrite, draw, lambda d: f"sample {sample}: label {d['label']}, predicted {d['pred']}")


def plot_energy(source: "EnergyReport | Mapping[str, Any] | NetworkLike", *, profile: ProfileLike | None = None,
                samples: int | None = None, learn_samples: int | None = None, out: PathLike | None = None,
                overwrite: bool = False) -> "Figure":
    """Energy per sample of every op kind in every weight layer, stacked, for inference and (when
    counted) training. ``source``: an :class:`EnergyReport`, its ``to_dict()``, a ``neurochip energy
    --json`` file (``.json``; ``profile`` picks which of its pricings to draw, default the first),
    or a :class:`Network` or checkpoint, counted here by :meth:`Network.energy` on its recorded
    data: ``profile`` prices it (default the network's own), over the first ``samples`` test
    samples (default all) and ``learn_samples`` training samples (default 200; 0 for a profile
    without on-chip learning). Returns a ``Figure`` as :func:`plot_pareto`.

    Example::

        fig = nc.plot_energy("run.h5", learn_samples=100, out="energy.png")
        fig = nc.plot_energy(net.energy(profile=["loihi", "loihi2"]), profile="loihi2")
    """
    from .plot import energy_breakdown

    is_file = isinstance(source, (str, os.PathLike)) and os.fspath(source).lower().endswith(".json")
    counted = isinstance(source, (Network, str, os.PathLike)) and not is_file
    if not counted and (samples is not None or learn_samples is not None):
        raise NeurochipError("--samples and --learn-samples count a checkpoint; an energy report is counted already")

    def draw():
        if counted:
            rep = _network(source).energy(profile=profile, baseline=None, samples=samples,   # type: ignore[arg-type]
                                          learn_samples=200 if learn_samples is None else learn_samples).to_dict()
            return energy_breakdown(rep, None)
        if isinstance(source, EnergyReport):
            rep = source.to_dict()
        elif isinstance(source, Mapping):
            rep = dict(source)
        else:
            try:
                rep = json.loads(Path(source).read_text())
            except (OSError, ValueError) as e:
                raise NeurochipError(f"{os.fspath(source)}: not a readable JSON energy report ({type(e).__name__})") from None
        name = profile.name if isinstance(profile, Profile) else (os.fspath(profile) if profile is not None else None)
        return energy_breakdown(rep, name)

    return _figure(out, overwrite, draw, lambda d: ", ".join(f"{k}: {len(v)} op kinds" for k, v in d.items()))


# ---- helpers ------------------------------------------------------------------------------------

def _learn_arch(arch: str, hidden: int, feedback: str = "none") -> tuple[int, bool]:
    """(hidden size, recurrent) of an ``arch`` that Lava's learning engine can learn (one dense or
    recurrent hidden layer, or none; a recurrent one learns, so it needs ``feedback="random"``), or a
    one-line error naming the layer it cannot (docs/layers.md "Lava")."""
    from .layers import CONV, POOL, RECURRENT, parse_arch, weight_layers

    if hidden:
        raise NeurochipError("give --hidden or --arch, not both")
    tokens = arch.strip().split("-")
    big = 256   # kinds only matter here: a large image so no kernel is too big for it
    specs = weight_layers(parse_arch(arch, big * big, 10, (1, big, big) if tokens[0][:1] in "cpa" else ()))
    for i, sp in enumerate(specs):
        why = {CONV: "its weights are shared across positions and LearningDense learns one weight per synapse",
               POOL: "pooling has no learned weights and no LearningDense form"}.get(sp.kind)
        if sp.kind == RECURRENT and feedback != "random":
            why = ("recurrent hidden layers are exported as learning layers only (two LearningDense, the second "
                   "from its spikes back to its input): add --feedback random")
        if why is None and sp.k_u:
            why = "the learning emulation models current-less neurons only"
        if why:
            raise NeurochipError(f"layer {i} ({sp.token}) cannot learn in Lava: {why} (docs/layers.md)")
    if len(specs) > 2:
        raise NeurochipError(f"layer 1 ({specs[1].token}): Lava learning runs at most one hidden layer")
    return (specs[0].n_out, specs[0].kind == RECURRENT) if len(specs) == 2 else (0, False)


def _progress_factory(progress: bool | ProgressFactory) -> ProgressFactory | None:
    if callable(progress):
        return progress
    if not progress:
        return None
    import click

    def factory(n: int, label: str):
        return click.progressbar(length=n, label=label, file=sys.stderr, show_pos=True)

    return factory


def _record_float(engine: "Engine", xin: Any) -> Recording:
    """One sample through the float reference, step by step, by the float OTTT kernel itself: the
    kernel keeps only the last step's state, so it runs the sample truncated to t = 1..T steps
    (from the same start, the same encoder PRNG state) and each run's final state is step t - 1.
    Traces by the kernels' own helper (kernels/lif_float.trace) at the kernel's float32."""
    from .kernels.lif_float import trace
    from .kernels.ottt_float import run_float

    from .backends.float_ottt import FloatBackend

    backend = engine.backend
    assert isinstance(backend, FloatBackend)
    net, learn, params, state0 = backend.fk.args
    X = np.ascontiguousarray(xin[0], np.float64)
    sizes = [int(n) for n in engine.cfg.sizes]
    n0, L, T = sizes[0], len(sizes) - 1, engine.cfg.timesteps
    noff = [int(o) for o in net.noff]
    lam = net.lam
    y, order, preds = np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64)
    inp = np.zeros((T, n0))
    spikes = [np.zeros((T, n), np.uint8) for n in sizes[1:]]
    mem = [np.zeros((T, n), np.float32) for n in sizes[1:]]
    for t in range(1, T + 1):
        st = type(state0)(*(a.copy() for a in state0))
        run_float(X, y, order, net._replace(T=t), learn, params, st, preds, False)
        inp[t - 1] = st.s[:n0]
        for l in range(L):
            spikes[l][t - 1] = st.s[noff[l + 1]:noff[l + 1] + sizes[l + 1]] != 0
            mem[l][t - 1] = st.v[noff[l + 1]:noff[l + 1] + sizes[l + 1]]
    traces = [np.zeros((T, sizes[l]), np.float32) for l in range(L)]
    for l in range(L):
        a = np.zeros(sizes[l], np.float32)
        src = inp if l == 0 else spikes[l - 1]
        for t in range(T):
            for j in range(sizes[l]):
                s = np.float64(src[t, j]) if l == 0 else np.float32(src[t, j])
                a[j] = trace(a[j], lam[l], s)
            traces[l][t] = a
    return Recording(input=inp, spikes=spikes, membranes=mem, traces=traces, prediction=int(preds[0]),
                     threshold=1.0, trace_frac_bits=0)


def _traces(engine: "Engine", R: np.ndarray, impulse: np.ndarray, spikes: list[np.ndarray]) -> list[np.ndarray]:
    """Presynaptic traces of every weight layer over the T steps of one sample, by the kernel's
    own step (kernels/trace.py) in run_int's order: per step, the input's traces, then each hidden
    layer's, drawing from a copy of the learning PRNG."""
    from .kernels.trace import layer_trace_step

    _, lifs, lrn, _ = engine.kernel_params()
    T = R.shape[0]
    L = engine.cfg.n_layers
    rng = int(engine.rng[0])
    one = 1 << int(lrn.tr_frac)
    sto, bits = bool(lrn.tr_sto), int(lrn.tr_bits)
    ks = [int(k) for k in lifs.leak_shift]
    out = [np.zeros((T, engine.cfg.sizes[l]), np.int64) for l in range(L)]
    kus = [int(k) for k in lrn.tr_ku]        # > 0: a CUBA layer's exact trace (current trace z first)
    state = [np.zeros(engine.cfg.sizes[l], np.int64) for l in range(L)]
    zstate = [np.zeros(engine.cfg.sizes[l], np.int64) for l in range(L)]
    for t in range(T):
        for l in range(L):
            fired = R[t] != 0 if l == 0 else spikes[l - 1][t] != 0
            a, z = state[l], zstate[l]
            for j in range(a.shape[0]):
                imp = (int(impulse[j]) if l == 0 else one) if fired[j] else 0
                z[j], a[j], rng, _, _ = layer_trace_step(int(z[j]), int(a[j]), imp, kus[l], ks[l], sto, bits, rng)
            out[l][t] = a
    return out


__all__ = ["AvgPool2d", "CHOICES", "Conv2d", "DEFAULT_LR", "DEFAULT_PROFILE", "Dense", "EnergyReport", "Evaluation",
           "EventBinning", "Flatten", "Network", "NetworkConfig", "Recording", "RecurrentDense", "SumPool2d",
           "SweepRun", "SweepTable", "build", "check_output", "compare_lava_learning", "energy_report", "import_nir",
           "lava_status", "list_profiles", "load", "load_data", "load_profile", "plot_axis", "plot_counters",
           "plot_curves", "plot_energy", "plot_pareto", "plot_raster", "plot_weights", "profile_summaries",
           "read_sweep", "run_sweep", "set_threads", "sweep_points"]
