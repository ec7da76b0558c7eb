"""Figures of oncolytic runs: profiles, kymographs, totals, fronts vs theory, 2D snapshots,
ODE time series, and study figures (Fig. 7 and Fig. 13 of the seed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from oncoscale.analysis.oncolytic import front_theory
from oncoscale.io.results import events_of, parameters_of
from oncoscale.viz.movie import field_movie
from oncoscale.viz.style import COLORS, LABELS, plt, save, units_label

FIELDS = ("u", "i", "z", "phi")


def _pick_times(t: np.ndarray, n: int = 6) -> np.ndarray:
    idx = np.unique(np.linspace(0, t.size - 1, n).round().astype(int))
    return idx


def _event_lines(ax, ds: xr.Dataset) -> None:
    for e in events_of(ds):
        ax.axvline(e["time"], color="0.5", lw=0.8, ls=":", zorder=0)


def profiles_figure(ds: xr.Dataset, out: Path) -> Path:
    """u, i, z, φ against the spatial coordinate at a few times."""
    space = "r" if "r" in ds.dims else "x"
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex=True, layout="constrained")
    idx = _pick_times(ds["t"].values)
    cmap = plt.get_cmap("viridis")
    p = parameters_of(ds)
    for ax, name in zip(axes.flat, FIELDS, strict=True):
        for j, k in enumerate(idx):
            ax.plot(
                ds[space],
                ds[name].isel(t=k),
                color=cmap(j / max(1, len(idx) - 1)),
                label=f"t = {ds['t'].values[k]:g} h",
            )
        if name in ("u", "i"):
            ax.axhline(1 / p["delta"] ** 2, color="0.4", ls="--", lw=0.8, label="front level 1/δ²")
        # the long name goes in the title, the unit on the axis: labels never collide
        ax.set_title("\n(".join(units_label(ds[name]).rsplit(" (", 1)), fontsize=8.5)
        ax.set_ylabel(str(ds[name].attrs.get("units_label") or ds[name].attrs.get("units", "")))
    for ax in axes[1]:
        ax.set_xlabel(units_label(ds[space]))
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"{ds.attrs['scenario']} — {ds.attrs['model']}: profiles")
    return save(fig, out / "profiles.png")


def kymograph_figure(ds: xr.Dataset, out: Path) -> Path:
    """Space–time maps of the four fields (1D geometries)."""
    space = "r" if "r" in ds.dims else "x"
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6), sharey=True)
    for ax, name in zip(axes, FIELDS, strict=True):
        im = ax.pcolormesh(ds[space], ds["t"], ds[name], shading="auto", cmap="magma")
        fig.colorbar(im, ax=ax, label=ds[name].attrs.get("units", ""))
        ax.set_title(LABELS[name])
        ax.set_xlabel(units_label(ds[space]))
    axes[0].set_ylabel("t (h)")
    return save(fig, out / "kymograph.png")


def totals_figure(ds: xr.Dataset, out: Path) -> Path:
    """Total cells over time (events as dotted lines)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    t = ds["t_obs"]
    for name, key in (("total_u", "u"), ("total_i", "i"), ("total_tumour", "total_tumour")):
        if name in ds:
            axes[0].plot(
                t, ds[name], color=COLORS[key], label=ds[name].attrs.get("long_name", name)
            )
    axes[0].set_ylabel("cells")
    axes[0].set_xlabel("t (h)")
    axes[0].legend(fontsize=7)
    _event_lines(axes[0], ds)
    if "total_z" in ds:
        axes[1].plot(t, ds["total_z"], color=COLORS["z"], label="total immune cells")
        ax2 = axes[1].twinx()
        ax2.plot(t, ds["max_phi"], color=COLORS["phi"], label="max φ")
        ax2.set_ylabel("max φ (µg/mm²)")
        axes[1].set_ylabel("cells")
        axes[1].set_xlabel("t (h)")
        axes[1].legend(loc="upper left", fontsize=7)
        ax2.legend(loc="upper right", fontsize=7)
        _event_lines(axes[1], ds)
    fig.suptitle(f"{ds.attrs['scenario']} — {ds.attrs['model']}: totals")
    return save(fig, out / "totals.png")


