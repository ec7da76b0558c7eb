"""Figures of the kinetic family: ODE time series, 1D kymographs and profiles, 2D snapshots,
totals over time, and the side-by-side comparison of two reductions (linear vs cross/self)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from oncoscale.viz.movie import field_movie
from oncoscale.viz.style import plt, save, time_axis_label, units_label

FIELDS = ("n1", "n2", "n3", "N")
LABELS = {
    "n1": "tumour n1",
    "n2": "active immune n2",
    "n3": "passive immune n3",
    "N": "immune N = n2 + n3",
}
COLORS = {"n1": "black", "n2": "tab:red", "n3": "tab:blue", "N": "tab:green"}


def _fields(ds: xr.Dataset) -> list[str]:
    return [f for f in FIELDS if f in ds.data_vars and "t" in ds[f].dims]


def _pick_times(n: int, k: int = 5) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, k).round().astype(int))


def _yscale(ax, values: np.ndarray) -> None:
    """Log scale for positive data spanning more than three decades (escaping tumours)."""
    finite = np.asarray(values)[np.isfinite(values)]
    if finite.size and np.max(np.abs(finite)) > 1e3:
        if np.min(finite) > 0:
            ax.set_yscale("log")
        else:
            ax.set_yscale("symlog", linthresh=1e-3)


def ode_figure(ds: xr.Dataset, out: Path) -> Path:
    """Time series of the homogeneous reduction."""
    fig, ax = plt.subplots(figsize=(7, 4))
    names = [n for n in FIELDS if n in ds.data_vars]
    for name in names:
        ax.plot(ds["t_obs"], ds[name], color=COLORS[name], label=LABELS[name])
    _yscale(ax, np.concatenate([ds[n].values for n in names]))
    ax.set_xlabel(time_axis_label(ds))
    ax.set_ylabel("density (n)")
    ax.legend(fontsize=8)
    red = _reduction(ds)
    ax.set_title(f"{ds.attrs['scenario']} — homogeneous ODE ({red})")
    return save(fig, out / "timeseries.png")


def totals_figure(ds: xr.Dataset, out: Path) -> Path:
    """Domain means of every population over time."""
    fig, ax = plt.subplots(figsize=(7, 4))
    plotted = []
    for name in FIELDS:
        key = f"mean_{name}"
        if key in ds.data_vars:
            ax.plot(ds["t_obs"], ds[key], color=COLORS[name], label=LABELS[name])
            plotted.append(ds[key].values)
    if plotted:
        _yscale(ax, np.concatenate(plotted))
    ax.set_xlabel(time_axis_label(ds))
    ax.set_ylabel("domain mean (n)")
    ax.legend(fontsize=8)
    ax.set_title(f"{ds.attrs['scenario']} — {ds.attrs['model']} ({_reduction(ds)}): means")
    return save(fig, out / "totals.png")


def kymograph_figure(ds: xr.Dataset, out: Path) -> Path:
    """Space–time maps of every field (1D)."""
    names = _fields(ds)
    fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names), 3.6), sharey=True)
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        im = ax.pcolormesh(ds["x"], ds["t"], ds[name], shading="auto", cmap="magma")
        fig.colorbar(im, ax=ax)
        ax.set_title(LABELS[name])
        ax.set_xlabel("x")
    np.atleast_1d(axes)[0].set_ylabel(time_axis_label(ds))
    fig.suptitle(f"{ds.attrs['scenario']} — {ds.attrs['model']} ({_reduction(ds)})")
    return save(fig, out / "kymograph.png")


def profiles_figure(ds: xr.Dataset, out: Path) -> Path:
    """Profiles of every field at a few times (1D)."""
    names = _fields(ds)
    fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names), 3.4))
    idx = _pick_times(ds.sizes["t"])
    cmap = plt.get_cmap("viridis")
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        for j, k in enumerate(idx):
            ax.plot(
                ds["x"],
                ds[name].isel(t=k),
                color=cmap(j / max(1, len(idx) - 1)),
                label=f"t = {ds['t'].values[k]:g}",
            )
        ax.set_title(LABELS[name])
        ax.set_xlabel("x")
        ax.set_ylabel(units_label(ds[name]))
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle(f"{ds.attrs['scenario']} — {ds.attrs['model']} ({_reduction(ds)}): profiles")
    return save(fig, out / "profiles.png")


def snapshots_figure(ds: xr.Dataset, out: Path) -> Path:
    """Maps of every field at a few times (2D)."""
    names = _fields(ds)
    idx = _pick_times(ds.sizes["t"], 4)
    fig, axes = plt.subplots(
        len(names),
        len(idx),
        figsize=(3.3 * len(idx), 2.9 * len(names)),
        squeeze=False,
        layout="constrained",
    )
    extent = _extent(ds)
    for r, name in enumerate(names):
        for c, k in enumerate(idx):
            ax = axes[r, c]
            im = ax.imshow(ds[name].isel(t=k).T, origin="lower", extent=extent, cmap="magma")
            fig.colorbar(im, ax=ax, fraction=0.046)
            ax.set_title(f"{LABELS[name]}, t = {ds['t'].values[k]:g}", fontsize=8)
            ax.grid(False)
    fig.suptitle(f"{ds.attrs['scenario']} — {ds.attrs['model']} ({_reduction(ds)})")
    return save(fig, out / "snapshots.png")


def _extent(ds: xr.Dataset) -> list[float]:
    x, y = ds["x"].values, ds["y"].values
    hx, hy = (x[1] - x[0]) / 2, (y[1] - y[0]) / 2
    return [x[0] - hx, x[-1] + hx, y[0] - hy, y[-1] + hy]


def _reduction(ds: xr.Dataset) -> str:
    import json

    try:
        return str(json.loads(ds.attrs["parameters"]).get("reduction", "?"))
    except (KeyError, ValueError):
        return "?"


def run_figures(ds: xr.Dataset, out: Path, movie: bool = True) -> list[Path]:
    """All figures of one kinetic-family run, chosen by its geometry."""
    out.mkdir(parents=True, exist_ok=True)
    if not _fields(ds):
        return [ode_figure(ds, out)]
    paths = [totals_figure(ds, out)] if "mean_n1" in ds.data_vars else []
    if "y" in ds.dims:
        paths.append(snapshots_figure(ds, out))
        if movie and ds.sizes["t"] > 1:
            paths.append(field_movie(ds, _fields(ds), out / "movie.mp4", LABELS))
    elif "x" in ds.dims:
        paths += [profiles_figure(ds, out), kymograph_figure(ds, out)]
    return paths


# ---------------------------------------------------------------------------------------
# comparison of two reductions (same scenario, same initial data)
# ---------------------------------------------------------------------------------------
def comparison_figure(runs: dict[str, xr.Dataset], out: Path, field: str = "n1") -> Path:
    """Side by side over time: one row per reduction (``field`` at 5 times; one colour scale
    per time unless the maxima differ more than tenfold), plus a last row with the domain
    means of n1 and N of both reductions."""
    names = list(runs)
    first = runs[names[0]]
    # early times are denser: transients differ most there
    t = first["t"].values
    idx = np.unique([int(np.argmin(np.abs(t - f * t[-1]))) for f in (0, 0.05, 0.15, 0.4, 1)])
    two_d = "y" in first.dims
    fig = plt.figure(figsize=(3.4 * len(idx), 2.9 * (len(names) + 1)), layout="constrained")
    grid = fig.add_gridspec(len(names) + 1, len(idx))
    axes = np.array(
        [[fig.add_subplot(grid[r, c]) for c in range(len(idx))] for r in range(len(names))]
    )
    for c, k in enumerate(idx):
        frames = [runs[n][field].isel(t=k).values for n in names]
        tops = [float(np.max(np.abs(f))) for f in frames]
        shared = max(tops) <= 10 * max(min(tops), 1e-300)  # else each panel its own scale
        vmin = min(float(np.min(f)) for f in frames) if shared else None
        vmax = max(float(np.max(f)) for f in frames) if shared else None
        for r, (name, frame) in enumerate(zip(names, frames, strict=True)):
            ax = axes[r, c]
            if two_d:
                im = ax.imshow(
                    frame.T, origin="lower", extent=_extent(first), vmin=vmin, vmax=vmax,
                    cmap="magma",
                )  # fmt: skip
                fig.colorbar(im, ax=ax, fraction=0.046)
                ax.grid(False)
            else:
                ds = runs[name]
                ax.plot(ds["x"], ds["n1"].isel(t=k), color=COLORS["n1"], label=LABELS["n1"])
                ax.tick_params(axis="y", labelcolor=COLORS["n1"])
                twin = ax.twinx()  # immune densities on their own scale
                for f in ("n2", "n3", "N"):
                    if f in ds.data_vars:
                        twin.plot(ds["x"], ds[f].isel(t=k), color=COLORS[f], label=LABELS[f])
                twin.grid(False)
                if r == 0 and c == 0:
                    twin.legend(fontsize=6, loc="center right")
            ax.set_title(f"{name}, t = {first['t'].values[k]:g}", fontsize=8)
    if not two_d:
        axes[0, 0].legend(fontsize=6)
    styles = ["-", "--", ":", "-."]
    ax = fig.add_subplot(grid[-1, :])
    for r, name in enumerate(names):
        ds = runs[name]
        for f in ("n1", "N"):
            key = f"mean_{f}"
            if key in ds.data_vars:
                ax.plot(
                    ds["t_obs"], ds[key], color=COLORS[f], ls=styles[r % 4],
                    label=f"{LABELS[f]} ({name})",
                )  # fmt: skip
    ax.set_xlabel(time_axis_label(ds))
    ax.set_ylabel("domain mean (n)")
    _yscale(ax, np.concatenate([runs[n]["mean_n1"].values for n in names]))
    ax.legend(fontsize=7, ncol=2)
    what = LABELS[field] if two_d else "profiles"
    fig.suptitle(
        f"{first.attrs['scenario']} — {first.attrs['model']}: {what}, " + " vs ".join(names)
    )
    return save(fig, out / f"compare_{'_'.join(names)}.png")


STUDY_FIGURES: dict = {}
