"""NIR import and export (docs/nir.md).

Graphs are built with the ``nir`` package the way the exporters write them (snnTorch's
``export_nir.py``: dt = 1e-4, ``tau = dt / (1 - beta)``, ``r = tau / dt``, Synaptic/RSynaptic as
CubaLIF with ``w_in = tau_syn / dt``, RSynaptic as a subgraph with a recurrent Linear; Norse's
``export_nir.py``: ``tau = 1 / tau_mem_inv``, ``r = 1``, v_reset/v_leak written, dt = 1e-3).
The float import is checked against an independent forward-Euler simulation of the NIR ODEs
written here, node by node; values are dyadic so both are exact in float64.
"""
from __future__ import annotations

import math

import h5py
import nir
import numpy as np
import pytest
from click.testing import CliRunner

from neurochip.cli import main
from neurochip.data import load_dataset
from neurochip.engine import Engine
from neurochip.errors import NeurochipError
from neurochip.network import NetworkConfig
from neurochip.nir_export import export_nir
from neurochip.nir_import import import_nir, nearest_shift, simulate_float
from neurochip.profile import load_profile
from neurochip.train import evaluate

LOIHI = load_profile("loihi")
SNNTORCH_DT = 1e-4
NORSE_DT = 1e-3


def dyadic(rng, shape, scale, den=32):
    return np.round(rng.uniform(-scale, scale, shape) * den) / den


# ---------------------------------------------------------------- graphs as the exporters write them

def snn_leaky(n, beta, thr=1.0):
    """snnTorch Leaky -> nir.LIF (snntorch/export_nir.py)."""
    beta = np.full(n, float(beta))
    tau = SNNTORCH_DT / (1 - beta)
    return nir.LIF(tau=tau, v_threshold=np.full(n, float(thr)), v_leak=np.zeros(n), r=tau / SNNTORCH_DT)


def snn_synaptic(n, alpha, beta, thr=1.0):
    """snnTorch Synaptic -> nir.CubaLIF (snntorch/export_nir.py)."""
    alpha, beta = np.full(n, float(alpha)), np.full(n, float(beta))
    tau_syn, tau_mem = SNNTORCH_DT / (1 - alpha), SNNTORCH_DT / (1 - beta)
    return nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, v_threshold=np.full(n, float(thr)), v_leak=np.zeros(n),
                       r=tau_mem / SNNTORCH_DT, w_in=tau_syn / SNNTORCH_DT)


def norse_lifbox(n, tau_mem_inv, v_th=1.0):
    """Norse LIFBoxCell -> nir.LIF (norse/torch/utils/export_nir.py, time_scaling_factor 1)."""
    return nir.LIF(tau=np.full(n, 1.0 / tau_mem_inv), v_threshold=np.full(n, float(v_th)), v_leak=np.zeros(n),
                   r=np.ones(n), v_reset=np.zeros(n))


def norse_libox(n, tau_mem_inv):
    return nir.LI(tau=np.full(n, 1.0 / tau_mem_inv), v_leak=np.zeros(n), r=np.ones(n))


def seq_graph(layers, n_in):
    """Input -> (Affine -> neuron)* -> Output, nodes named fc{i}, lif{i}."""
    nodes = {"input": nir.Input(input_type=np.array([n_in]))}
    edges, prev = [], "input"
    for i, (conn, neuron) in enumerate(layers):
        nodes[f"fc{i}"], nodes[f"lif{i}"] = conn, neuron
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        prev = f"lif{i}"
    nodes["output"] = nir.Output(output_type=np.array([layers[-1][0].weight.shape[0]]))
    edges.append((prev, "output"))
    return nir.NIRGraph(nodes=nodes, edges=edges)


def rsynaptic(w_rec, alpha, beta, thr=1.0):
    """snnTorch RSynaptic (all_to_all) -> subgraph input -> lif <-> w_rec, lif -> output."""
    n = w_rec.shape[0]
    return nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([n])), "lif": snn_synaptic(n, alpha, beta, thr),
                               "w_rec": nir.Linear(weight=w_rec), "output": nir.Output(output_type=np.array([n]))},
                        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])


# ---------------------------------------------------------------- an independent slow simulation of the ODEs

def ode_sim(stages, x, T, dt):
    """Forward Euler of the NIR ODEs, one sample at a time, neuron by neuron. ``stages``: list of
    (connection node, neuron node, recurrent Linear node or None). Returns (spikes per layer
    (n, T, n_l), the readout's summed membrane (n, n_out))."""
    n = x.shape[0]
    out_spk = [np.zeros((n, T, st[0].weight.shape[0]), np.uint8) for st in stages]
    outsum = np.zeros((n, stages[-1][0].weight.shape[0]))
    for smp in range(n):
        I = [np.zeros(st[0].weight.shape[0]) for st in stages]
        v = [np.zeros(st[0].weight.shape[0]) for st in stages]
        s = [np.zeros(st[0].weight.shape[0]) for st in stages]
        for t in range(T):
            inp = x[smp]
            for li, (conn, nd, rec) in enumerate(stages):
                S = conn.weight @ inp + (conn.bias if isinstance(conn, nir.Affine) else 0.0)
                if rec is not None:
                    S = S + rec.weight @ s[li]          # spikes of the previous step
                new_s = np.zeros_like(S)
                for i in range(S.shape[0]):
                    if isinstance(nd, (nir.CubaLIF, nir.CubaLI)):
                        I[li][i] += dt / nd.tau_syn[i] * (-I[li][i] + nd.w_in[i] * S[i])
                        drive, tau = I[li][i], nd.tau_mem[i]
                    else:
                        drive, tau = S[i], nd.tau[i]
                    v[li][i] += dt / tau * (nd.v_leak[i] - v[li][i] + nd.r[i] * drive)
                    if isinstance(nd, (nir.LIF, nir.CubaLIF)) and v[li][i] > nd.v_threshold[i]:
                        new_s[i] = 1.0
                        v[li][i] = nd.v_reset[i]
                s[li] = new_s
                out_spk[li][smp, t] = new_s
                inp = new_s
            outsum[smp] += v[-1]
    return out_spk, outsum


