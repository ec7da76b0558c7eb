"""The family's figures: the density profiles at the snapshot times, or the ODE's time series."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from oncoscale.viz.style import plt, save, time_axis_label, units_label


def run_figures(ds: xr.Dataset, out: Path, movie: bool = True) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if "x" in ds.coords:
        for k in range(ds.sizes["t"]):
            ax.plot(ds["x"], ds["u"].isel(t=k), label=f"t = {float(ds['t'][k]):g}")
        ax.set_xlabel(units_label(ds["x"]))
        ax.legend(fontsize=7)
    else:
        ax.plot(ds["t_obs"], ds["u"])
        ax.set_xlabel(time_axis_label(ds))
    ax.set_ylabel(units_label(ds["u"]))
    return [save(fig, out / "logistic.png")]
