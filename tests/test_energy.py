"""Energy model: profile tables (sources, validation that names the key), pricing arithmetic
(total = sum of the printed terms), the ANN baseline, footprint, resources, and the CLI."""
from __future__ import annotations

import copy
import json
import re
import tomllib
from decimal import Decimal

import click
import numpy as np
import pytest
from click.testing import CliRunner

from neurochip.cli import main
from neurochip.counters import OPS
from neurochip.energy.counts import Counts, gather_counts
from neurochip.energy.energy_commands import energy
from neurochip.energy.neurobench import footprint
from neurochip.energy.pricing import ann_baseline, price
from neurochip.energy.report import build_report, format_compare, format_report, training_report
from neurochip.energy.resources import fit_resources
from neurochip.energy.tables import (INFERENCE_KEYS, LEARNING_KEYS, RESOURCE_KEYS, Figure, ResourceModel, energy_model,
                                     figures_of, resource_model)
from neurochip.engine import Engine
from neurochip.errors import NeurochipError
from neurochip.network import NetworkConfig
from neurochip.profile import PROFILE_DIR, list_profiles, load_profile, profile_from_dict

BUNDLED = {"loihi", "loihi2", "truenorth", "spinnaker2", "cmos45", "generic"}


@pytest.fixture(scope="module")
def cli():
    group = click.Group(commands=[energy])
    group.name = "neurochip"
    return group


def invoke(args):
    """Through the real neurochip group (its handler turns NeurochipError into exit 2)."""
    if "energy" not in main.commands:
        main.add_command(energy)
    return CliRunner().invoke(main, ["energy", *args])


def _error(res):
    assert res.exit_code == 2, (res.exit_code, res.output)
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("Error:"), res.output
    return last


# ---- profiles ---------------------------------------------------------------------------------
def test_every_bundled_profile_loads_and_every_figure_has_a_source():
    names = {p.stem for p in list_profiles()}
    assert BUNDLED <= names
    for path in list_profiles():
        prof = load_profile(path)
        figs = figures_of(prof)
        assert figs, path
        for f in figs:
            assert isinstance(f.source, str) and len(f.source) > 10, (path, f.key)
            assert isinstance(f.estimate, bool)
        m = energy_model(prof)
        assert set(INFERENCE_KEYS) <= set(m.figures)
        if m.learning:
            assert set(LEARNING_KEYS) <= set(m.figures)
    # the raw files: every [energy.*] and [resources.*] table carries source and estimate
    for path in list_profiles():
        d = tomllib.loads(path.read_text())
        for sec in ("energy", "resources"):
            for k, v in d.get(sec, {}).items():
                if isinstance(v, dict):
                    assert {"source", "estimate"} <= set(v), (path, sec, k)


def test_profile_figures_match_the_design_notes():
    lo = energy_model(load_profile("loihi"))
    assert (lo.pj("syn_ac"), lo.pj("neuron_active"), lo.pj("neuron_idle"), lo.pj("spike_msg"),
            lo.pj("weight_update")) == (23.6, 81.0, 52.0, 1.7, 120.0)
    assert not lo.figures["syn_ac"].estimate and lo.figures["syn_mac"].estimate
    l2 = energy_model(load_profile("loihi2"))
    assert all(f.estimate for f in l2.figures.values())          # every Loihi 2 energy is borrowed
    cm = energy_model(load_profile("cmos45"))
    assert (cm.pj("ann_mac"), cm.pj("syn_ac"), cm.pj("syn_mac")) == (4.6, 0.9, 4.6)
    tn = energy_model(load_profile("truenorth"))
    assert tn.learning is False and tn.pj("syn_ac") == 26.0 and tn.figures["syn_ac"].estimate
    assert energy_model(load_profile("spinnaker2")).pj("syn_ac") == 450.0
    assert resource_model(load_profile("truenorth"))["neurons_per_core"] == 256
    assert resource_model(load_profile("loihi"))["cores_per_chip"] == 128
    assert resource_model(load_profile("cmos45")) is None


def _raw(name):
    return tomllib.loads((PROFILE_DIR / f"{name}.toml").read_text())


