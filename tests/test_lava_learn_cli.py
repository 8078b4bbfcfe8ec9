"""`neurochip lava learn`: Lava and neurochip's emulation learn identical weights (CliRunner)."""
from __future__ import annotations

import importlib.util
import json

import pytest
from click.testing import CliRunner

from neurochip.cli import main

pytestmark = pytest.mark.skipif(importlib.util.find_spec("lava") is None, reason="lava-nc not installed")


def test_lava_learn_identical_weights():
    res = CliRunner().invoke(main, ["lava", "learn", "--samples", "12", "--test-samples", "6", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output.strip().splitlines()[-1])
    assert d["weights_differing"] == 0 and d["spike_mismatches"] == 0 and d["exact"]
    assert d["weights_changed_by_learning"] > 0


def test_lava_learn_bad_samples():
    res = CliRunner().invoke(main, ["lava", "learn", "--samples", "0"])
    assert res.exit_code == 2 and "Error:" in res.output


def test_lava_learn_recurrent_hidden_identical_weights():
    """--arch r<n> --feedback random: the recurrent hidden layer (input and recurrent LearningDense)
    and the output layer learn identically in Lava and in neurochip's emulation."""
    res = CliRunner().invoke(main, ["lava", "learn", "--arch", "r12", "--feedback", "random", "--samples", "8",
                                    "--test-samples", "4", "-T", "5", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output.strip().splitlines()[-1])
    assert d["exact"] and d["weights_differing"] == 0 and d["v_mismatches"] == 0 and d["pred_mismatches"] == 0
    assert d["hidden"].startswith("recurrent") and d["network"] == [64, 12, 10]
    assert d["weights_total"] == 64 * 12 + 12 * 12 + 12 * 10 and d["learning"]["hidden_recurrent_dw"]
    assert d["weights_changed_by_learning"] > 0
