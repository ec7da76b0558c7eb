"""``oncoscale compare``: run the ABM ensemble and the continuum models of one scenario with
the same plan and write their comparison (comparison.nc, summary.json, figures, report).

Layout of ``DIR``: ``abm/`` (the ensemble, see :mod:`oncoscale.workflows.ensemble`), one folder per
continuum model (``pde-2d/``, ``pde-radial/`` with result.nc), ``comparison.nc``,
``summary.json``, ``figures/``, ``report.html``. The 2D PDE runs on the lattice's own grid
(dx = δ on [−L, L]², cell centres at the lattice sites).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

from oncoscale.analysis.compare import DEFAULT_TOLERANCE, compare, comparison_summary
from oncoscale.atomic import atomic_json
from oncoscale.errors import InputError
from oncoscale.io.results import open_result, write_netcdf
from oncoscale.io.scenario import ResolvedRun, Scenario, load_scenario, resolve
from oncoscale.viz.compare import comparison_figures, write_comparison_report
from oncoscale.workflows.ensemble import execute_ensemble
from oncoscale.workflows.pipeline import execute_run

STOCHASTIC = "abm"
CONTINUUM = ("pde-2d", "pde-radial")


@dataclass
class CompareOutput:
    """Paths and key numbers of a comparison."""

    directory: Path
    comparison: Path
    summary: dict[str, Any]
    figures: list[Path]
    report: Path


def split_overrides(scenario: Scenario, overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Route ``--set`` overrides to the models: parameters and ``output.*`` go to every model,
    ``MODEL.numerics.NAME`` to one model (numerics differ between models)."""
    models = [STOCHASTIC, *[m for m in CONTINUUM if m in scenario.models]]
    routed: dict[str, dict[str, Any]] = {m: {} for m in models}
    for key, value in overrides.items():
        head, _, rest = key.partition(".")
        if head in routed and rest.startswith("numerics."):
            routed[head][rest] = value
        elif head == "numerics":
            raise InputError(
                f"invalid --set '{key}': numerics differ between models; write "
                f"MODEL.{key} with MODEL one of {', '.join(models)}"
            )
        else:
            for m in routed:
                routed[m][key] = value
    return routed


def _continuum_run(resolved: ResolvedRun, out: Path, resume: bool, progress: bool) -> xr.Dataset:
    """One continuum run (reused with ``resume`` when its result is the same run)."""
    result = out / "result.nc"
    if resume and result.exists():
        ds = open_result(result)
        if ds.attrs.get("scenario_resolved") == resolved.provenance():
            return ds
        raise InputError(
            f"cannot resume: {result} belongs to a different run; use another --out or run "
            "without --resume"
        )
    execute_run(resolved, out, resume=resume, progress=progress, figures=False)
    return open_result(result)


def execute_compare(
    scenario: Scenario,
    out_dir: Path,
    runs: int,
    *,
    overrides: dict[str, Any] | None = None,
    t_end: float | None = None,
    seed: int | None = None,
    variant: str | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    tolerance: float = DEFAULT_TOLERANCE,
) -> CompareOutput:
    """Run the ABM ensemble and the continuum models of ``scenario``; compare them."""
    if STOCHASTIC not in scenario.models:
        raise InputError(
            f"scenario '{scenario.name}' has no model '{STOCHASTIC}' to compare "
            f"(models: {', '.join(scenario.models)})"
        )
    continuum = [m for m in CONTINUUM if m in scenario.models]
    if not continuum:
        raise InputError(
            f"scenario '{scenario.name}' has no continuum model to compare with; "
            f"allowed: {', '.join(CONTINUUM)}"
        )
    if not 0 <= tolerance < 1:
        raise InputError(f"invalid value for '--tolerance': {tolerance!r}; allowed: 0 <= tol < 1")
    routed = split_overrides(scenario, dict(overrides or {}))
    abm = resolve(scenario, STOCHASTIC, routed[STOCHASTIC], t_end, seed, variant)
    pdes = {}
    for m in continuum:
        extra = routed[m]
        if m == "pde-2d":  # the mean field of the lattice's walks: the lattice's own grid,
            # central tumour fluxes, central immune diffusion with upwind chemotactic drift
            # (the move rule θ_z/4 + ν(φ_k − φ_j)+/(4φ*) takes its movers from the site left)
            extra = {
                "numerics.dx": abm.params.delta,
                "numerics.diffusion": "central",
                "numerics.chemotaxis": "upwind",
                **extra,
            }
        pdes[m] = resolve(scenario, m, extra, t_end, variant=variant)
    for r in (abm, *pdes.values()):
        r.representation()  # validate everything before running anything
        r.plan()
    out_dir = Path(out_dir)
    ens_out = execute_ensemble(
        abm,
        out_dir / STOCHASTIC,
        runs,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        progress=progress,
        figures=False,  # the comparison figures below show the ensemble against the PDEs
    )
    results = {m: _continuum_run(r, out_dir / m, resume, progress) for m, r in pdes.items()}
    ens = open_result(ens_out.ensemble)
    cmp = compare(ens, results, tolerance)
    path = write_netcdf(cmp, out_dir / "comparison.nc")
    summary = comparison_summary(cmp)
    summary["abm_extinction"] = ens_out.summary["extinction"]
    summary["wall_time_s"] = {
        "abm_runs_total": ens_out.summary["run_wall_time_s"]["total"],
        **{m: float(ds.attrs.get("wall_time_s", float("nan"))) for m, ds in results.items()},
    }
    atomic_json(summary, out_dir / "summary.json")
    figs = comparison_figures(cmp, out_dir / "figures", summary)
    html = write_comparison_report(scenario, cmp, summary, figs, out_dir)
    return CompareOutput(out_dir, path, summary, figs, html)


def compare_report(
    scenario: str,
    out_dir: Path,
    runs: int,
    *,
    tolerance: float | None = None,
    **options: Any,
) -> list[str]:
    """``oncoscale compare`` for the oncolytic family: :func:`execute_compare` on the scenario
    (name or path); returns the lines to report (divergence times, output paths)."""
    res = execute_compare(
        load_scenario(scenario),
        out_dir,
        runs,
        tolerance=DEFAULT_TOLERANCE if tolerance is None else tolerance,
        **options,
    )
    lines = [f"wrote {res.comparison}"]
    for model, v in res.summary["continuum"].items():
        td = v["divergence_time_h"]
        when = f"{td:g} h" if math.isfinite(td) else "none"
        lines.append(
            f"  vs {model}: divergence {when}; by population {v['divergence_time_by_population_h']}"
            f"; first |rel. difference| > 25 %: {v['first_exceedance_h']}"
        )
    lines.append(f"report: {res.report}")
    return lines
