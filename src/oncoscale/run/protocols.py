"""Treatment protocols as registered event classes.

A protocol is a list of events. Each event kind is one class: it subclasses :class:`Event`,
declares its ``kind`` (the name used in scenario files) and its fields, and knows

* its stop times (:meth:`Event.stop_times`, for scheduled events),
* whether it needs the observables at every stop (:attr:`Event.triggered`),
* how to validate itself against a representation before the run (:meth:`Event.check`),
* how to act (:meth:`Event.fire`), with a JSON-serialisable memory for triggers
  (:meth:`Event.new_memory`) that checkpoints carry.

Defining the class registers it; the runner, the scenario loader and the summaries never test
for particular kinds. A family may ship more kinds in a module listed in its declaration's
``extensions``. Each firing is logged as an :class:`EventRecord`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oncoscale.errors import InputError
from oncoscale.models.base import Representation
from oncoscale.models.parameters import suggest

_KINDS: dict[str, type[Event]] = {}


@dataclass
class EventRecord:
    """One event that happened during a run. ``action`` says what it did to the model
    ("set_parameter", or the representation action, e.g. "inject")."""

    time: float
    kind: str
    description: str
    details: dict[str, Any] = field(default_factory=dict)
    action: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "time": self.time,
            "kind": self.kind,
            "action": self.action,
            "description": self.description,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventRecord:
        """Inverse of :meth:`to_dict`."""
        return cls(
            float(data["time"]),
            str(data["kind"]),
            str(data["description"]),
            dict(data.get("details", {})),
            str(data.get("action", "")),
        )

    def details_json(self) -> str:
        """Details as a JSON string (for NetCDF)."""
        return json.dumps(self.details, default=float)


class Event(BaseModel):
    """Base class of protocol events (immutable, validated); subclasses register by kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    #: True if the event is checked at every stop time against the observables (a trigger)
    triggered: ClassVar[bool] = False
    #: True if firing ends the run at that stop time (an outcome, e.g. a tumour's escape):
    #: the runner records everything at that time and stops
    ends_run: ClassVar[bool] = False

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        kind = cls.model_fields["kind"].default
        if isinstance(kind, str) and kind:
            _KINDS[kind] = cls

    # ---- what the runner asks ---------------------------------------------------------------
    def stop_times(self) -> tuple[float, ...]:
        """Times at which the run must stop for this event (scheduled events)."""
        return ()

    def check(self, rep: Representation, observables: set[str]) -> None:
        """Raise InputError if the event cannot apply to ``rep`` (before anything runs)."""

    def new_memory(self) -> dict[str, Any]:
        """The event's mutable memory at the start of a run (JSON-serialisable)."""
        return {}

    def fire(
        self,
        rep: Representation,
        state: Any,
        t: float,
        observables: Mapping[str, float] | None,
        memory: dict[str, Any],
        tol: float,
    ) -> list[EventRecord]:
        """Act at stop time ``t`` if due (state modified in place); return what happened.
        ``observables`` are given to triggered events, ``tol`` is the time tolerance."""
        raise NotImplementedError

    def due(self, t: float, tol: float) -> bool:
        """Whether a scheduled event's time is ``t``."""
        return any(abs(s - t) <= tol for s in self.stop_times())


def event_kinds() -> dict[str, type[Event]]:
    """Registered event classes by kind."""
    return dict(_KINDS)


def parse_event(entry: Any, where: str = "protocol") -> Event:
    """Build the event of a scenario-file entry (a table with ``kind``); clear errors."""
    if not isinstance(entry, Mapping):
        raise InputError(f"invalid {where}: expected a table with 'kind', got {entry!r}")
    kind = entry.get("kind")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise InputError(
            f"invalid value for '{where}.kind': {kind!r}{suggest(str(kind), list(_KINDS))}; "
            f"allowed: {', '.join(_KINDS)}"
        )
    try:
        return _KINDS[kind].model_validate(dict(entry))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise InputError(
            f"invalid value for '{where}.{loc}': {err.get('input')!r}; {err['msg']}"
        ) from None


# ---------------------------------------------------------------------------------------
# the shipped kinds
# ---------------------------------------------------------------------------------------
class SetParameter(Event):
    """Change one model parameter at a given time (e.g. ζ from 0.5 to 5 at 200 h)."""

    kind: Literal["set_parameter"] = "set_parameter"
    time: float = Field(ge=0, allow_inf_nan=False, description="family time unit")
    parameter: str
    value: float = Field(allow_inf_nan=False)

    def stop_times(self) -> tuple[float, ...]:
        return (self.time,)

    def check(self, rep: Representation, observables: set[str]) -> None:
        names = type(rep.params).names()
        if self.parameter not in names:
            raise InputError(
                f"unknown parameter '{self.parameter}' in protocol event at t = {self.time} "
                f"{rep.time_label}{suggest(self.parameter, names)}; known: {', '.join(names)}"
            )
        rep.params.updated(**{self.parameter: self.value})  # validates the new value

    def fire(self, rep, state, t, observables, memory, tol) -> list[EventRecord]:
        if not self.due(t, tol):
            return []
        old = getattr(rep.params, self.parameter)
        rep.set_parameter(self.parameter, self.value)
        return [
            EventRecord(
                t,
                self.kind,
                f"{self.parameter}: {old} -> {self.value}",
                {"parameter": self.parameter, "old": old, "new": self.value},
                "set_parameter",
            )
        ]


