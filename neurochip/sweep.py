"""Design-space sweeps: many training runs, each one Dask task, results streamed into one table.

A sweep spec (TOML) is a base run plus axes::

    [base]                      # one run: every key of `neurochip train` has a name here
    dataset = "digits"          # or data = "path/to/file.npz" (the same path must exist on workers)
    hidden = [64]               # hidden layer sizes (or "64,32")
    profile = "loihi"           # bundled name or .toml path
    epochs = 3
    timesteps = 8               # any NetworkConfig field: rule, lr, precision, encoder, seed, ...
    synapse.weight_bits = 8     # any profile key, dotted: section.key
    train_samples = 0           # first N training samples only (0: all); test_samples likewise

    [axes]                      # one list per swept key: the grid is their product
    "synapse.weight_bits" = [4, 5, 6, 7, 8]
    "learning.trace_bits" = [6, 7, 8]
    seed = [0, 1, 2]
    "learning.trace_bits,learning.trace_frac_bits" = [[6, 4], [8, 6]]   # zipped: moved together

    [[axes]] ... [[axes]]       # or several grids (an array of tables): the points are their union,
                                # e.g. one grid per width, each around the base run

    [sample]                    # optional: a seeded random sample of the grid instead of all of it
    points = 20
    seed = 0

Bare profile key names (``update_rounding``, ``trace_bits``, ``leak_shift``) name the one profile
key of that name; run keys and NetworkConfig fields come first (``shadow_weight_bits`` is the
network option, ``learning.shadow_weight_bits`` the profile key). Columns use the dotted names.

Every point is resolved to a *point spec* (dataset, subset sizes, epochs, the full NetworkConfig
and the full profile after overrides) and validated before anything runs. Its key is a stable
hash of that spec, so a re-run skips finished points and a changed profile file is a new point.
The dataset split follows the point's ``seed`` as ``neurochip train`` does.

A point's row (:func:`run_point`) depends only on its spec: seeds are fixed, kernels are
sequential, and the one wall-clock column (``seconds``) is listed in :data:`NONDETERMINISTIC`.
The table (``results.csv``) is rewritten atomically (temporary file + ``os.replace``) after every
finished point.
"""
from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import math
import os
import tempfile
import time
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import NeurochipError

#: keys of a run that are not NetworkConfig fields
RUN_KEYS = ("dataset", "data", "hidden", "profile", "epochs", "train_samples", "test_samples", "train_eval")
RUN_DEFAULTS = {"profile": "loihi", "hidden": (128,), "epochs": 30, "train_samples": 0, "test_samples": 0,
                "train_eval": 0}
PROFILE_SECTIONS = ("neuron", "synapse", "learning")
#: columns every row has, in this order before the axis columns
META_COLUMNS = ("point", "index")
#: columns after the axis columns
RESULT_COLUMNS = ("precision", "accuracy", "train_accuracy", "inference_pj_per_sample", "training_pj_per_sample",
                  "inference_bytes", "training_bytes", "spikes_per_sample", "update_zero_fraction")
#: columns that depend on the machine, not on the point (left out of bit-identity comparisons)
NONDETERMINISTIC = ("seconds", "cpu_seconds")
TABLE = "results.csv"
SPEC_VERSION = 1   # part of every point's key: bump when a row's meaning changes
TOLERANCES = (0.005, 0.01, 0.02, 0.05)
CONNECT_TIMEOUT = "20s"   # to reach a --scheduler   # summary buckets: within these accuracy points of the best


# ---- the energy model, through one adapter ---------------------------------------------------------
def energy_api():
    """The energy functions the sweep and the plots use. The one place that imports
    ``neurochip.energy``: if its modules move, fix the import here."""
    from types import SimpleNamespace

    from .energy.counts import Counts, gather_counts
    from .energy.report import build_report

    return SimpleNamespace(Counts=Counts, gather_counts=gather_counts, build_report=build_report)


# ---- spec parsing ---------------------------------------------------------------------------------
def _network_fields() -> tuple[str, ...]:
    from .network import NetworkConfig

    return tuple(f.name for f in fields(NetworkConfig) if f.name != "sizes")


