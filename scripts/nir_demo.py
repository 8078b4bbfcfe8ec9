"""NIR round trip demo (docs/nir.md): a network trained in float by neurochip -> NIR -> re-imported
to loihi integers -> fine-tuned on chip with OTTT -> exported to Lava (lava run check) -> NIR again,
printing the test accuracy at each step; then the same float network re-imported at narrower
weight widths (the quantization cost by width).

    PYTHONPATH=$PWD python scripts/nir_demo.py [--epochs 6] [--finetune 3] [--lava-samples 20] [--out DIR]

Runs through the same functions as the CLI (``neurochip train``, ``nir export``, ``nir import``,
``train --init``, ``lava run``). Lava needs lava-nc (``neurochip lava check``); without it the
Lava step is skipped and said so. It ends with the published blocks of docs/nir.md
(``nir_demo:report``, ``nir_demo:path``, ``nir_demo:widths``; deterministic), which
``python scripts/reproduce.py --write --only nir`` writes there.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WIDTHS = (8, 6, 5, 4, 3)


def measure(epochs: int = 6, finetune: int = 3, hidden: int = 64, lava_samples: int = 20, widths=WIDTHS,
            out: Path | None = None, lava: bool = True, progress=print) -> dict:
    """Run the round trip in ``out`` (default: a temporary folder); returns the printed step lines
    (``steps``), the import report's lines (``report``), one row per weight width (``widths``)
    and whether the re-imported integers were identical (``same``)."""
    from neurochip import checkpoint
    from neurochip.data import load_dataset
    from neurochip.engine import Engine
    from neurochip.network import NetworkConfig, NetworkState
    from neurochip.nir_export import export_nir
    from neurochip.nir_import import import_nir
    from neurochip.profile import load_profile
    from neurochip.train import History, evaluate, fit

    tmp = None
    if out is None:
        tmp = tempfile.TemporaryDirectory(prefix="nir_demo_")
        out = Path(tmp.name)
    out.mkdir(parents=True, exist_ok=True)
    ds = load_dataset("digits", None, 0)
    loihi = load_profile("loihi")
    info = {"name": "digits", "seed": 0}
    steps: list[str] = []

    def say(line):
        steps.append(line)
        progress(line)

    def acc(engine):
        return evaluate(engine, ds.x_test, ds.y_test)["accuracy"]

    # 1. float training (neurochip's float OTTT reference)
    fcfg = NetworkConfig(sizes=(ds.n_features, hidden, ds.n_classes), precision="float", timesteps=8, lr=0.05)
    feng = Engine(fcfg, loihi)
    fit(feng, ds, epochs, History(), None, None, 0)
    say(f"1. float network trained by neurochip ({epochs} epochs): test accuracy {acc(feng):.4f}")

    # 2. to NIR
    f_nir = out / "float.nir"
    export_nir(feng, f_nir)
    import nir
    g = nir.read(str(f_nir))
    say(f"2. exported to {f_nir.name}: nir.read gives {len(g.nodes)} nodes "
        f"({', '.join(type(n).__name__ for n in g.nodes.values())})")

    # 3. re-imported onto loihi integers, with the mapping report
    ieng, rep, _ = import_nir(f_nir, loihi, data=ds)
    report = [ln.replace(str(f_nir), f_nir.name) for ln in rep.lines()]
    for line in report:
        progress("   " + line)
    net = out / "imported.h5"
    checkpoint.save(net, ieng, History(), info)
    say(f"3. imported to loihi integers: test accuracy {acc(ieng):.4f} (float {rep.float_acc:.4f}); "
        f"checkpoint {net.name}")

    # 4. fine-tuned on chip with OTTT (what `neurochip train --init imported.h5` does)
    src, _, _ = checkpoint.load(net)
    cfg = dataclasses.replace(src.cfg, lr=0.01, lr_horizon=finetune)
    st = src.state()
    teng = Engine(cfg, src.profile, NetworkState(cfg, st.weights, st.shadow, st.bias, st.feedback))
    h = fit(teng, ds, finetune, History(), None, None, 0)
    tuned = out / "tuned.h5"
    checkpoint.save(tuned, teng, h, info)
    say(f"4. fine-tuned on chip ({finetune} epochs OTTT, lr 0.01): test accuracy {acc(teng):.4f}; "
        f"checkpoint {tuned.name}")

    # 5. Lava
    try:
        if not lava:
            raise RuntimeError("not requested")
        from neurochip.lava.compat import require_lava
        from neurochip.lava.export import compare
        require_lava()
    except Exception as e:   # noqa: BLE001  (Lava missing or unusable: say why, do the rest)
        say(f"5. Lava: skipped ({' '.join(str(e).split())[:160]})")
    else:
        n = lava_samples
        c = compare(teng, ds.x_test[:n], ds.y_test[:n])
        say(f"5. exported to Lava, {c.samples} samples: accuracy neurochip {c.acc_neurochip:.4f}, Lava {c.acc_lava:.4f};"
            f" differing spikes {sum(d.spike_mismatches for d in c.layers)}, predictions {c.pred_mismatches}"
            f" -> {'EXACT' if c.exact else 'MISMATCH'}")

    # 6. back to NIR, and re-imported: identical integers
    t_nir = out / "tuned.nir"
    export_nir(teng, t_nir)
    back, _, _ = import_nir(t_nir, loihi)
    same = all(np.array_equal(x, y) for x, y in zip(teng.weights(), back.weights())) and np.array_equal(teng.B, back.B)
    say(f"6. tuned network to {t_nir.name} and re-imported: identical integer weights and biases: {same};"
        f" test accuracy {acc(back):.4f}")

    # the float network of step 1 at narrower weight widths
    rows = []
    for bits in widths:
        prof = loihi if bits == loihi.synapse.weight_bits else loihi.with_overrides(synapse={"weight_bits": bits})
        _, r, _ = import_nir(f_nir, prof, data=ds)
        rows.append({"bits": bits, "float_acc": r.float_acc, "int_acc": r.int_acc,
                     "qerr": [m.qerr for m in r.layers], "clipped": [m.clipped for m in r.layers],
                     "overlap": r.agreement[0] if r.agreement else None})
        progress(f"   {bits}-bit weights: integer accuracy {r.int_acc:.4f}")
    if tmp is not None:
        tmp.cleanup()
    return {"steps": steps, "report": report, "widths": rows, "same": same, "epochs": epochs, "hidden": hidden}


def _pct(x: float) -> str:
    return "0" if x == 0 else f"{100 * x:.1f} %"


def blocks(r: dict) -> dict[str, str]:
    """The published blocks of docs/nir.md (deterministic)."""
    net = f"64-{r['hidden']}-10"
    report = [f"`python scripts/nir_demo.py`, step 3 (a {net} network trained in float by neurochip on digits, "
              f"{r['epochs']} epochs, exported and re-imported onto loihi with the test split):", "", "```",
              *r["report"], "```"]
    path = [f"`python scripts/nir_demo.py` (digits {net}, T = 8; the whole path):", "", "```", *r["steps"], "```"]
    widths = [f"`python scripts/nir_demo.py` (the same float network, imported onto loihi with `synapse.weight_bits` "
              "overridden; `rms err` is per layer, relative to the rms weight; the exponent choice trades some clipping "
              "for finer steps):", "",
              "| weight bits | float acc | integer acc | rms err (layer 0, 1) | clipped (layer 0, 1) | "
              "hidden spike-count overlap |", "|---|---|---|---|---|---|"]
    for w in r["widths"]:
        ov = "-" if w["overlap"] is None else f"{100 * w['overlap']:.1f} %"
        widths.append(f"| {w['bits']} | {w['float_acc']:.4f} | {w['int_acc']:.4f} | "
                      f"{', '.join(_pct(x) for x in w['qerr'])} | {', '.join(_pct(x) for x in w['clipped'])} | {ov} |")
    return {"nir_demo:report": "\n".join(report), "nir_demo:path": "\n".join(path),
            "nir_demo:widths": "\n".join(widths)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=6, help="float training epochs")
    ap.add_argument("--finetune", type=int, default=3, help="on-chip fine-tuning epochs")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--lava-samples", type=int, default=20)
    ap.add_argument("--out", default=None, help="folder for the files (default: a temporary one, deleted)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    r = measure(a.epochs, a.finetune, a.hidden, a.lava_samples, out=Path(a.out) if a.out else None)
    print(f"({time.perf_counter() - t0:.1f} s)")
    for name, body in blocks(r).items():
        print(f"<!-- BEGIN {name} -->\n{body}\n<!-- END {name} -->")
    return 0 if r["same"] else 1


if __name__ == "__main__":
    sys.exit(main())
