"""Stock lava-nc 0.10.0 imports and runs on Python 3.11 through neurochip's import fix
(neurochip/lava/compat.py; docs/design/lava-semantics.md section 0).

Lava itself is imported in child interpreters, so that what makes it load is the fix and not an
import that happened earlier in this pytest process. Lava runs in those children always end with
``stop()`` in a ``finally``. No Lava Process is defined in this directory (Lava imports every .py
next to a script that defines one).
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from neurochip.lava import compat as lava_compat
from neurochip.errors import NeurochipError

REPO = Path(__file__).resolve().parents[1]
HAVE_LAVA = importlib.util.find_spec("lava") is not None
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _need_lava():
    """Skip only when lava-nc is not installed at all, and never in CI (scripts/setup.sh installs it)."""
    if HAVE_LAVA:
        return
    if IN_CI:
        pytest.fail("lava-nc is not installed in CI: scripts/setup.sh should have installed it")
    pytest.skip("lava-nc not installed")


def _run_child(code: str, cwd: Path, timeout: float = 180) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=timeout, cwd=cwd, env=env)
    assert out.returncode == 0, f"child failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    return out.stdout


def _synthetic_var_model(n_classes: int = 3) -> str:
    """Text shaped like lava-nc 0.10.0's var_model.py at the places the fix touches (not Lava's code)."""
    fields = [("CoreEncoder", "xyp"), ("ChipEncoder", "xyz"), ("AxonEncoder", ("hi", "lo"))][:n_classes]
    lines = ["from __future__ import annotations", "", "from dataclasses import dataclass, InitVar", "",
             "@dataclass", "class ByteEncoder:", "    base: int = 0", ""]
    for cls, names in fields:
        lines += ["@dataclass", f"class {cls}:"] + [f"    {n}: ByteEncoder = ByteEncoder()" for n in names] + [""]
    return "\n".join(lines) + "\n"


# --- the text edit ------------------------------------------------------------------------------------------


def test_patch_source_edits_only_the_expected_lines():
    src = _synthetic_var_model()
    out, applied, reason = lava_compat.patch_source(src)
    assert applied, reason
    old, new = src.splitlines(), out.splitlines()
    assert len(old) == len(new)  # line numbers in tracebacks stay right
    changed = [i for i, (a, b) in enumerate(zip(old, new)) if a != b]
    assert len(changed) == 9
    assert new[2] == "from dataclasses import dataclass, InitVar, field"
    assert out.count("field(default_factory=ByteEncoder)") == 8 and "ByteEncoder()" not in out
    ns: dict = {}
    exec(compile(out, "<patched>", "exec"), ns)  # the patched text is valid Python 3.11
    assert ns["CoreEncoder"]().x is not ns["CoreEncoder"]().x  # one ByteEncoder per instance


def test_patch_source_leaves_fixed_or_unexpected_text_alone():
    src = _synthetic_var_model()
    fixed, _, _ = lava_compat.patch_source(src)
    assert lava_compat.patch_source(fixed)[:2] == (fixed, False)  # already fixed: unmodified
    assert lava_compat.patch_source("x = 1\n")[:2] == ("x = 1\n", False)
    for bad in (_synthetic_var_model(2),  # 5 defaults, not 8
                src.replace("from dataclasses import dataclass, InitVar\n", "import dataclasses\n"),
                src + "DEFAULT = ByteEncoder()\n",  # ByteEncoder() somewhere unexpected
                src.replace("    x: ByteEncoder = ByteEncoder()", "    x: ByteEncoder = ByteEncoder()  # note", 1)):
        out, applied, reason = lava_compat.patch_source(bad)
        assert out == bad and not applied and "loaded as installed" in reason


def test_patch_source_on_the_installed_file():
    _need_lava()
    # locate the file without importing any lava module
    roots = list(importlib.util.find_spec("lava").submodule_search_locations)
    path = next(p for p in (Path(r) / "magma" / "compiler" / "var_model.py" for r in roots) if p.exists())
    src = path.read_text(encoding="utf-8")
    out, applied, reason = lava_compat.patch_source(src)
    assert applied, reason
    changed = [i + 1 for i, (a, b) in enumerate(zip(src.splitlines(), out.splitlines())) if a != b]
    # 1-based lines of lava-nc 0.10.0's var_model.py, as cited in neurochip/lava/compat.py
    assert changed == [9, 221, 222, 223, 229, 230, 231, 237, 238]


# --- status and hints ---------------------------------------------------------------------------------------


def test_status_without_lava(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "lava" else real(name, *a, **k))
    ok, why = lava_compat.lava_status()
    assert not ok and "not installed" in why and lava_compat.INSTALL_COMMAND in why
    with pytest.raises(NeurochipError, match="not installed") as e:
        lava_compat.require_lava()
    assert "\n" not in str(e.value)


def test_status_with_wrong_version(monkeypatch):
    _need_lava()
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.9.0")
    ok, why = lava_compat.lava_status()
    assert not ok and "lava-nc 0.9.0 is installed" in why and "0.10.0" in why
    with pytest.raises(NeurochipError, match="0.9.0"):
        lava_compat.require_lava()


def test_install_hint_is_the_command_in_setup_sh():
    setup = (REPO / "scripts" / "setup.sh").read_text()
    assert lava_compat.INSTALL_COMMAND.removeprefix("pip ") in setup
    assert f'"lava-nc=={lava_compat.LAVA_VERSION}"' in lava_compat.INSTALL_COMMAND


def test_importing_neurochip_does_not_import_lava(tmp_path):
    out = _run_child("""
        import sys
        import neurochip, neurochip.lava.compat, neurochip.errors
        print(sorted(m for m in sys.modules if m == "lava" or m.startswith("lava.")))
        print(any(type(f).__name__ == "_VarModelFixFinder" for f in sys.meta_path))
    """, tmp_path)
    assert out.split("\n")[:2] == ["[]", "False"]


def test_lava_status_is_true_here():
    _need_lava()
    ok, why = lava_compat.lava_status()
    assert ok, why
    assert "0.10.0" in why
    lava_compat.require_lava()


def test_cli_lava_check():
    from click.testing import CliRunner

    from neurochip.cli import main

    res = CliRunner().invoke(main, ["lava", "check"])
    assert (res.exit_code == 0) == HAVE_LAVA, res.output
    assert "lava-nc" in res.output


# --- stock Lava in a fresh interpreter ----------------------------------------------------------------------


def test_stock_lava_fails_without_the_fix(tmp_path):
    """Documents why the fix exists: on Python 3.11 stock lava-nc 0.10.0 cannot be imported."""
    _need_lava()
    if sys.version_info < (3, 11):
        pytest.skip("Python 3.10 accepts the ByteEncoder() default")
    out = _run_child("""
        try:
            import lava.proc.lif.process  # -> lava.magma.core.process.process -> ... -> var_model
        except ValueError as e:
            print("ValueError:", e)
        else:
            print("imported")
    """, tmp_path)
    assert out.startswith("ValueError: mutable default") and "ByteEncoder" in out, out


def test_fix_is_idempotent_touches_one_module_and_lava_runs(tmp_path):
    """LIF and Dense import after install_import_fix(); a tiny LIF+Dense net runs 5 fixed_pt steps."""
    _need_lava()
    out = _run_child("""
        import sys
        import numpy as np
        from neurochip.lava import compat as lc

        assert lc.install_import_fix() is True
        assert lc.install_import_fix() is False  # idempotent
        assert sum(isinstance(f, lc._VarModelFixFinder) for f in sys.meta_path) == 1
        finder = next(f for f in sys.meta_path if isinstance(f, lc._VarModelFixFinder))
        for other in ("lava", "lava.magma.compiler", "lava.magma.compiler.var_model_x", "numpy", "json"):
            assert finder.find_spec(other, None) is None, other

        from lava.proc.lif.process import LIF
        from lava.proc.dense.process import Dense
        from lava.proc.io.source import RingBuffer
        from lava.magma.core.run_configs import Loihi2SimCfg
        from lava.magma.core.run_conditions import RunSteps
        import lava.magma.compiler.var_model as vm

        assert lc.FIX_STATE["applied"] is True, lc.FIX_STATE
        assert vm.__file__ == lc.FIX_STATE["origin"] and "site-packages" in vm.__file__
        code = vm.AbstractVarModel.__post_init__.__code__  # compiled under the real file name and lines
        assert (code.co_filename, code.co_firstlineno) == (vm.__file__, 67), (code.co_filename, code.co_firstlineno)
        patched = sorted(n for n, m in list(sys.modules.items())
                         if isinstance(getattr(getattr(m, "__spec__", None), "loader", None), lc._PatchingLoader))
        assert patched == ["lava.magma.compiler.var_model"], patched
        assert vm.CoreEncoder().x is not vm.CoreEncoder().x
        ok, why = lc.lava_status()
        assert ok and "import fix" in why, why

        # RingBuffer -> Dense(100) -> LIF(du=4095, dv=2048, vth=200), spikes at steps 1, 3, 4
        src = RingBuffer(data=np.array([[1, 0, 1, 1, 0]], dtype=np.int32))
        dense = Dense(weights=np.array([[100]]))
        lif = LIF(shape=(1,), du=4095, dv=2048, vth=200)
        src.s_out.connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
        try:
            lif.run(condition=RunSteps(num_steps=5), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
            u, v = int(lif.u.get()[0]), int(lif.v.get()[0])
        finally:
            lif.stop()
        print("RESULT", u, v)
    """, tmp_path)
    # lava-semantics.md: Dense delivers 100 at steps 2, 4, 5; u = 100 << 6; v halves each step: 0, 6400, 3200, 8000, 10400
    assert "RESULT 6400 10400" in out, out


def test_lava_imports_after_the_start_method_was_fixed_to_fork(tmp_path):
    """Lava's runtime module calls set_start_method('fork') at import: once anything fixed the start
    method (Dask's LocalCluster in a sweep, or a plain get_start_method()), that raised "context has
    already been set" and Lava was unusable for the rest of the process. Already 'fork': usable."""
    _need_lava()
    out = _run_child("""
        import multiprocessing as mp
        assert mp.get_start_method() == "fork"          # fixes the method, as Dask does
        from neurochip.lava.compat import lava_status
        ok, why = lava_status()
        assert ok, why
        assert mp.get_start_method() == "fork"
        print("ok")
    """, tmp_path)
    assert out.strip().endswith("ok")


def test_lava_refuses_another_start_method_in_one_line(tmp_path):
    """A process that chose 'spawn' keeps it; Lava is reported unusable, saying why."""
    _need_lava()
    out = _run_child("""
        import multiprocessing as mp
        mp.set_start_method("spawn")
        from neurochip.lava.compat import lava_status
        ok, why = lava_status()
        assert not ok and "'fork'" in why and "'spawn'" in why and "\\n" not in why, why
        assert mp.get_start_method() == "spawn"
        print("ok")
    """, tmp_path)
    assert out.strip().endswith("ok")
