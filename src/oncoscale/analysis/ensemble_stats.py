"""Statistics over the replicates of a stochastic ensemble (any family, any representation).

From the result files of N runs of the same plan: per-run scalar observables with their means
and quantiles, mean and quantile sections of every field, and per-population extinction flags
and times (in the family's time unit). Layout and definitions: docs/ensembles.md, section
'`ensemble.nc`'.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.errors import InputError

QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
SPACE_DIMS = ("x", "y", "z", "r")


def observable_names(ds: xr.Dataset) -> list[str]:
    """Scalar observables (variables on ``t_obs`` only)."""
    return [str(n) for n, v in ds.data_vars.items() if v.dims == ("t_obs",)]


def field_names(ds: xr.Dataset) -> list[str]:
    """Spatial fields (variables on ``t`` and at least one space dimension)."""
    return [str(n) for n, v in ds.data_vars.items() if v.dims[:1] == ("t",) and v.ndim >= 2]


def section(da: xr.DataArray) -> xr.DataArray:
    """The profile of a field along x through y = 0 (z = 0), or through the middle of the domain
    where it does not contain 0.

    Non-spatial dimensions other than ``t`` (e.g. ``phenotype``) are summed over; of a 2D or
    3D field the grid line with y (and z) nearest 0 — the oncolytic lattice [−L, L]² — or the
    middle ([0, 10]² of the invasion family) is kept and recorded as attrs ``section_y``
    (``section_z``).
    Fields with one space dimension are their own section."""
    extra = [d for d in da.dims if d != "t" and d not in SPACE_DIMS]
    out = da.sum(extra, keep_attrs=True) if extra else da
    space = [d for d in out.dims if d != "t"]
    if len(space) == 1:
        out.attrs = {**da.attrs, **({"summed_over": ",".join(extra)} if extra else {})}
        return out
    if not space or space[0] != "x" or not set(space[1:]) <= {"y", "z"}:
        raise InputError(
            f"cannot take a section of field '{da.name}' with dims {da.dims}; "
            "allowed: (t, [other dims,] x, y[, z]) or (t, one space dimension)"
        )
    attrs = dict(da.attrs)
    for dim in space[1:]:
        values = out[dim].values
        through = (
            0.0 if values.min() <= 0.0 <= values.max() else 0.5 * (values.min() + values.max())
        )
        j = int(np.argmin(np.abs(values - through)))
        attrs[f"section_{dim}"] = float(values[j])
        out = out.isel({dim: j}, drop=True)
    if extra:
        attrs["summed_over"] = ",".join(extra)
    out.attrs = attrs
    return out


def extinction_time(t: np.ndarray, total: np.ndarray) -> float:
    """First observation time from which ``total`` is 0 to the end; NaN if the final
    total is not 0 or the population was never present."""
    total = np.asarray(total, dtype=float)
    positive = np.nonzero(total > 0)[0]
    if total.size == 0 or total[-1] != 0 or positive.size == 0:
        return math.nan
    return float(t[positive[-1] + 1])


def _quantiles(x: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles over axis 0 ignoring NaN (all-NaN columns give NaN without warnings)."""
    if not np.isnan(x).any():
        return np.quantile(x, q, axis=0)
    out = np.full((len(q), *x.shape[1:]), np.nan)
    ok = ~np.all(np.isnan(x), axis=0)
    if ok.any():
        out[:, ok] = np.nanquantile(x[:, ok], q, axis=0)
    return out


def _nanmean(x: np.ndarray) -> np.ndarray:
    out = np.full(x.shape[1:], np.nan)
    n = np.sum(~np.isnan(x), axis=0)
    ok = n > 0
    out[ok] = np.nansum(x, axis=0)[ok] / n[ok]
    return out


def _space_coord(s: xr.DataArray) -> tuple[str, np.ndarray, dict[str, Any]]:
    space = next(str(d) for d in s.dims if d != "t")
    return space, np.asarray(s[space].values), dict(s[space].attrs)


def _check_same_grid(ref: xr.Dataset, ds: xr.Dataset, path: Path) -> None:
    for dim in ("t_obs", "t"):
        a, b = ref[dim].values, ds[dim].values
        if a.shape != b.shape or not np.allclose(a, b):
            raise InputError(
                f"run {path} has other output times ('{dim}') than the first run; "
                "all runs of an ensemble must share one plan"
            )


