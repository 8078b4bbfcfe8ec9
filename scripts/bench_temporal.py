#!/usr/bin/env python
"""Benchmark: temporal data on chip. Yin-Yang (integer on-chip OTTT_O vs float OTTT_O) and the
embedded digits as emulated saccade DVS events fed per step (raster encoder) vs static digits.

1. Yin-Yang (standard splits: 5000 train seed 42, 1000 validation seed 41, 1000 test seed 40), two
   input codes, integer OTTT_O (on chip) and float OTTT_O, per seed, loihi profile, SGD with cosine
   schedule; every trained network is scored on the validation split (where the settings YY and
   TTFS were chosen) and on the test split (the published figure):
   a. inputs (x, y, 1-x, 1-y) and a constant bias input, direct graded encoding, integrator
      readout, ce_mse loss, 4+1-H-3 (YY); the integer learner learns on YY['shadow_bits']-bit
      shadow weights (mixed precision, `--shadow-bits`; the 8-bit weights infer), and, for
      comparison, on the 8-bit weights themselves (the loihi profile's default);
   b. latency (time-to-first-spike) code: each input spikes once at step round(x (T - 1)), plus a
      bias input spiking at step 0 (``yinyang.latency_raster``), fed per step (encoder
      raster-spikes), spiking readout, first-spike-time loss ttfs_ce, latency decoding (TTFS).
2. digits as EMULATED saccade events (neurochip.dvs, an emulation, not a recording), binned into
   T time windows (counts capped at 8, two polarities, 10 x 10 sensor: 200 inputs per step), fed
   row t at step t (encoder raster); integer OTTT_O 200-128-10, vs the static digits 64-128-10
   (direct encoding), same T, epochs and split.

Usage:

    python scripts/bench_temporal.py                 # 3 seeds (the published figures)
    python scripts/bench_temporal.py --fast          # 1 seed, few epochs (docs/results/ci_fast.md)
    python scripts/bench_temporal.py --shadow-choice # the validation runs that chose YY['shadow_bits']

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

#: Yin-Yang, direct graded input, chosen on the validation split (docs/data.md): integer weight scales
#: q = (4, 8) fractional bits (the init-gain rule gives (5, 8): layer 1's 8-bit weights then span only
#: +-4 thresholds; 4 bits give +-8 at half the resolution); the integer learner learns on
#: ``shadow_bits``-bit shadow weights (chosen among SHADOW_CHOICES by ``shadow_choice``)
YY = dict(hidden=120, T=8, epochs=60, lr=0.05, weight_q=(4, 8), shadow_bits=10)
#: shadow weight widths tried on the validation split (0: learn on the 8-bit weights themselves)
SHADOW_CHOICES = (0, 9, 10, 12, 16)
#: Yin-Yang, latency input + ttfs_ce: lr chosen on the validation split
TTFS = dict(hidden=120, T=16, epochs=20, lr=0.02)
EV = dict(hidden=128, T=8, epochs=30, max_count=8)
FAST = dict(yy_epochs=5, ev_epochs=3, ttfs_epochs=2, seeds=(0,))
#: (learner, input code); "int8" is the integer learner without shadow weights (the 8-bit weights learn)
ROWS = (("int", "direct"), ("int8", "direct"), ("float", "direct"), ("int", "ttfs"), ("float", "ttfs"))
YY_TARGET = dict(level=0.965, gap=0.01)   # the target: integer mean >= level, within gap of float
FRAMES = dict(windows=3, max_count=8, hidden=128, T=8, epochs=30, seed=0)


def yinyang_latency_dataset(T: int, test_split: str = "test"):
    """Yin-Yang as 0/1 rasters ``(n, T, 5)``: inputs at their first-spike steps, bias spike at step 0."""
    from neurochip.yinyang import latency_raster

    ds = load_yinyang(test_split=test_split)
    xtr, xte = latency_raster(ds.x_train, T), latency_raster(ds.x_test, T)
    return Dataset(xtr, ds.y_train, xte, ds.y_test, 3, "yinyang latency", xtr.shape[1:], full_scale=1, spikes=True)


def yinyang_config(code: str, prec: str, seed: int, shadow_bits: int | None = None) -> NetworkConfig:
    """The network of one Yin-Yang row (5 inputs: 4 and the bias). ``prec`` "int8": the integer learner
    without shadow weights; ``shadow_bits`` overrides YY's width for "int" (0: none)."""
    if code == "direct":
        if prec == "int":
            sb = YY["shadow_bits"] if shadow_bits is None else shadow_bits
        else:
            sb = 0 if prec == "int8" else -1
        return NetworkConfig(sizes=(5, YY["hidden"], 3), timesteps=YY["T"], precision=prec.rstrip("8"), lr=YY["lr"],
                             weight_q=YY["weight_q"] if prec != "float" else (), shadow_weight_bits=sb, seed=seed)
    return NetworkConfig(sizes=(5, TTFS["hidden"], 3), timesteps=TTFS["T"], precision=prec, lr=TTFS["lr"],
                         encoder="raster-spikes", readout="spiking", loss="ttfs_ce", decoder="latency", seed=seed)


