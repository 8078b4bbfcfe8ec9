"""Exact emulation of Lava's learning engine for OTTT learning, in Lava's own time steps.

One numba kernel, :func:`lava_learn_run`, runs the network that :mod:`neurochip.lava.learning_graph`
builds in Lava, step for step and bit for bit:

    input RingBuffer -> [Dense (fixed) -> LIFReset]                 (optional fixed hidden layer)
                     -> LearningDense (Loihi3FLearningRule, PyLearningDenseModelBitApproximate)
                     -> OTTT learning LIF (neurochip/lava/models_learning/ottt_lif.py)
                        <- third factor (target or error) RingBuffer on a_third_factor_in
                        -> s_out_bap, s_out_y1..y3 back to the LearningDense

or, with a LEARNING hidden layer (fixed random feedback, H_LEARN): input -> LearningDense -> OTTT
LIF (error mode) -> LearningDense -> OTTT LIF, whose deltas go back (graded ``s_out_err``) through a
fixed Dense to the hidden neurons' third-factor port; H_LEARN_REC adds a recurrent hidden layer, a
second LearningDense from the hidden OTTT LIF's spikes back to its own input, learning with the
same y-traces and bAPs (``ll_recurrent_in``, ``ll_share_post``). Each LearningDense + its neurons is one
"learning layer" tuple (below); ``ll_neurons``, ``ll_forward`` and ``ll_learn`` emulate them.

Sources (lava-nc 0.10.0; ``L`` = lava/magma/core/model/py/connection.py,
``A`` = lava/magma/core/learning/learning_rule_applier.py, ``D`` = lava/proc/dense/models.py,
``F`` = lava/proc/lif/models.py, ``R`` = lava/magma/core/learning/random.py; spec:
``docs/design/lava-semantics.md`` §1-5):

Per Lava step tau = 1, 2, ... (every process's ``run_spk``, then the LearningDense's ``run_lrn``):

1. Every Dense first sends ``a_buff`` computed at tau - 1 (D:96, D:177), then reads ``s_in(tau)`` and
   computes ``a_buff = shift_exp(sum_{s_j != 0} W[:, j], weight_exp)`` (D:102-107, D:183-189) with
   the weights as they are now (learning of tau - 1 included). On the first step the LearningDense
   truncates its weights, ``(W >> k) << k`` with k = 8 - num_weight_bits + (MIXED), no clip
   (D:166-172, lava/utils/weightutils.py ``truncate_weights``); a stock Dense also clips first (D:87).
2. LIF (hidden: stock ``PyLifResetModelBitAcc``, F:426-449; output: the OTTT neuron, which runs the
   same ``subthr_dynamics``, F:138-186): reset u = v = 0 when ``tau % interval == offset``; then
   ``u = rtz(u, 4096 - du - 1) + (a << 6)`` wrapped at 24 bits, ``v = clip(rtz(v, 4096 - dv) + u +
   bias, +-(2^23 - 1))``, ``s = v > vth << 6``, ``v[s] = 0`` (lava-semantics.md §3).
3. The OTTT neuron (same step, after its own spike): third factor ``tf`` from its RingBuffer (no
   delay on a direct port, lava-semantics.md §1/§5.4), error ``e = (s << F) - (tf - 1)`` (target mode; tf = 0
   means "no teaching signal", e := 0) or ``e = tf`` (error mode), surrogate ``sg`` from neurochip's
   integer LUT of the pre-reset membrane (``neurochip/kernels/error.py`` ``surrogate_at``, shared with ottt_int),
   ``delta = clip((e * sg) >> (sg_bits + err_shift), -dmax, dmax)`` (floor, or rounded to nearest with
   ties up). It sends
   y1 = ``y1_const``; split encoding y2 = relu(-delta), y3 = relu(delta); signed encoding
   y2 = -delta, y3 = 0; and a bAP (on its spike, always, while taught, or never).
4. LearningDense ``recv_traces`` (L:384-414): pre spikes set ``tx`` (within-epoch step, L:760) and a
   second spike in the same epoch adds the x impulse at once with random 0 (L:727-733); a bAP sets
   ``ty`` (L:787); y1..y3 are OVERWRITTEN with the received values (Loihi3F, L:400-412).
5. Learning phase when ``tau % t_epoch == 0`` (L:428-437), epoch number ``ep = tau / t_epoch``:
   r_c advances first (L:432, L:795-797), so epoch ep uses draw ep of ``default_rng(2)``
   (R:113-139; the seed is fixed, ``rng_seed`` does not reach it). The trace streams advance twice
   per step (L:395, L:414), so the learning phase of step tau uses draw 2 tau of each
   (``default_rng(seed)``, ``(seed + 1).integers(0, 128)``, ``seed + 2`` for y decay; R:36-95).
   Traces over the epoch (L:799-871), for t = 1..t_epoch, with the SAME random number every t:
   ``x = floor(f x) + (r_dec < frac(f x))`` with ``f = np.exp(-1 / tau_x)`` (0 if tau_x = 0), and at
   t == tx: ``x = clip(x + imp_int + (r_imp < imp_frac), 0, 127)`` (L:904-934; ``imp_frac =
   round(frac(impulse) * 256)``, L:650-672). y: the last received value, decayed the same way with
   tau = 65535 (Loihi3F, lava/magma/core/learning/learning_rule.py:723-751) and clipped to [0, 127]
   at t == ty (impulse 0): **a post neuron that sent a bAP has its y traces clipped** (lava-semantics.md §5.5).
   Stored x1 becomes the end-of-epoch value (L:451-466); y is not stored back (Loihi3F).
6. Rule (A:243-328), dependency uK: ``u = (tau // t_epoch) % 2^K == 0`` (L:1009-1019); per synapse
   ``A = W << 7``; per product ``m = u * mant * prod clip(f + c, -128, 127)`` (factors at the
   end-of-epoch trace values, L:513-522), ``m = clip((m >> S) << (E + 7), -2^15 - 1, 2^15 - 1)``
   with ``S = max(0, 7 * n_factors + 4 - 15)``, ``A = clip(A + m, -2^15 - 1, 2^15 - 1)``; then
   ``A = max(A, 0)`` (EXC) / ``min(A, 0)`` (INH) (L:1028-1070); ``W = floor(A / 128) + (r_c <
   frac(A / 128))`` (L:1072-1111) and ``W`` clipped to [-256, 255] / [0, 255] / [-255, 0]
   (L:1113-1141). With at most 3 factors of 7 bits and a 4-bit mantissa no int32 product or shift
   can wrap (|m| < 2^24 before, < 2^30 after the shifts), so int64 arithmetic here equals Lava's int32.

Random numbers are generated on the host with the same numpy calls (``default_rng(..).random`` and
``.integers(0, 128)``; batch generation equals Lava's one-at-a-time draws, tested) and passed in,
indexed by Lava step (trace streams) and by epoch (r_c). The exponential decay factors are computed
on the host by numpy exactly as Lava does (``np.exp(-1 / taus[:, None])``), so the float64 products
and floors here are bit-identical.

t_epoch >= 1 is supported as Lava 0.10 implements it (one random number for the whole epoch, factors
read at the end of the epoch because the rule's only dependency is uK); products with x0 / y0
dependencies, x2, w, d, t factors or more than 3 factors are not supported (the driver rejects them).
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from ..fixedpoint import NJIT, mul_shift_rtz, sat_sym, wrap_lava
from ..surrogate import LUT_SIZE  # noqa: F401  (one table size: neurochip.surrogate)
from .error import surrogate_at

# product factor codes (PF)
F_NONE = -1
F_X1 = 0
F_Y1 = 1
F_Y2 = 2
F_Y3 = 3

# sign modes (lava.utils.weightutils.SignMode minus one)
SM_MIXED = 0
SM_EXC = 1
SM_INH = 2

# neuron parameter vector (OP / HP) indices
N_WEXP = 0          # Dense weight_exp feeding this population
N_DU = 1
N_DV = 2
N_VTH = 3           # vth mantissa (compare with vth << 6)
N_RINT = 4          # reset interval (0: never)
N_ROFF = 5          # reset offset (already reduced modulo the interval)
N_MODE = 6          # OTTT neuron: 0 target (tf = r + 1, 0 = no teaching), 1 error (tf = e)
N_F = 7             # error fractional bits: a spike is 1 << F
N_SGB = 8           # surrogate fractional bits
N_CSG = 9           # surrogate LUT index scale (neurochip.surrogate.lut_index_scale)
N_SPOP = 10         # 1: spike operator surrogate (sg = 1 << sg_bits where the neuron spiked)
N_ESH = 11          # extra right shift of e * sg
N_DMAX = 12         # |delta| clip
N_BAP = 13          # 0 never, 1 on spike, 2 always, 3 while taught (tf != 0)
N_ENC = 14          # 0 split (y2 = relu(-delta), y3 = relu(delta)), 1 signed (y2 = -delta)
N_Y1 = 15           # constant sent as y1
N_NUMW = 16         # num_weight_bits of the Dense feeding this population
N_SIGN = 17         # sign mode of the Dense feeding this population
N_DRND = 18         # delta rounding of (e * sg) >> n: 0 floor, 1 nearest (ties up, as ottt_int's shift_round)
N_PARAMS = 19

BAP_NEVER, BAP_SPIKE, BAP_ALWAYS, BAP_TEACH = 0, 1, 2, 3

# learning parameter vector (LP) indices
L_TEPOCH = 0
L_K = 1             # uK dependency
L_XTAU = 2          # 1 if x1_tau != 0
L_IMPI = 3          # floor(x1_impulse)
L_IMPF = 4          # round(frac(x1_impulse) * 256)
L_NORM = 5          # 1 once every weight has been through a learning phase (in range, sign-valid)
L_XTAU_SET = 6      # L_XTAU, L_IMPI, L_IMPF after a Var write to the LearningDense (``ll_var_written``)
L_IMPI_SET = 7
L_IMPF_SET = 8
L_NPARAMS = 9

UV_BITS = 24        # u, v width (lava-semantics.md §3)
HOP_DELAY = 1       # Lava steps a value takes through one Dense hop (lava-semantics.md §1); the one definition
ACC_MAX = (1 << 15) - 1
ACC_MIN = -(1 << 15) - 1


@nb.njit(**NJIT)
def lif_step(u, v, a, du, dv, bias, vth_m):
    """One Lava LIF update (F:138-186, lava-semantics.md §3): returns (u, v_pre_reset, spiked).

    Lava's decays ``sign(x keep) (|x keep| >> 12)`` (F:149-153) are fixedpoint.mul_shift_rtz, its
    current wrap and membrane clip at 24 bits fixedpoint.wrap_lava and sat_sym."""
    u = wrap_lava(mul_shift_rtz(u, 4096 - du - 1, 12) + (a << 6), UV_BITS)
    v = sat_sym(mul_shift_rtz(v, 4096 - dv, 12) + u + bias, UV_BITS)
    return u, v, v > vth_m


@nb.njit(**NJIT)
def ottt_delta(vpre, spiked, tf, OP, lut):
    """delta of one OTTT neuron from its pre-reset membrane, spike and third factor."""
    if OP[N_MODE] == 0:
        if tf == 0:
            return 0
        e = ((1 if spiked else 0) << OP[N_F]) - (tf - 1)
    else:
        e = tf
    if e == 0:
        return 0
    sg = surrogate_at(vpre, spiked, OP[N_VTH] << 6, OP[N_CSG], lut, OP[N_SPOP] == 1, 1 << OP[N_SGB])
    n = OP[N_SGB] + OP[N_ESH]
    if OP[N_DRND] == 1 and n > 0:
        d = (e * sg + (1 << (n - 1))) >> n
    else:
        d = (e * sg) >> n
    dmax = OP[N_DMAX]
    if d > dmax:
        return dmax
    if d < -dmax:
        return -dmax
    return d


@nb.njit(**NJIT)
def stochastic_decay(x, f, r):
    """Lava's trace decay (L:873-902): ``floor(f x) + (r < frac(f x))`` in float64."""
    e = f * x
    fl = math.floor(e)
    return np.int64(fl) + (1 if r < e - fl else 0)


