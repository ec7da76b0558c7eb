"""``oncoscale bifurcation``: one-parameter diagram of a scenario's homogeneous ODE."""

from __future__ import annotations

import time
from pathlib import Path

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors, out_dir, set_option, variant_option
from oncoscale.workflows.bifurcation import bifurcation_diagram


@main.command("bifurcation")
@click.argument("scenario")
@click.option("--param", required=True, help="the free parameter, e.g. alpha, zeta, beta")
@click.option("--from", "p_from", type=float, required=True, help="lower end of the range")
@click.option("--to", "p_to", type=float, required=True, help="upper end of the range")
@click.option("--reduction", help="homogeneous reduction, for families with several")
@variant_option
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
def bifurcation_cmd(
    scenario, param, p_from, p_to, reduction, variant, sets, json_path, out, no_cycles
):
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
        variant=variant,
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
