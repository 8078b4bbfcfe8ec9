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
The full digits runs (``measure_digits``) include a recurrent hidden layer (``r128``: a second
LearningDense from the hidden neurons back to themselves, docs/lava_learning.md §6).

Timing:
* Lava: compile + start-up + the first step are timed apart; steps/s is over the remaining steps
  (the run records the output spikes and membranes inside the learning neuron: no extra processes).
* neurochip: the kernel is loaded (or compiled) once first; steps/s is the median over --repeats
  runs of the emulation kernel over all steps; "end to end" adds the set-up of each run (the host
  random streams Lava's learning engine draws, the state arrays).

Usage::

    python scripts/bench_lava_learning.py                     # 200 samples x 8 steps
    python scripts/bench_lava_learning.py --samples 1000 --json

The published blocks of docs/lava_learning.md (this benchmark, and the full digits runs of §8)
come from ``python scripts/reproduce.py --write --only lava``.
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
from neurochip.lava.learning_task import digits_task, learn_compare  # noqa: E402
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


def native_accuracy(hidden: int, feedback: str, recurrent: bool = False, n_train: int = 1437, seed: int = 0) -> float:
    """neurochip's native on-chip OTTT_O (integer kernel, loihi profile) on the task of
    ``learn_compare``: rate input, T = 8, spiking readout, MSE, lr 0.0625 (the rate the Lava rule
    realises), one pass over the first ``n_train`` digits training samples in order; test accuracy
    on the 360 test samples. ``recurrent``: the hidden layer is ``r<hidden>``."""
    from neurochip.engine import Engine, accuracy
    from neurochip.network import NetworkConfig
    from neurochip.profile import load_profile

    ds = load_dataset("digits", None, seed)
    sizes = (SIZES[0], hidden, SIZES[-1]) if hidden and not recurrent else (SIZES[0], SIZES[-1])
    cfg = NetworkConfig(sizes=sizes, timesteps=8, encoder="rate", readout="spiking", loss="mse", lr=0.0625,
                        lr_schedule="constant", feedback=feedback, seed=seed, arch=f"r{hidden}" if recurrent else "")
    eng = Engine(cfg, load_profile("loihi"))
    eng.run(eng.prepare(ds.x_train[:n_train]), ds.y_train[:n_train], np.arange(n_train), True)
    pred = eng.run(eng.prepare(ds.x_test), ds.y_test, np.arange(len(ds.y_test)), False)
    return accuracy(pred, ds.y_test)


DIGITS_RUNS = (("64-10", {}, (0, "transpose")),
               ("64-128-10, hidden fixed", {"hidden": 128}, None),
               ("64-128-10, hidden learns, random feedback", {"hidden": 128, "feedback": "random"}, (128, "random")),
               ("64-128-10, hidden learns, transposed feedback", None, (128, "transpose")),
               ("64-r128-10, recurrent hidden learns, random feedback",
                {"hidden": 128, "feedback": "random", "recurrent": True}, (128, "random", True)))


def measure_digits(lava: bool = True, progress=print) -> dict:
    """docs/lava_learning.md §8 and §10: full digits (1437 training, 360 test samples) learned in Lava
    (``lava``) and in the emulation, and by native OTTT. Raises if Lava and the emulation differ."""
    out = {}
    for name, task, native in DIGITS_RUNS:
        row = {"native": native_accuracy(*native) if native else None, "lava": None}
        if task is not None:
            r = learn_compare(1437, 0, n_test=360, lava=lava, **task).to_dict()
            if lava and not r["exact"]:
                raise RuntimeError(f"{name}: Lava and neurochip differ ({r['weights_differing']} weights)")
            row["lava"] = r
        out[name] = row
        progress(f"  {name}: native {row['native']}, Lava learning "
                 f"{row['lava']['acc_test_neurochip'] if row['lava'] else None}")
    return out


def digits_blocks(d: dict) -> dict[str, str]:
    """``bench_lava_learning:digits`` (§8, deterministic) and, when Lava ran, ``bench_lava_learning:speed_digits``."""
    pc = lambda x: "—" if x is None else f"{100 * x:.1f} %"
    t = ["| network | native OTTT (neurochip) test | Lava learning (Lava = neurochip emulation) test |",
         "|---|---|---|"]
    for name, row in d.items():
        lv = row["lava"]
        t.append(f"| {name} | {pc(row['native'])} | {pc(lv['acc_test_neurochip']) if lv else 'not mappable (§6)'} |")
    out = {"bench_lava_learning:digits": "\n".join(t)}
    spd = []
    for name, row in d.items():
        lv = row["lava"]
        if not lv or lv["seconds_lava"] is None:
            continue
        spd.append(f"{name}: Lava {lv['seconds_lava']:.0f} s ({lv['steps_per_s_lava']:,.0f} steps/s), neurochip "
                   f"{lv['seconds_neurochip']:.3f} s ({lv['steps_per_s_neurochip']:,.0f} steps/s), "
                   f"{lv['speedup']:,.0f}x; test accuracy {pc(lv['acc_test_lava'])} in Lava, "
                   f"{pc(lv['acc_test_neurochip'])} in neurochip; {lv['weights_differing']} differing weights, "
                   f"{lv['spike_mismatches']} spikes, {lv['v_mismatches']} membranes, "
                   f"{lv['pred_mismatches']} predictions.")
    if spd:
        first = next(r["lava"] for r in d.values() if r["lava"])
        out["bench_lava_learning:speed_digits"] = (
            f"Full digits, `learn_compare(1437, n_test=360)` ({first['lava_steps']:,} Lava steps per network, one "
            f"continuous run):\n\n" + "\n".join(f"* {x}" for x in spd))
    return out


def speed_block(rows: list[tuple[str, dict]], load: tuple[float, float] | None = None) -> dict[str, str]:
    """``bench_lava_learning:speed``: the benchmark's runs (label, bench_learning result) in one table."""
    t = ["| bench | neurochip | Lava (after start-up) | ratio | identical |", "|---|---|---|---|---|"]
    for label, r in rows:
        nc, lv = r["neurochip"], r["lava"]
        t.append(f"| {label} | {nc['steps_per_s']:,.0f} steps/s ({nc['samples_per_s']:,.0f} samples/s) | "
                 f"{lv['steps_per_s']:,.0f} steps/s ({lv['samples_per_s']:,.1f} samples/s) | {r['ratio']:,.0f}x "
                 f"({r['ratio_end_to_end']:,.0f}x end to end) | {'yes' if r['identical'] else 'NO'} |")
    if load:
        t += ["", f"Measured in one run on {os.cpu_count()} cores with a load average of {load[0]:.1f} before and "
                  f"{load[1]:.1f} after; absolute figures vary with the load, the ratios less."]
    return {"bench_lava_learning:speed": "\n".join(t)}


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
