"""Seed Figs. 5, 8, 11 under both lysis rates (docs/oncolytic.md, 'Lysis rate: paper vs
published code'): totals at 300 h and 1000 h and the front speeds of the radial PDE, with the
paper's q = 8.34e-3 /h and the published code's 9.34e-3 /h.

    python scripts/q_variant_table.py [--out DIR]      # prints a Markdown table
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from oncoscale.io.results import open_result
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.workflows.pipeline import execute_run

FIGURES = {
    "5": "oncolytic-central",
    "8": "oncolytic-central-enhanced",
    "11": "oncolytic-delayed-boost",
}
VARIANTS = ("paper", "published-code")


def row(scenario: str, variant: str, out: Path) -> dict[str, float]:
    resolved = resolve(load_scenario(scenario), "pde-radial", t_end=1000.0, variant=variant)
    result = execute_run(resolved, out / f"{scenario}-{variant}", progress=False, figures=False)
    ds = open_result(result.result)
    t = ds["t_obs"].values
    at = {h: int(np.argmin(np.abs(t - h))) for h in (300.0, 1000.0)}
    fronts = result.summary.get("fronts", {})
    values = {f"{name}@{h:g}": float(ds[name].values[k])
              for h, k in at.items() for name in ("total_u", "total_i", "total_z")}  # fmt: skip
    values["speed_u"] = fronts.get("front_u", {}).get("speed_second_half_mm_per_h", np.nan)
    values["speed_i"] = fronts.get("front_i", {}).get("speed_second_half_mm_per_h", np.nan)
    return values


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None, help="keep the runs here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        rows = {(fig, v): row(sc, v, out) for fig, sc in FIGURES.items() for v in VARIANTS}
    keys = list(next(iter(rows.values())))
    print("| Fig. | q (1/h) | " + " | ".join(keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    for (fig, variant), values in rows.items():
        q = "8.34e-3" if variant == "paper" else "9.34e-3"
        cells = [f"{values[k]:.4g}" for k in keys]
        print(f"| {fig} | {q} | " + " | ".join(cells) + " |")
    print("\nrelative change published-code vs paper:")
    for fig in FIGURES:
        a, b = rows[(fig, "paper")], rows[(fig, "published-code")]
        print(f"| {fig} | " + " | ".join(f"{(b[k] - a[k]) / abs(a[k]):+.1%}" for k in keys) + " |")


if __name__ == "__main__":
    main()
