"""Key numbers of an oncolytic run: front positions and speeds against the travelling-wave
theory, and peak values (the family's ``summary`` part)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.analysis.summary import final_value
from oncoscale.io.results import parameters_of
from oncoscale.numerics.profiles import front_speed


def front_theory(p: dict[str, Any]) -> dict[str, tuple[str, float, float]]:
    """Travelling-wave theory of the fronts: observable → (label, position at t = 0 (mm),
    speed (mm/h)); uninfected 2√(Dp) from R_u, infected 2√(D(β−q)) from R_i (if β > q and
    there is an infected disc)."""
    c_u = 2 * math.sqrt(p["D"] * p["p"])
    out = {"front_u": (f"R_u + 2√(Dp) t, {c_u:.2e} mm/h", p["R_u"], c_u)}
    if p["beta"] > p["q"] and p["R_i"] > 0:
        c_i = 2 * math.sqrt(p["D"] * (p["beta"] - p["q"]))
        out["front_i"] = (f"R_i + 2√(D(β−q)) t, {c_i:.2e} mm/h", p["R_i"], c_i)
    return out


def summary(ds: xr.Dataset) -> dict[str, Any]:
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
            "final_mm": final_value(ds, name),
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
