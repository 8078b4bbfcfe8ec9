"""Layer specs, the --arch grammar, TOML network files, checkpoints and the CLI for layer kinds."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from neurochip import checkpoint
from neurochip.engine import Engine
from neurochip.errors import NeurochipError
from neurochip.layers import (AvgPool2d, Conv2d, Dense, Flatten, RecurrentDense, SumPool2d, arch_from_toml,
                              canonical_arch, n_connections, parse_arch)
from neurochip.network import NetworkConfig, init_state
from neurochip.profile import load_profile
from neurochip.train import History


def test_parse_shapes_and_readout():
    s = parse_arch("c8k3-p2-c16k3-p2-d64", 784, 10)
    assert [type(x) for x in s] == [Conv2d, SumPool2d, Conv2d, SumPool2d, Flatten, Dense, Dense]
    assert s[0].in_shape == (1, 28, 28) and s[0].out_shape == (8, 26, 26)
    assert s[1].out_shape == (8, 13, 13) and s[2].out_shape == (16, 11, 11) and s[3].out_shape == (16, 5, 5)
    assert s[5] == Dense(400, 64) and s[6] == Dense(64, 10)
    with pytest.raises(NeurochipError, match="layer 3 'p2': pool 2x2 is larger than its 1x1 input"):
        parse_arch("c8k3-p2-c16k3-p2-d64", 64, 10)          # too deep for 8x8 digits
    s = parse_arch("c16k5-p2-c32k3-p2-d10", 784, 10)
    assert s[0].out_shape == (16, 24, 24) and s[1].out_shape == (16, 12, 12)
    assert s[2].out_shape == (32, 10, 10) and s[3].out_shape == (32, 5, 5)
    assert isinstance(s[4], Flatten) and s[5] == Dense(800, 10) and len(s) == 6     # d10 is the readout
    assert canonical_arch(s) == "c16k5-p2-c32k3-p2-f-d10"
    s = parse_arch("c4k3s2p1u3-a2-r20u2", 36, 3, (1, 6, 6))
    assert s[0] == Conv2d((1, 6, 6), 4, 3, 2, 1, 3) and s[0].out_shape == (4, 3, 3)
    assert isinstance(s[1], AvgPool2d) and s[1].shift == 2 and s[1].out_shape == (4, 1, 1)
    assert s[3] == RecurrentDense(4, 20, 2) and s[3].weight_shape == (24, 20) and s[-1] == Dense(20, 3)
    # canonical strings parse to themselves
    for a in ("c8k3-p2-c16k3-p2-d64", "c4k3s2p1u3-a2-r20u2", "d32u3"):
        c = canonical_arch(parse_arch(a, 784, 10))
        assert canonical_arch(parse_arch(c, 784, 10)) == c


def test_connections():
    c = Conv2d((1, 4, 4), 2, 3, 1, 1)          # 4x4 out, padding 1: 4*3-2 = 10 valid (oy, ky) per axis
    assert c.out_shape == (2, 4, 4) and n_connections(c) == 10 * 10 * 2
    assert n_connections(SumPool2d((3, 5, 5), 2)) == 3 * 4 * 4
    assert n_connections(RecurrentDense(5, 4)) == 9 * 4


@pytest.mark.parametrize("arch,shape,msg", [
    ("c8x3", (), "layer 0 'c8x3' does not parse"),
    ("c8k3--d4", (), "layer 1 '' does not parse"),
    ("c4k9-d32", (), "layer 0 'c4k9': kernel 9 is larger than its 8x8 input"),
    ("d32-c4k3", (), "layer 1 'c4k3' needs a (C, H, W) image input"),
    ("c4-d3", (), "needs a kernel size"),
    ("p9", (), "layer 0 'p9': pool 9x9 is larger"),
    ("c4k3p3", (), "padding 3 must be smaller than the kernel 3"),
    ("d4u13", (), "outside [0, 12]"),
    ("d4k3", (), "only convolutions take k/s/p"),
    ("f-d4", (), "already flat"),
    ("c2k3", (2, 4, 4), "input shape 2x4x4 does not hold the 64"),
    ("c2k3", (), None),
])
def test_bad_arch(arch, shape, msg):
    if msg is None:
        parse_arch(arch, 64, 10, shape)
        return
    with pytest.raises(NeurochipError) as e:
        parse_arch(arch, 64, 10, shape)
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_non_square_input_needs_a_shape():
    with pytest.raises(NeurochipError, match="image input"):
        parse_arch("c2k3", 60, 3)
    assert parse_arch("c2k3", 60, 3, (1, 6, 10))[0].out_shape == (2, 4, 8)


def test_recurrent_flag_refused_with_arch():
    with pytest.raises(NeurochipError, match="in --arch write r<n>"):
        NetworkConfig(sizes=(64, 10), arch="d8", precision="float", recurrent=True)
    NetworkConfig(sizes=(64, 10), arch="c4k3", precision="float")     # the float layer reference


def test_pool_weight_exponent_error_names_the_layer():
    import dataclasses
    prof = load_profile("loihi")
    prof = dataclasses.replace(prof, synapse=dataclasses.replace(prof.synapse, weight_exp_max=4))
    from neurochip.network import int_layout
    int_layout(NetworkConfig(sizes=(64, 10), arch="p2-d4", encoder="rate"), load_profile("loihi"))   # fits: M = 16
    with pytest.raises(NeurochipError, match=r"layer 0 \(p2\): weight exponent 5 is outside"):
        int_layout(NetworkConfig(sizes=(64, 10), arch="p2-d4", encoder="rate"), prof)


def test_toml_network(tmp_path):
    p = tmp_path / "net.toml"
    p.write_text('input_shape = [1, 8, 8]\n[[layer]]\ntype = "conv"\nout_channels = 4\nkernel = 3\n'
                 '[[layer]]\ntype = "avgpool"\nkernel = 2\n[[layer]]\ntype = "recurrent"\nsize = 16\nk_u = 2\n')
    arch, shape = arch_from_toml(p)
    assert shape == (1, 8, 8)
    cfg = NetworkConfig(sizes=(64, 10), arch=arch, input_shape=shape)
    assert cfg.arch == "c4k3-a2-f-r16u2-d10" and cfg.sizes == (64, 144, 36, 16, 10)
    p.write_text('[[layer]]\ntype = "conv"\nkernel = 3\n')
    with pytest.raises(NeurochipError, match=r"layer 0 \(conv\) needs 'out_channels'"):
        arch_from_toml(p)
    p.write_text('[[layer]]\ntype = "dense"\nsize = 4\nkernel = 2\n')
    with pytest.raises(NeurochipError, match="unknown key 'kernel'"):
        arch_from_toml(p)
    p.write_text('[[layer]]\ntype = "lstm"\n')
    with pytest.raises(NeurochipError, match="type must be one of"):
        arch_from_toml(p)


def test_full_kernel_conv_equals_dense():
    """A conv whose kernel covers the whole input at one position is a dense layer: same weights,
    same learning (one product per shared weight, same rounding and PRNG order)."""
    prof = load_profile("loihi")
    cfg_c = NetworkConfig(sizes=(64, 10), arch="c12k8-d10", timesteps=5, lr=1.0, lr_schedule="constant", seed=3)
    cfg_d = NetworkConfig(sizes=(64, 12, 10), timesteps=5, lr=1.0, lr_schedule="constant", seed=3)
    sc, sd = init_state(cfg_c, prof), init_state(cfg_d, prof)
    sd.weights = [sc.weights[0].reshape(64, 12).copy(), sc.weights[1].copy()]
    ec, ed = Engine(cfg_c, prof, sc), Engine(cfg_d, prof, sd)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (6, 64)), rng.integers(0, 10, 6)
    pc = ec.run(ec.prepare(x), y, np.arange(6), True)
    pd = ed.run(ed.prepare(x), y, np.arange(6), True)
    assert list(pc) == list(pd)
    assert not np.array_equal(ec.weights()[0].reshape(64, 12), sc.weights[0].reshape(64, 12)), "nothing learned"
    np.testing.assert_array_equal(ec.weights()[0].reshape(64, 12), ed.weights()[0])
    np.testing.assert_array_equal(ec.weights()[1], ed.weights()[1])
    assert int(ec.rng[0]) == int(ed.rng[0])


def test_checkpoint_round_trip(tmp_path):
    prof = load_profile("loihi")
    cfg = NetworkConfig(sizes=(64, 10), arch="c4k3p1-p2-r12u2-d10", timesteps=4, rule="ottt-a", shadow_weight_bits=12)
    eng = Engine(cfg, prof)
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 1, (4, 64)), rng.integers(0, 10, 4)
    eng.run(eng.prepare(x), y, np.arange(4), True)
    p = tmp_path / "c.h5"
    checkpoint.save(p, eng, History(), {"name": "digits", "seed": 0})
    eng2, _, _ = checkpoint.load(p)
    assert eng2.cfg == eng.cfg and eng2.cfg.arch == "c4k3p1-p2-f-r12u2-d10"
    assert [w.shape for w in eng2.weights()] == [(1, 3, 3, 4), (0,), (76, 12), (12, 10)]
    for a, b in zip(eng.weights(), eng2.weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(eng.shadow(), eng2.shadow()):
        np.testing.assert_array_equal(a, b)
    xin = eng.prepare(x)
    assert list(eng.run(xin, y, np.arange(4), False)) == list(eng2.run(xin, y, np.arange(4), False))
    # a checkpoint whose weights have the wrong shape for its arch is refused
    import h5py
    with h5py.File(p, "a") as f:
        del f["weights/W0"]
        f["weights/W0"] = np.zeros((4, 3, 3, 1), np.int8)
    with pytest.raises(NeurochipError, match=r"/weights/W0 has shape \(4, 3, 3, 1\), the config wants \(1, 3, 3, 4\)"):
        checkpoint.load(p)


def test_old_config_dicts_are_dense():
    d = NetworkConfig(sizes=(64, 32, 10)).to_dict()
    del d["arch"], d["input_shape"]                   # written before layer kinds existed
    cfg = NetworkConfig.from_dict(d)
    assert cfg.arch == "" and [type(x) for x in cfg.layers] == [Dense, Dense] and cfg.plain_dense


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "neurochip.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_train_eval_energy_with_arch(tmp_path):
    out = tmp_path / "c.h5"
    r = _cli("train", "--arch", "c4k3-p2-d16", "--epochs", "1", "-T", "3", "--train-eval", "0", "--out", str(out),
             "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout.strip().splitlines()[-1])
    assert d["config"]["arch"] == "c4k3-p2-f-d16-d10" and d["config"]["input_shape"] == [1, 8, 8]
    assert d["test_accuracy"] > 0.3
    r = _cli("eval", str(out), "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["accuracy"] == d["test_accuracy"]
    r = _cli("energy", str(out), "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert "c4k3" in json.dumps(rep)
    for args, msg in ((("--arch", "c4k99"), "Error: --arch layer 0 'c4k99': kernel 99 is larger"),
                      (("--arch", "c4k3", "--hidden", "8"), "Error: give one of --hidden, --arch, --network"),
                      (("--arch", "c4k3", "--input-shape", "1x8"), "Error: --input-shape must be three"),
                      (("--hidden", "8", "--input-shape", "1x8x8"), "Error: --input-shape describes the input")):
        r = _cli("train", *args, "--epochs", "1", cwd=tmp_path)
        assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith(msg), r.stderr


@pytest.mark.parametrize("pixel,fanout", [((3, 3), 9 * 5), ((0, 0), 5), ((0, 3), 3 * 5)])
def test_conv_counts_neurobench(pixel, fanout):
    """NeuroBench: a conv input event fans out to k x k x C_out synaptic ops (fewer at the border,
    where kernel offsets fall outside the output); Dense counts every real connection."""
    prof = load_profile("loihi")
    cfg = NetworkConfig(sizes=(49, 3), arch="c5k3-d3", timesteps=4)
    eng = Engine(cfg, prof)
    x = np.zeros((1, 49))
    x[0, pixel[0] * 7 + pixel[1]] = 1.0
    eng.reset_counters()
    eng.run(eng.prepare(x), np.zeros(1, np.int64), np.arange(1), False)
    from neurochip.counters import OPS
    col = lambda k: int(eng.ops[0, OPS.index(k)])     # noqa: E731
    assert col("pre_events") == 4 and col("pre_values") == 4 * 49
    assert col("syn_ops") == 4 * fanout
    assert col("dense_ops") == 4 * 5 * 5 * 5 * 9
    assert col("eff_syn_ops") <= col("syn_ops")


def test_resources_report_shared_weights():
    from neurochip.energy.resources import resources
    prof = load_profile("loihi")
    eng = Engine(NetworkConfig(sizes=(64, 10), arch="c4k3-p2-r16-d10"), prof)
    fit = resources(eng, prof)["inference"]
    rows = fit["layers"]
    assert rows[0]["fan_in"] == 9 and rows[0]["shared_weights"] == 36 and rows[0]["synapses"] == 36 * 36
    assert rows[1]["fan_in"] == 4 and "shared_weights" not in rows[1]
    assert rows[2]["fan_in"] == 36 + 16 and rows[2]["synapses"] == 52 * 16
    dense = resources(Engine(NetworkConfig(sizes=(64, 16, 10)), prof), prof)["inference"]["layers"]
    assert "shared_weights" not in dense[0] and dense[0]["fan_in"] == 64


def test_integer_recurrent_solves_which_came_first():
    """tests/test_recurrent.py's task in integers on a memoryless chip (leak_shift 0): the recurrent
    layer learns it on chip, the feed-forward one cannot (scripts/bench_layers.py measures 3 seeds)."""
    from tests.test_recurrent import which_first
    from neurochip.engine import accuracy
    from neurochip.train import epoch_order
    mem = load_profile("loihi").with_overrides(neuron={"leak_shift": 0})
    x, y = which_first(1200, 1)
    xt, yt = which_first(400, 2)
    acc = {}
    for arch in ("d16", "r16"):
        cfg = NetworkConfig(sizes=(2, 2), arch=arch, timesteps=8, encoder="latency", readout_leak_shift=0, lr=0.5,
                            lr_schedule="constant", init_gain=4.0, seed=0)
        eng = Engine(cfg, mem)
        xin = eng.prepare(x)
        for ep in range(4):
            eng.run(xin, y, epoch_order(0, ep, len(y)), True)
        acc[arch] = accuracy(eng.run(eng.prepare(xt), yt, np.arange(len(yt)), False), yt)
    assert acc["d16"] < 0.7 and acc["r16"] > 0.95, acc


def test_memory_flat_in_T():
    """OTTT on chip keeps no per-step state: every array of the integer back end has the same size
    at T = 4 and T = 64, for every layer kind."""
    prof = load_profile("loihi")
    for arch in ("c4k3-a2u2-r16-d10", "c4k3p1-p2-d8"):
        sizes = []
        for T in (4, 64):
            eng = Engine(NetworkConfig(sizes=(64, 10), arch=arch, timesteps=T), prof)
            eng.run(eng.prepare(np.full((2, 64), 0.5)), np.zeros(2, np.int64), np.arange(2), True)
            sizes.append({k: v.nbytes for k, v in vars(eng.backend).items() if isinstance(v, np.ndarray)})
        assert sizes[0] == sizes[1]


def test_float_layers_checkpoint_round_trip(tmp_path):
    prof = load_profile("loihi")
    cfg = NetworkConfig(sizes=(64, 10), arch="c3k3-p2-r8-d10", timesteps=3, precision="float")
    eng = Engine(cfg, prof)
    x, y = np.random.default_rng(0).uniform(0, 1, (3, 64)), np.arange(3)
    eng.run(eng.prepare(x), y, np.arange(3), True)
    p = tmp_path / "f.h5"
    checkpoint.save(p, eng, History(), {"name": "digits", "seed": 0})
    eng2, _, _ = checkpoint.load(p)
    for a, b in zip(eng.weights(), eng2.weights()):
        np.testing.assert_array_equal(a, b)
    xin = eng.prepare(x)
    assert list(eng.run(xin, y, np.arange(3), False)) == list(eng2.run(xin, y, np.arange(3), False))


def test_energy_untrained_arch(tmp_path):
    r = _cli("energy", "--arch", "c4k3-p2-d16", "--json", "--learn-samples", "20", "--samples", "20", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["network"]["arch"] == "c4k3-p2-f-d16-d10"
    r = _cli("energy", "--arch", "c4k3", "--hidden", "8", cwd=tmp_path)
    assert r.returncode == 2 and "give --hidden or --arch, not both" in r.stderr


def test_cli_train_network_file(tmp_path):
    net = tmp_path / "net.toml"
    net.write_text('input_shape = [1, 8, 8]\n[[layer]]\ntype = "conv"\nout_channels = 3\nkernel = 3\n'
                   '[[layer]]\ntype = "sumpool"\nkernel = 2\n[[layer]]\ntype = "recurrent"\nsize = 12\nk_u = 1\n')
    r = _cli("train", "--network", str(net), "--epochs", "1", "-T", "3", "--train-eval", "0", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout.strip().splitlines()[-1])
    assert d["config"]["arch"] == "c3k3-p2-f-r12u1-d10" and d["config"]["sizes"] == [64, 108, 27, 12, 10]
    r = _cli("train", "--network", str(net), "--input-shape", "1x4x16", "--epochs", "1", cwd=tmp_path)
    assert r.returncode == 2 and "contradicts the network file's input_shape" in r.stderr
    r = _cli("train", "--network", str(tmp_path / "missing.toml"), "--epochs", "1", cwd=tmp_path)
    assert r.returncode == 2 and "does not exist" in r.stderr
