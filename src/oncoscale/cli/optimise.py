"""``oncoscale optimise``: protocol fields that minimise or maximise a QoI."""

from __future__ import annotations

import time

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors, out_dir
from oncoscale.cli.study_options import (
    copy_json,
    parse_qoi_options,
    resolve_study,
    study_options,
)


@main.command("optimise")
@click.argument("scenario")
@click.option(
    "--protocol-param",
    "params",
    multiple=True,
    required=True,
    metavar="protocol.K.FIELD=LO:HI[:log]",
    help="a protocol field and its range",
)
@click.option("--objective", required=True, help="QoI: NAME, NAME@T or METRIC.KEY")
@click.option("--minimise/--maximise", default=True, show_default=True)
@click.option(
    "--screen",
    type=int,
    default=8,
    show_default=True,
    help="Latin-hypercube points run (in parallel) before the local search",
)
@click.option("--max-evaluations", type=int, default=40, show_default=True)
@click.option(
    "--replicates",
    type=int,
    default=1,
    show_default=True,
    help="runs averaged per point (stochastic models)",
)
@study_options
@friendly_errors
def optimise_cmd(
    scenario,
    params,
    objective,
    minimise,
    screen,
    max_evaluations,
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
    """Optimise protocol fields of SCENARIO for OBJECTIVE (derivative-free, scipy); keeps
    the optimum's run with its report; writes optimisation.json, figures, report.html."""
    from oncoscale.workflows.studies.optimisation import execute_optimisation

    if keep_runs:
        from oncoscale.errors import InputError

        raise InputError(
            "--keep-runs is for study and sensitivity; optimise keeps its optimum in optimum/"
        )
    resolved = resolve_study(scenario, model, sets, t_end, seed, workers, scheduler)
    directory = out_dir(out, resolved.scenario.name, f"optimise-{resolved.model}")
    t0 = time.perf_counter()
    res = execute_optimisation(
        resolved,
        params,
        objective,
        directory,
        maximise=not minimise,
        screen=screen,
        max_evaluations=max_evaluations,
        replicates=replicates,
        qoi_options=parse_qoi_options(qoi_options),
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        progress=not quiet,
    )
    copy_json(res.json, json_file)
    for name, value in res.result["optimum"].items():
        click.echo(f"{name} = {value:.6g}")
    click.echo(
        f"{objective} = {res.result['objective_at_optimum']:.6g} "
        f"({res.result['evaluations']} runs, {time.perf_counter() - t0:.1f} s)"
    )
    click.echo(f"report: {res.report}")
