"""``neurochip sweep`` and ``neurochip plot``: click commands over neurochip.sweep and neurochip.plot.

Orchestration only; NeurochipError becomes ``Error: ...`` (exit 2) in the ``neurochip`` group.
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from .errors import NeurochipError


def _bar_factory(enabled: bool):
    if not enabled:
        return None

    def make(n):
        bar = click.progressbar(length=n, label="points", file=sys.stderr, show_pos=True, show_eta=True)
        bar.__enter__()

        class _B:
            def update(self, k):
                bar.update(k)

            def finish(self):
                bar.__exit__(None, None, None)

        return _B()

    return make


@click.command("sweep")
@click.argument("spec_path", type=click.Path())
@click.option("--out", "out_dir", required=True, type=click.Path(), help="Folder of the results table (results.csv).")
@click.option("--scheduler", default=None, help="Address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786.")
@click.option("--workers", type=int, default=None, help="LocalCluster worker processes (default: one per core).")
@click.option("--serial", is_flag=True, help="Run the points one after another in this process (no Dask).")
@click.option("--skip-invalid", is_flag=True, help="Run the valid points when some are invalid (each is listed).")
@click.option("--dry-run", is_flag=True, help="Validate and list the points, run nothing.")
@click.option("--progress/--no-progress", default=None, help="Progress bar over points (default: on when stderr is a terminal).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON line.")
def sweep(spec_path, out_dir, scheduler, workers, serial, skip_invalid, dry_run, progress, as_json):
    """Train and price every point of a design-space sweep (Dask), results into OUT/results.csv.

    \b
    neurochip sweep widths.toml --out runs/widths                 (LocalCluster, one worker per core)
    neurochip sweep widths.toml --out runs/widths --scheduler tcp://host:8786
    Re-running the same command skips the points already in the table.
    """
    from .sweep import expand, format_summary, load_spec, run_sweep, summarize

    if serial and (scheduler or workers):
        raise NeurochipError("--serial runs in this process: do not also give --scheduler or --workers")
    if scheduler and workers:
        raise NeurochipError("--workers sizes the LocalCluster; with --scheduler the cluster has its own workers")
    if workers is not None and workers < 1:
        raise NeurochipError(f"--workers must be at least 1, got {workers}")
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise NeurochipError(f"--out {out_dir} is a file; give a folder")
    spec = load_spec(spec_path)
    if dry_run:
        pts = expand(spec)
        for p in pts:
            click.echo(f"{p.index:4d} {p.key or '-':16s} {p.label()}" + (f"  INVALID: {p.error}" if p.error else ""))
        n_bad = sum(1 for p in pts if p.error)
        click.echo(f"{len(pts)} points, {n_bad} invalid")
        if n_bad and not skip_invalid:
            raise NeurochipError(f"{n_bad} of {len(pts)} points are invalid")
        return
    show = progress if progress is not None else sys.stderr.isatty()
    res = run_sweep(spec, out_dir, scheduler=scheduler, workers=workers, serial=serial, skip_invalid=skip_invalid,
                    progress=_bar_factory(show), echo=lambda m: click.echo(m, err=True))
    s = summarize(res.points, res.table)
    (Path(out_dir) / "summary.json").write_text(json.dumps(s, indent=1))
    where = "serially" if serial else (f"on {scheduler}" if scheduler else "on a LocalCluster")
    if as_json:
        click.echo(json.dumps({"ran": res.ran, "skipped": res.skipped, "lost": len(res.lost),
                               "seconds": round(res.seconds, 3), "table": str(res.table.path), **s}))
    else:
        click.echo(f"{res.ran} points run {where}, {res.skipped} already in {res.table.path}; {res.seconds:.1f} s")
        click.echo(format_summary(s, spec.axis_names))
    if res.lost:
        click.echo(f"{len(res.lost)} points did not finish; run the same command again to continue", err=True)
        sys.exit(1)


@click.group("plot")
def plot():
    """Figures (matplotlib, headless): PNG, SVG or PDF by the output's extension."""


