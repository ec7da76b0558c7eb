"""Age-structured invasion PDE: the compiled step (support box + threads) against today's
(round-2) step, frozen in ``benchmarks/_invasion_pde_baseline.py``, on the same machine in the
same run; the error of the boxed run against the unboxed one; the 3D seed grid
(``invasion-3d-seed-resolution``: Δx = 1/12, Δt = 0.005, Δa = 0.125, 120³ cells) per step,
its peak memory and the extrapolated time to t = 20; the NumPy reference; the 2D seed grid.

Absolute times depend on the machine and its load (printed with the load average); the ratios
are measured in the same process, interleaved. ``--quick`` uses coarse grids and short runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks._invasion_pde_baseline import BaselineStepper
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.models.invasion import pde_box
from oncoscale.models.invasion.params import InvasionParameters
from oncoscale.models.invasion.pde import InvasionPDE

_SEED = resolve(load_scenario("invasion-3d-seed-resolution"), "pde")
#: the seed-resolution scenario's numerics (120³ cells, Δt = 0.005, Δa = 0.125) and parameters
SEED_3D = dict(_SEED.numerics)
PARAMS = _SEED.params
TOTALS = ("mass_p", "mass_q", "mass_necrotic", "radius_p", "radius_q", "mass_o2")


def _load() -> str:
    return "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def _steppers(numerics: dict, params: InvasionParameters = PARAMS):
    """(label, model, step function): today's step, then the new one on 1 and 2 threads."""
    rep = InvasionPDE(params, numerics)
    out = [("today (round 2)", rep, BaselineStepper(rep).step)]
    for threads in (1, 2):
        new = InvasionPDE(params, {**numerics, "threads": threads})
        out.append((f"box + {threads} thread{'s' * (threads > 1)}", new, new.step))
    return out


def _per_step(fn, state, steps: int, rounds: int = 2) -> float:
    """Best wall seconds per step over ``rounds`` blocks of ``steps`` steps (in place)."""
    fn(state)  # untimed: compilation, first touch
    best = np.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(steps):
            fn(state)
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


def coarse_comparison(dx: float, t_end: float) -> None:
    """Whole runs to ``t_end`` on a coarser 3D grid with the seed's numerics: wall times of
    today's step and the new one, the box size over time, and the relative difference of the
    totals (the boxed, flushed run against today's unboxed one)."""
    num = {**SEED_3D, "dx": dx}
    print(f"3D dx = 1/{round(1 / dx)}, dt = 0.005, da = 0.125, to t = {t_end:g} ({_load()})")
    results = {}
    for label, rep, step in _steppers(num):
        state = rep.initial_state()
        step(state)  # compile / warm (not timed), then restart
        state = rep.initial_state()
        boxes, t0 = [], time.perf_counter()
        for k in range(round(t_end / rep.dt)):
            step(state)
            if k % round(0.5 / rep.dt) == 0:
                boxes.append(np.prod(pde_box.shape_of(state.box)) / np.prod(rep.shape3))
        wall = time.perf_counter() - t0
        results[label] = (wall, rep.observables(state))
        extra = (
            ""
            if label.startswith("today")
            else ", box/grid every 0.5 day: " + " ".join(f"{b:.2f}" for b in boxes)
        )
        print(f"  {label:18s} {wall:7.1f} s{extra}")
    base_wall, base = results["today (round 2)"]
    for label, (wall, obs) in results.items():
        if label.startswith("today"):
            continue
        err = max(abs(obs[n] - base[n]) / abs(base[n]) for n in TOTALS if base[n])
        print(f"  {label}: {base_wall / wall:.2f}x faster than today; largest relative "
              f"difference of the totals from today's unboxed run {err:.1e}")  # fmt: skip


def _filled(rep: InvasionPDE):
    """A state with every age bin of every phenotype nonzero on the whole grid (the late,
    worst case for the step cost; the box is the whole grid)."""
    state = rep.initial_state()
    rng = np.random.default_rng(0)
    for arr in (state.p, state.q):
        for i in range(arr.shape[0]):
            arr[i] = 1e-3 * rng.random(arr.shape[1:])
    state.p_old[...] = state.q_old[...] = 1e-3
    state.o2[...] = 3.0 * rng.random(state.o2.shape)
    state.box = None
    return state


