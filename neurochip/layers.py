"""Layer specs: the network as a sequence of small frozen dataclasses, in the style of NIR's nodes.

A spec says what a layer is (its shape and kind), never how it runs: the integer kernels give each
kind its own forward, error and update step (``neurochip/kernels/dense.py`` for :class:`Dense`) and
dispatch on :attr:`kind`. ``Dense`` is the first kind; convolution, pooling and recurrence plug in
as further specs with their own step functions.

A Dense layer here is one weight layer *and* the LIF neurons it drives (as a NIR ``Affine`` followed
by a ``LIF``): ``n_in`` presynaptic values, ``n_out`` neurons, weights ``W[j, i]`` stored
presynaptic-major.
"""
from __future__ import annotations

from dataclasses import dataclass

#: kernel codes of the layer kinds (``kind`` in :class:`neurochip.kernels.state.IntNet`)
DENSE = 0


@dataclass(frozen=True)
class Dense:
    n_in: int
    n_out: int
    kind = DENSE

    @property
    def weight_shape(self) -> tuple[int, int]:
        """Shape of the weight matrix, presynaptic-major."""
        return (self.n_in, self.n_out)

    @property
    def n_weights(self) -> int:
        return self.n_in * self.n_out


Layer = Dense   # the union of the layer kinds (one so far)


def layers_from_sizes(sizes) -> tuple[Layer, ...]:
    """The fully connected network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``."""
    sizes = [int(s) for s in sizes]
    return tuple(Dense(a, b) for a, b in zip(sizes[:-1], sizes[1:]))


__all__ = ["DENSE", "Dense", "Layer", "layers_from_sizes"]
