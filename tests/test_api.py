"""The public Python API (issue 15): every public name, its errors, and that the CLI agrees with it."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import neurochip as nc

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def digits():
    return nc.load_data("digits")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small integer network trained 2 epochs, saved."""
    path = tmp_path_factory.mktemp("api") / "net.h5"
    net = nc.build([nc.Dense(64, 16), nc.Dense(16, 10)], "loihi", timesteps=4)
    net.fit("digits", epochs=2, train_eval=64)
    net.save(path)
    return net, path


# ---- the public surface -----------------------------------------------------------------------

def test_docs_list_exactly_the_public_names():
    text = (ROOT / "docs" / "api.md").read_text()
    documented = re.findall(r"^### `(\w+)`", text, flags=re.M)
    assert len(documented) == len(set(documented))
    assert sorted(documented) == sorted(nc.__all__)
    for name in nc.__all__:
        assert getattr(nc, name) is not None
    assert "api.md" in (ROOT / "README.md").read_text()


def test_public_names_have_docstrings_with_examples():
    for name in nc.__all__:
        obj = getattr(nc, name)
        assert obj.__doc__, name
    for name in set(nc.__all__) - {"NeurochipError", "CHOICES"}:
        assert "Example::" in getattr(nc, name).__doc__, name
    for meth in ("fit", "evaluate", "predict", "run_sample", "save", "energy", "training_report", "to_lava",
                 "compare_lava", "copy", "to_nir"):
        assert "Example::" in getattr(nc.Network, meth).__doc__, meth
    assert "Example::" in nc.Profile.replace.__doc__


def test_public_functions_are_type_hinted():
    import inspect

    for f in (nc.load_profile, nc.list_profiles, nc.load_data, nc.build, nc.load, nc.lava_status, nc.energy_report,
              nc.import_nir, nc.profile_summaries, nc.set_threads, nc.check_output, nc.compare_lava_learning,
              nc.run_sweep, nc.sweep_points, nc.read_sweep, nc.plot_pareto, nc.plot_axis, nc.plot_curves,
              nc.plot_weights, nc.plot_counters, nc.plot_raster, nc.plot_energy, nc.SweepTable.column,
              nc.SweepRun.text, nc.SweepRun.to_dict,
              *(getattr(nc.Network, m) for m in ("fit", "evaluate", "predict", "run_sample", "save", "energy",
                                                   "training_report", "to_lava", "compare_lava", "weights",
                                                   "counters", "warm_up", "copy", "to_nir")), nc.Profile.replace):
        sig = inspect.signature(f)
        assert sig.return_annotation is not inspect.Signature.empty, f.__name__
        for p in sig.parameters.values():
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD,):
                assert p.annotation is not inspect.Parameter.empty, (f.__name__, p.name)
    assert (ROOT / "neurochip" / "py.typed").is_file()
    stub = (ROOT / "neurochip" / "__init__.pyi").read_text()
    for name in nc.__all__:
        assert re.search(rf"\b{name} as {name}\b", stub), name


def test_import_is_lazy_and_kernels_do_not_depend_on_the_api():
    """``import neurochip`` loads no submodule, and no kernel's numba cache stamp includes the API
    or the CLI (kernel_cache.py hashes every package file a kernel imports, __init__.py included)."""
    code = "import sys, neurochip; print(sorted(m for m in sys.modules if m.startswith('neurochip.')))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
    from neurochip.kernel_cache import dependencies

    for kernel in (ROOT / "neurochip" / "kernels").glob("*.py"):
        names = {p.name for p in dependencies(kernel)}
        assert not names & {"api.py", "cli.py", "checkpoint.py"}, (kernel.name, names)
    with pytest.raises(AttributeError):
        nc.not_a_name
    # a public name that is also a submodule's name would turn into that module once it is imported
    pkg = ROOT / "neurochip"
    assert not [n for n in nc.__all__ if (pkg / n).is_dir() or (pkg / f"{n}.py").is_file()]
    assert set(nc.__all__) <= set(dir(nc))


# ---- profiles -----------------------------------------------------------------------------------