def _profile_keys() -> dict[str, list[str]]:
    from .profile import LearningSpec, NeuronSpec, SynapseSpec

    out: dict[str, list[str]] = {}
    for sec, cls in zip(PROFILE_SECTIONS, (NeuronSpec, SynapseSpec, LearningSpec)):
        for f in fields(cls):
            out.setdefault(f.name, []).append(f"{sec}.{f.name}")
    return out


def canonical_key(key: str, where: str) -> str:
    """The dotted name of a spec key: a run key, a NetworkConfig field or ``section.key``."""
    key = key.strip()
    if key in RUN_KEYS or key in _network_fields():
        return key
    pk = _profile_keys()
    if "." in key:
        sec, name = key.split(".", 1)
        if sec in PROFILE_SECTIONS and name in pk and f"{sec}.{name}" in pk[name]:
            return key
        raise NeurochipError(f"{where}: unknown key '{key}' (profile keys are neuron.*, synapse.*, learning.*; "
                             "see docs/profiles.md)")
    if key in pk:
        if len(pk[key]) > 1:
            raise NeurochipError(f"{where}: '{key}' is ambiguous: write one of {', '.join(pk[key])}")
        return pk[key][0]
    raise NeurochipError(f"{where}: unknown key '{key}' (run keys: {', '.join(RUN_KEYS)}; network options: "
                         "see `neurochip train --help`; profile keys: section.key)")


def _flatten(table: dict, where: str) -> dict[str, Any]:
    """Nested TOML tables ([base.synapse] or synapse.weight_bits = ...) to dotted keys."""
    out = {}
    for k, v in table.items():
        if isinstance(v, dict):
            if k not in PROFILE_SECTIONS:
                raise NeurochipError(f"{where}: '{k}' is a table; only profile sections ({', '.join(PROFILE_SECTIONS)}) are")
            for kk, vv in v.items():
                if isinstance(vv, dict):
                    raise NeurochipError(f"{where}: '{k}.{kk}' is a table, want a value")
                out[f"{k}.{kk}"] = vv
        else:
            out[k] = v
    return out


@dataclass(frozen=True)
class Axis:
    names: tuple[str, ...]         # one name, or several moved together (zipped)
    values: tuple[tuple, ...]      # one tuple of len(names) per grid value


@dataclass
class Spec:
    base: dict[str, Any]           # canonical key -> value
    axes: list[Axis]               # the first (or only) grid
    sample: int | None = None      # random sample of this many grid points
    sample_seed: int = 0
    source: str = "<spec>"
    more: list[list[Axis]] = field(default_factory=list)   # further grids ([[axes]]): points are the union

    @property
    def grids(self) -> list[list[Axis]]:
        return [self.axes] + self.more

    @property
    def axis_names(self) -> list[str]:
        out = []
        for g in self.grids:
            out += [n for a in g for n in a.names if n not in out]
        return out


def parse_spec(d: dict, source: str = "<spec>") -> Spec:
    """A spec from its TOML dict (see the module docstring); errors name the key."""
    if not isinstance(d, dict):
        raise NeurochipError(f"{source}: a sweep spec is a TOML table")
    unknown = set(d) - {"base", "axes", "sample"}
    if unknown:
        raise NeurochipError(f"{source}: unknown table '{sorted(unknown)[0]}' (want [base], [axes], [sample])")
    base = {}
    for k, v in _flatten(d.get("base", {}), f"{source} [base]").items():
        base[canonical_key(k, f"{source} [base]")] = v
    if "dataset" in base and "data" in base:
        raise NeurochipError(f"{source} [base]: give either dataset or data, not both")
    raw = d.get("axes", {})
    if isinstance(raw, list):
        if not raw or not all(isinstance(t, dict) for t in raw):
            raise NeurochipError(f"{source}: [[axes]] must be one or more tables of axes")
        grids = [_parse_axes(t, f"{source} [[axes]] #{i + 1}") for i, t in enumerate(raw)]
    elif isinstance(raw, dict):
        grids = [_parse_axes(raw, f"{source} [axes]")]
    else:
        raise NeurochipError(f"{source}: [axes] must be a table")
    sample, sseed = None, 0
    if "sample" in d:
        s = d["sample"]
        if not isinstance(s, dict) or set(s) - {"points", "seed"} or "points" not in s:
            raise NeurochipError(f"{source} [sample]: want points = N and optionally seed = S")
        sample, sseed = s["points"], s.get("seed", 0)
        if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
            raise NeurochipError(f"{source} [sample]: points must be a positive integer, got {sample!r}")
        if isinstance(sseed, bool) or not isinstance(sseed, int) or sseed < 0:
            raise NeurochipError(f"{source} [sample]: seed must be an integer >= 0, got {sseed!r}")
    return Spec(base, grids[0], sample, sseed, source, grids[1:])


