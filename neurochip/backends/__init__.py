"""Engine back ends: one object per precision and learning rule, behind :class:`neurochip.engine.Engine`.

* :mod:`.int_ottt`   integer chip arithmetic, OTTT_O / OTTT_A (kernels/ottt_int.py)
* :mod:`.float_ottt` float32 reference, OTTT_O / OTTT_A (kernels/ottt_float.py)
* :mod:`.bptt`       float32 reference, backpropagation through time (kernels/bptt_float.py)

:func:`backend_for` picks one from a config; :mod:`.base` holds what they share.
"""
from __future__ import annotations

from .base import Backend


def backend_for(cfg, profile, state) -> Backend:
    """The back end that runs ``cfg`` (precision x rule)."""
    if cfg.precision == "int":
        from .int_ottt import IntOttt
        return IntOttt(cfg, profile, state)
    if not cfg.plain_dense:
        from .float_layers import FloatLayers     # layer kinds: the numpy float OTTT reference
        return FloatLayers(cfg, profile, state)
    if cfg.rule == "bptt":
        from .bptt import Bptt
        return Bptt(cfg, profile, state)
    from .float_ottt import FloatOttt
    return FloatOttt(cfg, profile, state)


__all__ = ["Backend", "backend_for"]
