#!/usr/bin/env python
"""Benchmark: on-chip OTTT learning, neurochip's emulation vs Lava's fixed-point CPU simulator.

Learning (issue 3, "N learning samples with identical weights asserted"): the 64-128-10 LIF network
of scripts/bench_vs_lava.py on the loihi profile (weights from the engine's initialisation with
--init-gain), Bernoulli p = 0.2 input spikes (the rate encoder at x = 0.2), N samples of T steps
with random labels as targets. The 64-128 layer is a fixed random projection (stock Dense +
LIFReset); the 128-10 layer learns on Lava's learning engine: ``LearningDense`` with a
``Loihi3FLearningRule`` (``2^E*u0*x1*y2 - 2^E*u0*x1*y3``) and neurochip's ``OtttLIF`` learning
neuron (target on its third-factor port, delta = surrogate(v) * error sent as y2 / y3). neurochip
runs the same learning with its emulation kernel (``neurochip.kernels.lava_engine``). The script
asserts that the weights after learning, every output spike and every pre-reset membrane are
identical, then prints steps/s and samples/s of each and the ratio. ``--data digits`` uses the
first N digits training samples instead of Bernoulli noise; ``--feedback random`` makes the 64-128
layer learn too (its own LearningDense and OtttLIF, fed the output deltas through a fixed Dense).

Timing:
* Lava: compile + start-up + the first step are timed apart; steps/s is over the remaining steps
  (the run records the output spikes and membranes inside the learning neuron: no extra processes).
* neurochip: the kernel is loaded (or compiled) once first; steps/s is the median over --repeats
  runs of the emulation kernel over all steps; "end to end" adds the set-up of each run (the host
  random streams Lava's learning engine draws, the state arrays).

Usage::

    python scripts/bench_lava_learning.py                     # 200 samples x 8 steps
    python scripts/bench_lava_learning.py --samples 1000 --json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from neurochip.lava.learning_spec import truncated_initial  # noqa: E402
from neurochip.lava.learning_emulator import Emulator, emulate  # noqa: E402
from neurochip.lava.learning_graph import run_lava_learning  # noqa: E402
from neurochip.lava.learning_task import digits_task  # noqa: E402
from neurochip.data import Dataset, load_dataset  # noqa: E402
from neurochip.lava.compat import require_lava  # noqa: E402

SIZES = (64, 128, 10)


def bernoulli_data(n: int, p: float, seed: int) -> Dataset:
    """n samples of 64 inputs all at x = p (the rate encoder fires each with probability ~p), random labels."""
    rng = np.random.default_rng(seed)
    x = np.full((n, SIZES[0]), p, np.float32)
    y = rng.integers(0, SIZES[-1], size=n).astype(np.int64)
    return Dataset(x, y, x[:0], y[:0], SIZES[-1], f"bernoulli p={p}", (SIZES[0],))


def bench_learning(samples: int = 200, timesteps: int = 8, p: float = 0.2, data: str = "bernoulli",
                   init_gain: float = 8.0, seed: int = 0, repeats: int = 20, profile: str = "loihi",
                   feedback: str = "none") -> dict:
    """Run the learning benchmark; returns a JSON-serialisable dict (see the module docstring)."""
    require_lava()
    ds = bernoulli_data(samples, p, seed) if data == "bernoulli" else load_dataset("digits", None, seed)
    task = digits_task(samples, 0, seed, data=ds, timesteps=timesteps, hidden=SIZES[1], init_gain=init_gain,
                          profile=profile, feedback=feedback)
    net = task.net
    steps = task.lava_steps
    # neurochip: load (or compile) the kernel, then time fresh emulators
    t0 = time.perf_counter()
    emulate(net, task.R[:2], task.TF[:2])
    load_s = time.perf_counter() - t0
    kernel, e2e = [], []
    ref = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        em = Emulator(net, steps, record=True)
        kernel.append(em.run(task.R, task.TF))
        ref = em.result(kernel[-1])
        e2e.append(time.perf_counter() - t0)
    nc_s, nc_e2e = statistics.median(kernel), statistics.median(e2e)
    lv = run_lava_learning([net], task.R, [task.TF])[0]
    w_diff = int(np.count_nonzero(lv.weights != ref.weights))
    s_diff = int(np.count_nonzero(lv.spikes != ref.spikes))
    v_diff = int(np.count_nonzero(lv.v != ref.v))
    changed = int(np.count_nonzero(ref.weights != truncated_initial(net)))
    n_w = int(ref.weights.size)
    if net.hidden_learn is not None:
        w_diff += int(np.count_nonzero(lv.hidden_weights != ref.hidden_weights))
        s_diff += int(np.count_nonzero(lv.hidden_spikes != ref.hidden_spikes))
        v_diff += int(np.count_nonzero(lv.hidden_v != ref.hidden_v))
        changed += int(np.count_nonzero(ref.hidden_weights != truncated_initial(net.hidden_learn)))
        n_w += int(ref.hidden_weights.size)
    nc_sps, nc_e2e_sps = steps / nc_s, steps / nc_e2e
    lava_sps = (steps - 1) / lv.seconds
    return {
        "network": "-".join(map(str, SIZES)), "profile": profile,
        "learning_layer": (f"{SIZES[1]}-{SIZES[2]}" if feedback == "none"
                           else f"{SIZES[0]}-{SIZES[1]} (fixed random feedback) and {SIZES[1]}-{SIZES[2]}"),
        "data": ds.name, "samples": task.n_train, "timesteps": timesteps, "lava_steps": steps,
        "rule": net.rule.dw(), "x1_tau": net.rule.x1_tau, "x1_impulse": net.rule.x1_impulse,
        "weights": n_w, "weights_changed_by_learning": changed,
        "weights_differing": w_diff, "spike_mismatches": s_diff, "v_mismatches": v_diff,
        "identical": w_diff == 0 and s_diff == 0 and v_diff == 0,
        "hidden_spikes": ref.counts["hidden_spikes"], "output_spikes": int(ref.spikes.sum()),
        "nonzero_deltas": ref.counts["nonzero_deltas"], "synapse_updates": ref.counts["synapse_updates"],
        "neurochip": {"steps_per_s": nc_sps, "samples_per_s": nc_sps / timesteps, "median_s": nc_s,
                      "best_s": min(kernel), "end_to_end_steps_per_s": nc_e2e_sps, "end_to_end_median_s": nc_e2e,
                      "repeats": repeats, "kernel_load_s": load_s},
        "lava": {"steps_per_s": lava_sps, "samples_per_s": lava_sps / timesteps, "run_s": lv.seconds,
                 "startup_s": lv.seconds_startup, "steps_timed": steps - 1},
        "ratio": nc_sps / lava_sps, "ratio_end_to_end": nc_e2e_sps / lava_sps,
    }


def print_learning(r: dict) -> None:
    nc, lv = r["neurochip"], r["lava"]
    print(f"learning: {r['network']} LIF ({r['profile']}), {r['data']}, {r['samples']} samples x {r['timesteps']} steps "
          f"({r['lava_steps']} Lava steps); learns: {r['learning_layer']}, dw = \"{r['rule']}\"")
    print(f"  activity: {r['hidden_spikes']} hidden and {r['output_spikes']} output spikes, {r['nonzero_deltas']} "
          f"non-zero deltas, {r['weights_changed_by_learning']} of {r['weights']} weights changed by learning")
    print(f"  identical: {r['identical']}  (differing weights {r['weights_differing']}, learning neurons' spikes "
          f"{r['spike_mismatches']}, membranes {r['v_mismatches']})")
    print(f"  neurochip   {nc['steps_per_s']:>12,.0f} steps/s {nc['samples_per_s']:>11,.0f} samples/s   (median of "
          f"{nc['repeats']}: {nc['median_s'] * 1e3:.2f} ms; end to end {nc['end_to_end_steps_per_s']:,.0f} steps/s; "
          f"kernel load {nc['kernel_load_s']:.2f} s)")
    print(f"  Lava        {lv['steps_per_s']:>12,.1f} steps/s {lv['samples_per_s']:>11,.2f} samples/s   "
          f"({lv['run_s']:.2f} s for {lv['steps_timed']} steps; compile + start + 1 step {lv['startup_s']:.2f} s)")
    print(f"  ratio       {r['ratio']:>12,.0f}x   (end to end {r['ratio_end_to_end']:,.0f}x)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--timesteps", type=int, default=8)
    ap.add_argument("--p", type=float, default=0.2, help="Bernoulli input spike probability")
    ap.add_argument("--data", choices=("bernoulli", "digits"), default="bernoulli")
    ap.add_argument("--init-gain", type=float, default=8.0, help="weight init gain (as scripts/bench_vs_lava.py)")
    ap.add_argument("--profile", default="loihi")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=20, help="neurochip timing repeats (median reported)")
    ap.add_argument("--feedback", choices=("none", "random"), default="none",
                    help="random: the 64-128 layer learns too, through fixed random feedback")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args()
    r = bench_learning(a.samples, a.timesteps, a.p, a.data, a.init_gain, a.seed, a.repeats, a.profile, a.feedback)
    if a.json:
        print(json.dumps({"learning": r}))
    else:
        print_learning(r)
    if not r["identical"]:
        print("ERROR: Lava and neurochip differ after learning", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
