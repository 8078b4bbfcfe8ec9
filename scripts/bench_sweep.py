#!/usr/bin/env python
"""Benchmark of `neurochip sweep` on Dask, and the width finding.

1. Speed: the 24-point sweep ``sweeps/bench_speed.toml`` (weight bits 4/5/6/8 x trace bits 5/6/7 x
   seeds 0/1, digits 64-128-10, T = 8, 3 epochs) on a LocalCluster of 1 worker, then of 2 workers
   (worker processes, 1 thread each, NUMBA_NUM_THREADS=1; cluster start-up timed apart). Prints
   the speedup and Dask's overhead per task: (wall x workers - sum of task seconds) / points on the
   1-worker run, and the round trip of 200 no-op tasks.
2. Finding: ``sweeps/widths.toml`` (one width at a time around loihi, 3 seeds, 10 epochs, and the
   float reference) on 2 workers: the smallest weight / trace / accumulator width whose mean
   accuracy is within 1 point of float; Pareto plots (accuracy vs training energy and vs training
   memory, mean over seeds) to docs/img/sweep_pareto.png and sweep_pareto_memory.png. Its table is
   kept, so ``--skip-speed`` again only redraws the figures (every point is skipped).
Tables and report.json go to runs/bench_sweep/ (--out).

    python scripts/bench_sweep.py                    # both (about 5 min on 2 idle cores)
    python scripts/bench_sweep.py --skip-finding     # speed only
The machine's load average is printed before and after: the speedup needs 2 idle cores.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neurochip.sweep import _local_cluster, load_spec, number, read_table, run_sweep  # noqa: E402


def timed_sweep(spec_path: Path, workers: int, out: Path) -> dict:
    from distributed import Client

    t0 = time.perf_counter()
    cluster = _local_cluster(workers)
    with Client(cluster) as c:
        c.wait_for_workers(workers)
        # import neurochip and load the numba kernels in every worker before timing (as a long
        # sweep amortises them)
        c.run(_warm)
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        res = run_sweep(load_spec(spec_path), out, scheduler=cluster.scheduler_address, echo=lambda m: None)
        wall = time.perf_counter() - t1
        noop = None
        if workers == 1:
            t2 = time.perf_counter()
            futs = [c.submit(_noop, i, pure=False) for i in range(200)]
            c.gather(futs)
            noop = (time.perf_counter() - t2) / 200 * 1000
    cluster.close()
    _, rows = read_table(out / "results.csv")
    task_s = sum(number(r["seconds"]) for r in rows)
    return {"workers": workers, "points": res.ran, "wall_s": round(wall, 2), "startup_s": round(startup, 2),
            "task_s": round(task_s, 2), "overhead_ms_per_task": round((wall * workers - task_s) / max(res.ran, 1) * 1000, 1),
            "noop_roundtrip_ms": None if noop is None else round(noop, 2), "lost": len(res.lost)}


def _warm():
    from neurochip.engine import warm_up
    from neurochip.network import NetworkConfig
    from neurochip.profile import load_profile

    return warm_up(NetworkConfig(sizes=(64, 128, 10)), load_profile("loihi"))


def _noop(i):
    return i


def finding(table: Path) -> dict:
    """Smallest width per axis whose mean accuracy over seeds is within 1 point of float."""
    _, rows = read_table(table)
    rows = [r for r in rows if not r.get("error")]
    base = {"synapse.weight_bits": "8", "learning.trace_bits": "7", "learning.accumulator_bits": "16"}

    def mean(sel):
        a = [number(r["accuracy"]) for r in sel]
        return sum(a) / len(a) if a else float("nan")

    out = {}
    for axis, rule in (("synapse.weight_bits", "ottt-o"), ("learning.trace_bits", "ottt-o"),
                       ("learning.accumulator_bits", "ottt-a")):
        ref = mean([r for r in rows if r["precision"] == "float" and r["rule"] == rule])
        sel = [r for r in rows if r["precision"] == "int" and r["rule"] == rule
               and all(r[k] == v for k, v in base.items() if k != axis)]
        vals = sorted({int(r[axis]) for r in sel})
        per = {v: mean([r for r in sel if int(r[axis]) == v]) for v in vals}
        ok = [v for v in vals if per[v] >= ref - 0.01]
        out[axis] = {"rule": rule, "float": round(ref, 4), "mean_accuracy": {v: round(a, 4) for v, a in per.items()},
                     "smallest_within_1pt": ok[0] if ok else None}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-finding", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench_sweep"), help="Folder of the tables (kept).")
    args = ap.parse_args()
    out = Path(args.out)
    old = out / "report.json"
    report = json.loads(old.read_text()) if old.exists() else {}   # a partial run keeps the other part
    report.update(load_before=[round(x, 2) for x in os.getloadavg()], cpus=os.cpu_count())
    if not args.skip_speed:
        spec = ROOT / "sweeps" / "bench_speed.toml"
        for d in ("speed_w1", "speed_w2"):          # fresh tables: nothing skipped
            shutil.rmtree(out / d, ignore_errors=True)
        one = timed_sweep(spec, 1, out / "speed_w1")
        two = timed_sweep(spec, 2, out / "speed_w2")
        same = _compare(out / "speed_w1" / "results.csv", out / "speed_w2" / "results.csv")
        from neurochip.plot import save, versus_axis

        cols, rows = read_table(out / "speed_w2" / "results.csv")
        fig, _ = versus_axis(cols, rows, "synapse.weight_bits", by="learning.trace_bits")
        fig.axes[0].set_title("digits 64-128-10, 3 epochs, 2 seeds (bench_speed.toml)", fontsize=9)
        save(fig, ROOT / "docs" / "img" / "sweep_axis.png", dpi=80)
        report["speed"] = {"one_worker": one, "two_workers": two, "speedup": round(one["wall_s"] / two["wall_s"], 2),
                           "rows_identical": same}
        print(json.dumps(report["speed"], indent=1), flush=True)
    if not args.skip_finding:
        t0 = time.perf_counter()
        res = run_sweep(load_spec(ROOT / "sweeps" / "widths.toml"), out / "widths", workers=2, echo=print)
        report["finding_sweep"] = {"points": len(res.points), "ran": res.ran, "skipped": res.skipped,
                                   "wall_s": round(time.perf_counter() - t0, 1)}
        report["finding"] = finding(out / "widths" / "results.csv")
        print(json.dumps(report["finding"], indent=1), flush=True)
        from neurochip.plot import pareto, save

        cols, rows = read_table(out / "widths" / "results.csv")
        img = ROOT / "docs" / "img"
        lab = "rule,synapse.weight_bits,learning.trace_bits,learning.accumulator_bits"
        for x, name in (("training_pj_per_sample", "sweep_pareto.png"), ("training_bytes", "sweep_pareto_memory.png")):
            fig, d = pareto(cols, rows, x=x, label=lab, average="seed")
            fig.axes[0].set_title("digits 64-128-10, T = 8, 10 epochs, loihi widths one at a time, mean of 3 seeds",
                                  fontsize=9)
            save(fig, img / name, dpi=80)
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({k: report[k] for k in ("load_before", "load_after", "cpus")}))


def _compare(a: Path, b: Path) -> bool:
    ra = {r["point"]: {k: v for k, v in r.items() if k != "seconds"} for r in read_table(a)[1]}
    rb = {r["point"]: {k: v for k, v in r.items() if k != "seconds"} for r in read_table(b)[1]}
    return ra == rb


if __name__ == "__main__":
    main()
