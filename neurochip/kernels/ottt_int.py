"""The integer chip kernel: forward LIF dynamics and on-chip OTTT learning, one sample at a time.

Pure numerics: typed parameters and state in (kernels/state.py), state arrays updated in place.
The orchestration (epochs, shuffling, checkpoints) lives in :mod:`neurochip.train`; parameters are
built by :func:`neurochip.kernels.pack.int_kernel_params`. :func:`run_int` only sequences the
steps; each layer kind brings its forward, error and update step (kernels/dense.py for Dense),
and the per-neuron arithmetic is the shared helpers' (kernels/lif.py, trace.py, error.py, update.py). Equations cite the OTTT paper (Xiao et al. 2022) and
``docs/design/chip-model.md``; Lava-exact arithmetic cites ``docs/design/lava-semantics.md``.

Per time step t of a sample, for weight layers l = 0..L-1 (neuron layers 1..L):

1. input layer 0: graded value (direct), Bernoulli spike from the encoder PRNG (rate), a spike
   at a precomputed step (latency), or row t of a per-step raster (raster: counts as graded x_q
   with direct encoding's impulse rule; raster-spikes: spikes, impulse 2^F); its trace ``a0 = decay(a0) + impulse`` (OTTT eq. 4).
2. ``cur_i = sum_j W[j, i] * s_j`` event-driven over non-zero s_j (int64, no saturation: lava-semantics.md §2),
   ``a = cur << weight_exp`` (floor shift if negative), ``u = a << input_shift`` wrapped or clipped at
   the current width, ``v = leak(v) + u + bias`` clipped (symmetric) at the membrane width
   (chip-model.md §1; Lava PyLifModelBitAcc with du = 4095), spike ``v > thr`` or ``v >= thr``,
   reset to zero or by subtraction. The readout (integrator) neither spikes nor resets.
3. trace of the layer's spikes: ``a = decay(a) + (s << F)``, saturated at the trace width (a CUBA layer's
   input, exact trace: ``z = decay_{k_u}(z) + (s << F)``, ``a = decay(a) + z``; kernels/trace.py).

Then, when learning (OTTT eq. 5 and §4.3; chip-model.md §3-5):

4. output error e (E fractional bits) from the instantaneous loss on the readout.
5. hidden errors, top-down: ``g_j = sat(round((sum_i W[j, i] g_i) * sg(v_j) / 2^(q + Q)))`` (nearest, ties up) with exact
   transposed weights, or ``sum_i B[j, i] e_i`` (fixed random feedback) in place of the sum.
6. updates: ``dm = -(g_i * a_j * lr_mant) >> s`` with the profile's rounding (stochastic: one
   learning-PRNG draw per presynaptic row, scrambled per synapse, chip-model.md §5), saturating; OTTT_O writes the weight now, OTTT_A adds into a
   per-synapse accumulator (``accumulator_frac_bits`` below the weight LSB) applied once per sample.
   The per-step products enter the accumulator with floor rounding whatever the profile's rounding
   (which applies once, when the sum is written back): a tiny negative product adds -1 accumulator
   LSB (2^-acc_frac of a weight step) where a tiny positive one adds 0, a small downward drift.
"""
from __future__ import annotations

import numba as nb

from ..counters import O_ENC, O_ERR, O_LOSS, O_PRNG, O_SURR, O_TRACE, S_ERROR, S_TRACE
from ..fixedpoint import NJIT, NJIT_INNER, rand_bits, sat
from ..layers import CONV, DENSE, POOL, RECURRENT
from .conv import conv_error, conv_forward, conv_update
from .pool import pool_error, pool_forward
from .recurrent import rec_forward, rec_update
from .decode import predict
from .dense import dense_error, dense_forward, dense_update
from .error import surrogate_at
from .losses import membrane_error_int, spike_error_int
from .state import G_CIN, G_COUT, G_K, lif_of
from .trace import layer_trace_step, trace_updates
from .update import apply_accumulated


