"""Options shared by the study verbs (sensitivity, calibrate, optimise)."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from oncoscale.errors import InputError


def study_options(fn):
    """--model, --set, --t-end, --seed, --out, --workers, --scheduler, --resume, --json,
    --quiet."""
    for option in reversed(
        [
            click.option("--model", help="representation (default: the scenario's)"),
            click.option(
                "--set",
                "sets",
                multiple=True,
                metavar="NAME=VALUE",
                help="fixed override of a parameter, numerics.NAME or output.NAME; repeatable",
            ),
            click.option("--t-end", type=float, help="horizon, in the family's time unit"),
            click.option("--seed", type=int, help="root seed (designs, replicates, ABC)"),
            click.option("--out", type=click.Path(file_okay=False), help="output folder"),
            click.option(
                "--workers",
                type=int,
                default=1,
                show_default=True,
                help="local Dask worker processes",
            ),
            click.option("--scheduler", help="address of a running Dask scheduler"),
            click.option("--resume", is_flag=True, help="skip finished points of a killed study"),
            click.option(
                "--json",
                "json_file",
                type=click.Path(dir_okay=False),
                help="also copy the result JSON here",
            ),
            click.option(
                "--qoi-option",
                "qoi_options",
                multiple=True,
                metavar="METRIC.OPTION=VALUE",
                help="option of a metric QoI, e.g. outcome.observable=n1; repeatable",
            ),
            click.option("--quiet", is_flag=True, help="no progress bar"),
            click.option(
                "--keep-runs",
                is_flag=True,
                help="also write every point's run folder (runs/point-NNNNN/result.nc, ...)",
            ),
        ]
    ):
        fn = option(fn)
    return fn


def resolve_study(scenario: str, model, sets, t_end, seed, workers, scheduler):
    """The resolved scenario of a study verb (validated)."""
    from oncoscale.io.scenario import load_scenario, parse_overrides, resolve

    if scheduler is not None and workers != 1:
        raise InputError("give either --workers or --scheduler, not both")
    return resolve(load_scenario(scenario), model, parse_overrides(sets), t_end, seed)


def copy_json(source: Path, json_file: str | None) -> None:
    """Copy the result JSON to --json FILE."""
    if json_file:
        Path(json_file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, json_file)


def parse_qoi_options(items) -> dict[str, dict]:
    """``["outcome.observable=n1"]`` → ``{"outcome": {"observable": "n1"}}``."""
    from oncoscale.io.scenario import parse_value

    out: dict[str, dict] = {}
    for item in items:
        key, sep, value = item.partition("=")
        metric, dot, option = key.strip().partition(".")
        if not sep or not dot or not metric or not option:
            raise InputError(f"invalid --qoi-option '{item}': expected METRIC.OPTION=VALUE")
        out.setdefault(metric, {})[option] = parse_value(value)
    return out
