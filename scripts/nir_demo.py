"""NIR round trip demo (docs/nir.md): a network trained in float by neurochip -> NIR -> re-imported
to loihi integers -> fine-tuned on chip with OTTT -> exported to Lava (lava run check) -> NIR again,
printing the test accuracy at each step.

    PYTHONPATH=$PWD python scripts/nir_demo.py [--epochs 6] [--finetune 3] [--lava-samples 20] [--out DIR]

Runs through the same functions as the CLI (``neurochip train``, ``nir export``, ``nir import``,
``train --init``, ``lava run``). Lava needs lava-nc (``neurochip lava check``); without it the
last step is skipped and said so.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=6, help="float training epochs")
    ap.add_argument("--finetune", type=int, default=3, help="on-chip fine-tuning epochs")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--lava-samples", type=int, default=20)
    ap.add_argument("--out", default=None, help="folder for the files (default: a temporary one)")
    a = ap.parse_args(argv)

    from neurochip import checkpoint
    from neurochip.data import load_dataset
    from neurochip.engine import Engine
    from neurochip.network import NetworkConfig, NetworkState
    from neurochip.nir_export import export_nir
    from neurochip.nir_import import import_nir
    from neurochip.profile import load_profile
    from neurochip.train import History, evaluate, fit

    out = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="nir_demo_"))
    out.mkdir(parents=True, exist_ok=True)
    ds = load_dataset("digits", None, 0)
    loihi = load_profile("loihi")
    info = {"name": "digits", "seed": 0}
    t0 = time.perf_counter()

    def acc(engine):
        return evaluate(engine, ds.x_test, ds.y_test)["accuracy"]

    # 1. float training (neurochip's float OTTT reference)
    fcfg = NetworkConfig(sizes=(ds.n_features, a.hidden, ds.n_classes), precision="float", timesteps=8, lr=0.05)
    feng = Engine(fcfg, loihi)
    fit(feng, ds, a.epochs, History(), None, None, 0)
    print(f"1. float network trained by neurochip ({a.epochs} epochs): test accuracy {acc(feng):.4f}")

    # 2. to NIR
    f_nir = out / "float.nir"
    export_nir(feng, f_nir)
    import nir
    g = nir.read(str(f_nir))
    print(f"2. exported to {f_nir}: nir.read gives {len(g.nodes)} nodes ({', '.join(type(n).__name__ for n in g.nodes.values())})")

    # 3. re-imported onto loihi integers, with the mapping report
    ieng, rep, _ = import_nir(f_nir, loihi, data=ds)
    for line in rep.lines():
        print("   " + line)
    net = out / "imported.h5"
    checkpoint.save(net, ieng, History(), info)
    print(f"3. imported to loihi integers: test accuracy {acc(ieng):.4f} (float {rep.float_acc:.4f}); checkpoint {net}")

    # 4. fine-tuned on chip with OTTT (what `neurochip train --init imported.h5` does)
    src, _, _ = checkpoint.load(net)
    cfg = dataclasses.replace(src.cfg, lr=0.01, lr_horizon=a.finetune)
    st = src.state()
    teng = Engine(cfg, src.profile, NetworkState(cfg, st.weights, st.shadow, st.bias, st.feedback))
    h = fit(teng, ds, a.finetune, History(), None, None, 0)
    tuned = out / "tuned.h5"
    checkpoint.save(tuned, teng, h, info)
    print(f"4. fine-tuned on chip ({a.finetune} epochs OTTT, lr 0.01): test accuracy {acc(teng):.4f}; checkpoint {tuned}")

    # 5. Lava
    try:
        from neurochip.lava.compat import require_lava
        from neurochip.lava.export import compare
        require_lava()
    except Exception as e:   # noqa: BLE001  (Lava missing or unusable: say why, do the rest)
        print(f"5. Lava: skipped ({' '.join(str(e).split())[:160]})")
    else:
        n = a.lava_samples
        c = compare(teng, ds.x_test[:n], ds.y_test[:n])
        print(f"5. exported to Lava, {c.samples} samples: accuracy neurochip {c.acc_neurochip:.4f}, Lava {c.acc_lava:.4f};"
              f" differing spikes {sum(d.spike_mismatches for d in c.layers)}, predictions {c.pred_mismatches}"
              f" -> {'EXACT' if c.exact else 'MISMATCH'}")

    # 6. back to NIR, and re-imported: identical integers
    t_nir = out / "tuned.nir"
    export_nir(teng, t_nir)
    back, _, _ = import_nir(t_nir, loihi)
    same = all(np.array_equal(x, y) for x, y in zip(teng.weights(), back.weights())) and np.array_equal(teng.B, back.B)
    print(f"6. tuned network to {t_nir} and re-imported: identical integer weights and biases: {same};"
          f" test accuracy {acc(back):.4f}")
    print(f"({time.perf_counter() - t0:.1f} s; files in {out})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