def _parse_axes(raw: dict, where: str) -> list[Axis]:
    axes: list[Axis] = []
    seen: set[str] = set()
    for k, vals in _flatten(raw, where).items():
        names = tuple(canonical_key(n, where) for n in k.split(","))
        for n in names:
            if n in seen:
                raise NeurochipError(f"{where}: '{n}' is swept twice")
            if n in ("dataset", "data", "profile"):
                raise NeurochipError(f"{where}: '{n}' cannot be an axis (one dataset and base profile per sweep)")
            seen.add(n)
        if not isinstance(vals, list) or not vals:
            raise NeurochipError(f"{where}: '{k}' must be a non-empty list of values")
        if len(names) > 1:
            bad = [v for v in vals if not (isinstance(v, list) and len(v) == len(names))]
            if bad:
                raise NeurochipError(f"{where}: '{k}' moves {len(names)} keys together: every value must be a "
                                     f"list of {len(names)}, got {bad[0]!r}")
            tup = tuple(tuple(v) for v in vals)
        else:
            tup = tuple((v,) for v in vals)
        if len(set(map(_hashable, tup))) != len(tup):
            raise NeurochipError(f"{where}: '{k}' lists a value twice")
        axes.append(Axis(names, tup))
    return axes


def load_spec(path: str | os.PathLike) -> Spec:
    p = Path(path)
    if not p.is_file():
        raise NeurochipError(f"sweep spec not found: {p}")
    try:
        d = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise NeurochipError(f"{p}: not valid TOML ({' '.join(str(e).split())})") from None
    spec = parse_spec(d, str(p))
    # relative paths in the spec are relative to the spec file
    for k in ("data", "profile"):
        v = spec.base.get(k)
        if isinstance(v, str) and (k == "data" or v.endswith(".toml") or os.sep in v):
            q = Path(v)
            if not q.is_absolute():
                spec.base[k] = str((p.parent / q).resolve())
    return spec


def _hashable(v):
    return json.dumps(v, sort_keys=True)


# ---- points ---------------------------------------------------------------------------------------
@dataclass
class Point:
    index: int                     # position in the spec's grid (or sample) order
    values: dict[str, Any]         # axis name -> value
    spec: dict | None = None       # resolved point spec (None if invalid)
    key: str = ""
    error: str | None = None

    def label(self) -> str:
        return ", ".join(f"{k}={_cell(v)}" for k, v in self.values.items()) or "base"


def grid(spec: Spec) -> list[dict[str, Any]]:
    """Axis values of every point: the full grid, or a seeded random sample of it (no repeats)."""
    out = []
    for axes in spec.grids:
        for combo in (itertools.product(*[a.values for a in axes]) if axes else [()]):
            vals = {}
            for ax, tup in zip(axes, combo):
                vals.update(zip(ax.names, tup))
            if vals not in out:        # grids may overlap
                out.append(vals)
    if spec.sample is not None and spec.sample < len(out):
        pick = np.random.default_rng([spec.sample_seed, 13]).choice(len(out), size=spec.sample, replace=False)
        out = [out[i] for i in pick]
    return out


def _hidden(v, where: str) -> tuple[int, ...]:
    if isinstance(v, bool):
        raise NeurochipError(f"{where}: hidden must be layer sizes, got {v!r}")
    if isinstance(v, int):
        v = [v]
    elif isinstance(v, str):
        try:
            v = [int(x) for x in v.split(",") if x.strip()]
        except ValueError:
            raise NeurochipError(f"{where}: hidden must be sizes like \"64,32\" or [64, 32], got {v!r}") from None
    if not isinstance(v, list) or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in v):
        raise NeurochipError(f"{where}: hidden must be positive layer sizes like [64, 32], got {v!r}")
    return tuple(v)


