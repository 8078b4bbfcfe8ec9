"""neurochip plot: every figure is checked by what it draws (data, labels, number of points)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner

from neurochip import plot
from neurochip.cli import main
from neurochip.engine import Engine
from neurochip.errors import NeurochipError
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile
from neurochip.train import History

COLS = ["point", "index", "synapse.weight_bits", "seed", "precision", "accuracy", "inference_pj_per_sample", "error"]


def row(k, bits, seed, acc, pj, precision="int"):
    return {"point": k, "index": "0", "synapse.weight_bits": str(bits), "seed": str(seed), "precision": precision,
            "accuracy": str(acc), "inference_pj_per_sample": "" if pj is None else str(pj), "error": ""}


ROWS = [row("a", 4, 0, 0.80, 10.0), row("b", 6, 0, 0.90, 20.0), row("c", 8, 0, 0.95, 40.0),
        row("d", 6, 1, 0.85, 30.0),    # dominated by b
        row("e", 8, 1, 0.93, 35.0),    # on the front: cheaper than c, better than b
        row("f", "", 0, 0.96, None, "float"),
        {**row("g", 5, 0, 0.99, 1.0), "error": "boom"}]


def test_pareto_front_indices():
    x = np.array([10, 20, 40, 30, 35.0])
    y = np.array([0.8, 0.9, 0.95, 0.85, 0.93])
    assert plot.pareto_front(x, y).tolist() == [0, 1, 4, 2]
    # ties: equal cost, lower accuracy is dominated; an exact duplicate is not
    assert plot.pareto_front(np.array([1.0, 1.0, 1.0]), np.array([0.5, 0.6, 0.6])).tolist() == [1, 2]


def test_pareto_figure_content():
    fig, d = plot.pareto(COLS, ROWS)
    assert d["keys"] == ["a", "b", "c", "d", "e"]          # float row and error row are not points
    assert [d["keys"][i] for i in d["front"]] == ["a", "b", "e", "c"]
    assert d["reference"] == pytest.approx(0.96)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "inference energy per sample (pJ)" and ax.get_ylabel() == "test accuracy"
    assert len(ax.collections[0].get_offsets()) == 5
    line = ax.lines[0]
    assert line.get_xdata().tolist() == [10, 20, 35, 40]
    assert any(l.get_ydata()[0] == pytest.approx(0.96) for l in ax.lines[1:])   # the float reference line
    with pytest.raises(NeurochipError, match="no column 'nope'"):
        plot.pareto(COLS, ROWS, x="nope")


def test_versus_axis_one_line_per_value_of_by():
    fig, d = plot.versus_axis(COLS, ROWS[:5], "synapse.weight_bits", by="seed")
    assert set(d["lines"]) == {"0", "1"}
    xs, ys = d["lines"]["0"]
    assert xs.tolist() == [4, 6, 8] and ys.tolist() == pytest.approx([0.8, 0.9, 0.95])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "synapse.weight_bits" and len(ax.get_legend().get_texts()) == 2
    # without --by: the mean over seeds, min-max bars
    _, d = plot.versus_axis(COLS, ROWS[:5], "synapse.weight_bits")
    assert d["lines"][None][1].tolist() == pytest.approx([0.8, 0.875, 0.94])


def test_training_curves():
    h = History()
    for e, (tr, te) in enumerate([(0.5, 0.4), (0.7, 0.6), (math.nan, 0.65)]):
        h.append(epoch=e + 1, train_acc=tr, test_acc=te)
    fig, d = plot.training_curves(h)
    assert d["epoch"].tolist() == [1, 2, 3] and d["test"].tolist() == [0.4, 0.6, 0.65]
    ax = fig.axes[0]
    assert ax.get_xlabel() == "epoch" and len(ax.lines) == 2
    assert ax.lines[0].get_ydata().tolist() == [0.4, 0.6, 0.65]


@pytest.fixture(scope="module")
def engine():
    return Engine(NetworkConfig(sizes=(8, 6, 3), timesteps=4, seed=1), load_profile("loihi").with_overrides(synapse={"weight_bits": 6, "weight_exp_max": 9}))


def test_weight_histograms_one_bin_per_mantissa(engine):
    fig, d = plot.weight_histograms(engine)
    assert len(d) == 2 and len(fig.axes) == 2
    for l, w in enumerate(engine.weights()):
        assert len(d[l]["counts"]) == 64 and d[l]["edges"][0] == -32.5 and d[l]["edges"][-1] == 31.5
        assert d[l]["counts"].sum() == w.size
        assert d[l]["counts"][int(w[0, 0]) + 32] == np.sum(w == w[0, 0])
    assert "6-bit mantissa" in fig.axes[0].get_xlabel()


def test_counters_figure(engine):
    eng = Engine(engine.cfg, engine.profile)
    eng.sat[1, 6] = 7
    fig, d = plot.counters(eng)
    assert d["counts"].shape == (2, 8) and d["counts"][1, 6] == 7
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()][6] == "update_zero"
    assert len(ax.patches) == 16


def test_raster_matches_the_engine(engine):
    x = np.linspace(0, 1, 8)
    fig, d = plot.raster(engine, x, neurons=[(1, 0), (2, 2)], label=1)
    T = engine.cfg.timesteps
    assert [s.shape for s in d["spikes"]] == [(T, 8), (T, 6), (T, 3)]
    assert d["pred"] == int(engine.run(engine.prepare(x[None]), np.zeros(1, np.int64), np.zeros(1, np.int64), False)[0])
    assert set(d["membranes"]) == {(1, 0), (2, 2)} and all(len(v) == T for v in d["membranes"].values())
    assert fig.axes[-1].get_xlabel() == "time step" and len(fig.axes) == 4
    # a scatter point per spike in layer 1's panel
    assert len(fig.axes[1].collections[0].get_offsets()) == int(d["spikes"][1].sum())
    with pytest.raises(NeurochipError, match="layer 3 does not exist"):
        plot.raster(engine, x, neurons=[(3, 0)])


def test_energy_breakdown_stacks_sum_to_layer_totals(engine):
    from neurochip.data import load_digits
    from neurochip.sweep import energy_api

    em = energy_api()
    ds = load_digits()
    eng = Engine(NetworkConfig(sizes=(64, 12, 10), timesteps=2), load_profile("loihi"))
    inf, train = em.gather_counts(eng, ds.x_test, ds.y_test, ds.x_train, ds.y_train, samples=20, learn_samples=10)
    rep = em.build_report(eng, inf, train, [load_profile("loihi")])
    fig, d = plot.energy_breakdown(rep)
    assert set(d) == {"inference", "training"} and len(fig.axes) == 2
    for ph in d:
        tot = np.sum(list(d[ph].values()), axis=0)
        assert tot == pytest.approx(rep["pricing"]["loihi"][ph]["per_layer_pj_per_sample"], abs=0.01)
    assert "weight_update" in d["training"] and "weight_update" not in d["inference"]
    with pytest.raises(NeurochipError, match="not an energy report"):
        plot.energy_breakdown({"x": 1})
    with pytest.raises(NeurochipError, match="not on 'loihi2'"):
        plot.energy_breakdown(rep, "loihi2")


def test_cli_energy_plot_from_a_json_report(tmp_path):
    import json

    r = CliRunner().invoke(main, ["energy", "--hidden", "8", "-T", "2", "--samples", "20", "--learn-samples", "10", "--json"])
    assert r.exit_code == 0, r.output
    (tmp_path / "rep.json").write_text(r.stdout)
    rep = json.loads(r.stdout)
    r = CliRunner().invoke(main, ["plot", "energy", str(tmp_path / "rep.json"), "-o", str(tmp_path / "e.png")])
    assert r.exit_code == 0, r.output
    n_inf = sum(1 for t in rep["pricing"]["loihi"]["inference"]["terms"] if t["energy_pj"])
    assert f"inference: {n_inf} op kinds, training:" in r.stdout
    (tmp_path / "bad.json").write_text("{not json")
    r = CliRunner().invoke(main, ["plot", "energy", str(tmp_path / "bad.json"), "-o", str(tmp_path / "f.png")])
    assert r.exit_code == 2 and "not a readable JSON energy report" in r.stderr


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    p = tmp_path_factory.mktemp("plot") / "c.h5"
    r = CliRunner().invoke(main, ["train", "--dataset", "digits", "--hidden", "8", "-T", "2", "--epochs", "2",
                                  "--train-eval", "50", "--out", str(p)])
    assert r.exit_code == 0, r.output
    return p


@pytest.mark.parametrize("kind, extra, magic", [
    ("curves", [], b"\x89PNG"), ("weights", [], b"<?xml"), ("counters", [], b"%PDF"),
    ("raster", ["--sample", "3", "--neurons", "1:0,2:1"], b"\x89PNG"), ("energy", ["--learn-samples", "20"], b"\x89PNG")])
def test_cli_checkpoint_plots(ckpt, tmp_path, kind, extra, magic):
    ext = {b"\x89PNG": ".png", b"<?xml": ".svg", b"%PDF": ".pdf"}[magic]
    out = tmp_path / f"f{ext}"
    r = CliRunner().invoke(main, ["plot", kind, str(ckpt), *extra, "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:len(magic)] == magic
    r = CliRunner().invoke(main, ["plot", kind, str(ckpt), *extra, "-o", str(out)])
    assert r.exit_code == 2 and "pass --overwrite" in r.stderr


def test_cli_table_plots_and_errors(tmp_path):
    import csv

    t = tmp_path / "results.csv"
    with open(t, "w", newline="") as f:
        w = csv.DictWriter(f, COLS)
        w.writeheader()
        w.writerows(ROWS)
    r = CliRunner().invoke(main, ["plot", "pareto", str(tmp_path), "-o", str(tmp_path / "p.png"), "--label", "seed"])
    assert r.exit_code == 0 and "5 points, 4 on the Pareto front" in r.output, r.output
    r = CliRunner().invoke(main, ["plot", "axis", str(t), "--x", "synapse.weight_bits", "--by", "seed",
                                  "-o", str(tmp_path / "a.svg")])
    assert r.exit_code == 0 and "2 line(s)" in r.output, r.output
    r = CliRunner().invoke(main, ["plot", "pareto", str(t), "-o", str(tmp_path / "p.jpg")])
    assert r.exit_code == 2 and ".png, .svg or .pdf" in r.stderr
    r = CliRunner().invoke(main, ["plot", "axis", str(t), "--x", "nope", "-o", str(tmp_path / "b.png")])
    assert r.exit_code == 2 and "no column 'nope'" in r.stderr
    r = CliRunner().invoke(main, ["plot", "raster", str(tmp_path / "missing.h5"), "-o", str(tmp_path / "r.png")])
    assert r.exit_code == 2 and "checkpoint not found" in r.stderr


def test_pareto_mean_over_seed_and_labels():
    cols = ["point", "index", "synapse.weight_bits", "seed", "precision", "accuracy", "inference_pj_per_sample", "error"]
    rows = [row("a", 4, 0, 0.80, 10.0), row("b", 4, 1, 0.90, 20.0), row("c", 8, 0, 0.95, 40.0), row("d", 8, 1, 0.93, 30.0)]
    fig, d = plot.pareto(cols, rows, label="synapse.weight_bits", average="seed")
    assert d["x"].tolist() == [15.0, 35.0] and d["y"].tolist() == pytest.approx([0.85, 0.94])
    assert d["keys"] == ["a+b", "c+d"] and d["front"].tolist() == [0, 1]
    assert sorted(t.get_text() for t in fig.axes[0].texts if t.get_text() in ("4", "8")) == ["4", "8"]
    assert "mean over seed" in fig.axes[0].get_title()
    assert plot.axis_columns(cols) == ["synapse.weight_bits", "seed"]
