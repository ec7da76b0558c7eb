"""Treatment protocols as data: scheduled parameter changes, scheduled actions (injections)
and threshold-triggered actions. Each firing is logged as an :class:`EventRecord`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from oncoscale.models.base import Representation


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SetParameter(_Spec):
    """Change one model parameter at a given time (e.g. ζ from 0.5 to 5 at 200 h)."""

    kind: Literal["set_parameter"]
    time: float = Field(ge=0, description="h")
    parameter: str
    value: float


class Injection(_Spec):
    """A viral injection at a given time: a fraction of uninfected cells become infected."""

    kind: Literal["injection"]
    time: float = Field(ge=0, description="h")
    fraction: float = Field(0.3, ge=0, le=1)


class ThresholdInjection(_Spec):
    """After ``start``, inject whenever ``observable`` reaches ``threshold`` from below."""

    kind: Literal["threshold_injection"]
    start: float = Field(0.0, ge=0, description="h")
    threshold: float = Field(gt=0, description="units of the observable (cells)")
    observable: str = "total_tumour"
    fraction: float = Field(0.3, ge=0, le=1)
    min_interval: float = Field(0.0, ge=0, description="h, shortest time between two firings")


EventSpec = Annotated[SetParameter | Injection | ThresholdInjection, Field(discriminator="kind")]


@dataclass
class EventRecord:
    """One event that happened during a run."""

    time: float
    kind: str
    description: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "time": self.time,
            "kind": self.kind,
            "description": self.description,
            "details": self.details,
        }

    def details_json(self) -> str:
        """Details as a JSON string (for NetCDF)."""
        return json.dumps(self.details, default=float)


def scheduled_times(events: list[EventSpec]) -> list[float]:
    """Times of the scheduled (not triggered) events."""
    return sorted({e.time for e in events if isinstance(e, SetParameter | Injection)})


def apply_scheduled(
    rep: Representation, state: Any, events: list[EventSpec], t: float, tol: float
) -> tuple[Any, list[EventRecord]]:
    """Apply every scheduled event due at time t (|time − t| <= tol), in file order."""
    records = []
    for e in events:
        if isinstance(e, SetParameter) and abs(e.time - t) <= tol:
            old = getattr(rep.params, e.parameter)
            rep.set_parameter(e.parameter, e.value)
            records.append(
                EventRecord(
                    t,
                    "set_parameter",
                    f"{e.parameter}: {old} -> {e.value}",
                    {"parameter": e.parameter, "old": old, "new": e.value},
                )
            )
        elif isinstance(e, Injection) and abs(e.time - t) <= tol:
            state, info = rep.apply_action(state, "inject", {"fraction": e.fraction})
            records.append(EventRecord(t, "injection", f"injection of {e.fraction:g}", info))
    return state, records


@dataclass
class TriggerState:
    """Whether a threshold trigger is armed, and when it last fired."""

    armed: bool = True
    last_fired: float = float("-inf")
    firings: int = 0


def evaluate_triggers(
    rep: Representation,
    state: Any,
    events: list[EventSpec],
    trigger_states: list[TriggerState],
    observables: dict[str, float],
    t: float,
) -> tuple[Any, list[EventRecord]]:
    """Fire armed threshold triggers whose observable has reached the threshold.

    A trigger is armed from ``start``; it fires when the observable is >= threshold, then
    disarms until the observable falls below the threshold again (so an injection that
    does not change the total at once does not fire repeatedly).
    """
    records = []
    triggers = [e for e in events if isinstance(e, ThresholdInjection)]
    for spec, ts in zip(triggers, trigger_states, strict=True):
        value = observables.get(spec.observable)
        if value is None:
            continue
        if value < spec.threshold:
            ts.armed = True
            continue
        if t < spec.start or not ts.armed or t - ts.last_fired < spec.min_interval:
            continue
        state, info = rep.apply_action(state, "inject", {"fraction": spec.fraction})
        ts.armed, ts.last_fired, ts.firings = False, t, ts.firings + 1
        info = {**info, spec.observable: value, "threshold": spec.threshold}
        records.append(
            EventRecord(
                t,
                "threshold_injection",
                f"{spec.observable} = {value:.4g} >= {spec.threshold:g}: injection",
                info,
            )
        )
    return state, records


def validate_protocol(rep: Representation, events: list[EventSpec], observables: set[str]) -> None:
    """Check parameter names and observables before a run starts (clear messages)."""
    from oncoscale.errors import InputError
    from oncoscale.models.parameters import suggest

    names = type(rep.params).names()
    for e in events:
        if isinstance(e, SetParameter):
            if e.parameter not in names:
                raise InputError(
                    f"unknown parameter '{e.parameter}' in protocol event at t = {e.time} h"
                    f"{suggest(e.parameter, names)}; known: {', '.join(names)}"
                )
            rep.params.updated(**{e.parameter: e.value})  # validates the new value
        if isinstance(e, ThresholdInjection) and e.observable not in observables:
            raise InputError(
                f"unknown observable '{e.observable}' in threshold_injection"
                f"{suggest(e.observable, sorted(observables))}; "
                f"known: {', '.join(sorted(observables))}"
            )