class Injection(Event):
    """A viral injection at a given time: a fraction of uninfected cells become infected."""

    kind: Literal["injection"] = "injection"
    time: float = Field(ge=0, allow_inf_nan=False, description="family time unit")
    fraction: float = Field(0.3, ge=0, le=1)

    def stop_times(self) -> tuple[float, ...]:
        return (self.time,)

    def fire(self, rep, state, t, observables, memory, tol) -> list[EventRecord]:
        if not self.due(t, tol):
            return []
        info = rep.apply_action(state, "inject", {"fraction": self.fraction})
        return [EventRecord(t, self.kind, f"injection of {self.fraction:g}", info, "inject")]


class ThresholdInjection(Event):
    """After ``start``, inject whenever ``observable`` reaches ``threshold`` from below.

    The trigger is armed from ``start``; it fires when the observable is >= threshold, then
    disarms until the observable falls below the threshold again (so an injection that does
    not change the total at once does not fire repeatedly).
    """

    kind: Literal["threshold_injection"] = "threshold_injection"
    start: float = Field(0.0, ge=0, allow_inf_nan=False, description="family time unit")
    threshold: float = Field(gt=0, allow_inf_nan=False, description="units of the observable")
    observable: str = "total_tumour"
    fraction: float = Field(0.3, ge=0, le=1)
    min_interval: float = Field(0.0, ge=0, allow_inf_nan=False, description="shortest gap")
    triggered: ClassVar[bool] = True

    def check(self, rep: Representation, observables: set[str]) -> None:
        if self.observable not in observables:
            raise InputError(
                f"unknown observable '{self.observable}' in threshold_injection"
                f"{suggest(self.observable, sorted(observables))}; "
                f"known: {', '.join(sorted(observables))}"
            )

    def new_memory(self) -> dict[str, Any]:
        return {"armed": True, "last_fired": None, "firings": 0}

    def fire(self, rep, state, t, observables, memory, tol) -> list[EventRecord]:
        value = (observables or {}).get(self.observable)
        if value is None:
            return []
        if value < self.threshold:
            memory["armed"] = True
            return []
        last = memory["last_fired"]
        too_soon = last is not None and t - last < self.min_interval
        if t < self.start or not memory["armed"] or too_soon:
            return []
        info = rep.apply_action(state, "inject", {"fraction": self.fraction})
        memory.update(armed=False, last_fired=t, firings=memory["firings"] + 1)
        info = {**info, self.observable: value, "threshold": self.threshold}
        return [
            EventRecord(
                t,
                self.kind,
                f"{self.observable} = {value:.4g} >= {self.threshold:g}: injection",
                info,
                "inject",
            )
        ]


class StopWhen(Event):
    """End the run when ``observable`` crosses a threshold: an outcome, not a failure (e.g.
    "escape" when the tumour density passes a bound). The threshold is ``threshold`` or the
    model parameter named by ``threshold_parameter`` (so ``--set NAME=inf`` lets the run go
    on); the event log and the summary say "<outcome> at t = …"."""

    kind: Literal["stop_when"] = "stop_when"
    observable: str
    threshold: float | None = Field(None, description="units of the observable")
    threshold_parameter: str | None = None
    above: bool = True  # stop when observable >= threshold (False: <= threshold)
    outcome: str = "threshold reached"
    start: float = Field(0.0, ge=0, allow_inf_nan=False, description="family time unit")
    triggered: ClassVar[bool] = True
    ends_run: ClassVar[bool] = True

    def check(self, rep: Representation, observables: set[str]) -> None:
        if (self.threshold is None) == (self.threshold_parameter is None):
            raise InputError(
                "invalid stop_when entry: give exactly one of 'threshold' and "
                f"'threshold_parameter' (got {self.threshold!r}, {self.threshold_parameter!r})"
            )
        if self.observable not in observables:
            raise InputError(
                f"unknown observable '{self.observable}' in stop_when"
                f"{suggest(self.observable, sorted(observables))}; "
                f"known: {', '.join(sorted(observables))}"
            )
        names = type(rep.params).names()
        if self.threshold_parameter is not None and self.threshold_parameter not in names:
            raise InputError(
                f"unknown parameter '{self.threshold_parameter}' in stop_when"
                f"{suggest(self.threshold_parameter, names)}; known: {', '.join(names)}"
            )

    def limit(self, rep: Representation) -> float:
        """The threshold in force (the parameter's current value if one is named)."""
        if self.threshold_parameter is not None:
            return float(getattr(rep.params, self.threshold_parameter))
        return float(self.threshold)

    def fire(self, rep, state, t, observables, memory, tol) -> list[EventRecord]:
        value = (observables or {}).get(self.observable)
        limit = self.limit(rep)
        if value is None or t < self.start - tol or not math.isfinite(limit):
            return []
        crossed = value >= limit if self.above else value <= limit
        if not crossed:
            return []
        sign = ">=" if self.above else "<="
        name = self.threshold_parameter or "threshold"
        return [
            EventRecord(
                t,
                self.kind,
                f"{self.outcome} at t = {t:g} {rep.time_label}: {self.observable} = "
                f"{value:.4g} {sign} {name} = {limit:g}; run stopped",
                {self.observable: value, "threshold": limit, "outcome": self.outcome},
                "stop",
            )
        ]
