"""The public API of sweeps and figures (issue 15): ``run_sweep``, ``sweep_points``, ``read_sweep``
and the ``plot_*`` functions give what ``neurochip sweep`` and ``neurochip plot`` give for the same
input, raise one-line NeurochipErrors, and never replace a file without ``overwrite``."""
from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

import neurochip as nc
from neurochip.cli import main

# two points, a few seconds serially
SPEC = """
[base]
dataset = "digits"
hidden = [8]
epochs = 1
timesteps = 2
train_samples = 100
test_samples = 60
[axes]
"synapse.weight_bits" = [6, 8]
"""
TIMING = ("seconds", "cpu_seconds")


def cli(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


def rows(table: nc.SweepTable) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in table.rows]


def untimed(d):
    """A summary without what depends on the machine or the folder (timings, the table's path)."""
    if isinstance(d, dict):
        return {k: untimed(v) for k, v in d.items() if k not in TIMING + ("table",)}
    return [untimed(v) for v in d] if isinstance(d, list) else d


def one_line_error(fn, match: str) -> str:
    with pytest.raises(nc.NeurochipError, match=match) as e:
        fn()
    assert "\n" not in str(e.value)
    return str(e.value)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The same spec swept by the API (from the dict of its tables) and by the CLI (from the file)."""
    d = tmp_path_factory.mktemp("apisweep")
    (d / "spec.toml").write_text(SPEC)
    run = nc.run_sweep(tomllib.loads(SPEC), d / "api", serial=True)
    code, out, err = cli("sweep", d / "spec.toml", "--out", d / "cli", "--serial", "--json")
    assert code == 0, err
    return d, run, json.loads(out)


def test_run_sweep_equals_the_cli(swept):
    d, run, printed = swept
    assert isinstance(run, nc.SweepRun) and run.ran == 2 and run.skipped == 0 and run.lost == ()
    cli_table = nc.read_sweep(d / "cli")
    assert rows(run.table) == rows(cli_table) and run.table.columns == cli_table.columns
    mine = json.loads(json.dumps(run.to_dict()))
    assert untimed(mine) == untimed(printed)
    assert json.loads((d / "api" / "summary.json").read_text())["finished"] == 2
    assert run.text().splitlines()[0] == "2 of 2 points in the table"
    assert run.table.axes == ["synapse.weight_bits"]
    assert run.table.column("synapse.weight_bits").tolist() == [6.0, 8.0]
    assert np.isfinite(run.table.column("inference_pj_per_sample")).all()


def test_run_sweep_again_skips_and_reports_progress(swept):
    d, _, _ = swept
    counted = []

    class Bar:
        def __init__(self, n):
            counted.append(("n", n))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            counted.append(("closed",))

        def update(self, k):
            counted.append(("update", k))

    again = nc.run_sweep(d / "spec.toml", d / "api", serial=True, progress=lambda n, label: Bar(n))
    assert again.ran == 0 and again.skipped == 2 and counted == []      # nothing to run: no bar
    spec = {**tomllib.loads(SPEC), "axes": {"synapse.weight_bits": [6, 7]}}
    grown = nc.run_sweep(spec, d / "api", serial=True, progress=lambda n, label: Bar(n))
    assert (grown.ran, grown.skipped, len(grown.table)) == (1, 1, 3)
    assert counted == [("n", 1), ("update", 1), ("closed",)]


def test_sweep_points_equal_the_dry_run(swept):
    d, _, _ = swept
    pts = nc.sweep_points(d / "spec.toml")
    code, out, _ = cli("sweep", d / "spec.toml", "--out", d / "dry", "--dry-run")
    assert code == 0
    assert out.splitlines()[:-1] == [f"{p['index']:4d} {p['point']:16s} {p['label']}" for p in pts]
    assert [p["values"] for p in pts] == [{"synapse.weight_bits": 6}, {"synapse.weight_bits": 8}]
    assert all(p["error"] is None for p in pts) and not (d / "dry").exists()
    bad = nc.sweep_points({"base": {"hidden": [8]}, "axes": {"synapse.weight_bits": [1, 8]}})
    assert bad[0]["error"] and bad[0]["point"] == "" and bad[1]["error"] is None


def test_run_sweep_errors_are_one_line_and_run_nothing(tmp_path):
    spec = tomllib.loads(SPEC)
    one_line_error(lambda: nc.run_sweep(spec, tmp_path / "o", serial=True, workers=2), "--serial runs in this process")
    one_line_error(lambda: nc.run_sweep(spec, tmp_path / "o", workers=0), "--workers must be at least 1")
    (tmp_path / "f").write_text("mine")
    one_line_error(lambda: nc.run_sweep(spec, tmp_path / "f", serial=True), "is a file; give a folder")
    assert (tmp_path / "f").read_text() == "mine"
    one_line_error(lambda: nc.run_sweep({"bogus": {}}, tmp_path / "o", serial=True), "unknown table 'bogus'")
    one_line_error(lambda: nc.run_sweep(tmp_path / "none.toml", tmp_path / "o"), "sweep spec not found")
    one_line_error(lambda: nc.sweep_points(42), "a sweep spec is a TOML file or a dict")
    invalid = {"base": {"hidden": [8], "epochs": 1}, "axes": {"synapse.weight_bits": [1, 8]}}
    with pytest.warns(UserWarning, match="invalid point 0"):
        one_line_error(lambda: nc.run_sweep(invalid, tmp_path / "o", serial=True), "1 of 2 points are invalid")
    lines = []
    one_line_error(lambda: nc.run_sweep(invalid, tmp_path / "o", serial=True, echo=lines.append), "points are invalid")
    assert len(lines) == 1 and lines[0].startswith("invalid point 0 (synapse.weight_bits=1)")
    assert not (tmp_path / "o").exists()


# ---- figures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    p = tmp_path_factory.mktemp("apiplot") / "net.h5"
    net = nc.build([64, 8, 10], "loihi", timesteps=2)
    net.fit("digits", epochs=2, train_eval=50)
    net.save(p)
    return p


def same_figure(tmp_path, name, api_call, cli_args):
    """The API's figure and the CLI's: the same summary line and the same PNG bytes."""
    from matplotlib.figure import Figure

    fig = api_call(out=tmp_path / f"api_{name}.png")
    assert isinstance(fig, Figure) and fig.canvas.get_default_filetype() == "png"
    code, out, err = cli("plot", name, *cli_args, "-o", tmp_path / f"cli_{name}.png")
    assert code == 0, err
    assert out.strip() == f"{fig.neurochip_summary}: {tmp_path / f'cli_{name}.png'}"
    assert (tmp_path / f"api_{name}.png").read_bytes() == (tmp_path / f"cli_{name}.png").read_bytes()
    return fig


def test_table_figures_equal_the_cli(swept, tmp_path):
    d, run, _ = swept
    fig = same_figure(tmp_path, "pareto", lambda out: nc.plot_pareto(d / "cli", label=["synapse.weight_bits"], out=out),
                      [d / "cli", "--label", "synapse.weight_bits"])
    data = fig.neurochip_data
    assert sorted(data["x"].tolist()) == sorted(run.table.column("inference_pj_per_sample").tolist())
    assert fig.neurochip_summary == f"2 points, {len(data['front'])} on the Pareto front"
    fig = same_figure(tmp_path, "axis", lambda out: nc.plot_axis(run.table, "synapse.weight_bits", out=out),
                      [d / "cli" / "results.csv", "--x", "synapse.weight_bits"])
    assert fig.neurochip_data["x_values"] == ["6", "8"]
    assert fig.neurochip_data["lines"][None][1].tolist() == run.table.column("accuracy").tolist()


@pytest.mark.parametrize("kind", ["curves", "weights", "counters", "raster", "energy"])
def test_checkpoint_figures_equal_the_cli(ckpt, tmp_path, kind):
    call = {"curves": lambda out: nc.plot_curves(ckpt, out=out),
            "weights": lambda out: nc.plot_weights(nc.load(ckpt), out=out),
            "counters": lambda out: nc.plot_counters(ckpt, out=out),
            "raster": lambda out: nc.plot_raster(ckpt, 3, neurons=[(1, 0), (2, 1)], out=out),
            "energy": lambda out: nc.plot_energy(ckpt, samples=30, learn_samples=20, out=out)}[kind]
    extra = {"raster": ["--sample", "3", "--neurons", "1:0,2:1"], "energy": ["--samples", "30", "--learn-samples", "20"]}
    fig = same_figure(tmp_path, kind, call, [ckpt, *extra.get(kind, [])])
    net = nc.load(ckpt)
    if kind == "curves":
        assert fig.neurochip_data["test"].tolist() == net.history.test_acc
    if kind == "raster":
        x = nc.load_data("digits").x_test[3]
        assert fig.neurochip_data["pred"] == net.run_sample(x).prediction
    if kind == "energy":
        rep = net.energy(profile="loihi", baseline=None, samples=30, learn_samples=20)
        for ph in ("inference", "training"):
            tot = np.sum(list(fig.neurochip_data[ph].values()), axis=0)
            assert tot == pytest.approx(rep.to_dict()["pricing"]["loihi"][ph]["per_layer_pj_per_sample"], abs=0.01)


def test_energy_figure_from_a_report_in_every_form(ckpt, tmp_path):
    rep = nc.energy_report(ckpt, ["loihi", "loihi2"], samples=20, learn_samples=10)
    (tmp_path / "rep.json").write_text(json.dumps(rep.to_dict()))
    figs = [nc.plot_energy(src, profile="loihi2") for src in (rep, rep.to_dict(), tmp_path / "rep.json")]
    assert len({f.neurochip_summary for f in figs}) == 1
    for ph, stack in figs[0].neurochip_data.items():
        for f in figs[1:]:
            assert all(np.array_equal(stack[k], f.neurochip_data[ph][k]) for k in stack)
        assert np.sum(list(stack.values()), axis=0) == pytest.approx(
            rep.pricing["loihi2"][ph]["per_layer_pj_per_sample"], abs=0.01)
    one_line_error(lambda: nc.plot_energy(rep, samples=5), "an energy report is counted already")
    one_line_error(lambda: nc.plot_energy(rep, profile="truenorth"), "not on 'truenorth'")
    (tmp_path / "bad.json").write_text("{no")
    one_line_error(lambda: nc.plot_energy(tmp_path / "bad.json"), "not a readable JSON energy report")


def test_figures_never_replace_a_file_without_overwrite(ckpt, tmp_path):
    out = tmp_path / "mine.png"
    out.write_bytes(b"my own figure")
    for call in (lambda **k: nc.plot_curves(ckpt, **k), lambda **k: nc.plot_pareto(tmp_path / "missing", **k),
                 lambda **k: nc.plot_raster(tmp_path / "missing.h5", **k)):
        one_line_error(lambda: call(out=out), "exists; pass --overwrite")     # checked before any work
        assert out.read_bytes() == b"my own figure"
    nc.plot_curves(ckpt, out=out, overwrite=True)
    assert out.read_bytes()[:4] == b"\x89PNG"
    code, _, err = cli("plot", "curves", ckpt, "-o", out)
    assert code == 2 and "pass --overwrite" in err


def test_figure_errors_are_one_line(ckpt, tmp_path, swept):
    d, run, _ = swept
    one_line_error(lambda: nc.plot_curves(ckpt, out=tmp_path / "c.jpg"), "use .png, .svg or .pdf")
    one_line_error(lambda: nc.plot_pareto(run.table, x="nope"), "no column 'nope'")
    one_line_error(lambda: nc.plot_axis(d / "cli", "synapse.weight_bits", by="synapse.weight_bits"), "--by must be another")
    one_line_error(lambda: nc.read_sweep(tmp_path), "sweep table not found")
    one_line_error(lambda: run.table.column("nope"), "no column 'nope'")
    one_line_error(lambda: nc.plot_raster(ckpt, 10 ** 6), "the test set has 360 samples")
    one_line_error(lambda: nc.plot_raster(ckpt, neurons="1-0"), "--neurons wants LAYER:INDEX pairs")
    one_line_error(lambda: nc.plot_raster(ckpt, neurons=[(3, 0)]), "neuron layer 3 does not exist")
    one_line_error(lambda: nc.plot_raster(ckpt, data=nc.load_data("yinyang")), "data has 4 features")
    one_line_error(lambda: nc.plot_curves(tmp_path / "missing.h5"), "checkpoint not found")
    one_line_error(lambda: nc.plot_energy(ckpt, samples=0), "--samples must be at least 1")
    float_net = nc.build([64, 8, 10], precision="float", timesteps=2)
    one_line_error(lambda: nc.plot_counters(float_net), "this is a float network")
    assert not list(tmp_path.iterdir())
