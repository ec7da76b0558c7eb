"""Helpers shared by the command modules."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from oncoscale.errors import InputError


def friendly_errors(fn):
    """Turn :class:`InputError` into one clear line on stderr and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper


def out_dir(out: str | None, *parts: str) -> Path:
    """The output folder: --out, else runs/<parts...>."""
    return Path(out) if out else Path("runs").joinpath(*parts)


def set_option(fn):
    """The repeatable --set NAME=VALUE option."""
    return click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="NAME=VALUE",
        help="override a parameter (NAME), numerics.NAME or output.NAME; repeatable",
    )(fn)


def variant_option(fn):
    """The --variant NAME option (a named parameter variant of the family)."""
    return click.option(
        "--variant",
        metavar="NAME",
        help="named parameter variant of the family (e.g. oncolytic: paper, published-code); "
        "default: the scenario's",
    )(fn)
