"""Oncolytic PDE front speeds vs the travelling-wave theory (spec §7).

Planar geometry (where the theory holds): the uninfected front without virus against
2√(Dp) (least-squares slope over 3000–5000 h), and the infected front into u = K without
immune cells against 2√(D(β − q)) (slope over 400–800 h). Radial geometry: the central
injection's uninfected front over the second half of 1000 h (curvature and the pulled-front
correction keep it below 2√(Dp) at these times). Printed: measured speed, theory, ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.models.oncolytic.pde import OncolyticPDEPlanar, OncolyticPDERadial
from oncoscale.numerics.profiles import front_speed


def _track(rep, name: str, t_end: float, every: float) -> tuple[np.ndarray, np.ndarray]:
    s = rep.initial_state()
    times, fronts = [0.0], [rep.observables(s)[name]]
    for t in np.arange(every, t_end + every / 2, every):
        s = rep.advance(s, t - every, t)
        times.append(t)
        fronts.append(rep.observables(s)[name])
    return np.array(times), np.array(fronts)


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="planar infected front only")
    args = ap.parse_args(argv)
    cases = [
        (
            "planar infected front, no immune cells",
            OncolyticPDEPlanar(
                OncolyticParameters(S0=0.0, alpha_z=0.0, R_u=10.0, R_i=1.0, u0_fraction=1.0),
                {"dr": 0.01, "length": 10.0},
            ),
            "front_i", 800.0, 20.0, 400.0, "infected_front_speed",
        ),
    ]  # fmt: skip
    if not args.quick:
        cases += [
            (
                "planar uninfected front, no virus",
                OncolyticPDEPlanar(
                    OncolyticParameters(R_i=0.0, zeta=0.5), {"dr": 0.02, "length": 30.0}
                ),
                "front_u", 5000.0, 100.0, 3000.0, "uninfected_front_speed",
            ),
            (
                "radial uninfected front, central injection",
                OncolyticPDERadial(OncolyticParameters(R_i=1.0, zeta=0.5)),
                "front_u", 1000.0, 10.0, 500.0, "uninfected_front_speed",
            ),
        ]  # fmt: skip
    for label, rep, name, t_end, every, t_from, theory_name in cases:
        t0 = time.perf_counter()
        times, fronts = _track(rep, name, t_end, every)
        speed = front_speed(times, fronts, t_from=t_from)
        theory = getattr(rep.params, theory_name)
        print(
            f"{label:45s}: {speed:.5e} mm/h vs theory {theory:.5e} -> "
            f"ratio {speed / theory:.4f} ({time.perf_counter() - t0:.1f} s)"
        )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
