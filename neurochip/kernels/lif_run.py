"""Inference-only integer LIF kernel: continuous runs, per-step recording, no learning.

The same forward arithmetic as :func:`neurochip.kernels.ottt_int.run_int` with ``learn=False``
(the same LIF step, kernels/lif.py, and tested against it step by step in
``tests/test_lava_export.py``), reorganised for two uses the per-sample engine does not serve:

* the Lava comparison (:mod:`neurochip.lava.export`) needs every layer's spikes and membranes at
  every step, not only predictions;
* the speed benchmark (``scripts/bench_vs_lava.py``) runs one network for 1000 continuous steps on a
  given input raster, as Lava does.

The input is a raster ``R[step, j]``: the value the input layer emits at each global step (graded
``x_q`` under direct and raster encoding, 0/1 spikes otherwise); :func:`encode_raster` produces it
from the engine's prepared static input exactly as ``run_int`` does (same encoder PRNG stream), and
:func:`raster_rows` from per-step input (binned events, spike rasters) through the raster table. State returns to
rest every ``period`` steps (``period = T``: one sample per period; ``period >= steps``: one
continuous run). Per step and weight layer l (neuron layer l + 1)::

    cur_i = sum_j W[j, i] * s_j                     (int64, event-driven over s_j != 0)
    u     = shift_exp(cur, weight_exp[l]) << input_shift,  wrapped (Lava) or saturated
    v     = sat_sym(leak(v, k_l, mode) + u + bias, membrane_bits)
    s     = v > thr  (or >=),  then v = 0 (or v - thr);  the integrator readout never fires
"""
from __future__ import annotations

import numba as nb
import numpy as np

from .decode import predict
from ..fixedpoint import NJIT, rand_bits
from .dense import add_rows
from .lif import lif_step
from .lif32 import lif32_exact, lif32_input_exact, lif32_row, lif32_table, lif_layer32
from .simd import ctz64, nonzero_mask16, v16_add, v16_load, v16_store32, v16_zero
from .state import lif_of

#: columns of the ``events`` counter array: current wrapped/saturated, membrane clipped
EV_CURRENT, EV_MEMBRANE = 0, 1
U = np.uint64


@nb.njit(**NJIT)
def encode_raster(X, order, T, enc, r_enc, out):
    """Input-layer values for samples ``order`` of prepared input X, as ``run_int`` emits them.

    out[nn * T + t, j]: graded x_q (enc 0, direct), Bernoulli spike from the encoder PRNG (enc 1,
    rate: one 8-bit draw per input per step, t outer, j inner, the stream continuing across
    samples) or latency spike (enc 2). Returns the advanced encoder PRNG state.
    """
    n0 = X.shape[1]
    for nn in range(order.shape[0]):
        n = order[nn]
        for t in range(T):
            row = nn * T + t
            for j in range(n0):
                x = X[n, j]
                if enc == 0:
                    sj = x
                elif enc == 1:
                    r_enc, r = rand_bits(r_enc, 8)
                    sj = 1 if r < x else 0
                else:
                    sj = 1 if x == t else 0
                out[row, j] = sj
    return r_enc


@nb.njit(**NJIT)
def raster_rows(X, tab, order, T, out):
    """Input-layer values of per-step input (encoders ``raster`` and ``raster-spikes``), as
    ``run_int`` emits them: out[nn * T + t, j] = tab[0, X[n, t * F + j]] for n = order[nn], where
    X is the ``(n, T * F)`` view of the counts (kernels/pack.py ``raster_view``, uint8/uint16) and
    tab the ``raster_table`` (row 0: graded x_q of a count, or 0/1 spike). No PRNG is drawn."""
    F = out.shape[1]
    for nn in range(order.shape[0]):
        n = order[nn]
        for t in range(T):
            row = nn * T + t
            for j in range(F):
                out[row, j] = tab[0, X[n, t * F + j]]


@nb.njit(**NJIT)
def value_range(R):
    """(smallest, largest) value of R and 0, as int64: one flat pass of min/max that vectorises
    (a per-element abs and 0/1 test over R[st, j] did not, and cost a visible share of a
    1000-step 64-128-10 run)."""
    F = np.ascontiguousarray(R).reshape(-1)
    lo = F.dtype.type(0)
    hi = lo
    for k in range(U(F.shape[0])):
        x = F[k]
        lo = min(lo, x)
        hi = max(hi, x)
    return np.int64(lo), np.int64(hi)


