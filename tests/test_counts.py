"""The kernel's operation counters against hand-derived formulas on tiny networks whose spike rasters
are known: nothing spikes, everything spikes, and a latency-coded raster worked out step by step.

Row l of ``engine.ops`` is weight layer l: its synapses (l -> l + 1), the neurons of layer l + 1
and the presynaptic traces of layer l (see neurochip/counters.py).
"""
from __future__ import annotations

import numpy as np
import pytest

from neurochip.counters import OPS, SAT
from neurochip.energy.counts import Counts
from neurochip.energy.neurobench import neurobench
from neurochip.engine import Engine
from neurochip.network import NetworkConfig, init_state
from neurochip.profile import load_profile

LOIHI = load_profile("loihi")


def make(sizes, weights, T, encoder, readout="integrator", loss=None, surrogate="sigmoid", rule="ottt-o",
         profile=LOIHI):
    loss = loss or ("mse" if readout == "spiking" else "ce_mse")
    cfg = NetworkConfig(sizes=sizes, timesteps=T, encoder=encoder, readout=readout, loss=loss,
                        surrogate=surrogate, rule=rule)
    st = init_state(cfg, profile)
    if weights is not None:
        st.weights = [np.asarray(w, np.int32) for w in weights]
    return Engine(cfg, profile, st)


def run(eng, x, learn):
    x = np.asarray(x, float)
    y = np.zeros(len(x), np.int64)
    eng.reset_counters()
    eng.run(eng.prepare(x), y, np.arange(len(x)), learn)
    return {k: eng.ops[:, i].tolist() for i, k in enumerate(OPS)}, {k: eng.sat[:, i].tolist() for i, k in enumerate(SAT)}


def expect(ops, **rows):
    for k, v in rows.items():
        assert ops[k] == v, (k, ops[k], v)


def test_nothing_spikes_inference_and_learning():
    """Latency code with x = 0: no input spike ever. Spiking readout, MSE, spike-operator surrogate:
    every error is zero (the surrogate is the spike), so no backward op or weight update happens."""
    n0, n1, n2, T, N = 3, 4, 2, 5, 2
    eng = make((n0, n1, n2), None, T, "latency", readout="spiking", surrogate="spike_operator")
    ops, sat = run(eng, np.zeros((N, n0)), learn=False)
    expect(ops, pre_events=[0, 0], pre_values=[n0 * T * N, n1 * T * N], syn_ops=[0, 0], eff_syn_ops=[0, 0],
           dense_ops=[n0 * n1 * T * N, n1 * n2 * T * N], neuron_active=[0, 0],
           neuron_idle=[n1 * T * N, n2 * T * N], spikes=[0, 0], spike_msgs=[0, 0], encoder_draws=[0, 0])
    for k in ("trace_updates", "surrogate_evals", "error_msgs", "bwd_syn_ops", "wupd_attempted", "wupd_nonzero",
              "acc_writes", "prng_draws", "loss_evals"):
        assert ops[k] == [0, 0], k            # inference does no learning work
    ops, sat = run(eng, np.zeros((N, n0)), learn=True)
    expect(ops, syn_ops=[0, 0], spikes=[0, 0],
           trace_updates=[n0 * T * N, n1 * T * N],          # every trace, every step (row l: layer l's traces)
           surrogate_evals=[n1 * T * N, n2 * T * N],        # hidden neurons; spiking readout's neurons
           loss_evals=[0, n2 * T * N],
           error_msgs=[0, 0], bwd_syn_ops=[0, 0], wupd_attempted=[0, 0], wupd_nonzero=[0, 0],
           acc_writes=[0, 0],
           prng_draws=[0, 0])                              # a zero trace decays without a draw


def test_zero_weights_nothing_fires():
    """Direct input (graded, non-zero every step) through all-zero weights: layer 0 does its
    synaptic ops (MACs) but no neuron receives current, fires or sends a message."""
    n0, n1, n2, T, N = 3, 4, 2, 4, 3
    eng = make((n0, n1, n2), [np.zeros((n0, n1)), np.zeros((n1, n2))], T, "direct")
    ops, _ = run(eng, np.full((N, n0), 0.5), learn=False)
    expect(ops, pre_events=[n0 * T * N, 0], syn_ops=[n0 * n1 * T * N, 0], eff_syn_ops=[0, 0],
           dense_ops=[n0 * n1 * T * N, n1 * n2 * T * N], neuron_active=[0, 0],
           neuron_idle=[n1 * T * N, n2 * T * N], spikes=[0, 0], spike_msgs=[0, 0])


