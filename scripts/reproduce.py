#!/usr/bin/env python
"""Re-run every published figure and compare it with README.md and docs/ (or write it there).

Every figure of README.md, docs/*.md and docs/results/*.md is a generated block between markers
(scripts/_results.py): this script re-runs the benchmark scripts that produce them and reports each
figure that differs from what is published, naming the file, the block and the figure. Speeds
(blocks named ``...:speed...``) are re-measured and written, never compared.

    python scripts/reproduce.py                  # everything: report the differences (exit 0)
    python scripts/reproduce.py --check          # ... and exit 1 when a deterministic figure differs
    python scripts/reproduce.py --write          # regenerate every block in place (the one command)
    python scripts/reproduce.py --fast --check   # the CI subset (a few minutes; see FAST below)
    python scripts/reproduce.py --list           # the jobs, what they publish, time estimates
    python scripts/reproduce.py --only energy memory --write

The fast subset (``--fast``): one seed of each accuracy table at FAST_EPOCHS epochs (published in
docs/results/ci_fast.md, its own figures), and the full energy, memory, Lava-learning accuracy,
shadow-width, NIR round-trip and online-accuracy figures (they are cheap: the same blocks as the
full run). ``--write`` without ``--fast`` also
regenerates docs/results/ci_fast.md, so one command leaves CI green.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _results import BlockError, check_blocks, is_speed, write_blocks  # noqa: E402

# the documents, relative to the repository root (--root selects another tree: tests)
README = Path("README.md")
ENERGY = Path("docs/energy.md")
REFSYS = Path("docs/reference_systems.md")
LAVA = Path("docs/lava.md")
LAVA_LEARNING = Path("docs/lava_learning.md")
CI_FAST = Path("docs/results/ci_fast.md")
DATA = Path("docs/data.md")
PROFILES = Path("docs/profiles.md")
NIR = Path("docs/nir.md")
LAYERS = Path("docs/layers.md")
EXAMPLES = Path("examples/README.md")

FAST_EPOCHS = 2
FAST_SEEDS = (0,)


def _load() -> float:
    return os.getloadavg()[0]


@dataclass
class Job:
    name: str
    what: str
    estimate_s: float              # measured on the 2-core development machine, alone
    run: Callable[[Callable[[str], None]], dict[Path, dict[str, str]]]
    fast: bool                     # part of --fast
    publishes: dict[Path, tuple[str, ...]]   # the blocks it writes (checked against what run returns)
    full: bool = True              # part of the full run


def _train(progress):
    import bench_train
    res = bench_train.measure(30, (0, 1, 2), "loihi", progress)
    return {README: bench_train.blocks(res)}


def _train_fast(progress):
    import bench_train
    b = bench_train.blocks(bench_train.measure(FAST_EPOCHS, FAST_SEEDS, "loihi", progress))
    return {CI_FAST: {k: v for k, v in b.items() if not is_speed(k)}}


def _train_online(progress):
    import bench_train
    with tempfile.TemporaryDirectory() as d:
        return {README: bench_train.online_block(bench_train.measure_online(d))}


def _memory(progress):
    import bench_memory
    rows = bench_memory.measure_state()
    return {README: bench_memory.blocks(rows)}


def _losses(progress):
    import bench_losses
    b = bench_losses.blocks(bench_losses.measure(15, (0, 1, 2), progress))
    return {README: {"bench_losses:summary": b.pop("bench_losses:summary")}, REFSYS: b}


def _losses_fast(progress):
    import bench_losses
    b = bench_losses.blocks(bench_losses.measure(FAST_EPOCHS, FAST_SEEDS, progress))
    b.pop("bench_losses:summary")
    return {CI_FAST: b}


def _energy(progress):
    import bench_energy
    rep = bench_energy.measure(3, 8, "direct")
    progress("  direct encoding done; rate encoding")
    rate = bench_energy.measure(3, 8, "rate")
    return {ENERGY: bench_energy.blocks(rep, rate)}


def _lava_learning_digits(progress):
    """docs/lava_learning.md §8 without Lava (the emulation is Lava bit for bit; the full run checks it)."""
    import bench_lava_learning as B
    return {LAVA_LEARNING: {k: v for k, v in B.digits_blocks(B.measure_digits(False, progress)).items()
                            if not is_speed(k)}}


def _lava(progress):
    import bench_lava_learning as B
    import bench_vs_lava as V
    out: dict[Path, dict[str, str]] = {LAVA: {}, LAVA_LEARNING: {}}
    with tempfile.TemporaryDirectory() as d:
        progress("  docs/lava.md example: train 64-32-10 for 2 epochs, neurochip lava run --samples 100")
        out[LAVA].update(V.example_block(d))
    progress("  bench_vs_lava: 1000 steps in both")
    l0 = _load()
    args = argparse.Namespace(steps=1000, p=0.2, init_gain=8.0, profile="loihi", seed=0, repeats=50, no_bare=False,
                              lava_repeats=5)
    inf = V.bench_inference(args)
    out[LAVA].update(V.blocks(inf, (l0, _load())))
    progress("  bench_lava_learning: 200 samples, 128-10 learns; then --feedback random")
    l0 = _load()
    rows = [("128-10 learns", B.bench_learning()), ("`--feedback random` (both layers learn)",
                                                    B.bench_learning(feedback="random"))]
    out[LAVA_LEARNING].update(B.speed_block(rows, (l0, _load())))
    progress("  full digits in Lava and neurochip (64-10, hidden fixed, random feedback, recurrent hidden)")
    out[LAVA_LEARNING].update(B.digits_blocks(B.measure_digits(True, progress)))
    for label, r in rows:
        if not r["identical"]:
            raise RuntimeError(f"bench_lava_learning {label}: Lava and neurochip differ")
    if not inf["identical"]:
        raise RuntimeError("bench_vs_lava: Lava and neurochip spikes differ")
    return out


def _eval(progress):
    import json
    import subprocess

    import bench_eval
    progress("  eval 784-512-10 on 2,000 upscaled digits, 1 and 2 threads; integer-add peak")
    # a fresh process with numba's default thread ceiling (this one pins NUMBA_NUM_THREADS=1)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    out = subprocess.run([sys.executable, str(HERE / "bench_eval.py"), "--json"], env=env, capture_output=True,
                         text=True)
    if out.returncode not in (0, 1):
        raise RuntimeError(f"bench_eval failed: {out.stderr.strip()[-300:]}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    if not all(v["identical_to_first"] for v in r["runs"].values()):
        raise RuntimeError("bench_eval: 1 and 2 threads differ")
    return {README: bench_eval.blocks(r)}



#: the examples whose full-mode output examples/README.md publishes (each prints deterministic lines)
EXAMPLE_SCRIPTS = ("onchip_vs_float.py", "bit_width_sweep.py", "energy_of_trained.py", "lava_check.py")


def _examples(progress):
    """Each example of EXAMPLE_SCRIPTS in full mode, in a fresh process; its output is the block."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if k != "NEUROCHIP_EXAMPLES_FAST"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    parts = []
    for name in EXAMPLE_SCRIPTS:
        progress(f"  examples/{name} (full mode)")
        out = subprocess.run([sys.executable, str(ROOT / "examples" / name)], env=env, capture_output=True,
                             text=True, cwd=ROOT)
        if out.returncode != 0:
            raise RuntimeError(f"examples/{name} failed: {out.stderr.strip()[-300:]}")
        parts += [f"$ python examples/{name}", out.stdout.rstrip(), ""]
    return {EXAMPLES: {"examples:output": "```\n" + "\n".join(parts).rstrip() + "\n```"}}


