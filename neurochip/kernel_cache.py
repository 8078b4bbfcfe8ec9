"""Numba's on-disk kernel cache, keyed by every neurochip source file a kernel depends on.

Numba (``cache=True``) stamps a cached function with the hash of the one file it is defined in.
A kernel that calls a helper from another file (``fixedpoint.sat``, a loss, a decoder) keeps the
helper's old machine code after that file changes, until the cache is cleared by hand. Here the
stamp of a function defined in neurochip's source tree is the hash of its own file *and of every
neurochip module that file imports, transitively* (found by reading the import statements with
``ast``; the package ``__init__.py`` files on the way are included). Editing ``fixedpoint.py``
therefore invalidates every cached kernel that imports it, directly or through another module,
while editing ``cli.py`` (imported by no kernel) recompiles nothing.

The cache stays where numba puts it (``__pycache__`` next to the source, or ``$NUMBA_CACHE_DIR``,
or numba's user-wide folder when the package folder is read-only). A changed stamp makes numba
rewrite the same index file and reuse the numbered data files, so nothing piles up across edits
or upgrades. Numba's own version is part of every index already.

``install()`` registers the locator once, before the first ``@njit(cache=True)`` of the package runs
(``fixedpoint.py`` calls it next to ``NJIT``, and every kernel module imports ``NJIT`` from there).
It only claims files inside this package; other numba code keeps numba's own locators. Setting
``NUMBA_CACHE_LOCATOR_CLASSES`` replaces numba's locator list, this one included.
"""
from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE = PACKAGE_DIR.name


def _module_file(name: str) -> Path | None:
    """Source file of a module of this package by dotted name (``neurochip.kernels.pack``)."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for f in (base.with_suffix(".py"), base / "__init__.py"):
        if f.is_file():
            return f
    return None


def _module_name(path: Path) -> tuple[str, bool]:
    rel = path.relative_to(PACKAGE_DIR).with_suffix("")
    parts = [PACKAGE, *rel.parts]
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts.pop()
    return ".".join(parts), is_pkg


@functools.lru_cache(maxsize=None)
def _imports(path: Path) -> frozenset[Path]:
    """The package's source files that ``path`` imports (any import statement, at any depth)."""
    name, is_pkg = _module_name(path)
    package = name if is_pkg else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names.add(mod)
            names.update(f"{mod}.{a.name}" for a in node.names)   # ``from . import fixedpoint``
    found = set()
    for n in names:
        parts = n.split(".")
        for i in range(1, len(parts) + 1):     # the module and the packages that contain it
            f = _module_file(".".join(parts[:i]))
            if f is not None:
                found.add(f)
    return frozenset(found)


@functools.lru_cache(maxsize=None)
def dependencies(path: Path) -> tuple[Path, ...]:
    """``path`` and every package source file it imports, transitively, sorted."""
    path = Path(path).resolve()
    seen = {path}
    todo = [path]
    while todo:
        for f in _imports(todo.pop()):
            if f not in seen:
                seen.add(f)
                todo.append(f)
    return tuple(sorted(seen))


@functools.lru_cache(maxsize=None)
def source_stamp(path: Path) -> str:
    """Hash of the contents of ``path`` and of every package file it depends on."""
    h = hashlib.sha256()
    for f in dependencies(Path(path).resolve()):
        h.update(f.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def in_package(py_file) -> bool:
    try:
        Path(py_file).resolve().relative_to(PACKAGE_DIR)
    except (ValueError, OSError):
        return False
    return str(py_file).endswith(".py")


_LOCATOR = None


def install():
    """Put the package's cache locator first in numba's list (idempotent)."""
    global _LOCATOR
    if _LOCATOR is not None:
        return _LOCATOR
    from numba.core import caching

    class NeurochipCacheLocator(caching._CacheLocator):
        """Numba's usual cache place for a neurochip file, stamped with its dependency hash."""

        _inner_classes = (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator,
                          caching.UserWideCacheLocator)

        def __init__(self, inner, py_file):
            self._inner = inner
            self._py_file = py_file

        def ensure_cache_path(self):
            self._inner.ensure_cache_path()

        def get_cache_path(self):
            return self._inner.get_cache_path()

        def get_source_stamp(self):
            return ("neurochip-deps", source_stamp(Path(self._py_file).resolve()))

        def get_disambiguator(self):
            return self._inner.get_disambiguator()

        @classmethod
        def from_function(cls, py_func, py_file):
            if not in_package(py_file):
                return None
            for inner_cls in cls._inner_classes:
                inner = inner_cls.from_function(py_func, py_file)
                if inner is not None:
                    return cls(inner, py_file)
            return None

    caching.CacheImpl._locator_classes.insert(0, NeurochipCacheLocator)
    _LOCATOR = NeurochipCacheLocator
    return _LOCATOR
