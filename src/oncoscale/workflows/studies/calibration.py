"""Calibration to data: maximum likelihood with profile-likelihood intervals (deterministic
representations) or ABC-SMC posteriors (stochastic ones, or any with ``method="abc"``), and
multi-fidelity ABC (a continuum model of the same parameter set first, the ABM started from
its posterior).

Outputs in ``out_dir``: calibration.json (``estimate`` {param: value}, ``interval95``
{param: [lo, hi]}, the method's details and cost), figures (profiles or posterior, data vs
model), report.html; MLE also keeps the best-fit run in ``best/`` (result.nc + report).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from oncoscale.analysis.likelihood import CHI2_95_1DOF, deviance, residuals, weighted_quantile
from oncoscale.analysis.qoi import observable_names, parse_qoi
from oncoscale.atomic import atomic_json
from oncoscale.errors import InputError
from oncoscale.io.observations import Observations, check_against, read_observations
from oncoscale.io.scenario import ResolvedRun, resolve
from oncoscale.viz import report
from oncoscale.viz.studies import posterior_figure, predictive_figure, profile_figure
from oncoscale.workflows.pipeline import execute_run, simulate
from oncoscale.workflows.studies.abc import Population, abc_smc
from oncoscale.workflows.studies.design import given, latin_hypercube
from oncoscale.workflows.studies.engine import StudyPlan, evaluate_point
from oncoscale.workflows.studies.space import ParameterSpace

METHODS = ("mle", "abc")


# ---------------------------------------------------------------------------------------
# data against a model
# ---------------------------------------------------------------------------------------
def data_plan(
    resolved: ResolvedRun, space: ParameterSpace, obs: Observations, replicates: int = 1
) -> StudyPlan:
    """A plan whose QoIs are the data's (observable, time) pairs, after checking the data
    against the model (observables, units, times)."""
    ds = simulate(resolved)
    attrs = {n: dict(ds[n].attrs) for n in observable_names(ds)}
    pcls = type(resolved.params)
    check_against(obs, attrs, [pcls.time_label, pcls.time_units], resolved.t_end)
    qois = [parse_qoi(f"{name}@{t!r}") for name, t in obs.points()]
    design = given(np.full((1, len(space.dims)), 0.5))
    return StudyPlan.make(resolved, space, design, qois, replicates=replicates)


class ModelAtData:
    """The model's values at the data points for unit coordinates u (cached; counts runs)."""

    def __init__(self, plan: StudyPlan):
        self.plan = plan
        self.cache: dict[tuple[float, ...], np.ndarray] = {}
        self.runs = 0

    def __call__(self, u: np.ndarray) -> np.ndarray:
        key = tuple(np.round(np.asarray(u, dtype=float), 12))
        if key not in self.cache:
            try:
                values = evaluate_point(self.plan, 0, np.clip(np.array(key), 0, 1))
            except (ArithmeticError, RuntimeError, ValueError) as exc:
                if isinstance(exc, InputError):
                    raise
                values = np.full((self.plan.replicates, len(self.plan.qois)), math.nan)
            self.cache[key] = np.mean(values, axis=0)
            self.runs += self.plan.replicates
        return self.cache[key]


# ---------------------------------------------------------------------------------------
# maximum likelihood with profile-likelihood intervals
# ---------------------------------------------------------------------------------------
@dataclass
class MLEResult:
    """Best fit (unit coordinates), its deviance, profile intervals and the profiles."""

    unit: np.ndarray
    deviance: float
    interval_unit: np.ndarray  # 2 × d
    profiles: dict[str, dict[str, list[float]]]
    at_bound: dict[str, list[bool]]
    runs: int


def _fit(model: ModelAtData, obs: Observations, u0: np.ndarray, free: np.ndarray, fixed):
    """Least squares over the ``free`` unit coordinates (others from ``fixed``)."""

    def full(v: np.ndarray) -> np.ndarray:
        u = fixed.copy()
        u[free] = v
        return u

    def fun(v: np.ndarray) -> np.ndarray:
        r = residuals(model(full(v)), obs)
        return np.where(np.isfinite(r), r, 1e6)

    if not free.any():
        u = fixed.copy()
        return u, deviance(model(u), obs)
    sol = least_squares(fun, u0[free], bounds=(0.0, 1.0), diff_step=1e-4, xtol=1e-10)
    u = full(sol.x)
    return u, deviance(model(u), obs)