def _count(settings: dict, key: str, lo: int) -> int:
    v = settings.get(key, RUN_DEFAULTS.get(key, 0))
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise NeurochipError(f"{key} must be an integer >= {lo}, got {v!r}")
    return v


_DATA_CACHE: dict = {}


def load_data(info: dict):
    """The dataset of a point spec (cached per process: a worker loads digits once per seed), cut to
    the spec's first ``train_samples`` / ``test_samples`` samples."""

    from .data import load_dataset

    k = json.dumps(info, sort_keys=True)
    if k not in _DATA_CACHE:
        _DATA_CACHE[k] = load_dataset(info.get("name"), info.get("path"), info.get("seed", 0))
    return _DATA_CACHE[k]


def _subset(ds, n_train: int, n_test: int):
    import dataclasses

    kw = {}
    if n_train:
        kw.update(x_train=ds.x_train[:n_train], y_train=ds.y_train[:n_train])
    if n_test:
        kw.update(x_test=ds.x_test[:n_test], y_test=ds.y_test[:n_test])
    return dataclasses.replace(ds, **kw) if kw else ds


def resolve(settings: dict[str, Any]) -> dict:
    """A point spec from base + axis settings (canonical keys): everything a worker needs,
    validated (NetworkConfig, profile, the integer layout at every epoch's learning rate)."""
    from .api import DEFAULT_LR
    from .network import NetworkConfig, int_layout, lr_at
    from .profile import load_profile

    net_names = set(_network_fields())
    seed = settings.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise NeurochipError(f"seed must be an integer >= 0, got {seed!r}")
    if "data" in settings:
        info = {"path": str(Path(settings["data"]).resolve()), "seed": seed}
    else:
        info = {"name": settings.get("dataset", "digits"), "seed": seed}
    epochs = _count(settings, "epochs", 1)
    n_train, n_test = _count(settings, "train_samples", 0), _count(settings, "test_samples", 0)
    train_eval = _count(settings, "train_eval", 0)
    ds = _subset(load_data(info), n_train, n_test)
    hidden = _hidden(settings.get("hidden", RUN_DEFAULTS["hidden"]), "hidden")
    opts = {k: v for k, v in settings.items() if k in net_names}
    opts.setdefault("lr", DEFAULT_LR[opts.get("optimizer", "sgd")])
    opts.setdefault("lr_horizon", epochs)
    for k, v in opts.items():
        if isinstance(v, (list, dict)):
            raise NeurochipError(f"{k} must be a single value, got {v!r}")
    try:
        cfg = NetworkConfig(sizes=(ds.n_features,) + hidden + (ds.n_classes,), **opts)
    except TypeError as e:
        raise NeurochipError(f"network options: {e}") from None
    prof = load_profile(settings.get("profile", RUN_DEFAULTS["profile"])).require_simulation()
    over: dict[str, dict] = {}
    for k, v in settings.items():
        if "." in k:
            sec, name = k.split(".", 1)
            over.setdefault(sec, {})[name] = v
    if over:
        prof = prof.with_overrides(**over)
    if cfg.precision == "int":
        for ep in range(epochs):
            int_layout(cfg, prof, lr_at(cfg, ep, epochs))
    pd = prof.to_dict()
    return {"version": SPEC_VERSION, "dataset": info, "train_samples": n_train, "test_samples": n_test,
            "epochs": epochs, "train_eval": train_eval, "config": cfg.to_dict(), "profile": pd}


