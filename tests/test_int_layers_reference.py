"""Whole integer OTTT samples through every layer kind (conv, sum/avg pool, flatten, recurrent dense,
CUBA neurons), modelled slowly in plain Python and compared bit for bit with the numba kernel.

The reference extends ``tests/test_int_sample_reference.py`` (same neuron, trace, surrogate, loss,
rounding and PRNG models) with the layer kinds written from ``docs/layers.md``, not from the
kernels' loops: every weight layer is turned into an explicit list of synapses
``(pre j, post i, weight index)`` from the geometry alone (a conv synapse joins input
(ci, oy*stride - pad + ky, ox*stride - pad + kx) to output (co, oy, ox) through shared weight
``W[ci, ky, kx, co]``; a pool synapse joins the k x k window of channel c to its output through the
fixed mantissa ``M = 2^(q - shift)``; a recurrent layer adds synapses from its own neurons at t-1).
Forward sums, transposed errors and updates are then plain sums over those lists:

* forward: ``cur_i = sum over synapses with s_j != 0 of w s_j``; CUBA: ``u = wrap(leak(u, k_u) +
  (cur << weight_exp << in_shift))``, ``v = sat(leak(v) + u + bias)``.
* error: ``d_j = sum over feed-forward synapses of w g_i``, then the dense rule.
* update: a shared weight gets ``round(sum over its synapses of -(g_i a_j lr_mant))`` once;
  one-synapse weights (dense, recurrent) the dense rule pair by pair; stochastic rounding is
  row-shared (chip-model.md §5: one 32-bit draw per weight row with a term, scrambled per column;
  a conv row is one input offset's C_out weights); the recurrent rows learn from the trace of the layer's own
  spikes ``a_rec = decay_k(a_rec) + s(t-1) 2^F``, drawn right after the traces of the layer's input.
* a learned CUBA layer's exact trace (``cuba_trace="exact"``): per input, the current trace
  ``z = decay_{k_u}(z) + impulse`` and then ``a = decay_k(a) + z``, both clipped at the trace width,
  drawn in that order (recurrent inputs likewise); ``"plain"``: ``a`` alone, as for LIF layers.
* pools learn nothing, so the traces of their inputs are not kept.
"""
from __future__ import annotations

import numpy as np
import pytest

from neurochip.counters import OPS, SAT
from neurochip.engine import Engine
from neurochip.layers import CONV, POOL, RECURRENT
from neurochip.network import NetworkConfig, init_state
from neurochip.profile import load_profile
from tests import reference as pr
from tests.test_int_sample_reference import (Chip, ReferenceChip, argmax_first, floor_shift, leak,
                                             shift_rounded)


def synapses(spec, M):
    """(ff, rec): lists of (pre j, post i, weight index or -1 for the fixed weight M)."""
    ff, rec = [], []
    if spec.kind == CONV or spec.kind == POOL:
        ci_n, h, w = spec.in_shape
        co_n, ho, wo = spec.out_shape
        k, s, p = spec.kernel, spec.stride, spec.padding
        for co in range(co_n):
            for oy in range(ho):
                for ox in range(wo):
                    i = (co * ho + oy) * wo + ox
                    for ky in range(k):
                        for kx in range(k):
                            iy, ix = oy * s - p + ky, ox * s - p + kx
                            if not (0 <= iy < h and 0 <= ix < w):
                                continue
                            if spec.kind == POOL:
                                ff.append(((co * h + iy) * w + ix, i, -1))
                            else:
                                for ci in range(ci_n):
                                    ff.append(((ci * h + iy) * w + ix, i, ((ci * k + ky) * k + kx) * co_n + co))
    else:
        for j in range(spec.n_in):
            for i in range(spec.n_out):
                ff.append((j, i, j * spec.n_out + i))
        if spec.kind == RECURRENT:
            for j in range(spec.n_out):
                for i in range(spec.n_out):
                    rec.append((j, i, (spec.n_in + j) * spec.n_out + i))
    return ff, rec