def fit_mle(plan: StudyPlan, obs: Observations, starts: int = 4, seed: int = 0) -> MLEResult:
    """Multi-start least squares (centre + Latin hypercube starts), then the profile
    likelihood of each parameter: its 95 % interval is where −2 Δlog L ≤ χ²₁(0.95)."""
    d = len(plan.space.dims)
    model = ModelAtData(plan)
    all_free = np.ones(d, dtype=bool)
    inits = [np.full(d, 0.5)]
    if starts > 1:
        inits += list(latin_hypercube(d, starts - 1, seed).unit)
    fits = [_fit(model, obs, u0, all_free, u0.copy()) for u0 in inits]
    best, dev_min = min(fits, key=lambda f: f[1])
    interval = np.empty((2, d))
    profiles: dict[str, dict[str, list[float]]] = {}
    at_bound: dict[str, list[bool]] = {}
    for j, dim in enumerate(plan.space.dims):
        free = all_free.copy()
        free[j] = False
        values, devs, bounds = [best[j]], [0.0], []
        for side, direction in enumerate((-1.0, 1.0)):
            edge, hit, pts = _profile_side(model, obs, best, j, free, dev_min, direction)
            interval[side, j] = edge
            bounds.append(hit)
            for u_j, dv in pts:
                values.append(u_j)
                devs.append(dv)
        profiles[dim.name] = {
            "value": [float(v) for v in dim.from_unit(np.array(values))],
            "deviance": devs,
        }
        at_bound[dim.name] = bounds
    dev_min = min(dev_min, min(deviance(m, obs) for m in model.cache.values()))
    return MLEResult(best, dev_min, interval, profiles, at_bound, model.runs)


def _profile_side(model, obs, best, j, free, dev_min, direction, bisections: int = 6):
    """Walk from the optimum along dimension j until −2 Δlog L exceeds the threshold,
    then bisect; returns (edge in unit coordinates, whether the range bound was reached,
    the profile points)."""
    inside, step, u = best[j], 0.02, best.copy()
    points = []
    while True:
        trial = float(np.clip(inside + direction * step, 0.0, 1.0))
        fixed = u.copy()
        fixed[j] = trial
        u_try, dev = _fit(model, obs, fixed, free, fixed)
        points.append((trial, dev - dev_min))
        if dev - dev_min > CHI2_95_1DOF:
            outside = trial
            break
        inside, u = trial, u_try
        if trial in (0.0, 1.0):
            return trial, True, points
        step *= 1.6
    for _ in range(bisections):
        mid = 0.5 * (inside + outside)
        fixed = u.copy()
        fixed[j] = mid
        u_try, dev = _fit(model, obs, fixed, free, fixed)
        points.append((mid, dev - dev_min))
        if dev - dev_min > CHI2_95_1DOF:
            outside = mid
        else:
            inside, u = mid, u_try
    return 0.5 * (inside + outside), False, points


# ---------------------------------------------------------------------------------------
# the workflow
# ---------------------------------------------------------------------------------------
@dataclass
class CalibrationOutput:
    """Files and numbers of a finished calibration."""

    directory: Path
    result: dict[str, Any]
    json: Path
    figures: list[Path]
    report: Path