def yinyang(seeds, epochs, progress=print, ttfs_epochs=None) -> dict:
    """Per row (precision, code): test and validation accuracy per seed."""
    from neurochip.train import evaluate

    data = {"direct": (load_yinyang(bias=True), load_yinyang(bias=True, test_split="validation")),
            "ttfs": (yinyang_latency_dataset(TTFS["T"]), yinyang_latency_dataset(TTFS["T"], "validation"))}
    ep = {"direct": epochs, "ttfs": TTFS["epochs"] if ttfs_epochs is None else ttfs_epochs}
    out = {f"{p} {c}": {"test": [], "val": []} for p, c in ROWS}
    for seed in seeds:
        for prec, code in ROWS:
            ds, val = data[code]
            cfg = yinyang_config(code, prec, seed)
            eng = Engine(cfg, load_profile("loihi"))
            h = fit(eng, ds, ep[code], train_eval=0)
            r = out[f"{prec} {code}"]
            r["test"].append(h.test_acc[-1])
            r["val"].append(evaluate(eng, val.x_test, val.y_test)["accuracy"])
            progress(f"  yinyang {prec} {code} seed {seed}: test {100 * h.test_acc[-1]:.2f} %, "
                     f"validation {100 * r['val'][-1]:.2f} %")
    return out


def shadow_choice(seeds=(0, 1, 2), epochs=YY["epochs"], progress=print) -> dict:
    """Validation accuracy of the integer direct-code learner per shadow width in SHADOW_CHOICES (the
    rest of YY fixed): the width with the best mean is YY['shadow_bits']. The test split is not read."""
    val = load_yinyang(bias=True, test_split="validation")
    out = {}
    for bits in SHADOW_CHOICES:
        out[bits] = []
        for seed in seeds:
            eng = Engine(yinyang_config("direct", "int", seed, bits), load_profile("loihi"))
            h = fit(eng, val, epochs, train_eval=0)
            out[bits].append(h.test_acc[-1])
            progress(f"  yinyang shadow {bits} seed {seed}: validation {100 * h.test_acc[-1]:.2f} %")
    return {"seeds": tuple(seeds), "epochs": epochs, "val": out}


def shadow_choice_block(r: dict) -> dict[str, str]:
    """``bench_temporal:shadow_choice`` (docs/data.md; deterministic): the validation runs, the width
    they pick and whether YY uses it."""
    val = r["val"]
    best = max(val, key=lambda b: statistics.mean(val[b]))
    seeds = " ".join(map(str, r["seeds"]))
    lines = [f"`python scripts/bench_temporal.py --shadow-choice` (Yin-Yang direct code, integer OTTT_O 5-{YY['hidden']}-3, "
             f"T = {YY['T']}, lr {YY['lr']}, {r['epochs']} epochs, q = ({', '.join(map(str, YY['weight_q']))}), loihi "
             f"profile, seeds {seeds}; accuracy on the **validation** split only):", "",
             "| shadow weight bits | validation accuracy | per seed |", "| --- | --- | --- |"]
    for bits, v in val.items():
        name = "none (the 8-bit weights learn)" if bits == 0 else str(bits)
        lines.append(f"| {name} | {_f(v)} | {_per_seed(v)} |")
    used = "the benchmark's setting" if best == YY["shadow_bits"] else f"NOT the benchmark's {YY['shadow_bits']}"
    lines += ["", f"Best mean validation accuracy: {best if best else 'no'} shadow bits ({used})."]
    return {"bench_temporal:shadow_choice": "\n".join(lines)}


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
    mi, mf = statistics.mean(yy["int direct"]["test"]), statistics.mean(yy["float direct"]["test"])
    lvl, gap = YY_TARGET["level"], YY_TARGET["gap"]
    ok = lambda b: "met" if b else "not met"  # noqa: E731
    side = f"{100 * (mf - mi):.2f} points below" if mi <= mf else f"{100 * (mi - mf):.2f} points above"
    return {"bench_temporal:target": (
        f"Target for the integer learner ({YY['shadow_bits']}-bit shadow weights): mean at least {100 * lvl:.1f} % "
        f"({ok(mi >= lvl)}: {100 * mi:.2f} %) and within {100 * gap:.0f} point of float ({ok(mf - mi <= gap)}: {side}).")}


