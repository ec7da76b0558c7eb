"""Studies on the engine: absolute times and ratios against the issue's targets.

1. ``sobol``: Sobol indices of 5 ODE parameters, N = 1024 base samples (7168 runs, central
   injection to 1000 h, observations every 10 h), on 2 Dask workers; target < 120 s.
2. ``morris``: Morris r = 20 over 6 radial-PDE parameters (140 runs, central injection to
   1000 h, Δr = 0.1 mm: final total tumour within 10 % of Δr = 0.05), 2 workers; < 15 min.
3. ``calibration``: MLE of 3 ODE parameters (β, ζ, q_z) with profile-likelihood intervals on
   synthetic data (24 points, 10 % noise); target < 120 s.
4. ``abc``: ABC-SMC of 2 ABM parameters (β, ζ) on a 4 × 4 mm lattice to 200 h, from the prior
   vs started from the radial PDE's posterior (multi-fidelity); both stop at the same
   target distance; printed: ABM runs of each, the saving, the interval widths; < 30 min.
5. ``coverage``: MLE on 20 synthetic ODE data sets (β, ζ): fraction of 95 % intervals that
   contain the truth (per parameter and jointly).

``--quick`` shrinks every study (for CI smoke runs: the numbers are then not the targets').
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.workflows.studies.calibration import execute_calibration, synthetic_observations
from oncoscale.workflows.studies.sensitivity import execute_sensitivity

ODE_OUT = {"output.observe_interval": 10.0, "output.snapshot_interval": 1000.0}
ODE5 = [
    "p=0.006:0.056:log",
    "beta=0.034:0.31:log",
    "zeta=0.17:1.5:log",
    "q_z=0.0025:0.0225:log",
    "alpha_z=1.25e-5:1.1e-4:log",
]
PDE6 = [*ODE5, "D=6e-5:6e-4:log"]
ABM = {
    "L": 2.0,
    "R_u": 1.2,
    "R_i": 0.6,
    "output.observe_interval": 10.0,
    "output.snapshot_interval": 200.0,
}


def _line(name: str, seconds: float, target: float, extra: str = "") -> None:
    print(
        f"{name:12s} {seconds:8.1f} s  target {target:6.0f} s  ratio {seconds / target:5.2f}"
        f"  {extra}",
        flush=True,
    )


def sobol(quick: bool, workers: int) -> None:
    resolved = resolve(load_scenario("oncolytic-central"), "ode", ODE_OUT, t_end=1000.0)
    n = 64 if quick else 1024
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out = execute_sensitivity(
            resolved,
            ODE5,
            ["total_tumour", "eradication.time_to_relapse"],
            "sobol",
            n,
            Path(tmp),
            workers=workers,
            progress=False,
            figures=False,
        )
        wall = time.perf_counter() - t0
    st = out.indices["ST"]["total_tumour"]
    top = max(st, key=st.get)
    _line(
        "sobol",
        wall,
        120.0,
        f"{out.indices['runs']} runs on {workers} workers, "
        f"{out.indices['runs'] / wall:.0f} runs/s; ST(total_tumour) largest: {top} "
        f"{st[top]:.2f}",
    )


def morris(quick: bool, workers: int) -> None:
    t_end = 200.0 if quick else 1000.0
    over = {**ODE_OUT, "numerics.dr": 0.1}
    resolved = resolve(load_scenario("oncolytic-central"), "pde-radial", over, t_end=t_end)
    r = 4 if quick else 20
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out = execute_sensitivity(
            resolved,
            PDE6,
            ["total_tumour", "eradication.nadir"],
            "morris",
            r,
            Path(tmp),
            workers=workers,
            progress=False,
            figures=False,
        )
        wall = time.perf_counter() - t0
    mu = out.indices["mu_star"]["total_tumour"]
    rank = sorted(mu, key=mu.get, reverse=True)
    _line(
        "morris",
        wall,
        900.0,
        f"{out.indices['runs']} runs, {wall / out.indices['runs']:.1f}"
        f" s/run; mu* ranking (total_tumour): {', '.join(rank)}",
    )


def calibration(quick: bool) -> None:
    resolved = resolve(load_scenario("oncolytic-central"), "ode", ODE_OUT, t_end=600.0)
    times = list(range(50, 601, 50))
    obs = synthetic_observations(resolved, ["total_tumour", "z"], times, rel_sd=0.1, seed=3)
    params = ["beta=0.03:0.3:log", "zeta=0.1:2:log", "q_z=0.002:0.02:log"]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out = execute_calibration(
            resolved,
            obs,
            params[: 1 if quick else 3],
            Path(tmp),
            starts=1 if quick else 4,
            progress=False,
            truth={"beta": 0.102, "zeta": 0.5, "q_z": 0.0075},
        )
        wall = time.perf_counter() - t0
    res = out.result
    inside = all(res["truth_inside_interval95"].values())
    _line("calibration", wall, 120.0, f"{res['runs']} runs; truth inside all intervals: {inside}")


def abc(quick: bool, workers: int) -> None:
    t_end = 200.0
    abm = resolve(load_scenario("oncolytic-central"), "abm", ABM, t_end=t_end, seed=1)
    times = [25.0 * k for k in range(1, 9)]
    obs = synthetic_observations(
        abm, ["total_tumour", "total_z"], times, rel_sd=0.05, replicates=2, seed=21
    )
    params = ["beta=0.03:0.3:log", "zeta=0.1:2.5:log"]
    pop, gens = (30, 2) if quick else (100, 6)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, prefit in (("prior", None), ("pde-start", "pde-radial")):
            t0 = time.perf_counter()
            out = execute_calibration(
                abm,
                obs,
                params,
                Path(tmp) / label,
                method="abc",
                population=pop,
                generations=gens,
                prefit_model=prefit,
                workers=workers,
                progress=False,
                truth={"beta": 0.102, "zeta": 0.5},
                figures=False,
                target_epsilon=None if label == "prior" else results["prior"]["eps"],
            )
            res = out.result
            eps = max(g["max_distance"] for g in res["generations"][-1:])
            results[label] = {
                "runs": res["runs"],
                "eps": eps,
                "wall": time.perf_counter() - t0,
                "iv": res["interval95"],
                "inside": res["truth_inside_interval95"],
                "pde_runs": res.get("prefit", {}).get("runs", 0),
            }
    a, b = results["prior"], results["pde-start"]
    for label, r in results.items():
        widths = {k: hi / lo for k, (lo, hi) in r["iv"].items()}
        print(
            f"  abc {label:9s}: ABM runs {r['runs']:5d} (+{r['pde_runs']} PDE runs), final "
            f"max distance {r['eps']:.3f}, interval hi/lo {widths}, truth inside {r['inside']}, "
            f"{r['wall']:.0f} s",
            flush=True,
        )
    _line(
        "abc",
        a["wall"] + b["wall"],
        1800.0,
        f"ABM runs saved by the PDE start: {a['runs'] - b['runs']} "
        f"({100 * (1 - b['runs'] / a['runs']):.0f} %) at equal final distance",
    )


def coverage(quick: bool) -> None:
    resolved = resolve(load_scenario("oncolytic-central"), "ode", ODE_OUT, t_end=600.0)
    times = list(range(50, 601, 50))
    sets = 3 if quick else 20
    hits = {"beta": 0, "zeta": 0}
    joint = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(sets):
            obs = synthetic_observations(
                resolved, ["total_tumour", "z"], times, rel_sd=0.1, seed=1000 + k
            )
            out = execute_calibration(
                resolved,
                obs,
                ["beta=0.03:0.3:log", "zeta=0.1:2:log"],
                Path(tmp) / str(k),
                starts=2,
                progress=False,
                figures=False,
                truth={"beta": 0.102, "zeta": 0.5},
            )
            inside = out.result["truth_inside_interval95"]
            for name in hits:
                hits[name] += inside[name]
            joint += all(inside.values())
    wall = time.perf_counter() - t0
    print(
        f"coverage     {sets} data sets: beta {hits['beta']}/{sets}, zeta {hits['zeta']}/{sets},"
        f" both {joint}/{sets} (nominal 95 % each); {wall:.0f} s",
        flush=True,
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench_studies")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("only", nargs="*", help="sobol morris calibration abc coverage")
    args = parser.parse_args(argv)
    names = args.only or ["sobol", "morris", "calibration", "abc", "coverage"]
    for name in names:
        if name in ("sobol", "morris", "abc"):
            globals()[name](args.quick, args.workers)
        else:
            globals()[name](args.quick)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