def _layers(progress):
    import json
    import subprocess

    import bench_layers
    progress("  bench_layers: digits conv vs MLP (3 seeds), 28x28 conv net on 1 and 2 threads, which-came-first, "
             "memory")
    # a fresh process with numba's default thread ceiling (this one pins NUMBA_NUM_THREADS=1)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    out = subprocess.run([sys.executable, str(HERE / "bench_layers.py"), "--json", "-"], env=env, capture_output=True,
                         text=True)
    if out.returncode != 0:
        raise RuntimeError(f"bench_layers failed: {out.stderr.strip()[-300:]}")
    for line in out.stdout.strip().splitlines()[:-1]:
        progress("  " + line)
    b = bench_layers.blocks(json.loads(out.stdout.strip().splitlines()[-1]))
    return {README: b["README"], LAYERS: b["docs/layers.md"]}


def _cuba_trace(progress):
    import bench_cuba_trace
    progress("  bench_cuba_trace: digits d128u1/d128u2, plain vs exact CUBA trace, 3 seeds x 20 epochs")
    return {LAYERS: bench_cuba_trace.blocks(bench_cuba_trace.measure(progress=progress))}


def _layers_lava(progress):
    import bench_layers
    progress("  train c8k3-a2u2-r32-d10 for 5 epochs, neurochip lava run --samples 50")
    with tempfile.TemporaryDirectory() as d:
        return {LAYERS: bench_layers.lava_block(d)}


