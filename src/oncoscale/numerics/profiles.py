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


def radial_profile(
    values: np.ndarray, radius: np.ndarray, bin_width: float, r_max: float
) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthal average of a 2D/3D field in rings of width ``bin_width`` out to ``r_max``.

    Returns (ring centres, mean value per ring); empty rings are nan.
    """
    edges = np.arange(0.0, r_max + bin_width, bin_width)
    idx = np.digitize(radius.ravel(), edges) - 1
    ok = (idx >= 0) & (idx < edges.size - 1)
    sums = np.bincount(idx[ok], weights=values.ravel()[ok], minlength=edges.size - 1)
    counts = np.bincount(idx[ok], minlength=edges.size - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return 0.5 * (edges[1:] + edges[:-1]), mean


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
