"""Observed convergence orders of the oncolytic PDE solvers (for docs/oncolytic.md).

Space: radial grids Δr = 0.02, 0.01, 0.005 (and 2D grids dx = 0.2, 0.1, 0.05) against a refined
reference (Δr = 0.00125; dx = 0.025), errors in the L2 norm of cell averages at t_end.
Time: fixed-step ARK3(2)4L[2]SA with h = 0.4, 0.2, 0.1 h against h = 0.005 h on the same grid.
"""

from __future__ import annotations

import argparse

import numpy as np

from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.models.oncolytic.pde import OncolyticPDE2D, OncolyticPDERadial

PARAMS = OncolyticParameters(L=4.0, R_u=1.5, R_i=0.6, zeta=0.5)


def _orders(errors: list[float]) -> list[float]:
    e = np.array(errors)
    return list(np.log2(e[:-1] / e[1:]))


def space_radial(t_end: float) -> None:
    def run(dr):
        rep = OncolyticPDERadial(PARAMS, {"dr": dr, "rtol": 1e-8, "atol": 1e-6})
        return rep, rep.advance(rep.initial_state(), 0.0, t_end).y

    _, ref = run(0.00125)
    for k, name in enumerate(("u", "i", "z", "phi")):
        errs = []
        for dr in (0.02, 0.01, 0.005):
            rep, y = run(dr)
            f = round(dr / 0.00125)
            yr = ref[k].reshape(-1, f).mean(axis=1)
            errs.append(float(np.sqrt(np.sum((y[k] - yr) ** 2 * rep.grid.volumes))))
        print(
            f"radial space, {name:3s}: L2 errors "
            + ", ".join(f"{e:.3e}" for e in errs)
            + "; orders "
            + ", ".join(f"{o:.2f}" for o in _orders(errs))
        )


def space_2d(t_end: float) -> None:
    p = PARAMS.updated(L=2.0, R_u=1.0, R_i=0.4, delta=0.2)

    def run(dx):
        rep = OncolyticPDE2D(p, {"dx": dx, "rtol": 1e-7, "atol": 1e-5})
        return rep, rep.advance(rep.initial_state(), 0.0, t_end).y

    # node-centred grids do not nest; compare the fields sampled at the coarse cell centres
    _, ref = run(0.025)
    errs = []
    for dx in (0.2, 0.1, 0.05):
        _rep, y = run(dx)
        step = round(dx / 0.025)
        yr = ref[0][::step, ::step]
        errs.append(float(np.sqrt(np.sum((y[0] - yr) ** 2) * dx**2)))
    print(
        "2D space, u (point values at lattice sites): errors "
        + ", ".join(f"{e:.3e}" for e in errs)
        + "; orders "
        + ", ".join(f"{o:.2f}" for o in _orders(errs))
    )


def time_radial(t_end: float) -> None:
    p = PARAMS.updated(zeta=5.0)

    def run(h):
        rep = OncolyticPDERadial(p, {"dr": 0.02, "solver": "ark3-fixed", "dt": h})
        return rep.advance(rep.initial_state(), 0.0, t_end).y

    ref = run(0.005)
    errs = [float(np.abs(run(h) - ref)[:3].max()) for h in (0.4, 0.2, 0.1)]
    print(
        "radial time (ARK3, fixed steps 0.4/0.2/0.1 h): max errors "
        + ", ".join(f"{e:.3e}" for e in errs)
        + "; orders "
        + ", ".join(f"{o:.2f}" for o in _orders(errs))
    )


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="bench_pde_convergence")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    space_radial(40.0)
    time_radial(20.0)
    if not args.quick:
        space_2d(20.0)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
