"""Inference on several threads (neurochip/parallel.py) is bit-identical to one thread: predictions,
counters, PRNG states and the state left behind; the encoder stream's jump-ahead is exact."""
import copy

import numba
import numpy as np
import pytest

from neurochip import parallel
from neurochip.engine import Engine
from neurochip.errors import NeurochipError
from neurochip.fixedpoint import xorshift32
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile
from neurochip.train import evaluate, run_epoch

pytestmark = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs NUMBA_NUM_THREADS >= 2")


@pytest.fixture(autouse=True)
def _restore_threads(monkeypatch):
    n = parallel.threads()
    # small parts, so that these small runs are split into many parts taken dynamically
    monkeypatch.setattr(parallel, "MIN_PART", 4)
    yield
    parallel.set_threads(n)


def test_jump_equals_stepping():
    for x0 in (1, 0x6D2B79F5, 0xFFFFFFFF, 123456789):
        x = x0
        for k in range(0, 300):
            assert parallel.jump(x0, k) == x, (x0, k)
            x = xorshift32(x)
    x = 987654321
    for _ in range(100_003):
        x = xorshift32(x)
    assert parallel.jump(987654321, 100_003) == x


def test_chunks_cover_in_order():
    for n in (1, 2, 7, 128):
        for k in (1, 2, 3, 16):
            for align in (1, 4):
                c = parallel.chunks(n, k, align)
                assert c[0][0] == 0 and c[-1][1] == n and len(c) <= k
                assert all(a < b and b == c2[0] for (a, b), c2 in zip(c, c[1:] + [(n, n)]))
                assert all(a % align == 0 for a, _ in c)


def test_private_copy_is_padded_and_equal():
    a = np.arange(12, dtype=np.int64).reshape(3, 4)
    for zero in (False, True):
        b = parallel.private_copy(a, zero)
        assert b.shape == a.shape and b.dtype == a.dtype and b.flags.c_contiguous
        assert np.array_equal(b, np.zeros_like(a) if zero else a) and not np.shares_memory(a, b)
        off = b.__array_interface__["data"][0] - b.base.__array_interface__["data"][0]
        assert off >= parallel.PAD and b.base.nbytes - off - b.nbytes >= parallel.PAD


def test_parts_cover_in_order_and_are_not_tiny():
    for n in (1, 2, 7, 33, 64, 100, 1024, 5000):
        for k in (1, 2, 3):
            p = parallel.parts(n, k)
            assert p[0][0] == 0 and p[-1][1] == n
            assert all(a < b and b == c2[0] for (a, b), c2 in zip(p, p[1:] + [(n, n)]))
            assert len(p) <= k * parallel.PARTS_PER_THREAD
            assert len(p) >= min(n, k)                                  # every thread gets work
            if len(p) > k:
                assert min(b - a for a, b in p) >= parallel.MIN_PART // 2
    assert len(parallel.parts(1024, 2)) == 2 * parallel.PARTS_PER_THREAD


def test_run_chunks_runs_each_part_once_and_reraises():
    import threading

    seen, lock = [], threading.Lock()

    def fn(w, a, b, last):
        with lock:
            seen.append((a, b, last, w, threading.get_ident()))

    parallel.run_chunks(1000, 3, fn)
    assert sorted((a, b) for a, b, *_ in seen) == parallel.parts(1000, 3)
    assert [(a, b) for a, b, last, *_ in seen if last] == [parallel.parts(1000, 3)[-1]]
    assert {w for *_, w, _ in seen} <= {0, 1, 2}
    by_worker = {}
    for *_, w, t in seen:
        by_worker.setdefault(w, set()).add(t)
    assert all(len(t) == 1 for t in by_worker.values())              # a worker is one thread
    if 2 in by_worker:
        assert by_worker[2] == {threading.get_ident()}                 # the last worker: the caller

    import time

    started = []
    ps = parallel.parts(1000, 2)

    def bad(w, a, b, last):
        with lock:
            started.append(a)
        if a == ps[1][0]:
            raise ValueError("boom")
        time.sleep(0.02)

    with pytest.raises(ValueError, match="boom"):
        parallel.run_chunks(1000, 2, bad)
    assert len(started) <= 3 < len(ps)                                 # no new part after an error


