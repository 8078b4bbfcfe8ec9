"""``neurochip lava ...``: is Lava usable here, and does an exported network run bit-exact in it.

A click group meant to be registered on the main CLI (``main.add_command(lava)``). Commands:

* ``check``: whether stock lava-nc 0.10.0 imports here (with neurochip's import fix) and, if not,
  why and how to install it. Exit code 0 usable, 1 not.
* ``run CHECKPOINT --samples N``: runs the first N test samples of the checkpoint's dataset through
  neurochip and through Lava's fixed-point simulator; prints both accuracies and, per layer, the
  spikes and membrane values that differ (expected 0), with Lava's one-step delay per Dense hop
  accounted for. Exit code 0 when everything matches, 1 when anything differs, 2 on bad input or
  when Lava is not usable.
"""
from __future__ import annotations

import json

import click

from .. import api
from ..cli_options import errors as _errors, threads_option


@click.group("lava")
def lava():
    """Lava (Intel's framework for Loihi-style chips): availability and bit-exact export."""


@lava.command()
def check():
    """Say whether stock lava-nc is usable here, and why not."""
    ok, why = api.lava_status()
    click.echo(why)
    if not ok:
        raise SystemExit(1)


@lava.command()
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--samples", "-n", type=click.IntRange(min=1), default=100, show_default=True,
              help="number of test samples (the first N of the checkpoint's test split)")
@click.option("--custom-neurons", is_flag=True,
              help="use the simulation-only NcLIF neuron model even when stock Lava LIF fits the profile")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object instead of the table")
@_errors
@threads_option
def run(checkpoint, samples, custom_neurons, as_json):
    """Run CHECKPOINT's network in neurochip and in Lava; count differing spikes and membranes."""
    c = api.load(checkpoint).compare_lava(samples=samples, custom_neurons=custom_neurons)
    if as_json:
        click.echo(json.dumps(c.to_dict()))
    else:
        _print(c, requested=samples)
    if not c.exact:
        raise SystemExit(1)


def _print(c, requested: int) -> None:
    kind = ("stock Lava processes (Dense, LIFReset, RingBuffer): hardware-ready graph" if c.stock
            else "SIMULATION ONLY: neurochip's NcLIF ProcessModel (Lava has no such neuron)")
    if c.stock and any("simulation only" in n.lower() for n in c.notes):
        kind = "stock Lava processes (Conv, Dense, LIFReset, RingBuffer); simulation only where a note says so"
    click.echo(f"network: {kind}")
    more = f" (of {requested} requested)" if requested != c.samples else ""
    click.echo(f"samples: {c.samples}{more} x {c.timesteps} steps; Lava ran {c.lava_steps} steps "
               f"(+1 step per Dense hop, aligned before comparing)")
    click.echo(f"accuracy: neurochip {c.acc_neurochip:.4f}  lava {c.acc_lava:.4f}  "
               f"(differing predictions: {c.pred_mismatches})")
    if c.engine_reference_mismatches:
        click.echo(f"WARNING: the engine and neurochip's inference kernel disagree on {c.engine_reference_mismatches} predictions")
    hdr = ("layer", "neurons", "values", "spikes nc", "spikes lava", "spike diff", "v diff", "w changed",
           "u wraps", "v clips")
    click.echo("  ".join(f"{h:>11s}" for h in hdr))
    for d in c.layers:
        row = (d.layer, d.neurons, d.values, d.spikes_neurochip, d.spikes_lava, d.spike_mismatches,
               d.v_mismatches, d.weight_changes, d.current_events, d.membrane_events)
        click.echo("  ".join(f"{x:>11d}" for x in row))
        if d.first_mismatch is not None:
            click.echo(f"{'':>11s}  first difference at (step, neuron) = {d.first_mismatch}")
    click.echo(f"result: {'EXACT: 0 differing spikes, membranes, weights and predictions' if c.exact else 'MISMATCH'}")
    click.echo(f"time: Lava {c.seconds_lava:.2f} s (run, including compile and start-up), "
               f"neurochip {c.seconds_neurochip * 1e3:.2f} ms")
    for note in c.notes:
        click.echo(f"note: {note}")


@lava.command()
@click.option("--dataset", type=click.Choice(["digits"]), default="digits", show_default=True)
@click.option("--data", type=click.Path(), default=None, help="Your data (.npz, .h5, IDX directory) instead of digits.")
@click.option("--samples", type=int, default=200, show_default=True, help="Training samples learned on chip, in both.")
@click.option("--test-samples", type=int, default=None, help="Test samples after learning (default min(samples, 360)).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--hidden", type=int, default=0, show_default=True, help="Hidden layer size (0: the input feeds the learning output layer).")
@click.option("--feedback", type=click.Choice(["none", "random"]), default="none", show_default=True,
              help="none: only the output layer learns; random: the hidden layer learns too, by fixed random feedback.")
@click.option("--timesteps", "-T", type=int, default=8, show_default=True)
@click.option("--arch", default=None, help="Layer kinds (docs/layers.md): one hidden layer, d<n> (the --hidden layer) or "
              "r<n> (recurrent, with --feedback random); conv, pool and CUBA layers are refused.")
@click.option("--json", "as_json", is_flag=True)
@_errors
def learn(dataset, data, samples, test_samples, seed, hidden, feedback, timesteps, arch, as_json):
    """Learn on chip in Lava (LearningDense + Loihi3F rule) and in neurochip's exact emulation;
    report differing weights (expected 0) and both accuracies."""
    res = api.compare_lava_learning(samples, dataset=dataset, data=data, test_samples=test_samples, seed=seed,
                                    hidden=hidden, feedback=feedback, timesteps=timesteps, arch=arch).to_dict()
    if as_json:
        click.echo(json.dumps(res))
    else:
        click.echo(f"learned {res['samples_train']} samples, tested {res['samples_test']} ({res['lava_steps']} Lava steps)")
        click.echo(f"weights differing between Lava and neurochip: {res['weights_differing']} of {res['weights_total']} "
                   f"({res['weights_changed_by_learning']} changed by learning); spike mismatches {res['spike_mismatches']}, "
                   f"membrane mismatches {res['v_mismatches']}")
        click.echo(f"test accuracy: Lava {res.get('acc_test_lava')}, neurochip {res.get('acc_test_neurochip')}")
        if res.get("speedup"):
            click.echo(f"speed: neurochip {res['steps_per_s_neurochip']:,.0f} steps/s, Lava {res['steps_per_s_lava']:,.0f} steps/s "
                       f"({res['speedup']:,.0f}x)")
        for note in res.get("notes", []):
            click.echo(f"note: {note}")
    if not res.get("exact", False):
        raise SystemExit(1)
