"""The ``oncoscale`` command: one module per command group, registered on :data:`main`."""

from __future__ import annotations

import click

from oncoscale import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="oncoscale")
def main() -> None:
    """Multiscale tumour-immune modelling: run published scenarios at every scale."""


# command modules register themselves on `main` when imported
from oncoscale.cli import bifurcation as _bifurcation  # noqa: E402, F401
from oncoscale.cli import calibrate as _calibrate  # noqa: E402, F401
from oncoscale.cli import compare as _compare  # noqa: E402, F401
from oncoscale.cli import demo as _demo  # noqa: E402, F401
from oncoscale.cli import ensemble as _ensemble  # noqa: E402, F401
from oncoscale.cli import explore as _explore  # noqa: E402, F401
from oncoscale.cli import export as _export  # noqa: E402, F401
from oncoscale.cli import kinetic as _kinetic  # noqa: E402, F401
from oncoscale.cli import limit as _limit  # noqa: E402, F401
from oncoscale.cli import optimise as _optimise  # noqa: E402, F401
from oncoscale.cli import run as _run  # noqa: E402, F401
from oncoscale.cli import sensitivity as _sensitivity  # noqa: E402, F401
from oncoscale.cli import study as _study  # noqa: E402, F401