def test_profiles_load_list_and_replace(tmp_path):
    names = nc.list_profiles()
    assert "loihi" in names and names == sorted(names)
    for n in names:
        assert isinstance(nc.load_profile(n), nc.Profile)
    p = nc.load_profile("loihi")
    assert nc.load_profile(p) is p
    assert nc.load_profile(ROOT / "hw_profiles" / "loihi.toml") == p
    p6 = p.replace("synapse.weight_bits", 6)
    assert p6.synapse.weight_bits == 6 and p.synapse.weight_bits == 8      # a copy
    assert p6.neuron == p.neuron and p6.learning == p.learning
    assert p6.replace("learning.trace_rounding", "floor").learning.trace_rounding == "floor"
    assert p.replace("name", "mine").name == "mine"
    with pytest.raises(nc.NeurochipError, match=r"key 'synapse.weight_bits' = 40 is out of range \[2, 16\]"):
        p.replace("synapse.weight_bits", 40)
    with pytest.raises(nc.NeurochipError, match="unknown profile key 'synapse.nope'"):
        p.replace("synapse.nope", 1)
    with pytest.raises(nc.NeurochipError, match="unknown profile key 'nope'"):
        p.replace("nope", 1)
    with pytest.raises(nc.NeurochipError, match="no \\[synapse\\] table"):
        nc.load_profile("cmos45").replace("synapse.weight_bits", 6)
    with pytest.raises(nc.NeurochipError, match="must be smaller than trace_bits"):
        p.replace("learning.trace_frac_bits", 15)
    with pytest.raises(nc.NeurochipError, match="unknown profile 'nope'"):
        nc.load_profile("nope")


def test_replaced_profile_changes_the_network():
    p = nc.load_profile("loihi")
    a = nc.build([64, 10], p)
    b = nc.build([64, 10], p.replace("synapse.weight_bits", 4))
    assert np.abs(a.weights()[0]).max() > 7 >= np.abs(b.weights()[0]).max()


# ---- data ---------------------------------------------------------------------------------------

def test_load_data_sources(tmp_path, digits):
    assert isinstance(digits, nc.Dataset) and digits.n_features == 64
    assert nc.load_data(digits) is digits
    rng = np.random.default_rng(0)
    arrays = (rng.random((30, 5)), rng.integers(0, 3, 30), rng.random((10, 5)), rng.integers(0, 3, 10))
    a = nc.load_data(arrays)
    b = nc.load_data(dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays)))
    assert a.n_features == 5 and np.array_equal(a.x_train, b.x_train)
    np.savez(tmp_path / "d.npz", **dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays)))
    c = nc.load_data(tmp_path / "d.npz")
    assert np.array_equal(c.x_test, a.x_test)
    assert not np.array_equal(nc.load_data("digits", seed=1).y_test, digits.y_test)
    with pytest.raises(nc.NeurochipError, match="missing key 'y_test'"):
        nc.load_data({"x_train": 1, "y_train": 1, "x_test": 1})
    with pytest.raises(nc.NeurochipError, match=r"unknown dataset 'mnist' \(bundled: digits"):
        nc.load_data("mnist")
    with pytest.raises(nc.NeurochipError, match="not found"):
        nc.load_data(tmp_path / "missing.npz")
    with pytest.raises(nc.NeurochipError, match="data must be"):
        nc.load_data(3.5)
    with pytest.raises(nc.NeurochipError, match="length mismatch"):
        nc.load_data((arrays[0], arrays[1][:5], arrays[2], arrays[3]))


# ---- build, train, evaluate, checkpoints --------------------------------------------------------

def test_build_from_specs_or_sizes_and_its_errors():
    net = nc.build([nc.Dense(64, 16), nc.Dense(16, 10)], timesteps=4, seed=2)
    assert isinstance(net, nc.Network) and isinstance(net.config, nc.NetworkConfig)
    assert net.config.sizes == (64, 16, 10) and net.layers == (nc.Dense(64, 16), nc.Dense(16, 10))
    assert net.profile.name == "loihi" and net.is_int and net.int_layout["q"]
    same = nc.build([64, 16, 10], "loihi", timesteps=4, seed=2)
    for a, b in zip(net.weights(), same.weights()):
        assert np.array_equal(a, b)
    f = nc.build([64, 10], precision="float", rule="bptt", optimizer="adam")
    assert not f.is_int and f.int_layout is None and f.config.lr == 0.001
    assert "precision='float'" in repr(f)
    with pytest.raises(nc.NeurochipError, match="takes 32 inputs but the layer before it has 16 outputs"):
        nc.build([nc.Dense(64, 16), nc.Dense(32, 10)])
    with pytest.raises(nc.NeurochipError, match="unknown network option 'hiden'"):
        nc.build([64, 10], hiden=3)
    with pytest.raises(nc.NeurochipError, match="--rule bptt is the float reference"):
        nc.build([64, 10], rule="bptt")
    with pytest.raises(nc.NeurochipError, match="not a layer spec"):
        nc.build([nc.Dense(64, 10), "conv"])


