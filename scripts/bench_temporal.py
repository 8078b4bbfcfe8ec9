#!/usr/bin/env python
"""Benchmark: temporal data on chip. Yin-Yang (integer on-chip OTTT_O vs float OTTT_O) and the
embedded digits as emulated saccade DVS events fed per step (raster encoder) vs static digits.

1. Yin-Yang (standard splits: 5000 train seed 42, 1000 test seed 40), inputs (x, y, 1-x, 1-y) and
   a constant bias input, direct graded encoding, 4+1-H-3, T steps, loihi profile, SGD with cosine
   schedule; integer OTTT_O (on chip) and float OTTT_O, per seed.
2. digits as EMULATED saccade events (neurochip.dvs, an emulation, not a recording), binned into
   T time windows (counts capped at 8, two polarities, 10 x 10 sensor: 200 inputs per step), fed
   row t at step t (encoder raster); integer OTTT_O 200-128-10, vs the static digits 64-128-10
   (direct encoding), same T, epochs and split.

Usage:

    python scripts/bench_temporal.py                 # 3 seeds (the published figures)
    python scripts/bench_temporal.py --fast          # 1 seed, few epochs (docs/results/ci_fast.md)

Deterministic: the same command gives the same figures. It ends with the published blocks;
`python scripts/reproduce.py --write --only temporal` writes them into docs/data.md and README.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from neurochip.binning import EventBinning, bin_events  # noqa: E402
from neurochip.data import Dataset, load_digits  # noqa: E402
from neurochip.engine import Engine  # noqa: E402
from neurochip.network import NetworkConfig  # noqa: E402
from neurochip.profile import load_profile  # noqa: E402
from neurochip.train import fit  # noqa: E402
from neurochip.yinyang import load_yinyang  # noqa: E402

YY = dict(hidden=120, T=8, epochs=60, lr=0.05)
EV = dict(hidden=128, T=8, epochs=30, max_count=8)
FAST = dict(yy_epochs=5, ev_epochs=3, seeds=(0,))
YY_TARGET = dict(level=0.965, gap=0.01)   # the target: integer mean >= level, within gap of float
FRAMES = dict(windows=3, max_count=8, hidden=128, T=8, epochs=30, seed=0)


def yinyang(seeds, epochs, progress=print) -> dict:
    ds = load_yinyang(bias=True)
    out = {"int": [], "float": []}
    for seed in seeds:
        for prec in ("int", "float"):
            cfg = NetworkConfig(sizes=(ds.n_features, YY["hidden"], 3), timesteps=YY["T"], precision=prec,
                                lr=YY["lr"], seed=seed)
            h = fit(Engine(cfg, load_profile("loihi")), ds, epochs, train_eval=0)
            out[prec].append(h.test_acc[-1])
            progress(f"  yinyang {prec} seed {seed}: {100 * h.test_acc[-1]:.2f} %")
    return out


def digits_events_dataset(seed: int) -> Dataset:
    from neurochip.dvs import digits_events

    tr, te = digits_events(seed)
    b = EventBinning(EV["T"], max_count=EV["max_count"], layout="flat")
    btr, bte = bin_events(tr, b), bin_events(te, b)
    return Dataset(btr.x, btr.y, bte.x, bte.y, 10, "digits-events (emulated)", btr.x.shape[1:],
                   full_scale=EV["max_count"])


def events(seeds, epochs, progress=print) -> dict:
    out = {"events": [], "static": []}
    for seed in seeds:
        ev = digits_events_dataset(0)           # the split of load_digits(seed=0), as the static row
        cfg = NetworkConfig(sizes=(ev.n_features, EV["hidden"], 10), timesteps=EV["T"], encoder="raster",
                            input_full_scale=EV["max_count"], seed=seed)
        h = fit(Engine(cfg, load_profile("loihi")), ev, epochs, train_eval=0)
        out["events"].append(h.test_acc[-1])
        st = load_digits(seed=0)
        cfg = NetworkConfig(sizes=(64, EV["hidden"], 10), timesteps=EV["T"], seed=seed)
        h2 = fit(Engine(cfg, load_profile("loihi")), st, epochs, train_eval=0)
        out["static"].append(h2.test_acc[-1])
        progress(f"  digits seed {seed}: events {100 * h.test_acc[-1]:.2f} %, static {100 * h2.test_acc[-1]:.2f} %")
    return out


def framestack(progress=print) -> dict:
    """The emulated event digits as a frame stack on the static-input chip: binned into
    FRAMES['windows'] equal windows of each sample's span, flattened (``binned_dataset``), integer
    OTTT_O 600-128-10 with direct encoding (docs/data.md)."""
    from neurochip.binning import binned_dataset
    from neurochip.dvs import digits_events

    tr, te = digits_events(seed=0)
    b = EventBinning(FRAMES["windows"], max_count=FRAMES["max_count"])
    ds = binned_dataset(bin_events(tr, b), bin_events(te, b))
    cfg = NetworkConfig(sizes=(ds.n_features, FRAMES["hidden"], 10), timesteps=FRAMES["T"], seed=FRAMES["seed"])
    h = fit(Engine(cfg, load_profile("loihi")), ds, FRAMES["epochs"], train_eval=0)
    progress(f"  frame stack: {100 * h.test_acc[-1]:.2f} %")
    return {"n_features": ds.n_features, "test_acc": h.test_acc[-1]}


def framestack_block(r: dict) -> dict[str, str]:
    """``bench_temporal:framestack`` (docs/data.md; deterministic)."""
    f = FRAMES
    return {"bench_temporal:framestack": (
        f"`python scripts/bench_temporal.py --framestack` (embedded digits as emulated saccade events, "
        f"{f['windows']} equal windows of each sample's span, counts capped at {f['max_count']}, {r['n_features']} "
        f"inputs; integer on-chip OTTT_O {r['n_features']}-{f['hidden']}-10, T = {f['T']}, direct encoding, loihi "
        f"profile, {f['epochs']} epochs, seed {f['seed']}): **{100 * r['test_acc']:.2f} %** test accuracy.")}


def target_block(res: dict) -> dict[str, str]:
    """``bench_temporal:target`` (docs/data.md): the Yin-Yang target met or not, from the same run."""
    yy = res["yinyang"]
    mi, mf = statistics.mean(yy["int"]), statistics.mean(yy["float"])
    lvl, gap = YY_TARGET["level"], YY_TARGET["gap"]
    ok = lambda b: "met" if b else "not met"  # noqa: E731
    return {"bench_temporal:target": (
        f"Target for the integer learner: mean at least {100 * lvl:.1f} % ({ok(mi >= lvl)}: {100 * mi:.2f} %) and "
        f"within {100 * gap:.0f} point of float ({ok(mf - mi <= gap)}: {100 * (mf - mi):.2f} points below).")}


def measure(seeds=(0, 1, 2), yy_epochs=YY["epochs"], ev_epochs=EV["epochs"], progress=print) -> dict:
    return {"seeds": tuple(seeds), "yy_epochs": yy_epochs, "ev_epochs": ev_epochs,
            "yinyang": yinyang(seeds, yy_epochs, progress), "events": events(seeds, ev_epochs, progress)}


def _f(v) -> str:
    m = 100 * statistics.mean(v)
    return f"{m:.2f} %" if len(v) == 1 else f"{m:.2f} +- {100 * statistics.stdev(v):.2f} %"


def _per_seed(v) -> str:
    return " / ".join(f"{100 * x:.1f}" for x in v)


def blocks(res: dict) -> dict[str, str]:
    """``bench_temporal:yinyang`` and ``bench_temporal:events`` (docs/data.md), ``bench_temporal:summary``
    (README.md)."""
    seeds = " ".join(map(str, res["seeds"]))
    fast = " --fast" if res["yy_epochs"] != YY["epochs"] else ""
    yy, ev = res["yinyang"], res["events"]
    s = "s" if len(res["seeds"]) > 1 else ""
    y = [f"`python scripts/bench_temporal.py{fast}` (Yin-Yang, standard splits, inputs (x, y, 1-x, 1-y) + bias input, "
         f"direct graded encoding, 5-{YY['hidden']}-3, T = {YY['T']}, loihi profile, lr {YY['lr']} SGD cosine, "
         f"{res['yy_epochs']} epochs, seed{s} {seeds}; test accuracy):", "",
         "| learner | test accuracy | per seed |", "| --- | --- | --- |",
         f"| integer OTTT_O (on chip) | {_f(yy['int'])} | {_per_seed(yy['int'])} |",
         f"| float OTTT_O | {_f(yy['float'])} | {_per_seed(yy['float'])} |"]
    e = [f"`python scripts/bench_temporal.py{fast}` (embedded digits, split of seed 0; integer OTTT_O on chip, "
         f"{EV['hidden']} hidden, T = {EV['T']}, loihi profile, {res['ev_epochs']} epochs, seed{s} {seeds}; test "
         f"accuracy):", "",
         "| input | network | test accuracy | per seed |", "| --- | --- | --- | --- |",
         f"| emulated saccade events, {EV['T']} time bins, counts capped at {EV['max_count']}, fed per step "
         f"(`--encoder raster`) | 200-{EV['hidden']}-10 | {_f(ev['events'])} | {_per_seed(ev['events'])} |",
         f"| static images, direct encoding | 64-{EV['hidden']}-10 | {_f(ev['static'])} | {_per_seed(ev['static'])} |"]
    summ = (f"`python scripts/bench_temporal.py{fast}` (details in docs/data.md): Yin-Yang 5-{YY['hidden']}-3, "
            f"T = {YY['T']}, {res['yy_epochs']} epochs, seed{s} {seeds}: integer on-chip OTTT_O {_f(yy['int'])}, "
            f"float OTTT_O {_f(yy['float'])}; digits as emulated saccade events fed per step, integer on chip: "
            f"{_f(ev['events'])} (static digits {_f(ev['static'])}).")
    return {"bench_temporal:yinyang": "\n".join(y), "bench_temporal:events": "\n".join(e),
            "bench_temporal:summary": summ}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="1 seed, few epochs (the CI figures)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--framestack", action="store_true", help="only the frame-stack baseline (docs/data.md)")
    a = ap.parse_args()
    if a.framestack:
        for name, body in framestack_block(framestack()).items():
            print(f"<!-- {name} -->\n{body}\n")
        return
    t0 = time.perf_counter()
    res = (measure(FAST["seeds"], FAST["yy_epochs"], FAST["ev_epochs"], progress=lambda s: print(s, flush=True))
           if a.fast else measure(tuple(a.seeds), progress=lambda s: print(s, flush=True)))
    print(f"\n({time.perf_counter() - t0:.0f} s)\n")
    out = blocks(res)
    if not a.fast:
        out.update(target_block(res))
    for name, body in out.items():
        print(f"<!-- {name} -->\n{body}\n")


if __name__ == "__main__":
    sys.exit(main())
