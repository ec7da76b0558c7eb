"""Key numbers of an invasion run (IBM or PDE) from its fields on the grid (spec §7).

Ring radius and hollowness, directional ratio, phenotype shares and distances, particle
radii, front roughness; lengths in ``len``, masses in the model mass unit. Definitions:
docs/invasion_ibm.md, section 'Measures'.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.analysis.metrics import study_metric
from oncoscale.errors import InputError
from oncoscale.numerics.profiles import radial_profile

N_SECTORS = 16  # angular sectors of the front (22.5° each)
SHELL_WIDTH = 0.5  # len: radial shells of the ring profile (smooths the IBM's sampling noise)
FRONT_QUANTILE = 0.9  # the front radius of a sector holds this fraction of its P mass


def _space(ds: xr.Dataset) -> tuple[list[np.ndarray], float, int]:
    dims = [d for d in ("x", "y", "z") if d in ds.coords and d in ds["cells_p"].dims]
    axes = [ds[d].values for d in dims]
    dx = float(axes[0][1] - axes[0][0])
    return axes, dx, len(dims)


def _mesh(axes: list[np.ndarray], center: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Distance from the centre and (2D, or the z = centre plane in 3D) polar angle."""
    mesh = np.meshgrid(*axes, indexing="ij")
    r = np.sqrt(sum((m - center) ** 2 for m in mesh))
    theta = np.arctan2(mesh[1] - center, mesh[0] - center)
    return r, theta


def ring_measures(p_density: np.ndarray, r: np.ndarray, r_max: float) -> dict:
    """Ring radius (radius of the peak of the shell-averaged P density, shells SHELL_WIDTH) and
    hollowness (central shell density / peak density)."""
    radii, prof = radial_profile(p_density, r, SHELL_WIDTH, r_max)
    if not np.any(np.nan_to_num(prof) > 0):
        return {"radius_peak": math.nan, "hollowness": math.nan}
    k = int(np.nanargmax(prof))
    return {"radius_peak": float(radii[k]), "hollowness": float(prof[0] / prof[k])}


def direction_ratio(
    mass: np.ndarray, r: np.ndarray, theta: np.ndarray, r_invaded: float, peak_angle: float
) -> float:
    """Mass beyond r_invaded within ±45° of the peak axis (both ways) over the mass in the two
    orthogonal sectors."""
    rel = np.mod(theta - peak_angle + np.pi / 4, np.pi)  # in [0, π/2): along the peak axis
    along = rel < np.pi / 2
    far = r > r_invaded
    orth = float(mass[far & ~along].sum())
    return float(mass[far & along].sum()) / orth if orth > 0 else math.nan


def front_roughness(p_density: np.ndarray, r: np.ndarray, theta: np.ndarray) -> dict:
    """Front radius per sector (FRONT_QUANTILE of the sector's P mass lies inside it); its
    coefficient of variation over the sectors and the share of its angular variance in modes
    k >= 3. NaN when a sector holds no proliferating mass."""
    sector = np.minimum(((theta + np.pi) / (2 * np.pi) * N_SECTORS).astype(int), N_SECTORS - 1)
    front = np.full(N_SECTORS, np.nan)
    for s in range(N_SECTORS):
        sel = (sector == s) & (p_density > 0)
        if not np.any(sel):
            continue
        order = np.argsort(r[sel])
        cum = np.cumsum(p_density[sel][order])
        front[s] = float(r[sel][order][np.searchsorted(cum, FRONT_QUANTILE * cum[-1])])
    if not np.all(np.isfinite(front)):
        return {"cv": math.nan, "finger_share": math.nan, "mean_front_radius": math.nan}
    spectrum = np.abs(np.fft.rfft(front - front.mean())) ** 2
    total = float(spectrum[1:].sum())
    return {
        "cv": float(np.std(front) / np.mean(front)),
        "finger_share": float(spectrum[3:].sum() / total) if total > 0 else math.nan,
        "mean_front_radius": float(np.mean(front)),
    }