def _temporal(progress):
    import bench_temporal as B
    res = B.measure(progress=progress)
    b = {**B.blocks(res), **B.target_block(res)}
    return {README: {"bench_temporal:summary": b.pop("bench_temporal:summary")}, DATA: b}


def _temporal_fast(progress):
    import bench_temporal as B
    b = B.blocks(B.measure(B.FAST["seeds"], B.FAST["yy_epochs"], B.FAST["ev_epochs"], progress, B.FAST["ttfs_epochs"]))
    b.pop("bench_temporal:summary")
    return {CI_FAST: b}


def _temporal_shadow(progress):
    import bench_temporal as B
    return {DATA: B.shadow_choice_block(B.shadow_choice(progress=progress))}


def _framestack(progress):
    import bench_temporal as B
    return {DATA: B.framestack_block(B.framestack(progress))}


def _sweep(progress):
    """README bench_sweep:finding (the width sweep, recomputed in a fresh table) and bench_sweep:speed."""
    import bench_sweep as B
    with tempfile.TemporaryDirectory() as d:
        progress("  bench_sweep: 24-point speed sweep on 1 and 2 LocalCluster workers")
        speed = B.measure_speed(Path(d), progress)
        progress("  bench_sweep: width finding (sweeps/widths.toml, 51 points, 2 workers)")
        run = B.run_finding(Path(d) / "widths", lambda m: None)
        f = B.finding(Path(d) / "widths" / "results.csv")
    if not speed["rows_identical"]:
        raise RuntimeError("bench_sweep: rows differ between 1 and 2 workers")
    return {README: {**B.finding_block(f), **B.speed_block(speed, run)}}


def _events_speed(progress):
    import bench_events
    return {README: bench_events.blocks(bench_events.measure())}


def _shadow(progress):
    import bench_shadow
    return {PROFILES: bench_shadow.blocks(bench_shadow.measure())}


def _nir(progress):
    import nir_demo
    return {NIR: nir_demo.blocks(nir_demo.measure(progress=progress))}