class LayerChip(ReferenceChip):
    def __init__(self, chip, state, rng_learn, rng_enc, cfg):
        import types
        flat2 = types.SimpleNamespace(weights=[np.asarray(w).reshape(1, -1) for w in state.weights],
                                      shadow=[np.asarray(w).reshape(1, -1) for w in state.shadow] if state.shadow else None,
                                      bias=state.bias, feedback=state.feedback)
        super().__init__(chip, flat2, rng_learn, rng_enc)
        self.specs = cfg.layers
        self.W = [[int(x) for x in np.asarray(w).ravel()] for w in state.weights]
        self.WS = [[int(x) for x in np.asarray(w).ravel()] for w in state.shadow] if state.shadow else None
        self.M = [2 ** (chip.q[l] - sp.shift) if sp.kind == POOL else 0 for l, sp in enumerate(self.specs)]
        self.syn = [synapses(sp, self.M[l]) for l, sp in enumerate(self.specs)]
        self.u = None
        self.cfg = cfg
        self.per_pair = self.rec_k_delta = self.ignore_ku = self.z_delta = 0     # sensitivity switches (tests below)

    def w(self, l, widx):
        return self.M[l] if widx < 0 else self.W[l][widx]

    def write_flat(self, l, m, delta):
        c = self.c
        old = self.WS[l][m] if self.WS else self.W[l][m]
        new = pr.sat(old + delta, c.learn_bits)
        if new != old + delta:
            self.sat["weight_sat"][l] += 1
        if self.WS:
            self.WS[l][m] = new
            self.W[l][m] = new // 2 ** c.extra
        else:
            self.W[l][m] = new
        return new != old

    def cuba(self, l, i, u_old, v_old, current, fires):
        """The CUBA neuron (k_u = 0: the plain neuron): returns (v_pre, v_new, spike, u)."""
        c = self.c
        a = floor_shift(current, -c.wexp[l]) * 2 ** c.in_shift
        uu = leak(u_old, 0 if self.ignore_ku else self.specs[l].k_u, c.leak_rounding) + a
        u = pr.wrap_lava(uu, c.cur_bits) if c.cur_overflow == "wrap" else pr.sat(uu, c.cur_bits)
        if u != uu:
            self.sat["current_overflow"][l] += 1
        v = leak(v_old, c.kleak[l], c.leak_rounding) + u + self.bias[l][i]
        v_sat = pr.sat_sym(v, c.mem_bits)
        if v_sat != v:
            self.sat["membrane_clip"][l] += 1
        if not fires:
            return v_sat, v_sat, 0, u
        spike = int(v_sat >= c.thr) if c.compare == ">=" else int(v_sat > c.thr)
        v_new = v_sat
        if spike:
            v_new = v_sat - c.thr if c.reset == "subtract" else 0
        return v_sat, v_new, spike, u

    def trace_k(self, a, k, spiked, imp, l):
        """A trace step decaying with shift k, counted on weight layer l (ReferenceChip.trace_step)."""
        saved = self.c.kleak
        self.c.kleak = tuple(k if m == l else x for m, x in enumerate(saved))
        try:
            return self.trace_step(l, a, spiked, imp)
        finally:
            self.c.kleak = saved

    def run(self, X, Y, order, learn):
        c = self.c
        L, sizes, specs = self.L, c.sizes, self.specs
        n_out = sizes[-1]
        preds = []
        for n in order:
            x, label = [float(v) for v in X[n]], int(Y[n])
            V = [[0] * sizes[l + 1] for l in range(L)]
            Ucur = [[0] * sizes[l + 1] for l in range(L)]
            A = [[0] * sizes[l] for l in range(L)]
            R = [[0] * sizes[l + 1] for l in range(L)]               # recurrent traces
            Z = [[0] * sizes[l] for l in range(L)]                   # CUBA current traces (exact trace)
            ZR = [[0] * sizes[l + 1] for l in range(L)]              # ... of recurrent inputs
            Sprev = [[0] * sizes[l + 1] for l in range(L)]
            acc = [[0] * len(self.W[l]) for l in range(L)] if c.rule == "ottt-a" else None
            counts, outsum = [0] * n_out, [0] * n_out
            first = [c.T] * n_out                                      # first-spike steps (T: silent)
            imps = [self.impulse(xj) for xj in x]
            for t in range(c.T):
                S = [[self.encode(xj, t) for xj in x]]
                Vpre = [None]
                for l in range(L):
                    pre, npost = S[l], sizes[l + 1]
                    ff, rec = self.syn[l]
                    cur = [0] * npost
                    ev = [j for j in range(len(pre)) if pre[j] != 0]
                    nsyn = neff = 0
                    for (j, i, wi) in ff:
                        if pre[j] != 0:
                            wv = self.w(l, wi)
                            cur[i] += wv * pre[j]
                            nsyn += 1
                            neff += wv != 0
                    n_ev, n_val, n_dense = len(ev), len(pre), len(ff)
                    if specs[l].kind == RECURRENT:
                        for (j, i, wi) in rec:
                            if Sprev[l][j]:
                                cur[i] += self.W[l][wi]
                                nsyn += 1
                                neff += self.W[l][wi] != 0
                        n_ev += sum(Sprev[l])
                        n_val += npost
                        n_dense += len(rec)
                    self.ops["pre_events"][l] += n_ev
                    self.ops["pre_values"][l] += n_val
                    self.ops["syn_ops"][l] += nsyn
                    self.ops["eff_syn_ops"][l] += neff
                    self.ops["dense_ops"][l] += n_dense
                    fires = l < L - 1 or c.readout == "spiking"
                    s_post, vp_post = [], []
                    for i in range(npost):
                        vp, V[l][i], sp, Ucur[l][i] = self.cuba(l, i, Ucur[l][i], V[l][i], cur[i], fires)
                        s_post.append(sp)
                        vp_post.append(vp)
                        self.ops["neuron_active" if cur[i] != 0 or sp else "neuron_idle"][l] += 1
                    self.ops["spikes"][l] += sum(s_post)
                    if l < L - 1:
                        self.ops["spike_msgs"][l] += sum(s_post)
                    S.append(s_post)
                    Vpre.append(vp_post)
                for i in range(n_out):
                    outsum[i] += V[L - 1][i] if c.readout == "integrator" else Vpre[L][i]
                    counts[i] += S[L][i]
                    if S[L][i] and first[i] == c.T:
                        first[i] = t
                if learn:
                    # traces, in the chip's order: layer l's inputs, then layer l's own-spike traces;
                    # a CUBA layer's exact trace: the current trace Z (decay k_u), then A with Z as
                    # its impulse (docs/layers.md)
                    for l in range(L):
                        ku = specs[l].k_u if self.cfg.cuba_trace == "exact" and specs[l].learned else 0
                        if l == 0 or specs[l].kind != POOL:
                            for j in range(sizes[l]):
                                imp = imps[j] if l == 0 else 2 ** c.F
                                if ku:
                                    Z[l][j] = self.trace_k(Z[l][j], ku, S[l][j] != 0, imp, l)
                                    A[l][j] = self.trace_step(l, A[l][j], True, Z[l][j] + self.z_delta)
                                else:
                                    A[l][j] = self.trace_step(l, A[l][j], S[l][j] != 0, imp)
                            self.ops["trace_updates"][l] += sizes[l] * (2 if ku else 1)
                        if specs[l].kind == RECURRENT:
                            kr = c.kleak[l] + self.rec_k_delta
                            for j in range(sizes[l + 1]):
                                if ku:
                                    ZR[l][j] = self.trace_k(ZR[l][j], ku, Sprev[l][j] != 0, 2 ** c.F, l)
                                    R[l][j] = self.trace_k(R[l][j], kr, True, ZR[l][j] + self.z_delta, l)
                                else:
                                    R[l][j] = self.trace_k(R[l][j], kr, Sprev[l][j] != 0, 2 ** c.F, l)
                            self.ops["trace_updates"][l] += sizes[l + 1] * (2 if ku else 1)
                for l in range(L):
                    Sprev[l] = list(S[l + 1])
                if not learn:
                    continue
                G = [None] * (L + 1)
                G[L] = self.output_error(V[L - 1], Vpre[L], S[L], counts, label, t, first)
                for h in range(L - 1, 0, -1):
                    d = [0] * sizes[h]
                    if c.feedback == "transpose":
                        for (j, i, wi) in self.syn[h][0]:
                            if G[h + 1][i] != 0:
                                d[j] += self.w(h, wi) * G[h + 1][i]
                                self.ops["bwd_syn_ops"][h] += 1
                    else:
                        for j in range(sizes[h]):
                            d[j] = sum(self.FB[h - 1][j][i] * G[L][i] for i in range(n_out))
                        self.ops["bwd_syn_ops"][h] += sizes[h] * sum(1 for e in G[L] if e != 0)
                    gh = []
                    for j in range(sizes[h]):
                        e = shift_rounded(d[j] * self.surrogate(Vpre[h][j], S[h][j]), c.q[h] + c.sg_bits, "nearest")
                        es = pr.sat(e, c.err_bits)
                        if es != e:
                            self.sat["error_sat"][h - 1] += 1
                        gh.append(es)
                    G[h] = gh
                    self.ops["surrogate_evals"][h - 1] += sizes[h]
                    self.ops["error_msgs"][h - 1] += sum(1 for e in gh if e != 0)
                for l in range(L):
                    if specs[l].kind == POOL:
                        continue
                    sh = c.ushift[l]
                    if specs[l].kind == CONV:
                        sums = [0] * len(self.W[l])
                        for (j, i, wi) in self.syn[l][0]:
                            if A[l][j] != 0 and G[l + 1][i] != 0:
                                sums[wi] += -(G[l + 1][i] * c.lr_mant) * A[l][j]
                                self.ops["wupd_attempted"][l] += 1
                        terms = [(m, sums[m]) for m in range(len(sums)) if sums[m] != 0]
                        if self.per_pair:
                            terms = [(wi, -(G[l + 1][i] * c.lr_mant) * A[l][j]) for (j, i, wi) in self.syn[l][0]
                                     if A[l][j] != 0 and G[l + 1][i] != 0]
                    else:
                        rows = [(j, A[l][j]) for j in range(sizes[l])]
                        if specs[l].kind == RECURRENT:
                            rows += [(sizes[l] + j, R[l][j]) for j in range(sizes[l + 1])]
                        terms = []
                        for (row, a) in rows:
                            if a == 0:
                                continue
                            for i in range(sizes[l + 1]):
                                if G[l + 1][i] != 0:
                                    terms.append((row * sizes[l + 1] + i, -(G[l + 1][i] * a * c.lr_mant)))
                                    self.ops["wupd_attempted"][l] += 1
                    row_len = specs[l].out_shape[0] if specs[l].kind == CONV else sizes[l + 1]
                    cur_row, u = None, 0
                    for (m, prod) in terms:
                        self.sat["update_attempted"][l] += 1
                        if c.rule == "ottt-a":
                            d = shift_rounded(prod, sh - c.acc_frac, "floor")
                            if d == 0:
                                self.sat["update_zero"][l] += 1
                                continue
                            new = pr.sat(acc[l][m] + d, c.acc_bits)
                            if new != acc[l][m] + d:
                                self.sat["accumulator_sat"][l] += 1
                            if new != acc[l][m]:
                                self.ops["acc_writes"][l] += 1
                            acc[l][m] = new
                        else:
                            r = 0
                            if c.upd_rounding == "stochastic" and sh > 0:
                                # row-shared (chip-model.md §5): one 32-bit draw per row with a
                                # term (dense: presynaptic neuron; conv: input offset's C_out
                                # weights), scrambled per column i by M_i = (2 i + 1) 0x9E3779B1
                                if m // row_len != cur_row:
                                    cur_row = m // row_len
                                    u = self.learn_rng.word()
                                    self.ops["prng_draws"][l] += 1
                                M = ((2 * (m % row_len) + 1) * 0x9E3779B1) % 2 ** 32
                                r = ((u * M) % 2 ** 32) >> (32 - sh)
                            d = shift_rounded(prod, sh, c.upd_rounding, r)
                            if d == 0:
                                self.sat["update_zero"][l] += 1
                                continue
                            if self.write_flat(l, m, d):
                                self.ops["wupd_nonzero"][l] += 1
            if learn and c.rule == "ottt-a":
                for l in range(L):
                    for m in range(len(self.W[l])):
                        if acc[l][m] == 0:
                            continue
                        r = 0
                        if c.upd_rounding == "stochastic" and c.acc_frac > 0:
                            r = self.learn_rng.bits(c.acc_frac)
                            self.ops["prng_draws"][l] += 1
                        d = shift_rounded(acc[l][m], c.acc_frac, c.upd_rounding, r)
                        if d != 0 and self.write_flat(l, m, d):
                            self.ops["wupd_nonzero"][l] += 1
            if c.readout == "integrator":
                preds.append(argmax_first(outsum))
            else:
                preds.append(argmax_first([(counts[i], outsum[i]) for i in range(n_out)]))
            self.v = [[0] * sizes[0]] + V
            self.u = [[0] * sizes[0]] + Ucur
            self.rtr = [[0] * sizes[0]] + R
            self.trace = A
            self.ztrace, self.zrtr = Z, [[0] * sizes[0]] + ZR
        return preds


