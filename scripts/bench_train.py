#!/usr/bin/env python
"""Benchmark: train digits 64-128-10, T=8: integer OTTT_O (on chip), float OTTT_O, float OTTT_A and
float BPTT (the reference systems), several seeds each, same network, encoder and loss.

Prints test accuracy (mean +- sd over seeds), training samples/s (one sample at a time, one core),
peak RSS, and the memory check for the integer learner at T=8 vs T=256 (each in a fresh process,
so the peaks do not mix). Usage:

    python scripts/bench_train.py                      # 30 epochs, seeds 0 1 2, loihi profile
    python scripts/bench_train.py --epochs 5 --seeds 0 --skip-memory

It ends with the published blocks (Markdown); `python scripts/reproduce.py --write --only train`
writes them into README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from neurochip.data import load_digits  # noqa: E402
from neurochip.engine import Engine  # noqa: E402
from neurochip.network import NetworkConfig  # noqa: E402
from neurochip.profile import load_profile  # noqa: E402
from neurochip.train import fit  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(precision: str, seed: int, epochs: int, profile: str, timesteps: int = 8, **kw) -> dict:
    """Train one network and return its final test accuracy and speed."""
    ds = load_digits(seed=0)
    cfg = NetworkConfig(sizes=(64, 128, 10), timesteps=timesteps, precision=precision, seed=seed, **kw)
    eng = Engine(cfg, load_profile(profile))
    t0 = time.perf_counter()
    h = fit(eng, ds, epochs)
    return {"precision": precision, "seed": seed, "test_acc": h.test_acc[-1], "best_test_acc": max(h.test_acc),
            "samples_per_s": statistics.median(h.samples_per_s), "seconds": time.perf_counter() - t0}


def memory_probe(timesteps: int, profile: str) -> float:
    """Peak RSS (MB) of a fresh process training 1 epoch of the integer learner at T."""
    code = ("import resource\n"
            "from neurochip.data import load_digits\nfrom neurochip.engine import Engine\n"
            "from neurochip.network import NetworkConfig\nfrom neurochip.profile import load_profile\n"
            "from neurochip.train import fit\n"
            f"ds = load_digits(seed=0)\ncfg = NetworkConfig(sizes=(64, 128, 10), timesteps={timesteps})\n"
            f"eng = Engine(cfg, load_profile('{profile}'))\nfit(eng, ds, 1)\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


LEARNERS = (("int", "ottt-o"), ("float", "ottt-o"), ("float", "ottt-a"), ("float", "bptt"))
LABELS = {
    "int ottt-o": "integer on-chip OTTT_O (8-bit weights, 7-bit traces, stochastic rounding)",
    "float ottt-o": "float32 OTTT_O, SGD",
    "float ottt-a": "float32 OTTT_A, SGD",
    "float bptt": "float32 BPTT (reset detached), SGD",
}


def measure(epochs: int = 30, seeds=(0, 1, 2), profile: str = "loihi", progress=print) -> dict:
    """Train every learner of LEARNERS for every seed; results per learner (accuracies, speeds) and
    the machine's load average before and after (speeds are only comparable within one run)."""
    results = {"epochs": epochs, "seeds": list(seeds), "profile": profile, "cpus": os.cpu_count(),
               "load_before": os.getloadavg()[0], "learners": {}}
    for precision, rule in LEARNERS:
        rows = [run(precision, s, epochs, profile, rule=rule) for s in seeds]
        accs = [r["test_acc"] for r in rows]
        key = f"{precision} {rule}"
        results["learners"][key] = r = {
            "rows": rows, "acc_mean": statistics.mean(accs),
            "acc_sd": statistics.stdev(accs) if len(accs) > 1 else 0.0,
            "samples_per_s": statistics.median(r["samples_per_s"] for r in rows)}
        progress(f"{key:13s} digits 64-128-10 T=8 {epochs} epochs, seeds {list(seeds)}: "
                 f"test acc {100 * r['acc_mean']:.2f} +- {100 * r['acc_sd']:.2f} %  "
                 f"(per seed {[round(100 * x, 2) for x in accs]}), {r['samples_per_s']:,.0f} samples/s")
    results["load_after"] = os.getloadavg()[0]
    return results


