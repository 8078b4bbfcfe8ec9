"""A whole integer OTTT training sample, modelled slowly in plain Python and compared bit for bit
with the numba chip kernel (``neurochip.kernels.ottt_int.run_int``, driven through ``Engine``).

The reference below is written from the documented rules, not from the kernel's loops:

* the module docstring of ``neurochip/kernels/ottt_int.py`` (steps 1-6 per time step),
* ``docs/design/chip-model.md`` §1-5 (incl. the row-shared stochastic rounding of OTTT_O updates)
  and ``docs/profiles.md`` (neuron order leak -> integrate
  -> saturate -> fire -> reset; trace a <- lambda a + s; error to hidden layers; update rule),
* the OTTT paper (Xiao et al. 2022): eq. 2 (LIF), eq. 4 (presynaptic trace a_hat), eq. 5 (instant
  loss L[t]), §4.3 (three-factor update dW^l = -eta g^{l+1} a_hat^l, OTTT_O / OTTT_A),
* ``neurochip/kernels/pack.py::int_input`` (input quantisation), ``neurochip/fixedpoint.py`` and
  ``neurochip/surrogate.py`` docstrings (softmax via exp2 LUT, surrogate LUT and its index),
* ``neurochip/counters.py`` (what each saturation / op counter counts).

It keeps every quantity as a Python int in nested lists (``W[l][j][i]``: synapse from neuron j of
layer l to neuron i of layer l + 1), walks neuron by neuron and step by step, and draws from its own
xorshift32 streams (``tests/reference.py``). Only the host-side set-up is shared with the package:
the initial state (``init_state``), the PRNG seeds (``Engine.rng`` before the run) and the integer
layout (``int_layout``: q, weight exponents, leak and update shifts, learning-rate mantissa).
Everything the chip does during a sample is recomputed here.

Checked after every ``Engine.run``: predictions, weights, shadow weights, cleared OTTT_A
accumulators, the final membranes and traces, both PRNG states (so the number and order of draws),
and every saturation and op counter of ``neurochip.counters``. The matrix (192 cases) is profile
(loihi, generic) x rule (ottt-o, ottt-a) x encoder (direct, rate, latency) x readout/loss
(integrator ce_mse / mse, spiking mse / count) x feedback (transpose, random) x depth (two or one
hidden layer), with shadow weights, random biases and T = 4..6 rotating; extras cover no hidden
layer, floor and nearest update rounding, readout leak 0 and 4, the spike-operator surrogate, wide
shadows; saturation cases assert that each width really clipped; sensitivity cases show that the
comparison notices a one-rule change in the reference.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from neurochip.counters import OPS, SAT
from neurochip.engine import Engine
from neurochip.network import NetworkConfig, init_state, int_layout
from neurochip.profile import load_profile
from tests import reference as pr    # pure-Python primitives: sat, sat_sym, wrap_lava, leak_lava, xorshift32


# ---- integer helpers (exact: Python ints never overflow, // and >> floor) ---------------------

def floor_shift(x: int, s: int) -> int:
    """x / 2^s rounded toward -inf (s >= 0), or x * 2^-s for s < 0."""
    return x * 2 ** (-s) if s < 0 else x // 2 ** s


def shift_rounded(x: int, s: int, rounding: str, r: int = 0) -> int:
    """x / 2^s with a named rounding (fixedpoint.py docstring): floor, nearest with ties up, or
    stochastic floor((x + r) / 2^s) with r uniform in [0, 2^s). s <= 0 is an exact left shift."""
    if s <= 0:
        return x * 2 ** (-s)
    if rounding == "floor":
        return x // 2 ** s
    if rounding == "nearest":
        return (x + 2 ** (s - 1)) // 2 ** s
    assert rounding == "stochastic"
    assert 0 <= r < 2 ** s
    return (x + r) // 2 ** s


def leak(v: int, k: int, rounding: str) -> int:
    """v * (1 - 2^-k) (chip-model.md §1); k = 0 is 'no memory' (0)."""
    if k == 0:
        return 0
    if rounding == "floor":
        return v - v // 2 ** k              # v - (v >> k), arithmetic shift
    assert rounding == "toward_zero"
    return pr.leak_lava(v, k)              # sign(v) (|v| (4096 - dv)) >> 12, dv = 4096 >> k


class XorShift:
    """The on-chip PRNG: xorshift32 (13, 17, 5); a draw of s bits advances the state once and
    takes its top s bits (fixedpoint.rand_bits docstring)."""

    def __init__(self, state: int):
        self.state = int(state)
        self.draws = 0

    def bits(self, s: int) -> int:
        self.state = pr.xorshift32(self.state)
        self.draws += 1
        return self.state >> (32 - s) if s > 0 else 0

    def word(self) -> int:
        """Advance once and return the whole 32-bit state (row-shared update rounding)."""
        self.state = pr.xorshift32(self.state)
        self.draws += 1
        return self.state


def argmax_first(values) -> int:
    best = 0
    for i in range(1, len(values)):
        if values[i] > values[best]:
            best = i
    return best


# ---- the chip's constants, from the profile and the documented formulas -----------------------

LUT_RES, LUT_SIZE = 8, 64          # surrogate table: 8 bins per threshold, x in [-4, 4)
RATE_HI, RATE_LO = 0.8, 0.05       # spiking readout target rates (network.RATE_TARGET)
MIX_MSE = 0.05                     # OTTT: (1 - 0.05) CE + 0.05 MSE


@dataclass
class Chip:
    sizes: tuple
    T: int
    encoder: str
    readout: str
    loss: str
    feedback: str
    rule: str
    surrogate: str
    # neuron
    thr: int            # membrane threshold: threshold << input_shift
    compare: str
    reset: str
    leak_rounding: str
    mem_bits: int
    cur_bits: int
    cur_overflow: str
    in_shift: int
    input_bits: int
    # learning
    tr_bits: int
    F: int
    tr_rounding: str
    err_bits: int
    E: int
    sg_bits: int
    acc_bits: int
    acc_frac: int
    upd_rounding: str
    lr_mant: int
    learn_bits: int     # width of the learned weights (shadow if on)
    extra: int          # shadow bits - weight bits (0: learn on the inference weights)
    q: tuple
    wexp: tuple
    kleak: tuple
    ushift: tuple

    @classmethod
    def of(cls, cfg: NetworkConfig, prof) -> "Chip":
        n, s, l = prof.neuron, prof.synapse, prof.learning
        lay = int_layout(cfg, prof)
        return cls(cfg.sizes, cfg.timesteps, cfg.encoder, cfg.readout, cfg.loss, cfg.feedback, cfg.rule,
                   cfg.surrogate, n.threshold << n.input_shift, n.compare, n.reset, n.leak_rounding,
                   n.membrane_bits, n.current_bits, n.current_overflow, n.input_shift, s.input_bits,
                   l.trace_bits, l.trace_frac_bits, l.trace_rounding, l.error_bits, l.error_frac_bits,
                   l.surrogate_bits, l.accumulator_bits, l.accumulator_frac_bits, l.update_rounding,
                   lay.lr_mant, lay.learn_bits, lay.shadow_extra, lay.q, lay.weight_exp, lay.leak_shift,
                   lay.update_shift)

    # softmax on the chip (fixedpoint.softmax_int docstring): e_i = 2^(-(max v - v_i) log2(e) / theta)
    @property
    def c_log2e(self) -> int:
        """(d * C) >> 16 = d / theta * log2(e) with 8 fractional bits."""
        return round(math.log2(math.e) * 2 ** 8 * 2 ** 16 / self.thr)

    @property
    def exp2_table(self) -> list[int]:
        """2^(-f/256) in Q16 for f = 0..255."""
        return [round(2 ** 16 * 2.0 ** (-f / 256)) for f in range(256)]

    @property
    def c_out(self) -> int:
        """(v * C) >> 24 = v / theta with E fractional bits (the logit, in threshold units)."""
        return round(2 ** (24 + self.E) / self.thr)

    @property
    def c_sg(self) -> int:
        """(d * C) >> 24 = floor(d * LUT_RES / theta): the surrogate table's bin of d = v - theta."""
        return round(2 ** 24 * LUT_RES / self.thr)

    @property
    def sg_table(self) -> list[int]:
        """OTTT's sigmoid surrogate (paper §3.2, alpha = 4) at the bin centres, surrogate_bits frac."""
        assert self.surrogate == "sigmoid"
        out = []
        for b in range(LUT_SIZE):
            x = (b - LUT_SIZE // 2 + 0.5) / LUT_RES
            z = 1.0 / (1.0 + math.exp(-4.0 * x))
            out.append(round(4.0 * z * (1.0 - z) * 2 ** self.sg_bits))
        return out


# ---- the reference chip -----------------------------------------------------------------------

class ReferenceChip:
    """One network on the chip: weights, PRNG streams and counters persist across ``run`` calls."""

    def __init__(self, chip: Chip, state, rng_learn: int, rng_enc: int):
        self.c = chip
        L = len(chip.sizes) - 1
        self.L = L
        ints = lambda m: [[int(x) for x in row] for row in np.asarray(m)]   # noqa: E731
        self.W = [ints(w) for w in state.weights]                      # inference weights
        self.WS = [ints(w) for w in state.shadow] if state.shadow else None
        self.bias = [[int(x) for x in b] for b in state.bias]          # neuron layers 1..L
        self.FB = [ints(b) for b in state.feedback]                    # hidden layers 1..L-1
        self.learn_rng = XorShift(rng_learn)
        self.enc_rng = XorShift(rng_enc)
        self.sat = {name: [0] * L for name in SAT}
        self.ops = {name: [0] * L for name in OPS}
        self.exp2 = chip.exp2_table
        self.sgt = chip.sg_table if chip.surrogate == "sigmoid" else None
        self.v = self.trace = None

    # -- input layer (kernel step 1; pack.int_input) --
    def encode(self, x: float, t: int) -> int:
        """Layer-0 value at step t: graded x_q (direct), Bernoulli spike (rate), latency spike."""
        c = self.c
        if c.encoder == "direct":
            return min(round(x * 2 ** c.input_bits), 2 ** c.input_bits - 1)
        if c.encoder == "rate":
            p = min(round(x * 256), 255)             # 8-bit firing probability
            r = self.enc_rng.bits(8)
            self.ops["encoder_draws"][0] += 1
            return 1 if r < p else 0
        step = round((1.0 - x) * (c.T - 1)) if x > 0 else -1
        return 1 if step == t else 0

    def impulse(self, x: float) -> int:
        """Input trace increment: x_q 2^F / 2^b rounded to nearest (direct), else 2^F."""
        c = self.c
        if c.encoder == "direct":
            xq = min(round(x * 2 ** c.input_bits), 2 ** c.input_bits - 1)
            return (xq * 2 ** c.F + 2 ** (c.input_bits - 1)) // 2 ** c.input_bits
        return 2 ** c.F

    # -- the LIF neuron, one step (chip-model.md §1, OTTT eq. 2) --
    def neuron(self, l: int, i: int, v_old: int, current: int, fires: bool):
        """Neuron i of layer l + 1 driven by weight layer l. Returns (v_pre, v_new, spike)."""
        c = self.c
        a = floor_shift(current, -c.wexp[l])              # current << weight_exp (floor if negative)
        u = a * 2 ** c.in_shift                            # Lava's act_shift
        if c.cur_overflow == "wrap":
            u_hw = pr.wrap_lava(u, c.cur_bits)
        else:
            u_hw = pr.sat(u, c.cur_bits)
        if u_hw != u:
            self.sat["current_overflow"][l] += 1
        v = leak(v_old, c.kleak[l], c.leak_rounding) + u_hw + self.bias[l][i]   # bias not shifted
        v_sat = pr.sat_sym(v, c.mem_bits)
        if v_sat != v:
            self.sat["membrane_clip"][l] += 1
        if not fires:                                      # the integrator readout
            return v_sat, v_sat, 0
        spike = int(v_sat >= c.thr) if c.compare == ">=" else int(v_sat > c.thr)
        v_new = v_sat
        if spike:
            v_new = v_sat - c.thr if c.reset == "subtract" else 0
        return v_sat, v_new, spike

    # -- presynaptic trace (OTTT eq. 4; Loihi: stochastic decay, lava-semantics.md §5.3) --
    def trace_step(self, l: int, a: int, spiked: bool, imp: int) -> int:
        """a <- a (1 - 2^-k) + impulse, clipped at tr_bits; k is the leak of layer l + 1, the
        postsynaptic neurons this trace feeds (the trace tracks du^{l+1}/dW^l)."""
        c = self.c
        k = c.kleak[l]
        if k == 0:
            d = 0
        else:
            num = a * (2 ** k - 1)
            d, rem = num // 2 ** k, num % 2 ** k
            if c.tr_rounding == "stochastic" and a != 0:
                if self.learn_rng.bits(k) < rem:
                    d += 1
                self.ops["prng_draws"][l] += 1
        if spiked:
            d += imp
        top = 2 ** c.tr_bits - 1
        if d > top:
            d = top
            self.sat["trace_sat"][l] += 1
        return d

    def surrogate(self, v_pre: int, spiked: int) -> int:
        """sigma'(v), surrogate_bits fractional bits: LUT bin of (v - theta), 0 outside the table;
        the spike operator is the spike itself (dS/dU = S)."""
        c = self.c
        if c.surrogate == "spike_operator":
            return 2 ** c.sg_bits if spiked else 0
        b = ((v_pre - c.thr) * c.c_sg) // 2 ** 24 + LUT_SIZE // 2
        return self.sgt[b] if 0 <= b < LUT_SIZE else 0

    # -- output error e[t] (OTTT eq. 5; chip-model.md §3), E fractional bits --
    def output_error(self, v_out, v_pre_out, s_out, counts, label, t):
        c = self.c
        n = len(v_out)
        one = 2 ** c.E
        raw = []
        if c.readout == "integrator":
            p = [0] * n
            if c.loss in ("ce", "ce_mse"):
                m = max(v_out)
                ex = []
                for vi in v_out:
                    y = ((m - vi) * c.c_log2e) // 2 ** 16        # (max - v) log2(e) / theta, Q8
                    ip, fr = y // 256, y % 256
                    ex.append(self.exp2[fr] // 2 ** ip if ip < 62 else 0)
                tot = sum(ex)
                p = [(e * one) // tot for e in ex]                # softmax, E frac bits
            for i in range(n):
                y = one if i == label else 0
                e_ce = p[i] - y
                o = (v_out[i] * c.c_out) // 2 ** 24               # logit v / theta
                e_mse = (2 * (o - y)) // n                        # d/do mean (o - y)^2
                if c.loss == "ce":
                    raw.append(e_ce)
                elif c.loss == "mse":
                    raw.append(e_mse)
                else:
                    w_mse = round(MIX_MSE * 256)
                    raw.append(((256 - w_mse) * e_ce + w_mse * e_mse) // 256)
        else:
            hi, lo = round(RATE_HI * one), round(RATE_LO * one)
            for i in range(n):
                r = hi if i == label else lo
                if c.loss == "count":     # count so far vs target count so far
                    e = counts[i] * one - r * (t + 1)
                else:                     # spike vs target rate
                    e = s_out[i] * one - r
                raw.append((e * self.surrogate(v_pre_out[i], s_out[i])) // 2 ** c.sg_bits)
                self.ops["surrogate_evals"][self.L - 1] += 1
        g = []
        for e in raw:
            gs = pr.sat(e, c.err_bits)
            if gs != e:
                self.sat["error_sat"][self.L - 1] += 1
            g.append(gs)
        self.ops["loss_evals"][self.L - 1] += n
        self.ops["error_msgs"][self.L - 1] += sum(1 for x in g if x != 0)
        return g

    # -- learned weight write, saturating (chip-model.md §5; shadow: Gomez & Tang 2025) --
    def write_weight(self, l: int, j: int, i: int, delta: int) -> bool:
        """Add delta to the learned weight; returns whether the stored value changed."""
        c = self.c
        old = self.WS[l][j][i] if self.WS else self.W[l][j][i]
        new = pr.sat(old + delta, c.learn_bits)
        if new != old + delta:
            self.sat["weight_sat"][l] += 1
        if self.WS:
            self.WS[l][j][i] = new
            self.W[l][j][i] = new // 2 ** c.extra            # inference = shadow >> extra
        else:
            self.W[l][j][i] = new
        return new != old

    # -- one sample --
    def run(self, X, Y, order, learn: bool) -> list[int]:
        c = self.c
        L, sizes = self.L, c.sizes
        n_out = sizes[-1]
        preds = []
        for n in order:
            x, label = [float(v) for v in X[n]], int(Y[n])
            # a sample starts from rest
            V = [[0] * sizes[l + 1] for l in range(L)]                 # membranes, layers 1..L
            A = [[0] * sizes[l] for l in range(L)]                     # traces, layers 0..L-1
            acc = [[[0] * sizes[l + 1] for _ in range(sizes[l])] for l in range(L)] if c.rule == "ottt-a" else None
            counts, outsum = [0] * n_out, [0] * n_out
            imps = [self.impulse(xj) for xj in x]
            for t in range(c.T):
                # ---- forward ----
                S = [[self.encode(xj, t) for xj in x]]                 # values of layers 0..L
                Vpre = [None]
                for l in range(L):
                    pre, npost = S[l], sizes[l + 1]
                    events = [j for j in range(len(pre)) if pre[j] != 0]
                    self.ops["pre_events"][l] += len(events)
                    self.ops["pre_values"][l] += len(pre)
                    self.ops["syn_ops"][l] += len(events) * npost
                    self.ops["dense_ops"][l] += len(pre) * npost
                    self.ops["eff_syn_ops"][l] += sum(1 for j in events for i in range(npost) if self.W[l][j][i] != 0)
                    fires = l < L - 1 or c.readout == "spiking"
                    s_post, vp_post = [], []
                    for i in range(npost):
                        cur = sum(self.W[l][j][i] * pre[j] for j in events)     # integer, unsaturated
                        vp, V[l][i], sp = self.neuron(l, i, V[l][i], cur, fires)
                        s_post.append(sp)
                        vp_post.append(vp)
                        if cur != 0 or sp:
                            self.ops["neuron_active"][l] += 1
                        else:
                            self.ops["neuron_idle"][l] += 1
                    self.ops["spikes"][l] += sum(s_post)
                    if l < L - 1:
                        self.ops["spike_msgs"][l] += sum(s_post)
                    S.append(s_post)
                    Vpre.append(vp_post)
                for i in range(n_out):
                    outsum[i] += V[L - 1][i] if c.readout == "integrator" else Vpre[L][i]
                    counts[i] += S[L][i]
                if not learn:
                    continue
                # ---- traces a_hat^l[t] of the presynaptic layers 0..L-1 ----
                for l in range(L):
                    for j in range(sizes[l]):
                        A[l][j] = self.trace_step(l, A[l][j], S[l][j] != 0, imps[j] if l == 0 else 2 ** c.F)
                    self.ops["trace_updates"][l] += sizes[l]
                # ---- errors: output, then hidden layers top-down (chip-model.md §4) ----
                G = [None] * (L + 1)
                G[L] = self.output_error(V[L - 1], Vpre[L], S[L], counts, label, t)
                for h in range(L - 1, 0, -1):                      # hidden neuron layer h
                    gh = []
                    for j in range(sizes[h]):
                        if c.feedback == "transpose":             # (W^h)^T g^{h+1}
                            d = sum(self.W[h][j][i] * G[h + 1][i] for i in range(sizes[h + 1]))
                        else:                                      # B^h e (direct random feedback)
                            d = sum(self.FB[h - 1][j][i] * G[L][i] for i in range(n_out))
                        sg = self.surrogate(Vpre[h][j], S[h][j])
                        # weights have q fractional bits, the surrogate sg_bits: back to E bits,
                        # rounded to nearest with ties up (the kernel docstring writes a plain '>>')
                        e = shift_rounded(d * sg, c.q[h] + c.sg_bits, "nearest")
                        es = pr.sat(e, c.err_bits)
                        if es != e:
                            self.sat["error_sat"][h - 1] += 1
                        gh.append(es)
                    G[h] = gh
                    self.ops["surrogate_evals"][h - 1] += sizes[h]
                    self.ops["error_msgs"][h - 1] += sum(1 for e in gh if e != 0)
                    src = G[h + 1] if c.feedback == "transpose" else G[L]
                    self.ops["bwd_syn_ops"][h] += sizes[h] * sum(1 for e in src if e != 0)
                # ---- updates dW^l = -eta g^{l+1} a_hat^l (OTTT §4.3) ----
                for l in range(L):
                    sh = c.ushift[l]
                    row_shared = c.rule == "ottt-o" and c.upd_rounding == "stochastic" and sh > 0
                    any_error = any(e != 0 for e in G[l + 1])
                    for j in range(sizes[l]):
                        if A[l][j] == 0:
                            continue
                        if row_shared and any_error:
                            # chip-model.md §5: one 32-bit PRNG state per row, scrambled per synapse
                            u = self.learn_rng.word()
                            self.ops["prng_draws"][l] += 1
                        for i in range(sizes[l + 1]):
                            gi = G[l + 1][i]
                            if gi == 0:
                                continue
                            prod = -(gi * A[l][j] * c.lr_mant)
                            self.ops["wupd_attempted"][l] += 1
                            self.sat["update_attempted"][l] += 1
                            if c.rule == "ottt-a":
                                # accumulate with acc_frac bits below the learned-weight LSB; this
                                # step floors whatever the profile's update_rounding (that rounding
                                # applies once per sample, when the accumulator is written back)
                                d = shift_rounded(prod, sh - c.acc_frac, "floor")
                                if d == 0:
                                    self.sat["update_zero"][l] += 1
                                    continue
                                new = pr.sat(acc[l][j][i] + d, c.acc_bits)
                                if new != acc[l][j][i] + d:
                                    self.sat["accumulator_sat"][l] += 1
                                if new != acc[l][j][i]:
                                    self.ops["acc_writes"][l] += 1
                                acc[l][j][i] = new
                            else:
                                r = 0
                                if row_shared:
                                    m_i = ((2 * i + 1) * 0x9E3779B1) % 2 ** 32
                                    r = ((u * m_i) % 2 ** 32) // 2 ** (32 - sh)
                                d = shift_rounded(prod, sh, c.upd_rounding, r)
                                if d == 0:
                                    self.sat["update_zero"][l] += 1
                                    continue
                                if self.write_weight(l, j, i, d):
                                    self.ops["wupd_nonzero"][l] += 1
            # ---- OTTT_A: apply the accumulated update once per sample ----
            if learn and c.rule == "ottt-a":
                for l in range(L):
                    for j in range(sizes[l]):
                        for i in range(sizes[l + 1]):
                            x_acc = acc[l][j][i]
                            if x_acc == 0:
                                continue
                            r = 0
                            if c.upd_rounding == "stochastic" and c.acc_frac > 0:
                                r = self.learn_rng.bits(c.acc_frac)
                                self.ops["prng_draws"][l] += 1
                            d = shift_rounded(x_acc, c.acc_frac, c.upd_rounding, r)
                            if d != 0 and self.write_weight(l, j, i, d):
                                self.ops["wupd_nonzero"][l] += 1
            # ---- decode: largest summed membrane; spiking: most spikes, ties by membrane ----
            if c.readout == "integrator":
                preds.append(argmax_first(outsum))
            else:
                preds.append(argmax_first([(counts[i], outsum[i]) for i in range(n_out)]))
            self.v = [[0] * sizes[0]] + V
            self.trace = A
        return preds


# ---- the cases --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    profile: str
    rule: str
    encoder: str
    readout: str
    loss: str
    feedback: str
    sizes: tuple
    shadow: int = -1          # cfg.shadow_weight_bits (-1: the profile's, i.e. off)
    T: int = 5
    lr: float = 1.0
    init_gain: float = 4.0
    bias: bool = False        # random non-zero biases (membrane units)
    readout_leak: int = -1
    surrogate: str = "sigmoid"
    rounding: str = ""        # override the profile's update rounding ("" keeps it)
    seed: int = 0
    x_lo: float = 0.0         # inputs uniform in [x_lo, 1)

    @property
    def id(self):
        return "-".join(str(p) for p in (
            self.profile, self.rule, self.encoder, self.readout, self.loss, self.feedback,
            "x".join(map(str, self.sizes)), f"sh{self.shadow}" if self.shadow > 0 else "nosh",
            f"T{self.T}", f"lr{self.lr}", f"g{self.init_gain}", "b" if self.bias else "",
            f"rk{self.readout_leak}" if self.readout_leak >= 0 else "", self.surrogate, self.rounding,
            f"s{self.seed}", f"x{self.x_lo}" if self.x_lo else "") if p != "")


HEAD = [("integrator", "ce_mse"), ("integrator", "mse"), ("spiking", "mse"), ("spiking", "count")]
NETS = [(6, 5, 4, 3), (6, 5, 3)]

# the matrix: profile x rule x encoder x (readout, loss) x feedback x depth; shadow weights, random
# biases, T (4..6) and the seed rotate with the case number
SILENT = {106: 300}   # seeds whose tiny random network stays silent (nothing to learn) -> another seed
CASES = []
_k = 0
for _prof in ("loihi", "generic"):
    for _rule in ("ottt-o", "ottt-a"):
        for _enc in ("direct", "rate", "latency"):
            for _ro, _loss in HEAD:
                for _fb in ("transpose", "random"):
                    for _net in NETS:
                        CASES.append(Case(_prof, _rule, _enc, _ro, _loss, _fb, _net,
                                          shadow=(12 if (_k // 4) % 2 else -1), T=4 + _k % 3,
                                          bias=_k % 5 == 2, seed=SILENT.get(_k, _k)))
                        _k += 1
# extras: no hidden layer, rounding modes, readout leak, spike-operator surrogate, wide shadow
CASES += [
    Case("generic", "ottt-o", "direct", "integrator", "ce", "transpose", (5, 3), T=6, seed=101),
    Case("loihi", "ottt-a", "rate", "spiking", "mse", "transpose", (5, 3), T=6, seed=102),
    Case("generic", "ottt-o", "direct", "integrator", "ce_mse", "transpose", (6, 5, 4, 3), rounding="nearest", seed=103),
    Case("generic", "ottt-a", "rate", "integrator", "mse", "random", (6, 5, 4, 3), rounding="floor", seed=104),
    Case("loihi", "ottt-o", "rate", "spiking", "count", "transpose", (6, 5, 3), rounding="floor", shadow=16, seed=105),
    Case("loihi", "ottt-a", "direct", "integrator", "ce_mse", "transpose", (6, 5, 4, 3), rounding="nearest", lr=1.0, seed=302),
    Case("loihi", "ottt-o", "direct", "integrator", "ce_mse", "random", (6, 5, 3), readout_leak=0, bias=True, seed=107),
    Case("generic", "ottt-a", "direct", "integrator", "ce", "transpose", (6, 5, 3), readout_leak=4, seed=108),
    Case("generic", "ottt-o", "rate", "spiking", "mse", "transpose", (6, 5, 4, 3), surrogate="spike_operator", seed=109),
    # shadow 16: the widest OTTT_A allows on loihi (8 + 16 - 1 - 7; network.int_layout, docs/profiles.md)
    Case("loihi", "ottt-a", "latency", "spiking", "count", "random", (6, 5, 4, 3), surrogate="spike_operator", shadow=16,
         init_gain=4.0, lr=1.0, seed=301),
]


def build(case: Case):
    prof = load_profile(case.profile)
    if case.rounding:
        import dataclasses
        prof = dataclasses.replace(prof, learning=dataclasses.replace(prof.learning, update_rounding=case.rounding))
    cfg = NetworkConfig(sizes=case.sizes, timesteps=case.T, encoder=case.encoder, readout=case.readout,
                        loss=case.loss, feedback=case.feedback, rule=case.rule, lr=case.lr,
                        lr_schedule="constant", init_gain=case.init_gain, shadow_weight_bits=case.shadow,
                        readout_leak_shift=case.readout_leak, surrogate=case.surrogate, seed=case.seed)
    state = init_state(cfg, prof)
    rng = np.random.default_rng(1000 + case.seed)
    thr = prof.neuron.threshold << prof.neuron.input_shift
    if case.bias:
        state.bias = [rng.integers(-thr // 4, thr // 4 + 1, size=n).astype(np.int32) for n in cfg.sizes[1:]]
    if case.readout == "spiking":
        # a spiking readout learns only near its threshold (surrogate window): a positive output
        # bias keeps these tiny random networks' outputs there
        state.bias[-1] = (state.bias[-1] + rng.integers(thr // 4, 3 * thr // 4, size=cfg.sizes[-1])).astype(np.int32)
    eng = Engine(cfg, prof, state)
    chip = Chip.of(cfg, prof)
    ref = ReferenceChip(chip, state, int(eng.rng[0]), int(eng.rng[1]))
    return cfg, prof, eng, ref, rng


def flat(nested) -> np.ndarray:
    return np.array([x for layer in nested for x in layer], np.int64)


def check_equal(eng: Engine, ref: ReferenceChip, preds, rpreds, what: str):
    assert list(preds) == rpreds, f"{what}: predictions"
    for l, w in enumerate(eng.weights()):
        np.testing.assert_array_equal(w, np.array(ref.W[l]), err_msg=f"{what}: weights of layer {l}")
    sh = eng.shadow()
    assert (sh is None) == (ref.WS is None)
    if sh is not None:
        for l, w in enumerate(sh):
            np.testing.assert_array_equal(w, np.array(ref.WS[l]), err_msg=f"{what}: shadow weights of layer {l}")
    assert not np.any(eng.ACC), f"{what}: OTTT_A accumulators are cleared at the end of a sample"
    # final state of the last sample: membranes after reset (layers 0..L) and traces (0..L-1)
    np.testing.assert_array_equal(eng.v, flat(ref.v), err_msg=f"{what}: membranes")
    np.testing.assert_array_equal(eng.tr, flat(ref.trace), err_msg=f"{what}: traces")
    assert int(eng.rng[0]) == ref.learn_rng.state, f"{what}: learning PRNG state (number of draws)"
    assert int(eng.rng[1]) == ref.enc_rng.state, f"{what}: encoder PRNG state"
    for names, arr, mine in ((SAT, eng.sat, ref.sat), (OPS, eng.ops, ref.ops)):
        got = {name: [int(x) for x in arr[:, k]] for k, name in enumerate(names)}
        for name in names:
            assert got[name] == mine[name], f"{what}: counter {name} kernel {got[name]} != reference {mine[name]}"


def run_both(case: Case, n_samples: int = 3):
    cfg, prof, eng, ref, rng = build(case)
    chip = ref.c
    # the reference computes its own constants: they must be the ones the engine packed
    assert ref.sgt is None or list(eng.lut_sg) == ref.sgt
    assert list(eng.lut_exp) == ref.exp2
    x = rng.uniform(case.x_lo, 1.0, size=(n_samples, cfg.sizes[0]))
    x[0, 0] = 0.0                     # a silent input (latency: never fires)
    y = rng.integers(0, cfg.sizes[-1], size=n_samples)
    xin = eng.prepare(x)
    w0 = [w.copy() for w in eng.weights()]
    # two learning calls (weights, PRNG states and counters carry over), one sample seen twice
    for order in (np.array([0, n_samples - 1]), np.array(list(range(1, n_samples)) + [0])):
        preds = eng.run(xin, y, order, True)
        rpreds = ref.run(x, y, order, True)
        check_equal(eng, ref, preds, rpreds, f"learning {list(order)}")
    changed = sum(int((a != b).sum()) for a, b in zip(w0, eng.weights()))
    ws0 = [w.copy() for w in eng.shadow()] if eng.shadow() is not None else None
    # inference with the learned weights: the same forward pass, no learning counters
    preds2 = eng.run(xin, y, np.arange(n_samples), False)
    rpreds2 = ref.run(x, y, np.arange(n_samples), False)
    check_equal(eng, ref, preds2, rpreds2, "inference")
    if ws0 is not None:
        for a, b in zip(ws0, eng.shadow()):
            np.testing.assert_array_equal(a, b)
    return eng, ref, changed, chip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_whole_sample_bit_exact(case):
    eng, ref, changed, chip = run_both(case)
    # not vacuous: the network was active and learning moved something
    assert sum(ref.ops["pre_events"]) > 0
    assert sum(ref.ops["wupd_attempted"]) > 0, "no update was even attempted"
    if ref.WS is None:
        assert changed > 0, "learning changed no weight"
    else:
        assert sum(ref.ops["wupd_nonzero"]) > 0, "learning changed no shadow weight"
    if len(chip.sizes) > 2:
        assert sum(ref.ops["surrogate_evals"][:-1]) > 0
    if chip.upd_rounding == "stochastic":
        assert sum(ref.ops["prng_draws"]) > 0


# huge learning rate, large init gain, inputs in [0.5, 1) and (integrator) no readout leak: every
# width saturates somewhere; each case names the counters the reference must have seen non-zero
SAT_CASES = [
    (Case("generic", "ottt-o", "direct", "integrator", "mse", "transpose", (6, 5, 4, 3), lr=40.0,
          init_gain=16.0, readout_leak=12, T=6, x_lo=0.5, seed=300),
     ("membrane_clip", "current_overflow", "weight_sat", "trace_sat", "error_sat")),
    (Case("loihi", "ottt-o", "direct", "integrator", "mse", "transpose", (6, 5, 4, 3), lr=40.0,
          init_gain=8.0, readout_leak=12, T=6, x_lo=0.5, seed=301),
     ("membrane_clip", "current_overflow", "weight_sat", "trace_sat", "error_sat")),
    (Case("loihi", "ottt-a", "direct", "integrator", "mse", "transpose", (6, 5, 4, 3), lr=40.0,
          init_gain=8.0, readout_leak=12, T=6, x_lo=0.5, seed=301),
     ("membrane_clip", "current_overflow", "weight_sat", "trace_sat", "error_sat", "accumulator_sat")),
    (Case("generic", "ottt-a", "direct", "integrator", "ce_mse", "random", (6, 5, 3), lr=40.0,
          init_gain=16.0, readout_leak=12, T=6, x_lo=0.5, shadow=12, seed=300),
     ("membrane_clip", "trace_sat", "error_sat", "accumulator_sat")),
    (Case("loihi", "ottt-a", "rate", "spiking", "count", "random", (6, 5, 4, 3), lr=40.0,
          init_gain=8.0, T=6, x_lo=0.5, shadow=12, seed=300),
     ("error_sat", "accumulator_sat")),
]


@pytest.mark.parametrize("case,expect", SAT_CASES, ids=[c.id for c, _ in SAT_CASES])
def test_saturation_bit_exact(case, expect):
    eng, ref, changed, chip = run_both(case)
    assert changed > 0
    for name in expect:
        assert sum(ref.sat[name]) > 0, f"{name} never triggered: the case does not test saturation"


SENSITIVITY = [("loihi", "upd_rounding", "nearest"), ("loihi", "tr_rounding", "floor"),
               ("generic", "leak_rounding", "toward_zero"), ("generic", "reset", "zero"),
               ("generic", "ushift", None)]


@pytest.mark.parametrize("profile,field,value", SENSITIVITY, ids=[f[1] for f in SENSITIVITY])
def test_reference_is_sensitive(profile, field, value):
    """The comparison can fail: the reference with one rule changed disagrees with the kernel."""
    case = Case(profile, "ottt-o", "direct", "integrator", "ce_mse", "transpose", (6, 5, 4, 3), lr=0.5, bias=True, seed=7)
    cfg, prof, eng, ref, rng = build(case)
    if field == "ushift":
        value = tuple(s - 1 for s in ref.c.ushift)         # a learning rate twice as large
    assert getattr(ref.c, field) != value
    setattr(ref.c, field, value)
    x = rng.uniform(0.0, 1.0, size=(3, cfg.sizes[0]))
    y = rng.integers(0, cfg.sizes[-1], size=3)
    eng.run(eng.prepare(x), y, np.arange(3), True)
    ref.run(x, y, np.arange(3), True)
    same = (all((w == np.array(r)).all() for w, r in zip(eng.weights(), ref.W))
            and int(eng.rng[0]) == ref.learn_rng.state and np.array_equal(eng.v, flat(ref.v)))
    assert not same, f"changing {field} in the reference went unnoticed"
