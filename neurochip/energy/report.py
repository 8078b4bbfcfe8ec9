"""The energy report: everything the pricing profiles say about a network's counts, as JSON and text.

``build_report`` assembles the JSON-serialisable report of ``neurochip energy`` (``--json`` prints it
as is); ``training_report`` is the ``train --report`` file; ``format_report`` and ``format_compare``
print a report for one profile or side by side.
"""
from __future__ import annotations

from ..counters import OPS, SAT, as_dict
from ..errors import NeurochipError
from ..profile import Profile, load_profile
from .counts import Counts
from .neurobench import footprint, neurobench


def _connections(cfg):
    """Per-layer connections of a network with layer kinds (None: dense from the sizes)."""
    if not cfg.arch:
        return None
    from ..layers import n_connections
    return [n_connections(lay) for lay in cfg.layers]
from .pricing import NDIGITS, ann_baseline, price
from .resources import resources
from .tables import EnergyModel, energy_model


def network_info(engine) -> dict:
    c = engine.cfg
    d = {"sizes": list(c.sizes), "timesteps": c.timesteps, "encoder": c.encoder, "readout": c.readout,
         "loss": c.loss, "rule": c.rule, "feedback": c.feedback, "precision": c.precision,
         "surrogate": c.surrogate, "simulated_on": engine.profile.name}
    if c.arch:
        d["arch"] = c.arch      # layer kinds (docs/layers.md); absent for dense networks
    return d


def price_on(profile: Profile, engine, inf: Counts, train: Counts | None, baseline: EnergyModel | None,
             strict: bool = True) -> dict:
    """Everything one pricing profile says about the counts: inference, training, ANN, resources.

    ``strict``: a profile without on-chip learning raises on training counts; otherwise its
    training entry records the rejection."""
    model = energy_model(profile)
    out = {"profile": profile.name, "path": model.path, "learning_supported": model.learning,
           "inference": price(inf, engine.cfg, model).to_dict()}
    if train is not None:
        try:
            out["training"] = price(train, engine.cfg, model).to_dict()
        except NeurochipError as e:
            if strict:
                raise
            out["training"] = {"rejected": str(e)}
    else:
        out["training"] = None
    if baseline is not None:
        ann = ann_baseline(engine.cfg.sizes, baseline, _connections(engine.cfg)).to_dict()
        out["ann"] = ann
        ratio = {"inference": None, "training": None}
        if ann["inference_pj_per_sample"]:
            ratio["inference"] = out["inference"]["total_pj_per_sample"] / ann["inference_pj_per_sample"]
        tr = out["training"]
        if tr and "total_pj_per_sample" in tr and ann["training_pj_per_sample"]:
            ratio["training"] = tr["total_pj_per_sample"] / ann["training_pj_per_sample"]
        out["snn_over_ann"] = ratio
    out["resources"] = resources(engine, profile)
    return out


def build_report(engine, inf: Counts, train: Counts | None, profiles: list[Profile],
                 baseline: Profile | None = None, strict: bool = True, notes: list[str] | None = None) -> dict:
    """The full JSON-serialisable report for one or more pricing profiles."""
    base = energy_model(baseline) if baseline is not None else None
    return {
        "network": network_info(engine),
        "counts": {"inference": inf.to_dict(), "training": train.to_dict() if train else None},
        "neurobench": neurobench(inf, engine).to_dict(),
        "footprint": footprint(engine).to_dict(),
        "pricing": {p.name: price_on(p, engine, inf, train, base, strict) for p in profiles},
        "baseline": baseline.name if baseline is not None else None,
        "notes": list(notes or []),
    }


