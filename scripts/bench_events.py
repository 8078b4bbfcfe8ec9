#!/usr/bin/env python
"""Benchmark: event loader throughput and memory on an SHD-layout HDF5 file written here.

Writes a file in the Spiking Heidelberg Digits layout (``spikes/times`` float16 seconds and
``spikes/units`` uint16 as per-sample variable-length arrays, ``labels`` uint16) with ``--samples``
samples of Poisson(``--events``) spikes each over ~1 s on 700 units, into a temporary directory
(deleted afterwards). Then, in this order:

1. read: every sample streamed from the file in chunks of ``--chunk`` (h5py vlen reads, float16
   seconds -> int64 us, validation of units/times) without binning: events/s;
2. read + bin: the same stream binned onto ``--timesteps`` steps by time window (``--window-us``)
   as counts with :func:`neurochip.binning.bin_events`: events/s, and the binned array's size;
3. memory: the peak of Python-tracked allocations during (2) (tracemalloc, a separate pass: it
   slows the run) and the process's peak RSS (``ru_maxrss``, everything: interpreter, numpy,
   numba, h5py, the binned output).

    python scripts/bench_events.py [--samples 10000] [--events 2000] [--timesteps 100]
                                   [--window-us 10000] [--spatial-factor 1] [--chunk 256]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from neurochip.binning import EventBinning, bin_events  # noqa: E402
from neurochip.events import EventList, H5Spikes  # noqa: E402


def write_file(path: str, n: int, mean_events: int, seed: int) -> int:
    """SHD layout written chunk-wise (the writer never holds all samples)."""
    import h5py

    rng = np.random.default_rng(seed)
    total = 0
    with h5py.File(path, "w") as f:
        dt = f.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.dtype(np.float16)))
        du = f.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.dtype(np.uint16)))
        f.create_dataset("labels", data=rng.integers(0, 20, n).astype(np.uint16))
        for s in range(0, n, 500):
            e = min(s + 500, n)
            ts = np.empty(e - s, object)
            us = np.empty(e - s, object)
            for k in range(e - s):
                m = max(1, int(rng.poisson(mean_events)))
                ts[k] = np.sort(rng.random(m) * 0.99).astype(np.float16)
                us[k] = rng.integers(0, 700, m).astype(np.uint16)
                total += m
            dt[s:e] = ts
            du[s:e] = us
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--events", type=int, default=2000, help="mean spikes per sample (Poisson)")
    ap.add_argument("--timesteps", type=int, default=100)
    ap.add_argument("--window-us", type=int, default=10000)
    ap.add_argument("--spatial-factor", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    binning = EventBinning(a.timesteps, window_us=a.window_us, origin="zero", spatial_factor=a.spatial_factor,
                           layout="flat")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "shd_like.h5")
        t0 = time.perf_counter()
        n_events = write_file(path, a.samples, a.events, a.seed)
        t_write = time.perf_counter() - t0
        size_mb = os.path.getsize(path) / 1e6
        src = H5Spikes(path)
        # warm the numba kernel on a tiny slice so compile time is not counted
        gen = src.chunks(1)
        c = next(gen)
        gen.close()
        bin_events(EventList(c.x, c.y, c.p, c.t, c.offsets, src.labels[:1], src.sensor, check=False), binning)

        t0 = time.perf_counter()
        seen = 0
        for ch in src.chunks(a.chunk):
            seen += int(ch.offsets[-1])
        t_read = time.perf_counter() - t0
        assert seen == n_events

        t0 = time.perf_counter()
        res = bin_events(src, binning, chunk=a.chunk)
        t_bin = time.perf_counter() - t0
        out_mb = res.x.nbytes / 1e6
        del res

        tracemalloc.start()
        res = bin_events(src, binning, chunk=a.chunk)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del res
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"SHD-layout file: {a.samples} samples, {n_events} events ({n_events / a.samples:.0f}/sample), "
          f"{size_mb:.1f} MB, written in {t_write:.1f} s")
    print(f"binning: T={a.timesteps}, window {a.window_us} us, spatial factor {a.spatial_factor}, counts, flat; "
          f"chunk {a.chunk} samples")
    print(f"read only      : {t_read:.2f} s  {n_events / t_read / 1e6:.2f} M events/s")
    print(f"read + bin     : {t_bin:.2f} s  {n_events / t_bin / 1e6:.2f} M events/s  "
          f"(binned output {out_mb:.1f} MB uint8)")
    print(f"peak traced    : {peak / 1e6:.1f} MB during read + bin (of which the output {out_mb:.1f} MB)")
    print(f"peak RSS       : {rss_mb:.0f} MB (whole process)")


if __name__ == "__main__":
    main()
