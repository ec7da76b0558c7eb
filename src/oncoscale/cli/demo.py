"""``oncoscale demo``: the main job on built-in defaults, with an index page."""

from __future__ import annotations

from pathlib import Path

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors


@main.command("demo")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="demo-output",
    show_default=True,
    help="output folder",
)
@click.option("--quiet", is_flag=True, help="no progress bar")
@friendly_errors
def demo_cmd(out: str, quiet: bool) -> None:
    """Central-injection scenario (radial PDE, 1000 h), the ODE's bifurcation diagrams in zeta,
    alpha and beta, and an index page OUT/index.html linking every report."""
    from oncoscale.workflows.demo import run_demo

    index = run_demo(Path(out), progress=not quiet, echo=click.echo)
    click.echo(f"report: {index}")
