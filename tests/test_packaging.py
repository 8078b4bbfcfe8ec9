"""The wheel a new user installs carries the bundled hardware profiles (issue 9 section 2).

Builds the wheel from a copy of the source tree (no network: ``--no-build-isolation``), installs it
into a temporary target folder with ``pip --target``, and runs the installed package from a folder
where the source checkout is not importable.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("setup.py", "setup.cfg", "pyproject.toml", "README.md", "MANIFEST.in", "neurochip", "hw_profiles")


def _pip(*args, cwd):
    res = subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pkg")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(p, src / name)
    _pip("wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"), cwd=src)
    (wheel,) = (tmp / "dist").glob("neurochip-*.whl")
    site = tmp / "site"
    _pip("install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel), cwd=tmp)
    run = tmp / "elsewhere"      # a working folder with no neurochip/ or hw_profiles/ in it
    run.mkdir()
    return wheel, site, run


def _run(site, run, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NEUROCHIP_PROFILES")}
    env["PYTHONPATH"] = str(site)
    return subprocess.run([sys.executable, *args], cwd=run, env=env, capture_output=True, text=True, timeout=120)


def test_wheel_holds_every_module_and_every_profile(installed):
    wheel, _, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "neurochip").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert sources - names == set()
    profiles = {f"neurochip/hw_profiles/{p.name}" for p in (ROOT / "hw_profiles").glob("*.toml")}
    assert profiles and profiles - names == set()


def test_installed_wheel_lists_and_loads_bundled_profiles(installed):
    _, site, run = installed
    res = _run(site, run, "-c", "import neurochip, sys; from neurochip.cli import main; "
               "print('FILE', neurochip.__file__); sys.argv = ['neurochip', 'profiles']; main()")
    assert res.returncode == 0, res.stderr
    assert f"FILE {site}" in res.stdout          # the installed copy, not the checkout
    for p in (ROOT / "hw_profiles").glob("*.toml"):
        assert p.stem in res.stdout
    res = _run(site, run, "-c", "from neurochip.profile import load_profile, PROFILE_DIR; "
               "p = load_profile('loihi'); print(p.name, PROFILE_DIR)")
    assert res.returncode == 0, res.stderr
    name, folder = res.stdout.split()
    assert name == "loihi" and Path(folder) == site / "neurochip" / "hw_profiles"


def test_installed_console_script_runs(installed):
    _, site, run = installed
    script = site / "bin" / "neurochip"
    assert script.exists()
    res = _run(site, run, str(script), "profiles", "--json")
    assert res.returncode == 0, res.stderr
    assert '"loihi"' in res.stdout


def test_no_two_modules_share_a_name():
    """Layout rule (issue 9 section 2): every module's file name is unique in the package, so a name
    such as ``cli`` or ``model`` points at one file (``__init__.py`` excepted)."""
    seen: dict[str, list[str]] = {}
    for p in (ROOT / "neurochip").rglob("*.py"):
        if p.name != "__init__.py" and "__pycache__" not in p.parts:
            seen.setdefault(p.stem, []).append(p.relative_to(ROOT).as_posix())
    assert {k: v for k, v in seen.items() if len(v) > 1} == {}


def test_wheel_is_typed_and_exports_the_public_api(installed):
    """issue 15: the py.typed marker and the __init__ stub are in the wheel; the installed package
    exposes the public names of docs/api.md."""
    wheel, site, run = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"neurochip/py.typed", "neurochip/__init__.pyi"} <= names
    res = _run(site, run, "-c", "import neurochip as nc; print(nc.load_profile('loihi').replace('synapse.weight_bits', 6)"
               ".synapse.weight_bits, len(nc.__all__), nc.build([4, 2]).config.sizes)")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[0] == "6"
