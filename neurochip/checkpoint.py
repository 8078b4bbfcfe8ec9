"""HDF5 checkpoints (h5py): a trained network, everything needed to continue it bit-identically.

Schema (format 1; documented for users in docs/checkpoint.md)::

    /                        attrs: format = "neurochip-checkpoint", version = 1,
                                    neurochip_version, config (JSON), profile (JSON),
                                    dataset (JSON: name or path, split seed), epochs_done
    /weights/W{l}            layer l's weights, n_l x n_{l+1} (other layer kinds: their weight_shape,
                             docs/layers.md; the config's arch names the kinds): integer mantissas at their true
                             width (int8 for 8-bit weights), or float32
    /shadow/S{l}             shadow (learning) weights, mixed precision only
    /bias/b{l}               biases of neuron layer l + 1
    /feedback/B{l}           fixed random feedback to hidden layer l + 1 (n_{l+1} x n_out)
    /rng                     int64[2]: the learning and encoder PRNG states
    /recurrent/R{l}          --recurrent (float): hidden layer l's recurrent weights (n_l x n_l)
    /threshold/th{l}         --learn-threshold (float): neuron layer l's thresholds
    /optimizer/{M1,M2,step}  float reference's optimizer state (V: raw weights under --sws)
    /counters/{sat,ops}      training counters, one row per weight layer
    /history/{epoch, train_acc, train_acc_online, test_acc, seconds, samples_per_s}

Loading checks every dataset against the config (shape, dtype, range, NaN; docs/checkpoint.md).

Writes are atomic: the file is written next to the target under a temporary name, flushed, and
renamed over it, so an interrupted save leaves the previous checkpoint intact.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from . import __version__
from .engine import Engine
from .errors import NeurochipError
from .network import NetworkConfig, NetworkState
from .profile import profile_from_dict
from .train import History

FORMAT = "neurochip-checkpoint"
VERSION = 1


def _int_dtype(bits: int):
    for dt in (np.int8, np.int16, np.int32):
        if bits <= np.iinfo(dt).bits:
            return dt
    return np.int64


def save(path: str | os.PathLike, engine: Engine, history: History, dataset: dict) -> None:
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        st = engine.state()
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["version"] = VERSION
            f.attrs["neurochip_version"] = __version__
            f.attrs["config"] = json.dumps(engine.cfg.to_dict())
            f.attrs["profile"] = json.dumps(engine.profile.to_dict())
            f.attrs["dataset"] = json.dumps(dataset)
            f.attrs["epochs_done"] = len(history)
            if engine.is_int:
                f.attrs["int_layout"] = json.dumps(engine.ilay.to_dict())
                wdt = _int_dtype(engine.profile.synapse.weight_bits)
                sdt = _int_dtype(engine.ilay.learn_bits)
            else:
                wdt = sdt = np.float32
            for l, w in enumerate(st.weights):
                f[f"weights/W{l}"] = w.astype(wdt)
            for l, w in enumerate(st.shadow or []):
                f[f"shadow/S{l}"] = w.astype(sdt)
            for l, b in enumerate(st.bias):
                f[f"bias/b{l}"] = b
            for l, b in enumerate(st.feedback):
                f[f"feedback/B{l}"] = b
            for l, r in enumerate(st.recurrent):
                f[f"recurrent/R{l + 1}"] = r
            for l, t in enumerate(st.threshold):
                f[f"threshold/th{l + 1}"] = t
            f["rng"] = engine.rng
            for k, v in engine.optimizer_state().items():
                f[f"optimizer/{k}"] = v
            f["counters/sat"] = engine.sat
            f["counters/ops"] = engine.ops
            for k, v in history.as_arrays().items():
                f[f"history/{k}"] = v
            f.flush()
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _int_range(bits: int) -> tuple[int, int]:
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


class _Reader:
    """Reads one dataset at a time and checks it against what the config implies: present, a
    dataset, its shape, its dtype (integers; float32 for float state), the value range of integer
    state and finiteness of float state. Every problem is one line naming the dataset."""

    def __init__(self, f, path):
        self.f, self.path = f, path

    def fail(self, msg: str):
        raise NeurochipError(f"{self.path}: {msg}")

    def __call__(self, name: str, shape: tuple, kind: str, bits: int | None = None, lo: int | None = None,
                 hi: int | None = None) -> np.ndarray:
        import h5py

        obj = self.f.get(name)
        if obj is None:
            self.fail(f"dataset /{name} is missing")
        if not isinstance(obj, h5py.Dataset):
            self.fail(f"/{name} is not a dataset")
        a = np.asarray(obj[()])
        if a.shape != tuple(shape):
            self.fail(f"dataset /{name} has shape {a.shape}, the config wants {tuple(shape)}")
        if kind == "int":
            if not np.issubdtype(a.dtype, np.integer):
                self.fail(f"dataset /{name} has dtype {a.dtype}, want integers")
            if bits is not None:
                lo, hi = _int_range(bits)
            if a.size and ((lo is not None and a.min() < lo) or (hi is not None and a.max() > hi)):
                if hi is None:
                    self.fail(f"dataset /{name} holds values below {lo}")
                what = f"the {bits}-bit range" if bits is not None else "the range"
                self.fail(f"dataset /{name} holds values outside {what} [{lo}, {hi}]")
            return a.astype(np.int64)
        want = np.float32 if kind == "float32" else np.floating
        if not np.issubdtype(a.dtype, want):
            self.fail(f"dataset /{name} has dtype {a.dtype}, want {'float32' if kind == 'float32' else 'floats'}")
        if kind == "float32" and not np.isfinite(a).all():
            self.fail(f"dataset /{name} contains NaN or inf")
        return a

    def absent(self, group: str, why: str) -> None:
        if group in self.f and len(self.f[group]):
            self.fail(f"/{group} is present but {why}")


def load(path: str | os.PathLike):
    """Read a checkpoint: returns (engine, history, dataset_info). Every array is checked against
    the config (shape, dtype, range, NaN) before use; bad files raise NeurochipError."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise NeurochipError(f"checkpoint not found: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise NeurochipError(f"{path}: not an HDF5 file (corrupt or not a neurochip checkpoint)") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise NeurochipError(f"{path}: not a neurochip checkpoint (no format attribute)")
        if int(f.attrs.get("version", -1)) != VERSION:
            raise NeurochipError(f"{path}: checkpoint version {f.attrs.get('version')} is not supported (want {VERSION})")
        try:
            return _load(f, path)
        except NeurochipError:
            raise
        except (KeyError, ValueError, TypeError, OSError, json.JSONDecodeError) as e:
            raise NeurochipError(f"{path}: malformed checkpoint ({type(e).__name__}: {' '.join(str(e).split())})") from None


