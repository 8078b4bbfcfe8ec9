#!/usr/bin/env python
"""Speed of this tree against an older commit, measured back to back in one invocation.

Checks ``--baseline-commit`` out into a temporary ``git worktree`` (removed afterwards) and, in
each tree, in fresh processes that import that tree's ``neurochip``:

1. integer OTTT_O training on digits 64-128-10, T = 8 (the issue-9 target): samples/s over
   ``--epochs`` epochs after one warm-up call (numba caches compiled first, not timed), the two
   trees alternating ``--repeats`` times so that load changes hit both; the median of each, per
   wall-clock second and per CPU second of the process (steadier on a shared machine);
2. with ``--bench-scripts``, each tree's own ``scripts/bench_train.py --epochs 3 --seeds 0
   --skip-memory --json`` (integer and float learners) and ``scripts/bench_vs_lava.py --json
   --repeats 20`` (inference steps/s vs Lava, learning samples/s vs the Lava emulation), once each.

Prints a table "baseline | this tree | ratio". Usage::

    python scripts/speed_compare.py --baseline-commit a80020d
    python scripts/speed_compare.py --baseline-commit a80020d --repeats 5 --bench-scripts --json
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MEASURE = r"""
import json, os, sys, time, statistics
import numpy as np
from neurochip.data import load_digits
from neurochip.engine import Engine
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile
ds = load_digits(seed=0)
cfg = NetworkConfig(sizes=(64, 128, 10), timesteps=8, precision="int", rule="ottt-o", seed=0)
eng = Engine(cfg, load_profile("loihi"))
x = eng.prepare(ds.x_train)
y = np.asarray(ds.y_train, np.int64)
eng.run(x, y, np.arange(4), True)                       # load or compile the kernels
rates, cpu = [], []
for ep in range(int(sys.argv[1])):
    order = np.random.default_rng([0, 2, ep]).permutation(len(y))
    t0, c0 = time.perf_counter(), time.process_time()
    for a in range(0, len(order), 128):                 # train.run_epoch's chunks
        eng.run(x, y, order[a:a + 128], True)
    rates.append(len(order) / (time.perf_counter() - t0))
    cpu.append(len(order) / (time.process_time() - c0))
print(json.dumps({"samples_per_s": statistics.median(rates), "samples_per_cpu_s": statistics.median(cpu),
                  "weights_sum": int(eng.W.astype(np.int64).sum()),
                  "rng": [int(r) for r in eng.rng]}))
"""


def run_in(tree: Path, args: list[str], timeout: float = 3600) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_NUM_THREADS="1")
    out = subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True,
                         timeout=timeout)
    if out.returncode != 0:
        raise SystemExit(f"Error: {' '.join(args[:2])} failed in {tree}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline-commit", required=True, help="commit (or ref) to compare against")
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs per measurement")
    ap.add_argument("--repeats", type=int, default=3, help="alternating measurements per tree")
    ap.add_argument("--bench-scripts", action="store_true", help="also run each tree's bench_train/bench_vs_lava")
    ap.add_argument("--json", action="store_true", help="also print one JSON line with all results")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="neurochip-baseline-"))
    base = tmp / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), a.baseline_commit],
                   check=True, capture_output=True)
    res: dict = {"baseline_commit": a.baseline_commit, "head": subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()}
    try:
        trees = {"baseline": base, "this": ROOT}
        rows = {k: [] for k in trees}
        for _ in range(a.repeats):
            for k, tree in trees.items():
                r = run_in(tree, ["-c", MEASURE, str(a.epochs)])
                rows[k].append(r)
        table = []
        med = {k: statistics.median(r["samples_per_s"] for r in rows[k]) for k in trees}
        table.append(("int OTTT_O digits 64-128-10 T=8, samples/s", med["baseline"], med["this"]))
        medc = {k: statistics.median(r["samples_per_cpu_s"] for r in rows[k]) for k in trees}
        table.append(("int OTTT_O digits 64-128-10 T=8, samples/CPU-s", medc["baseline"], medc["this"]))
        same = rows["baseline"][0]["weights_sum"] == rows["this"][0]["weights_sum"] and \
            rows["baseline"][0]["rng"] == rows["this"][0]["rng"]
        res["int_ottt_o"] = {k: [r["samples_per_s"] for r in rows[k]] for k in trees}
        res["int_ottt_o_cpu"] = {k: [r["samples_per_cpu_s"] for r in rows[k]] for k in trees}
        res["int_ottt_o"]["same_weights_and_prng"] = same
        if a.bench_scripts:
            for k, tree in trees.items():
                res[f"bench_train_{k}"] = run_in(tree, ["scripts/bench_train.py", "--epochs", "3", "--seeds", "0",
                                                        "--skip-memory", "--json"])
                res[f"bench_vs_lava_{k}"] = run_in(tree, ["scripts/bench_vs_lava.py", "--json", "--repeats", "20"])
            for key in ("int ottt-o", "float ottt-o", "float ottt-a", "float bptt"):
                table.append((f"bench_train {key}, samples/s", res["bench_train_baseline"][key]["samples_per_s"],
                              res["bench_train_this"][key]["samples_per_s"]))
            for part, who, unit in (("inference", "neurochip", "steps_per_s"),
                                    ("inference", "lava_recording", "steps_per_s"),
                                    ("learning", "neurochip", "samples_per_s"),
                                    ("learning", "lava", "samples_per_s")):
                b = res["bench_vs_lava_baseline"].get(part, {}).get(who, {}).get(unit)
                t = res["bench_vs_lava_this"].get(part, {}).get(who, {}).get(unit)
                if b is not None and t is not None:
                    table.append((f"bench_vs_lava {part} {who} {unit.replace('_per_s', '/s')}", b, t))
        w = max(len(r[0]) for r in table)
        print(f"{'':{w}s}  {'baseline ' + a.baseline_commit:>18s}  {'this ' + res['head']:>14s}  ratio")
        for name, b, t in table:
            print(f"{name:{w}s}  {b:18,.0f}  {t:14,.0f}  {t / b:5.2f}x")
        print(f"int OTTT_O per-run samples/s: baseline {[round(x) for x in res['int_ottt_o']['baseline']]}, "
              f"this {[round(x) for x in res['int_ottt_o']['this']]}; identical weights and PRNG after training: {same}")
        if a.json:
            print(json.dumps(res))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