def test_fit_history_callback_and_checkpoint(tmp_path, digits):
    seen = []
    net = nc.build([64, 16, 10], timesteps=4)
    ck = tmp_path / "ck.h5"
    h = net.fit(digits, epochs=2, on_epoch=lambda hh: seen.append(len(hh)), train_eval=32, checkpoint=ck)
    assert isinstance(h, nc.History) and h is net.history and len(h) == 2 and seen == [1, 2]
    assert h.test_acc[-1] > 0.5
    assert net.config.lr_horizon == 2                    # pinned by the first fit, saved with the config
    assert net.dataset_info == {"name": "digits", "seed": 0, "train_eval": 32}
    loaded = nc.load(ck)
    assert len(loaded.history) == 2 and loaded.dataset_info == net.dataset_info
    with pytest.raises(nc.NeurochipError, match="already has 2 epochs"):
        loaded.fit(epochs=2)
    with pytest.raises(nc.NeurochipError, match="--epochs must be at least 1, got 0"):
        net.fit(digits, epochs=0)
    with pytest.raises(nc.NeurochipError, match="data has 5 features, the network takes 64"):
        net.fit(nc.load_data((np.ones((4, 5)), [0, 1, 0, 1], np.ones((2, 5)), [0, 1])), epochs=3)


def test_fit_warns_about_a_class_only_one_split_has():
    rng = np.random.default_rng(1)
    arrays = (rng.random((30, 4)), np.arange(30) % 3, rng.random((9, 4)), np.arange(9) % 2)
    net = nc.build([4, 3], timesteps=2)
    with pytest.warns(UserWarning, match="class 2 occurs in the training set but never in the test set"):
        net.fit(arrays, epochs=1, train_eval=0)
    assert net.dataset_info == {"name": "arrays", "seed": 0, "train_eval": 0}
    with pytest.raises(nc.NeurochipError, match="trained on arrays"):
        net.evaluate()
    assert net.evaluate(arrays).samples == 9
    with pytest.raises(nc.NeurochipError, match="none recorded"):
        nc.build([4, 3]).evaluate()


def test_fit_progress(digits):
    import contextlib

    seen = []

    @contextlib.contextmanager
    def bar(n, label):
        seen.append((n, label))
        done = []
        yield type("Bar", (), {"update": lambda self, k: done.append(k)})()
        assert sum(done) == n

    net = nc.build([64, 10], timesteps=2)
    net.fit(digits, epochs=2, train_eval=0, progress=bar)
    assert seen == [(len(digits.y_train), "epoch 1/2"), (len(digits.y_train), "epoch 2/2")]
    net.fit(digits, epochs=3, train_eval=0, progress=True)       # a click bar on stderr
    assert len(net.history) == 3


def test_resume_is_bit_identical(tmp_path, digits):
    full = nc.build([64, 16, 10], timesteps=4, encoder="rate")
    full.fit(digits, epochs=3, train_eval=0)
    part = nc.build([64, 16, 10], timesteps=4, encoder="rate")
    part.fit(digits, epochs=3, train_eval=0, on_epoch=lambda h: len(h) == 1 and part.save(tmp_path / "p.h5"))
    resumed = nc.load(tmp_path / "p.h5")
    assert len(resumed.history) == 1
    resumed.fit(epochs=3)                                # data and train_eval from the checkpoint
    for a, b in zip(full.weights(), resumed.weights()):
        assert np.array_equal(a, b)
    assert full.history.test_acc == resumed.history.test_acc


