"""``oncoscale compare``: the ABM ensemble against the continuum models of a scenario."""

from __future__ import annotations

import time

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors, out_dir, variant_option


@main.command("compare")
@click.argument("scenario")
@click.option("--runs", type=int, default=10, show_default=True, help="ABM replicates")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="NAME=VALUE",
    help="override a parameter or output.NAME (all models), or MODEL.numerics.NAME; repeatable",
)
@click.option(
    "--t-end", type=float, help="simulated horizon, in the family's time unit (h, day or 1/r)"
)
@click.option("--seed", type=int, help="root seed of the ABM replicates")
@variant_option
@click.option(
    "--out", type=click.Path(file_okay=False), help="output folder (default runs/SCENARIO/compare)"
)
@click.option("--workers", type=int, default=1, show_default=True, help="local Dask workers")
@click.option("--scheduler", help="address of a running Dask scheduler (instead of --workers)")
@click.option(
    "--tolerance",
    type=float,
    help="oncolytic: relative widening of the ABM 5-95 % band in the divergence test "
    "(default 0.05)",
)
@click.option("--resume", is_flag=True, help="reuse finished runs")
@click.option("--quiet", is_flag=True, help="no progress bar")
@friendly_errors
def compare_cmd(
    scenario, runs, sets, t_end, seed, variant, out, workers, scheduler, tolerance, resume, quiet
) -> None:
    """Run SCENARIO's stochastic model (replicates) and its continuum limit and report their
    agreement over time. Oncolytic: ABM ensemble vs pde-2d on the lattice's grid and
    pde-radial (sections along y = 0, totals, fronts, discrepancy per time, divergence time;
    DIR/summary.json, DIR/comparison.nc, figures, report.html). Invasion: IBM replicates vs
    the age-structured PDE (totals, radially averaged profiles; compare.nc,
    compare_summary.json, compare.png)."""
    from oncoscale.errors import InputError
    from oncoscale.io.scenario import load_scenario, parse_overrides
    from oncoscale.models.registry import family

    if scheduler is not None and workers != 1:
        raise InputError("give either --workers or --scheduler, not both")
    sc = load_scenario(scenario)
    report = family(sc.family).require(
        "compare", "stochastic model to compare with its continuum limit"
    )
    t0 = time.perf_counter()
    lines = report(
        scenario,
        out_dir(out, sc.name, "compare"),
        runs,
        overrides=parse_overrides(sets),
        t_end=t_end,
        seed=seed,
        variant=variant,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        progress=not quiet,
        tolerance=tolerance,
    )
    click.echo(f"{lines[0]} ({time.perf_counter() - t0:.1f} s)")
    for line in lines[1:]:
        click.echo(line)
