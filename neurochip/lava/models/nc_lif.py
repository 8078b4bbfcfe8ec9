"""SIMULATION ONLY: neurochip's integer LIF as a Lava Process and fixed-point ProcessModel.

Stock Lava 0.10 has no LIF with subtractive reset, a ``>=`` compare, a floor (arithmetic-shift)
leak, or membrane/current widths other than 24 bits (``docs/design/lava-semantics.md`` §3). A network
on such a profile (e.g. ``generic``) is exported with this neuron instead of ``LIF``; it runs in
Lava's CPU simulator (``Loihi2SimCfg(select_tag='fixed_pt')``), not on Loihi.

Per step, as ``neurochip/kernels/ottt_int.py`` (the activation ``a`` arrives from a stock Dense,
already shifted by its weight_exp)::

    u = a << input_shift, wrapped (one conditional +-2^bits, as Lava) or saturated at current_bits
    v = sat_sym(leak(v) + u + bias, membrane_bits)
    leak: floor  v - (v >> k);  toward_zero  sign(v) * ((|v| * (2^k - 1)) >> k);  k = 0: 0
    s = v > threshold (or >=) when ``fires``; then v = 0 (reset "zero") or v - threshold ("subtract")

``reset_interval`` > 0: u and v return to 0 at the start of every step with
``time_step % reset_interval == reset_offset`` (as Lava's LIFReset), so samples run back to back.
Arithmetic is int64 (neurochip's kernels are int64).
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

LEAK_MODES = ("floor", "toward_zero")
RESETS = ("zero", "subtract")
COMPARES = (">", ">=")
OVERFLOWS = ("wrap", "clip")


class NcLIF(AbstractProcess):
    """SIMULATION ONLY. neurochip's integer LIF neuron population (see the module docstring)."""

    def __init__(self, *, shape, bias=0, leak_shift: int = 1, leak_mode: str = "floor", reset: str = "subtract",
                 compare: str = ">=", membrane_bits: int = 16, current_bits: int = 16,
                 current_overflow: str = "clip", input_shift: int = 0, threshold: int = 1024,
                 fires: bool = True, reset_interval: int = 0, reset_offset: int = 0, name=None):
        for key, val, allowed in (("leak_mode", leak_mode, LEAK_MODES), ("reset", reset, RESETS),
                                  ("compare", compare, COMPARES), ("current_overflow", current_overflow, OVERFLOWS)):
            if val not in allowed:
                raise ValueError(f"NcLIF: {key} must be one of {allowed}, got {val!r}")
        super().__init__(shape=shape, leak_shift=int(leak_shift), leak_mode=leak_mode, reset=reset,
                         compare=compare, membrane_bits=int(membrane_bits), current_bits=int(current_bits),
                         current_overflow=current_overflow, input_shift=int(input_shift),
                         threshold=int(threshold), fires=bool(fires), reset_interval=int(reset_interval),
                         reset_offset=int(reset_offset), name=name)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.u = Var(shape=shape, init=0)
        self.v = Var(shape=shape, init=0)
        self.bias = Var(shape=shape, init=bias)


@implements(proc=NcLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyNcLIFModelFixed(PyLoihiProcessModel):
    """SIMULATION ONLY: no Loihi implementation exists for this model."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32)
    u: np.ndarray = LavaPyType(np.ndarray, np.int64)
    v: np.ndarray = LavaPyType(np.ndarray, np.int64)
    bias: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = proc_params
        self.k = p["leak_shift"]
        self.toward_zero = p["leak_mode"] == "toward_zero"
        self.subtract = p["reset"] == "subtract"
        self.ge = p["compare"] == ">="
        self.mem_hi = (1 << (p["membrane_bits"] - 1)) - 1
        self.cur_half = 1 << (p["current_bits"] - 1)
        self.cur_wrap = p["current_overflow"] == "wrap"
        self.in_shift = p["input_shift"]
        self.thr = p["threshold"]
        self.fires = p["fires"]
        self.reset_interval = p["reset_interval"]
        self.reset_offset = p["reset_offset"] % self.reset_interval if self.reset_interval > 0 else 0

    def _leak(self, v):
        k = self.k
        if k == 0:
            return np.zeros_like(v)
        if not self.toward_zero:
            return v - (v >> k)
        r = (np.abs(v) * ((1 << k) - 1)) >> k
        return np.where(v >= 0, r, -r)

    def run_spk(self):
        a = self.a_in.recv().astype(np.int64)
        if self.reset_interval > 0 and self.time_step % self.reset_interval == self.reset_offset:
            self.u[:] = 0
            self.v[:] = 0
        u = a << self.in_shift
        m = self.cur_half
        if self.cur_wrap:
            u = np.where(u > m, u - 2 * m, np.where(u <= -m, u + 2 * m, u))
        else:
            u = np.clip(u, -m, m - 1)
        v = np.clip(self._leak(self.v.astype(np.int64)) + u + self.bias.astype(np.int64), -self.mem_hi, self.mem_hi)
        if self.fires:
            s = v >= self.thr if self.ge else v > self.thr
        else:
            s = np.zeros(v.shape, bool)
        if self.subtract:
            v = np.where(s, v - self.thr, v)
        else:
            v = np.where(s, 0, v)
        self.u[:] = u
        self.v[:] = v
        self.s_out.send(s.astype(np.int32))