def training_report(engine, n_samples: int) -> dict:
    """Counts gathered during training (``engine.ops`` over ``n_samples`` learning samples), priced
    on the engine's own profile when it (or the bundled profile of the same name) has an [energy]
    table. Never raises for pricing problems: they are recorded under ``energy``."""
    n = int(n_samples)
    rep = {"samples": n, "ops": as_dict(OPS, engine.ops), "saturation": as_dict(SAT, engine.sat),
           "ops_per_sample": {k: [x / max(n, 1) for x in v] for k, v in as_dict(OPS, engine.ops).items()},
           "network": network_info(engine), "footprint": footprint(engine).to_dict(),
           "notes": ["counts are the engine's counters as accumulated by the learning passes of training; "
                     "the per-epoch test and train-subset passes of neurochip.train.fit are not counted"]}
    if not engine.is_int:
        rep["notes"].append("float reference: the float kernels keep no counters, so every count is 0")
    prof = engine.profile
    try:
        if not prof.energy:
            prof = load_profile(prof.name)
        counts = Counts(engine.ops.copy(), n, True)
        rep["energy"] = price(counts, engine.cfg, energy_model(prof)).to_dict()
        rep["resources"] = resources(engine, prof)
    except NeurochipError as e:
        rep["energy"] = {"error": str(e)}
    return rep


# ---- text -----------------------------------------------------------------------------------------
def _fmt_pj(x) -> str:
    return "unknown" if x is None else f"{x:,.{NDIGITS}f}"


def _human(pj: float) -> str:
    for unit, f in (("mJ", 1e9), ("uJ", 1e6), ("nJ", 1e3)):
        if abs(pj) >= f:
            return f"{pj / f:,.3f} {unit}"
    return f"{pj:,.3f} pJ"


def format_priced(pr: dict, L: int) -> list[str]:
    """Lines of one priced run: every term with its per-layer counts, pJ/op and energy per sample."""
    lines = []
    hdr = (f"  {'op':15s}" + "".join(f"{'count L' + str(l):>14s}" for l in range(L))
           + f"{'count/sample':>16s}{'pJ/op':>10s}{'pJ/sample':>20s}  {'run pJ':>22s}")
    lines.append(hdr)
    group = None
    for t in pr["terms"]:
        if t["group"] != group:
            group = t["group"]
            if "learning_pj_per_sample" in pr:
                lines.append(f"  [{group}]")
        pj = "unknown" if t["pj_per_op"] is None else f"{t['pj_per_op']:g}" + ("*" if t["estimate"] else "")
        lines.append(f"  {t['op']:15s}" + "".join(f"{c:14,d}" for c in t["count_per_layer"])
                     + f"{t['count_per_sample']:16,.4f}{pj:>10s}{_fmt_pj(t['energy_pj_per_sample']):>20s}"
                     f"  {_fmt_pj(t['energy_pj']):>22s}")
    lines.append(f"  {'total':15s}" + " " * (14 * L + 26) + f"{_fmt_pj(pr['total_pj_per_sample']):>20s}"
                 f"  {_fmt_pj(pr['total_pj']):>22s}")
    extra = ""
    if "learning_pj_per_sample" in pr:
        extra = (f"; forward {_human(pr['forward_pj_per_sample'])} + learning "
                 f"{_human(pr['learning_pj_per_sample'])}")
    lines.append(f"  = {_human(pr['total_pj_per_sample'])} per sample, {_human(pr['total_pj'])} per run of "
                 f"{pr['samples']} samples{extra}")
    lines.append("  per layer (pJ/sample): " + ", ".join(f"L{l} {_fmt_pj(x)}" for l, x in enumerate(pr["per_layer_pj_per_sample"])))
    if pr["unpriced"]:
        lines.append(f"  WARNING: the total excludes {', '.join(pr['unpriced'])}: no published energy (pj = \"unknown\")")
    return lines


def _fit_line(fit: dict) -> str:
    per = ", ".join(f"L{r['layer']}: {r['cores'] if r['cores'] is not None else '-'} ({r['limit']})" for r in fit["layers"])
    head = (f"fits: {fit['cores']} of {fit['cores_per_chip']} cores" if fit["fits"]
            else f"DOES NOT FIT: {fit['limit']}")
    return f"{head}  [{fit['bits_per_synapse']} bits/synapse; cores per layer {per}]"


