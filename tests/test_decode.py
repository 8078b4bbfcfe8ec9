"""Decoders (kernels/decode.py): hand-worked cases, and the same decoding in every kernel."""
from __future__ import annotations

import numpy as np
import pytest

from neurochip.engine import Engine
from neurochip.errors import NeurochipError
from neurochip.kernels.decode import D_LATENCY, D_MEMBRANE, D_RATE, predict
from neurochip.network import NetworkConfig
from neurochip.profile import load_profile

C = np.array([2.0, 5.0, 5.0, 0.0])          # spike counts
M = np.array([9.0, 1.0, 3.0, 20.0])         # integrated membranes
F = np.array([1.0, 4.0, 2.0, 8.0])          # first spike steps (T = 8: never)


def test_membrane_decoder_takes_the_largest_integrated_membrane():
    assert predict(C, M, F, D_MEMBRANE) == 3


def test_rate_decoder_takes_most_spikes_ties_by_membrane():
    assert predict(C, M, F, D_RATE) == 2


def test_latency_decoder_takes_the_first_spike_ties_by_count_then_membrane():
    assert predict(C, M, F, D_LATENCY) == 0
    F2 = np.array([2.0, 2.0, 2.0, 8.0])
    assert predict(C, M, F2, D_LATENCY) == 2         # tie at step 2: counts 5 = 5, membrane 3 > 1
    assert predict(np.zeros(3), np.zeros(3), np.full(3, 8.0), D_LATENCY) == 0   # nobody spiked


def test_decoder_choice_is_checked():
    with pytest.raises(NeurochipError, match="spiking readout"):
        NetworkConfig(sizes=(4, 2), decoder="latency")
    assert NetworkConfig(sizes=(4, 2)).decoder_resolved == "membrane"
    assert NetworkConfig(sizes=(4, 2), readout="spiking", loss="mse").decoder_resolved == "rate"


@pytest.mark.parametrize("precision,rule", [("int", "ottt-o"), ("float", "ottt-o"), ("float", "bptt")])
def test_kernels_decode_as_the_reference_decoders(precision, rule):
    """Each kernel's predictions under the three decoders equal predict() on readout statistics
    gathered independently: the same network run at T = 1..6 (fresh state each time), whose
    cumulative spike counts give the first-spike steps."""
    prof = load_profile("loihi")
    x = np.random.default_rng(0).uniform(0, 1, (40, 12))
    y = np.arange(40) % 4
    base = dict(sizes=(12, 16, 4), timesteps=6, readout="spiking", loss="mse", precision=precision,
                rule=rule, init_gain=4.0, seed=2)
    # output biases make several outputs fire, at different times and rates
    frac = np.random.default_rng(1).uniform(0.15, 0.6, 4)
    unit = prof.neuron.threshold_membrane if precision == "int" else 1.0
    bias = np.round(frac * unit) if precision == "int" else frac

    def engine(**kw):
        e = Engine(NetworkConfig(**{**base, **kw}), prof)
        e.B[-4:] = bias
        return e

    preds = {}
    for dec in ("membrane", "rate", "latency"):
        eng = engine(decoder=dec)
        preds[dec] = eng.run(eng.prepare(x), y, np.arange(40), False)
    # the decoders disagree somewhere (the test is not vacuous) ...
    assert len({tuple(p) for p in preds.values()}) > 1
    # ... and each equals predict() on the readout statistics gathered step by step: run the
    # network at T = 1..6 (same input, fresh state) and difference the cumulative counts
    T = base["timesteps"]
    for n in range(40):
        counts = np.zeros(4)
        first = np.full(4, float(T))
        outsum = np.zeros(4)
        prev_c = np.zeros(4)
        prev_m = np.zeros(4)
        for t in range(1, T + 1):
            # BPTT keeps its readout statistics inside its kernel; its inference forward is the
            # float OTTT kernel's, which exposes them
            e = engine(timesteps=t, rule="ottt-o")
            e.run(e.prepare(x[n:n + 1]), y[n:n + 1], np.array([0]), False)
            c_t, m_t = e._out[1].astype(float), e._out[0].astype(float)
            new = c_t - prev_c
            first = np.where((new > 0) & (first == T), t - 1, first)
            prev_c, prev_m = c_t, m_t
        counts, outsum = prev_c, prev_m
        for dec, code in (("membrane", D_MEMBRANE), ("rate", D_RATE), ("latency", D_LATENCY)):
            assert preds[dec][n] == predict(counts, outsum, first, code), (dec, n)
