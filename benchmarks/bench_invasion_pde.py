"""Age-structured invasion PDE: cost per step (2D and 3D), compiled kernels vs the NumPy
references, cost scaling with the number of (cell × age bin) unknowns, and the wall time of
the 2D run to t = 20 days at the seed's resolution (Δx = 1/8, Δt = Δa = 0.01).

Machine-independent numbers: the NumPy/Numba ratio, the scaling exponent of the step cost in
the number of unknowns, the cost per unknown per step in 2D vs 3D, the speed-up of coarse age
bins (Δa = kΔt) over Δa = Δt. Absolute times depend on the machine and its load. The 3D grid
of the seed (Δx = 1/12, Δt = 0.005) needs 166 GB of state with Δa = Δt and 3.6 GB with
Δa = 0.25 (timed without ``--quick``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from oncoscale.models.invasion.params import InvasionParameters
from oncoscale.models.invasion.pde import InvasionPDE


def _warm_state(numerics: dict, warm_days: float):
    """The model and its state after ``warm_days`` (compiled path; all age bins populated)."""
    rep = InvasionPDE(InvasionParameters(), numerics)
    return rep, rep.advance(rep.initial_state(), 0.0, warm_days)


def _time_steps(numerics: dict, steps: int, warm, kernel: str = "numba"):
    """Seconds per step from the warmed state ``warm`` = (model, state), with ``kernel``;
    also the number of unknowns (cells × age bins × 2 compartments × 5 phenotypes) and the
    state size in GB."""
    rep = InvasionPDE(InvasionParameters(), {**numerics, "kernel": kernel})
    state = warm[1].copy()
    rep.step(state)  # untimed: the NumPy path reorders the ring buffer on its first step
    t0 = time.perf_counter()
    for _ in range(steps):
        rep.step(state)
    per_step = (time.perf_counter() - t0) / steps
    unknowns = 2 * 5 * (rep.n_age + 1) * int(np.prod(rep.grid.shape))
    return per_step, unknowns, unknowns * 8 / 1e9


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_invasion_pde")
    ap.add_argument("--quick", action="store_true", help="fewer steps; no full 2D run")
    ap.add_argument("--full-run", action="store_true", help="also run 2D to t = 20 (minutes)")
    args = ap.parse_args(argv)
    steps = 5 if args.quick else 20
    warm = 0.5 if args.quick else 2.0

    print("2D, seed resolution dx = 1/8, dt = da = 0.01 (80 x 80 cells, 600 age bins + plus)")
    w2 = _warm_state({"dx": 0.125}, warm)
    fast, n2, gb2 = _time_steps({"dx": 0.125}, steps, w2)
    ref, _, _ = _time_steps({"dx": 0.125}, max(2, steps // 4), w2, "numpy")
    print(
        f"  state {gb2:.2f} GB; Numba {fast * 1e3:7.1f} ms/step, NumPy reference "
        f"{ref * 1e3:7.1f} ms/step; ratio NumPy/Numba = {ref / fast:.1f}"
    )
    print(f"  cost per unknown per step: {fast / n2 * 1e9:.2f} ns")

    coarse, n_c, _ = _time_steps({"dx": 0.25}, steps, _warm_state({"dx": 0.25}, warm))
    exponent = np.log(fast / coarse) / np.log(n2 / n_c)
    print(f"  dx = 1/4: {coarse * 1e3:.1f} ms/step; step cost ~ unknowns^{exponent:.2f}")

    for da in (0.1, 0.25):
        num = {"dx": 0.125, "da": da}
        t_da, _, gb_da = _time_steps(num, steps, _warm_state(num, warm))
        print(
            f"  da = {da:g}: state {gb_da:.3f} GB, {t_da * 1e3:.1f} ms/step; speed-up over "
            f"da = dt {fast / t_da:.1f}x"
        )

    print(
        "3D (seed: dx = 1/12, dt = 0.005 needs "
        f"{2 * 5 * 1201 * 120**3 * 8 / 1e9:.0f} GB of state; timed on coarser grids)"
    )
    for dx, dt in ((0.5, 0.01), (0.5, 0.005)):
        num = {"dim": 3, "dx": dx, "dt": dt}
        t3, n3, gb3 = _time_steps(num, max(2, steps // 2), _warm_state(num, warm))
        print(
            f"  dx = {dx:g}, dt = {dt:g}: state {gb3:.2f} GB, {t3 * 1e3:7.1f} ms/step, "
            f"{t3 / n3 * 1e9:.2f} ns per unknown per step (2D: {fast / n2 * 1e9:.2f})"
        )
    if not args.quick:
        num = {"dim": 3, "dx": 1 / 12, "dt": 0.005, "da": 0.25, "max_state_gb": 8.0}
        t3s, n3s, gb3s = _time_steps(num, 3, _warm_state(num, 0.25))
        print(
            f"  seed grid dx = 1/12, dt = 0.005, da = 0.25: state {gb3s:.2f} GB, "
            f"{t3s:.2f} s/step, {t3s / n3s * 1e9:.2f} ns per unknown per step; t = 20 at "
            f"this early-state cost {t3s * 4000 / 60:.0f} min (a lower bound: the cost grows "
            "~2.5x once all five phenotypes fill the age bins)"
        )
    num = {"dim": 3, "dx": 1.0, "dt": 0.01}
    w3 = _warm_state(num, warm)
    t3r, _, _ = _time_steps(num, 2, w3, "numpy")
    t3f, _, _ = _time_steps(num, 4, w3)
    print(f"  3D dx = 1: NumPy/Numba ratio = {t3r / t3f:.1f}")

    n_steps = round(20.0 / 0.01)
    print(
        f"2D run to t = 20: extrapolated {fast * n_steps:.0f} s ({n_steps} steps x "
        f"{fast * 1e3:.0f} ms)"
    )
    if args.full_run and not args.quick:
        rep = InvasionPDE(InvasionParameters(), {"dx": 0.125})
        t0 = time.perf_counter()
        state = rep.advance(rep.initial_state(), 0.0, 20.0)
        wall = time.perf_counter() - t0
        obs = rep.observables(state)
        print(
            f"2D run to t = 20 (homogeneous MM): {wall:.0f} s; final mass P {obs['mass_p']:.1f}"
            f", Q {obs['mass_q']:.1f}, necrotic {obs['mass_necrotic']:.1f}"
        )


if __name__ == "__main__":
    main()
