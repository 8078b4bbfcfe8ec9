"""neurochip: a neuromorphic on-chip learning simulator (integer LIF + on-chip OTTT).

The public Python API (``docs/api.md``) is importable from here::

    import neurochip as nc

    net = nc.build([nc.Dense(64, 128), nc.Dense(128, 10)], nc.load_profile("loihi"))
    net.fit("digits", epochs=3)
    print(net.evaluate().accuracy)

The names in ``__all__`` are the stable surface; anything else may change. They are loaded on
first use (PEP 562), so ``import neurochip`` stays light and this file imports no module: the
numba cache keys a kernel on every package file it imports, ``__init__.py`` included
(``kernel_cache.py``), and an import here would tie every kernel to the whole API. Type checkers
read the names from ``__init__.pyi``.
"""
__version__ = "0.1.0"

# public name -> module that defines it (relative to the package)
_EXPORTS = {
    "NeurochipError": "errors",
    "Profile": "profile",
    "load_profile": "api",
    "list_profiles": "api",
    "Dense": "layers",
    "RecurrentDense": "layers",
    "Conv2d": "layers",
    "SumPool2d": "layers",
    "AvgPool2d": "layers",
    "Flatten": "layers",
    "NetworkConfig": "network",
    "Network": "api",
    "build": "api",
    "load": "api",
    "Dataset": "data",
    "load_data": "api",
    "EventBinning": "binning",
    "History": "train",
    "Evaluation": "api",
    "Recording": "api",
    "EnergyReport": "api",
    "lava_status": "api",
    "compare_lava_learning": "api",
    "energy_report": "api",
    "import_nir": "api",
    "profile_summaries": "api",
    "set_threads": "api",
    "check_output": "api",
    "CHOICES": "api",
    "SweepRun": "api",
    "SweepTable": "api",
    "read_sweep": "api",
    "run_sweep": "api",
    "sweep_points": "api",
    "plot_pareto": "api",
    "plot_axis": "api",
    "plot_curves": "api",
    "plot_weights": "api",
    "plot_counters": "api",
    "plot_raster": "api",
    "plot_energy": "api",
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'neurochip' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
