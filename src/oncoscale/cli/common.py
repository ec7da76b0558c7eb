"""Helpers shared by the command modules."""

from __future__ import annotations

import functools
import sys
import warnings
from pathlib import Path

import click

from oncoscale.errors import InputError


def friendly_errors(fn):
    """Turn :class:`InputError` (invalid input, a run the model cannot integrate, a run that
    cannot fit in memory) and OSError (an output folder that cannot be written, a full disk)
    into one line on stderr and exit status 2.

    Numerical warnings (overflow, invalid values) are held back while the command runs: if it
    fails they are what the error already says; if it succeeds they are shown at the end,
    once each."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from oncoscale.io.folders import os_error_message

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            try:
                out = fn(*args, **kwargs)
            except InputError as exc:
                _fail(str(exc))
            except OSError as exc:
                _fail(os_error_message(exc))
        shown = set()
        for w in caught:
            text = warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line)
            if text not in shown:
                shown.add(text)
                sys.stderr.write(text)
        return out

    return wrapper


def _fail(message: str) -> None:
    click.echo("error: " + " ".join(message.split()), err=True)
    sys.exit(2)


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
