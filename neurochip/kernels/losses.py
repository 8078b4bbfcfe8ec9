"""Output losses: the error each loss sends back from the readout, as pure njit functions.

Every kernel (float OTTT, float BPTT, integer OTTT) calls these, so one loss has one definition.
Codes follow ``neurochip.network.LOSSES``. Targets: one-hot ``y`` for the membrane losses; for the
spiking readout, a target firing rate ``r_i`` (``RATE_TARGET``: 0.8 for the label, 0.05 for the
others), i.e. a target count ``N_i = r_i T`` over the window.

Integrator readout (losses on the membrane u as logits, threshold units; instantaneous, OTTT eq. 5
``L[t] = l(u[t], y) / T``; the kernels apply the 1/T):

* ``ce``      per-step softmax cross-entropy on the membrane (snnTorch tutorial 5): ``p - y``
* ``mse``     per-step ``mean_i (u_i - y_i)^2``: ``2 (u - y) / n``
* ``ce_mse``  OTTT's mix ``(1 - 0.05) CE + 0.05 MSE`` (official code, paper §5)

Spiking readout (``dL/ds_i[t]``, the 1/T included). The window losses are functions of the spike
counts ``c_i = sum_t s_i[t]``: BPTT differentiates them exactly (``steps = T``, the final counts,
the same gradient at every step); OTTT cannot wait for the window to end, so it evaluates the same
expression on the running count ``c_i[t]`` against the target so far (``steps = t + 1``). That online
form needs no division, so it is the chip's form too.

* ``mse``       per-step ``sum_i (s_i[t] - r_i)^2 / 2T``: ``(s - r) / T``
* ``count``     counting loss (seed 001, eq. 9): ``sum_i (c_i - N_i)^2 / 2T``: ``(c - N) / T``
* ``rate_mse``  STBP's MSE of the mean rate over the window: ``sum_i (c_i / T - r_i)^2 / 2``:
  ``(c - N) / T^2``
* ``rate_ce``   cross-entropy of the spike counts (snnTorch ``ce_count_loss``), scaled by 1/T like
  the per-step losses: ``CE(softmax(c), y) / T``: ``(softmax(c) - y) / T``
* ``count_enh`` enhanced counting loss (seed 001 §4.3-4.4, eqs. 12-14; authors' code,
  zhuyaoyu/SNN-temporal-training-losses ``layers/losses.py``, ``loss_count_plus``): counts clipped
  where they already satisfy their target (the label's above ``N``, the others' below ``N``),
  ``delta = (c - N) / T``; the label's delta weighted by ``max(ratio / 10, 1)``, ``ratio`` = the
  other outputs' clipped count over the label's (balances the positive and negative gradients,
  §4.3); then divided by the clipped count (the quadratic's ``m`` made linear, eq. 13), and zero for
  a neuron with no spikes (the boundary, eq. 14). The authors train on spike *times* and flip the
  sign for the dt/ds conversion; neurochip trains with surrogate gradients on the membrane, so the
  rate-form gradient is used as is at every step. It is not the derivative of a scalar function
  (neither is the authors'), and it divides per output: float only.
"""
from __future__ import annotations

import math

import numba as nb

from ..fixedpoint import NJIT, softmax_int

(L_CE, L_MSE, L_CE_MSE, L_COUNT, L_RATE_CE, L_RATE_MSE, L_COUNT_ENH) = range(7)
ENH_EPS = 1e-5     # the authors' guard in the count ratio


@nb.njit(**NJIT)
def _softmax_norm(logits):
    """(max, sum_i exp(logits_i - max)) of a softmax, accumulated in float64. The callers form
    ``exp(logits_i - max) / z - y`` and the loss mix in float64 and round once, when they store
    into ``out`` (float32 in the OTTT kernel): never use ``out`` as scratch for the exponentials,
    that rounds them to the buffer's precision first (it changed float OTTT results once)."""
    n = logits.shape[0]
    m = logits[0]
    for i in range(1, n):
        m = max(m, logits[i])
    z = 0.0
    for i in range(n):
        z += math.exp(logits[i] - m)
    return m, z


