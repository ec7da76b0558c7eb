"""Global sensitivity indices from arrays (SALib): Sobol S1/ST with bootstrap confidence
intervals, Morris μ*/σ, and the replicate noise of stochastic QoIs.

Inputs are in the design's unit coordinates (each parameter mapped to [0, 1], on a log scale
where the range says so), so Morris elementary effects are per unit of the scaled range and
Sobol indices are those of the parameters as sampled (uniform or log-uniform).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from SALib.analyze import morris as morris_analyze
from SALib.analyze import sobol as sobol_analyze

from oncoscale.errors import InputError


def unit_problem(names: Sequence[str]) -> dict[str, Any]:
    """The SALib problem of ``names`` on the unit cube."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def _finite(y: np.ndarray, what: str) -> np.ndarray:
    y = np.asarray(y, dtype=float)
    bad = int(np.sum(~np.isfinite(y)))
    if bad:
        raise InputError(
            f"cannot compute {what}: {bad} of {y.size} QoI values are not finite (failed or "
            "undefined runs; see the study's summary.json 'failures')"
        )
    return y


def sobol_indices(
    names: Sequence[str],
    y: np.ndarray,
    *,
    resamples: int = 1000,
    conf_level: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """First-order and total Sobol indices of ``y`` (Saltelli design without second order,
    N·(d+2) values) with bootstrap half-widths ``S1_conf``/``ST_conf`` at ``conf_level``.
    A constant ``y`` has no variance to apportion: every index is 0."""
    y = _finite(y, "Sobol indices")
    d = len(names)
    if y.size % (d + 2):
        raise InputError(f"Sobol indices need N*(d+2) values; got {y.size} for d = {d}")
    if np.ptp(y) == 0:
        zero = dict.fromkeys(names, 0.0)
        return {"S1": zero, "ST": zero, "S1_conf": zero, "ST_conf": zero}
    res = sobol_analyze.analyze(
        unit_problem(names),
        y,
        calc_second_order=False,
        num_resamples=resamples,
        conf_level=conf_level,
        seed=seed,
    )
    return {
        key: {n: float(v) for n, v in zip(names, res[key], strict=True)}
        for key in ("S1", "ST", "S1_conf", "ST_conf")
    }


def morris_indices(
    names: Sequence[str],
    x_unit: np.ndarray,
    y: np.ndarray,
    *,
    levels: int = 4,
    resamples: int = 1000,
    conf_level: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Morris screening: μ* (mean |elementary effect|), σ (its standard deviation), μ and
    the bootstrap half-width of μ*, per parameter, effects per unit of the scaled range."""
    y = _finite(y, "Morris indices")
    res = morris_analyze.analyze(
        unit_problem(names),
        np.asarray(x_unit, dtype=float),
        y,
        num_resamples=resamples,
        conf_level=conf_level,
        num_levels=levels,
        seed=seed,
    )
    return {
        key: {n: float(v) for n, v in zip(names, res[src], strict=True)}
        for key, src in (
            ("mu_star", "mu_star"),
            ("sigma", "sigma"),
            ("mu", "mu"),
            ("mu_star_conf", "mu_star_conf"),
        )
    }


def replicate_noise(y: np.ndarray) -> dict[str, float]:
    """Replicate noise of a stochastic QoI ``y[point, replicate]``: the mean within-point
    variance, the variance of the replicate means across points and the share of the total
    variance that is replicate noise (0 for a deterministic model)."""
    y = np.asarray(y, dtype=float)
    reps = y.shape[1]
    within = float(np.mean(np.var(y, axis=1, ddof=1))) if reps > 1 else 0.0
    means = float(np.var(np.mean(y, axis=1), ddof=1)) if y.shape[0] > 1 else 0.0
    total = float(np.var(y, ddof=1)) if y.size > 1 else 0.0
    return {
        "replicates": reps,
        "within_point_variance": within,
        "variance_of_means": means,
        "noise_share": within / total if total > 0 else (0.0 if within == 0 else math.nan),
    }
