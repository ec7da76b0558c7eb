"""``oncoscale bifurcation``: compute, draw and report a one-parameter diagram of a scenario's
homogeneous ODE (the family's ``bifurcation`` part)."""

from __future__ import annotations

import math
from pathlib import Path

from oncoscale.analysis.bifurcation import compute_diagram
from oncoscale.atomic import atomic_json
from oncoscale.errors import InputError
from oncoscale.io.folders import check_output_folder
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
    check_output_folder(out)
    if json_path is not None and Path(json_path).is_dir():
        raise InputError(f"invalid value for '--json': '{json_path}' is a folder; allowed: a file")
    sc = load_scenario(scenario)
    resolved = resolve(sc, None, parse_overrides(sets), variant=variant)
    params = resolved.params
    problem = family(sc.family).require("bifurcation", "homogeneous ODE to continue")(
        params, param, reduction=reduction
    )
    for option, value in (("--from", p_from), ("--to", p_to)):
        if not math.isfinite(value):
            raise InputError(f"invalid value for '{option}': {value!r}; allowed: a finite number")
        if param in type(params).names():  # an admissible value of the parameter (sign, range)
            try:
                params.updated(**{param: value})
            except InputError as exc:
                raise InputError(f"invalid value for '{option}': {exc}") from None
    diagram = compute_diagram(problem, p_from, p_to, cycles=cycles)
    record = {"scenario": sc.name, **diagram.to_dict()}
    out.mkdir(parents=True, exist_ok=True)
    figure = diagram_figure(diagram, out / f"bifurcation-{param}.png")
    atomic_json(record, out / "diagram.json")
    if json_path is not None:
        atomic_json(record, json_path)
    diagram_report(diagram, figure, out)
    return record
