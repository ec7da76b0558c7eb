"""IBM-vs-PDE comparison of the invasion model over stochastic replicates (spec §7).

:func:`compare_ibm_pde` runs one scenario with the age-structured PDE (deterministic, once) and
with the IBM (``runs`` replicates, independent spawned seeds, optionally on Dask), both through
the shared run loop, and compares

* **totals** over time (masses per compartment and phenotype): IBM mean, standard deviation and
  standard error against the PDE; relative difference and z-score (difference / s.e.m.);
* **radially averaged densities** (rings of fixed width about the domain centre) at the snapshot
  times: relative L2 distance of the IBM mean profile from the PDE profile, next to the
  replicate-to-replicate spread (the noise floor of that distance).

Writes ``compare.nc`` (all curves and profiles), ``compare_summary.json`` (the numbers) and
``compare.png`` into ``out`` and returns the summary.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.analysis.fronts import radial_profile
from oncoscale.errors import InputError
from oncoscale.io.atomic import atomic_json, atomic_write
from oncoscale.io.scenario import ResolvedRun, load_scenario, resolve
from oncoscale.models.invasion.params import N_PHENOTYPES
from oncoscale.run.parallel import map_tasks
from oncoscale.run.runner import RunPlan, RunRecord, run

#: totals compared over time
TOTALS = (
    "mass_cells",
    "mass_p",
    "mass_q",
    "mass_necrotic",
    *(f"mass_p{i}" for i in range(N_PHENOTYPES)),
    *(f"mass_q{i}" for i in range(N_PHENOTYPES)),
    "radius_p",
    "radius_q",
    "mass_mm",
    "mass_mde",
    "mass_o2",
)
#: radially averaged fields (cells: summed over phenotypes)
PROFILES = ("cells", "cells_p", "cells_q", "mm", "o2")


# ---- one run --------------------------------------------------------------------------------
def _profiles(fields: dict[str, np.ndarray], rep, width: float) -> dict[str, np.ndarray]:
    """Radial profiles about the domain centre of the :data:`PROFILES` fields."""
    grid = rep.grid
    radius = grid.radius((0.5 * rep.params.L,) * grid.dim)
    r_max = 0.5 * rep.params.L
    dens = {
        "cells_p": fields["cells_p"].sum(axis=0),
        "cells_q": fields["cells_q"].sum(axis=0),
        "mm": fields["mm"],
        "o2": fields["o2"],
    }
    dens["cells"] = dens["cells_p"] + dens["cells_q"]
    return {name: radial_profile(dens[name], radius, width, r_max)[1] for name in PROFILES}


def _run_one(resolved: ResolvedRun, plan: RunPlan, seed, width: float) -> dict[str, Any]:
    """Run one replicate; return its totals (name → series) and profiles (name → (snap, r))."""
    rep = resolved.representation()
    rng = np.random.default_rng(seed) if rep.stochastic else None
    record: RunRecord = run(rep, plan, rng=rng)
    totals = {
        name: np.asarray(record.observables.get(name, [np.nan] * len(record.obs_times)))
        for name in TOTALS
    }
    profiles: dict[str, list[np.ndarray]] = {name: [] for name in PROFILES}
    for k in range(len(record.snap_times)):
        fields = {name: arrs[k] for name, arrs in record.snapshots.items()}
        for name, prof in _profiles(fields, rep, width).items():
            profiles[name].append(prof)
    return {
        "obs_times": np.asarray(record.obs_times),
        "snap_times": np.asarray(record.snap_times),
        "totals": totals,
        "profiles": {k: np.asarray(v) for k, v in profiles.items()},
        "wall_time": record.wall_time,
    }


# ---- statistics ---------------------------------------------------------------------------
def _nan_stats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation over axis 0, NaN where undefined (all-NaN slices,
    a single replicate) without warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(values, axis=0)
        if values.shape[0] < 2:
            return mean, np.full_like(mean, np.nan)
        return mean, np.nanstd(values, axis=0, ddof=1)


def _l2(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted L2 norm over the last axis, ignoring NaN rings."""
    v = np.where(np.isfinite(values), values, 0.0)
    return np.sqrt(np.sum(weight * v**2, axis=-1))


