"""neurochip sweep: spec parsing and validation, the results table, and the same rows serially, on a
LocalCluster (worker processes) and on a real `dask scheduler` + `dask worker` started here on
127.0.0.1; a worker killed mid-sweep and a killed client lose no point and add none twice."""
from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neurochip.errors import NeurochipError
from neurochip.sweep import (NONDETERMINISTIC, ResultTable, expand, grid, load_spec, parse_spec, read_table,
                             run_point, run_sweep, summarize)

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DASK = str(Path(sys.executable).with_name("dask"))

TINY = """
[base]
dataset = "digits"
hidden = [16]
epochs = 1
timesteps = 2
train_samples = 200
test_samples = 100
[axes]
"synapse.weight_bits" = [6, 8]
seed = [0, 1]
"""

# points long enough (about 0.5 s each) to kill a process while tasks run
SLOW = """
[base]
dataset = "digits"
hidden = [48]
epochs = 2
timesteps = 4
test_samples = 100
[axes]
"learning.trace_bits" = [7, 8]
seed = [0, 1, 2]
"""


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e["NUMBA_NUM_THREADS"] = "1"
    return e


def invoke(*args):
    """In-process CLI (click's CliRunner): exit code, stdout, stderr."""
    from click.testing import CliRunner

    from neurochip.cli import main

    r = CliRunner().invoke(main, list(args))
    return r.exit_code, r.stdout, r.stderr


def cli(*args, **kw):
    return subprocess.run([PY, "-m", "neurochip.cli", *args], capture_output=True, text=True, env=env(),
                          timeout=kw.pop("timeout", 120), **kw)


def write(tmp_path, text, name="spec.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def compared(path) -> dict[str, dict]:
    """Rows by point key, without the wall-clock columns."""
    _, rows = read_table(path)
    return {r["point"]: {k: v for k, v in r.items() if k not in NONDETERMINISTIC} for r in rows}


@pytest.fixture(scope="module")
def serial_tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("serial")
    spec = write(d, TINY)
    res = run_sweep(load_spec(spec), d / "out", serial=True, echo=lambda m: None)
    assert res.ran == 4 and not res.lost
    return spec, compared(d / "out" / "results.csv")


@pytest.fixture(scope="module")
def serial_slow(tmp_path_factory):
    d = tmp_path_factory.mktemp("slow")
    spec = write(d, SLOW)
    run_sweep(load_spec(spec), d / "out", serial=True, echo=lambda m: None)
    return spec, compared(d / "out" / "results.csv")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_worker(addr, log, preload=False):
    return subprocess.Popen([DASK, "worker", addr, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                             "--host", "127.0.0.1"] + (["--preload", "neurochip.sweep_worker"] if preload else []),
                            stdout=log, stderr=subprocess.STDOUT, env=env())


def wait_workers(addr, n):
    from distributed import Client

    with Client(addr, timeout="30s") as c:
        c.wait_for_workers(n, timeout=60)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """A real `dask scheduler` and one `dask worker --preload neurochip.sweep_worker` on 127.0.0.1
    (random free ports), stopped at the end; also what the worker had warm before any sweep."""
    d = tmp_path_factory.mktemp("dask")
    port = free_port()
    addr = f"tcp://127.0.0.1:{port}"
    log = open(d / "dask.log", "w")
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=log, stderr=subprocess.STDOUT, env=env())]
    try:
        procs.append(start_worker(addr, log, preload=True))
        wait_workers(addr, 1)
        from distributed import Client

        from neurochip.sweep_worker import state

        with Client(addr, timeout="30s") as c:
            warm = list(c.run(state).values())
        yield addr, procs, log, warm
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


# ---- spec -----------------------------------------------------------------------------------------
def test_spec_keys_are_canonical_and_nested_tables_flatten():
    s = parse_spec({"base": {"update_rounding": "floor", "synapse": {"weight_bits": 7}, "lr": 0.1},
                    "axes": {"learning": {"trace_bits": [6, 7]}, "leak_shift": [1, 2], "shadow_weight_bits": [0, 10]}})
    assert s.base == {"learning.update_rounding": "floor", "synapse.weight_bits": 7, "lr": 0.1}
    # shadow_weight_bits is the network option; the profile key is learning.shadow_weight_bits
    assert s.axis_names == ["learning.trace_bits", "neuron.leak_shift", "shadow_weight_bits"]
    assert len(grid(s)) == 8


