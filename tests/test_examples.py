"""The scripts in examples/ run (in their --fast mode) and print what they promise (issue 15)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# script -> lines (substrings) its fast run must print
EXPECT = {
    "onchip_vs_float.py": ["on chip (int OTTT, loihi)", "float OTTT reference", "float BPTT", "final test accuracy"],
    "bit_width_sweep.py": ["weight bits", "test acc"],
    "lava_check.py": ["export: stock Lava processes", "lava: "],
    "energy_of_trained.py": ["effective MACs", "loihi ", "truenorth "],
    "one_sample.py": ["predicted", "hidden spikes", "readout membrane", "largest hidden trace"],
    "sweep_and_plot.py": ["point 1: synapse.weight_bits=8", "2 points run", "best accuracy", "on the Pareto front"],
}


# extra arguments of a script's fast run (where it writes)
ARGS = {"sweep_and_plot.py": lambda tmp: ["--out", str(tmp / "sweep")]}


def _run(script: str, *args: str, env_fast: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if env_fast:
        env["NEUROCHIP_EXAMPLES_FAST"] = "1"
    return subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def test_every_example_is_tested_and_listed():
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(EXPECT)
    readme = (EXAMPLES / "README.md").read_text()
    for s in scripts:
        assert f"`{s}`" in readme, s


@pytest.mark.parametrize("script", sorted(EXPECT))
def test_example_runs_fast(script, tmp_path):
    res = _run(script, "--fast", *ARGS.get(script, lambda tmp: [])(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    for want in EXPECT[script]:
        assert want in res.stdout, (want, res.stdout)


def test_bit_width_sweep_trains_at_each_width():
    res = _run("bit_width_sweep.py", "--fast")
    assert res.returncode == 0, res.stdout + res.stderr
    rows = [ln.split() for ln in res.stdout.splitlines()[1:] if ln.strip()]
    assert [(int(r[0]), int(r[1])) for r in rows] == [(3, 128), (8, 4096)]
    assert all(0.0 <= float(r[2]) <= 1.0 for r in rows)


def test_lava_example_checks_bit_exactness_when_lava_is_usable():
    from neurochip import lava_status

    ok, why = lava_status()
    res = _run("lava_check.py", env_fast=True)
    assert res.returncode == 0, res.stdout + res.stderr
    if ok:
        assert "EXACT" in res.stdout and "differing spikes" in res.stdout
    else:
        assert why in res.stdout and "EXACT" not in res.stdout


def test_sweep_example_writes_its_table_and_figures(tmp_path):
    res = _run("sweep_and_plot.py", "--fast", "--out", str(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    import neurochip as nc

    table = nc.read_sweep(tmp_path)
    assert table.column("synapse.weight_bits").tolist() == [6.0, 8.0]
    for name in ("pareto.png", "accuracy_vs_bits.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    again = _run("sweep_and_plot.py", "--fast", "--out", str(tmp_path))       # resumes: nothing to run
    assert again.returncode == 0 and "0 points run, 2 already in" in again.stdout, again.stdout + again.stderr


def test_one_sample_plot(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "s.png"
    res = _run("one_sample.py", "--fast", "--plot", str(out))
    assert res.returncode == 0, res.stdout + res.stderr
    assert out.stat().st_size > 1000
