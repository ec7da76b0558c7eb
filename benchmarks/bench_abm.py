"""Oncolytic lattice ABM: the Numba kernel vs the NumPy reference, a full central-injection
run (201 x 201 sites, τ = 0.02 h, 1500 h = 75,000 steps), and the growth of the cost with
the lattice size.

Printed: the wall time of the full run (``--quick``: the first 100 h, and the per-step cost;
the cost per step grows as the tumour and the immune cells spread, so a short run
underestimates a full one), the per-step cost ratio NumPy/Numba on the same lattice and
state, and the cost per site-step on 51², 101², 201², 401² lattices (the central-injection
geometry scaled with L, so the occupied fraction is the same), with the fitted exponent of
time vs number of sites (1 = linear). Timings take the best of a few repeats (the machine may
be shared: CPU times are reported, wall time for the full run too); ratios and exponents
are machine-independent.
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from benchmarks import ratio
from oncoscale.models.oncolytic.abm import OncolyticABM
from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.numerics.sampling import counter_hash, keyed_stream, uniform


def _central(**kw) -> OncolyticParameters:
    return OncolyticParameters(**{"R_i": 1.0, "zeta": 0.5, **kw})


def _timed_advance(rep: OncolyticABM, state, hours: float, repeats: int = 1):
    """Best CPU time of advancing (a copy of) ``state`` by ``hours`` (and the state reached);
    ``advance`` works in place, so each repeat starts from its own copy."""
    best, out = np.inf, None
    for _ in range(repeats):
        start = state.copy()
        t0 = time.process_time()
        out = rep.advance(start, 0.0, hours)
        best = min(best, time.process_time() - t0)
    return best, out


def full_run(hours: float) -> None:
    """Central injection on the default lattice for ``hours`` (1500 h: the seed's run)."""
    rep = OncolyticABM(_central())
    state = rep.initial_state(np.random.default_rng(0))
    rep.advance(state.copy(), 0.0, rep.params.tau)  # compile / load the cached kernel
    t0, c0 = time.perf_counter(), time.process_time()
    marks = []
    chunk = min(100.0, hours)
    for k in range(round(hours / chunk)):
        state = rep.advance(state, chunk * k, chunk * (k + 1))
        marks.append(time.process_time() - c0)
    wall, cpu = time.perf_counter() - t0, marks[-1]
    steps = hours / rep.params.tau
    per_chunk = np.diff([0.0, *marks])
    print(
        f"central injection, {rep.grid.shape[0]}^2 sites, tau = {rep.params.tau} h: "
        f"{hours:g} h = {steps:.0f} steps in {cpu:.1f} s CPU ({cpu / steps * 1e3:.3f} ms/step; "
        f"wall {wall:.1f} s); CPU per {chunk:g} h: {' '.join(f'{x:.1f}' for x in per_chunk)} s"
    )
    obs = rep.observables(state)
    print(
        f"  at {hours:g} h: total_u {obs['total_u']:.0f}, total_i {obs['total_i']:.0f}, "
        f"total_z {obs['total_z']:.0f} cells"
    )


def kernel_ratio(ref_steps: int) -> None:
    """Per-step cost of the NumPy reference over the Numba kernel (one thread), same lattice
    and state."""
    numba.set_num_threads(1)
    params = _central()
    fast, ref = OncolyticABM(params), OncolyticABM(params, {"kernel": "numpy"})
    state = fast.initial_state(np.random.default_rng(1))
    state = fast.advance(state, 0.0, 200.0)  # a developed state: tumour, infection, immune
    tau = params.tau
    t_ref, _ = _timed_advance(ref, state, ref_steps * tau)
    n_fast = 50 * ref_steps
    t_fast, _ = _timed_advance(fast, state, n_fast * tau, repeats=3)
    per_ref, per_fast = t_ref / ref_steps, t_fast / n_fast
    print(
        f"per step at 200 h ({fast.grid.shape[0]}^2): NumPy reference {per_ref * 1e3:.2f} ms, "
        f"Numba {per_fast * 1e3:.3f} ms (one thread)"
    )
    ratio("abm.numpy_over_numba", per_ref / per_fast, "per step, same state, one thread")
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


@numba.njit(parallel=True, cache=True)
def _one_uniform_per_site(n0, n1, nsteps, key):  # pragma: no cover - compiled
    """The random-number floor: one keyed stream per row and step, one uniform per site."""
    streams = np.empty((n0, 4), dtype=np.uint64)
    acc = np.zeros(n0)
    for k in range(nsteps):
        base = counter_hash(key, k)
        for x in numba.prange(n0):
            s = streams[x]
            keyed_stream(base, x, 0, s)
            for _ in range(n1):
                acc[x] += uniform(s)
    return acc.sum()


def threads_and_profile(hours: float) -> None:
    """Wall time of the central run on 1 and on all threads (bit-identical results), and where
    the time of one step goes: the whole step vs its random-number floor (one uniform per
    site and step, the issue's estimate) on the same lattice."""
    rep = OncolyticABM(_central())
    start = rep.initial_state(np.random.default_rng(5))
    rep.advance(start.copy(), 0.0, rep.params.tau)  # compile
    walls, states = {}, {}
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        state = start.copy()
        t0 = time.perf_counter()
        states[threads] = rep.advance(state, 0.0, hours)
        walls[threads] = time.perf_counter() - t0
        print(f"  {threads} thread(s): {hours:g} h in {walls[threads]:.2f} s wall")
    if len(walls) > 1:  # what a run does: hourly calls, thread count chosen by measurement
        tuned = OncolyticABM(_central())
        state = start.copy()
        t0 = time.perf_counter()
        for h in range(round(hours)):
            state = tuned.advance(state, float(h), h + 1.0)
        tuned_wall = time.perf_counter() - t0
        states["tuned"] = state
        print(f"  thread tuner, hourly calls: {hours:g} h in {tuned_wall:.2f} s wall "
              f"(calls by thread count: {tuned._tuner.calls_by_threads})")  # fmt: skip
    same = all(np.array_equal(s.counts, states[1].counts) and np.array_equal(s.phi, states[1].phi)
               for s in states.values())  # fmt: skip
    print(f"  identical counts and phi for every thread count: {same}")
    if len(walls) > 1:
        ratio("abm.speedup_all_threads", walls[1] / walls[max(walls)], "same run, wall time")
        ratio("abm.speedup_thread_tuner", walls[1] / tuned_wall, "same run, hourly calls")
    n0, n1 = rep.grid.shape
    steps = round(hours / rep.params.tau)
    _one_uniform_per_site(n0, n1, 1, start.key)
    for threads in sorted(walls):
        numba.set_num_threads(threads)
        t0 = time.perf_counter()
        _one_uniform_per_site(n0, n1, steps, start.key)
        floor = time.perf_counter() - t0
        print(f"  {threads} thread(s): random-number floor (one uniform per site-step) "
              f"{floor:.2f} s = {floor / walls[threads]:.0%} of the run; the run costs "
              f"{walls[threads] / (steps * n0 * n1) * 1e9:.2f} ns per site-step")  # fmt: skip
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def scaling(hours: float) -> None:
    """Cost per site-step vs lattice size (central geometry scaled with L, δ fixed)."""
    sizes, times = [], []
    for half_width in (2.5, 5.0, 10.0, 20.0):
        s = half_width / 10.0
        params = _central(L=half_width, R_u=2.6 * s, R_i=1.0 * s)
        rep = OncolyticABM(params)
        state = rep.initial_state(np.random.default_rng(2))
        rep.advance(state.copy(), 0.0, params.tau)  # compile (in place: on a copy)
        t, _ = _timed_advance(rep, state, hours, repeats=3)
        n_sites = rep.grid.shape[0] * rep.grid.shape[1]
        steps = hours / params.tau
        sizes.append(n_sites)
        times.append(t)
        print(
            f"  {rep.grid.shape[0]:4d}^2 sites: {t:7.3f} s for {steps:.0f} steps, "
            f"{t / steps / n_sites * 1e9:6.2f} ns per site-step"
        )
    slope = np.polyfit(np.log(sizes), np.log(times), 1)[0]
    print(f"EXPONENT of time vs number of sites: {slope:.3f} (1 = linear)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_abm")
    ap.add_argument("--quick", action="store_true", help="100 h instead of 1500 h, fewer steps")
    ap.add_argument("--hours", type=float, default=None, help="length of the central run (h)")
    args = ap.parse_args(argv)
    hours = args.hours or (100.0 if args.quick else 1500.0)
    full_run(hours)
    print("threads and the random-number floor:")
    threads_and_profile(20.0 if args.quick else 200.0)
    kernel_ratio(ref_steps=5 if args.quick else 20)
    print("cost per site-step vs lattice size (central geometry scaled with L):")
    scaling(hours=5.0 if args.quick else 20.0)


if __name__ == "__main__":
    main()
