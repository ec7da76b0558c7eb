"""The study engine: a design × one resolved scenario × named QoIs (× replicates), on Dask.

Every point is a normal run of the scenario with the point's values (validated like
``--set``): the same runner, the same provenance; stochastic representations draw replicate
k of point i from ``SeedSequence(seed, spawn_key=(*prefix, i, k))`` — child k of child i of
the root, as ensembles spawn theirs — so a study is a pure function of (scenario, space,
design, QoIs, seed) whatever the number of workers or the order in which points finish.

Points run in chunks (one Dask task each, :func:`oncoscale.run.parallel.map_tasks`); a chunk
writes ``points/chunk-NNNNN.npz`` atomically when done, so a killed study resumes by skipping
finished chunks (a chunk's file carries a fingerprint of everything that defines it; resuming
into a different study is refused). With ``keep_runs`` every point also writes its run
folder (result.nc, summary.json) through :func:`execute_run` / :func:`run_replicate`.

Results: ``study.nc`` (CF): one variable per QoI on (point, replicate) with its units, the
design coordinates on point with their units and ranges, the unit coordinates, attributes
with the scenario's provenance, the design and the seeding rule.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.analysis.qoi import QoI, check_qois, parse_qoi, qoi_attrs, qoi_values
from oncoscale.atomic import atomic_json, atomic_write
from oncoscale.errors import InputError
from oncoscale.io.results import open_result, write_netcdf
from oncoscale.io.scenario import ResolvedRun
from oncoscale.run.parallel import map_tasks
from oncoscale.workflows.ensemble import run_replicate
from oncoscale.workflows.pipeline import execute_run, simulate
from oncoscale.workflows.studies.design import Design
from oncoscale.workflows.studies.space import ParameterSpace

MAX_REPLICATES = 10_000
#: design points tried for the probe run (the first one the model accepts gives the units)
PROBES = 20


@dataclass(frozen=True)
class StudyPlan:
    """What a study runs: scenario, space, design, QoIs, replicates and seed prefix."""

    resolved: ResolvedRun
    space: ParameterSpace
    design: Design
    qois: tuple[QoI, ...]
    qoi_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    replicates: int = 1
    seed_prefix: tuple[int, ...] = ()

    @classmethod
    def make(
        cls,
        resolved: ResolvedRun,
        space: ParameterSpace,
        design: Design,
        qois: Sequence[str | QoI],
        *,
        qoi_options: Mapping[str, Mapping[str, Any]] | None = None,
        replicates: int | None = None,
        seed_prefix: tuple[int, ...] = (),
    ) -> StudyPlan:
        """Validate and build a plan (replicates: 1 for deterministic models; default 1)."""
        parsed = tuple(q if isinstance(q, QoI) else parse_qoi(q) for q in qois)
        stochastic = resolved.representation().stochastic
        reps = 1 if replicates is None else replicates
        if not 1 <= reps <= MAX_REPLICATES:
            raise InputError(
                f"invalid value for '--replicates': {reps!r}; allowed: 1 to {MAX_REPLICATES}"
            )
        if reps > 1 and not stochastic:
            raise InputError(
                f"invalid value for '--replicates': {reps}; model '{resolved.model}' is "
                "deterministic (allowed: 1)"
            )
        if design.unit.shape[1:] != (len(space.dims),):
            raise InputError("the design does not match the parameter space")
        return cls(resolved, space, design, parsed, dict(qoi_options or {}), reps, seed_prefix)

    @cached_property
    def stochastic(self) -> bool:
        """Whether the representation is stochastic."""
        return type(self.resolved.representation()).stochastic

    def values(self) -> np.ndarray:
        """The design's points in parameter values (n × d)."""
        return self.space.from_unit(self.design.unit)

    def seed(self, point: int, replicate: int) -> np.random.SeedSequence:
        """The stream of replicate ``replicate`` of point ``point``."""
        key = (*self.seed_prefix, point, replicate)
        return np.random.SeedSequence(self.resolved.seed, spawn_key=key)

    def seeding(self) -> str:
        """The seeding rule, for provenance."""
        prefix = "".join(f"{k}, " for k in self.seed_prefix)
        return f"SeedSequence({self.resolved.seed}, spawn_key=({prefix}point, replicate))"

    def fingerprint(self, indices: Sequence[int]) -> str:
        """Hash of everything that defines the points ``indices``."""
        text = json.dumps(
            {
                "provenance": self.resolved.provenance(),
                "space": self.space.describe(),
                "qois": [q.text for q in self.qois],
                "options": self.qoi_options,
                "replicates": self.replicates,
                "seeding": self.seeding(),
                "points": np.round(self.design.unit[list(indices)], 12).tolist(),
                "indices": list(indices),
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------------------
# one point
# ---------------------------------------------------------------------------------------
def evaluate_point(
    plan: StudyPlan,
    index: int,
    unit: np.ndarray,
    run_dir: str | None = None,
    resume: bool = False,
) -> np.ndarray:
    """QoIs (replicates × QoIs) of the point with unit coordinates ``unit``; with
    ``run_dir`` each run is also written there as a normal run folder."""
    resolved = plan.space.apply(plan.resolved, plan.space.from_unit(unit))
    out = np.empty((plan.replicates, len(plan.qois)))
    for k in range(plan.replicates):
        ds = _one_run(plan, resolved, index, k, run_dir, resume)
        out[k] = qoi_values(ds, plan.qois, plan.qoi_options)
    return out


def _one_run(plan, resolved, index: int, k: int, run_dir: str | None, resume: bool) -> xr.Dataset:
    seeding = f"{plan.seeding()} with point = {index}, replicate = {k}"
    stochastic = plan.stochastic
    if run_dir is None:
        if not stochastic:
            return simulate(resolved)
        return simulate(resolved, plan.seed(index, k), seeding)
    folder = Path(run_dir) / f"rep-{k:04d}" if plan.replicates > 1 else Path(run_dir)
    result = folder / "result.nc"
    if stochastic:
        run_replicate(
            resolved, k, plan.seed(index, k), str(folder), plan.replicates, resume, "", seeding
        )
    elif not (resume and result.exists()):
        execute_run(resolved, folder, resume=resume, progress=False, figures=False)
    return open_result(result)


def _chunk(
    plan: StudyPlan,
    indices: list[int],
    path: str,
    run_dirs: list[str] | None,
    resume: bool,
) -> str:
    """Evaluate the points ``indices`` and write their chunk file (skipped if finished)."""
    target = Path(path)
    fingerprint = plan.fingerprint(indices)
    if resume and target.exists():
        with np.load(target) as z:
            if str(z["fingerprint"]) != fingerprint:
                raise InputError(
                    f"cannot resume: {target} belongs to a different study (other scenario, "
                    "ranges, design, QoIs, replicates or seed); use another --out or run "
                    "without --resume"
                )
        return path
    values = np.full((len(indices), plan.replicates, len(plan.qois)), math.nan)
    errors: dict[int, str] = {}
    for j, i in enumerate(indices):
        try:
            run_dir = run_dirs[j] if run_dirs is not None else None
            values[j] = evaluate_point(plan, i, plan.design.unit[i], run_dir, resume)
        except Exception as exc:  # a failed run is reported, not hidden: NaN + its message
            # (InputError here: the model rejects this combination at run time, e.g. an
            # initial equilibrium that does not exist there)
            errors[i] = f"{type(exc).__name__}: {exc}"

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                index=np.array(indices),
                values=values,
                fingerprint=np.array(fingerprint),
                errors=np.array(json.dumps(errors)),
            )

    atomic_write(target, write)
    return path


# ---------------------------------------------------------------------------------------
# a whole design
# ---------------------------------------------------------------------------------------
@dataclass
class StudyResult:
    """A finished design: QoI values (points × replicates × QoIs), failures, dataset."""

    plan: StudyPlan
    values: np.ndarray
    failures: dict[int, str]
    dataset: xr.Dataset | None
    path: Path | None
    run_dirs: list[str] | None

    def qoi(self, name: str) -> np.ndarray:
        """Values of one QoI (points × replicates)."""
        names = [q.text for q in self.plan.qois]
        return self.values[:, :, names.index(name)]

    def mean(self, name: str) -> np.ndarray:
        """Replicate mean of one QoI per point."""
        return np.mean(self.qoi(name), axis=1)


def default_chunk(points: int, workers: int) -> int:
    """Points per task: about 8 tasks per worker, at most 256 points."""
    return max(1, min(256, math.ceil(points / (8 * max(1, workers)))))


def probe_attrs(plan: StudyPlan, out_dir: Path | None, resume: bool) -> dict[str, dict]:
    """Check the QoIs on one run (the first design point the model accepts, replicate 0) and
    return their CF attributes (cached in ``points/qois.json`` for resumed studies)."""
    cache = None if out_dir is None else out_dir / "points" / "qois.json"
    key = plan.fingerprint([])
    if resume and cache is not None and cache.exists():
        stored = json.loads(cache.read_text())
        if stored.get("fingerprint") == key:
            return stored["attrs"]
    first: InputError | None = None
    for i, x in enumerate(plan.values()[:PROBES]):  # the first point the model accepts
        try:
            ds = simulate(
                plan.space.apply(plan.resolved, x), plan.seed(i, 0) if plan.stochastic else None
            )
            break
        except InputError as exc:
            first = first or exc
    else:
        raise first  # type: ignore[misc]
    check_qois(plan.qois, ds, plan.qoi_options)
    attrs = {q.text: qoi_attrs(q, ds, plan.qoi_options) for q in plan.qois}
    if cache is not None:
        atomic_json({"fingerprint": key, "attrs": attrs}, cache)
    return attrs


def run_design(
    plan: StudyPlan,
    out_dir: Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    keep_runs: bool = False,
    run_names: Sequence[str] | None = None,
    chunk_size: int | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> StudyResult:
    """Run every point of ``plan`` (all validated first) and write ``out_dir/study.nc``.

    A plan without QoIs only runs the points (``keep_runs``: their run folders, named
    ``run_names``), for callers that reduce the runs themselves (the one-parameter sweep).
    """
    out_dir = Path(out_dir)
    values = plan.values()
    for i, x in enumerate(values):  # every point's parameters are valid before the first run
        try:
            plan.space.apply(plan.resolved, x)
        except InputError as exc:
            where = ", ".join(f"{n} = {v:.4g}" for n, v in zip(plan.space.names, x, strict=True))
            raise InputError(f"design point {i} ({where}) is invalid: {exc}") from None
    if not plan.qois and not keep_runs:
        raise InputError("a study needs at least one --qoi NAME")
    qattrs = probe_attrs(plan, out_dir, resume) if plan.qois else {}
    n = plan.design.size
    size = chunk_size or (1 if keep_runs else default_chunk(n, workers))
    groups = [list(range(a, min(n, a + size))) for a in range(0, n, size)]
    run_dirs = None
    if keep_runs:
        names = list(run_names) if run_names else [f"point-{i:05d}" for i in range(n)]
        run_dirs = [str(out_dir / "runs" / name) for name in names]
    tasks = [
        (
            plan,
            g,
            str(out_dir / "points" / f"chunk-{g[0]:06d}.npz"),
            [run_dirs[i] for i in g] if run_dirs else None,
            resume,
        )
        for g in groups
    ]
    paths = map_tasks(
        _chunk,
        tasks,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        description=f"{plan.resolved.scenario.name} ({plan.resolved.model}) points",
    )
    result_values, failures = _collect(paths, n, plan)
    ds = path = None
    if plan.qois:
        ds = study_dataset(plan, result_values, qattrs, failures, attrs or {})
        path = write_netcdf(ds, out_dir / "study.nc")
    return StudyResult(plan, result_values, failures, ds, path, run_dirs)


def _collect(paths: Sequence[str], n: int, plan: StudyPlan) -> tuple[np.ndarray, dict[int, str]]:
    values = np.full((n, plan.replicates, len(plan.qois)), math.nan)
    failures: dict[int, str] = {}
    for path in paths:
        with np.load(path) as z:
            values[z["index"]] = z["values"]
            failures.update({int(k): v for k, v in json.loads(str(z["errors"])).items()})
    return values, failures


def study_dataset(
    plan: StudyPlan,
    values: np.ndarray,
    qattrs: Mapping[str, Mapping[str, Any]],
    failures: Mapping[int, str],
    extra: Mapping[str, Any],
) -> xr.Dataset:
    """The labelled study: QoIs on (point, replicate), design coordinates on point."""
    n = values.shape[0]
    coords: dict[str, Any] = {
        "point": ("point", np.arange(n), {"long_name": "index of the design point"}),
        "replicate": (
            "replicate",
            np.arange(plan.replicates),
            {"long_name": "index of the stochastic replicate at a point"},
        ),
    }
    x = plan.values()
    for j, d in enumerate(plan.space.dims):
        coords[d.variable] = ("point", x[:, j], d.cf_attrs())
    data: dict[str, Any] = {
        f"unit_{d.variable}": (
            "point",
            plan.design.unit[:, j],
            {"long_name": f"unit coordinate of {d.name} in its (scaled) range", "units": "1"},
        )
        for j, d in enumerate(plan.space.dims)
    }
    for k, q in enumerate(plan.qois):
        data[q.variable] = (("point", "replicate"), values[:, :, k], dict(qattrs[q.text]))
    data["failed"] = (
        "point",
        np.array([int(i in failures) for i in range(n)], dtype=np.int8),
        {"long_name": "1 if a run of the point failed (its QoIs are NaN)", "units": "1"},
    )
    resolved = plan.resolved
    attrs = {
        "title": f"oncoscale {plan.design.method} study of scenario {resolved.scenario.name}",
        "family": resolved.scenario.family,
        "scenario": resolved.scenario.name,
        "model": resolved.model,
        "design": plan.design.method,
        "design_options": json.dumps(plan.design.options, default=str),
        "parameters_varied": json.dumps(plan.space.describe()),
        "qois": json.dumps([q.text for q in plan.qois]),
        "qoi_options": json.dumps(plan.qoi_options, default=str),
        "replicates": plan.replicates,
        "stochastic": int(plan.stochastic),
        "seeding": plan.seeding() if plan.stochastic else "deterministic",
        "failures": json.dumps({str(k): v for k, v in failures.items()}),
        "scenario_resolved": resolved.provenance(),
        **{k: v for k, v in extra.items() if isinstance(v, int | float | str)},
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)
