"""The 3D invasion table of docs/invasion_pde.md ('3D (seed Fig. 8)'): measures at the last
snapshot of 3D PDE result files, one column per run.

    oncoscale run invasion-3d-seed-resolution --set numerics.dx=0.25 --out runs/3d-dx4
    oncoscale run invasion-3d-seed-resolution --set numerics.dx=0.1666666666666667 \
        --out runs/3d-dx6
    oncoscale run invasion-3d-seed-resolution --out runs/3d-dx12
    python scripts/invasion_3d_table.py runs/3d-dx4 runs/3d-dx6 runs/3d-dx12
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def measures(folder: Path) -> dict[str, str]:
    """The table's entries for the run in ``folder`` (its result.nc), at the last snapshot."""
    ds = xr.open_dataset(folder / "result.nc")
    t = float(ds["t"].values[-1])
    obs = {n: float(ds[n].sel(t_obs=t).values) for n in ds.data_vars if "t_obs" in ds[n].dims}
    axes = [ds[a].values for a in ("x", "y", "z")]
    center = 0.5 * (axes[0][0] + axes[0][-1])
    r = np.sqrt(sum((m - center) ** 2 for m in np.meshgrid(*axes, indexing="ij"))).ravel()
    cp = ds["cells_p"].isel(t=-1).values.reshape(5, -1)
    cq = ds["cells_q"].isel(t=-1).values.reshape(5, -1)
    dead = ds["cells_necrotic"].isel(t=-1).values.reshape(5, -1).sum(axis=0)
    living = (cp + cq).sum(axis=1)
    p_all = cp.sum(axis=0)
    median_p = _weighted_median(r, p_all)
    beyond = r > median_p
    dx = float(axes[0][1] - axes[0][0])
    return {
        "run": f"dx = 1/{round(1 / dx)}, t = {t:g}",
        "living mass P / Q, necrotic mass": f"{obs['mass_p']:.1f} / {obs['mass_q']:.1f}, "
        f"{obs['mass_necrotic']:.0f}",
        "phenotype shares of the living cells, types 0–4": ", ".join(
            f"{100 * m / living.sum():.1f}" for m in living
        )
        + " %",
        "mean distance of P cells from the centre, types 0–4": ", ".join(
            f"{(c * r).sum() / c.sum():.2f}" if c.sum() > 0 else "–" for c in cp
        ),
        "median distance: P, Q, necrotic mass": ", ".join(
            f"{_weighted_median(r, w):.2f}" for w in (p_all, cq.sum(axis=0), dead)
        ),
        "type 4 among P cells beyond the median P radius": (
            f"{100 * cp[4, beyond].sum() / p_all[beyond].sum():.0f} %"
        ),
        "wall time": f"{float(ds.attrs.get('wall_time_s', np.nan)):.0f} s",
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="run folders (with result.nc)")
    args = ap.parse_args(argv)
    cols = [measures(folder) for folder in args.runs]
    print("| measure | " + " | ".join(c["run"] for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for key in cols[0]:
        if key != "run":
            print(f"| {key} | " + " | ".join(c[key] for c in cols) + " |")


if __name__ == "__main__":
    main()