_TEMPORAL = ("bench_temporal:yinyang", "bench_temporal:events")
_TEMPORAL_TARGET = ("bench_temporal:target",)
_TRAIN = ("bench_train:accuracy",)
_LOSSES = tuple(f"bench_losses:{n}" for n in ("by_loss", "options", "decoders", "order"))
JOBS = [
    Job("train", "README bench_train:accuracy/speed (4 learners x 3 seeds x 30 epochs)", 180, _train, False,
        {README: _TRAIN + ("bench_train:speed",)}),
    Job("train-fast", "docs/results/ci_fast.md bench_train:accuracy (1 seed, 2 epochs)", 15, _train_fast, True,
        {CI_FAST: _TRAIN}),
    Job("train-online", "README bench_train:online (train --epochs 2 --lr 5: online vs frozen vs test accuracy)", 10,
        _train_online, True, {README: ("bench_train:online",)}),
    Job("memory", "README bench_memory:state (state KB at T = 8..512)", 20, _memory, True,
        {README: ("bench_memory:state",)}),
    Job("eval", "README bench_eval:speed/speed_peak (eval 784-512-10 on 1 and 2 threads, integer-add peak)", 40,
        _eval, False, {README: ("bench_eval:speed", "bench_eval:speed_peak")}),
    Job("energy", "docs/energy.md bench_energy:table/findings (direct and rate encoding)", 20, _energy, True,
        {ENERGY: ("bench_energy:table", "bench_energy:findings")}),
    Job("lava-digits", "docs/lava_learning.md bench_lava_learning:digits (emulation + native, no Lava)", 15,
        _lava_learning_digits, True, {LAVA_LEARNING: ("bench_lava_learning:digits",)}, full=False),
    Job("losses", "docs/reference_systems.md bench_losses:* and README summary (3 seeds x 15 epochs)", 450,
        _losses, False, {README: ("bench_losses:summary",), REFSYS: _LOSSES}),
    Job("losses-fast", "docs/results/ci_fast.md bench_losses:* (1 seed, 2 epochs)", 35, _losses_fast, True,
        {CI_FAST: _LOSSES}),
    Job("temporal", "docs/data.md bench_temporal:yinyang/events and README summary (Yin-Yang int/float, direct "
        "(integer with and without shadow weights) and latency + ttfs_ce inputs, digits as emulated events; 3 seeds)", 700, _temporal, False, {README: ("bench_temporal:summary",), DATA: _TEMPORAL + _TEMPORAL_TARGET}),
    Job("temporal-fast", "docs/results/ci_fast.md bench_temporal:* (1 seed, few epochs)", 120, _temporal_fast, True,
        {CI_FAST: _TEMPORAL}),
    Job("temporal-shadow", "docs/data.md bench_temporal:shadow_choice (Yin-Yang integer learner's shadow weight width "
        "chosen on the validation split: 5 widths x 3 seeds x 60 epochs)", 600, _temporal_shadow, False,
        {DATA: ("bench_temporal:shadow_choice",)}),
    Job("framestack", "docs/data.md bench_temporal:framestack (emulated event digits as a 3-window frame stack, "
        "600-128-10, 30 epochs, seed 0)", 30, _framestack, False, {DATA: ("bench_temporal:framestack",)}),
    Job("sweep", "README bench_sweep:finding/speed (widths.toml: 51 points x 10 epochs on 2 workers; 24-point "
        "sweep on 1 and 2 workers)", 400, _sweep, False, {README: ("bench_sweep:finding", "bench_sweep:speed")}),
    Job("layers", "README bench_layers:table/speed, docs/layers.md bench_layers:summary/speed_summary (conv vs MLP "
        "3 seeds x 20 epochs; 28x28 conv net 5 epochs on 1 and 2 threads; which-came-first; memory)", 420, _layers,
        False, {README: ("bench_layers:table", "bench_layers:speed"),
                LAYERS: ("bench_layers:summary", "bench_layers:speed_summary")}),
    Job("cuba-trace", "docs/layers.md bench_cuba_trace:digits (digits with CUBA hidden neurons: exact vs plain OTTT "
        "trace, 2 archs x 3 seeds x 20 epochs)", 100, _cuba_trace, False, {LAYERS: ("bench_cuba_trace:digits",)}),
    Job("layers-lava", "docs/layers.md bench_layers:lava (a conv/pool/recurrent/CUBA net trained, then run in Lava)",
        240, _layers_lava, False, {LAYERS: ("bench_layers:lava",)}),
    Job("events-speed", "README bench_events:speed (SHD-layout loader throughput and memory, 10,000 samples)", 60,
        _events_speed, False, {README: ("bench_events:speed",)}),
    Job("shadow", "docs/profiles.md bench_shadow:widths (OTTT_A accumulator clipping by shadow weight width)", 10,
        _shadow, True, {PROFILES: ("bench_shadow:widths",)}),
    Job("nir", "docs/nir.md nir_demo:report/path/widths (float -> NIR -> loihi integers -> OTTT -> Lava -> NIR; "
        "weight widths 8..3)", 40, _nir, True, {NIR: ("nir_demo:report", "nir_demo:path", "nir_demo:widths")}),
    Job("examples", "examples/README.md examples:output (four examples in full mode)", 60, _examples, False,
        {EXAMPLES: ("examples:output",)}),
    Job("lava", "docs/lava.md example + speed, docs/lava_learning.md speed and §8 digits (runs Lava)", 270,
        _lava, False, {LAVA: ("lava_run:example", "bench_vs_lava:network", "bench_vs_lava:speed"),
                       LAVA_LEARNING: ("bench_lava_learning:speed", "bench_lava_learning:digits",
                                       "bench_lava_learning:speed_digits")}),
]


def published_by_jobs() -> set[tuple[Path, str]]:
    """Every (document, block) some job writes."""
    return {(p, n) for j in JOBS for p, names in j.publishes.items() for n in names}