@nb.njit(**NJIT)
def truncate(w, k, sign):
    """lava/utils/weightutils.py ``truncate_weights`` of one weight."""
    if sign == SM_INH:
        return -(((-w) >> k) << k)
    return (w >> k) << k


# ---- one LearningDense + its OTTT neurons ("learning layer" tuple, built by
# neurochip.lava.learning_emulator.Emulator) -----------------------------------------------------------
#   (W, OP, bias, lut, PM, PE, PS, PF, PC, LP, xf, yf, rxd, rxi, ryd, rc, st, abuf, x1, tx, ty,
#    ylast, ysc, ypart, xpart, xnz)
# W[i, j]           LearningDense weights (post x pre, Lava's layout), int32, updated in place
# OP, bias, lut     the OTTT neurons' parameters (N_*), effective biases, surrogate LUT
# PM, PE, PS        per product: signed mantissa, E + 7, and the implicit shift S
# PF, PC            per product, up to 3 factors: code (F_*; F_NONE ends) and additive constant
# LP                learning parameters (L_*); L_NORM is set once the weights are normalized
# xf[0], yf[0..2]   x1 decay factor, y1..y3 decay factors (float64, computed by numpy as Lava does);
#                   xf[1] the x1 decay factor after a Var write (``ll_var_written``)
# rxd, rxi, ryd     trace random numbers of step tau at index tau (index 2 tau of each stream)
# rc                r_c of epoch ep at index ep
# st[2, n_post]     u and v; abuf[n_post] the Dense activation buffer (sent at the next step)
# x1, tx [n_pre]    x1 traces and within-epoch spike times; ty[n_post] within-epoch bAP times;
# ylast[3, n_post]  y1..y3 received at the last step; ysc, ypart, xpart, xnz: scratch


