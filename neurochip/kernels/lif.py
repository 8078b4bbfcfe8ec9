"""The integer LIF neuron, step by step: written once, shared by every integer kernel.

``kernels/ottt_int.py`` (learning), ``kernels/lif_run.py`` (inference, Lava comparison) and
``kernels/lava_engine.py`` (Lava learning-engine emulation) call these; the arithmetic cites
``docs/design/chip-model.md`` §1 and ``docs/design/lava-semantics.md`` §2-4. Each helper is a
pure scalar function of (input, state, params) returning (output, new state) and flags the
caller counts (wrap/clip events). Pure-Python twins: ``tests/reference.py``. The same update of a
whole layer in int32 lanes, where a bound proves it exact: ``kernels/lif32.py`` (inference kernel).

One neuron update of layer ``lif`` (:class:`neurochip.kernels.state.LifParams`), weighted sum ``c``:

    u  = shift_exp(c, weight_exp) << in_shift, wrapped (Lava) or saturated at cur_bits   (lif_input)
    v' = sat_sym(leak(v, leak_shift, leak_mode) + u + bias, mem_bits)                    (lif_integrate)
    s  = v' > thr (or >=); v = 0 (or v' - thr) if s; an integrator never fires            (lif_fire)
"""
from __future__ import annotations

import numba as nb

from ..fixedpoint import NJIT, leak, sat, sat_sym, shift_exp, wrap_lava


@nb.njit(**NJIT)
def lif_input(c, lif):
    """Weighted sum -> synaptic input u: returns (u, 1 if it wrapped/saturated else 0)."""
    u = shift_exp(c, lif.weight_exp) << lif.in_shift
    if lif.cur_wrap:
        u2 = wrap_lava(u, lif.cur_bits)
    else:
        u2 = sat(u, lif.cur_bits)
    return u2, 1 if u2 != u else 0


@nb.njit(**NJIT)
def lif_integrate(v, u, bias, lif):
    """Leak, integrate, clip: returns (v_pre_reset, 1 if clipped else 0)."""
    vv = leak(v, lif.leak_shift, lif.leak_mode) + u + bias
    v2 = sat_sym(vv, lif.mem_bits)
    return v2, 1 if v2 != vv else 0


@nb.njit(**NJIT)
def lif_fire(v, lif):
    """Compare and reset: returns (spike 0/1, v after the reset)."""
    if not lif.fires:
        return 0, v
    if lif.ge:
        sp = 1 if v >= lif.thr else 0
    else:
        sp = 1 if v > lif.thr else 0
    if sp:
        if lif.reset_sub:
            return 1, v - lif.thr
        return 1, 0 * v
    return 0, v


@nb.njit(**NJIT)
def lif_step(c, v, bias, lif):
    """One neuron, one step: returns (spike, v after reset, v before reset, wrapped, clipped)."""
    u, wrapped = lif_input(c, lif)
    vp, clipped = lif_integrate(v, u, bias, lif)
    sp, v2 = lif_fire(vp, lif)
    return sp, v2, vp, wrapped, clipped


__all__ = ["lif_input", "lif_integrate", "lif_fire", "lif_step"]