def _write(g, tmp_path, name="g.nir"):
    p = tmp_path / name
    nir.write(str(p), g)
    return p


def _inputs(rng, n, n_in):
    return rng.integers(0, 9, (n, n_in)) / 8.0


# ---------------------------------------------------------------- float import == the ODEs

def test_snntorch_leaky_float_import_equals_ode(tmp_path):
    rng = np.random.default_rng(1)
    w0, b0 = dyadic(rng, (24, 16), 0.6), dyadic(rng, 24, 0.1, 64)
    w1, b1 = dyadic(rng, (10, 24), 0.7), dyadic(rng, 10, 0.1, 64)
    l0, l1 = snn_leaky(24, 0.5, thr=0.5), snn_leaky(10, 0.75)
    g = seq_graph([(nir.Affine(w0, b0), l0), (nir.Affine(w1, b1), l1)], 16)
    p = _write(g, tmp_path)
    x = _inputs(rng, 40, 16)
    eng, rep, layers = import_nir(p, LOIHI, precision="float", timesteps=12)
    assert [m.k for m in rep.layers] == [1, 2] and [m.tau_err for m in rep.layers] == [0.0, 0.0]
    pred, spk = simulate_float(layers, x, 12)
    ode_spk, _ = ode_sim([(g.nodes["fc0"], l0, None), (g.nodes["fc1"], l1, None)], x, 12, SNNTORCH_DT)
    assert sum(a.sum() for a in ode_spk) > 100            # the network is active
    for a, b in zip(spk, ode_spk):
        np.testing.assert_array_equal(a, b)
    # neurochip's float reference kernel (float32) runs the same network: same predictions
    y = np.zeros(len(x), np.int64)
    np.testing.assert_array_equal(evaluate(eng, x, y)["pred"], pred)


def test_norse_lifbox_li_readout_float_import_equals_ode(tmp_path):
    rng = np.random.default_rng(2)
    w0, b0 = dyadic(rng, (20, 12), 2.0), np.zeros(20)
    w1, b1 = dyadic(rng, (6, 20), 1.5), dyadic(rng, 6, 0.5)
    l0, l1 = norse_lifbox(20, 500.0, v_th=0.25), norse_libox(6, 250.0)    # dt/tau = 1/2, 1/4 at dt 1e-3
    g = seq_graph([(nir.Affine(w0, b0), l0), (nir.Affine(w1, b1), l1)], 12)
    p = _write(g, tmp_path)
    x = _inputs(rng, 30, 12)
    eng, rep, layers = import_nir(p, LOIHI, dt=NORSE_DT, precision="float", timesteps=10)
    assert eng.cfg.readout == "integrator" and [m.k for m in rep.layers] == [1, 2]
    pred, spk = simulate_float(layers, x, 10)
    ode_spk, outsum = ode_sim([(g.nodes["fc0"], l0, None), (g.nodes["fc1"], l1, None)], x, 10, NORSE_DT)
    assert ode_spk[0].sum() > 50
    np.testing.assert_array_equal(spk[0], ode_spk[0])
    np.testing.assert_array_equal(pred, np.argmax(outsum, 1))
    np.testing.assert_array_equal(evaluate(eng, x, np.zeros(len(x), np.int64))["pred"], pred)


def test_snntorch_rsynaptic_recurrent_cuba_equals_ode(tmp_path):
    """RSynaptic: a subgraph with the recurrent Linear; CubaLIF current; Leaky readout."""
    rng = np.random.default_rng(3)
    w0 = dyadic(rng, (16, 10), 0.5)
    wr = dyadic(rng, (16, 16), 0.4)
    w1 = dyadic(rng, (5, 16), 0.8)
    sub = rsynaptic(wr, alpha=0.5, beta=0.75)
    l1 = snn_leaky(5, 0.5)
    g = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([10])), "fc0": nir.Linear(weight=w0), "rsyn": sub,
                            "fc1": nir.Affine(w1, np.zeros(5)), "lif1": l1, "output": nir.Output(output_type=np.array([5]))},
                     edges=[("input", "fc0"), ("fc0", "rsyn"), ("rsyn", "fc1"), ("fc1", "lif1"), ("lif1", "output")])
    p = _write(g, tmp_path)
    x = _inputs(rng, 25, 10)
    eng, rep, layers = import_nir(p, LOIHI, timesteps=12)
    assert eng.cfg.arch == "r16u1-d5" and rep.layers[0].recurrent and rep.layers[0].k_u == 1
    _, spk = simulate_float(layers, x, 12)
    ode_spk, _ = ode_sim([(g.nodes["fc0"], sub.nodes["lif"], sub.nodes["w_rec"]), (g.nodes["fc1"], l1, None)], x, 12,
                         SNNTORCH_DT)
    assert ode_spk[0].sum() > 50
    for a, b in zip(spk, ode_spk):
        np.testing.assert_array_equal(a, b)
    # neurochip's float reference for layer kinds (kernels/ottt_float_layers.py) runs it too
    feng, _, _ = import_nir(p, LOIHI, precision="float", timesteps=12)
    pred, _ = simulate_float(layers, x, 12)
    np.testing.assert_array_equal(evaluate(feng, x, np.zeros(len(x), np.int64))["pred"], pred)


