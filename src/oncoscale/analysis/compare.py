"""Agent-based ensemble vs continuum: agreement over time and the time they part.

Inputs: an ensemble dataset (:func:`oncoscale.analysis.ensemble_stats.ensemble_dataset`) and
one result per continuum model, all run with the same plan. Metrics: relative differences of
totals, section distances, front differences (mm), first exceedance, peak lags and the
band-based divergence time (h). Definitions: docs/ensembles.md, section '`oncoscale compare`
— ABM ensemble vs continuum'.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.analysis.ensemble_stats import section
from oncoscale.errors import InputError

BAND = (0.05, 0.95)
DEFAULT_TOLERANCE = 0.05
ONE_CELL = 1.0
EXCEEDANCE = 0.25


def relative_difference(pde: np.ndarray, abm: np.ndarray, floor: float = ONE_CELL) -> np.ndarray:
    """(pde − abm) / max(|pde|, |abm|, floor), elementwise."""
    pde, abm = np.asarray(pde, float), np.asarray(abm, float)
    return (pde - abm) / np.maximum(np.maximum(np.abs(pde), np.abs(abm)), floor)


def mean_difference_ci(
    replicates: np.ndarray, reference: float, level: float = 0.99
) -> tuple[float, float, float]:
    """Relative difference of the replicate mean from a reference, (mean − ref)/|ref|, with
    its two-sided ``level`` confidence interval from the replicates' standard error
    (Student t). Returns (difference, low, high)."""
    from scipy.stats import t as student

    x = np.asarray(replicates, dtype=float)
    if x.size < 2 or reference == 0:
        return math.nan, math.nan, math.nan
    se = x.std(ddof=1) / math.sqrt(x.size)
    half = student.ppf(0.5 + level / 2, x.size - 1) * se
    d = (x.mean() - reference) / abs(reference)
    return float(d), float(d - half / abs(reference)), float(d + half / abs(reference))


def relative_l2(pde: np.ndarray, abm: np.ndarray) -> np.ndarray:
    """Relative L2 distance over the last axis: ‖abm − pde‖ / max(‖abm‖, ‖pde‖) (0 if both
    vanish)."""
    pde, abm = np.asarray(pde, float), np.asarray(abm, float)
    num = np.linalg.norm(abm - pde, axis=-1)
    den = np.maximum(np.linalg.norm(abm, axis=-1), np.linalg.norm(pde, axis=-1))
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def outside_band(
    value: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    tol: float = DEFAULT_TOLERANCE,
    floor: float = ONE_CELL,
) -> np.ndarray:
    """Whether ``value`` lies outside [low (1 − tol) − floor, high (1 + tol) + floor]."""
    value = np.asarray(value, float)
    return (value < np.asarray(low) * (1 - tol) - floor) | (
        value > np.asarray(high) * (1 + tol) + floor
    )


def divergence_time(t: np.ndarray, outside: np.ndarray) -> float:
    """First time from which ``outside`` holds to the end; NaN if it is False at the end."""
    outside = np.asarray(outside, bool)
    if outside.size == 0 or not outside[-1]:
        return math.nan
    inside = np.nonzero(~outside)[0]
    return float(t[inside[-1] + 1]) if inside.size else float(t[0])


def first_exceedance(t: np.ndarray, value: np.ndarray, threshold: float) -> float:
    """First time at which |value| exceeds ``threshold``; NaN if it never does."""
    k = np.flatnonzero(np.abs(np.asarray(value, float)) > threshold)
    return float(t[k[0]]) if k.size else math.nan


def peak_times(t: np.ndarray, x: np.ndarray, prominence: float = 0.1) -> np.ndarray:
    """Times of the local maxima of ``x`` whose prominence exceeds ``prominence`` × max|x|."""
    from scipy.signal import find_peaks

    x = np.asarray(x, float)
    scale = float(np.nanmax(np.abs(x))) if x.size else 0.0
    if scale == 0:
        return np.zeros(0)
    k, _ = find_peaks(x, prominence=prominence * scale)
    return np.asarray(t)[k]


def peak_lags(t: np.ndarray, abm: np.ndarray, pde: np.ndarray) -> dict[str, list[float]]:
    """Peak times of the ABM mean and the PDE, and the lags ABM − PDE (h) of the peaks that
    are each other's nearest peak (the oscillation delay the seed reports for Fig. 6)."""
    a, b = peak_times(t, abm), peak_times(t, pde)
    pairs = []
    for j, pb in enumerate(b):
        if a.size == 0:
            break
        i = int(np.argmin(np.abs(a - pb)))
        if int(np.argmin(np.abs(b - a[i]))) == j:
            pairs.append(float(a[i] - pb))
    return {"abm_h": [float(v) for v in a], "pde_h": [float(v) for v in b], "lag_h": pairs}


