"""Observables shared by the kinetic family's spatial representations (PDE and kinetic)."""

from __future__ import annotations

import numpy as np

from oncoscale.numerics.grids import CartesianGrid


def totals_and_means(
    fields: dict[str, np.ndarray], grid: CartesianGrid, volume: float
) -> dict[str, float]:
    """``total_<name>`` (integral over the domain) and ``mean_<name>`` (total / volume) of
    every density field (scaled density units)."""
    out: dict[str, float] = {}
    for name, values in fields.items():
        total = float(grid.integrate(values))
        out[f"total_{name}"] = total
        out[f"mean_{name}"] = total / volume
    return out
