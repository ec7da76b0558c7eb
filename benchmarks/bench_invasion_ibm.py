"""Invasion IBM: cost per particle-step, scaling with the number of particles, compiled cell
lists vs the cKDTree reference, compiled step vs the NumPy reference (ibm_reference), the time
of the seed's 2D experiment (t = 20 days with the default particle masses).

Scaling (2D, default initial conditions, time per step after a warm-up, fitted as time ∝ N^α
over the total number N of particles):
* domain side L = 5 ... 20 at fixed densities and masses: N ∝ L², the particles per perception
  window fixed — the O(N) claim (α ≈ 1);
* all masses divided by s at fixed L: N ∝ s, but every window also holds s times more
  particles, so perceiving costs O(N · particles per window) and α > 1 is expected.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from oncoscale.models.invasion.ibm import InvasionIBM
from oncoscale.models.invasion.params import InvasionParameters
from oncoscale.numerics.particles import build_cell_list, window_counts, window_counts_reference


def _scaled(s: float) -> InvasionParameters:
    p = InvasionParameters()
    return p.updated(M_MM=p.M_MM / s, M_O2=p.M_O2 / s, M_MDE=p.M_MDE / s, M_cell=p.M_cell / s)  # type: ignore[return-value]


def _n_particles(state) -> int:
    return state.cell_pos.shape[0] + state.mm.shape[0] + state.mde.shape[0] + state.o2.shape[0]


def time_per_step(params: InvasionParameters, steps: int, repeats: int, dim: int = 2):
    """(particles at start, seconds per step): the fastest of ``repeats`` blocks of ``steps``
    steps after a 2-step warm-up (the minimum filters out other processes' load)."""
    rep = InvasionIBM(params, {"dim": dim, "dx": 0.25})
    state = rep.advance(rep.initial_state(np.random.default_rng(0)), 0.0, 2 * params.dt)
    n = _n_particles(state)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        state = rep.advance(state, 0.0, steps * params.dt)
        best = min(best, (time.perf_counter() - t0) / steps)
    return n, best


def scaling(cases: list[tuple[str, InvasionParameters]], steps: int, repeats: int) -> float:
    """Print time per step and per particle-step for each case; return the fitted exponent."""
    ns, ts = [], []
    for label, params in cases:
        n, t = time_per_step(params, steps, repeats)
        ns.append(n)
        ts.append(t)
        print(f"  {label:12s} N = {n:9d} particles: {1e3 * t:8.2f} ms/step, "
              f"{1e9 * t / n:6.1f} ns per particle-step")  # fmt: skip
    alpha = float(np.polyfit(np.log(ns), np.log(ts), 1)[0])
    tail = float(np.polyfit(np.log(ns[-3:]), np.log(ts[-3:]), 1)[0])
    slope, icpt = np.polyfit(ns, ts, 1)
    print(f"  fitted exponent: time/step ∝ N^{alpha:.3f} (largest three: N^{tail:.3f}); "
          f"affine fit {1e3 * icpt:.2f} ms + {1e9 * slope:.1f} ns × N")  # fmt: skip
    return alpha


def neighbour_ratio(n_queries: int) -> float:
    """Cell-list window counts (Numba) vs cKDTree on the default O2 particles (2D)."""
    p = InvasionParameters()
    rep = InvasionIBM(p, {})
    state = rep.initial_state(np.random.default_rng(1))
    o2 = state.o2
    query = np.random.default_rng(2).uniform(0, p.L, (n_queries, 2))
    cl = build_cell_list(o2, 0.0, p.L, p.perception)
    window_counts(query[:10], cl, p.perception)  # compile
    t0 = time.perf_counter()
    cl = build_cell_list(o2, 0.0, p.L, p.perception)
    c, d = window_counts(query, cl, p.perception)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    rc, rd = window_counts_reference(query, o2, p.perception)
    t_ref = time.perf_counter() - t0
    same = np.array_equal(c, rc) and np.array_equal(d, rd)
    print(f"  {o2.shape[0]} O2 particles, {n_queries} windows: cell list (build + count) "
          f"{1e3 * t_fast:.1f} ms, cKDTree {1e3 * t_ref:.1f} ms, ratio {t_ref / t_fast:.1f}x, "
          f"identical counts: {same}")  # fmt: skip
    return t_ref / t_fast


def reference_ratio(steps: int) -> float:
    """Compiled step vs the independent NumPy reference of the step (coarse particles)."""
    p = InvasionParameters(M_MM=0.005, M_O2=0.1, M_MDE=0.05)
    out = []
    for kernels in ("numba", "numpy"):
        rep = InvasionIBM(p, {"kernel": kernels, "dx": 0.25})
        state = rep.advance(rep.initial_state(np.random.default_rng(3)), 0.0, 2 * p.dt)
        n = _n_particles(state)
        t0 = time.perf_counter()
        rep.advance(state, 0.0, steps * p.dt)
        out.append((time.perf_counter() - t0) / steps)
    print(f"  {n} particles: compiled {1e3 * out[0]:.2f} ms/step, NumPy reference "
          f"{1e3 * out[1]:.1f} ms/step, ratio {out[1] / out[0]:.0f}x")  # fmt: skip
    return out[1] / out[0]


def full_run(t_end: float, mm_case: str) -> float:
    """Wall time of a default 2D run to t_end (excluding compilation)."""
    p = InvasionParameters(mm_case=mm_case)
    rep = InvasionIBM(p, {})
    rep.advance(rep.initial_state(np.random.default_rng(9)), 0.0, p.dt)  # compile
    t0 = time.perf_counter()
    state = rep.advance(rep.initial_state(np.random.default_rng(4)), 0.0, t_end)
    wall = time.perf_counter() - t0
    steps = round(t_end / p.dt)
    print(f"  2D {mm_case} to t = {t_end:g} days ({steps} steps): {wall:.1f} s "
          f"({1e3 * wall / steps:.1f} ms/step); final cells {state.cell_pos.shape[0]}, "
          f"MM {state.living_mm().shape[0]}, O2 {state.o2.shape[0]}")  # fmt: skip
    return wall


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_invasion_ibm")
    ap.add_argument("--quick", action="store_true", help="fewer sizes and steps, t = 2 run")
    args = ap.parse_args(argv or [])
    quick = args.quick
    steps, repeats = (4, 3) if quick else (10, 5)
    sides = [5.0, 7.5, 10.0, 15.0] if quick else [5.0, 7.5, 10.0, 15.0, 20.0]
    print("scaling with the domain (fixed densities and masses, N ∝ L²):")
    scaling([(f"L = {L:g}", InvasionParameters(L=L)) for L in sides], steps, repeats)
    factors = [0.25, 0.5, 1.0] if quick else [0.125, 0.25, 0.5, 1.0, 2.0]
    print("scaling with the particle masses (fixed L = 10; windows fill up too):")
    scaling([(f"mass / {s:g}", _scaled(s)) for s in factors], steps, repeats)
    print("neighbour counting:")
    neighbour_ratio(2000 if quick else 20000)
    print("compiled step vs the NumPy reference:")
    reference_ratio(1 if quick else 3)
    print("seed experiment (the authors report ~24 h per run):")
    full_run(2.0 if quick else 20.0, "homogeneous")


if __name__ == "__main__":
    main()
