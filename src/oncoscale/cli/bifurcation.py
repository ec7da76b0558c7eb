"""``oncoscale bifurcation``: one-parameter diagram of a scenario's homogeneous ODE."""

from __future__ import annotations

import time
from pathlib import Path

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors, out_dir, set_option


def bifurcation_diagram(
    scenario: str,
    param: str,
    p_from: float,
    p_to: float,
    *,
    sets: tuple[str, ...] = (),
    reduction: str | None = None,
    out: Path,
    json_path: Path | None = None,
    cycles: bool = True,
) -> dict:
    """Compute, draw and report the diagram; return its JSON record (also used by ``demo``)."""
    from oncoscale.analysis.bifurcation import compute_diagram
    from oncoscale.io.atomic import atomic_json
    from oncoscale.io.scenario import load_scenario, parse_overrides, resolve
    from oncoscale.models.registry import family
    from oncoscale.viz.bifurcation import diagram_figure, diagram_report

    sc = load_scenario(scenario)
    resolved = resolve(sc, None, parse_overrides(sets))
    params = resolved.params
    problem = family(sc.family).bifurcation_builder()(params, param, reduction=reduction)
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


@main.command("bifurcation")
@click.argument("scenario")
@click.option("--param", required=True, help="the free parameter, e.g. alpha, zeta, beta")
@click.option("--from", "p_from", type=float, required=True, help="lower end of the range")
@click.option("--to", "p_to", type=float, required=True, help="upper end of the range")
@click.option("--reduction", help="homogeneous reduction, for families with several")
@set_option
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), help="also write the JSON here"
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="folder (default runs/SCENARIO/bifurcation-PARAM)",
)
@click.option("--no-cycles", is_flag=True, help="equilibria only (skip limit-cycle branches)")
@friendly_errors
def bifurcation_cmd(scenario, param, p_from, p_to, reduction, sets, json_path, out, no_cycles):
    """Continue the equilibria of SCENARIO's homogeneous ODE in PARAM over [FROM, TO], follow the
    limit cycles born at Hopf points, and write diagram.json, the figure and report.html."""
    t0 = time.perf_counter()
    directory = out_dir(out, scenario, f"bifurcation-{param}")
    record = bifurcation_diagram(
        scenario,
        param,
        p_from,
        p_to,
        sets=sets,
        reduction=reduction,
        out=directory,
        json_path=Path(json_path) if json_path else None,
        cycles=not no_cycles,
    )
    for pt in record["points"]:
        extra = f" ({pt['criticality']})" if pt.get("criticality") else ""
        click.echo(f"{pt['type']:>16s}  {param} = {pt['value']:.10g}{extra}")
    for warning in record["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"wrote {directory} ({time.perf_counter() - t0:.1f} s)")
