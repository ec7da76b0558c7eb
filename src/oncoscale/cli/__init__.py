"""The ``oncoscale`` command: one module per command group, registered on :data:`main`."""

from __future__ import annotations

import sys

import click

from oncoscale import __version__


class _OneLineErrors(click.Group):
    """A command group whose usage errors (unknown option, value of the wrong type) are one
    line on stderr, like every other error of the command, with exit status 2."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            return super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            where = f" (see '{exc.ctx.command_path} -h')" if getattr(exc, "ctx", None) else ""
            click.echo(f"error: {' '.join(exc.format_message().split())}{where}", err=True)
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
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