def _section_of(ds: xr.Dataset, name: str, x: np.ndarray) -> np.ndarray:
    """Field ``name`` of a continuum result along y = 0 at the positions ``x`` (t, x)."""
    da = section(ds[name])
    space = next(d for d in da.dims if d != "t")
    values = np.asarray(da.values, float)
    coord = np.asarray(ds[space].values, float)
    if space == "r":
        return np.stack([np.interp(np.abs(x), coord, row) for row in values])
    if coord.shape == x.shape and np.allclose(coord, x):
        return values
    return np.stack([np.interp(x, coord, row) for row in values])


def _section_on(ds: xr.Dataset, name: str, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Section of ``name`` at positions ``x`` and snapshot times ``t`` (t, x)."""
    values = _section_of(ds, name, x)
    src_t = ds["t"].values
    return np.stack([_on_times(src_t, col, t) for col in values.T], axis=-1)


def _on_times(src_t: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    if src_t.shape == t.shape and np.allclose(src_t, t):
        return values
    if t[0] < src_t[0] - 1e-9 or t[-1] > src_t[-1] + 1e-9:
        raise InputError("the continuum run does not cover the ensemble's time span")
    return np.interp(t, src_t, values)


def _quantile_index(ens: xr.Dataset, q: float) -> int:
    k = np.flatnonzero(np.isclose(ens["quantile"].values, q))
    if not k.size:
        raise InputError(f"the ensemble has no {q:g} quantile; it is needed for the band")
    return int(k[0])


def compare(
    ens: xr.Dataset, continuum: Mapping[str, xr.Dataset], tol: float = DEFAULT_TOLERANCE
) -> xr.Dataset:
    """The comparison dataset of an ABM ensemble with one or more continuum results."""
    if not continuum:
        raise InputError("nothing to compare with: give at least one continuum result")
    if not 0 <= tol < 1:
        raise InputError(f"invalid value for 'tolerance': {tol!r}; allowed: 0 <= tol < 1")
    models = list(continuum)
    t_obs, t = ens["t_obs"].values, ens["t"].values
    lo, hi = _quantile_index(ens, BAND[0]), _quantile_index(ens, BAND[1])
    pops = [
        str(n)[6:]
        for n in ens.data_vars
        if str(n).startswith("total_") and ens[n].dims == ("run", "t_obs")
    ]
    fields = [
        str(n)[: -len("_section_mean")] for n in ens.data_vars if str(n).endswith("_section_mean")
    ]
    fronts = [n for n in ("front_u", "front_i") if n in ens]
    space = ens[f"{fields[0]}_section_mean"].dims[-1] if fields else None
    x = ens[space].values if space else np.zeros(0)
    data: dict[str, Any] = {}
    for pop in pops:
        name = f"total_{pop}"
        mean, quant = ens[f"{name}_mean"].values, ens[f"{name}_quantile"].values
        pde = np.stack(
            [_on_times(ds["t_obs"].values, ds[name].values, t_obs) for ds in continuum.values()]
        )
        attrs = dict(ens[name].attrs)
        data[f"abm_{name}_mean"] = ("t_obs", mean, attrs)
        data[f"abm_{name}_quantile"] = (("quantile", "t_obs"), quant, attrs)
        data[f"pde_{name}"] = (("continuum", "t_obs"), pde, attrs)
        data[f"rel_diff_{name}"] = (
            ("continuum", "t_obs"),
            relative_difference(pde, mean),
            {"units": "1", "long_name": f"(PDE - ABM mean)/max(|PDE|, |ABM|, 1) of {name}"},
        )
        data[f"outside_band_{name}"] = (
            ("continuum", "t_obs"),
            outside_band(pde, quant[lo], quant[hi], tol).astype(np.int8),
            {"long_name": f"PDE {name} outside the ABM 5-95 % band (+/- tol)"},
        )
    for f in fields:
        abm = ens[f"{f}_section_mean"].values
        pde = np.stack([_section_on(ds, f, x, t) for ds in continuum.values()])
        attrs = dict(ens[f"{f}_section_mean"].attrs)
        data[f"abm_{f}_section_mean"] = (("t", space), abm, attrs)
        data[f"abm_{f}_section_quantile"] = (
            ("quantile", "t", space),
            ens[f"{f}_section_quantile"].values,
            attrs,
        )
        data[f"pde_{f}_section"] = (("continuum", "t", space), pde, attrs)
        data[f"rel_l2_{f}"] = (
            ("continuum", "t"),
            relative_l2(pde, abm[None]),
            {"units": "1", "long_name": f"relative L2 distance of the {f} sections"},
        )
    for name in fronts:
        abm = ens[f"{name}_mean"].values
        pde = np.stack(
            [_on_times(ds["t_obs"].values, ds[name].values, t_obs) for ds in continuum.values()]
        )
        data[f"abm_{name}_mean"] = ("t_obs", abm, dict(ens[name].attrs))
        data[f"pde_{name}"] = (("continuum", "t_obs"), pde, dict(ens[name].attrs))
        data[f"front_diff_{name}"] = (
            ("continuum", "t_obs"),
            pde - abm,
            {"units": "mm", "long_name": f"PDE {name} minus ABM mean {name}"},
        )
    coords: dict[str, Any] = {
        "continuum": ("continuum", np.array(models, dtype=str)),
        "t_obs": ens["t_obs"],
        "t": ens["t"],
        "quantile": ens["quantile"],
    }
    if space:
        coords[space] = ens[space]
    attrs = {
        "title": f"ABM ensemble vs continuum, scenario {ens.attrs.get('scenario', '')}",
        "family": ens.attrs.get("family", ""),
        "scenario": ens.attrs.get("scenario", ""),
        "runs": int(ens.sizes["run"]),
        "band": f"{BAND[0]:g}-{BAND[1]:g} quantiles of the ABM runs",
        "tolerance": tol,
        "parameters": ens.attrs.get("parameters", "{}"),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def comparison_summary(
    cmp: xr.Dataset, max_rows: int = 21, threshold: float = EXCEEDANCE
) -> dict[str, Any]:
    """Divergence times, first exceedance of the relative difference of the totals over
    ``threshold``, peak lags, and a per-time discrepancy table (at most ``max_rows`` snapshot
    times)."""
    t_obs, t = cmp["t_obs"].values, cmp["t"].values
    pops = [
        str(n)[len("rel_diff_total_") :]
        for n in cmp.data_vars
        if str(n).startswith("rel_diff_total_")
    ]
    fields = [str(n)[len("rel_l2_") :] for n in cmp.data_vars if str(n).startswith("rel_l2_")]
    fronts = [
        str(n)[len("front_diff_") :] for n in cmp.data_vars if str(n).startswith("front_diff_")
    ]
    idx = np.unique(np.linspace(0, t.size - 1, min(max_rows, t.size)).round().astype(int))
    out: dict[str, Any] = {
        "scenario": cmp.attrs["scenario"],
        "runs": cmp.attrs["runs"],
        "tolerance": cmp.attrs["tolerance"],
        "metrics": {
            "rel_diff_total": "(PDE - ABM mean)/max(|PDE|, |ABM mean|, 1 cell)",
            "rel_l2_section": "||ABM mean - PDE||_2 / max(||ABM mean||_2, ||PDE||_2) along y = 0",
            "front_diff": "PDE front - ABM mean front (mm); fronts: outermost radius with density "
            "> 1/delta^2",
            "divergence": "first time from which the PDE total stays outside "
            "[q05 (1 - tol) - 1, q95 (1 + tol) + 1] of the ABM runs until the end",
            "first_exceedance": f"first time |rel_diff_total| > {threshold:g}",
            "peak_lag": "times of the maxima (prominence > 10 % of the maximum) of the ABM mean "
            "and PDE totals; lag = ABM - PDE (h) for mutually nearest peaks",
        },
        "continuum": {},
    }
    for k, model in enumerate(cmp["continuum"].values):
        div = {
            pop: divergence_time(t_obs, cmp[f"outside_band_total_{pop}"].values[k]) for pop in pops
        }
        finite = [v for v in div.values() if math.isfinite(v)]
        rows = []
        for j in idx:
            tj = float(t[j])
            m = int(np.argmin(np.abs(t_obs - tj)))
            row: dict[str, Any] = {"t_h": tj}
            for pop in pops:
                row[f"rel_diff_total_{pop}"] = float(cmp[f"rel_diff_total_{pop}"].values[k, m])
            for f in fields:
                row[f"rel_l2_{f}"] = float(cmp[f"rel_l2_{f}"].values[k, j])
            for name in fronts:
                row[f"{name}_diff_mm"] = float(cmp[f"front_diff_{name}"].values[k, m])
            rows.append(row)
        exceed = {
            pop: first_exceedance(t_obs, cmp[f"rel_diff_total_{pop}"].values[k], threshold)
            for pop in pops
        }
        lags = {
            pop: peak_lags(
                t_obs, cmp[f"abm_total_{pop}_mean"].values, cmp[f"pde_total_{pop}"].values[k]
            )
            for pop in pops
        }
        out["continuum"][str(model)] = {
            "divergence_time_h": min(finite) if finite else math.nan,
            "divergence_time_by_population_h": div,
            "first_exceedance_h": exceed,
            "peaks": lags,
            "max_abs_rel_diff_total": {
                pop: float(np.max(np.abs(cmp[f"rel_diff_total_{pop}"].values[k]))) for pop in pops
            },
            "max_rel_l2_section": {f: float(np.max(cmp[f"rel_l2_{f}"].values[k])) for f in fields},
            "per_time": rows,
        }
    return out