def test_evaluate_and_predict_leave_the_network_unchanged(trained, digits):
    net, path = trained
    eng = net._engine
    before = eng.rng.copy(), eng.ops.copy(), eng.sat.copy(), [w.copy() for w in net.weights()]
    ev = net.evaluate()
    assert isinstance(ev, nc.Evaluation) and ev.samples == len(digits.y_test)
    assert ev.accuracy == pytest.approx(np.mean(ev.predictions == digits.y_test))
    assert ev.confusion.sum() == ev.samples and len(ev.per_class_accuracy) == 10
    assert all(t != p and c > 0 for t, p, c in ev.most_confused(3))
    assert ev.ops["syn_ops"][0] > 0 and set(ev.saturation) and json.dumps(ev.to_dict())
    assert np.array_equal(net.predict(digits.x_test), ev.predictions)
    assert net.predict(digits.x_test[0]).shape == (1,)
    assert net.evaluate("digits").accuracy == ev.accuracy
    assert net.evaluate(decoder="membrane").accuracy == ev.accuracy
    assert net.config.decoder == "auto"
    after = eng.rng, eng.ops, eng.sat, net.weights()
    for a, b in zip(before[:3], after[:3]):
        assert np.array_equal(a, b)
    for a, b in zip(before[3], after[3]):
        assert np.array_equal(a, b)
    assert net.counters()["ops"]["syn_ops"] == [int(x) for x in eng.ops[:, 0]]
    with pytest.raises(nc.NeurochipError, match="needs a spiking readout"):
        net.evaluate(decoder="rate")
    assert net.config.decoder == "auto"
    f = nc.build([64, 10], precision="float", timesteps=2)
    ev = f.evaluate("digits")
    assert ev.ops is None and ev.saturation is None


