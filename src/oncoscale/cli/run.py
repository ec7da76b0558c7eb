"""``oncoscale list`` and ``oncoscale run``."""

from __future__ import annotations

import time

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors, out_dir, variant_option


@main.command("list")
def list_cmd() -> None:
    """List the shipped scenarios, one line each."""
    from oncoscale.io.scenario import available_scenarios

    for sc in available_scenarios().values():
        click.echo(sc.one_line())


@main.command("run")
@click.argument("scenario")
@click.option(
    "--model", help="representation, e.g. ode, pde-radial, pde-2d (default: the scenario's)"
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="NAME=VALUE",
    help="override a parameter (NAME), numerics.NAME or output.NAME; repeatable",
)
@click.option(
    "--t-end", type=float, help="simulated horizon, in the family's time unit (h, day or 1/r)"
)
@click.option(
    "--dim", type=click.IntRange(2, 3), help="space dimension of the model (sets numerics.dim)"
)
@click.option("--seed", type=int, help="random seed of stochastic models")
@variant_option
@click.option(
    "--out", type=click.Path(file_okay=False), help="output folder (default runs/SCENARIO/MODEL)"
)
@click.option("--resume", is_flag=True, help="continue an interrupted run from its checkpoint")
@click.option("--no-study", is_flag=True, help="run the scenario once even if it defines a study")
@click.option("--workers", type=int, default=1, show_default=True, help="parallel runs of a study")
@click.option("--scheduler", help="Dask scheduler address for study runs")
@click.option("--no-figures", is_flag=True, help="skip figures and report")
@click.option("--quiet", is_flag=True, help="no progress bar")
@friendly_errors
def run_cmd(
    scenario,
    model,
    sets,
    t_end,
    dim,
    seed,
    variant,
    out,
    resume,
    no_study,
    workers,
    scheduler,
    no_figures,
    quiet,
) -> None:
    """Run SCENARIO (a shipped name or a .toml file) and write result.nc, summary.json,
    figures and report.html."""
    from oncoscale.io.scenario import load_scenario, parse_overrides, resolve
    from oncoscale.workflows.pipeline import execute_run, execute_study

    sc = load_scenario(scenario)
    overrides = parse_overrides(sets)
    if dim is not None:
        overrides["numerics.dim"] = dim
    resolved = resolve(sc, model, overrides, t_end, seed, variant)
    directory = out_dir(out, sc.name, resolved.model)
    t0 = time.perf_counter()
    declared = ("design", "sensitivity", "calibration", "optimisation")
    if sc.study is not None and sc.study.kind in declared and not no_study:
        from oncoscale.workflows.studies.declared import execute_declared

        path = execute_declared(
            resolved,
            directory,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            progress=not quiet,
        )
        click.echo(f"wrote {path} ({time.perf_counter() - t0:.1f} s)")
        click.echo(f"report: {path.parent / 'report.html'}")
        return
    if sc.study is not None and sc.study.kind == "sweep" and not no_study:
        result = execute_study(
            resolved,
            directory,
            resume=resume,
            progress=not quiet,
            workers=workers,
            scheduler=scheduler,
        )
    else:
        result = execute_run(
            resolved, directory, resume=resume, progress=not quiet, figures=not no_figures
        )
    click.echo(f"wrote {result.result} ({time.perf_counter() - t0:.1f} s)")
    if result.report is not None:
        click.echo(f"report: {result.report}")


@main.command("figures")
@click.argument("directory", type=click.Path(file_okay=False))
@friendly_errors
def figures_cmd(directory) -> None:
    """Redraw the figures and report.html of the finished run in DIRECTORY from its
    result.nc, without rerunning (e.g. after 'oncoscale run --no-figures')."""
    from pathlib import Path

    from oncoscale.workflows.pipeline import redraw_run

    out = redraw_run(Path(directory))
    click.echo(f"wrote {len(out.figures)} figures")
    click.echo(f"report: {out.report}")
