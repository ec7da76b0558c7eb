"""Key numbers of a run (``summary.json``) and per-run study metrics, from a result Dataset."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.analysis.fronts import front_speed
from oncoscale.io.results import events_of, parameters_of


def _final(ds: xr.Dataset, name: str) -> float:
    return float(ds[name].values[-1]) if name in ds and ds[name].size else math.nan


def summarise(ds: xr.Dataset) -> dict[str, Any]:
    """Family-independent summary plus the family's own key numbers."""
    obs_names = [n for n, v in ds.data_vars.items() if v.dims == ("t_obs",)]
    out: dict[str, Any] = {
        "family": ds.attrs["family"],
        "model": ds.attrs["model"],
        "scenario": ds.attrs.get("scenario", ""),
        "t_end_h": float(ds["t_obs"].values[-1]) if ds.sizes.get("t_obs") else math.nan,
        "seed": int(ds.attrs.get("seed", -1)),
        "wall_time_s": float(ds.attrs.get("wall_time_s", math.nan)),
        "solver_stats": json.loads(ds.attrs.get("solver_stats", "{}")),
        "final": {n: _final(ds, n) for n in obs_names},
        "events": events_of(ds),
    }
    field_names = [n for n, v in ds.data_vars.items() if v.dims[:1] == ("t",) and v.ndim > 1]
    out["field_minimum"] = {n: float(ds[n].min()) for n in field_names}
    extra = FAMILY_SUMMARIES.get(ds.attrs["family"])
    if extra is not None:
        out.update(extra(ds))
    return out


def oncolytic_summary(ds: xr.Dataset) -> dict[str, Any]:
    """Front positions and speeds (with the travelling-wave theory) and peak values."""
    p = parameters_of(ds)
    out: dict[str, Any] = {}
    if "front_u" not in ds:
        return out
    t = ds["t_obs"].values
    half = 0.5 * t[-1]
    edge = p["L"] - 5 * p["delta"]  # fronts closer to the wall than this are not fitted
    speeds = {}
    for name in ("front_u", "front_i"):
        pos = ds[name].values.copy()
        pos[pos > edge] = np.nan
        speeds[name] = {
            "final_mm": _final(ds, name),
            "speed_second_half_mm_per_h": front_speed(t, pos, t_from=half),
        }
    out["fronts"] = speeds
    out["theory"] = {
        "uninfected_speed_2sqrt(Dp)_mm_per_h": 2 * math.sqrt(p["D"] * p["p"]),
        "infected_speed_2sqrt(D(beta-q))_mm_per_h": 2 * math.sqrt(p["D"] * (p["beta"] - p["q"]))
        if p["beta"] > p["q"]
        else math.nan,
        "far_field_immune_S0/q_z": p["S0"] / p["q_z"] if p["q_z"] > 0 else math.nan,
    }
    out["peaks"] = {n: float(ds[n].max()) for n in ("max_z", "max_phi") if n in ds}
    return out


def _invasion_summary(ds: xr.Dataset) -> dict[str, Any]:
    from oncoscale.analysis.invasion_metrics import invasion_summary

    return invasion_summary(ds)


FAMILY_SUMMARIES: dict[str, Callable[[xr.Dataset], dict[str, Any]]] = {
    "oncolytic": oncolytic_summary,
    "invasion": _invasion_summary,
}


# ---------------------------------------------------------------------------------------
# study metrics: one run -> a few numbers
# ---------------------------------------------------------------------------------------
def oscillation_metric(
    ds: xr.Dataset, observable: str = "u_center", t_from: float = 0.0, damped_fraction: float = 0.01
) -> dict[str, float]:
    """Max/min of an observable over t >= t_from; 'oscillating' if the range exceeds
    ``damped_fraction`` of the mean (otherwise the final value is the settled value)."""
    t = ds["t_obs"].values
    x = ds[observable].values[t >= t_from]
    if x.size == 0:
        return {"max": math.nan, "min": math.nan, "final": math.nan, "oscillating": math.nan}
    mean = float(np.mean(x))
    amp = float(np.max(x) - np.min(x))
    return {
        "max": float(np.max(x)),
        "min": float(np.min(x)),
        "mean": mean,
        "final": float(x[-1]),
        "oscillating": float(amp > damped_fraction * max(abs(mean), 1e-300)),
    }


def tumour_burden_metric(
    ds: xr.Dataset, t_from: float = 0.0, t_to: float | None = None, observable: str = "total_tumour"
) -> dict[str, float]:
    """∫ total tumour dt over [t_from, t_to] (cells·h), injections and their mean interval."""
    t = ds["t_obs"].values
    x = ds[observable].values
    t_to = t[-1] if t_to is None else t_to
    sel = (t >= t_from) & (t <= t_to)
    fired = [e["time"] for e in events_of(ds) if e["kind"] in ("threshold_injection", "injection")]
    gaps = np.diff(fired)
    after = x[t >= fired[0]] if fired else x[sel]
    return {
        "integral_cells_h": float(np.trapezoid(x[sel], t[sel])),
        "injections": float(len(fired)),
        "mean_interval_h": float(np.mean(gaps)) if gaps.size else math.nan,
        "min_after_first_injection": float(np.min(after)) if after.size else math.nan,
        "final": float(x[-1]),
    }


METRICS: dict[str, Callable[..., dict[str, float]]] = {
    "oscillation": oscillation_metric,
    "tumour_burden": tumour_burden_metric,
}
