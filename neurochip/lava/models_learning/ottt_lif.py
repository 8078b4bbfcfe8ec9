"""OTTT learning neuron for Lava's three-factor learning engine (Loihi3FLearningRule).

A Lava LIF population (Lava's own bit-accurate sub-threshold dynamics, ``AbstractPyLifModelFixed``
in lava/proc/lif/models.py:72-192, as the stock ``PyLifResetModelBitAcc`` and the tutorial's
``RSTDPLIFBitAcc`` / lava/proc/clp/prototype_lif/models.py ``PrototypeLIFBitAcc`` use) that also
computes OTTT's output-layer error signal and hands it to the ``LearningDense`` feeding it.

Per step (``run_spk``), after the usual LIF update and spike ``s = v > vth << 6``:

* third factor ``tf`` from ``a_third_factor_in`` (int32, same step: connect a RingBuffer);
  ``mode = "target"``: ``tf = r + 1`` with r the target rate in error units (a spike is
  ``1 << err_frac``), ``tf = 0`` means no teaching signal; error ``e = (s << err_frac) - r``
  (neurochip's spiking-readout MSE error, neurochip/kernels/ottt_int.py step 4);
  ``mode = "error"``: ``e = tf`` (any signed error, e.g. fed back through a fixed Dense).
* ``delta = clip((e * sg) >> (sg_bits + err_shift), -delta_max, delta_max)`` (``delta_rounding``:
  floor, as neurochip's output error, or nearest with ties up, as its hidden errors) with ``sg`` the
  integer surrogate derivative of the PRE-reset membrane from neurochip's LUT
  (neurochip/surrogate.py ``surrogate_lut``, indexed as ottt_int.py ``_surrogate``).
* y-traces (Loihi3F: the LearningDense overwrites its y1..y3 with these values every step,
  lava/magma/core/model/py/connection.py:400-412): ``encoding = "split"``: y2 = relu(-delta),
  y3 = relu(delta) for the rule ``2^E*u0*x1*y2 - 2^E*u0*x1*y3`` (both non-negative, so the
  engine's [0, 127] clip of bAP neurons' y-traces changes nothing, lava-semantics.md §5.5);
  ``encoding = "signed"``: y2 = -delta for ``2^E*u0*x1*y2`` (deviates where a bAP clips it);
  y1 = ``y1_const``.
* bAP ``s_out_bap``: on the neuron's spike (``"spike"``), every step (``"always"``), while taught
  (``"teach"``: tf != 0) or never. The rule uses only the u0 dependency, so the bAP matters only
  through that clipping.
* ``s_out_err``: delta itself (graded int32), for fixed random feedback to a hidden layer through
  a Dense with ``num_message_bits`` > 0 into the hidden OtttLIF's third-factor port (error mode).

``reset_interval`` > 0 returns u and v to 0 at the start of every step with ``time_step %
reset_interval == reset_offset`` (as Lava's LIFReset), so samples stream back to back.
``record_steps`` > 0 keeps the spikes and pre-reset membranes of the first ``record_steps`` steps in
the Vars ``rec_s`` / ``rec_v`` (n x steps) for the comparison with neurochip; it is a simulation
convenience (a chip would use spike probes) and does not change the dynamics.

neurochip's emulation of exactly this model: ``neurochip/kernels/lava_engine.py`` (``lif_step``,
``ottt_delta``).
"""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.neuron import LearningNeuronModelFixed
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.neuron import LearningNeuronProcess
from lava.magma.core.process.ports.ports import OutPort
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.lif.models import AbstractPyLifModelFixed
from lava.proc.lif.process import AbstractLIF

MODES = ("target", "error")
ENCODINGS = ("split", "signed")
BAPS = ("never", "spike", "always", "teach")
ROUNDINGS = ("floor", "nearest")
from neurochip.surrogate import LUT_SIZE  # noqa: E402  (the one table size)


class OtttLIF(LearningNeuronProcess, AbstractLIF):
    """LIF neurons that compute OTTT's delta = surrogate(v) * error and send it as y-traces."""

    def __init__(self, *, shape, learning_rule, du: int = 4095, dv: int = 0, vth: int = 10,
                 bias_mant=0, bias_exp=0, reset_interval: int = 0, reset_offset: int = 0,
                 mode: str = "target", err_frac: int = 6, sg_lut=None, c_sg: int = 0, sg_bits: int = 4,
                 spike_op: bool = False, err_shift: int = 0, delta_max: int = 127, bap: str = "spike",
                 encoding: str = "split", y1_const: int = 0, record_steps: int = 0, delta_rounding: str = "floor",
                 name=None):
        for key, val, allowed in (("mode", mode, MODES), ("encoding", encoding, ENCODINGS), ("bap", bap, BAPS),
                                  ("delta_rounding", delta_rounding, ROUNDINGS)):
            if val not in allowed:
                raise ValueError(f"OtttLIF: {key} must be one of {allowed}, got {val!r}")
        lut = np.zeros(LUT_SIZE, np.int64) if sg_lut is None else np.asarray(sg_lut, np.int64)
        if lut.shape != (LUT_SIZE,):
            raise ValueError(f"OtttLIF: sg_lut must have {LUT_SIZE} entries")
        super().__init__(shape=shape, learning_rule=learning_rule, u=0, v=0, du=du, dv=dv,
                         bias_mant=bias_mant, bias_exp=bias_exp, name=name, log_config=None,
                         reset_interval=int(reset_interval), reset_offset=int(reset_offset), mode=mode,
                         err_frac=int(err_frac), c_sg=int(c_sg), sg_bits=int(sg_bits), spike_op=bool(spike_op),
                         err_shift=int(err_shift), delta_max=int(delta_max), bap=bap, encoding=encoding,
                         y1_const=int(y1_const), record_steps=int(record_steps), delta_rounding=delta_rounding)
        self.vth = Var(shape=(1,), init=vth)
        self.s_out_err = OutPort(shape=shape)
        self.sg_lut = Var(shape=(LUT_SIZE,), init=lut)
        n_rec = max(int(record_steps), 1)
        self.rec_s = Var(shape=(shape[0], n_rec), init=0)
        self.rec_v = Var(shape=(shape[0], n_rec), init=0)


