"""Run records → labelled ``xarray.Dataset`` → NetCDF (atomically), and back.

Layout of a result:
* fields on (``t``, space dims...) — snapshot times ``t`` (h);
* scalar observables on ``t_obs`` (h), the finer observation times;
* the event log on ``event`` (``event_time``, ``event_kind``, ``event_description``,
  ``event_details`` as JSON);
* particle snapshots (particle models) concatenated on ``particle`` with
  ``particle_offset``/``particle_count`` per snapshot time;
* attrs: family, model, scenario, parameters with units (JSON), numerics (JSON), seed,
  package version, solver statistics, and the full resolved scenario, so that the file alone
  says how to reproduce it.
"""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

import oncoscale
from oncoscale.io.atomic import atomic_write
from oncoscale.models.base import Representation
from oncoscale.run.runner import RunRecord


def build_dataset(rep: Representation, record: RunRecord, meta: dict[str, Any]) -> xr.Dataset:
    """Assemble the labelled result of one run."""
    info = rep.variable_info()
    coords: dict[str, Any] = {
        "t": ("t", np.asarray(record.snap_times), {"units": "h", "long_name": "time"}),
        "t_obs": ("t_obs", np.asarray(record.obs_times), {"units": "h", "long_name": "time"}),
    }
    for name, values in rep.coords().items():
        attrs = _attrs(info, name)
        coords[name] = (name, np.asarray(values), attrs)
    data: dict[str, Any] = {}
    dims = rep.field_dims
    for name, arrays in record.snapshots.items():
        data[name] = (("t", *dims[name]), np.stack(arrays), _attrs(info, name))
    for name, values in record.observables.items():
        data[name] = ("t_obs", np.asarray(values, dtype=float), _attrs(info, name))
    ev = record.events
    data["event_time"] = ("event", np.array([e.time for e in ev], dtype=float), {"units": "h"})
    data["event_kind"] = ("event", np.array([e.kind for e in ev], dtype=str))
    data["event_description"] = ("event", np.array([e.description for e in ev], dtype=str))
    data["event_details"] = ("event", np.array([e.details_json() for e in ev], dtype=str))
    if record.particles:
        _add_particles(data, record.particles)
    params = rep.params
    attrs = {
        "title": f"oncoscale {rep.family}/{rep.model} run of scenario {meta.get('scenario', '?')}",
        "family": rep.family,
        "model": rep.model,
        "scenario": meta.get("scenario", ""),
        "parameters": json.dumps(params.model_dump(), default=str),
        "parameter_units": json.dumps({n: type(params).units_of(n) for n in type(params).names()}),
        "numerics": json.dumps(rep.describe_numerics(), default=str),
        "seed": meta.get("seed", -1) if meta.get("seed") is not None else -1,
        "oncoscale_version": oncoscale.__version__,
        "python": platform.python_version(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_time_s": float(record.wall_time),
        "solver_stats": json.dumps(record.solver_stats),
        "scenario_resolved": meta.get("scenario_resolved", ""),
        "command": meta.get("command", ""),
        "resumed_from_h": record.resumed_from if record.resumed_from is not None else -1.0,
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _attrs(info: dict, name: str) -> dict[str, str]:
    v = info.get(name)
    return {"units": v.units, "long_name": v.long_name} if v is not None else {}


def _add_particles(data: dict[str, Any], snaps: list[dict[str, np.ndarray]]) -> None:
    counts = np.array([len(next(iter(s.values()))) if s else 0 for s in snaps])
    data["particle_count"] = ("t", counts)
    data["particle_offset"] = ("t", np.concatenate([[0], np.cumsum(counts)[:-1]]))
    for name in snaps[0]:
        data[f"particle_{name}"] = ("particle", np.concatenate([s[name] for s in snaps]))


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to NetCDF atomically (compressed numeric variables)."""
    encoding = {
        name: {"zlib": True, "complevel": 4}
        for name, var in ds.data_vars.items()
        if var.dtype.kind in "fiu" and var.ndim > 0
    }
    return atomic_write(path, lambda tmp: ds.to_netcdf(tmp, encoding=encoding, engine="netcdf4"))


def open_result(path: str | Path) -> xr.Dataset:
    """Open a result file (loads it into memory and closes the file)."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return ds.load()


def parameters_of(ds: xr.Dataset) -> dict[str, Any]:
    """The parameter values recorded in a result."""
    return json.loads(ds.attrs["parameters"])


def events_of(ds: xr.Dataset) -> list[dict[str, Any]]:
    """The event log of a result as a list of dicts."""
    if "event" not in ds.dims or ds.sizes["event"] == 0:
        return []
    return [
        {"time": float(t), "kind": str(k), "description": str(d), "details": json.loads(str(x))}
        for t, k, d, x in zip(
            ds["event_time"].values,
            ds["event_kind"].values,
            ds["event_description"].values,
            ds["event_details"].values,
            strict=True,
        )
    ]
