"""Model against data, in numbers: residuals, Gaussian deviance, ABC distance, weighted
quantiles. ``model`` is always the model's value at each distinct (observable, time) pair of
the data (:meth:`Observations.points`), in that order.

Error model: y = m + ε, ε ~ N(0, sd²) per row when the data give ``sd``; otherwise one unknown
σ per observable, profiled out (deviance Σ_o n_o log(RSS_o / n_o)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from oncoscale.io.observations import Observations

#: χ²₁ 0.95 quantile: the profile-likelihood threshold of a 95 % interval
CHI2_95_1DOF = 3.841458820694124


def _scale_of_observable(obs: Observations) -> np.ndarray:
    """Per row: the RMS of the observable's data (weights when no sd is given)."""
    out = np.empty(obs.value.size)
    for name in obs.names:
        sel = obs.observable == name
        out[sel] = max(float(np.sqrt(np.mean(obs.value[sel] ** 2))), 1e-300)
    return out


def residuals(model: np.ndarray, obs: Observations) -> np.ndarray:
    """Weighted residuals per row: (y − m)/sd, or (y − m)/RMS(y of the observable)."""
    m = np.asarray(model, dtype=float)[obs.point_index()]
    scale = obs.sd if obs.has_sd else _scale_of_observable(obs)
    return (obs.value - m) / scale


def deviance(model: np.ndarray, obs: Observations) -> float:
    """−2 log L up to a constant (known sd: χ²; unknown: σ per observable profiled out)."""
    m = np.asarray(model, dtype=float)[obs.point_index()]
    if not np.all(np.isfinite(m)):
        return float("inf")
    if obs.has_sd:
        return float(np.sum(((obs.value - m) / obs.sd) ** 2))
    total = 0.0
    for name in obs.names:
        sel = obs.observable == name
        rss = float(np.sum((obs.value[sel] - m[sel]) ** 2))
        total += sel.sum() * np.log(max(rss, 1e-300) / sel.sum())
    return float(total)


def point_summary(obs: Observations) -> tuple[np.ndarray, np.ndarray]:
    """Per (observable, time) pair: the mean of the data and its scale (mean sd if given,
    else the replicates' standard deviation if there are several, else the observable's
    RMS)."""
    idx = obs.point_index()
    n = int(idx.max()) + 1
    counts = np.bincount(idx, minlength=n)
    mean = np.bincount(idx, obs.value, minlength=n) / counts
    if obs.has_sd:
        scale = np.bincount(idx, obs.sd, minlength=n) / counts
    else:
        rms = _scale_of_observable(obs)
        scale = np.bincount(idx, rms, minlength=n) / counts
        if counts.min() > 1:
            var = np.bincount(idx, (obs.value - mean[idx]) ** 2, minlength=n) / (counts - 1)
            scale = np.where(var > 0, np.sqrt(var), scale)
    return mean, scale


def abc_distance(model: np.ndarray, obs: Observations) -> float:
    """ABC distance: RMS over data points of (m − mean of y)/scale (see :func:`point_summary`);
    inf for a failed run."""
    mean, scale = point_summary(obs)
    m = np.asarray(model, dtype=float)
    if not np.all(np.isfinite(m)):
        return float("inf")
    return float(np.sqrt(np.mean(((m - mean) / scale) ** 2)))


def weighted_quantile(x: np.ndarray, weights: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles ``q`` of samples ``x`` with ``weights`` (piecewise-linear weighted CDF)."""
    x = np.asarray(x, dtype=float)
    w = np.asarray(weights, dtype=float)
    order = np.argsort(x)
    x, w = x[order], w[order]
    cdf = (np.cumsum(w) - 0.5 * w) / np.sum(w)
    return np.interp(np.asarray(q, dtype=float), cdf, x)


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size (Σw)²/Σw² of importance weights."""
    w = np.asarray(weights, dtype=float)
    return float(np.sum(w) ** 2 / np.sum(w**2))