def blocks(res: dict) -> dict[str, str]:
    """The published blocks: ``bench_train:accuracy`` (deterministic) and ``bench_train:speed``."""
    L = res["learners"]
    seeds = " ".join(map(str, res["seeds"]))
    cap = (f"`python scripts/bench_train.py --epochs {res['epochs']} --seeds {seeds}` (digits 64-128-10, T = 8, "
           f"direct encoding, CE+MSE, sigmoid surrogate, cosine learning rate, {res['epochs']} epochs, "
           f"seed{'s' if len(res['seeds']) > 1 else ''} {seeds}, {res['profile']} profile; test accuracy after the "
           f"last epoch{'' if len(res['seeds']) == 1 else ', mean +- sd over seeds'}):")
    acc = [cap, "", "| learner | test accuracy |", "| --- | --- |"]
    one = len(res["seeds"]) == 1

    def cell(r):
        return f"{100 * r['acc_mean']:.2f} %" if one else f"{100 * r['acc_mean']:.2f} +- {100 * r['acc_sd']:.2f} %"

    acc += [f"| {LABELS[k]} | {cell(r)} |" for k, r in L.items()]
    ref = L["int ottt-o"]["samples_per_s"]
    spd = ["| learner | training samples/s | relative to integer OTTT_O |", "| --- | --- | --- |"]
    spd += [f"| {LABELS[k]} | {r['samples_per_s']:,.0f} | {r['samples_per_s'] / ref:.2f} |" for k, r in L.items()]
    spd += ["", f"Speeds from the same run (one sample at a time on one core, median over seeds of each seed's "
                f"median epoch, so a first epoch's numba compile does not count). The machine had {res['cpus']} cores and a load average of "
                f"{res['load_before']:.1f} before and {res['load_after']:.1f} after the run: absolute samples/s "
                f"vary with the load, the ratios in the last column much less."]
    return {"bench_train:accuracy": "\n".join(acc), "bench_train:speed": "\n".join(spd)}


ONLINE_ARGS = ("--epochs", "2", "--lr", "5")


def measure_online(workdir) -> dict:
    """``neurochip train --epochs 2 --lr 5`` on digits (the CLI's defaults otherwise), its ``--json``
    summary: the accuracy decoded during learning (``train_accuracy_online``), the frozen pass's
    (``train_accuracy``) and the test accuracy, to show how much the label helps the former."""
    from pathlib import Path

    out = subprocess.run([sys.executable, "-c", "import sys; from neurochip.cli import main; sys.exit(main())",
                          "train", *ONLINE_ARGS, "--json", "--out", str(Path(workdir) / "online.h5")],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"neurochip train failed: {out.stderr.strip()[-300:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def online_block(r: dict) -> dict[str, str]:
    """The published block ``bench_train:online`` (deterministic)."""
    return {"bench_train:online": f"`neurochip train {' '.join(ONLINE_ARGS)}` on digits reads "
            f"{r['train_accuracy_online']:.2f} during learning, while the frozen pass gives {r['train_accuracy']:.2f} "
            f"and the test set {r['test_accuracy']:.2f} (`python scripts/reproduce.py --write --only train-online`)."}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--profile", default="loihi")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--json", action="store_true", help="also print one JSON line with all results")
    a = ap.parse_args()
    t_compile = time.perf_counter()
    res = measure(a.epochs, a.seeds, a.profile, progress=lambda s: print(s, flush=True))
    results = dict(res["learners"])
    gap = 100 * (results["float ottt-o"]["acc_mean"] - results["int ottt-o"]["acc_mean"])
    print(f"integer OTTT_O minus float OTTT_O: {-gap:+.2f} points; peak RSS of this process {peak_rss_mb():.0f} MB")
    print(f"wall time {time.perf_counter() - t_compile:.0f} s (includes numba compile on a cold cache)")
    if not a.skip_memory:
        m8, m256 = memory_probe(8, a.profile), memory_probe(256, a.profile)
        results["memory_mb"] = {"T8": m8, "T256": m256}
        print(f"integer learner peak RSS, 1 epoch: T=8 {m8:.1f} MB, T=256 {m256:.1f} MB "
              f"(ratio {m256 / m8:.3f}; flat means within 5%)")
    print()
    for name, body in blocks(res).items():
        print(f"<!-- {name} -->\n{body}\n")
    if a.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