@nb.njit(**NJIT)
def ll_truncate(Lr):
    """First run_spk of a LearningDense: ``(W >> k) << k``, no clip (D:166-172)."""
    W, OP = Lr[0], Lr[1]
    sign = OP[N_SIGN]
    k = 8 - OP[N_NUMW] + (1 if sign == SM_MIXED else 0)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            W[i, j] = truncate(W[i, j], k, sign)


@nb.njit(**NJIT)
def within_epoch(tau, t_epoch):
    """L:367-382: 1..t_epoch."""
    w = tau % t_epoch
    return t_epoch if w == 0 else w


@nb.njit(**NJIT)
def ll_neurons(tau, Lr, tf, s_out, d_out, rec_s, rec_v, counts, cd):
    """The OTTT neurons of a learning layer at step tau: LIF update from the Dense buffer of the
    previous step, delta from third factor ``tf`` (this step), y-traces and bAPs into the
    LearningDense (recv_traces). Spikes and deltas go to ``s_out`` / ``d_out``; non-zero deltas
    are counted in counts[cd]. Returns the number of spikes."""
    OP, bias, lut, LP = Lr[1], Lr[2], Lr[3], Lr[9]
    st, abuf, ty, ylast = Lr[16], Lr[17], Lr[20], Lr[21]
    within = within_epoch(tau, LP[L_TEPOCH])
    rint = OP[N_RINT]
    do_reset = rint > 0 and tau % rint == OP[N_ROFF]
    bap_mode = OP[N_BAP]
    vth_m = OP[N_VTH] << 6
    rec = rec_s.shape[0] > 0
    nsp = 0
    for i in range(st.shape[1]):
        if do_reset:
            st[0, i] = 0
            st[1, i] = 0
        u, v, sp = lif_step(st[0, i], st[1, i], abuf[i], OP[N_DU], OP[N_DV], bias[i], vth_m)
        t = np.int64(tf[i])
        d = ottt_delta(v, sp, t, OP, lut)
        if d != 0:
            counts[cd] += 1
        if rec:
            rec_s[tau - 1, i] = 1 if sp else 0
            rec_v[tau - 1, i] = v
        st[0, i] = u
        st[1, i] = 0 if sp else v
        s_out[i] = 1 if sp else 0
        d_out[i] = d
        nsp += 1 if sp else 0
        ylast[0, i] = OP[N_Y1]
        if OP[N_ENC] == 0:
            ylast[1, i] = -d if d < 0 else 0
            ylast[2, i] = d if d > 0 else 0
        else:
            ylast[1, i] = -d
            ylast[2, i] = 0
        if bap_mode == BAP_SPIKE:
            bap = sp
        elif bap_mode == BAP_ALWAYS:
            bap = True
        elif bap_mode == BAP_TEACH:
            bap = t != 0
        else:
            bap = False
        if bap:
            ty[i] = within
    return nsp


