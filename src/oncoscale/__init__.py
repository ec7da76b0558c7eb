"""oncoscale: multiscale tumour-immune modelling.

Three model families (oncolytic virus + immune system, kinetic tumour-immune competition,
individual-based tumour invasion), each at several scales from one parameter set.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# Compiled kernels (the oncolytic ABM) synchronise their threads several times per step. With
# OpenMP's default busy-wait a waiting thread keeps its core while another process needs it
# (ensemble workers, a shared machine): 20 h of the central ABM took 13.7 s instead of 0.9 s
# at load 13 (benchmarks/bench_abm.py). Passive waiting gives the same numbers without that
# collapse; set OMP_WAIT_POLICY yourself to override.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    __version__ = version("oncoscale")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
