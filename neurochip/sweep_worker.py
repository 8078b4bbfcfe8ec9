"""A sweep worker's start-up: warm a Dask worker before its first point, and its Dask settings.

Without a warm-up, a worker's first point pays for everything a fresh process loads once: the
scikit-learn import behind the digits loader (most of the first-task cost), the
rest of neurochip's training and energy modules, the numba kernels from the on-disk cache and one
dataset split per seed. ``scripts/bench_sweep.py`` measures the difference (first-task cost).

Two hooks run :func:`warm` in a worker, off the worker's event loop (heartbeats go on):

* ``dask worker ADDRESS --preload neurochip.sweep_worker`` (Dask's preload hook, :func:`dask_setup`):
  when the worker starts, before it joins the scheduler. It runs one tiny point of each precision
  (int, float) on digits, so it loads every module and kernel of a default point. LocalClusters
  started by :func:`neurochip.sweep.run_sweep` are preloaded the same way.
* :class:`SweepWarmUp`, a Dask WorkerPlugin that ``run_sweep`` registers on every cluster (also on
  workers that join later, e.g. restarted after a crash): it loads the sweep's own datasets into the
  worker's cache and runs a shrunken copy of the sweep's first point of each kind (precision, rule,
  encoder, ...), so kernels the default point does not use are loaded too. On a preloaded worker it
  costs a few milliseconds.

The warm-up changes no result: it fills per-process caches (modules, compiled kernels, the dataset
cache of :func:`neurochip.sweep.load_data`, which holds exactly what a task would load) and throws
its tiny runs away; every point's engine takes its PRNG states from its own spec. A warm-up that
fails (a data file missing on this worker, say) is logged and skipped: the point itself then fails
with the same error in its row.

:data:`DASK_CONFIG` slows down or turns off Dask machinery that costs CPU next to the tasks and that a
sweep does not use: the statistical profiler that samples the running task every 10 ms (it feeds
only the dashboard, which sweeps do not start), the 20 ms event-loop tick, the 100 ms memory monitor
(a worker over its memory limit is now paused or restarted within 1 s) and the 500 ms system monitor.
``scripts/bench_sweep.py`` reports the CPU time of the client and worker processes outside the tasks.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from distributed import WorkerPlugin

logger = logging.getLogger("neurochip.sweep_worker")

#: Dask settings of sweep workers (and of the LocalCluster's scheduler): ``dask.config.set(DASK_CONFIG)``
#: around the cluster's start, or the environment variables of docs/sweep.md on remote workers
DASK_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}

#: the default points of the preload: one per precision, on digits (seed 0), a few samples
_DEFAULT_POINTS = tuple({"dataset": "digits", "hidden": [8], "epochs": 1, "timesteps": 2, "train_samples": 4,
                         "test_samples": 4, "precision": p} for p in ("int", "float"))
#: NetworkConfig fields that do not select code: points differing only in these share their kernels
_VALUE_FIELDS = ("seed", "lr", "lr_horizon", "init_gain", "sizes")


def shrink(pspec: dict) -> dict:
    """A copy of a point spec that runs the same code on 4 samples for 1 epoch (warm-up only)."""
    return {**pspec, "train_samples": 4, "test_samples": 4, "epochs": 1, "train_eval": 0,
            "config": {**pspec["config"], "lr_horizon": 1}}


def kind(pspec: dict) -> str:
    """What selects the code a point runs: its dataset, its network options (numeric values aside)
    and its profile; points of one kind share modules and kernels."""
    cfg = {k: v for k, v in pspec["config"].items() if k not in _VALUE_FIELDS}
    return json.dumps({"dataset": pspec["dataset"].get("name") or pspec["dataset"].get("path"), "config": cfg,
                       "profile": pspec["profile"].get("name")}, sort_keys=True)


def warm(pspecs: list[dict] = (), datasets: list[dict] = ()) -> dict[str, Any]:
    """Load ``datasets`` (dataset infos of point specs) into this process's cache and run
    :func:`shrink` of each spec in ``pspecs``; without ``pspecs``, the default int and float points.
    Returns what was done and the seconds taken (for logs and tests)."""
    import time

    from .errors import NeurochipError
    from .sweep import load_data, resolve, run_point

    t0 = time.perf_counter()
    done: dict[str, Any] = {"datasets": 0, "points": 0, "errors": []}
    for info in datasets:
        try:
            load_data(info)
            done["datasets"] += 1
        except NeurochipError as e:
            done["errors"].append(str(e))
    for p in (pspecs or [resolve(s) for s in _DEFAULT_POINTS]):
        row = run_point(shrink(p))
        if row.get("error"):
            done["errors"].append(row["error"])
        else:
            done["points"] += 1
    for e in done["errors"]:
        logger.warning("neurochip sweep warm-up: %s (the points that need it will report it)", e)
    done["seconds"] = round(time.perf_counter() - t0, 3)
    return done


class SweepWarmUp(WorkerPlugin):
    """Warm every worker of a sweep: the sweep's datasets and one shrunken point per kind (see the
    module docstring). ``run_sweep`` registers it as ``neurochip-sweep-warm-up``."""

    name = "neurochip-sweep-warm-up"

    def __init__(self, pspecs: list[dict]):
        firsts: dict[str, dict] = {}
        for p in pspecs:
            firsts.setdefault(kind(p), p)
        self.pspecs = list(firsts.values())
        self.datasets = list({json.dumps(p["dataset"], sort_keys=True): p["dataset"] for p in pspecs}.values())

    async def setup(self, worker) -> None:
        done = await asyncio.to_thread(_warm_quietly, self.pspecs, self.datasets)
        logger.info("neurochip sweep warm-up: %s", done)


def _warm_quietly(pspecs, datasets) -> dict:
    try:
        return warm(pspecs, datasets)
    except Exception as e:  # noqa: BLE001 - a warm-up must never stop a worker; tasks report real errors
        logger.warning("neurochip sweep warm-up failed: %s: %s", type(e).__name__, e)
        return {"failed": str(e)}


def state() -> dict[str, Any]:
    """What this process has warm (``client.run(neurochip.sweep_worker.state)`` on a cluster): the
    heavy modules, the datasets in the cache, and the Dask settings of :data:`DASK_CONFIG`."""
    import sys

    import dask

    from . import sweep

    return {"modules": sorted(m for m in ("sklearn.model_selection", "neurochip.train", "neurochip.energy.report")
                              if m in sys.modules),
            "datasets": sorted(json.loads(k)["seed"] for k in sweep._DATA_CACHE),
            "config": {k: dask.config.get(k) for k in DASK_CONFIG}}


async def dask_setup(worker) -> None:
    """Dask's preload hook: ``dask worker ADDRESS --preload neurochip.sweep_worker``."""
    done = await asyncio.to_thread(_warm_quietly, [], [])
    logger.info("neurochip sweep warm-up (preload): %s", done)