@nb.njit(**NJIT)
def membrane_error(loss, u, label, mix, out):
    """Integrator readout: ``out[i] = dl/du_i`` of the per-step loss on membrane logits ``u``."""
    n = u.shape[0]
    m, z = _softmax_norm(u)
    for i in range(n):
        y = 1.0 if i == label else 0.0
        e_ce = math.exp(u[i] - m) / z - y
        e_mse = 2.0 * (u[i] - y) / n
        if loss == L_CE:
            out[i] = e_ce
        elif loss == L_MSE:
            out[i] = e_mse
        else:
            out[i] = (1.0 - mix) * e_ce + mix * e_mse


@nb.njit(**NJIT)
def _enh_clip(c, target, is_label):
    if is_label and c > target:
        return target
    if (not is_label) and c < target:
        return target
    return c


@nb.njit(**NJIT)
def spike_error(loss, s, counts, steps, T, label, r_hi, r_lo, out):
    """Spiking readout: ``out[i] = dL/ds_i`` at a step with spikes ``s`` and counts ``counts`` over
    ``steps`` steps (see the module docstring for each loss)."""
    n = counts.shape[0]
    if loss == L_RATE_CE:
        m, z = _softmax_norm(counts)
        for i in range(n):
            y = 1.0 if i == label else 0.0
            out[i] = (math.exp(counts[i] - m) / z - y) / T
        return
    if loss == L_COUNT_ENH:
        num = 0.0
        den = 0.0
        for i in range(n):
            r = r_hi if i == label else r_lo
            c = _enh_clip(counts[i], r * steps, i == label)
            if i == label:
                den += c
            else:
                num += c
        w_label = max((num + ENH_EPS) / (den + ENH_EPS) / 10.0, 1.0)
        for i in range(n):
            r = r_hi if i == label else r_lo
            c = _enh_clip(counts[i], r * steps, i == label)
            d = (c - r * steps) / T
            if i == label:
                d *= w_label
            # spread over the neuron's c spikes (authors' ``delta / count * output``): the
            # gradient reaches the steps with a spike only, and sums to delta over the window
            out[i] = d / c * s[i] if c != 0.0 else 0.0
        return
    for i in range(n):
        r = r_hi if i == label else r_lo
        if loss == L_MSE:
            out[i] = (s[i] - r) / T
        elif loss == L_COUNT:
            out[i] = (counts[i] - r * steps) / T
        else:   # L_RATE_MSE
            out[i] = (counts[i] - r * steps) / (T * T)


# ---- integer forms (error in E fractional bits; the 1/T is folded into the learning rate) ------

@nb.njit(**NJIT)
def membrane_error_int(loss, v, label, c_log2e, c_out, mix_ce, mix_mse, lut_exp, err_frac, out):
    """Integer integrator-readout error: softmax via the exp2 table (fixedpoint.softmax_int) on
    logits ``v / theta``, MSE on ``o = (v * c_out) >> 24`` (= v / theta in E bits), the mix in
    1/256ths. Unsaturated; the kernel saturates at the error width."""
    n = v.shape[0]
    if loss != L_MSE:
        softmax_int(v, out, c_log2e, lut_exp, err_frac)
    one = 1 << err_frac
    for i in range(n):
        y = one if i == label else 0
        e_ce = out[i] - y
        o_fx = (v[i] * c_out) >> 24
        e_mse = (2 * (o_fx - y)) // n      # d/do of mean_i (o_i - y_i)^2
        if loss == L_CE:
            out[i] = e_ce
        elif loss == L_MSE:
            out[i] = e_mse
        else:
            out[i] = (mix_ce * e_ce + mix_mse * e_mse) >> 8


@nb.njit(**NJIT)
def spike_error_int(loss, s, counts, t, label, r_hi, r_lo, c_log2e_cnt, lut_exp, err_frac, out):
    """Integer spiking-readout error at step t (online forms; targets r in E fractional bits):
    mse ``(s << E) - r``, count ``(c << E) - r (t + 1)``, rate_ce ``softmax(c) - y`` with the
    softmax of the counts from the exp2 table (``c_log2e_cnt`` = log2(e) scale of one spike)."""
    n = counts.shape[0]
    if loss == L_RATE_CE:
        softmax_int(counts, out, c_log2e_cnt, lut_exp, err_frac)
        out[label] -= 1 << err_frac
        return
    for i in range(n):
        r = r_hi if i == label else r_lo
        if loss == L_COUNT:
            out[i] = (counts[i] << err_frac) - r * (t + 1)
        else:
            out[i] = (s[i] << err_frac) - r