@pytest.mark.parametrize("edit,needle", [
    (lambda d: d["energy"].pop("syn_ac"), "energy.syn_ac"),
    (lambda d: d["energy"]["syn_ac"].pop("pj"), "energy.syn_ac.pj"),
    (lambda d: d["energy"]["neuron_idle"].pop("source"), "energy.neuron_idle.source"),
    (lambda d: d["energy"]["spike_msg"].pop("estimate"), "energy.spike_msg.estimate"),
    (lambda d: d["energy"]["syn_ac"].update(pj=-1.0), "energy.syn_ac.pj"),
    (lambda d: d["energy"]["syn_ac"].update(pj="lots"), "energy.syn_ac.pj"),
    (lambda d: d["energy"]["syn_ac"].update(source=""), "energy.syn_ac.source"),
    (lambda d: d["energy"]["syn_ac"].update(estimate="yes"), "energy.syn_ac.estimate"),
    (lambda d: d["energy"]["syn_ac"].update(bogus=1), "energy.syn_ac.bogus"),
    (lambda d: d["energy"].update(bogus_op={"pj": 1.0, "source": "x", "estimate": True}), "energy.bogus_op"),
    (lambda d: d["energy"].update(syn_ac=5.0), "energy.syn_ac"),
    (lambda d: d["energy"].pop("weight_update"), "energy.weight_update"),     # learning = true needs it
    (lambda d: d["energy"].pop("learning"), "energy.learning"),
    (lambda d: d["energy"].update(unit="nJ"), "energy.unit"),
    (lambda d: d.pop("energy"), "energy"),
])
def test_malformed_energy_table_names_the_key(edit, needle):
    d = _raw("loihi")
    edit(d)
    prof = profile_from_dict(d, source="bad.toml")
    with pytest.raises(NeurochipError) as e:
        energy_model(prof)
    assert needle in str(e.value) and "bad.toml" in str(e.value)


@pytest.mark.parametrize("edit,needle", [
    (lambda d: d["resources"].pop("neurons_per_core"), "resources.neurons_per_core"),
    (lambda d: d["resources"]["cores_per_chip"].pop("value"), "resources.cores_per_chip.value"),
    (lambda d: d["resources"]["cores_per_chip"].update(value=0), "resources.cores_per_chip.value"),
    (lambda d: d["resources"]["cores_per_chip"].update(value=12.5), "resources.cores_per_chip.value"),
    (lambda d: d["resources"]["max_weight_bits"].pop("source"), "resources.max_weight_bits.source"),
    (lambda d: d["resources"].update(bogus={"value": 1, "source": "x", "estimate": True}), "resources.bogus"),
])
def test_malformed_resources_table_names_the_key(edit, needle):
    d = _raw("loihi")
    edit(d)
    with pytest.raises(NeurochipError) as e:
        resource_model(profile_from_dict(d, source="bad.toml"))
    assert needle in str(e.value)


def test_pricing_only_profile_without_learning_keys_is_valid():
    d = _raw("truenorth")
    assert "weight_update" not in d["energy"]
    assert energy_model(profile_from_dict(d)).learning is False
    d["energy"]["learning"] = True
    with pytest.raises(NeurochipError, match="energy.trace_update"):
        energy_model(profile_from_dict(d))


# ---- pricing arithmetic -------------------------------------------------------------------------
def _counts(learn, n=4, L=2, seed=0):
    rng = np.random.default_rng(seed)
    ops = rng.integers(0, 10_000, size=(L, len(OPS))).astype(np.int64)
    return Counts(ops, n, learn)


def test_price_is_count_times_pj_and_total_is_sum_of_terms():
    cfg = NetworkConfig(sizes=(5, 6, 3), encoder="direct")
    model = energy_model(load_profile("loihi"))
    c = _counts(True)
    pr = price(c, cfg, model)
    syn = c.col("syn_ops")
    terms = {t.op: t for t in pr.terms}
    assert terms["syn_mac"].count_per_layer == [int(syn[0]), 0]      # direct input: layer 0 are MACs
    assert terms["syn_ac"].count_per_layer == [0, int(syn[1])]
    assert terms["weight_update"].count == int(c.col("wupd_attempted").sum())
    for t in pr.terms:
        assert t.energy_pj == pytest.approx(t.count * t.pj_per_op)
        assert t.energy_pj_per_sample == pytest.approx(t.count * t.pj_per_op / 4)
    assert pr.total_pj_per_sample == round(sum(t.energy_pj_per_sample for t in pr.terms), 3)
    assert pr.total_pj == round(sum(t.energy_pj for t in pr.terms), 3)
    assert pr.total_pj_per_sample == pytest.approx(pr.forward_pj_per_sample + pr.learning_pj_per_sample)
    assert pr.total_pj_per_sample == pytest.approx(sum(pr.per_layer_pj_per_sample), abs=0.01)
    inf = price(_counts(False), NetworkConfig(sizes=(5, 6, 3), encoder="rate"), model)
    assert {t.group for t in inf.terms} == {"forward"}
    assert [t for t in inf.terms if t.op == "syn_mac"][0].count == 0   # spikes in: all ACs