def seed_grid(steps: int) -> None:
    """Seed grid: seconds per step at the start (the box is the initial tumour) and in the
    worst case (every bin nonzero everywhere), today's step against the new one; the time to
    t = 20 bounded by 4000 worst-case steps."""
    print(f"3D seed grid dx = 1/12 (120^3 cells), dt = 0.005, da = 0.125 ({_load()})")
    worst = {}
    for label, rep, step in _steppers(SEED_3D):
        state = rep.initial_state()
        start = _per_step(step, state, steps, rounds=1)
        del state
        state = _filled(rep)
        worst[label] = _per_step(step, state, steps, rounds=1)
        del state
        print(f"  {label:18s} start {start:6.2f} s/step, every bin filled {worst[label]:6.2f} "
              f"s/step -> t = 20 in at most {worst[label] * 4000 / 60:5.0f} min")  # fmt: skip
    base = worst["today (round 2)"]
    for label, t in worst.items():
        if not label.startswith("today"):
            print(f"  {label}: {base / t:.2f}x faster than today (every bin filled)")


_FILLED_STEPS = """
import resource, sys
sys.path.insert(0, ".")
from benchmarks.bench_invasion_pde import SEED_3D, PARAMS, _filled
from oncoscale.models.invasion.pde import InvasionPDE
rep = InvasionPDE(PARAMS, SEED_3D)
state = _filled(rep)
for _ in range(2):
    rep.step(state)
rep.observables(state)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_memory(t_end: float) -> None:
    """Peak resident memory of ``oncoscale run invasion-3d-seed-resolution --t-end t_end`` (a
    child process: state, fields, step temporaries, observables, result file; zero pages of
    the state outside the box are not resident yet), then of two steps and the observables on
    a state with every bin filled (the whole state resident: the late phase of the run)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "oncoscale", "run", "invasion-3d-seed-resolution",
               "--t-end", str(t_end), "--quiet", "--out", tmp]  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        f"  oncoscale run invasion-3d-seed-resolution --t-end {t_end:g}: {wall:.0f} s, peak "
        f"resident memory {peak / 1e6:.1f} GB (of the state only the box resident)"
    )
    out = subprocess.run([sys.executable, "-c", _FILLED_STEPS], check=True, text=True,
                         capture_output=True).stdout  # fmt: skip
    print(f"  2 steps + observables, every bin filled: peak resident memory "
          f"{int(out.split()[-1]) / 1e6:.1f} GB")  # fmt: skip


def numpy_ratio(dx: float, steps: int) -> None:
    """The NumPy reference (whole grid, no box) against the compiled step, 3D."""
    num = {"dim": 3, "dx": dx, "dt": 0.01, "da": 0.1}
    rep = InvasionPDE(PARAMS, num)
    state = rep.advance(rep.initial_state(), 0.0, 1.0)
    fast = _per_step(rep.step, state.copy(), steps)
    ref_rep = InvasionPDE(PARAMS, {**num, "kernel": "numpy"})
    ref = _per_step(ref_rep.step, state.copy(), max(2, steps // 4), rounds=1)
    print(f"3D dx = {dx:g}: NumPy reference {ref * 1e3:.0f} ms/step, compiled "
          f"{fast * 1e3:.1f} ms/step, ratio {ref / fast:.1f}")  # fmt: skip


def seed_2d(steps: int) -> None:
    """2D seed grid (Δx = 1/8, Δt = Δa = 0.01: 80² cells, 600 age bins) after 2 days."""
    num = {"dx": 0.125}
    rep = InvasionPDE(InvasionParameters(), num)
    state = rep.advance(rep.initial_state(), 0.0, 2.0)
    print(f"2D seed grid dx = 1/8, dt = da = 0.01, after 2 days ({_load()})")
    times = {}
    for label, _, step in _steppers(num, InvasionParameters()):
        times[label] = _per_step(step, state.copy(), steps)
        print(f"  {label:18s} {times[label] * 1e3:7.1f} ms/step -> t = 20 in "
              f"{times[label] * 2000:.0f} s")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_invasion_pde")
    ap.add_argument("--quick", action="store_true", help="coarse grids and short runs only")
    ap.add_argument("--seed-grid", action="store_true", help="also the 120^3 seed grid (GBs)")
    args = ap.parse_args(argv)
    if args.quick:
        coarse_comparison(0.5, 1.0)
        numpy_ratio(1.0, 4)
        return
    coarse_comparison(0.25, 4.0)
    seed_2d(10)
    numpy_ratio(0.5, 8)
    if args.seed_grid:
        seed_grid(3)
        peak_memory(0.02)


if __name__ == "__main__":
    main()
