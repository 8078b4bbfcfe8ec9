#!/usr/bin/env python
"""Benchmark: the seeds' training systems side by side on digits 64-128-10, T=8, loihi profile.

1. every spiking-readout loss (mse, count, rate_ce, rate_mse, count_enh) trained by float BPTT,
   float OTTT_O and, where an integer form exists, integer OTTT_O (on chip);
2. the float-reference options (recurrent hidden layer, sWS, learnable thresholds) on the default
   integrator readout (ce_mse), float OTTT_O and BPTT;
3. one spiking network (float OTTT_O, count loss) decoded three ways: membrane, rate, latency;
4. the temporal task "which of two channels fired first" with no leak memory (lambda = 0): a
   feed-forward network vs a recurrent one, trained by OTTT_O, OTTT_A and BPTT.

Prints test accuracy, mean +- sd over seeds. Usage:

    python scripts/bench_losses.py                       # 15 epochs, seeds 0 1 2
    python scripts/bench_losses.py --epochs 3 --seeds 0  # quick look

It ends with the published blocks; `python scripts/reproduce.py --write --only losses` writes them
into docs/reference_systems.md and README.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from neurochip.data import load_digits  # noqa: E402
from neurochip.engine import Engine, accuracy  # noqa: E402
from neurochip.network import FLOAT_LOSSES, NetworkConfig  # noqa: E402
from neurochip.profile import load_profile  # noqa: E402
from neurochip.train import epoch_order, evaluate, fit  # noqa: E402


def fmt(accs) -> str:
    m = 100 * statistics.mean(accs)
    sd = 100 * statistics.stdev(accs) if len(accs) > 1 else 0.0
    return f"{m:6.2f} +- {sd:4.2f} %"


def digits_acc(seed, epochs, **kw) -> tuple[float, Engine]:
    ds = load_digits(seed=0)
    eng = Engine(NetworkConfig(sizes=(64, 128, 10), seed=seed, **kw), load_profile("loihi"))
    h = fit(eng, ds, epochs)
    return h.test_acc[-1], eng


def order_task(seed, rule, recurrent, epochs=8, T=8):
    def data(n, s):
        rng = np.random.default_rng(s)
        ta, tb = rng.integers(0, T - 1, n), rng.integers(0, T - 1, n)
        keep = ta != tb
        return np.stack([1 - ta[keep] / (T - 1), 1 - tb[keep] / (T - 1)], 1), (tb[keep] < ta[keep]).astype(np.int64)

    cfg = NetworkConfig(sizes=(2, 16, 2), timesteps=T, encoder="latency", precision="float", rule=rule,
                        recurrent=recurrent, optimizer="adam", lr=0.01, readout_leak_shift=0, seed=seed)
    eng = Engine(cfg, load_profile("generic").with_overrides(neuron={"leak_shift": 0}))
    x, y = data(1200, 1)
    xt, yt = data(400, 2)
    xin = eng.prepare(x)
    for ep in range(epochs):
        eng.run(xin, y, epoch_order(seed, ep, len(y)), True)
    return accuracy(eng.run(eng.prepare(xt), yt, np.arange(len(yt)), False), yt)


LOSSES = ("mse", "count", "rate_ce", "rate_mse", "count_enh")
LOSS_LEARNERS = (("float", "bptt"), ("float", "ottt-o"), ("int", "ottt-o"))
OPTIONS = (("none", {}), ("`--recurrent`", {"recurrent": True}), ("`--sws`", {"sws": True}),
           ("`--learn-threshold`", {"learn_threshold": True}),
           ("`--sws --learn-threshold`", {"sws": True, "learn_threshold": True}))
ORDER_RULES = (("ottt-o", "OTTT_O"), ("ottt-a", "OTTT_A"), ("bptt", "BPTT"))
COUNT_BPTT_LR = 0.005


def measure(epochs: int = 15, seeds=(0, 1, 2), progress=print) -> dict:
    """Every table of the module docstring: accuracies per seed (lists of floats)."""
    seeds = list(seeds)
    res = {"epochs": epochs, "seeds": seeds, "by_loss": {}, "options": {}, "decoders": {}, "order": {}}
    for loss in LOSSES:
        row = {}
        for precision, rule in LOSS_LEARNERS:
            if precision == "int" and loss in FLOAT_LOSSES:
                row[f"{precision} {rule}"] = None
                continue
            row[f"{precision} {rule}"] = [digits_acc(s, epochs, precision=precision, rule=rule, readout="spiking",
                                                     loss=loss)[0] for s in seeds]
        res["by_loss"][loss] = row
        progress(f"  loss {loss:10s} " + " ".join(f"{fmt(v) if v else '(float only)':>18s}" for v in row.values()))
    res["count_bptt_low_lr"] = [digits_acc(s, epochs, precision="float", rule="bptt", readout="spiking", loss="count",
                                           lr=COUNT_BPTT_LR)[0] for s in seeds]
    progress(f"  count, BPTT, lr {COUNT_BPTT_LR}: {fmt(res['count_bptt_low_lr'])}")
    for name, kw in OPTIONS:
        res["options"][name] = {rule: [digits_acc(s, epochs, precision="float", rule=rule, **kw)[0] for s in seeds]
                                for rule in ("bptt", "ottt-o")}
        progress(f"  option {name:26s} " + " ".join(f"{fmt(v):>18s}" for v in res["options"][name].values()))
    dec = {d: [] for d in ("membrane", "rate", "latency")}
    ds = load_digits(seed=0)
    for s in seeds:
        _, eng = digits_acc(s, epochs, precision="float", readout="spiking", loss="count")
        for d in dec:
            eng.set_decoder(d)
            dec[d].append(evaluate(eng, ds.x_test, ds.y_test)["accuracy"])
    res["decoders"] = dec
    progress("  decoders " + ", ".join(f"{d} {fmt(v)}" for d, v in dec.items()))
    for rule, _ in ORDER_RULES:
        res["order"][rule] = {rec: [order_task(s, rule, rec) for s in seeds] for rec in (False, True)}
        progress(f"  which-first {rule:8s} feed-forward {fmt(res['order'][rule][False])}, "
                 f"recurrent {fmt(res['order'][rule][True])}")
    return res


def _f(accs) -> str:
    """mean +- sd over seeds; one seed: its accuracy alone (no spread to show)."""
    return f"{100 * accs[0]:.2f} %" if len(accs) == 1 else fmt(accs).strip()


def blocks(res: dict) -> dict[str, str]:
    """The published blocks: ``bench_losses:by_loss``, ``:options``, ``:decoders``, ``:order`` (docs/
    reference_systems.md) and ``bench_losses:summary`` (README.md)."""
    seeds = " ".join(map(str, res["seeds"]))
    ep = res["epochs"]
    cap = (f"`python scripts/bench_losses.py --epochs {ep} --seeds {seeds}` (digits 64-128-10, T = 8, loihi profile, "
           f"{ep} epochs, seed{'s' if len(res['seeds']) > 1 else ''} {seeds}, lr 0.05 SGD with cosine schedule "
           f"unless noted; test accuracy{'' if len(res['seeds']) == 1 else ', mean +- sd'}):")
    by = [cap, "", "Spiking readout, by loss:", "", "| loss | float BPTT | float OTTT_O | int OTTT_O (chip) |",
          "| --- | --- | --- | --- |"]
    for loss, row in res["by_loss"].items():
        by.append(f"| `{loss}` | " + " | ".join(_f(v) if v else "float only" for v in row.values()) + " |")
    low = res["count_bptt_low_lr"]
    per_seed = "" if len(low) == 1 else " (per seed " + " / ".join(f"{100 * x:.2f}" for x in low) + " %)"
    by += ["", f"`count` with float BPTT at lr {COUNT_BPTT_LR} (`neurochip train --precision float --rule bptt "
               f"--readout spiking --loss count --lr {COUNT_BPTT_LR} --epochs {ep} --seed S`): {_f(low)}{per_seed}."]
    opt = ["Float options, integrator readout, `ce_mse`:", "", "| option | float BPTT | float OTTT_O |",
           "| --- | --- | --- |"]
    opt += [f"| {name} | {_f(r['bptt'])} | {_f(r['ottt-o'])} |" for name, r in res["options"].items()]
    dec = ("Decoders of one spiking network (float OTTT_O, `count`): "
           + ", ".join(f"{d} {_f(v)}" for d, v in res["decoders"].items()) + ".")
    order = [f"Which of two channels fired first, with no leak memory (2-16-2, T = 8, Adam 0.01, 8 epochs, 1,200 "
             f"training samples, seed{'s' if len(res['seeds']) > 1 else ''} {seeds}):", "",
             "| rule | feed-forward | recurrent |", "| --- | --- | --- |"]
    order += [f"| {label} | {_f(res['order'][rule][False])} | {_f(res['order'][rule][True])} |"
              for rule, label in ORDER_RULES]
    bl = res["by_loss"]
    m = lambda v: f"{100 * statistics.mean(v):.2f} %"
    summ = (f"`python scripts/bench_losses.py` (same network, {ep} epochs, seed{'s' if len(res['seeds']) > 1 else ''} "
            f"{seeds}; full tables in `docs/reference_systems.md`): on a spiking readout, integer on-chip OTTT_O vs "
            f"float OTTT_O reaches "
            + ", ".join(f"{m(bl[k]['int ottt-o'])} vs {m(bl[k]['float ottt-o'])} with `{k}`"
                        for k in LOSSES if bl[k]["int ottt-o"]) + "."
            + f" On a which-came-first task with no leak memory, a recurrent hidden layer reaches "
            f"{m(res['order']['ottt-o'][True])} (OTTT_O) where a feed-forward network stays at "
            f"{m(res['order']['ottt-o'][False])}.")
    return {"bench_losses:by_loss": "\n".join(by), "bench_losses:options": "\n".join(opt),
            "bench_losses:decoders": dec, "bench_losses:order": "\n".join(order), "bench_losses:summary": summ}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    a = ap.parse_args()
    t0 = time.perf_counter()
    print(f"digits 64-128-10, T=8, loihi, {a.epochs} epochs, seeds {a.seeds}: test accuracy "
          f"(float BPTT, float OTTT_O, int OTTT_O)", flush=True)
    res = measure(a.epochs, a.seeds, progress=lambda s: print(s, flush=True))
    print(f"\n({time.perf_counter() - t0:.0f} s)\n")
    for name, body in blocks(res).items():
        print(f"<!-- {name} -->\n{body}\n")


if __name__ == "__main__":
    sys.exit(main())