def test_leak_maps_to_nearest_shift_and_reports_tau_error(tmp_path):
    rng = np.random.default_rng(4)
    g = seq_graph([(nir.Affine(dyadic(rng, (8, 4), 1.0), np.zeros(8)), snn_leaky(8, 0.9)),
                   (nir.Affine(dyadic(rng, (6, 8), 1.0), np.zeros(6)), snn_leaky(6, 0.93)),
                   (nir.Affine(dyadic(rng, (3, 6), 1.0), np.zeros(3)), snn_leaky(3, 0.97))], 4)
    _, rep, _ = import_nir(_write(g, tmp_path), LOIHI)
    # beta 0.9: 0.875 (k 3) is nearer than 0.9375; tau 10 dt -> 8 dt; beta 0.93: 0.9375 (k 4) is nearer
    # than 0.875, 14.3 dt -> 16 dt; beta 0.97: 0.96875 (k 5), 33.3 dt -> 32 dt
    assert [m.k for m in rep.layers] == [3, 4, 5]
    assert rep.layers[0].tau_err == pytest.approx(-0.2)
    assert rep.layers[1].tau_err == pytest.approx(16 * 0.07 - 1)
    assert rep.layers[2].tau_err == pytest.approx(32 / (1 / 0.03) - 1)
    assert nearest_shift(0.0) == 0 and nearest_shift(1.0) == 12 and nearest_shift(0.5) == 1


def test_report_lists_mapping_and_reset_mismatch(tmp_path):
    rng = np.random.default_rng(5)
    g = seq_graph([(nir.Affine(dyadic(rng, (8, 4), 1.0), np.zeros(8)), snn_leaky(8, 0.5)),
                   (nir.Affine(dyadic(rng, (3, 8), 1.0), np.zeros(3)), snn_leaky(3, 0.5))], 4)
    p = _write(g, tmp_path)
    _, rep, _ = import_nir(p, LOIHI)
    text = "\n".join(rep.lines())
    assert "assumed" in text and "exponent" in text and "clipped" in text and "reset NIR zero / profile zero" in text
    sub = LOIHI.with_overrides(neuron={"reset": "subtract"})
    _, rep2, _ = import_nir(p, sub)
    assert any("subtracts" in n for n in rep2.layers[0].notes)


def test_weight_exponent_chosen_per_layer(tmp_path):
    """A layer of small weights gets more fractional bits than one of large weights; a weight
    beyond the profile's exponent range is clipped, and the report says how many."""
    rng = np.random.default_rng(6)
    w_small, w_big = dyadic(rng, (8, 4), 0.05, 1024), dyadic(rng, (3, 8), 3.0)
    g = seq_graph([(nir.Affine(w_small, np.zeros(8)), snn_leaky(8, 0.5)), (nir.Affine(w_big, np.zeros(3)), snn_leaky(3, 0.5))], 4)
    _, rep, _ = import_nir(_write(g, tmp_path), LOIHI)
    assert [m.q for m in rep.layers] == [10, 5]           # 127 / 2^q covers max |w| (0.05, 3) at the finest step
    assert [m.clipped for m in rep.layers] == [0.0, 0.0]
    assert all(m.qerr < 0.02 for m in rep.layers)
    w_big[0, 0] = 40.0     # beyond 127 * 2^-4, the coarsest step loihi's exponent (max 7) allows
    g = seq_graph([(nir.Affine(w_small, np.zeros(8)), snn_leaky(8, 0.5)), (nir.Affine(w_big, np.zeros(3)), snn_leaky(3, 0.5))], 4)
    _, rep, _ = import_nir(_write(g, tmp_path, "o.nir"), LOIHI)
    assert rep.layers[1].weight_exp == LOIHI.synapse.weight_exp_max and rep.layers[1].q == 4
    assert rep.layers[1].clipped == pytest.approx(1 / 24)
    assert rep.layers[1].qerr > 0.5


# ---------------------------------------------------------------- float-trained -> NIR -> integers

def test_float_trained_network_loses_at_most_3_points_on_loihi(tmp_path):
    from neurochip.train import History, fit

    ds = load_dataset("digits", None, 0)
    cfg = NetworkConfig(sizes=(64, 48, 10), precision="float", timesteps=8)
    eng = Engine(cfg, LOIHI)
    fit(eng, ds, 4, History(), None, None, 0)
    acc_f = evaluate(eng, ds.x_test, ds.y_test)["accuracy"]
    p = tmp_path / "f.nir"
    export_nir(eng, p)
    ieng, rep, _ = import_nir(p, LOIHI, data=ds)
    assert acc_f > 0.85
    assert rep.float_acc == pytest.approx(acc_f, abs=0.003)     # the float reference as imported
    assert rep.int_acc >= acc_f - 0.03
    assert all(0.8 <= a <= 1.0 for a in rep.agreement[:-1])


# ---------------------------------------------------------------- round trip

def _with_biases(eng, seed=0):
    rng = np.random.default_rng(seed)
    eng.B[:] = rng.integers(-20000, 20000, eng.B.shape)
    if eng.cfg.seed == 5:
        eng.W[:] = eng.W // 4     # small mantissas: finer exponents would hold them exactly too (metadata keeps q)
    return eng


@pytest.mark.parametrize("kw", [dict(sizes=(64, 32, 10)), dict(sizes=(64, 32, 10), seed=5),
                                dict(sizes=(64, 10), arch="r24u2-d16-d10", readout="spiking", loss="count"),
                                dict(sizes=(64, 20, 10), readout_leak_shift=4)])
