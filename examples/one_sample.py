"""One sample, step by step: per-layer spikes, membranes and traces over the T steps.

Trains briefly, runs one test digit through the integer network (``Network.run_sample``) and
prints the hidden layer's spike raster and the readout's membranes; with ``--plot FILE`` (and
matplotlib installed) it also draws them.

    python examples/one_sample.py --plot sample.png
    python examples/one_sample.py --fast
"""
from __future__ import annotations

from _common import parser

import neurochip as nc


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--plot", default=None, help="write a figure of the recording to this file (needs matplotlib)")
    args = p.parse_args()
    hidden, epochs, T = (16, 1, 8) if args.fast else (32, 3, 16)
    data = nc.load_data("digits")
    net = nc.build([64, hidden, 10], "loihi", timesteps=T)
    net.fit(data, epochs=epochs, train_eval=0)
    rec = net.run_sample(data.x_test[0])
    print(f"label {data.y_test[0]}, predicted {rec.prediction}; threshold {rec.threshold} (membrane units)")
    print("hidden spikes (rows: neurons, columns: steps):")
    for i, row in enumerate(rec.spikes[0].T[:16]):
        print(f"  {i:3d} " + "".join("|" if s else "." for s in row))
    print("readout membrane at the last step:", rec.membranes[-1][-1].tolist())
    print("largest hidden trace per step:", rec.traces[1].max(axis=1).tolist(),
          f"({rec.trace_frac_bits} fractional bits)")
    if args.plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no figure")
            return
        fig, ax = plt.subplots(1, 3, figsize=(12, 3.5))
        ax[0].imshow(rec.spikes[0].T, aspect="auto", interpolation="nearest", cmap="Greys")
        ax[0].set(title="hidden spikes", xlabel="step", ylabel="neuron")
        ax[1].plot(rec.membranes[-1])
        ax[1].set(title="readout membranes", xlabel="step")
        ax[2].plot(rec.traces[1] / 2 ** rec.trace_frac_bits)
        ax[2].set(title="hidden traces", xlabel="step")
        fig.tight_layout()
        fig.savefig(args.plot)
        print(f"figure: {args.plot}")


if __name__ == "__main__":
    main()
