"""Observed data for calibration: a CSV file with columns ``time,observable,value[,sd]
[,replicate]`` (any order, header required), observables named as in result.nc, units given
in a header comment or a sidecar JSON file::

    # units: time = h, total_tumour = cells, total_z = cells
    time,observable,value,sd
    100,total_tumour,41000,2000

or ``FILE.units.json`` = ``{"time": "h", "total_tumour": "cells"}``. Reading validates the
file itself (columns, numbers, sd > 0, units stated for time and every observable); whether
the observables and times fit a model is checked by :func:`check_against`.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oncoscale.atomic import atomic_write
from oncoscale.errors import InputError
from oncoscale.models.parameters import suggest

REQUIRED = ("time", "observable", "value")
OPTIONAL = ("sd", "replicate")


@dataclass(frozen=True)
class Observations:
    """Rows of observed data (arrays of equal length) and their units."""

    time: np.ndarray
    observable: np.ndarray  # str
    value: np.ndarray
    sd: np.ndarray  # nan where not given
    replicate: np.ndarray  # -1 where not given
    units: Mapping[str, str]
    source: str = ""

    @property
    def names(self) -> list[str]:
        """Observables in order of first appearance."""
        return list(dict.fromkeys(self.observable.tolist()))

    @property
    def has_sd(self) -> bool:
        """Whether every row gives its standard deviation."""
        return bool(np.all(np.isfinite(self.sd)))

    def points(self) -> list[tuple[str, float]]:
        """The distinct (observable, time) pairs, in order of first appearance."""
        return list(dict.fromkeys(zip(self.observable.tolist(), self.time.tolist(), strict=True)))

    def point_index(self) -> np.ndarray:
        """For every row, the index of its (observable, time) pair in :meth:`points`."""
        index = {p: k for k, p in enumerate(self.points())}
        pairs = zip(self.observable.tolist(), self.time.tolist(), strict=True)
        return np.array([index[p] for p in pairs], dtype=int)


def _units_from_comments(lines: Sequence[str]) -> dict[str, str]:
    units: dict[str, str] = {}
    for line in lines:
        body = line.lstrip("#").strip()
        if not body.lower().startswith("units:"):
            continue
        for item in body.split(":", 1)[1].split(","):
            name, sep, unit = item.partition("=")
            if not sep:
                raise InputError(f"malformed units comment {line.strip()!r}: expected NAME = UNIT")
            units[name.strip()] = unit.strip()
    return units


def _read_text(path: Path, what: str) -> str:
    """The file's text (InputError naming it if it cannot be read or is not UTF-8)."""
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(
            f"invalid value for '{what}': cannot read {str(path)!r}: {exc.strerror}"
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"invalid value for '{what}': {str(path)!r} is not UTF-8 text ({exc.reason} at byte "
            f"{exc.start})"
        ) from None


