"""Float OTTT reference for networks with layer kinds (conv, pool, recurrent dense, CUBA neurons).

The float twin of the integer layer kernels (kernels/conv.py, pool.py, recurrent.py, cuba.py), in
threshold units (Vth = 1), plain numpy: every weight layer is a list of synapses
``(pre j, post i, weight index w)`` (:func:`synapse_arrays`; a pool's synapses share one fixed
weight 2^-shift, a conv's share W[ci, ky, kx, co]), so

    forward  I_i  = sum over synapses of W[w] s_j                       (+ recurrent: s(t-1))
             CUBA u = lambda_u u + I (lambda_u = 1 - 2^-k_u, 0 for k_u = 0); v = lambda v + u + b
    error    d_j  = sum over feed-forward synapses of W[w] g_i;  g_j = d_j sigma'(v_j - 1)
    gradient G[w] += sum over synapses of g_i a_j                      (OTTT eq. 4: g_u[t] a[t]^T)

with traces ``a <- lambda_post a + s`` (OTTT eq. 4; a recurrent layer's own-spike trace
``a_rec <- lambda a_rec + s(t-1)`` decays with its own leak, as the integer kernel's). A CUBA
layer's exact trace (``cuba_trace="exact"``, docs/layers.md) filters the input twice,
``z <- lambda_u z + s``, ``a <- lambda_post a + z`` (``"plain"``: ``z = s``). SGD, momentum or
Adam (the dense float kernels' step, kernels/optim_float.py), every step (OTTT_O) or once per
sample (OTTT_A). A reference, not a fast path: the integer kernels
are the simulator; this is what their arithmetic approximates. Encoders, readouts, losses and
surrogates are the dense float reference's (kernels/lif_float.py, kernels/losses.py).
"""
from __future__ import annotations

import numpy as np

from ..layers import CONV, POOL, RECURRENT
from .lif_float import encode, surrogate_f
from .pack_float import float_learn
from .losses import membrane_error, spike_error
from .optim_float import param_step


def synapse_arrays(spec):
    """(pre, post, widx) int64 arrays of a weight layer's feed-forward synapses (widx -1: a pool's
    fixed weight), and the recurrent synapses (empty unless RecurrentDense)."""
    if spec.kind in (CONV, POOL):
        (ci_n, h, w), (co_n, ho, wo) = spec.in_shape, spec.out_shape
        k, s, p = spec.kernel, spec.stride, spec.padding
        co, oy, ox, ky, kx = np.meshgrid(np.arange(co_n), np.arange(ho), np.arange(wo), np.arange(k), np.arange(k),
                                         indexing="ij")
        iy, ix = oy * s - p + ky, ox * s - p + kx
        ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
        co, oy, ox, ky, kx, iy, ix = (a[ok] for a in (co, oy, ox, ky, kx, iy, ix))
        post = (co * ho + oy) * wo + ox
        if spec.kind == POOL:
            return ((co * h + iy) * w + ix, post, np.full(post.shape, -1)), None
        ci = np.arange(ci_n)[:, None]
        pre = ((ci * h + iy) * w + ix).ravel()
        widx = (((ci * k + ky) * k + kx) * co_n + co).ravel()
        return (pre, np.broadcast_to(post, (ci_n, post.size)).ravel(), widx), None
    n_in, n_out = spec.n_in, spec.n_out
    j, i = np.meshgrid(np.arange(n_in), np.arange(n_out), indexing="ij")
    ff = (j.ravel(), i.ravel(), (j * n_out + i).ravel())
    rec = None
    if spec.kind == RECURRENT:
        j, i = np.meshgrid(np.arange(n_out), np.arange(n_out), indexing="ij")
        rec = (j.ravel(), i.ravel(), ((n_in + j) * n_out + i).ravel())
    return ff, rec


