"""Cached kernels are keyed by every neurochip file they depend on (issue 9 section 3).

Numba alone invalidates a cached function only when its own file changes; a kernel calling an
edited helper from another file would keep the old code. ``neurochip/kernel_cache.py`` stamps each
cached function with the hash of its file and of every package file it imports, transitively.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import numba
import pytest

import neurochip
from neurochip import kernel_cache as kc

PKG = Path(neurochip.__file__).resolve().parent

HELPER = '''

@nb.njit(**NJIT)
def _probe_helper(x):
    return x + {inc}
'''
PROBE = '''import numba as nb

from ..fixedpoint import NJIT, _probe_helper


@nb.njit(**NJIT)
def probe(x):
    return 10 * _probe_helper(x)
'''


def _copy_package(tmp: Path, inc: int) -> Path:
    dst = tmp / "neurochip"
    shutil.copytree(PKG, dst, ignore=shutil.ignore_patterns("__pycache__"))
    with open(dst / "fixedpoint.py", "a") as f:
        f.write(HELPER.format(inc=inc))
    (dst / "kernels" / "_probe.py").write_text(PROBE)
    return dst


def _run_probe(tmp: Path, cache_dir: Path | None) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=str(tmp), NUMBA_DEBUG_CACHE="1")
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    res = subprocess.run([sys.executable, "-c", "from neurochip.kernels._probe import probe; print('OUT', probe(1))"],
                         cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    out = [ln for ln in res.stdout.splitlines() if ln.startswith("OUT ")]
    return int(out[-1].split()[1]), res.stdout


def _loaded_probe(log: str) -> bool:
    return any("data loaded" in ln and "_probe.probe-" in ln for ln in log.splitlines())


@pytest.mark.parametrize("where", ["in_tree", "numba_cache_dir"])
def test_editing_a_helper_in_another_file_recompiles_the_kernel(tmp_path, where):
    cache_dir = tmp_path / "numba_cache" if where == "numba_cache_dir" else None
    pkg = _copy_package(tmp_path, inc=1)
    value, log = _run_probe(tmp_path, cache_dir)
    assert value == 20 and not _loaded_probe(log)
    value, log = _run_probe(tmp_path, cache_dir)            # unchanged: served from the cache
    assert value == 20 and _loaded_probe(log)
    # a file no kernel imports: the cache stays valid
    (pkg / "cli.py").write_text((pkg / "cli.py").read_text() + "\n# edited\n")
    value, log = _run_probe(tmp_path, cache_dir)
    assert value == 20 and _loaded_probe(log)
    # the helper the kernel calls, in another file: the kernel is rebuilt with the new helper
    src = (pkg / "fixedpoint.py").read_text()
    (pkg / "fixedpoint.py").write_text(src.replace("return x + 1", "return x + 2"))
    value, log = _run_probe(tmp_path, cache_dir)
    assert value == 30 and not _loaded_probe(log)
    value, log = _run_probe(tmp_path, cache_dir)
    assert value == 30 and _loaded_probe(log)
    if cache_dir is not None:                               # the user's folder, not the package's
        assert list(cache_dir.rglob("_probe.probe-*.nbi"))
        assert not list(pkg.rglob("_probe.probe-*.nbi"))
    else:
        assert len(list(pkg.rglob("_probe.probe-*.nbi"))) == 1   # one index, rewritten in place


def test_dependencies_follow_imports_transitively():
    deps = {p.relative_to(PKG).as_posix() for p in kc.dependencies(PKG / "kernels" / "ottt_int.py")}
    assert {"fixedpoint.py", "surrogate.py", "kernels/ottt_int.py", "__init__.py", "kernels/__init__.py"} <= deps
    assert "cli.py" not in deps and "checkpoint.py" not in deps
    # every module a kernel file imports is in its closure, and the closure is closed under imports
    for f in deps:
        assert {p.relative_to(PKG).as_posix() for p in kc._imports(PKG / f)} <= deps


def _all_modules():
    for m in pkgutil.walk_packages(neurochip.__path__, "neurochip."):
        if m.name.startswith("neurochip.lava"):   # Lava process models need lava-nc; no numba kernel
            continue
        yield importlib.import_module(m.name)


def test_every_cached_kernel_uses_the_package_locator():
    dispatchers = []
    for mod in _all_modules():
        for obj in vars(mod).values():
            if isinstance(obj, numba.core.registry.CPUDispatcher) and obj.__module__ == mod.__name__:
                dispatchers.append(obj)
    assert len(dispatchers) > 20
    for d in dispatchers:
        assert d._cache is not None and not isinstance(d._cache, numba.core.caching.NullCache), d
        assert isinstance(d._cache._impl.locator, kc.install()), d
