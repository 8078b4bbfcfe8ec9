"""Quantized on-chip learning against the float reference: the same network, seed and data.

Trains a 64-128-10 network on the bundled digits three ways: the chip's integer OTTT learner on
the loihi profile, the float32 OTTT reference, and float BPTT (the yardstick), and prints the test
accuracy after every epoch.

    python examples/onchip_vs_float.py            # about a minute
    python examples/onchip_vs_float.py --fast     # seconds
"""
from __future__ import annotations

from _common import parser

import neurochip as nc


def main() -> None:
    args = parser(__doc__).parse_args()
    hidden, epochs, T = (16, 1, 4) if args.fast else (128, 5, 8)
    data = nc.load_data("digits")
    runs = {"on chip (int OTTT, loihi)": dict(precision="int"),
            "float OTTT reference": dict(precision="float"),
            "float BPTT": dict(precision="float", rule="bptt")}
    final = {}
    for name, opts in runs.items():
        net = nc.build([nc.Dense(64, hidden), nc.Dense(hidden, 10)], "loihi", timesteps=T, **opts)
        print(f"{name}: {net}")
        hist = net.fit(data, epochs=epochs, train_eval=0,
                       on_epoch=lambda h: print(f"  epoch {h.epoch[-1]}  test acc {h.test_acc[-1]:.4f}"))
        final[name] = hist.test_acc[-1]
    print("final test accuracy:")
    for name, acc in final.items():
        print(f"  {name:28s} {acc:.4f}")


if __name__ == "__main__":
    main()
