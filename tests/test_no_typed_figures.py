"""No measured figure is typed by hand into README.md or docs/: every one lives in a generated
block (scripts/_results.py, written by scripts/reproduce.py), so it is re-measured and checked.

The scan looks outside the generated blocks (code fences included) for what measured figures look
like: a percentage with decimals, a rate per second (samples/s, steps/s, events/s, per CPU-s), a
time in us/ms (or seconds with decimals), an energy in pJ/nJ/uJ/mJ, a speed ratio such as
``1.37x``, a spread (``97.8 +- 0.3``, ``±``) and an accuracy written as a fraction. Definitional
constants that look the same are allowed only where explained:

* an energy in pJ that a hardware profile (hw_profiles/*.toml) states, with its source there: a
  cited per-op constant, not a measurement;
* ALLOWED: a short list of (file, the text around the figure, reason);
* PENDING: regions other issue-14 branches are turning into generated blocks at the same time.

An ALLOWED or PENDING entry that no longer covers any hit fails the test, so neither list can go
stale.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from _results import NAME_RE  # noqa: E402

_MARK = re.compile(r"<!-- (BEGIN|END) (" + NAME_RE + r") -->")

NUM = r"\d[\d,]*(?:\.\d+)?"
PATTERNS = {
    "decimal percentage": re.compile(r"(?<![\d.])\d+\.\d+\s*%"),
    "rate per second": re.compile(NUM + r"\s*(?:[kKMG]\b)?(?:\s*[A-Za-z]+){0,2}\s*"
                                  r"(?:/s\b|per (?:CPU[- ]?)?s(?:econd)?\b|per CPU-s)"),
    "time": re.compile(r"(?<![\w^])" + NUM + r"\s*(?:µs|us|ms)\b|(?<![\w^])\d+\.\d+\s*s\b"),
    "energy": re.compile(r"(" + NUM + r")\s*[pnuµm]J\b"),
    "speed ratio": re.compile(r"(?<![\w.])" + NUM + r"x(?![\w\d])"),
    "spread": re.compile(r"(?<![\d.])" + NUM + r"\s*(?:\+-|±)\s*" + NUM),
    "accuracy as a fraction": re.compile(r"accuracy[^.\n]{0,30}?\b0\.\d{3,}"),
}

# (file, text the figure lies in, reason)
ALLOWED: list[tuple[str, str, str]] = [
    ("docs/data.md", "a 4-120-3 ANN reaches 98.7 ± 0.3 % test accuracy",
     "a published figure of the Yin-Yang dataset paper (Kriener et al. 2021), cited as a reference"),
    ("docs/data.md", "linear classifier 64.3 ± 0.2 %", "the same paper's published linear baseline"),
    ("docs/data.md", "3 saccades along a triangle, about 100 ms each",
     "how N-MNIST was recorded (Orchard et al. 2015): the protocol the emulation imitates"),
    ("docs/energy.md", "0.001 pJ", "the rounding step of the printed energy terms (definition)"),
    ("docs/profiles.md", "(2x headroom)", "the init bound's headroom network.int_layout chooses (a design rule)"),
]

# whole files of cited literature (no measurement of this project in them)
LITERATURE = {
    "docs/design/energy-sources.md": "survey of published per-op energies and accuracies, each with its paper",
}

# (file, first line's text, last line's text or None for the first line alone, reason): typed figures
# that other issue-14 branches turn into generated blocks now. Remove an entry once its branch is
# merged (a stale entry fails). file alone ("", "") = the whole file.
PENDING: list[tuple[str, str, str, str]] = []


def documents() -> list[Path]:
    return [ROOT / "README.md", ROOT / "examples" / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def profile_pj() -> set[float]:
    """Every energy in pJ the hardware profiles state (``pj = X`` keys and ``X pJ`` in their sources)."""
    vals = set()
    for f in sorted((ROOT / "hw_profiles").glob("*.toml")):
        text = f.read_text(encoding="utf-8")
        vals |= {float(v) for v in re.findall(r"\bpj\s*=\s*([\d.]+)", text)}
        vals |= {float(v.replace(",", "")) for v in re.findall(r"(" + NUM + r")\s*pJ\b", text)}
    return vals


def outside_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line that is not inside a generated block or a marker."""
    out, inside = [], None
    for i, line in enumerate(text.splitlines(), 1):
        m = _MARK.search(line)
        if m and m.group(1) == "BEGIN":
            inside = m.group(2)
        elif m and m.group(1) == "END":
            inside = None
        elif inside is None:
            out.append((i, line))
    return out


def hits(rel: str, text: str) -> list[tuple[int, str, str, int, int]]:
    """(line number, kind, line, start, end) of every measured-figure pattern outside the blocks,
    except the energies the hardware profiles state."""
    pj = profile_pj()
    out = []
    for i, line in outside_blocks(text):
        for kind, pat in PATTERNS.items():
            for m in pat.finditer(line):
                if kind == "energy" and m.group(0).endswith("pJ") and float(m.group(1).replace(",", "")) in pj:
                    continue
                out.append((i, kind, line, m.start(), m.end()))
    return out


