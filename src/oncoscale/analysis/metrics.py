"""Study metrics: one finished run (its result Dataset) → a few named numbers.

A metric is a function ``f(ds, **options) -> {name: number}`` registered by name with
:func:`study_metric`; a scenario's study names it (``metric = "oscillation"``). Adding one is
defining it in a module that is imported (here, or a module in a family's ``extensions``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

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


@study_metric("damping")
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
