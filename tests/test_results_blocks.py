"""scripts/_results.py: generated blocks in the docs are written atomically between their markers,
and the check names every deterministic figure that differs and ignores speed blocks."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from _results import (BlockError, check_blocks, diff_bodies, is_speed, list_blocks, read_block,  # noqa: E402
                      write_blocks)

DOC = """# Title

Text before, kept as it is.

<!-- BEGIN bench_x:accuracy -->
| learner | test accuracy |
| --- | --- |
| integer OTTT_O | 97.87 +- 0.58 % |
| float OTTT_A | 98.15 +- 0.42 % |
<!-- END bench_x:accuracy -->

Between the blocks.

<!-- BEGIN bench_x:speed -->
| learner | samples/s |
| --- | --- |
| integer OTTT_O | 7,000 |
<!-- END bench_x:speed -->

<!-- BEGIN bench_x:findings -->
Training: 7,325 updates per sample; 0.60 % change a weight.
<!-- END bench_x:findings -->
Text after.
"""

ACC = """| learner | test accuracy |
| --- | --- |
| integer OTTT_O | 97.87 +- 0.58 % |
| float OTTT_A | 98.15 +- 0.42 % |"""


@pytest.fixture
def doc(tmp_path):
    p = tmp_path / "doc.md"
    p.write_text(DOC)
    return p


def test_read_and_list_blocks():
    assert list_blocks(DOC) == ["bench_x:accuracy", "bench_x:speed", "bench_x:findings"]
    assert read_block(DOC, "bench_x:accuracy").strip() == ACC


def test_unchanged_blocks_check_clean_and_write_changes_nothing(doc):
    blocks = {"bench_x:accuracy": ACC, "bench_x:findings": "Training: 7,325 updates per sample; 0.60 % change a weight."}
    assert check_blocks(doc, blocks) == []
    assert write_blocks(doc, blocks) == []
    assert doc.read_text() == DOC


def test_a_changed_table_cell_is_named_by_row_and_column(doc):
    fresh = ACC.replace("98.15 +- 0.42 %", "97.78 +- 0.48 %")
    diffs = check_blocks(doc, {"bench_x:accuracy": fresh})
    assert len(diffs) == 1
    d = diffs[0]
    assert (d.path, d.block, d.published, d.now) == (str(doc), "bench_x:accuracy", "98.15 +- 0.42 %", "97.78 +- 0.48 %")
    assert d.figure == "row 'float OTTT_A', column 'test accuracy'"
    assert "row 'float OTTT_A'" in str(d) and str(doc) in str(d)


def test_a_changed_number_in_prose_is_reported(doc):
    diffs = check_blocks(doc, {"bench_x:findings": "Training: 7,689 updates per sample; 1.09 % change a weight."})
    assert [(d.published, d.now) for d in diffs] == [("7,325", "7,689"), ("0.60", "1.09")]


def test_added_or_removed_rows_are_reported(doc):
    diffs = check_blocks(doc, {"bench_x:accuracy": ACC + "\n| float BPTT | 97.78 +- 0.28 % |"})
    assert [d.figure for d in diffs] == ["line added"]
    diffs = check_blocks(doc, {"bench_x:accuracy": "\n".join(ACC.splitlines()[:3])})
    assert [d.figure for d in diffs] == ["line removed"]


def test_speed_blocks_are_never_compared_but_are_written(doc):
    assert is_speed("bench_x:speed") and is_speed("bench_lava_learning:speed_digits")
    assert not is_speed("bench_x:accuracy") and not is_speed("speedy:table")
    fresh = "| learner | samples/s |\n| --- | --- |\n| integer OTTT_O | 12,345 |"
    assert check_blocks(doc, {"bench_x:speed": fresh}) == []
    assert diff_bodies("f", "bench_x:speed", "a", "b") == []
    assert write_blocks(doc, {"bench_x:speed": fresh}) == ["bench_x:speed"]
    assert "12,345" in read_block(doc.read_text(), "bench_x:speed")


def test_write_replaces_only_the_block_and_keeps_the_rest(doc):
    fresh = ACC.replace("97.87 +- 0.58 %", "96.00 +- 1.00 %")
    assert write_blocks(doc, {"bench_x:accuracy": fresh}) == ["bench_x:accuracy"]
    text = doc.read_text()
    assert read_block(text, "bench_x:accuracy").strip() == fresh
    assert text.replace("96.00 +- 1.00 %", "97.87 +- 0.58 %") == DOC
    assert check_blocks(doc, {"bench_x:accuracy": fresh}) == []
    assert [p.name for p in doc.parent.iterdir()] == ["doc.md"]    # no temporary file left behind


@pytest.mark.parametrize("text, why", [
    (DOC.replace("<!-- BEGIN bench_x:accuracy -->\n", ""), "BEGIN"),
    (DOC.replace("<!-- END bench_x:accuracy -->\n", ""), "END"),
    (DOC + "<!-- BEGIN bench_x:accuracy -->\n<!-- END bench_x:accuracy -->\n", "2 BEGIN"),
    (DOC.replace("accuracy", "acc"), "no block"),
])
def test_missing_or_broken_markers_are_errors_and_nothing_is_written(tmp_path, text, why):
    p = tmp_path / "doc.md"
    p.write_text(text)
    with pytest.raises(BlockError, match=why if why != "BEGIN" and why != "END" else "0 " + why):
        check_blocks(p, {"bench_x:accuracy": ACC})
    with pytest.raises(BlockError):
        write_blocks(p, {"bench_x:findings": "new", "bench_x:accuracy": ACC})
    assert p.read_text() == text                                    # all or nothing


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(BlockError, match="file missing"):
        check_blocks(tmp_path / "nope.md", {"a:b": "x"})


def test_every_published_block_is_produced_by_reproduce(monkeypatch):
    """Each marker in README.md, examples/README.md and docs/ belongs to a job of scripts/reproduce.py, and each
    document a job writes has the markers (a figure nobody regenerates would drift)."""
    import numba

    # reproduce.py pins NUMBA_NUM_THREADS=1 for its own process at import; numba's threads already
    # run here (neurochip.fixedpoint starts them) and numba refuses a changed count from then on
    monkeypatch.setenv("NUMBA_NUM_THREADS", str(numba.config.NUMBA_NUM_THREADS))
    import reproduce

    docs = [ROOT / "README.md", ROOT / "examples" / "README.md", *sorted((ROOT / "docs").glob("*.md")),
            *sorted((ROOT / "docs" / "results").glob("*.md"))]
    published = {(p.relative_to(ROOT), n) for p in docs for n in list_blocks(p.read_text())}
    assert published, "no generated blocks found"
    produced = reproduce.published_by_jobs()
    assert published == produced


def test_reproduce_check_fails_on_a_changed_figure_and_names_it(tmp_path):
    """End to end on the cheapest job (memory), on a copy of README.md: the published block checks
    clean; after one figure is edited, --check exits 1 and names the file, the block and the figure;
    --write restores it."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, str(ROOT / "scripts" / "reproduce.py"), "--only", "memory", "--root", str(tmp_path)]
    readme = tmp_path / "README.md"
    text = (ROOT / "README.md").read_text()
    assert "| float32 BPTT | 17.6 |" in read_block(text, "bench_memory:state")
    readme.write_text(text)
    ok = subprocess.run(cmd + ["--check"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    readme.write_text(text.replace("| float32 BPTT | 17.6 |", "| float32 BPTT | 17.7 |"))
    bad = subprocess.run(cmd + ["--check"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "README.md [bench_memory:state] row 'float32 BPTT', column 'T = 8': published '17.7', now '17.6'" in bad.stdout
    report = subprocess.run(cmd, env=env, capture_output=True, text=True)     # no --check: reports, exit 0
    assert report.returncode == 0 and "published '17.7'" in report.stdout
    fix = subprocess.run(cmd + ["--write"], env=env, capture_output=True, text=True)
    assert fix.returncode == 0 and readme.read_text() == text, fix.stdout + fix.stderr


def test_reproduce_job_selection_exact_name_or_prefix(monkeypatch):
    """--only/--skip: a job's exact name selects that job alone; a name that is no job's selects the
    jobs it starts."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import reproduce

    def names(*a):
        return [j.name for j in reproduce.select_jobs(*a)]

    assert names(["layers"], [], False) == ["layers"]
    assert names(["lava"], [], False) == ["lava"]
    assert names(["temporal-"], [], False) == ["temporal-fast", "temporal-shadow"]
    assert names(["temporal"], [], False) == ["temporal"]
    assert "layers-lava" in names(None, ["layers"], False) and "layers" not in names(None, ["layers"], False)
    assert all(n in names(None, [], True) for n in ("train-fast", "memory")) and "train" not in names(None, [], True)