@pytest.mark.parametrize("d, msg", [
    ({"base": {"weight_bitz": 3}}, "unknown key 'weight_bitz'"),
    ({"base": {"synapse.foo": 3}}, "unknown key 'synapse.foo'"),
    ({"axes": {"seed": 3}}, "non-empty list"),
    ({"axes": {"seed": [1, 1]}}, "lists a value twice"),
    ({"axes": {"seed": [1], "learning.trace_bits,seed": [[7, 2]]}}, "swept twice"),
    ({"axes": {"learning.trace_bits,learning.trace_frac_bits": [[7, 5], [8]]}}, "list of 2"),
    ({"axes": {"profile": ["loihi"]}}, "cannot be an axis"),
    ({"sample": {"points": 0}}, "positive integer"),
    ({"bogus": {}}, "unknown table 'bogus'"),
])
def test_spec_errors_name_the_key(d, msg):
    with pytest.raises(NeurochipError, match=msg):
        parse_spec(d)


def test_zipped_axes_and_seeded_random_sample():
    axes = {"learning.trace_bits,learning.trace_frac_bits": [[6, 4], [8, 6]], "seed": [0, 1, 2]}
    s = parse_spec({"axes": axes, "sample": {"points": 4, "seed": 5}})
    a, b = grid(s), grid(s)
    assert a == b and len(a) == 4 and len({tuple(sorted(p.items())) for p in a}) == 4
    assert all((p["learning.trace_bits"], p["learning.trace_frac_bits"]) in ((6, 4), (8, 6)) for p in a)
    assert grid(parse_spec({"axes": axes, "sample": {"points": 4, "seed": 6}})) != a
    assert len(grid(parse_spec({"axes": axes, "sample": {"points": 40}}))) == 6   # more than the grid: all of it


def test_point_keys_are_stable_and_follow_the_full_spec(tmp_path):
    spec = load_spec(write(tmp_path, TINY))
    k1 = [p.key for p in expand(spec)]
    assert [p.key for p in expand(load_spec(write(tmp_path, TINY)))] == k1 and len(set(k1)) == 4
    # the same key in a fresh interpreter (no per-process salt)
    out = subprocess.run([PY, "-c", "import sys; from neurochip.sweep import load_spec, expand; "
                          "print(' '.join(p.key for p in expand(load_spec(sys.argv[1]))))", str(tmp_path / "spec.toml")],
                         capture_output=True, text=True, env=env(), check=True).stdout.split()
    assert out == k1
    # any change of the resolved run (here a profile key in base) is a new point
    spec2 = load_spec(write(tmp_path, TINY.replace("[axes]", "neuron.leak_shift = 2\n[axes]"), "b.toml"))
    assert not set(p.key for p in expand(spec2)) & set(k1)


def test_invalid_points_are_reported_one_line_each_before_anything_runs(tmp_path):
    spec = write(tmp_path, TINY.replace("[6, 8]", "[4, 8]"))
    code, _, err = invoke("sweep", str(spec), "--out", str(tmp_path / "o"), "--serial")
    assert code == 2
    lines = [l for l in err.splitlines() if l.startswith("invalid point")]
    assert len(lines) == 2 and all("synapse.weight_bits=4" in l and "weight exponent" in l for l in lines)
    assert "Error: 2 of 4 points are invalid" in err
    assert not (tmp_path / "o" / "results.csv").exists()
    code, _, err = invoke("sweep", str(spec), "--out", str(tmp_path / "o"), "--serial", "--skip-invalid")
    assert code == 0, err
    assert len(read_table(tmp_path / "o" / "results.csv")[1]) == 2


