"""Checkpoint validation (issue 9 §4.2): every array is checked against the config before use.

Each case writes a corrupted copy of a good checkpoint with h5py and expects a one-line
NeurochipError naming the dataset (and, through the CLI, ``Error: ...`` with exit code 2) instead
of a traceback or a silent wrong read (a shortened bias used to load, the kernels read past its end
and the accuracy dropped from 0.942 to 0.77 with exit code 0).
"""
from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from neurochip import checkpoint
from neurochip.cli import main
from neurochip.engine import Engine
from neurochip.errors import NeurochipError
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile
from neurochip.train import History

INFO = {"name": "digits", "seed": 0, "train_eval": 512}


def _save(path, **kw):
    eng = Engine(NetworkConfig(sizes=(64, 16, 10), **kw), load_profile("loihi"))
    h = History()
    for e in (1, 2):
        h.append(epoch=e, train_acc=0.5, train_acc_online=0.5, test_acc=0.5, seconds=1.0, samples_per_s=1.0)
    checkpoint.save(path, eng, h, INFO)
    return path


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    return {"int": _save(d / "int.h5"),
            "shadow": _save(d / "shadow.h5", rule="ottt-a", shadow_weight_bits=12),
            "float": _save(d / "float.h5", precision="float", recurrent=True, learn_threshold=True, sws=True)}


def _corrupt(src, dst, edit):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        edit(f)
    return dst


def _replace(name, fn):
    def edit(f):
        a = f[name][()]
        del f[name]
        f[name] = fn(a)
    return edit


def _delete(name):
    def edit(f):
        del f[name]
    return edit


def _nan_at_0(a):
    a = a.copy()
    a.flat[0] = np.nan
    return a


def _set(value, index=0):
    def fn(a):
        a = a.copy()
        a.flat[index] = value
        return a
    return fn


CASES = [
    # (checkpoint, edit, expected message)
    ("int", _replace("bias/b0", lambda a: a[:-1]), "dataset /bias/b0 has shape (15,), the config wants (16,)"),
    ("int", _replace("counters/ops", lambda a: a[:, :-1]), "dataset /counters/ops has shape"),
    ("int", _replace("counters/sat", lambda a: a.T), "dataset /counters/sat has shape"),
    ("int", _replace("weights/W0", lambda a: a.astype(np.float32)), "dataset /weights/W0 has dtype float32, want integers"),
    ("int", _replace("weights/W1", lambda a: _set(300)(a.astype(np.int16))), "/weights/W1 holds values outside the 8-bit range [-128, 127]"),
    ("int", _replace("feedback/B0", lambda a: a[:, :5]), "dataset /feedback/B0 has shape (16, 5), the config wants (16, 10)"),
    ("int", _delete("feedback/B0"), "dataset /feedback/B0 is missing"),
    ("int", _delete("weights/W1"), "dataset /weights/W1 is missing"),
    ("int", _replace("rng", lambda a: a[:1]), "dataset /rng has shape (1,)"),
    ("int", _replace("rng", _set(0)), "dataset /rng holds values outside the range [1, 4294967295]"),
    ("int", _replace("counters/ops", _set(-5)), "dataset /counters/ops holds values below 0"),
    ("int", _replace("history/test_acc", lambda a: a[:1]), "dataset /history/test_acc has shape (1,), the config wants (2,)"),
    ("int", _replace("history/epoch", lambda a: a[::-1].copy()), "dataset /history/epoch is not 1..2"),
    ("int", _replace("history/seconds", lambda a: np.array([b"x", b"y"])), "dataset /history/seconds has dtype"),
    ("int", lambda f: f.create_dataset("shadow/S0", data=np.zeros((64, 16), np.int16)), "/shadow is present but"),
    ("int", lambda f: f.create_dataset("optimizer/M1", data=np.zeros(3, np.float32)), "/optimizer is present but"),
    ("int", lambda f: f.create_dataset("recurrent/R1", data=np.zeros((16, 16), np.float32)), "/recurrent is present but"),
    ("int", lambda f: f.attrs.__setitem__("epochs_done", 3), "dataset /history/epoch has shape (2,), the config wants (3,)"),
    ("shadow", _delete("shadow/S1"), "dataset /shadow/S1 is missing"),
    ("shadow", _replace("shadow/S0", _set(5000)), "dataset /shadow/S0 holds values outside the 12-bit range"),
    ("shadow", _replace("shadow/S0", lambda a: a + np.int16(16)), "dataset /weights/W0 is not /shadow/S0 >> 4"),
    ("float", _replace("weights/W1", _nan_at_0), "dataset /weights/W1 contains NaN or inf"),
    ("float", _replace("weights/W0", lambda a: a.astype(np.float64)), "dataset /weights/W0 has dtype float64, want float32"),
    ("float", _replace("bias/b1", lambda a: a.astype(np.int32)), "dataset /bias/b1 has dtype int32, want float32"),
    ("float", _replace("optimizer/M1", lambda a: a[:-1]), "dataset /optimizer/M1 has shape"),
    ("float", _replace("optimizer/M2", _nan_at_0), "dataset /optimizer/M2 contains NaN"),
    ("float", _replace("optimizer/step", _set(-1)), "dataset /optimizer/step holds values below 0"),
    ("float", _delete("optimizer/V"), "dataset /optimizer/V is missing"),
    ("float", _replace("recurrent/R1", lambda a: a[:8, :8]), "dataset /recurrent/R1 has shape (8, 8), the config wants (16, 16)"),
    ("float", _delete("threshold/th2"), "dataset /threshold/th2 is missing"),
    ("float", _replace("threshold/th1", lambda a: np.full_like(a, np.inf)), "dataset /threshold/th1 contains NaN or inf"),
    ("float", lambda f: f.attrs.__setitem__("dataset", '{"seed": 0}'), "names no dataset"),
]


