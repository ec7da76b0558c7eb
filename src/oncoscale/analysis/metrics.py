"""Study metrics: one finished run (its result Dataset) → a few named numbers.

A metric is a function ``f(ds, **options) -> {name: number}`` registered by name with
:func:`study_metric`; a scenario's study names it (``metric = "oscillation"``), a multi-parameter
study takes its entries as QoIs (``METRIC.KEY``, see :mod:`oncoscale.analysis.qoi`). Adding one
is defining it in a module that is imported (here, or a module in a family's ``extensions``).
Each entry may declare its UDUNITS unit as a template: ``{obs}`` is the unit of the metric's
``observable`` option, ``{time}`` the family's time unit (entries without one are "1").
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
_UNITS: dict[str, dict[str, str]] = {}


def study_metric(name: str, units: dict[str, str] | None = None) -> Callable[[Metric], Metric]:
    """Decorator: register ``f(ds, **options) -> dict`` as the study metric ``name``;
    ``units``: entry → UDUNITS template (``{obs}``, ``{time}``)."""

    def register(fn: Metric) -> Metric:
        _METRICS[name] = fn
        _UNITS[name] = dict(units or {})
        return fn

    return register


def metric_units(name: str, ds: xr.Dataset, options: dict | None = None) -> dict[str, str]:
    """UDUNITS units of the entries of metric ``name`` for the run ``ds``."""
    default = inspect.signature(metric(name)).parameters.get("observable")
    observable = (options or {}).get("observable", default.default if default else "")
    obs = ds[observable].attrs.get("units", "1") if observable in ds else "1"
    time = ds["t_obs"].attrs.get("units", "1")
    return {k: _product(v.format(obs=obs, time=time)) for k, v in _UNITS[name].items()}


def _product(units: str) -> str:
    """Tidy a product of UDUNITS units ("1 h" → "h", "1 1" → "1")."""
    parts = [u for u in units.split() if u != "1"]
    return " ".join(parts) or "1"


def metric(name: str) -> Metric:
    """The metric registered as ``name`` (InputError naming the known ones otherwise)."""
    if not isinstance(name, str) or name not in _METRICS:
        raise InputError(
            f"unknown study metric {name!r}{suggest(str(name), list(_METRICS))}; "
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


@study_metric(
    "oscillation",
    units={"max": "{obs}", "min": "{obs}", "mean": "{obs}", "final": "{obs}", "oscillating": "1"},
)
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


def half_swings(t: np.ndarray, x: np.ndarray, prominence: float) -> tuple[np.ndarray, np.ndarray]:
    """Amplitudes of an oscillation: half the difference between successive local extrema
    (a level or slow drift cancels to first order), with the time of the second extremum of
    each pair; extrema less prominent than ``prominence`` (numerical noise) are ignored."""
    from scipy.signal import find_peaks

    peaks = find_peaks(x, prominence=prominence)[0]
    troughs = find_peaks(-x, prominence=prominence)[0]
    extrema = np.sort(np.concatenate([peaks, troughs]))
    if extrema.size < 2:
        return np.zeros(0), np.zeros(0)
    return 0.5 * np.abs(np.diff(x[extrema])), t[extrema[1:]]


@study_metric(
    "damping",
    units={
        "first_amplitude": "{obs}",
        "late_amplitude": "{obs}",
        "late_over_first": "1",
        "damped": "1",
        "damps_then_regrows": "1",
        "max": "{obs}",
        "min": "{obs}",
        "final": "{obs}",
    },
)
def damping_metric(
    ds: xr.Dataset,
    observable: str = "u_center",
    t_late: float = 3000.0,
    damped_ratio: float = 0.1,
    noise: float = 1e-3,
) -> dict[str, float]:
    """Damping of the oscillation of an observable (spec oncolytic.md §8, Fig. 7 decision).

    Amplitudes are half the differences between successive local extrema
    (:func:`half_swings`; extrema with a prominence below ``noise`` × range ignored). The
    first amplitude is that of the first full swing; the late amplitude is the mean over the
    swings ending at t >= ``t_late`` (with fewer than one swing there: half the range of the
    linearly detrended signal over the late window — a monotone approach gives ~0). Damped:
    late < ``damped_ratio`` × first. "Damps then regrows": the amplitude sequence falls to a
    minimum inside the window and then grows again by more than half of it (the growing
    infected disc pushes the effective inflow past the ODE's Hopf point). Also the min, max
    and final value over the late window (the seed's dots and stars)."""
    t = ds["t_obs"].values
    x = ds[observable].values.astype(float)
    late = t >= t_late
    if not late.any() or x.size < 3:
        nan = math.nan
        return dict.fromkeys(
            ("first_amplitude", "late_amplitude", "late_over_first", "damped",
             "damps_then_regrows", "max", "min", "final"), nan,
        )  # fmt: skip
    amp, at = half_swings(t, x, noise * max(float(np.ptp(x)), 1e-300))
    first = float(amp[0]) if amp.size else 0.0
    tail = amp[at >= t_late]
    if tail.size:
        late_amp = float(np.mean(tail))
    else:
        tl, xl = t[late], x[late]
        trend = np.polyval(np.polyfit(tl, xl, 1), tl) if tl.size > 1 else xl
        late_amp = 0.5 * float(np.ptp(xl - trend))
    regrows = False
    if amp.size >= 3:
        k = int(np.argmin(amp))
        regrows = 0 < k < amp.size - 1 and amp[0] > 1.5 * amp[k] and amp[k:].max() > 1.5 * amp[k]
    ratio = late_amp / first if first > 0 else math.nan
    return {
        "first_amplitude": first,
        "late_amplitude": late_amp,
        "late_over_first": ratio,
        "damped": float(first > 0 and late_amp < damped_ratio * first),
        "damps_then_regrows": float(regrows),
        "max": float(x[late].max()),
        "min": float(x[late].min()),
        "final": float(x[-1]),
    }


@study_metric(
    "tumour_burden",
    units={
        "integral_cells_h": "{obs} {time}",
        "injections": "1",
        "mean_interval_h": "{time}",
        "min_after_first_injection": "{obs}",
        "final": "{obs}",
    },
)
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


@study_metric(
    "eradication",
    units={
        "eradicated": "1",
        "time_to_extinction": "{time}",
        "time_to_relapse": "{time}",
        "nadir": "{obs}",
        "time_of_nadir": "{time}",
        "amplitude": "{obs}",
    },
)
def eradication_metric(
    ds: xr.Dataset,
    observable: str = "total_tumour",
    threshold: float = 1.0,
    relapse_fraction: float = 0.5,
    t_from: float = 0.0,
) -> dict[str, float]:
    """Eradication and relapse of ``observable`` (default total tumour) over t >= t_from.

    * ``eradicated``: 1 if the final value is below ``threshold`` (in the observable's unit:
      one cell for counts, one cell/mm² for densities), else 0;
    * ``time_to_extinction``: first time from which the observable stays below ``threshold``
      to the end; the horizon if it never does (censored);
    * ``nadir`` and ``time_of_nadir``: the minimum and when it is reached;
    * ``time_to_relapse``: time from the nadir until the observable is back above
      ``relapse_fraction`` × its value at t_from; the remaining horizon if it never is
      (censored: eradicated runs and slow relapses get the horizon);
    * ``amplitude``: max - min after the nadir (oscillation size).
    """
    t = ds["t_obs"].values
    sel = t >= t_from
    t, x = t[sel], ds[observable].values[sel].astype(float)
    if x.size == 0:
        raise InputError(f"eradication metric: no observation at t >= {t_from}")
    below = x < threshold
    above = np.nonzero(~below)[0]
    if not below[-1]:
        extinct = t[-1]
    else:
        extinct = t[above[-1] + 1] if above.size else t[0]
    k = int(np.argmin(x))
    back = np.nonzero(x[k:] >= relapse_fraction * x[0])[0]
    relapse = t[k + back[0]] - t[k] if back.size else t[-1] - t[k]
    return {
        "eradicated": float(below[-1]),
        "time_to_extinction": float(extinct),
        "time_to_relapse": float(relapse),
        "nadir": float(x[k]),
        "time_of_nadir": float(t[k]),
        "amplitude": float(np.max(x[k:]) - x[k]),
    }


@study_metric("outcome", units={"log10_final": "1", "escaped": "1", "extinct": "1"})
def outcome_metric(
    ds: xr.Dataset,
    observable: str = "total_tumour",
    escape_factor: float = 100.0,
    threshold: float = 1e-6,
) -> dict[str, float]:
    """Long-time outcome of ``observable`` (e.g. the kinetic tumour density n1):
    ``log10_final`` (log10 of the final value, floored at 1e-300), ``escaped`` (1 if the final
    value exceeds ``escape_factor`` × the initial one) and ``extinct`` (1 if it is below
    ``threshold``, in the observable's unit)."""
    x = ds[observable].values.astype(float)
    final, first = float(x[-1]), float(x[0])
    return {
        "log10_final": float(np.log10(max(final, 1e-300))),
        "escaped": float(final > escape_factor * max(first, 1e-300)),
        "extinct": float(final < threshold),
    }
