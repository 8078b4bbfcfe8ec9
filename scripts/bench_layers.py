"""Layer kinds, measured (docs/layers.md "Measured"): integer networks learned on chip (OTTT, loihi).

1. digits 8x8: a conv net vs the 64-128-10 MLP, 3 seeds (test accuracy, training samples/s);
2. 28x28 (the embedded digits upscaled by pixel repetition, 1x28x28): the reference conv net
   c16k5-p2-c32k3-p2-d10 at T = 4: test accuracy and training samples/s;
3. which-came-first (tests/test_recurrent.py's task) in integers: feed-forward d16 vs recurrent
   r16 on a memoryless profile (leak_shift 0: only recurrence carries information across steps);
4. memory flat in T: the integer back end's state bytes for T = 4 and T = 64, every layer kind.

    PYTHONPATH=$PWD python scripts/bench_layers.py [--quick] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from neurochip.data import load_dataset
from neurochip.engine import Engine, accuracy, warm_up
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile
from neurochip.train import epoch_order, lr_at


def train(cfg, prof, x, y, xt, yt, epochs):
    eng = Engine(cfg, prof)
    warm_up(cfg, prof)
    xin, xtin = eng.prepare(x), eng.prepare(xt)
    t_learn, c_learn, n_learn = 0.0, 0.0, 0
    for ep in range(epochs):
        eng.set_lr(lr_at(cfg, ep, epochs))
        order = epoch_order(cfg.seed, ep, len(y))
        t0, c0 = time.perf_counter(), time.process_time()
        eng.run(xin, y, order, True)
        t_learn += time.perf_counter() - t0
        c_learn += time.process_time() - c0
        n_learn += len(order)
    acc = accuracy(eng.run(xtin, yt, np.arange(len(yt)), False), yt)
    # wall-clock samples/s, and samples per CPU-second of this (single-threaded) process: on a
    # shared machine the second is what one free core would do
    return acc, n_learn / t_learn, n_learn / c_learn


def upscale28(x):
    idx = np.minimum((np.arange(28) * 8) // 28, 7)
    img = x.reshape(-1, 8, 8)
    return img[:, idx][:, :, idx].reshape(-1, 784)


def which_first(n, seed, T=8):
    rng = np.random.default_rng(seed)
    ta, tb = rng.integers(0, T - 1, n), rng.integers(0, T - 1, n)
    keep = ta != tb
    ta, tb = ta[keep], tb[keep]
    return np.stack([1 - ta / (T - 1), 1 - tb / (T - 1)], 1), (tb < ta).astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 seed, fewer epochs")
    ap.add_argument("--json", default=None)
    ap.add_argument("--only", default="digits,mnist28,order,memory")
    a = ap.parse_args()
    only = a.only.split(",")
    prof = load_profile("loihi")
    ds = load_dataset("digits", None, 0)
    out = {}
    seeds = [0] if a.quick else [0, 1, 2]
    epochs = 5 if a.quick else 20
    if "digits" in only:
        res = {}
        for name, kw in (("mlp 64-128-10", dict(sizes=(64, 128, 10))),
                         ("conv c8k3-p2-d64", dict(sizes=(64, 10), arch="c8k3-p2-d64"))):
            accs, sps, cps = [], [], []
            for sd in seeds:
                cfg = NetworkConfig(timesteps=8, lr=0.05, lr_horizon=epochs, seed=sd, **kw)
                acc, s, cs = train(cfg, prof, ds.x_train, ds.y_train, ds.x_test, ds.y_test, epochs)
                accs.append(acc)
                sps.append(s)
                cps.append(cs)
            res[name] = {"acc": accs, "mean": float(np.mean(accs)), "std": float(np.std(accs)),
                         "train_samples_per_s": float(np.mean(sps)), "train_samples_per_cpu_s": float(np.mean(cps))}
            print(f"digits {name}: {np.mean(accs):.4f} +- {np.std(accs):.4f} over seeds {seeds} ({epochs} epochs, T=8); "
                  f"{np.mean(sps):,.0f} training samples/s wall, {np.mean(cps):,.0f} per CPU-second", flush=True)
        out["digits"] = res
    if "mnist28" in only:
        x, xt = upscale28(ds.x_train), upscale28(ds.x_test)
        ep28 = 2 if a.quick else 5
        cfg = NetworkConfig(sizes=(784, 10), arch="c16k5-p2-c32k3-p2-d10", timesteps=4, lr=0.05, lr_horizon=ep28, seed=0)
        acc, s, cs = train(cfg, prof, x, ds.y_train, xt, ds.y_test, ep28)
        out["mnist28"] = {"arch": cfg.arch, "acc": acc, "train_samples_per_s": s, "train_samples_per_cpu_s": cs,
                          "epochs": ep28}
        print(f"28x28 upscaled digits {cfg.arch}, T=4: test acc {acc:.4f} after {ep28} epochs; {s:,.0f} training samples/s "
              f"wall, {cs:,.0f} per CPU-second", flush=True)
    if "order" in only:
        mem = prof.with_overrides(neuron={"leak_shift": 0})
        x, y = which_first(1200, 1)
        xt, yt = which_first(400, 2)
        res = {}
        for arch in ("d16", "r16"):
            accs = []
            for sd in seeds:
                cfg = NetworkConfig(sizes=(2, 2), arch=arch, timesteps=8, encoder="latency", readout_leak_shift=0,
                                    lr=0.5, lr_schedule="constant", init_gain=4.0, seed=sd)
                acc, _, _ = train(cfg, mem, x, y, xt, yt, 8 if not a.quick else 4)
                accs.append(acc)
            res[arch] = {"acc": accs, "mean": float(np.mean(accs))}
            print(f"which-came-first, integer {arch}: {np.mean(accs):.4f} (seeds {seeds})", flush=True)
        out["which_first"] = res
    if "memory" in only:
        res = {}
        for arch in ("d32", "c4k3-p2-d16", "c4k3-a2u2-r16-d10", "r32u3"):
            b = []
            for T in (4, 64):
                eng = Engine(NetworkConfig(sizes=(64, 10), arch=arch, timesteps=T), prof)
                xin = eng.prepare(ds.x_train[:4])
                eng.run(xin, ds.y_train[:4], np.arange(4), True)
                be = eng.backend
                b.append(sum(v.nbytes for v in vars(be).values() if isinstance(v, np.ndarray))
                         + sum(v.nbytes for t in (be._scratch, be._out, be._row) for v in t))
            res[arch] = {"T4_bytes": b[0], "T64_bytes": b[1]}
            print(f"memory {arch}: state {b[0]:,} bytes at T=4, {b[1]:,} at T=64", flush=True)
        out["memory"] = res
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