@pytest.mark.parametrize("rule", ["ottt-o", "ottt-a"])
def test_everything_spikes(rule):
    """Direct input x = 1 (graded 255 every step) through maximal weights: every hidden and output
    neuron fires every step. Errors (spiking readout, MSE, spike operator) are all non-zero."""
    n0, n1, n2, T, N = 3, 4, 2, 3, 2
    eng = make((n0, n1, n2), [np.full((n0, n1), 127), np.full((n1, n2), 127)], T, "direct",
               readout="spiking", surrogate="spike_operator", rule=rule)
    ops, _ = run(eng, np.ones((N, n0)), learn=False)
    full = dict(pre_events=[n0 * T * N, n1 * T * N], pre_values=[n0 * T * N, n1 * T * N],
                syn_ops=[n0 * n1 * T * N, n1 * n2 * T * N], eff_syn_ops=[n0 * n1 * T * N, n1 * n2 * T * N],
                dense_ops=[n0 * n1 * T * N, n1 * n2 * T * N], neuron_active=[n1 * T * N, n2 * T * N],
                neuron_idle=[0, 0], spikes=[n1 * T * N, n2 * T * N],
                spike_msgs=[n1 * T * N, 0])                   # the readout has no outgoing synapses
    expect(ops, **full)
    ops, sat = run(eng, np.ones((N, n0)), learn=True)
    expect(ops, **full)
    ush = eng.ilay.update_shift
    tried = [n0 * n1 * T * N, n1 * n2 * T * N]              # every trace x every error is non-zero
    expect(ops, trace_updates=[n0 * T * N, n1 * T * N], surrogate_evals=[n1 * T * N, n2 * T * N],
           loss_evals=[0, n2 * T * N], error_msgs=[n1 * T * N, n2 * T * N],
           bwd_syn_ops=[0, n1 * n2 * T * N],                # errors into layer 1 through W_1
           wupd_attempted=tried)
    assert sat["update_attempted"] == tried
    done = [t - z for t, z in zip(tried, sat["update_zero"])]
    trace_draws = [n0 * (T - 1) * N, n1 * (T - 1) * N]      # stochastic decay of non-zero traces (t >= 1)
    if rule == "ottt-o":
        assert ops["wupd_nonzero"] == done and ops["acc_writes"] == [0, 0]
        # row-shared stochastic rounding (chip-model.md §5): one draw per presynaptic row and step
        upd_draws = [n * T * N if s > 0 else 0 for n, s in zip((n0, n1), ush)]
        assert ops["prng_draws"] == [a + b for a, b in zip(trace_draws, upd_draws)]
    else:
        assert ops["acc_writes"] == done                   # non-zero products accumulated
        assert all(w <= a for w, a in zip(ops["wupd_nonzero"], ops["acc_writes"]))
        assert all(p >= d for p, d in zip(ops["prng_draws"], trace_draws))


def test_known_latency_raster():
    """T = 5, latency code: input 0 spikes at t = 0, input 1 at t = round(0.5 * 4) = 2, input 2 never.
    W0 is diagonal and strong (127 << weight_exp > threshold): hidden neuron i fires exactly
    when input i does, and reset-to-zero leaves it silent after. W1 = [[1, 0], [0, 0], [5, 5]]."""
    T, N = 5, 2
    W0 = np.diag([127, 127, 127])
    W1 = np.array([[1, 0], [0, 0], [5, 5]])
    eng = make((3, 3, 2), [W0, W1], T, "latency")
    assert all(127 << e > LOIHI.neuron.threshold for e in eng.ilay.weight_exp)   # one spike fires
    ops, _ = run(eng, np.tile([1.0, 0.5, 0.0], (N, 1)), learn=False)
    per_sample = dict(
        pre_events=[2, 2],            # two input spikes; two hidden spikes
        pre_values=[3 * T, 3 * T],
        syn_ops=[2 * 3, 2 * 2],       # each spike x fan-out
        eff_syn_ops=[2 * 1, 1 + 0],   # non-zero weights in the spiking rows: W0 rows have 1; W1 rows 1 and 0
        dense_ops=[3 * 3 * T, 3 * 2 * T],
        neuron_active=[2, 1],         # hidden 0 at t=0, hidden 1 at t=2; output 0 at t=0 (W1[1] is all zero)
        neuron_idle=[3 * T - 2, 2 * T - 1],
        spikes=[2, 0],                # the integrator readout never fires
        spike_msgs=[2, 0],
        encoder_draws=[0, 0])
    expect(ops, **{k: [v * N for v in vals] for k, vals in per_sample.items()})
    nb = neurobench(Counts(eng.ops.copy(), N, False), eng).to_dict()
    assert nb["SynapticOperations"] == {"Effective_MACs": 0.0, "Effective_ACs": 3.0, "Dense": 75.0}
    assert nb["ActivationSparsity"] == pytest.approx(1 - 2 / 15)      # hidden layer only (readout does not spike)
    assert nb["ConnectionSparsity"] == pytest.approx((6 + 3) / 15)


def test_rate_encoder_draws():
    """The rate encoder draws one 8-bit number per input per step, spiking or not."""
    n0, T, N = 5, 6, 3
    eng = make((n0, 2, 2), None, T, "rate")
    ops, _ = run(eng, np.random.default_rng(0).uniform(size=(N, n0)), learn=False)
    assert ops["encoder_draws"] == [n0 * T * N, 0]
    assert ops["syn_ops"][0] == ops["pre_events"][0] * 2