def _figure(name: str, source: str):
    """``neurochip plot NAME SOURCE [options] --out FILE [--overwrite]``: the decorated body gets SOURCE,
    its own options and ``out``, after the figure file was checked (extension; an existing file only
    with --overwrite)."""

    def deco(body):
        @functools.wraps(body)
        def command(out, overwrite, **kw):
            _prepare_out(out, overwrite)
            return body(out=out, **kw)

        command = click.option("--overwrite", is_flag=True, help="Replace an existing figure file.")(command)
        command = click.option("--out", "-o", "out", required=True, type=click.Path(),
                               help="Figure file: .png, .svg or .pdf.")(command)
        command = click.argument(source, type=click.Path())(command)
        return plot.command(name)(command)

    return deco


def _prepare_out(out: str, overwrite: bool):
    from .api import check_output
    from .plot import check_path

    check_path(out)
    check_output(out, overwrite=overwrite, option="--out")


def _table(path: str):
    from .sweep import TABLE, read_table

    p = Path(path)
    return read_table(p / TABLE if p.is_dir() else p)


def _done(fig, data, out: str, what: str) -> None:
    from .plot import save

    p = save(fig, out)
    click.echo(f"{what}: {p}")


@_figure("pareto", "table")
@click.option("--x", "x", default="inference_pj_per_sample", show_default=True, help="Column on the x axis (cost).")
@click.option("--y", "y", default="accuracy", show_default=True, help="Column on the y axis.")
@click.option("--label", default=None, help="Columns whose values label the points, e.g. synapse.weight_bits,learning.trace_bits.")
@click.option("--mean-over", "average", default=None, help="Average over this axis first (e.g. seed): one point per configuration.")
def plot_pareto(table, x, y, label, average, out):
    """Accuracy vs energy per sample of a sweep (TABLE: results.csv or its folder), Pareto front marked."""
    from .plot import pareto

    cols, rows = _table(table)
    fig, data = pareto(cols, rows, x, y, label, average)
    _done(fig, data, out, f"{len(data['x'])} points, {len(data['front'])} on the Pareto front")


@_figure("axis", "table")
@click.option("--x", "x", required=True, help="Axis column, e.g. synapse.weight_bits.")
@click.option("--by", default=None, help="Second axis: one line per value.")
@click.option("--y", "y", default="accuracy", show_default=True)
def plot_axis(table, x, by, y, out):
    """Accuracy (or --y) vs one sweep axis, one line per value of --by (other axes averaged)."""
    from .plot import versus_axis

    cols, rows = _table(table)
    fig, data = versus_axis(cols, rows, x, by, y)
    _done(fig, data, out, f"{len(data['lines'])} line(s) over {len(data['x_values'])} values of {x}")


def _ckpt(path):
    from . import checkpoint

    return checkpoint.load(path)


@_figure("curves", "checkpoint_path")
def plot_curves(checkpoint_path, out):
    """Test (and frozen train-subset) accuracy per epoch of a checkpoint."""
    from .plot import training_curves

    _, history, _ = _ckpt(checkpoint_path)
    fig, data = training_curves(history)
    _done(fig, data, out, f"{len(data['epoch'])} epochs")


@_figure("weights", "checkpoint_path")
def plot_weights(checkpoint_path, out):
    """Weight histogram per layer, one bin per mantissa value of the profile's weight width."""
    from .plot import weight_histograms

    engine, _, _ = _ckpt(checkpoint_path)
    fig, data = weight_histograms(engine)
    _done(fig, data, out, f"{len(data)} layers")


@_figure("counters", "checkpoint_path")
def plot_counters(checkpoint_path, out):
    """Saturation and rounding counters of training, per layer."""
    from .plot import counters

    engine, _, _ = _ckpt(checkpoint_path)
    fig, data = counters(engine)
    _done(fig, data, out, f"{len(data['names'])} counters x {data['counts'].shape[0]} layers")