@nb.njit(**NJIT)
def ll_forward(tau, Lr, act, n_act):
    """LearningDense run_spk: activation of the active presynaptic neurons ``act[:n_act]`` with the
    current weights (D:177-189), and their within-epoch spike times (L:694-761)."""
    W, OP, LP = Lr[0], Lr[1], Lr[9]
    abuf, x1, tx = Lr[17], Lr[18], Lr[19]
    within = within_epoch(tau, LP[L_TEPOCH])
    imp_i = LP[L_IMPI]
    imp_f = LP[L_IMPF]
    ex = OP[N_WEXP]
    for i in range(W.shape[0]):
        acc = 0
        for jj in range(n_act):
            acc += W[i, act[jj]]
        abuf[i] = acc << ex if ex >= 0 else acc >> (-ex)
    for jj in range(n_act):
        j = act[jj]
        if tx[j] > 0:
            # second spike within the epoch: impulse now, random number 0 (L:727-733)
            xx = x1[j] + imp_i + (1 if 0 < imp_f else 0)
            x1[j] = 0 if xx < 0 else (127 if xx > 127 else xx)
        tx[j] = within


@nb.njit(**NJIT)
def ll_learn(tau, Lr, counts):
    """LearningDense run_lrn at step tau if it ends an epoch (L:428-437, module docstring 5-6)."""
    W, OP, PM, PE, PS, PF, PC, LP = Lr[0], Lr[1], Lr[4], Lr[5], Lr[6], Lr[7], Lr[8], Lr[9]
    xf, yf, rxd, rxi, ryd, rc = Lr[10], Lr[11], Lr[12], Lr[13], Lr[14], Lr[15]
    x1, tx, ty, ylast, y, ypart, xpart, xnz = Lr[18], Lr[19], Lr[20], Lr[21], Lr[22], Lr[23], Lr[24], Lr[25]
    t_epoch = LP[L_TEPOCH]
    if tau % t_epoch != 0:
        return
    n_out, n_pre = W.shape[0], W.shape[1]
    n_prod = PM.shape[0]
    kmod = 1 << LP[L_K]
    x_tau = LP[L_XTAU] == 1
    imp_i = LP[L_IMPI]
    imp_f = LP[L_IMPF]
    sign = OP[N_SIGN]
    if sign == SM_MIXED:
        w_lo, w_hi = -256, 255
    elif sign == SM_EXC:
        w_lo, w_hi = 0, 255
    else:
        w_lo, w_hi = -255, 0
    ep = tau // t_epoch
    r_c = rc[ep]
    rc_int = np.int64(math.floor(r_c * 128.0)) + 1
    pnz = np.empty(n_prod, np.int64)
    r_xd = rxd[tau]
    r_xi = rxi[tau]
    r_yd = ryd[tau]
    f_x = xf[0]
    for j in range(n_pre):
        xx = x1[j]
        for t in range(1, t_epoch + 1):
            # decay of 0 is 0 (f * 0 = 0, no fraction): skipped
            xx = stochastic_decay(xx, f_x, r_xd) if (x_tau and xx != 0) else 0
            if tx[j] == t:
                xx = xx + imp_i + (1 if r_xi < imp_f else 0)
                xx = 0 if xx < 0 else (127 if xx > 127 else xx)
        x1[j] = xx
        tx[j] = 0
    for i in range(n_out):
        for k in range(3):
            yy = ylast[k, i]
            for t in range(1, t_epoch + 1):
                y0 = yy
                yy = stochastic_decay(yy, yf[k], r_yd)
                if yy != y0:
                    counts[5] += 1
                if ty[i] == t:
                    yy = 0 if yy < 0 else (127 if yy > 127 else yy)
            y[k, i] = yy
        ty[i] = 0
    u_dep = 1 if (tau // t_epoch) % kmod == 0 else 0
    full = LP[L_NORM] == 0
    # factor products split into a pre part and a post part (no int32 wrap is possible, see
    # the module docstring, so the order of the multiplications does not matter)
    any_row = False
    for p in range(n_prod):
        for i in range(n_out):
            yp = u_dep * PM[p]
            for f in range(3):
                c = PF[p, f]
                if c <= F_X1:
                    continue
                val = y[c - 1, i] + PC[p, f]
                val = -128 if val < -128 else (127 if val > 127 else val)
                yp *= val
            ypart[p, i] = yp
            if yp != 0:
                any_row = True
    if not (any_row or full):
        # every product is zero and every weight is in range: A = W << 7 rounds back to W
        counts[2] += n_out
        return
    for p in range(n_prod):
        for j in range(n_pre):
            xp = 1
            for f in range(3):
                if PF[p, f] == F_X1:
                    val = x1[j] + PC[p, f]
                    val = -128 if val < -128 else (127 if val > 127 else val)
                    xp *= val
            xpart[p, j] = xp
    nx = 0
    for j in range(n_pre):
        nz = False
        for p in range(n_prod):
            if xpart[p, j] != 0:
                nz = True
        if nz:
            xnz[nx] = j
            nx += 1
    for i in range(n_out):
        row_nz = False
        for p in range(n_prod):
            if ypart[p, i] != 0:
                row_nz = True
        if full:
            jn = n_pre
        elif row_nz:
            jn = nx
        else:
            counts[2] += 1
            continue
        # products with a zero post part add 0 to A (A = W << 7 is always in the accumulator range)
        npn = 0
        for p in range(n_prod):
            if ypart[p, i] != 0:
                pnz[npn] = p
                npn += 1
        for jj in range(jn):
            j = jj if full else xnz[jj]
            w0 = np.int64(W[i, j])
            A = w0 << 7
            for pp in range(npn):
                p = pnz[pp]
                m = ypart[p, i] * xpart[p, j]
                m = (m >> PS[p]) << PE[p]
                m = ACC_MIN if m < ACC_MIN else (ACC_MAX if m > ACC_MAX else m)
                A = A + m
                A = ACC_MIN if A < ACC_MIN else (ACC_MAX if A > ACC_MAX else A)
            if sign == SM_EXC and A < 0:
                A = 0
            elif sign == SM_INH and A > 0:
                A = 0
            # r_c < (A & 127) / 128  <=>  (A & 127) >= floor(128 r_c) + 1 (both sides exact in float64)
            w1 = (A >> 7) + (1 if (A & 127) >= rc_int else 0)
            w1 = w_lo if w1 < w_lo else (w_hi if w1 > w_hi else w1)
            counts[0] += 1
            if w1 != w0:
                counts[1] += 1
                W[i, j] = w1
    LP[L_NORM] = 1


# hidden modes
H_NONE = 0       # input -> LearningDense -> OTTT neurons
H_FIXED = 1      # input -> Dense -> LIFReset -> LearningDense -> OTTT neurons
H_LEARN = 2      # input -> LearningDense -> OTTT neurons (error mode) -> LearningDense -> OTTT
                 # neurons, the output deltas fed back through a fixed Dense to the hidden third factor
H_LEARN_REC = 3  # H_LEARN with a recurrent hidden layer: a second LearningDense (LR) from the hidden
                 # neurons' s_out back to their a_in, fed the same y-traces and bAPs


@nb.njit(**NJIT)
def ll_var_written(Lr):
    """A Var of the LearningDense was written (``Var.set`` between steps): Lava's
    ``on_var_update`` (L:152-178) then rebuilds the rule's x1 tau and impulse from the process's
    Vars, which the bit-approximate model types ``int`` (L:606-607; lava/magma/compiler/builders/
    py_builder.py:399-401 truncates the float values into them). From the next step on the trace
    uses ``int(x1_tau)`` and ``int(x1_impulse)``: a fractional impulse or tau loses its fraction.
    The host computed both sets of constants (``neurochip.lava.learning_spec.var_written_rule``)."""
    LP, xf = Lr[9], Lr[10]
    LP[L_XTAU] = LP[L_XTAU_SET]
    LP[L_IMPI] = LP[L_IMPI_SET]
    LP[L_IMPF] = LP[L_IMPF_SET]
    xf[0] = xf[1]


@nb.njit(**NJIT)
def ll_recurrent_in(tau, LH, LR):
    """A recurrent hidden layer's input at step tau: the recurrent LearningDense's buffer (its sum of
    s_h(tau - 1), computed last step) adds to the input LearningDense's in the neurons' ``a_in``
    (a fan-in port sums its connections; each Dense shifted by its own weight_exp first). At a
    hidden reset step after the first Lava step that buffer is cleared first: the Lava run pauses
    before the step and sets the recurrent LearningDense's ``a_buff`` to 0
    (neurochip/lava/learning_graph.py), so a sample starts from rest, its recurrent input included;
    that Var write also truncates the recurrent rule's x1 tau and impulse (``ll_var_written``)."""
    OP = LH[1]
    abuf, rbuf = LH[17], LR[17]
    rint = OP[N_RINT]
    if rint > 0 and tau % rint == OP[N_ROFF] and tau > 1:
        for h in range(rbuf.shape[0]):
            rbuf[h] = 0
        ll_var_written(LR)
    for h in range(abuf.shape[0]):
        abuf[h] += rbuf[h]


@nb.njit(**NJIT)
def ll_share_post(LH, LR):
    """The recurrent LearningDense receives the hidden neurons' y-traces and bAPs as the input one
    does (one OutPort fanning out to both; lava-semantics.md §5.6): copy what ``ll_neurons`` wrote.
    Both have the same t_epoch (checked by HiddenLearnSpec), so their bAP times agree."""
    ty, ylast, rty, rylast = LH[20], LH[21], LR[20], LR[21]
    for i in range(ty.shape[0]):
        rty[i] = ty[i]
        for k in range(3):
            rylast[k, i] = ylast[k, i]


@nb.njit(**NJIT)
def lava_learn_run(tau0, n_steps, R, TF, hmode, FH, LH, LR, LO, FB, rec_s, rec_v, rec_hs, rec_hv, counts):
    """Run Lava steps tau0 + 1 .. tau0 + n_steps (state arrays are updated in place).

    R[tau - 1, j]     input value sent at Lava step tau (non-zero = spike), int32
    TF[tau - 1, i]    third factor received by output neuron i at step tau, int32
    hmode             H_NONE, H_FIXED, H_LEARN or H_LEARN_REC
    FH                fixed hidden layer (WhT, HP, bh, st, abuf): WhT[j, h] the hidden Dense's weights
                      transposed (presynaptic-major: a spike adds one contiguous row) as Lava holds
                      them after its first step (clipped and truncated,
                      ``neurochip.lava.export.effective_dense_weights``); HP LIF parameters (N_*),
                      bh effective biases, st[2, n_h] u and v, abuf the Dense buffer
    LH, LO            learning layer tuples (see above) of the hidden (H_LEARN) and output layers;
                      the first-step truncation of their weights is applied when tau0 == 0
    LR                the recurrent hidden LearningDense (H_LEARN_REC; a learning layer tuple whose
                      neuron fields are unused: its post neurons are LH's), W[i, j] from hidden
                      neuron j to hidden neuron i
    FB                fixed feedback Dense (B, BP, abuf): B[h, i] its weights as Lava holds them,
                      BP[0] its weight_exp; graded messages (num_message_bits > 0: ``W @ delta``,
                      D:97-99); the hidden neurons read abuf (the previous step's) as third factor
    rec_s, rec_v      output spikes and pre-reset membranes per step (row tau - 1; 0 rows: none);
    rec_hs, rec_hv    the same for the hidden learning neurons (H_LEARN)
    counts            int64[8]: [synapse updates evaluated, weights changed, rows skipped, hidden
                      spikes, non-zero output deltas, y values changed by the tau = 65535 decay,
                      non-zero hidden deltas, 0]
    """
    WhT, HP, bh, st_h, abuf_h = FH
    B, BP, abuf_b = FB
    n_in = R.shape[1]
    n_out = LO[0].shape[0]
    n_pre = LO[0].shape[1]
    n_h = n_pre if hmode != H_NONE else 0
    vth_h = HP[N_VTH] << 6
    s_h = np.zeros(max(n_h, 1), np.int64)
    d_h = np.zeros(max(n_h, 1), np.int64)
    s_o = np.zeros(n_out, np.int64)
    d_o = np.zeros(n_out, np.int64)
    act_in = np.zeros(n_in, np.int64)
    act = np.zeros(n_pre, np.int64)
    hacc = np.zeros(n_h, np.int64)
    tf_h = np.zeros(max(n_h, 1), np.int64)
    learn_h = hmode == H_LEARN or hmode == H_LEARN_REC
    rec = hmode == H_LEARN_REC
    if tau0 == 0:
        ll_truncate(LO)
        if learn_h:
            ll_truncate(LH)
        if rec:
            ll_truncate(LR)
    for tau in range(tau0 + 1, tau0 + n_steps + 1):
        # active inputs of this step (RingBuffer row tau - 1)
        na = 0
        for j in range(n_in):
            if R[tau - 1, j] != 0:
                act_in[na] = j
                na += 1
        if hmode == H_FIXED:
            # LIFReset fed by the hidden Dense's previous buffer, then the Dense reads the input
            rint = HP[N_RINT]
            do_reset = rint > 0 and tau % rint == HP[N_ROFF]
            for h in range(n_h):
                if do_reset:
                    st_h[0, h] = 0
                    st_h[1, h] = 0
                u, v, sp = lif_step(st_h[0, h], st_h[1, h], abuf_h[h], HP[N_DU], HP[N_DV], bh[h], vth_h)
                st_h[0, h] = u
                st_h[1, h] = 0 if sp else v
                s_h[h] = 1 if sp else 0
                counts[3] += 1 if sp else 0
            ex = HP[N_WEXP]
            for h in range(n_h):
                hacc[h] = 0
            for jj in range(na):
                j = act_in[jj]
                for h in range(n_h):
                    hacc[h] += WhT[j, h]
            for h in range(n_h):
                acc = hacc[h]
                abuf_h[h] = acc << ex if ex >= 0 else acc >> (-ex)
        elif learn_h:
            # hidden OTTT neurons: third factor = the feedback Dense's previous buffer
            for h in range(n_h):
                tf_h[h] = abuf_b[h]
            if rec:
                ll_recurrent_in(tau, LH, LR)
            counts[3] += ll_neurons(tau, LH, tf_h, s_h, d_h, rec_hs, rec_hv, counts, 6)
            if rec:
                ll_share_post(LH, LR)
            ll_forward(tau, LH, act_in, na)
        # presynaptic spikes of the output LearningDense
        n_act = 0
        if hmode == H_NONE:
            for jj in range(na):
                act[jj] = act_in[jj]
            n_act = na
        else:
            for h in range(n_h):
                if s_h[h] != 0:
                    act[n_act] = h
                    n_act += 1
        if rec:
            # the recurrent LearningDense reads the hidden spikes of this step (sent next step)
            ll_forward(tau, LR, act, n_act)
        ll_neurons(tau, LO, TF[tau - 1], s_o, d_o, rec_s, rec_v, counts, 4)
        ll_forward(tau, LO, act, n_act)
        if learn_h:
            # the feedback Dense reads the output deltas (graded) and sends them next step
            ex = BP[0]
            for h in range(n_h):
                acc = 0
                for i in range(n_out):
                    acc += B[h, i] * d_o[i]
                abuf_b[h] = acc << ex if ex >= 0 else acc >> (-ex)
            ll_learn(tau, LH, counts)
        if rec:
            ll_learn(tau, LR, counts)
        ll_learn(tau, LO, counts)
