"""``oncoscale ensemble`` (N stochastic replicates on Dask) and ``oncoscale ensemble-compare``
(final values across several ensembles, seed Fig. 10)."""

from __future__ import annotations

import time

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors, out_dir, set_option, variant_option


@main.command("ensemble")
@click.argument("scenario")
@click.option("--runs", type=int, help="number of replicates (default: the scenario's study)")
@click.option("--model", help="stochastic representation (default: the scenario's, e.g. abm)")
@click.option("--seed", type=int, help="root seed S; replicate k uses SeedSequence(S).spawn(N)[k]")
@variant_option
@set_option
@click.option(
    "--t-end", type=float, help="simulated horizon, in the family's time unit (h, day or 1/r)"
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="output folder (default runs/SCENARIO/ensemble-MODEL)",
)
@click.option(
    "--workers", type=int, default=1, show_default=True, help="local Dask worker processes"
)
@click.option("--scheduler", help="address of a running Dask scheduler (instead of --workers)")
@click.option("--resume", is_flag=True, help="skip finished runs, continue interrupted ones")
@click.option("--no-figures", is_flag=True, help="skip figures and report")
@click.option("--quiet", is_flag=True, help="no progress bar")
@friendly_errors
def ensemble_cmd(
    scenario,
    runs,
    model,
    seed,
    variant,
    sets,
    t_end,
    out,
    workers,
    scheduler,
    resume,
    no_figures,
    quiet,
) -> None:
    """Run N replicates of SCENARIO's stochastic model; write one result per run
    (DIR/runs/run-NNNN/result.nc), DIR/ensemble.nc (mean and 5/25/50/75/95 % quantiles of the
    totals and of the sections along y = 0; extinction per run), figures and report.html."""
    from oncoscale.errors import InputError
    from oncoscale.io.scenario import load_scenario, parse_overrides, resolve
    from oncoscale.workflows.ensemble import (
        default_runs,
        default_stochastic_model,
        execute_ensemble,
    )

    if scheduler is not None and workers != 1:
        raise InputError("give either --workers or --scheduler, not both")
    sc = load_scenario(scenario)
    overrides = parse_overrides(sets)
    resolved = resolve(sc, model, overrides, t_end, seed, variant)
    if model is None:
        model = default_stochastic_model(resolved)
        resolved = resolve(sc, model, overrides, t_end, seed, variant)
    runs = runs if runs is not None else default_runs(resolved)
    if runs is None:
        raise InputError(f"scenario '{sc.name}' defines no ensemble; give --runs N")
    directory = out_dir(out, sc.name, f"ensemble-{resolved.model}")
    t0 = time.perf_counter()
    result = execute_ensemble(
        resolved,
        directory,
        runs,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        progress=not quiet,
        figures=not no_figures,
    )
    click.echo(
        f"wrote {result.ensemble} ({result.computed} of {runs} runs computed, "
        f"{time.perf_counter() - t0:.1f} s)"
    )
    for pop, e in result.summary["extinction"].items():
        click.echo(f"  {pop}: extinct in {e['runs_extinct']}/{runs} runs")
    if result.report is not None:
        click.echo(f"report: {result.report}")


@main.command("ensemble-compare")
@click.argument("directories", nargs=-1, required=True, type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), required=True, help="output folder")
@click.option("--labels", help="comma-separated labels (default: the scenario names)")
@click.option(
    "--observable", default="total_tumour", show_default=True, help="observable compared at t_end"
)
@friendly_errors
def ensemble_compare_cmd(directories, out, labels, observable) -> None:
    """Compare finished ensembles (folders written by `oncoscale ensemble`): violin plot of the
    final OBSERVABLE per ensemble and the fraction of runs in which it is 0 (seed Fig. 10:
    fraction of runs with no tumour left)."""
    from pathlib import Path

    from oncoscale.errors import InputError
    from oncoscale.workflows.ensemble import execute_ensemble_comparison

    names = [s.strip() for s in labels.split(",")] if labels else None
    if names is not None and len(names) != len(directories):
        raise InputError(
            f"invalid value for '--labels': {len(names)} labels for {len(directories)} folders"
        )
    comparison, _, html = execute_ensemble_comparison(
        [Path(d) for d in directories], Path(out), labels=names, observable=observable
    )
    for row in comparison["ensembles"]:
        lo, hi = row["fraction_zero_ci95"]
        click.echo(
            f"{row['label']}: {row['runs']} runs, {100 * row['fraction_zero']:.0f} % with "
            f"{observable} = 0 (95 % CI {100 * lo:.0f}-{100 * hi:.0f} %), mean "
            f"{row['mean']:.4g}, median {row['median']:.4g}"
        )
    for pair in comparison["pairs"]:
        a, b = pair["labels"]
        click.echo(
            f"{a} vs {b}: Fisher's exact p = {pair['fisher_p']:.3g}; runs per ensemble to "
            f"separate these fractions (5 % test, power 80 %): {pair['runs_to_separate']:.0f}"
        )
    click.echo(f"report: {html}")
