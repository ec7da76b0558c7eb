"""``oncoscale study``: QoIs over a design (grid, Latin hypercube, Saltelli, Morris points),
or the study a scenario file declares."""

from __future__ import annotations

import time

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors, out_dir
from oncoscale.cli.study_options import parse_qoi_options, resolve_study, study_options


@main.command("study")
@click.argument("scenario")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=LO:HI[:log]",
    help="a parameter (or protocol.K.FIELD) and its range; repeatable",
)
@click.option(
    "--qoi",
    "qois",
    multiple=True,
    metavar="QOI",
    help="NAME (final value), NAME@T, or METRIC.KEY; repeatable",
)
@click.option(
    "--design",
    type=click.Choice(["grid", "lhs", "sobol", "morris"]),
    default="lhs",
    show_default=True,
)
@click.option("--samples", type=int, help="points (lhs), base samples (sobol), trajectories")
@click.option("--levels", type=int, help="grid levels per parameter (grid), Morris levels")
@click.option("--replicates", type=int, help="runs per point (stochastic models)")
@study_options
@friendly_errors
def study_cmd(
    scenario,
    params,
    qois,
    design,
    samples,
    levels,
    replicates,
    model,
    sets,
    t_end,
    seed,
    out,
    workers,
    scheduler,
    resume,
    json_file,
    qoi_options,
    quiet,
    keep_runs,
) -> None:
    """Run QoIs of SCENARIO over a design of parameter ranges (study.nc: point x replicate
    per QoI, summary.json, figures, report.html). Without --param: the study SCENARIO's
    file declares ([study] kind = design, sensitivity, calibration or optimisation)."""
    from oncoscale.cli.study_options import copy_json
    from oncoscale.errors import InputError
    from oncoscale.workflows.studies.declared import execute_declared, execute_design

    resolved = resolve_study(scenario, model, sets, t_end, seed, workers, scheduler)
    directory = out_dir(out, resolved.scenario.name, f"study-{resolved.model}")
    t0 = time.perf_counter()
    common = {"workers": workers, "scheduler": scheduler, "resume": resume, "progress": not quiet}
    if not params:
        if qois:
            raise InputError("--qoi needs --param ranges (or none of both: the declared study)")
        path = execute_declared(resolved, directory, **common)
        copy_json(path, json_file if path.suffix == ".json" else None)
    else:
        res = execute_design(
            resolved,
            params,
            qois,
            directory,
            design=design,
            samples=samples,
            levels=levels,
            replicates=replicates,
            qoi_options=parse_qoi_options(qoi_options),
            keep_runs=keep_runs,
            **common,
        )
        path = res.path
        copy_json(directory / "summary.json", json_file)
    click.echo(f"wrote {path} ({time.perf_counter() - t0:.1f} s)")
    click.echo(f"report: {directory / 'report.html'}")