def _pending_lines(rel: str, text: str) -> dict[int, int]:
    """line number -> index of the PENDING entry whose region holds it."""
    lines = text.splitlines()
    out = {}
    for k, (f, first, last, _why) in enumerate(PENDING):
        if f != rel:
            continue
        if not first:
            out.update({i: k for i in range(1, len(lines) + 1)})
            continue
        starts = [i for i, ln in enumerate(lines, 1) if first in ln]
        for s in starts[:1]:
            ends = [i for i, ln in enumerate(lines, 1) if i >= s and last and last in ln]
            out.update({i: k for i in range(s, (ends[0] if ends else s) + 1)})
    return out


def scan(docs: list[tuple[str, str]]):
    """(unexplained hits, indices of ALLOWED used, indices of PENDING used) over (relative path, text)."""
    bad, used_a, used_p = [], set(), set()
    for rel, text in docs:
        if rel in LITERATURE:
            continue
        pend = _pending_lines(rel, text)
        for i, kind, line, a, b in hits(rel, text):
            k = next((k for k, (f, txt, _w) in enumerate(ALLOWED) if f == rel and any(
                s <= a and b <= s + len(txt) for s in (m.start() for m in re.finditer(re.escape(txt), line)))), None)
            if k is not None:
                used_a.add(k)
            elif i in pend:
                used_p.add(pend[i])
            else:
                bad.append(f"{rel}:{i}: {kind} {line[a:b]!r} typed outside a generated block: {line.strip()[:160]}")
    return bad, used_a, used_p


def _docs():
    return [(p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8")) for p in documents()]


def test_no_measured_figure_is_typed_by_hand():
    bad, _, _ = scan(_docs())
    assert not bad, ("measured figures must be written by a script into a generated block "
                     "(scripts/_results.py, registered in scripts/reproduce.py), not typed:\n" + "\n".join(bad))


def test_every_exception_is_still_needed_and_explained():
    docs = _docs()
    _, used_a, used_p = scan(docs)
    stale = [ALLOWED[k][:2] for k in range(len(ALLOWED)) if k not in used_a]
    stale += [PENDING[k][:2] for k in range(len(PENDING)) if k not in used_p]
    lit = dict(docs)
    stale += [(f, "LITERATURE") for f in LITERATURE if f not in lit or not hits(f, lit[f])]
    assert not stale, f"exceptions that cover no figure any more (remove them): {stale}"
    for entry in ALLOWED + PENDING + list(LITERATURE.items()):
        assert (ROOT / entry[0]).exists() and len(entry[-1]) > 15, entry


@pytest.mark.parametrize("typed, kind", [
    ("integer OTTT_O reaches 97.87 % on digits.", "decimal percentage"),
    ("It trains 16,470 samples/s on one core.", "rate per second"),
    ("Lava runs 1,208 steps/s.", "rate per second"),
    ("15,310 training samples per CPU-s", "rate per second"),
    ("a step takes 0.58 µs here", "time"),
    ("a step takes 0.83 ms in Lava", "time"),
    ("the run took 93.8 s", "time"),
    ("training costs 2,037.2 nJ per sample", "energy"),
    ("1.61 vs 2.07 uJ", "energy"),
    ("a synaptic op at 23.7 pJ", "energy"),
    ("a 1.37x speedup on two workers", "speed ratio"),
    ("the ratio is 1,425x", "speed ratio"),
    ("97.8 +- 0.3", "spread"),
    ("98.7 ± 0.3", "spread"),
    ("test accuracy 0.9778", "accuracy as a fraction"),
])
def test_a_figure_typed_into_a_document_is_found(typed, kind):
    """Each pattern fires on a typed figure outside a block, not inside one, and scan reports it."""
    assert kind in {h[1] for h in hits("docs/x.md", f"# t\n\nSome prose; {typed}\n")}
    assert not hits("docs/x.md", f"<!-- BEGIN a:b -->\n{typed}\n<!-- END a:b -->\n")
    bad, _, _ = scan([("docs/x.md", f"prose\n{typed}\n")])
    assert bad and bad[0].startswith("docs/x.md:2: ")


@pytest.mark.parametrize("text", [
    "digits 8x8, 28x28 images, 3 x 2 x 10 x 10 = 600 inputs, 1x8x8",
    "lr 0.05, T = 8, 30 epochs, seeds 0 1 2, 5 % of --lr, 100 %",
    "python 3.11, lava-nc 0.10.0, numpy 1.26, arXiv:1903.08941",
    "v saturates to ±(2^(bits-1) - 1); `(var ± const)`; 2^13 us",
    "synaptic op 23.6 pJ, synaptic update 120 pJ (loihi.toml), hops 3.0 / 4.0 pJ",
])
def test_definitional_text_is_not_a_hit(text):
    assert not hits("docs/x.md", text)


def test_an_allowed_or_pending_figure_passes_only_where_its_entry_says(monkeypatch):
    """The exceptions cover their own text in their own file, nothing else."""
    monkeypatch.setattr(sys.modules[__name__], "PENDING",
                        [("README.md", "**A table**", "| last row", "a branch converting that table")])
    f, txt, _ = ALLOWED[0]
    assert scan([(f, f"x\n{txt}\n")])[0] == []
    assert scan([("docs/other.md", f"x\n{txt}\n")])[0]                      # another file: reported
    assert scan([(f, "x\nthe float net reaches 98.7 ± 0.3 % here\n")])[0]   # other text: reported
    f, first, last, _ = PENDING[0]
    inside = f"{first}\n12.34 % typed\n{last}\n"
    assert scan([(f, inside)])[0] == []
    assert scan([(f, inside + "after the region: 12.34 %\n")])[0]