def format_report(rep: dict) -> str:
    """Terminal text of a single-profile report (the first entry of ``pricing``)."""
    net = rep["network"]
    L = len(net["sizes"]) - 1
    lines = [f"network {'-'.join(map(str, net['sizes']))}" + (f" ({net['arch']})" if "arch" in net else "")
             + f", T={net['timesteps']}, {net['encoder']} encoder, "
             f"{net['readout']} readout, {net['rule']}, simulated on '{net['simulated_on']}'"]
    ci, ct = rep["counts"]["inference"], rep["counts"]["training"]
    lines.append(f"counts: inference averaged over {ci['samples']} test samples (accuracy {ci.get('accuracy', float('nan')):.4f})"
                 + (f"; learning over {ct['samples']} training samples on a copy (nothing saved)" if ct else "; no learning run"))
    lines += [f"note: {n}" for n in rep["notes"]]
    lines.append("rows: count per weight layer L0..; * = estimate (borrowed or unverified figure: see the profile)")
    for name, pr in rep["pricing"].items():
        lines.append("")
        lines.append(f"== {name} ({pr['path']}) ==")
        lines.append("INFERENCE, per sample")
        lines += format_priced(pr["inference"], L)
        tr = pr["training"]
        if tr is not None:
            lines.append("TRAINING (forward + learning), per sample")
            if "rejected" in tr:
                lines.append(f"  rejected: {tr['rejected']}")
            else:
                lines += format_priced(tr, L)
        if "ann" in pr:
            a = pr["ann"]
            r = pr["snn_over_ann"]
            lb = " (a lower bound: the SNN total excludes unpriced ops)"
            lines.append(f"equivalent ANN on {a['profile']}: {a['macs_per_sample']:,} MACs/sample x {a['mac_pj']:g} pJ = "
                         f"{_human(a['inference_pj_per_sample'])}; SNN/ANN = "
                         + (f"{r['inference']:.3f}" if r["inference"] is not None else "-")
                         + ("" if pr["inference"]["complete"] else lb))
            if tr is not None and "rejected" not in tr:
                lines.append(f"  ANN training (forward + backward + update) {a['training_macs_per_sample']:,} MACs = "
                             f"{_human(a['training_pj_per_sample'])}; SNN/ANN = "
                             + (f"{r['training']:.3f}" if r["training"] is not None else "-")
                             + ("" if tr["complete"] else lb))
            if "with_weight_reads" in a:
                w = a["with_weight_reads"]
                lines.append(f"  ANN with one 32-bit weight read per MAC ({w['pj_per_mac']:g} pJ/MAC): "
                             f"{_human(w['inference_pj_per_sample'])} inference, {_human(w['training_pj_per_sample'])} training")
        res = pr["resources"]
        if res["assessed"]:
            lines.append(f"resources ({name}), inference: " + _fit_line(res["inference"]))
            lines.append(f"resources ({name}), training:  " + _fit_line(res["training"]))
        else:
            lines.append(f"resources: not assessed ({res['reason']})")
    nb = rep["neurobench"]
    so = nb["SynapticOperations"]
    lines.append("")
    lines.append(f"NeuroBench (per inference sample): Dense {so['Dense']:,.1f}, Effective_MACs {so['Effective_MACs']:,.1f}, "
                 f"Effective_ACs {so['Effective_ACs']:,.1f}, ActivationSparsity "
                 + (f"{nb['ActivationSparsity']:.4f}" if nb["ActivationSparsity"] is not None else "-")
                 + f", ConnectionSparsity {nb['ConnectionSparsity']:.4f}")
    fp = rep["footprint"]
    lines.append(f"footprint at {fp['profile']} widths (bytes, packed) vs float32:")
    for it in fp["items"]:
        lines.append(f"  {it['item']:15s} {it['phase']:9s} {it['count']:10,d} x {it['bits']:2d} bit = {it['bytes']:12,d}   float32 {it['float32_bytes']:12,d}")
    lines.append(f"  {'inference':25s} {fp['inference_bytes']:27,d}   float32 {fp['inference_float32_bytes']:12,d}")
    lines.append(f"  {'training':25s} {fp['training_bytes']:27,d}   float32 {fp['training_float32_bytes']:12,d}")
    return "\n".join(lines)


