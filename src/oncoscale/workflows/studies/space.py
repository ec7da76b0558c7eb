"""The parameter space of a study: named ranges with scales, validated against the model.

A range is written ``NAME=LO:HI`` (uniform) or ``NAME=LO:HI:log`` (log-uniform); NAME is a
model parameter of the scenario's family or a protocol field ``protocol.K.FIELD``. Both ends
are validated like a ``--set`` (same messages: parameter, value, allowed range) and the
representation is built there, so numerical limits (e.g. an ABM move probability above 1) are
caught before any run; the study engine then validates every design point (combinations).
Designs work in unit coordinates u ∈ [0, 1]^d; a
dimension maps u to its value linearly or geometrically.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from oncoscale.errors import InputError
from oncoscale.io.scenario import ResolvedRun, parse_range
from oncoscale.models.parameters import suggest
from oncoscale.run.protocols import parse_event

_PROTOCOL = re.compile(r"^protocol\.(\d+)\.(\w+)$")
#: unit words that are counts (dimensionless in UDUNITS)
_COUNT_WORDS = {"cell", "cells", "particle", "particles"}
#: unit symbols the translation keeps (anything else makes the unit "1": a family's own
#: nondimensional units such as t, x, n, len, mass)
_UDUNITS_SYMBOLS = {"mm", "um", "m", "cm", "h", "s", "min", "day", "ug", "mg", "g"}


def udunits(label: str) -> str:
    """A UDUNITS-valid unit for a parameter's unit as written (``cells/mm^2`` → ``1/mm^2``;
    nondimensional family units → ``1``)."""
    label = label.strip()
    if not label or label == "1":
        return "1"
    words = set(re.findall(r"[A-Za-z_]+", label))
    if words - _COUNT_WORDS - _UDUNITS_SYMBOLS:
        return "1"
    out = re.sub(r"\b(cells?|particles?)\b", "1", label)
    return out.replace("*", " ").replace("(1 ", "(").replace(" 1)", ")")


@dataclass(frozen=True)
class Dimension:
    """One study dimension: name, range, scale and units."""

    name: str
    lo: float
    hi: float
    log: bool = False
    units: str = "1"  # UDUNITS
    units_label: str = ""  # as people write it
    description: str = ""

    def from_unit(self, u: np.ndarray | float) -> np.ndarray:
        """Values for unit coordinates ``u`` ∈ [0, 1]."""
        u = np.asarray(u, dtype=float)
        if self.log:
            return np.exp(np.log(self.lo) + u * (np.log(self.hi) - np.log(self.lo)))
        return self.lo + u * (self.hi - self.lo)

    def to_unit(self, x: np.ndarray | float) -> np.ndarray:
        """Unit coordinates of values ``x``."""
        x = np.asarray(x, dtype=float)
        if self.log:
            return (np.log(x) - np.log(self.lo)) / (np.log(self.hi) - np.log(self.lo))
        return (x - self.lo) / (self.hi - self.lo)

    @property
    def variable(self) -> str:
        """CF-safe variable name (``protocol.0.threshold`` → ``protocol_0_threshold``)."""
        return self.name.replace(".", "_")

    def spec(self) -> str:
        """The range as written on the command line."""
        return f"{self.name}={self.lo:g}:{self.hi:g}" + (":log" if self.log else "")

    def cf_attrs(self) -> dict[str, Any]:
        """CF attributes of the design coordinate."""
        attrs: dict[str, Any] = {
            "long_name": f"{self.name}: {self.description}" if self.description else self.name,
            "units": self.units,
            "valid_min": self.lo,
            "valid_max": self.hi,
            "scale": "log" if self.log else "linear",
        }
        if self.units_label and self.units_label != self.units:
            attrs["units_label"] = self.units_label
        return attrs


def with_values(resolved: ResolvedRun, values: dict[str, float]) -> ResolvedRun:
    """A copy of ``resolved`` with model parameters and protocol fields changed (validated:
    InputError naming the parameter, the value and the allowed range)."""
    params = {k: v for k, v in values.items() if not k.startswith("protocol.")}
    protocol = list(resolved.scenario.protocol)
    for key, value in values.items():
        if not key.startswith("protocol."):
            continue
        k, field = _protocol_field(resolved, key)
        protocol[k] = parse_event({**protocol[k].model_dump(), field: value}, f"protocol.{k}")
    out = resolved
    if len(protocol) and protocol != list(resolved.scenario.protocol):
        scenario = resolved.scenario.model_copy(update={"protocol": protocol})
        out = replace(out, scenario=scenario)
    if params:
        new = resolved.params.updated(**params)
        out = replace(out, params=new, overrides={**resolved.overrides, **params})
    return out


def _protocol_field(resolved: ResolvedRun, key: str) -> tuple[int, str]:
    match = _PROTOCOL.match(key)
    protocol = resolved.scenario.protocol
    if not match:
        raise InputError(f"invalid study parameter '{key}': expected protocol.K.FIELD")
    k, field = int(match[1]), match[2]
    if not 0 <= k < len(protocol):
        raise InputError(
            f"invalid study parameter '{key}': the scenario has {len(protocol)} protocol "
            f"entries (K = 0..{len(protocol) - 1})"
        )
    fields = [f for f in type(protocol[k]).model_fields if f != "kind"]
    if field not in fields:
        raise InputError(
            f"invalid study parameter '{key}': protocol entry {k} ({protocol[k].kind}) has no "
            f"field '{field}'{suggest(field, fields)}; fields: {', '.join(fields)}"
        )
    return k, field


def dimension(resolved: ResolvedRun, name: str, lo: float, hi: float, log: bool) -> Dimension:
    """The dimension ``name`` (a parameter of the family or protocol.K.FIELD) with its units."""
    pcls = type(resolved.params)
    if name.startswith("protocol."):
        k, field = _protocol_field(resolved, name)
        info = type(resolved.scenario.protocol[k]).model_fields[field]
        text = info.description or ""
        timelike = "time unit" in text or field in ("time", "start", "min_interval")
        units = pcls.time_units if timelike else "1"
        label = pcls.time_label if timelike else text
        desc = f"{resolved.scenario.protocol[k].kind} {field}"
        return Dimension(name, lo, hi, log, units, label if timelike else "", desc)
    if name not in pcls.names():
        raise InputError(
            f"unknown parameter '{name}' for family '{resolved.scenario.family}'"
            f"{suggest(name, pcls.names())}; parameters: {', '.join(pcls.names())}, or "
            "protocol.K.FIELD"
        )
    default = getattr(resolved.params, name)
    if not isinstance(default, int | float) and default is not None:
        raise InputError(f"invalid study parameter '{name}': not a number ({default!r})")
    label = pcls.units_of(name)
    desc = pcls.model_fields[name].description or ""
    return Dimension(name, lo, hi, log, udunits(label), label, desc)


@dataclass(frozen=True)
class ParameterSpace:
    """The dimensions of a study, over one resolved scenario."""

    dims: tuple[Dimension, ...]

    @classmethod
    def parse(cls, specs: Sequence[str], resolved: ResolvedRun) -> ParameterSpace:
        """Parse ``NAME=LO:HI[:log]`` ranges and validate both corners on ``resolved``."""
        if not specs:
            raise InputError("a study needs at least one --param NAME=LO:HI[:log]")
        dims = []
        for text in specs:
            name, lo, hi, log = parse_range(text)
            if name in [d.name for d in dims]:
                raise InputError(f"invalid --param '{text}': '{name}' is given twice")
            dims.append(dimension(resolved, name, lo, hi, log))
        for d in dims:  # each end with the other parameters at the scenario's values
            for end in (d.lo, d.hi):
                with_values(resolved, {d.name: end}).representation()
        return cls(tuple(dims))

    @property
    def names(self) -> list[str]:
        """Dimension names in order."""
        return [d.name for d in self.dims]

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Values (n × d, or d) for unit coordinates ``u``."""
        u = np.asarray(u, dtype=float)
        cols = [d.from_unit(u[..., j]) for j, d in enumerate(self.dims)]
        return np.stack(cols, axis=-1)

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """Unit coordinates (n × d, or d) of values ``x``."""
        x = np.asarray(x, dtype=float)
        return np.stack([d.to_unit(x[..., j]) for j, d in enumerate(self.dims)], axis=-1)

    def apply(self, resolved: ResolvedRun, x: np.ndarray | Sequence[float]) -> ResolvedRun:
        """``resolved`` at the point ``x`` (values, one per dimension)."""
        values = {d.name: float(v) for d, v in zip(self.dims, np.ravel(x), strict=True)}
        return with_values(resolved, values)

    def describe(self) -> list[dict[str, Any]]:
        """JSON description (name, range, scale, units)."""
        return [
            {
                "name": d.name,
                "lo": d.lo,
                "hi": d.hi,
                "scale": "log" if d.log else "linear",
                "units": d.units_label or d.units,
            }
            for d in self.dims
        ]
