"""Export a network trained on chip to Lava and check it runs bit-exact there.

Trains briefly, prints the exported Lava parameters of each layer, then runs test samples through
neurochip and through Lava's fixed-point simulator and counts differing spikes and membranes
(expected 0). Without a usable Lava it says why and stops (exit code 0: nothing failed).

    python examples/lava_check.py
    python examples/lava_check.py --fast
"""
from __future__ import annotations

from _common import parser

import neurochip as nc


def main() -> None:
    args = parser(__doc__).parse_args()
    hidden, epochs, T, samples = (16, 1, 4, 3) if args.fast else (64, 2, 8, 50)
    net = nc.build([64, hidden, 10], "loihi", timesteps=T)
    net.fit("digits", epochs=epochs, train_eval=0)
    exp = net.to_lava()
    print(f"export: {'stock Lava processes' if exp.stock else 'simulation-only neurons'}, {exp.n_layers} layers")
    for layer in exp.layers:
        print(f"  layer {layer.index + 1}: Dense {layer.n_pre}->{layer.n_post} weight_exp {layer.weight_exp} "
              f"sign_mode {layer.sign_mode}; LIF du {layer.du} dv {layer.dv} vth {layer.vth}")
    ok, why = nc.lava_status()
    print(f"lava: {why}")
    if not ok:
        return
    c = net.compare_lava(samples=samples)
    print(f"{c.samples} samples x {c.timesteps} steps: accuracy neurochip {c.acc_neurochip:.4f}, lava {c.acc_lava:.4f}")
    for d in c.layers:
        print(f"  layer {d.layer}: {d.spike_mismatches} differing spikes, {d.v_mismatches} differing membranes")
    print("EXACT" if c.exact else "MISMATCH")
    if not c.exact:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