def test_export_import_round_trip_is_exact(tmp_path, kw):
    ds = load_dataset("digits", None, 0)
    eng = _with_biases(Engine(NetworkConfig(timesteps=6, **kw), LOIHI))
    p = tmp_path / "rt.nir"
    export_nir(eng, p)
    assert isinstance(nir.read(str(p)), nir.NIRGraph)
    eng2, _, _ = import_nir(p, LOIHI)
    assert eng2.cfg.arch == eng.cfg.arch and eng2.cfg.timesteps == 6
    assert eng2.ilay.q == eng.ilay.q and eng2.ilay.leak_shift == eng.ilay.leak_shift
    for a, b in zip(eng.weights(), eng2.weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(eng.B, eng2.B)
    x = ds.x_test[:120]
    np.testing.assert_array_equal(evaluate(eng, x, ds.y_test[:120])["pred"], evaluate(eng2, x, ds.y_test[:120])["pred"])


def test_cli_import_eval_train_init_export(tmp_path):
    rng = np.random.default_rng(7)
    g = seq_graph([(nir.Affine(dyadic(rng, (32, 64), 0.3), dyadic(rng, 32, 0.05, 64)), snn_leaky(32, 0.5)),
                   (nir.Affine(dyadic(rng, (10, 32), 0.5), np.zeros(10)), snn_leaky(10, 0.75))], 64)
    p = _write(g, tmp_path)
    r = CliRunner()
    net = tmp_path / "net.h5"
    res = r.invoke(main, ["nir", "import", str(p), "--profile", "loihi", "--out", str(net), "--dataset", "digits"])
    assert res.exit_code == 0, res.output
    assert "accuracy on 360 test samples: float" in res.output and "spike rate layer 1" in res.output
    res = r.invoke(main, ["eval", str(net), "--json"])
    assert res.exit_code == 0, res.output
    fnet = tmp_path / "float.h5"
    res = r.invoke(main, ["nir", "import", str(p), "--precision", "float", "--out", str(fnet), "--dataset", "digits"])
    assert res.exit_code == 0 and "float reference kernel on the same samples" in res.output, res.output
    res = r.invoke(main, ["eval", str(fnet)])
    assert res.exit_code == 0 and "float" in res.output, res.output
    from neurochip import checkpoint
    imported, _, _ = checkpoint.load(net)
    from neurochip import api
    init = api.load(net).copy(lr=0.02)     # what train --init starts from
    for a, b in zip(imported.weights(), init.weights()):
        np.testing.assert_array_equal(a, b)
    assert init.config.lr == 0.02 and init.config.weight_q == imported.cfg.weight_q
    ft = tmp_path / "ft.h5"
    res = r.invoke(main, ["train", "--init", str(net), "--epochs", "2", "--train-eval", "0", "--out", str(ft)])
    assert res.exit_code == 0, res.output
    tuned, hist, _ = checkpoint.load(ft)
    assert hist.test_acc[-1] > 0.5 and tuned.cfg.leak_shifts == imported.cfg.leak_shifts
    res = r.invoke(main, ["train", "--init", str(net), "--hidden", "5", "--epochs", "1"])
    assert res.exit_code == 2 and "--init takes the network" in res.output
    out = tmp_path / "back.nir"
    res = r.invoke(main, ["nir", "export", str(ft), str(out)])
    assert res.exit_code == 0, res.output
    back = tmp_path / "back.h5"
    res = r.invoke(main, ["nir", "import", str(out), "--out", str(back)])
    assert res.exit_code == 0, res.output
    again, _, _ = checkpoint.load(back)
    for a, b in zip(tuned.weights(), again.weights()):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- malformed files: one line, exit 2

def _bad(tmp_path, make):
    p = tmp_path / "bad.nir"
    make(p)
    res = CliRunner().invoke(main, ["nir", "import", str(p), "--out", str(tmp_path / "o.h5")])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.output
    assert not (tmp_path / "o.h5").exists()
    return lines[0]


def _graph_with(node_over=None, edges=None):
    rng = np.random.default_rng(8)
    g = seq_graph([(nir.Affine(dyadic(rng, (8, 4), 1.0), np.zeros(8)), snn_leaky(8, 0.5)),
                   (nir.Affine(dyadic(rng, (3, 8), 1.0), np.zeros(3)), snn_leaky(3, 0.5))], 4)
    nodes = dict(g.nodes)
    nodes.update(node_over or {})
    return nir.NIRGraph(nodes=nodes, edges=edges if edges is not None else list(g.edges), type_check=False)


def test_not_hdf5(tmp_path):
    assert "not an HDF5 file" in _bad(tmp_path, lambda p: p.write_text("hello"))


def test_hdf5_but_not_nir(tmp_path):
    def make(p):
        with h5py.File(p, "w") as f:
            f["x"] = np.arange(3)
    assert "not a readable NIR graph" in _bad(tmp_path, make)


def test_edge_to_missing_node(tmp_path):
    g = _graph_with(edges=[("input", "fc0"), ("fc0", "lif0"), ("lif0", "fc9"), ("fc1", "lif1"), ("lif1", "output")])
    msg = _bad(tmp_path, lambda p: nir.write(str(p), g))
    assert "missing node fc9" in msg


def test_edge_shape_mismatch(tmp_path):
    g = _graph_with({"lif0": snn_leaky(6, 0.5)})
    msg = _bad(tmp_path, lambda p: nir.write(str(p), g))
    assert "edge fc0 -> lif0" in msg and "[8]" in msg and "[6]" in msg


def test_nan_parameter(tmp_path):
    lif = snn_leaky(8, 0.5)
    lif.v_threshold[3] = np.nan
    g = _graph_with({"lif0": lif})
    msg = _bad(tmp_path, lambda p: nir.write(str(p), g))
    assert "node lif0 (LIF): parameter v_threshold contains NaN" in msg


def test_unmappable_node_named(tmp_path):
    g = _graph_with({"lif0": nir.I(r=np.ones(8))})
    assert "node lif0 (I) has no chip equivalent" in _bad(tmp_path, lambda p: nir.write(str(p), g))


def test_nonzero_v_reset_and_branching(tmp_path):
    lif = snn_leaky(8, 0.5)
    lif.v_reset = np.full(8, -0.5)
    g = _graph_with({"lif0": lif})
    assert "v_reset -0.5 != 0" in _bad(tmp_path, lambda p: nir.write(str(p), g))
    g = _graph_with({"fc2": nir.Linear(weight=np.ones((3, 8)))},
                    edges=[("input", "fc0"), ("fc0", "lif0"), ("lif0", "fc1"), ("lif0", "fc2"), ("fc2", "output"),
                           ("fc1", "lif1"), ("lif1", "output")])
    assert "only chains" in _bad(tmp_path, lambda p: nir.write(str(p), g))


def test_import_api_errors_are_neurochip_errors(tmp_path):
    with pytest.raises(NeurochipError, match="not found"):
        import_nir(tmp_path / "none.nir", LOIHI)
    g = _graph_with()
    p = _write(g, tmp_path)
    with pytest.raises(NeurochipError, match="--dt must be a positive"):
        import_nir(p, LOIHI, dt=-1.0)
    g2 = _graph_with({"lif1": nir.LI(tau=np.ones(3), r=np.ones(3), v_leak=np.zeros(3)),
                      "fc2": nir.Linear(weight=np.ones((3, 3)))},
                     edges=list(g.edges) + [("lif1", "fc2"), ("fc2", "lif1")])
    with pytest.raises(NeurochipError, match="readout lif1 is recurrent"):
        import_nir(_write(g2, tmp_path, "r.nir"), LOIHI)


# ---------------------------------------------------------------- convolution, pooling, flatten

def conv_ref(x, w, b, stride, pad):
    """x (C, H, W), w (Co, Ci, k, k): a plain loop convolution with zero padding (cross-correlation, as torch)."""
    co_n, ci_n, k, _ = w.shape
    c, h, wd = x.shape
    xp = np.zeros((c, h + 2 * pad, wd + 2 * pad))
    xp[:, pad:pad + h, pad:pad + wd] = x
    ho, wo = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    out = np.zeros((co_n, ho, wo))
    for co in range(co_n):
        for oy in range(ho):
            for ox in range(wo):
                out[co, oy, ox] = np.sum(xp[:, oy * stride:oy * stride + k, ox * stride:ox * stride + k] * w[co]) + b[co]
    return out


def pool_ref(x, k, avg):
    c, h, w = x.shape
    out = x[:, :h // k * k, :w // k * k].reshape(c, h // k, k, w // k, k).sum(axis=(2, 4))
    return out / (k * k) if avg else out


def ode_sim_graph(g, order, x, T, dt, in_shape):
    """Forward Euler of a chain of NIR nodes (names in ``order``), each node applied to the values
    the previous one produced; neurons keep their state. Returns the spikes of every neuron node."""
    state = {}
    spikes = {name: [] for name in order if isinstance(g.nodes[name], (nir.LIF, nir.CubaLIF, nir.IF))}
    for smp in range(x.shape[0]):
        state.clear()
        per = {name: [] for name in spikes}
        for t in range(T):
            val = x[smp].reshape(in_shape)
            for name in order:
                nd = g.nodes[name]
                if isinstance(nd, nir.Conv2d):
                    val = conv_ref(val, nd.weight, nd.bias, nd.stride[0], nd.padding[0])
                elif isinstance(nd, (nir.SumPool2d, nir.AvgPool2d)):
                    val = pool_ref(val, int(np.asarray(nd.kernel_size).ravel()[0]), isinstance(nd, nir.AvgPool2d))
                elif isinstance(nd, nir.Flatten):
                    val = val.ravel()
                elif isinstance(nd, nir.Affine):
                    val = nd.weight @ val.ravel() + nd.bias
                elif isinstance(nd, nir.LIF):
                    v = state.get(name, np.zeros(val.shape))
                    v = v + dt / nd.tau.reshape(val.shape) * (nd.v_leak.reshape(val.shape) - v + nd.r.reshape(val.shape) * val)
                    s = v > nd.v_threshold.reshape(val.shape)
                    state[name] = np.where(s, 0.0, v)
                    val = s.astype(np.float64)
                    per[name].append(val.ravel().copy())
            del val
        for name in spikes:
            spikes[name].append(np.array(per[name]))
    return {name: np.array(v) for name, v in spikes.items()}


def test_snntorch_conv_avgpool_flatten_equals_ode(tmp_path):
    """snnTorch-style: Conv2d (bias; input_shape as nirtorch infers it) -> Leaky -> AvgPool2d -> Flatten -> Linear -> Leaky;
    the pool without neurons is folded exactly into the Affine after it."""
    rng = np.random.default_rng(11)
    wc, bc = dyadic(rng, (3, 1, 3, 3), 1.0, 8), dyadic(rng, 3, 0.25, 16)
    wd, bd = dyadic(rng, (5, 3 * 4 * 4), 1.0, 8), np.zeros(5)
    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type=np.array([1, 8, 8])),
        "conv": nir.Conv2d(input_shape=(8, 8), weight=wc, stride=1, padding=1, dilation=1, groups=1, bias=bc),
        "lif0": snn_leaky(3 * 8 * 8, 0.5).__class__(**{k: v.reshape(3, 8, 8) for k, v in
                                                       (("tau", snn_leaky(192, 0.5).tau), ("r", snn_leaky(192, 0.5).r),
                                                        ("v_leak", np.zeros(192)), ("v_threshold", np.ones(192)))}),
        "pool": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "flat": nir.Flatten(input_type={"input": np.array([3, 4, 4])}, start_dim=0),   # as nirtorch infers it
        "fc": nir.Affine(wd, bd), "lif1": snn_leaky(5, 0.75),
        "output": nir.Output(output_type=np.array([5]))},
        edges=[("input", "conv"), ("conv", "lif0"), ("lif0", "pool"), ("pool", "flat"), ("flat", "fc"), ("fc", "lif1"),
               ("lif1", "output")], type_check=False)
    p = _write(g, tmp_path)
    x = _inputs(rng, 12, 64)
    eng, rep, layers = import_nir(p, LOIHI, timesteps=8)
    assert eng.cfg.arch == "c3k3p1-f-d5" and "folded" in " ".join(rep.layers[1].notes)
    _, spk = simulate_float(layers, x, 8)
    ref = ode_sim_graph(g, ["conv", "lif0", "pool", "flat", "fc", "lif1"], x, 8, SNNTORCH_DT, (1, 8, 8))
    assert ref["lif0"].sum() > 100 and ref["lif1"].sum() > 10
    np.testing.assert_array_equal(spk[0], ref["lif0"])
    np.testing.assert_array_equal(spk[1], ref["lif1"])


