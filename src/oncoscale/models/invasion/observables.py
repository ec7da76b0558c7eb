"""Observables of the invasion model shared by the IBM and the PDE, and particle binning.

Both representations report the same fields on the PDE grid (spec §6): ``cells_p`` and
``cells_q`` (densities summed over age, dims phenotype × space), ``mm``, ``mde``, ``o2``; the
IBM bins its particles with :func:`bin_density`. :func:`field_observables` turns those fields
into the scalar observables both record (masses per phenotype and compartment, mean radii).
"""

from __future__ import annotations

import numpy as np

from oncoscale.models.base import VariableInfo
from oncoscale.models.invasion.params import N_PHENOTYPES, InvasionParameters
from oncoscale.numerics.grids import CartesianGrid

SPACE_DIMS = ("x", "y", "z")
SPECIES = ("mm", "mde", "o2")


def space_dims(dim: int) -> tuple[str, ...]:
    """Names of the space dimensions of a ``dim``-dimensional grid."""
    return SPACE_DIMS[:dim]


def field_dims(dim: int) -> dict[str, tuple[str, ...]]:
    """Dims of every field of either representation."""
    sp = space_dims(dim)
    return {
        "cells_p": ("phenotype", *sp),
        "cells_q": ("phenotype", *sp),
        "mm": sp,
        "mde": sp,
        "o2": sp,
    }


def grid_for(p: InvasionParameters, dim: int, dx: float | None = None) -> CartesianGrid:
    """The PDE grid (cell-centred on [0, L]^dim, spacing dx or the spec's Δx for ``dim``)."""
    return CartesianGrid.cell_centred(0.0, p.L, dx or p.grid_spacing(dim), dim, name="dx")


def coords(grid: CartesianGrid) -> dict[str, np.ndarray]:
    """Coordinates of the field dims."""
    out = {name: grid.axis(a) for a, name in enumerate(space_dims(grid.dim))}
    out["phenotype"] = np.arange(N_PHENOTYPES)
    return out


#: particles binned at a time by :func:`bin_density`
BIN_CHUNK = 1 << 18


def bin_density(
    pos: np.ndarray,
    grid: CartesianGrid,
    mass: float,
    weights: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Density (mass/len^dim) of particles of ``mass`` at ``pos`` (n, dim) on ``grid``: mass ×
    count / cell volume per grid cell (particles on or beyond a wall go to the edge cell);
    ``mask`` (n,): only the particles where it is true (without copying the others out)."""
    pos = np.asarray(pos, dtype=float).reshape(-1, grid.dim)
    size = int(np.prod(grid.shape))
    counts = np.zeros(size)
    # in chunks: the index arrays of millions of particles would cost several times the
    # particles' own memory (BIN_CHUNK particles at a time: a few MB)
    for lo in range(0, pos.shape[0], BIN_CHUNK):
        part = pos[lo : lo + BIN_CHUNK]
        w = None if weights is None else weights[lo : lo + BIN_CHUNK]
        if mask is not None:
            keep = mask[lo : lo + BIN_CHUNK]
            part = part[keep]
            w = None if w is None else w[keep]
        idx = np.floor((part - np.asarray(grid.first_center)) / grid.spacing + 0.5)
        idx = idx.astype(np.int64)
        for a, n in enumerate(grid.shape):
            np.clip(idx[:, a], 0, n - 1, out=idx[:, a])
        flat = np.ravel_multi_index(tuple(idx.T), grid.shape)
        counts += np.bincount(flat, weights=w, minlength=size)
    return (mass / grid.cell_volume) * counts.reshape(grid.shape)


def bin_cells(
    pos: np.ndarray, ctype: np.ndarray, mask: np.ndarray, grid: CartesianGrid, mass: float
) -> np.ndarray:
    """Cell density per phenotype (phenotype, *grid.shape) of the cells selected by ``mask``."""
    out = np.empty((N_PHENOTYPES, *grid.shape))
    for i in range(N_PHENOTYPES):
        out[i] = bin_density(pos[mask & (ctype == i)], grid, mass)
    return out


def field_observables(
    fields: dict[str, np.ndarray], grid: CartesianGrid, p: InvasionParameters
) -> dict[str, float]:
    """Masses per phenotype i and compartment (``mass_p{i}``, ``mass_q{i}``), totals
    (``mass_p``, ``mass_q``, ``mass_cells``, ``mass_mm``, ``mass_mde``, ``mass_o2``) and the
    mass-weighted mean distance of proliferating and quiescent cells from the domain centre
    (``radius_p``, ``radius_q``; NaN when there are none)."""
    out: dict[str, float] = {}
    r = grid.radius((0.5 * p.L,) * grid.dim)
    for comp in ("p", "q"):
        dens = fields[f"cells_{comp}"]
        per_type = grid.integrate(dens)
        for i in range(N_PHENOTYPES):
            out[f"mass_{comp}{i}"] = float(per_type[i])
        total = float(per_type.sum())
        out[f"mass_{comp}"] = total
        summed = dens.sum(axis=0)
        out[f"radius_{comp}"] = (
            float(grid.integrate(summed * r) / total) if total > 0 else float("nan")
        )
    out["mass_cells"] = out["mass_p"] + out["mass_q"]
    for name in SPECIES:
        out[f"mass_{name}"] = float(grid.integrate(fields[name]))
    return out


FIELD_INFO = {
    "cells_p": VariableInfo(
        "1", "proliferating tumour cell density (summed over age)", "model mass per length^d"
    ),
    "cells_q": VariableInfo(
        "1", "quiescent tumour cell density (summed over age)", "model mass per length^d"
    ),
    "mm": VariableInfo("1", "matrix macromolecule density f", "model mass per length^d"),
    "mde": VariableInfo("1", "matrix-degrading enzyme density m", "model mass per length^d"),
    "o2": VariableInfo("1", "oxygen density c", "model mass per length^d"),
    "phenotype": VariableInfo("1", "phenotype (0 wild type ... 4 most aggressive)"),
    "x": VariableInfo("1", "x", "model length unit"),
    "y": VariableInfo("1", "y", "model length unit"),
    "z": VariableInfo("1", "z", "model length unit"),
}


def observable_info() -> dict[str, VariableInfo]:
    """Units and names of the observables of :func:`field_observables`."""
    out = {}
    for comp, word in (("p", "proliferating"), ("q", "quiescent")):
        for i in range(N_PHENOTYPES):
            out[f"mass_{comp}{i}"] = VariableInfo(
                "1", f"{word} cells of phenotype {i}", "model mass unit"
            )
        out[f"mass_{comp}"] = VariableInfo("1", f"{word} cells", "model mass unit")
        out[f"radius_{comp}"] = VariableInfo(
            "1", f"mean distance of {word} cells from centre", "model length unit"
        )
    out["mass_cells"] = VariableInfo("1", "tumour cells (P + Q)", "model mass unit")
    for name in SPECIES:
        out[f"mass_{name}"] = VariableInfo("1", f"total {name.upper()}", "model mass unit")
    return out
