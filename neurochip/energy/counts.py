"""Op counts of one run (inference or learning), taken from the integer kernel's counters.

Nothing here derives a count from a formula: :func:`gather_counts` runs the network (on a copy)
and reads ``engine.ops``, which the kernel updates where the work happens (see
:mod:`neurochip.counters`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ..counters import OPS, SAT, as_dict
from ..errors import NeurochipError

DEFAULT_LEARN_SAMPLES = 1000


@dataclass
class Counts:
    """Kernel counters summed over ``samples`` samples of one run (inference or learning)."""
    ops: np.ndarray            # (L, len(OPS)) int64
    samples: int
    learn: bool
    sat: np.ndarray | None = None
    accuracy: float | None = None

    def col(self, name: str) -> np.ndarray:
        return self.ops[:, OPS.index(name)].astype(np.int64)

    def to_dict(self) -> dict:
        n = max(self.samples, 1)
        d = {"samples": self.samples, "learning": self.learn, "ops": as_dict(OPS, self.ops),
             "ops_per_sample": {k: [v / n for v in vals] for k, vals in as_dict(OPS, self.ops).items()}}
        if self.sat is not None:
            d["saturation"] = as_dict(SAT, self.sat)
        if self.accuracy is not None:
            d["accuracy"] = self.accuracy
        return d


def gather_counts(engine, x_test, y_test, x_train=None, y_train=None, samples: int | None = None,
                  learn_samples: int = DEFAULT_LEARN_SAMPLES) -> tuple[Counts, Counts | None]:
    """Counts of inference over the test set (or its first ``samples``), and of learning over
    ``learn_samples`` training samples (the first of epoch 0's order), each on a deep copy of the
    engine: the caller's weights, PRNG states and counters are untouched; nothing is saved."""
    from ..train import epoch_order, run_epoch

    if not engine.is_int:
        raise NeurochipError("op counts come from the integer chip kernel; this network is the float "
                             "reference (--precision float), which keeps no counters")
    y_test = np.asarray(y_test, np.int64)
    n = len(y_test) if samples is None else min(int(samples), len(y_test))
    if n < 1:
        raise NeurochipError("no test samples to count inference over")
    eng = copy.deepcopy(engine)
    eng.reset_counters()
    pred = run_epoch(eng, eng.prepare(np.asarray(x_test)[:n]), y_test[:n], np.arange(n), False)
    inf = Counts(eng.ops.copy(), n, False, eng.sat.copy(), float(np.mean(pred == y_test[:n])))
    train = None
    if learn_samples and x_train is not None and len(y_train):
        y_train = np.asarray(y_train, np.int64)
        m = min(int(learn_samples), len(y_train))
        eng = copy.deepcopy(engine)
        eng.reset_counters()
        order = epoch_order(engine.cfg.seed, 0, len(y_train))[:m]
        pred = run_epoch(eng, eng.prepare(x_train), y_train, order, True)
        train = Counts(eng.ops.copy(), m, True, eng.sat.copy(), float(np.mean(pred == y_train[order])))
    return inf, train
