"""The ``neurochip`` command line (click). Orchestration only: parse, load, call, print.

Every bad input surfaces as ``Error: <one line>`` with exit code 2 (``NeurochipError`` is caught
here and nowhere else); files the user had are never overwritten without ``--overwrite``.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click
import numpy as np

from .errors import NeurochipError
from .parallel import threads_option
from .network import (DECODERS, ENCODERS, FEEDBACK, LOSSES, LR_SCHEDULES, OPTIMIZERS, PRECISIONS,
                      READOUTS, RULES, NetworkConfig, parse_hidden)
from .surrogate import SURROGATES
from .train import TRAIN_EVAL

from .api import DEFAULT_LR  # noqa: E402  (the default rates live in the API; neurochip.sweep reads them here)


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


def _progress(enabled: bool):
    if not enabled:
        return None

    def factory(n, label):
        return click.progressbar(length=n, label=label, file=sys.stderr, show_pos=True)

    return factory


def _arch_options(hidden, arch, network_file, input_shape) -> tuple[str, tuple[int, ...]]:
    """(architecture string, input shape) from --arch / --network / --input-shape ("" : --hidden)."""
    given = [n for n, v in (("--hidden", hidden), ("--arch", arch), ("--network", network_file)) if v is not None]
    if len(given) > 1:
        raise NeurochipError(f"give one of --hidden, --arch, --network, not {given[0]} and {given[1]}")
    shape: tuple[int, ...] = ()
    if input_shape is not None:
        try:
            shape = tuple(int(x) for x in input_shape.lower().split("x"))
        except ValueError:
            raise NeurochipError(f"--input-shape must look like 1x28x28, got '{input_shape}'") from None
        if len(shape) != 3 or min(shape) < 1:
            raise NeurochipError(f"--input-shape must be three positive sizes CxHxW, got '{input_shape}'")
    if network_file is not None:
        from .layers import arch_from_toml
        arch, file_shape = arch_from_toml(network_file)
        if file_shape and shape and file_shape != shape:
            raise NeurochipError(f"--input-shape {input_shape} contradicts the network file's input_shape {list(file_shape)}")
        shape = shape or file_shape
    if arch is None:
        if shape:
            raise NeurochipError("--input-shape describes the input of --arch or --network layers")
        return "", ()
    return arch, shape


EVENT_OPTIONS = ("bin_by", "bin_window", "events_per_step", "bin_mode", "max_count", "polarity", "pool")


def _event_options(f):
    """Binning options of event data (--data EVENTS, --dataset digits-events): an EventBinning."""
    opts = [
        click.option("--bin-by", type=click.Choice(["time", "count"]), default=None,
                     help="Event data: bin by time window (default) or by event count."),
        click.option("--bin-window", type=int, default=None,
                     help="Event data, --bin-by time: step window in microseconds (default: each sample's span / T)."),
        click.option("--events-per-step", type=int, default=None,
                     help="Event data, --bin-by count: events per step (default: equal shares)."),
        click.option("--bin-mode", type=click.Choice(["counts", "spikes"]), default=None,
                     help="Event data: counts per step as graded input (--encoder raster, default) or 0/1 spikes (raster-spikes)."),
        click.option("--max-count", type=int, default=None,
                     help="Event data, counts: the count that is full-scale input; more saturate (default 8)."),
        click.option("--polarity", type=click.Choice(["split", "merge"]), default=None,
                     help="Event data: one input channel per polarity (default) or merged."),
        click.option("--pool", type=int, default=None, help="Event data: sum-pool x and y by this factor (default 1)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _event_binning(timesteps: int, ev: dict):
    from .binning import EventBinning

    return EventBinning(timesteps, mode=ev.get("bin_by") or "time", window_us=ev.get("bin_window"),
                        events_per_step=ev.get("events_per_step"),
                        output="spike" if ev.get("bin_mode") == "spikes" else "count",
                        max_count=ev.get("max_count") or 8, polarity=ev.get("polarity") or "split",
                        spatial_factor=ev.get("pool") or 1, layout="flat")


def _dataset_info(dataset: str | None, data: str | None, seed: int) -> dict:
    if data is not None:
        return {"path": str(Path(data).resolve()), "seed": seed}
    return {"name": dataset or "digits", "seed": seed}


def _load_data(info: dict, progress: bool = False):
    from .data import load_dataset

    if "binning" in info:
        from .event_data import load_event_dataset

        return load_event_dataset(info, progress)

    return load_dataset(info.get("name"), info.get("path"), info.get("seed", 0))


def _check_output(path: str, overwrite: bool, flag: str) -> None:
    """Before any work: ``path`` can be written (its folder, or the nearest existing ancestor, is a
    writable folder; missing folders are made at write time) and is not replaced without --overwrite."""
    p = Path(path)
    if p.is_dir():
        raise NeurochipError(f"{flag} {path} is a folder; give a file name")
    if p.exists() and not overwrite:
        raise NeurochipError(f"{path} exists; pass --overwrite to replace it")
    parent = p.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NeurochipError(f"{flag} {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK):
        raise NeurochipError(f"{flag} {path}: cannot write in {parent}")


def _warn_classes(ds) -> None:
    from .data import class_coverage

    msg = class_coverage(ds)
    if msg:
        click.echo(f"Warning: {ds.name}: {msg}", err=True)


def _num(x: float):
    return None if x != x else x   # NaN -> null


def _summary_line(engine, history, seconds, train_eval, extra=None) -> str:
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
        "config": engine.cfg.to_dict(),
        "profile": engine.profile.name,
    }
    if engine.is_int:
        d["int_layout"] = engine.ilay.to_dict()
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
@click.option("--precision", type=click.Choice(PRECISIONS), default=None, help="int: on-chip integer learner; float: the float OTTT reference.")
@click.option("--rule", type=click.Choice(RULES), default=None, help="ottt-o: update every step; ottt-a: accumulate, apply once per sample; bptt: float backprop through time.")
@click.option("--detach-reset/--no-detach-reset", default=None, help="BPTT: drop the gradient through the reset (default, as OTTT assumes) or keep it.")
@click.option("--encoder", type=click.Choice(ENCODERS), default=None)
@click.option("--readout", type=click.Choice(READOUTS), default=None)
@click.option("--loss", type=click.Choice(LOSSES), default=None, help="Output loss (docs: README 'Losses'); count, rate_ce, rate_mse, count_enh need --readout spiking.")
@click.option("--decoder", type=click.Choice(DECODERS), default=None, help="Prediction from the readout: membrane, rate (most spikes), latency (first spike); auto: membrane or rate by readout.")
@click.option("--recurrent/--no-recurrent", default=None, help="Float: recurrent weights within each hidden layer (trained by OTTT or BPTT).")
@click.option("--sws/--no-sws", default=None, help="Float: scaled weight standardization of the feed-forward weights (OTTT §4.4).")
@click.option("--learn-threshold/--no-learn-threshold", default=None, help="Float: learn a threshold per neuron (seed 001 §4.5).")
@click.option("--surrogate", type=click.Choice(tuple(SURROGATES)), default=None)
@click.option("--surrogate-param", type=float, default=None, help="The surrogate's parameter (alpha, width, variance or slope); default per surrogate.")
@click.option("--feedback", type=click.Choice(FEEDBACK), default=None, help="Error to hidden layers: exact transposed weights or fixed random feedback.")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=None, help="Float reference only.")
@click.option("--lr", type=float, default=None, help="Learning rate (int: quantized to a 4-bit mantissa and a shift).")
@click.option("--lr-schedule", type=click.Choice(LR_SCHEDULES), default=None, help="cosine annealing over --lr-horizon epochs (default) or constant.")
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
@_event_options
def train(dataset, data, hidden, arch, network_file, input_shape, timesteps, profile_name, precision, rule, detach_reset, encoder, readout, loss,
          decoder, recurrent, sws, learn_threshold, surrogate, surrogate_param, feedback, optimizer, lr, lr_schedule, lr_horizon,
          init_gain, shadow_bits, epochs, train_eval, seed, out, resume, init_path,
          overwrite, report, as_json, progress, **ev):
    """Train a network on chip (integer OTTT) or in float, and write a checkpoint."""
    from . import checkpoint
    from .engine import Engine
    from .profile import load_profile
    from .train import History, fit

    if epochs < 1:
        raise NeurochipError(f"--epochs must be at least 1, got {epochs}")
    if lr_horizon is not None and lr_horizon < 1:
        raise NeurochipError(f"--lr-horizon must be at least 1, got {lr_horizon}")
    if train_eval is not None and train_eval < 0:
        raise NeurochipError(f"--train-eval must be 0 (off) or a number of samples, got {train_eval}")
    net_opts = dict(timesteps=timesteps, precision=precision, rule=rule, detach_reset=detach_reset, encoder=encoder,
                    readout=readout, loss=loss, decoder=decoder, recurrent=recurrent, sws=sws,
                    learn_threshold=learn_threshold, surrogate=surrogate, surrogate_param=surrogate_param, feedback=feedback,
                    optimizer=optimizer, lr=lr, lr_schedule=lr_schedule, lr_horizon=lr_horizon, init_gain=init_gain, shadow_weight_bits=shadow_bits,
                    seed=seed)
    if dataset and data:
        raise NeurochipError("give either --dataset or --data, not both")
    if detach_reset is not None and rule != "bptt":
        raise NeurochipError("--detach-reset/--no-detach-reset is a BPTT option (--rule bptt); OTTT detaches the reset")
    if out and Path(out).exists() and not overwrite and (resume is None or Path(out).resolve() != Path(resume).resolve()):
        raise NeurochipError(f"{out} exists; pass --overwrite to replace it (or --resume {out} to continue it)")
    if out:
        _check_output(out, True, "--out")
    if report:
        _check_output(report, overwrite, "--report")
        if Path(report).resolve() in {Path(p).resolve() for p in (out, resume) if p}:
            raise NeurochipError(f"--report {report} is the checkpoint file; give the report another name")
    if init_path and resume:
        raise NeurochipError("give either --init (a new run from a checkpoint's weights) or --resume, not both")
    if init_path:
        given = [k for k, v in (("hidden", hidden), ("arch", arch), ("network", network_file), ("input_shape", input_shape),
                                ("precision", precision), ("shadow_bits", shadow_bits), ("init_gain", init_gain),
                                ("recurrent", recurrent), ("sws", sws), ("learn_threshold", learn_threshold)) if v is not None]
        if given:
            raise NeurochipError(f"--init takes the network from the checkpoint; do not also give --{given[0].replace('_', '-')}")
    if resume:
        given = [k for k, v in net_opts.items() if v is not None] + [k for k, v in
                 (("hidden", hidden), ("arch", arch), ("network", network_file), ("input_shape", input_shape),
                  ("profile", profile_name), ("dataset", dataset), ("data", data),
                  ("train_eval", train_eval is not None)) if v]
        given += [k for k in EVENT_OPTIONS if ev.get(k) is not None]
        if given:
            raise NeurochipError(f"--resume takes the network from the checkpoint; do not also give --{given[0].replace('_', '-')}")
        engine, history, info = checkpoint.load(resume)
        out = out or resume
    else:
        from .event_data import event_info, is_event_source

        s0 = seed if seed is not None else 0
        if dataset == "digits-events" or (data and is_event_source(data)):
            binning = _event_binning(timesteps or 8, ev)
            info = event_info(binning, s0, path=data, name="events" if data else "digits-events")
            want = "raster-spikes" if binning.output == "spike" else "raster"
            if encoder is not None and encoder != want:
                raise NeurochipError(f"event data binned as {'spikes' if binning.output == 'spike' else 'counts'} "
                                     f"takes --encoder {want} (per-step input), not {encoder}")
            net_opts.update(encoder=want, input_full_scale=binning.cap)
        else:
            given_ev = [k for k in EVENT_OPTIONS if ev.get(k) is not None]
            if given_ev:
                raise NeurochipError(f"--{given_ev[0].replace('_', '-')} is a binning option of event data "
                                     f"(--data EVENTS or --dataset digits-events)")
            info = _dataset_info(dataset, data, s0)
        info["train_eval"] = TRAIN_EVAL if train_eval is None else train_eval
    train_eval = int(info.get("train_eval", TRAIN_EVAL))
    ds = _load_data(info, progress if progress is not None else sys.stderr.isatty())
    _warn_classes(ds)
    if init_path:
        engine = _init_engine(init_path, profile_name, ds, {k: v for k, v in net_opts.items() if v is not None}, epochs)
        history = History()
    elif not resume:
        prof = load_profile(profile_name or "loihi")
        arch_str, shape = _arch_options(hidden, arch, network_file, input_shape)
        if arch_str and ds.full_scale:          # event data: conv layers see the (C, H, W) map of a step
            from .event_data import event_input_shape
            shape = event_input_shape(ds, shape)
        if arch_str:
            sizes = (ds.n_features, ds.n_classes)
        else:
            sizes = (ds.n_features,) + parse_hidden(hidden if hidden is not None else "128") + (ds.n_classes,)
        opts = {k: v for k, v in net_opts.items() if v is not None}
        if arch_str:
            opts.update(arch=arch_str, input_shape=shape)
        opts.setdefault("lr", DEFAULT_LR[opts.get("optimizer", "sgd")])
        opts.setdefault("lr_horizon", epochs)   # stored with the config: a resumed run keeps the schedule
        cfg = NetworkConfig(sizes=sizes, **opts)
        engine = Engine(cfg, prof)
        history = History()
    else:
        if ds.n_features != engine.cfg.sizes[0] or ds.n_classes > engine.cfg.sizes[-1]:
            raise NeurochipError("the checkpoint's dataset no longer matches its network")
    show = progress if progress is not None else sys.stderr.isatty()

    def on_epoch(h):
        if out:
            checkpoint.save(out, engine, h, info)
        if not as_json:
            tr = f"train acc {h.train_acc[-1]:.4f}  " if train_eval else ""
            click.echo(f"epoch {h.epoch[-1]:3d}  {tr}test acc {h.test_acc[-1]:.4f}  {h.samples_per_s[-1]:,.0f} samples/s")

    if len(history) >= epochs:
        raise NeurochipError(f"the checkpoint already has {len(history)} epochs; ask for more with --epochs")
    from .engine import warm_up

    kernel_s = warm_up(engine.cfg, engine.profile)
    if not as_json:
        click.echo(f"numba kernels ready in {kernel_s:.1f} s ({'compiled' if kernel_s > 3 else 'from cache'})", err=True)
        if train_eval:
            click.echo(f"train acc: a frozen pass (no learning) over {min(train_eval, len(ds.y_train))} fixed training "
                       "samples after each epoch", err=True)
    t0 = time.perf_counter()
    fit(engine, ds, epochs, history, _progress(show), on_epoch, train_eval)
    seconds = time.perf_counter() - t0
    extra = {"kernel_load_s": round(kernel_s, 3)}
    if report:
        extra["report"] = str(report)
        _write_training_report(engine, ds, history, report)
    if as_json:
        click.echo(_summary_line(engine, history, seconds, min(train_eval, len(ds.y_train)), extra))
    else:
        tr = f" (train {history.train_acc[-1]:.4f})" if train_eval else ""
        click.echo(f"test accuracy {history.test_acc[-1]:.4f}{tr} after {len(history)} epochs "
                   f"({engine.cfg.precision}, {engine.profile.name}, {engine.cfg.rule}); {seconds:.1f} s"
                   + (f"; checkpoint {out}" if out else ""))


def _init_engine(path, profile_name, ds, opts: dict, epochs: int):
    """A new engine with the network, weights and biases of checkpoint ``path`` (its profile), the
    training options in ``opts`` replacing the checkpoint's (--init)."""
    import dataclasses

    from . import checkpoint
    from .engine import Engine
    from .network import NetworkState
    from .profile import load_profile

    src, _, _ = checkpoint.load(path)
    if profile_name is not None and load_profile(profile_name) != src.profile:
        raise NeurochipError(f"--init {path} holds a network for profile {src.profile.name}; drop --profile or give that one")
    if ds.n_features != src.cfg.sizes[0]:
        raise NeurochipError(f"data has {ds.n_features} features, the --init network takes {src.cfg.sizes[0]}")
    if ds.n_classes > src.cfg.sizes[-1]:
        raise NeurochipError(f"data has {ds.n_classes} classes, the --init network has {src.cfg.sizes[-1]} outputs")
    opts.setdefault("lr_horizon", epochs)
    cfg = dataclasses.replace(src.cfg, **opts)
    st = src.state()
    return Engine(cfg, src.profile, NetworkState(cfg, st.weights, st.shadow, st.bias, st.feedback, st.recurrent, st.threshold))


