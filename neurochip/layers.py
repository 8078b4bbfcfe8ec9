"""Layer specs: the network as a sequence of small frozen dataclasses, in the style of NIR's nodes.

A spec says what a layer is (its shape and kind), never how it runs: the integer kernels give each
kind its own forward, error and update step (``neurochip/kernels/dense.py``, ``conv.py``,
``pool.py``, ``recurrent.py``) and dispatch on :attr:`kind`.

Every weight layer here is one connection *and* the LIF neurons it drives (as a NIR ``Affine`` or
``Conv2d`` followed by a ``LIF``); neuron values are flat arrays, images in channel-height-width
(CHW) order. :class:`Flatten` is no weight layer: it only changes how the next layer reads the
flat CHW values (the kernels never see it).

* :class:`Dense`           ``n_in -> n_out``, weights ``W[j, i]`` presynaptic-major.
* :class:`RecurrentDense`  a Dense whose neurons also receive their own spikes of step t-1 through
                           recurrent weights: weights ``(n_in + n_out) x n_out``, the last ``n_out``
                           rows recurrent (the layer is a Dense over ``[input; own spikes(t-1)]``).
* :class:`Conv2d`          shared weights ``W[ci, ky, kx, co]`` (presynaptic-major: an input's
                           fan-out over output channels is contiguous), zero padding, stride.
* :class:`SumPool2d`       fixed unit weights over non-overlapping ``k x k`` windows per channel
                           (stride k); :class:`AvgPool2d` the same with each input worth
                           ``2^-shift`` of a threshold, ``shift = ceil(log2(k*k))`` (exact average
                           when k is a power of 2). No learned weights.

``k_u`` (every neuron layer): current-based (CUBA) neurons, ``u <- u (1 - 2^-k_u) + input`` before
``v <- leak(v) + u + bias``; ``k_u = 0`` is the current-less neuron (Lava ``du = 4095``).

The architecture string grammar (``--arch``) is documented in ``docs/layers.md``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import NeurochipError

#: kernel codes of the layer kinds (``kind`` in :class:`neurochip.kernels.state.IntNet`)
DENSE, CONV, POOL, RECURRENT = 0, 1, 2, 3


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


@dataclass(frozen=True)
class Dense:
    """A dense layer ``n_in -> n_out`` and the LIF neurons it drives (NIR ``Affine`` + ``LIF``);
    ``k_u > 0``: current-based (CUBA) neurons with current decay ``2^-k_u``. Arch token ``d<n_out>``.

    Example::

        net = nc.build([nc.Dense(64, 128), nc.Dense(128, 10)], "loihi")
    """
    n_in: int
    n_out: int
    k_u: int = 0
    kind = DENSE
    learned = True

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.n_in,)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.n_out,)

    @property
    def weight_shape(self) -> tuple[int, int]:
        """Shape of the weight matrix, presynaptic-major."""
        return (self.n_in, self.n_out)

    @property
    def n_weights(self) -> int:
        return _prod(self.weight_shape)

    @property
    def fan_in(self) -> int:
        return self.n_in

    @property
    def token(self) -> str:
        return f"d{self.n_out}" + (f"u{self.k_u}" if self.k_u else "")


@dataclass(frozen=True)
class RecurrentDense(Dense):
    """A dense layer whose neurons also receive their own spikes of the step before through
    learned recurrent weights (``(n_in + n_out) x n_out``). Arch token ``r<n_out>``.

    Example::

        net = nc.build([nc.RecurrentDense(64, 32), nc.Dense(32, 10)], "loihi")
    """
    kind = RECURRENT

    @property
    def weight_shape(self) -> tuple[int, int]:
        return (self.n_in + self.n_out, self.n_out)

    @property
    def token(self) -> str:
        return f"r{self.n_out}" + (f"u{self.k_u}" if self.k_u else "")


@dataclass(frozen=True)
class Conv2d:
    """A 2-D convolution over a ``(C, H, W)`` input with shared weights, zero ``padding`` and
    ``stride``, and the LIF neurons of its output map. Arch token ``c<out>k<k>[s<s>][p<p>]``.

    Example::

        net = nc.build([nc.Conv2d((1, 8, 8), 4, 3), nc.SumPool2d((4, 6, 6), 2), nc.Dense(36, 10)], "loihi")
    """
    in_shape: tuple[int, int, int]
    out_channels: int
    kernel: int
    stride: int = 1
    padding: int = 0
    k_u: int = 0
    kind = CONV
    learned = True

    @property
    def in_channels(self) -> int:
        return self.in_shape[0]

    @property
    def out_shape(self) -> tuple[int, int, int]:
        c, h, w = self.in_shape
        k, s, p = self.kernel, self.stride, self.padding
        return (self.out_channels, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)

    @property
    def n_in(self) -> int:
        return _prod(self.in_shape)

    @property
    def n_out(self) -> int:
        return _prod(self.out_shape)

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.in_channels, self.kernel, self.kernel, self.out_channels)

    @property
    def n_weights(self) -> int:
        return _prod(self.weight_shape)

    @property
    def fan_in(self) -> int:
        return self.in_channels * self.kernel * self.kernel

    @property
    def token(self) -> str:
        t = f"c{self.out_channels}k{self.kernel}"
        if self.stride != 1:
            t += f"s{self.stride}"
        if self.padding:
            t += f"p{self.padding}"
        return t + (f"u{self.k_u}" if self.k_u else "")


@dataclass(frozen=True)
class SumPool2d:
    """Sum pooling over non-overlapping ``kernel x kernel`` windows per channel (unit weights, not
    learned) and the LIF neurons of its output. Arch token ``p<k>``.

    Example::

        pool = nc.SumPool2d((4, 6, 6), 2)      # out_shape (4, 3, 3)
    """
    in_shape: tuple[int, int, int]
    kernel: int
    k_u: int = 0
    kind = POOL
    learned = False
    prefix = "p"

    @property
    def shift(self) -> int:
        """log2 of the divisor: 0 for a sum."""
        return 0

    @property
    def stride(self) -> int:
        return self.kernel

    @property
    def padding(self) -> int:
        return 0

    @property
    def in_channels(self) -> int:
        return self.in_shape[0]

    @property
    def out_channels(self) -> int:
        return self.in_shape[0]

    @property
    def out_shape(self) -> tuple[int, int, int]:
        c, h, w = self.in_shape
        return (c, h // self.kernel, w // self.kernel)

    @property
    def n_in(self) -> int:
        return _prod(self.in_shape)

    @property
    def n_out(self) -> int:
        return _prod(self.out_shape)

    @property
    def weight_shape(self) -> tuple[int]:
        return (0,)

    @property
    def n_weights(self) -> int:
        return 0

    @property
    def fan_in(self) -> int:
        return self.kernel * self.kernel

    @property
    def token(self) -> str:
        return f"{self.prefix}{self.kernel}" + (f"u{self.k_u}" if self.k_u else "")


@dataclass(frozen=True)
class AvgPool2d(SumPool2d):
    """As :class:`SumPool2d`, each input worth ``2^-shift`` of a threshold (an exact average for a
    power-of-2 window). Arch token ``a<k>``.

    Example::

        pool = nc.AvgPool2d((4, 6, 6), 2)      # shift 2
    """
    prefix = "a"

    @property
    def shift(self) -> int:
        return int(math.ceil(math.log2(self.kernel * self.kernel)))


@dataclass(frozen=True)
class Flatten:
    """Reads a ``(C, H, W)`` map as flat CHW values (no weights, no neurons); implied before a dense
    layer. Arch token ``f``.

    Example::

        specs = [nc.Conv2d((1, 8, 8), 2, 3), nc.Flatten((2, 6, 6)), nc.Dense(72, 10)]
    """
    in_shape: tuple[int, ...]
    kind = -1
    learned = False
    token = "f"

    @property
    def out_shape(self) -> tuple[int]:
        return (_prod(self.in_shape),)


Layer = Dense | RecurrentDense | Conv2d | SumPool2d | AvgPool2d   # weight layers (Flatten is not one)


def layers_from_sizes(sizes) -> tuple[Layer, ...]:
    """The fully connected network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``."""
    sizes = [int(s) for s in sizes]
    return tuple(Dense(a, b) for a, b in zip(sizes[:-1], sizes[1:]))


_TOKEN = re.compile(r"^(?:(?P<f>f)|(?P<t>[cdrpa])(?P<n>\d+)(?:k(?P<k>\d+))?(?:s(?P<s>\d+))?(?:p(?P<p>\d+))?(?:u(?P<u>\d+))?)$")
MAX_KU = 12


def _input_shape(n_in: int, input_shape) -> tuple[int, ...]:
    if input_shape:
        shape = tuple(int(s) for s in input_shape)
        if _prod(shape) != n_in or min(shape) < 1:
            raise NeurochipError(f"input shape {'x'.join(map(str, shape))} does not hold the {n_in} input values")
        return shape
    return (n_in,)


def parse_arch(arch: str, n_in: int, n_classes: int, input_shape=()) -> tuple:
    """The layer specs (Flatten included) of architecture string ``arch`` on ``n_in`` inputs
    (shape ``input_shape``, or ``1 x s x s`` for a square ``n_in`` when the first layer needs an
    image), ending in the readout ``d<n_classes>`` (appended unless the string already ends with a
    dense layer of that size). Grammar: docs/layers.md. Bad strings and sizes that do not fit raise
    a one-line NeurochipError naming the layer."""
    if not isinstance(arch, str) or not arch.strip():
        raise NeurochipError("--arch is empty; write layers like c8k3-p2-d64 (docs/layers.md)")
    tokens = [t.strip() for t in arch.strip().split("-")]
    shape = _input_shape(n_in, input_shape)
    out = []
    for pos, tok in enumerate(tokens):
        m = _TOKEN.match(tok)
        where = f"--arch layer {pos} '{tok}'"
        if not m:
            raise NeurochipError(f"{where} does not parse: use c<out>k<k>[s<stride>][p<pad>], p<k>, a<k>, f, d<n>, r<n>,"
                                 " each with an optional u<k_u> (docs/layers.md)")
        if m["f"]:
            if len(shape) == 1:
                raise NeurochipError(f"{where}: the input is already flat ({shape[0]} values)")
            out.append(Flatten(shape))
            shape = out[-1].out_shape
            continue
        t, n = m["t"], int(m["n"])
        k_u = int(m["u"]) if m["u"] is not None else 0
        if k_u > MAX_KU:
            raise NeurochipError(f"{where}: current decay shift u{k_u} is outside [0, {MAX_KU}]")
        if t != "c" and (m["k"] or m["s"] or m["p"]):
            raise NeurochipError(f"{where}: only convolutions take k/s/p (pools are k x k with stride k)")
        if n < 1:
            raise NeurochipError(f"{where}: sizes must be at least 1")
        if t in "cpa":
            if len(shape) == 1:
                if pos == 0 and not input_shape and math.isqrt(shape[0]) ** 2 == shape[0]:
                    s = math.isqrt(shape[0])
                    shape = (1, s, s)
                else:
                    raise NeurochipError(f"{where} needs a (C, H, W) image input, got {shape[0]} flat values"
                                         + (" (give the input shape)" if pos == 0 else ""))
            c, h, w = shape
            if t == "c":
                if m["k"] is None:
                    raise NeurochipError(f"{where}: a convolution needs a kernel size k<k>, e.g. c8k3")
                k = int(m["k"])
                s = int(m["s"]) if m["s"] is not None else 1
                p = int(m["p"]) if m["p"] is not None else 0
                if k < 1 or s < 1:
                    raise NeurochipError(f"{where}: kernel and stride must be at least 1")
                if k > h + 2 * p or k > w + 2 * p:
                    raise NeurochipError(f"{where}: kernel {k} is larger than its {h}x{w} input (padding {p})")
                if p >= k:
                    raise NeurochipError(f"{where}: padding {p} must be smaller than the kernel {k}")
                lay = Conv2d((c, h, w), n, k, s, p, k_u)
            else:
                if n > h or n > w:
                    raise NeurochipError(f"{where}: pool {n}x{n} is larger than its {h}x{w} input")
                lay = (SumPool2d if t == "p" else AvgPool2d)((c, h, w), n, k_u)
        else:
            if len(shape) > 1:
                out.append(Flatten(shape))      # implicit flatten before a dense layer
                shape = out[-1].out_shape
            lay = (Dense if t == "d" else RecurrentDense)(shape[0], n, k_u)
        out.append(lay)
        shape = lay.out_shape
    last = out[-1]
    if not (type(last) is Dense and last.n_out == n_classes and last.k_u == 0):
        if len(shape) > 1:
            out.append(Flatten(shape))
            shape = out[-1].out_shape
        out.append(Dense(shape[0], n_classes))
    return tuple(out)


def n_connections(spec) -> int:
    """Synapses of a weight layer as a chip without weight sharing stores them, one per (pre, post)
    pair: dense n_in n_out; recurrent (n_in + n_out) n_out; conv and pool: every output position x
    kernel offset that lands inside the (padded) input, x C_in C_out (conv) or x C (pool)."""
    if spec.kind in (CONV, POOL):
        (ci, hi, wi), (co, ho, wo) = spec.in_shape, spec.out_shape
        k, s, p = spec.kernel, spec.stride, spec.padding
        vy = sum(1 for oy in range(ho) for ky in range(k) if 0 <= oy * s - p + ky < hi)
        vx = sum(1 for ox in range(wo) for kx in range(k) if 0 <= ox * s - p + kx < wi)
        return vy * vx * (ci * co if spec.kind == CONV else co)
    return spec.n_weights


def canonical_arch(specs) -> str:
    """The architecture string of ``specs`` with every Flatten and the readout written out."""
    return "-".join(s.token for s in specs)


def weight_layers(specs) -> tuple[Layer, ...]:
    """The weight layers of a spec list (Flatten dropped)."""
    return tuple(s for s in specs if not isinstance(s, Flatten))


_TOML_TYPES = {"conv": "c", "sumpool": "p", "avgpool": "a", "flatten": "f", "dense": "d", "recurrent": "r"}


def arch_from_toml(path) -> tuple[str, tuple[int, ...]]:
    """(architecture string, input shape) of a TOML network file (docs/layers.md)."""
    import tomllib
    from pathlib import Path

    p = Path(path)
    try:
        d = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise NeurochipError(f"network file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise NeurochipError(f"network file {path}: {str(e).splitlines()[0]}") from None
    unknown = set(d) - {"input_shape", "layer"}
    if unknown:
        raise NeurochipError(f"network file {path}: unknown key '{sorted(unknown)[0]}' (input_shape, [[layer]])")
    layers = d.get("layer")
    if not isinstance(layers, list) or not layers:
        raise NeurochipError(f"network file {path}: no [[layer]] tables")
    toks = []
    for i, ly in enumerate(layers):
        t = ly.get("type") if isinstance(ly, dict) else None
        if t not in _TOML_TYPES:
            raise NeurochipError(f"network file {path}: layer {i} type must be one of {', '.join(_TOML_TYPES)}, got {t!r}")
        allowed = {"type", "k_u"} | ({"out_channels", "kernel", "stride", "padding"} if t == "conv" else
                                     {"kernel"} if t in ("sumpool", "avgpool") else {"size"} if t in ("dense", "recurrent")
                                     else set())
        bad = set(ly) - allowed
        if bad:
            raise NeurochipError(f"network file {path}: layer {i} ({t}) has unknown key '{sorted(bad)[0]}'")
        try:
            if t == "conv":
                tok = f"c{int(ly['out_channels'])}k{int(ly['kernel'])}s{int(ly.get('stride', 1))}p{int(ly.get('padding', 0))}"
            elif t in ("sumpool", "avgpool"):
                tok = f"{_TOML_TYPES[t]}{int(ly['kernel'])}"
            elif t == "flatten":
                tok = "f"
            else:
                tok = f"{_TOML_TYPES[t]}{int(ly['size'])}"
        except KeyError as e:
            raise NeurochipError(f"network file {path}: layer {i} ({t}) needs '{e.args[0]}'") from None
        except (TypeError, ValueError):
            raise NeurochipError(f"network file {path}: layer {i} ({t}) sizes must be integers") from None
        if int(ly.get("k_u", 0)):
            tok += f"u{int(ly['k_u'])}"
        toks.append(tok)
    shape = d.get("input_shape", ())
    if not (isinstance(shape, list) and all(isinstance(s, int) for s in shape)):
        raise NeurochipError(f"network file {path}: input_shape must be a list of integers like [1, 8, 8]")
    return "-".join(toks), tuple(shape)


__all__ = ["DENSE", "CONV", "POOL", "RECURRENT", "Dense", "RecurrentDense", "Conv2d", "SumPool2d", "AvgPool2d",
           "Flatten", "Layer", "layers_from_sizes", "n_connections", "parse_arch", "canonical_arch", "weight_layers", "arch_from_toml"]
