"""Figures (matplotlib, Agg: no display needed). Every function returns ``(figure, data)``: the data
is what was drawn (so tests check content, not pixels); :func:`save` writes PNG, SVG or PDF by the
file's extension.

From a sweep table (:mod:`neurochip.sweep`): :func:`pareto` (accuracy vs energy per sample, Pareto
front marked) and :func:`versus_axis` (accuracy vs one axis, one line per value of a second).
From a checkpoint: :func:`training_curves`, :func:`weight_histograms` (one bin per mantissa value),
:func:`counters` (saturation and rounding). From a checkpoint and a sample: :func:`raster` (spikes
of every layer, membranes of chosen neurons over the T steps) and :func:`energy_breakdown`
(stacked bars per op kind and layer, from an energy report).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import NeurochipError

FORMATS = (".png", ".svg", ".pdf")


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def check_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise NeurochipError(f"{p}: the figure format comes from the extension: use .png, .svg or .pdf")
    return p


def save(fig, path: str | os.PathLike, dpi: int = 100) -> Path:
    p = check_path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=dpi, bbox_inches="tight")
    _plt().close(fig)
    return p


# ---- sweep tables -------------------------------------------------------------------------------
def _num(rows, col: str) -> np.ndarray:
    from .sweep import number

    return np.array([number(r.get(col)) for r in rows], float)


def _need(cols, col: str, what: str) -> None:
    if col not in cols:
        raise NeurochipError(f"the table has no column '{col}' for {what} (columns: {', '.join(cols)})")


def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats (lower or equal x and higher or equal y, one
    strictly), sorted by x."""
    idx = []
    for i in range(len(x)):
        dominated = np.any((x <= x[i]) & (y >= y[i]) & ((x < x[i]) | (y > y[i])))
        if not dominated:
            idx.append(i)
    return np.array(sorted(idx, key=lambda i: (x[i], -y[i])), int)


def axis_columns(cols: list[str]) -> list[str]:
    """The axis columns of a sweep table: between ``index`` and ``precision`` (neurochip.sweep's order)."""
    if "index" in cols and "precision" in cols:
        return cols[cols.index("index") + 1: cols.index("precision")]
    return []


def mean_over(cols: list[str], rows: list[dict], axis: str) -> list[dict]:
    """Rows averaged over the values of ``axis`` (e.g. seed): one row per combination of the other
    axis columns, numeric result columns averaged (``point`` lists the merged keys)."""
    from .sweep import number

    _need(cols, axis, "--mean-over")
    keys = [c for c in axis_columns(cols) if c != axis] + ["precision"]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        if not r.get("error"):
            groups.setdefault(tuple(r.get(k, "") for k in keys), []).append(r)
    out = []
    for g, rs in groups.items():
        m = {k: v for k, v in zip(keys, g)}
        m["point"] = "+".join(r["point"] for r in rs)
        m[axis] = f"{len(rs)} values"
        for c in cols:
            if c in m or c in ("index", "error"):
                continue
            vals = np.array([number(r.get(c)) for r in rs])
            m[c] = "" if np.isnan(vals).all() else repr(float(np.nanmean(vals)))
        m["error"] = ""
        out.append(m)
    return out


