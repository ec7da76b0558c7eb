"""Key numbers of a run (``summary.json``) from its result Dataset.

The family-independent part is here; a family adds its own key numbers through the ``summary``
part of its declaration (:class:`oncoscale.models.registry.Family`). Counts (variables stored
as integers, e.g. ABM cell numbers) stay integers; the time unit is the family's own.
"""

from __future__ import annotations

import json
import math
from typing import Any

import xarray as xr

from oncoscale.io.results import events_of
from oncoscale.models.registry import family


def final_value(ds: xr.Dataset, name: str) -> float | int:
    """Last value of an observable (an int for integer counts; nan if absent or empty)."""
    if name not in ds or not ds[name].size:
        return math.nan
    value = ds[name].values[-1]
    return int(value) if ds[name].dtype.kind in "iu" else float(value)


def _minimum(field: xr.DataArray) -> float:
    """Minimum of a field over all snapshots, one snapshot in memory at a time (a lazily
    opened result of a large run does not fit in memory whole)."""
    return min((float(field.isel(t=k).min()) for k in range(field.sizes["t"])), default=math.nan)


def summarise(ds: xr.Dataset) -> dict[str, Any]:
    """Family-independent summary plus the family's own key numbers."""
    obs_names = [n for n, v in ds.data_vars.items() if v.dims == ("t_obs",)]
    out: dict[str, Any] = {
        "family": ds.attrs["family"],
        "model": ds.attrs["model"],
        "scenario": ds.attrs.get("scenario", ""),
        "time_units": ds["t_obs"].attrs.get("units", ""),
        "t_end": float(ds["t_obs"].values[-1]) if ds.sizes.get("t_obs") else math.nan,
    }
    if "seed" in ds.attrs:
        out["seed"] = int(ds.attrs["seed"])
    out.update(
        {
            "wall_time_s": float(ds.attrs.get("wall_time_s", math.nan)),
            "solver_stats": json.loads(ds.attrs.get("solver_stats", "{}")),
            "final": {n: final_value(ds, n) for n in obs_names},
            "events": events_of(ds),
        }
    )
    stops = [e for e in out["events"] if e.get("action") == "stop"]
    if stops:  # the run ended early with an outcome (e.g. "escape at t = …"): say it first
        out = {"outcome": stops[-1]["description"], **out}
    field_names = [n for n, v in ds.data_vars.items() if v.dims[:1] == ("t",) and v.ndim > 1]
    out["field_minimum"] = {n: _minimum(ds[n]) for n in field_names}
    extra = family(ds.attrs["family"]).part("summary")
    if extra is not None:
        out.update(extra(ds))
    return out
