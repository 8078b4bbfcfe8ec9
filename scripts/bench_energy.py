#!/usr/bin/env python
"""Benchmark: inference and training energy per sample of digits 64-128-10 on every bundled profile.

The network is simulated once on ``loihi`` (integer OTTT_O, T = 8, direct encoding, integrator
readout, seed 0) and TRAINED BRIEFLY first (``--epochs``, default 3; 0 = untrained initial weights).
Counts come from the kernel: inference over the whole test set (360 samples), learning over one
epoch of training samples (1,437) on a copy of the trained network. Every profile then prices the
same counts; the equivalent ANN (64x128 + 128x10 MACs per sample) is priced on cmos45.

    python scripts/bench_energy.py [--epochs 3] [--timesteps 8] [--encoder direct] [--json]

It ends with the published blocks of docs/energy.md; `python scripts/reproduce.py --write --only
energy` writes them (with the rate-encoding figure the text quotes).
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


def measure(epochs: int = 3, timesteps: int = 8, encoder: str = "direct") -> dict:
    """Train (``epochs``), gather the counts and price them on every bundled profile: the report of
    ``build_report`` plus the training accuracy and timings (``_meta``)."""
    ds = load_digits(seed=0)
    eng = Engine(NetworkConfig(sizes=(64, 128, 10), timesteps=timesteps, encoder=encoder), load_profile("loihi"))
    t0 = time.perf_counter()
    acc = None
    if epochs:
        h = fit(eng, ds, epochs)
        acc = h.test_acc[-1]
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    inf, tr = gather_counts(eng, ds.x_test, ds.y_test, ds.x_train, ds.y_train, learn_samples=len(ds.y_train))
    t_count = time.perf_counter() - t0
    profiles = [load_profile(p) for p in list_profiles()]
    rep = build_report(eng, inf, tr, profiles, load_profile("cmos45"), strict=False)
    rep["_meta"] = {"epochs": epochs, "timesteps": timesteps, "encoder": encoder, "acc": acc, "t_train": t_train,
                    "t_count": t_count, "inf_samples": inf.samples, "inf_acc": inf.accuracy, "train_samples": tr.samples}
    return rep


def table_lines(rep: dict) -> list[str]:
    """The per-profile table (inference and training energy per sample, SNN/ANN, notes)."""
    out = [f"{'profile':12s} {'inference/sample':>18s} {'training/sample':>18s} {'SNN/ANN inf':>12s} {'SNN/ANN train':>14s}  notes"]
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
        out.append(f"{name:12s} {inf_pj / 1e3:15,.1f} nJ {tr_s:>18s} {ri:>12s} {rt:>14s}  {'; '.join(notes)}".rstrip())
    ann = next(iter(rep["pricing"].values()))["ann"]
    out.append(f"{'ANN (cmos45)':12s} {ann['inference_pj_per_sample'] / 1e3:15,.1f} nJ "
               f"{ann['training_pj_per_sample'] / 1e3:15,.1f} nJ  ({ann['macs_per_sample']:,} MACs inference, "
               f"{ann['training_macs_per_sample']:,} training, {ann['mac_pj']} pJ/MAC)")
    return out


def _term(priced: dict, op: str) -> dict:
    return next(t for t in priced["terms"] if t["op"] == op)


def blocks(rep: dict, rep_rate: dict | None = None) -> dict[str, str]:
    """The published blocks of docs/energy.md: ``bench_energy:table`` (the table) and
    ``bench_energy:findings`` (the figures the text quotes, from the same run; ``rep_rate``: the same
    benchmark with ``--encoder rate``)."""
    m = rep["_meta"]
    state = f"trained {m['epochs']} epochs" if m["epochs"] else "untrained"
    table = [f"`python scripts/bench_energy.py --epochs {m['epochs']}` (digits 64-128-10, T = {m['timesteps']}, "
             f"{m['encoder']} encoding, integer OTTT_O simulated on `loihi`, {state}; inference counts over the "
             f"{m['inf_samples']} test samples, learning counts over one epoch of {m['train_samples']:,} training "
             f"samples on a copy):", "", "```"] + table_lines(rep) + ["```"]
    lo = rep["pricing"]["loihi"]
    inf, tr = lo["inference"], lo["training"]
    syn = _term(inf, "syn_mac")
    act = _term(inf, "neuron_active")
    idle = _term(inf, "neuron_idle")
    hidden_updates = act["count_per_layer"][0] + idle["count_per_layer"][0]
    share0 = syn["energy_pj_per_sample_per_layer"][0] / inf["total_pj_per_sample"]
    upd, wr = _term(tr, "weight_update"), _term(tr, "weight_write")
    upd_share = upd["energy_pj_per_sample"] / tr["total_pj_per_sample"]
    find = [f"On Loihi, {100 * share0:.0f} % of the inference energy is the first layer's synaptic ops: under "
            f"{m['encoder']} encoding every non-zero pixel is a graded event each of the T = {m['timesteps']} steps, "
            f"{syn['count_per_sample']:,.0f} synaptic ops per sample at {syn['pj_per_op']} pJ, and "
            f"{100 * act['count_per_layer'][0] / max(hidden_updates, 1):.1f} % of the hidden neuron updates are "
            f"active ({act['pj_per_op']} pJ)."]
    if rep_rate is not None:
        find.append(f"Rate encoding (`--encoder rate`, trained the same way) brings the inference energy to "
                    f"{rep_rate['pricing']['loihi']['inference']['total_pj_per_sample'] / 1e3:,.1f} nJ per sample.")
    find.append(f"Training: the synaptic updates are {100 * upd_share:.0f} % of the training energy "
                f"({upd['count_per_sample']:,.0f} evaluated per sample at {upd['pj_per_op']} pJ); "
                f"{100 * wr['count'] / max(upd['count'], 1):.2f} % of them change a weight at these widths.")
    return {"bench_energy:table": "\n".join(table), "bench_energy:findings": " ".join(find)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3, help="training epochs before counting (0: untrained)")
    ap.add_argument("--timesteps", type=int, default=8)
    ap.add_argument("--encoder", default="direct", choices=("direct", "rate", "latency"))
    ap.add_argument("--json", action="store_true", help="print the full report as JSON")
    a = ap.parse_args()
    rep = measure(a.epochs, a.timesteps, a.encoder)
    m = rep.pop("_meta")
    if a.json:
        print(json.dumps(rep))
        return
    state = f"trained {a.epochs} epochs (test accuracy {m['acc']:.4f})" if a.epochs else "untrained (initial weights)"
    print(f"digits 64-128-10, T={a.timesteps}, {a.encoder} encoding, integer OTTT_O simulated on loihi, {state}; "
          f"training {m['t_train']:.1f} s, counting {m['t_count']:.1f} s")
    print(f"counts: inference over {m['inf_samples']} test samples (accuracy {m['inf_acc']:.4f}); learning over "
          f"{m['train_samples']} training samples (one epoch, on a copy)")
    print()
    print("\n".join(table_lines(rep)))
    nb = rep["neurobench"]
    so = nb["SynapticOperations"]
    print(f"\nNeuroBench per inference sample: Dense {so['Dense']:,.0f}, Effective_MACs {so['Effective_MACs']:,.0f}, "
          f"Effective_ACs {so['Effective_ACs']:,.0f}, ActivationSparsity {nb['ActivationSparsity']:.4f}, "
          f"ConnectionSparsity {nb['ConnectionSparsity']:.4f}, Footprint {nb['Footprint']:,} B "
          f"(float32 {nb['Footprint_float32']:,} B)")
    rep["_meta"] = m
    print()
    for name, body in blocks(rep).items():
        print(f"<!-- {name} -->\n{body}\n")


if __name__ == "__main__":
    main()
