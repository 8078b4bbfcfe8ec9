"""Splitting one layer's step into chunks of disjoint outputs, one per thread (within a sample).

Learning is sequential over samples, so the only parallelism left is inside a sample's step: the
conv kernels (kernels/conv.py: forward sums, transposed error, shared-weight update sums), the
neuron update (kernels/cuba.py) and the pool error (kernels/pool.py) split their outputs into
``n_chunks`` contiguous chunks and run them under a ``prange`` over the chunks. Every output is
computed by exactly one chunk, in the same order as the serial loop (no reduction across
threads); each chunk's counters go to its own row of a ``part`` array, summed after the loop
(``part.sum(axis=0)``: integer sums, exact in any order).
So results are bit-identical for any number of threads, including one.

``IntNet.chunks`` is the thread count the host chose (neurochip/parallel.py ``kernel_chunks``:
``--threads`` / ``NUMBA_NUM_THREADS``, applied with ``numba.set_num_threads``); 1 keeps every kernel on
its serial path (no parallel region at all), as the sample-parallel inference threads do.
"""
from __future__ import annotations

import numba as nb

from ..fixedpoint import NJIT_INNER

#: below this much work (an upper bound, in multiply-adds) a kernel runs serially: starting a
#: parallel region costs microseconds
PAR_MIN_WORK = 50_000
#: work of one neuron update (kernels/cuba.py) in those units (measured: ~20-30 ns a neuron)
NEURON_WORK = 32


@nb.njit(**NJIT_INNER)
def n_chunks(chunks, rows, work):
    """Chunks to split ``rows`` output rows into: ``chunks`` (IntNet.chunks), at most one per
    row, and 1 (the serial path) when ``work`` is below PAR_MIN_WORK."""
    if chunks < 2 or work < PAR_MIN_WORK:
        return 1
    return max(1, min(chunks, rows))


__all__ = ["PAR_MIN_WORK", "NEURON_WORK", "n_chunks"]
