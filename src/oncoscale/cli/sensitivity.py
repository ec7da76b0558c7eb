"""``oncoscale sensitivity``: Sobol or Morris indices of QoIs over parameter ranges."""

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


@main.command("sensitivity")
@click.argument("scenario")
@click.option(
    "--param",
    "params",
    multiple=True,
    required=True,
    metavar="NAME=LO:HI[:log]",
    help="a parameter (or protocol.K.FIELD) and its range; repeatable",
)
@click.option(
    "--qoi",
    "qois",
    multiple=True,
    required=True,
    metavar="QOI",
    help="NAME (final value), NAME@T, or METRIC.KEY; repeatable",
)
@click.option(
    "--method", type=click.Choice(["sobol", "morris"]), default="sobol", show_default=True
)
@click.option(
    "--samples",
    type=int,
    required=True,
    help="Sobol: base samples N (a power of 2; N(d+2) runs); Morris: trajectories r",
)
@click.option("--replicates", type=int, help="runs per point (stochastic models)")
@click.option("--levels", type=int, default=4, show_default=True, help="Morris grid levels")
@study_options
@friendly_errors
def sensitivity_cmd(
    scenario,
    params,
    qois,
    method,
    samples,
    replicates,
    levels,
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
    """Global sensitivity of QoIs of SCENARIO to parameter ranges: Sobol S1/ST with bootstrap
    intervals or Morris mu*/sigma; writes study.nc, sensitivity.json, figures, report.html."""
    from oncoscale.workflows.studies.sensitivity import execute_sensitivity

    resolved = resolve_study(scenario, model, sets, t_end, seed, workers, scheduler)
    directory = out_dir(out, resolved.scenario.name, f"sensitivity-{method}-{resolved.model}")
    t0 = time.perf_counter()
    res = execute_sensitivity(
        resolved,
        params,
        qois,
        method,
        samples,
        directory,
        replicates=replicates,
        levels=levels,
        qoi_options=parse_qoi_options(qoi_options),
        keep_runs=keep_runs,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        progress=not quiet,
    )
    copy_json(res.json, json_file)
    keys = ("S1", "ST") if method == "sobol" else ("mu_star", "sigma")
    for q in res.indices["qois"]:
        click.echo(f"{q}:")
        for p in res.indices[keys[0]][q]:
            click.echo(f"  {p:24s} " + "  ".join(f"{k} {res.indices[k][q][p]:8.4f}" for k in keys))
    if res.study.failures:
        click.echo(f"warning: {len(res.study.failures)} points failed (see study.nc 'failed')")
    click.echo(f"wrote {res.json} ({res.indices['runs']} runs, {time.perf_counter() - t0:.1f} s)")
    click.echo(f"report: {res.report}")