def fronts_figure(ds: xr.Dataset, out: Path) -> Path:
    """Front positions with the theoretical speeds 2√(Dp) and 2√(D(β−q))."""
    p = parameters_of(ds)
    t = ds["t_obs"].values
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(t, ds["front_u"], color=COLORS["u"], label="uninfected front")
    ax.plot(t, ds["front_i"], color=COLORS["i"], label="infected front")
    for name, (label, start, speed) in front_theory(p).items():
        color = COLORS["u"] if name == "front_u" else COLORS["i"]
        ax.plot(t, start + speed * t, color=color, ls="--", lw=1, label=label)
    ax.set_ylim(0, p["L"])
    ax.set_xlabel("t (h)")
    ax.set_ylabel("front position (mm)")
    ax.legend(fontsize=7)
    ax.set_title("fronts: outermost radius with density > 1/δ²")
    return save(fig, out / "fronts.png")


def snapshots_figure(ds: xr.Dataset, out: Path) -> Path:
    """2D maps of the four fields at four times."""
    idx = _pick_times(ds["t"].values, 4)
    fig, axes = plt.subplots(4, len(idx), figsize=(2.6 * len(idx), 9.5), squeeze=False)
    for row, name in enumerate(FIELDS):
        vmax = float(ds[name].max()) or 1.0
        for col, k in enumerate(idx):
            ax = axes[row, col]
            im = ax.imshow(
                ds[name].isel(t=k).T,
                origin="lower",
                cmap="magma",
                vmin=0,
                vmax=vmax,
                extent=_extent(ds),
            )
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if row == 0:
                ax.set_title(f"t = {ds['t'].values[k]:g} h")
            if col == 0:
                ax.set_ylabel(LABELS[name])
        fig.colorbar(im, ax=axes[row].tolist(), shrink=0.8, label=ds[name].attrs.get("units", ""))
    return save(fig, out / "snapshots.png")


def _extent(ds: xr.Dataset) -> list[float]:
    x, y = ds["x"].values, ds["y"].values
    hx, hy = 0.5 * (x[1] - x[0]), 0.5 * (y[1] - y[0])
    return [x[0] - hx, x[-1] + hx, y[0] - hy, y[-1] + hy]


