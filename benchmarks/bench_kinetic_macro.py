"""Kinetic family, macroscopic PDEs: IMEX vs explicit Euler at equal accuracy, and observed
convergence orders in space (1D, 2D) and time (ARK3 fixed step, forward–backward Euler).

Equal accuracy: both solvers run the same grid; the time error of each is measured against a
tight-tolerance IMEX reference; the IMEX tolerance is the loosest whose error is no larger
than explicit Euler's at 0.9× its stability limit dx²/(2 d max D). Orders: errors against a
refined reference (space: 4× finer grid, cell averages; time: 1/16 of the smallest step), then
log2 of successive error ratios. Printed numbers are ratios (machine-independent) and wall
times (noisy under load).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from oncoscale.models.kinetic.macro import MacroPDE1D, MacroPDE2D
from oncoscale.models.kinetic.params import KineticParameters, named


def _params(reduction: str, **extra) -> KineticParameters:
    case = "cc-escape" if reduction in ("cross", "linear-cc") else "pc-coexistence"
    red = "linear" if reduction == "linear-cc" else reduction
    init = {} if case == "cc-escape" else {"initial_state": "coexistence"}
    return named(f"kinetic-{case}", reduction=red, seed_amplitude=1.0, seed_sigma=0.12,
                 seed_x=0.4, seed_y=0.45, **init, **extra)  # fmt: skip


def _run(cls, params, numerics: dict, t_end: float) -> tuple[np.ndarray, float]:
    rep = cls(params, numerics)
    rep.advance(rep.initial_state(), 0.0, 1e-3)  # warm-up (compiled kernels)
    t0 = time.perf_counter()
    y = rep.advance(rep.initial_state(), 0.0, t_end).y
    return y, time.perf_counter() - t0


def _err(y: np.ndarray, ref: np.ndarray) -> float:
    return max(float(np.abs(y[k] - ref[k]).max() / np.abs(ref[k]).max()) for k in range(len(y)))


def imex_vs_explicit(window: float, cells: int) -> None:
    """Self-diffusion, 1D: cost of equal accuracy."""
    p = _params("self")
    rep = MacroPDE1D(p, {"dx": 1 / cells})
    dt = 0.9 * rep.problem.explicit_stability_limit()
    ref, _ = _run(MacroPDE1D, p, {"dx": 1 / cells, "rtol": 1e-11, "atol": 1e-13}, window)
    exp, t_exp = _run(MacroPDE1D, p, {"dx": 1 / cells, "solver": "euler", "dt": dt}, window)
    e_exp = _err(exp, ref)
    print(f"self-diffusion 1D, {cells} cells, window {window:g}: explicit Euler dt = {dt:.3g}: "
          f"{t_exp:.2f} s, time error {e_exp:.2e}")  # fmt: skip
    chosen = None
    for rtol in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7):
        y, t_imex = _run(MacroPDE1D, p, {"dx": 1 / cells, "rtol": rtol, "atol": rtol}, window)
        e = _err(y, ref)
        print(f"  IMEX ARK3(2) rtol = atol = {rtol:.0e}: {t_imex:.3f} s, time error {e:.2e}")
        if chosen is None and e <= e_exp:
            chosen = (rtol, t_imex)
    if chosen:
        print(f"  equal accuracy: IMEX (rtol {chosen[0]:.0e}) is {t_exp / chosen[1]:.1f}x "
              "faster than explicit Euler")  # fmt: skip


def space_orders(dim: int, reduction: str, cells: tuple[int, ...], t_end: float) -> None:
    cls = MacroPDE1D if dim == 1 else MacroPDE2D
    p = _params(reduction, D1=2e-3, D2=2e-2, D3=2e-3)
    tol = {"rtol": 1e-10, "atol": 1e-12} if dim == 1 else {"rtol": 1e-8, "atol": 1e-10}
    fine_n = 4 * cells[-1]
    ref, t_ref = _run(cls, p, {"dx": 1 / fine_n, **tol}, t_end)
    errs = []
    for n in cells:
        y, _ = _run(cls, p, {"dx": 1 / n, **tol}, t_end)
        errs.append(_err(y, _block_mean(ref, fine_n // n, dim)))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    print(
        f"space, {dim}D {reduction}: cells {cells} (ref {fine_n}), errors {_fmt(errs, '.2e')}; "
        f"orders {_fmt(orders, '.2f')}; reference run {t_ref:.1f} s"
    )


def _fmt(values, spec: str) -> str:
    return ", ".join(format(float(v), spec) for v in values)


def _block_mean(fine: np.ndarray, factor: int, dim: int) -> np.ndarray:
    if dim == 1:
        return fine.reshape(fine.shape[0], -1, factor).mean(axis=2)
    v, nx, ny = fine.shape
    return fine.reshape(v, nx // factor, factor, ny // factor, factor).mean(axis=(2, 4))


def time_orders(solver: str, dts: tuple[float, ...], t_end: float) -> None:
    p = _params("self", D1=2e-3, D2=2e-2, D3=2e-3)
    ref, _ = _run(MacroPDE1D, p, {"dx": 1 / 40, "solver": "ark3-fixed", "dt": dts[-1] / 16},
                  t_end)  # fmt: skip
    errs, times = [], []
    for dt in dts:
        y, wall = _run(MacroPDE1D, p, {"dx": 1 / 40, "solver": solver, "dt": dt}, t_end)
        errs.append(_err(y, ref))
        times.append(wall)
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    print(
        f"time, {solver} (self-diffusion 1D, 40 cells): dt {dts}, errors {_fmt(errs, '.2e')}; "
        f"orders {_fmt(orders, '.2f')}"
    )


# ---------------------------------------------------------------------------------------
# 2D runs with sinks (issue 12): today's fixed-step IMEX Euler + sparse LU vs adaptive ARK3
# ---------------------------------------------------------------------------------------
SINK_CASES = {  # scenario, reduction, initial state: the two slowest runs of the first round
    "cc-escape linear": ("kinetic-cc-escape", "linear", {}),
    "pc-oscillation self": ("kinetic-pc-oscillation", "self", {"initial_state": "coexistence"}),
}


def _sink_run(name: str, numerics: dict, t_end: float, lu: bool) -> tuple[np.ndarray, float, int]:
    """(final state, wall s, steps) of a 64² run continued past the escape threshold; ``lu``:
    every sink solve by the sparse LU of the first implementation (as today)."""
    scenario, reduction, extra = SINK_CASES[name]
    p = named(scenario, reduction=reduction, escape_density=np.inf, **extra)
    rep = MacroPDE2D(p, numerics)
    if lu:
        rep.problem.myopic.max_cg = 0  # the Jacobi-CG never runs: sparse LU, as before
    state = rep.initial_state()
    t0 = time.perf_counter()
    state = rep.advance(state, 0.0, t_end)
    return state.y, time.perf_counter() - t0, int(rep.solver_stats()["steps"])


def _rel_l1(y: np.ndarray, ref: np.ndarray) -> float:
    return max(float(np.abs(y[k] - ref[k]).sum() / np.abs(ref[k]).sum()) for k in range(len(y)))


def sinks_2d(t_end: float, before_t_end: float) -> None:
    """64², to t_end: before (IMEX Euler dt = 0.01, sparse LU, as the scenarios ran in the first
    round; run to before_t_end and scaled to t_end when shorter, labelled 'extrapolated') vs
    after (the scenarios' default now: adaptive ARK3, rtol 1e-6, Jacobi-CG), with each one's
    error (max over components of the relative L1) against adaptive ARK3 at rtol 1e-8."""
    for name in SINK_CASES:
        ref, t_ref, _ = _sink_run(name, {"rtol": 1e-8, "atol": 1e-10}, t_end, lu=False)
        after, t_after, n_after = _sink_run(name, {}, t_end, lu=False)
        loose, t_loose, n_loose = _sink_run(name, {"rtol": 1e-4}, t_end, lu=False)
        before, t_before, n_before = _sink_run(
            name, {"solver": "imex-euler", "dt": 0.01}, before_t_end, lu=True
        )
        scale = t_end / before_t_end
        label = "" if scale == 1 else f" (run to t = {before_t_end:g}, x{scale:g}: extrapolated)"
        e_before = _rel_l1(before, ref) if scale == 1 else float("nan")
        print(
            f"2D 64² {name}, t = {t_end:g}: before (IMEX Euler 0.01, LU) "
            f"{t_before * scale:.1f} s{label}, {n_before * scale:.0f} steps, error "
            f"{e_before:.2e}; after (adaptive rtol 1e-6, CG) {t_after:.1f} s, {n_after} steps, "
            f"error {_rel_l1(after, ref):.2e} -> {t_before * scale / t_after:.1f}x; "
            f"rtol 1e-4: {t_loose:.1f} s, {n_loose} steps, error {_rel_l1(loose, ref):.2e}; "
            f"reference {t_ref:.1f} s",
            flush=True,
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_kinetic_macro")
    ap.add_argument("--quick", action="store_true", help="smaller grids and windows")
    args = ap.parse_args(argv or [])
    q = args.quick
    imex_vs_explicit(window=5.0 if q else 20.0, cells=200 if q else 400)
    for red in ("linear-cc", "cross", "self"):
        space_orders(1, red, (20, 40, 80), 2.0)
    space_orders(2, "cross", (8, 16, 32), 0.5)
    if not q:
        space_orders(2, "self", (8, 16, 32), 0.5)
    time_orders("ark3-fixed", (0.4, 0.2, 0.1, 0.05), 2.0)
    time_orders("imex-euler", (0.1, 0.05, 0.025, 0.0125), 2.0)
    sinks_2d(t_end=10.0 if q else 60.0, before_t_end=2.0 if q else 60.0)


if __name__ == "__main__":
    main()
