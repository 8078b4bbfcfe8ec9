"""``neurochip energy``: op counts, energy, footprint and chip resources of a network, per profile.

Counts come from running the integer kernel (never from formulas): inference over the test set,
and a learning pass over some training samples on a copy of the network (nothing is saved).
Bad input raises NeurochipError; the ``neurochip`` group prints ``Error: ...`` and exits 2.
"""
from __future__ import annotations

import json

import click

from ..errors import NeurochipError
from ..parallel import threads_option
from ..network import ENCODERS, FEEDBACK, LOSSES, READOUTS, NetworkConfig, parse_hidden
from ..surrogate import SURROGATES

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
@threads_option
def energy(checkpoint_path, profile_name, compare, baseline, as_json, dataset, data, hidden, arch, timesteps, encoder,
           readout, loss, surrogate, feedback, rule, seed, sim_profile, samples, learn_samples, inference_only):
    """Op counts, energy per op kind, footprint and chip fit of a network on hardware profiles.

    \b
    neurochip energy run.h5 --profile loihi
    neurochip energy run.h5 --compare loihi,loihi2,cmos45 --json
    neurochip energy --hidden 128 --dataset digits          (untrained network)
    """
    from ..data import load_dataset
    from .counts import DEFAULT_LEARN_SAMPLES, gather_counts
    from .report import build_report, format_compare, format_report
    from .tables import energy_model
    from ..profile import load_profile

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
    local = dict(hidden=hidden, arch=arch, timesteps=timesteps, encoder=encoder, readout=readout, loss=loss,
                 surrogate=surrogate, feedback=feedback, rule=rule, seed=seed, dataset=dataset, sim_profile=sim_profile)

    if checkpoint_path:
        from .. import checkpoint

        given = [k for k in _NET_OPTS if local[k] is not None]
        if given:
            raise NeurochipError(f"the checkpoint defines the network and its data; do not also give "
                                 f"--{given[0].replace('_', '-')}")
        engine, history, info = checkpoint.load(checkpoint_path)
        if data:
            if "binning" in info:      # event data: the checkpoint's binning, another source
                from ..binning import EventBinning
                from ..event_data import event_info

                info = event_info(EventBinning.from_dict(info["binning"]), info.get("seed", 0), path=data)
            else:
                info = {"path": data, "seed": info.get("seed", 0)}
        if "binning" in info:
            from ..event_data import load_event_dataset

            ds = load_event_dataset(info)      # re-binned as in training (docs/data.md)
        else:
            ds = load_dataset(info.get("name"), info.get("path"), info.get("seed", 0))
        if not names:
            try:
                names = [engine.profile.name]
                pricing = [load_profile(engine.profile.name)]
            except NeurochipError:
                pricing = [engine.profile]
        else:
            pricing = [load_profile(n) for n in names]
        notes.append(f"checkpoint {checkpoint_path}: {len(history)} epochs trained; counts re-run on its weights")
    else:
        pricing = [load_profile(n) for n in (names or ["loihi"])]
        ds = load_dataset(None if data else (dataset or "digits"), data, seed or 0)
        if sim_profile:
            sim = load_profile(sim_profile).require_simulation()
        else:
            sim = next((p for p in pricing if p.can_simulate), None)
            if sim is None:
                sim = load_profile("loihi")
                notes.append(f"{', '.join(p.name for p in pricing)} {'is' if len(pricing) == 1 else 'are'} pricing-only: "
                             "the network is simulated on 'loihi' (Lava fixed_pt arithmetic); --sim-profile picks another")
        from ..engine import Engine

        opts = {k: v for k, v in dict(timesteps=timesteps, encoder=encoder, readout=readout, loss=loss,
                                      surrogate=surrogate, feedback=feedback, rule=rule, seed=seed).items() if v is not None}
        if readout == "spiking" and loss is None:
            opts["loss"] = "mse"
        if arch is not None:
            if hidden is not None:
                raise NeurochipError("give --hidden or --arch, not both")
            engine = Engine(NetworkConfig(sizes=(ds.n_features, ds.n_classes), arch=arch, **opts), sim)
        else:
            sizes = (ds.n_features,) + parse_hidden(hidden if hidden is not None else "128") + (ds.n_classes,)
            engine = Engine(NetworkConfig(sizes=sizes, **opts), sim)
        notes.append("untrained network (initial weights)")
    if ds.n_features != engine.cfg.sizes[0]:
        raise NeurochipError(f"data has {ds.n_features} features, the network takes {engine.cfg.sizes[0]}")
    if ds.n_classes > engine.cfg.sizes[-1]:
        raise NeurochipError(f"data has {ds.n_classes} classes, the network has {engine.cfg.sizes[-1]} outputs")
    models = [energy_model(p) for p in pricing]          # validate before simulating
    single = len(pricing) == 1
    if single and n_learn and not models[0].learning:
        raise NeurochipError(f"profile '{pricing[0].name}' has no on-chip learning (energy.learning = false in "
                             f"{models[0].path}): its learning energy is not defined; pass --inference-only")
    base = None
    if baseline and baseline.lower() != "none":
        base = load_profile(baseline)
        energy_model(base)
    inf, train = gather_counts(engine, ds.x_test, ds.y_test, ds.x_train if n_learn else None, ds.y_train,
                               samples=samples, learn_samples=n_learn)
    if train is not None:
        notes.append(f"learning counts: the first {train.samples} samples of epoch 0's order, learning with "
                     f"{engine.cfg.rule} on a copy of the network; nothing is saved")
    rep = build_report(engine, inf, train, pricing, base, strict=single, notes=notes)
    if as_json:
        click.echo(json.dumps(rep))
    elif single:
        click.echo(format_report(rep))
    else:
        click.echo(format_compare(rep))
