"""Shared matplotlib set-up: non-interactive backend, house style, atomic figure saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from oncoscale.atomic import atomic_write

COLORS = {
    "u": "tab:blue",
    "i": "tab:red",
    "z": "tab:green",
    "phi": "tab:purple",
    "total_tumour": "black",
}
LABELS = {
    "u": "uninfected u",
    "i": "infected i",
    "z": "immune z",
    "phi": "chemoattractant φ",
}

plt.rcParams.update(
    {
        "figure.dpi": 110,
        "savefig.dpi": 130,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 9,
    }
)


def save(fig, path: Path) -> Path:
    """Save ``fig`` atomically as PNG and close it."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", bbox_inches="tight"))
    plt.close(fig)
    return path


def units_label(da) -> str:
    """'long name (units)' for an xarray variable, with the unit as people write it
    (``units_label``, e.g. cells/mm^2, rather than the UDUNITS ``units``)."""
    name = str(da.attrs.get("long_name", da.name))
    units = str(da.attrs.get("units_label") or da.attrs.get("units", ""))
    if da.attrs.get("units") == "1" and name.endswith(f" (in {units})"):
        name = name[: -len(f" (in {units})")]
    return f"{name} ({units})" if units and units != "1" else name


def time_label(ds) -> str:
    """The time unit of a result as people write it (h, day, 1/r)."""
    return str(ds.attrs.get("time_label") or ds["t_obs"].attrs.get("units", ""))


def time_axis_label(ds) -> str:
    """'t (unit)' for a result's time axis."""
    unit = time_label(ds)
    return f"t ({unit})" if unit else "t"