@pytest.mark.parametrize("kind,edit,needle", CASES, ids=[c[2][:60] for c in CASES])
def test_corrupted_checkpoint_is_refused_with_one_line(good, tmp_path, kind, edit, needle):
    bad = _corrupt(good[kind], tmp_path / "bad.h5", edit)
    with pytest.raises(NeurochipError) as e:
        checkpoint.load(bad)
    msg = str(e.value)
    assert needle in msg and "\n" not in msg and msg.startswith(str(bad)), msg


def test_good_checkpoints_load(good):
    for kind, path in good.items():
        eng, h, info = checkpoint.load(path)
        assert len(h) == 2 and info == INFO and h.train_acc == [0.5, 0.5]


def test_checkpoint_without_the_frozen_train_accuracy_still_loads(good, tmp_path):
    """A version-1 file written before history/train_acc existed: its train accuracy is NaN."""
    old = _corrupt(good["int"], tmp_path / "old.h5", _delete("history/train_acc"))
    _, h, _ = checkpoint.load(old)
    assert len(h.train_acc) == 2 and np.isnan(h.train_acc).all()


def test_checkpoint_stores_the_cuba_trace_choice(tmp_path):
    """The CUBA trace choice survives a save; a checkpoint written before the option existed (no
    cuba_trace in its config) loads as "plain", the trace it was trained with."""
    import json
    for choice in ("exact", "plain"):
        p = _save(tmp_path / f"{choice}.h5", arch="d8u2", cuba_trace=choice)
        assert checkpoint.load(p)[0].cfg.cuba_trace == choice

    def drop(f):
        d = json.loads(f.attrs["config"])
        del d["cuba_trace"]
        f.attrs["config"] = json.dumps(d)
    old = _corrupt(tmp_path / "exact.h5", tmp_path / "old.h5", drop)
    assert checkpoint.load(old)[0].cfg.cuba_trace == "plain"


def test_float_layer_optimizer_state_round_trips(tmp_path):
    """Adam's moments and step count of a float layer network are saved and restored."""
    eng = Engine(NetworkConfig(sizes=(64, 10), arch="c2k3-p2-r6u1", precision="float", optimizer="adam", lr=0.001),
                 load_profile("loihi"))
    x = np.random.default_rng(0).uniform(0, 1, size=(2, 64))
    eng.run(eng.prepare(x), np.array([1, 2]), np.arange(2), True)
    st = {k: v.copy() for k, v in eng.optimizer_state().items()}
    assert st["M1"].any() and int(st["step"][0]) > 0
    h = History()
    h.append(epoch=1, train_acc=0.5, train_acc_online=0.5, test_acc=0.5, seconds=1.0, samples_per_s=1.0)
    checkpoint.save(tmp_path / "f.h5", eng, h, INFO)
    back = checkpoint.load(tmp_path / "f.h5")[0].optimizer_state()
    for k in ("M1", "M2", "step"):
        np.testing.assert_array_equal(back[k], st[k], err_msg=k)


@pytest.mark.parametrize("edit,needle", [
    (_replace("bias/b0", lambda a: a[:-1]), "/bias/b0 has shape"),
    (_replace("counters/ops", lambda a: a[:, :-1]), "/counters/ops has shape"),
])
def test_cli_refuses_corrupted_checkpoints(tmp_path, edit, needle):
    """eval and train --resume: `Error: ...` and exit code 2, never a traceback."""
    runner = CliRunner()
    good = tmp_path / "run.h5"
    res = runner.invoke(main, ["train", "--hidden", "16", "--epochs", "1", "--timesteps", "4", "--out", str(good)])
    assert res.exit_code == 0, res.output
    bad = _corrupt(good, tmp_path / "bad.h5", edit)
    for args in (["eval", str(bad)], ["train", "--resume", str(bad), "--epochs", "2"]):
        res = runner.invoke(main, args)
        assert res.exit_code == 2, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
        lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
        assert lines[-1].startswith("Error:") and needle in lines[-1] and "Traceback" not in res.output
