# Type information for the public names of neurochip/__init__.py (loaded lazily there).
from .api import (CHOICES as CHOICES, EnergyReport as EnergyReport, Evaluation as Evaluation, Network as Network,
                  Recording as Recording, build as build, check_output as check_output,
                  compare_lava_learning as compare_lava_learning, energy_report as energy_report, import_nir as import_nir,
                  lava_status as lava_status, list_profiles as list_profiles, load as load, load_data as load_data,
                  load_profile as load_profile, profile_summaries as profile_summaries, set_threads as set_threads)
from .api import (SweepRun as SweepRun, SweepTable as SweepTable, plot_axis as plot_axis, plot_counters as plot_counters,
                  plot_curves as plot_curves, plot_energy as plot_energy, plot_pareto as plot_pareto,
                  plot_raster as plot_raster, plot_weights as plot_weights, read_sweep as read_sweep,
                  run_sweep as run_sweep, sweep_points as sweep_points)
from .binning import EventBinning as EventBinning
from .data import Dataset as Dataset
from .errors import NeurochipError as NeurochipError
from .layers import (AvgPool2d as AvgPool2d, Conv2d as Conv2d, Dense as Dense, Flatten as Flatten,
                     RecurrentDense as RecurrentDense, SumPool2d as SumPool2d)
from .network import NetworkConfig as NetworkConfig
from .profile import Profile as Profile
from .train import History as History

__version__: str
__all__: list[str]
