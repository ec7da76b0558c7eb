"""``oncoscale kinetic compare``: one kinetic scenario with the linear and the case's nonlinear
reduction from the same initial data, side by side."""

from __future__ import annotations

from pathlib import Path

from oncoscale.errors import InputError
from oncoscale.io.results import open_result
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.models.kinetic.table import CASE_REDUCTIONS
from oncoscale.viz.kinetic import comparison_figure
from oncoscale.workflows.pipeline import execute_run


def compare_reductions(
    scenario: str,
    model: str | None,
    overrides: dict,
    t_end: float | None,
    directory: Path,
    progress: bool = True,
) -> tuple[dict[str, Path], Path]:
    """Run ``scenario`` with the linear and the case's nonlinear reduction (same initial
    data, same numerics) and draw them side by side. Returns (result files, figure)."""
    sc = load_scenario(scenario)
    if sc.family != "kinetic":
        raise InputError(
            f"invalid scenario '{scenario}': family '{sc.family}'; allowed: a kinetic scenario"
        )
    if "reduction" in overrides:
        raise InputError("invalid --set 'reduction': compare runs both reductions itself")
    base = resolve(sc, model, overrides, t_end, None)
    if base.model == "ode" or base.model not in ("pde-1d", "pde-2d"):
        raise InputError(f"invalid value for '--model': {base.model!r}; allowed: pde-1d, pde-2d")
    results: dict[str, Path] = {}
    for red in CASE_REDUCTIONS[base.params.case]:
        resolved = resolve(sc, base.model, {**overrides, "reduction": red}, t_end, None)
        run_out = execute_run(resolved, directory / red, progress=progress, figures=True)
        results[red] = run_out.result
    runs = {red: open_result(path) for red, path in results.items()}
    fig = comparison_figure(runs, directory)
    return results, fig