def test_unknown_figures_are_excluded_and_flagged():
    pr = price(_counts(False), NetworkConfig(sizes=(5, 6, 3)), energy_model(load_profile("spinnaker2")))
    assert set(pr.unpriced) == {"neuron_active", "neuron_idle", "spike_msg", "encoder_draw"}
    assert not pr.complete
    assert pr.total_pj_per_sample == round(sum(t.energy_pj_per_sample for t in pr.terms
                                               if t.energy_pj_per_sample is not None), 3)


def test_truenorth_rejects_learning():
    with pytest.raises(NeurochipError, match="no on-chip learning"):
        price(_counts(True), NetworkConfig(sizes=(5, 6, 3)), energy_model(load_profile("truenorth")))
    assert price(_counts(False), NetworkConfig(sizes=(5, 6, 3), encoder="rate"),
                 energy_model(load_profile("truenorth"))).complete


def test_ann_baseline():
    a = ann_baseline((64, 128, 10), energy_model(load_profile("cmos45")))
    C = 64 * 128 + 128 * 10
    assert a.macs_per_sample == C and a.inference_pj_per_sample == pytest.approx(C * 4.6)
    assert a.training_macs_per_sample == C + 128 * 10 + C
    assert a.with_weight_reads.pj_per_mac == pytest.approx(4.6 + 10.0)
    with pytest.raises(NeurochipError, match="energy.ann_mac"):
        ann_baseline((4, 2), energy_model(load_profile("loihi")))


# ---- the whole report on a small engine -----------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    from neurochip.data import load_dataset

    ds = load_dataset("digits", None, 0)
    eng = Engine(NetworkConfig(sizes=(64, 12, 10), timesteps=4), load_profile("loihi"))
    before = (eng.W.copy(), eng.rng.copy())
    inf, tr = gather_counts(eng, ds.x_test, ds.y_test, ds.x_train, ds.y_train, samples=40, learn_samples=30)
    assert np.array_equal(eng.W, before[0]) and np.array_equal(eng.rng, before[1])   # worked on copies
    assert not eng.ops.any()
    return eng, inf, tr


def _printed_terms(text: str):
    """(sum of the printed per-sample term energies, printed total) of every priced block."""
    blocks, cur = [], None
    for line in text.splitlines():
        if line.startswith("  op "):
            cur = []
            continue
        if cur is None:
            continue
        if line.startswith("  total"):
            tot = Decimal(line.split()[1].replace(",", ""))
            blocks.append((sum(cur, Decimal(0)), tot))
            cur = None
        elif re.match(r"  [a-z_]+ ", line):
            cell = line.split()[-2]
            if cell != "unknown":
                cur.append(Decimal(cell.replace(",", "")))
    return blocks


def test_report_total_equals_sum_of_printed_terms(small):
    eng, inf, tr = small
    rep = build_report(eng, inf, tr, [load_profile("loihi")], load_profile("cmos45"))
    json.dumps(rep)
    text = format_report(rep)
    blocks = _printed_terms(text)
    assert len(blocks) == 2                                   # inference and training
    for s, tot in blocks:
        assert s == tot
    pr = rep["pricing"]["loihi"]
    assert pr["inference"]["samples"] == 40 and pr["training"]["samples"] == 30
    assert "averaged over 40 test samples" in text and "30 training samples" in text
    r = pr["snn_over_ann"]["inference"]
    assert r == pytest.approx(pr["inference"]["total_pj_per_sample"] / pr["ann"]["inference_pj_per_sample"])
    assert rep["pricing"]["loihi"]["resources"]["inference"]["fits"]


def test_compare_report(small):
    eng, inf, tr = small
    profs = [load_profile(n) for n in ("loihi", "loihi2", "truenorth", "cmos45")]
    with pytest.raises(NeurochipError, match="no on-chip learning"):
        build_report(eng, inf, tr, profs, load_profile("cmos45"), strict=True)
    rep = build_report(eng, inf, tr, profs, load_profile("cmos45"), strict=False)
    assert "rejected" in rep["pricing"]["truenorth"]["training"]
    text = format_compare(rep)
    assert "truenorth: rejected" in text and "does not fit" in text
    assert rep["pricing"]["loihi"]["inference"]["total_pj_per_sample"] == \
        rep["pricing"]["loihi2"]["inference"]["total_pj_per_sample"]       # loihi2 borrows loihi's energies


