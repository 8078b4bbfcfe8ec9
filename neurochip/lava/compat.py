"""Make stock lava-nc 0.10.0 importable on Python 3.11, without editing site-packages.

Why: lava-nc 0.10.0 declares ``Requires-Python: >=3.10,<3.11`` (so ``scripts/setup.sh`` installs
it with ``pip install --ignore-requires-python``). On 3.11 exactly one thing breaks, at import
time, in ``lava/magma/compiler/var_model.py`` (lava-nc 0.10.0, lines 219-238): the dataclasses
``CoreEncoder``, ``ChipEncoder`` and ``AxonEncoder`` give their fields the default
``ByteEncoder()``, an unhashable dataclass instance, which Python 3.11's ``dataclasses`` rejects::

    ValueError: mutable default <class '...ByteEncoder'> for field x is not allowed: use default_factory

(see ``docs/design/lava-semantics.md`` section 0, which verified the fix below by hand with ``sed``).

How: :func:`install_import_fix` puts a finder first on ``sys.meta_path``. It intercepts ONLY the
module ``lava.magma.compiler.var_model``; every other import goes to the normal machinery. For
that module it reads the installed source file, replaces each ``: ByteEncoder = ByteEncoder()``
by ``: ByteEncoder = field(default_factory=ByteEncoder)`` and line 9's
``from dataclasses import dataclass, InitVar`` by ``..., InitVar, field`` (the same edit as the
``sed`` in lava-semantics.md), checks that the edit landed exactly where expected and kept the line count,
compiles it under the installed file's name (tracebacks and line numbers stay right) and
executes it. No bytecode cache is read or written for it. If the source is not the one expected
(e.g. a later Lava release that fixed this), the module loads unmodified and :data:`FIX_STATE`
says why.

Nothing here imports Lava when ``neurochip`` is imported; :func:`lava_status` and
:func:`require_lava` import it when called.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys

from ..errors import NeurochipError

TARGET = "lava.magma.compiler.var_model"
LAVA_VERSION = "0.10.0"
# Keep identical to the install line in scripts/setup.sh (tests/test_lava_compat.py checks this).
INSTALL_COMMAND = ('pip install --ignore-requires-python "numpy>=1.26,<2" "scipy<1.17" '
                   '"networkx<=2.8.7" "asteval<0.10" "lava-nc==0.10.0"')

# The edit. lava-nc 0.10.0 var_model.py: line 9 is the import; lines 221-223 (CoreEncoder x, y, p),
# 229-231 (ChipEncoder x, y, z) and 237-238 (AxonEncoder hi, lo) are the eight defaults.
_IMPORT_RE = re.compile(r"^from dataclasses import dataclass, InitVar$", re.M)
_IMPORT_NEW = "from dataclasses import dataclass, InitVar, field"
_DEFAULT_RE = re.compile(r"^(\s+\w+): ByteEncoder = ByteEncoder\(\)$", re.M)
_DEFAULT_NEW = r"\1: ByteEncoder = field(default_factory=ByteEncoder)"
_EXPECTED_DEFAULTS = 8

# What happened the last time the target module was loaded through the fix:
# applied is None (not loaded through the fix yet), True (patched) or False (loaded unmodified);
# reason says why; origin is the file it was loaded from.
FIX_STATE: dict = {"applied": None, "reason": "lava.magma.compiler.var_model not imported through the fix",
                   "origin": None}


def patch_source(src: str) -> tuple[str, bool, str]:
    """(source to run, whether it was patched, why). Patches only lava-nc 0.10.0's exact text."""
    n_imports = len(_IMPORT_RE.findall(src))
    n_defaults = len(_DEFAULT_RE.findall(src))
    n_any = src.count("ByteEncoder()")
    if n_defaults == 0 and n_any == 0:
        return src, False, "no ByteEncoder() default in var_model.py (already fixed upstream?): loaded as installed"
    if n_imports != 1 or n_defaults != _EXPECTED_DEFAULTS or n_any != _EXPECTED_DEFAULTS:
        return src, False, (f"var_model.py is not lava-nc {LAVA_VERSION}'s (dataclasses import lines: {n_imports}, "
                            f"field defaults: {n_defaults}, ByteEncoder() anywhere: {n_any}, expected 1, "
                            f"{_EXPECTED_DEFAULTS}, {_EXPECTED_DEFAULTS}): loaded as installed")
    new = _IMPORT_RE.sub(_IMPORT_NEW, src, count=1)
    new = _DEFAULT_RE.sub(_DEFAULT_NEW, new)
    # the edit must be exactly where expected: same lines, only those lines differ
    old_lines, new_lines = src.splitlines(), new.splitlines()
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b]
    if (len(old_lines) != len(new_lines) or len(changed) != 1 + _EXPECTED_DEFAULTS
            or "ByteEncoder()" in new or new.count("field(default_factory=ByteEncoder)") != _EXPECTED_DEFAULTS):
        return src, False, "the var_model.py edit did not land where expected: loaded as installed"
    return new, True, f"patched {len(changed)} lines (dataclass defaults -> field(default_factory=ByteEncoder))"


