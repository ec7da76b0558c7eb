"""2D oncolytic PDE (issue 12): implicit transport vs the explicit scheme before it, with the
errors against the converged radial solution next to the times.

Scenario: central injection, ζ = 0.5 (the oncolytic-central parameters). Reference: the radial
solver converged in Δr (Richardson extrapolation of Δr = 0.005 and 0.0025 mm, second order),
totals U and I at 300 h and 1000 h. The radial disc is the disc inscribed in the 2D square and
the immune inflow covers that disc in both, so U and I compare (Z does not: the corners).

Schemes: "old" = transport "explicit" (central tumour fluxes, explicit immune drift–diffusion
under its CFL limit, rtol 1e-6 / atol 1e-2: the scheme before issue 12, run through today's
integrator); "new" = transport "implicit" with fitted (default) or central tumour fluxes and
its default tolerances (rtol 1e-4 / atol 1 cells/mm²).

Goals: (1) new, dx = 0.1 (201²), 0 → 1000 h ≤ 30 s; (2) new, dx = 0.05 (401²), 0 → 300 h
≤ 60 s; (3) a 2D setting within 2 % of the radial reference at 300 h and 1000 h, ≤ 10 min to
1000 h (new, fitted, dx = 0.0625 here; dx = 0.05 under --full); (4) ≥ 10× faster than old at
equal accuracy: old vs new on the same grid and fluxes (the same spatial error; time errors
printed) over windows from a common state, and over 0-1000 h at dx = 0.1 under --full; across
grids, new (fitted) at dx = 0.08 against old at dx = 0.05 (new at least as accurate; old's
time extrapolated from its window, measured under --full).

Modes: --quick (CI, ≈ 1.5 min): the dx = 0.1 window ratio only. Default (≈ 20 min on the
shared 2-core machine): goals 1-4. --full (hours: the old scheme at dx = 0.05 to 1000 h):
``.venv/bin/python -m benchmarks pde2d`` runs the default, ``.venv/bin/python -m
benchmarks.bench_pde2d --full`` the full set.
Times: wall and CPU (process) seconds, with the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import numpy as np

from benchmarks import ratio
from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.models.oncolytic.pde import OncolyticPDE2D, OncolyticPDERadial

PARAMS = OncolyticParameters(R_i=1.0, zeta=0.5)
TIMES = (300.0, 1000.0)
OLD = {"transport": "explicit"}
NEW_CENTRAL = {"diffusion": "central"}


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def radial_reference(times=TIMES) -> dict[float, tuple[float, float]]:
    """Converged radial totals (U, I) at each time: Richardson from Δr = 0.005 and 0.0025."""
    runs = []
    for dr in (0.005, 0.0025):
        rep = OncolyticPDERadial(PARAMS, {"dr": dr})
        s, t, out = rep.initial_state(), 0.0, {}
        for t1 in times:
            s = rep.advance(s, t, t1)
            t = t1
            o = rep.observables(s)
            out[t1] = np.array([o["total_u"], o["total_i"]])
        runs.append(out)
    ref = {t: tuple(runs[1][t] + (runs[1][t] - runs[0][t]) / 3.0) for t in times}
    for t in times:
        print(
            f"radial reference {t:g} h: U = {ref[t][0]:.6e}, I = {ref[t][1]:.6e} "
            f"(Richardson correction {abs(ref[t][0] / runs[1][t][0] - 1):.1e})"
        )
    return ref


def radial_grid_errors(ref, grids=(0.1, 0.05, 0.02, 0.01)) -> None:
    """Errors of the radial solver's totals vs the reference, central and fitted fluxes
    (Δr = 0.01 mm, central, is the radial default)."""
    for diffusion in ("central", "fitted"):
        for dr in grids:
            rep = OncolyticPDERadial(PARAMS, {"dr": dr, "diffusion": diffusion})
            s, t, errs = rep.initial_state(), 0.0, []
            for t1 in TIMES:
                s = rep.advance(s, t, t1)
                t = t1
                errs.append(f"{t1:g} h: {_errors(rep, s, ref[t1])}")
            print(f"  radial, {diffusion}, dr = {dr}: " + "; ".join(errs), flush=True)


def _errors(rep, state, ref) -> str:
    o = rep.observables(state)
    du, di = (100 * (o[k] / r - 1) for k, r in zip(("total_u", "total_i"), ref, strict=True))
    return f"U {du:+.2f} %, I {di:+.2f} %"


def full_run(label, dx, numerics, times, ref, keep: float | None = None):
    """Run from 0 through ``times``; print errors and times; return (wall s, state at keep)."""
    rep = OncolyticPDE2D(PARAMS, {"dx": 0.5, **numerics})
    rep.advance(rep.initial_state(), 0.0, 1.0)  # compile
    rep = OncolyticPDE2D(PARAMS, {"dx": dx, **numerics})
    s, t, kept = rep.initial_state(), 0.0, None
    w0, c0 = time.perf_counter(), time.process_time()
    stops = sorted({*times, *([keep] if keep else [])})
    for t1 in stops:
        s = rep.advance(s, t, t1)
        t = t1
        if t1 == keep:
            kept = copy.deepcopy(s)  # fields and the step-size memory
        if t1 in times:
            err = _errors(rep, s, ref[t1]) if t1 in ref else "(no reference)"
            print(f"  {label}, dx = {dx}: {t1:g} h: {err}", flush=True)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    n = rep.grid.shape[0]
    print(
        f"{label}, dx = {dx} ({n}²), 0 → {max(times):g} h: wall {wall:.1f} s, CPU {cpu:.1f} s, "
        f"{rep.solver_stats()['steps']:.0f} steps, {_load()}",
        flush=True,
    )
    return wall, kept


def window(dx, state, t0, t1, key, ref_numerics=None):
    """Old vs new (central, fitted) from a common state over [t0, t1]: wall times, time errors
    against a tight run of the same spatial scheme; records old/new ratios."""
    tight = {"rtol": 1e-8, "atol": 1e-4}
    refs = {}
    for name, num in (("central", NEW_CENTRAL), ("fitted", {})):
        rep = OncolyticPDE2D(PARAMS, {"dx": dx, **num, **tight})
        refs[name] = rep.advance(copy.deepcopy(state), t0, t1).y
    out = {}
    for label, num, spatial in (
        ("old (explicit transport, central)", OLD, "central"),
        ("new (implicit, central)", NEW_CENTRAL, "central"),
        ("new (implicit, fitted)", {}, "fitted"),
    ):
        rep = OncolyticPDE2D(PARAMS, {"dx": dx, **num})
        rep.advance(copy.deepcopy(state), t0, t0 + 1e-3)  # compile, warm caches
        rep = OncolyticPDE2D(PARAMS, {"dx": dx, **num})
        w0, c0 = time.perf_counter(), time.process_time()
        y = rep.advance(copy.deepcopy(state), t0, t1).y  # the run's step size carried on
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        r = refs[spatial]
        err = max(float(np.abs(y[k] - r[k]).max() / np.abs(r[k]).max()) for k in range(4))
        out[label] = wall
        print(
            f"  window {t0:g} → {t1:g} h, dx = {dx}, {label}: wall {wall:.2f} s, CPU "
            f"{cpu:.2f} s, {rep.solver_stats()['steps']:.0f} steps, time error (max-norm, vs "
            f"rtol 1e-8) {err:.1e}, {_load()}",
            flush=True,
        )
    old, new_c, new_f = out.values()
    ratio(
        f"pde2d.{key}_same_fluxes",
        old / new_c,
        f"dx = {dx}: old / new, equal spatial scheme (central), window {t0:g}-{t1:g} h",
    )
    ratio(
        f"pde2d.{key}_fitted",
        old / new_f,
        f"dx = {dx}: old (central) / new (fitted: more accurate), {t0:g}-{t1:g} h",
    )
    return old / (t1 - t0)  # old scheme's wall seconds per simulated hour


def tolerance_check(dx: float = 0.1, t_end: float = 300.0) -> None:
    """Time error of the default tolerances in the totals: default vs rtol 1e-6 / atol 1e-2."""
    totals = []
    for num in ({}, {"rtol": 1e-6, "atol": 1e-2}):
        rep = OncolyticPDE2D(PARAMS, {"dx": dx, **num})
        o = rep.observables(rep.advance(rep.initial_state(), 0.0, t_end))
        totals.append((o["total_u"], o["total_i"], rep.solver_stats()["steps"]))
    (u, i, n), (u6, i6, n6) = totals
    print(
        f"tolerances, dx = {dx}, {t_end:g} h: default (rtol 1e-4, atol 1) vs rtol 1e-6 / "
        f"atol 1e-2: U {abs(u / u6 - 1):.1e}, I {abs(i / i6 - 1):.1e} "
        f"({n:.0f} vs {n6:.0f} steps)"
    )


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="bench_pde2d")
    ap.add_argument("--quick", action="store_true", help="the dx = 0.1 window ratio only")
    ap.add_argument("--full", action="store_true", help="also goal 3 and old full horizons")
    args = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs, {_load()} at start")
    if args.quick:
        state = full_run("new (fitted)", 0.1, {}, (250.0,), {}, keep=250.0)[1]
        window(0.1, state, 250.0, 270.0, "explicit_over_implicit_dx01")
        return
    ref = radial_reference()
    radial_grid_errors(ref)
    tolerance_check()
    # goal 1 (and the state for the dx = 0.1 window); the central run has the old scheme's
    # spatial error at a fraction of the old scheme's cost
    wall1, state = full_run("goal 1: new (fitted)", 0.1, {}, TIMES, ref, keep=250.0)
    wall_c, _ = full_run("new (central = the old scheme's fluxes)", 0.1, NEW_CENTRAL, TIMES, ref)
    print(f"GOAL 1 (<= 30 s): {wall1:.1f} s wall")
    window(0.1, state, 250.0, 300.0, "explicit_over_implicit_dx01")
    # goal 2 (and the state for the dx = 0.05 window)
    wall2, state = full_run("goal 2: new (fitted)", 0.05, {}, (300.0,), ref, keep=280.0)
    print(f"GOAL 2 (<= 60 s): {wall2:.1f} s wall")
    per_hour = window(0.05, state, 280.0, 290.0, "explicit_over_implicit_dx005")
    # equal accuracy across grids: new (fitted) at dx = 0.08 is at least as accurate as old
    # (central) at dx = 0.05 (whose errors the central run under --full prints); old's cost
    # extrapolated from its window (its step is CFL-bound, 0.045 h there)
    wall08, _ = full_run("new (fitted)", 0.08, {}, TIMES, ref)
    ratio(
        "pde2d.old_dx005_over_new_fitted_dx008_extrapolated",
        per_hour * 1000.0 / wall08,
        f"old, dx = 0.05, 0-1000 h extrapolated from its window ({per_hour * 1000:.0f} s) / "
        f"new fitted, dx = 0.08 ({wall08:.1f} s)",
    )
    # goal 3: the cheapest 2D setting within 2 % (dx = 0.05 under --full)
    wall3, _ = full_run("goal 3: new (fitted)", 0.0625, {}, TIMES, ref)
    print(f"GOAL 3 (within 2 % at 300 h and 1000 h, <= 600 s): {wall3:.1f} s wall")
    if args.full:
        full_run("goal 3: new (fitted)", 0.05, {}, TIMES, ref)
        wall_old, _ = full_run("old", 0.1, OLD, TIMES, ref)
        ratio(
            "pde2d.full_run_dx01_same_fluxes",
            wall_old / wall_c,
            "dx = 0.1, 0-1000 h: old / new (central), the same spatial error",
        )
        full_run("new (central = the old scheme's fluxes)", 0.05, NEW_CENTRAL, TIMES, ref)
        full_run("old", 0.05, OLD, TIMES, ref)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
