"""``neurochip nir import`` / ``neurochip nir export`` (click): orchestration only (docs/nir.md)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from .errors import NeurochipError


@click.group()
def nir():
    """Read networks from NIR files (snnTorch, Norse, Sinabs, ...) onto a chip profile, and write them back."""


@nir.command(name="import")
@click.argument("model", type=click.Path())
@click.option("--profile", "profile_name", default="loihi", show_default=True, help="Hardware profile name or .toml path.")
@click.option("--out", type=click.Path(), required=True, help="Checkpoint to write (HDF5): an ordinary neurochip network.")
@click.option("--dt", type=float, default=None, help="Seconds per step the NIR time constants assume (default 1e-4, snnTorch's; Norse 1e-3; docs/nir.md).")
@click.option("--convention", type=click.Choice(["euler", "norse", "sinabs"]), default="euler", show_default=True,
              help="How the file's ODEs become steps: forward Euler (snnTorch, Norse LIFBox), Norse's LIFCell current, Sinabs (docs/nir.md).")
@click.option("--timesteps", "-T", type=int, default=None, help="Time steps per sample (default 8, or the file's when neurochip wrote it).")
@click.option("--precision", type=click.Choice(["int", "float"]), default="int", show_default=True,
              help="int: quantized to the profile; float: the float reference (plain dense networks).")
@click.option("--lr", type=float, default=0.05, show_default=True, help="Learning rate stored for fine-tuning (train --init).")
@click.option("--dataset", type=click.Choice(["digits"]), default=None, help="Compare float and chip on this dataset.")
@click.option("--data", type=click.Path(), default=None, help="Compare float and chip on your data (.npz, .h5, MNIST IDX dir).")
@click.option("--samples", type=int, default=0, help="Test samples for the comparison (0: all).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--report", type=click.Path(), default=None, help="Also write the import report as JSON.")
@click.option("--overwrite", is_flag=True, help="Allow --out and --report to replace existing files.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON line.")
def import_cmd(model, profile_name, out, dt, convention, timesteps, precision, lr, dataset, data, samples, seed, report, overwrite, as_json):
    """Import a NIR graph onto a chip profile and write a checkpoint, with a report of what changed."""
    from . import checkpoint
    from .cli import _check_output, _dataset_info, _load_data
    from .nir_import import import_nir
    from .profile import load_profile
    from .train import TRAIN_EVAL, History

    if dataset and data:
        raise NeurochipError("give either --dataset or --data, not both")
    if timesteps is not None and not 1 <= timesteps <= 100000:
        raise NeurochipError(f"--timesteps must be in [1, 100000], got {timesteps}")
    if samples < 0:
        raise NeurochipError(f"--samples must be 0 (all) or a number of samples, got {samples}")
    _check_output(out, overwrite, "--out")
    if report:
        _check_output(report, overwrite, "--report")
    prof = load_profile(profile_name)
    info = _dataset_info(dataset, data, seed)
    info["train_eval"] = TRAIN_EVAL
    ds = _load_data(info) if (dataset or data) else None
    engine, rep, _ = import_nir(model, prof, dt, precision, timesteps, lr, seed, ds, samples, convention)
    info["nir_source"] = str(Path(model).resolve())
    checkpoint.save(out, engine, History(), info)
    d = rep.to_dict()
    d["checkpoint"] = str(out)
    if report:
        Path(report).write_text(json.dumps(d, indent=2))
    if as_json:
        click.echo(json.dumps(d))
        return
    for line in rep.lines():
        click.echo(line)
    click.echo(f"checkpoint {out} ({engine.cfg.precision}, {prof.name}"
               + (f", arch {engine.cfg.arch}" if engine.cfg.arch else f", sizes {list(engine.cfg.sizes)}") + ")")


@nir.command(name="export")
@click.argument("checkpoint_path", type=click.Path())
@click.argument("model", type=click.Path())
@click.option("--dt", type=float, default=None, help="Seconds per step for the time constants (default 1e-4).")
@click.option("--overwrite", is_flag=True, help="Allow MODEL to replace an existing file.")
def export_cmd(checkpoint_path, model, dt, overwrite):
    """Write a checkpoint's network as a NIR graph (integers as their float equivalents)."""
    from . import checkpoint
    from .cli import _check_output
    from .nir_export import export_nir

    _check_output(model, overwrite, "MODEL")
    engine, _, _ = checkpoint.load(checkpoint_path)
    export_nir(engine, model, dt)
    click.echo(f"wrote {model}: {engine.cfg.n_layers} layers, sizes {list(engine.cfg.sizes)}"
               + (f" ({engine.cfg.arch})" if engine.cfg.arch else "") + f", from {engine.cfg.precision} {engine.profile.name}")
