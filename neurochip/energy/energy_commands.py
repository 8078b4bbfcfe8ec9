"""``neurochip energy``: op counts, energy, footprint and chip resources of a network, per profile.

Counts come from running the integer kernel (never from formulas): inference over the test set,
and a learning pass over some training samples on a copy of the network (nothing is saved).
Bad input raises NeurochipError; the ``neurochip`` group prints ``Error: ...`` and exits 2.
"""
from __future__ import annotations

import json

import click

from ..errors import NeurochipError
from ..network import ENCODERS, FEEDBACK, LOSSES, READOUTS
from ..surrogate import SURROGATES

_NET_OPTS = ("hidden", "timesteps", "encoder", "readout", "loss", "surrogate", "feedback", "rule", "seed",
             "dataset", "sim_profile")


def _names(s: str) -> list[str]:
    names = [x.strip() for x in s.split(",") if x.strip()]
    if not names:
        raise NeurochipError(f"--compare needs comma-separated profile names like loihi,loihi2,cmos45; got '{s}'")
    if len(set(names)) != len(names):
        raise NeurochipError(f"--compare lists a profile twice: '{s}'")
    return names


def _hidden(hidden: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(h) for h in hidden.split(",") if h.strip())
    except ValueError:
        raise NeurochipError(f"--hidden must be comma-separated layer sizes like 256,128; got '{hidden}'") from None
    if any(s < 1 for s in sizes):
        raise NeurochipError(f"--hidden sizes must be positive; got '{hidden}'")
    return sizes


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
@click.option("--timesteps", "-T", type=int, default=None, help="Untrained network: time steps per sample (default 8).")
@click.option("--encoder", type=click.Choice(ENCODERS), default=None)
@click.option("--readout", type=click.Choice(READOUTS), default=None)
@click.option("--loss", type=click.Choice(LOSSES), default=None)
@click.option("--surrogate", type=click.Choice(tuple(SURROGATES)), default=None)
@click.option("--feedback", type=click.Choice(FEEDBACK), default=None)
@click.option("--rule", type=click.Choice(("ottt-o", "ottt-a")), default=None, help="Untrained network: on-chip rule.")
@click.option("--seed", type=int, default=None, help="Untrained network: seed of init, split and PRNGs (default 0).")
@click.option("--sim-profile", default=None,
              help="Untrained network: profile to simulate on (default: the pricing profile if it can simulate, else loihi).")
@click.option("--samples", type=int, default=None, help="Count inference over the first N test samples (default: all).")
@click.option("--learn-samples", type=int, default=None,
              help="Count learning over N training samples, on a copy (default 1000 or the whole training set if smaller).")
@click.option("--inference-only", is_flag=True, help="Skip the learning run (needed for profiles without on-chip learning).")
def energy(checkpoint_path, profile_name, compare, baseline, as_json, dataset, data, hidden, timesteps, encoder,
           readout, loss, surrogate, feedback, rule, seed, sim_profile, samples, learn_samples, inference_only):
    """Op counts, energy per op kind, footprint and chip fit of a network on hardware profiles.

    \b
    neurochip energy run.h5 --profile loihi
    neurochip energy run.h5 --compare loihi,loihi2,cmos45 --json
    neurochip energy --hidden 128 --dataset digits          (untrained network)
    """
    from .. import api
    from .counts import DEFAULT_LEARN_SAMPLES

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
    n_learn = 0 if inference_only else (DEFAULT_LEARN_SAMPLES if learn_samples is None else learn_samples)
    names = _names(compare) if compare else ([profile_name] if profile_name else [])
    notes = []
    local = dict(hidden=hidden, timesteps=timesteps, encoder=encoder, readout=readout, loss=loss,
                 surrogate=surrogate, feedback=feedback, rule=rule, seed=seed, dataset=dataset, sim_profile=sim_profile)

    if checkpoint_path:
        given = [k for k in _NET_OPTS if local[k] is not None]
        if given:
            raise NeurochipError(f"the checkpoint defines the network and its data; do not also give "
                                 f"--{given[0].replace('_', '-')}")
        net = api.load(checkpoint_path)
        info = net.dataset_info
        if data:
            info = {"path": data, "seed": info.get("seed", 0)}
        ds = api.load_data(info)
        pricing = [api.load_profile(n) for n in names] if names else None   # None: the network's own
        notes.append(f"checkpoint {checkpoint_path}: {len(net.history)} epochs trained; counts re-run on its weights")
    else:
        pricing = [api.load_profile(n) for n in (names or ["loihi"])]
        ds = api.load_data({"path": data, "seed": seed or 0} if data else {"name": dataset or "digits", "seed": seed or 0})
        if sim_profile:
            sim = api.load_profile(sim_profile).require_simulation()
        else:
            sim = next((p for p in pricing if p.can_simulate), None)
            if sim is None:
                sim = api.load_profile("loihi")
                notes.append(f"{', '.join(p.name for p in pricing)} {'is' if len(pricing) == 1 else 'are'} pricing-only: "
                             "the network is simulated on 'loihi' (Lava fixed_pt arithmetic); --sim-profile picks another")
        opts = {k: v for k, v in dict(timesteps=timesteps, encoder=encoder, readout=readout, loss=loss,
                                      surrogate=surrogate, feedback=feedback, rule=rule, seed=seed).items() if v is not None}
        if readout == "spiking" and loss is None:
            opts["loss"] = "mse"
        sizes = (ds.n_features,) + _hidden(hidden if hidden is not None else "128") + (ds.n_classes,)
        net = api.build(sizes, sim, **opts)
        notes.append("untrained network (initial weights)")
    rep = net.energy(ds, pricing, baseline=baseline if baseline and baseline.lower() != "none" else None,
                     samples=samples, learn_samples=n_learn, notes=notes)
    click.echo(json.dumps(rep.to_dict()) if as_json else rep.text())
