"""The tables of docs/invasion_variants.md: the spec defaults and the invasive variant, cases A
(homogeneous MM) and B (two MM peaks), 2D, t = 0 … 20; IBM seeds 100–109 per case and parameter
set, the variant's PDE once per case (dx = 1/8, dt = 0.01). Runs go through `execute_run` (the
code path of `oncoscale run`) into OUT/<scenario>/<model>-<seed>; existing results are reused.

    python scripts/invasion_variants.py --out runs/variants --workers 2   # ~40 min CPU
    python scripts/invasion_variants.py --out /tmp/v --quick              # smoke test
"""

from __future__ import annotations

import argparse
import math
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import xarray as xr

from oncoscale.analysis.invasion_metrics import invasion_summary
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.workflows.pipeline import execute_run

SETS = {  # (case, parameter set) -> scenario
    ("A", "defaults"): "invasion-homogeneous",
    ("A", "variant"): "invasion-homogeneous-invasive",
    ("B", "defaults"): "invasion-heterogeneous",
    ("B", "variant"): "invasion-heterogeneous-invasive",
}
TIMES = (0.0, 4.0, 8.0, 12.0, 16.0, 20.0)


def _run(job: tuple[str, str, int | None, float, Path, dict]) -> Path:
    scenario, model, seed, t_end, out, overrides = job
    if not (out / "result.nc").exists():
        resolved = resolve(load_scenario(scenario), model, overrides, t_end=t_end, seed=seed)
        execute_run(resolved, out, progress=False, figures=False)
    return out


def _load(folder: Path) -> dict:
    """Per snapshot: the invasion summary; per observation: P cells (IBM: counts)."""
    with xr.open_dataset(folder / "result.nc") as ds:
        ds.load()
        out = invasion_summary(ds)["invasion"]
        out["t_obs"] = ds["t_obs"].values
        out["n_p"] = ds["n_p"].values
    return out


def _at(run: dict, key: str, t: float):
    return run[key][int(np.argmin(np.abs(np.asarray(run["t"]) - t)))]


def _n_p(run: dict, t: float) -> float:
    return float(run["n_p"][int(np.argmin(np.abs(run["t_obs"] - t)))])


def _mean_se(values) -> str:
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if v.size == 0:
        return "–"
    se = v.std(ddof=1) / math.sqrt(v.size) if v.size > 1 else math.nan
    return f"{v.mean():.2f} ± {se:.2f}"