def test_api_and_cli_eval_agree(trained):
    from neurochip.cli import main

    net, path = trained
    res = CliRunner().invoke(main, ["eval", str(path), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output.strip().splitlines()[-1])
    ev = nc.load(path).evaluate()
    assert d["accuracy"] == ev.accuracy and d["ops_eval"] == ev.ops and d["saturation_eval"] == ev.saturation
    assert d["saturation_training"] == net.counters()["saturation"]


def test_api_never_exits_or_prints():
    """Errors are raised, never turned into an exit; the API prints nothing (docstrings aside)."""
    import ast

    tree = ast.parse((ROOT / "neurochip" / "api.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            assert name not in ("print", "sys.exit", "exit", "click.echo", "os._exit"), name
        if isinstance(node, ast.Name):
            assert node.id != "SystemExit"


def test_api_errors_are_the_cli_messages(tmp_path):
    from neurochip.cli import main

    res = CliRunner().invoke(main, ["train", "--profile", "nope", "--epochs", "1"])
    with pytest.raises(nc.NeurochipError) as e:
        nc.build([64, 10], "nope")
    assert res.output.strip().splitlines()[-1] == f"Error: {e.value}"
    res = CliRunner().invoke(main, ["eval", str(tmp_path / "missing.h5")])
    with pytest.raises(nc.NeurochipError) as e:
        nc.load(tmp_path / "missing.h5")
    assert res.output.strip().splitlines()[-1] == f"Error: {e.value}"


# ---- one sample, step by step -------------------------------------------------------------------

def test_run_sample_traces_of_a_cuba_layer(digits):
    """run_sample's traces of a CUBA layer's input are the kernel's exact (doubly filtered) trace:
    equal to what a learning run of that sample leaves (floor-rounded traces, so the learning
    PRNG's other draws do not matter; the input's traces do not depend on the weights)."""
    for choice in ("exact", "plain"):
        net = nc.build("d12u2", "generic", data=digits, timesteps=6, cuba_trace=choice)
        rec = net.run_sample(digits.x_test[0])
        eng = net._engine
        eng.run(eng.prepare(digits.x_test[:1]), digits.y_test[:1], np.array([0]), True)
        np.testing.assert_array_equal(rec.traces[0][-1], eng.tr[:64], err_msg=choice)
        assert rec.traces[0][-1].max() > 0


def test_run_sample_records_what_the_kernel_computes(trained, digits):
    from neurochip.lava.export import input_raster, reference_run

    net, _ = trained
    rng0 = net._engine.rng.copy()
    rec = net.run_sample(digits.x_test[3])
    assert isinstance(rec, nc.Recording) and rec.timesteps == 4
    assert [s.shape for s in rec.spikes] == [(4, 16), (4, 10)] == [v.shape for v in rec.membranes]
    assert [t.shape for t in rec.traces] == [(4, 64), (4, 16)]
    assert rec.prediction == net.predict(digits.x_test[3])[0]
    assert np.array_equal(net._engine.rng, rng0)
    eng = net._engine
    ref = reference_run(eng, input_raster(eng, eng.prepare(digits.x_test[3:4]), np.zeros(1, np.int64)))
    for a, b in zip(rec.spikes + rec.membranes, ref.spikes + ref.v):
        assert np.array_equal(a, b)
    assert rec.spikes[0].sum() > 0 and rec.traces[1].max() > 0
    assert json.dumps(rec.to_dict())
    with pytest.raises(nc.NeurochipError, match="one sample"):
        net.run_sample(digits.x_test[:2])


def _floor_traces(spikes, impulses, k, bits):
    """Independent reference of floor-rounded traces: a = floor(a (2^k - 1) / 2^k) + impulse, saturated."""
    a = np.zeros(spikes.shape[1], np.int64)
    out = []
    for t in range(spikes.shape[0]):
        a = (a * ((1 << k) - 1)) >> k if k else a * 0
        a = np.minimum(a + np.where(spikes[t] != 0, impulses, 0), (1 << bits) - 1)
        out.append(a.copy())
    return np.array(out)


def test_run_sample_traces_follow_the_trace_rule(digits):
    prof = nc.load_profile("generic")
    assert prof.learning.trace_rounding == "floor"
    net = nc.build([64, 24, 10], prof, timesteps=12, encoder="rate", init_gain=6.0)
    rec = net.run_sample(digits.x_test[5])
    one = 1 << prof.learning.trace_frac_bits
    ks = net.int_layout["leak_shift"]
    bits = prof.learning.trace_bits
    assert rec.spikes[0].sum() > 0
    assert np.array_equal(rec.traces[0], _floor_traces(rec.input, one, ks[0], bits))
    assert np.array_equal(rec.traces[1], _floor_traces(rec.spikes[0], one, ks[1], bits))


def test_run_sample_stochastic_traces_match_the_learning_kernel(digits):
    """One weight layer: the kernel's input traces after a learning pass over the sample (no update
    draws: floor update rounding) equal the recording at that step, stochastic draws included.
    The kernel shows its traces only at the end of a sample, so the pass runs for T = 1..6 steps."""
    prof = nc.load_profile("loihi").replace("learning.update_rounding", "floor")
    assert prof.learning.trace_rounding == "stochastic"
    x = digits.x_test[7:8]
    rec = nc.build([64, 10], prof, timesteps=6).run_sample(x[0])
    for T in range(1, 7):
        eng = nc.build([64, 10], prof, timesteps=T)._engine
        eng.run(eng.prepare(x), digits.y_test[7:8], np.zeros(1, np.int64), True)
        assert np.array_equal(eng.tr[:64], rec.traces[0][T - 1]), T
    floor = nc.build([64, 10], prof.replace("learning.trace_rounding", "floor"), timesteps=6).run_sample(x[0])
    assert (floor.traces[0] != rec.traces[0]).any()      # the draws matter


@pytest.mark.parametrize("encoder", ["direct", "rate"])
def test_run_sample_float_reference(digits, encoder):
    """The float reference is recorded by its own kernel: each step's spikes, membranes and traces
    equal the kernel's state after a run of that many steps (learning at rate 0, which computes
    every trace in the kernel and changes no weight). The readout's own leak makes the layers'
    trace decays differ."""
    x = digits.x_test[2:3]
    opts = dict(precision="float", init_gain=6.0, seed=4, readout_leak_shift=3, encoder=encoder)
    net = nc.build([64, 20, 10], timesteps=5, **opts)
    rng0 = net._engine.rng.copy()
    rec = net.run_sample(x[0])
    assert np.array_equal(net._engine.rng, rng0)
    assert rec.threshold == 1.0 and rec.trace_frac_bits == 0 and rec.spikes[0].sum() > 0
    assert [m.shape for m in rec.membranes] == [(5, 20), (5, 10)] and [t.shape for t in rec.traces] == [(5, 64), (5, 20)]
    for T in range(1, 6):
        net = nc.build([64, 20, 10], timesteps=T, **opts)
        eng = net._engine
        w0 = eng.W.copy()
        eng.set_lr(0.0)
        eng.run(eng.prepare(x), digits.y_test[2:3], np.zeros(1, np.int64), True)
        assert np.array_equal(eng.W, w0)
        assert np.array_equal(eng.v[64:84], rec.membranes[0][T - 1]) and np.array_equal(eng.v[84:], rec.membranes[1][T - 1])
        assert np.array_equal(eng.tr[:64], rec.traces[0][T - 1]) and np.array_equal(eng.tr[64:84], rec.traces[1][T - 1])
    net = nc.build([64, 20, 10], timesteps=5, **opts)
    assert rec.prediction == net.predict(x)[0] == int(np.argmax(rec.membranes[1].sum(0)))
    bptt = nc.build([64, 20, 10], timesteps=5, rule="bptt", **opts)
    assert bptt.run_sample(x[0]).prediction == bptt.predict(x)[0]


# ---- energy -------------------------------------------------------------------------------------

def test_energy_report_is_typed_and_equals_the_cli_json(trained):
    from neurochip.cli import main

    net, path = trained
    rep = net.energy(samples=50, learn_samples=40)
    assert isinstance(rep, nc.EnergyReport) and rep.profiles == ["loihi"]
    assert rep.inference.samples == 50 and rep.training.samples == 40
    assert rep.pj_per_sample() > 0 and rep.pj_per_sample(phase="training") > rep.pj_per_sample()
    assert "pJ" in rep.text() or "nJ" in rep.text()
    res = CliRunner().invoke(main, ["energy", str(path), "--samples", "50", "--learn-samples", "40", "--json"])
    assert res.exit_code == 0, res.output
    cli = json.loads(res.output)
    d = rep.to_dict()
    assert cli["notes"][1:] == d["notes"]               # the CLI adds the checkpoint note first
    cli.pop("notes"), d.pop("notes")
    assert json.loads(json.dumps(d)) == cli
    two = net.energy(profile=["loihi", "loihi2"], learn_samples=0, baseline=None)
    assert two.profiles == ["loihi", "loihi2"] and two.training is None and two.baseline is None
    assert two.pj_per_sample("loihi2") > 0 and two.pj_per_sample(phase="training") is None
    with pytest.raises(nc.NeurochipError, match="no profile 'truenorth'"):
        two.pj_per_sample("truenorth")
    with pytest.raises(nc.NeurochipError, match="no on-chip learning"):
        net.energy(profile="truenorth")
    with pytest.raises(nc.NeurochipError, match="float reference"):
        nc.build([64, 10], precision="float").energy("digits", learn_samples=0)


def test_training_report(trained, digits):
    net, _ = trained
    rep = net.training_report(len(digits.y_train) * 2)
    assert rep["samples"] == len(digits.y_train) * 2 and rep["energy"]["total_pj_per_sample"] > 0


# ---- Lava ---------------------------------------------------------------------------------------

def test_lava_status_and_export(trained):
    net, _ = trained
    ok, why = nc.lava_status()
    assert isinstance(ok, bool) and why
    exp = net.to_lava()
    assert exp.stock and exp.n_layers == 2
    assert np.array_equal(exp.layers[0].weights, net.weights()[0].T << 1)
    with pytest.raises(nc.NeurochipError, match="only integer networks"):
        nc.build([64, 10], precision="float").to_lava()


def test_compare_lava_without_lava_is_a_neurochip_error(trained, monkeypatch):
    import neurochip.lava.compat as compat

    monkeypatch.setattr(compat, "lava_status", lambda: (False, "lava-nc is not installed; install it"))
    with pytest.raises(nc.NeurochipError, match="lava-nc is not installed"):
        trained[0].compare_lava(samples=2)


def test_compare_lava_is_exact(trained):
    ok, why = nc.lava_status()
    if not ok:
        pytest.skip(why)
    c = trained[0].compare_lava(samples=3)
    assert c.exact and c.samples == 3, c.to_dict()


def test_compare_lava_learning(monkeypatch):
    res = nc.compare_lava_learning(20, test_samples=10, lava=False)
    assert res.samples_train == 20 and res.samples_test == 10 and res.exact is None
    assert res.acc_test_neurochip is not None and json.dumps(res.to_dict())
    with pytest.raises(nc.NeurochipError, match="--samples must be at least 1, got 0"):
        nc.compare_lava_learning(0, lava=False)
    ok, why = nc.lava_status()
    if ok:
        res = nc.compare_lava_learning(10, test_samples=5)
        assert res.exact and res.weights_differing == 0, res.to_dict()
    import neurochip.lava.compat as compat

    import neurochip.lava.learning_task as task

    monkeypatch.setattr(compat, "lava_status", lambda: (False, "lava-nc is not installed; install it"))
    run = task.learn_compare
    monkeypatch.setattr(task, "learn_compare", lambda *a, **k: pytest.fail("ran before checking Lava"))
    with pytest.raises(nc.NeurochipError, match="lava-nc is not installed"):
        nc.compare_lava_learning(10)
    monkeypatch.setattr(task, "learn_compare", run)
    assert nc.compare_lava_learning(10, test_samples=5, lava=False).exact is None   # no Lava needed


def test_compare_lava_learning_recurrent_hidden():
    """arch "r16" with random feedback: a recurrent hidden layer whose input and recurrent weights
    both learn in the emulation of Lava's engine (no Lava needed)."""
    from neurochip.lava.learning_task import digits_task
    from neurochip.lava.learning_emulator import emulate
    from neurochip.lava.learning_spec import truncated

    res = nc.compare_lava_learning(20, test_samples=5, arch="r16", feedback="random", lava=False)
    assert res.hidden == "recurrent, learning, fixed random feedback" and res.network == [64, 16, 10]
    assert res.weights_total == 64 * 16 + 16 * 16 + 16 * 10 and res.learning.hidden_recurrent_dw
    task = digits_task(20, 5, 0, hidden=16, feedback="random", recurrent=True)
    hl = task.net.hidden_learn
    em = emulate(task.net, task.R, task.TF)
    assert np.count_nonzero(em.hidden_recurrent_weights != truncated(hl.recurrent)) > 20
    with pytest.raises(nc.NeurochipError, match="fixed random feedback only"):
        digits_task(5, 5, 0, hidden=16, recurrent=True)


def test_cli_prints_the_class_warning_once(tmp_path):
    """The CLI prints its own 'Warning: ...' line; the API's UserWarning is not printed twice."""
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "d.npz", x_train=rng.random((30, 4)), y_train=np.arange(30) % 3,
             x_test=rng.random((9, 4)), y_test=np.arange(9) % 2)
    res = subprocess.run([sys.executable, "-m", "neurochip.cli", "train", "--data", str(tmp_path / "d.npz"),
                          "--hidden", "4", "--epochs", "1", "-T", "2", "--json"],
                         capture_output=True, text=True, cwd=tmp_path, env={**__import__("os").environ,
                                                                            "PYTHONPATH": str(ROOT)})
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("never in the test set") == 1 and "UserWarning" not in res.stderr, res.stderr


@pytest.mark.parametrize("doc", ["README.md", "docs/api.md"])
def test_documented_session_runs(doc, tmp_path, monkeypatch, capsys):
    """The Python block of README's 'Python API' section and the session at the top of docs/api.md
    run as written (in a scratch folder: they save run.h5)."""
    text = (ROOT / doc).read_text()
    if doc == "README.md":
        text = text[text.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, doc, "exec"), {})
    assert (tmp_path / "run.h5").is_file()
    assert capsys.readouterr().out.strip()


# ---- what the CLI options map to (issue 15: the CLI is a thin layer) ----------------------------

def test_build_from_layer_kinds_strings_and_network_files(tmp_path, digits):
    specs = [nc.Conv2d((1, 8, 8), 4, 3), nc.SumPool2d((4, 6, 6), 2), nc.Dense(36, 10)]
    a = nc.build(specs, timesteps=4, seed=1)
    b = nc.build("c4k3-p2", data=digits, timesteps=4, seed=1)
    toml = tmp_path / "net.toml"
    toml.write_text('input_shape = [1, 8, 8]\n[[layer]]\ntype = "conv"\nout_channels = 4\nkernel = 3\n'
                    '[[layer]]\ntype = "sumpool"\nkernel = 2\n')
    c = nc.build(toml, data=digits, timesteps=4, seed=1)
    assert a.config == b.config == c.config and a.config.arch == "c4k3-p2-f-d10"
    assert a.config.input_shape == (1, 8, 8) and a.layers == tuple(specs)
    for x, y in zip(a.weights(), c.weights()):
        assert np.array_equal(x, y)
    h = nc.build(hidden="16", data=digits, timesteps=4)
    assert h.config == nc.build([64, 16, 10], timesteps=4).config
    assert nc.build(hidden=[16, 8], data=digits).config.sizes == (64, 16, 8, 10)
    with pytest.raises(nc.NeurochipError, match="does not take what the layer before it gives"):
        nc.build([nc.Conv2d((1, 8, 8), 4, 3), nc.Dense(30, 10)])
    with pytest.raises(nc.NeurochipError, match="give data"):
        nc.build("c4k3")
    with pytest.raises(nc.NeurochipError, match="--input-shape describes the input"):
        nc.build(hidden="16", data=digits, input_shape="1x8x8")
    with pytest.raises(nc.NeurochipError, match="three positive sizes"):
        nc.build("c4k3", data=digits, input_shape="1x8")
    with pytest.raises(nc.NeurochipError, match="contradicts the network file's input_shape"):
        nc.build(toml, data=digits, input_shape=(4, 4, 4))
    with pytest.raises(nc.NeurochipError, match="--hidden must be comma-separated"):
        nc.build(hidden="x", data=digits)


def test_event_data_sets_the_encoder_and_copy_fine_tunes(tmp_path):
    from .test_event_cli import _shd

    path = _shd(tmp_path / "shd.h5")
    ds = nc.load_data(path, binning={"timesteps": 4, "max_count": 3})
    assert ds.full_scale == 3 and ds.x_train.shape[1] == 4
    assert nc.load_data("digits", binning={"timesteps": 4}).full_scale == 0      # static data ignores it
    net = nc.build(hidden="8", data=ds, timesteps=4)
    assert net.config.encoder == "raster" and net.config.input_full_scale == 3
    with pytest.raises(nc.NeurochipError, match="takes --encoder raster"):
        nc.build(hidden="8", data=ds, timesteps=4, encoder="rate")
    net.fit(ds, epochs=1, train_eval=0)
    assert net.dataset_info["binning"]["max_count"] == 3
    with pytest.raises(nc.NeurochipError, match="trained on event data"):
        net.evaluate(Path(ROOT / "README.md"))
    ft = net.copy(lr=0.01)
    assert len(ft.history) == 0 and ft.config.lr == 0.01 and ft.config.lr_horizon == 0
    for x, y in zip(net.weights(), ft.weights()):
        assert np.array_equal(x, y)
    with pytest.raises(nc.NeurochipError, match="runs on profile loihi"):
        net.copy("loihi2")


def test_energy_function(trained):
    net, path = trained
    kw = dict(samples=20, learn_samples=10)
    a = nc.energy_report(path, "loihi", **kw).to_dict()
    b = nc.load(path).energy(profile="loihi", **kw).to_dict()
    assert a["notes"][0].startswith(f"checkpoint {path}: 2 epochs") and a["notes"][1:] == b["notes"]
    a["notes"] = b["notes"]
    assert json.dumps(a) == json.dumps(b)
    u = nc.energy_report(None, "cmos45", hidden="8", timesteps=2, samples=5, learn_samples=0)
    assert "pricing-only" in u.notes[0] and u.notes[1] == "untrained network (initial weights)"
    assert u.network["sizes"] == [64, 8, 10] and u.network["simulated_on"] == "loihi"
    with pytest.raises(nc.NeurochipError, match="lists a profile twice"):
        nc.energy_report(path, ["loihi", "loihi"])
    with pytest.raises(nc.NeurochipError, match="do not also give --timesteps"):
        nc.energy_report(path, timesteps=4)


def test_nir_round_trip(trained, tmp_path):
    pytest.importorskip("nir")
    net, _ = trained
    out = tmp_path / "n.nir"
    net.to_nir(out)
    with pytest.raises(nc.NeurochipError, match="exists; pass --overwrite"):
        net.to_nir(out)
    back, rep = nc.import_nir(out, net.profile)
    assert back.config.sizes == net.config.sizes and rep.lines()
    assert back.dataset_info["nir_source"] == str(out.resolve())
    for x, y in zip(net.weights(), back.weights()):
        assert np.array_equal(x, y)


def test_process_helpers_and_profile_summaries(tmp_path):
    from neurochip import parallel

    try:
        assert nc.set_threads(1) == 1 and nc.set_threads(None) == 1
        with pytest.raises(nc.NeurochipError, match="--threads must be between"):
            nc.set_threads(0)
    finally:
        parallel._THREADS = None
    f = tmp_path / "a.h5"
    f.write_text("x")
    with pytest.raises(nc.NeurochipError, match="exists; pass --overwrite"):
        nc.check_output(f)
    assert nc.check_output(f, overwrite=True) == f
    with pytest.raises(nc.NeurochipError, match="--out .* is a folder"):
        nc.check_output(tmp_path, option="--out")
    rows = nc.profile_summaries()
    assert len(rows) == len(nc.list_profiles())
    assert next(r for r in rows if r["name"] == "loihi")["weight_bits"] == 8
    from neurochip.cli import main

    res = CliRunner().invoke(main, ["profiles", "--json"])
    assert res.exit_code == 0 and json.loads(res.output) == rows
    assert set(nc.CHOICES["rule"]) == {"ottt-o", "ottt-a", "bptt"}
