"""``oncoscale export``: a finished run as VTK (ParaView) or CSV files."""

from __future__ import annotations

from pathlib import Path

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors


@main.command("export")
@click.argument("directory", type=click.Path(file_okay=False, exists=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["vtk", "csv"]),
    default="vtk",
    show_default=True,
    help="vtk: .vti fields + .vtp particles + .pvd time series (ParaView); csv: tables",
)
@click.option(
    "--out", type=click.Path(file_okay=False), help="output folder (default DIRECTORY/FORMAT)"
)
@friendly_errors
def export_cmd(directory, fmt, out) -> None:
    """Export the run (or every run of the ensemble or study) in DIRECTORY: fields as VTK
    image data with a .pvd time series, particles as VTK points with every attribute, or
    CSV tables (observables, fields per snapshot, one row per particle)."""
    from oncoscale.io.export import export_folder

    target = Path(out) if out else Path(directory) / fmt
    written = export_folder(Path(directory), target, fmt)
    click.echo(f"wrote {len(written)} files to {target}")
    for path in written:
        if path.suffix == ".pvd":
            click.echo(f"open in ParaView: {path}")