def flat(nested) -> np.ndarray:
    return np.array([x for layer in nested for x in layer], np.int64)


def check_equal(eng, ref, preds, rpreds, what):
    assert list(preds) == rpreds, f"{what}: predictions"
    for l, w in enumerate(eng.weights()):
        np.testing.assert_array_equal(w.ravel(), np.array(ref.W[l], np.int64), err_msg=f"{what}: weights of layer {l}")
    if ref.WS is not None:
        for l, w in enumerate(eng.shadow()):
            np.testing.assert_array_equal(w.ravel(), np.array(ref.WS[l], np.int64), err_msg=f"{what}: shadow {l}")
    assert not np.any(eng.ACC), f"{what}: OTTT_A accumulators are cleared at the end of a sample"
    np.testing.assert_array_equal(eng.v, flat(ref.v), err_msg=f"{what}: membranes")
    noff = np.concatenate([[0], np.cumsum(eng.cfg.sizes)])
    for l, sp in enumerate(eng.cfg.layers):     # currents are state only where k_u > 0
        if sp.k_u:
            np.testing.assert_array_equal(eng.u[noff[l + 1]:noff[l + 2]], ref.u[l + 1], err_msg=f"{what}: CUBA currents {l}")
    np.testing.assert_array_equal(eng.tr, flat(ref.trace), err_msg=f"{what}: traces")
    np.testing.assert_array_equal(eng.trr, flat(ref.rtr), err_msg=f"{what}: recurrent traces")
    np.testing.assert_array_equal(eng.tz, flat(ref.ztrace), err_msg=f"{what}: CUBA current traces")
    np.testing.assert_array_equal(eng.trz, flat(ref.zrtr), err_msg=f"{what}: CUBA recurrent current traces")
    assert int(eng.rng[0]) == ref.learn_rng.state, f"{what}: learning PRNG state (number of draws)"
    assert int(eng.rng[1]) == ref.enc_rng.state, f"{what}: encoder PRNG state"
    for names, arr, mine in ((SAT, eng.sat, ref.sat), (OPS, eng.ops, ref.ops)):
        for k, name in enumerate(names):
            got = [int(x) for x in arr[:, k]]
            assert got == mine[name], f"{what}: counter {name} kernel {got} != reference {mine[name]}"