def format_compare(rep: dict) -> str:
    """Side-by-side energy per sample of every pricing profile."""
    net = rep["network"]
    names = list(rep["pricing"])
    w = max(16, *(len(n) + 2 for n in names))
    ci, ct = rep["counts"]["inference"], rep["counts"]["training"]
    lines = [f"network {'-'.join(map(str, net['sizes']))}" + (f" ({net['arch']})" if "arch" in net else "")
             + f", T={net['timesteps']}, {net['encoder']} encoder, {net['rule']}, "
             f"simulated on '{net['simulated_on']}'; counts over {ci['samples']} test samples"
             + (f" and {ct['samples']} training samples (on a copy)" if ct else "")]
    lines += [f"note: {n}" for n in rep["notes"]]
    lines.append("energy per sample in pJ (* = the figure is an estimate; 'unknown' = not priced)")

    def block(phase: str):
        first = rep["pricing"][names[0]][phase]
        ops = [t["op"] for t in first["terms"]] if first and "terms" in first else None
        if ops is None:
            for n in names:
                p = rep["pricing"][n][phase]
                if p and "terms" in p:
                    ops = [t["op"] for t in p["terms"]]
                    break
        if ops is None:
            return
        lines.append("")
        lines.append(f"{phase.upper():16s}" + "".join(f"{n:>{w}s}" for n in names))
        for i, op in enumerate(ops):
            row = f"{op:16s}"
            for n in names:
                p = rep["pricing"][n][phase]
                if not p or "terms" not in p:
                    row += f"{'n/a':>{w}s}"
                    continue
                t = p["terms"][i]
                cell = _fmt_pj(t["energy_pj_per_sample"]) + ("*" if t["estimate"] and t["pj_per_op"] is not None else " ")
                row += f"{cell:>{w}s}"
            lines.append(row)
        row = f"{'total':16s}"
        for n in names:
            p = rep["pricing"][n][phase]
            row += f"{(_fmt_pj(p['total_pj_per_sample']) + ' ') if p and 'terms' in p else 'n/a ':>{w}s}"
        lines.append(row)
        for n in names:
            p = rep["pricing"][n][phase]
            if p and "rejected" in p:
                lines.append(f"  {n}: rejected: {p['rejected']}")
            elif p and p["unpriced"]:
                lines.append(f"  {n}: total excludes {', '.join(p['unpriced'])} (no published energy)")

    block("inference")
    if ct:
        block("training")
    if rep.get("baseline"):
        lines.append("")
        for phase, label in (("inference", "SNN/ANN inf."), ("training", "SNN/ANN train")):
            if phase == "training" and not ct:
                continue
            row = f"{label:16s}"
            for n in names:
                r = rep["pricing"][n]["snn_over_ann"][phase]
                p = rep["pricing"][n][phase]
                mark = "+" if p and not p.get("complete", True) else " "
                row += f"{(f'{r:.3f}' + mark if r is not None else '- '):>{w}s}"
            lines.append(row)
        lines.append("  (+ = the SNN total excludes unpriced ops, so the ratio is a lower bound)")
        a = next(iter(rep["pricing"].values()))["ann"]
        lines.append(f"ANN baseline ({a['profile']}): {a['macs_per_sample']:,} MACs x {a['mac_pj']:g} pJ = "
                     f"{_fmt_pj(a['inference_pj_per_sample'])} pJ/sample inference, "
                     f"{a['training_macs_per_sample']:,} MACs = {_fmt_pj(a['training_pj_per_sample'])} pJ/sample training")
    lines.append("")
    row = f"{'fits (inf.)':16s}"
    for n in names:
        res = rep["pricing"][n]["resources"]
        cell = "-" if not res["assessed"] else (f"{res['inference']['cores']} cores" if res["inference"]["fits"] else "NO")
        row += f"{cell + ' ':>{w}s}"
    lines.append(row)
    for n in names:
        res = rep["pricing"][n]["resources"]
        if res["assessed"] and not res["inference"]["fits"]:
            lines.append(f"  {n}: does not fit: {res['inference']['limit']}")
    return "\n".join(lines)
