"""NIR import: a graph written by snnTorch, Norse, Sinabs, ... (``nir`` package, HDF5) onto the chip.

Three steps, each a plain function (docs/nir.md):

1. :func:`read_graph` reads and checks the file (HDF5, every edge names a node, edge shapes agree,
   no NaN parameters) and :func:`chain` walks it into stages: one connection (Affine, Linear, with
   Scale folded in) and the neurons it drives (LIF, CubaLIF, IF, LI, CubaLI, Threshold), with an
   optional recurrent connection from those neurons back to themselves. Flatten is a no-op on
   flat CHW values.
2. :func:`to_float` discretizes the ODEs with step ``dt`` by forward Euler (the convention
   snnTorch's and Norse's LIF exporters satisfy, docs/nir.md) and rescales each neuron to
   threshold units: the float network neurochip runs (:func:`simulate_float`), with each layer's
   leak ``1 - dt/tau`` already replaced by the nearest chip leak ``1 - 2^-k``.
3. :func:`to_engine` quantizes it to a hardware profile: per layer the weight exponent that
   minimizes the quantization error within the profile's exponent range, biases in membrane units,
   and returns an ordinary :class:`neurochip.engine.Engine` (integer or float reference) with
   :class:`ImportReport` saying what changed.

Discretization (per neuron; S the input of the step, I the current, v the membrane)::

    CubaLIF/CubaLI: I <- I (1 - dt/tau_syn) + (dt/tau_syn) w_in S
    LIF/LI/Cuba*:   v <- v (1 - dt/tau) + (dt/tau) (v_leak + r I)     (I = S without a current)
    IF:             v <- v + dt r S
    fire:           s = v > v_threshold; v <- v_reset (0) after a spike
    Threshold:      s = S > threshold (no state)

``--convention norse`` adds a CUBA input unscaled (``I <- ... + w_in S``, Norse's LIFCell);
``--convention sinabs`` leaks by ``exp(-dt/tau)`` and adds inputs as ``r S`` (docs/nir.md).

A recurrent connection delivers the neurons' spikes of step t - 1 (the chip's and snnTorch's
RSynaptic convention). In threshold units ``v / v_threshold`` the network is the chip's
``v <- lambda v + W s + b``: ``W = W_nir^T * gain / v_threshold`` per postsynaptic neuron.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import NeurochipError

#: the dt (seconds) each exporter's parameters assume (docs/nir.md)
EXPORTER_DT = {"snntorch": 1e-4, "norse": 1e-3, "sinabs": 1.0}
DEFAULT_DT = 1e-4
MAX_SHIFT = 12

NEURONS = ("LIF", "CubaLIF", "IF", "LI", "CubaLI", "Threshold")
CONNECTIONS = ("Affine", "Linear")
LATER = ("SumPool2d", "AvgPool2d")
MAPPED = ("Input", "Output", "Affine", "Linear", "Scale", "Flatten", "Conv2d") + LATER + NEURONS


def _t(node) -> str:
    return type(node).__name__


# ---------------------------------------------------------------- reading and checking the graph

def read_graph(path) -> tuple[dict, list, dict]:
    """(nodes by name, edges, graph metadata) of the NIR file ``path``, subgraphs flattened
    (inner names ``outer.inner``) and checked: one-line NeurochipError for any problem."""
    import h5py
    import nir

    p = Path(path)
    if not p.is_file():
        raise NeurochipError(f"NIR file not found: {path}")
    if not h5py.is_hdf5(p):
        raise NeurochipError(f"{path}: not an HDF5 file (NIR graphs are HDF5 files written by nir.write)")
    try:
        g = nir.read(p, type_check=False)
    except Exception as e:   # the nir package raises KeyError, ValueError, AssertionError, ...
        msg = " ".join(str(e).split()) or type(e).__name__
        raise NeurochipError(f"{path}: not a readable NIR graph ({type(e).__name__}: {msg[:200]})") from None
    if not isinstance(g, nir.NIRGraph):
        raise NeurochipError(f"{path}: holds a single {_t(g)} node, not a NIR graph")
    nodes, edges = _flatten(g, "", path)
    _check_params(nodes, path)
    _check_shapes(nodes, edges, path)
    meta = dict(g.metadata) if isinstance(g.metadata, dict) else {}
    return nodes, edges, meta


def _flatten(g, prefix: str, path) -> tuple[dict, list]:
    import nir

    nodes, edges, subs = {}, [], {}
    for name, node in g.nodes.items():
        full = prefix + str(name)
        if isinstance(node, nir.NIRGraph):
            sn, se = _flatten(node, full + ".", path)
            ins = [k for k, v in node.nodes.items() if isinstance(v, nir.Input)]
            outs = [k for k, v in node.nodes.items() if isinstance(v, nir.Output)]
            if len(ins) != 1 or len(outs) != 1:
                raise NeurochipError(f"{path}: subgraph {full} needs one Input and one Output node")
            subs[full] = (f"{full}.{ins[0]}", f"{full}.{outs[0]}")
            nodes.update(sn)
            edges += se
        else:
            nodes[full] = node
    for src, dst in g.edges:
        s, d = prefix + str(src), prefix + str(dst)
        s = subs[s][1] if s in subs else s
        d = subs[d][0] if d in subs else d
        for end in (s, d):
            if end not in nodes:
                raise NeurochipError(f"{path}: edge {src} -> {dst} names a missing node {end}")
        edges.append((s, d))
    if prefix:
        return nodes, edges
    # inner Input/Output nodes pass values through: contract them
    for name in [k for k in nodes if "." in k and _t(nodes[k]) in ("Input", "Output")]:
        ins = [s for s, d in edges if d == name]
        outs = [d for s, d in edges if s == name]
        edges = [(s, d) for s, d in edges if name not in (s, d)] + [(s, d) for s in ins for d in outs]
        del nodes[name]
    return nodes, edges


def _check_params(nodes: dict, path) -> None:
    import dataclasses

    for name, node in nodes.items():
        if not dataclasses.is_dataclass(node):
            continue
        for f in dataclasses.fields(node):
            if f.name in ("input_type", "output_type", "metadata"):
                continue
            v = getattr(node, f.name, None)
            if v is None or isinstance(v, (str, bool)):
                continue
            try:
                a = np.asarray(v, dtype=np.float64)
            except (TypeError, ValueError):
                continue
            if np.isnan(a).any():
                raise NeurochipError(f"{path}: node {name} ({_t(node)}): parameter {f.name} contains NaN")
            if np.isinf(a).any() and not f.name.startswith("tau"):
                raise NeurochipError(f"{path}: node {name} ({_t(node)}): parameter {f.name} contains inf")


def _shape(types, key):
    if not isinstance(types, dict) or not types:
        return None
    v = types.get(key, next(iter(types.values())))
    if v is None:
        return None
    a = np.asarray(v).ravel()
    if a.size == 0 or (a <= 0).any():
        return None
    return tuple(int(x) for x in a)


def _check_shapes(nodes: dict, edges: list, path) -> None:
    for s, d in edges:
        so = _shape(getattr(nodes[s], "output_type", None), "output")
        di = _shape(getattr(nodes[d], "input_type", None), "input")
        if so is None or di is None:
            continue
        if math.prod(so) != math.prod(di):
            raise NeurochipError(f"{path}: edge {s} -> {d}: {s} outputs shape {list(so)} but {d} takes {list(di)}")


# ---------------------------------------------------------------- the chain of stages

@dataclass
class Stage:
    """One connection and the neurons it drives, in NIR's units."""
    conn: str
    neuron: str
    weight: np.ndarray | None    # dense (n_out, n_in); conv (C_out, C_in, k, k); pool None
    bias: np.ndarray             # dense (n_out,); conv (C_out,); pool zeros
    node: object                 # the neuron node
    rec: str = ""                # recurrent connection node ("" : none)
    rec_weight: np.ndarray | None = None
    rec_bias: np.ndarray | None = None
    kind: str = "dense"          # dense, conv, pool
    in_shape: tuple = ()
    out_shape: tuple = ()
    kernel: int = 0
    stride: int = 1
    padding: int = 0
    avg: bool = False            # pool: average (weight 1/k^2) rather than sum
    folded: str = ""             # a pool folded into this connection (its node name)

    @property
    def n_out(self) -> int:
        return math.prod(self.out_shape)