def point_key(pspec: dict) -> str:
    """Stable hash of a resolved point spec (sorted JSON, sha256, 16 hex digits)."""
    return hashlib.sha256(json.dumps(pspec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def effective(pspec: dict, name: str):
    """The value of axis ``name`` in a resolved point spec (set by the point, the base or a default)."""
    if "." in name:
        sec, key = name.split(".", 1)
        return pspec["profile"][sec][key]
    if name == "hidden":
        return list(pspec["config"]["sizes"][1:-1])
    if name in pspec["config"]:
        return pspec["config"][name]
    return pspec.get(name)


def expand(spec: Spec) -> list[Point]:
    """Every point of the spec, resolved and validated (invalid ones keep their one-line error).
    Every point's ``values`` hold all the spec's axis names, at their effective values. Points that
    resolve to the same run (grids meeting at the base values) are kept once."""
    pts, keys = [], set()
    names = spec.axis_names
    for vals in grid(spec):
        p = Point(len(pts), vals)
        try:
            p.spec = resolve({**spec.base, **vals})
            p.key = point_key(p.spec)
            p.values = {n: effective(p.spec, n) for n in names}
        except NeurochipError as e:
            p.error = str(e)
        if p.key and p.key in keys:
            continue
        keys.add(p.key)
        pts.append(p)
    return pts


# ---- one point ------------------------------------------------------------------------------------
def _f(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def run_point(pspec: dict) -> dict:
    """Build, train, evaluate, count and price one point; its result row (no axis columns).

    Deterministic: the row depends only on ``pspec`` (``seconds`` aside). A problem in the point
    (NeurochipError) comes back as a row with ``error`` set, not as an exception."""
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        row = _run_point(pspec)
        row["error"] = ""
    except NeurochipError as e:
        row = {"error": str(e)}
    row["seconds"] = round(time.perf_counter() - t0, 3)
    row["cpu_seconds"] = round(time.process_time() - c0, 3)
    return row


def _run_point(pspec: dict) -> dict:
    from .counters import SAT
    from .engine import Engine
    from .network import NetworkConfig
    from .profile import profile_from_dict
    from .train import fit

    cfg = NetworkConfig.from_dict({**pspec["config"], "sizes": tuple(pspec["config"]["sizes"])})
    prof = profile_from_dict(pspec["profile"], source="sweep point")
    ds = _subset(load_data(pspec["dataset"]), pspec["train_samples"], pspec["test_samples"])
    engine = Engine(cfg, prof)
    hist = fit(engine, ds, pspec["epochs"], train_eval=pspec["train_eval"])
    row: dict[str, Any] = {"precision": cfg.precision, "accuracy": hist.test_acc[-1],
                           "train_accuracy": _f(hist.train_acc[-1]), "epochs": len(hist)}
    if engine.is_int:
        em = energy_api()
        n_learn = len(ds.y_train) * len(hist)
        inf, _ = em.gather_counts(engine, ds.x_test, ds.y_test, learn_samples=0)
        train = em.Counts(engine.ops.copy(), n_learn, True, engine.sat.copy())
        rep = em.build_report(engine, inf, train, [prof], None, strict=False)
        pr = rep["pricing"][prof.name]
        row["inference_pj_per_sample"] = pr["inference"]["total_pj_per_sample"]
        tr = pr["training"] or {}
        row["training_pj_per_sample"] = tr.get("total_pj_per_sample")
        row["inference_bytes"] = rep["footprint"]["inference_bytes"]
        row["training_bytes"] = rep["footprint"]["training_bytes"]
        from .counters import OPS

        row["spikes_per_sample"] = float(inf.ops[:, OPS.index("spikes")].sum()) / max(inf.samples, 1)
        sat = engine.sat.sum(axis=0)
        tried = int(sat[SAT.index("update_attempted")])
        row["update_zero_fraction"] = int(sat[SAT.index("update_zero")]) / tried if tried else None
        for k, name in enumerate(SAT):
            row[f"sat_{name}"] = int(sat[k])
    return row


# ---- the table ------------------------------------------------------------------------------------
def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(v)
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    return str(v)


class ResultTable:
    """``DIR/results.csv``: one row per finished point, keyed by ``point``; rewritten atomically
    after every added row, so a killed process leaves the last complete table."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.columns: list[str] = []
        self.rows: dict[str, dict[str, str]] = {}
        if self.path.exists():
            self.columns, rows = read_table(self.path)
            for r in rows:
                self.rows.setdefault(r.get("point", ""), r)

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def add(self, row: dict[str, Any]) -> bool:
        """Add a row (values formatted); False if its point is already in the table."""
        return self.add_many([row]) == 1

    def add_many(self, rows: list[dict[str, Any]]) -> int:
        """Add rows whose points are not in the table yet, then write the table once; how many."""
        n = 0
        for row in rows:
            key = row["point"]
            if key in self.rows:
                continue
            cells = {k: _cell(v) for k, v in row.items()}
            for k in cells:
                if k not in self.columns:
                    self.columns.append(k)
            self.rows[key] = cells
            n += 1
        if n:
            self.write()
        return n

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.columns, restval="", lineterminator="\n")
        w.writeheader()
        for r in sorted(self.rows.values(), key=lambda r: (_int_or(r.get("index")), r.get("point", ""))):
            w.writerow(r)
        atomic_write(self.path, buf.getvalue())


def _int_or(s, default=1 << 62) -> int:
    try:
        return int(s)
    except (TypeError, ValueError):
        return default


def atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_table(path: str | os.PathLike) -> tuple[list[str], list[dict[str, str]]]:
    p = Path(path)
    if not p.is_file():
        raise NeurochipError(f"sweep table not found: {p}")
    with open(p, newline="") as f:
        r = csv.DictReader(f)
        rows = list(r)
        cols = list(r.fieldnames or [])
    if "point" not in cols:
        raise NeurochipError(f"{p}: not a sweep table (no 'point' column)")
    return cols, rows


def number(s: str | None) -> float:
    """A table cell as a float (NaN when empty or not a number)."""
    try:
        return float(s) if s not in (None, "") else math.nan
    except ValueError:
        return math.nan


# ---- running --------------------------------------------------------------------------------------
@dataclass
class SweepResult:
    points: list[Point]
    ran: int              # points computed by this invocation
    skipped: int          # already in the table
    lost: list[str]       # points whose task failed for infrastructure reasons (re-run continues)
    table: ResultTable
    seconds: float


def _row(p: Point, result: dict) -> dict:
    return {"point": p.key, "index": p.index, **p.values, **result}


def local_cluster(workers: int | None = None, preload: bool = True):
    """A LocalCluster for sweeps: ``workers`` processes (default: one per core) of one thread each,
    single-threaded numba/OpenMP/BLAS in them, the Dask settings of :data:`sweep_worker.DASK_CONFIG`,
    and (``preload``) every worker warmed by ``neurochip.sweep_worker`` before it joins."""
    import logging

    import dask
    from distributed import LocalCluster

    from .sweep_worker import DASK_CONFIG

    n = workers or os.cpu_count() or 1
    one = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    with dask.config.set(DASK_CONFIG):
        return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR, env=one, preload=["neurochip.sweep_worker"] if preload else [])


def run_sweep(spec: Spec, out_dir: str | os.PathLike, scheduler: str | None = None, workers: int | None = None,
              serial: bool = False, skip_invalid: bool = False, progress: Callable | None = None,
              echo: Callable[[str], None] = print, retries: int = 2) -> SweepResult:
    """Run every point of ``spec`` not yet in ``out_dir/results.csv``: serially in this process, on
    a LocalCluster of ``workers`` processes (default: one per core), or on the Dask scheduler at
    ``scheduler``. Rows stream into the table as tasks finish."""
    t0 = time.perf_counter()
    pts = expand(spec)
    bad = [p for p in pts if p.error]
    for p in bad:
        echo(f"invalid point {p.index} ({p.label()}): {p.error}")
    if bad and not skip_invalid:
        raise NeurochipError(f"{len(bad)} of {len(pts)} points are invalid (listed above); fix the spec or pass --skip-invalid")
    good = [p for p in pts if not p.error]
    if not good:
        raise NeurochipError("no valid point to run")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "points.json", json.dumps(
        [{"index": p.index, "point": p.key, "values": p.values, "spec": p.spec} for p in good], indent=1, sort_keys=True))
    table = ResultTable(out / TABLE)
    todo = [p for p in good if p.key not in table]
    skipped = len(good) - len(todo)
    lost: list[str] = []
    bar = progress(len(todo)) if progress and todo else None
    try:
        if serial:
            for p in todo:
                table.add(_row(p, run_point(p.spec)))
                if bar:
                    bar.update(1)
        elif todo:
            lost = _run_dask(todo, table, scheduler, workers, bar, retries, echo)
    finally:
        if bar is not None and hasattr(bar, "finish"):
            bar.finish()
    return SweepResult(pts, len(todo) - len(lost), skipped, lost, table, time.perf_counter() - t0)


def _run_dask(todo: list[Point], table: ResultTable, scheduler, workers, bar, retries, echo) -> list[str]:
    from distributed import Client, as_completed

    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as e:
            raise NeurochipError(f"cannot reach the Dask scheduler at {scheduler} ({type(e).__name__}: "
                                 f"{' '.join(str(e).split())[:160]}); start one with `dask scheduler`") from None
    else:
        cluster = local_cluster(workers)
        client = Client(cluster)
    lost = []
    try:
        from .sweep_worker import SweepWarmUp

        client.register_plugin(SweepWarmUp([p.spec for p in todo]))
        futures = client.map(run_point, [p.spec for p in todo], key=[f"neurochip-point-{p.key}" for p in todo],
                             retries=retries, pure=False)
        by_key = {fut.key: p for fut, p in zip(futures, todo)}
        for batch in as_completed(futures, with_results=True, raise_errors=False).batches():
            rows = []
            for fut, res in batch:
                p = by_key[fut.key]
                if fut.status != "finished":   # a worker lost too often, a cancelled task
                    e = res[1] if isinstance(res, tuple) else res    # (type, exception, traceback) on error
                    lost.append(p.key)
                    echo(f"point {p.index} ({p.label()}) did not finish: {type(e).__name__}: "
                         f"{' '.join(str(e).split())[:200]}")
                    continue
                rows.append(_row(p, res))
            table.add_many(rows)
            if bar and rows:
                bar.update(len(rows))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return lost


# ---- summary --------------------------------------------------------------------------------------
def summarize(points: list[Point], table: ResultTable, energy: str = "inference_pj_per_sample") -> dict:
    """Best accuracy, and per bucket (within 0.5, 1, 2, 5 accuracy points of the best) the point
    with the lowest ``energy`` (then training energy, then footprint) among the spec's points."""
    keys = {p.key for p in points if p.key}
    rows = [r for k, r in table.rows.items() if k in keys and not r.get("error")]
    out = {"points": len(keys), "finished": len(rows), "errors": sum(1 for k, r in table.rows.items()
                                                                   if k in keys and r.get("error"))}
    if not rows:
        return out
    best = max(rows, key=lambda r: number(r["accuracy"]))
    acc_best = number(best["accuracy"])
    out["best"] = best
    buckets = []
    for tol in TOLERANCES:
        cand = [r for r in rows if number(r["accuracy"]) >= acc_best - tol - 1e-12]
        cand = [r for r in cand if not math.isnan(number(r.get(energy)))] or cand

        def cost(r):
            e = [number(r.get(c)) for c in (energy, "training_pj_per_sample", "training_bytes")]
            return tuple(math.inf if math.isnan(x) else x for x in e) + (-number(r["accuracy"]),)

        buckets.append({"within": tol, "row": min(cand, key=cost)})
    out["buckets"] = buckets
    return out


def format_summary(s: dict, axis_names: list[str], energy: str = "inference_pj_per_sample") -> str:
    lines = [f"{s['finished']} of {s['points']} points in the table" + (f" ({s['errors']} with errors)" if s["errors"] else "")]
    if "best" not in s:
        return "\n".join(lines)

    def desc(r):
        ax = ", ".join(f"{a}={r.get(a, '')}" for a in axis_names) or "base"
        e = number(r.get(energy))
        en = f"{e:,.0f} pJ/inference" if not math.isnan(e) else "no energy (float)"
        t = number(r.get("training_pj_per_sample"))
        tr = f", {t:,.0f} pJ/training sample" if not math.isnan(t) else ""
        return f"accuracy {number(r['accuracy']):.4f}, {en}{tr}  [{ax}] point {r['point']}"

    lines.append("best accuracy: " + desc(s["best"]))
    lines.append("cheapest point per accuracy bucket (within N points of the best):")
    for b in s["buckets"]:
        lines.append(f"  within {100 * b['within']:.1f}: " + desc(b["row"]))
    return "\n".join(lines)
