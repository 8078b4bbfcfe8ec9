"""The ``neurochip`` command line (click): a thin layer over the public API (:mod:`neurochip.api`).

Each command parses its options, calls the API and prints; whatever a command does, a script can
do with the names in ``docs/api.md`` (``tests/test_cli_thin.py`` checks that the command modules
import nothing else from the package). The checks left here are about flag combinations.

Every bad input surfaces as ``Error: <one line>`` with exit code 2 (``NeurochipError`` is caught
here and nowhere else); files the user had are never overwritten without ``--overwrite``.
"""
from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import click
import numpy as np

from . import api
from .api import CHOICES, TRAIN_EVAL
from .cli_options import EVENT_OPTIONS, event_binning, event_options, progress_bar, threads_option
from .errors import NeurochipError


class _Group(click.Group):
    """Turns NeurochipError into a one-line error and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except NeurochipError as e:
            click.echo(f"Error: {e}", err=True)
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="neurochip")
def main():
    """neurochip: integer neuromorphic chip simulation with on-chip OTTT learning."""


def _num(x: float):
    return None if x != x else x   # NaN -> null


def _summary_line(net, history, seconds, train_eval, extra=None) -> str:
    d = {
        "test_accuracy": history.test_acc[-1] if len(history) else None,
        # frozen pass over a fixed train subset (null when --train-eval 0); the online figure is
        # decoded while learning, helped by the label (neurochip/train.py)
        "train_accuracy": _num(history.train_acc[-1]) if len(history) else None,
        "train_accuracy_samples": train_eval,
        "train_accuracy_online": history.train_acc_online[-1] if len(history) else None,
        "epochs": len(history),
        "seconds": round(seconds, 3),
        "samples_per_s": round(float(np.mean(history.samples_per_s)), 1) if len(history) else None,
        "config": net.config.to_dict(),
        "profile": net.profile.name,
    }
    if net.is_int:
        d["int_layout"] = net.int_layout
    d.update(extra or {})
    return json.dumps(d)


@main.command()
@click.option("--dataset", type=click.Choice(["digits", "yinyang", "digits-events"]), default=None, help="Bundled dataset (default digits; yinyang: the Yin-Yang benchmark, 4 inputs, 3 classes; digits-events: the digits as EMULATED saccade DVS events, binned per step).")
@click.option("--data", type=click.Path(), default=None, help="Your data: .npz, .h5 or a directory of MNIST IDX files; or events (SHD/SSC .h5, event .npz, N-MNIST folder), binned onto the T steps.")
@click.option("--hidden", default=None, help="Hidden layer sizes, e.g. 128 or 256,128.")
@click.option("--arch", default=None, help="Layer kinds instead of --hidden, e.g. c8k3-p2-c16k3-p2-d64 (docs/layers.md; integer only).")
@click.option("--network", "network_file", type=click.Path(), default=None, help="TOML network file (docs/layers.md) instead of --hidden/--arch.")
@click.option("--input-shape", default=None, help="Input as CxHxW for convolutions, e.g. 1x28x28 (default: 1 x s x s for s^2 inputs).")
@click.option("--timesteps", "-T", type=int, default=None, help="Time steps per sample (default 8).")
@click.option("--profile", "profile_name", default=None, help="Hardware profile name or .toml path (default loihi).")
@click.option("--precision", type=click.Choice(CHOICES["precision"]), default=None, help="int: on-chip integer learner; float: the float OTTT reference.")
@click.option("--rule", type=click.Choice(CHOICES["rule"]), default=None, help="ottt-o: update every step; ottt-a: accumulate, apply once per sample; bptt: float backprop through time.")
@click.option("--detach-reset/--no-detach-reset", default=None, help="BPTT: drop the gradient through the reset (default, as OTTT assumes) or keep it.")
@click.option("--encoder", type=click.Choice(CHOICES["encoder"]), default=None)
@click.option("--readout", type=click.Choice(CHOICES["readout"]), default=None)
@click.option("--loss", type=click.Choice(CHOICES["loss"]), default=None, help="Output loss (docs: README 'Losses'); count, rate_ce, rate_mse, count_enh need --readout spiking.")
@click.option("--decoder", type=click.Choice(CHOICES["decoder"]), default=None, help="Prediction from the readout: membrane, rate (most spikes), latency (first spike); auto: membrane or rate by readout.")
@click.option("--recurrent/--no-recurrent", default=None, help="Float: recurrent weights within each hidden layer (trained by OTTT or BPTT).")
@click.option("--sws/--no-sws", default=None, help="Float: scaled weight standardization of the feed-forward weights (OTTT §4.4).")
@click.option("--learn-threshold/--no-learn-threshold", default=None, help="Float: learn a threshold per neuron (seed 001 §4.5).")
@click.option("--surrogate", type=click.Choice(CHOICES["surrogate"]), default=None)
@click.option("--surrogate-param", type=float, default=None, help="The surrogate's parameter (alpha, width, variance or slope); default per surrogate.")
@click.option("--feedback", type=click.Choice(CHOICES["feedback"]), default=None, help="Error to hidden layers: exact transposed weights or fixed random feedback.")
@click.option("--optimizer", type=click.Choice(CHOICES["optimizer"]), default=None, help="Float reference only.")
@click.option("--cuba-trace", type=click.Choice(CHOICES["cuba_trace"]), default=None,
              help="CUBA layers' OTTT trace: exact (input filtered by the current and membrane decays, default) or plain (docs/layers.md).")
@click.option("--lr", type=float, default=None, help="Learning rate (int: quantized to a 4-bit mantissa and a shift).")
@click.option("--lr-schedule", type=click.Choice(CHOICES["lr_schedule"]), default=None, help="cosine annealing over --lr-horizon epochs (default) or constant.")
@click.option("--lr-horizon", type=int, default=None, help="Epochs the cosine anneals over (default --epochs); past it the rate stays at its floor. Kept in the checkpoint, so a resumed run keeps it.")
@click.option("--init-gain", type=float, default=None)
@click.option("--shadow-bits", type=int, default=None, help="Mixed precision: learn on wider shadow weights (0 = off).")
@click.option("--epochs", type=int, default=30, show_default=True, help="Total epochs (a resumed run continues up to this).")
@click.option("--train-eval", type=int, default=None, help=f"Training samples of the frozen train-accuracy pass after each epoch (default {TRAIN_EVAL}; 0 = off).")
@click.option("--seed", type=int, default=None, help="Seed of init, split, order and on-chip PRNGs (default 0).")
@click.option("--out", type=click.Path(), default=None, help="Checkpoint to write (HDF5), after every epoch.")
@click.option("--resume", type=click.Path(), default=None, help="Continue a checkpoint; ends bit-identical to an uninterrupted run.")
@click.option("--init", "init_path", type=click.Path(), default=None, help="Start from this checkpoint's network and weights (e.g. from nir import): fine-tuning, a new run from epoch 0.")
@click.option("--overwrite", is_flag=True, help="Allow --out and --report to replace existing files.")
@click.option("--report", type=click.Path(), default=None, help="Write op counts and energy of training to this JSON file.")
@click.option("--json", "as_json", is_flag=True, help="Print one machine-readable summary line.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on when stderr is a terminal).")
@threads_option
@event_options
def train(dataset, data, hidden, arch, network_file, input_shape, timesteps, profile_name, precision, rule, detach_reset, encoder, readout, loss,
          decoder, recurrent, sws, learn_threshold, surrogate, surrogate_param, feedback, optimizer, cuba_trace, lr, lr_schedule, lr_horizon,
          init_gain, shadow_bits, epochs, train_eval, seed, out, resume, init_path,
          overwrite, report, as_json, progress, **ev):
    """Train a network on chip (integer OTTT) or in float, and write a checkpoint."""
    if epochs < 1:
        raise NeurochipError(f"--epochs must be at least 1, got {epochs}")
    if lr_horizon is not None and lr_horizon < 1:
        raise NeurochipError(f"--lr-horizon must be at least 1, got {lr_horizon}")
    if train_eval is not None and train_eval < 0:
        raise NeurochipError(f"--train-eval must be 0 (off) or a number of samples, got {train_eval}")
    net_opts = dict(timesteps=timesteps, precision=precision, rule=rule, detach_reset=detach_reset, encoder=encoder,
                    readout=readout, loss=loss, decoder=decoder, recurrent=recurrent, sws=sws,
                    learn_threshold=learn_threshold, surrogate=surrogate, surrogate_param=surrogate_param, feedback=feedback,
                    optimizer=optimizer, cuba_trace=cuba_trace, lr=lr, lr_schedule=lr_schedule, lr_horizon=lr_horizon, init_gain=init_gain, shadow_weight_bits=shadow_bits,
                    seed=seed)
    if dataset and data:
        raise NeurochipError("give either --dataset or --data, not both")
    if detach_reset is not None and rule != "bptt":
        raise NeurochipError("--detach-reset/--no-detach-reset is a BPTT option (--rule bptt); OTTT detaches the reset")
    if out and Path(out).exists() and not overwrite and (resume is None or Path(out).resolve() != Path(resume).resolve()):
        raise NeurochipError(f"{out} exists; pass --overwrite to replace it (or --resume {out} to continue it)")
    if out:
        api.check_output(out, overwrite=True, option="--out")
    if report:
        api.check_output(report, overwrite=overwrite, option="--report")
        if Path(report).resolve() in {Path(p).resolve() for p in (out, resume) if p}:
            raise NeurochipError(f"--report {report} is the checkpoint file; give the report another name")
    if init_path and resume:
        raise NeurochipError("give either --init (a new run from a checkpoint's weights) or --resume, not both")
    layer_flags = (("hidden", hidden), ("arch", arch), ("network", network_file))
    if init_path:
        given = [k for k, v in layer_flags + (("input_shape", input_shape),
                                ("precision", precision), ("shadow_bits", shadow_bits), ("init_gain", init_gain),
                                ("recurrent", recurrent), ("sws", sws), ("learn_threshold", learn_threshold)) if v is not None]
        if given:
            raise NeurochipError(f"--init takes the network from the checkpoint; do not also give --{given[0].replace('_', '-')}")
    show = progress if progress is not None else sys.stderr.isatty()
    given_ev = [k for k in EVENT_OPTIONS if ev.get(k) is not None]
    if resume:
        given = [k for k, v in net_opts.items() if v is not None] + [k for k, v in
                 layer_flags + (("input_shape", input_shape), ("profile", profile_name), ("dataset", dataset),
                                ("data", data), ("train_eval", train_eval is not None)) if v]
        given += given_ev
        if given:
            raise NeurochipError(f"--resume takes the network from the checkpoint; do not also give --{given[0].replace('_', '-')}")
        net = api.load(resume)
        out = out or resume
        ds = api.load_data(net.dataset_info, progress=show)
    else:
        s0 = seed if seed is not None else 0
        ds = api.load_data(Path(data) if data else (dataset or "digits"), s0,
                           binning=event_binning(timesteps or 8, ev), progress=show)
        if given_ev and not ds.full_scale:
            raise NeurochipError(f"--{given_ev[0].replace('_', '-')} is a binning option of event data "
                                 f"(--data EVENTS or --dataset digits-events)")
        opts = {k: v for k, v in net_opts.items() if v is not None}
        if init_path:
            net = api.load(init_path).copy(profile_name, data=ds, **opts)
        else:
            given_layers = [f"--{k}" for k, v in layer_flags if v is not None]
            if len(given_layers) > 1:
                raise NeurochipError(f"give one of --hidden, --arch, --network, not {given_layers[0]} and {given_layers[1]}")
            layers = arch if arch is not None else Path(network_file) if network_file is not None else None
            net = api.build(layers, profile_name or api.DEFAULT_PROFILE, data=ds, input_shape=input_shape,
                            hidden=None if layers is not None else hidden if hidden is not None else "128", **opts)
    train_eval = train_eval if train_eval is not None else int(net.dataset_info.get("train_eval", TRAIN_EVAL))

    def on_epoch(h):
        if not as_json:
            tr = f"train acc {h.train_acc[-1]:.4f}  " if train_eval else ""
            click.echo(f"epoch {h.epoch[-1]:3d}  {tr}test acc {h.test_acc[-1]:.4f}  {h.samples_per_s[-1]:,.0f} samples/s")

    kernel_s = net.warm_up()
    if not as_json:
        click.echo(f"numba kernels ready in {kernel_s:.1f} s ({'compiled' if kernel_s > 3 else 'from cache'})", err=True)
        if train_eval:
            click.echo(f"train acc: a frozen pass (no learning) over {min(train_eval, len(ds.y_train))} fixed training "
                       "samples after each epoch", err=True)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)
        warnings.showwarning = lambda msg, *a, **k: click.echo(f"Warning: {msg}", err=True)
        history = net.fit(ds, epochs, on_epoch=on_epoch, train_eval=train_eval, checkpoint=out,
                          progress=progress_bar(show) or False)
    seconds = time.perf_counter() - t0
    extra = {"kernel_load_s": round(kernel_s, 3)}
    if report:
        extra["report"] = str(report)
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text(json.dumps(net.training_report(), indent=2))
    if as_json:
        click.echo(_summary_line(net, history, seconds, min(train_eval, len(ds.y_train)), extra))
    else:
        tr = f" (train {history.train_acc[-1]:.4f})" if train_eval else ""
        click.echo(f"test accuracy {history.test_acc[-1]:.4f}{tr} after {len(history)} epochs "
                   f"({net.config.precision}, {net.profile.name}, {net.config.rule}); {seconds:.1f} s"
                   + (f"; checkpoint {out}" if out else ""))


@main.command(name="eval")
@click.argument("checkpoint_path", type=click.Path())
@click.option("--data", type=click.Path(), default=None, help="Evaluate on this data instead of the checkpoint's.")
@click.option("--decoder", type=click.Choice(CHOICES["decoder"]), default=None, help="Decode the readout another way than the network was trained with.")
@click.option("--json", "as_json", is_flag=True, help="Print one machine-readable summary line.")
@threads_option
def eval_cmd(checkpoint_path, data, decoder, as_json):
    """Evaluate a checkpoint: accuracy, confusion summary, saturation counters."""
    net = api.load(checkpoint_path)
    train_sat = net.counters()["saturation"]
    ev = net.evaluate(Path(data) if data else None, decoder=decoder or None)
    counted = net.is_int     # only the integer kernels count operations and saturations
    per_class = ev.per_class_accuracy
    pairs = ev.most_confused(5)
    summary = {
        "accuracy": ev.accuracy, "samples": ev.samples, "seconds": round(ev.seconds, 3),
        "samples_per_s": round(ev.samples / ev.seconds, 1), "per_class_accuracy": per_class,
        "most_confused": [{"true": i, "pred": j, "count": c} for i, j, c in pairs],
        # the float kernels keep no counters: null, not zeros that read as "no operations"
        "counters_kept": counted,
        "saturation_eval": ev.saturation if counted else None,
        "saturation_training": train_sat if counted else None,
        "ops_eval": ev.ops if counted else None, "epochs": len(net.history),
        "config": net.config.to_dict(), "profile": net.profile.name,
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    cfg = net.config
    click.echo(f"{checkpoint_path}: {cfg.precision} {net.profile.name} {list(cfg.sizes)}"
               + (f" ({cfg.arch})" if cfg.arch else "") + ", "
               f"T={cfg.timesteps}, {len(net.history)} epochs")
    click.echo(f"test accuracy {ev.accuracy:.4f} on {ev.samples} samples ({summary['samples_per_s']:,.0f} samples/s)")
    click.echo("per-class accuracy: " + " ".join(f"{k}:{a:.2f}" for k, a in enumerate(per_class)))
    if pairs:
        click.echo("most confused (true->pred x count): " + ", ".join(f"{i}->{j} x{c}" for i, j, c in pairs))
    if not counted or ev.ops is None or ev.saturation is None:
        click.echo("operation and saturation counts: none kept: the float reference's kernels do not count "
                   "(train with --precision int for counts and energy)")
        return
    n = max(ev.samples, 1)
    click.echo("operation counts per inference sample (per weight layer; NeuroBench names in docs):")
    for k in ("syn_ops", "eff_syn_ops", "dense_ops", "neuron_active", "neuron_idle", "spikes", "spike_msgs"):
        vals = np.asarray(ev.ops[k]) / n
        click.echo(f"  {k:14s} " + " ".join(f"{x:12,.1f}" for x in vals) + f"   total {vals.sum():12,.1f}")
    click.echo("saturation / rounding counters (per weight layer): training | this evaluation")
    for name, counts in ev.saturation.items():
        click.echo(f"  {name:17s} {train_sat[name]} | {counts}")
    tried = train_sat["update_attempted"]
    zero = train_sat["update_zero"]
    frac = [f"{z / t:.3f}" if t else "-" for z, t in zip(zero, tried)]
    click.echo(f"  updates rounded to zero during training (fraction per layer): {frac}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
def profiles(as_json):
    """List the bundled hardware profiles and their bit widths."""
    rows = api.profile_summaries()
    if as_json:
        click.echo(json.dumps(rows))
        return
    click.echo(f"{'name':10s} {'lava':5s} {'v':>3s} {'w':>3s} {'tr':>3s} {'err':>3s} {'acc':>3s}  {'leak':16s} {'reset':8s} cmp")
    for r in rows:
        if "error" in r:
            click.echo(f"{r['name']:10s} INVALID: {r['error']}")
            continue
        if r.get("pricing_only"):
            click.echo(f"{r['name']:10s} pricing only (energy and resources, no simulation): {r['description']}")
            continue
        click.echo(f"{r['name']:10s} {str(r['lava_exact']):5s} {r['membrane_bits']:3d} {r['weight_bits']:3d} "
                   f"{r['trace_bits']:3d} {r['error_bits']:3d} {r['accumulator_bits']:3d}  {r['leak']:16s} "
                   f"{r['reset']:8s} {r['compare']}")


from .energy.energy_commands import energy as _energy  # noqa: E402
from .lava.lava_commands import lava as _lava  # noqa: E402  (imports Lava only when a command runs)
from .nir_commands import nir as _nir  # noqa: E402  (imports nir only when a command runs)

main.add_command(_energy)
main.add_command(_lava)
main.add_command(_nir)

from .sweep_commands import plot as _plot, sweep as _sweep  # noqa: E402  (Dask and matplotlib load when they run)

main.add_command(_sweep)
main.add_command(_plot)


if __name__ == "__main__":
    main()