@implements(proc=OtttLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("bit_accurate_loihi", "fixed_pt")
class PyOtttLIFModelFixed(LearningNeuronModelFixed, AbstractPyLifModelFixed):
    """Fixed-point model: Lava's LIF arithmetic plus OTTT's integer delta (module docstring)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    s_out_err: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    vth: int = LavaPyType(int, np.int32, precision=17)
    sg_lut: np.ndarray = LavaPyType(np.ndarray, np.int64)
    rec_s: np.ndarray = LavaPyType(np.ndarray, np.int32)
    rec_v: np.ndarray = LavaPyType(np.ndarray, np.int32)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        p = proc_params
        self.effective_vth = 0
        self.reset_interval = p["reset_interval"]
        self.reset_offset = p["reset_offset"] % self.reset_interval if self.reset_interval > 0 else 0
        self.target_mode = p["mode"] == "target"
        self.err_frac = p["err_frac"]
        self.c_sg = p["c_sg"]
        self.sg_bits = p["sg_bits"]
        self.spike_op = p["spike_op"]
        self.err_shift = p["err_shift"]
        self.delta_max = p["delta_max"]
        self.bap_mode = p["bap"]
        self.split = p["encoding"] == "split"
        self.y1_const = p["y1_const"]
        self.record_steps = p["record_steps"]
        self.nearest = p["delta_rounding"] == "nearest"

    def scale_threshold(self):
        self.effective_vth = np.left_shift(self.vth, self.vth_shift)
        self.isthrscaled = True

    def spiking_activation(self):
        return self.v > self.effective_vth

    def _surrogate(self, vpre: np.ndarray, s: np.ndarray) -> np.ndarray:
        one = 1 << self.sg_bits
        if self.spike_op:
            return np.where(s, one, 0).astype(np.int64)
        thr = np.int64(self.effective_vth)
        idx = (((vpre - thr) * self.c_sg) >> 24) + LUT_SIZE // 2
        ok = (idx >= 0) & (idx < LUT_SIZE)
        lut = np.asarray(self.sg_lut, np.int64)
        return np.where(ok, lut[np.clip(idx, 0, LUT_SIZE - 1)], 0)

    def run_spk(self):
        a_in = self.a_in.recv()
        tf = self.a_third_factor_in.recv().astype(np.int64)
        if self.reset_interval > 0 and self.time_step % self.reset_interval == self.reset_offset:
            self.u *= 0
            self.v *= 0
        self.scale_bias()
        if not self.isthrscaled:
            self.scale_threshold()
        self.subthr_dynamics(activation_in=a_in)
        s = self.spiking_activation()
        vpre = self.v.astype(np.int64)
        si = s.astype(np.int64)
        if self.target_mode:
            e = np.where(tf != 0, (si << self.err_frac) - (tf - 1), 0)
        else:
            e = tf
        n = self.sg_bits + self.err_shift
        prod = e * self._surrogate(vpre, s)
        d = (prod + (1 << (n - 1))) >> n if (self.nearest and n > 0) else prod >> n
        d = np.clip(d, -self.delta_max, self.delta_max)
        self.reset_voltage(spike_vector=s)
        if self.split:
            y2, y3 = np.maximum(-d, 0), np.maximum(d, 0)
        else:
            y2, y3 = -d, np.zeros_like(d)
        y1 = np.full(d.shape, self.y1_const, np.int64)
        if self.bap_mode == "spike":
            bap = s.copy()
        elif self.bap_mode == "always":
            bap = np.ones(s.shape, bool)
        elif self.bap_mode == "teach":
            bap = tf != 0
        else:
            bap = np.zeros(s.shape, bool)
        self.y1 = y1.astype(np.int32)
        self.y2 = y2.astype(np.int32)
        self.y3 = y3.astype(np.int32)
        t = self.time_step
        if t <= self.record_steps:
            self.rec_s[:, t - 1] = si
            self.rec_v[:, t - 1] = vpre
        self.s_out.send(s)
        self.s_out_bap.send(bap)
        self.s_out_y1.send(self.y1)
        self.s_out_y2.send(self.y2)
        self.s_out_y3.send(self.y3)
        self.s_out_err.send(d.astype(np.int32))