def test_cli_option_errors(tmp_path):
    spec = write(tmp_path, TINY)
    for args, msg in ((["--serial", "--workers", "2"], "--serial runs in this process"),
                      (["--workers", "0"], "--workers must be at least 1"),
                      (["--scheduler", "tcp://127.0.0.1:1", "--workers", "2"], "--workers sizes")):
        code, _, err = invoke("sweep", str(spec), "--out", str(tmp_path / "o"), *args)
        assert code == 2 and msg in err, err
    code, _, err = invoke("sweep", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o"))
    assert code == 2 and "sweep spec not found" in err


def test_unreachable_scheduler_is_one_line(tmp_path, monkeypatch):
    import neurochip.sweep as sw

    monkeypatch.setattr(sw, "CONNECT_TIMEOUT", "2s")
    code, _, err = invoke("sweep", str(write(tmp_path, TINY)), "--out", str(tmp_path / "o"),
                          "--scheduler", f"tcp://127.0.0.1:{free_port()}")
    assert code == 2 and err.strip().splitlines()[-1].startswith("Error: cannot reach the Dask scheduler at tcp://127.0.0.1:")


def test_dry_run_lists_points(tmp_path):
    code, out, _ = invoke("sweep", str(write(tmp_path, TINY)), "--out", str(tmp_path / "o"), "--dry-run")
    assert code == 0 and "4 points, 0 invalid" in out
    assert not (tmp_path / "o").exists()


# ---- rows and the table ---------------------------------------------------------------------------
def test_row_has_accuracy_energy_counters(serial_tiny):
    _, rows = serial_tiny
    r = next(iter(rows.values()))
    for k in ("synapse.weight_bits", "seed", "accuracy", "inference_pj_per_sample", "training_pj_per_sample",
              "inference_bytes", "training_bytes", "sat_weight_sat", "sat_update_zero", "update_zero_fraction"):
        assert r[k] != "", k
    assert 0 <= float(r["accuracy"]) <= 1 and float(r["inference_pj_per_sample"]) > 0
    by_bits = {v["synapse.weight_bits"]: int(v["inference_bytes"]) for v in rows.values()}
    assert by_bits["6"] < by_bits["8"]   # the footprint follows the swept width


def test_table_adds_a_point_once_and_writes_atomically(tmp_path, monkeypatch):
    t = ResultTable(tmp_path / "r.csv")
    assert t.add({"point": "a", "index": 0, "accuracy": 0.5})
    assert not t.add({"point": "a", "index": 0, "accuracy": 0.7})
    assert t.add({"point": "b", "index": 1, "accuracy": 0.25, "extra": 1.0})
    before = (tmp_path / "r.csv").read_text()

    def boom(*a):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        t.add({"point": "c", "index": 2, "accuracy": 0.1})
    assert (tmp_path / "r.csv").read_text() == before   # the old table stays whole
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]   # no temporary file left
    monkeypatch.undo()
    cols, rows = read_table(tmp_path / "r.csv")
    assert cols == ["point", "index", "accuracy", "extra"] and [r["accuracy"] for r in rows] == ["0.5", "0.25"]
    assert ResultTable(tmp_path / "r.csv").rows.keys() == {"a", "b"}


def test_table_adds_a_batch_with_one_write(tmp_path, monkeypatch):
    t = ResultTable(tmp_path / "r.csv")
    t.add({"point": "a", "index": 0, "accuracy": 0.5})
    writes = []
    monkeypatch.setattr(ResultTable, "write", lambda self: writes.append(len(self.rows)))
    assert t.add_many([{"point": "b", "index": 1}, {"point": "a", "index": 0}, {"point": "c", "index": 2}]) == 2
    assert writes == [3]
    assert t.add_many([{"point": "c", "index": 2}]) == 0 and writes == [3]   # nothing new: no write


def test_rerun_skips_finished_points(serial_tiny, tmp_path):
    spec, rows = serial_tiny
    out = tmp_path / "o"
    res = run_sweep(load_spec(spec), out, serial=True, echo=lambda m: None)
    assert (res.ran, res.skipped) == (4, 0)
    code, so, err = invoke("sweep", str(spec), "--out", str(out), "--serial", "--json")
    assert code == 0, err
    assert '"ran": 0, "skipped": 4' in so
    assert compared(out / "results.csv") == rows