def test_footprint_at_true_widths():
    prof = load_profile("loihi")
    eng = Engine(NetworkConfig(sizes=(10, 6, 3), rule="ottt-a"), prof)
    fp = {r.item: r for r in footprint(eng).items}
    nw = 10 * 6 + 6 * 3
    assert fp["weights"].bytes == nw * 8 // 8 and fp["weights"].float32_bytes == nw * 4
    assert fp["membranes"].bytes == 9 * 24 // 8
    assert fp["traces"].bytes == -(-16 * 7 // 8)
    assert fp["accumulators"].bytes == nw * 16 // 8
    assert "feedback" not in fp


def test_footprint_counts_cuba_current_traces():
    """The exact CUBA trace keeps a current trace per input of a learned CUBA layer (recurrent:
    its own spikes too); the plain trace keeps none."""
    prof = load_profile("loihi")
    fp = {r.item: r for r in footprint(Engine(NetworkConfig(sizes=(10, 3), arch="d6-r5u2"), prof)).items}
    assert fp["current_traces"].count == 6 + 5 and fp["current_traces"].bits == 7
    fp = {r.item: r for r in footprint(Engine(NetworkConfig(sizes=(10, 3), arch="d6-r5u2", cuba_trace="plain"), prof)).items}
    assert "current_traces" not in fp


def test_resources_fit_and_limits():
    def rm(**v):
        base = dict(cores_per_chip=128, neurons_per_core=1024, synaptic_memory_bytes_per_core=131072,
                    max_weight_bits=9, max_fan_in=0)
        base.update(v)
        return ResourceModel("chip", "chip.toml", {k: Figure(k, x, "test", True) for k, x in base.items()})

    f = fit_resources((64, 128, 10), 8, 8, rm())
    assert f.fits and [r.cores for r in f.layers] == [1, 1] and f.cores == 2
    # memory-bound: 784 x 8 bits = 784 bytes per neuron -> 167 neurons per 128 KB core
    f = fit_resources((784, 1000, 10), 8, 8, rm())
    assert f.layers[0].neurons_per_core == 131072 // 784 and f.layers[0].limit == "synaptic memory per core"
    assert f.layers[0].cores == -(-1000 // (131072 // 784))
    f = fit_resources((784, 30_000, 10), 8, 8, rm())     # 180 + 3 cores > 128
    assert not f.fits and f.limit.startswith("cores per chip")
    f = fit_resources((200_000, 10), 8, 8, rm())
    assert not f.fits and "synaptic memory" in f.limit
    f = fit_resources((784, 10), 8, 8, rm(max_fan_in=256))
    assert not f.fits and "fan-in" in f.limit
    f = fit_resources((64, 10), 8, 8, rm(max_weight_bits=1))
    assert not f.fits and f.limit.startswith("weight width")


def test_training_report_is_json(small):
    eng, _, _ = small
    e = copy.deepcopy(eng)
    e.ops[:] = 3
    rep = training_report(e, 10)
    json.dumps(rep)
    assert rep["samples"] == 10 and rep["energy"]["phase"] == "training"
    assert rep["energy"]["total_pj_per_sample"] > 0


def test_float_network_has_no_counts():
    eng = Engine(NetworkConfig(sizes=(4, 3, 2), precision="float"), load_profile("loihi"))
    with pytest.raises(NeurochipError, match="float"):
        gather_counts(eng, np.zeros((2, 4)), np.zeros(2, int))


# ---- CLI ------------------------------------------------------------------------------------------
FAST = ["--hidden", "8", "--timesteps", "3", "--samples", "25", "--learn-samples", "20"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ck") / "run.h5"
    res = CliRunner().invoke(main, ["train", "--dataset", "digits", "--hidden", "8", "--epochs", "1",
                                    "--timesteps", "3", "--out", str(path)])
    assert res.exit_code == 0, res.output
    return path


def test_cli_untrained_table_and_json(cli):
    res = CliRunner().invoke(cli, ["energy", "--dataset", "digits", *FAST])
    assert res.exit_code == 0, res.output
    assert "== loihi" in res.output and "untrained" in res.output and "averaged over 25 test samples" in res.output
    for s, tot in _printed_terms(res.output):
        assert s == tot
    res = CliRunner().invoke(cli, ["energy", *FAST, "--json"])
    d = json.loads(res.output)
    assert d["counts"]["inference"]["samples"] == 25 and d["counts"]["training"]["samples"] == 20
    assert d["network"]["sizes"] == [64, 8, 10]


def test_cli_checkpoint(ckpt):
    res = invoke([str(ckpt), "--profile", "loihi", "--samples", "20", "--learn-samples", "10"])
    assert res.exit_code == 0, res.output
    assert "checkpoint" in res.output and "TRAINING" in res.output
    res = invoke([str(ckpt), "--compare", "loihi,loihi2,truenorth,cmos45", "--samples", "20", "--learn-samples", "10"])
    assert res.exit_code == 0, res.output
    assert "truenorth: rejected" in res.output and "SNN/ANN" in res.output
    res = invoke([str(ckpt), "--json", "--inference-only", "--samples", "20"])
    d = json.loads(res.output)
    assert list(d["pricing"]) == ["loihi"] and d["pricing"]["loihi"]["training"] is None


def test_cli_truenorth_learning_rejected():
    msg = _error(invoke([*FAST, "--profile", "truenorth"]))
    assert "no on-chip learning" in msg and "--inference-only" in msg
    res = invoke(["--hidden", "8", "--timesteps", "3", "--samples", "20", "--profile", "truenorth",
                  "--inference-only", "--encoder", "rate"])
    assert res.exit_code == 0, res.output
    assert "pricing-only" in res.output and "DOES NOT FIT" in res.output


@pytest.mark.parametrize("args,needle", [
    (["--profile", "loihi", "--compare", "loihi,cmos45"], "not both"),
    (["--profile", "nosuchchip"], "unknown profile"),
    (["--compare", " , "], "--compare"),
    (["--compare", "loihi,loihi"], "twice"),
    (["--samples", "0"], "--samples"),
    (["--learn-samples", "-1"], "--learn-samples"),
    (["--hidden", "x"], "--hidden"),
    (["/nonexistent/run.h5"], "not found"),
    (["--baseline", "loihi"], "energy.ann_mac"),
])
def test_cli_bad_input(args, needle):
    assert needle in _error(invoke(args))


def test_cli_checkpoint_with_network_options(ckpt):
    assert "--hidden" in _error(invoke([str(ckpt), "--hidden", "8"]))


def test_cli_malformed_profile_names_the_key(tmp_path):
    src = (PROFILE_DIR / "loihi.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(src.replace("[energy.syn_ac]\npj = 23.6\n", "[energy.syn_ac]\n"))
    assert "energy.syn_ac.pj" in _error(invoke([*FAST, "--profile", str(bad)]))


def test_report_json_keys_are_the_documented_schema(small):
    """The result dataclasses' ``to_dict`` keep the report's JSON keys (and their order) as
    ``energy --json`` has always printed them."""
    eng, inf, tr = small
    rep = json.loads(json.dumps(build_report(eng, inf, tr, [load_profile("loihi")], load_profile("cmos45"))))
    pr = rep["pricing"]["loihi"]
    run = ["profile", "phase", "samples", "terms", "total_pj_per_sample", "total_pj", "per_layer_pj_per_sample",
           "unpriced", "complete", "forward_pj_per_sample"]
    assert list(pr["inference"]) == run and list(pr["training"]) == run + ["learning_pj_per_sample"]
    assert list(pr["inference"]["terms"][0]) == [
        "op", "group", "price", "counter", "count_per_layer", "count", "count_per_sample", "pj_per_op", "estimate",
        "source", "energy_pj", "energy_pj_per_sample", "energy_pj_per_sample_per_layer"]
    assert list(pr["ann"]) == ["profile", "macs_per_sample", "mac_pj", "source", "inference_pj_per_sample",
                               "training_macs_per_sample", "training_pj_per_sample", "with_weight_reads"]
    assert list(pr["ann"]["with_weight_reads"]) == ["pj_per_mac", "sram_read_64b_pj", "source",
                                                    "inference_pj_per_sample", "training_pj_per_sample"]
    assert list(rep["footprint"]) == ["profile", "items", "inference_bytes", "inference_float32_bytes",
                                      "training_bytes", "training_float32_bytes"]
    assert list(rep["footprint"]["items"][0]) == ["item", "phase", "count", "bits", "bytes", "float32_bytes"]
    assert list(rep["neurobench"]) == ["samples", "SynapticOperations", "ActivationSparsity", "ConnectionSparsity",
                                       "Footprint", "Footprint_float32"]
    assert list(rep["neurobench"]["SynapticOperations"]) == ["Effective_MACs", "Effective_ACs", "Dense"]
    fit = pr["resources"]["inference"]
    assert list(fit) == ["profile", "bits_per_synapse", "layers", "cores", "cores_per_chip", "chips", "fits", "limit",
                         "problems"]
    assert list(fit["layers"][0]) == ["layer", "neurons", "fan_in", "synapses", "bits_per_neuron", "neurons_per_core",
                                      "cores", "limit"]
    assert pr["inference"]["terms"][0]["count"] == price(inf, eng.cfg, energy_model(load_profile("loihi"))).terms[0].count
