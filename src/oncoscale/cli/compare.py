"""``oncoscale compare``: the ABM ensemble against the continuum models of a scenario."""

from __future__ import annotations

import math
import time

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors, out_dir


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
@click.option("--t-end", type=float, help="simulated horizon (h)")
@click.option("--seed", type=int, help="root seed of the ABM replicates")
@click.option(
    "--out", type=click.Path(file_okay=False), help="output folder (default runs/SCENARIO/compare)"
)
@click.option("--workers", type=int, default=1, show_default=True, help="local Dask workers")
@click.option("--scheduler", help="address of a running Dask scheduler (instead of --workers)")
@click.option(
    "--tolerance",
    type=float,
    default=0.05,
    show_default=True,
    help="relative widening of the ABM 5-95 % band in the divergence test",
)
@click.option("--resume", is_flag=True, help="reuse finished runs")
@click.option("--quiet", is_flag=True, help="no progress bar")
@friendly_errors
def compare_cmd(
    scenario, runs, sets, t_end, seed, out, workers, scheduler, tolerance, resume, quiet
) -> None:
    """Run SCENARIO's ABM ensemble and its continuum models (pde-2d on the lattice's grid,
    pde-radial) and report their agreement over time: section profiles along y = 0, totals,
    fronts, discrepancy metrics per time and the divergence time (DIR/summary.json,
    DIR/comparison.nc, figures, report.html)."""
    from oncoscale.errors import InputError
    from oncoscale.io.scenario import load_scenario, parse_overrides
    from oncoscale.run.compare import execute_compare

    if scheduler is not None and workers != 1:
        raise InputError("give either --workers or --scheduler, not both")
    sc = load_scenario(scenario)
    t0 = time.perf_counter()
    if sc.family == "invasion":  # IBM replicates vs the age-structured PDE
        from oncoscale.analysis.invasion_compare import compare_ibm_pde

        directory = out_dir(out, sc.name, "compare")
        summary = compare_ibm_pde(
            scenario,
            runs,
            t_end if t_end is not None else sc.t_end,
            directory,
            seed=seed,
            overrides=parse_overrides(sets),
            workers=workers,
            scheduler=scheduler,
            progress=not quiet,
        )
        click.echo(f"wrote {directory} ({time.perf_counter() - t0:.1f} s)")
        for name, v in summary["totals"].items():
            click.echo(
                f"  total {name}: final relative difference IBM vs PDE {v['rel_diff_final']:.3g}"
            )
        for name, v in summary["profiles"].items():
            click.echo(
                f"  radial profile {name}: relative L2 distance {v['rel_l2_mean_vs_pde'][-1]:.3g}"
            )
        return
    res = execute_compare(
        sc,
        out_dir(out, sc.name, "compare"),
        runs,
        overrides=parse_overrides(sets),
        t_end=t_end,
        seed=seed,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        progress=not quiet,
        tolerance=tolerance,
    )
    click.echo(f"wrote {res.comparison} ({time.perf_counter() - t0:.1f} s)")
    for model, v in res.summary["continuum"].items():
        td = v["divergence_time_h"]
        when = f"{td:g} h" if math.isfinite(td) else "none"
        click.echo(
            f"  vs {model}: divergence {when}; by population {v['divergence_time_by_population_h']}"
            f"; first |rel. difference| > 25 %: {v['first_exceedance_h']}"
        )
    click.echo(f"report: {res.report}")
