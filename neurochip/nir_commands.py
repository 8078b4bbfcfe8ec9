"""``neurochip nir import`` / ``neurochip nir export`` (click): orchestration only (docs/nir.md)."""
from __future__ import annotations

import json
from pathlib import Path

import click

from . import api
from .errors import NeurochipError


@click.group()
def nir():
    """Read networks from NIR files (snnTorch, Norse, Sinabs, ...) onto a chip profile, and write them back."""


@nir.command(name="import")
@click.argument("model", type=click.Path())
@click.option("--profile", "profile_name", default="loihi", show_default=True, help="Hardware profile name or .toml path.")
@click.option("--out", type=click.Path(), required=True, help="Checkpoint to write (HDF5): an ordinary neurochip network.")
@click.option("--dt", type=float, default=None, help="Seconds per step the NIR time constants assume (default 1e-4, snnTorch's; Norse 1e-3; docs/nir.md).")
@click.option("--convention", type=click.Choice(api.CHOICES["nir_convention"]), default="euler", show_default=True,
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
    if dataset and data:
        raise NeurochipError("give either --dataset or --data, not both")
    api.check_output(out, overwrite=overwrite, option="--out")
    if report:
        api.check_output(report, overwrite=overwrite, option="--report")
    net, rep = api.import_nir(model, profile_name, dt=dt, convention=convention, timesteps=timesteps,
                              precision=precision, lr=lr, data=Path(data) if data else dataset, samples=samples,
                              seed=seed)
    net.save(out)
    d = rep.to_dict()
    d["checkpoint"] = str(out)
    if report:
        Path(report).write_text(json.dumps(d, indent=2))
    if as_json:
        click.echo(json.dumps(d))
        return
    for line in rep.lines():
        click.echo(line)
    cfg = net.config
    click.echo(f"checkpoint {out} ({cfg.precision}, {net.profile.name}"
               + (f", arch {cfg.arch}" if cfg.arch else f", sizes {list(cfg.sizes)}") + ")")


@nir.command(name="export")
@click.argument("checkpoint_path", type=click.Path())
@click.argument("model", type=click.Path())
@click.option("--dt", type=float, default=None, help="Seconds per step for the time constants (default 1e-4).")
@click.option("--overwrite", is_flag=True, help="Allow MODEL to replace an existing file.")
def export_cmd(checkpoint_path, model, dt, overwrite):
    """Write a checkpoint's network as a NIR graph (integers as their float equivalents)."""
    api.check_output(model, overwrite=overwrite, option="MODEL")
    net = api.load(checkpoint_path)
    net.to_nir(model, dt, overwrite=True)
    cfg = net.config
    click.echo(f"wrote {model}: {cfg.n_layers} layers, sizes {list(cfg.sizes)}"
               + (f" ({cfg.arch})" if cfg.arch else "") + f", from {cfg.precision} {net.profile.name}")