@nb.njit(**NJIT_INNER)
def input_step(n, t, X, imp, learn, rp, lifs, lrn, st, cnt):
    """Input layer 0 at step t of sample n: its values (graded, rate-encoded or latency spikes, or
    row t of a per-step raster: graded counts or spikes) and,
    when learning, its traces (decaying with the first hidden layer's leak)."""
    s = st.s
    tr = st.tr
    ops = cnt.ops
    enc = rp.enc
    k0 = lifs.leak_shift[0]
    ku0 = lrn.tr_ku[0]      # > 0: a CUBA layer's exact trace (two trace steps)
    r_enc = st.rng[1]
    r_learn = st.rng[0]
    n_draw = 0
    n_sat = 0
    n_enc = 0      # encoder draws, added to the counter once (not a memory add per draw)
    # static input X[n, j]; per-step input (raster encoders, enc >= 3): row t of the sample's
    # raster at X[n, t * n0 + j], mapped by the table imp (kernels/pack.raster_table)
    n0 = X.shape[1] // rp.T if enc >= 3 else X.shape[1]
    for j in range(n0):
        if enc >= 3:
            c = X[n, t * n0 + j]
            sj = imp[0, c]
            ij = imp[1, c]
        else:
            x = X[n, j]
            ij = imp[n, j]
            if enc == 0:
                sj = x
            elif enc == 1:
                r_enc, r = rand_bits(r_enc, 8)
                n_enc += 1
                sj = 1 if r < x else 0
            else:
                sj = 1 if x == t else 0
        s[j] = sj
        if learn:
            z, a, r_learn, dr, satd = layer_trace_step(st.tz[j], tr[j], ij if sj != 0 else 0, ku0, k0, lrn.tr_sto,
                                                       lrn.tr_bits, r_learn)
            st.tz[j] = z
            n_draw += dr
            n_sat += satd
            tr[j] = a
    ops[0, O_ENC] += n_enc
    if learn:
        ops[0, O_PRNG] += n_draw
        ops[0, O_TRACE] += n0 * trace_updates(ku0)
        cnt.sat[0, S_TRACE] += n_sat
    st.rng[0] = r_learn
    st.rng[1] = r_enc


@nb.njit(**NJIT_INNER)
def trace_layer(l, net, lifs, lrn, st, cnt):
    """Traces of neuron layer l (a hidden layer: presynaptic for weight layer l) after its spikes
    (a CUBA weight layer l with the exact trace: the current trace, then the trace of it)."""
    tr = st.tr
    pre = net.noff[l]
    k = lifs.leak_shift[l]
    imp1 = 1 << lrn.tr_frac
    r_learn = st.rng[0]
    n_draw = 0
    n_sat = 0
    ku = lrn.tr_ku[l]
    for i in range(net.sizes[l]):
        z, a, r_learn, dr, satd = layer_trace_step(st.tz[pre + i], tr[pre + i], imp1 if st.s[pre + i] else 0, ku, k,
                                                   lrn.tr_sto, lrn.tr_bits, r_learn)
        st.tz[pre + i] = z
        n_draw += dr
        n_sat += satd
        tr[pre + i] = a
    st.rng[0] = r_learn
    cnt.ops[l, O_PRNG] += n_draw
    cnt.sat[l, S_TRACE] += n_sat
    cnt.ops[l, O_TRACE] += net.sizes[l] * trace_updates(ku)


@nb.njit(**NJIT_INNER)
def output_error(t, label, net, lifs, lrn, rp, st, sc, cnt):
    """Errors of the readout layer (kernels/losses.py), times the surrogate if it spikes,
    saturated at the error width, into st.g (E fractional bits)."""
    L = net.sizes.shape[0] - 1
    lo = L - 1
    n_out = net.sizes[L]
    o_off = net.noff[L]
    spiking_out = lifs.spiking_out
    eo = st.cur[o_off:o_off + n_out]
    if not spiking_out:
        membrane_error_int(rp.loss, st.v[o_off:o_off + n_out], label, rp.c_log2e, rp.c_out,
                           rp.mix_ce, rp.mix_mse, sc.lut_exp, lrn.err_frac, eo)
    else:
        spike_error_int(rp.loss, st.s[o_off:o_off + n_out], sc.counts, t, label, rp.rate_hi,
                        rp.rate_lo, rp.c_log2e_cnt, sc.lut_exp, lrn.err_frac, eo, sc.first)
    one = 1 << lrn.sg_bits
    nz = 0
    for i in range(n_out):
        ee = eo[i]
        if spiking_out:
            # times the surrogate derivative of the output membrane
            ee = (ee * surrogate_at(st.vpre[o_off + i], st.s[o_off + i], lifs.thr, lrn.c_sg, sc.lut_sg,
                                    lrn.spike_op, one)) >> lrn.sg_bits
            cnt.ops[lo, O_SURR] += 1
        g2 = sat(ee, lrn.err_bits)
        if g2 != ee:
            cnt.sat[lo, S_ERROR] += 1
        st.g[o_off + i] = g2
        nz += g2 != 0
    cnt.ops[lo, O_LOSS] += n_out
    cnt.ops[lo, O_ERR] += nz