def execute_calibration(
    resolved: ResolvedRun,
    data: str | Path | Observations,
    params: Sequence[str],
    out_dir: Path,
    *,
    method: str | None = None,
    starts: int = 4,
    population: int = 100,
    generations: int = 5,
    target_epsilon: float | None = None,
    prefit_model: str | None = None,
    replicates: int = 1,
    truth: dict[str, float] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    figures: bool = True,
) -> CalibrationOutput:
    """Calibrate ``params`` (``NAME=LO:HI[:log]``) of ``resolved`` to ``data``. ``method``:
    "mle" (deterministic models; default for them) or "abc" (default for stochastic ones).
    ``prefit_model``: ABC on that (continuum) model first, its posterior the ABM's start."""
    obs = data if isinstance(data, Observations) else read_observations(data)
    stochastic = resolved.representation().stochastic
    method = method or ("abc" if stochastic else "mle")
    if method not in METHODS:
        raise InputError(f"invalid value for '--method': {method!r}; allowed: mle, abc")
    if method == "mle" and stochastic:
        raise InputError(
            f"--method mle needs a deterministic model; '{resolved.model}' is stochastic "
            "(use --method abc)"
        )
    if prefit_model is not None and method != "abc":
        raise InputError("--prefit-model is for --method abc (multi-fidelity ABC)")
    space = ParameterSpace.parse(params, resolved)
    plan = data_plan(resolved, space, obs, replicates if stochastic else 1)
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    if method == "mle":
        fit = fit_mle(plan, obs, starts, resolved.seed)
        result = _mle_result(plan, fit)
        best = space.apply(resolved, space.from_unit(fit.unit))
        run = execute_run(best, out_dir / "best", progress=False)
        result["best_run"] = str(run.directory)
        figs = _mle_figures(plan, obs, fit, run, out_dir) if figures else []
    else:
        stages = []
        initial = None
        if prefit_model is not None:
            over = {k: v for k, v in resolved.overrides.items() if not k.startswith("numerics.")}
            coarse = resolve(resolved.scenario, prefit_model, over, resolved.t_end, resolved.seed)
            cplan = data_plan(coarse, ParameterSpace.parse(params, coarse), obs)
            pre = abc_smc(
                cplan,
                obs,
                out_dir / "prefit",
                population=population,
                generations=generations,
                workers=workers,
                scheduler=scheduler,
                resume=resume,
                progress=progress,
                target_epsilon=target_epsilon,
            )
            stages.append({"model": prefit_model, **_abc_result(cplan, pre)})
            initial = pre[-1]
        pops = abc_smc(
            plan,
            obs,
            out_dir / "abc",
            population=population,
            generations=generations,
            initial=initial,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            progress=progress,
            target_epsilon=target_epsilon,
        )
        result = _abc_result(plan, pops)
        if stages:
            result["prefit"] = stages[0]
        figs = _abc_figures(plan, obs, pops[-1], truth, out_dir) if figures else []
    result.update(
        {
            "method": method,
            "scenario": resolved.scenario.name,
            "model": resolved.model,
            "data": obs.source,
            "data_points": int(obs.value.size),
            "parameters": space.describe(),
            "wall_time_s": time.perf_counter() - t0,
            "workers": workers,
        }
    )
    if truth:
        result["truth"] = truth
        result["truth_inside_interval95"] = {
            k: bool(result["interval95"][k][0] <= v <= result["interval95"][k][1])
            for k, v in truth.items()
            if k in result["interval95"]
        }
    path = atomic_json(result, out_dir / "calibration.json")
    html = _report(result, figs, out_dir)
    return CalibrationOutput(out_dir, result, path, figs, html)


def _mle_result(plan: StudyPlan, fit: MLEResult) -> dict[str, Any]:
    x = plan.space.from_unit(fit.unit)
    lo, hi = plan.space.from_unit(fit.interval_unit[0]), plan.space.from_unit(fit.interval_unit[1])
    names = plan.space.names
    return {
        "estimate": {n: float(v) for n, v in zip(names, x, strict=True)},
        "interval95": {n: [float(a), float(b)] for n, a, b in zip(names, lo, hi, strict=True)},
        "interval_method": "profile likelihood, -2 dlogL <= chi2_1(0.95) = 3.84",
        "interval_at_range_bound": fit.at_bound,
        "deviance": fit.deviance,
        "profiles": fit.profiles,
        "runs": fit.runs,
    }


def _abc_result(plan: StudyPlan, pops: list[Population]) -> dict[str, Any]:
    post = pops[-1]
    x = plan.space.from_unit(post.unit)
    names = plan.space.names
    est = [float(weighted_quantile(x[:, j], post.weights, [0.5])[0]) for j in range(len(names))]
    iv = plan.space.from_unit(post.interval())
    return {
        "estimate": dict(zip(names, est, strict=True)),
        "estimate_kind": "weighted posterior median",
        "interval95": {n: [float(iv[0, j]), float(iv[1, j])] for j, n in enumerate(names)},
        "interval_method": "equal-tailed weighted posterior quantiles 2.5 % / 97.5 %",
        "posterior": {
            "samples": {n: x[:, j].tolist() for j, n in enumerate(names)},
            "weights": post.normalised().tolist(),
            "ess": post.info.get("ess"),
        },
        "generations": [
            {
                "epsilon": p.epsilon,
                "runs": p.candidates,
                "acceptance": p.acceptance,
                "max_distance": float(np.max(p.distances)),
            }
            for p in pops
        ],
        "runs": int(sum(p.candidates for p in pops)),
        "replicates_per_particle": plan.replicates,
    }


def _panels(plan: StudyPlan, obs: Observations) -> dict[str, dict[str, Any]]:
    panels = {}
    for name in obs.names:
        sel = obs.observable == name
        panels[name] = {
            "t": obs.time[sel],
            "data": obs.value[sel],
            "sd": np.where(np.isfinite(obs.sd[sel]), obs.sd[sel], 0.0),
        }
    return panels


