"""From a result (or study) to the figures of its family (the ``figures`` part of the family's
declaration: a module with ``run_figures`` and optionally ``STUDY_FIGURES``)."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from oncoscale.models.registry import family


def run_figures(ds: xr.Dataset, out: Path, movie: bool = True) -> list[Path]:
    """All figures of one run (empty if the family has none)."""
    module = family(ds.attrs["family"]).part("figures")
    if module is None:
        return []
    return module.run_figures(ds, out, movie=movie)


def study_figure(study: xr.Dataset, runs: dict[float, xr.Dataset], out: Path) -> Path | None:
    """The figure of a study (sweep/ensemble), if the family defines one for its metric."""
    module = family(study.attrs["family"]).part("figures")
    fn = getattr(module, "STUDY_FIGURES", {}).get(study.attrs["metric"]) if module else None
    return fn(study, runs, out) if fn is not None else None