def test_run_chunks_is_dynamic():
    """A slow part does not hold its worker's share back: the other worker takes the rest."""
    import threading
    import time

    done, lock = {}, threading.Lock()

    def fn(w, a, b, last):
        if a == 0:
            time.sleep(0.3)
        with lock:
            done.setdefault(w, []).append(a)

    parallel.run_chunks(1024, 2, fn)
    slow = next(w for w, v in done.items() if 0 in v)
    assert done[slow] == [0] and len(done[1 - slow]) == len(parallel.parts(1024, 2)) - 1


def test_threads_bit_identical_whatever_the_schedule(monkeypatch):
    """A chunk slowed down (as on a busy machine) finishing last: same results as one thread."""
    import time

    eng, x, y = _trained("rate", "integrator")
    order = np.r_[np.arange(41), np.arange(41)[::-1], np.arange(7)]
    res = {}
    jump = parallel.jump
    for n, delay in ((1, None), (2, None), (2, 0), (2, 1)):
        e = copy.deepcopy(eng)
        parallel.set_threads(n)
        if delay is not None:
            parts = parallel.parts(order.shape[0], 2)
            slow_a = parts[min(delay, len(parts) - 1)][0]
            monkeypatch.setattr(parallel, "jump", lambda s, k, a=slow_a, per=5 * 12: (
                time.sleep(0.2) if k == a * per else None, jump(s, k))[1])
        preds = e.run(e.prepare(x), y, order, False)
        monkeypatch.setattr(parallel, "jump", jump)
        res[n, delay] = (preds, _everything(e))
    for key in res:
        assert np.array_equal(res[1, None][0], res[key][0]), key
        for k in res[1, None][1]:
            assert np.array_equal(res[1, None][1][k], res[key][1][k]), (key, k)


def test_set_threads_checks_range():
    with pytest.raises(NeurochipError):
        parallel.set_threads(0)
    with pytest.raises(NeurochipError):
        parallel.set_threads(numba.config.NUMBA_NUM_THREADS + 1)
    assert parallel.set_threads(1) == 1 and parallel.threads() == 1