def _neurons(s: str | None):
    if s is None:
        return None
    out = []
    for part in s.split(","):
        try:
            l, i = part.split(":")
            out.append((int(l), int(i)))
        except ValueError:
            raise NeurochipError(f"--neurons wants LAYER:INDEX pairs like 1:0,2:3; got '{part}'") from None
    return out


def _sample_data(info: dict, data: str | None):
    from .data import load_dataset

    if data:
        return load_dataset(None, data, info.get("seed", 0))
    return load_dataset(info.get("name"), info.get("path"), info.get("seed", 0))


@_figure("raster", "checkpoint_path")
@click.option("--sample", type=int, default=0, show_default=True, help="Index of the test sample.")
@click.option("--neurons", default=None, help="Membrane traces of these neurons, LAYER:INDEX,... (default: the readout).")
@click.option("--data", type=click.Path(), default=None, help="Take the sample from this data instead of the checkpoint's.")
def plot_raster(checkpoint_path, sample, neurons, data, out):
    """Spike raster per layer and membrane traces over the T steps of one test sample."""
    from .plot import raster

    engine, _, info = _ckpt(checkpoint_path)
    ds = _sample_data(info, data)
    if not 0 <= sample < len(ds.y_test):
        raise NeurochipError(f"--sample {sample}: the test set has {len(ds.y_test)} samples (0..{len(ds.y_test) - 1})")
    if ds.n_features != engine.cfg.sizes[0]:
        raise NeurochipError(f"data has {ds.n_features} features, the network takes {engine.cfg.sizes[0]}")
    fig, d = raster(engine, ds.x_test[sample], _neurons(neurons), int(ds.y_test[sample]))
    _done(fig, d, out, f"sample {sample}: label {int(ds.y_test[sample])}, predicted {d['pred']}")


@_figure("energy", "source")
@click.option("--profile", "profile_name", default=None, help="Pricing profile (default: the report's first, or the checkpoint's own).")
@click.option("--samples", type=int, default=None, help="Checkpoint: count inference over the first N test samples (default all).")
@click.option("--learn-samples", type=int, default=200, show_default=True, help="Checkpoint: count learning over N training samples (0: inference only).")
def plot_energy(source, profile_name, samples, learn_samples, out):
    """Energy per sample by op kind and layer (stacked bars), from a checkpoint or a
    `neurochip energy --json` report."""
    from .plot import energy_breakdown

    if source.endswith(".json"):
        try:
            rep = json.loads(Path(source).read_text())
        except (OSError, ValueError) as e:
            raise NeurochipError(f"{source}: not a readable JSON energy report ({type(e).__name__})") from None
    else:
        rep = checkpoint_energy_report(source, profile_name, samples, learn_samples)
    fig, data = energy_breakdown(rep, profile_name)
    _done(fig, data, out, ", ".join(f"{k}: {len(v)} op kinds" for k, v in data.items()))


def checkpoint_energy_report(path, profile_name=None, samples=None, learn_samples=200) -> dict:
    """``neurochip energy``'s report for a checkpoint (through neurochip.sweep.energy_api)."""
    from .profile import load_profile
    from .sweep import energy_api

    if samples is not None and samples < 1:
        raise NeurochipError(f"--samples must be at least 1, got {samples}")
    if learn_samples < 0:
        raise NeurochipError(f"--learn-samples must be 0 or more, got {learn_samples}")
    em = energy_api()
    engine, _, info = _ckpt(path)
    ds = _sample_data(info, None)
    if profile_name:
        prof = load_profile(profile_name)
    else:
        prof = engine.profile if engine.profile.energy else load_profile(engine.profile.name)
    inf, train = em.gather_counts(engine, ds.x_test, ds.y_test, ds.x_train if learn_samples else None, ds.y_train,
                                  samples=samples, learn_samples=learn_samples)
    return em.build_report(engine, inf, train, [prof], None, strict=False)
