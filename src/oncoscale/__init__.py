"""oncoscale: multiscale tumour-immune modelling.

Three model families (oncolytic virus + immune system, kinetic tumour-immune competition,
individual-based tumour invasion), each at several scales from one parameter set.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("oncoscale")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
