"""Initial conditions of the invasion model (spec §5), for the PDE grid and the IBM particles.

Fields are densities (mass/len^dim) evaluated at the cell centres of a
:class:`~oncoscale.numerics.grids.CartesianGrid`; particle sets are sampled with a given
``numpy.random.Generator``. The same density functions serve both: the IBM samples the smooth
fields the PDE starts from (cells: untruncated Gaussian, 100 cells by default).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import special

from oncoscale.models.invasion.params import PROLIFERATING, InvasionParameters
from oncoscale.numerics.grids import CartesianGrid

Points = Sequence[np.ndarray]  # one coordinate array per axis, all of the same shape
Density = Callable[[Points], np.ndarray]


def gaussian(points: Points, center: Sequence[float], sigma: float) -> np.ndarray:
    """Normalised isotropic Gaussian G(center; σ) in len(center) dimensions (1/len^dim)."""
    dim = len(center)
    r2 = sum((x - c) ** 2 for x, c in zip(points, center, strict=True))
    return np.exp(-0.5 * r2 / sigma**2) / (2.0 * np.pi * sigma**2) ** (dim / 2)


def _center(p: InvasionParameters, dim: int) -> tuple[float, ...]:
    return (0.5 * p.L,) * dim


def cell_density(points: Points, p: InvasionParameters, truncate: bool = True) -> np.ndarray:
    """Initial proliferating wild-type density (summed over age): cell_mass0 · G(centre; σ).

    ``truncate`` (the PDE's choice, spec §5): zero beyond ``cell_truncation0`` from the centre and
    rescaled so that the mass of the truncated Gaussian over the whole space is still cell_mass0.
    """
    dim = len(points)
    dens = p.cell_mass0 * gaussian(points, _center(p, dim), p.cell_sigma0)
    if not truncate:
        return dens
    r2 = sum((x - c) ** 2 for x, c in zip(points, _center(p, dim), strict=True))
    inside = r2 <= p.cell_truncation0**2
    return np.where(
        inside, dens / _gaussian_mass_within(p.cell_truncation0 / p.cell_sigma0, dim), 0
    )


def _gaussian_mass_within(r: float, dim: int) -> float:
    """Mass of a standard normal in ``dim`` dimensions within radius r (chi distribution CDF)."""
    from scipy.stats import chi

    return float(chi.cdf(r, dim))


def mm_density(points: Points, p: InvasionParameters) -> np.ndarray:
    """Initial MM density f0: case A homogeneous f0; case B f_base + two Gaussian peaks."""
    shape = np.shape(points[0])
    if p.mm_case == "homogeneous":
        return np.full(shape, p.f0)
    dim = len(points)
    lo, hi = (p.f_peak_offset,) * dim, (p.L - p.f_peak_offset,) * dim
    return (
        p.f_base
        + p.f_peak * gaussian(points, lo, p.f_peak_sigma)
        + p.f_peak * gaussian(points, hi, p.f_peak_sigma)
    )


def mm_density_max(p: InvasionParameters, dim: int) -> float:
    """Upper bound of the initial MM density (for stratified sampling)."""
    if p.mm_case == "homogeneous":
        return p.f0
    return p.f_base + 2.0 * p.f_peak / (2.0 * np.pi * p.f_peak_sigma**2) ** (dim / 2)


def o2_density(points: Points, p: InvasionParameters) -> np.ndarray:
    """Initial O2 c0 = (ν/φ) f0, the equilibrium with the matrix (10 f0 by default)."""
    return p.o2_equilibrium_ratio * mm_density(points, p)


def mde_density(points: Points, p: InvasionParameters, truncate: bool = True) -> np.ndarray:
    """Initial MDE: ``mde_fraction0`` times the proliferating cell density."""
    return p.mde_fraction0 * cell_density(points, p, truncate)


def initial_fields(
    grid: CartesianGrid, p: InvasionParameters, truncate: bool = True
) -> dict[str, np.ndarray]:
    """The spec §5 fields on ``grid``: ``cells`` (wild-type proliferating density summed over
    age), ``mm``, ``mde``, ``o2`` (mass/len^dim)."""
    points = grid.mesh()
    return {
        "cells": cell_density(points, p, truncate),
        "mm": mm_density(points, p),
        "mde": mde_density(points, p, truncate),
        "o2": o2_density(points, p),
    }


def initial_age_profile(ages: np.ndarray, p: InvasionParameters) -> np.ndarray:
    """Age density (1/day) of the initial cells: uniform on [0, cell_age_max0]."""
    ages = np.asarray(ages, dtype=float)
    if p.cell_age_max0 == 0:
        raise ValueError("cell_age_max0 = 0: all initial cells have age 0 (a point mass)")
    return np.where((ages >= 0) & (ages <= p.cell_age_max0), 1.0 / p.cell_age_max0, 0.0)


# ---- IBM particle sets -------------------------------------------------------------------------
#: below this probability that a Gaussian draw lands in the box, initial cells are drawn by
#: the truncated inverse CDF instead of redrawing (a huge cell_sigma0 never lands: hostile
#: input once looped for ever)
MIN_ACCEPTANCE = 0.01


def _truncated_normal(
    rng: np.random.Generator,
    center: np.ndarray,
    sigma: float,
    length: float,
    lo: np.ndarray,
    hi: np.ndarray,
    n: int,
) -> np.ndarray:
    """n points of N(center, sigma²) per axis conditioned on [0, length]: u uniform on
    [Φ(−c/σ), Φ((L − c)/σ)], x = c + σΦ⁻¹(u). Where that interval is below 1e-9 wide the
    Gaussian is flat over the box to 1e-17 (and Φ⁻¹ would lose digits): the points are
    uniform."""
    out = np.empty((n, center.size))
    for a in range(center.size):
        if hi[a] - lo[a] < 1e-9:
            out[:, a] = rng.uniform(0.0, length, n)
        else:
            out[:, a] = center[a] + sigma * special.ndtri(rng.uniform(lo[a], hi[a], n))
    return np.clip(out, 0.0, length)


def sample_cells(
    rng: np.random.Generator, p: InvasionParameters, dim: int
) -> dict[str, np.ndarray]:
    """n_cells0 cells from the Gaussian cell density (redrawn if outside [0, L]^dim), all
    proliferating wild type, ages uniform on [0, cell_age_max0].

    Returns ``pos`` (n, dim), ``age`` (n,), ``phenotype`` (n,) int8, ``compartment`` (n,) int8.
    """
    n = p.n_cells0
    center = np.array(_center(p, dim))
    lo, hi = special.ndtr(-center / p.cell_sigma0), special.ndtr((p.L - center) / p.cell_sigma0)
    if np.prod(hi - lo) >= MIN_ACCEPTANCE:  # redraw those outside (the historical stream)
        pos = np.empty((0, dim))
        while pos.shape[0] < n:
            draw = center + p.cell_sigma0 * rng.standard_normal((2 * n, dim))
            keep = np.all((draw >= 0.0) & (draw <= p.L), axis=1)
            pos = np.concatenate([pos, draw[keep]])
    else:  # a Gaussian mostly outside the box: each axis by its truncated inverse CDF
        pos = _truncated_normal(rng, center, p.cell_sigma0, p.L, lo, hi, n)
    return {
        "pos": pos[:n].copy(),
        "age": rng.uniform(0.0, p.cell_age_max0, n),
        "phenotype": np.zeros(n, dtype=np.int8),
        "compartment": np.full(n, PROLIFERATING, dtype=np.int8),
    }


def sample_stratified(
    rng: np.random.Generator,
    density: Density,
    mass: float,
    dim: int,
    length: float,
    density_max: float,
) -> np.ndarray:
    """Particles of ``mass`` representing ``density`` on [0, length]^dim, jittered-grid sampled.

    The domain is cut into cubic strata of side h ≈ (mass/density_max)^{1/dim} (about one
    particle per stratum where the density is largest); stratum k holds ⌊e_k⌋ or ⌊e_k⌋ + 1
    particles (e_k = density(centre_k)·h^dim/mass, the fraction as a Bernoulli draw), each placed
    uniformly in its stratum. The count is unbiased and the sampling noise is confined to the
    stratum scale. Returns positions (n, dim).
    """
    if density_max <= 0:
        return np.empty((0, dim))
    n_side = max(1, round(length / (mass / density_max) ** (1.0 / dim)))
    h = length / n_side
    axes = [(np.arange(n_side) + 0.5) * h] * dim
    centers = np.meshgrid(*axes, indexing="ij")
    expected = np.maximum(density(centers), 0.0) * h**dim / mass
    counts = np.floor(expected).astype(np.int64)
    counts += rng.random(expected.shape) < (expected - counts)
    counts = counts.ravel()
    corners = np.stack([c.ravel() - 0.5 * h for c in centers], axis=1)
    del centers, expected  # (millions of strata for light particles: free them early)
    pos = np.repeat(corners, counts, axis=0)
    del corners, counts
    jitter = rng.random(pos.shape)
    jitter *= h
    pos += jitter
    return pos


def sample_fields(
    rng: np.random.Generator, p: InvasionParameters, dim: int
) -> dict[str, np.ndarray]:
    """IBM particle positions for ``mm``, ``mde`` and ``o2`` (each (n, dim)), stratified.

    MDE is sampled from the untruncated smooth density (the IBM's cells are drawn from it too).
    """
    fmax = mm_density_max(p, dim)
    cells_max = p.cell_mass0 / (2.0 * np.pi * p.cell_sigma0**2) ** (dim / 2)
    return {
        "mm": sample_stratified(rng, lambda x: mm_density(x, p), p.M_MM, dim, p.L, fmax),
        "mde": sample_stratified(
            rng,
            lambda x: mde_density(x, p, truncate=False),
            p.M_MDE,
            dim,
            p.L,
            p.mde_fraction0 * cells_max,
        ),
        "o2": sample_stratified(
            rng, lambda x: o2_density(x, p), p.M_O2, dim, p.L, p.o2_equilibrium_ratio * fmax
        ),
    }