# (profile, arch, n_in, input shape, rule, encoder, readout, loss, feedback, T, seed)
CASES = [
    ("loihi", "c3k3-p2-d4", 36, (1, 6, 6), "ottt-o", "direct", "integrator", "ce_mse", "transpose", 5, 1),
    ("generic", "c3k3s2p1-a2-d4", 36, (1, 6, 6), "ottt-o", "rate", "integrator", "mse", "transpose", 5, 2),
    ("loihi", "c2k2p1-c3k3-d4", 50, (2, 5, 5), "ottt-a", "direct", "integrator", "ce_mse", "transpose", 4, 3),
    ("generic", "c2k3u2-p2-f-r5-d3", 36, (1, 6, 6), "ottt-o", "direct", "spiking", "count", "transpose", 6, 4),
    ("loihi", "r6u3-d3", 8, (), "ottt-o", "rate", "integrator", "ce_mse", "transpose", 6, 5),
    ("generic", "r6-r5-d3", 8, (), "ottt-a", "latency", "spiking", "mse", "random", 6, 6),
    ("loihi", "d6u2-d3", 8, (), "ottt-a", "direct", "integrator", "ce", "transpose", 5, 7),
    ("generic", "a2u1-c2k2-d4", 36, (1, 6, 6), "ottt-o", "direct", "integrator", "ce_mse", "random", 5, 8),
    ("loihi", "c4k3p1-p3-d5", 36, (1, 6, 6), "ottt-o", "latency", "spiking", "count", "transpose", 5, 9),
    ("generic", "p2-c3k2-d4", 36, (1, 6, 6), "ottt-o", "direct", "integrator", "ce_mse", "transpose", 5, 10),
    ("loihi", "c2k3-c3k2s2-d4", 49, (1, 7, 7), "ottt-a", "rate", "integrator", "mse", "transpose", 5, 11),
    ("loihi", "d6-r5u1-d3", 8, (), "ottt-o", "direct", "integrator", "ce_mse", "transpose", 6, 12),
    ("generic", "c2k2-c3k2u2-d4", 36, (1, 6, 6), "ottt-a", "direct", "integrator", "ce_mse", "transpose", 5, 13),
]