def _mle_figures(plan, obs, fit: MLEResult, run, out_dir: Path) -> list[Path]:
    from oncoscale.io.results import open_result

    figdir = out_dir / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    panels = _panels(plan, obs)
    ds = open_result(run.result)
    for name, p in panels.items():
        p["t_fit"], p["fit"] = ds["t_obs"].values, ds[name].values
    label = type(plan.resolved.params).time_label
    return [
        profile_figure(fit.profiles, CHI2_95_1DOF, figdir),
        predictive_figure(panels, label, figdir, "data and maximum-likelihood fit"),
    ]


def _abc_figures(plan, obs, post: Population, truth, out_dir: Path) -> list[Path]:
    figdir = out_dir / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    x = plan.space.from_unit(post.unit)
    iv = plan.space.from_unit(post.interval())
    names = plan.space.names
    intervals = {n: iv[:, j] for j, n in enumerate(names)}
    log = [d.log for d in plan.space.dims]
    panels = _panels(plan, obs)
    points = obs.points()
    for name, p in panels.items():
        cols = [k for k, (o, _) in enumerate(points) if o == name]
        q = np.array(
            [weighted_quantile(post.model[:, k], post.weights, [0.025, 0.5, 0.975]) for k in cols]
        )
        p["t"] = np.array([points[k][1] for k in cols])
        p["lo"], p["median"], p["hi"] = q[:, 0], q[:, 1], q[:, 2]
        sel = obs.observable == name
        if len(p["t"]) != sel.sum():  # replicate data: plot the mean per time
            p["data"] = np.array([obs.value[sel & (obs.time == t)].mean() for t in p["t"]])
            p["sd"] = np.array([obs.value[sel & (obs.time == t)].std() for t in p["t"]])
    label = type(plan.resolved.params).time_label
    return [
        posterior_figure(
            names,
            x,
            post.weights,
            truth,
            intervals,
            log,
            figdir,
            f"ABC-SMC posterior ({plan.resolved.model})",
        ),
        predictive_figure(panels, label, figdir, "data and the posterior predictive"),
    ]


def _report(result: dict[str, Any], figs: list[Path], out_dir: Path) -> Path:
    rows = [
        (
            n,
            f"{result['estimate'][n]:.4g}",
            f"{lo:.4g} – {hi:.4g}",
            f"{result['truth'][n]:.4g}" if "truth" in result else "",
        )
        for n, (lo, hi) in result["interval95"].items()
    ]
    sections = [
        report.section("Estimates", report.table(rows, ("parameter", "estimate", "95 %", "true"))),
        report.section(
            "Method",
            f"<p>{result['method']}: {result['interval_method']}; "
            f"{result['runs']} runs, {result['wall_time_s']:.1f} s.</p>",
        ),
        report.section("Figures", report.figures_html(figs, out_dir)),
    ]
    return report.write_report(
        out_dir / "report.html",
        f"{result['scenario']} — calibration of {result['model']} to {Path(result['data']).name}",
        sections,
    )


def synthetic_observations(
    resolved: ResolvedRun,
    observables: Sequence[str],
    times: Sequence[float],
    *,
    rel_sd: float = 0.1,
    abs_sd: float = 0.0,
    replicates: int = 1,
    seed: int = 12345,
) -> Observations:
    """Data made by the model itself: ``observables`` at ``times``, plus Gaussian noise of sd
    ``rel_sd`` × |value| + ``abs_sd`` (stated in the data's ``sd`` column); stochastic models
    give ``replicates`` runs from ``SeedSequence(seed).spawn(replicates)``."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31,)))
    stochastic = resolved.representation().stochastic
    seeds = np.random.SeedSequence(seed).spawn(replicates) if stochastic else [None]
    rows: dict[str, list] = {"time": [], "observable": [], "value": [], "sd": [], "rep": []}
    units = {"time": type(resolved.params).time_label}
    for r, seq in enumerate(seeds):
        ds = simulate(resolved, seq)
        for name in observables:
            units[name] = ds[name].attrs.get("units_label", ds[name].attrs.get("units", "1"))
            for t in times:
                m = float(np.interp(t, ds["t_obs"].values, ds[name].values.astype(float)))
                sd = rel_sd * abs(m) + abs_sd
                rows["time"].append(float(t))
                rows["observable"].append(name)
                rows["value"].append(m + sd * rng.standard_normal())
                rows["sd"].append(sd)
                rows["rep"].append(r)
    if min(rows["sd"]) <= 0:
        raise InputError("synthetic data need a positive sd (rel_sd or abs_sd)")
    return Observations(
        np.array(rows["time"]),
        np.array(rows["observable"], dtype=str),
        np.array(rows["value"]),
        np.array(rows["sd"]),
        np.array(rows["rep"]) if stochastic else -np.ones(len(rows["rep"]), dtype=int),
        units,
        "synthetic",
    )
