"""Quantities of interest (QoIs): one finished run (its result Dataset) → named scalars.

A QoI name is one of

* ``NAME`` — the final value of observable NAME (a key of summary.json's ``final`` block,
  e.g. ``total_tumour``);
* ``NAME@T`` — observable NAME at time T in the family's time unit (linear interpolation
  between observation times; e.g. ``total_tumour@300``);
* ``METRIC.KEY`` — entry KEY of the registered study metric METRIC (e.g.
  ``tumour_burden.integral_cells_h``, ``eradication.time_to_relapse``), with the metric's
  default options unless the study gives ``{METRIC: {option: value}}``.

Units follow the result file: an observable's UDUNITS unit, a metric entry's declared unit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.analysis.metrics import metric, metric_names, metric_units
from oncoscale.errors import InputError
from oncoscale.models.parameters import suggest

_AT = re.compile(r"^(?P<name>[A-Za-z_][\w]*)@(?P<time>[-+0-9.eE]+)$")


@dataclass(frozen=True)
class QoI:
    """A parsed QoI name: ``kind`` is "final", "at" or "metric"."""

    text: str
    kind: str
    name: str  # observable or metric name
    key: str = ""  # metric entry
    time: float = math.nan  # for "at"

    @property
    def variable(self) -> str:
        """A CF-safe variable name (letters, digits, underscores)."""
        safe = self.text.replace("@", "_at_").replace(".", "_").replace("-", "m").replace("+", "")
        return "qoi_" + re.sub(r"\W", "_", safe)


def parse_qoi(text: str) -> QoI:
    """Parse a QoI name (InputError for a malformed one)."""
    text = text.strip()
    match = _AT.match(text)
    if match:
        time = float(match["time"])
        if not math.isfinite(time) or time < 0:
            raise InputError(f"invalid QoI '{text}': time {match['time']}; allowed: >= 0, finite")
        return QoI(text, "at", match["name"], time=time)
    if "@" in text:
        raise InputError(f"invalid QoI '{text}': expected NAME@TIME, e.g. total_tumour@300")
    if "." in text:
        name, _, key = text.partition(".")
        if name not in metric_names():
            raise InputError(
                f"invalid QoI '{text}': unknown study metric '{name}'"
                f"{suggest(name, metric_names())}; allowed: {', '.join(metric_names())}"
            )
        return QoI(text, "metric", name, key=key)
    if not re.fullmatch(r"[A-Za-z_]\w*", text):
        raise InputError(f"invalid QoI '{text}': expected NAME, NAME@TIME or METRIC.KEY")
    return QoI(text, "final", text)


def observable_names(ds: xr.Dataset) -> list[str]:
    """The scalar observables of a result (variables on ``t_obs``)."""
    return [str(n) for n, v in ds.data_vars.items() if v.dims == ("t_obs",)]


def check_qois(
    qois: Sequence[QoI], ds: xr.Dataset, options: Mapping[str, Mapping[str, Any]] | None = None
) -> None:
    """Raise InputError unless every QoI can be taken from ``ds`` (a probe run)."""
    names = observable_names(ds)
    t = ds["t_obs"].values
    for q in qois:
        if q.kind in ("final", "at") and q.name not in names:
            raise InputError(
                f"invalid QoI '{q.text}': '{q.name}' is not an observable of this model"
                f"{suggest(q.name, names)}; allowed: {', '.join(names)}, NAME@TIME or "
                f"METRIC.KEY (metrics: {', '.join(metric_names())})"
            )
        if q.kind == "at" and not t[0] <= q.time <= t[-1]:
            raise InputError(
                f"invalid QoI '{q.text}': time {q.time:g} is outside the run "
                f"[{t[0]:g}, {t[-1]:g}] {ds['t_obs'].attrs.get('units', '')}"
            )
        if q.kind == "metric":
            opts = dict((options or {}).get(q.name, {}))
            try:
                keys = metric(q.name)(ds, **opts)
            except KeyError as exc:
                raise InputError(
                    f"invalid QoI '{q.text}': metric '{q.name}' needs {exc} which this model "
                    f"does not have; choose it with --qoi-option {q.name}.observable=NAME "
                    f"(observables: {', '.join(names)})"
                ) from None
            except TypeError as exc:
                raise InputError(f"invalid options {opts} for metric '{q.name}': {exc}") from None
            if q.key not in keys:
                raise InputError(
                    f"invalid QoI '{q.text}': metric '{q.name}' has no entry '{q.key}'"
                    f"{suggest(q.key, list(keys))}; allowed: {', '.join(keys)}"
                )


def value_at(ds: xr.Dataset, name: str, time: float) -> float:
    """Observable ``name`` at ``time`` (linear interpolation on ``t_obs``)."""
    t = ds["t_obs"].values
    return float(np.interp(time, t, ds[name].values.astype(float)))


def qoi_values(
    ds: xr.Dataset,
    qois: Sequence[QoI],
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> np.ndarray:
    """The QoIs of one run, in order (each metric computed once)."""
    cache: dict[str, dict[str, float]] = {}
    out = np.empty(len(qois))
    for j, q in enumerate(qois):
        if q.kind == "final":
            out[j] = float(ds[q.name].values[-1]) if ds.sizes["t_obs"] else math.nan
        elif q.kind == "at":
            out[j] = value_at(ds, q.name, q.time)
        else:
            if q.name not in cache:
                cache[q.name] = metric(q.name)(ds, **dict((options or {}).get(q.name, {})))
            out[j] = float(cache[q.name][q.key])
    return out


def qoi_attrs(
    q: QoI, ds: xr.Dataset, options: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, str]:
    """CF attributes of a QoI variable (units taken from the probe run ``ds``)."""
    if q.kind in ("final", "at"):
        var = ds[q.name]
        units = var.attrs.get("units", "1")
        when = (
            "final value"
            if q.kind == "final"
            else f"value at t = {q.time:g} {ds['t_obs'].attrs.get('units', '')}"
        )
        attrs = {"long_name": f"{var.attrs.get('long_name', q.name)}: {when}", "units": units}
        if "units_label" in var.attrs:
            attrs["units_label"] = var.attrs["units_label"]
    else:
        units = metric_units(q.name, ds, dict((options or {}).get(q.name, {}))).get(q.key, "1")
        attrs = {"long_name": f"study metric {q.name}: {q.key.replace('_', ' ')}", "units": units}
    attrs["qoi"] = q.text
    return attrs