def _geo(values) -> str:
    v = np.log(np.asarray(values, dtype=float))
    v = v[np.isfinite(v)]
    se = v.std(ddof=1) / math.sqrt(v.size)
    return f"{math.exp(v.mean()):.2f} (±{se:.2f}; {(v > 0).sum()}/{v.size})"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--workers", type=int, default=1, help="runs in parallel (processes)")
    ap.add_argument("--quick", action="store_true", help="2 seeds, t = 4, PDE dx = 1/2")
    args = ap.parse_args(argv)
    seeds = range(100, 102) if args.quick else range(100, 110)
    t_end = 4.0 if args.quick else 20.0
    times = [t for t in TIMES if t <= t_end]
    jobs = [(sc, "ibm", s, t_end, args.out / sc / f"ibm-{s}", {})
            for sc in SETS.values() for s in seeds]  # fmt: skip
    coarse = {"numerics.dx": 0.5} if args.quick else {}
    for case in ("A", "B"):
        sc = SETS[(case, "variant")]
        jobs.append((sc, "pde", None, t_end, args.out / sc / "pde", coarse))
    with ProcessPoolExecutor(args.workers) as pool:
        folders = list(pool.map(_run, jobs))
    runs = {job[:3]: _load(f) for job, f in zip(jobs, folders, strict=True)}
    ibm = {key: [runs[(sc, "ibm", s)] for s in seeds] for key, sc in SETS.items()}
    pde = {case: runs[(SETS[(case, "variant")], "pde", None)] for case in ("A", "B")}

    print("### Case A\n| t (days) | " + " | ".join(f"{t:g}" for t in times) + " |")
    print("|---|" + "---|" * len(times))
    for label, key, name in (("ring radius (peak of P profile)", "ring_radius_peak", None),
                             ("mean radius of P cells", "ring_radius_mean_p", None),
                             ("hollowness (centre / peak)", "ring_hollowness", None),
                             ("P cells", None, "n_p")):  # fmt: skip
        for which in ("defaults", "variant"):
            vals = [_mean_se([_n_p(r, t) if name else _at(r, key, t) for r in ibm[("A", which)]])
                    for t in times]  # fmt: skip
            print(f"| {label}, {which} IBM | " + " | ".join(vals) + " |")
        vals = [f"{_n_p(pde['A'], t) if name else _at(pde['A'], key, t):.2f}" for t in times]
        print(
            f"| {label}, variant PDE{' (mass / M_cell)' if name else ''} | "
            + " | ".join(vals)
            + " |"
        )

    print("\n### Case B: direction ratio, geometric mean (± s.e. of the mean log; runs > 1)")
    print("| t (days) | " + " | ".join(f"{t:g}" for t in times) + " |\n|---|" + "---|" * len(times))
    key = "direction_ratio_peaks_over_orthogonal"
    for label, group in (("defaults IBM", ("B", "defaults")), ("variant IBM", ("B", "variant")),
                         ("variant IBM, case A (control)", ("A", "variant"))):  # fmt: skip
        print(f"| {label} | " + " | ".join(_geo([_at(r, key, t) for r in ibm[group]])
                                          for t in times) + " |")  # fmt: skip
    print("| variant PDE | " + " | ".join(f"{_at(pde['B'], key, t):.2f}" for t in times) + " |")
    for which in ("variant", "defaults"):
        pairs = []
        for t in [t for t in (10.0, 12.0, 14.0, 20.0) if t <= t_end]:
            pairs_ab = zip(ibm[("A", which)], ibm[("B", which)], strict=True)
            lr = np.log([_at(b, key, t) / _at(a, key, t) for a, b in pairs_ab])
            pairs.append(f"t = {t:g}: {lr.mean():.2f} ± {lr.std(ddof=1) / math.sqrt(lr.size):.2f} "
                         f"({(lr > 0).sum()}/{lr.size})")  # fmt: skip
        print(f"paired log(ratio_B/ratio_A), {which}: " + "; ".join(pairs))
    full = {c: [int(sum(np.isfinite(_at(r, "front_roughness_cv", t)) for r in ibm[(c, "variant")]))
                for t in times] for c in ("A", "B")}  # fmt: skip
    print(
        f"replicates with P cells in all 16 sectors, variant, t = {list(times)}: "
        f"case A {full['A']}, case B {full['B']}"
    )

    print("\n### Phenotype mass fractions (P + Q), %, mean ± s.e.")
    for case in ("A", "B"):
        for which in ("defaults", "variant"):
            for t in sorted({min(10.0, t_end), t_end}):
                fr = np.array([_at(r, "phenotype_fraction", t) for r in ibm[(case, which)]])
                cells = " | ".join(_mean_se(100 * fr[:, i]) for i in range(5))
                print(f"| case {case} {which} IBM | {t:g} | {cells} |")
        fr = 100 * np.asarray(_at(pde[case], "phenotype_fraction", t_end))
        print(
            f"| case {case} variant PDE | {t_end:g} | " + " | ".join(f"{v:.0f}" for v in fr) + " |"
        )
    radii = np.array([_at(r, "mean_radius_p_by_phenotype", t_end) for r in ibm[("A", "variant")]])
    print(
        "mean radius of P cells by type at t = "
        f"{t_end:g}, case A variant: IBM "
        + ", ".join(f"{v:.2f}" for v in np.nanmean(radii, 0))
        + "; PDE "
        + ", ".join(f"{v:.2f}" for v in _at(pde["A"], "mean_radius_p_by_phenotype", t_end))
    )
    rough = [
        _mean_se([_at(r, "front_roughness_cv", t) for r in ibm[("A", "variant")]]) for t in times
    ]
    print(
        "front roughness CV, case A variant IBM: "
        + ", ".join(rough)
        + "; PDE "
        + ", ".join(f"{_at(pde['A'], 'front_roughness_cv', t):.3f}" for t in times)
    )


if __name__ == "__main__":
    main()