def section_figure(ds: xr.Dataset, out: Path) -> Path:
    """Profiles along the section y = 0 (seed Figs. 3a, 5a)."""
    section = ds.sel(y=0.0, method="nearest")
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex=True)
    idx = _pick_times(ds["t"].values)
    cmap = plt.get_cmap("viridis")
    for ax, name in zip(axes.flat, FIELDS, strict=True):
        for j, k in enumerate(idx):
            ax.plot(
                section["x"],
                section[name].isel(t=k),
                color=cmap(j / max(1, len(idx) - 1)),
                label=f"t = {ds['t'].values[k]:g} h",
            )
        ax.set_title(f"{LABELS[name]} on y = 0")
    axes[0, 0].legend(fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel("x (mm)")
    return save(fig, out / "section.png")


def ode_figure(ds: xr.Dataset, out: Path) -> Path:
    """Time series of the homogeneous model."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in ("u", "i", "z"):
        ax.plot(ds["t_obs"], ds[name], color=COLORS[name], label=LABELS[name])
    _event_lines(ax, ds)
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("t (h)")
    ax.set_ylabel("density (cells/mm²)")
    ax.legend(fontsize=8)
    ax.set_title(f"{ds.attrs['scenario']} — homogeneous ODE")
    return save(fig, out / "timeseries.png")


def run_figures(ds: xr.Dataset, out: Path, movie: bool = True) -> list[Path]:
    """All figures for one oncolytic run, chosen by its geometry."""
    out.mkdir(parents=True, exist_ok=True)
    if ds.attrs["model"] == "ode":
        return [ode_figure(ds, out)]
    paths = [totals_figure(ds, out), fronts_figure(ds, out)]
    if "x" in ds.dims and "y" in ds.dims:
        paths += [snapshots_figure(ds, out), section_figure(ds, out)]
        if movie and ds.sizes["t"] > 1:
            paths.append(field_movie(ds, list(FIELDS), out / "movie.mp4", LABELS))
    else:
        paths += [profiles_figure(ds, out), kymograph_figure(ds, out)]
    return paths


# ---------------------------------------------------------------------------------------
# study figures
# ---------------------------------------------------------------------------------------
def oscillation_study_figure(study: xr.Dataset, runs: dict[float, xr.Dataset], out: Path) -> Path:
    """Seed Fig. 7: max/min of u(·,0) after t_from vs the swept parameter; settled values
    (oscillations died out) as stars."""
    v = study["value"].values
    osc = study["oscillating"].values > 0.5
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(v[osc], study["max"].values[osc], "o", color="tab:blue", label="max u(·,0)")
    ax.plot(v[osc], study["min"].values[osc], "o", color="tab:cyan", label="min u(·,0)")
    ax.plot(
        v[~osc],
        study["final"].values[~osc],
        "*",
        color="tab:red",
        ms=10,
        label="final u(·,0) (damped)",
    )
    ax.set_xlabel(study.attrs["parameter"])
    ax.set_ylabel("u(·, 0) (cells/mm²)")
    ax.set_title(
        f"{study.attrs['scenario']}: oscillations at the centre after "
        f"{study.attrs.get('t_from', '?')} h"
    )
    ax.legend(fontsize=8)
    return save(fig, out / "study.png")


def damping_study_figure(study: xr.Dataset, runs: dict[float, xr.Dataset], out: Path) -> Path:
    """Seed Fig. 7 with the damping criterion: left, min/max of u(·,0) over the late window
    (dots) and, for damped values, the final value (red stars); right, the first and late
    half-swing amplitudes and their ratio against the 10 % threshold (rings: damps then
    regrows)."""
    v = study["value"].values
    damped = study["damped"].values > 0.5
    regrows = study["damps_then_regrows"].values > 0.5
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
    ax.plot(v[~damped], study["max"].values[~damped], "o", color="tab:blue", label="max u(·,0)")
    ax.plot(v[~damped], study["min"].values[~damped], "o", color="tab:cyan", label="min u(·,0)")
    ax.plot(v[damped], study["final"].values[damped], "*", color="tab:red", ms=11,
            label="final u(·,0) (damped)")  # fmt: skip
    ax.set_xlabel(study.attrs["parameter"])
    ax.set_ylabel("u(·, 0) (cells/mm²)")
    t_late = study.attrs.get("t_late", 3000.0)
    ax.set_title(f"after {t_late:g} h; damped: late amplitude < 10 % of the first")
    ax.legend(fontsize=8)
    bx.semilogy(v, study["first_amplitude"].values, "s-", color="0.4", label="first swing")
    bx.semilogy(v, study["late_amplitude"].values, "o-", color="tab:blue", label="late mean")
    if regrows.any():
        bx.semilogy(v[regrows], study["late_amplitude"].values[regrows], "o", ms=12,
                    mfc="none", color="tab:orange", label="damps then regrows")  # fmt: skip
    tx = bx.twinx()
    tx.plot(v, study["late_over_first"].values, "^:", color="tab:red", label="late / first")
    tx.axhline(0.1, color="tab:red", lw=0.8, ls="--")
    tx.set_ylabel("late / first", color="tab:red")
    bx.set_xlabel(study.attrs["parameter"])
    bx.set_ylabel("half-swing amplitude of u(·,0) (cells/mm²)")
    bx.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return save(fig, out / "study.png")


def burden_study_figure(study: xr.Dataset, runs: dict[float, xr.Dataset], out: Path) -> Path:
    """Seed Fig. 13: total tumour over time for some thresholds, its time integral and the
    mean interval between injections vs threshold."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    cmap = plt.get_cmap("plasma")
    vals = sorted(runs)
    for j, value in enumerate(vals):
        ds = runs[value]
        axes[0].plot(
            ds["t_obs"],
            ds["total_tumour"],
            color=cmap(j / max(1, len(vals) - 1)),
            lw=0.9,
            label=f"{value:.3g}",
        )
    axes[0].set_xlabel("t (h)")
    axes[0].set_ylabel("total tumour cells")
    axes[0].legend(title="threshold", fontsize=6)
    axes[1].plot(study["value"], study["integral_cells_h"], "o-")
    axes[1].set_xlabel("threshold (cells)")
    axes[1].set_ylabel("∫ total tumour dt (cells·h)")
    axes[2].plot(study["value"], study["mean_interval_h"], "o-")
    axes[2].set_xlabel("threshold (cells)")
    axes[2].set_ylabel("mean interval between injections (h)")
    for ax in axes[1:]:
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
    fig.suptitle(study.attrs["scenario"])
    return save(fig, out / "study.png")


STUDY_FIGURES = {
    "damping": damping_study_figure,
    "oscillation": oscillation_study_figure,
    "tumour_burden": burden_study_figure,
}
