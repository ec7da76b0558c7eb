"""``oncoscale kinetic``: the homogeneous equilibria table and linear-vs-nonlinear comparisons
of the kinetic family's macroscopic reductions."""

from __future__ import annotations

import time
from pathlib import Path

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors, out_dir, set_option


@main.group("kinetic")
def kinetic_group() -> None:
    """Kinetic tumour–immune family: reductions and their comparison."""


@kinetic_group.command("table")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="write JSON here")
@click.option("--markdown", "md_path", type=click.Path(dir_okay=False), help="write Markdown here")
@friendly_errors
def table_cmd(json_path, md_path) -> None:
    """Equilibria and stability of every named parameter set under both reductions of its
    case (linear vs cross / self), and the PC windows B̄ < B < B̃."""
    from oncoscale.atomic import atomic_json, atomic_write
    from oncoscale.models.kinetic.table import table_markdown, table_records

    text = table_markdown()
    click.echo(text)
    if json_path:
        atomic_json(table_records(), Path(json_path))
    if md_path:
        atomic_write(Path(md_path), lambda tmp: Path(tmp).write_text(text + "\n"))


@kinetic_group.command("compare")
@click.argument("scenario")
@click.option("--model", help="pde-1d or pde-2d (default: the scenario's)")
@set_option
@click.option("--t-end", type=float, help="simulated horizon (default: the scenario's)")
@click.option(
    "--out", type=click.Path(file_okay=False), help="folder (default runs/SCENARIO/compare-MODEL)"
)
@click.option("--quiet", is_flag=True, help="no progress bar")
@friendly_errors
def compare_cmd(scenario, model, sets, t_end, out, quiet) -> None:
    """Run SCENARIO with linear diffusion and with the cross- (CC) or self-diffusion (PC)
    closure from the same initial data; write both runs and a side-by-side figure."""
    from oncoscale.io.scenario import parse_overrides
    from oncoscale.workflows.kinetic_compare import compare_reductions

    t0 = time.perf_counter()
    directory = out_dir(out, scenario, f"compare-{model or 'default'}")
    results, fig = compare_reductions(
        scenario, model, parse_overrides(sets), t_end, directory, progress=not quiet
    )
    for red, path in results.items():
        click.echo(f"{red}: {path}")
    click.echo(f"figure: {fig} ({time.perf_counter() - t0:.1f} s)")
