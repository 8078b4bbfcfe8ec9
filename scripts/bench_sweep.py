#!/usr/bin/env python
"""Benchmark of `neurochip sweep` on Dask, and the width finding; the README's generated blocks.

1. Speed: the 24-point sweep ``sweeps/bench_speed.toml`` (weight bits 4/5/6/8 x trace bits 5/6/7 x
   seeds 0/1, digits 64-128-10, T = 8, 3 epochs) on a LocalCluster of 1 worker, then of 2 workers
   (``neurochip.sweep.local_cluster``: worker processes of 1 thread, warmed by
   ``neurochip.sweep_worker``). Timed apart and left out of the speedup: the client's start-up (this
   process expands the spec once first: imports, the digits splits) and each cluster's start-up
   (including every worker's warm-up). Reported per run: wall, the sum of the tasks' wall-clock and
   CPU time (``seconds``, ``cpu_seconds``), the first task on each worker (from Dask's task stream)
   against the median of the others, Dask's overhead per point ((wall x workers - task time) /
   points), the CPU time of the client process (client, scheduler, nannies) and of the worker
   processes during the sweep, and the round trip of 200 no-op tasks (1 worker).
2. Finding: ``sweeps/widths.toml`` (one width at a time around loihi, 3 seeds, 10 epochs, and the
   float reference) on 2 workers: the smallest weight / trace / accumulator width whose mean
   accuracy is within 1 point of float, and the costs quoted beside it; Pareto plots (accuracy vs
   training energy and vs training memory, mean over seeds) to docs/img/sweep_pareto.png and
   sweep_pareto_memory.png. Its table is kept, so ``--skip-speed`` again only redraws the figures
   and the blocks (every point is skipped).
Tables and report.json go to runs/bench_sweep/ (--out). The script prints the README blocks
``bench_sweep:finding`` (deterministic) and ``bench_sweep:speed`` (timings); ``python
scripts/reproduce.py --write --only sweep`` recomputes both in fresh tables and writes them.

    python scripts/bench_sweep.py                    # both (about 5 min on 2 idle cores)
    python scripts/bench_sweep.py --skip-finding     # speed only
The speedup needs 2 idle cores: the load average is reported. On a shared machine, ``chrt -r 10
python scripts/bench_sweep.py --skip-finding`` (root) keeps the other processes off its cores; the
block says so.
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

from neurochip.sweep import expand, load_spec, local_cluster, number, read_table, run_sweep  # noqa: E402

SPEED_SPEC = ROOT / "sweeps" / "bench_speed.toml"
WIDTHS_SPEC = ROOT / "sweeps" / "widths.toml"
IMG = ROOT / "docs" / "img"


def _cpu(procs) -> float:
    t = 0.0
    for p in procs:
        try:
            c = p.cpu_times()
            t += c.user + c.system
        except Exception:  # noqa: BLE001 - a process that ended
            pass
    return t


def timed_sweep(spec_path: Path, workers: int, out: Path) -> dict:
    """One timed sweep on a fresh LocalCluster of ``workers`` processes. Start-up (the cluster and
    the warm-up of every worker by neurochip.sweep_worker) is timed apart from the sweep."""
    import psutil
    from distributed import Client, get_task_stream

    t0 = time.perf_counter()
    cluster = local_cluster(workers)
    with Client(cluster) as c:
        c.wait_for_workers(workers)
        startup = time.perf_counter() - t0
        me = psutil.Process()
        kids = me.children(recursive=True)
        c_me, c_kids = _cpu([me]), _cpu(kids)
        with get_task_stream(c) as ts:
            t1 = time.perf_counter()
            res = run_sweep(load_spec(spec_path), out, scheduler=cluster.scheduler_address, echo=lambda m: None)
            wall = time.perf_counter() - t1
        c_me, c_kids = _cpu([me]) - c_me, _cpu(kids) - c_kids
        noop = None
        if workers == 1:
            t2 = time.perf_counter()
            futs = [c.submit(_noop, i, pure=False) for i in range(200)]
            c.gather(futs)
            noop = (time.perf_counter() - t2) / 200 * 1000
    cluster.close()
    _, rows = read_table(out / "results.csv")
    secs = {r["point"]: number(r["seconds"]) for r in rows}
    first: dict[str, tuple[float, str]] = {}        # worker -> (start, point) of its first task
    for t in ts.data:
        key = str(t["key"])
        if not key.startswith("neurochip-point-"):
            continue
        start = min(s["start"] for s in t["startstops"] if s["action"] == "compute")
        if t["worker"] not in first or start < first[t["worker"]][0]:
            first[t["worker"]] = (start, key[len("neurochip-point-"):])
    firsts = sorted(secs[k] for _, k in first.values())
    rest = sorted(v for k, v in secs.items() if k not in {k for _, k in first.values()})
    task_s = sum(secs.values())
    task_cpu = sum(number(r["cpu_seconds"]) for r in rows)
    return {"workers": workers, "points": res.ran, "wall_s": round(wall, 2), "startup_s": round(startup, 2),
            "task_s": round(task_s, 2), "task_cpu_s": round(task_cpu, 2),
            "first_task_s": [round(x, 2) for x in firsts],
            "other_task_median_s": round(rest[len(rest) // 2], 3) if rest else None,
            "overhead_ms_per_task": round((wall * workers - task_s) / max(res.ran, 1) * 1000, 1),
            "client_cpu_s": round(c_me, 2), "workers_cpu_s": round(c_kids, 2),
            "noop_roundtrip_ms": None if noop is None else round(noop, 2), "lost": len(res.lost)}


def measure_speed(out: Path, progress=print) -> dict:
    """The 24-point sweep on 1, then 2 LocalCluster workers, in fresh tables under ``out``. This
    process (the client) first expands the spec once, so neither run pays its imports."""
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    expand(load_spec(SPEED_SPEC))
    client_startup = time.perf_counter() - t0
    runs = {}
    for n in (1, 2):
        d = out / f"speed_w{n}"
        shutil.rmtree(d, ignore_errors=True)          # fresh tables: nothing skipped
        progress(f"  speed: {n} worker(s)")
        runs[n] = timed_sweep(SPEED_SPEC, n, d)
    return {"one_worker": runs[1], "two_workers": runs[2], "speedup": round(runs[1]["wall_s"] / runs[2]["wall_s"], 2),
            "client_startup_s": round(client_startup, 2),
            "rows_identical": _compare(out / "speed_w1" / "results.csv", out / "speed_w2" / "results.csv"),
            "load": [round(load0, 1), round(os.getloadavg()[0], 1)],
            "realtime": os.sched_getscheduler(0) in (os.SCHED_FIFO, os.SCHED_RR)}


def _noop(i):
    return i


BASE = {"synapse.weight_bits": "8", "learning.trace_bits": "7", "learning.accumulator_bits": "16"}
AXES = (("synapse.weight_bits", "ottt-o", "weights (8 bits), OTTT_O"),
        ("learning.trace_bits", "ottt-o", "traces (7 bits, 5 fractional; fraction moved along)"),
        ("learning.accumulator_bits", "ottt-a", "accumulator (16 bits, 7 below the weight LSB), OTTT_A"))


def _mean(sel, col="accuracy") -> float:
    a = [number(r[col]) for r in sel]
    return sum(a) / len(a) if a else float("nan")


def _int_at(rows, rule, **widths):
    """Integer rows of ``rule`` at the loihi widths except ``widths``."""
    want = {**BASE, **{k.replace("__", "."): str(v) for k, v in widths.items()}}
    return [r for r in rows if r["precision"] == "int" and r["rule"] == rule and all(r[k] == v for k, v in want.items())]


def finding(table: Path) -> dict:
    """Smallest width per axis whose mean accuracy over seeds is within 1 point of float, and the
    costs the README quotes next to it (means over seeds)."""
    _, rows = read_table(table)
    rows = [r for r in rows if not r.get("error")]
    out = {}
    for axis, rule, _ in AXES:
        ref = _mean([r for r in rows if r["precision"] == "float" and r["rule"] == rule])
        sel = [r for r in rows if r["precision"] == "int" and r["rule"] == rule
               and all(r[k] == v for k, v in BASE.items() if k != axis)]
        vals = sorted({int(r[axis]) for r in sel})
        per = {v: _mean([r for r in sel if int(r[axis]) == v]) for v in vals}
        ok = [v for v in vals if per[v] >= ref - 0.01]
        out[axis] = {"rule": rule, "float": round(ref, 4), "mean_accuracy": {v: round(a, 4) for v, a in per.items()},
                     "smallest_within_1pt": ok[0] if ok else None}
    w = sorted(out["synapse.weight_bits"]["mean_accuracy"])
    t = sorted(out["learning.trace_bits"]["mean_accuracy"])
    o, a = _int_at(rows, "ottt-o"), _int_at(rows, "ottt-a")
    out["costs"] = {
        "points": len(rows), "test_samples": _test_size(table),
        "weight_bits": (w[0], w[-1]),
        "training_bytes": [_mean(_int_at(rows, "ottt-o", synapse__weight_bits=b), "training_bytes") for b in (w[0], w[-1])],
        "trace_bits": (t[0], 7),
        "updates": [_mean(_int_at(rows, "ottt-o", learning__trace_bits=b), "sat_update_attempted") for b in (t[0], 7)],
        "trace_training_pj": [_mean(_int_at(rows, "ottt-o", learning__trace_bits=b), "training_pj_per_sample")
                              for b in (t[0], 7)],
        "a_over_o_updates": _mean(a, "sat_update_attempted") / _mean(o, "sat_update_attempted"),
        "training_pj": {"ottt-a": _mean(a, "training_pj_per_sample"), "ottt-o": _mean(o, "training_pj_per_sample")},
        "accuracy": {"ottt-a": _mean(a), "ottt-o": _mean(o)},
    }
    return out


def _test_size(table: Path) -> int:
    """The test-set size of the points of a sweep table (from points.json next to it)."""
    from neurochip.sweep import load_data

    pts = json.loads((table.parent / "points.json").read_text())
    sizes = {p["spec"]["test_samples"] or len(load_data(p["spec"]["dataset"]).y_test) for p in pts}
    if len(sizes) != 1:
        raise RuntimeError(f"{table}: points with different test sets {sorted(sizes)}")
    return sizes.pop()


def _pct(x: float) -> str:
    return f"{100 * x:.2f}"


def finding_block(f: dict) -> dict[str, str]:
    """``bench_sweep:finding`` (README.md): deterministic, compared by scripts/reproduce.py."""
    c = f["costs"]
    n_test = c["test_samples"]
    lines = [f"`python scripts/bench_sweep.py` runs `sweeps/widths.toml` with `neurochip sweep` (digits 64-128-10, "
             f"T = 8, 10 epochs, loihi profile, one width changed at a time, 3 seeds each, and the float reference; "
             f"{c['points']} points). Mean test accuracy ({n_test} test samples: one sample is "
             f"{100 / n_test:.2f} points):", "",
             "| width (loihi value) | tried | mean accuracy per width | float reference | smallest within 1 point of float |",
             "| --- | --- | --- | --- | --- |"]
    for axis, rule, label in AXES:
        d = f[axis]
        vals = d["mean_accuracy"]
        tried = " ".join(str(v) for v in vals)
        accs = " ".join(_pct(a) for a in vals.values())
        best = d["smallest_within_1pt"]
        if best is None:
            top = max(vals, key=int)
            verdict = f"none (at {top} bits {100 * (d['float'] - vals[top]):.1f} points below)"
        elif best == min(vals, key=int):
            verdict = f"**{best} bits** (every width tried)"
        else:
            verdict = f"**{best} bits**"
        lines.append(f"| {label} | {tried} | {accs} % | {_pct(d['float'])} % | {verdict} |")
    (w0, w1), (b0, b1) = c["weight_bits"], c["training_bytes"]
    (t0, t1), (u0, u1), (e0, e1) = c["trace_bits"], c["updates"], c["trace_training_pj"]
    ea, eo = c["training_pj"]["ottt-a"], c["training_pj"]["ottt-o"]
    aa, ao = c["accuracy"]["ottt-a"], c["accuracy"]["ottt-o"]
    lines += ["", f"Narrower weights save memory (training footprint {b0 / 1000:.1f} KB at {w0} bits, {b1 / 1000:.1f} KB "
              f"at {w1}), not energy, on loihi's per-op figures (an op costs the same at every width); narrower traces "
              f"are zero more often, so fewer weight-update products are computed ({u0 / 1e6:.0f} M at {t0} bits, "
              f"{u1 / 1e6:.0f} M at {t1} bits, 10 epochs) and training costs {100 * (1 - e0 / e1):.0f} % less energy per "
              f"sample; OTTT_A computes {c['a_over_o_updates']:.2f} times as many weight-update products as OTTT_O and "
              f"needs {100 * (1 - ea / eo):.0f} % less training energy per sample ({ea / 1e6:.2f} vs {eo / 1e6:.2f} uJ), "
              f"{100 * abs(ao - aa):.1f} points {'below' if aa < ao else 'above'} integer OTTT_O at the loihi widths."]
    return {"bench_sweep:finding": "\n".join(lines)}


REALTIME = (", run at real-time priority (`chrt -r 10 python scripts/bench_sweep.py`) so that the other "
            "processes did not share its cores")


def speed_block(s: dict, finding_run: dict | None = None) -> dict[str, str]:
    """``bench_sweep:speed`` (README.md): timings, never compared."""
    one, two = s["one_worker"], s["two_workers"]
    f1, f2 = one["first_task_s"], two["first_task_s"]
    txt = (f"Speed of the same machinery (`sweeps/bench_speed.toml`: {one['points']} points, weight bits 4/5/6/8 x "
           f"trace bits 5/6/7 x 2 seeds, 3 epochs; load average {s['load'][0]} before, {s['load'][1]} after, on "
           f"{os.cpu_count()} cores{REALTIME if s.get('realtime') else ''}): {one['wall_s']} s on 1 LocalCluster worker, {two['wall_s']} s on 2, a "
           f"**{s['speedup']}x** speedup (target 1.7x). Not in these times: the client's start-up ({s['client_startup_s']} s: "
           f"imports and the digits splits, done once before both runs) and the cluster's ({one['startup_s']} s with 1 "
           f"worker, {two['startup_s']} s with 2, including each worker's warm-up by `neurochip.sweep_worker`). Sum of "
           f"the tasks' wall-clock {one['task_s']} s on 1 worker, {two['task_s']} s on 2 (CPU time "
           f"{one['task_cpu_s']} s and {two['task_cpu_s']} s); first task on each worker "
           f"{' / '.join(map(str, f1))} s (1 worker) and {' / '.join(map(str, f2))} s (2 workers), the others "
           f"{one['other_task_median_s']} s and {two['other_task_median_s']} s (median). Dask's overhead: "
           f"{one['overhead_ms_per_task']} ms per point on 1 worker, {two['overhead_ms_per_task']} ms on 2 ((wall x "
           f"workers - task time) / points); {one['noop_roundtrip_ms']} ms per no-op task (200 tasks, 1 worker). CPU "
           f"time outside the tasks during the 2-worker sweep: {two['client_cpu_s']} s in the client process (client, "
           f"scheduler, nannies), {round(two['workers_cpu_s'] - two['task_cpu_s'], 2)} s in the worker processes. "
           f"Rows {'identical' if s['rows_identical'] else 'DIFFERENT'} between the two runs.")
    if finding_run and finding_run.get("ran"):
        txt += (f" The width finding ran {finding_run['ran']} points in {finding_run['wall_s']} s on a 2-worker "
                f"LocalCluster (load average {finding_run['load'][0]} before, {finding_run['load'][1]} after).")
    return {"bench_sweep:speed": txt}


def run_finding(out: Path, progress=print) -> dict:
    """The width sweep on a 2-worker LocalCluster (points already in ``out``'s table are skipped)."""
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    res = run_sweep(load_spec(WIDTHS_SPEC), out, workers=2, echo=progress)
    return {"points": len(res.points), "ran": res.ran, "skipped": res.skipped, "lost": len(res.lost),
            "wall_s": round(time.perf_counter() - t0, 1), "load": [round(load0, 1), round(os.getloadavg()[0], 1)]}


def figures(out: Path) -> None:
    """docs/img/sweep_axis.png (speed table), sweep_pareto.png and sweep_pareto_memory.png (finding)."""
    from neurochip.plot import pareto, save, versus_axis

    if (out / "speed_w2" / "results.csv").exists():
        cols, rows = read_table(out / "speed_w2" / "results.csv")
        fig, _ = versus_axis(cols, rows, "synapse.weight_bits", by="learning.trace_bits")
        fig.axes[0].set_title("digits 64-128-10, 3 epochs, 2 seeds (bench_speed.toml)", fontsize=9)
        save(fig, IMG / "sweep_axis.png", dpi=80)
    if (out / "widths" / "results.csv").exists():
        cols, rows = read_table(out / "widths" / "results.csv")
        lab = "rule,synapse.weight_bits,learning.trace_bits,learning.accumulator_bits"
        for x, name in (("training_pj_per_sample", "sweep_pareto.png"), ("training_bytes", "sweep_pareto_memory.png")):
            fig, d = pareto(cols, rows, x=x, label=lab, average="seed")
            fig.axes[0].set_title("digits 64-128-10, T = 8, 10 epochs, loihi widths one at a time, mean of 3 seeds",
                                  fontsize=9)
            save(fig, IMG / name, dpi=80)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-finding", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench_sweep"), help="Folder of the tables (kept).")
    args = ap.parse_args()
    out = Path(args.out)
    old = out / "report.json"
    report = json.loads(old.read_text()) if old.exists() else {}   # a partial run keeps the other part
    report["cpus"] = os.cpu_count()
    if not args.skip_speed:
        report["speed"] = measure_speed(out)
        print(json.dumps(report["speed"], indent=1), flush=True)
    if not args.skip_finding:
        report["finding_sweep"] = run_finding(out / "widths")
    if (out / "widths" / "results.csv").exists():
        report["finding"] = finding(out / "widths" / "results.csv")
        print(json.dumps(report["finding"], indent=1), flush=True)
    figures(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    blocks = {}
    if "finding" in report:
        blocks.update(finding_block(report["finding"]))
    if "speed" in report:
        blocks.update(speed_block(report["speed"], report.get("finding_sweep")))
    for name, body in blocks.items():
        print(f"\n<!-- {name} -->\n{body}")


def _compare(a: Path, b: Path) -> bool:
    from neurochip.sweep import NONDETERMINISTIC

    ra = {r["point"]: {k: v for k, v in r.items() if k not in NONDETERMINISTIC} for r in read_table(a)[1]}
    rb = {r["point"]: {k: v for k, v in r.items() if k not in NONDETERMINISTIC} for r in read_table(b)[1]}
    return ra == rb


if __name__ == "__main__":
    main()
