#!/usr/bin/env python
"""Benchmark: OTTT_A with mixed-precision shadow weights, how wide the learned weights can be.

docs/profiles.md: the OTTT_A accumulator keeps ``accumulator_frac_bits`` below the LSB of the
learned (shadow) weights, so each shadow bit halves what it can carry in inference-weight steps,
and ``--rule ottt-a`` refuses learned weights wider than ``weight_bits + accumulator_bits - 1 -
accumulator_frac_bits``. This trains digits 64-64-10 (T = 8, 3 epochs, lr 0.05, loihi, seed 0)
with OTTT_A at each shadow width and reports the share of non-zero accumulations clipped at the
accumulator's width (``accumulator_sat`` / ``acc_writes``, counters.py) and the test accuracy; a
width past the limit reports the refusal.

    python scripts/bench_shadow.py [--widths 0 12 16 17] [--epochs 3]

It ends with the published block; ``python scripts/reproduce.py --write --only shadow`` writes it
into docs/profiles.md.
"""
from __future__ import annotations

import argparse
import sys

WIDTHS = (0, 12, 16, 17)
SETTING = dict(sizes=(64, 64, 10), timesteps=8, lr=0.05, rule="ottt-a")


def measure(widths=WIDTHS, epochs: int = 3, seed: int = 0) -> list[dict]:
    """One row per shadow width: {'bits', 'clipped', 'accumulations', 'accuracy'} or {'bits', 'refused'}."""
    from neurochip.counters import O_ACC, S_ACC
    from neurochip.data import load_dataset
    from neurochip.engine import Engine
    from neurochip.errors import NeurochipError
    from neurochip.network import NetworkConfig
    from neurochip.profile import load_profile
    from neurochip.train import History, evaluate, fit

    ds = load_dataset("digits", None, seed)
    prof = load_profile("loihi")
    rows = []
    for bits in widths:
        cfg = NetworkConfig(**SETTING, seed=seed, shadow_weight_bits=bits)
        try:
            eng = Engine(cfg, prof)
        except NeurochipError as e:
            rows.append({"bits": bits, "refused": str(e)})
            continue
        fit(eng, ds, epochs, History(), None, None, 0)
        rows.append({"bits": bits, "clipped": int(eng.sat[:, S_ACC].sum()), "accumulations": int(eng.ops[:, O_ACC].sum()),
                     "accuracy": evaluate(eng, ds.x_test, ds.y_test)["accuracy"]})
    return rows


def blocks(rows: list[dict], epochs: int = 3) -> dict[str, str]:
    """The published block ``bench_shadow:widths`` (deterministic)."""
    s = SETTING
    out = [f"`python scripts/bench_shadow.py` (digits {'-'.join(map(str, s['sizes']))}, T = {s['timesteps']}, OTTT_A, "
           f"{epochs} epochs, lr {s['lr']}, loihi, seed 0; clipped accumulations are `accumulator_sat` over the non-zero "
           "accumulations `acc_writes`, over the whole training):", "",
           "| shadow weight bits | clipped accumulations | test accuracy |", "| --- | --- | --- |"]
    for r in rows:
        label = "none" if r["bits"] == 0 else str(r["bits"])
        if "refused" in r:
            out.append(f"| {label} | refused: {r['refused'].split(';')[0]} | - |")
        else:
            share = 100 * r["clipped"] / max(r["accumulations"], 1)
            out.append(f"| {label} | {share:.1f} % ({r['clipped']:,} of {r['accumulations']:,}) | "
                       f"{100 * r['accuracy']:.2f} % |")
    return {"bench_shadow:widths": "\n".join(out)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS), help="shadow weight bits (0 = off)")
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args(argv)
    for name, body in blocks(measure(a.widths, a.epochs), a.epochs).items():
        print(f"<!-- BEGIN {name} -->\n{body}\n<!-- END {name} -->")
    return 0


if __name__ == "__main__":
    sys.exit(main())