class _PatchingLoader(importlib.machinery.SourceFileLoader):
    """SourceFileLoader for the one target file: serves the patched text, never uses bytecode caches."""

    def get_data(self, path):
        data = super().get_data(path)
        if path != self.path:
            return data
        src, applied, reason = patch_source(data.decode("utf-8"))
        FIX_STATE.update(applied=applied, reason=reason, origin=self.path)
        return src.encode("utf-8")

    def get_code(self, fullname):
        # compile the (patched) text under the installed file's name: tracebacks point at the real file
        # and, as the edit keeps every line where it was, at the right line
        return compile(self.get_data(self.path), self.path, "exec", dont_inherit=True)


class _VarModelFixFinder(importlib.abc.MetaPathFinder):
    """Finds only lava.magma.compiler.var_model; returns None for everything else."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            return spec  # not found, or no source to patch: let the normal machinery decide
        loader = _PatchingLoader(fullname, spec.origin)
        return importlib.util.spec_from_file_location(fullname, spec.origin, loader=loader)


def install_import_fix() -> bool:
    """Put the finder first on sys.meta_path, once. Returns True if it was installed by this call.

    Call it before anything imports Lava's compiler: any Process (``lava.proc.lif.process``,
    ``lava.magma.core.process.process``, ...) pulls in var_model. Harmless if Lava is not installed.
    """
    if any(isinstance(f, _VarModelFixFinder) for f in sys.meta_path):
        return False
    sys.meta_path.insert(0, _VarModelFixFinder())
    return True


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


LAVA_MP_MODULE = "lava.magma.runtime.message_infrastructure.multiprocessing"


def _start_method_for_lava() -> tuple[bool, str]:
    """Lava's runtime module calls ``multiprocessing.set_start_method('fork')`` when it is imported
    (lava/magma/runtime/message_infrastructure/multiprocessing.py), which raises "context has already
    been set" once anything in the process has fixed the start method, even to 'fork' (Dask, or a
    plain ``multiprocessing.get_start_method()``, fixes it to the platform default). Already 'fork':
    unset it so that Lava's call sets the same method again. Another method: not usable, say why
    (changing the process's choice behind its back is not ours to do)."""
    import multiprocessing as mp

    if LAVA_MP_MODULE in sys.modules or sys.platform == "win32":
        return True, ""
    method = mp.get_start_method(allow_none=True)
    if method is None:
        return True, ""
    if method == "fork":
        mp.set_start_method(None, force=True)      # Lava's import sets 'fork' again
        return True, ""
    return False, (f"Lava's runtime needs multiprocessing's 'fork' start method, but this process has set "
                   f"'{method}'; use Lava before setting it, or run Lava in a fresh process")


def lava_status() -> tuple[bool, str]:
    """(usable, reason): whether stock Lava imports here (after the import fix), and if not, why."""
    if importlib.util.find_spec("lava") is None:
        return False, f"lava-nc is not installed; install it with: {INSTALL_COMMAND} (scripts/setup.sh does this)"
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("lava-nc")
    except PackageNotFoundError:
        return False, (f"a 'lava' package is importable but lava-nc is not installed as a distribution; "
                       f"install it with: {INSTALL_COMMAND}")
    if v != LAVA_VERSION:
        return False, (f"lava-nc {v} is installed but neurochip needs lava-nc {LAVA_VERSION} (its fixed-point "
                       f"semantics are the ones verified); install it with: {INSTALL_COMMAND}")
    install_import_fix()
    fork_ok, why_not = _start_method_for_lava()
    if not fork_ok:
        return False, why_not
    try:
        import lava.magma.core.run_configs  # noqa: F401
        import lava.proc.dense.process  # noqa: F401
        import lava.proc.lif.process  # noqa: F401
    except Exception as e:  # any failure to import is the answer
        return False, _one_line(f"lava-nc {v} fails to import: {type(e).__name__}: {e}")
    if FIX_STATE["applied"]:
        how = "with neurochip's import fix of var_model.py"
    elif FIX_STATE["applied"] is None:
        how = "var_model.py was imported before the import fix was installed"
    else:
        how = f"import fix not applied: {FIX_STATE['reason']}"
    return True, f"lava-nc {v} is usable on Python {sys.version.split()[0]} ({how})"


def require_lava() -> None:
    """Raise NeurochipError (one line) unless Lava is usable."""
    ok, why = lava_status()
    if not ok:
        raise NeurochipError(_one_line(why))
