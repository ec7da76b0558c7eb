"""A frame: what the explorer draws of one moment of a run, from a live state or a result.

``Frame`` holds the fields on their grid (extra dimensions such as ``phenotype`` summed),
the particles and the scalar observables at time ``t``. :func:`frame_from_state` builds one
from a representation while it runs; :func:`frame_from_result` from snapshot ``k`` of a
finished result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.io.export import field_names, particles_at, space_dims

#: dimension names that are space
SPACE = ("x", "y", "z", "r")


@dataclass
class Frame:
    """Fields (name → array on ``dims``), coordinates, particles and observables at ``t``."""

    t: float
    fields: dict[str, np.ndarray] = field(default_factory=dict)
    dims: tuple[str, ...] = ()
    coords: dict[str, np.ndarray] = field(default_factory=dict)
    particles: dict[str, np.ndarray] | None = None
    observables: dict[str, float] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)


def _on_space(values: np.ndarray, dims: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Sum over non-spatial dimensions (phenotypes, velocities) and keep the spatial ones."""
    axes = tuple(k for k, d in enumerate(dims) if d not in SPACE)
    keep = tuple(d for d in dims if d in SPACE)
    return (np.asarray(values).sum(axis=axes) if axes else np.asarray(values)), keep


def frame_from_state(t: float, rep: Any, state: Any) -> Frame:
    """A copy of what a representation shows at time ``t`` (called from the run's thread)."""
    info = rep.variable_info()
    fields, dims = {}, ()
    field_dims = rep.field_dims
    for name, values in rep.fields(state).items():
        summed, keep = _on_space(values, field_dims[name])
        if keep:
            fields[name], dims = summed.copy(), keep
    coords = {d: np.asarray(v) for d, v in rep.coords().items() if d in dims}
    parts = rep.particles(state)
    observables = {k: float(v) for k, v in rep.observables(state).items()}
    units = {k: v.display_units for k, v in info.items()}
    return Frame(
        t=float(t),
        fields=fields,
        dims=dims,
        coords=coords,
        particles=None if parts is None else {k: np.array(v) for k, v in parts.items()},
        observables=observables,
        units=units,
    )


def frame_from_result(ds: xr.Dataset, k: int) -> Frame:
    """Snapshot ``k`` of a result (observables at the nearest observation time)."""
    t = float(ds["t"].values[k]) if "t" in ds.dims else float(ds["t_obs"].values[-1])
    fields, dims = {}, space_dims(ds)
    for name in field_names(ds):
        var = ds[name].isel(t=k)
        summed, keep = _on_space(var.values, var.dims)
        fields[name] = summed.transpose([keep.index(d) for d in dims])
    scalars = [n for n, v in ds.data_vars.items() if v.dims == ("t_obs",)]
    obs = {}
    if scalars:
        j = int(np.argmin(np.abs(ds["t_obs"].values - t)))
        obs = {str(n): float(ds[n].values[j]) for n in scalars}
    units = {
        str(n): str(v.attrs.get("units_label") or v.attrs.get("units", ""))
        for n, v in ds.data_vars.items()
    }
    return Frame(
        t=t,
        fields=fields,
        dims=dims,
        coords={d: np.asarray(ds[d].values) for d in dims},
        particles=particles_at(ds, k) if "particle_count" in ds else None,
        observables=obs,
        units=units,
    )