def profile_distances(
    ibm: np.ndarray, pde: np.ndarray, r: np.ndarray, dim: int
) -> dict[str, np.ndarray]:
    """Relative L2 distances (ring-area weight r^{dim−1}) per snapshot.

    ``ibm``: (replicate, snapshot, ring); ``pde``: (snapshot, ring). Returns ``mean_vs_pde`` =
    ‖mean_IBM − PDE‖/‖PDE‖ and ``spread`` = mean over replicates of ‖IBM_k − mean_IBM‖/‖PDE‖
    (how far one replicate typically is from the mean: the noise level of single runs).
    """
    weight = r ** (dim - 1)
    mean, _ = _nan_stats(ibm)
    norm = _l2(pde, weight)
    safe = np.where(norm > 0, norm, np.nan)
    return {
        "mean_vs_pde": _l2(mean - pde, weight) / safe,
        "spread": np.mean(_l2(ibm - mean, weight), axis=0) / safe,
    }


def totals_statistics(ibm: np.ndarray, pde: np.ndarray) -> dict[str, np.ndarray]:
    """IBM mean/sd/sem over replicates (axis 0) against the PDE series: relative difference
    (mean − PDE)/|PDE| and z-score (mean − PDE)/sem."""
    mean, sd = _nan_stats(ibm)
    sem = sd / math.sqrt(ibm.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rel = np.where(np.abs(pde) > 0, (mean - pde) / np.abs(pde), np.nan)
        z = np.where(sem > 0, (mean - pde) / sem, np.nan)
    return {"mean": mean, "sd": sd, "sem": sem, "rel_diff": rel, "z": z}


# ---- the comparison -----------------------------------------------------------------------
def _compare(
    scenario: str,
    runs: int,
    t_end: float,
    out: str | Path,
    *,
    dim: int = 2,
    dx: float | None = None,
    seed: int | None = None,
    overrides: dict[str, Any] | None = None,
    observe_interval: float | None = None,
    snapshot_interval: float | None = None,
    ring_width: float | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
    figure: bool = True,
    pde_run: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Compare ``runs`` IBM replicates of ``scenario`` with its PDE up to ``t_end`` (day).

    ``dx`` sets the grid of both (the PDE's resolution, the IBM's binning); ``overrides`` are
    parameter / ``numerics.NAME`` overrides as for ``oncoscale run --set``. Returns the summary
    (also written to ``out``/compare_summary.json) and the PDE record; ``pde_run``: a PDE record
    of the same settings from an earlier call, to skip the PDE run.
    """
    if runs < 1:
        raise InputError(f"invalid value for 'runs': {runs!r}; allowed: >= 1")
    if not t_end > 0:
        raise InputError(f"invalid value for 't_end': {t_end!r} day; allowed: > 0")
    sc = load_scenario(scenario)
    if sc.family != "invasion" or not {"ibm", "pde"} <= set(sc.models):
        raise InputError(
            f"invalid scenario '{scenario}': an IBM-vs-PDE comparison needs an invasion "
            "scenario with models ibm and pde"
        )
    base = dict(overrides or {})
    base["numerics.dim"] = dim
    if dx is not None:
        base["numerics.dx"] = dx
    resolved = {m: resolve(sc, m, base, t_end, seed) for m in ("ibm", "pde")}
    output = resolved["pde"].output
    obs_dt = observe_interval or min(output.observe_interval, t_end)
    snap_dt = snapshot_interval or min(output.snapshot_interval, t_end)
    plan = RunPlan(
        t_end=t_end, observe_interval=obs_dt, snapshot_interval=snap_dt, progress=progress
    )
    pde_rep = resolved["pde"].representation()
    width = ring_width or max(0.25, pde_rep.grid.spacing)

    pde = pde_run if pde_run is not None else _run_one(resolved["pde"], plan, None, width)
    children = np.random.SeedSequence(resolved["ibm"].seed).spawn(runs)
    tasks = [(resolved["ibm"], plan, child, width) for child in children]
    reps = map_tasks(
        _run_one, tasks, workers=workers, scheduler=scheduler, progress=progress,
        description="IBM replicates",
    )  # fmt: skip

    r = radial_profile(np.zeros(1), np.zeros(1), width, 0.5 * pde_rep.params.L)[0]
    ds, summary = _assemble(pde, reps, r, dim, width)
    summary.update(
        {
            "scenario": sc.name,
            "runs": runs,
            "t_end": t_end,
            "dim": dim,
            "dx": pde_rep.grid.spacing,
            "seed": resolved["ibm"].seed,
            "overrides": {k: v for k, v in base.items()},
            "wall_time_pde_s": pde["wall_time"],
            "wall_time_ibm_mean_s": float(np.mean([x["wall_time"] for x in reps])),
        }
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ds.attrs["summary"] = repr(summary)
    atomic_write(out / "compare.nc", lambda tmp: ds.to_netcdf(tmp))
    atomic_json(summary, out / "compare_summary.json")
    if figure:
        from oncoscale.viz.invasion_compare import plot_comparison

        plot_comparison(ds, out / "compare.png")
    return summary, pde


def compare_ibm_pde(
    scenario: str, runs: int, t_end: float, out: str | Path, **options: Any
) -> dict[str, Any]:
    """Compare ``runs`` IBM replicates of ``scenario`` with its PDE up to ``t_end`` (day);
    write ``compare.nc``, ``compare_summary.json`` and ``compare.png`` into ``out`` and return
    the summary.

    Options: ``dim`` (2), ``dx`` (grid of both: the PDE's resolution, the IBM's binning),
    ``seed``, ``overrides`` (parameters / ``numerics.NAME`` as for ``oncoscale run --set``),
    ``observe_interval``, ``snapshot_interval``, ``ring_width`` (radial bins, len),
    ``workers`` / ``scheduler`` (Dask), ``progress``, ``figure``.
    """
    return _compare(scenario, runs, t_end, out, **options)[0]


def compare_report(
    scenario: str,
    out_dir: Path,
    runs: int,
    *,
    t_end: float | None = None,
    resume: bool = False,
    tolerance: float | None = None,
    **options: Any,
) -> list[str]:
    """``oncoscale compare`` for the invasion family: :func:`compare_ibm_pde` (the scenario's
    horizon unless ``t_end``); returns the lines to report."""
    if resume:
        raise InputError("invalid option '--resume': the IBM-vs-PDE comparison reruns all runs")
    if tolerance is not None:
        raise InputError(
            "invalid option '--tolerance': it widens the oncolytic ABM band; the invasion "
            "comparison reports distances, not a divergence time"
        )
    horizon = t_end if t_end is not None else load_scenario(scenario).t_end
    summary = compare_ibm_pde(scenario, runs, horizon, out_dir, **options)
    lines = [f"wrote {out_dir}"]
    for name, v in summary["totals"].items():
        rel = v["rel_diff_final"]
        lines.append(f"  total {name}: final relative difference IBM vs PDE {rel:.3g}")
    for name, v in summary["profiles"].items():
        dist = v["rel_l2_mean_vs_pde"][-1]
        lines.append(f"  radial profile {name}: relative L2 distance {dist:.3g}")
    return lines


def _assemble(
    pde: dict[str, Any], reps: list[dict[str, Any]], r: np.ndarray, dim: int, width: float
) -> tuple[xr.Dataset, dict[str, Any]]:
    """Stack replicates, compute statistics; the Dataset and the summary."""
    t_obs, t_snap = pde["obs_times"], pde["snap_times"]
    data: dict[str, Any] = {}
    summary: dict[str, Any] = {"ring_width": width, "totals": {}, "profiles": {}}
    for name in TOTALS:
        ibm = np.stack([x["totals"][name] for x in reps])
        stats = totals_statistics(ibm, pde["totals"][name])
        data[f"pde_{name}"] = (("t",), pde["totals"][name])
        data[f"ibm_{name}"] = (("replicate", "t"), ibm)
        for key in ("mean", "sd", "rel_diff", "z"):
            data[f"ibm_{name}_{key}"] = (("t",), stats[key])
        summary["totals"][name] = {
            "pde_final": float(pde["totals"][name][-1]),
            "ibm_mean_final": float(stats["mean"][-1]),
            "ibm_sd_final": float(stats["sd"][-1]),
            "rel_diff_final": float(stats["rel_diff"][-1]),
            "z_final": float(stats["z"][-1]),
            "max_abs_rel_diff": _nanmax_abs(stats["rel_diff"]),
        }
    for name in PROFILES:
        ibm = np.stack([x["profiles"][name] for x in reps])
        dist = profile_distances(ibm, pde["profiles"][name], r, dim)
        data[f"pde_profile_{name}"] = (("t_snap", "r"), pde["profiles"][name])
        mean, sd = _nan_stats(ibm)
        data[f"ibm_profile_{name}_mean"] = (("t_snap", "r"), mean)
        data[f"ibm_profile_{name}_sd"] = (("t_snap", "r"), sd)
        data[f"distance_{name}"] = (("t_snap",), dist["mean_vs_pde"])
        data[f"spread_{name}"] = (("t_snap",), dist["spread"])
        summary["profiles"][name] = {
            "t": [float(t) for t in t_snap],
            "rel_l2_mean_vs_pde": [float(v) for v in dist["mean_vs_pde"]],
            "rel_l2_replicate_spread": [float(v) for v in dist["spread"]],
        }
    ds = xr.Dataset(
        data,
        coords={"t": t_obs, "t_snap": t_snap, "r": r, "replicate": np.arange(len(reps))},
        attrs={"family": "invasion", "comparison": "ibm-vs-pde", "dim": dim},
    )
    return ds, summary


def _nanmax_abs(values: np.ndarray) -> float:
    """max |v| over the finite entries (NaN if none)."""
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size else float("nan")


def compare_particle_mass_limit(
    scenario: str,
    cell_masses: tuple[float, ...],
    runs: int,
    t_end: float,
    out: str | Path,
    **options: Any,
) -> dict[str, Any]:
    """The PDE as the limit M_cell → 0 (spec §1): :func:`compare_ibm_pde` for each IBM cell
    mass in ``cell_masses`` (the PDE does not depend on it and runs once); returns, per mass,
    the final relative difference of the totals and the final profile distances, and the
    least-squares exponent p of distance ∝ M_cell^p for each profile (written to
    ``out``/limit_summary.json; each comparison in ``out``/M_cell=<mass>)."""
    if len(cell_masses) < 2 or min(cell_masses) <= 0:
        raise InputError(
            f"invalid value for 'cell_masses': {cell_masses!r}; allowed: at least two masses > 0"
        )
    out = Path(out)
    overrides = dict(options.pop("overrides", None) or {})
    rows, pde_run = [], None
    for mass in cell_masses:
        summary, pde_run = _compare(
            scenario, runs, t_end, out / f"M_cell={mass:g}",
            overrides={**overrides, "M_cell": mass}, pde_run=pde_run, **options,
        )  # fmt: skip
        rows.append(
            {
                "M_cell": mass,
                "rel_diff_final": {k: v["rel_diff_final"] for k, v in summary["totals"].items()},
                "profile_distance_final": {
                    k: v["rel_l2_mean_vs_pde"][-1] for k, v in summary["profiles"].items()
                },
            }
        )
    masses = np.log(np.asarray(cell_masses, dtype=float))
    exponents = {}
    for name in PROFILES:
        d = np.array([row["profile_distance_final"][name] for row in rows])
        ok = np.isfinite(d) & (d > 0)
        exponents[name] = (
            float(np.polyfit(masses[ok], np.log(d[ok]), 1)[0]) if ok.sum() >= 2 else float("nan")
        )
    result = {"scenario": scenario, "runs": runs, "t_end": t_end, "rows": rows,
              "distance_exponent": exponents}  # fmt: skip
    atomic_json(result, out / "limit_summary.json")
    return result