def test_sinabs_style_sumpool_with_neurons_is_a_chip_pool_layer(tmp_path):
    """Conv -> LIF -> SumPool2d -> LIF (unit gain, threshold 1: the chip's sum pool) -> Flatten -> Affine -> LIF."""
    rng = np.random.default_rng(12)
    wc, bc = dyadic(rng, (2, 1, 3, 3), 1.0, 8), np.zeros(2)
    wd = dyadic(rng, (4, 2 * 3 * 3), 1.0, 8)

    def leaky_shaped(shape, beta):
        n = int(np.prod(shape))
        lif = snn_leaky(n, beta)
        return nir.LIF(tau=lif.tau.reshape(shape), r=lif.r.reshape(shape), v_leak=np.zeros(shape), v_threshold=np.ones(shape))

    g = nir.NIRGraph(nodes={
        "input": nir.Input(input_type=np.array([1, 8, 8])),
        "conv": nir.Conv2d(input_shape=(8, 8), weight=wc, stride=1, padding=0, dilation=1, groups=1, bias=bc),
        "lif0": leaky_shaped((2, 6, 6), 0.5),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "lifp": leaky_shaped((2, 3, 3), 0.75),
        "flat": nir.Flatten(input_type={"input": np.array([2, 3, 3])}, start_dim=0),
        "fc": nir.Affine(wd, np.zeros(4)), "lif1": snn_leaky(4, 0.5),
        "output": nir.Output(output_type=np.array([4]))},
        edges=[("input", "conv"), ("conv", "lif0"), ("lif0", "pool"), ("pool", "lifp"), ("lifp", "flat"), ("flat", "fc"),
               ("fc", "lif1"), ("lif1", "output")], type_check=False)
    p = _write(g, tmp_path)
    x = _inputs(rng, 12, 64)
    eng, rep, layers = import_nir(p, LOIHI, timesteps=8)
    assert eng.cfg.arch == "c2k3-p2-f-d4" and [m.k for m in rep.layers] == [1, 2, 1]
    _, spk = simulate_float(layers, x, 8)
    ref = ode_sim_graph(g, ["conv", "lif0", "pool", "lifp", "flat", "fc", "lif1"], x, 8, SNNTORCH_DT, (1, 8, 8))
    assert ref["lifp"].sum() > 20
    for a, name in zip(spk, ["lif0", "lifp", "lif1"]):
        np.testing.assert_array_equal(a, ref[name])
    # a pool into neurons whose input weight is not the chip's fixed pool weight cannot map
    g.nodes["lifp"] = nir.LIF(tau=g.nodes["lifp"].tau, r=g.nodes["lifp"].r * 0.5, v_leak=np.zeros((2, 3, 3)),
                              v_threshold=np.ones((2, 3, 3)))
    with pytest.raises(NeurochipError, match="pool pool into neurons lifp: each input is worth 0.5"):
        import_nir(_write(g, tmp_path, "b.nir"), LOIHI)


