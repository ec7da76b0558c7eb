"""Validated parameter sets with units, shared by every model family.

A family declares its parameters once, as a :class:`ParameterSet` subclass whose fields are made
with :func:`param`. Every representation of the family (ODE, PDE, ABM, ...) reads the same
instance; updates go through :meth:`ParameterSet.updated`, which re-validates.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oncoscale.errors import InputError

_BOUND_TEXT = {
    "greater_than": "> {gt}",
    "greater_than_equal": ">= {ge}",
    "less_than": "< {lt}",
    "less_than_equal": "<= {le}",
}


def param(
    default: Any,
    units: str,
    description: str,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    allow_inf: bool = False,
) -> Any:
    """Declare one parameter: default value, units, one-line meaning and allowed range
    (values must be finite unless ``allow_inf``: e.g. a threshold that inf switches off)."""
    return Field(
        default,
        description=description,
        gt=gt,
        ge=ge,
        lt=lt,
        le=le,
        allow_inf_nan=True if allow_inf else None,
        json_schema_extra={"units": units},
    )


class ParameterSet(BaseModel):
    """Base class of every family's parameter set (immutable, validated, unit-annotated)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )

    family: ClassVar[str] = ""
    #: UDUNITS unit of the family's time (rates, horizons, event times; CF result files)
    time_units: ClassVar[str] = "h"
    #: how people write that unit (figure axes, progress bars, messages)
    time_label: ClassVar[str] = "h"
    #: what the time coordinate is, for files (e.g. dimensionless time in units of 1/r)
    time_long_name: ClassVar[str] = "time"
    #: named parameter variants: name → (description with the source, parameter changes);
    #: a scenario or ``--variant NAME`` applies one on top of the scenario's parameters
    variants: ClassVar[dict[str, tuple[str, dict[str, Any]]]] = {}

    @classmethod
    def variant(cls, name: str) -> dict[str, Any]:
        """The parameter changes of the named variant (InputError naming the known ones)."""
        if name not in cls.variants:
            known = ", ".join(cls.variants) or "none"
            raise InputError(
                f"unknown variant '{name}' for family '{cls.family}'"
                f"{suggest(name, list(cls.variants))}; allowed: {known}"
            )
        return dict(cls.variants[name][1])

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], context: str = "") -> ParameterSet:
        """Build and validate from a mapping; raise :class:`InputError` with a clear message."""
        try:
            return cls(**dict(values))
        except ValidationError as exc:
            raise validation_to_input_error(exc, cls, context) from None

    def updated(self, **changes: Any) -> ParameterSet:
        """Return a validated copy with some parameters changed."""
        merged = {**self.model_dump(), **changes}
        return type(self).from_mapping(merged)

    @classmethod
    def names(cls) -> list[str]:
        """Names of all parameters of this family."""
        return list(cls.model_fields)

    @classmethod
    def units_of(cls, name: str) -> str:
        """Units of one parameter (empty string if dimensionless)."""
        extra = cls.model_fields[name].json_schema_extra or {}
        return str(extra.get("units", ""))

    def records(self) -> list[dict[str, Any]]:
        """One record per parameter: name, value, units, description."""
        out = []
        for name in self.names():
            field = type(self).model_fields[name]
            out.append(
                {
                    "name": name,
                    "value": getattr(self, name),
                    "units": self.units_of(name),
                    "description": field.description or "",
                }
            )
        return out


#: the one option for the compiled-or-reference choice of every representation with kernels
KernelChoice = Literal["numba", "numpy"]


def kernel_param(what: str = "kernels") -> Any:
    """The ``kernel`` numerical setting: "numba" (compiled, default) or "numpy" (the readable
    reference implementation that the compiled one is tested against)."""
    return param("numba", "", f"{what}: 'numba' (compiled) or 'numpy' (the reference)")


def suggest(name: str, known: list[str]) -> str:
    """A ' (did you mean ...?)' hint for a misspelt name, or an empty string."""
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def validation_to_input_error(
    exc: ValidationError, cls: type[ParameterSet], context: str = ""
) -> InputError:
    """Turn the first pydantic error into one message naming parameter, value and range."""
    err = exc.errors()[0]
    where = f" in {context}" if context else ""
    loc = ".".join(str(p) for p in err.get("loc", ())) or "(parameters)"
    value = err.get("input")
    etype = err.get("type", "")
    if etype == "extra_forbidden":
        known = cls.names()
        return InputError(
            f"unknown parameter '{loc}'{where}{suggest(loc, known)}; known parameters: "
            + ", ".join(known)
        )
    if etype in _BOUND_TEXT:
        bound = _BOUND_TEXT[etype].format(**err.get("ctx", {}))
        units = cls.units_of(loc) if loc in cls.model_fields else ""
        unit = f" {units}" if units else ""
        return InputError(f"invalid value for '{loc}'{where}: {value!r}{unit}; allowed: {bound}")
    msg = err.get("msg", "invalid value")
    if etype in ("literal_error", "enum"):
        allowed = err.get("ctx", {}).get("expected", "")
        return InputError(f"invalid value for '{loc}'{where}: {value!r}; allowed: {allowed}")
    if etype == "finite_number":
        return InputError(f"invalid value for '{loc}'{where}: {value!r}; allowed: a finite number")
    if etype.endswith("_parsing") or etype.endswith("_type"):
        return InputError(f"invalid value for '{loc}'{where}: {value!r}; {msg.lower()}")
    msg = msg.removeprefix("Value error, ")
    return InputError(
        f"{msg}{where}" if msg.startswith("invalid value") else f"invalid parameters{where}: {msg}"
    )
