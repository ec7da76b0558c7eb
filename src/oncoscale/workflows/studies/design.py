"""Designs: where in the unit cube [0, 1]^d a study runs its points.

* ``grid`` — full factorial, ``levels`` values per dimension (ends included);
* ``lhs`` — Latin hypercube of ``samples`` points (scipy.stats.qmc, optimised by random CD);
* ``sobol`` — Saltelli's scheme for Sobol indices without second order: ``samples`` base
  points (a power of 2) × (d + 2) rows (SALib, scrambled Sobol' sequence);
* ``morris`` — ``samples`` Morris trajectories of d + 1 points on a ``levels``-level grid
  (SALib);
* ``points`` — given unit points (an adaptive sampler's proposals, a sweep's values).

A design is data: the unit points and how they were made (method, samples, seed), so a study
is a pure function of (scenario, space, design, seed).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from scipy.stats import qmc

from oncoscale.analysis.sensitivity import unit_problem
from oncoscale.errors import InputError

METHODS = ("grid", "lhs", "sobol", "morris")
MAX_POINTS = 1_000_000


@dataclass(frozen=True)
class Design:
    """Unit points (n × d) and how they were made."""

    method: str
    unit: np.ndarray
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Number of points."""
        return int(self.unit.shape[0])


def _count(value: int, what: str, lo: int = 1) -> int:
    if not isinstance(value, int | np.integer) or value < lo:
        raise InputError(f"invalid value for '{what}': {value!r}; allowed: integer >= {lo}")
    return int(value)


def grid(d: int, levels: int) -> Design:
    """Full factorial with ``levels`` values per dimension."""
    levels = _count(levels, "--levels", 2)
    if levels**d > MAX_POINTS:
        raise InputError(f"a grid of {levels}^{d} points is too large; allowed: <= {MAX_POINTS}")
    axis = np.linspace(0.0, 1.0, levels)
    unit = np.array(list(itertools.product(axis, repeat=d)), dtype=float)
    return Design("grid", unit, {"levels": levels})


def latin_hypercube(d: int, samples: int, seed: int) -> Design:
    """Latin hypercube of ``samples`` points."""
    samples = _count(samples, "--samples")
    sampler = qmc.LatinHypercube(d, optimization="random-cd", rng=np.random.default_rng(seed))
    return Design("lhs", sampler.random(samples), {"samples": samples, "seed": seed})


def saltelli(names: list[str], samples: int, seed: int) -> Design:
    """Saltelli's design for first-order and total Sobol indices: N (d + 2) points."""
    samples = _count(samples, "--samples", 2)
    if samples & (samples - 1):
        raise InputError(
            f"invalid value for '--samples': {samples}; allowed: a power of 2 (Sobol' "
            "sequences balance only there), e.g. 256, 512, 1024"
        )
    unit = sobol_sample.sample(unit_problem(names), samples, calc_second_order=False, seed=seed)
    return Design("sobol", unit, {"samples": samples, "seed": seed})


def morris(names: list[str], trajectories: int, seed: int, levels: int = 4) -> Design:
    """``trajectories`` Morris trajectories (r (d + 1) points) on a ``levels``-level grid."""
    trajectories = _count(trajectories, "--samples", 2)
    levels = _count(levels, "--levels", 2)
    if levels % 2:
        raise InputError(f"invalid value for '--levels': {levels}; allowed: an even number")
    unit = morris_sample.sample(unit_problem(names), trajectories, num_levels=levels, seed=seed)
    return Design("morris", unit, {"samples": trajectories, "levels": levels, "seed": seed})


def given(unit: np.ndarray, method: str = "points", **options: Any) -> Design:
    """A design of given unit points (checked to lie in the unit cube)."""
    unit = np.atleast_2d(np.asarray(unit, dtype=float))
    if unit.size and (np.any(unit < -1e-12) or np.any(unit > 1 + 1e-12)):
        raise InputError("design points lie outside the parameter ranges")
    return Design(method, np.clip(unit, 0.0, 1.0), dict(options))


def make_design(
    method: str, names: list[str], samples: int | None, seed: int, levels: int | None = None
) -> Design:
    """The design ``method`` over ``names`` (``samples``: points, base samples or
    trajectories; ``levels``: grid levels or Morris levels)."""
    d = len(names)
    if method == "grid":
        return grid(d, levels or samples or 5)
    if samples is None:
        raise InputError(f"the {method} design needs --samples N")
    if method == "lhs":
        return latin_hypercube(d, samples, seed)
    if method == "sobol":
        return saltelli(names, samples, seed)
    if method == "morris":
        return morris(names, samples, seed, levels or 4)
    raise InputError(f"invalid value for '--design': {method!r}; allowed: {', '.join(METHODS)}")