def _conn(node) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(node.weight, np.float64)
    if w.ndim != 2:
        raise ValueError("weight must be 2-D")
    b = np.asarray(node.bias, np.float64) if _t(node) == "Affine" else np.zeros(w.shape[0])
    return w, np.broadcast_to(b, (w.shape[0],)).copy()


def _pair(v, what, name, path) -> int:
    a = np.asarray(v).ravel()
    if a.size == 0 or a.size > 2 or (a.size == 2 and a[0] != a[1]):
        raise NeurochipError(f"{path}: node {name}: {what} {a.tolist()} is not square; the chip's kernels are k x k")
    return int(a[0])


def _conv_params(node, shape, name, path) -> dict:
    w = np.asarray(node.weight, np.float64)
    if w.ndim != 4:
        raise NeurochipError(f"{path}: node {name} (Conv2d): weight must be (C_out, C_in, k, k), got {list(w.shape)}")
    k = _pair(w.shape[2:], "kernel", name, path)
    st = _pair(node.stride, "stride", name, path)
    if _pair(node.dilation, "dilation", name, path) != 1 or int(node.groups) != 1:
        raise NeurochipError(f"{path}: node {name} (Conv2d): dilation and groups must be 1 on the chip")
    pad = node.padding
    if isinstance(pad, str):
        if pad == "valid":
            pad = 0
        elif st == 1 and k % 2 == 1:
            pad = (k - 1) // 2
        else:
            raise NeurochipError(f"{path}: node {name} (Conv2d): padding 'same' needs stride 1 and an odd kernel")
    pad = _pair(pad, "padding", name, path)
    if len(shape) == 1:
        ish = getattr(node, "input_shape", None)
        hw = tuple(int(x) for x in np.asarray(ish).ravel()) if ish is not None else ()
        if len(hw) == 2 and w.shape[1] * hw[0] * hw[1] == shape[0]:
            shape = (w.shape[1],) + hw
        else:
            side = math.isqrt(shape[0] // w.shape[1]) if shape[0] % w.shape[1] == 0 else 0
            if side * side * w.shape[1] != shape[0]:
                raise NeurochipError(f"{path}: node {name} (Conv2d) gets {shape[0]} flat values; give the Input node a (C, H, W) shape")
            shape = (w.shape[1], side, side)
    if len(shape) != 3 or shape[0] != w.shape[1]:
        raise NeurochipError(f"{path}: node {name} (Conv2d) takes {w.shape[1]} channels, gets shape {list(shape)}")
    c, h, wd = shape
    if k > h + 2 * pad or k > wd + 2 * pad or pad >= k:
        raise NeurochipError(f"{path}: node {name} (Conv2d): kernel {k}, padding {pad} do not fit its {h}x{wd} input")
    out = (w.shape[0], (h + 2 * pad - k) // st + 1, (wd + 2 * pad - k) // st + 1)
    b = np.broadcast_to(np.asarray(getattr(node, "bias", 0.0), np.float64).ravel()
                        if np.asarray(getattr(node, "bias", 0.0)).size > 1 else np.asarray(getattr(node, "bias", 0.0), np.float64).ravel()[:1],
                        (w.shape[0],)).copy()
    return dict(kind="conv", weight=w, bias=b, in_shape=shape, out_shape=out, kernel=k, stride=st, padding=pad)


def _pool_params(node, shape, name, path) -> dict:
    k = _pair(node.kernel_size, "kernel", name, path)
    st = _pair(node.stride, "stride", name, path) if node.stride is not None else k
    pad = _pair(node.padding, "padding", name, path) if node.padding is not None else 0
    if st != k or pad != 0:
        raise NeurochipError(f"{path}: node {name} ({_t(node)}): stride {st}, padding {pad}; the chip pools k x k windows"
                             " with stride k and no padding")
    if len(shape) != 3:
        raise NeurochipError(f"{path}: node {name} ({_t(node)}) needs a (C, H, W) input, gets {list(shape)}")
    c, h, w = shape
    if k > h or k > w:
        raise NeurochipError(f"{path}: node {name} ({_t(node)}): pool {k}x{k} is larger than its {h}x{w} input")
    return dict(kind="pool", in_shape=shape, out_shape=(c, h // k, w // k), kernel=k, avg=_t(node) == "AvgPool2d")


def _fold_pool(pool: dict, conn: dict, pname: str, cname: str, path) -> dict:
    """A pool without neurons, folded exactly into the connection after it: a conv over pooled
    values is a conv over the unpooled ones with kernel k K, stride k s, padding k p and each weight
    repeated over k x k (x 1/k^2 for an average); a dense layer repeats each weight likewise."""
    k, f = pool["kernel"], (1.0 / pool["kernel"] ** 2 if pool["avg"] else 1.0)
    c, h, w = pool["in_shape"]
    if conn["kind"] == "conv":
        if conn["padding"] and (h % k or w % k):
            raise NeurochipError(f"{path}: pool {pname} before padded {cname}: {h}x{w} is not a multiple of {k}")
        W = np.repeat(np.repeat(conn["weight"], k, axis=2), k, axis=3) * f
        out = dict(conn, weight=W, in_shape=pool["in_shape"], kernel=conn["kernel"] * k, stride=conn["stride"] * k,
                   padding=conn["padding"] * k)
        return out
    hp, wp = h // k, w // k
    n_out = conn["weight"].shape[0]
    W = np.zeros((n_out, c, h, w))
    W[:, :, :hp * k, :wp * k] = np.repeat(np.repeat(conn["weight"].reshape(n_out, c, hp, wp), k, axis=2), k, axis=3) * f
    return dict(conn, weight=W.reshape(n_out, c * h * w), in_shape=(c * h * w,))


def chain(nodes: dict, edges: list, path="graph") -> tuple[list[Stage], int]:
    """The stages from the Input to the Output, and the number of inputs. Only chains map to the
    chip (plus a neuron's recurrent connection back to itself); anything else is one line. A pool
    followed by neurons is a chip pool layer; a pool followed by a connection is folded into it."""
    for name, node in nodes.items():
        t = _t(node)
        if t not in MAPPED:
            raise NeurochipError(f"{path}: node {name} ({t}) has no chip equivalent; neurochip maps "
                                 + ", ".join(MAPPED))
    inputs = [k for k, v in nodes.items() if _t(v) == "Input"]
    outputs = [k for k, v in nodes.items() if _t(v) == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise NeurochipError(f"{path}: the graph needs exactly one Input and one Output node, has {len(inputs)} and {len(outputs)}")
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    pred: dict[str, list[str]] = {k: [] for k in nodes}
    for s, d in edges:
        succ[s].append(d)
        pred[d].append(s)
    rec = {}   # neuron -> its recurrent connection
    for c, node in nodes.items():
        if _t(node) in CONNECTIONS and len(pred[c]) == 1 and succ[c] == pred[c] and _t(nodes[pred[c][0]]) in NEURONS:
            rec[pred[c][0]] = c
    shape = _shape(nodes[inputs[0]].output_type, "output") or _shape(nodes[inputs[0]].input_type, "input")
    if shape is None:
        raise NeurochipError(f"{path}: Input node {inputs[0]} has no shape")
    n_in = math.prod(shape)
    shape = shape if len(shape) == 3 else (n_in,)
    stages: list[Stage] = []
    cur, pend, pre_scale, ppool = inputs[0], None, None, None
    seen = {cur}
    while True:
        nxt = [d for d in succ[cur] if d != rec.get(cur)]
        if len(nxt) != 1:
            what = "feeds nothing" if not nxt else f"feeds {len(nxt)} nodes ({', '.join(nxt)})"
            raise NeurochipError(f"{path}: node {cur} {what}: only chains (and a neuron's recurrent connection to itself) map to the chip")
        cur = nxt[0]
        if cur in seen:
            raise NeurochipError(f"{path}: node {cur} closes a loop other than a neuron's recurrent connection")
        seen.add(cur)
        node, t = nodes[cur], _t(nodes[cur])
        n_pred = len([p for p in pred[cur] if p != rec.get(cur)])
        if n_pred != 1:
            raise NeurochipError(f"{path}: node {cur} ({t}) has {n_pred} inputs: only chains map to the chip")
        if t == "Output":
            if pend is not None or ppool is not None:
                raise NeurochipError(f"{path}: the graph ends in {(pend or ppool)['name']} without neurons; add an LI readout")
            break
        if t == "Flatten":
            if pend is not None:
                raise NeurochipError(f"{path}: Flatten {cur} between connection {pend['name']} and its neurons")
            if ppool is None:
                shape = (math.prod(shape),)   # flat values are CHW-ordered, as NIR's (C, H, W) flattened
            continue
        if t in CONNECTIONS or t == "Conv2d":
            if pend is not None:
                raise NeurochipError(f"{path}: connections {pend['name']} and {cur} follow each other without neurons between them")
            src = ppool["out_shape"] if ppool is not None else shape
            if t == "Conv2d":
                if ppool is not None and len(src) == 1:
                    src = ppool["out_shape"]
                cp = _conv_params(node, src, cur, path)
            else:
                try:
                    w, b = _conn(node)
                except (TypeError, ValueError, AttributeError) as e:
                    raise NeurochipError(f"{path}: node {cur} ({t}): {e}") from None
                if w.shape[1] != math.prod(src):
                    raise NeurochipError(f"{path}: {cur} takes {w.shape[1]} inputs, gets {math.prod(src)} values")
                cp = dict(kind="dense", weight=w, bias=b, in_shape=(math.prod(src),), out_shape=(w.shape[0],))
            cp["name"] = cur
            if ppool is not None:
                cp = _fold_pool(ppool, cp, ppool["name"], cur, path)
                cp["folded"] = ppool["name"]
                cp["name"] = cur
                ppool = None
            if pre_scale is not None:
                if cp["kind"] != "dense" or pre_scale.size not in (1, cp["weight"].shape[1]):
                    raise NeurochipError(f"{path}: Scale before {cur}: only a dense connection takes an input Scale")
                cp["weight"] = cp["weight"] * pre_scale[None, :]
                pre_scale = None
            pend = cp
            continue
        if t in LATER:   # pools
            if pend is not None:
                raise NeurochipError(f"{path}: pool {cur} between connection {pend['name']} and its neurons")
            if ppool is not None:
                raise NeurochipError(f"{path}: pools {ppool['name']} and {cur} follow each other")
            ppool = dict(_pool_params(node, shape, cur, path), name=cur)
            continue
        if t == "Scale":
            sc = np.asarray(node.scale, np.float64).ravel()
            if pend is not None and pend["kind"] == "dense":
                w, b = pend["weight"], pend["bias"]
                if sc.size not in (1, w.shape[0]):
                    raise NeurochipError(f"{path}: Scale {cur} has {sc.size} values for {w.shape[0]} outputs of {pend['name']}")
                pend = dict(pend, weight=w * sc.reshape(-1, 1) if sc.size > 1 else w * sc[0], bias=b * sc)
            elif pend is None and ppool is None:
                pre_scale = sc if pre_scale is None else pre_scale * sc
            else:
                raise NeurochipError(f"{path}: Scale {cur} after a convolution or pool has no chip equivalent")
            continue
        # a neuron
        if pend is None and ppool is None:
            raise NeurochipError(f"{path}: neuron {cur} ({t}) has no connection before it")
        cp = pend if pend is not None else dict(ppool, weight=None, bias=np.zeros(1))
        st = Stage(conn=cp["name"], neuron=cur, weight=cp["weight"], bias=cp["bias"], node=node, kind=cp["kind"],
                   in_shape=tuple(cp["in_shape"]), out_shape=tuple(cp["out_shape"]), kernel=cp.get("kernel", 0),
                   stride=cp.get("stride", 1), padding=cp.get("padding", 0), avg=cp.get("avg", False),
                   folded=cp.get("folded", ""))
        size = _neuron_size(node)
        if size is not None and size != st.n_out:
            raise NeurochipError(f"{path}: edge {st.conn} -> {cur}: {st.n_out} outputs into {size} neurons")
        if cur in rec:
            if st.kind != "dense":
                raise NeurochipError(f"{path}: recurrent connection {rec[cur]} on a {st.kind} layer: only dense layers are recurrent on the chip")
            rw, rb = _conn(nodes[rec[cur]])
            if rw.shape != (st.n_out, st.n_out):
                raise NeurochipError(f"{path}: recurrent connection {rec[cur]} has shape {list(rw.shape)}, want {[st.n_out] * 2}")
            st.rec, st.rec_weight, st.rec_bias = rec[cur], rw, rb
        stages.append(st)
        shape = st.out_shape
        pend = ppool = None
    if not stages:
        raise NeurochipError(f"{path}: the graph has no neuron layer")
    return stages, int(n_in)


def _neuron_size(node):
    for attr in ("v_threshold", "tau", "tau_mem", "r", "threshold"):
        v = getattr(node, attr, None)
        if v is not None:
            return int(np.asarray(v).size) if np.asarray(v).size > 1 else None
    return None


# ---------------------------------------------------------------- float network in threshold units

def nearest_shift(lam: float, lo: int = 0) -> int:
    """k in [lo, 12] whose 1 - 2^-k (k = 0: 0) is nearest to lam (ties: the smaller k)."""
    best, bk = math.inf, lo
    for k in range(lo, MAX_SHIFT + 1):
        d = abs(lam - (1.0 - 2.0 ** -k if k else 0.0))
        if d < best - 1e-15:
            best, bk = d, k
    return bk


def lam_of(k: int) -> float:
    return 1.0 - 2.0 ** -k if k else 0.0


@dataclass
class FloatLayer:
    """One layer of the imported network in threshold units (the float reference)."""
    conn: str
    neuron: str
    ntype: str
    W: np.ndarray                 # (n_in, n_out), presynaptic-major
    bias: np.ndarray              # (n_out,) per step, threshold units
    k: int                        # leak shift: lambda = 1 - 2^-k
    k_u: int = 0                  # current decay shift (CUBA), 0: no current
    fires: bool = True
    R: np.ndarray | None = None   # (n_out, n_out) recurrent, presynaptic-major
    rec: str = ""
    tau: float = math.inf         # NIR membrane tau (mean over neurons), seconds
    tau_syn: float = 0.0          # NIR synaptic tau, seconds (0: none)
    lam_exact: float = 1.0        # 1 - dt/tau before the shift mapping (mean)
    lam_u_exact: float = 0.0
    reset: str = "zero"           # what the NIR node implies
    notes: list = field(default_factory=list)
    spec: object = None           # the chip layer (neurochip.layers): Dense, RecurrentDense, Conv2d, pools
    Wchip: np.ndarray | None = None   # weights in the spec's weight_shape, threshold units (R not included)

    @property
    def n_out(self) -> int:
        return self.W.shape[1]


def _arr(node, name, n):
    return np.broadcast_to(np.asarray(getattr(node, name), np.float64).ravel() if np.asarray(getattr(node, name)).size > 1
                           else np.asarray(getattr(node, name), np.float64).ravel()[:1], (n,)).astype(np.float64)


CONVENTIONS = ("euler", "norse", "sinabs")


def to_float(stages: list[Stage], dt: float, path="graph", convention: str = "euler") -> list[FloatLayer]:
    """Discretize every stage with step dt into threshold units. ``convention``: ``euler`` (module
    docstring); ``norse``: the same, but an input spike adds ``w_in S`` to a CUBA current unscaled
    (Norse's LIFCell); ``sinabs``: leaks ``exp(-dt/tau)`` and inputs added unscaled, ``r S``
    (Sinabs' LIF, ExpLeak, IAF with norm_input off). docs/nir.md."""
    if not (math.isfinite(dt) and dt > 0):
        raise NeurochipError(f"--dt must be a positive number of seconds, got {dt}")
    if convention not in CONVENTIONS:
        raise NeurochipError(f"--convention must be one of {', '.join(CONVENTIONS)}, got {convention!r}")
    sinabs = convention == "sinabs"
    out = []
    for li, st in enumerate(stages):
        node, t, n = st.node, _t(st.node), st.n_out
        notes = [f"pool {st.folded} folded into {st.conn} (exact)"] if st.folded else []
        cuba = t in ("CubaLIF", "CubaLI")
        tau_syn = 0.0
        lam_u = 0.0
        gain_u = np.ones(n)
        if cuba:
            ts = _arr(node, "tau_syn", n)
            if (ts <= 0).any():
                raise NeurochipError(f"{path}: node {st.neuron} ({t}): tau_syn must be positive")
            gain_u = (1.0 if convention != "euler" else dt / ts) * _arr(node, "w_in", n)
            lam_u = float(np.mean(np.exp(-dt / ts) if sinabs else np.clip(1.0 - dt / ts, 0.0, 1.0)))
            tau_syn = float(np.mean(ts))
        if t == "Threshold":
            vth, gain, lam, vleak_b, tau = _arr(node, "threshold", n), np.ones(n), 0.0, np.zeros(n), 0.0
            fires = True
        elif t == "IF":
            vth, gain, lam, vleak_b, tau = (_arr(node, "v_threshold", n), (1.0 if sinabs else dt) * _arr(node, "r", n), 1.0,
                                            np.zeros(n), math.inf)
            fires = True
        else:
            tau_a = _arr(node, "tau_mem" if cuba else "tau", n)
            if (tau_a <= 0).any():
                raise NeurochipError(f"{path}: node {st.neuron} ({t}): tau must be positive")
            a = 1.0 - np.exp(-dt / tau_a) if sinabs else dt / tau_a
            gain = (1.0 if sinabs else a) * _arr(node, "r", n)
            vleak_b = a * _arr(node, "v_leak", n)
            lam = float(np.mean(np.clip(1.0 - a, 0.0, 1.0)))
            tau = float(np.mean(tau_a))
            fires = t in ("LIF", "CubaLIF")
            vth = _arr(node, "v_threshold", n) if fires else np.ones(n)
        if fires and (vth <= 0).any():
            raise NeurochipError(f"{path}: node {st.neuron} ({t}): thresholds must be positive to map onto the chip's")
        if fires and t != "Threshold":
            vr = _arr(node, "v_reset", n) if getattr(node, "v_reset", None) is not None else np.zeros(n)
            if (vr != 0).any():
                raise NeurochipError(f"{path}: node {st.neuron} ({t}): v_reset {float(vr[vr != 0][0]):g} != 0 has no chip"
                                     " equivalent (the chip resets to 0 or subtracts the threshold)")
        k = MAX_SHIFT if t == "IF" else nearest_shift(lam)
        k_u = nearest_shift(lam_u) if cuba else 0
        if cuba and k_u == 0 and lam_u > 0:
            notes.append(f"tau_syn {tau_syn:g} s maps to no current memory (k_u = 0)")
        scale = gain * gain_u / vth
        cur_gain = 2.0 ** k_u if cuba else 1.0   # see below
        spec, Wchip, W = _chip_layer(st, scale, k_u, path)
        # a connection's bias enters a CUBA neuron's current; the chip adds biases to the membrane:
        # at the current's steady state (x 2^k_u) they are the same
        if cuba and (st.bias != 0).any():
            notes.append("bias of a CUBA neuron moved from the current to the membrane (steady state)")
        nb = np.repeat(st.bias, n // st.bias.size) if st.bias.size != n else st.bias
        bias = nb * scale * cur_gain + vleak_b / vth
        R = None
        if st.rec:
            R = (st.rec_weight * scale[:, None]).T.copy()
            bias = bias + st.rec_bias * scale * cur_gain
            spec = _layers().RecurrentDense(spec.n_in, spec.n_out, k_u)
        out.append(FloatLayer(conn=st.conn, neuron=st.neuron, ntype=t, W=W, bias=bias, k=k, k_u=k_u, fires=fires,
                              R=R, rec=st.rec, tau=tau, tau_syn=tau_syn, lam_exact=lam, lam_u_exact=lam_u, notes=notes,
                              spec=spec, Wchip=Wchip))
    for fl in out[:-1]:
        if not fl.fires:
            raise NeurochipError(f"{path}: hidden neuron layer {fl.neuron} ({fl.ntype}) does not spike; only the readout may be LI/CubaLI")
    last = out[-1]
    if last.R is not None:
        raise NeurochipError(f"{path}: the readout {last.neuron} is recurrent ({last.rec}); the chip's readout layer is feed-forward")
    if not isinstance(last.spec, _layers().Dense):
        raise NeurochipError(f"{path}: the readout {last.neuron} follows {last.spec.token}; the chip's readout is a dense layer")
    if last.k_u:
        last.notes.append(f"readout current (k_u {last.k_u}) dropped: the chip's readout has none; its weights take the"
                          f" current's steady-state gain 2^{last.k_u}")
        last.W = last.W * 2.0 ** last.k_u
        last.Wchip = last.W
        last.k_u = 0
        last.spec = _layers().Dense(last.spec.n_in, last.spec.n_out)
    return out


def _layers():
    from . import layers
    return layers


def _dense_equivalent(spec, Wchip) -> np.ndarray:
    """(n_in, n_out) matrix of a conv or pool layer (the float simulation's form)."""
    from .kernels.ottt_float_layers import synapse_arrays
    (pre, post, widx), _ = synapse_arrays(spec)
    W = np.zeros((spec.n_in, spec.n_out))
    wv = np.full(pre.shape, 2.0 ** -spec.shift) if spec.kind == _layers().POOL else Wchip.ravel()[widx]
    np.add.at(W, (pre, post), wv)
    return W


def _chip_layer(st: Stage, scale: np.ndarray, k_u: int, path):
    """(layer spec, chip-shaped weights in threshold units, dense (n_in, n_out) equivalent)."""
    L = _layers()
    if st.kind == "dense":
        W = (st.weight * scale[:, None]).T.copy()
        return L.Dense(W.shape[0], W.shape[1], k_u), W, W
    co = st.out_shape[0]
    sc = scale.reshape(co, -1)
    if not np.allclose(sc, sc[:, :1], rtol=1e-12, atol=0.0):
        raise NeurochipError(f"{path}: neurons {st.neuron} after {st.conn}: the input gain / threshold varies within a"
                             " channel; the chip's shared weights need one per channel")
    sc = sc[:, 0]
    if st.kind == "conv":
        spec = L.Conv2d(tuple(st.in_shape), co, st.kernel, st.stride, st.padding, k_u)
        Wchip = st.weight.transpose(1, 2, 3, 0) * sc[None, None, None, :]
        return spec, Wchip, _dense_equivalent(spec, Wchip)
    per_input = sc * (1.0 / st.kernel ** 2 if st.avg else 1.0)     # threshold units per input spike
    for cls in (L.SumPool2d, L.AvgPool2d):
        spec = cls(tuple(st.in_shape), st.kernel, k_u)
        if np.allclose(per_input, 2.0 ** -spec.shift, rtol=1e-12, atol=0.0):
            return spec, np.zeros(0), _dense_equivalent(spec, None)
    raise NeurochipError(f"{path}: pool {st.conn} into neurons {st.neuron}: each input is worth {float(per_input[0]):g}"
                         f" threshold, the chip's pool layer 1 (sum) or 2^-{L.AvgPool2d(tuple(st.in_shape), st.kernel).shift}"
                         " (average); put the pool before a connection instead")


def simulate_float(layers: list[FloatLayer], x: np.ndarray, T: int, reset: str = "zero", compare: str = ">",
                   readout: str | None = None):
    """The float reference of the imported network on inputs x (n, n_in) held for T steps (direct
    encoding), with the chip's leaks: (predictions, spikes per layer (n, T, n_l) as lists)."""
    x = np.asarray(x, np.float64)
    n = x.shape[0]
    v = [np.zeros((n, fl.n_out)) for fl in layers]
    u = [np.zeros((n, fl.n_out)) for fl in layers]
    s = [np.zeros((n, fl.n_out)) for fl in layers]
    spikes = [np.zeros((n, T, fl.n_out), np.uint8) for fl in layers]
    outsum = np.zeros((n, layers[-1].n_out))
    counts = np.zeros((n, layers[-1].n_out))
    spiking_out = layers[-1].fires if readout is None else readout == "spiking"
    for t in range(T):
        inp = x
        for li, fl in enumerate(layers):
            c = inp @ fl.W
            if fl.R is not None:
                c = c + s[li] @ fl.R
            if fl.k_u:
                u[li] = lam_of(fl.k_u) * u[li] + c
                c = u[li]
            vp = lam_of(fl.k) * v[li] + c + fl.bias
            last = li == len(layers) - 1
            if fl.fires and (not last or spiking_out):
                sp = (vp >= 1.0) if compare == ">=" else (vp > 1.0)
                v[li] = np.where(sp, vp - 1.0, vp) if reset == "subtract" else np.where(sp, 0.0, vp)
                s[li] = sp.astype(np.float64)
            else:
                v[li] = vp
                s[li] = np.zeros_like(vp)
            spikes[li][:, t] = s[li]
            if last:
                outsum += vp if spiking_out else v[li]
                counts += s[li]
            inp = s[li]
    if spiking_out:   # most spikes, ties by the integrated membrane (kernels/decode.py)
        pred = np.array([_argmax_rate(counts[i], outsum[i]) for i in range(n)], np.int64)
    else:
        pred = np.argmax(outsum, axis=1).astype(np.int64)
    return pred, spikes


def _argmax_rate(cnt, osum) -> int:
    best = 0
    for i in range(1, cnt.shape[0]):
        if cnt[i] > cnt[best] or (cnt[i] == cnt[best] and osum[i] > osum[best]):
            best = i
    return best


# ---------------------------------------------------------------- onto a profile

@dataclass
class LayerMap:
    """What the mapping of one layer changed (one row of the import report)."""
    name: str
    ntype: str
    n_in: int
    n_out: int
    recurrent: bool
    k: int
    tau: float               # NIR tau, seconds (inf: IF; 0: Threshold)
    tau_eff: float           # dt 2^k (k = 0: dt), the chip's tau under the same Euler convention
    k_u: int = 0
    tau_syn: float = 0.0
    tau_syn_eff: float = 0.0
    q: int = 0
    weight_exp: int = 0      # the profile's exponent (after the LSB shift)
    clipped: float = 0.0     # fraction of weights clipped at the mantissa width
    qerr: float = 0.0        # rms quantization error / rms weight
    bias_err: float = 0.0    # largest bias error, threshold units
    reset_nir: str = "zero"
    reset_profile: str = "zero"
    notes: list = field(default_factory=list)

    @property
    def tau_err(self) -> float:
        if not math.isfinite(self.tau) or self.tau <= 0:
            return math.nan
        return self.tau_eff / self.tau - 1.0

    def to_dict(self) -> dict:
        import dataclasses
        d = dataclasses.asdict(self)
        d["tau_err"] = self.tau_err
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def _q_range(profile, li: int, lr: float, timesteps: int, encoder: str = "direct") -> tuple[int, int, float]:
    """(q_lo, q_hi, log2 of the threshold as int_layout rounds it) allowed for weight layer li."""
    from .network import quantize_lr
    n, s, lrn = profile.neuron, profile.synapse, profile.learning
    log2_thr = int(round(math.log2(n.threshold)))
    inb = s.input_bits if li == 0 and encoder == "direct" else 0
    q_lo = log2_thr - inb - s.weight_lsb_shift - s.weight_exp_max
    q_hi = log2_thr - inb - s.weight_lsb_shift - s.weight_exp_min
    extra = lrn.shadow_weight_bits - s.weight_bits if lrn.shadow_weight_bits else 0
    _, lr_exp = quantize_lr(lr / timesteps)
    q_lo = max(q_lo, lrn.error_frac_bits + lrn.trace_frac_bits - extra - lr_exp - 31)
    return q_lo, q_hi, log2_thr


def quantize_layer(W: np.ndarray, bits: int, lsb_of, q_lo: int, q_hi: int, q_want: int | None = None):
    """(q, mantissas int64, clipped fraction, rms error / rms weight): the q in [q_lo, q_hi]
    minimizing the squared error of clip(round(W / lsb(q))) (``q_want``: that one if allowed)."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if q_lo > q_hi:
        raise NeurochipError(f"no weight exponent fits the profile (fractional bits {q_lo} > {q_hi})")

    def at(q):
        m = np.round(W / lsb_of(q))
        c = float(np.mean((m < lo) | (m > hi))) if m.size else 0.0
        m = np.clip(m, lo, hi).astype(np.int64)
        err = float(np.sum((m * lsb_of(q) - W) ** 2))
        return m, c, err

    mx = float(np.abs(W).max()) if W.size else 0.0
    if q_want is not None and q_lo <= q_want <= q_hi:
        cands = [q_want]
    elif mx == 0.0:
        cands = [min(max(bits - 1, q_lo), q_hi)]
    else:
        q0 = int(math.floor(math.log2(hi * lsb_of(0) / mx)))
        cands = [q for q in range(q0 - 1, q0 + 4) if q_lo <= q <= q_hi] or [min(max(q0, q_lo), q_hi)]
    best = None
    for q in cands:
        m, c, err = at(q)
        if best is None or err < best[3] - 1e-300:
            best = (q, m, c, err)
    q, m, c, err = best
    rms = float(np.sqrt(np.mean(W ** 2))) if W.size else 0.0
    return q, m, c, (math.sqrt(err / W.size) / rms if rms > 0 else 0.0)


def to_engine(layers: list[FloatLayer], profile, dt: float, precision: str = "int", timesteps: int = 8,
              lr: float = 0.05, seed: int = 0, q_want: list | None = None, encoder: str = "direct"):
    """(engine, [LayerMap]) of the imported network on ``profile``: the float reference
    (``precision='float'``, plain dense only) or the integer network."""
    from .engine import Engine
    from .network import NetworkConfig, NetworkState, init_feedback, init_state

    profile = profile.require_simulation()
    nrn, syn = profile.neuron, profile.synapse
    n_in = layers[0].W.shape[0]
    sizes = (n_in,) + tuple(fl.n_out for fl in layers)
    spiking = layers[-1].fires
    specs = [fl.spec for fl in layers]
    needs_arch = any(type(sp).__name__ != "Dense" or sp.k_u for sp in specs)
    arch = "-".join(sp.token for sp in specs) if needs_arch else ""
    shape = tuple(specs[0].in_shape) if len(specs[0].in_shape) == 3 else ()
    opts = dict(sizes=(n_in, sizes[-1]) if needs_arch else sizes, timesteps=timesteps, encoder=encoder,
                readout="spiking" if spiking else "integrator", loss="count" if spiking else "ce_mse",
                precision=precision, lr=lr, seed=seed, arch=arch, input_shape=shape,
                leak_shifts=tuple(fl.k for fl in layers))
    maps = []
    for li, fl in enumerate(layers):
        tau_eff = dt * 2.0 ** fl.k
        maps.append(LayerMap(name=f"{fl.conn}" + (f"+{fl.rec}" if fl.rec else "") + f" -> {fl.neuron} ({fl.spec.token})",
                             ntype=fl.ntype,
                             n_in=fl.W.shape[0], n_out=fl.n_out, recurrent=fl.R is not None, k=fl.k,
                             tau=fl.tau, tau_eff=tau_eff, k_u=fl.k_u, tau_syn=fl.tau_syn,
                             tau_syn_eff=dt * 2.0 ** fl.k_u if fl.tau_syn else 0.0,
                             reset_nir="zero" if fl.fires else "none", reset_profile=nrn.reset, notes=list(fl.notes)))
        if fl.fires and nrn.reset != "zero":
            maps[-1].notes.append(f"NIR resets to v_reset = 0; the profile {profile.name} subtracts the threshold")
        if fl.fires and nrn.compare != ">":
            maps[-1].notes.append(f"NIR fires on v > threshold; the profile compares {nrn.compare}")
    if precision == "float":
        cfg = NetworkConfig(**opts)
        w64s = [fl.Wchip if fl.R is None else np.vstack([fl.Wchip, fl.R]) for fl in layers]
        ws = [w.astype(np.float32) for w in w64s]
        st = NetworkState(cfg, ws, None, [fl.bias.astype(np.float32) for fl in layers],
                          [b.astype(np.float32) for b in init_feedback(cfg)])
        for m, w, w64 in zip(maps, ws, w64s):
            m.qerr = float(np.sqrt(np.mean((w - w64) ** 2)) / max(np.sqrt(np.mean(w64 ** 2)), 1e-300)) if w.size else 0.0
        return Engine(cfg, profile, st), maps
    thr_mem = nrn.threshold_membrane
    blim = (1 << (nrn.membrane_bits - 1)) - 1
    qs, ws, bs = [], [], []
    for li, (fl, m) in enumerate(zip(layers, maps)):
        b = np.clip(np.round(fl.bias * thr_mem), -blim, blim)
        m.bias_err = float(np.abs(b / thr_mem - fl.bias).max()) if b.size else 0.0
        bs.append(b.astype(np.int32))
        if not fl.spec.learned:      # a pool: fixed weights (network.int_layout chooses their exponent)
            qs.append(0)
            ws.append(np.zeros(fl.spec.weight_shape, np.int32))
            m.notes.append(f"fixed pool weight 2^-{fl.spec.shift} threshold per input")
            continue
        W = fl.Wchip if fl.R is None else np.vstack([fl.Wchip, fl.R])
        q_lo, q_hi, log2_thr = _q_range(profile, li, lr, timesteps, encoder)
        lsb_of = lambda q, l2=log2_thr: 2.0 ** (l2 - q) / nrn.threshold  # noqa: E731  (threshold units per LSB)
        try:
            q, mant, clipped, qerr = quantize_layer(W, syn.weight_bits, lsb_of, q_lo, q_hi,
                                                    None if q_want is None else q_want[li])
        except NeurochipError as e:
            raise NeurochipError(f"layer {li} ({m.name}): {e}") from None
        m.q, m.clipped, m.qerr = q, clipped, qerr
        m.weight_exp = log2_thr - q - (syn.input_bits if li == 0 and encoder == "direct" else 0) - syn.weight_lsb_shift
        qs.append(q)
        ws.append(mant.astype(np.int32))
    cfg = NetworkConfig(**opts, weight_q=tuple(qs))
    st0 = init_state(cfg, profile)
    from .network import int_layout
    ilay = int_layout(cfg, profile)
    for li, (fl, m) in enumerate(zip(layers, maps)):
        if not fl.spec.learned:
            m.q, m.weight_exp = ilay.q[li], ilay.weight_exp[li] - syn.weight_lsb_shift
    extra = ilay.shadow_extra
    shadow = [(w.astype(np.int64) << extra).astype(np.int32) for w in ws] if extra else None
    st = NetworkState(cfg, ws, shadow, bs, st0.feedback)
    return Engine(cfg, profile, st), maps


# ---------------------------------------------------------------- the whole import, with its report

@dataclass
class ImportReport:
    source: str
    dt: float
    dt_note: str
    profile: str
    precision: str
    timesteps: int
    readout: str
    arch: str
    layers: list
    float_acc: float | None = None
    int_acc: float | None = None
    samples: int = 0
    rates: list = field(default_factory=list)     # per layer: (float rate, chip rate) spikes/neuron/step
    agreement: list = field(default_factory=list)  # per layer: sum min / sum max of per-sample spike counts
    engine_acc: float | None = None               # the engine's own accuracy (float reference kernel or chip)

    def to_dict(self) -> dict:
        import dataclasses
        d = {k: v for k, v in dataclasses.asdict(self).items() if k != "layers"}
        d["layers"] = [m.to_dict() for m in self.layers]
        return d

    def lines(self) -> list[str]:
        out = [f"NIR import of {self.source}: {len(self.layers)} layers, {self.readout} readout, T = {self.timesteps},"
               f" {self.precision} on profile {self.profile}",
               f"dt = {self.dt:g} s ({self.dt_note}); discretization: docs/nir.md"]
        for li, m in enumerate(self.layers):
            tau = "inf" if not math.isfinite(m.tau) else f"{m.tau:.4g}"
            err = "" if not math.isfinite(m.tau_err) else f" ({m.tau_err + 0.0 if abs(m.tau_err) > 1e-12 else 0.0:+.1%})"
            cur = f"; tau_syn {m.tau_syn:.4g} -> k_u {m.k_u} (tau {m.tau_syn_eff:.4g})" if m.tau_syn else ""
            out.append(f"layer {li} {m.name} [{m.ntype}{', recurrent' if m.recurrent else ''}] {m.n_in} -> {m.n_out}:"
                       f" tau {tau} s -> leak shift k {m.k} (tau {m.tau_eff:.4g} s{err}){cur}")
            if self.precision == "int":
                out.append(f"    weights: exponent {m.weight_exp} (q {m.q}), clipped {m.clipped:.2%},"
                           f" rms quantization error {m.qerr:.2%}; bias error <= {m.bias_err:.2g} threshold;"
                           f" reset NIR {m.reset_nir} / profile {m.reset_profile}")
            for n in m.notes:
                out.append(f"    note: {n}")
        if self.float_acc is not None:
            out.append(f"accuracy on {self.samples} test samples: float {self.float_acc:.4f}"
                       + (f", integer {self.int_acc:.4f} ({self.int_acc - self.float_acc:+.4f})" if self.int_acc is not None else ""))
        if self.precision == "float" and self.engine_acc is not None:
            out.append(f"neurochip's float reference kernel on the same samples: {self.engine_acc:.4f}")
        for li, (rf, ri) in enumerate(self.rates):
            agr = f", per-sample count overlap {self.agreement[li]:.1%}" if li < len(self.agreement) else ""
            out.append(f"spike rate layer {li}: float {rf:.4f}, chip {ri:.4f} per neuron and step{agr}")
        return out


def dt_note(dt_given: float | None) -> tuple[float, str]:
    if dt_given is None:
        return DEFAULT_DT, "assumed: snnTorch's export constant; Norse exports need --dt 1e-3, Sinabs --dt 1"
    for name, v in EXPORTER_DT.items():
        if dt_given == v:
            return dt_given, f"given; {name}'s export convention"
    return dt_given, "given"


def import_nir(path, profile, dt: float | None = None, precision: str = "int", timesteps: int | None = None,
               lr: float = 0.05, seed: int = 0, data=None, max_samples: int = 0, convention: str = "euler"):
    """(engine, ImportReport) of NIR file ``path`` on ``profile``; with ``data`` (a Dataset) the
    report compares the float reference with the chip network on its test split."""
    nodes, edges, meta = read_graph(path)
    stages, _ = chain(nodes, edges, path)
    dtv, note = dt_note(dt)
    if dt is None and "neurochip_dt" in meta:
        dtv, note = float(meta["neurochip_dt"]), "from the file (written by neurochip nir export)"
    if not (math.isfinite(dtv) and dtv > 0):
        raise NeurochipError(f"--dt must be a positive number of seconds, got {dtv}")
    layers = to_float(stages, dtv, path, convention)
    if convention != "euler":
        note += f"; {convention} convention"
    q_want = None
    if "neurochip_q" in meta:
        q_want = [int(q) for q in np.asarray(meta["neurochip_q"]).ravel()]
        if len(q_want) != len(layers):
            q_want = None
    if "neurochip_timesteps" in meta and timesteps is None:
        timesteps = int(meta["neurochip_timesteps"])
    timesteps = timesteps or 8
    encoder = str(meta.get("neurochip_encoder", "direct"))
    if isinstance(meta.get("neurochip_encoder"), bytes):
        encoder = meta["neurochip_encoder"].decode()
    engine, maps = to_engine(layers, profile, dtv, precision, timesteps, lr, seed, q_want, encoder)
    rep = ImportReport(source=str(path), dt=dtv, dt_note=note, profile=profile.name, precision=precision,
                       timesteps=timesteps, readout=engine.cfg.readout, arch=engine.cfg.arch or "", layers=maps)
    if data is not None:
        compare(engine, layers, data, rep, max_samples)
    return engine, rep, layers


def compare(engine, layers: list[FloatLayer], ds, rep: ImportReport, max_samples: int = 0) -> None:
    """Float reference vs chip network on the test split: accuracies, per-layer spike rates and,
    per layer, how well the per-sample spike counts overlap (sum of min / sum of max, first 200)."""
    from .counters import OPS
    from .train import evaluate

    if ds.n_features != layers[0].W.shape[0]:
        raise NeurochipError(f"data has {ds.n_features} features, the NIR network takes {layers[0].W.shape[0]}")
    if ds.n_classes > layers[-1].n_out:
        raise NeurochipError(f"data has {ds.n_classes} classes, the NIR network has {layers[-1].n_out} outputs")
    x, y = ds.x_test, ds.y_test
    if max_samples:
        x, y = x[:max_samples], y[:max_samples]
    if len(y) == 0:
        raise NeurochipError("the data has no test samples to compare float and chip on")
    prof = engine.profile.neuron
    preds, totals, spk = [], np.zeros(len(layers)), None
    for i in range(0, len(x), 256):       # in chunks: a conv layer's dense form is n_in x n_out
        p, sp = simulate_float(layers, x[i:i + 256], engine.cfg.timesteps, prof.reset, prof.compare, engine.cfg.readout)
        preds.append(p)
        totals += [float(a.sum()) for a in sp]
        if spk is None:
            spk = [a[:200] for a in sp]   # spike trains kept for the per-sample overlap (first 200)
    pf = np.concatenate(preds) if preds else np.zeros(0, np.int64)
    spk_rate = [totals[li] / max(len(x) * engine.cfg.timesteps * fl.n_out, 1) for li, fl in enumerate(layers)]
    rep.float_acc = float(np.mean(pf == y)) if len(y) else math.nan
    rep.samples = int(len(y))
    engine.reset_counters()
    res = evaluate(engine, x, y)
    T, n = engine.cfg.timesteps, max(len(y), 1)
    rep.engine_acc = res["accuracy"]
    if engine.is_int:
        rep.int_acc = res["accuracy"]
        per_chip = engine.ops[:, OPS.index("spikes")].copy()
        ci = _spike_counts(engine, x)
        for li, fl in enumerate(layers):
            rep.rates.append((spk_rate[li], float(per_chip[li]) / (n * T * fl.n_out)))
            cf = spk[li][:len(ci)].sum(axis=(1, 2)).astype(np.int64)
            hi = np.maximum(cf, ci[:, li]).sum()
            rep.agreement.append(float(np.minimum(cf, ci[:, li]).sum() / hi) if hi else 1.0)
    engine.reset_counters()


def _spike_counts(engine, x, limit: int = 200):
    """Per layer, the spikes of each of the first ``limit`` samples (n, L) from the integer
    network's counters, one sample per run."""
    from .counters import OPS

    k = OPS.index("spikes")
    m = min(len(x), limit)
    xin = engine.prepare(x[:m])
    out = np.zeros((m, engine.cfg.n_layers), np.int64)
    y0 = np.zeros(m, np.int64)
    for i in range(m):
        engine.reset_counters()
        engine.run(xin, y0, np.array([i], np.int64), False)
        out[i] = engine.ops[:, k]
    engine.reset_counters()
    return out
