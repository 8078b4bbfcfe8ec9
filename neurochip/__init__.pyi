# Type information for the public names of neurochip/__init__.py (loaded lazily there).
from .api import (EnergyReport as EnergyReport, Evaluation as Evaluation, Network as Network,
                  Recording as Recording, build as build, compare_lava_learning as compare_lava_learning, lava_status as lava_status, list_profiles as list_profiles,
                  load as load, load_data as load_data, load_profile as load_profile)
from .data import Dataset as Dataset
from .errors import NeurochipError as NeurochipError
from .layers import Dense as Dense
from .network import NetworkConfig as NetworkConfig
from .profile import Profile as Profile
from .train import History as History

__version__: str
__all__: list[str]