def measure(seeds=(0, 1, 2), yy_epochs=YY["epochs"], ev_epochs=EV["epochs"], progress=print,
            ttfs_epochs=TTFS["epochs"]) -> dict:
    return {"seeds": tuple(seeds), "yy_epochs": yy_epochs, "ev_epochs": ev_epochs, "ttfs_epochs": ttfs_epochs,
            "yinyang": yinyang(seeds, yy_epochs, progress, ttfs_epochs), "events": events(seeds, ev_epochs, progress)}


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
    te = {k: v["test"] for k, v in yy.items()}
    y = [f"`python scripts/bench_temporal.py{fast}` (Yin-Yang, standard splits, loihi profile, SGD cosine, "
         f"seed{s} {seeds}; accuracy on the test split, and on the validation split where the settings were "
         f"chosen):", "",
         "| learner | input code | network | test accuracy | per seed | validation |",
         "| --- | --- | --- | --- | --- | --- |"]
    for prec, code in ROWS:
        k = f"{prec} {code}"
        who = {"int": "integer OTTT_O (on chip)", "float": "float OTTT_O"}.get(prec, "")
        if code == "direct" and prec == "int":
            who += f", {YY['shadow_bits']}-bit shadow weights"
        elif prec == "int8":
            who = "integer OTTT_O (on chip), no shadow weights"
        net = (f"5-{YY['hidden']}-3, T = {YY['T']}" if code == "direct" else f"5-{TTFS['hidden']}-3, T = {TTFS['T']}")
        y.append(f"| {who} | {'direct' if code == 'direct' else 'latency'} | {net} | {_f(yy[k]['test'])} | "
                 f"{_per_seed(yy[k]['test'])} | {_f(yy[k]['val'])} |")
    q = ", ".join(map(str, YY["weight_q"]))
    y += ["", f"direct: inputs (x, y, 1-x, 1-y) plus a constant bias input, direct graded encoding, integrator "
              f"readout, ce_mse loss, lr {YY['lr']}, {res['yy_epochs']} epochs; integer weights with q = ({q}) "
              f"fractional bits per layer (`weight_q`) at the inference width (8 bits); the integer learner "
              f"learns on {YY['shadow_bits']}-bit shadow weights (`--shadow-bits {YY['shadow_bits']}`, width chosen "
              f"on the validation split: `bench_temporal:shadow_choice`), the row without shadow weights on the "
              f"8-bit weights themselves. latency: each input one spike at step round(x (T - 1)) "
              f"and a bias spike at step 0 (`latency_raster`), fed per step (`raster-spikes`), spiking readout, "
              f"`ttfs_ce` loss, latency decoding, lr {TTFS['lr']}, {res['ttfs_epochs']} epochs."]
    e = [f"`python scripts/bench_temporal.py{fast}` (embedded digits, split of seed 0; integer OTTT_O on chip, "
         f"{EV['hidden']} hidden, T = {EV['T']}, loihi profile, {res['ev_epochs']} epochs, seed{s} {seeds}; test "
         f"accuracy):", "",
         "| input | network | test accuracy | per seed |", "| --- | --- | --- | --- |",
         f"| emulated saccade events, {EV['T']} time bins, counts capped at {EV['max_count']}, fed per step "
         f"(`--encoder raster`) | 200-{EV['hidden']}-10 | {_f(ev['events'])} | {_per_seed(ev['events'])} |",
         f"| static images, direct encoding | 64-{EV['hidden']}-10 | {_f(ev['static'])} | {_per_seed(ev['static'])} |"]
    summ = (f"`python scripts/bench_temporal.py{fast}` (details in docs/data.md): Yin-Yang 5-{YY['hidden']}-3, "
            f"T = {YY['T']}, {res['yy_epochs']} epochs, seed{s} {seeds}: integer on-chip OTTT_O {_f(te['int direct'])} "
            f"with {YY['shadow_bits']}-bit shadow weights ({_f(te['int8 direct'])} learning on the 8-bit weights), "
            f"float OTTT_O {_f(te['float direct'])} (test split; latency input with ttfs_ce: integer "
            f"{_f(te['int ttfs'])}, float {_f(te['float ttfs'])}); digits as emulated saccade events fed per step, integer on chip: "
            f"{_f(ev['events'])} (static digits {_f(ev['static'])}).")
    return {"bench_temporal:yinyang": "\n".join(y), "bench_temporal:events": "\n".join(e),
            "bench_temporal:summary": summ}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="1 seed, few epochs (the CI figures)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--framestack", action="store_true", help="only the frame-stack baseline (docs/data.md)")
    ap.add_argument("--shadow-choice", action="store_true",
                    help="only the validation runs that chose the Yin-Yang shadow weight width (docs/data.md)")
    a = ap.parse_args()
    if a.shadow_choice:
        for name, body in shadow_choice_block(shadow_choice(tuple(a.seeds), progress=lambda s: print(s, flush=True))).items():
            print(f"<!-- {name} -->\n{body}\n")
        return
    if a.framestack:
        for name, body in framestack_block(framestack()).items():
            print(f"<!-- {name} -->\n{body}\n")
        return
    t0 = time.perf_counter()
    res = (measure(FAST["seeds"], FAST["yy_epochs"], FAST["ev_epochs"], progress=lambda s: print(s, flush=True),
                   ttfs_epochs=FAST["ttfs_epochs"])
           if a.fast else measure(tuple(a.seeds), progress=lambda s: print(s, flush=True)))
    print(f"\n({time.perf_counter() - t0:.0f} s)\n")
    out = blocks(res)
    if not a.fast:
        out.update(target_block(res))
    for name, body in out.items():
        print(f"<!-- {name} -->\n{body}\n")


if __name__ == "__main__":
    sys.exit(main())
