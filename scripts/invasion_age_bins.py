"""Age bins wider than Δt in the invasion PDE (docs/invasion_pde.md, 'Age bins wider than Δt'):
the Malthusian growth rate at constant O2 against Euler–Lotka for several Δa, and the 2D
homogeneous runs (dx = 1/4, t = 5, 10, 20) with Δa = 0.05, 0.1, 0.25 and (Δt = 0.005,
Δa = 0.125, pr_age_max = 4) against the run with Δa = Δt = 0.01 (defaults and the invasive
variant): the largest relative difference over the three times, and the wall-time ratio. With
``--pr-age-max``: the division hazard dropped by ending the division window early, and the 3D
seed-resolution scenario on a coarse grid (dx = 1/2, t = 20) with pr_age_max = 4 against 3.

    python scripts/invasion_age_bins.py                 # ~15 min of CPU on one core
    python scripts/invasion_age_bins.py --pr-age-max    # + 2 × 5 min
    python scripts/invasion_age_bins.py --quick         # smoke test (coarse, short)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.models.invasion.params import InvasionParameters
from oncoscale.models.invasion.pde import InvasionPDE
from oncoscale.models.invasion.theory import malthusian_rate

MEASURES = {
    "cells": lambda o: o["mass_cells"],
    "necrotic": lambda o: o["mass_necrotic"],
    "P radius": lambda o: o["radius_p"],
    "type-4 share": lambda o: (o["mass_p4"] + o["mass_q4"]) / o["mass_cells"],
}
#: (label, numerics, parameter changes) of the rows; the reference is Δa = Δt = 0.01
ROWS = [
    ("0.05", {"da": 0.05}, {}),
    ("0.1", {"da": 0.1}, {}),
    ("0.25", {"da": 0.25}, {}),
    ("0.125 (Δt = 0.005, pr_age_max = 4)", {"dt": 0.005, "da": 0.125}, {"pr_age_max": 4.0}),
]


def growth_rate(dt: float, da: float | None, t_end: float) -> float:
    """Relative error of the fitted growth rate (second half of [0, t_end]) at c = 3 (η = ω = 0:
    O2 constant; no death, t_pq = 0) against Euler–Lotka."""
    model = InvasionPDE(InvasionParameters(eta=0.0, omega=0.0), {"dx": 2.0, "dt": dt, "da": da})
    r = malthusian_rate(3.0, model.params)
    state, t, times, logs = model.initial_state(), 0.0, [], []
    for t_next in np.arange(0.5, t_end + 1e-9, 0.5):
        model.advance(state, t, float(t_next))
        t = float(t_next)
        times.append(t)
        logs.append(np.log(model.observables(state)["mass_cells"]))
    late = np.array(times) >= t_end / 2
    return float(np.polyfit(np.array(times)[late], np.array(logs)[late], 1)[0] / r - 1.0)


def run_2d(scenario: str, dx: float, numerics: dict, changes: dict, times: list[float]):
    """Observables at ``times`` and the wall time of one 2D PDE run of ``scenario``."""
    overrides = {**{f"numerics.{k}": v for k, v in {"dx": dx, **numerics}.items()}, **changes}
    model = resolve(load_scenario(scenario), "pde", overrides).representation()
    state, t, out = model.initial_state(), 0.0, []
    t0 = time.perf_counter()
    for t_next in times:
        model.advance(state, t, t_next)
        t = t_next
        out.append(model.observables(state))
    return out, (time.perf_counter() - t0) / round(times[-1] / model.dt)


def pr_age_max_effect(quick: bool) -> None:
    """∫_{a0}^6 pr(a, 1) da for a0 = 3, 4, and the 3D seed-resolution scenario (dx = 1/2) with
    the division window ending at 4 (its value) and at 3."""
    from scipy.integrate import quad

    from oncoscale.models.invasion.params import division_rate

    p = InvasionParameters()
    for a0 in (3.0, 4.0):
        hazard = quad(lambda a: float(division_rate(np.array(a), 1.0, p)), a0, 6.0)[0]
        print(f"  division hazard dropped beyond age {a0:g}: {hazard:.2g} c")
    t_end = 1.0 if quick else 20.0
    obs = {}
    for age in (4.0, 3.0):
        overrides = {"numerics.dx": 0.5, "pr_age_max": age}
        model = resolve(load_scenario("invasion-3d-seed-resolution"), "pde", overrides)
        model = model.representation()
        state = model.advance(model.initial_state(), 0.0, t_end)
        obs[age] = model.observables(state)
        print(f"  pr_age_max = {age:g}: {model.n_age} age bins")
    for name in ("mass_p", "mass_q", "mass_necrotic", "radius_p", "mass_p4", "mass_o2"):
        print(f"  {name} at t = {t_end:g}: relative change 4 -> 3: "
              f"{_relative(obs[3.0][name], obs[4.0][name]):.1e}")  # fmt: skip


def _relative(value: float, reference: float) -> float:
    if reference == 0:
        return 0.0 if value == 0 else float("inf")
    return abs(value / reference - 1.0)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="dx = 1, t = 1, 2 (smoke test)")
    ap.add_argument("--pr-age-max", action="store_true", help="also the division-window end")
    args = ap.parse_args(argv)
    if args.pr_age_max:
        print("Division window ending early (invasion-3d-seed-resolution, dx = 1/2)")
        pr_age_max_effect(args.quick)
    dx, times, t_rate = (1.0, [1.0, 2.0], 4.0) if args.quick else (0.25, [5.0, 10.0, 20.0], 20.0)

    print(f"Malthusian rate at c = 3, relative error (fit over t in [{t_rate / 2:g}, {t_rate:g}])")
    for dt, das in ((0.01, (None, 0.05, 0.1, 0.25, 0.5)), (0.005, (None, 0.125))):
        errs = ", ".join(f"{growth_rate(dt, da, t_rate):+.1e} ({'Δa = Δt' if da is None else da})"
                         for da in das)  # fmt: skip
        print(f"  Δt = {dt}: {errs}")

    print(f"\n2D homogeneous, dx = {dx:g}, t = {', '.join(f'{t:g}' for t in times)}: largest "
          "relative difference from Δa = Δt = 0.01")  # fmt: skip
    ref = {s: run_2d(s, dx, {}, {}, times) for s in ("invasion-homogeneous",
                                                      "invasion-homogeneous-invasive")}  # fmt: skip
    head = " | ".join(MEASURES)
    print(f"| Δa | {head} | cells (invasive variant) | step time of Δa = Δt / this |")
    print("|---|" + "---|" * (len(MEASURES) + 2))
    for label, numerics, changes in ROWS:
        cols = []
        for scenario, names in (
            ("invasion-homogeneous", MEASURES),
            ("invasion-homogeneous-invasive", {"cells": MEASURES["cells"]}),
        ):
            got, per_step = run_2d(scenario, dx, numerics, changes, times)
            base, base_step = ref[scenario]
            for fn in names.values():
                cols.append(max(_relative(fn(g), fn(b)) for g, b in zip(got, base, strict=True)))
            if scenario == "invasion-homogeneous":
                speed = base_step / per_step
        cells = " | ".join(f"{c:.1e}" for c in cols)
        print(f"| {label} | {cells} | {speed:.1f}x |")


if __name__ == "__main__":
    main()
