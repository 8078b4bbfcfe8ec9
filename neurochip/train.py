"""Training and evaluation loops (orchestration only: the arithmetic is in the kernels).

One sample at a time, as on a chip. The order of the training samples in epoch ``e`` is a
permutation drawn from ``numpy.random.default_rng([seed, 2, e])``: it depends only on the seed and
the epoch number, so a resumed run sees exactly the orders an uninterrupted run would.

Train accuracy. While OTTT learns, every step moves the weights toward the sample's label, so a
prediction decoded during the learning pass is helped by the label it is scored against (with a
large learning rate it reaches 1.0 while the test accuracy is near chance). ``History.train_acc`` is
therefore measured after each epoch by a frozen pass (no learning) over a fixed subset of the
training set: ``TRAIN_EVAL`` samples (default 512, or all if fewer) drawn once from
``default_rng([seed, 4])``. The pass costs about a tenth of a digits epoch's learning pass
(64-128-10, T = 8, one core: 0.04 s against 0.34 s, int and float alike); it leaves the weights, the PRNG states and the counters exactly as they
were, so training is bit-identical with or without it. ``History.train_acc_online`` keeps the
figure decoded during learning, under that name.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .engine import Engine, accuracy
from .network import lr_at

CHUNK = 128        # samples per kernel call when learning (progress granularity)
#: samples per engine call of an inference pass: each call has a fixed cost (argument unboxing,
#: a pass over all weights, about 0.7 ms at 784-512-10), partly serial (the GIL), which slices of
#: 128 split over the threads would pay once per 64 samples; results do not depend on the slicing
INFER_CHUNK = 1024
TRAIN_EVAL = 512   # default size of the fixed train subset of the frozen train-accuracy pass


@dataclass
class History:
    """Per-epoch metrics. ``train_acc``: a frozen (no learning) pass over a fixed train subset
    after the epoch (NaN when off; see the module docstring); ``train_acc_online``: decoded during
    the learning pass, helped by the label (OTTT adapts within a sample); ``test_acc``: inference.

    Example::

        h = net.fit("digits", epochs=3)          # neurochip.Network.fit returns the History
        print(len(h), h.test_acc[-1], h.as_arrays()["samples_per_s"])
    """
    epoch: list[int] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    train_acc_online: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    samples_per_s: list[float] = field(default_factory=list)

    def append(self, **kw) -> None:
        """One epoch's row; a metric not given is NaN (the lists stay the same length)."""
        for k in self.__dict__:
            getattr(self, k).append(kw.pop(k, math.nan))
        if kw:
            raise TypeError(f"unknown history field '{sorted(kw)[0]}'")

    def as_arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v, np.int64 if k == "epoch" else np.float64) for k, v in self.__dict__.items()}

    @classmethod
    def from_arrays(cls, d: dict) -> "History":
        """From ``as_arrays`` output; a metric missing (written before it existed) becomes NaN."""
        n = len(np.asarray(d["epoch"])) if "epoch" in d else 0
        return cls(**{k: ([x.item() for x in np.asarray(d[k])] if k in d else [math.nan] * n)
                      for k in cls().__dict__})

    def __len__(self) -> int:
        return len(self.epoch)


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([seed, 2, epoch]).permutation(n)


def train_subset(seed: int, n: int, size: int) -> np.ndarray:
    """The fixed train samples of the frozen train-accuracy pass: ``min(size, n)`` indices, sorted."""
    return np.sort(np.random.default_rng([seed, 4]).choice(n, size=min(max(size, 0), n), replace=False))


def run_epoch(engine: Engine, xin, y: np.ndarray, order: np.ndarray, learn: bool,
              progress: Callable[[int], None] | None = None) -> np.ndarray:
    preds = np.empty(len(order), np.int64)
    step = CHUNK if learn else INFER_CHUNK
    for a in range(0, len(order), step):
        preds[a:a + step] = engine.run(xin, y, order[a:a + step], learn)
        if progress:
            progress(len(order[a:a + step]))
    return preds


def fit(engine: Engine, data, epochs: int, history: History | None = None,
        progress_factory=None, on_epoch: Callable[[History], None] | None = None,
        train_eval: int = TRAIN_EVAL) -> History:
    """Train ``engine`` on ``data`` (a neurochip.data.Dataset) until ``epochs`` epochs are done in
    total (a resumed history counts); call ``on_epoch(history)`` after each epoch (checkpointing).
    The learning rate of each epoch follows the config's schedule (``network.lr_at``) over
    ``cfg.lr_horizon`` epochs, or over ``epochs`` when the config leaves it 0. After each epoch the
    test set and ``train_eval`` fixed training samples (0: none) run frozen, without touching the
    training's counters or PRNG states."""
    history = History() if history is None else history
    xtr = engine.prepare(data.x_train)
    xte = engine.prepare(data.x_test)
    ytr = np.asarray(data.y_train, np.int64)
    yte = np.asarray(data.y_test, np.int64)
    sub = train_subset(engine.cfg.seed, len(ytr), train_eval)
    for ep in range(len(history), epochs):
        engine.set_lr(lr_at(engine.cfg, ep, epochs))
        order = epoch_order(engine.cfg.seed, ep, len(ytr))
        t0 = time.perf_counter()
        if progress_factory:
            with progress_factory(len(order), f"epoch {ep + 1}/{epochs}") as bar:
                pred = run_epoch(engine, xtr, ytr, order, True, bar.update)
        else:
            pred = run_epoch(engine, xtr, ytr, order, True)
        dt = time.perf_counter() - t0
        # the per-epoch test pass is not training work: keep the counters training-only
        ops, sat = engine.ops.copy(), engine.sat.copy()
        test_pred = run_epoch(engine, xte, yte, np.arange(len(yte)), False)
        # the frozen train pass must not change training at all: the PRNG states are restored too
        rng = engine.rng.copy()
        train_acc = accuracy(run_epoch(engine, xtr, ytr, sub, False), ytr[sub]) if len(sub) else math.nan
        engine.rng[:] = rng
        engine.ops[:] = ops
        engine.sat[:] = sat
        history.append(epoch=ep + 1, train_acc=train_acc, train_acc_online=accuracy(pred, ytr[order]),
                       test_acc=accuracy(test_pred, yte), seconds=dt, samples_per_s=len(order) / dt)
        if on_epoch:
            on_epoch(history)
    return history


def evaluate(engine: Engine, x: np.ndarray, y: np.ndarray) -> dict:
    """Inference on (x, y): accuracy, predictions and the confusion matrix (rows: true label)."""
    y = np.asarray(y, np.int64)
    pred = run_epoch(engine, engine.prepare(x), y, np.arange(len(y)), False)
    n_cls = engine.cfg.sizes[-1]
    conf = np.zeros((n_cls, n_cls), np.int64)
    np.add.at(conf, (y, pred), 1)
    return {"accuracy": accuracy(pred, y), "pred": pred, "confusion": conf}
