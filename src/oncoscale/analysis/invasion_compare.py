"""Statistics of the IBM-vs-PDE comparison of the invasion model (spec §7); the runs are made
by :mod:`oncoscale.workflows.invasion_compare`. Compared:

* **totals** over time (masses per compartment and phenotype): IBM mean, standard deviation and
  standard error against the PDE; relative difference and z-score (difference / s.e.m.);
* **radially averaged densities** (rings of fixed width about the domain centre) at the snapshot
  times: relative L2 distance of the IBM mean profile from the PDE profile, next to the
  replicate-to-replicate spread (the noise floor of that distance).

:func:`assemble` turns the PDE record and the replicate records into the comparison Dataset
(all curves and profiles) and its summary.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.models.invasion.params import N_PHENOTYPES

#: totals compared over time
TOTALS = (
    "mass_cells",
    "mass_p",
    "mass_q",
    "mass_necrotic",
    *(f"mass_p{i}" for i in range(N_PHENOTYPES)),
    *(f"mass_q{i}" for i in range(N_PHENOTYPES)),
    "radius_p",
    "radius_q",
    "mass_mm",
    "mass_mde",
    "mass_o2",
)
#: radially averaged fields (cells: summed over phenotypes)
PROFILES = ("cells", "cells_p", "cells_q", "mm", "o2")


# ---- statistics ---------------------------------------------------------------------------
def _nan_stats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation over axis 0, NaN where undefined (all-NaN slices,
    a single replicate) without warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=0)
        if values.shape[0] < 2:
            return mean, np.full_like(mean, np.nan)
        return mean, np.nanstd(values, axis=0, ddof=1)


def _l2(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted L2 norm over the last axis, ignoring NaN rings."""
    v = np.where(np.isfinite(values), values, 0.0)
    return np.sqrt(np.sum(weight * v**2, axis=-1))


def profile_distances(
    ibm: np.ndarray, pde: np.ndarray, r: np.ndarray, dim: int
) -> dict[str, np.ndarray]:
    """Relative L2 distances (ring-area weight r^{dim−1}) per snapshot.

    ``ibm``: (replicate, snapshot, ring); ``pde``: (snapshot, ring). Returns ``mean_vs_pde`` =
    ‖mean_IBM − PDE‖/‖PDE‖ and ``spread`` = mean over replicates of ‖IBM_k − mean_IBM‖/‖PDE‖
    (how far one replicate typically is from the mean: the noise level of single runs).
    """
    weight = r ** (dim - 1)
    mean, _ = _nan_stats(ibm)
    norm = _l2(pde, weight)
    safe = np.where(norm > 0, norm, np.nan)
    return {
        "mean_vs_pde": _l2(mean - pde, weight) / safe,
        "spread": np.mean(_l2(ibm - mean, weight), axis=0) / safe,
    }


def totals_statistics(ibm: np.ndarray, pde: np.ndarray) -> dict[str, np.ndarray]:
    """IBM mean/sd/sem over replicates (axis 0) against the PDE series: relative difference
    (mean − PDE)/|PDE| and z-score (mean − PDE)/sem."""
    mean, sd = _nan_stats(ibm)
    sem = sd / math.sqrt(ibm.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rel = np.where(np.abs(pde) > 0, (mean - pde) / np.abs(pde), np.nan)
        z = np.where(sem > 0, (mean - pde) / sem, np.nan)
    return {"mean": mean, "sd": sd, "sem": sem, "rel_diff": rel, "z": z}


def assemble(
    pde: dict[str, Any], reps: list[dict[str, Any]], r: np.ndarray, dim: int, width: float
) -> tuple[xr.Dataset, dict[str, Any]]:
    """Stack replicates, compute statistics; the Dataset and the summary."""
    t_obs, t_snap = pde["obs_times"], pde["snap_times"]
    data: dict[str, Any] = {}
    summary: dict[str, Any] = {"ring_width": width, "totals": {}, "profiles": {}}
    for name in TOTALS:
        ibm = np.stack([x["totals"][name] for x in reps])
        stats = totals_statistics(ibm, pde["totals"][name])
        data[f"pde_{name}"] = (("t",), pde["totals"][name])
        data[f"ibm_{name}"] = (("replicate", "t"), ibm)
        for key in ("mean", "sd", "rel_diff", "z"):
            data[f"ibm_{name}_{key}"] = (("t",), stats[key])
        summary["totals"][name] = {
            "pde_final": float(pde["totals"][name][-1]),
            "ibm_mean_final": float(stats["mean"][-1]),
            "ibm_sd_final": float(stats["sd"][-1]),
            "rel_diff_final": float(stats["rel_diff"][-1]),
            "z_final": float(stats["z"][-1]),
            "max_abs_rel_diff": _nanmax_abs(stats["rel_diff"]),
        }
    for name in PROFILES:
        ibm = np.stack([x["profiles"][name] for x in reps])
        dist = profile_distances(ibm, pde["profiles"][name], r, dim)
        data[f"pde_profile_{name}"] = (("t_snap", "r"), pde["profiles"][name])
        mean, sd = _nan_stats(ibm)
        data[f"ibm_profile_{name}_mean"] = (("t_snap", "r"), mean)
        data[f"ibm_profile_{name}_sd"] = (("t_snap", "r"), sd)
        data[f"distance_{name}"] = (("t_snap",), dist["mean_vs_pde"])
        data[f"spread_{name}"] = (("t_snap",), dist["spread"])
        summary["profiles"][name] = {
            "t": [float(t) for t in t_snap],
            "rel_l2_mean_vs_pde": [float(v) for v in dist["mean_vs_pde"]],
            "rel_l2_replicate_spread": [float(v) for v in dist["spread"]],
        }
    ds = xr.Dataset(
        data,
        coords={"t": t_obs, "t_snap": t_snap, "r": r, "replicate": np.arange(len(reps))},
        attrs={"family": "invasion", "comparison": "ibm-vs-pde", "dim": dim},
    )
    return ds, summary


def _nanmax_abs(values: np.ndarray) -> float:
    """max |v| over the finite entries (NaN if none)."""
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else float("nan")