def build(case, shadow=-1, lr=1.0, gain=4.0, cuba_trace="exact"):
    prof_name, arch, n_in, shape, rule, enc, ro, loss, fb, T, seed = case
    prof = load_profile(prof_name)
    cfg = NetworkConfig(sizes=(n_in, 3 if arch.endswith("d3") else 4 if arch.endswith("d4") else 5),
                        arch=arch, input_shape=shape, timesteps=T, encoder=enc, readout=ro, loss=loss,
                        feedback=fb, rule=rule, lr=lr, lr_schedule="constant", init_gain=gain,
                        shadow_weight_bits=shadow, seed=seed, cuba_trace=cuba_trace)
    state = init_state(cfg, prof)
    rng = np.random.default_rng(500 + seed)
    thr = prof.neuron.threshold << prof.neuron.input_shift
    state.bias = [rng.integers(-thr // 8, thr // 4 + 1, size=nn).astype(np.int32) for nn in cfg.sizes[1:]]
    if ro == "spiking":
        state.bias[-1] = (state.bias[-1] + rng.integers(thr // 4, 3 * thr // 4, size=cfg.sizes[-1])).astype(np.int32)
    eng = Engine(cfg, prof, state)
    ref = LayerChip(Chip.of(cfg, prof), state, int(eng.rng[0]), int(eng.rng[1]), cfg)
    return cfg, eng, ref, rng


def run_both(case, n=3, **kw):
    cfg, eng, ref, rng = build(case, **kw)
    x = rng.uniform(0.0, 1.0, size=(n, cfg.sizes[0]))
    y = rng.integers(0, cfg.sizes[-1], size=n)
    xin = eng.prepare(x)
    w0 = [w.copy() for w in eng.weights()]
    for order in (np.array([0, n - 1]), np.array(list(range(1, n)) + [0])):
        check_equal(eng, ref, eng.run(xin, y, order, True), ref.run(x, y, order, True), f"learning {list(order)}")
    changed = sum(int((a != b).sum()) for a, b in zip(w0, eng.weights()))
    check_equal(eng, ref, eng.run(xin, y, np.arange(n), False), ref.run(x, y, np.arange(n), False), "inference")
    return cfg, eng, ref, changed


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}-{c[4]}-{c[5]}-{c[7]}-{c[8]}" for c in CASES])
def test_layer_kinds_bit_exact(case):
    cfg, eng, ref, changed = run_both(case)
    kinds = {sp.kind for sp in cfg.layers}
    assert sum(ref.ops["pre_events"]) > 0 and sum(ref.ops["spikes"][:-1]) > 0, "the hidden layers stayed silent"
    assert changed > 0, "learning changed no weight"
    for l, sp in enumerate(cfg.layers):
        if sp.learned and l < len(cfg.layers) - 1:
            assert ref.ops["wupd_attempted"][l] > 0, f"layer {l} ({sp.token}) never tried to learn"
    if RECURRENT in kinds:
        assert any(v for layer in ref.rtr for v in layer) or sum(ref.ops["trace_updates"]) > 0
    if any(sp.k_u for sp in cfg.layers):
        assert any(u for layer in ref.u[1:-1] for u in layer), "CUBA currents stayed zero"


def test_shadow_and_nearest_rounding_conv():
    run_both(CASES[0], shadow=12)
    run_both(CASES[2], shadow=12)


@pytest.mark.parametrize("case", [CASES[3], CASES[4], CASES[6], CASES[11], CASES[12]],
                         ids=["conv", "recurrent", "dense", "hidden-recurrent", "hidden-conv"])
def test_cuba_trace_choice_bit_exact(case):
    """The exact CUBA trace (the default, checked by every case above) fills the current traces;
    the plain one (cuba_trace="plain") keeps none and still matches the reference bit for bit."""
    run_both(case, cuba_trace="plain")
    runs = {}
    for choice in ("exact", "plain"):
        cfg, eng, ref, rng = build(case, cuba_trace=choice)
        x = rng.uniform(0.0, 1.0, size=(2, cfg.sizes[0]))
        eng.run(eng.prepare(x), rng.integers(0, cfg.sizes[-1], size=2), np.arange(2), True)
        runs[choice] = eng
    assert runs["exact"].tz.any() or runs["exact"].trz.any(), "the exact trace kept no current trace"
    assert not runs["plain"].tz.any() and not runs["plain"].trz.any()
    t = OPS.index("trace_updates")
    for l, sp in enumerate(cfg.layers):
        if sp.k_u and sp.learned:
            assert runs["exact"].ops[l, t] == 2 * runs["plain"].ops[l, t], f"layer {l}: the current trace is not counted"


@pytest.mark.parametrize("field", ["per_pair", "rec_k_delta", "ignore_ku", "pool_q", "z_delta"])
def test_reference_is_sensitive(field):
    """The comparison notices a one-rule change in the reference: conv updates rounded pair by pair
    instead of once per shared weight, the recurrent trace decaying with another shift, CUBA
    currents ignored, the pool's fixed mantissa halved, the exact CUBA trace's impulse off by one."""
    case = {"per_pair": CASES[0], "rec_k_delta": CASES[4], "ignore_ku": CASES[6], "pool_q": CASES[1], "z_delta": CASES[6]}[field]
    cfg, eng, ref, rng = build(case)
    if field == "pool_q":
        ref.M = [m // 2 for m in ref.M]
    else:
        setattr(ref, field, 1)
    x = rng.uniform(0.0, 1.0, size=(3, cfg.sizes[0]))
    y = rng.integers(0, cfg.sizes[-1], size=3)
    eng_p = eng.run(eng.prepare(x), y, np.arange(3), True)
    ref_p = ref.run(x, y, np.arange(3), True)
    same = (list(eng_p) == ref_p and all((w.ravel() == np.array(r)).all() for w, r in zip(eng.weights(), ref.W))
            and int(eng.rng[0]) == ref.learn_rng.state and np.array_equal(eng.v, flat(ref.v)))
    assert not same, f"changing {field} in the reference went unnoticed"
