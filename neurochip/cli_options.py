"""Click options and output helpers shared by the ``neurochip`` command modules (no behaviour:
each option maps to an argument of the public API, :mod:`neurochip.api`)."""
from __future__ import annotations

import functools
import sys

import click

from .api import set_threads
from .errors import NeurochipError

EVENT_OPTIONS = ("bin_by", "bin_window", "events_per_step", "bin_mode", "max_count", "polarity", "pool")


def threads_option(f):
    """A ``--threads N`` option (default: all cores, or NUMBA_NUM_THREADS) applied with
    :func:`neurochip.api.set_threads` before the command runs; the command itself never sees it."""

    @click.option("--threads", "threads_", type=int, default=None,
                  help="Threads (default: all cores, or NUMBA_NUM_THREADS): inference passes split the samples, "
                       "learning splits a sample's conv layers. Results are identical for any number.")
    @functools.wraps(f)
    def wrapper(*args, threads_=None, **kw):
        set_threads(threads_)
        return f(*args, **kw)

    return wrapper


def event_options(f):
    """Binning options of event data (--data EVENTS, --dataset digits-events): an EventBinning."""
    opts = [
        click.option("--bin-by", type=click.Choice(["time", "count"]), default=None,
                     help="Event data: bin by time window (default) or by event count."),
        click.option("--bin-window", type=int, default=None,
                     help="Event data, --bin-by time: step window in microseconds (default: each sample's span / T)."),
        click.option("--events-per-step", type=int, default=None,
                     help="Event data, --bin-by count: events per step (default: equal shares)."),
        click.option("--bin-mode", type=click.Choice(["counts", "spikes"]), default=None,
                     help="Event data: counts per step as graded input (--encoder raster, default) or 0/1 spikes (raster-spikes)."),
        click.option("--max-count", type=int, default=None,
                     help="Event data, counts: the count that is full-scale input; more saturate (default 8)."),
        click.option("--polarity", type=click.Choice(["split", "merge"]), default=None,
                     help="Event data: one input channel per polarity (default) or merged."),
        click.option("--pool", type=int, default=None, help="Event data: sum-pool x and y by this factor (default 1)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def event_binning(timesteps: int, ev: dict) -> dict:
    """The EventBinning fields the event options ask for (``load_data(binning=...)``; defaults: by
    time, counts up to 8, polarities split); only event data makes an EventBinning of them."""
    return dict(timesteps=timesteps, mode=ev.get("bin_by") or "time", window_us=ev.get("bin_window"),
                events_per_step=ev.get("events_per_step"),
                output="spike" if ev.get("bin_mode") == "spikes" else "count",
                max_count=ev.get("max_count") or 8, polarity=ev.get("polarity") or "split",
                spatial_factor=ev.get("pool") or 1, layout="flat")


def errors(f):
    """NeurochipError -> ``Error: <one line>`` and exit code 2 (for commands run outside the main group)."""

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except NeurochipError as e:
            click.echo(f"Error: {e}", err=True)
            raise SystemExit(2)

    return wrapper


def progress_bar(enabled: bool):
    """A progress-bar factory on stderr for ``Network.fit(progress=...)``, or None."""
    if not enabled:
        return None

    def factory(n, label):
        return click.progressbar(length=n, label=label, file=sys.stderr, show_pos=True)

    return factory
