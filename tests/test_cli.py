"""Every CLI command, and each bad input, through click's CliRunner."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from neurochip.cli import main

FAST = ["--hidden", "16", "--epochs", "1", "--timesteps", "4"]


@pytest.fixture()
def runner():
    return CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("ck") / "run.h5"
    res = CliRunner().invoke(main, ["train", "--dataset", "digits", *FAST, "--out", str(path)])
    assert res.exit_code == 0, res.output
    return path


def _npz(path, **over):
    rng = np.random.default_rng(0)
    d = dict(x_train=rng.integers(0, 256, (40, 4, 4), dtype=np.uint8), y_train=rng.integers(0, 3, 40),
             x_test=rng.integers(0, 256, (12, 4, 4), dtype=np.uint8), y_test=rng.integers(0, 3, 12))
    d.update(over)
    np.savez(path, **d)
    return path


def _error(res):
    assert res.exit_code == 2, (res.exit_code, res.output)
    lines = [ln for ln in res.output.strip().splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("Error:"), res.output
    return lines[-1]


def test_train_json_summary(runner, tmp_path):
    res = runner.invoke(main, ["train", "--dataset", "digits", *FAST, "--json", "--seed", "3"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output.strip().splitlines()[-1])
    assert d["epochs"] == 1 and 0.3 < d["test_accuracy"] <= 1.0
    assert d["config"]["seed"] == 3 and d["config"]["sizes"] == [64, 16, 10]
    assert d["samples_per_s"] > 0 and d["profile"] == "loihi" and "int_layout" in d


def test_train_float_and_generic(runner):
    for extra in (["--precision", "float"], ["--profile", "generic"], ["--rule", "ottt-a"]):
        res = runner.invoke(main, ["train", "--dataset", "digits", *FAST, "--json", *extra])
        assert res.exit_code == 0, res.output


def test_train_user_npz_and_report(runner, tmp_path):
    data = _npz(tmp_path / "d.npz")
    rep = tmp_path / "rep.json"
    res = runner.invoke(main, ["train", "--data", str(data), *FAST, "--json", "--report", str(rep)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output.strip().splitlines()[-1])["config"]["sizes"] == [16, 16, 3]
    assert rep.exists() and json.loads(rep.read_text())


def test_eval_reports_accuracy_confusion_and_saturation(runner, trained):
    res = runner.invoke(main, ["eval", str(trained)])
    assert res.exit_code == 0, res.output
    assert "test accuracy" in res.output and "most confused" in res.output and "membrane_clip" in res.output
    assert "operation counts per inference sample" in res.output and "dense_ops" in res.output
    res = runner.invoke(main, ["eval", str(trained), "--json"])
    d = json.loads(res.output)
    assert len(d["per_class_accuracy"]) == 10 and "saturation_training" in d


def test_resume_continues_and_refuses_overrides(runner, tmp_path):
    out = tmp_path / "r.h5"
    assert runner.invoke(main, ["train", "--dataset", "digits", *FAST, "--out", str(out)]).exit_code == 0
    res = runner.invoke(main, ["train", "--resume", str(out), "--epochs", "2", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output.strip().splitlines()[-1])["epochs"] == 2
    with h5py.File(out) as f:
        assert f.attrs["epochs_done"] == 2
    assert "do not also give --hidden" in _error(runner.invoke(main, ["train", "--resume", str(out), "--hidden", "8", "--epochs", "3"]))
    assert "already has 2 epochs" in _error(runner.invoke(main, ["train", "--resume", str(out), "--epochs", "2"]))


def test_profiles_lists_bundled(runner):
    res = runner.invoke(main, ["profiles"])
    assert res.exit_code == 0 and "loihi" in res.output and "generic" in res.output
    rows = json.loads(runner.invoke(main, ["profiles", "--json"]).output)
    assert {r["name"] for r in rows} >= {"loihi", "generic"}


def test_out_is_never_overwritten_without_flag(runner, tmp_path):
    out = tmp_path / "keep.h5"
    out.write_bytes(b"precious")
    msg = _error(runner.invoke(main, ["train", "--dataset", "digits", *FAST, "--out", str(out)]))
    assert "exists" in msg and out.read_bytes() == b"precious"


@pytest.mark.parametrize("args,needle", [
    (["--hidden", "12,x"], "--hidden"),
    (["--hidden", "0"], "positive"),
    (["--epochs", "0"], "--epochs"),
    (["--timesteps", "0"], "timesteps"),
    (["--profile", "nosuchchip"], "unknown profile"),
    (["--profile", "/nonexistent/p.toml"], "not found"),
    (["--lr", "nan"], "learning rate"),
    (["--shadow-bits", "4"], "shadow"),
    (["--loss", "count"], "spiking readout"),
    (["--data", "/nonexistent/data.npz"], "nonexistent"),
])
def test_train_bad_input(runner, args, needle):
    base = ["train", *FAST]
    if "--data" not in args:
        base += ["--dataset", "digits"]
    msg = _error(runner.invoke(main, base + args))
    assert needle in msg


def test_train_malformed_profile(runner, tmp_path):
    src = open("hw_profiles/loihi.toml").read()
    for bad, needle in ((src.replace("membrane_bits = 24", "membrane_bits = 99"), "neuron.membrane_bits"),
                        (src.replace("compare = \">\"", "compare = \"~\""), "neuron.compare"),
                        (src + "\nbogus = 1\n", "bogus"),
                        (src.replace("trace_bits = 7 ", ""), "learning.trace_bits"),
                        ("this is [not toml", "TOML")):
        p = tmp_path / "bad.toml"
        p.write_text(bad)
        assert needle in _error(runner.invoke(main, ["train", "--dataset", "digits", *FAST, "--profile", str(p)]))


@pytest.mark.parametrize("over,needle", [
    (dict(x_train=np.full((40, 4, 4), np.nan)), "NaN"),
    (dict(y_train=np.full(40, -1)), "label"),
    (dict(y_test=np.zeros(5, int)), "length"),
])
def test_train_bad_data(runner, tmp_path, over, needle):
    data = _npz(tmp_path / "bad.npz", **over)
    assert needle.lower() in _error(runner.invoke(main, ["train", "--data", str(data), *FAST])).lower()


def test_train_data_missing_keys(runner, tmp_path):
    p = tmp_path / "k.npz"
    np.savez(p, x_train=np.zeros((4, 2)))
    assert "y_train" in _error(runner.invoke(main, ["train", "--data", str(p), *FAST]))


def test_eval_bad_checkpoints(runner, tmp_path):
    assert "not found" in _error(runner.invoke(main, ["eval", str(tmp_path / "none.h5")]))
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x00" * 64)
    assert "not an HDF5" in _error(runner.invoke(main, ["eval", str(junk)]))
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    assert "not a neurochip checkpoint" in _error(runner.invoke(main, ["eval", str(other)]))


def test_eval_truncated_checkpoint(runner, trained, tmp_path):
    bad = tmp_path / "trunc.h5"
    with h5py.File(trained) as src, h5py.File(bad, "w") as dst:
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        src.copy("weights", dst)
    assert "dataset /bias/b0 is missing" in _error(runner.invoke(main, ["eval", str(bad)]))


def test_train_float_reference_options_and_eval_with_another_decoder(runner, tmp_path):
    path = tmp_path / "rec.h5"
    res = runner.invoke(main, ["train", *FAST, "--precision", "float", "--recurrent", "--sws", "--learn-threshold",
                               "--readout", "spiking", "--loss", "rate_ce", "--decoder", "latency", "--json",
                               "--out", str(path)])
    assert res.exit_code == 0, res.output
    cfg = json.loads(res.output.strip().splitlines()[-1])["config"]
    assert cfg["recurrent"] and cfg["sws"] and cfg["learn_threshold"] and cfg["decoder"] == "latency"
    with h5py.File(path) as f:
        assert f["recurrent/R1"].shape == (16, 16)
        assert f["threshold/th2"].shape == (10,)
        assert "optimizer/V" in f
    accs = {}
    for dec in ("latency", "rate", "membrane"):
        res = runner.invoke(main, ["eval", str(path), "--decoder", dec, "--json"])
        assert res.exit_code == 0, res.output
        accs[dec] = json.loads(res.output)["accuracy"]
    assert all(0 <= a <= 1 for a in accs.values())


@pytest.mark.parametrize("args,msg", [
    (["--loss", "rate_ce"], "spiking readout"),
    (["--readout", "spiking", "--loss", "rate_mse"], "no integer form"),
    (["--recurrent"], "precision float"),
    (["--decoder", "latency"], "spiking readout"),
    # issue 9 §4.7: float-only options are refused on chip, not silently ignored (adam's lr 0.001 too)
    (["--optimizer", "adam"], "--optimizer adam is a float-reference option"),
    (["--optimizer", "momentum"], "--optimizer momentum is a float-reference option"),
    (["--optimizer", "adam", "--lr", "0.05"], "float-reference option"),
    (["--no-detach-reset"], "BPTT option"),
    (["--precision", "float", "--detach-reset"], "BPTT option"),
    (["--precision", "float", "--shadow-bits", "12"], "no shadow weights"),
    # issue 9 §4.8: OTTT_A's accumulator limits the shadow width (8 + 16 - 1 - 7 = 16 on loihi)
    (["--rule", "ottt-a", "--shadow-bits", "20"], "limit is weight_bits + accumulator_bits - 1 - accumulator_frac_bits = 16 bits"),
    (["--rule", "ottt-a", "--shadow-bits", "17", "--profile", "generic"], "= 16 bits"),
])
def test_train_refuses_inconsistent_loss_decoder_and_option_choices(runner, args, msg):
    res = runner.invoke(main, ["train", *FAST, *args])
    assert msg in _error(res)


def test_eval_refuses_a_decoder_the_readout_cannot_use(runner, trained):
    res = runner.invoke(main, ["eval", str(trained), "--decoder", "rate"])
    assert "spiking readout" in _error(res)


def test_float_only_options_still_work_where_they_belong(runner):
    for extra in (["--precision", "float", "--optimizer", "adam"], ["--precision", "float", "--rule", "bptt", "--no-detach-reset"],
                  ["--optimizer", "sgd"], ["--rule", "ottt-a", "--shadow-bits", "16"]):
        res = runner.invoke(main, ["train", *FAST, "--json", *extra])
        assert res.exit_code == 0, (extra, res.output)
        cfg = json.loads(res.output.strip().splitlines()[-1])["config"]
        # the default learning rate follows the optimizer the network really uses (adam's only in float)
        assert cfg["lr"] == (0.001 if "adam" in extra else 0.05), (extra, cfg["lr"])


def test_report_is_checked_before_training(runner, tmp_path, monkeypatch):
    """issue 9 §4.9: an existing report is not replaced without --overwrite, and a report that
    cannot be written fails before any training (not after it)."""
    import neurochip.train as T

    def no_training(*a, **k):
        raise AssertionError("training started before the outputs were checked")

    rep = tmp_path / "rep.json"
    rep.write_text("precious")
    monkeypatch.setattr(T, "fit", no_training)
    assert "exists; pass --overwrite" in _error(runner.invoke(main, ["train", *FAST, "--report", str(rep)]))
    assert rep.read_text() == "precious"
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert "is not a folder" in _error(runner.invoke(main, ["train", *FAST, "--report", str(blocker / "sub" / "r.json")]))
    assert "is a folder" in _error(runner.invoke(main, ["train", *FAST, "--report", str(tmp_path)]))
    ck = tmp_path / "c.h5"
    assert "is the checkpoint file" in _error(runner.invoke(main, ["train", *FAST, "--out", str(ck), "--report", str(ck)]))
    assert "is not a folder" in _error(runner.invoke(main, ["train", *FAST, "--out", str(blocker / "c.h5")]))
    monkeypatch.undo()
    # a missing folder is made; --overwrite replaces the report
    deep = tmp_path / "new" / "dir" / "r.json"
    assert runner.invoke(main, ["train", *FAST, "--json", "--report", str(deep)]).exit_code == 0
    assert json.loads(deep.read_text())["samples"] > 0
    assert runner.invoke(main, ["train", *FAST, "--json", "--report", str(rep), "--overwrite"]).exit_code == 0
    assert json.loads(rep.read_text())["samples"] > 0


def test_eval_of_a_float_checkpoint_says_no_counts_are_kept(runner, tmp_path):
    """issue 9 §4.10: the float kernels keep no counters: say so instead of printing zeros."""
    path = tmp_path / "f.h5"
    assert runner.invoke(main, ["train", *FAST, "--precision", "float", "--out", str(path)]).exit_code == 0
    res = runner.invoke(main, ["eval", str(path)])
    assert res.exit_code == 0, res.output
    assert "none kept" in res.output and "dense_ops" not in res.output
    d = json.loads(runner.invoke(main, ["eval", str(path), "--json"]).output)
    assert d["counters_kept"] is False and d["ops_eval"] is None and d["saturation_eval"] is None
    assert runner.invoke(main, ["train", *FAST, "--out", str(tmp_path / "i.h5")]).exit_code == 0
    d = json.loads(runner.invoke(main, ["eval", str(tmp_path / "i.h5"), "--json"]).output)
    assert d["counters_kept"] is True and sum(d["ops_eval"]["syn_ops"]) > 0


@pytest.mark.parametrize("ytr,yte,needle", [
    ([0, 1, 2, 3], [0, 1, 2], "class 3 occurs in the training set but never in the test set"),
    ([0, 1, 2], [0, 1, 2, 3], "class 3 occurs in the test set but never in the training set"),
    ([0, 2], [0, 2], "class 1 occurs in neither split"),
    ([0, 1, 2, 3, 4], [0, 1, 2], "classes 3, 4 occur in the training set"),
])
def test_train_warns_about_classes_one_split_lacks(runner, tmp_path, ytr, yte, needle):
    """issue 9 §4.11: classes missing from one split are named on stderr (training still runs)."""
    data = _npz(tmp_path / "d.npz", y_train=np.resize(ytr, 40), y_test=np.resize(yte, 12))
    res = runner.invoke(main, ["train", "--data", str(data), *FAST, "--json"])
    assert res.exit_code == 0, res.output
    assert "Warning:" in res.stderr and needle in res.stderr, res.stderr
    json.loads(res.stdout.strip().splitlines()[-1])


def test_train_does_not_warn_when_both_splits_have_every_class(runner):
    res = runner.invoke(main, ["train", "--dataset", "digits", *FAST, "--json"])
    assert res.exit_code == 0 and "Warning" not in res.stderr


def _weights(path):
    with h5py.File(path) as f:
        return [f[f"weights/{k}"][()] for k in sorted(f["weights"])], f["rng"][()], json.loads(f.attrs["config"])


@pytest.mark.parametrize("first,resumed,reference", [
    # interrupted before its planned epochs (a run planned for 3 that stopped after 2)
    (["--epochs", "2", "--lr-horizon", "3"], ["--epochs", "3"], ["--epochs", "3"]),
    # a finished 2-epoch run extended to 3: it keeps its 2-epoch cosine, then the floor rate
    (["--epochs", "2"], ["--epochs", "3"], ["--epochs", "3", "--lr-horizon", "2"]),
])
def test_resume_ends_bit_identical_to_the_uninterrupted_run(runner, tmp_path, first, resumed, reference):
    """issue 9 §4.4 (README): train --resume run.h5 --epochs N ends bit-identical to the uninterrupted run."""
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    base = ["train", "--hidden", "16", "--timesteps", "4", "--json"]
    assert runner.invoke(main, [*base, *first, "--out", str(a)]).exit_code == 0
    res = runner.invoke(main, ["train", "--resume", str(a), *resumed, "--json"])
    assert res.exit_code == 0, res.output
    assert runner.invoke(main, [*base, *reference, "--out", str(b)]).exit_code == 0
    (wa, ra, ca), (wb, rb, cb) = _weights(a), _weights(b)
    assert ca == cb and all(np.array_equal(x, y) for x, y in zip(wa, wb)) and np.array_equal(ra, rb)
    with h5py.File(a) as fa, h5py.File(b) as fb:
        assert list(fa["history/test_acc"][()]) == list(fb["history/test_acc"][()])
        assert list(fa["history/train_acc"][()]) == list(fb["history/train_acc"][()])


def test_train_reports_a_frozen_train_accuracy(runner, tmp_path):
    """issue 9 §4.1: text, --json and the checkpoint history carry the frozen train accuracy."""
    path = tmp_path / "t.h5"
    res = runner.invoke(main, ["train", *FAST, "--out", str(path)])
    assert res.exit_code == 0, res.output
    assert "train acc" in res.stdout and "online" not in res.stdout
    assert "frozen pass (no learning) over 512 fixed training samples" in res.stderr
    with h5py.File(path) as f:
        assert 0 < f["history/train_acc"][0] <= 1 and json.loads(f.attrs["dataset"])["train_eval"] == 512
    d = json.loads(runner.invoke(main, ["train", *FAST, "--json", "--train-eval", "100"]).output.strip().splitlines()[-1])
    assert d["train_accuracy_samples"] == 100 and 0 < d["train_accuracy"] <= 1 and "train_accuracy_online" in d
    d = json.loads(runner.invoke(main, ["train", *FAST, "--json", "--train-eval", "0"]).output.strip().splitlines()[-1])
    assert d["train_accuracy"] is None and d["train_accuracy_samples"] == 0
    assert "do not also give --train-eval" in _error(runner.invoke(main, ["train", "--resume", str(path), "--epochs", "2", "--train-eval", "5"]))