def ensemble_dataset(
    paths: Sequence[str | Path], quantiles: Sequence[float] = QUANTILES
) -> xr.Dataset:
    """Ensemble statistics of the runs stored at ``paths`` (result.nc files, in run order).

    Files are read one at a time and only the sections of the fields are loaded, so memory
    grows with runs × times × section length, not with the full fields.
    """
    if not paths:
        raise InputError("an ensemble needs at least one run")
    q = np.asarray(quantiles, dtype=float)
    if np.any((q < 0) | (q > 1)):
        raise InputError(f"invalid quantiles {list(quantiles)!r}; allowed: 0 <= q <= 1")
    obs: dict[str, list[np.ndarray]] = {}
    sec: dict[str, list[np.ndarray]] = {}
    seeds = []
    ref: xr.Dataset | None = None
    meta: dict[str, Any] = {}
    for path in paths:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            if ref is None:
                ref = ds[["t", "t_obs"]].load()
                obs_names, fld_names = observable_names(ds), field_names(ds)
                sections = {n: section(ds[n]) for n in fld_names}
                meta = {
                    "obs_attrs": {n: dict(ds[n].attrs) for n in obs_names},
                    "sec_attrs": {n: dict(s.attrs) for n, s in sections.items()},
                    "space": {n: _space_coord(s) for n, s in sections.items()},
                    "attrs": dict(ds.attrs),
                }
            _check_same_grid(ref, ds, Path(path))
            for n in obs_names:
                obs.setdefault(n, []).append(np.asarray(ds[n].values, dtype=float))
            for n in fld_names:
                sec.setdefault(n, []).append(np.asarray(section(ds[n]).values, dtype=float))
            seeds.append(int(ds.attrs.get("replicate", len(seeds))))
    assert ref is not None
    t_obs, t = ref["t_obs"], ref["t"]
    data: dict[str, Any] = {}
    coords: dict[str, Any] = {
        "run": ("run", np.arange(len(paths)), {"long_name": "replicate index"}),
        "quantile": ("quantile", q, {"units": "1", "long_name": "quantile over runs"}),
        "t_obs": t_obs,
        "t": t,
    }
    for n, rows in obs.items():
        x = np.stack(rows)
        attrs = meta["obs_attrs"][n]
        data[n] = (("run", "t_obs"), x, attrs)
        data[f"{n}_mean"] = ("t_obs", _nanmean(x), {**attrs, "statistic": "mean over runs"})
        data[f"{n}_quantile"] = (("quantile", "t_obs"), _quantiles(x, q), attrs)
    for n, rows in sec.items():
        x = np.stack(rows)
        space, values, space_attrs = meta["space"][n]
        coords.setdefault(space, (space, values, space_attrs))
        attrs = meta["sec_attrs"][n]
        data[f"{n}_section_mean"] = (("t", space), _nanmean(x), attrs)
        data[f"{n}_section_quantile"] = (("quantile", "t", space), _quantiles(x, q), attrs)
    for pop in population_names(obs):
        times = np.array([extinction_time(t_obs.values, r) for r in obs[f"total_{pop}"]])
        data[f"extinction_time_{pop}"] = (
            "run",
            times,
            {
                "units": t_obs.attrs.get("units", ""),
                "long_name": f"time from which total_{pop} stays 0 (NaN: never)",
            },
        )
        data[f"extinct_{pop}"] = (
            "run",
            np.isfinite(times).astype(np.int8),
            {"long_name": f"1 if population {pop} went extinct"},
        )
    data["replicate"] = ("run", np.array(seeds), {"long_name": "spawned seed index of the run"})
    src = meta["attrs"]
    attrs = {
        "title": f"oncoscale ensemble of {len(paths)} runs of scenario {src.get('scenario', '?')}",
        "family": src.get("family", ""),
        "model": src.get("model", ""),
        "scenario": src.get("scenario", ""),
        "time_label": src.get("time_label", t_obs.attrs.get("units", "")),
        "seed": int(src.get("seed", -1)),
        "runs": len(paths),
        "parameters": src.get("parameters", "{}"),
        "parameter_units": src.get("parameter_units", "{}"),
        "numerics": src.get("numerics", "{}"),
        "section": json.dumps({n: {"y": a.get("section_y")} for n, a in meta["sec_attrs"].items()}),
        "extinction": "time from which a population's total stays 0 to the end of the run",
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def population_names(names: Any) -> list[str]:
    """Populations with a total observable among ``names`` (``total_u`` → ``u``), in order."""
    return [str(n)[len("total_") :] for n in names if str(n).startswith("total_")]


def run_wall_times(paths: Sequence[str | Path]) -> np.ndarray:
    """Wall time (s) of each run, from its result attrs (kept out of the ensemble dataset so
    that the dataset is a pure function of the inputs)."""
    out = []
    for path in paths:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            out.append(float(ds.attrs.get("wall_time_s", math.nan)))
    return np.array(out)


def ensemble_summary(ens: xr.Dataset, wall: np.ndarray | None = None) -> dict[str, Any]:
    """Key numbers of an ensemble: final totals (mean, quantiles), extinction fractions and
    mean extinction times per population, and run wall times (s) if given."""
    q = [float(v) for v in ens["quantile"].values]
    pops = [str(n)[len("extinct_") :] for n in ens.data_vars if str(n).startswith("extinct_")]
    final: dict[str, Any] = {}
    extinction: dict[str, Any] = {}
    for pop in pops:
        x = ens[f"total_{pop}"].values[:, -1]
        final[pop] = {
            "mean": float(np.mean(x)),
            **{
                f"q{round(100 * p):02d}": float(v)
                for p, v in zip(q, np.quantile(x, q), strict=True)
            },
        }
        times = ens[f"extinction_time_{pop}"].values
        ok = np.isfinite(times)
        extinction[pop] = {
            "fraction_extinct": float(np.mean(ok)),
            "runs_extinct": int(ok.sum()),
            "mean_extinction_time": float(np.mean(times[ok])) if ok.any() else math.nan,
            "first_extinction_time": float(np.min(times[ok])) if ok.any() else math.nan,
        }
    wall = np.full(ens.sizes["run"], np.nan) if wall is None else np.asarray(wall, float)
    return {
        "family": ens.attrs["family"],
        "model": ens.attrs["model"],
        "scenario": ens.attrs["scenario"],
        "seed": ens.attrs["seed"],
        "runs": int(ens.sizes["run"]),
        "time_units": ens["t_obs"].attrs.get("units", ""),
        "t_end": float(ens["t_obs"].values[-1]),
        "final_totals": final,
        "extinction": extinction,
        "run_wall_time_s": {
            "mean": float(np.nanmean(wall)) if np.isfinite(wall).any() else math.nan,
            "total": float(np.nansum(wall)),
        },
    }


def final_values(ens: xr.Dataset, observable: str = "total_tumour") -> np.ndarray:
    """Per-run final value of an observable (for violin plots)."""
    if observable not in ens:
        raise InputError(
            f"unknown observable '{observable}' in ensemble; "
            f"allowed: {', '.join(n for n in ens.data_vars if ens[n].dims == ('run', 't_obs'))}"
        )
    return np.asarray(ens[observable].values[:, -1], dtype=float)


def zero_fraction_interval(zeros: int, runs: int) -> list[float]:
    """95 % Wilson score interval of a fraction ``zeros``/``runs`` (binomial sampling of the
    runs; sensible also at 0 and at ``runs``)."""
    from scipy.stats import binomtest

    ci = binomtest(zeros, runs).proportion_ci(confidence_level=0.95, method="wilson")
    return [float(ci.low), float(ci.high)]


def runs_to_separate(p1: float, p2: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Runs per ensemble needed to tell two fractions apart with a two-sided test at level
    ``alpha`` with probability ``power`` (normal approximation for two proportions; inf when
    they are equal)."""
    from scipy.stats import norm

    if p1 == p2:
        return math.inf
    mean = 0.5 * (p1 + p2)
    za, zb = norm.ppf(1 - alpha / 2), norm.ppf(power)
    n = za * math.sqrt(2 * mean * (1 - mean)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return float(math.ceil((n / (p1 - p2)) ** 2))


def fraction_difference(zeros: tuple[int, int], runs: tuple[int, int]) -> dict[str, float]:
    """Fisher's exact test of two fractions zeros/runs (two-sided p-value) and the runs per
    ensemble that would separate the observed fractions (:func:`runs_to_separate`)."""
    from scipy.stats import fisher_exact

    table = [[zeros[0], runs[0] - zeros[0]], [zeros[1], runs[1] - zeros[1]]]
    p_value = float(fisher_exact(table).pvalue)
    return {
        "fisher_p": p_value,
        "runs_to_separate": runs_to_separate(zeros[0] / runs[0], zeros[1] / runs[1]),
    }


def compare_ensembles(
    ensembles: Sequence[xr.Dataset], labels: Sequence[str], observable: str = "total_tumour"
) -> dict[str, Any]:
    """Across several ensembles (e.g. the three secretion settings of seed Fig. 10): per
    ensemble the final values of ``observable``, their mean, median and quartiles, and the
    fraction of runs in which it is 0 at the end (eradication when it is the tumour total)
    with its 95 % Wilson score interval."""
    if len(ensembles) != len(labels):
        raise InputError(f"got {len(ensembles)} ensembles but {len(labels)} labels")
    rows = []
    for ens, label in zip(ensembles, labels, strict=True):
        x = final_values(ens, observable)
        params = json.loads(ens.attrs.get("parameters", "{}"))
        rows.append(
            {
                "label": label,
                "scenario": ens.attrs.get("scenario", ""),
                "runs": int(x.size),
                "t_end": float(ens["t_obs"].values[-1]),
                "time_label": ens.attrs.get("time_label", ens["t_obs"].attrs.get("units", "")),
                "fraction_zero": float(np.mean(x == 0)),
                "fraction_zero_ci95": zero_fraction_interval(int(np.sum(x == 0)), int(x.size)),
                "mean": float(np.mean(x)),
                "median": float(np.median(x)),
                "q25": float(np.quantile(x, 0.25)),
                "q75": float(np.quantile(x, 0.75)),
                "values": [float(v) for v in x],
                "parameters": params,
            }
        )
    pairs = []
    for a in range(len(rows)):
        for b in range(a + 1, len(rows)):
            ra, rb = rows[a], rows[b]
            zeros = (
                round(ra["fraction_zero"] * ra["runs"]),
                round(rb["fraction_zero"] * rb["runs"]),
            )
            pairs.append(
                {"labels": [ra["label"], rb["label"]],
                 **fraction_difference(zeros, (ra["runs"], rb["runs"]))}
            )  # fmt: skip
    return {"observable": observable, "ensembles": rows, "pairs": pairs}
