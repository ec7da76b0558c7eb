"""Bit-identity of two result files: every variable's values and type, every dimension, every
attribute except those that record when and how fast a file was made."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np

#: attributes that differ between an uninterrupted and a resumed run by design
VOLATILE = {"history", "created", "wall_time_s", "resumed_from", "command", "solver_stats"}


def _values(var) -> np.ndarray:
    var.set_auto_maskandscale(False)
    return np.asarray(var[...])


def _attrs(obj, skip=()) -> dict[str, str]:
    return {k: repr(v) for k, v in obj.__dict__.items() if k not in skip}


def result_difference(a: str | Path, b: str | Path, volatile=VOLATILE) -> str | None:
    """None if the NetCDF files ``a`` and ``b`` hold the same data bit for bit, else what
    differs first."""
    with netCDF4.Dataset(a) as x, netCDF4.Dataset(b) as y:
        if {k: len(v) for k, v in x.dimensions.items()} != {
            k: len(v) for k, v in y.dimensions.items()
        }:
            return "dimensions differ"
        if set(x.variables) != set(y.variables):
            return f"variables differ: {sorted(set(x.variables) ^ set(y.variables))}"
        for name in x.variables:
            u, v = _values(x.variables[name]), _values(y.variables[name])
            if u.dtype != v.dtype or u.shape != v.shape:
                return f"{name}: {u.dtype}{u.shape} vs {v.dtype}{v.shape}"
            same = (
                np.array_equal(u.view(np.uint8), v.view(np.uint8))
                if u.dtype.kind in "fiub" and u.size
                else np.array_equal(u, v)
            )
            if not same:
                return f"{name}: values differ"
            if _attrs(x.variables[name]) != _attrs(y.variables[name]):
                return f"{name}: attributes differ"
        ax, ay = _attrs(x, volatile), _attrs(y, volatile)
        if ax != ay:
            keys = sorted(k for k in ax.keys() | ay.keys() if ax.get(k) != ay.get(k))
            return f"global attributes differ: {keys}"
    return None
