"""``neurochip sweep`` and ``neurochip plot``: click commands over the public API
(:func:`neurochip.api.run_sweep`, :func:`neurochip.api.sweep_points` and the ``plot_*`` functions).

Each command parses its options, calls the API and prints; NeurochipError becomes ``Error: ...``
(exit 2) in the ``neurochip`` group.
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from . import api
from .errors import NeurochipError


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
    if dry_run:
        pts = api.sweep_points(spec_path)
        for p in pts:
            click.echo(f"{p['index']:4d} {p['point'] or '-':16s} {p['label']}" + (f"  INVALID: {p['error']}" if p["error"] else ""))
        n_bad = sum(1 for p in pts if p["error"])
        click.echo(f"{len(pts)} points, {n_bad} invalid")
        if n_bad and not skip_invalid:
            raise NeurochipError(f"{n_bad} of {len(pts)} points are invalid")
        return
    res = api.run_sweep(spec_path, out_dir, scheduler=scheduler, workers=workers, serial=serial,
                        skip_invalid=skip_invalid, progress=progress if progress is not None else sys.stderr.isatty(),
                        echo=lambda m: click.echo(m, err=True))
    where = "serially" if serial else (f"on {scheduler}" if scheduler else "on a LocalCluster")
    if as_json:
        click.echo(json.dumps(res.to_dict()))
    else:
        click.echo(f"{res.ran} points run {where}, {res.skipped} already in {res.table.path}; {res.seconds:.1f} s")
        click.echo(res.text())
    if res.lost:
        click.echo(f"{len(res.lost)} points did not finish; run the same command again to continue", err=True)
        sys.exit(1)


@click.group("plot")
def plot():
    """Figures (matplotlib, headless): PNG, SVG or PDF by the output's extension."""


def _figure(name: str, source: str):
    """``neurochip plot NAME SOURCE [options] --out FILE [--overwrite]``: the decorated body gets
    SOURCE, its own options, ``out`` and ``overwrite``, and returns the API's figure, whose summary
    line is printed with the file written."""

    def deco(body):
        @functools.wraps(body)
        def command(out, **kw):
            fig = body(out=out, **kw)
            click.echo(f"{fig.neurochip_summary}: {Path(out)}")

        command = click.option("--overwrite", is_flag=True, help="Replace an existing figure file.")(command)
        command = click.option("--out", "-o", "out", required=True, type=click.Path(),
                               help="Figure file: .png, .svg or .pdf.")(command)
        command = click.argument(source, type=click.Path())(command)
        return plot.command(name)(command)

    return deco


@_figure("pareto", "table")
@click.option("--x", "x", default="inference_pj_per_sample", show_default=True, help="Column on the x axis (cost).")
@click.option("--y", "y", default="accuracy", show_default=True, help="Column on the y axis.")
@click.option("--label", default=None, help="Columns whose values label the points, e.g. synapse.weight_bits,learning.trace_bits.")
@click.option("--mean-over", "average", default=None, help="Average over this axis first (e.g. seed): one point per configuration.")
def plot_pareto(table, x, y, label, average, out, overwrite):
    """Accuracy vs energy per sample of a sweep (TABLE: results.csv or its folder), Pareto front marked."""
    return api.plot_pareto(table, x=x, y=y, label=label, mean_over=average, out=out, overwrite=overwrite)


@_figure("axis", "table")
@click.option("--x", "x", required=True, help="Axis column, e.g. synapse.weight_bits.")
@click.option("--by", default=None, help="Second axis: one line per value.")
@click.option("--y", "y", default="accuracy", show_default=True)
def plot_axis(table, x, by, y, out, overwrite):
    """Accuracy (or --y) vs one sweep axis, one line per value of --by (other axes averaged)."""
    return api.plot_axis(table, x, by=by, y=y, out=out, overwrite=overwrite)


@_figure("curves", "checkpoint_path")
def plot_curves(checkpoint_path, out, overwrite):
    """Test (and frozen train-subset) accuracy per epoch of a checkpoint."""
    return api.plot_curves(checkpoint_path, out=out, overwrite=overwrite)


@_figure("weights", "checkpoint_path")
def plot_weights(checkpoint_path, out, overwrite):
    """Weight histogram per layer, one bin per mantissa value of the profile's weight width."""
    return api.plot_weights(checkpoint_path, out=out, overwrite=overwrite)


@_figure("counters", "checkpoint_path")
def plot_counters(checkpoint_path, out, overwrite):
    """Saturation and rounding counters of training, per layer."""
    return api.plot_counters(checkpoint_path, out=out, overwrite=overwrite)


@_figure("raster", "checkpoint_path")
@click.option("--sample", type=int, default=0, show_default=True, help="Index of the test sample.")
@click.option("--neurons", default=None, help="Membrane traces of these neurons, LAYER:INDEX,... (default: the readout).")
@click.option("--data", type=click.Path(), default=None, help="Take the sample from this data instead of the checkpoint's.")
def plot_raster(checkpoint_path, sample, neurons, data, out, overwrite):
    """Spike raster per layer and membrane traces over the T steps of one test sample."""
    return api.plot_raster(checkpoint_path, sample, data=Path(data) if data else None, neurons=neurons, out=out,
                           overwrite=overwrite)


@_figure("energy", "source")
@click.option("--profile", "profile_name", default=None, help="Pricing profile (default: the report's first, or the checkpoint's own).")
@click.option("--samples", type=int, default=None, help="Checkpoint: count inference over the first N test samples (default all).")
@click.option("--learn-samples", type=int, default=None, help="Checkpoint: count learning over N training samples (default 200; 0: inference only).")
def plot_energy(source, profile_name, samples, learn_samples, out, overwrite):
    """Energy per sample by op kind and layer (stacked bars), from a checkpoint or a
    `neurochip energy --json` report."""
    return api.plot_energy(source, profile=profile_name, samples=samples, learn_samples=learn_samples, out=out,
                           overwrite=overwrite)
