"""The Fig. 10 table of docs/ensembles.md from the ensembles of scripts/fig10_ensembles.sh.

Usage: python scripts/fig10_table.py [RUNS_DIR]  (default runs/fig10). One row per ensemble
folder <setting>-<variant> that has a summary.json: secretion rate, lysis rate, runs
eradicated (U + I = 0 at 1500 h) with the exact (Clopper-Pearson) 95 % interval, the seed's
fraction, the final tumour mean / median and the mean eradication time, and the wall time per
run.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import numpy as np
import xarray as xr
from scipy.stats import binomtest

SEED = {"a": 6, "b": 72, "c": 92}  # per cent eradicated, seed Fig. 10


def row(folder: Path) -> str:
    s = json.loads((folder / "summary.json").read_text())
    ext = s["extinction"]
    ext = ast.literal_eval(ext) if isinstance(ext, str) else ext
    tumour = ext["tumour"]
    k, n = tumour["runs_extinct"], s["runs"]
    ci = binomtest(k, n).proportion_ci(0.95, method="exact")
    with xr.open_dataset(folder / "ensemble.nc") as ds:
        final = ds["total_tumour"].values[:, -1]
        params = json.loads(ds.attrs.get("parameters", "{}")) if "parameters" in ds.attrs else {}
    setting, variant = folder.name.split("-", 1)
    rate = params.get("alpha_phi", float("nan"))
    q = params.get("q", float("nan"))
    t_mean = tumour.get("mean_extinction_time", float("nan"))
    wall = s.get("run_wall_time_s", {}).get("mean", float("nan"))
    return (
        f"| ({setting[0]}) | {rate:.2e} | {q:.3g} ({variant}) | {k} of {n} | "
        f"{100 * ci.low:.1f}–{100 * ci.high:.1f} % | {SEED.get(setting[0], '?')} % | "
        f"{final.mean():,.0f} / {np.median(final):,.0f} cells | {t_mean:.0f} h | {wall:.1f} s |"
    )


def main(argv: list[str]) -> None:
    root = Path(argv[0] if argv else "runs/fig10")
    print("| setting | α_φ = γ_φ | q (1/h) | eradicated at 1500 h | 95 % CI (exact) | seed | "
          "final tumour mean / median | mean eradication time | wall per run |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for folder in sorted(p for p in root.iterdir() if (p / "summary.json").exists()):
        if folder.name.startswith("compare"):
            continue
        print(row(folder))


if __name__ == "__main__":
    main(sys.argv[1:])
