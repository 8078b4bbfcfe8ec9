"""Layer kinds, measured (docs/layers.md "Measured"): integer networks learned on chip (OTTT, loihi).

1. digits 8x8: a conv net vs the 64-128-10 MLP, 3 seeds (test accuracy, training samples/s);
2. 28x28 (the embedded digits upscaled by pixel repetition, 1x28x28): the reference conv net
   c16k5-p2-c32k3-p2-d10 at T = 4: test accuracy and training samples/s with 1 and with 2 threads
   (a sample's conv kernels split over the threads, neurochip/parallel.py; the two runs must learn
   bit-identical weights), wall-clock and per CPU-second, with the load average;
3. which-came-first (tests/test_recurrent.py's task) in integers: feed-forward d16 vs recurrent
   r16 on a memoryless profile (leak_shift 0: only recurrence carries information across steps);
4. memory flat in T: the integer back end's state bytes for T = 4 and T = 64, every layer kind.

    PYTHONPATH=$PWD python scripts/bench_layers.py [--quick] [--only mnist28] [--json out.json]

The published blocks (README "Layer kinds", docs/layers.md "Measured") are written by
``scripts/reproduce.py --only layers --write``, which runs this script in a fresh process with
numba's default thread ceiling (2 threads need NUMBA_NUM_THREADS >= 2).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

import numba

from neurochip import parallel
from neurochip.data import load_dataset
from neurochip.engine import Engine, accuracy, warm_up
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile
from neurochip.train import epoch_order, lr_at


def train(cfg, prof, x, y, xt, yt, epochs, timed_epochs=None, stop_after=None):
    """Train ``epochs`` epochs (or only the first ``stop_after``: no test pass, accuracy None);
    speeds over the first ``timed_epochs`` epochs (default all run). Returns (test accuracy,
    samples/s wall, samples per CPU-second, engine, weights after the timed epochs)."""
    eng = Engine(cfg, prof)
    warm_up(cfg, prof)
    xin, xtin = eng.prepare(x), eng.prepare(xt)
    run = epochs if stop_after is None else stop_after
    timed = run if timed_epochs is None else timed_epochs
    t_learn, c_learn, n_learn, W = 0.0, 0.0, 0, None
    for ep in range(run):
        eng.set_lr(lr_at(cfg, ep, epochs))
        order = epoch_order(cfg.seed, ep, len(y))
        t0, c0 = time.perf_counter(), time.process_time()
        eng.run(xin, y, order, True)
        if ep < timed:
            t_learn += time.perf_counter() - t0
            c_learn += time.process_time() - c0
            n_learn += len(order)
        if ep == timed - 1:
            W = eng.backend.W.copy()
    acc = accuracy(eng.run(xtin, yt, np.arange(len(yt)), False), yt) if stop_after is None else None
    # wall-clock samples/s, and samples per CPU-second of this process (all its threads): on a
    # shared machine the second is what free cores would do
    return acc, n_learn / t_learn, n_learn / c_learn, eng, W


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


def measure(quick=False, only=("digits", "mnist28", "order", "memory"), progress=print):
    """Every measurement of the module docstring; a JSON-able dict."""
    prof = load_profile("loihi")
    ds = load_dataset("digits", None, 0)
    out = {"quick": quick}
    seeds = [0] if quick else [0, 1, 2]
    epochs = 5 if quick else 20
    if "digits" in only:
        res = {}
        for name, kw in (("mlp 64-128-10", dict(sizes=(64, 128, 10))),
                         ("conv c8k3-p2-d64", dict(sizes=(64, 10), arch="c8k3-p2-d64"))):
            accs, sps, cps = [], [], []
            parallel.set_threads(1)
            for sd in seeds:
                cfg = NetworkConfig(timesteps=8, lr=0.05, lr_horizon=epochs, seed=sd, **kw)
                acc, s, cs, eng, _ = train(cfg, prof, ds.x_train, ds.y_train, ds.x_test, ds.y_test, epochs)
                accs.append(acc)
                sps.append(s)
                cps.append(cs)
            res[name] = {"acc": accs, "mean": float(np.mean(accs)), "std": float(np.std(accs)), "epochs": epochs,
                         "arch": eng.cfg.arch, "train_samples_per_s": float(np.mean(sps)),
                         "train_samples_per_cpu_s": float(np.mean(cps))}
            progress(f"digits {name}: {np.mean(accs):.4f} +- {np.std(accs):.4f} over seeds {seeds} ({epochs} epochs, "
                     f"T=8); {np.mean(sps):,.0f} training samples/s wall, {np.mean(cps):,.0f} per CPU-second")
        out["digits"] = res
    if "mnist28" in only:
        x, xt = upscale28(ds.x_train), upscale28(ds.x_test)
        ep28 = 2 if quick else 5
        cfg = NetworkConfig(sizes=(784, 10), arch="c16k5-p2-c32k3-p2-d10", timesteps=4, lr=0.05, lr_horizon=ep28,
                            seed=0)
        # one thread: the whole training (accuracy); speeds over the first epoch, which the 2-thread
        # run repeats (and must learn bit for bit the same weights in)
        runs, W = {}, {}
        for n in [t for t in (1, 2) if t <= numba.config.NUMBA_NUM_THREADS]:
            parallel.set_threads(n)
            l0 = os.getloadavg()[0]
            acc, s, cs, eng, W[n] = train(cfg, prof, x, ds.y_train, xt, ds.y_test, ep28, timed_epochs=1,
                                          stop_after=None if n == 1 else 1)
            runs[n] = {"train_samples_per_s": s, "train_samples_per_cpu_s": cs, "load": [l0, os.getloadavg()[0]]}
            if n == 1:
                acc28 = acc
            progress(f"28x28 upscaled digits {eng.cfg.arch}, T=4, {n} thread(s): "
                     + (f"test acc {acc:.4f} after {ep28} epochs; " if acc is not None else "")
                     + f"first epoch {s:,.0f} training samples/s wall, {cs:,.0f} per CPU-second (load {l0:.1f})")
        parallel.set_threads(1)
        if 2 in W and not np.array_equal(W[1], W[2]):
            raise RuntimeError("bench_layers: 1 and 2 threads learned different weights")
        out["mnist28"] = {"arch": eng.cfg.arch, "acc": acc28, "epochs": ep28, "n_train": len(ds.y_train),
                          "identical": 2 in W, "threads": {str(n): r for n, r in runs.items()}}
    if "order" in only:
        parallel.set_threads(1)
        mem = prof.with_overrides(neuron={"leak_shift": 0})
        x, y = which_first(1200, 1)
        xt, yt = which_first(400, 2)
        res = {}
        for arch in ("d16", "r16"):
            accs = []
            for sd in seeds:
                cfg = NetworkConfig(sizes=(2, 2), arch=arch, timesteps=8, encoder="latency", readout_leak_shift=0,
                                    lr=0.5, lr_schedule="constant", init_gain=4.0, seed=sd)
                acc, _, _, _, _ = train(cfg, mem, x, y, xt, yt, 8 if not quick else 4)
                accs.append(acc)
            res[arch] = {"acc": accs, "mean": float(np.mean(accs))}
            progress(f"which-came-first, integer {arch}: {np.mean(accs):.4f} (seeds {seeds})")
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
            progress(f"memory {arch}: state {b[0]:,} bytes at T=4, {b[1]:,} at T=64")
        out["memory"] = res
    return out


def _pct(a):
    return f"{100 * a:.2f} %"


def blocks(r):
    """The published blocks of a full run (all four parts): README ``bench_layers:table`` and
    ``bench_layers:speed``, docs/layers.md ``bench_layers:summary`` and ``bench_layers:speed_summary``."""
    dg, m, wf, mem = r["digits"], r["mnist28"], r["which_first"], r["memory"]
    mlp, cv = dg["mlp 64-128-10"], dg["conv c8k3-p2-d64"]
    ep = mlp["epochs"]
    seeds = " ".join(str(s) for s in range(len(mlp["acc"])))
    flat = all(v["T4_bytes"] == v["T64_bytes"] for v in mem.values())
    flat_txt = "identical (flat in T)" if flat else "NOT identical: " + ", ".join(
        f"{a} {v['T4_bytes']:,} vs {v['T64_bytes']:,}" for a, v in mem.items())
    table = "\n".join([
        "| measurement | result |",
        "| --- | --- |",
        f"| digits 8x8, MLP 64-128-10, T = 8, {ep} epochs, seeds {seeds} | {_pct(mlp['mean'])} +- {100 * mlp['std']:.2f} |",
        f"| digits 8x8, conv c8k3-p2-d64 (-> {cv['arch']}), same settings | {_pct(cv['mean'])} +- {100 * cv['std']:.2f} |",
        f"| 28x28 (digits upscaled by pixel repetition), c16k5-p2-c32k3-p2-d10, T = 4, {m['epochs']} epochs, seed 0 "
        f"| {_pct(m['acc'])} (first epoch on 1 and 2 threads: "
        f"{'bit-identical weights' if m['identical'] else 'one thread only'}) |",
        f"| which-came-first (no leak memory, latency input), feed-forward d16 vs recurrent r16, seeds {seeds} "
        f"| {_pct(wf['d16']['mean'])} vs **{_pct(wf['r16']['mean'])}** |",
        f"| training state bytes, T = 4 vs T = 64 ({', '.join(mem)}) | {flat_txt} |",
    ])
    th = m["threads"]
    loads = [x for t in th.values() for x in t["load"]]

    def rate(t):
        return (f"{t['train_samples_per_s']:,.0f} training samples/s wall, {t['train_samples_per_cpu_s']:,.0f} per "
                f"CPU-second")

    speed28 = "; ".join(f"{n} thread{'s' if n != '1' else ''}: {rate(t)}" for n, t in th.items())
    speed = "\n".join([
        "| measurement | training speed |",
        "| --- | --- |",
        f"| digits 8x8, MLP 64-128-10, T = 8 (1 thread) | {rate(mlp)} |",
        f"| digits 8x8, conv c8k3-p2-d64 (1 thread) | {rate(cv)} |",
        f"| 28x28 c16k5-p2-c32k3-p2-d10, T = 4, on-chip OTTT_O, first epoch ({m['n_train']:,} samples) | {speed28} |",
        "",
        f"Load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores during the 28x28 runs "
        "(wall-clock rates on a shared machine are lower than a quiet one's; per CPU-second counts the "
        "time of every thread of the process).",
    ])
    summary = (f"On 8x8 digits the conv net c8k3-p2-d64 reaches {_pct(cv['mean'])} +- {100 * cv['std']:.2f} against "
               f"the MLP's {_pct(mlp['mean'])} +- {100 * mlp['std']:.2f} ({len(mlp['acc'])} seeds, {ep} epochs); "
               f"the 28x28 reference net c16k5-p2-c32k3-p2-d10 at T = 4 reaches {_pct(m['acc'])} on upscaled "
               f"digits after {m['epochs']} epochs"
               + (" (bit-identical weights after the first epoch on 1 and 2 threads)" if m["identical"] else "")
               + f"; on which-came-first an integer recurrent layer reaches {_pct(wf['r16']['mean'])} where a "
               f"feed-forward one stays at {_pct(wf['d16']['mean'])}; the training state is "
               + ("the same size at T = 4 and T = 64 for every kind." if flat else "NOT flat in T: " + flat_txt + "."))
    speed_summary = (f"28x28 reference net, integer on-chip OTTT_O at T = 4, first epoch: {speed28} (load average "
                     f"{min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores).")
    return {"README": {"bench_layers:table": table, "bench_layers:speed": speed},
            "docs/layers.md": {"bench_layers:summary": summary, "bench_layers:speed_summary": speed_summary}}


def lava_block(workdir) -> dict[str, str]:
    """docs/layers.md's Lava example: ``neurochip train --arch c8k3-a2u2-r32-d10 --epochs 5`` (digits),
    then ``neurochip lava run --samples 50``; its output without the timing line (block
    ``bench_layers:lava``)."""
    import subprocess
    import sys
    from pathlib import Path

    ck = str(Path(workdir) / "lr.h5")
    cli = [sys.executable, "-c", "import sys; from neurochip.cli import main; sys.exit(main())"]
    tr = subprocess.run(cli + ["train", "--arch", "c8k3-a2u2-r32-d10", "--epochs", "5", "--out", ck, "--overwrite"],
                        capture_output=True, text=True)
    if tr.returncode != 0:
        raise RuntimeError(f"neurochip train failed: {tr.stderr.strip()[-300:]}")
    import re
    acc = re.findall(r"test accuracy (\d\.\d+)", tr.stdout)     # the last line (not its time or path)
    if not acc:
        raise RuntimeError(f"neurochip train printed no test accuracy: {tr.stdout.strip()[-300:]}")
    out = subprocess.run(cli + ["lava", "run", ck, "--samples", "50"], capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise RuntimeError(f"neurochip lava run failed: {out.stderr.strip()[-300:]}")
    lines = [ln for ln in out.stdout.splitlines() if not ln.startswith("time:")]
    body = (["`neurochip train --arch c8k3-a2u2-r32-d10 --epochs 5 --out lr.h5` (digits, direct encoding; "
             f"test accuracy: {acc[-1]}), then `neurochip lava run lr.h5 --samples 50`:", "", "```"] + lines + ["```"])
    return {"bench_layers:lava": "\n".join(body)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 seed, fewer epochs")
    ap.add_argument("--json", default=None, help="write the results here ('-': print them as the last line)")
    ap.add_argument("--only", default="digits,mnist28,order,memory")
    a = ap.parse_args()
    out = measure(a.quick, a.only.split(","), lambda s: print(s, flush=True))
    if a.json == "-":
        print(json.dumps(out))
    elif a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