def _load(f, path: Path):
    from .counters import OPS, SAT
    from .network import int_layout

    cd = json.loads(f.attrs["config"])
    cd.setdefault("cuba_trace", "plain")    # written before the exact CUBA trace: trained with the plain one
    cfg = NetworkConfig.from_dict(cd)
    profile = profile_from_dict(json.loads(f.attrs["profile"]), source=f"{path}:profile")
    dataset = json.loads(f.attrs["dataset"])
    if not isinstance(dataset, dict) or not ({"name", "path"} & set(dataset)):
        raise NeurochipError(f"{path}: attribute 'dataset' names no dataset (want a name or a path)")
    te = dataset.get("train_eval", 0)
    if not isinstance(te, int) or te < 0:
        raise NeurochipError(f"{path}: attribute 'dataset' has train_eval {te!r}, want a sample count >= 0")
    rd = _Reader(f, path)
    sz, L = cfg.sizes, cfg.n_layers
    wshape = [lay.weight_shape for lay in cfg.layers]   # Dense: (n_l, n_{l+1}); other kinds: docs/layers.md
    is_int = cfg.precision == "int"
    if is_int:
        lay = int_layout(cfg, profile.require_simulation())
        wbits = profile.synapse.weight_bits
        w = [rd(f"weights/W{l}", wshape[l], "int", wbits) for l in range(L)]
        if lay.shadow_extra:
            shadow = [rd(f"shadow/S{l}", wshape[l], "int", lay.learn_bits) for l in range(L)]
            for l, (wl, sl) in enumerate(zip(w, shadow)):
                if not np.array_equal(wl, sl >> lay.shadow_extra):
                    rd.fail(f"dataset /weights/W{l} is not /shadow/S{l} >> {lay.shadow_extra} (the inference weights "
                            "are the shadow weights' top bits)")
            shadow = [a.astype(np.int32) for a in shadow]
        else:
            rd.absent("shadow", "the config and profile have no shadow weights")
            shadow = None
        weights = [a.astype(np.int32) for a in w]
        bias = [rd(f"bias/b{l}", (sz[l + 1],), "int", 32).astype(np.int32) for l in range(L)]
        feedback = [rd(f"feedback/B{l}", (sz[l + 1], sz[-1]), "int", wbits).astype(np.int32) for l in range(L - 1)]
        rd.absent("optimizer", "the integer learner has no optimizer state")
    else:
        weights = [rd(f"weights/W{l}", wshape[l], "float32") for l in range(L)]
        rd.absent("shadow", "a float network has no shadow weights")
        shadow = None
        bias = [rd(f"bias/b{l}", (sz[l + 1],), "float32") for l in range(L)]
        feedback = [rd(f"feedback/B{l}", (sz[l + 1], sz[-1]), "float32") for l in range(L - 1)]
    if cfg.recurrent:
        recurrent = [rd(f"recurrent/R{l}", (sz[l], sz[l]), "float32") for l in range(1, L)]
    else:
        rd.absent("recurrent", "the config has no recurrent layers")
        recurrent = []
    if cfg.learn_threshold:
        threshold = [rd(f"threshold/th{l}", (sz[l],), "float32") for l in range(1, L + 1)]
    else:
        rd.absent("threshold", "the config does not learn thresholds")
        threshold = []
    rng = rd("rng", (2,), "int", lo=1, hi=(1 << 32) - 1)
    opt = {}
    if not is_int:
        n_ff = sum(sz[l] * sz[l + 1] for l in range(L)) if not cfg.arch else sum(lay.n_weights for lay in cfg.layers)
        n_par = n_ff + sum(a.size for a in recurrent) + sum(a.size for a in threshold)
        opt = {"M1": rd("optimizer/M1", (n_par,), "float32"), "M2": rd("optimizer/M2", (n_par,), "float32"),
               "step": rd("optimizer/step", (1,), "int", lo=0)}
        if cfg.sws:
            opt["V"] = rd("optimizer/V", (n_ff,), "float32")
    sat = rd("counters/sat", (L, len(SAT)), "int", lo=0)
    ops = rd("counters/ops", (L, len(OPS)), "int", lo=0)
    n = int(f.attrs["epochs_done"])
    if n < 0:
        rd.fail(f"attribute epochs_done is {n}")
    hist = {}
    for k in History().__dict__:
        if k == "train_acc" and "history/train_acc" not in f:
            continue   # written before the frozen train accuracy existed: NaN
        hist[k] = rd(f"history/{k}", (n,), "int" if k == "epoch" else "floats")
    if not np.array_equal(hist["epoch"], np.arange(1, n + 1)):
        rd.fail(f"dataset /history/epoch is not 1..{n}")
    history = History.from_arrays(hist)
    engine = Engine(cfg, profile, NetworkState(cfg, weights, shadow, bias, feedback, recurrent, threshold))
    engine.rng[:] = rng
    engine.sat[:] = sat
    engine.ops[:] = ops
    if opt:
        engine.load_optimizer_state(opt)
    return engine, history, dataset
