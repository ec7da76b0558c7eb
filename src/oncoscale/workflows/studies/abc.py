"""ABC-SMC (Toni et al. 2009; Beaumont et al. 2009) on the study engine.

Particles live in the unit cube of the parameter space (uniform prior there: uniform or
log-uniform in the parameters). Generation 0 proposes from the prior, or — multi-fidelity —
from a defensive mixture of an earlier posterior (e.g. the continuum model's) and the prior;
later generations perturb the previous population with a Gaussian kernel of twice its
weighted covariance. Thresholds: the ``alpha`` weighted quantile of the previous accepted
distances (generation 0 keeps the ``alpha`` quantile of its own proposals when started from
an earlier posterior, else accepts all). Weights: prior / proposal density.

Candidates are evaluated in batches through :func:`run_design` (Dask, chunk files, spawned
seeds ``(generation, batch, point, replicate)``), accepted in candidate order until the
population is full: the result does not depend on the number of workers, and a killed
calibration resumes from its finished chunks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import multivariate_normal

from oncoscale.analysis.likelihood import abc_distance, effective_sample_size, weighted_quantile
from oncoscale.errors import InputError
from oncoscale.io.observations import Observations
from oncoscale.workflows.studies.design import given
from oncoscale.workflows.studies.engine import StudyPlan, run_design

#: share of the prior in the generation-0 proposal when starting from an earlier posterior
DEFENSIVE = 0.1


@dataclass
class Population:
    """Accepted particles of one generation (unit coordinates), their weights, distances and
    the model's values at the data points."""

    unit: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    model: np.ndarray
    epsilon: float
    candidates: int  # runs spent on this generation (all replicates)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def acceptance(self) -> float:
        """Accepted / proposed."""
        return self.unit.shape[0] / max(1, self.candidates)

    def normalised(self) -> np.ndarray:
        """Weights summing to 1."""
        return self.weights / np.sum(self.weights)

    def covariance(self) -> np.ndarray:
        """Weighted covariance of the particles (unit coordinates)."""
        w = self.normalised()
        d = self.unit.shape[1]
        cov = np.atleast_2d(np.cov(self.unit.T, aweights=w, ddof=0))
        return cov + 1e-10 * np.eye(d)

    def interval(self, level: float = 0.95) -> np.ndarray:
        """Equal-tailed weighted intervals per dimension (unit coordinates), 2 × d."""
        lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
        return np.array(
            [
                weighted_quantile(self.unit[:, j], self.weights, [lo, hi])
                for j in range(self.unit.shape[1])
            ]
        ).T


def _kernel_density(x: np.ndarray, pop: Population, cov: np.ndarray) -> np.ndarray:
    """Σ_j w_j N(x; θ_j, cov) for each row of x."""
    w = pop.normalised()
    dens = np.zeros(x.shape[0])
    for theta, wj in zip(pop.unit, w, strict=True):
        dens += wj * multivariate_normal.pdf(x, mean=theta, cov=cov, allow_singular=True)
    return np.atleast_1d(dens)


def _perturb(rng: np.random.Generator, pop: Population, cov: np.ndarray, n: int) -> np.ndarray:
    """``n`` draws from the kernel mixture restricted to the unit cube (rejection)."""
    out = np.empty((0, pop.unit.shape[1]))
    w = pop.normalised()
    while out.shape[0] < n:
        parents = rng.choice(pop.unit.shape[0], size=2 * n, p=w)
        x = pop.unit[parents] + rng.multivariate_normal(np.zeros(cov.shape[0]), cov, size=2 * n)
        out = np.vstack([out, x[np.all((x >= 0) & (x <= 1), axis=1)]])
    return out[:n]


def _proposal(
    rng: np.random.Generator,
    prev: Population | None,
    cov: np.ndarray | None,
    n: int,
    d: int,
    defensive: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidates and their proposal densities (the prior density is 1 on the cube)."""
    if prev is None:
        return rng.uniform(size=(n, d)), np.ones(n)
    x = _perturb(rng, prev, cov, n)
    if defensive > 0:
        from_prior = rng.uniform(size=n) < defensive
        x[from_prior] = rng.uniform(size=(int(from_prior.sum()), d))
    # the kernel restricted to the cube: the normalising mass is ≤ 1, so the weights are
    # prior / proposal up to a constant shared by every candidate of the generation
    density = (1 - defensive) * _kernel_density(x, prev, cov) + defensive
    return x, density


def abc_smc(
    plan: StudyPlan,
    obs: Observations,
    out_dir: Path,
    *,
    population: int = 100,
    generations: int = 5,
    alpha: float = 0.5,
    min_acceptance: float = 0.02,
    target_epsilon: float | None = None,
    initial: Population | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
) -> list[Population]:
    """Run ABC-SMC for the data ``obs`` (``plan``'s QoIs are the data points, in order);
    returns the populations (the last is the posterior)."""
    if population < 10:
        raise InputError(f"invalid value for '--population': {population}; allowed: >= 10")
    if not 1 <= generations <= 50:
        raise InputError(f"invalid value for '--generations': {generations}; allowed: 1 to 50")
    if not 0 < alpha < 1:
        raise InputError(f"invalid value for 'alpha': {alpha}; allowed: 0 < alpha < 1")
    d = len(plan.space.dims)
    pops: list[Population] = []
    prev = initial
    max_batches = math.ceil(1 / min_acceptance)
    for g in range(generations):
        start = prev
        cov = 2 * start.covariance() if start is not None else None
        defensive = DEFENSIVE if (g == 0 and start is not None) else 0.0
        eps = math.inf
        if g > 0:
            eps = float(weighted_quantile(prev.distances, prev.weights, [alpha])[0])
        accepted: list[tuple[np.ndarray, float, float, np.ndarray]] = []
        spent = 0
        for b in range(max_batches):
            rng = np.random.default_rng(
                np.random.SeedSequence(plan.resolved.seed, spawn_key=(g, b))
            )
            x, density = _proposal(rng, start, cov, population, d, defensive)
            batch = StudyPlan(
                plan.resolved,
                plan.space,
                given(x, "abc", generation=g, batch=b),
                plan.qois,
                plan.qoi_options,
                plan.replicates,
                (g, b),
            )
            res = run_design(
                batch,
                out_dir / f"gen-{g:02d}" / f"batch-{b:03d}",
                workers=workers,
                scheduler=scheduler,
                resume=resume,
                progress=progress,
            )
            spent += population * plan.replicates
            model = np.mean(res.values, axis=1)  # replicate mean per candidate
            dist = np.array([abc_distance(m, obs) for m in model])
            if g == 0 and start is not None and b == 0:
                eps = float(np.quantile(dist[np.isfinite(dist)], alpha))
            for k in range(population):
                if dist[k] <= eps and len(accepted) < population:
                    accepted.append((x[k], 1.0 / density[k], dist[k], model[k]))
            if len(accepted) >= population:
                break
        if len(accepted) < population:
            if not pops:
                raise InputError(
                    f"ABC-SMC: only {len(accepted)} of {population} particles accepted in "
                    f"generation {g} after {spent} runs; widen the ranges or check the data"
                )
            break  # acceptance fell below min_acceptance: the previous population stands
        unit, weights, dists, models = (np.array(v) for v in zip(*accepted, strict=True))
        pop = Population(unit, weights, dists, models, eps, spent)
        pop.info = {"ess": effective_sample_size(weights)}
        pops.append(pop)
        prev = pop
        if target_epsilon is not None and float(np.max(dists)) <= target_epsilon:
            break
    return pops
