"""``oncoscale explore``: the explorer in the browser."""

from __future__ import annotations

from pathlib import Path

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors


@main.command("explore")
@click.argument("directory", default=".", type=click.Path(file_okay=False, exists=True))
@click.option("--port", type=click.IntRange(1, 65535), default=5006, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="address to bind; the default is this machine only (give 0.0.0.0 to expose it)",
)
@click.option("--show", is_flag=True, help="open a browser tab")
@friendly_errors
def explore_cmd(directory, port, host, show) -> None:
    """Open the explorer on http://HOST:PORT for the folder DIRECTORY: choose a scenario,
    change parameters, run with live views, the homogeneous ODE at slider speed, open and
    compare finished results. Runs are written to DIRECTORY/explorer-runs; only results
    inside DIRECTORY are listed."""
    from oncoscale.workflows.explorer import serve

    click.echo(f"oncoscale explorer: http://{host}:{port}/ (folder {Path(directory).resolve()})")
    serve(Path(directory), port=port, host=host, show=show)
