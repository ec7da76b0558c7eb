"""Scalar observables of the oncolytic model, computed the same way for every representation
(radial/planar PDE, 2D PDE, ABM densities): totals, centre values, maxima, fronts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from oncoscale.models.base import VariableInfo
from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.numerics.grids import CartesianGrid, Grid1D
from oncoscale.numerics.profiles import RadialBins, front_position


@dataclass(frozen=True)
class ProfileGeometry:
    """How to integrate a field, take its radial profile and its value at the centre."""

    integrate: Callable[[np.ndarray], float]
    profile: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    centre: Callable[[np.ndarray], float]


def geometry_1d(grid: Grid1D) -> ProfileGeometry:
    """Radial or planar grid: the field is its own profile; the centre is the first cell."""
    return ProfileGeometry(
        integrate=lambda f: float(grid.integrate(f)),
        profile=lambda f: (grid.centers, f),
        centre=lambda f: float(f[0]),
    )


def geometry_2d(grid: CartesianGrid, r_max: float) -> ProfileGeometry:
    """2D grid centred on the origin: rings of one cell width; centre = the cell at (0, 0)."""
    radius = grid.radius()
    centre_index = np.unravel_index(np.argmin(radius), radius.shape)
    rings = RadialBins(radius, grid.spacing, r_max)
    return ProfileGeometry(
        integrate=lambda f: float(grid.integrate(f)),
        profile=lambda f: (rings.centres, rings.mean(f)),
        centre=lambda f: float(f[centre_index]),
    )


OBSERVABLE_INFO: dict[str, VariableInfo] = {
    "total_u": VariableInfo("1", "total uninfected tumour cells", "cells"),
    "total_i": VariableInfo("1", "total infected tumour cells", "cells"),
    "total_z": VariableInfo("1", "total immune cells", "cells"),
    "total_tumour": VariableInfo("1", "total tumour cells (uninfected + infected)", "cells"),
    "u_center": VariableInfo("mm-2", "uninfected density at the centre", "cells/mm^2"),
    "i_center": VariableInfo("mm-2", "infected density at the centre", "cells/mm^2"),
    "z_center": VariableInfo("mm-2", "immune density at the centre", "cells/mm^2"),
    "max_z": VariableInfo("mm-2", "maximum immune density", "cells/mm^2"),
    "max_phi": VariableInfo("ug/mm^2", "maximum chemoattractant density"),
    "front_u": VariableInfo("mm", "uninfected front (outermost radius with u > 1/delta^2)"),
    "front_i": VariableInfo("mm", "infected front (outermost radius with i > 1/delta^2)"),
}

FIELD_INFO: dict[str, VariableInfo] = {
    "u": VariableInfo("mm-2", "uninfected tumour cell density", "cells/mm^2"),
    "i": VariableInfo("mm-2", "infected tumour cell density", "cells/mm^2"),
    "z": VariableInfo("mm-2", "immune (cytotoxic T) cell density", "cells/mm^2"),
    "phi": VariableInfo("ug/mm^2", "chemoattractant density"),
}


def observables(
    u: np.ndarray,
    i: np.ndarray,
    z: np.ndarray,
    phi: np.ndarray,
    geometry: ProfileGeometry,
    params: OncolyticParameters,
) -> dict[str, float]:
    """All scalar observables of one state (see :data:`OBSERVABLE_INFO`)."""
    total_u, total_i = geometry.integrate(u), geometry.integrate(i)
    threshold = params.front_threshold
    r_u, prof_u = geometry.profile(u)
    r_i, prof_i = geometry.profile(i)
    return {
        "total_u": total_u,
        "total_i": total_i,
        "total_z": geometry.integrate(z),
        "total_tumour": total_u + total_i,
        "u_center": geometry.centre(u),
        "i_center": geometry.centre(i),
        "z_center": geometry.centre(z),
        "max_z": float(np.max(z)),
        "max_phi": float(np.max(phi)),
        "front_u": front_position(r_u, prof_u, threshold),
        "front_i": front_position(r_i, prof_i, threshold),
    }