def read_observations(path: str | Path) -> Observations:
    """Read and validate a data file (clear errors naming the line and the problem)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"invalid value for '--data': {str(path)!r} is not a file")
    text = _read_text(path, "--data").splitlines()
    comments = [line for line in text if line.lstrip().startswith("#")]
    body = [(k + 1, line) for k, line in enumerate(text) if line.strip() and line not in comments]
    units = _units_from_comments(comments)
    sidecar = path.with_suffix(".units.json")
    if sidecar.is_file():
        try:
            loaded = json.loads(_read_text(sidecar, "units file"))
            units.update({str(k): str(v) for k, v in loaded.items()})
        except (json.JSONDecodeError, AttributeError) as exc:
            raise InputError(f"malformed units file {sidecar}: {exc}") from None
    if not body:
        raise InputError(f"data file {path} has no header and no rows")
    reader = csv.reader([line for _, line in body])
    header = [h.strip() for h in next(reader)]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing or unknown:
        raise InputError(
            f"data file {path}: columns {header}; required: {', '.join(REQUIRED)}; optional: "
            f"{', '.join(OPTIONAL)}" + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    col = {c: header.index(c) for c in header}
    rows = {c: [] for c in (*REQUIRED, *OPTIONAL)}
    for (lineno, _), row in zip(body[1:], reader, strict=True):
        if len(row) != len(header):
            raise InputError(
                f"data file {path}, line {lineno}: {len(row)} fields; expected {len(header)}"
            )
        rows["observable"].append(row[col["observable"]].strip())
        for c in ("time", "value", "sd", "replicate"):
            if c not in col:
                continue
            try:
                x = float(row[col[c]])
            except ValueError:
                raise InputError(
                    f"data file {path}, line {lineno}: {c} = {row[col[c]]!r} is not a number"
                ) from None
            if not math.isfinite(x):
                raise InputError(f"data file {path}, line {lineno}: {c} = {x} is not finite")
            rows[c].append(x)
        lo = {"time": 0.0, "replicate": 0.0}
        for c, bound in lo.items():
            if c in col and rows[c][-1] < bound:
                raise InputError(
                    f"data file {path}, line {lineno}: {c} = {rows[c][-1]:g}; allowed: >= 0"
                )
        if "sd" in col and rows["sd"][-1] <= 0:
            raise InputError(
                f"data file {path}, line {lineno}: sd = {rows['sd'][-1]:g}; allowed: > 0"
            )
    n = len(rows["time"])
    if n == 0:
        raise InputError(f"data file {path} has a header but no rows")
    obs = np.array(rows["observable"], dtype=str)
    needed = ["time", *dict.fromkeys(obs.tolist())]
    lacking = [c for c in needed if c not in units]
    if lacking:
        raise InputError(
            f"data file {path}: no units for {', '.join(lacking)}; state them in a comment "
            f"'# units: time = h, NAME = UNIT' or in {sidecar.name}"
        )
    return Observations(
        time=np.array(rows["time"]),
        observable=obs,
        value=np.array(rows["value"]),
        sd=np.array(rows["sd"]) if "sd" in col else np.full(n, math.nan),
        replicate=np.array(rows["replicate"], dtype=int)
        if "replicate" in col
        else -np.ones(n, int),
        units=units,
        source=str(path),
    )


def check_against(
    obs: Observations,
    observables: Mapping[str, Mapping[str, str]],
    time_units: Sequence[str],
    t_end: float,
) -> None:
    """Check data against a model: known observables (``observables``: name → CF attrs of
    the result variable), units matching the result's (``units`` or ``units_label``), the
    family's time unit (any of ``time_units``) and times inside [0, t_end]."""
    if obs.units["time"] not in time_units:
        raise InputError(
            f"data file {obs.source}: time in {obs.units['time']!r}; the model's time unit is "
            f"{time_units[0]!r}"
        )
    for name in obs.names:
        if name not in observables:
            raise InputError(
                f"data file {obs.source}: unknown observable '{name}'"
                f"{suggest(name, list(observables))}; allowed: {', '.join(observables)}"
            )
        attrs = observables[name]
        allowed = {attrs.get("units", ""), attrs.get("units_label", "")} - {""}
        if obs.units[name] not in allowed:
            raise InputError(
                f"data file {obs.source}: '{name}' in {obs.units[name]!r}; the model gives it in "
                f"{' or '.join(sorted(allowed))!r}"
            )
    late = obs.time[obs.time > t_end]
    if late.size:
        raise InputError(
            f"data file {obs.source}: time {late.max():g} {obs.units['time']} is after the end "
            f"of the run ({t_end:g}); use --t-end or drop the row"
        )


def write_observations(obs: Observations, path: str | Path) -> Path:
    """Write data in the CSV format above (units in the header comment), atomically."""
    units = ", ".join(f"{k} = {v}" for k, v in obs.units.items())
    lines = [f"# units: {units}"]
    cols = ["time", "observable", "value"]
    if np.all(np.isfinite(obs.sd)):
        cols.append("sd")
    if np.all(obs.replicate >= 0):
        cols.append("replicate")
    lines.append(",".join(cols))
    for k in range(obs.time.size):
        row = [repr(float(obs.time[k])), str(obs.observable[k]), repr(float(obs.value[k]))]
        if "sd" in cols:
            row.append(repr(float(obs.sd[k])))
        if "replicate" in cols:
            row.append(str(int(obs.replicate[k])))
        lines.append(",".join(row))
    return atomic_write(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n"))
