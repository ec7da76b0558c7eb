"""Global sensitivity of named QoIs to parameter ranges: Sobol (Saltelli design, S1/ST with
bootstrap intervals) or Morris (μ*, σ), through the study engine.

Outputs in ``out_dir``: study.nc (every point's QoIs), sensitivity.json (keys ``S1``, ``ST``,
``S1_conf``, ``ST_conf`` — each {QoI: {parameter: value}} — or ``mu_star``, ``sigma``,
``mu``, ``mu_star_conf``; stochastic models: indices of the replicate means, and
``replicate_noise`` per QoI), figures/ and report.html.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from oncoscale.analysis.sensitivity import morris_indices, replicate_noise, sobol_indices
from oncoscale.atomic import atomic_json
from oncoscale.errors import InputError
from oncoscale.io.scenario import ResolvedRun
from oncoscale.viz import report
from oncoscale.viz.studies import morris_figure, sobol_figure
from oncoscale.workflows.studies.design import make_design
from oncoscale.workflows.studies.engine import StudyPlan, StudyResult, run_design
from oncoscale.workflows.studies.space import ParameterSpace

METHODS = ("sobol", "morris")
CONF_LEVEL = 0.95


@dataclass
class SensitivityOutput:
    """Files and numbers of a finished sensitivity study."""

    directory: Path
    study: StudyResult
    indices: dict[str, Any]
    json: Path
    figures: list[Path]
    report: Path


def execute_sensitivity(
    resolved: ResolvedRun,
    params: Sequence[str],
    qois: Sequence[str],
    method: str,
    samples: int,
    out_dir: Path,
    *,
    replicates: int | None = None,
    levels: int = 4,
    seed: int | None = None,
    resamples: int = 1000,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    figures: bool = True,
    qoi_options: dict[str, dict[str, Any]] | None = None,
    keep_runs: bool = False,
) -> SensitivityOutput:
    """Sobol or Morris indices of ``qois`` over the ranges ``params`` (``NAME=LO:HI[:log]``);
    ``samples``: Sobol base samples N (N (d + 2) points) or Morris trajectories r
    (r (d + 1) points). Everything is validated before the first run; ``keep_runs``: every
    point also writes its run folder (``runs/point-NNNNN``: result.nc, summary.json)."""
    if method not in METHODS:
        raise InputError(f"invalid value for '--method': {method!r}; allowed: sobol, morris")
    space = ParameterSpace.parse(params, resolved)
    seed = resolved.seed if seed is None else seed
    design = make_design(method, space.names, samples, seed, levels)
    plan = StudyPlan.make(
        resolved, space, design, qois, qoi_options=qoi_options, replicates=replicates
    )
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    study = run_design(
        plan,
        out_dir,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        progress=progress,
        attrs={"analysis": method},
        keep_runs=keep_runs,
    )
    wall = time.perf_counter() - t0
    indices = sensitivity_indices(study, method, levels, seed, resamples)
    indices.update(
        {
            "method": method,
            "scenario": resolved.scenario.name,
            "model": resolved.model,
            "parameters": space.describe(),
            "qois": [q.text for q in plan.qois],
            "samples": samples,
            "points": design.size,
            "replicates": plan.replicates,
            "runs": design.size * plan.replicates,
            "conf_level": CONF_LEVEL,
            "seed": seed,
            "failures": len(study.failures),
            "wall_time_s": wall,
            "workers": workers,
        }
    )
    path = atomic_json(indices, out_dir / "sensitivity.json")
    figs: list[Path] = []
    if figures:
        (out_dir / "figures").mkdir(parents=True, exist_ok=True)
        draw = sobol_figure if method == "sobol" else morris_figure
        figs = [draw(indices, q.text, out_dir / "figures") for q in plan.qois]
    html = _report(indices, figs, out_dir)
    return SensitivityOutput(out_dir, study, indices, path, figs, html)


def sensitivity_indices(
    study: StudyResult, method: str, levels: int = 4, seed: int = 0, resamples: int = 1000
) -> dict[str, Any]:
    """Indices of every QoI of a finished design (replicate means for stochastic models)."""
    names = study.plan.space.names
    out: dict[str, Any] = {}
    noise = {}
    for q in study.plan.qois:
        y = study.mean(q.text)
        if method == "sobol":
            res = sobol_indices(names, y, resamples=resamples, conf_level=CONF_LEVEL, seed=seed)
        else:
            res = morris_indices(
                names,
                study.plan.design.unit,
                y,
                levels=levels,
                resamples=resamples,
                conf_level=CONF_LEVEL,
                seed=seed,
            )
        for key, by_param in res.items():
            out.setdefault(key, {})[q.text] = by_param
        noise[q.text] = replicate_noise(study.qoi(q.text))
        noise[q.text]["mean"] = float(np.mean(y))
        noise[q.text]["variance_of_means"] = float(np.var(y, ddof=1))
    if study.plan.stochastic:
        out["replicate_noise"] = noise
    return out


def _report(indices: dict[str, Any], figs: list[Path], out_dir: Path) -> Path:
    keys = ("S1", "ST") if indices["method"] == "sobol" else ("mu_star", "sigma")
    conf = ("S1_conf", "ST_conf") if indices["method"] == "sobol" else ("mu_star_conf", None)
    sections = []
    for q in indices["qois"]:
        rows = []
        for p in indices[keys[0]][q]:
            cells = [p]
            for key, c in zip(keys, conf, strict=True):
                value = indices[key][q][p]
                cells.append(f"{value:.3g} ± {indices[c][q][p]:.2g}" if c else f"{value:.3g}")
            rows.append(tuple(cells))
        sections.append(report.section(f"QoI {q}", report.table(rows, ("parameter", *keys))))
    ranges = [(d["name"], d["lo"], d["hi"], d["scale"], d["units"]) for d in indices["parameters"]]
    sections.insert(
        0,
        report.section("Ranges", report.table(ranges, ("parameter", "lo", "hi", "scale", "units"))),
    )
    sections.append(report.section("Figures", report.figures_html(figs, out_dir)))
    sections.append(
        report.section(
            "Cost",
            f"<p>{indices['runs']} runs ({indices['points']} points × {indices['replicates']} "
            f"replicates), {indices['wall_time_s']:.1f} s on {indices['workers']} worker(s); "
            f"{indices['failures']} failed points.</p>",
        )
    )
    return report.write_report(
        out_dir / "report.html",
        f"{indices['scenario']} — {indices['method']} sensitivity ({indices['model']})",
        sections,
    )
