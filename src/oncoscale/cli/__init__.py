"""The ``oncoscale`` command: one module per command group, registered on :data:`main` when
the command is used (``oncoscale run`` does not import what ``bifurcation`` or ``calibrate``
need: 0.3 s of SciPy's optimisers and more)."""

from __future__ import annotations

import importlib
import pkgutil
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


class _LazyCommands(_OneLineErrors):
    """Commands registered by importing their module: the module named like the command (its
    part before a '-': ``ensemble-compare`` lives in ``ensemble``), or, for other names and
    for listing, every module of this package."""

    def get_command(self, ctx, cmd_name):
        if cmd_name not in self.commands:
            module = cmd_name.split("-")[0]
            if module.isidentifier() and module in _command_modules():
                importlib.import_module(f"{__name__}.{module}")
            if cmd_name not in self.commands:
                _import_all()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        _import_all()
        return super().list_commands(ctx)


def _command_modules() -> list[str]:
    return [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]


def _import_all() -> None:
    for name in _command_modules():
        importlib.import_module(f"{__name__}.{name}")


@click.group(cls=_LazyCommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="oncoscale")
def main() -> None:
    """Multiscale tumour-immune modelling: run published scenarios at every scale."""
