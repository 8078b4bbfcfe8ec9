#!/usr/bin/env python
"""Benchmark: training memory of BPTT vs OTTT on digits 64-128-10 for T in {8, 32, 128, 512}.

Two figures per (rule, T), each from a fresh process training 200 samples:
* algorithm state: the bytes the learner holds while training one sample. OTTT (float and integer):
  membranes, traces, errors (fixed, whatever T). BPTT: the same plus the forward tape of T steps
  (membranes, spikes, loss terms) read from the kernel's own arrays, which grows linearly in T.
* peak RSS of the process (dominated by the interpreter, numpy, numba and scikit-learn: ~270 MB;
  the tape shows in it only at large T, batch 1).

    python scripts/bench_memory.py [--timesteps 8 32 128 512] [--samples 200]

It ends with the published block; `python scripts/reproduce.py --write --only memory` writes it
into README.md (state only, computed in-process: the RSS depends on the machine).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

PROBE = r"""
import json, resource, sys, time
import numpy as np
from neurochip.data import load_digits
from neurochip.engine import Engine, warm_up
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile
rule, precision, T, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ds = load_digits(seed=0)
cfg = NetworkConfig(sizes=(64, 128, 10), timesteps=T, precision=precision, rule=rule)
prof = load_profile("loihi")
warm_up(cfg, prof)
eng = Engine(cfg, prof)
xin = eng.prepare(ds.x_train[:n])
t0 = time.perf_counter()
eng.run(xin, ds.y_train[:n], np.arange(n), True)
dt = time.perf_counter() - t0
state = eng.v.nbytes + eng.tr.nbytes + sum(a.nbytes for a in eng._scratch)
print(json.dumps({"state": state + eng.tape_bytes, "tape": eng.tape_bytes,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                  "ms_per_sample": 1000 * dt / n}))
"""


def probe(rule: str, precision: str, T: int, n: int) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, rule, precision, str(T), str(n)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


RUNS = (("ottt-o", "int"), ("ottt-o", "float"), ("bptt", "float"))
LABELS = {"ottt-o-int": "integer on-chip OTTT_O", "ottt-o-float": "float32 OTTT_O", "bptt-float": "float32 BPTT"}


def state_bytes(rule: str, precision: str, T: int, n: int = 2) -> int:
    """The learner's training state in bytes (as PROBE measures it), in this process: membranes,
    traces, scratch and BPTT's tape of the last sample. It does not depend on n (batch 1)."""
    import numpy as np

    from neurochip.data import load_digits
    from neurochip.engine import Engine
    from neurochip.network import NetworkConfig
    from neurochip.profile import load_profile

    ds = load_digits(seed=0)
    eng = Engine(NetworkConfig(sizes=(64, 128, 10), timesteps=T, precision=precision, rule=rule), load_profile("loihi"))
    eng.run(eng.prepare(ds.x_train[:n]), ds.y_train[:n], np.arange(n), True)
    return int(eng.v.nbytes + eng.tr.nbytes + sum(a.nbytes for a in eng._scratch) + eng.tape_bytes)


def measure_state(timesteps=(8, 32, 128, 512)) -> list[dict]:
    """State bytes per (learner, T), in-process (deterministic; no RSS): what reproduce.py checks."""
    return [{"T": T, **{f"{r}-{p}": {"state": state_bytes(r, p, T)} for r, p in RUNS}} for T in timesteps]


def blocks(rows: list[dict]) -> dict[str, str]:
    """The published block ``bench_memory:state`` (deterministic: bytes the learner holds)."""
    Ts = [r["T"] for r in rows]
    out = [f"`python scripts/bench_memory.py`: the learner's training state (membranes, traces, errors and, for "
           f"BPTT, the forward tape; batch 1) on digits 64-128-10, in KB:", "",
           "| learner | " + " | ".join(f"T = {T}" for T in Ts) + " |", "| --- |" + " --- |" * len(Ts)]
    for k, label in LABELS.items():
        out.append(f"| {label} | " + " | ".join(f"{r[k]['state'] / 1024:,.1f}" for r in rows) + " |")
    return {"bench_memory:state": "\n".join(out)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timesteps", type=int, nargs="+", default=[8, 32, 128, 512])
    ap.add_argument("--samples", type=int, default=200)
    a = ap.parse_args()
    rows = []
    runs = RUNS
    print(f"{'T':>5s} | " + " | ".join(f"{r} {p:5s} state KB  RSS MB  ms/sample" for r, p in runs))
    for T in a.timesteps:
        res = [probe(r, p, T, a.samples) for r, p in runs]
        rows.append({"T": T, **{f"{r}-{p}": x for (r, p), x in zip(runs, res)}})
        print(f"{T:5d} | " + " | ".join(f"{x['state'] / 1024:17.1f} {x['rss_mb']:7.1f} {x['ms_per_sample']:10.3f}"
                                      for x in res), flush=True)
    first, last = rows[0], rows[-1]
    grow = lambda k: last[k]["state"] / first[k]["state"]
    print(f"state growth T={first['T']} -> T={last['T']}: OTTT int x{grow('ottt-o-int'):.2f}, "
          f"OTTT float x{grow('ottt-o-float'):.2f}, BPTT x{grow('bptt-float'):.1f} "
          f"(T grew x{last['T'] / first['T']:.0f})")
    print()
    for name, body in blocks(rows).items():
        print(f"<!-- {name} -->\n{body}\n")


if __name__ == "__main__":
    main()
