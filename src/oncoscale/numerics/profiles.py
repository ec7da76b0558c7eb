"""Radial profiles and fronts of fields: front positions, azimuthal (shell) averages about a
centre and front speeds. Model-agnostic: every family measures its fronts with these."""

from __future__ import annotations

import numpy as np


def front_position(r: np.ndarray, profile: np.ndarray, threshold: float) -> float:
    """Outermost radius where ``profile`` exceeds ``threshold`` (linear interpolation).

    Returns nan if the profile never exceeds the threshold and r[-1] if it does at the edge.
    """
    above = np.nonzero(np.asarray(profile) > threshold)[0]
    if above.size == 0:
        return float("nan")
    k = above[-1]
    if k == len(r) - 1:
        return float(r[-1])
    f0, f1 = profile[k], profile[k + 1]
    return float(r[k] + (f0 - threshold) / (f0 - f1) * (r[k + 1] - r[k]))


class RadialBins:
    """Rings of width ``bin_width`` out to ``r_max`` over a fixed 2D/3D grid: the ring of every
    point is found once, so each azimuthal average is two weighted counts (the observables of
    a 201² ABM are taken every hour)."""

    def __init__(self, radius: np.ndarray, bin_width: float, r_max: float):
        edges = np.arange(0.0, r_max + bin_width, bin_width)
        idx = np.digitize(np.asarray(radius).ravel(), edges) - 1
        self._n = edges.size - 1
        # points outside the rings count in one extra bin, dropped: no masked copy per call
        self._idx = np.where((idx >= 0) & (idx < self._n), idx, self._n)
        self.centres = 0.5 * (edges[1:] + edges[:-1])
        self._counts = np.bincount(self._idx, minlength=self._n + 1)[: self._n]

    def mean(self, values: np.ndarray) -> np.ndarray:
        """Mean value per ring (nan for rings without grid points)."""
        sums = np.bincount(self._idx, weights=np.ravel(values), minlength=self._n + 1)[: self._n]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self._counts > 0, sums / np.maximum(self._counts, 1), np.nan)


def radial_profile(
    values: np.ndarray, radius: np.ndarray, bin_width: float, r_max: float
) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthal average of a 2D/3D field in rings of width ``bin_width`` out to ``r_max``.

    Returns (ring centres, mean value per ring); empty rings are nan. For many fields on one
    grid, build :class:`RadialBins` once.
    """
    bins = RadialBins(radius, bin_width, r_max)
    return bins.centres, bins.mean(values)


def front_speed(
    t: np.ndarray, position: np.ndarray, t_from: float | None = None, t_to: float | None = None
) -> float:
    """Least-squares slope of front position over [t_from, t_to] (length/time); nan if < 3
    finite points or if the front reached the domain edge (flat tail excluded by caller)."""
    t = np.asarray(t, dtype=float)
    x = np.asarray(position, dtype=float)
    sel = np.isfinite(x)
    if t_from is not None:
        sel &= t >= t_from
    if t_to is not None:
        sel &= t <= t_to
    if sel.sum() < 3:
        return float("nan")
    return float(np.polyfit(t[sel], x[sel], 1)[0])
