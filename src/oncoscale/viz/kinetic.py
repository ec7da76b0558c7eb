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


def _norm(values: np.ndarray):
    """A log colour scale for positive fields spanning more than three decades (an escaping
    tumour), else None (linear)."""
    from matplotlib.colors import LogNorm

    top = float(np.nanmax(values)) if np.size(values) else 0.0
    if top <= 1e3:
        return None
    positive = values[values > 0]
    bottom = max(float(np.nanmin(positive)) if positive.size else top * 1e-9, top * 1e-9)
    return LogNorm(vmin=bottom, vmax=top)


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


def _escape_note(ds: xr.Dataset) -> tuple[float, str] | None:
    """(time, description) of an event that ended the run (e.g. escape), if any."""
    if "event_action" not in ds:
        return None
    for t, action, text in zip(
        ds["event_time"].values,
        ds["event_action"].values,
        ds["event_description"].values,
        strict=True,
    ):
        if str(action) == "stop":
            return float(t), str(text).split(":")[0]
    return None


def totals_figure(ds: xr.Dataset, out: Path) -> Path:
    """Domain means of every population over time; when they span many decades (an escaping
    tumour) a second panel shows them on a linear scale before the escape, and the outcome is
    marked."""
    names = [n for n in FIELDS if f"mean_{n}" in ds.data_vars]
    values = np.concatenate([ds[f"mean_{n}"].values for n in names]) if names else np.array([])
    t = ds["t_obs"].values
    wide = values.size and np.nanmax(np.abs(values)) > 1e3
    fig, axes = plt.subplots(1, 2 if wide else 1, figsize=(12 if wide else 7, 4), squeeze=False)
    note = _escape_note(ds)
    for k, ax in enumerate(axes[0]):
        keep = np.ones_like(t, dtype=bool)
        if k == 1:  # linear scale, before the tumour mean passes 10x its start
            n1 = ds["mean_n1"].values
            above = np.nonzero(n1 > 10 * max(abs(n1[0]), 1e-12))[0]
            keep = t <= (t[above[0]] if above.size else t[-1])
        for name in names:
            ax.plot(
                t[keep], ds[f"mean_{name}"].values[keep], color=COLORS[name], label=LABELS[name]
            )
        if k == 0:
            _yscale(ax, values)
            if note is not None:
                ax.axvline(note[0], color="0.4", ls="--", lw=0.8)
                ax.annotate(f"{note[1]}", (note[0], 0.5), xycoords=("data", "axes fraction"),
                            rotation=90, ha="right", fontsize=8, color="0.3")  # fmt: skip
        else:
            ax.set_title("before the escape, linear scale", fontsize=9)
        ax.set_xlabel(time_axis_label(ds))
        ax.set_ylabel("domain mean (n)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"{ds.attrs['scenario']} — {ds.attrs['model']} ({_reduction(ds)}): means")
    return save(fig, out / "totals.png")


def kymograph_figure(ds: xr.Dataset, out: Path) -> Path:
    """Space–time maps of every field (1D)."""
    names = _fields(ds)
    fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names), 3.6), sharey=True)
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        im = ax.pcolormesh(
            ds["x"], ds["t"], ds[name], shading="auto", cmap="magma", norm=_norm(ds[name].values)
        )
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
    first = max(runs.values(), key=lambda d: d["t"].values[-1])  # runs may end early (escape)
    # early times are denser: transients differ most there
    t = first["t"].values
    idx = np.unique([int(np.argmin(np.abs(t - f * t[-1]))) for f in (0, 0.05, 0.15, 0.4, 1)])
    # each run's own snapshot nearest to those times (at most its last one)
    own = {n: [int(np.argmin(np.abs(runs[n]["t"].values - t[k]))) for k in idx] for n in names}
    two_d = "y" in first.dims
    fig = plt.figure(figsize=(3.4 * len(idx), 2.9 * (len(names) + 1)), layout="constrained")
    grid = fig.add_gridspec(len(names) + 1, len(idx))
    axes = np.array(
        [[fig.add_subplot(grid[r, c]) for c in range(len(idx))] for r in range(len(names))]
    )
    for c, _ in enumerate(idx):
        frames = [runs[n][field].isel(t=own[n][c]).values for n in names]
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
                k = own[name][c]
                ax.plot(ds["x"], ds["n1"].isel(t=k), color=COLORS["n1"], label=LABELS["n1"])
                ax.tick_params(axis="y", labelcolor=COLORS["n1"])
                twin = ax.twinx()  # immune densities on their own scale
                for f in ("n2", "n3", "N"):
                    if f in ds.data_vars:
                        twin.plot(ds["x"], ds[f].isel(t=k), color=COLORS[f], label=LABELS[f])
                twin.grid(False)
                if r == 0 and c == 0:
                    twin.legend(fontsize=6, loc="center right")
            ax.set_title(f"{name}, t = {runs[name]['t'].values[own[name][c]]:g}", fontsize=8)
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
