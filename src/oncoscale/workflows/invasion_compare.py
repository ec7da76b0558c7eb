"""IBM-vs-PDE comparison of the invasion model over stochastic replicates (spec §7): the runs.

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

from pathlib import Path
from typing import Any

import numpy as np

from oncoscale.analysis.invasion_compare import PROFILES, TOTALS, assemble
from oncoscale.atomic import atomic_json
from oncoscale.errors import InputError
from oncoscale.io.results import write_netcdf
from oncoscale.io.scenario import ResolvedRun, load_scenario, resolve
from oncoscale.numerics.profiles import radial_profile
from oncoscale.run.parallel import map_tasks
from oncoscale.run.runner import RunPlan, RunRecord, run
from oncoscale.viz.invasion_compare import plot_comparison


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
    variant: str | None = None,
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
    resolved = {m: resolve(sc, m, base, t_end, seed, variant) for m in ("ibm", "pde")}
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
    ds, summary = assemble(pde, reps, r, dim, width)
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
    write_netcdf(ds, out / "compare.nc")
    atomic_json(summary, out / "compare_summary.json")
    if figure:
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