def test_thread_setting_leaves_multiprocessing_alone():
    """Lava sets multiprocessing's start method at import: choosing threads must not fix it first."""
    import subprocess
    import sys

    code = ("import multiprocessing as mp; from neurochip import parallel; parallel.set_threads(2); "
            "parallel.threads(); mp.set_start_method('spawn'); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def _trained(encoder, readout, rule="ottt-o"):
    prof = load_profile("loihi")
    cfg = NetworkConfig(sizes=(12, 16, 4), timesteps=5, encoder=encoder, readout=readout,
                        loss="mse" if readout == "spiking" else "ce_mse", rule=rule, lr=1.0,
                        lr_schedule="constant", init_gain=4.0, seed=3)
    eng = Engine(cfg, prof)
    rng = np.random.default_rng(7)
    x = rng.random((41, 12))
    y = rng.integers(0, 4, 41)
    run_epoch(eng, eng.prepare(x[:20]), y[:20], np.arange(20), True)
    return eng, x, y


def _everything(eng):
    b = eng.backend
    out = {"W": b.W, "rng": b.rng, "ops": b.ops, "sat": b.sat, "v": b.v, "tr": b.tr}
    for i, a in enumerate(b._scratch + b._out + list(b._row)):
        out[f"scratch{i}"] = a
    out["rownz"] = b._rownz
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("encoder,readout,rule", [("rate", "integrator", "ottt-o"), ("direct", "spiking", "ottt-a"),
                                                   ("latency", "integrator", "ottt-o")])
def test_threads_bit_identical(encoder, readout, rule):
    eng, x, y = _trained(encoder, readout, rule)
    res = {}
    for n in (1, 2):
        e = copy.deepcopy(eng)
        parallel.set_threads(n)
        xin = e.prepare(x)
        order = np.r_[np.arange(41), np.arange(5)[::-1]]        # odd count, repeated samples
        preds = e.run(xin, y, order, False)
        # then a learning pass (sequential) must continue from the same PRNG states
        lp = e.run(xin, y, np.arange(6), True)
        res[n] = (preds, lp, _everything(e))
    assert (res[1][0] == res[2][0]).all() and (res[1][1] == res[2][1]).all()
    for k in res[1][2]:
        assert np.array_equal(res[1][2][k], res[2][2][k]), k
    assert res[1][2]["ops"].sum() > 0


@pytest.mark.parametrize("rule,encoder", [("ottt-o", "rate"), ("ottt-a", "direct"), ("bptt", "rate")])
def test_float_threads_bit_identical(rule, encoder):
    """The float back ends' inference runs over threads too: same predictions, encoder PRNG and
    state left behind as one thread, then the same learning pass."""
    cfg = NetworkConfig(sizes=(12, 16, 4), timesteps=5, encoder=encoder, readout="integrator", loss="ce_mse",
                        rule=rule, precision="float", lr=0.05, init_gain=4.0, seed=3)
    eng = Engine(cfg, load_profile("loihi"))
    rng = np.random.default_rng(7)
    x = rng.random((41, 12))
    y = rng.integers(0, 4, 41)
    run_epoch(eng, eng.prepare(x[:20]), y[:20], np.arange(20), True)
    res = {}
    for n in (1, 2):
        e = copy.deepcopy(eng)
        parallel.set_threads(n)
        xin = e.prepare(x)
        order = np.r_[np.arange(41), np.arange(41)[::-1], np.arange(5)]
        preds = e.run(xin, y, order, False)
        after = e.rng.copy(), [a.copy() for a in e.backend.fk.state]
        lp = e.run(xin, y, np.arange(6), True)
        res[n] = (preds, after, lp, e.W.copy())
    assert np.array_equal(res[1][0], res[2][0]) and len(set(res[1][0].tolist())) > 1
    assert np.array_equal(res[1][1][0], res[2][1][0])
    for a, b in zip(res[1][1][1], res[2][1][1]):
        assert np.array_equal(a, b)
    assert np.array_equal(res[1][2], res[2][2]) and np.array_equal(res[1][3], res[2][3])


def test_evaluate_and_counts_identical():
    from neurochip.energy.counts import gather_counts

    eng, x, y = _trained("rate", "integrator")
    out = {}
    for n in (1, 2):
        parallel.set_threads(n)
        e = copy.deepcopy(eng)
        r = evaluate(e, x, y)
        inf, _ = gather_counts(e, x, y, learn_samples=0)
        out[n] = (r["pred"], r["confusion"], inf.ops, inf.sat, e.ops.copy(), e.rng.copy())
    for a, b in zip(out[1], out[2]):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("period", [None, 7, 1000])
def test_lava_reference_run_identical(period):
    from neurochip.lava import export as lx

    eng, x, y = _trained("rate", "integrator")
    # extreme weights: the readout's membranes clip, so the event counters are exercised too
    h = 12 * 16
    eng.W[:h] = np.where(np.arange(h) % 3 == 0, -128, 127)
    eng.W[h:] = 127
    R = lx.input_raster(eng, eng.prepare(x), np.arange(41))
    out = {}
    for n in (1, 2):
        parallel.set_threads(n)
        e = copy.deepcopy(eng)
        rec = lx.reference_run(e, R, period=period)
        out[n] = (rec.spikes, rec.v, rec.preds, rec.events, e.v.copy())
    for a, b in zip(out[1], out[2]):
        for u, w in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
            assert np.array_equal(u, w)
    assert out[1][3].sum() > 0 and sum(int(s.sum()) for s in out[1][0]) > 0


def _cli_json(args):
    import json

    from click.testing import CliRunner

    from neurochip.cli import main

    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    d = json.loads(res.output.strip().splitlines()[-1])
    for k in ("seconds", "samples_per_s", "wall_seconds", "samples_per_second", "kernel_load_s"):
        d.pop(k, None)
    return d


def test_cli_threads_option(tmp_path):
    from click.testing import CliRunner

    from neurochip.cli import main

    base = ["train", "--dataset", "digits", "--hidden", "16", "--epochs", "1", "--timesteps", "4", "--json"]
    tr = {n: _cli_json(base + ["--threads", str(n), "--out", str(tmp_path / f"r{n}.h5")]) for n in (1, 2)}
    tr[1].pop("checkpoint", None), tr[2].pop("checkpoint", None)
    assert tr[1] == tr[2]
    ev = {n: _cli_json(["eval", str(tmp_path / "r1.h5"), "--json", "--threads", str(n)]) for n in (1, 2)}
    assert ev[1] == ev[2] and ev[1]["ops_eval"]
    en = {n: _cli_json(["energy", str(tmp_path / "r1.h5"), "--json", "--learn-samples", "50", "--threads", str(n)])
          for n in (1, 2)}
    assert en[1] == en[2]
    for cmd in (["eval", str(tmp_path / "r1.h5")], ["energy", str(tmp_path / "r1.h5")]):
        res = CliRunner().invoke(main, cmd + ["--threads", "0"])
        assert res.exit_code == 2 and "Error: --threads must be between 1 and" in res.output, res.output


def test_bench_eval_upscale():
    """scripts/bench_eval.py's bilinear upscaling: shape, corners kept, constants and ramps exact."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    from bench_eval import upscale

    rng = np.random.default_rng(0)
    im = rng.random((3, 8, 8))
    up = upscale(im, 28)
    assert up.shape == (3, 28, 28)
    assert np.allclose(up[:, [0, 0, -1, -1], [0, -1, 0, -1]], im[:, [0, 0, -1, -1], [0, -1, 0, -1]])
    assert np.allclose(upscale(np.full((1, 8, 8), 0.25), 28), 0.25)
    ramp = np.tile(np.arange(8.0), (1, 8, 1))            # value = column index
    assert np.allclose(upscale(ramp, 28)[0, 5], np.linspace(0, 7, 28))


def test_inference_slices_do_not_change_results(monkeypatch):
    """train.run_epoch calls inference in slices of INFER_CHUNK samples: any slicing, on 1 or 2
    threads, gives the predictions, counters and encoder PRNG of one call."""
    from neurochip import train

    eng, x, y = _trained("rate", "integrator")
    order = np.r_[np.arange(41), np.arange(41)[::-1]]
    out = {}
    for n, chunk in ((1, 10_000), (1, 7), (2, 7), (2, 32)):
        parallel.set_threads(n)
        monkeypatch.setattr(train, "INFER_CHUNK", chunk)
        e = copy.deepcopy(eng)
        pred = run_epoch(e, e.prepare(x), y, order, False)
        out[n, chunk] = (pred, e.ops.copy(), e.sat.copy(), e.rng.copy(), e.v.copy())
    for key, got in out.items():
        for a, b in zip(out[1, 10_000], got):
            assert np.array_equal(a, b), key


def _digits28(n):
    from neurochip.data import load_dataset

    ds = load_dataset("digits", None, 0)
    idx = np.minimum((np.arange(28) * 8) // 28, 7)
    return ds.x_train[:n].reshape(-1, 8, 8)[:, idx][:, :, idx].reshape(-1, 784), ds.y_train[:n]


@pytest.mark.parametrize("rule", ["ottt-o", "ottt-a"])
def test_conv_learning_threads_bit_identical(rule):
    """Learning splits a sample's conv kernels (forward sums, transposed error, shared-weight update
    sums: kernels/conv.py) into chunks of disjoint outputs over numba's threads: weights, counters,
    PRNG states, predictions and the state left behind are bit-identical for 1 and 2 threads.
    The reference net of docs/layers.md is big enough for every conv kernel to take its parallel
    path (PAR_MIN_WORK)."""
    x, y = _digits28(10)
    cfg = NetworkConfig(sizes=(784, 10), arch="c16k5-p2-c32k3-p2-d10", timesteps=4, rule=rule, lr=0.5,
                        lr_schedule="constant", seed=1)
    res = {}
    for n in (1, 2):
        parallel.set_threads(n)
        e = Engine(cfg, load_profile("loihi"))
        w0 = e.W.copy()
        xin = e.prepare(x)
        lp = e.run(xin, y, np.r_[np.arange(10), np.arange(4)], True)
        assert numba.get_num_threads() == n
        parallel.set_threads(1)
        preds = e.run(xin, y, np.arange(10), False)
        res[n] = (lp, preds, _everything(e))
        assert not np.array_equal(e.W, w0)
    assert np.array_equal(res[1][0], res[2][0]) and np.array_equal(res[1][1], res[2][1])
    for k in res[1][2]:
        assert np.array_equal(res[1][2][k], res[2][2][k]), k
    assert res[1][2]["ops"].sum() > 0


def test_conv_learning_leaves_multiprocessing_alone():
    """Running the kernels with a prange (numba's threading layer starts) must not fix
    multiprocessing's start method either (neurochip.fixedpoint starts it and clears the method)."""
    import subprocess
    import sys

    code = ("import multiprocessing as mp, numpy as np; from neurochip import parallel; "
            "from neurochip.engine import Engine; from neurochip.network import NetworkConfig; "
            "from neurochip.profile import load_profile; parallel.set_threads(2); "
            "e = Engine(NetworkConfig(sizes=(64, 10), arch='c4k3-p2-d10', timesteps=2), load_profile('loihi')); "
            "x = np.random.default_rng(0).random((3, 64)); e.run(e.prepare(x), np.zeros(3, np.int64), np.arange(3), True); "
            "assert mp.get_start_method(allow_none=True) is None; mp.set_start_method('spawn'); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
