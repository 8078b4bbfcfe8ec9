"""Lava inference export of layer kinds (neurochip/lava/export_layers.py): conv, pools, flatten,
recurrent dense and CUBA neurons run in Lava's fixed-point simulator with 0 mismatching spikes,
membranes and predictions against neurochip's integer kernels, on briefly trained networks.

No Lava Process is defined in this directory (Lava imports every .py next to a Process's module).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from neurochip.engine import Engine
from neurochip.errors import NeurochipError
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile
from tests.test_lava_export import _need_lava


def trained(arch, encoder, T=4, n=120, seed=0, profile="loihi", **kw):
    from neurochip.data import load_dataset
    ds = load_dataset("digits", None, 0)
    cfg = NetworkConfig(sizes=(64, 10), arch=arch, timesteps=T, encoder=encoder, seed=seed, **kw)
    eng = Engine(cfg, load_profile(profile))
    eng.run(eng.prepare(ds.x_train[:n]), ds.y_train[:n], np.arange(n), True)
    return eng, ds


@pytest.mark.parametrize("arch,encoder", [
    ("c4k3-p2-d16", "rate"),                        # Lava Conv, sum pool as Conv, flatten into Dense
    ("c4k3s2p1-a2u2-r16u1-d10", "direct"),          # graded conv as unrolled Dense, avg pool CUBA, recurrent CUBA
    ("c3k3p1-c4k3s2-p2-d12u3", "rate"),             # conv after conv (stride), CUBA dense
    ("r24-d10", "latency"),                         # recurrent: its buffer cleared at every sample start
])
def test_lava_layers_exact(arch, encoder):
    _need_lava()
    from neurochip.lava.export import compare
    eng, ds = trained(arch, encoder)
    c = compare(eng, ds.x_test[:6], ds.y_test[:6])
    assert c.exact, [(d.layer, d.spike_mismatches, d.v_mismatches, d.weight_changes, d.first_mismatch) for d in c.layers]
    assert c.pred_mismatches == 0 and c.engine_reference_mismatches == 0
    assert all(d.spikes_neurochip > 0 for d in c.layers[:-1]), "a hidden layer stayed silent: nothing compared"


def test_lava_layers_spiking_readout():
    _need_lava()
    from neurochip.lava.export import compare
    eng, ds = trained("c4k3-p2-r16", "rate", readout="spiking", loss="count")
    c = compare(eng, ds.x_test[:6], ds.y_test[:6])
    assert c.exact and c.layers[-1].spikes_neurochip > 0


def test_lava_layers_notice_a_wrong_du():
    """The comparison can fail: a CUBA layer exported with the current-less du disagrees."""
    _need_lava()
    from neurochip.lava import export_layers as el
    eng, ds = trained("d16u2-d10", "rate")
    ex = el.export_layers(eng)
    assert ex["layers"][0]["du"] == (4096 >> 2) - 1
    ex["layers"][0]["du"] = 4095
    R = el.input_raster(eng, eng.prepare(ds.x_test[:4]), np.arange(4))
    ref = el.reference_layers(eng, R)
    spikes, vs, us, eff, dt = el.run_lava_layers(ex, R)
    assert np.count_nonzero(vs[0] != ref.v[0]) > 0


def test_export_refusals():
    eng, _ = trained("c4k3-d10", "rate", n=2, profile="generic")
    from neurochip.lava.export import compare, export_network
    from neurochip.lava.export_layers import export_layers
    with pytest.raises(NeurochipError, match="layer kinds export with stock Lava processes only, and profile 'generic'"):
        export_layers(eng)
    with pytest.raises(NeurochipError, match=r"layer 0 \(c4k3\): this export writes dense layers"):
        export_network(eng)
    eng, _ = trained("c4k3-d10", "rate", n=2)
    with pytest.raises(NeurochipError, match="stock Lava processes only"):
        compare(eng, np.zeros((1, 64)), np.zeros(1), force_custom=True)


def test_cli_lava_run_arch(tmp_path):
    _need_lava()
    from neurochip import checkpoint
    from neurochip.cli import main
    from neurochip.train import History
    eng, _ = trained("c4k3-a2-r16-d10", "rate")
    p = tmp_path / "c.h5"
    checkpoint.save(p, eng, History(), {"name": "digits", "seed": 0})
    res = CliRunner().invoke(main, ["lava", "run", str(p), "--samples", "4", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output.strip().splitlines()[-1])
    assert d["exact"] and d["pred_mismatches"] == 0
    res = CliRunner().invoke(main, ["lava", "run", str(p), "--samples", "2"])
    assert res.exit_code == 0 and "simulation only where a note says so" in res.output and "EXACT" in res.output


@pytest.mark.parametrize("arch,msg", [("c4k3-d10", "Error: layer 0 (c4k3) cannot learn in Lava: its weights are shared"),
                                      ("d16-r8", "Error: layer 1 (r8) cannot learn in Lava: recurrent"),
                                      ("d16u2", "Error: layer 0 (d16u2) cannot learn in Lava"),
                                      ("d8-d8", "Error: layer 1 (d8): Lava learning runs at most one hidden layer")])
def test_lava_learn_refuses_layer_kinds(arch, msg):
    from neurochip.cli import main
    res = CliRunner().invoke(main, ["lava", "learn", "--arch", arch, "--samples", "2"])
    assert res.exit_code == 2 and res.output.strip().splitlines()[-1].startswith(msg), res.output


@pytest.mark.parametrize("arch,msg", [("r16", "Error: layer 0 (r16) cannot learn in Lava: recurrent hidden layers are "
                                               "exported as learning layers only"),
                                      ("r16 --feedback random --hidden 8", "Error: give --hidden or --arch, not both"),
                                      ("d16-r8 --feedback random", "Error: layer 1 (r8): Lava learning runs at most one"),
                                      ("r16u2 --feedback random", "Error: layer 0 (r16u2) cannot learn in Lava: the "
                                                                  "learning emulation models current-less neurons"),
                                      ("c4k3-r8 --feedback random", "Error: layer 0 (c4k3) cannot learn in Lava")])
def test_lava_learn_recurrent_combinations(arch, msg):
    """A recurrent hidden layer learns in Lava only with random feedback, alone, current-less."""
    from neurochip.cli import main
    args = arch.split()
    res = CliRunner().invoke(main, ["lava", "learn", "--arch", args[0], "--samples", "2"] + args[1:])
    assert res.exit_code == 2 and res.output.strip().splitlines()[-1].startswith(msg), res.output
    assert len(res.output.strip().splitlines()) == 1
