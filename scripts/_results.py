"""Published figures as generated blocks: write them into a document, or check them against it.

A document (README.md, docs/*.md, docs/results/*.md) holds each generated figure between two
markers, which Markdown does not render:

    <!-- BEGIN bench_train:accuracy -->
    | learner | test accuracy |
    ...
    <!-- END bench_train:accuracy -->

The scripts in scripts/ compute the text of a block; :func:`write_blocks` puts it between its
markers (the rest of the file is untouched, the file is replaced atomically), :func:`check_blocks`
compares it with what is published and names every figure that differs. A block whose name ends
in ``:speed`` (or ``:speed_...``) holds machine-dependent timings: it is written like any other but
never compared. Nothing else in a file is touched; a missing, duplicated or unclosed marker is an
error (:class:`BlockError`), never silently skipped.
"""
from __future__ import annotations

import difflib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

NAME_RE = r"[A-Za-z0-9_.\-]+(?::[A-Za-z0-9_.\-]+)*"
_MARK = re.compile(r"<!-- (BEGIN|END) (" + NAME_RE + r") -->")


class BlockError(Exception):
    """A block's markers are missing, duplicated, unclosed or out of order."""


def is_speed(name: str) -> bool:
    """A speed block (timings: reported, never compared): its last ``:`` part starts with 'speed'."""
    return name.rsplit(":", 1)[-1].startswith("speed")


def _span(text: str, name: str, where: str) -> tuple[int, int]:
    """(start, end) of the body between ``name``'s markers in ``text`` (the markers excluded)."""
    if not re.fullmatch(NAME_RE, name):
        raise BlockError(f"{where}: bad block name {name!r}")
    begins = [m for m in _MARK.finditer(text) if m.group(1) == "BEGIN" and m.group(2) == name]
    ends = [m for m in _MARK.finditer(text) if m.group(1) == "END" and m.group(2) == name]
    if not begins and not ends:
        raise BlockError(f"{where}: no block '{name}' (markers <!-- BEGIN {name} --> ... <!-- END {name} --> missing)")
    if len(begins) != 1 or len(ends) != 1:
        raise BlockError(f"{where}: block '{name}' has {len(begins)} BEGIN and {len(ends)} END markers (want 1 each)")
    b, e = begins[0], ends[0]
    if e.start() < b.end():
        raise BlockError(f"{where}: block '{name}' ends before it begins")
    inner = [m for m in _MARK.finditer(text, b.end(), e.start())]
    if inner:
        raise BlockError(f"{where}: block '{name}' contains the marker '{inner[0].group(0)}'")
    return b.end(), e.start()


def _norm(body: str) -> str:
    """A block body as stored: one newline after BEGIN, one before END, no trailing blanks."""
    lines = [ln.rstrip() for ln in body.strip("\n").splitlines()]
    return "\n" + "\n".join(lines) + "\n" if lines else "\n"


def read_block(text: str, name: str, where: str = "<text>") -> str:
    """The body of block ``name`` in ``text`` (without its markers, normalised)."""
    s, e = _span(text, name, where)
    return _norm(text[s:e])


def replace_block(text: str, name: str, body: str, where: str = "<text>") -> str:
    s, e = _span(text, name, where)
    return text[:s] + _norm(body) + text[e:]


def write_blocks(path, blocks: dict[str, str]) -> list[str]:
    """Write every block of ``blocks`` (name -> body) into ``path``, atomically (a temporary file in
    the same directory, then os.replace); returns the names whose body changed. Every block must
    already have its markers in the file: a missing one raises BlockError before anything is written."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    new = text
    changed = []
    for name, body in blocks.items():
        if read_block(new, name, str(path)) != _norm(body):
            changed.append(name)
        new = replace_block(new, name, body, str(path))
    if new != text:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(new)
            os.chmod(tmp, os.stat(path).st_mode & 0o777)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    return changed


@dataclass(frozen=True)
class Difference:
    path: str
    block: str
    figure: str        # which figure: "row 'x', column 'y'", "line 'x'", ...
    published: str
    now: str

    def __str__(self) -> str:
        return f"{self.path} [{self.block}] {self.figure}: published {self.published!r}, now {self.now!r}"


def _cells(line: str) -> list[str] | None:
    s = line.strip()
    if not (s.startswith("|") and s.endswith("|") and len(s) > 1):
        return None
    return [c.strip() for c in s[1:-1].split("|")]


def _is_rule(cells: list[str]) -> bool:
    return all(re.fullmatch(r":?-{3,}:?", c) for c in cells)


def diff_bodies(path: str, name: str, published: str, fresh: str) -> list[Difference]:
    """Every figure of block ``name`` that differs between the published and the fresh body: per
    cell for Markdown tables (named by the row's first cell and the column's header), per token
    for other lines (named by the line's first word). Speed blocks: always [] (never compared)."""
    if is_speed(name):
        return []
    a, b = _norm(published).strip("\n").splitlines(), _norm(fresh).strip("\n").splitlines()
    if a == b:
        return []
    if not a:
        return [Difference(path, name, "whole block", "(empty: never generated)", f"{len(b)} lines")]
    out: list[Difference] = []
    header: list[str] | None = None

    def headers_before(lines, i):
        h = None
        for j in range(i + 1):
            c = _cells(lines[j])
            if c is None:
                h = None
            elif h is None:
                h = c
        return h

    sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            for i, j in zip(range(i1, i2), range(j1, j2)):
                ca, cb = _cells(a[i]), _cells(b[j])
                if ca is not None and cb is not None and len(ca) == len(cb) and not _is_rule(ca):
                    header = headers_before(a, i)
                    for k, (x, y) in enumerate(zip(ca, cb)):
                        if x != y:
                            col = header[k] if header and k < len(header) and header is not ca else f"#{k + 1}"
                            out.append(Difference(path, name, f"row '{ca[0]}', column '{col}'", x, y))
                    continue
                ta, tb = a[i].split(), b[j].split()
                label = ta[0] if ta else "(blank)"
                if len(ta) == len(tb):
                    for k, (x, y) in enumerate(zip(ta, tb)):
                        if x != y:
                            ctx = " ".join(ta[max(0, k - 3):k])
                            out.append(Difference(path, name, f"line '{label}', after '{ctx}'", x, y))
                else:
                    out.append(Difference(path, name, f"line '{label}'", a[i], b[j]))
        else:
            for i in range(i1, i2):
                out.append(Difference(path, name, "line removed", a[i], ""))
            for j in range(j1, j2):
                out.append(Difference(path, name, "line added", "", b[j]))
    if not out:  # differences only in what the comparison ignores (never: bodies are normalised)
        out.append(Difference(path, name, "text", "\n".join(a), "\n".join(b)))
    return out


def check_blocks(path, blocks: dict[str, str]) -> list[Difference]:
    """Compare every block of ``blocks`` with the one published in ``path``. A missing file or
    marker raises BlockError (a figure that is not published cannot be 'equal')."""
    path = Path(path)
    if not path.exists():
        raise BlockError(f"{path}: file missing")
    text = path.read_text(encoding="utf-8")
    out = []
    for name, body in blocks.items():
        out += diff_bodies(str(path), name, read_block(text, name, str(path)), body)
    return out


def list_blocks(text: str) -> list[str]:
    """Names of the blocks in ``text``, in order of their BEGIN markers."""
    return [m.group(2) for m in _MARK.finditer(text) if m.group(1) == "BEGIN"]
