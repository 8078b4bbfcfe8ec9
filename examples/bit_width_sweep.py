"""How narrow can the synapses be? On-chip learning at several weight widths.

Loads the loihi profile and changes its keys in code (``Profile.replace``) for each width: the
weight width, and the threshold with it (halved per bit dropped, so the weight exponent stays in
the chip's range: one weight LSB keeps the same size relative to the threshold). Builds the same
network on each profile, trains it on chip and prints the test accuracy.

    python examples/bit_width_sweep.py
    python examples/bit_width_sweep.py --fast
"""
from __future__ import annotations

from _common import parser

import neurochip as nc


def main() -> None:
    args = parser(__doc__).parse_args()
    widths, hidden, epochs, T = ([3, 8], 16, 1, 4) if args.fast else ([2, 3, 4, 5, 6, 8], 64, 3, 8)
    base = nc.load_profile("loihi")
    data = nc.load_data("digits")
    print(f"{'weight bits':>11s}  {'threshold':>9s}  {'test acc':>8s}  {'updates rounded to zero':>24s}")
    for bits in widths:
        thr = max(base.neuron.threshold >> (base.synapse.weight_bits - bits), 1)
        prof = base.replace("synapse.weight_bits", bits).replace("neuron.threshold", thr)
        net = nc.build([64, hidden, 10], prof, timesteps=T)
        net.fit(data, epochs=epochs, train_eval=0)
        sat = net.counters()["saturation"]
        tried, zero = sum(sat["update_attempted"]), sum(sat["update_zero"])
        print(f"{net.profile.synapse.weight_bits:11d}  {net.profile.neuron.threshold:9d}  {net.history.test_acc[-1]:8.4f}  {zero / max(tried, 1):24.3f}")


if __name__ == "__main__":
    main()
