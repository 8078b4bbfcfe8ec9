"""The CLI is a thin layer over the public API (issue 15): every command module imports from the
package only ``neurochip.api``, ``neurochip.errors``, the CLI's option helpers and the other command
modules, so whatever a command does, the API can do too. Checked on the source (every import
statement, top level or inside a function) and, for one command, on what it calls."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "neurochip"

# the modules that define ``neurochip`` commands (parse options -> call the API -> print)
THIN = ["cli.py", "cli_options.py", "energy/energy_commands.py", "lava/lava_commands.py", "nir_commands.py",
        "sweep_commands.py"]
ALLOWED = {"neurochip.api", "neurochip.errors", "neurochip.cli_options", "neurochip.energy.energy_commands",
           "neurochip.lava.lava_commands", "neurochip.nir_commands", "neurochip.sweep_commands"}


def package_imports(source: str, module: str) -> list[tuple[int, str]]:
    """(line, dotted module) of every import of a neurochip module in the ``source`` of ``module``
    (relative imports resolved; ``from . import api`` counts as ``neurochip.api``)."""
    package = module.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "neurochip"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "neurochip":
                continue
            if node.module is None or (node.level and mod.count(".") == 0):
                out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]     # from . import api
            else:
                out.append((node.lineno, mod))
    return out


@pytest.mark.parametrize("name", THIN)
def test_command_modules_import_only_the_api(name):
    module = "neurochip." + name[:-3].replace("/", ".")
    bad = [(line, mod) for line, mod in package_imports((PKG / name).read_text(), module) if mod not in ALLOWED]
    assert not bad, f"{name} reaches past the public API: {bad}"


def test_the_checker_sees_every_kind_of_import():
    """The resolver itself: relative, absolute, nested in a function, and ``from . import x``."""
    probe = ("from .. import api\nfrom ..engine import Engine\nimport neurochip.train\nimport numpy\n"
             "def f():\n    from .counts import gather_counts\n    from . import report\n")
    mods = {m for _, m in package_imports(probe, "neurochip.energy.probe")}
    assert mods == {"neurochip.api", "neurochip.engine", "neurochip.train", "neurochip.energy.counts",
                    "neurochip.energy.report"}


def test_every_registered_command_lives_in_a_thin_module():
    from neurochip.cli import main

    def walk(group, prefix=()):
        for name, cmd in group.commands.items():
            if hasattr(cmd, "commands"):
                yield from walk(cmd, prefix + (name,))
            else:
                yield prefix + (name,), cmd

    thin = {"neurochip." + n[:-3].replace("/", ".") for n in THIN}
    for path, cmd in walk(main):
        mod = getattr(cmd.callback, "__module__", None)
        # a wrapped callback (threads_option, errors) keeps the command's module via functools.wraps
        assert mod in thin, (" ".join(path), mod)
