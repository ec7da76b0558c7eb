"""IBM vs PDE as the IBM's cell particles get lighter (docs/invasion_pde.md, 'IBM vs PDE'):
`compare_ibm_pde` (the code behind `oncoscale compare`) per cell mass, dx = 1/4, t = 10, and
the MM lost by t = 3 in the invasive variant. Prints the tables in markdown.

    python scripts/invasion_particle_mass.py --out runs/particle-mass --workers 2  # ~1 h CPU
    python scripts/invasion_particle_mass.py --quick --out /tmp/pm                 # smoke test
"""

from __future__ import annotations

import argparse
from pathlib import Path

import xarray as xr

from oncoscale.workflows.invasion_compare import compare_ibm_pde

#: (scenario, [(M_cell, IBM replicates), ...]) of the docs' table
CASES = [
    ("invasion-homogeneous", [(0.05, 16), (0.0125, 8), (0.003125, 4)]),
    ("invasion-heterogeneous", [(0.05, 8), (0.0125, 8)]),
]


def _row(summary: dict) -> list[float]:
    tot, prof = summary["totals"], summary["profiles"]
    return [tot["mass_cells"]["rel_diff_final"], tot["radius_p"]["rel_diff_final"],
            tot["mass_necrotic"]["rel_diff_final"],
            *(prof[n]["rel_l2_mean_vs_pde"][-1] for n in ("cells", "mm", "o2"))]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="folder for the comparisons")
    ap.add_argument("--workers", type=int, default=1, help="Dask workers for the IBM runs")
    ap.add_argument("--quick", action="store_true", help="t = 1, 2 replicates (smoke test)")
    args = ap.parse_args(argv)
    t_end, scale = (1.0, 0) if args.quick else (10.0, 1)
    common = {"dx": 0.25, "workers": args.workers, "figure": False, "snapshot_interval": 2.5}
    early = None
    for scenario, rows in CASES:
        print(f"\n{scenario}, dx = 1/4, t = {t_end:g}: IBM mean vs PDE")
        print("| M_cell (runs) | cells rel. diff | P radius | necrotic | "
              "profile dist. cells / MM / O2 |\n|---|---|---|---|---|")  # fmt: skip
        for mass, runs in rows[: 2 if args.quick else None]:
            runs = runs if scale else 2
            summary = compare_ibm_pde(
                scenario, runs, t_end, args.out / scenario / f"M_cell={mass:g}",
                overrides={"M_cell": mass}, **common,
            )  # fmt: skip
            d = _row(summary)
            print(f"| {mass:g} ({runs}) | {d[0]:+.2f} | {d[1]:+.2f} | {d[2]:+.2f} | "
                  f"{d[3]:.2f} / {d[4]:.2f} / {d[5]:.2f} |")  # fmt: skip
            if early is None:
                early = summary["profiles"]["cells"]
    k = min(range(len(early["t"])), key=lambda j: abs(early["t"][j] - 2.5))
    print(f"\nfirst case at t = {early['t'][k]:g}: cells profile distance "
          f"{early['rel_l2_mean_vs_pde'][k]:.2f}, replicate spread "
          f"{early['rel_l2_replicate_spread'][k]:.2f}")  # fmt: skip

    t_mm = 1.0 if args.quick else 3.0
    n_mm = 2 if args.quick else 8
    print(f"\ninvasion-homogeneous-invasive: MM lost by t = {t_mm:g} ({n_mm} IBM runs per mass)")
    for mass in (0.05, 0.0125):
        out = args.out / "invasive-mm" / f"M_cell={mass:g}"
        compare_ibm_pde("invasion-homogeneous-invasive", n_mm, t_mm, out,
                        overrides={"M_cell": mass}, observe_interval=t_mm, **common)  # fmt: skip
        with xr.open_dataset(out / "compare.nc") as ds:
            pde = ds["pde_mass_mm"].values
            ibm = ds["ibm_mass_mm"].values.mean(axis=0)
        print(f"  M_cell = {mass:g}: PDE {pde[0] - pde[-1]:.2f}, IBM {ibm[0] - ibm[-1]:.2f}")


if __name__ == "__main__":
    main()
