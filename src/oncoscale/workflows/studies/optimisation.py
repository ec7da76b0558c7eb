"""Protocol optimisation: the protocol fields (``protocol.K.FIELD`` ranges) that minimise or
maximise a QoI, with a derivative-free optimiser from scipy.

A screen first (a Latin hypercube of ``screen`` points through the study engine, in parallel
on Dask; protocol objectives are often piecewise constant — an injection more or less — so a
local method alone can stall), then a bounded local search from the best screened point:
Brent's bounded method in one dimension (``minimize_scalar``), Nelder–Mead with bounds in
several. The optimum's run is kept (``optimum/``: result.nc, summary.json, figures, report).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from oncoscale.analysis.qoi import parse_qoi
from oncoscale.atomic import atomic_json
from oncoscale.errors import InputError
from oncoscale.io.scenario import ResolvedRun
from oncoscale.viz import report
from oncoscale.viz.studies import optimisation_figure
from oncoscale.workflows.pipeline import execute_run
from oncoscale.workflows.studies.design import latin_hypercube
from oncoscale.workflows.studies.engine import StudyPlan, evaluate_point, run_design
from oncoscale.workflows.studies.space import ParameterSpace


@dataclass
class OptimisationOutput:
    """Files and numbers of a finished optimisation."""

    directory: Path
    result: dict[str, Any]
    json: Path
    figures: list[Path]
    report: Path


def execute_optimisation(
    resolved: ResolvedRun,
    params: Sequence[str],
    objective: str,
    out_dir: Path,
    *,
    maximise: bool = False,
    screen: int = 8,
    max_evaluations: int = 40,
    replicates: int = 1,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    allow_model_parameters: bool = False,
    qoi_options: dict[str, dict[str, Any]] | None = None,
) -> OptimisationOutput:
    """Optimise ``objective`` (a QoI name) over ``params`` (``protocol.K.FIELD=LO:HI``)."""
    if not allow_model_parameters:
        bad = [p for p in params if not p.strip().startswith("protocol.")]
        if bad:
            raise InputError(
                f"invalid --protocol-param '{bad[0]}': expected protocol.K.FIELD=LO:HI[:log] "
                "(a field of the scenario's protocol)"
            )
    if screen < 1 or max_evaluations < 1:
        raise InputError("--screen and --max-evaluations must be >= 1")
    space = ParameterSpace.parse(params, resolved)
    sign = -1.0 if maximise else 1.0
    d = len(space.dims)
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    design = latin_hypercube(d, screen, resolved.seed)
    plan = StudyPlan.make(
        resolved,
        space,
        design,
        [parse_qoi(objective)],
        qoi_options=qoi_options,
        replicates=replicates,
    )
    screened = run_design(
        plan,
        out_dir / "screen",
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        progress=progress,
    )
    history_u = list(design.unit)
    history_f = list(screened.mean(objective))
    cache: dict[tuple[float, ...], float] = {}

    def f(u: np.ndarray) -> float:
        u = np.clip(np.atleast_1d(np.asarray(u, dtype=float)), 0.0, 1.0)
        key = tuple(np.round(u, 10))
        if key not in cache:
            value = float(np.mean(evaluate_point(plan, len(history_u), u)[:, 0]))
            cache[key] = value
            history_u.append(u.copy())
            history_f.append(value)
        return sign * cache[key] if np.isfinite(cache[key]) else np.inf

    finite = np.isfinite(history_f)
    if not finite.any():
        raise InputError(f"objective '{objective}' is not finite at any screened point")
    start = history_u[int(np.nanargmin(sign * np.asarray(history_f)))]
    budget = max(1, max_evaluations - screen)
    if d == 1:
        width = 1.0 / screen
        lo, hi = max(0.0, start[0] - width), min(1.0, start[0] + width)
        minimize_scalar(
            lambda v: f(np.array([v])),
            bounds=(lo, hi),
            method="bounded",
            options={"maxiter": budget, "xatol": 1e-3},
        )
    else:
        minimize(
            f,
            start,
            method="Nelder-Mead",
            bounds=[(0.0, 1.0)] * d,
            options={"maxfev": budget, "xatol": 1e-3, "fatol": 0.0},
        )
    all_f = sign * np.asarray(history_f)
    k = int(np.nanargmin(all_f))
    best_u = np.asarray(history_u[k])
    best_x = space.from_unit(best_u)
    best = space.apply(resolved, best_x)
    run = execute_run(best, out_dir / "optimum", progress=False)
    xs = space.from_unit(np.asarray(history_u))
    result = {
        "objective": objective,
        "sense": "maximise" if maximise else "minimise",
        "optimum": {n: float(v) for n, v in zip(space.names, best_x, strict=True)},
        "objective_at_optimum": float(history_f[k]),
        "evaluations": len(history_f),
        "screened": screen,
        "method": "bounded Brent (minimize_scalar)" if d == 1 else "Nelder-Mead with bounds",
        "history": [
            {**{n: float(v) for n, v in zip(space.names, x, strict=True)}, "objective": float(y)}
            for x, y in zip(xs, history_f, strict=True)
        ],
        "optimum_run": str(run.directory),
        "scenario": resolved.scenario.name,
        "model": resolved.model,
        "parameters": space.describe(),
        "wall_time_s": time.perf_counter() - t0,
    }
    path = atomic_json(result, out_dir / "optimisation.json")
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    figs = [
        optimisation_figure(
            space.names,
            xs,
            np.asarray(history_f),
            best_x,
            float(history_f[k]),
            objective,
            out_dir / "figures",
        )
    ]
    rows = [(n, f"{v:.6g}") for n, v in result["optimum"].items()]
    html = report.write_report(
        out_dir / "report.html",
        f"{resolved.scenario.name} — {result['sense']} {objective} ({resolved.model})",
        [
            report.section(
                "Optimum",
                report.table(rows, ("field", "value"))
                + f"<p>{objective} = {result['objective_at_optimum']:.6g} after "
                f"{result['evaluations']} runs ({result['method']}); the optimum's "
                f"run: <a href='optimum/report.html'>optimum/report.html</a></p>",
            ),
            report.section("Figures", report.figures_html(figs, out_dir)),
        ],
    )
    return OptimisationOutput(out_dir, result, path, figs, html)
