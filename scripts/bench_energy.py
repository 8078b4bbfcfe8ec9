#!/usr/bin/env python
"""Benchmark: inference and training energy per sample of digits 64-128-10 on every bundled profile.

The network is simulated once on ``loihi`` (integer OTTT_O, T = 8, direct encoding, integrator
readout, seed 0) and TRAINED BRIEFLY first (``--epochs``, default 3; 0 = untrained initial weights).
Counts come from the kernel: inference over the whole test set (360 samples), learning over one
epoch of training samples (1,437) on a copy of the trained network. Every profile then prices the
same counts; the equivalent ANN (64x128 + 128x10 MACs per sample) is priced on cmos45.

    python scripts/bench_energy.py [--epochs 3] [--timesteps 8] [--encoder direct] [--json]
"""
from __future__ import annotations

import argparse
import json
import time

from neurochip.data import load_digits
from neurochip.energy.report import build_report
from neurochip.engine import Engine
from neurochip.energy.counts import gather_counts
from neurochip.network import NetworkConfig
from neurochip.profile import list_profiles, load_profile
from neurochip.train import fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3, help="training epochs before counting (0: untrained)")
    ap.add_argument("--timesteps", type=int, default=8)
    ap.add_argument("--encoder", default="direct", choices=("direct", "rate", "latency"))
    ap.add_argument("--json", action="store_true", help="print the full report as JSON")
    a = ap.parse_args()

    ds = load_digits(seed=0)
    eng = Engine(NetworkConfig(sizes=(64, 128, 10), timesteps=a.timesteps, encoder=a.encoder), load_profile("loihi"))
    t0 = time.perf_counter()
    acc = None
    if a.epochs:
        h = fit(eng, ds, a.epochs)
        acc = h.test_acc[-1]
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    inf, tr = gather_counts(eng, ds.x_test, ds.y_test, ds.x_train, ds.y_train, learn_samples=len(ds.y_train))
    t_count = time.perf_counter() - t0
    profiles = [load_profile(p) for p in list_profiles()]
    rep = build_report(eng, inf, tr, profiles, load_profile("cmos45"), strict=False)
    if a.json:
        print(json.dumps(rep))
        return
    state = f"trained {a.epochs} epochs (test accuracy {acc:.4f})" if a.epochs else "untrained (initial weights)"
    print(f"digits 64-128-10, T={a.timesteps}, {a.encoder} encoding, integer OTTT_O simulated on loihi, {state}; "
          f"training {t_train:.1f} s, counting {t_count:.1f} s")
    print(f"counts: inference over {inf.samples} test samples (accuracy {inf.accuracy:.4f}); learning over "
          f"{tr.samples} training samples (one epoch, on a copy)")
    print()
    print(f"{'profile':12s} {'inference/sample':>18s} {'training/sample':>18s} {'SNN/ANN inf':>12s} {'SNN/ANN train':>14s}  notes")
    for name, pr in rep["pricing"].items():
        inf_pj = pr["inference"]["total_pj_per_sample"]
        t = pr["training"]
        notes = []
        if not pr["inference"]["complete"]:
            notes.append("inference excludes " + ",".join(pr["inference"]["unpriced"]))
        if "rejected" in t:
            tr_s, notes = "rejected", notes + ["no on-chip learning"]
        else:
            tr_s = f"{t['total_pj_per_sample'] / 1e3:,.1f} nJ"
            if not t["complete"]:
                notes.append("training excludes " + ",".join(t["unpriced"]))
        r = pr["snn_over_ann"]
        ri = f"{r['inference']:.2f}" if r["inference"] is not None else "-"
        rt = f"{r['training']:.2f}" if r["training"] is not None else "-"
        print(f"{name:12s} {inf_pj / 1e3:15,.1f} nJ {tr_s:>18s} {ri:>12s} {rt:>14s}  {'; '.join(notes)}")
    ann = next(iter(rep["pricing"].values()))["ann"]
    print(f"{'ANN (cmos45)':12s} {ann['inference_pj_per_sample'] / 1e3:15,.1f} nJ "
          f"{ann['training_pj_per_sample'] / 1e3:15,.1f} nJ  ({ann['macs_per_sample']:,} MACs inference, "
          f"{ann['training_macs_per_sample']:,} training, {ann['mac_pj']} pJ/MAC)")
    nb = rep["neurobench"]
    so = nb["SynapticOperations"]
    print(f"\nNeuroBench per inference sample: Dense {so['Dense']:,.0f}, Effective_MACs {so['Effective_MACs']:,.0f}, "
          f"Effective_ACs {so['Effective_ACs']:,.0f}, ActivationSparsity {nb['ActivationSparsity']:.4f}, "
          f"ConnectionSparsity {nb['ConnectionSparsity']:.4f}, Footprint {nb['Footprint']:,} B "
          f"(float32 {nb['Footprint_float32']:,} B)")


if __name__ == "__main__":
    main()
