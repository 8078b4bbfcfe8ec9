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

3. with ``--lif-forward``, the inference kernel of ``scripts/bench_vs_lava.py`` (``lif_forward``,
   the 64-128-10 loihi network, 1000 steps of Bernoulli p = 0.2 input) of both trees in one
   process: the baseline's package is copied under the name ``neurochip_base`` and both kernels
   run on the same arrays, alternating run by run (``--pairs`` pairs per round, ``--rounds``
   rounds), so that the host's drift hits both alike; spikes are checked identical; prints each
   round's medians and the median of the rounds' ratios. This resolves differences of a few
   per cent that separate processes cannot (the host's speed drifts by up to 2x between runs).

Prints a table "baseline | this tree | ratio". Usage::

    python scripts/speed_compare.py --baseline-commit a80020d
    python scripts/speed_compare.py --baseline-commit a80020d --repeats 5 --bench-scripts --json
    python scripts/speed_compare.py --baseline-commit 2cca2c8 --lif-forward --rounds 9
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


MEASURE_LIF = r"""
import json, os, sys, time, statistics
sys.path.insert(0, "scripts")
import numpy as np
import bench_vs_lava as V
from neurochip.kernels import lif_run as this_k
from neurochip_base.kernels import lif_run as base_k
rounds, pairs = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
R = (rng.random((1000, V.SIZES[0])) < 0.2).astype(np.int32)
eng = V.make_network(1000, 8.0, 0, "loihi")

def run(k):
    return V.neurochip_spikes(eng, R, forward=k.lif_forward)[0]

same = bool(np.array_equal(run(base_k), run(this_k)))
print(f"spikes identical: {same}", file=sys.stderr, flush=True)
ratios, rows = [], []
for r in range(rounds):
    tb, tt = [], []
    for _ in range(pairs):
        t0 = time.perf_counter(); run(base_k); t1 = time.perf_counter(); run(this_k); t2 = time.perf_counter()
        tb.append(t1 - t0); tt.append(t2 - t1)
    b, t = statistics.median(tb), statistics.median(tt)
    ratios.append(b / t)
    rows.append((b, t))
    print(f"  round {r + 1}/{rounds}: baseline {b * 1e3:.3f} us/step, this {t * 1e3:.3f} us/step, "
          f"speed-up {b / t:.3f}x", file=sys.stderr, flush=True)
print(json.dumps({"same_spikes": same, "ratios": ratios, "us_per_step": [[b * 1e3, t * 1e3] for b, t in rows],
                  "speedup": statistics.median(ratios)}))
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
    ap.add_argument("--lif-forward", action="store_true",
                    help="only the inference kernel lif_forward, both trees in one process (A/B run by run)")
    ap.add_argument("--rounds", type=int, default=7, help="--lif-forward: rounds (median of their ratios)")
    ap.add_argument("--pairs", type=int, default=300, help="--lif-forward: alternating runs per round")
    ap.add_argument("--json", action="store_true", help="also print one JSON line with all results")
    a = ap.parse_args()
    if a.rounds < 1 or a.pairs < 1 or a.repeats < 1 or a.epochs < 1:
        raise SystemExit("Error: --rounds, --pairs, --repeats and --epochs must be at least 1")
    tmp = Path(tempfile.mkdtemp(prefix="neurochip-baseline-"))
    base = tmp / "tree"
    made = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), a.baseline_commit],
                          capture_output=True, text=True)
    if made.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SystemExit(f"Error: cannot check out {a.baseline_commit!r}: "
                         f"{(made.stderr.strip().splitlines() or ['git worktree add failed'])[-1]}")
    res: dict = {"baseline_commit": a.baseline_commit, "head": subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()}
    try:
        if a.lif_forward:
            alias = tmp / "alias"
            shutil.copytree(base / "neurochip", alias / "neurochip_base",
                            ignore=shutil.ignore_patterns("__pycache__"))
            print(f"lif_forward: baseline {a.baseline_commit} vs this tree {res['head']}, one process, "
                  f"{a.rounds} rounds of {a.pairs} alternating runs (compiling both kernels first)", flush=True)
            env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(alias)]), NUMBA_NUM_THREADS="1")
            out = subprocess.run([sys.executable, "-c", MEASURE_LIF, str(a.rounds), str(a.pairs)], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, text=True, timeout=3600)
            if out.returncode != 0:
                raise SystemExit("Error: the lif_forward comparison failed (its output is above)")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"lif_forward speed-up of this tree: {r['speedup']:.3f}x (median of the rounds: "
                  f"{', '.join(f'{x:.3f}' for x in r['ratios'])}); spikes identical: {r['same_spikes']}")
            if a.json:
                print(json.dumps({**res, "lif_forward": r}))
            return 0 if r["same_spikes"] else 1
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
