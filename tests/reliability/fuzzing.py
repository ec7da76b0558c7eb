"""Hostile input for any ``oncoscale`` entry point: hypothesis strategies and the one check.

An *entry point* is any callable that takes a list of command-line arguments and returns a
:class:`Outcome` (``cli_entry`` wraps the ``oncoscale`` command in-process). A *case* is the
arguments plus what its error message must name (the parameter, option or file) and the
paths that must not be created or changed. :func:`check` asserts the contract of every
entry point: status 0 (a valid input: the run is complete) or status 2 with exactly one line
``error: ...`` naming the input — never a traceback, never another status, never a partial
file. :data:`TALLY` counts the cases and outcomes (printed by the tests).

To fuzz a new entry point (e.g. the studies' CSV data files and ranges, or the explorer's
form values), write a strategy of cases (helpers below: :func:`hostile_scalars`,
:func:`hostile_text`, :func:`hostile_values`, :func:`to_toml`) and call :func:`check` on
each; see test_hostile_input.py for the pattern.
"""

from __future__ import annotations

import hashlib
import math
import re
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import strategies as st

TALLY: Counter = Counter()


# ---- values --------------------------------------------------------------------------------
def hostile_scalars() -> st.SearchStrategy:
    """The numbers people should not type: NaN, ±inf, ±1e308, 0, −0, negatives, huge ints."""
    fixed = [math.nan, math.inf, -math.inf, 1e308, -1e308, 0, 0.0, -0.0, -1, -1e-3, 10**30]
    drawn = st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not 0 < abs(x) < 1e-3)
    return st.sampled_from([*fixed, 2**63, -(2**63), 1e16]) | drawn


def hostile_text() -> st.SearchStrategy:
    """Strings where numbers or names are expected: empty, blanks, unicode, control
    characters, TOML and Python syntax, numbers in odd spellings, very long."""
    fixed = st.sampled_from(
        ["", " ", "é", "ζ", "🦠", "\u202e", "a\x00b", "[1, 2]", "{a = 1}", "true", "none",
         "1e999", "-1e999", "0x10", "1_000", "nan", "+inf", "__import__('os')", "../../x",
         "x" * 5000]
    )  # fmt: skip
    return fixed | st.text(min_size=0, max_size=30)


def hostile_values(depth: int = 3) -> st.SearchStrategy:
    """Any of the above, booleans, wrong containers, enormous arrays, deeply nested tables."""
    leaves = hostile_scalars() | hostile_text() | st.booleans()
    big = st.integers(10**4, 2 * 10**5).map(lambda n: [1.0] * n)
    deep = st.integers(50, 400).map(_nested)
    return st.one_of(
        leaves,
        big,
        deep,
        st.recursive(leaves, lambda xs: st.lists(xs, max_size=3) | st.dictionaries(
            st.text(min_size=1, max_size=5), xs, max_size=3), max_leaves=6),
    )  # fmt: skip


def _nested(n: int) -> dict:
    out: dict = {"x": 1}
    for _ in range(n):
        out = {"t": out}
    return out


def cli_text(value: Any) -> str:
    """How a value is typed on the command line."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float | int):
        return repr(value)
    if isinstance(value, str):
        return value
    return to_toml_value(value)


# ---- TOML writing (scenario files) -------------------------------------------------------
def to_toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(_escape(c) for c in value) + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(to_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {to_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def _escape(c: str) -> str:
    if c in '"\\':
        return "\\" + c
    if ord(c) < 0x20 or c == "\x7f":
        return f"\\u{ord(c):04x}"
    return c


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else to_toml_value(k)


def to_toml(doc: dict) -> str:
    """A TOML document: top-level scalars and inline values, tables as [name] sections
    (arrays of tables as [[name]])."""
    lines = []
    for k, v in doc.items():
        if not isinstance(v, dict) and not _table_array(v):
            lines.append(f"{_key(k)} = {to_toml_value(v)}")
    for k, v in doc.items():
        if isinstance(v, dict):
            lines.append(f"[{_key(k)}]")
            lines += [f"{_key(a)} = {to_toml_value(b)}" for a, b in v.items()]
        elif _table_array(v):
            for item in v:
                lines.append(f"[[{_key(k)}]]")
                lines += [f"{_key(a)} = {to_toml_value(b)}" for a, b in item.items()]
    return "\n".join(lines) + "\n"


def _table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


# ---- running and checking ------------------------------------------------------------------
@dataclass
class Outcome:
    """What an entry point did: exit status, its stderr and stdout, and the exception (if
    one escaped instead of an exit)."""

    status: int
    stderr: str
    stdout: str = ""
    exception: BaseException | None = None


def cli_entry(args: Sequence[str]) -> Outcome:
    """The ``oncoscale`` command, in this process."""
    from oncoscale.cli import main

    res = CliRunner().invoke(main, list(args))
    escaped = None if isinstance(res.exception, SystemExit | None) else res.exception
    return Outcome(res.exit_code, res.stderr, res.stdout, escaped)


@dataclass
class Case:
    """Arguments, the words of which at least one must appear in the error message, and the
    paths that must be left as they were (a new --out must not appear)."""

    args: list[str]
    names: Sequence[str]
    watched: Sequence[Path] = field(default_factory=list)
    kind: str = ""


def snapshot(paths: Sequence[Path]) -> dict[str, str | None]:
    """Content fingerprint of each path (None: absent; folders: names and file hashes)."""
    out = {}
    for p in paths:
        if not p.exists():
            out[str(p)] = None
        elif p.is_file():
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            files = sorted(q for q in p.rglob("*"))
            out[str(p)] = hashlib.sha256(
                "".join(f"{q.relative_to(p)}:{q.stat().st_size};" for q in files).encode()
            ).hexdigest()
    return out


def check(entry: Callable[[Sequence[str]], Outcome], case: Case) -> Outcome:
    """Run ``case`` through ``entry`` and assert the contract (see the module docstring)."""
    before = snapshot(case.watched)
    out = entry(case.args)
    TALLY["cases"] += 1
    TALLY[f"{case.kind or 'case'}: status {out.status}"] += 1
    where = f"args={case.args!r}"[:2000]
    if out.exception is not None:
        trace = "".join(traceback.format_exception(out.exception))[-3000:]
        raise AssertionError(f"{where}: escaped {out.exception!r}\n{trace}")
    assert "Traceback" not in out.stderr + out.stdout, f"{where}: {out.stderr[-2000:]}"
    assert out.status in (0, 2), f"{where}: status {out.status}: {out.stderr[-2000:]}"
    if out.status == 2:
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), f"{where}: {out.stderr!r}"
        named = [" ".join(str(n).split()) for n in case.names]  # as a one-line message shows it
        named += [repr(n)[1:-1] for n in named]  # quoted with !r: invisible characters escaped
        assert any(n and n in lines[0] for n in named), f"{where}: {lines[0]!r}"
        assert snapshot(case.watched) == before, f"{where}: files written: {lines[0]}"
    return out
