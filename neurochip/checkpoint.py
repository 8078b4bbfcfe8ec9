"""HDF5 checkpoints (h5py): a trained network, everything needed to continue it bit-identically.

Schema (format 1; documented for users in docs/checkpoint.md)::

    /                        attrs: format = "neurochip-checkpoint", version = 1,
                                    neurochip_version, config (JSON), profile (JSON),
                                    dataset (JSON: name or path, split seed), epochs_done
    /weights/W{l}            layer l's weights, n_l x n_{l+1}: integer mantissas at their true
                             width (int8 for 8-bit weights), or float32
    /shadow/S{l}             shadow (learning) weights, mixed precision only
    /bias/b{l}               biases of neuron layer l + 1
    /feedback/B{l}           fixed random feedback to hidden layer l + 1 (n_{l+1} x n_out)
    /rng                     int64[2]: the learning and encoder PRNG states
    /recurrent/R{l}          --recurrent (float): hidden layer l's recurrent weights (n_l x n_l)
    /threshold/th{l}         --learn-threshold (float): neuron layer l's thresholds
    /optimizer/{M1,M2,step}  float reference's optimizer state (V: raw weights under --sws)
    /counters/{sat,ops}      training counters, one row per weight layer
    /history/{epoch, train_acc_online, test_acc, seconds, samples_per_s}

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


def load(path: str | os.PathLike):
    """Read a checkpoint: returns (engine, history, dataset_info). Bad files raise NeurochipError."""
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
            cfg = NetworkConfig.from_dict(json.loads(f.attrs["config"]))
            profile = profile_from_dict(json.loads(f.attrs["profile"]), source=f"{path}:profile")
            dataset = json.loads(f.attrs["dataset"])
            L = cfg.n_layers
            wdtype = np.int32 if cfg.precision == "int" else np.float32
            weights = [np.asarray(f[f"weights/W{l}"]).astype(wdtype) for l in range(L)]
            shadow = ([np.asarray(f[f"shadow/S{l}"]).astype(np.int32) for l in range(L)]
                      if "shadow" in f else None)
            bias = [np.asarray(f[f"bias/b{l}"]).astype(wdtype) for l in range(L)]
            feedback = [np.asarray(f[f"feedback/B{l}"]).astype(wdtype) for l in range(L - 1)]
            recurrent = ([np.asarray(f[f"recurrent/R{l}"]).astype(wdtype) for l in range(1, L)]
                         if cfg.recurrent else [])
            threshold = ([np.asarray(f[f"threshold/th{l}"]).astype(wdtype) for l in range(1, L + 1)]
                         if cfg.learn_threshold else [])
            rng = np.asarray(f["rng"], np.int64)
            opt = {k: np.asarray(f[f"optimizer/{k}"]) for k in f["optimizer"]} if "optimizer" in f else {}
            sat = np.asarray(f["counters/sat"], np.int64)
            ops = np.asarray(f["counters/ops"], np.int64)
            history = History.from_arrays({k: f[f"history/{k}"][()] for k in f["history"]})
        except NeurochipError:
            raise
        except (KeyError, ValueError, TypeError, json.JSONDecodeError) as e:
            raise NeurochipError(f"{path}: malformed checkpoint ({type(e).__name__}: {e})") from None
    for l, w in enumerate(weights):
        if w.shape != (cfg.sizes[l], cfg.sizes[l + 1]):
            raise NeurochipError(f"{path}: weights/W{l} has shape {w.shape}, config says {(cfg.sizes[l], cfg.sizes[l + 1])}")
    if not all(np.isfinite(w).all() for w in weights + recurrent + threshold):
        raise NeurochipError(f"{path}: weights contain NaN or inf")
    engine = Engine(cfg, profile, NetworkState(cfg, weights, shadow, bias, feedback, recurrent, threshold))
    engine.rng[:] = rng
    engine.sat[:] = sat
    engine.ops[:] = ops
    if opt:
        engine.load_optimizer_state(opt)
    return engine, history, dataset