def test_summary_buckets():
    from neurochip.sweep import Point

    t = ResultTable.__new__(ResultTable)
    t.rows = {k: {"point": k, "accuracy": a, "inference_pj_per_sample": e, "error": ""}
              for k, a, e in (("a", "0.90", "100"), ("b", "0.895", "50"), ("c", "0.88", "20"), ("d", "0.80", "1"))}
    s = summarize([Point(i, {}, {}, k) for i, k in enumerate("abcd")], t)
    assert s["best"]["point"] == "a"
    assert [b["row"]["point"] for b in s["buckets"]] == ["b", "b", "c", "c"]


def test_point_error_becomes_a_row():
    row = run_point({"config": {"sizes": [2, 2]}, "profile": {}, "dataset": {}})
    assert row["error"] and "seconds" in row and row["cpu_seconds"] >= 0
    assert set(NONDETERMINISTIC) == {"seconds", "cpu_seconds"}   # left out of the identity comparisons


# ---- distributed ----------------------------------------------------------------------------------
def test_local_cluster_rows_equal_serial(serial_tiny, tmp_path):
    spec, rows = serial_tiny
    res = run_sweep(load_spec(spec), tmp_path / "o", workers=2, echo=lambda m: None)
    assert res.ran == 4 and not res.lost
    assert compared(tmp_path / "o" / "results.csv") == rows


def test_preloaded_remote_worker_is_warm_before_any_sweep(scheduler):
    _, _, _, warm = scheduler
    assert len(warm) == 1
    assert warm[0]["modules"] == ["neurochip.energy.report", "neurochip.train", "sklearn.model_selection"]
    assert warm[0]["datasets"] == [0]          # the default points' digits split
    assert warm[0]["config"]["distributed.worker.profile.enabled"] is True   # remote: Dask's own settings


def test_local_cluster_workers_are_warm_and_quiet():
    from distributed import Client

    from neurochip.sweep import local_cluster
    from neurochip.sweep_worker import DASK_CONFIG, state

    cluster = local_cluster(1)
    try:
        with Client(cluster) as c:
            (st,) = c.run(state).values()
            threads = c.run(lambda: __import__("numba").config.NUMBA_NUM_THREADS)
    finally:
        cluster.close()
    assert st["modules"] == ["neurochip.energy.report", "neurochip.train", "sklearn.model_selection"]
    assert st["datasets"] == [0]
    assert st["config"] == DASK_CONFIG
    assert list(threads.values()) == [1]


def test_warm_up_plugin_one_point_per_kind_and_every_dataset(tmp_path, caplog):
    from neurochip import sweep
    from neurochip.sweep_worker import SweepWarmUp, warm

    pts = expand(load_spec(write(tmp_path, TINY)))
    plugin = SweepWarmUp([p.spec for p in pts])
    assert len(plugin.pspecs) == 1                            # 4 points, one kind (widths and seeds are values)
    assert sorted(d["seed"] for d in plugin.datasets) == [0, 1]
    sweep._DATA_CACHE.clear()
    done = warm(plugin.pspecs, plugin.datasets)
    assert (done["datasets"], done["points"], done["errors"]) == (2, 1, [])
    assert sorted(json.loads(k)["seed"] for k in sweep._DATA_CACHE) == [0, 1]
    mixed = SweepWarmUp([p.spec for p in pts] + [p.spec for p in expand(parse_spec(
        {"base": {"dataset": "digits", "hidden": [8], "epochs": 1}, "axes": {"precision": ["float"], "rule": ["ottt-a"]}}))])
    assert len(mixed.pspecs) == 2
    missing = warm([], [{"path": str(tmp_path / "nope.npz"), "seed": 0}])   # logged, not raised: the task reports it
    assert missing["datasets"] == 0 and "nope.npz" in missing["errors"][0]
    assert "nope.npz" in caplog.text


