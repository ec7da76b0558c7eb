"""``oncoscale bifurcation``: compute, draw and report a one-parameter diagram of a scenario's
homogeneous ODE (the family's ``bifurcation`` part)."""

from __future__ import annotations

from pathlib import Path

from oncoscale.analysis.bifurcation import compute_diagram
from oncoscale.atomic import atomic_json
from oncoscale.io.scenario import load_scenario, parse_overrides, resolve
from oncoscale.models.registry import family
from oncoscale.viz.bifurcation import diagram_figure, diagram_report


def bifurcation_diagram(
    scenario: str,
    param: str,
    p_from: float,
    p_to: float,
    *,
    sets: tuple[str, ...] = (),
    variant: str | None = None,
    reduction: str | None = None,
    out: Path,
    json_path: Path | None = None,
    cycles: bool = True,
) -> dict:
    """Compute, draw and report the diagram; return its JSON record (also used by ``demo``)."""
    sc = load_scenario(scenario)
    resolved = resolve(sc, None, parse_overrides(sets), variant=variant)
    params = resolved.params
    problem = family(sc.family).require("bifurcation", "homogeneous ODE to continue")(
        params, param, reduction=reduction
    )
    if param in type(params).names():  # both ends must be admissible values (sign, range)
        for value in (p_from, p_to):
            params.updated(**{param: value})
    diagram = compute_diagram(problem, p_from, p_to, cycles=cycles)
    record = {"scenario": sc.name, **diagram.to_dict()}
    out.mkdir(parents=True, exist_ok=True)
    figure = diagram_figure(diagram, out / f"bifurcation-{param}.png")
    atomic_json(record, out / "diagram.json")
    if json_path is not None:
        atomic_json(record, json_path)
    diagram_report(diagram, figure, out)
    return record
