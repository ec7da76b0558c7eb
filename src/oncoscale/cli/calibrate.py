"""``oncoscale calibrate``: fit parameters to data (MLE or ABC-SMC, multi-fidelity)."""

from __future__ import annotations

import time

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors, out_dir
from oncoscale.cli.study_options import copy_json, resolve_study, study_options


@main.command("calibrate")
@click.argument("scenario")
@click.option(
    "--data",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV with columns time, observable, value and optionally sd, replicate; units in a "
    "'# units:' line",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    required=True,
    metavar="NAME=LO:HI[:log]",
    help="a parameter to fit and its prior/search range; repeatable",
)
@click.option(
    "--method",
    type=click.Choice(["mle", "abc"]),
    help="mle (deterministic models) or abc (default for stochastic ones)",
)
@click.option("--starts", type=int, default=4, show_default=True, help="MLE: multi-start count")
@click.option("--population", type=int, default=100, show_default=True, help="ABC particles")
@click.option("--generations", type=int, default=5, show_default=True, help="ABC generations")
@click.option("--target-epsilon", type=float, help="ABC: stop once every distance is below")
@click.option(
    "--prefit-model", help="ABC: first fit this continuum model, start from its posterior"
)
@click.option(
    "--replicates",
    type=int,
    default=1,
    show_default=True,
    help="ABC: runs per particle (stochastic models)",
)
@study_options
@friendly_errors
def calibrate_cmd(
    scenario,
    data,
    params,
    method,
    starts,
    population,
    generations,
    target_epsilon,
    prefit_model,
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
    """Calibrate parameters of SCENARIO to DATA; writes calibration.json (estimate,
    interval95), figures and report.html."""
    from oncoscale.workflows.studies.calibration import execute_calibration

    if qoi_options:
        from oncoscale.errors import InputError

        raise InputError("--qoi-option does not apply to calibrate (its QoIs are the data)")
    if keep_runs:
        from oncoscale.errors import InputError

        raise InputError(
            "--keep-runs is for study and sensitivity; calibrate keeps its best fit in best/"
        )
    resolved = resolve_study(scenario, model, sets, t_end, seed, workers, scheduler)
    directory = out_dir(out, resolved.scenario.name, f"calibration-{resolved.model}")
    t0 = time.perf_counter()
    res = execute_calibration(
        resolved,
        data,
        params,
        directory,
        method=method,
        starts=starts,
        population=population,
        generations=generations,
        target_epsilon=target_epsilon,
        prefit_model=prefit_model,
        replicates=replicates,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        progress=not quiet,
    )
    copy_json(res.json, json_file)
    for name, (lo, hi) in res.result["interval95"].items():
        click.echo(f"{name:24s} {res.result['estimate'][name]:.5g}  95 %: [{lo:.5g}, {hi:.5g}]")
    click.echo(f"wrote {res.json} ({res.result['runs']} runs, {time.perf_counter() - t0:.1f} s)")
    click.echo(f"report: {res.report}")
