"""``neurochip sweep`` and ``neurochip plot``: click commands over neurochip.sweep and neurochip.plot.

Orchestration only; NeurochipError becomes ``Error: ...`` (exit 2) in the ``neurochip`` group.
"""
from __future__ import annotations

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
