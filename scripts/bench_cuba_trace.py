"""CUBA layers' OTTT trace, measured (docs/layers.md "CUBA layers: the exact OTTT trace"): digits 8x8
with a CUBA hidden layer, integer on-chip OTTT_O on loihi, the exact (doubly filtered) trace vs the
plain one, 3 seeds, the same initial weights and sample orders for both.

* ``d128u1``: current decay 1 - 2^-1; the exact trace peaks below 2^(F + k + k_u) = 2^7, so it
  fits loihi's 7-bit traces;
* ``d128u2``: current decay 1 - 2^-2; the exact trace can reach 2^8 and clips at the trace width
  (counted as ``trace_sat``).

    PYTHONPATH=$PWD python scripts/bench_cuba_trace.py [--quick] [--json out.json]

The published block (docs/layers.md) is written by ``scripts/reproduce.py --only cuba-trace --write``
(one thread: learning is sequential, and the machine is shared).
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from neurochip import parallel
from neurochip.counters import OPS, SAT
from neurochip.data import load_dataset
from neurochip.engine import Engine, accuracy, warm_up
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile
from neurochip.train import epoch_order, lr_at

ARCHS = ("d128u1", "d128u2")
TRACES = ("plain", "exact")


def train(cfg, prof, ds, epochs):
    """(test accuracy, hidden layer's trace clips per training sample, trace updates per sample)."""
    warm_up(cfg, prof)
    eng = Engine(cfg, prof)
    xin, xtin = eng.prepare(ds.x_train), eng.prepare(ds.x_test)
    n = 0
    for ep in range(epochs):
        eng.set_lr(lr_at(cfg, ep, epochs))
        order = epoch_order(cfg.seed, ep, len(ds.y_train))
        eng.run(xin, ds.y_train, order, True)
        n += len(order)
    acc = accuracy(eng.run(xtin, ds.y_test, np.arange(len(ds.y_test)), False), ds.y_test)
    return acc, float(eng.sat[0, SAT.index("trace_sat")]) / n, float(eng.ops[0, OPS.index("trace_updates")]) / n


def measure(quick=False, progress=print):
    parallel.set_threads(1)
    prof = load_profile("loihi")
    ds = load_dataset("digits", None, 0)
    seeds = [0] if quick else [0, 1, 2]
    epochs = 3 if quick else 20
    out = {"quick": quick, "seeds": seeds, "epochs": epochs, "runs": {}}
    for arch in ARCHS:
        for tr in TRACES:
            accs, clips, upd = [], [], []
            for sd in seeds:
                cfg = NetworkConfig(sizes=(64, 10), arch=arch, timesteps=8, lr=0.05, lr_horizon=epochs, seed=sd,
                                    cuba_trace=tr)
                a, c, u = train(cfg, prof, ds, epochs)
                accs.append(a)
                clips.append(c)
                upd.append(u)
            out["runs"][f"{arch} {tr}"] = {"acc": accs, "mean": float(np.mean(accs)), "std": float(np.std(accs)),
                                          "trace_sat_per_sample": float(np.mean(clips)),
                                          "trace_updates_per_sample": float(np.mean(upd))}
            progress(f"{arch} {tr}: {np.mean(accs):.4f} +- {np.std(accs):.4f} {accs}")
    return out


def blocks(r) -> dict[str, str]:
    """{block name: body} for docs/layers.md."""
    lines = [f"Digits 8x8, `--arch <arch>` (64-128-10 with CUBA hidden neurons), integer on-chip OTTT_O, loihi, "
             f"T = 8, {r['epochs']} epochs, seeds {', '.join(map(str, r['seeds']))} (test accuracy, mean +- std):",
             "",
             "| arch | trace | test accuracy | per seed | input trace clips / sample (layer 0) | trace updates / sample (layer 0) |",
             "|---|---|---|---|---|---|"]
    for key, v in r["runs"].items():
        arch, tr = key.split()
        lines.append(f"| `{arch}` | {tr} | {100 * v['mean']:.2f} % +- {100 * v['std']:.2f} | "
                     f"{' / '.join(f'{100 * a:.2f}' for a in v['acc'])} | {v['trace_sat_per_sample']:,.1f} | "
                     f"{v['trace_updates_per_sample']:,.0f} |")
    lines.append("")
    for arch in ARCHS:
        d = r["runs"][f"{arch} exact"]["mean"] - r["runs"][f"{arch} plain"]["mean"]
        pairs = list(zip(r["runs"][f"{arch} exact"]["acc"], r["runs"][f"{arch} plain"]["acc"]))
        ahead, behind = sum(e > p for e, p in pairs), sum(e < p for e, p in pairs)
        lines.append(f"* `{arch}`: exact - plain = {100 * d:+.2f} points; per seed the exact trace is ahead on {ahead}, "
                     f"behind on {behind}, level on {len(pairs) - ahead - behind}.")
    return {"bench_cuba_trace:digits": "\n".join(lines)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 seed, 3 epochs")
    ap.add_argument("--json", default=None, help="write the measurements here ('-': stdout, last line)")
    a = ap.parse_args()
    r = measure(a.quick)
    for body in blocks(r).values():
        print(body)
    if a.json == "-":
        print(json.dumps(r))
    elif a.json:
        with open(a.json, "w") as f:
            json.dump(r, f)


if __name__ == "__main__":
    main()
