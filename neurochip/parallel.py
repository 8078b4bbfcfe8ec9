"""Evaluation on every core: independent samples split over threads, bit-identical to one thread.

Inference passes (``eval``, the test pass inside ``train``, ``energy``'s counting runs, the
reference runs ``lava run`` compares against) treat each sample independently: every sample starts
from rest and no weight changes. The one thing that links samples is the rate encoder's PRNG
stream, which the serial run advances across samples (``T x n_in`` xorshift32 draws per sample).
xorshift32 is linear over GF(2), so the state ``k`` draws ahead is a 32 x 32 bit-matrix power
applied to the state: :func:`jump` gives each part of the samples its exact start state, and the
parts run concurrently in threads (the numba kernels release the GIL, ``nogil=True``): an
inference call is split into several parts per thread, each taken by whichever thread is free
(:func:`run_chunks`), and each thread has its own padded copies of the hot state and scratch
(:func:`private_copy`: no false sharing of cache lines between the cores), made in that thread.
Counters are integer sums (order-free); predictions are per sample.
The part that holds the last sample runs on the caller's own state arrays (whichever thread runs
it), so the state left behind is the serial run's too.

Learning is sequential over samples (one chip learning online), but inside a sample the conv
kernels (kernels/conv.py: forward sums, transposed error, shared-weight update sums) split their
outputs into :func:`threads` chunks of disjoint outputs over numba's thread pool (``prange``):
each output is computed by one thread exactly as the serial kernel computes it, and the counters
are integer sums, so weights, counters and predictions are bit-identical for any thread count.
:func:`kernel_chunks` applies the setting (``numba.set_num_threads`` in the calling thread) and
returns the chunk count the kernels get (``IntNet.chunks``). The sample-parallel inference above
runs its kernels serially (one chunk) in each of its threads.

Thread count: numba's convention. ``NUMBA_NUM_THREADS`` (default: all cores) is the default and
the ceiling; :func:`set_threads` (``neurochip.api.set_threads``, the CLI's ``--threads``) picks fewer.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from .errors import NeurochipError
from .fixedpoint import MASK32

_POOL: ThreadPoolExecutor | None = None
_POOL_N = 0


_THREADS: int | None = None   # None: numba.config.NUMBA_NUM_THREADS


def threads() -> int:
    """Threads inference passes use: the last :func:`set_threads`, else ``NUMBA_NUM_THREADS``."""
    return int(numba.config.NUMBA_NUM_THREADS) if _THREADS is None else _THREADS


def set_threads(n: int | None) -> int:
    """Use ``n`` threads (None: keep the current setting, by default all cores); returns it.

    The setting is this module's; :func:`kernel_chunks` applies it to numba's pool (thread-local)
    where a kernel uses it. Inference samples run in Python threads over ``nogil`` kernels."""
    global _THREADS
    if n is None:
        return threads()
    top = int(numba.config.NUMBA_NUM_THREADS)
    if not 1 <= int(n) <= top:
        raise NeurochipError(f"--threads must be between 1 and {top} (NUMBA_NUM_THREADS), got {n}")
    _THREADS = int(n)
    return _THREADS


def kernel_chunks(n: int | None = None) -> int:
    """Chunks the conv kernels split a sample's outputs into (``IntNet.chunks``): ``n`` (default
    :func:`threads`), with ``numba.set_num_threads(n)`` in the calling thread so that the chunks
    run on that many threads. numba's pool was started by neurochip.fixedpoint without fixing
    multiprocessing's start method (Lava's import sets it)."""
    n = threads() if n is None else int(n)
    numba.set_num_threads(n)
    return n


def pool(n: int) -> ThreadPoolExecutor:
    global _POOL, _POOL_N
    if _POOL is None or _POOL_N < n:
        if _POOL is not None:
            _POOL.shutdown(wait=True)
        _POOL = ThreadPoolExecutor(max_workers=n, thread_name_prefix="neurochip-eval")
        _POOL_N = n
    return _POOL


def chunks(n: int, k: int, align: int = 1) -> list[tuple[int, int]]:
    """``[a, b)`` ranges splitting ``n`` items into at most ``k`` near-equal parts whose bounds are
    multiples of ``align`` (except the end)."""
    units = -(-n // align)
    k = max(1, min(k, units))
    out, a = [], 0
    for c in range(k):
        b = min(n, (units * (c + 1) // k) * align)
        if b > a:
            out.append((a, b))
        a = b
    return out


#: bytes of padding around a thread's private arrays (two cache lines: no false sharing with
#: another thread's arrays, and none with the adjacent-line prefetcher)
PAD = 128


def private_copy(a: np.ndarray, zero: bool = False) -> np.ndarray:
    """A C-contiguous copy of ``a`` (zeros if ``zero``) that is a view into a buffer with PAD
    bytes before and after it, for one thread's hot scratch: small arrays allocated one after the
    other would otherwise share a cache line with the next thread's, and every counter update in
    the kernel would move that line between the cores (false sharing)."""
    a = np.asarray(a)
    pad = -(-PAD // a.itemsize)
    buf = np.zeros(a.size + 2 * pad, a.dtype)
    out = buf[pad:pad + a.size].reshape(a.shape)
    if not zero:
        out[...] = a
    return out


#: an inference call is split into up to PARTS_PER_THREAD parts per thread, taken by whichever
#: thread is free (:func:`run_chunks`): at the end a thread waits for at most one part of the
#: other's. One chunk per thread left a thread idle for 10-25 % of each call (lead's timing of
#: 784-512-10 eval: the two halves of a 1,024-sample call ended 15-30 ms apart, from the cores'
#: speeds differing on a shared host, not from the samples' work, which differed by 1-3 %)
PARTS_PER_THREAD = 8
#: fewest samples in a part: each kernel call has a fixed cost (run_int counts the non-zero
#: weights of every row; arguments are unboxed), about 0.2 ms for a 784 x 512 layer
MIN_PART = 32


def parts(n: int, k: int) -> list[tuple[int, int]]:
    """The contiguous ``[a, b)`` parts :func:`run_chunks` splits ``n`` samples into for ``k``
    threads: up to ``k * PARTS_PER_THREAD`` parts of at least MIN_PART samples (at least ``k``
    parts when ``n >= k``)."""
    return chunks(n, min(k * PARTS_PER_THREAD, max(k, n // MIN_PART)))


def run_chunks(n: int, k: int, fn) -> None:
    """Run ``fn(w, a, b, last)`` for every part ``[a, b)`` of :func:`parts` (``n`` samples) on
    ``k`` workers, ``w`` = 0..k-1 naming the worker (the last is the calling thread), each taking
    the next part in order when it is free (dynamic scheduling: a slower core or a heavier part
    does not leave the other core idle); ``last`` is true for the part holding sample ``n - 1``.
    ``w`` lets ``fn`` keep per-worker scratch; results must not depend on which worker runs a
    part. After an error no new part starts; the first error is re-raised once every worker has
    stopped."""
    import threading

    ps = parts(n, k)
    lock = threading.Lock()
    nxt = [0]

    def worker(w):
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= len(ps):
                return
            a, b = ps[i]
            try:
                fn(w, a, b, b == n)
            except BaseException:
                with lock:
                    nxt[0] = len(ps)
                raise

    run_parallel([lambda w=w: worker(w) for w in range(max(1, min(k, len(ps))))])


def run_parallel(fns) -> None:
    """Run the callables concurrently (the last one on the calling thread); re-raise any error."""
    fns = list(fns)
    if not fns:
        return
    if len(fns) == 1:
        fns[0]()
        return
    futs = [pool(len(fns) - 1).submit(f) for f in fns[:-1]]
    fns[-1]()
    for f in futs:
        f.result()


# ---- xorshift32 jump-ahead over GF(2) --------------------------------------------------------------

def _step(x: int) -> int:
    x ^= (x << 13) & MASK32
    x ^= x >> 17
    x ^= (x << 5) & MASK32
    return x


def _apply(cols: list[int], x: int) -> int:
    y = 0
    b = 0
    while x:
        if x & 1:
            y ^= cols[b]
        x >>= 1
        b += 1
    return y


def _compose(a: list[int], b: list[int]) -> list[int]:
    """Columns of the map a(b(.))."""
    return [_apply(a, c) for c in b]


_POW2: list[list[int]] = []   # _POW2[i]: columns of xorshift32 applied 2^i times


def jump(state: int, k: int) -> int:
    """The xorshift32 state after ``k`` steps from ``state`` (as ``k`` calls of fixedpoint.xorshift32)."""
    if k < 0:
        raise ValueError("k must be >= 0")
    if not _POW2:
        _POW2.append([_step(1 << b) for b in range(32)])
    x = int(state) & MASK32
    i = 0
    while k:
        while len(_POW2) <= i:
            _POW2.append(_compose(_POW2[-1], _POW2[-1]))
        if k & 1:
            x = _apply(_POW2[i], x)
        k >>= 1
        i += 1
    return x


__all__ = ["threads", "set_threads", "kernel_chunks", "chunks", "private_copy", "run_parallel", "run_chunks", "parts", "jump"]
