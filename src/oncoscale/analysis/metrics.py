"""Study metrics: one finished run (its result Dataset) → a few named numbers.

A metric is a function ``f(ds, **options) -> {name: number}`` registered by name with
:func:`study_metric`; a scenario's study names it (``metric = "oscillation"``). Adding one is
defining it in a module that is imported (here, or a module in a family's ``extensions``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.errors import InputError
from oncoscale.io.results import events_of
from oncoscale.models.parameters import suggest

Metric = Callable[..., dict[str, float]]
_METRICS: dict[str, Metric] = {}


def study_metric(name: str) -> Callable[[Metric], Metric]:
    """Decorator: register ``f(ds, **options) -> dict`` as the study metric ``name``."""

    def register(fn: Metric) -> Metric:
        _METRICS[name] = fn
        return fn

    return register


def metric(name: str) -> Metric:
    """The metric registered as ``name`` (InputError naming the known ones otherwise)."""
    if name not in _METRICS:
        raise InputError(
            f"unknown study metric '{name}'{suggest(name, list(_METRICS))}; "
            f"allowed: {', '.join(_METRICS)}"
        )
    return _METRICS[name]


def check_options(name: str, options: Mapping[str, Any]) -> None:
    """InputError unless ``options`` are options of the metric ``name`` with values of their
    declared kind: finite numbers (within 64-bit integers) for number options, text for text
    ones (checked before a study runs, not after its last run)."""
    declared = list(inspect.signature(metric(name)).parameters.values())[1:]
    known = {p.name: str(p.annotation) for p in declared}
    for key, value in options.items():
        if key not in known:
            raise InputError(
                f"unknown option '{key}' of study metric '{name}'{suggest(key, list(known))}; "
                f"allowed: {', '.join(known) or 'none'}"
            )
        kind = known[key]
        if value is None and "None" in kind:
            continue
        if "float" in kind or "int" in kind:
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not (number and math.isfinite(value) and abs(value) < 2**63):
                raise InputError(
                    f"invalid value for study option '{key}': {value!r}; allowed: a finite number"
                )
        elif kind == "str" and not isinstance(value, str):
            raise InputError(f"invalid value for study option '{key}': {value!r}; allowed: text")


def metric_names() -> list[str]:
    """Names of the registered metrics."""
    return list(_METRICS)


@study_metric("oscillation")
def oscillation_metric(
    ds: xr.Dataset, observable: str = "u_center", t_from: float = 0.0, damped_fraction: float = 0.01
) -> dict[str, float]:
    """Max/min of an observable over t >= t_from; 'oscillating' if the range exceeds
    ``damped_fraction`` of the mean (otherwise the final value is the settled value)."""
    t = ds["t_obs"].values
    x = ds[observable].values[t >= t_from]
    if x.size == 0:
        return {"max": math.nan, "min": math.nan, "final": math.nan, "oscillating": math.nan}
    mean = float(np.mean(x))
    amp = float(np.max(x) - np.min(x))
    return {
        "max": float(np.max(x)),
        "min": float(np.min(x)),
        "mean": mean,
        "final": float(x[-1]),
        "oscillating": float(amp > damped_fraction * max(abs(mean), 1e-300)),
    }


@study_metric("tumour_burden")
def tumour_burden_metric(
    ds: xr.Dataset, t_from: float = 0.0, t_to: float | None = None, observable: str = "total_tumour"
) -> dict[str, float]:
    """∫ observable dt over [t_from, t_to] (observable units × time unit; cells·h for the
    oncolytic totals), the injections (events whose action is "inject") and their mean
    interval."""
    t = ds["t_obs"].values
    x = ds[observable].values
    t_to = t[-1] if t_to is None else t_to
    sel = (t >= t_from) & (t <= t_to)
    fired = [e["time"] for e in events_of(ds) if e.get("action") == "inject"]
    gaps = np.diff(fired)
    after = x[t >= fired[0]] if fired else x[sel]
    return {
        "integral_cells_h": float(np.trapezoid(x[sel], t[sel])),
        "injections": float(len(fired)),
        "mean_interval_h": float(np.mean(gaps)) if gaps.size else math.nan,
        "min_after_first_injection": float(np.min(after)) if after.size else math.nan,
        "final": float(x[-1]),
    }