def select_jobs(only: list[str] | None, skip: list[str], fast: bool) -> list[Job]:
    """The jobs to run: ``only`` (default: the fast or the full set) minus ``skip``. A job's exact
    name selects that job alone ('layers' is not 'layers-lava'); a name that is no job's selects
    the jobs it starts ('temporal-' = temporal-fast, temporal-shadow)."""
    names = {j.name for j in JOBS}

    def picked(job: str, given: list[str]) -> bool:
        return any(job == n or (n not in names and job.startswith(n)) for n in given)

    jobs = [j for j in JOBS if picked(j.name, only)] if only else [j for j in JOBS if (j.fast if fast else j.full)]
    return [j for j in jobs if not picked(j.name, skip)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Jobs: " + ", ".join(j.name for j in JOBS))
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="regenerate the published blocks in place")
    mode.add_argument("--check", action="store_true", help="exit 1 when a deterministic figure differs")
    ap.add_argument("--fast", action="store_true", help="the CI subset (one seed, reduced epochs; energy, memory)")
    ap.add_argument("--only", nargs="+", metavar="JOB", help="run only these jobs: a job's name selects that job, a prefix that is no job's name the jobs it starts ('train-' = train-fast, train-online)")
    ap.add_argument("--skip", nargs="+", metavar="JOB", default=[], help="leave these jobs out (e.g. lava)")
    ap.add_argument("--list", action="store_true", help="list the jobs and exit")
    ap.add_argument("--root", type=Path, default=ROOT, help="the tree whose documents are checked or written "
                    "(default: this repository)")
    a = ap.parse_args(argv)
    names = {j.name for j in JOBS}
    for n in (a.only or []) + a.skip:
        if not any(j.startswith(n) for j in names):
            ap.error(f"unknown job '{n}' (jobs: {', '.join(sorted(names))})")

    jobs = select_jobs(a.only, a.skip, a.fast)
    if a.list:
        w = max(len(j.name) for j in JOBS)
        for j in JOBS:
            tag = ("fast+full" if j.full else "fast") if j.fast else "full"
            print(f"{j.name:{w}s} ~{j.estimate_s:5.0f} s  [{tag:9s}] {j.what}")
        return 0
    est = sum(j.estimate_s for j in jobs)
    print(f"reproduce: {len(jobs)} jobs ({', '.join(j.name for j in jobs)}); estimated {est / 60:.0f} min on a quiet "
          f"2-core machine (load average now {_load():.1f}, {os.cpu_count()} cores)", flush=True)
    t_all = time.perf_counter()
    differences, errors, written = [], [], []
    for k, j in enumerate(jobs, 1):
        print(f"[{k}/{len(jobs)}] {j.name}: {j.what} (~{j.estimate_s:.0f} s)", flush=True)
        t0 = time.perf_counter()
        try:
            out = j.run(lambda s: print(s, flush=True))
        except Exception as e:  # report and go on: one broken job must not hide the others' figures
            errors.append(f"{j.name}: {type(e).__name__}: {e}")
            print(f"  ERROR {errors[-1]}", flush=True)
            continue
        got = {(p, n) for p, b in out.items() for n in b}
        want = {(p, n) for p, names in j.publishes.items() for n in names}
        if got != want:
            errors.append(f"{j.name}: wrote {sorted(map(str, got - want))}, missed {sorted(map(str, want - got))} "
                          f"(Job.publishes is out of date)")
            print(f"  ERROR {errors[-1]}", flush=True)
        for rel, blocks in out.items():
            path = a.root / rel
            try:
                diffs = check_blocks(path, blocks)
                for d in diffs:
                    d = type(d)(str(rel), d.block, d.figure, d.published, d.now)
                    differences.append(d)
                    print(f"  DIFFERS {d}", flush=True)
                if a.write:
                    changed = write_blocks(path, blocks)
                    written += [f"{rel} [{n}]" for n in changed]
            except BlockError as e:
                errors.append(str(e))
                print(f"  ERROR {e}", flush=True)
        n_speed = sum(is_speed(n) for b in out.values() for n in b)
        print(f"  {j.name} done in {time.perf_counter() - t0:.0f} s ({sum(len(b) for b in out.values())} blocks, "
              f"{n_speed} of them speeds: reported, not compared)", flush=True)
    print(f"\nreproduce: {time.perf_counter() - t_all:.0f} s; {len(differences)} deterministic figure(s) differ from "
          f"what is published; {len(errors)} error(s)")
    per_block: dict[str, int] = {}
    for d in differences:
        per_block[f"{d.path} [{d.block}]"] = per_block.get(f"{d.path} [{d.block}]", 0) + 1
    for blk, n in per_block.items():
        print(f"  {blk}: {n} figure(s) differ (listed above)")
    for e in errors:
        print(f"  ERROR {e}")
    if a.write:
        print(f"written: {len(written)} block(s) changed" + "".join(f"\n  {w}" for w in written))
    elif differences:
        print("regenerate with: python scripts/reproduce.py --write" + (" --fast" if a.fast else ""))
    if errors:
        return 2
    return 1 if (a.check and differences) else 0


if __name__ == "__main__":
    sys.exit(main())
