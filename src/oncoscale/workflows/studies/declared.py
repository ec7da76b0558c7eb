"""Studies declared in scenario files (``[study] kind = "design" | "sensitivity" |
"calibration" | "optimisation"``), and the plain design study (QoIs over a grid or a Latin
hypercube: study.nc, summary.json with per-QoI statistics, figures, report.html)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from oncoscale.atomic import atomic_json
from oncoscale.errors import InputError
from oncoscale.io.scenario import (
    CalibrationStudy,
    DesignStudy,
    OptimisationStudy,
    ResolvedRun,
    SensitivityStudy,
    resolve,
)
from oncoscale.viz import report
from oncoscale.viz.studies import design_figure
from oncoscale.workflows.studies.design import make_design
from oncoscale.workflows.studies.engine import StudyPlan, StudyResult, run_design
from oncoscale.workflows.studies.space import ParameterSpace

DECLARED = (DesignStudy, SensitivityStudy, CalibrationStudy, OptimisationStudy)


def execute_design(
    resolved: ResolvedRun,
    params: Sequence[str],
    qois: Sequence[str],
    out_dir: Path,
    *,
    design: str = "lhs",
    samples: int | None = None,
    levels: int | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    qoi_options: dict[str, dict[str, Any]] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    keep_runs: bool = False,
) -> StudyResult:
    """QoIs of ``resolved`` over a design of the ranges ``params``."""
    space = ParameterSpace.parse(params, resolved)
    seed = resolved.seed if seed is None else seed
    plan = StudyPlan.make(
        resolved,
        space,
        make_design(design, space.names, samples, seed, levels),
        qois,
        qoi_options=qoi_options,
        replicates=replicates,
    )
    out_dir = Path(out_dir)
    res = run_design(
        plan,
        out_dir,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        progress=progress,
        keep_runs=keep_runs,
    )
    stats = {
        q.text: {
            "mean": float(np.nanmean(res.qoi(q.text))),
            "min": float(np.nanmin(res.qoi(q.text))),
            "max": float(np.nanmax(res.qoi(q.text))),
        }
        for q in plan.qois
    }
    summary = {
        "scenario": resolved.scenario.name,
        "model": resolved.model,
        "design": design,
        "points": plan.design.size,
        "replicates": plan.replicates,
        "parameters": space.describe(),
        "qois": stats,
        "failures": {str(k): v for k, v in res.failures.items()},
    }
    atomic_json(summary, out_dir / "summary.json")
    figs = [
        design_figure(
            space.names,
            plan.values(),
            res.mean(q.text),
            q.text,
            out_dir / "figures",
            [d.log for d in space.dims],
        )
        for q in plan.qois
    ]
    rows = [(q, s["mean"], s["min"], s["max"]) for q, s in stats.items()]
    report.write_report(
        out_dir / "report.html",
        f"{resolved.scenario.name} — {design} design ({resolved.model})",
        [
            report.section("QoIs", report.table(rows, ("QoI", "mean", "min", "max"))),
            report.section("Figures", report.figures_html(figs, out_dir)),
        ],
    )
    return res


def execute_declared(
    resolved: ResolvedRun,
    out_dir: Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
) -> Path:
    """Run the study the scenario declares; returns its main file."""
    from oncoscale.workflows.studies.calibration import execute_calibration
    from oncoscale.workflows.studies.optimisation import execute_optimisation
    from oncoscale.workflows.studies.sensitivity import execute_sensitivity

    study = resolved.scenario.study
    if not isinstance(study, DECLARED):
        raise InputError(f"scenario '{resolved.scenario.name}' declares no multi-run study")
    if study.model is not None and study.model != resolved.model:
        resolved = resolve(
            resolved.scenario, study.model, resolved.overrides, resolved.t_end, resolved.seed
        )
    common = {"workers": workers, "scheduler": scheduler, "resume": resume, "progress": progress}
    if isinstance(study, DesignStudy):
        res = execute_design(
            resolved,
            study.parameters,
            study.qois,
            out_dir,
            design=study.design,
            samples=study.samples,
            levels=study.levels,
            replicates=study.replicates,
            qoi_options=study.options,
            **common,
        )
        return res.path
    if isinstance(study, SensitivityStudy):
        return execute_sensitivity(
            resolved,
            study.parameters,
            study.qois,
            study.method,
            study.samples,
            out_dir,
            replicates=study.replicates,
            levels=study.levels,
            qoi_options=study.options,
            **common,
        ).json
    if isinstance(study, CalibrationStudy):
        data = Path(study.data)
        if not data.is_absolute():
            data = Path(resolved.scenario.folder or ".") / data
        return execute_calibration(
            resolved,
            data,
            study.parameters,
            out_dir,
            method=study.method,
            population=study.population,
            generations=study.generations,
            prefit_model=study.prefit_model,
            **common,
        ).json
    return execute_optimisation(
        resolved,
        study.parameters,
        study.objective,
        out_dir,
        maximise=study.sense == "maximise",
        screen=study.screen,
        max_evaluations=study.max_evaluations,
        **common,
    ).json
