"""Build script: metadata lives in setup.cfg; this file only adds the bundled hardware profiles.

``hw_profiles/`` stays at the top level of the repository (the place the docs and users look), and
is installed as ``neurochip/hw_profiles/*.toml`` inside the wheel: ``package_dir`` maps the package
name ``neurochip.hw_profiles`` onto the top-level folder, so the wheel carries the same files with
no copy kept in the source tree. ``neurochip.profile.PROFILE_DIR`` looks in the installed place
first and falls back to the top-level folder of a source checkout. The ``py.typed`` marker and
``neurochip/__init__.pyi`` ship too, so type checkers see the public API's hints.
"""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["neurochip", "neurochip.*"]) + ["neurochip.hw_profiles"],
    package_dir={"neurochip.hw_profiles": "hw_profiles"},
    # py.typed and the __init__ stub: the package's type hints are public (PEP 561; docs/api.md)
    package_data={"neurochip.hw_profiles": ["*.toml"], "neurochip": ["py.typed", "*.pyi"]},
)
