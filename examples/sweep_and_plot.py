"""A design-space sweep from Python, and its figures: accuracy against energy per sample.

Describes the sweep as a dict (the tables of a ``sweeps/*.toml`` file: a base run and the axes),
runs it (``run_sweep``: a LocalCluster of 2 worker processes; ``--fast``: 2 points, serially in
this process), prints the summary, and draws the Pareto front of accuracy against inference energy
and accuracy against the weight width (``plot_pareto``, ``plot_axis``) into the output folder.
Running it again skips the points already in ``OUT/results.csv``.

    python examples/sweep_and_plot.py --out runs/example_sweep
    python examples/sweep_and_plot.py --fast --out /tmp/sweep
"""
from __future__ import annotations

from pathlib import Path

from _common import parser

import neurochip as nc


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--out", default="runs/example_sweep", help="folder of the table and the figures")
    args = p.parse_args()
    spec = {
        "base": {"dataset": "digits", "hidden": [32], "epochs": 2, "timesteps": 4, "train_samples": 400,
                 "test_samples": 200},
        "axes": {"synapse.weight_bits": [5, 6, 7, 8], "seed": [0, 1]},
    }
    if args.fast:
        spec = {"base": {**spec["base"], "hidden": [8], "epochs": 1, "timesteps": 2, "train_samples": 100,
                         "test_samples": 60},
                "axes": {"synapse.weight_bits": [6, 8]}}
    for pt in nc.sweep_points(spec):
        print(f"point {pt['index']}: {pt['label']}" + (f" INVALID: {pt['error']}" if pt["error"] else ""))
    run = nc.run_sweep(spec, args.out, serial=args.fast, workers=None if args.fast else 2)
    print(f"{run.ran} points run, {run.skipped} already in {run.table.path}")
    print(run.text())
    out = Path(args.out)
    # the figures are this script's own files in its own folder: replaced on every run
    fig = nc.plot_pareto(run.table, label="synapse.weight_bits", out=out / "pareto.png", overwrite=True)
    print(f"{fig.neurochip_summary}: {out / 'pareto.png'}")
    fig = nc.plot_axis(run.table, "synapse.weight_bits", out=out / "accuracy_vs_bits.png", overwrite=True)
    print(f"{fig.neurochip_summary}: {out / 'accuracy_vs_bits.png'}")


if __name__ == "__main__":      # a LocalCluster spawns worker processes that import this file
    main()
