"""Kinetic solver: the AP micro–macro scheme (implicit relaxation, Δt independent of ε) vs the
same scheme with explicit relaxation (Δt ≲ ε²/λ), at equal accuracy; Numba vs NumPy kernels.

1. AP vs explicit. 1D, CC linear regime, seeded tumour (a = 1), 50 cells, window t = 1. The
   reference is the explicit scheme at half its stable step. Accuracy target: relative L1 error
   (n1, n2, n3) ≤ 1e-3. The explicit scheme runs at its stability bound (its step is set by
   stability, not accuracy: its error is far below the target); the AP scheme at the largest
   Δt = 0.05·2^−k meeting the target. Printed per ε: steps, wall times, errors and the
   speed-up (the step ratio grows like ε⁻²).
2. Numba vs NumPy reference of the transport–relaxation step: 1D (100 cells, 2 bins) and 2D
   (64², 16 directions, 2 bins), time per step and the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from oncoscale.models.kinetic.kinetic import Kinetic1D, Kinetic2D
from oncoscale.models.kinetic.params import named

POPS = ("n1", "n2", "n3")


def _run(params, numerics: dict, t_end: float, cls=Kinetic1D):
    rep = cls(params, numerics)
    state = rep.initial_state()
    rep.solver.step(state, rep.solver.max_step())  # warm-up (compiled kernels)
    t0 = time.perf_counter()
    state, steps = rep.solver.advance(state, 0.0, t_end)
    return state.densities(), time.perf_counter() - t0, steps


def _err(n: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(n - ref).sum() / np.abs(ref).sum())


def ap_vs_explicit(eps_values: list[float], t_end: float) -> None:
    print(f"AP vs explicit relaxation: 1D, 50 cells, CC linear regime, window t = {t_end:g}")
    print(f"{'eps':>7} {'expl. dt':>9} {'steps':>7} {'time s':>8} {'error':>8} | "
          f"{'AP dt':>7} {'steps':>5} {'time s':>7} {'error':>8} | speed-up")  # fmt: skip
    base = {"dx": 1 / 50}
    for eps in eps_values:
        p = named("kinetic-cc-escape", epsilon=eps, seed_amplitude=1.0)
        explicit = {**base, "relaxation": "explicit", "dt": 1.0}
        bound = Kinetic1D(p, explicit).solver.max_step()
        ref, _, _ = _run(p, {**explicit, "dt": bound / 2}, t_end)
        n_exp, t_exp, s_exp = _run(p, explicit, t_end)
        e_exp = _err(n_exp, ref)
        target = 1e-3
        if e_exp > target:
            print(f"{eps:7.0e}: the explicit scheme misses the target ({e_exp:.1e})")
            continue
        chosen = None
        dt = 0.05
        while dt > bound:
            n_ap, t_ap, s_ap = _run(p, {**base, "dt": dt}, t_end)
            if _err(n_ap, ref) <= target:
                chosen = (dt, s_ap, t_ap, _err(n_ap, ref))
                break
            dt /= 2
        if chosen is None:
            print(f"{eps:7.0e}: AP needs dt below the explicit bound")
            continue
        dt, s_ap, t_ap, e_ap = chosen
        print(f"{eps:7.0e} {bound:9.2e} {s_exp:7d} {t_exp:8.3f} {e_exp:8.1e} | "
              f"{dt:7.4f} {s_ap:5d} {t_ap:7.3f} {e_ap:8.1e} | {t_exp / t_ap:7.1f}x "
              f"({s_exp / s_ap:.0f}x steps)")  # fmt: skip


def numba_vs_numpy(steps: int) -> None:
    print(f"Numba kernel vs NumPy reference ({steps} steps)")
    cases = [
        ("1D, 100 cells", Kinetic1D, {"dx": 0.01}),
        ("2D, 64x64, K = 16", Kinetic2D, {"dx": 1 / 64, "velocities": 16}),
    ]
    p = named("kinetic-cc-escape", epsilon=0.01)
    for label, cls, num in cases:
        times = {}
        for backend in ("numba", "numpy"):
            rep = cls(p, {**num, "kernel": backend})
            state = rep.initial_state()
            dt = rep.solver.max_step()
            state = rep.solver.step(state, dt)  # warm-up
            t0 = time.perf_counter()
            for _ in range(steps):
                state = rep.solver.step(state, dt)
            times[backend] = (time.perf_counter() - t0) / steps
        unknowns = sum(g.size for g in state.g)
        ratio = times["numpy"] / times["numba"]
        print(f"  {label:18s} numba {1e3 * times['numba']:8.3f} ms/step, numpy "
              f"{1e3 * times['numpy']:8.3f} ms/step, ratio {ratio:5.1f}x, "
              f"{1e9 * times['numba'] / unknowns:6.1f} ns per micro unknown")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_kinetic")
    ap.add_argument("--quick", action="store_true", help="fewer eps values and steps")
    args = ap.parse_args(argv or [])
    eps_values = [0.1, 0.03] if args.quick else [0.1, 0.03, 0.01, 0.003]
    ap_vs_explicit(eps_values, 0.5 if args.quick else 1.0)
    numba_vs_numpy(10 if args.quick else 40)


if __name__ == "__main__":
    main()
