"""The block texts of the figure scripts that judge their own results (scripts/bench_temporal.py
target_block, scripts/bench_shadow.py blocks, scripts/bench_vs_lava.py's goal line): what they say
follows from the numbers they are given."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))


@pytest.fixture(autouse=True)
def _environment_untouched():
    """The scripts pin NUMBA_NUM_THREADS=1 when imported: keep that out of the other tests' processes."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_yinyang_target_is_met_or_not_by_level_and_gap():
    import bench_temporal as B

    def say(i, f):
        return B.target_block({"yinyang": {"int direct": {"test": i}, "float direct": {"test": f}}})["bench_temporal:target"]

    s = say([0.9633, 0.9633], [0.9683, 0.9683])           # level missed, gap 0.50 points
    assert "(not met: 96.33 %)" in s and "(met: 0.50 points below)" in s
    s = say([0.97, 0.97], [0.99, 0.99])                     # level met, gap 2 points
    assert "(met: 97.00 %)" in s and "(not met: 2.00 points below)" in s
    s = say([0.975, 0.975], [0.968, 0.968])                 # integer above float
    assert "(met: 0.70 points above)" in s and f"({B.YY['shadow_bits']}-bit shadow weights)" in s


def test_yinyang_shadow_choice_names_the_best_validation_width():
    import bench_temporal as B

    def say(val):
        return B.shadow_choice_block({"seeds": (0, 1), "epochs": 3, "val": val})["bench_temporal:shadow_choice"]

    w = B.YY["shadow_bits"]
    s = say({0: [0.95, 0.96], w: [0.97, 0.97], 16: [0.99, 0.94]})   # w best by mean, 16 best single seed
    assert f"Best mean validation accuracy: {w} shadow bits (the benchmark's setting)." in s
    assert "| none (the 8-bit weights learn) | 95.50 +- 0.71 % | 95.0 / 96.0 |" in s
    s = say({0: [0.99, 0.99], w: [0.97, 0.97]})
    assert f"Best mean validation accuracy: no shadow bits (NOT the benchmark's {w})." in s


def test_yinyang_rows_learn_on_the_widths_they_name():
    import bench_temporal as B

    assert B.yinyang_config("direct", "int", 0).shadow_weight_bits == B.YY["shadow_bits"] > 0
    assert B.yinyang_config("direct", "int", 0, 12).shadow_weight_bits == 12
    int8 = B.yinyang_config("direct", "int8", 0)
    assert (int8.precision, int8.shadow_weight_bits, int8.weight_q) == ("int", 0, B.YY["weight_q"])
    fl = B.yinyang_config("direct", "float", 0)
    assert (fl.precision, fl.shadow_weight_bits, fl.weight_q) == ("float", -1, ())


def test_shadow_block_shows_clipping_share_and_refusal():
    import bench_shadow as B

    rows = [{"bits": 0, "clipped": 0, "accumulations": 10, "accuracy": 0.975},
            {"bits": 16, "clipped": 31, "accumulations": 1000, "accuracy": 0.961},
            {"bits": 17, "refused": "--rule ottt-a: 17-bit learned weights overflow; the limit is 16 bits"}]
    body = B.blocks(rows)["bench_shadow:widths"]
    assert "| none | 0.0 % (0 of 10) | 97.50 % |" in body
    assert "| 16 | 3.1 % (31 of 1,000) | 96.10 % |" in body
    assert "| 17 | refused: --rule ottt-a: 17-bit learned weights overflow | - |" in body


def test_lava_goal_line_follows_the_ratio():
    import bench_vs_lava as V

    def r(nc, lava):
        return {"network": "64-128-10", "profile": "loihi", "p_input": 0.2, "steps": 1000,
                "firing_rate_per_layer": [0.2, 0.3], "spikes_per_layer": [1, 2], "spike_mismatches_per_layer": [0, 0],
                "neurochip": {"repeats": 200, "steps_per_s": nc, "batches": 4, "batch_steps_per_s": [nc] * 4},
                "lava_recording": {"steps_per_s": lava / 2}, "paired_ratios": [nc / lava] * 3,
                "lava_bare": {"steps_per_s": lava}, "lava_runs_steps_per_s": [lava], "lava_median_steps_per_s": lava,
                "ratio": nc / lava, "goal_ratio": V.GOAL_RATIO, "goal_met": nc / lava >= V.GOAL_RATIO}

    slow = V.blocks(r(1_400_000, 1000))["bench_vs_lava:speed"]
    assert "Goal 2,000x: not met in this run" in slow and "0.50 µs or less" in slow
    fast = V.blocks(r(2_500_000, 1000))["bench_vs_lava:speed"]
    assert "Goal 2,000x: met in this run" in fast
    assert "4 batches of 50 runs" in fast and "2,500k steps/s" in fast and "2,500x, 2,500x, 2,500x" in fast
