"""Energy of a trained network: inference and on-chip learning, per profile, against an ANN.

Trains on chip, saves a checkpoint, reloads it, counts operations by running the integer kernel
and prices them on several hardware profiles (the typed ``EnergyReport``; ``to_dict()`` is the
``neurochip energy --json`` report).

    python examples/energy_of_trained.py
    python examples/energy_of_trained.py --fast
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from _common import parser

import neurochip as nc


def main() -> None:
    args = parser(__doc__).parse_args()
    hidden, epochs, T, learn = (16, 1, 4, 50) if args.fast else (128, 5, 8, 1000)
    net = nc.build([64, hidden, 10], "loihi", timesteps=T)
    net.fit("digits", epochs=epochs, train_eval=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trained.h5"
        net.save(path)
        net = nc.load(path)
    print(f"{net}: test accuracy {net.evaluate().accuracy:.4f}")
    rep = net.energy(profile=["loihi", "spinnaker2", "truenorth"], learn_samples=learn)
    d = rep.to_dict()
    nb = rep.neurobench
    print(f"per inference sample: {nb.effective_macs:,.0f} effective MACs, {nb.effective_acs:,.0f} effective ACs, "
          f"activation sparsity {nb.activation_sparsity:.3f}; footprint {nb.footprint:,} bytes")
    print(f"{'profile':10s} {'inference pJ/sample':>20s} {'learning pJ/sample':>20s} {'SNN/ANN inference':>18s}")
    for name in rep.profiles:
        ratio = d["pricing"][name]["snn_over_ann"]["inference"]
        print(f"{name:10s} {rep.pj_per_sample(name):20,.1f} {rep.pj_per_sample(name, 'training') or float('nan'):20,.1f} "
              f"{ratio if ratio is not None else float('nan'):18.3f}")
    for note in rep.notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
