"""``neurochip energy``: op counts, energy, footprint and chip resources of a network, per profile.

Counts come from running the integer kernel (never from formulas): inference over the test set,
and a learning pass over some training samples on a copy of the network (nothing is saved).
Bad input raises NeurochipError; the ``neurochip`` group prints ``Error: ...`` and exits 2.
"""
from __future__ import annotations

import json
from pathlib import Path

import click

from .. import api
from ..api import CHOICES
from ..cli_options import threads_option
from ..errors import NeurochipError

_NET_OPTS = ("hidden", "arch", "timesteps", "encoder", "readout", "loss", "surrogate", "feedback", "rule", "seed",
             "dataset", "sim_profile")


def _names(s: str) -> list[str]:
    names = [x.strip() for x in s.split(",") if x.strip()]
    if not names:
        raise NeurochipError(f"--compare needs comma-separated profile names like loihi,loihi2,cmos45; got '{s}'")
    if len(set(names)) != len(names):
        raise NeurochipError(f"--compare lists a profile twice: '{s}'")
    return names


@click.command("energy")
@click.argument("checkpoint_path", required=False, type=click.Path())
@click.option("--profile", "profile_name", default=None,
              help="Profile to price on (default: the network's own profile; loihi for an untrained network).")
@click.option("--compare", default=None, help="Price on several profiles side by side, e.g. loihi,loihi2,cmos45.")
@click.option("--baseline", default="cmos45", show_default=True,
              help="Profile of the equivalent ANN (one MAC per connection per sample); 'none' to skip.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.option("--dataset", type=click.Choice(["digits"]), default=None, help="Untrained network: bundled dataset (default digits).")
@click.option("--data", type=click.Path(), default=None, help="Count on this data (.npz, .h5, MNIST IDX directory).")
@click.option("--hidden", default=None, help="Untrained network: hidden layer sizes, e.g. 128 (default 128).")
@click.option("--arch", default=None, help="Untrained network: layer kinds instead of --hidden, e.g. c8k3-p2-d64 (docs/layers.md).")
@click.option("--timesteps", "-T", type=int, default=None, help="Untrained network: time steps per sample (default 8).")
@click.option("--encoder", type=click.Choice(CHOICES["encoder"]), default=None)
@click.option("--readout", type=click.Choice(CHOICES["readout"]), default=None)
@click.option("--loss", type=click.Choice(CHOICES["loss"]), default=None)
@click.option("--surrogate", type=click.Choice(CHOICES["surrogate"]), default=None)
@click.option("--feedback", type=click.Choice(CHOICES["feedback"]), default=None)
@click.option("--rule", type=click.Choice(("ottt-o", "ottt-a")), default=None, help="Untrained network: on-chip rule.")
@click.option("--seed", type=int, default=None, help="Untrained network: seed of init, split and PRNGs (default 0).")
@click.option("--sim-profile", default=None,
              help="Untrained network: profile to simulate on (default: the pricing profile if it can simulate, else loihi).")
@click.option("--samples", type=int, default=None, help="Count inference over the first N test samples (default: all).")
@click.option("--learn-samples", type=int, default=None,
              help="Count learning over N training samples, on a copy (default 1000 or the whole training set if smaller).")
@click.option("--inference-only", is_flag=True, help="Skip the learning run (needed for profiles without on-chip learning).")
@threads_option
def energy(checkpoint_path, profile_name, compare, baseline, as_json, dataset, data, hidden, arch, timesteps, encoder,
           readout, loss, surrogate, feedback, rule, seed, sim_profile, samples, learn_samples, inference_only):
    """Op counts, energy per op kind, footprint and chip fit of a network on hardware profiles.

    \b
    neurochip energy run.h5 --profile loihi
    neurochip energy run.h5 --compare loihi,loihi2,cmos45 --json
    neurochip energy --hidden 128 --dataset digits          (untrained network)
    """
    if profile_name and compare:
        raise NeurochipError("give either --profile or --compare, not both")
    if dataset and data:
        raise NeurochipError("give either --dataset or --data, not both")
    if samples is not None and samples < 1:
        raise NeurochipError(f"--samples must be at least 1, got {samples}")
    if learn_samples is not None and learn_samples < 0:
        raise NeurochipError(f"--learn-samples must be 0 or more, got {learn_samples}")
    if inference_only and learn_samples:
        raise NeurochipError("--inference-only skips learning; do not also give --learn-samples")
    names = _names(compare) if compare else ([profile_name] if profile_name else None)
    local = dict(hidden=hidden, arch=arch, timesteps=timesteps, encoder=encoder, readout=readout, loss=loss,
                 surrogate=surrogate, feedback=feedback, rule=rule, seed=seed, dataset=dataset, sim_profile=sim_profile)
    if checkpoint_path:
        given = [k for k in _NET_OPTS if local[k] is not None]
        if given:
            raise NeurochipError(f"the checkpoint defines the network and its data; do not also give "
                                 f"--{given[0].replace('_', '-')}")
        rep = api.energy_report(checkpoint_path, names, data=Path(data) if data else None, baseline=baseline,
                         samples=samples, learn_samples=0 if inference_only else learn_samples)
    else:
        if arch is not None and hidden is not None:
            raise NeurochipError("give --hidden or --arch, not both")
        rep = api.energy_report(None, names, data=Path(data) if data else (dataset or "digits"), layers=arch, hidden=hidden,
                         sim_profile=sim_profile, baseline=baseline, samples=samples,
                         learn_samples=0 if inference_only else learn_samples, timesteps=timesteps, encoder=encoder,
                         readout=readout, loss=loss, surrogate=surrogate, feedback=feedback, rule=rule, seed=seed)
    if as_json:
        click.echo(json.dumps(rep.to_dict()))
    else:
        click.echo(rep.text())
