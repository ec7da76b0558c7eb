"""Dispatch from a result (or study) to the figures of its family."""

from __future__ import annotations

import importlib
from pathlib import Path

import xarray as xr

# family -> module with run_figures(ds, out, movie) and STUDY_FIGURES
FAMILY_VIZ = {
    "oncolytic": "oncoscale.viz.oncolytic",
    "kinetic": "oncoscale.viz.kinetic",
    "invasion": "oncoscale.viz.invasion",
}


def run_figures(ds: xr.Dataset, out: Path, movie: bool = True) -> list[Path]:
    """All figures of one run (empty if the family has none)."""
    mod = FAMILY_VIZ.get(ds.attrs["family"])
    if mod is None:
        return []
    return importlib.import_module(mod).run_figures(ds, out, movie=movie)


def study_figure(study: xr.Dataset, runs: dict[float, xr.Dataset], out: Path) -> Path | None:
    """The figure of a study (sweep/ensemble), if the family defines one for its metric."""
    mod = FAMILY_VIZ.get(study.attrs["family"])
    if mod is None:
        return None
    figs = importlib.import_module(mod).STUDY_FIGURES
    fn = figs.get(study.attrs["metric"])
    if fn is None:
        return None
    return fn(study, runs, out)
