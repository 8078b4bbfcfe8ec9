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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    a = ap.parse_args()
    t0 = time.perf_counter()
    print(f"digits 64-128-10, T=8, loihi, {a.epochs} epochs, seeds {a.seeds}: test accuracy")
    print("\n1. spiking readout, by loss")
    print(f"{'loss':10s} {'float BPTT':>18s} {'float OTTT_O':>18s} {'int OTTT_O':>18s}")
    for loss in ("mse", "count", "rate_ce", "rate_mse", "count_enh"):
        row = []
        for precision, rule in (("float", "bptt"), ("float", "ottt-o"), ("int", "ottt-o")):
            if precision == "int" and loss in FLOAT_LOSSES:
                row.append(f"{'(float only)':>18s}")
                continue
            accs = [digits_acc(s, a.epochs, precision=precision, rule=rule, readout="spiking", loss=loss)[0]
                    for s in a.seeds]
            row.append(f"{fmt(accs):>18s}")
        print(f"{loss:10s} " + " ".join(row), flush=True)
    print("\n2. float-reference options (integrator readout, ce_mse)")
    print(f"{'option':22s} {'float BPTT':>18s} {'float OTTT_O':>18s}")
    for name, kw in (("none", {}), ("recurrent", {"recurrent": True}), ("sws", {"sws": True}),
                     ("learn-threshold", {"learn_threshold": True}),
                     ("sws + learn-threshold", {"sws": True, "learn_threshold": True})):
        row = []
        for rule in ("bptt", "ottt-o"):
            accs = [digits_acc(s, a.epochs, precision="float", rule=rule, **kw)[0] for s in a.seeds]
            row.append(f"{fmt(accs):>18s}")
        print(f"{name:22s} " + " ".join(row), flush=True)
    print("\n3. decoders of one spiking network (float OTTT_O, count loss)")
    res = {d: [] for d in ("membrane", "rate", "latency")}
    ds = load_digits(seed=0)
    for s in a.seeds:
        _, eng = digits_acc(s, a.epochs, precision="float", readout="spiking", loss="count")
        for d in res:
            eng.set_decoder(d)
            res[d].append(evaluate(eng, ds.x_test, ds.y_test)["accuracy"])
    for d, accs in res.items():
        print(f"{d:10s} {fmt(accs):>18s}")
    print("\n4. which of two channels fired first (no leak memory, 2-16-2, 8 epochs)")
    print(f"{'rule':8s} {'feed-forward':>18s} {'recurrent':>18s}")
    for rule in ("ottt-o", "ottt-a", "bptt"):
        row = [f"{fmt([order_task(s, rule, rec) for s in a.seeds]):>18s}" for rec in (False, True)]
        print(f"{rule:8s} " + " ".join(row), flush=True)
    print(f"\n({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
