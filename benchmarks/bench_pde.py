"""Oncolytic PDE: the default IMEX solver vs explicit Euler, twice — at the seed's Δt = 1e-4 h
and at Euler's own stability limit Δt = Δr²/(2 max D) (1.5e-3 h here, the fairest explicit).

All runs share the spatial discretisation (radial, Δr = 0.01 mm, central injection) and the
window, so they share the spatial error; "equal accuracy" means the IMEX time error is no
larger than the explicit run's, measured against a tight-tolerance IMEX reference. A spatially
refined reference (Δr = 0.0025 mm) shows that all time errors are far below the spatial
error. Printed: errors, wall times, both cost ratios (labelled), and the wall time of a full
1500 h radial run with default settings.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks import ratio
from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.models.oncolytic.pde import OncolyticPDERadial


def _run(numerics: dict, t_end: float, params: OncolyticParameters) -> tuple[np.ndarray, float]:
    rep = OncolyticPDERadial(params, numerics)
    s = rep.initial_state()
    rep.advance(rep.initial_state(), 0.0, 0.01)  # warm-up (compiled kernels)
    t0 = time.perf_counter()
    s = rep.advance(s, 0.0, t_end)
    return s.y, time.perf_counter() - t0


def _rel_err(y: np.ndarray, ref: np.ndarray) -> float:
    """max over u, i, z of ||y − ref||∞ / ||ref||∞."""
    return max(float(np.abs(y[k] - ref[k]).max() / np.abs(ref[k]).max()) for k in range(3))


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="bench_pde")
    ap.add_argument("--quick", action="store_true", help="shorter comparison window")
    ap.add_argument("--window", type=float, default=None, help="comparison window (h)")
    args = ap.parse_args(argv)
    window = args.window or (10.0 if args.quick else 50.0)
    params = OncolyticParameters(R_i=1.0, zeta=0.5)

    ref, _t_ref = _run({"rtol": 1e-10, "atol": 1e-8}, window, params)
    limit = 0.01**2 / (2 * max(params.D, params.D_z, params.D_phi))  # the model's own check
    print(f"window {window:g} h, radial dr = 0.01 mm (1000 cells), central injection")
    explicit = {}
    for label, dt in (("seed dt = 1e-4 h", 1e-4), (f"stability limit dt = {limit:.2e} h", limit)):
        y, t_exp = _run({"solver": "euler", "dt": dt}, window, params)
        explicit[label] = (t_exp, _rel_err(y, ref), y)
        print(f"explicit Euler, {label}: {t_exp:8.2f} s, time error {explicit[label][1]:.2e}")
    imex = []
    for rtol in (1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8):
        atol = 1e3 * rtol  # cells/mm²: tolerances tightened together
        y, t_imex = _run({"rtol": rtol, "atol": atol}, window, params)
        imex.append((rtol, t_imex, _rel_err(y, ref)))
        print(f"IMEX ARK3(2) rtol = {rtol:.0e}, atol = {atol:.0e}: {t_imex:8.3f} s, "
              f"time error {imex[-1][2]:.2e}")  # fmt: skip
    fine = OncolyticPDERadial(params, {"dr": 0.0025, "rtol": 1e-8})
    y_fine = fine.advance(fine.initial_state(), 0.0, window).y
    y_fine = y_fine.reshape(4, -1, 4).mean(axis=2)  # cell averages on the Δr = 0.01 grid
    print(f"spatial error of the dr = 0.01 grid (vs dr = 0.0025): {_rel_err(ref, y_fine):.2e}")
    default, t_default = _run({}, window, params)
    print(f"IMEX default (rtol 1e-6): {t_default:.3f} s, total error vs the refined reference "
          f"{_rel_err(default, y_fine):.3e}")  # fmt: skip
    for key, (label, (t_exp, err_exp, y)) in zip(
        ("explicit_seed_dt_over_imex", "explicit_stability_limit_over_imex"),
        explicit.items(),
        strict=True,
    ):
        # the cheapest IMEX run at least as accurate in time as this explicit run
        ok = [(t, r, e) for r, t, e in imex if e <= err_exp]
        if not ok:
            print(f"no IMEX tolerance reached the time error of explicit Euler at {label}")
            continue
        t_imex, rtol, err = min(ok)
        print(f"  explicit Euler at {label}: total error vs refined {_rel_err(y, y_fine):.3e}")
        ratio(f"pde.{key}", t_exp / t_imex, f"explicit Euler at {label} vs IMEX rtol {rtol:.0e} "
              f"at equal accuracy (time error {err:.1e} <= {err_exp:.1e})")  # fmt: skip

    t0 = time.perf_counter()
    rep = OncolyticPDERadial(params)
    rep.advance(rep.initial_state(), 0.0, 1500.0)
    t_full = time.perf_counter() - t0
    stats = rep.solver_stats()
    print(
        f"full 1500 h radial run, default settings: {t_full:.2f} s "
        f"({stats['steps']:.0f} steps, mean step {1500 / stats['steps']:.3f} h); "
        f"explicit Euler would take {15e6:.3g} steps, about {t_exp / window * 1500:.0f} s here"
    )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
