"""oncoscale: multiscale tumour-immune modelling.

Three model families (oncolytic virus + immune system, kinetic tumour-immune competition,
individual-based tumour invasion), each at several scales from one parameter set.
"""

import os
from importlib.metadata import PackageNotFoundError, version

# Compiled kernels (the oncolytic ABM) synchronise their threads several times per step
# (~0.3 ms apart). OpenMP's default busy-wait keeps a waiting thread on its core while another
# process needs it (20 h of the central ABM: 13.7 s instead of 0.9 s at load 13); purely passive
# waiting puts every thread to sleep between the phases, and two threads were slower than one
# (0.84x). A short spin (GOMP_SPINCOUNT = 1000 iterations, microseconds) before sleeping
# catches the next phase: 0.58x the one-thread time on an idle 2-core machine, and the ABM
# measures and falls back to one thread when the machine is busy (numerics/thread_tuner.py).
# Set OMP_WAIT_POLICY or GOMP_SPINCOUNT yourself to override.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ["GOMP_SPINCOUNT"] = "1000"

try:
    __version__ = version("oncoscale")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