@nb.njit(**NJIT)
def run_int(X, imp, Y, order, learn, net, lifs, lrn, rp, wts, st, sc, cnt, preds):
    """Run the samples ``order`` (indices into X) through the network; learn if ``learn``.

    X[n, j]   graded input x_q (direct, rate) or spike step (latency, -1 never), int64; raster
              encoders: X[n, t * n_in + j] the count of input j at step t (uint8/uint16, a view
              of the (n, T, n_in) raster, kernels/pack.raster_input)
    imp[n, j] input trace impulse (direct: x_q scaled to F bits; spikes: 2^F), int64; raster
              encoders: the (2, values) table of layer-0 value and impulse per count
    net, lifs, lrn, rp   structure and parameters (kernels/state.py: IntNet, LifLayers,
              LearnParams, RunParams); wts (Weights), st (NeuronState), sc (Scratch) and cnt
              (Counters) are updated in place; preds[nn] predictions out
    """
    L = net.sizes.shape[0] - 1
    T = rp.T
    n_out = net.sizes[L]
    o_off = net.noff[L]
    v, s, tr = st.v, st.s, st.tr
    outsum, counts, first = sc.outsum, sc.counts, sc.first
    # non-zero weights per presynaptic row (NeuroBench Effective ops); kept current by the updates
    W = wts.W
    for l in range(L):
        if net.kind[l] != DENSE:
            continue     # other kinds count effective ops where they sum (kernels/conv.py ...)
        npost = net.sizes[l + 1]
        for j in range(net.sizes[l]):
            base = net.woff[l] + j * npost
            c = 0
            for i in range(npost):
                c += W[base + i] != 0
            sc.rownz[net.noff[l] + j] = c
    for nn in range(order.shape[0]):
        n = order[nn]
        # a sample starts from rest: membranes, traces, spike counts
        for k in range(v.shape[0]):
            v[k] = 0
            s[k] = 0
        for k in range(tr.shape[0]):
            tr[k] = 0
        for k in range(st.u.shape[0]):
            st.u[k] = 0
        for k in range(st.trr.shape[0]):
            st.trr[k] = 0
            st.trz[k] = 0
        for k in range(st.tz.shape[0]):
            st.tz[k] = 0
        for i in range(n_out):
            outsum[i] = 0
            counts[i] = 0
            first[i] = T
        label = Y[n]
        for t in range(T):
            input_step(n, t, X, imp, learn, rp, lifs, lrn, st, cnt)
            for l in range(L):
                lif = lif_of(lifs, l, l == L - 1)
                kind = net.kind[l]
                k_u = lifs.cur_leak[l]
                if kind == DENSE and k_u == 0:
                    dense_forward(l, net, lif, wts, st, sc, cnt)
                elif kind == DENSE or kind == RECURRENT:
                    rec_forward(l, net, lif, k_u, kind == RECURRENT, learn, lifs, lrn, wts, st, sc, cnt)
                elif kind == CONV:
                    conv_forward(l, net, lif, k_u, wts, st, sc, cnt)
                else:
                    pool_forward(l, net, lif, k_u, wts, st, sc, cnt)
                if learn and l < L - 1 and net.kind[l + 1] != POOL:
                    # (a pool does not learn: no traces of its inputs)
                    trace_layer(l + 1, net, lifs, lrn, st, cnt)
            # decoding state (kernels/decode.py)
            for i in range(n_out):
                outsum[i] += v[o_off + i] if not lifs.spiking_out else st.vpre[o_off + i]
                counts[i] += s[o_off + i]
                if s[o_off + i] and first[i] == T:
                    first[i] = t
            if not learn:
                continue
            output_error(t, label, net, lifs, lrn, rp, st, sc, cnt)
            for l in range(L - 1, 0, -1):
                kind = net.kind[l]
                if kind == DENSE or kind == RECURRENT or lrn.random_fb:
                    dense_error(l, net, lifs, lrn, wts, st, sc, cnt)
                elif kind == CONV:
                    conv_error(l, net, lifs, lrn, wts, st, sc, cnt)
                else:
                    pool_error(l, net, lifs, lrn, wts, st, sc, cnt)
            for l in range(L):
                kind = net.kind[l]
                if kind == DENSE:
                    dense_update(l, net, lrn, wts, st, sc, cnt)
                elif kind == RECURRENT:
                    rec_update(l, net, lrn, wts, st, sc, cnt)
                elif kind == CONV:
                    conv_update(l, net, lrn, wts, st, sc, cnt)
        # end of sample: OTTT_A applies the accumulated update once
        if learn and lrn.rule_a:
            for l in range(L):
                kind = net.kind[l]
                if kind == DENSE:
                    npost = net.sizes[l + 1]
                    apply_accumulated(l, net.woff[l], net.sizes[l] * npost, npost, net.noff[l], sc.rownz,
                                      lrn, wts, st, cnt)
                elif kind == RECURRENT:
                    apply_accumulated(l, net.woff[l], (net.sizes[l] + net.sizes[l + 1]) * net.sizes[l + 1], 1, -1,
                                      sc.rownz, lrn, wts, st, cnt)
                elif kind == CONV:
                    g = net.geom[l]
                    apply_accumulated(l, net.woff[l], g[G_CIN] * g[G_K] * g[G_K] * g[G_COUT], 1, -1, sc.rownz,
                                      lrn, wts, st, cnt)
        preds[nn] = predict(counts, outsum, first, rp.dec)


__all__ = ["run_int", "input_step", "trace_layer", "output_error"]
