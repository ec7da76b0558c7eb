"""The family's key numbers: the front speed against Fisher's 2 sqrt(D (r − h))."""

from __future__ import annotations

import json
import math

import xarray as xr

from oncoscale.numerics.profiles import front_speed


def summary(ds: xr.Dataset) -> dict:
    p = json.loads(ds.attrs["parameters"])
    out: dict = {
        "theory": {"fisher_speed_mm_per_day": 2 * math.sqrt(p["D"] * max(p["r"] - p["h"], 0))}
    }
    if "front" in ds:
        t = ds["t_obs"].values
        out["front_speed_mm_per_day"] = front_speed(t, ds["front"].values, t_from=0.5 * t[-1])
    return {"logistic": out}
