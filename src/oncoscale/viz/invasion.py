"""Figures of invasion runs (IBM or PDE, 2D or 3D): proliferating cells by phenotype, MM and
oxygen at a few times (seed Figs. 2–3, 5–6), masses by phenotype over time, the spec §7
measures, and for 3D a central slice and radial profiles by phenotype (seed Fig. 8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from oncoscale.analysis.invasion_metrics import invasion_summary
from oncoscale.io.results import parameters_of
from oncoscale.numerics.profiles import radial_profile
from oncoscale.viz.style import plt, save

PHENOTYPE_COLORS = ("#1b9e77", "#7570b3", "#e6ab02", "#d95f02", "#e7298a")
COMPARTMENT_NAMES = ("proliferating", "quiescent", "necrotic")


def _times(ds: xr.Dataset, n: int = 4) -> np.ndarray:
    return np.unique(np.linspace(0, ds.sizes["t"] - 1, n).round().astype(int))


def _dim(ds: xr.Dataset) -> int:
    return 3 if "z" in ds["cells_p"].dims else 2


def _particles_at(ds: xr.Dataset, k: int) -> dict[str, np.ndarray] | None:
    if "particle_offset" not in ds:
        return None
    o, n = int(ds["particle_offset"].values[k]), int(ds["particle_count"].values[k])
    names = [v[len("particle_") :] for v in ds.data_vars if str(v).startswith("particle_")]
    return {m: ds[f"particle_{m}"].values[o : o + n] for m in names if m not in ("offset", "count")}


def _plane(field: np.ndarray, dim: int) -> np.ndarray:
    return field if dim == 2 else field[..., field.shape[-1] // 2]


def _extent(ds: xr.Dataset, dx: float) -> list[float]:
    x, y = ds["x"].values, ds["y"].values
    return [x[0] - dx / 2, x[-1] + dx / 2, y[0] - dx / 2, y[-1] + dx / 2]


def snapshots_figure(ds: xr.Dataset, out: Path) -> Path:
    """Rows: proliferating cells by phenotype, MM, O2; columns: a few snapshot times (3D: the
    plane z = centre; IBM cells within one perception width of it)."""
    dim = _dim(ds)
    p = parameters_of(ds)
    idx = _times(ds)
    dx = float(ds["x"].values[1] - ds["x"].values[0])
    ext = _extent(ds, dx)
    fig, axes = plt.subplots(3, len(idx), figsize=(3.1 * len(idx), 9.0), squeeze=False)
    mm_max = float(ds["mm"].max()) or 1.0
    o2_max = float(ds["o2"].max()) or 1.0
    for j, k in enumerate(idx):
        ax = axes[0, j]
        parts = _particles_at(ds, k)
        if parts is not None:
            sel = parts["compartment"] == 0
            if dim == 3:
                sel &= np.abs(parts["z"] - 0.5 * p["L"]) < 2 * p["perception"]
            for i, color in enumerate(PHENOTYPE_COLORS):
                m = sel & (parts["phenotype"] == i)
                ax.scatter(parts["x"][m], parts["y"][m], s=2, color=color, label=f"type {i}")
            ax.set_xlim(ext[0], ext[1])
            ax.set_ylim(ext[2], ext[3])
            ax.set_aspect("equal")
        else:
            cp = ds["cells_p"].isel(t=k).values
            dens = _plane(cp.sum(axis=0), dim)
            dominant = np.argmax(_plane(cp, dim), axis=0)  # (phenotype, x, y) in the plane
            rgb = np.array([plt.matplotlib.colors.to_rgb(c) for c in PHENOTYPE_COLORS])[dominant]
            alpha = np.clip(dens / (float(dens.max()) or 1.0), 0, 1)[..., None]
            img = rgb * alpha + (1 - alpha)
            ax.imshow(np.transpose(img, (1, 0, 2)), origin="lower", extent=ext)
        ax.set_title(f"P cells, t = {ds['t'].values[k]:g} d")
        axes[1, j].imshow(_plane(ds["mm"].isel(t=k).values, dim).T, origin="lower", extent=ext,
                          cmap="Greens", vmin=0, vmax=mm_max)  # fmt: skip
        axes[1, j].set_title("MM f")
        im = axes[2, j].imshow(_plane(ds["o2"].isel(t=k).values, dim).T, origin="lower",
                               extent=ext, cmap="Blues", vmin=0, vmax=o2_max)  # fmt: skip
        axes[2, j].set_title("oxygen c")
        for row in axes[:, j]:
            row.set_xticks([])
            row.set_yticks([])
            row.grid(False)
    fig.colorbar(axes[1, -1].images[0], ax=axes[1, :].tolist(), shrink=0.8)
    fig.colorbar(im, ax=axes[2, :].tolist(), shrink=0.8)
    handles = [
        plt.Line2D([], [], marker="o", ls="", color=c, label=f"type {i}")
        for i, c in enumerate(PHENOTYPE_COLORS)
    ]
    axes[0, 0].legend(handles=handles, fontsize=6, loc="upper left")
    plane = " (plane z = L/2)" if dim == 3 else ""
    fig.suptitle(f"{ds.attrs.get('scenario', '')} — {ds.attrs['model']}{plane}")
    return save(fig, out / "snapshots.png")


def masses_figure(ds: xr.Dataset, out: Path) -> Path:
    """Masses of proliferating and quiescent cells by phenotype, necrotic cells, MM/O2."""
    t = ds["t_obs"].values
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for i, c in enumerate(PHENOTYPE_COLORS):
        axes[0].plot(t, ds[f"mass_p{i}"], color=c, label=f"P type {i}")
        axes[0].plot(t, ds[f"mass_q{i}"], color=c, ls="--")
    if "mass_necrotic" in ds:
        axes[0].plot(t, ds["mass_necrotic"], color="0.3", lw=1.5, label="necrotic (cum.)")
    axes[0].set_ylabel("mass")
    axes[0].set_title("cells (solid P, dashed Q)")
    axes[0].legend(fontsize=7)
    total = sum(ds[f"mass_p{i}"] + ds[f"mass_q{i}"] for i in range(5))
    bottom = np.zeros(t.size)
    for i, c in enumerate(PHENOTYPE_COLORS):
        frac = ((ds[f"mass_p{i}"] + ds[f"mass_q{i}"]) / total.where(total > 0)).values
        frac = np.nan_to_num(frac)
        axes[1].fill_between(t, bottom, bottom + frac, color=c, label=f"type {i}")
        bottom = bottom + frac
    axes[1].set_ylim(0, 1)
    axes[1].set_title("phenotype fractions (P + Q)")
    for name, style in (("mass_mm", "-"), ("mass_mde", "--")):
        axes[2].plot(t, ds[name], ls=style, color="k", label=name[5:].upper())
    ax2 = axes[2].twinx()
    ax2.plot(t, ds["mass_o2"], color="tab:blue", label="O2")
    ax2.set_ylabel("O2 mass", color="tab:blue")
    axes[2].set_title("MM, MDE (black), O2 (blue)")
    axes[2].legend(fontsize=7)
    for ax in axes:
        ax.set_xlabel("t (day)")
    return save(fig, out / "masses.png")


def measures_figure(ds: xr.Dataset, out: Path) -> Path:
    """Ring radius, hollowness, directional ratio and front roughness over time."""
    s = invasion_summary(ds)["invasion"]
    t = s["t"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    axes[0].plot(t, s["ring_radius_peak"], "o-", label="peak of P profile")
    axes[0].plot(t, s["ring_radius_mean_p"], "s--", label="mean radius of P")
    axes[0].set_ylabel("radius (len)")
    ax2 = axes[0].twinx()
    ax2.plot(t, s["ring_hollowness"], "^:", color="0.4")
    ax2.set_ylabel("hollowness (centre / peak)", color="0.4")
    axes[0].legend(fontsize=7)
    axes[0].set_title("proliferating ring")
    axes[1].plot(t, s["direction_ratio_peaks_over_orthogonal"], "o-")
    axes[1].axhline(1.0, color="0.5", ls=":")
    axes[1].set_title("invaded mass: towards MM peaks / orthogonal")
    axes[2].plot(t, s["front_roughness_cv"], "o-", label="CV of front radius")
    axes[2].plot(t, s["front_finger_share_k>=3"], "s--", label="share of modes k >= 3")
    axes[2].legend(fontsize=7)
    axes[2].set_title("front roughness (fingering)")
    for ax in axes:
        ax.set_xlabel("t (day)")
    return save(fig, out / "measures.png")


def shell_figure(ds: xr.Dataset, out: Path) -> Path:
    """3D, last snapshot: shell-averaged densities vs distance from the centre, proliferating
    by phenotype and quiescent; right, the shell around the core: P (all and type 4), Q and
    necrotic cells (IBM particles, or the PDE's ``cells_necrotic`` field) and, for the PDE,
    the plane z = L/2 of P type 4 with the necrotic core outlined."""
    p = parameters_of(ds)
    k = ds.sizes["t"] - 1
    axes_xyz = [ds[d].values for d in ("x", "y", "z")]
    dx = float(axes_xyz[0][1] - axes_xyz[0][0])
    mesh = np.meshgrid(*axes_xyz, indexing="ij")
    c = 0.5 * p["L"]
    r = np.sqrt(sum((m - c) ** 2 for m in mesh))
    cp = ds["cells_p"].isel(t=k).values
    cq = ds["cells_q"].isel(t=k).values
    width = max(dx, 0.5)  # shells thick enough to hold several IBM cells
    parts = _particles_at(ds, k)
    field_core = parts is None and "cells_necrotic" in ds
    fig, axes = plt.subplots(1, 3 if field_core else 2, figsize=(16 if field_core else 11, 3.8))
    for i, col in enumerate(PHENOTYPE_COLORS):
        radii, prof = radial_profile(cp[i], r, width, c)
        axes[0].plot(radii, prof, color=col, label=f"P type {i}")
    radii, prof = radial_profile(cq.sum(axis=0), r, width, c)
    axes[0].plot(radii, prof, color="0.4", ls="--", label="Q (all types)")
    necro = axes[1].twinx()
    necro.set_ylabel("necrotic (cumulative, mass/len^3)", color="0.5")
    if parts is not None:
        rp = np.sqrt(sum((parts[a] - c) ** 2 for a in ("x", "y", "z")))
        edges = np.arange(0, c + width, width)
        shells = 4 / 3 * np.pi * np.diff(edges**3)
        mid = 0.5 * (edges[1:] + edges[:-1])
        for comp, style in ((0, "-"), (1, "--"), (2, ":")):
            h, _ = np.histogram(rp[parts["compartment"] == comp], edges)
            ax = necro if comp == 2 else axes[1]
            ax.plot(mid, p["M_cell"] * h / shells, ls=style, color="k" if comp < 2 else "0.5",
                    label=COMPARTMENT_NAMES[comp])  # fmt: skip
        h4, _ = np.histogram(rp[(parts["compartment"] == 0) & (parts["phenotype"] == 4)], edges)
        axes[1].plot(mid, p["M_cell"] * h4 / shells, color=PHENOTYPE_COLORS[4], label="P type 4")
        axes[1].set_title("IBM cells: P, Q (black), necrotic (grey, right)")
    elif field_core:
        dead = ds["cells_necrotic"].isel(t=k).values.sum(axis=0)
        width = dx  # fields: shells one cell thick
        for values, style, label in ((cp.sum(axis=0), "-", "P"), (cq.sum(axis=0), "--", "Q")):
            radii, prof = radial_profile(values, r, width, c)
            axes[1].plot(radii, prof, ls=style, color="k", label=label)
        radii, prof = radial_profile(cp[4], r, width, c)
        axes[1].plot(radii, prof, color=PHENOTYPE_COLORS[4], label="P type 4")
        radii, prof = radial_profile(dead, r, width, c)
        necro.plot(radii, prof, ls=":", color="0.5", label="necrotic")
        axes[1].set_title("PDE: P, Q (black), necrotic (grey, right)")
        ext = _extent(ds, dx)
        im = axes[2].imshow(_plane(cp[4], 3).T, origin="lower", extent=ext, cmap="RdPu")
        fig.colorbar(im, ax=axes[2], label="P type 4 (mass/len^3)")
        plane_dead = _plane(dead, 3)
        if plane_dead.max() > 0:
            axes[2].contour(axes_xyz[0], axes_xyz[1], plane_dead.T, levels=[0.5 * dead.max()],
                            colors="0.3", linewidths=1.0)  # fmt: skip
        axes[2].set_title("z = L/2: P type 4 (grey: necrotic, half max.)")
        axes[2].set_xlabel("x")
        axes[2].set_ylabel("y")
    axes[1].legend(fontsize=7, loc="upper left")
    axes[0].set_title(f"shell-averaged density, t = {ds['t'].values[k]:g} d")
    axes[0].legend(fontsize=7)
    for ax in axes[:2]:
        ax.set_xlabel("distance from centre (len)")
        ax.set_ylabel("density (mass/len^3)")
    return save(fig, out / "shells.png")


def run_figures(ds: xr.Dataset, out: Path, movie: bool = True) -> list[Path]:
    """All figures of one invasion run."""
    out.mkdir(parents=True, exist_ok=True)
    if "cells_p" not in ds:
        return []
    figs = [snapshots_figure(ds, out), masses_figure(ds, out), measures_figure(ds, out)]
    if _dim(ds) == 3:
        figs.append(shell_figure(ds, out))
    return figs


STUDY_FIGURES: dict = {}