def _slice_2d(field: np.ndarray, dim: int) -> np.ndarray:
    """2D: the field; 3D: the plane z = centre (for angular measures)."""
    return field if dim == 2 else field[..., field.shape[-1] // 2]


def invasion_summary(ds: xr.Dataset) -> dict[str, Any]:
    """The spec §7 measures over the snapshot times of an invasion result."""
    if "cells_p" not in ds:
        return {}
    p = json.loads(ds.attrs["parameters"])
    axes, _, dim = _space(ds)
    center = 0.5 * p["L"]
    r, _ = _mesh(axes, center)
    r2, theta2 = _mesh(axes[:2], center)
    peak_angle = math.pi / 4  # MM peaks on the diagonal (f_peak_offset, ...), (L - offset, ...)
    r_inv = 2.0 * p["cell_sigma0"]
    times = ds["t"].values
    rows: dict[str, list] = {
        k: []
        for k in (
            "radius_peak",
            "hollowness",
            "direction_ratio",
            "roughness_cv",
            "finger_share",
            "front_radius",
        )
    }
    fractions = []
    radius_by_type = []
    for k in range(times.size):
        cp = ds["cells_p"].isel(t=k).values
        cq = ds["cells_q"].isel(t=k).values
        p_all = cp.sum(axis=0)
        ring = ring_measures(p_all, r, center)
        rows["radius_peak"].append(ring["radius_peak"])
        rows["hollowness"].append(ring["hollowness"])
        mass2 = _slice_2d(p_all + cq.sum(axis=0), dim)
        rows["direction_ratio"].append(direction_ratio(mass2, r2, theta2, r_inv, peak_angle))
        rough = front_roughness(_slice_2d(p_all, dim), r2, theta2)
        rows["roughness_cv"].append(rough["cv"])
        rows["finger_share"].append(rough["finger_share"])
        rows["front_radius"].append(rough["mean_front_radius"])
        masses = cp.reshape(cp.shape[0], -1).sum(axis=1)
        weighted = (cp * r).reshape(cp.shape[0], -1).sum(axis=1)
        radius_by_type.append(
            [float(w / m) if m > 0 else math.nan for w, m in zip(weighted, masses, strict=True)]
        )
        per_type = (cp + cq).reshape(cp.shape[0], -1).sum(axis=1)
        total = per_type.sum()
        fractions.append((per_type / total).tolist() if total > 0 else [math.nan] * len(per_type))
    out: dict[str, Any] = {
        "t": [float(t) for t in times],
        "ring_radius_peak": rows["radius_peak"],
        "ring_hollowness": rows["hollowness"],
        "ring_radius_mean_p": _at_snapshots(ds, "radius_p", times),
        "direction_ratio_peaks_over_orthogonal": rows["direction_ratio"],
        "front_radius_mean": rows["front_radius"],
        "front_roughness_cv": rows["roughness_cv"],
        "front_finger_share_k>=3": rows["finger_share"],
        "phenotype_fraction": fractions,
        "mean_radius_p_by_phenotype": radius_by_type,
        "definitions": {
            "r_invaded": r_inv,
            "shell_width": SHELL_WIDTH,
            "front_quantile": FRONT_QUANTILE,
            "sectors": N_SECTORS,
            "plane": "full 2D domain" if dim == 2 else "z = centre plane (angles), 3D shells",
        },
    }
    out["final"] = {
        "ring_radius_peak": rows["radius_peak"][-1],
        "direction_ratio": rows["direction_ratio"][-1],
        "front_roughness_cv": rows["roughness_cv"][-1],
        "phenotype_fraction": fractions[-1],
        "mean_radius_p_by_phenotype": radius_by_type[-1],
        "dominant_phenotype": int(np.nanargmax(fractions[-1]))
        if np.any(np.isfinite(fractions[-1]))
        else -1,
    }
    if "particle_count" in ds:
        out["particles_final"] = particle_radii(ds, center, dim)
    if "mass_p" in ds:
        mp = ds["mass_p"].values
        out["peak_proliferating_mass"] = float(np.max(mp))
        out["time_of_peak_proliferating_mass"] = float(ds["t_obs"].values[int(np.argmax(mp))])
    return {"invasion": out}


def particle_radii(ds: xr.Dataset, center: float, dim: int) -> dict[str, float]:
    """Median distance from the centre of the P, Q and necrotic cells of the last particle
    snapshot (NaN for an empty compartment), and their numbers."""
    k = ds.sizes["t"] - 1
    o, n = int(ds["particle_offset"].values[k]), int(ds["particle_count"].values[k])
    names = ("x", "y", "z")[:dim]
    pos = np.stack([ds[f"particle_{a}"].values[o : o + n] for a in names], axis=1)
    rad = np.sqrt(((pos - center) ** 2).sum(axis=1))
    comp = ds["particle_compartment"].values[o : o + n]
    out: dict[str, float] = {}
    for code, name in ((0, "proliferating"), (1, "quiescent"), (2, "necrotic")):
        sel = rad[comp == code]
        out[f"median_radius_{name}"] = float(np.median(sel)) if sel.size else math.nan
        out[f"n_{name}"] = float(sel.size)
    return out


def _at_snapshots(ds: xr.Dataset, name: str, times: np.ndarray) -> list[float]:
    if name not in ds:
        return [math.nan] * times.size
    t_obs = ds["t_obs"].values
    vals = ds[name].values
    out = []
    for t in times:
        k = int(np.argmin(np.abs(t_obs - t)))
        out.append(float(vals[k]) if abs(t_obs[k] - t) < 1e-9 else math.nan)
    return out


@study_metric(
    "invasion_front",
    units={
        "ring_speed": "1/{time}",
        "front_radius": "1",
        "roughness_cv": "1",
        "finger_share": "1",
        "ring_radius_peak": "1",
    },
)
def invasion_front_metric(ds: xr.Dataset, t_from_fraction: float = 0.5) -> dict[str, float]:
    """The invading front of an invasion result, from its snapshots: ``ring_speed`` (slope of
    the mean front radius over the last ``1 - t_from_fraction`` of the run, length units per
    day), the final ``front_radius``, ``roughness_cv`` (coefficient of variation of the
    front radius over angle: fingering), ``finger_share`` and ``ring_radius_peak``."""
    summ = invasion_summary(ds).get("invasion")
    if summ is None:
        raise InputError("the invasion_front metric needs an invasion result (cells_p)")
    t = np.asarray(summ["t"], dtype=float)
    radius = np.asarray(summ["front_radius_mean"], dtype=float)
    sel = (t >= t_from_fraction * t[-1]) & np.isfinite(radius)
    speed = float(np.polyfit(t[sel], radius[sel], 1)[0]) if sel.sum() >= 2 else math.nan
    return {
        "ring_speed": speed,
        "front_radius": float(radius[-1]),
        "roughness_cv": float(summ["front_roughness_cv"][-1]),
        "finger_share": float(summ["front_finger_share_k>=3"][-1]),
        "ring_radius_peak": float(summ["ring_radius_peak"][-1]),
    }