@nb.njit(**NJIT)
def max_size(sizes):
    m = 0
    for x in sizes:
        if x > m:
            m = x
    return m


#: outside the int16 path, a weight layer with at most this many postsynaptic neurons sums densely
#: over a transposed copy of its weights (one dot product per neuron, no compaction, no stores
#: inside the sum); wider layers add the rows of their non-zero inputs (event-driven)
SMALL_POST = 16
#: lanes of one explicit int16 vector (kernels/simd.py)
LANES = 16


@nb.njit(**NJIT)
def lif_forward(R, period, net, lifs, dec, W, B, v, s, cur, rec_s, rec_v, outsum, counts, first, preds, events):
    """Run the raster R (steps x n0) through the network; state returns to rest every ``period``.

    net, lifs     structure and LIF parameters (kernels/state.py IntNet, LifLayers; ``net.narrow``
                  is not used: the bound is computed here from R and W)
    dec           decoder mode (kernels/decode.py)
    W, B          flat int32 weights (presynaptic-major, offsets woff) and biases (layers 1..L)
    v, s, cur     int64 scratch flat over neuron layers 0..L (offsets noff); v and s hold the
                  state after the last step on return (cur: sums of layers updated in int64)
    rec_s, rec_v  per-step spikes (uint8) and membranes (int32, after reset) of layers 1..L,
                  shape (steps, n_neurons - n0); a shape (0, 0) array records nothing
    outsum, counts, first  readout decoding of the current sample (int64[n_out] scratch; decode.py)
    preds         int64[ceil(steps / period)]: prediction of each period, decoded as run_int does
    events        int64[L, 2] counters: current wraps/saturations, membrane clips

    Speed, same results: hot loops index with uint64 (``U``) offsets, so numba emits no
    negative-index wraparound code and the loops vectorise (about 4x faster than signed offsets);
    the layers' values live in an int32 array (``s32``, copied to ``s`` on return; LANES zeros
    past its end). A spiking layer whose weighted sums provably fit int16 (max |input| * max column
    sum of |W| < 2^15) sums in explicit 16-lane int16 vectors (kernels/simd.py): its spiking inputs
    are the set bits of 64-input words, each adds its weight row (an int16 copy made once per run,
    rows padded to whole vectors: ``W16``, ``poff``, ``pstr``) to the first vector of sums and
    records the row's offset (in ``idx``) for the other vectors of a wider layer; the sums are
    widened into ``c32``. Otherwise a layer with at most SMALL_POST neurons sums densely over a
    transposed weight copy (one dot product per neuron), and a wider layer's non-zero values are
    compacted without branches, then their weight rows added four at a time; a layer whose weighted
    sums provably fit int32 (bound < 2^31) accumulates in int32, twice the SIMD width of int64.
    A layer whose neuron update provably fits int32 (kernels/lif32.py ``lif32_exact``: the sums'
    bound, its biases, the profile's widths) updates in int32 lanes, its membranes in ``v32``
    (copied to ``v`` on return); otherwise ``lif_step`` in int64. The recorded spikes and membranes
    are copied after each layer's update. Where the same bound proves that no synaptic input can
    wrap or saturate (``lif32_input_exact``), the int32 update leaves out those steps; the int32
    parameters of every layer are built once before the step loop (``lif32_table``). What LLVM
    emits: docs/architecture.md, Speed.
    """
    sizes, woff, noff = net.sizes, net.woff, net.noff
    L = sizes.shape[0] - 1
    steps = R.shape[0]
    n0 = sizes[0]
    n_out = sizes[L]
    rec_spk = rec_s.shape[0] > 0
    rec_mem = rec_v.shape[0] > 0
    un0 = U(n0)
    n_all = noff[L] + n_out
    m = max_size(sizes)
    c32 = np.zeros(m + LANES, np.int32)
    vp32 = np.zeros(m, np.int32)
    idx = np.zeros(m, np.uint64)            # a layer's compacted inputs, or the int16 path's row offsets
    # LANES zeros past the last layer: a 16-lane spike mask read at a layer's tail stays inside
    s32 = np.zeros(n_all + LANES, np.int32)
    v32 = np.zeros(n_all, np.int32)
    # per layer: can the weighted sum overflow int32? bound = max |input| * max_i sum_j |W[j, i]|;
    # are the layer's values 0/1 (spikes; the input layer unless direct-encoded)?
    narrow = np.zeros(L, np.bool_)
    lif32 = np.zeros(L, np.bool_)
    exact_u = np.zeros(L, np.bool_)
    v16 = np.zeros(L, np.bool_)
    r_lo, r_hi = value_range(R)
    in_max = max(r_hi, -r_lo)
    binary_in = r_lo >= 0 and r_hi <= 1
    for l in range(L):
        npost = sizes[l + 1]
        col = np.zeros(npost, np.int64)
        for j in range(U(sizes[l])):
            base = U(woff[l]) + j * U(npost)
            for i in range(U(npost)):
                col[i] += abs(np.int64(W[base + i]))        # uint64 offsets: vectorised
        mc = 0
        for i in range(npost):
            if col[i] > mc:
                mc = col[i]
        bound = mc * (in_max if l == 0 else 1)         # of the layer's weighted sums
        narrow[l] = bound < (1 << 31)
        # the neuron update in int32 lanes where the bound proves it exact (kernels/lif32.py)
        bmax = 0
        for i in range(npost):
            b = np.int64(B[noff[l + 1] - n0 + i])
            bmax = max(bmax, b if b >= 0 else -b)
        lif32[l] = narrow[l] and lif32_exact(bound, bmax, lifs, l)
        # the int16 path: a spiking layer whose sums fit int16
        v16[l] = bound < (1 << 15) and (l > 0 or binary_in)
        exact_u[l] = lif32[l] and lif32_input_exact(bound, lifs, l)
    P32 = lif32_table(lifs, L)
    # int16 weight rows of the int16-path layers, padded to whole 16-lane vectors
    poff = np.zeros(L, np.int64)
    pstr = np.zeros(L, np.int64)
    npad = 0
    for l in range(L):
        if v16[l]:
            poff[l] = npad
            pstr[l] = (sizes[l + 1] + LANES - 1) // LANES * LANES
            npad += sizes[l] * pstr[l]
    W16 = np.zeros(npad, np.int16)
    for l in range(L):
        if v16[l]:
            for j in range(U(sizes[l])):
                dst = U(poff[l]) + j * U(pstr[l])
                src = U(woff[l]) + j * U(sizes[l + 1])
                for i in range(U(sizes[l + 1])):
                    W16[dst + i] = W[src + i]
    # transposed copies (postsynaptic-major) of the small layers' weights
    toff = np.zeros(L, np.int64)
    nt = 0
    for l in range(L):
        toff[l] = nt
        if sizes[l + 1] <= SMALL_POST and not v16[l]:
            nt += sizes[l] * sizes[l + 1]
    Wt = np.zeros(nt, np.int32)
    for l in range(L):
        npre = sizes[l]
        npost = sizes[l + 1]
        if npost <= SMALL_POST and not v16[l]:
            for j in range(npre):
                for i in range(npost):
                    Wt[toff[l] + i * npre + j] = W[woff[l] + j * npost + i]
    for st in range(steps):
        t = st % period
        if t == 0:
            for k in range(v.shape[0]):
                v[k] = 0
            for k in range(n_all):
                s32[k] = 0
                v32[k] = 0
            for i in range(n_out):
                outsum[i] = 0
                counts[i] = 0
                first[i] = period
        ust = U(st)
        for j in range(un0):
            s32[j] = R[ust, j]
        for l in range(L):
            npre = U(sizes[l])
            npost = U(sizes[l + 1])
            pre = U(noff[l])
            post = U(noff[l + 1])
            wo = U(woff[l])
            binary = l > 0 or binary_in
            small = npost <= U(SMALL_POST)
            if v16[l]:
                # int16 sums in explicit 16-lane vectors (kernels/simd.py), exact: every partial
                # sum is bounded by bound < 2^15. The spiking inputs are the set bits of 16-lane
                # masks (64 inputs per word); their padded rows' offsets go to idx
                nz = U(0)
                ps = U(pstr[l])
                po = U(poff[l])
                ni = sizes[l]
                acc = v16_zero()
                for b in range(0, ni, 64):
                    bits = np.int64(0)
                    for q in range(0, 64, LANES):
                        if b + q < ni:
                            bits |= nonzero_mask16(s32, pre + U(b + q)) << q
                    if ni - b < 64:
                        bits &= (np.int64(1) << (ni - b)) - 1
                    while bits != 0:
                        o = po + U(b + ctz64(bits)) * ps
                        acc = v16_add(acc, v16_load(W16, o))
                        idx[nz] = o
                        nz += U(1)
                        bits &= bits - 1
                v16_store32(c32, U(0), acc)
                for ch in range(U(LANES), ps, U(LANES)):
                    acc = v16_zero()
                    for k in range(nz):
                        acc = v16_add(acc, v16_load(W16, idx[k] + ch))
                    v16_store32(c32, ch, acc)
            elif small:
                # dense dot products over the transposed weights (no branches, no stores inside)
                to = U(toff[l])
                for i in range(npost):
                    rb = to + U(i) * npre
                    if narrow[l]:
                        a32 = np.int32(0)
                        if binary:
                            for j in range(npre):
                                a32 += Wt[rb + j] & -s32[pre + j]
                        else:
                            for j in range(npre):
                                a32 += Wt[rb + j] * s32[pre + j]
                        c32[i] = a32
                    else:
                        a64 = 0
                        for j in range(npre):
                            a64 += np.int64(Wt[rb + j]) * s32[pre + j]
                        cur[post + i] = a64
            else:
                # the non-zero presynaptic values, compacted without branches (the zero pattern is
                # data-dependent: a branch per input would mispredict)
                nz = U(0)
                for j in range(npre):
                    idx[nz] = j
                    nz += U(s32[pre + j] != 0)
                if narrow[l]:
                    # int32 sums (8 lanes per AVX2 add), exact: |sum| <= bound < 2^31 (checked above)
                    for i in range(npost):
                        c32[i] = 0
                    if binary:
                        # four rows per pass (kernels/dense.py add_rows)
                        add_rows(c32, W, idx, nz, wo, npost)
                    else:
                        for jj in range(nz):
                            j = idx[jj]
                            base = wo + j * npost
                            sv = s32[pre + j]
                            for i in range(npost):
                                c32[i] += W[base + i] * sv
                else:
                    for i in range(npost):
                        cur[post + i] = 0
                    for jj in range(nz):
                        j = idx[jj]
                        base = wo + j * npost
                        sj = np.int64(s32[pre + j])
                        for i in range(npost):
                            cur[post + i] += W[base + i] * sj
            last = l == L - 1
            boff = post - un0
            n_cur = 0
            n_mem = 0
            if lif32[l]:
                # int32 lanes (kernels/lif32.py), exact by the bound above; membranes in v32
                n_cur, n_mem = lif_layer32(lif32_row(P32, l), npost, c32, U(0), v32, post, B, boff, vp32, U(0), s32,
                                           post, exact_u[l])
                if last:
                    for i in range(npost):
                        sp = s32[post + i]
                        outsum[i] += vp32[i]          # before the reset: run_int's vpre
                        counts[i] += sp
                        first[i] = min(first[i], t if sp else period)
                if rec_mem:
                    for i in range(npost):
                        rec_v[ust, boff + i] = v32[post + i]
            else:
                lif = lif_of(lifs, l, last)
                if narrow[l] or v16[l]:
                    for i in range(npost):
                        cur[post + i] = c32[i]
                if not last:
                    for i in range(npost):
                        sp, v2, vp, wrapped, clipped = lif_step(cur[post + i], v[post + i], B[boff + i], lif)
                        n_cur += wrapped
                        n_mem += clipped
                        v[post + i] = v2
                        s32[post + i] = sp
                else:
                    for i in range(npost):
                        sp, v2, vp, wrapped, clipped = lif_step(cur[post + i], v[post + i], B[boff + i], lif)
                        n_cur += wrapped
                        n_mem += clipped
                        outsum[i] += vp          # before the reset: run_int's vpre
                        counts[i] += sp
                        first[i] = min(first[i], t if sp else period)
                        v[post + i] = v2
                        s32[post + i] = sp
                if rec_mem:
                    for i in range(npost):
                        rec_v[ust, boff + i] = v[post + i]
            if rec_spk:
                for i in range(npost):
                    rec_s[ust, boff + i] = s32[post + i]
            events[l, EV_CURRENT] += n_cur
            events[l, EV_MEMBRANE] += n_mem
        if t == period - 1 or st == steps - 1:
            preds[st // period] = predict(counts, outsum, first, dec)
    for k in range(n_all):
        s[k] = s32[k]
    for l in range(L):
        if lif32[l]:
            for k in range(noff[l + 1], noff[l + 1] + sizes[l + 1]):
                v[k] = v32[k]


__all__ = ["encode_raster", "lif_forward", "EV_CURRENT", "EV_MEMBRANE", "SMALL_POST"]