def pareto(cols: list[str], rows: list[dict], x: str = "inference_pj_per_sample", y: str = "accuracy",
           label: str | None = None, average: str | None = None):
    """Accuracy (``y``) against energy per sample (``x``) of every finished point; the Pareto front
    (cheapest for its accuracy) joined and marked. Points without ``x`` (the float reference keeps
    no counters) are drawn as a horizontal reference line at their mean ``y``. ``label``: columns
    (comma-separated) whose values annotate the front; ``average``: an axis to average over (seed)."""
    plt = _plt()
    _need(cols, x, "the x axis")
    _need(cols, y, "the y axis")
    labels = [c.strip() for c in label.split(",")] if label else []
    for c in labels:
        _need(cols, c, "--label")
    if average:
        rows = mean_over(cols, rows, average)
    rows = [r for r in rows if not r.get("error")]
    xs, ys = _num(rows, x), _num(rows, y)
    ok = ~np.isnan(xs) & ~np.isnan(ys)
    ref = ys[np.isnan(xs) & ~np.isnan(ys)]
    if not ok.any():
        raise NeurochipError(f"no finished point has both '{x}' and '{y}'")
    px, py = xs[ok], ys[ok]
    keys = [r.get("point", "") for r, o in zip(rows, ok) if o]
    front = pareto_front(px, py)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.scatter(px, py, s=22, color="0.55", label=f"{'configurations' if average else 'points'} ({len(px)})", zorder=2)
    ax.plot(px[front], py[front], "-o", color="C3", ms=6, label=f"Pareto front ({len(front)})", zorder=3)
    if labels:
        labs = ["/".join(r.get(c, "") for c in labels) for r, o in zip(rows, ok) if o]
        for i in range(len(px)):
            ax.annotate(labs[i], (px[i], py[i]), textcoords="offset points", xytext=(4, -9),
                        fontsize=7, color="C3" if i in set(front.tolist()) else "0.4")
        ax.text(0.99, 0.01, "labels: " + "/".join(c.split(".")[-1] for c in labels), transform=ax.transAxes,
                ha="right", va="bottom", fontsize=7, color="0.3")
    data = {"x": px, "y": py, "keys": keys, "front": front, "front_x": px[front], "front_y": py[front],
            "reference": float(ref.mean()) if len(ref) else None}
    if len(ref):
        ax.axhline(ref.mean(), ls="--", color="C0", label=f"float reference (mean of {len(ref)})")
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    ax.set_title(f"{_label(y)} vs {_label(x)}" + (f" (mean over {average})" if average else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig, data


def _label(col: str) -> str:
    return {"inference_pj_per_sample": "inference energy per sample (pJ)",
            "training_pj_per_sample": "training energy per sample (pJ)",
            "accuracy": "test accuracy", "inference_bytes": "inference memory (bytes)",
            "training_bytes": "training memory (bytes)"}.get(col, col)


def _sort_key(v: str):
    try:
        return (0, float(v), "")
    except ValueError:
        return (1, 0.0, v)


def versus_axis(cols: list[str], rows: list[dict], x: str, by: str | None = None, y: str = "accuracy"):
    """Mean ``y`` against the values of axis ``x``, one line per value of ``by`` (all other axes
    averaged; the bars span their min and max)."""
    plt = _plt()
    _need(cols, x, "the x axis")
    _need(cols, y, "the y axis")
    if by:
        _need(cols, by, "--by")
        if by == x:
            raise NeurochipError("--by must be another column than --x")
    rows = [r for r in rows if not r.get("error") and r.get(x, "") != ""]
    if not rows:
        raise NeurochipError(f"no finished point has a value of '{x}'")
    xv = sorted({r[x] for r in rows}, key=_sort_key)
    numeric = all(_sort_key(v)[0] == 0 for v in xv)
    groups = sorted({r.get(by, "") for r in rows}, key=_sort_key) if by else [None]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    lines = {}
    for g in groups:
        sel = [r for r in rows if by is None or r.get(by, "") == g]
        xs, mean, lo, hi = [], [], [], []
        for v in xv:
            vals = _num([r for r in sel if r[x] == v], y)
            vals = vals[~np.isnan(vals)]
            if len(vals):
                xs.append(float(v) if numeric else xv.index(v))
                mean.append(vals.mean())
                lo.append(vals.mean() - vals.min())
                hi.append(vals.max() - vals.mean())
        lines[g] = (np.array(xs), np.array(mean))
        ax.errorbar(xs, mean, yerr=[lo, hi], marker="o", capsize=3, label=f"{by} = {g}" if by else y)
    if not numeric:
        ax.set_xticks(range(len(xv)), xv)
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y) + (" (mean, min-max)" if len(rows) > len(xv) * len(groups) else ""))
    ax.set_title(f"{_label(y)} vs {x}" + (f" by {by}" if by else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig, {"x_values": xv, "lines": lines}


# ---- checkpoints ----------------------------------------------------------------------------------
def training_curves(history):
    """Test accuracy per epoch, and the frozen train-subset accuracy when it was measured."""
    plt = _plt()
    if not len(history):
        raise NeurochipError("the checkpoint has no epochs to plot")
    ep = np.asarray(history.epoch)
    test = np.asarray(history.test_acc, float)
    train = np.asarray(history.train_acc, float)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ep, test, "-o", ms=4, label="test")
    data = {"epoch": ep, "test": test}
    if not np.isnan(train).all():
        ax.plot(ep, train, "-s", ms=4, label="train (frozen subset)")
        data["train"] = train
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title("training curves")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig, data


def weight_histograms(engine):
    """One histogram per weight layer. Integer networks: one bin per mantissa value over the whole
    signed range of the profile's weight width (the chip's resolution); float: 64 bins."""
    plt = _plt()
    ws = engine.weights()
    L = len(ws)
    fig, axes = plt.subplots(1, L, figsize=(3.2 * L + 0.5, 3.2), squeeze=False)
    data = []
    if engine.is_int:
        b = engine.profile.synapse.weight_bits
        lo, hi = -(1 << (b - 1)), (1 << (b - 1)) - 1
        edges = np.arange(lo, hi + 2) - 0.5
    for l, (w, ax) in enumerate(zip(ws, axes[0])):
        if engine.is_int:
            counts, e = np.histogram(w, bins=edges)
            unit = f"{b}-bit mantissa"
        else:
            counts, e = np.histogram(w, bins=64)
            unit = "float32"
        ax.bar((e[:-1] + e[1:]) / 2, counts, width=np.diff(e), color="C0", edgecolor="none")
        ax.set_xlabel(f"weight ({unit})")
        ax.set_ylabel("synapses" if l == 0 else "")
        ax.set_title(f"layer {l}: {w.shape[0]}x{w.shape[1]}")
        data.append({"counts": counts, "edges": e})
    fig.suptitle(f"weights ({engine.cfg.precision}, {engine.profile.name})")
    fig.tight_layout()
    return fig, data


def counters(engine):
    """Saturation and rounding counters of training, grouped per counter, one bar per layer
    (symlog scale: zero stays visible)."""
    from .counters import SAT

    plt = _plt()
    if not engine.is_int:
        raise NeurochipError("saturation counters come from the integer chip kernel; this is a float network")
    sat = np.asarray(engine.sat)
    L = sat.shape[0]
    fig, ax = plt.subplots(figsize=(7.5, 4))
    xs = np.arange(len(SAT))
    wdt = 0.8 / L
    for l in range(L):
        ax.bar(xs + (l - (L - 1) / 2) * wdt, sat[l], width=wdt, label=f"layer {l}")
    ax.set_xticks(xs, SAT, rotation=30, ha="right")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylabel("count over training")
    tried = sat[:, SAT.index("update_attempted")]
    zero = sat[:, SAT.index("update_zero")]
    frac = ", ".join(f"{z / t:.2f}" if t else "-" for z, t in zip(zero, tried))
    ax.set_title(f"saturation and rounding (updates rounded to zero per layer: {frac})", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig, {"names": SAT, "counts": sat}


def record_sample(engine, x: np.ndarray):
    """Per-step spikes and membranes of every neuron layer for one sample (the inference kernel
    ``lif_forward`` through neurochip.lava.export; integer networks only)."""
    from .lava.export import input_raster, reference_run

    if not engine.is_int:
        raise NeurochipError("the spike raster records the integer chip kernel; this is a float network")
    xin = engine.prepare(np.asarray(x, np.float64).reshape(1, -1))
    R = input_raster(engine, xin, np.zeros(1, np.int64))
    return R, reference_run(engine, R)


def raster(engine, x: np.ndarray, neurons: list[tuple[int, int]] | None = None, label: int | None = None):
    """Spike raster of every neuron layer (input included) and membrane traces of ``neurons``
    ((layer, index), layers 1..L) over the T steps of one sample; default: every readout neuron."""
    plt = _plt()
    R, rec = record_sample(engine, x)
    sizes = engine.cfg.sizes
    L = len(sizes) - 1
    if neurons is None:
        neurons = [(L, i) for i in range(min(sizes[-1], 10))]
    for l, i in neurons:
        if not 1 <= l <= L:
            raise NeurochipError(f"neuron layer {l} does not exist: layers are 1..{L} (0 is the input)")
        if not 0 <= i < sizes[l]:
            raise NeurochipError(f"layer {l} has {sizes[l]} neurons; there is no neuron {i}")
    T = engine.cfg.timesteps
    spikes = [(R != 0).astype(np.uint8)] + [np.asarray(s) for s in rec.spikes]
    fig, axes = plt.subplots(L + 2, 1, figsize=(6.5, 1.6 * (L + 2) + 0.6), sharex=True)
    for l in range(L + 1):
        ax = axes[l]
        t, n = np.nonzero(spikes[l])
        ax.scatter(t, n, s=6, marker="|", color="k")
        ax.set_ylim(-0.5, sizes[l] - 0.5)
        what = "input (graded: non-zero)" if l == 0 and engine.cfg.encoder == "direct" else ("input" if l == 0 else f"layer {l}")
        if l == L and engine.cfg.readout == "integrator":
            what = f"layer {l} (integrator\nreadout: no spikes)"
        ax.set_xticks(np.arange(T))
        ax.set_ylabel(f"{what}\nneuron", fontsize=8)
    ax = axes[-1]
    traces = {}
    for l, i in neurons:
        v = np.asarray(rec.v[l - 1][:, i], np.int64)
        traces[(l, i)] = v
        ax.plot(np.arange(T), v, "-o", ms=3, label=f"{l}:{i}")
    thr = engine.profile.neuron.threshold_membrane
    ax.axhline(thr, ls="--", color="0.4", lw=1, label="threshold")
    ax.set_ylabel("membrane (int)", fontsize=8)
    ax.set_xlabel("time step")
    ax.legend(fontsize=6, ncol=4)
    pred = int(rec.preds[0])
    fig.suptitle(f"one sample over T = {T} steps: predicted {pred}" + (f", label {label}" if label is not None else ""))
    fig.tight_layout()
    return fig, {"spikes": spikes, "membranes": traces, "pred": pred, "threshold": thr}


def energy_breakdown(report: dict, profile: str | None = None):
    """Stacked bars: energy per sample of every op kind in every weight layer, inference and (when
    counted) training, from an energy report (``neurochip energy --json`` or ``build_report``)."""
    plt = _plt()
    pricing = report.get("pricing") if isinstance(report, dict) else None
    if not pricing:
        raise NeurochipError("not an energy report (no 'pricing'): write one with `neurochip energy --json`")
    name = profile or next(iter(pricing))
    if name not in pricing:
        raise NeurochipError(f"the report prices on {', '.join(pricing)}; not on '{name}'")
    pr = pricing[name]
    phases = [p for p in ("inference", "training") if isinstance(pr.get(p), dict) and "terms" in pr[p]]
    fig, axes = plt.subplots(1, len(phases), figsize=(5.2 * len(phases), 4.2), squeeze=False)
    data = {}
    for ax, ph in zip(axes[0], phases):
        terms = [t for t in pr[ph]["terms"] if t.get("energy_pj_per_sample_per_layer") and t["energy_pj"]]
        L = len(pr[ph]["per_layer_pj_per_sample"])
        bottom = np.zeros(L)
        stack = {}
        for k, t in enumerate(terms):
            e = np.asarray(t["energy_pj_per_sample_per_layer"], float)
            ax.bar(np.arange(L), e, bottom=bottom, label=t["op"], color=f"C{k % 10}", hatch="//" if k >= 10 else None)
            bottom += e
            stack[t["op"]] = e
        ax.set_xticks(np.arange(L), [f"layer {l}" for l in range(L)])
        ax.set_ylabel("energy per sample (pJ)")
        ax.set_title(f"{ph} on {name}: {pr[ph]['total_pj_per_sample']:,.0f} pJ/sample", fontsize=10)
        ax.legend(fontsize=7)
        data[ph] = stack
    fig.tight_layout()
    return fig, data