def _write_training_report(engine, ds, history, path) -> None:
    """Counts gathered by the learning passes of training, priced (neurochip.energy)."""
    from .energy.report import training_report

    rep = training_report(engine, len(ds.y_train) * len(history))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(rep, indent=2))


@main.command(name="eval")
@click.argument("checkpoint_path", type=click.Path())
@click.option("--data", type=click.Path(), default=None, help="Evaluate on this data instead of the checkpoint's.")
@click.option("--decoder", type=click.Choice(DECODERS), default=None, help="Decode the readout another way than the network was trained with.")
@click.option("--json", "as_json", is_flag=True, help="Print one machine-readable summary line.")
@threads_option
def eval_cmd(checkpoint_path, data, decoder, as_json):
    """Evaluate a checkpoint: accuracy, confusion summary, saturation counters."""
    from . import checkpoint
    from .counters import OPS, SAT, as_dict
    from .train import evaluate

    engine, history, info = checkpoint.load(checkpoint_path)
    if decoder:
        engine.set_decoder(decoder)
    if data:
        if "binning" in info:
            from .event_data import event_info, is_event_source
            from .binning import EventBinning

            if not is_event_source(data):
                raise NeurochipError(f"{data}: the network was trained on event data; give an event file or folder")
            info = event_info(EventBinning.from_dict(info["binning"]), info.get("seed", 0), path=data)
        else:
            info = _dataset_info(None, data, info.get("seed", 0))
    ds = _load_data(info)
    if ds.full_scale:
        from .event_data import check_event_input
        check_event_input(ds, engine.cfg)
    if ds.n_features != engine.cfg.sizes[0]:
        raise NeurochipError(f"data has {ds.n_features} features, the network takes {engine.cfg.sizes[0]}")
    if ds.n_classes > engine.cfg.sizes[-1]:
        raise NeurochipError(f"data has {ds.n_classes} classes, the network has {engine.cfg.sizes[-1]} outputs")
    train_sat = engine.sat.copy()
    counted = bool(engine.is_int)   # only the integer kernels count operations and saturations
    engine.reset_counters()
    t0 = time.perf_counter()
    res = evaluate(engine, ds.x_test, ds.y_test)
    seconds = time.perf_counter() - t0
    conf = res["confusion"]
    per_class = (np.diag(conf) / np.maximum(conf.sum(1), 1)).tolist()
    off = conf.copy()
    np.fill_diagonal(off, 0)
    pairs = sorted(((int(off[i, j]), i, j) for i in range(len(off)) for j in range(len(off)) if off[i, j]), reverse=True)[:5]
    summary = {
        "accuracy": res["accuracy"], "samples": int(len(ds.y_test)), "seconds": round(seconds, 3),
        "samples_per_s": round(len(ds.y_test) / seconds, 1), "per_class_accuracy": per_class,
        "most_confused": [{"true": i, "pred": j, "count": c} for c, i, j in pairs],
        # the float kernels keep no counters: null, not zeros that read as "no operations"
        "counters_kept": counted,
        "saturation_eval": as_dict(SAT, engine.sat) if counted else None,
        "saturation_training": as_dict(SAT, train_sat) if counted else None,
        "ops_eval": as_dict(OPS, engine.ops) if counted else None, "epochs": len(history),
        "config": engine.cfg.to_dict(), "profile": engine.profile.name,
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"{checkpoint_path}: {engine.cfg.precision} {engine.profile.name} {list(engine.cfg.sizes)}"
               + (f" ({engine.cfg.arch})" if engine.cfg.arch else "") + ", "
               f"T={engine.cfg.timesteps}, {len(history)} epochs")
    click.echo(f"test accuracy {res['accuracy']:.4f} on {len(ds.y_test)} samples ({summary['samples_per_s']:,.0f} samples/s)")
    click.echo("per-class accuracy: " + " ".join(f"{k}:{a:.2f}" for k, a in enumerate(per_class)))
    if pairs:
        click.echo("most confused (true->pred x count): " + ", ".join(f"{i}->{j} x{c}" for c, i, j in pairs))
    if not counted:
        click.echo("operation and saturation counts: none kept: the float reference's kernels do not count "
                   "(train with --precision int for counts and energy)")
        return
    n = max(len(ds.y_test), 1)
    click.echo("operation counts per inference sample (per weight layer; NeuroBench names in docs):")
    for k in ("syn_ops", "eff_syn_ops", "dense_ops", "neuron_active", "neuron_idle", "spikes", "spike_msgs"):
        vals = engine.ops[:, OPS.index(k)] / n
        click.echo(f"  {k:14s} " + " ".join(f"{x:12,.1f}" for x in vals) + f"   total {vals.sum():12,.1f}")
    if engine.is_int:
        click.echo("saturation / rounding counters (per weight layer): training | this evaluation")
        for k, name in enumerate(SAT):
            click.echo(f"  {name:17s} {train_sat[:, k].tolist()} | {engine.sat[:, k].tolist()}")
        tried = train_sat[:, SAT.index("update_attempted")]
        zero = train_sat[:, SAT.index("update_zero")]
        frac = [f"{z / t:.3f}" if t else "-" for z, t in zip(zero, tried)]
        click.echo(f"  updates rounded to zero during training (fraction per layer): {frac}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
def profiles(as_json):
    """List the bundled hardware profiles and their bit widths."""
    from .profile import list_profiles, load_profile

    rows = []
    for p in list_profiles():
        try:
            prof = load_profile(p)
        except NeurochipError as e:
            rows.append({"name": p.stem, "error": str(e)})
            continue
        if not prof.can_simulate:
            rows.append({"name": prof.name, "pricing_only": True, "description": prof.description, "path": str(p)})
            continue
        n, s, l = prof.neuron, prof.synapse, prof.learning
        rows.append({"name": prof.name, "lava_exact": prof.lava_exact, "membrane_bits": n.membrane_bits,
                     "weight_bits": s.weight_bits, "trace_bits": l.trace_bits, "error_bits": l.error_bits,
                     "accumulator_bits": l.accumulator_bits, "leak": f"k={n.leak_shift} {n.leak_rounding}",
                     "reset": n.reset, "compare": n.compare, "description": prof.description, "path": str(p)})
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