def test_remote_scheduler_rows_equal_serial(serial_tiny, scheduler, tmp_path):
    spec, rows = serial_tiny
    addr, _, _, _ = scheduler
    r = cli("sweep", str(spec), "--out", str(tmp_path / "o"), "--scheduler", addr, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert f"4 points run on {addr}" in r.stdout
    assert compared(tmp_path / "o" / "results.csv") == rows


def _wait_rows(path: Path, n: int, proc, timeout=90):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if path.exists() and len(read_table(path)[1]) >= n:
            return
        if proc.poll() is not None:
            raise AssertionError(f"sweep ended early: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.05)
    raise AssertionError("no row appeared")


def test_worker_killed_mid_sweep_every_point_once(serial_slow, scheduler, tmp_path):
    spec, rows = serial_slow
    addr, procs, log, _ = scheduler
    extra = start_worker(addr, log)
    procs.append(extra)
    wait_workers(addr, 2)
    out = tmp_path / "o"
    p = subprocess.Popen([PY, "-m", "neurochip.cli", "sweep", str(spec), "--out", str(out), "--scheduler", addr,
                          "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    from distributed import Client

    with Client(addr, timeout="30s") as c:
        victim = next(a for a, pid in c.run(os.getpid).items() if pid == extra.pid)
        _wait_rows(out / "results.csv", 1, p)
        t0 = time.time()
        while not c.processing(workers=[victim])[victim] and time.time() - t0 < 30:
            time.sleep(0.01)
        running = c.processing(workers=[victim])[victim]
        os.kill(extra.pid, signal.SIGKILL)      # dies mid-task
    assert running and all(k.startswith("neurochip-point-") for k in running)
    so, se = p.communicate(timeout=120)
    assert p.returncode == 0, se
    assert {k[len("neurochip-point-"):] for k in running} <= set(rows)   # its task ran again elsewhere
    with open(out / "results.csv", newline="") as f:
        keys = [r["point"] for r in csv.DictReader(f)]
    assert sorted(keys) == sorted(rows) and len(keys) == 6
    assert compared(out / "results.csv") == rows


def test_killed_client_resumes(serial_slow, tmp_path):
    spec, rows = serial_slow
    out = tmp_path / "o"
    p = subprocess.Popen([PY, "-m", "neurochip.cli", "sweep", str(spec), "--out", str(out), "--serial"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    _wait_rows(out / "results.csv", 2, p)
    p.kill()
    p.wait()
    done = compared(out / "results.csv")
    assert 2 <= len(done) < 6 and all(rows[k] == v for k, v in done.items())
    code, so, err = invoke("sweep", str(spec), "--out", str(out), "--serial", "--json")
    assert code == 0, err
    assert f'"ran": {6 - len(done)}, "skipped": {len(done)}' in so
    assert compared(out / "results.csv") == rows


def test_several_grids_union_with_effective_values(tmp_path):
    spec = load_spec(write(tmp_path, TINY.split("[axes]")[0] + """
[[axes]]
"synapse.weight_bits" = [6, 8]
[[axes]]
"learning.trace_bits" = [6, 7]
"""))
    pts = expand(spec)
    # loihi's base has 8-bit weights and 7-bit traces: (8, 7) is in both grids and runs once
    assert [(p.values["synapse.weight_bits"], p.values["learning.trace_bits"]) for p in pts] == [(6, 7), (8, 7), (8, 6)]
    assert spec.axis_names == ["synapse.weight_bits", "learning.trace_bits"]
    assert [p.index for p in pts] == [0, 1, 2] and len({p.key for p in pts}) == 3


def test_progress_bar_counts_points(serial_tiny, tmp_path):
    spec, _ = serial_tiny
    seen = []

    class Bar:
        def update(self, k):
            seen.append(k)

        def finish(self):
            seen.append("done")

    def factory(n):
        seen.append(("total", n))
        return Bar()

    run_sweep(load_spec(spec), tmp_path / "o", serial=True, progress=factory, echo=lambda m: None)
    assert seen == [("total", 4), 1, 1, 1, 1, "done"]


def test_network_axes_hidden_lr_rule(tmp_path):
    spec = load_spec(write(tmp_path, TINY.split("[axes]")[0] + """
[axes]
hidden = [[16], "24,8"]
lr = [0.05, 0.1]
rule = ["ottt-o", "ottt-a"]
"""))
    pts = expand(spec)
    assert len(pts) == 8 and not any(p.error for p in pts)
    p = pts[-1]
    assert p.values == {"hidden": [24, 8], "lr": 0.1, "rule": "ottt-a"}
    assert p.spec["config"]["sizes"] == [64, 24, 8, 10] and p.spec["config"]["lr"] == 0.1
    assert p.label() == "hidden=24,8, lr=0.1, rule=ottt-a"
