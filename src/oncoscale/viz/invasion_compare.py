"""Figure of the IBM-vs-PDE comparison (:mod:`oncoscale.analysis.invasion_compare`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from oncoscale.models.invasion.params import N_PHENOTYPES
from oncoscale.viz.style import save

_COMPARTMENTS = (
    ("mass_p", "proliferating"),
    ("mass_q", "quiescent"),
    ("mass_necrotic", "necrotic"),
)
_PROFILES = (("cells_p", "proliferating cells"), ("cells_q", "quiescent cells"), ("o2", "O$_2$"))


def _band(ax, t, ds: xr.Dataset, name: str, color, label: str) -> None:
    """PDE line, IBM mean (dashed) and ± 1 sd band."""
    ax.plot(t, ds[f"pde_{name}"], color=color, label=f"{label} (PDE)")
    mean, sd = ds[f"ibm_{name}_mean"].values, ds[f"ibm_{name}_sd"].values
    ax.plot(t, mean, color=color, ls="--", label=f"{label} (IBM mean)")
    if np.any(np.isfinite(sd)):
        ax.fill_between(t, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)


def plot_comparison(ds: xr.Dataset, path: Path) -> Path:
    """Totals per compartment and phenotype over time, radial profiles at the snapshot times,
    and the relative L2 profile distances; PDE solid, IBM mean dashed with ± 1 sd bands."""
    n_rep = ds.sizes.get("replicate", 0)
    fig, axes = plt.subplots(2, 3, figsize=(12, 7))
    t = ds["t"].values
    ax = axes[0, 0]
    for k, (name, label) in enumerate(_COMPARTMENTS):
        _band(ax, t, ds, name, f"C{k}", label)
    ax.set(xlabel="t (day)", ylabel="mass", title="cells by compartment", yscale="log")
    ax.legend(fontsize=6)
    ax = axes[0, 1]
    cmap = plt.get_cmap("viridis")
    for i in range(N_PHENOTYPES):
        color = cmap(i / (N_PHENOTYPES - 1))
        ax.plot(t, ds[f"pde_mass_p{i}"] + ds[f"pde_mass_q{i}"], color=color, label=f"type {i}")
        ibm = ds[f"ibm_mass_p{i}_mean"] + ds[f"ibm_mass_q{i}_mean"]
        ax.plot(t, ibm, color=color, ls="--")
    ax.set(xlabel="t (day)", ylabel="mass (P + Q)", title="cells by phenotype", yscale="log")
    ax.legend(fontsize=6)
    ax = axes[0, 2]
    t_snap = ds["t_snap"].values
    for k, (name, label) in enumerate((("cells", "cells"), *_PROFILES)):
        ax.plot(t_snap, ds[f"distance_{name}"], marker="o", color=f"C{k}", label=label)
        ax.plot(t_snap, ds[f"spread_{name}"], ls=":", color=f"C{k}")
    ax.set(
        xlabel="t (day)",
        ylabel="relative L2 distance",
        title="radial profiles: IBM mean vs PDE (dotted: one replicate vs mean)",
    )
    ax.title.set_fontsize(7)
    ax.legend(fontsize=6)
    r = ds["r"].values
    show = [k for k in range(len(t_snap)) if t_snap[k] > 0][-3:]
    for col, (name, label) in enumerate(_PROFILES):
        ax = axes[1, col]
        for j, k in enumerate(show):
            color = f"C{j}"
            ax.plot(r, ds[f"pde_profile_{name}"][k], color=color, label=f"t = {t_snap[k]:g}")
            mean = ds[f"ibm_profile_{name}_mean"][k].values
            sd = ds[f"ibm_profile_{name}_sd"][k].values
            ax.plot(r, mean, color=color, ls="--")
            if np.any(np.isfinite(sd)):
                ax.fill_between(r, mean - sd, mean + sd, color=color, alpha=0.15, lw=0)
        ax.set(xlabel="distance from centre (len)", ylabel="density", title=label)
        ax.legend(fontsize=6)
    fig.suptitle(f"IBM ({n_rep} replicates, dashed) vs age-structured PDE (solid)")
    fig.tight_layout()
    return save(fig, Path(path))
