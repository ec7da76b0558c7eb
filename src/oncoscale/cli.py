"""The ``oncoscale`` command."""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path

import click

from oncoscale import __version__
from oncoscale.errors import InputError


def _friendly_errors(fn):
    """Turn InputError into one clear line on stderr and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper


def _out_dir(out: str | None, *parts: str) -> Path:
    return Path(out) if out else Path("runs").joinpath(*parts)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="oncoscale")
def main() -> None:
    """Multiscale tumour-immune modelling: run published scenarios at every scale."""


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
@click.option("--t-end", type=float, help="simulated horizon (h)")
@click.option("--seed", type=int, help="random seed of stochastic models")
@click.option(
    "--out", type=click.Path(file_okay=False), help="output folder (default runs/SCENARIO/MODEL)"
)
@click.option("--resume", is_flag=True, help="continue an interrupted run from its checkpoint")
@click.option("--no-study", is_flag=True, help="run the scenario once even if it defines a study")
@click.option("--workers", type=int, default=1, show_default=True, help="parallel runs of a study")
@click.option("--scheduler", help="Dask scheduler address for study runs")
@click.option("--no-figures", is_flag=True, help="skip figures and report")
@click.option("--quiet", is_flag=True, help="no progress bar")
@_friendly_errors
def run_cmd(
    scenario, model, sets, t_end, seed, out, resume, no_study, workers, scheduler, no_figures, quiet
) -> None:
    """Run SCENARIO (a shipped name or a .toml file) and write result.nc, summary.json,
    figures and report.html."""
    from oncoscale.io.scenario import load_scenario, parse_overrides, resolve
    from oncoscale.run.pipeline import execute_run, execute_study

    sc = load_scenario(scenario)
    resolved = resolve(sc, model, parse_overrides(sets), t_end, seed)
    directory = _out_dir(out, sc.name, resolved.model)
    t0 = time.perf_counter()
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


if __name__ == "__main__":  # pragma: no cover
    main()