class FloatLayerNet:
    """The float network of ``cfg`` (layer kinds) over the back end's flat parameters."""

    def __init__(self, cfg, profile, lay, W, B, FB):
        self.cfg, self.lay, self.W, self.B, self.FB = cfg, lay, W, B, FB
        self.specs = cfg.layers
        self.syn = [synapse_arrays(sp) for sp in self.specs]
        k_hidden = profile.neuron.leak_shift
        k_r = k_hidden if cfg.readout_leak_shift < 0 else cfg.readout_leak_shift
        ks = list(cfg.leak_shifts) or [k_hidden] * (len(self.specs) - 1) + [k_r]   # leak_shifts: NIR import
        lam = lambda k: 1.0 - 2.0 ** -k if k > 0 else 0.0    # noqa: E731
        self.lam = [lam(k) for k in ks]
        self.lam_u = [lam(sp.k_u) for sp in self.specs]
        # the current's decay in the trace: the exact CUBA eligibility, or 0 (the plain trace)
        self.lam_tr = self.lam_u if cfg.cuba_trace == "exact" else [0.0] * len(self.specs)
        self.pool_w = [2.0 ** -sp.shift if sp.kind == POOL else 0.0 for sp in self.specs]
        self.ge = profile.neuron.compare == ">="
        self.subtract = profile.neuron.reset == "subtract"
        from ..surrogate import SURROGATE_CODES, param_of
        self.sg_code = SURROGATE_CODES[cfg.surrogate]
        self.sg_p = param_of(cfg.surrogate, cfg.surrogate_param)
        self.lr = cfg.lr
        self.G = np.zeros_like(W)
        # optimizer (the dense float kernels' rule, kernels/optim_float.py): moments and step count
        self.lp = float_learn(cfg)
        self.M1, self.M2 = np.zeros_like(W), np.zeros_like(W)
        self.step = np.zeros(1, np.int64)

    def opt_step(self, G):
        """One optimizer step of the learned weights from gradient ``G`` (float64, the feed-forward
        part; consumed): SGD, momentum or Adam exactly as the dense float kernels
        (kernels/optim_float.py ``param_step``, the shared weights of a conv included), counted in
        ``self.step`` (Adam's bias correction)."""
        self.step[0] += 1
        param_step(self.W, G, self.M1, self.M2, 0, self.lay.n_ff, self.lp._replace(lr=float(self.lr)), int(self.step[0]))

    def _w(self, l):
        o = self.lay.woff[l]
        return self.W[o:o + self.specs[l].n_weights].astype(np.float64)

    def _sum(self, l, syn, wl, s_pre, n_post):
        pre, post, widx = syn
        wv = np.full(pre.shape, self.pool_w[l]) if widx[0] < 0 else wl[widx]
        return np.bincount(post, weights=wv * s_pre[pre], minlength=n_post)

    def _sg(self, v_pre, s):
        f = np.vectorize(lambda x, sp: surrogate_f(x, sp, self.sg_code, self.sg_p))
        return f(v_pre - 1.0, s)

    def run(self, X, Y, order, learn, preds, rng, record=None):
        """Run samples ``order`` of float_input X; learn with SGD when ``learn``. ``record`` (a
        list) receives per sample the per-step inputs, errors and traces (tests)."""
        cfg, specs = self.cfg, self.specs
        L = len(specs)
        sizes = self.lay.sizes
        T = cfg.timesteps
        enc = ("direct", "rate", "latency").index(cfg.encoder)
        spiking_out = cfg.readout == "spiking"
        from ..kernels.decode import predict
        from ..network import CE_MSE_MIX, LOSSES, RATE_TARGET
        loss = LOSSES.index(cfg.loss)
        rule_a = cfg.rule == "ottt-a"
        boff = np.concatenate([[0], np.cumsum([sizes[l] * sizes[-1] for l in range(1, L)])]).astype(int)
        for nn, n in enumerate(order):
            v = [np.zeros(sizes[l + 1]) for l in range(L)]
            u = [np.zeros(sizes[l + 1]) for l in range(L)]
            s = [np.zeros(sizes[l]) for l in range(L + 1)]
            a = [np.zeros(sizes[l]) for l in range(L)]
            ar = [np.zeros(sizes[l + 1]) for l in range(L)]
            z = [np.zeros(sizes[l]) for l in range(L)]            # CUBA current traces (exact trace)
            zr = [np.zeros(sizes[l + 1]) for l in range(L)]
            outsum, counts, first = np.zeros(sizes[-1]), np.zeros(sizes[-1]), np.full(sizes[-1], T, np.int64)
            self.G[:] = 0
            rec_steps = []
            for t in range(T):
                x = np.empty(sizes[0])
                r = int(rng[1])
                for j in range(sizes[0]):
                    x[j], r = encode(float(X[n, j]), t, enc, r)
                rng[1] = r
                s_prev = [si.copy() for si in s]
                s[0] = x
                vpre = [None] * (L + 1)
                for l, sp in enumerate(specs):
                    wl = self._w(l)
                    I = self._sum(l, self.syn[l][0], wl, s[l], sizes[l + 1])
                    if sp.kind == RECURRENT:
                        I += self._sum(l, self.syn[l][1], wl, s_prev[l + 1], sizes[l + 1])
                    u[l] = self.lam_u[l] * u[l] + I
                    b0 = self.lay.noff[l + 1] - sizes[0]
                    b = self.B[b0:b0 + sizes[l + 1]]
                    vv = self.lam[l] * v[l] + u[l] + b
                    vpre[l + 1] = vv
                    if l < L - 1 or spiking_out:
                        sp_ = (vv >= 1.0) if self.ge else (vv > 1.0)
                        s[l + 1] = sp_.astype(np.float64)
                        v[l] = vv - s[l + 1] if self.subtract else vv * (1.0 - s[l + 1])
                    else:
                        s[l + 1] = np.zeros(sizes[l + 1])
                        v[l] = vv
                outsum += v[L - 1] if not spiking_out else vpre[L]
                counts += s[L]
                first[(s[L] > 0) & (first == T)] = t
                if not learn:
                    continue
                # traces (OTTT eq. 4): of each layer's input, decaying with its consumer's leak; a
                # CUBA layer's exact trace filters the input by the current's decay first (z)
                for l in range(L):
                    if l == 0 or specs[l].kind != POOL:
                        z[l] = self.lam_tr[l] * z[l] + s[l]
                        a[l] = self.lam[l] * a[l] + z[l]
                    if specs[l].kind == RECURRENT:
                        zr[l] = self.lam_tr[l] * zr[l] + s_prev[l + 1]
                        ar[l] = self.lam[l] * ar[l] + zr[l]
                g = [None] * (L + 1)
                eo = np.zeros(sizes[-1])
                if not spiking_out:
                    membrane_error(loss, v[L - 1].copy(), int(Y[n]), CE_MSE_MIX, eo)
                    g[L] = eo / T
                else:
                    spike_error(loss, s[L].copy(), counts.copy(), t + 1, T, int(Y[n]), RATE_TARGET[0], RATE_TARGET[1], eo)
                    g[L] = eo * self._sg(vpre[L], s[L]) / T
                for h in range(L - 1, 0, -1):
                    if cfg.feedback == "random":
                        Bh = self.FB[boff[h - 1]:boff[h]].reshape(sizes[h], sizes[-1]).astype(np.float64)
                        d = Bh @ g[L]
                    else:
                        pre, post, widx = self.syn[h][0]
                        wv = np.full(pre.shape, self.pool_w[h]) if widx[0] < 0 else self._w(h)[widx]
                        d = np.bincount(pre, weights=wv * g[h + 1][post], minlength=sizes[h])
                    g[h] = d * self._sg(vpre[h], s[h])
                Gt = np.zeros(self.lay.n_ff)      # this step's gradient
                for l, sp in enumerate(specs):
                    if not sp.learned:
                        continue
                    o = self.lay.woff[l]
                    pre, post, widx = self.syn[l][0]
                    G = np.bincount(widx, weights=g[l + 1][post] * a[l][pre], minlength=sp.n_weights)
                    if sp.kind == RECURRENT:
                        pr_, po_, wr_ = self.syn[l][1]
                        G += np.bincount(wr_, weights=g[l + 1][po_] * ar[l][pr_], minlength=sp.n_weights)
                    Gt[o:o + sp.n_weights] = G
                self.G[:self.lay.n_ff] += Gt
                if not rule_a:
                    self.opt_step(Gt)
                if record is not None:
                    rec_steps.append({"s": [si.copy() for si in s], "g": [gi.copy() if gi is not None else None for gi in g],
                                      "vpre": [vi.copy() if vi is not None else None for vi in vpre]})
            if learn and rule_a:
                self.opt_step(self.G[:self.lay.n_ff].astype(np.float64))
            if record is not None:
                record.append(rec_steps)
            from ..kernels.decode import decoder_code
            preds[nn] = predict(counts, outsum, first, decoder_code(cfg))


    # ---- BPTT ------------------------------------------------------------------------------
    def run_bptt(self, X, Y, order, preds, rng, grad_only=False):
        """Backpropagation through time with the surrogate gradient, one optimizer step per sample
        (the dense BPTT reference's rule, kernels/bptt_float.py): the forward pass is taped
        (per step and layer: input values, pre-reset membranes, spikes), then

            dvpre(t) = dv(t) r(t) + ds(t) sigma'(vpre(t) - 1)   (r = 1 - s for reset to zero,
                                                                 1 for subtraction: reset detached
                                                                 unless --no-detach-reset)
            dv(t-1) = lambda dvpre(t);  du(t) = dvpre(t) + lambda_u du(t+1);  dI(t) = du(t)
            G[w] += sum over synapses dI_i(t) s_j(t);  ds_below(t) += M^T dI(t)
            recurrent: G[w] += dI_i(t) s_j(t-1);  ds_own(t-1) += R^T dI(t)

        with the per-step loss on the readout as the forward's OTTT error (L[t] = loss / T). Memory:
        the tape grows with T (BPTT's cost; OTTT keeps none)."""
        cfg, specs = self.cfg, self.specs
        L = len(specs)
        sizes = self.lay.sizes
        T = cfg.timesteps
        enc = ("direct", "rate", "latency").index(cfg.encoder)
        spiking_out = cfg.readout == "spiking"
        from ..kernels.decode import decoder_code, predict
        from ..network import CE_MSE_MIX, LOSSES, RATE_TARGET
        loss = LOSSES.index(cfg.loss)
        detach = cfg.detach_reset
        for nn, n in enumerate(order):
            v = [np.zeros(sizes[l + 1]) for l in range(L)]
            u = [np.zeros(sizes[l + 1]) for l in range(L)]
            s = [np.zeros(sizes[l]) for l in range(L + 1)]
            outsum, counts, first = np.zeros(sizes[-1]), np.zeros(sizes[-1]), np.full(sizes[-1], T, np.int64)
            tape = []
            eouts = []
            for t in range(T):
                x = np.empty(sizes[0])
                r = int(rng[1])
                for j in range(sizes[0]):
                    x[j], r = encode(float(X[n, j]), t, enc, r)
                rng[1] = r
                s_prev = [si.copy() for si in s]
                s[0] = x
                vpre = [None] * (L + 1)
                for l, sp in enumerate(specs):
                    wl = self._w(l)
                    I = self._sum(l, self.syn[l][0], wl, s[l], sizes[l + 1])
                    if sp.kind == RECURRENT:
                        I += self._sum(l, self.syn[l][1], wl, s_prev[l + 1], sizes[l + 1])
                    u[l] = self.lam_u[l] * u[l] + I
                    b0 = self.lay.noff[l + 1] - sizes[0]
                    vv = self.lam[l] * v[l] + u[l] + self.B[b0:b0 + sizes[l + 1]]
                    vpre[l + 1] = vv
                    if l < L - 1 or spiking_out:
                        s[l + 1] = ((vv >= 1.0) if self.ge else (vv > 1.0)).astype(np.float64)
                        v[l] = vv - s[l + 1] if self.subtract else vv * (1.0 - s[l + 1])
                    else:
                        s[l + 1] = np.zeros(sizes[l + 1])
                        v[l] = vv
                outsum += v[L - 1] if not spiking_out else vpre[L]
                counts += s[L]
                first[(s[L] > 0) & (first == T)] = t
                eo = np.zeros(sizes[-1])
                if not spiking_out:
                    membrane_error(loss, v[L - 1].copy(), int(Y[n]), CE_MSE_MIX, eo)
                else:
                    spike_error(loss, s[L].copy(), counts.copy(), t + 1, T, int(Y[n]), RATE_TARGET[0], RATE_TARGET[1], eo)
                eouts.append(eo / T)
                tape.append(([si.copy() for si in s], vpre))
            # backward through time
            self.G[:] = 0
            dv = [np.zeros(sizes[l + 1]) for l in range(L)]
            du = [np.zeros(sizes[l + 1]) for l in range(L)]
            ds_next = [np.zeros(sizes[l]) for l in range(L + 1)]     # recurrent: into step t-1
            for t in range(T - 1, -1, -1):
                st_s, vpre = tape[t]
                s_prev = tape[t - 1][0] if t > 0 else [np.zeros(sizes[l]) for l in range(L + 1)]
                ds = [dn.copy() for dn in ds_next]
                ds_next = [np.zeros(sizes[l]) for l in range(L + 1)]
                if spiking_out:
                    ds[L] += eouts[t]
                for l in range(L - 1, -1, -1):
                    sp = specs[l]
                    fires = l < L - 1 or spiking_out
                    if not fires:
                        dvpre = dv[l] + eouts[t]          # the readout: v = vpre, loss on v
                    else:
                        sg = self._sg(vpre[l + 1], st_s[l + 1])
                        keep = np.ones(sizes[l + 1]) if (self.subtract or not detach) else (1.0 - st_s[l + 1])
                        if not detach and not self.subtract:
                            keep = (1.0 - st_s[l + 1]) - vpre[l + 1] * sg
                        elif not detach:
                            keep = 1.0 - sg
                        dvpre = dv[l] * keep + ds[l + 1] * sg
                    dv[l] = self.lam[l] * dvpre
                    du[l] = dvpre + self.lam_u[l] * du[l]
                    dI = du[l]
                    pre, post, widx = self.syn[l][0]
                    if sp.learned:
                        o = self.lay.woff[l]
                        G = np.bincount(widx, weights=dI[post] * st_s[l][pre], minlength=sp.n_weights)
                        if sp.kind == RECURRENT:
                            pr_, po_, wr_ = self.syn[l][1]
                            G += np.bincount(wr_, weights=dI[po_] * s_prev[l + 1][pr_], minlength=sp.n_weights)
                            ds_next[l + 1] += np.bincount(pr_, weights=self._w(l)[wr_] * dI[po_], minlength=sizes[l + 1])
                        self.G[o:o + sp.n_weights] += G
                    if l > 0:
                        wv = np.full(pre.shape, self.pool_w[l]) if widx[0] < 0 else self._w(l)[widx]
                        ds[l] += np.bincount(pre, weights=wv * dI[post], minlength=sizes[l])
            if not grad_only:
                self.opt_step(self.G[:self.lay.n_ff].astype(np.float64))
            preds[nn] = predict(counts, outsum, first, decoder_code(cfg))


__all__ = ["synapse_arrays", "FloatLayerNet"]
