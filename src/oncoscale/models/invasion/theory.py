"""Closed-form checks of the invasion model (spec §7): Malthusian growth rate, stable ages.

Euler–Lotka growth rate r (1/day) and stable age profile at constant oxygen. Equations:
docs/invasion_pde.md, section 'Closed-form checks: Malthusian rate and stable ages'.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from oncoscale.models.invasion.params import InvasionParameters, division_rate, necrosis_rate


def _age_grid(p: InvasionParameters, n: int = 200001) -> np.ndarray:
    return np.linspace(0.0, p.pr_age_max, n)


def survival(a: np.ndarray, c: float, p: InvasionParameters) -> np.ndarray:
    """S(a) = exp(−∫₀^a pr(s, c) ds) (probability of not having divided by age a)."""
    grid = _age_grid(p)
    pr = division_rate(grid, c, p)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (pr[1:] + pr[:-1]) * np.diff(grid))])
    return np.exp(-np.interp(a, grid, cum, right=cum[-1]))


def malthusian_rate(c: float, p: InvasionParameters) -> float:
    """Root r (1/day) of 2 ∫ e^{−(r + μ*(c))a} pr(a, c) S(a) da = 1 (trapezoid, 2·10⁵ ages)."""
    a = _age_grid(p)
    kernel = 2.0 * division_rate(a, c, p) * survival(a, c, p)
    mu = float(necrosis_rate(c, p))

    def lotka(r: float) -> float:
        return float(np.trapezoid(np.exp(-(r + mu) * a) * kernel, a)) - 1.0

    if lotka(-mu) <= 0:  # fewer than one daughter per cell on average even without discounting
        lo = -mu - 50.0
        return brentq(lotka, lo, -mu, xtol=1e-12) if lotka(lo) > 0 else float("nan")
    return brentq(lotka, -mu, 100.0, xtol=1e-12)


def stable_age_density(a: np.ndarray, c: float, p: InvasionParameters) -> np.ndarray:
    """Normalised stable age density ∝ e^{−(r + μ*)a} S(a) (1/day) on [0, pr_age_max]."""
    r = malthusian_rate(c, p)
    mu = float(necrosis_rate(c, p))
    grid = _age_grid(p)
    dens = np.exp(-(r + mu) * grid) * survival(grid, c, p)
    return np.interp(a, grid, dens / np.trapezoid(dens, grid), right=0.0)


def sample_stable_ages(
    rng: np.random.Generator, n: int, c: float, p: InvasionParameters
) -> np.ndarray:
    """n ages drawn from :func:`stable_age_density` (inverse CDF)."""
    grid = _age_grid(p, 20001)
    dens = stable_age_density(grid, c, p)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(grid))])
    return np.interp(rng.random(n) * cdf[-1], cdf, grid)
