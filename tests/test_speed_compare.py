"""scripts/speed_compare.py's argument and checkout errors: one line, non-zero exit, nothing left
behind (its measurements are benchmarks, run by hand, never in tests)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "speed_compare.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def _worktrees() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True).stdout


def test_rejects_zero_rounds_in_one_line():
    out = _run("--baseline-commit", "HEAD", "--lif-forward", "--rounds", "0")
    assert out.returncode != 0
    assert out.stderr.strip() == "Error: --rounds, --pairs, --repeats and --epochs must be at least 1"


def test_unknown_commit_is_one_line_and_leaves_no_worktree():
    before = _worktrees()
    out = _run("--baseline-commit", "no-such-commit-xyz", "--lif-forward")
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot check out 'no-such-commit-xyz'")
    assert _worktrees() == before