@pytest.mark.parametrize("arch", ["c4k3p1-p2-d10", "c4k3u2-a2-d16-d10", "c3k3s2-a2u1-r12-d10"])
def test_conv_pool_round_trip_is_exact(tmp_path, arch):
    ds = load_dataset("digits", None, 0)
    spiking = arch.startswith("c4k3u2")
    eng = _with_biases(Engine(NetworkConfig(sizes=(64, 10), arch=arch, timesteps=5,
                                            **(dict(readout="spiking", loss="count") if spiking else {})), LOIHI))
    p = tmp_path / "c.nir"
    export_nir(eng, p)
    eng2, _, _ = import_nir(p, LOIHI)
    assert eng2.cfg.arch == eng.cfg.arch and eng2.ilay.q == eng.ilay.q
    for a, b in zip(eng.weights(), eng2.weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(eng.B, eng2.B)
    x, y = ds.x_test[:80], ds.y_test[:80]
    np.testing.assert_array_equal(evaluate(eng, x, y)["pred"], evaluate(eng2, x, y)["pred"])


# ---------------------------------------------------------------- other nodes, the API of the report, Lava

def test_threshold_hidden_and_if_nodes(tmp_path):
    """Threshold (stateless, s = S > threshold) equals the ODE reading exactly; IF (no leak) takes
    the slowest chip leak, k = 12, with dt r as its input gain."""
    rng = np.random.default_rng(13)
    w0, w1 = dyadic(rng, (12, 6), 1.0, 8), dyadic(rng, (4, 12), 1.0, 8)
    thr = np.full(12, 0.5)
    g = seq_graph([(nir.Linear(weight=w0), nir.Threshold(threshold=thr)),
                   (nir.Affine(w1, np.zeros(4)), norse_libox(4, 500.0))], 6)
    x = _inputs(rng, 20, 6)
    _, rep, layers = import_nir(_write(g, tmp_path), LOIHI, dt=NORSE_DT, timesteps=5)
    assert rep.layers[0].k == 0
    _, spk = simulate_float(layers, x, 5)
    np.testing.assert_array_equal(spk[0], np.broadcast_to((x @ w0.T > 0.5)[:, None, :], spk[0].shape))
    g = seq_graph([(nir.Linear(weight=w0), nir.IF(r=np.full(12, 250.0), v_threshold=np.ones(12))),
                   (nir.Affine(w1, np.zeros(4)), norse_libox(4, 500.0))], 6)
    _, rep, layers = import_nir(_write(g, tmp_path, "if.nir"), LOIHI, dt=NORSE_DT, timesteps=5)
    assert rep.layers[0].k == 12 and rep.layers[0].tau_eff == pytest.approx(4.096)
    np.testing.assert_allclose(layers[0].W, w0.T * 0.25)       # dt r = 1e-3 * 250


def test_scale_folds_into_the_connection(tmp_path):
    rng = np.random.default_rng(14)
    w0, b0, sc = dyadic(rng, (8, 4), 1.0), dyadic(rng, 8, 0.1), dyadic(rng, 8, 2.0)
    base = seq_graph([(nir.Affine(w0 * sc[:, None], b0 * sc), snn_leaky(8, 0.5)),
                      (nir.Affine(dyadic(rng, (3, 8), 1.0), np.zeros(3)), snn_leaky(3, 0.5))], 4)
    nodes = dict(base.nodes)
    nodes["fc0"] = nir.Affine(w0, b0)
    nodes["scale"] = nir.Scale(scale=sc)
    edges = [("input", "fc0"), ("fc0", "scale"), ("scale", "lif0")] + [e for e in base.edges if e[0] not in ("input", "fc0")]
    scaled = nir.NIRGraph(nodes=nodes, edges=edges)
    _, _, la = import_nir(_write(base, tmp_path, "a.nir"), LOIHI)
    _, _, lb = import_nir(_write(scaled, tmp_path, "b.nir"), LOIHI)
    np.testing.assert_array_equal(la[0].W, lb[0].W)
    np.testing.assert_array_equal(la[0].bias, lb[0].bias)


def test_cli_json_report_energy_and_export_errors(tmp_path):
    import json

    rng = np.random.default_rng(15)
    g = seq_graph([(nir.Affine(dyadic(rng, (16, 64), 0.3), np.zeros(16)), snn_leaky(16, 0.5)),
                   (nir.Affine(dyadic(rng, (10, 16), 0.5), np.zeros(10)), norse_libox(10, 5000.0))], 64)
    p = _write(g, tmp_path)
    r = CliRunner()
    net, rep_path = tmp_path / "n.h5", tmp_path / "rep.json"
    res = r.invoke(main, ["nir", "import", str(p), "--out", str(net), "--dataset", "digits", "--samples", "50", "--json",
                          "--report", str(rep_path)])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["samples"] == 50 and len(d["layers"]) == 2 and d["readout"] == "integrator"
    assert d["layers"][0]["k"] == 1 and d["layers"][1]["k"] == 1 and 0 <= d["int_acc"] <= 1
    assert json.loads(rep_path.read_text())["layers"] == d["layers"]
    res = r.invoke(main, ["nir", "import", str(p), "--out", str(net)])
    assert res.exit_code == 2 and "exists; pass --overwrite" in res.output
    res = r.invoke(main, ["energy", str(net)])
    assert res.exit_code == 0, res.output
    out = tmp_path / "o.nir"
    out.write_text("x")
    res = r.invoke(main, ["nir", "export", str(net), str(out)])
    assert res.exit_code == 2 and "exists; pass --overwrite" in res.output
    feng = Engine(NetworkConfig(sizes=(64, 8, 10), precision="float", recurrent=True), LOIHI)
    with pytest.raises(NeurochipError, match="--recurrent"):
        export_nir(feng, tmp_path / "r.nir")


def test_imported_network_runs_bit_exact_in_lava(tmp_path):
    import importlib.util

    if importlib.util.find_spec("lava") is None:
        pytest.skip("lava-nc not installed")
    from neurochip.lava.compat import require_lava
    from neurochip.lava.export import compare

    require_lava()
    rng = np.random.default_rng(16)
    g = seq_graph([(nir.Affine(dyadic(rng, (24, 64), 0.3), dyadic(rng, 24, 0.05, 64)), snn_leaky(24, 0.75)),
                   (nir.Affine(dyadic(rng, (10, 24), 0.5), np.zeros(10)), snn_leaky(10, 0.5))], 64)
    eng, _, _ = import_nir(_write(g, tmp_path), LOIHI)
    ds = load_dataset("digits", None, 0)
    c = compare(eng, ds.x_test[:6], ds.y_test[:6])
    assert c.exact and sum(d.spikes_neurochip for d in c.layers) > 0


def test_cuba_readout_and_cuba_bias_are_noted(tmp_path):
    """A CubaLI readout loses its current (the chip's readout has none): weights x 2^k_u, noted; a
    bias into a CUBA current moves to the membrane at steady state (x 2^k_u), noted."""
    rng = np.random.default_rng(17)
    w0, b0 = dyadic(rng, (8, 4), 1.0), dyadic(rng, 8, 0.25)
    w1 = dyadic(rng, (3, 8), 1.0)
    ts, tm = np.full(3, 4 * SNNTORCH_DT), np.full(3, 2 * SNNTORCH_DT)
    ro = nir.CubaLI(tau_syn=ts, tau_mem=tm, r=tm / SNNTORCH_DT, v_leak=np.zeros(3), w_in=ts / SNNTORCH_DT)
    g = seq_graph([(nir.Affine(w0, b0), snn_synaptic(8, 0.5, 0.5)), (nir.Affine(w1, np.zeros(3)), ro)], 4)
    eng, rep, layers = import_nir(_write(g, tmp_path), LOIHI)
    assert eng.cfg.arch == "d8u1-d3" and eng.cfg.readout == "integrator"
    assert any("steady state" in n for n in rep.layers[0].notes)
    np.testing.assert_array_equal(layers[0].bias, b0 * 2)          # k_u 1: x 2
    assert any("readout current" in n for n in rep.layers[1].notes)
    np.testing.assert_array_equal(layers[1].W, w1.T * 4)           # k_u 2 dropped: steady-state gain 4


def test_config_leak_shifts_and_weight_q():
    from neurochip.network import int_layout

    cfg = NetworkConfig(sizes=(64, 16, 10), leak_shifts=(3, 5), weight_q=(9, 4))
    lay = int_layout(cfg, LOIHI)
    assert lay.leak_shift == (3, 5) and lay.q == (9, 4)
    assert lay.weight_exp == (12 - 9 - 8, 12 - 4)
    assert NetworkConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(NeurochipError, match="leak_shifts has 1 entries, the network has 2 layers"):
        NetworkConfig(sizes=(64, 16, 10), leak_shifts=(3,))
    with pytest.raises(NeurochipError, match="leak_shifts must be in"):
        NetworkConfig(sizes=(64, 16, 10), leak_shifts=(3, 13))
    with pytest.raises(NeurochipError, match="weight exponent"):
        int_layout(NetworkConfig(sizes=(64, 16, 10), weight_q=(30, 4)), LOIHI)


def test_conventions_norse_lifcell_and_sinabs():
    """--convention norse: a CUBA input spike adds w_in S to the current (Norse's LIFCell); sinabs:
    leak exp(-dt/tau) and the input unscaled (r S). The weights in threshold units show which."""
    from neurochip.nir_import import chain, to_float

    rng = np.random.default_rng(18)
    w0, w1 = dyadic(rng, (6, 4), 1.0), dyadic(rng, (3, 6), 1.0)
    # Norse LIFCell -> CubaLIF: tau = 1/tau_inv, r = w_in = 1 (norse/torch/utils/export_nir.py)
    cuba = nir.CubaLIF(tau_syn=np.full(6, 1 / 200), tau_mem=np.full(6, 1 / 100), r=np.ones(6), v_leak=np.zeros(6),
                       v_threshold=np.ones(6), v_reset=np.zeros(6), w_in=np.ones(6))
    g = seq_graph([(nir.Linear(weight=w0), cuba), (nir.Affine(w1, np.zeros(3)), norse_libox(3, 100.0))], 4)
    stages, _ = chain(dict(g.nodes), list(g.edges))
    eu = to_float(stages, NORSE_DT)
    no = to_float(stages, NORSE_DT, convention="norse")
    np.testing.assert_allclose(eu[0].W, w0.T * 0.2 * 0.1)        # (dt/tau_syn) w_in (dt/tau_mem) r
    np.testing.assert_allclose(no[0].W, w0.T * 0.1)              # w_in (dt/tau_mem) r
    assert eu[0].k_u == no[0].k_u == 2                           # 1 - 0.2 = 0.8 -> 0.75
    # Sinabs LIF/ExpLeak: tau in steps (dt 1), r = 1
    g = seq_graph([(nir.Affine(w0, np.zeros(6)), nir.LIF(tau=np.full(6, 2.0), r=np.ones(6), v_leak=np.zeros(6),
                                                         v_threshold=np.full(6, 0.5))),
                   (nir.Affine(w1, np.zeros(3)), nir.LI(tau=np.full(3, 8.0), r=np.ones(3), v_leak=np.zeros(3)))], 4)
    stages, _ = chain(dict(g.nodes), list(g.edges))
    eu = to_float(stages, 1.0)
    si = to_float(stages, 1.0, convention="sinabs")
    np.testing.assert_allclose(si[0].W, w0.T / 0.5)
    np.testing.assert_allclose(eu[0].W, w0.T * 0.5 / 0.5)
    assert [f.k for f in si] == [1, 3] and [f.k for f in eu] == [1, 3]   # exp(-1/2) = 0.61 -> 0.5, exp(-1/8) = 0.88 -> 0.875
    assert si[0].lam_exact == pytest.approx(math.exp(-0.5))
    with pytest.raises(NeurochipError, match="--convention must be one of"):
        to_float(stages, 1.0, convention="spyx")


def test_graph_without_output_or_neurons(tmp_path):
    g = _graph_with()
    nodes = {k: v for k, v in g.nodes.items() if k != "output"}
    bad = nir.NIRGraph(nodes=nodes, edges=[e for e in g.edges if e[1] != "output"], type_check=False)
    assert "exactly one Input and one Output node, has 1 and 0" in _bad(tmp_path, lambda p: nir.write(str(p), bad))
    rng = np.random.default_rng(19)
    only = nir.NIRGraph(nodes={"input": nir.Input(input_type=np.array([4])), "fc": nir.Affine(dyadic(rng, (3, 4), 1.0), np.zeros(3)),
                               "output": nir.Output(output_type=np.array([3]))},
                        edges=[("input", "fc"), ("fc", "output")])
    assert "ends in fc without neurons" in _bad(tmp_path, lambda p: nir.write(str(p), only))
