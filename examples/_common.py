"""Shared by the examples: the --fast switch (also NEUROCHIP_EXAMPLES_FAST=1) the test suite uses."""
from __future__ import annotations

import argparse
import os


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    p.add_argument("--fast", action="store_true", default=os.environ.get("NEUROCHIP_EXAMPLES_FAST") == "1",
                   help="tiny network and one epoch: checks the script runs (the test suite uses it)")
    return p
