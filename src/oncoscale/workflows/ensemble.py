"""Ensembles of a stochastic representation on Dask: N replicates, one result file each, then
ensemble statistics, figures and a report.

Seeding: the replicates use ``SeedSequence(seed).spawn(N)``; replicate k gets child k, which
is ``SeedSequence(seed, spawn_key=(k,))`` whatever N is, so a run is a pure function of
(scenario, overrides, seed, k): results do not depend on the number of workers, on the order
in which runs finish, or on N (the first 10 runs of a 100-run ensemble are a 10-run ensemble).

Layout of ``DIR``: ``runs/run-0007/result.nc`` (+ ``summary.json``) per replicate,
``ensemble.nc`` (statistics, see :mod:`oncoscale.analysis.ensemble_stats`),
``summary.json``, ``figures/`` and ``report.html``. A run is finished when its result.nc
exists (written atomically); ``resume=True`` skips finished runs and continues interrupted
ones from their checkpoints.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from oncoscale.analysis.ensemble_stats import (
    QUANTILES,
    compare_ensembles,
    ensemble_dataset,
    ensemble_summary,
    run_wall_times,
)
from oncoscale.analysis.summary import summarise
from oncoscale.atomic import atomic_json
from oncoscale.errors import InputError
from oncoscale.io.folders import check_output_folder
from oncoscale.io.results import open_result, read_attrs, untrusted, write_netcdf, write_result
from oncoscale.io.scenario import MAX_SEED, EnsembleStudy, ResolvedRun
from oncoscale.models.registry import family
from oncoscale.run.parallel import map_tasks
from oncoscale.run.runner import run
from oncoscale.viz.ensemble import (
    ensemble_figures,
    violin_figure,
    write_comparison_report,
    write_ensemble_report,
)
from oncoscale.workflows.pipeline import (
    WORK_DIR,
    discard_work,
    require_parallel_memory,
    run_folder,
)

MAX_RUNS = 100_000


@dataclass
class EnsembleOutput:
    """Paths and key numbers of a finished ensemble."""

    directory: Path
    ensemble: Path
    runs: list[Path]
    summary: dict[str, Any]
    figures: list[Path]
    report: Path | None
    computed: int  # runs computed in this call (the others were already finished)


def replicate_seeds(seed: int, runs: int) -> list[np.random.SeedSequence]:
    """``SeedSequence(seed).spawn(runs)``: one independent stream per replicate."""
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"invalid value for '--seed': {seed!r}; allowed: 0 to 2**63 - 1")
    return np.random.SeedSequence(seed).spawn(runs)


def run_directory(out_dir: Path, index: int) -> Path:
    """Folder of replicate ``index``: ``out_dir/runs/run-0007``."""
    return Path(out_dir) / "runs" / f"run-{index:04d}"


def default_stochastic_model(resolved: ResolvedRun) -> str:
    """The scenario's default model if it is stochastic, else its first stochastic model."""
    fam = family(resolved.scenario.family)
    models = [resolved.scenario.default_model, *resolved.scenario.models]
    for m in models:
        if fam.representation_class(m).stochastic:
            return m
    raise InputError(
        f"scenario '{resolved.scenario.name}' has no stochastic model "
        f"(models: {', '.join(resolved.scenario.models)}); an ensemble needs one"
    )


def default_runs(resolved: ResolvedRun) -> int | None:
    """Number of runs of the scenario's ensemble study, if it has one."""
    study = resolved.scenario.study
    return study.runs if isinstance(study, EnsembleStudy) else None


def _provenance(resolved: ResolvedRun, index: int, runs: int, seeding: str = "") -> str:
    seeding = seeding or f"SeedSequence(seed).spawn({runs})[{index}]"
    return resolved.provenance() + f"\nreplicate = {index!r}\nseeding = {seeding!r}"


def _same_run(path: Path, provenance: str) -> bool:
    """Whether a finished result file is this replicate (the spawn count may differ)."""
    stored = str(read_attrs(path).get("scenario_resolved", ""))
    strip = [line for line in provenance.splitlines() if not line.startswith("seeding =")]
    return [line for line in stored.splitlines() if not line.startswith("seeding =")] == strip


def run_replicate(
    resolved: ResolvedRun,
    index: int,
    seed_seq: np.random.SeedSequence,
    directory: str,
    runs: int,
    resume: bool,
    command: str = "",
    seeding: str = "",
) -> str:
    """Run replicate ``index`` with its own stream into ``directory``; return the result path.

    With ``resume`` a finished result is reused (after checking it is the same replicate) and
    an interrupted run continues from its checkpoint. ``seeding`` describes ``seed_seq``
    (default: child ``index`` of ``SeedSequence(seed).spawn(runs)``).
    """
    out = Path(directory)
    result = out / "result.nc"
    provenance = _provenance(resolved, index, runs, seeding)
    rep = resolved.representation()
    work = out / WORK_DIR
    plan = resolved.plan(work_dir=work, progress=False)
    rng = np.random.default_rng(seed_seq)
    with run_folder(out, resolved):  # waits while another process works on this run
        if resume and result.exists():
            if not _same_run(result, provenance):
                raise InputError(
                    f"cannot resume: {result} belongs to a different ensemble (other scenario, "
                    "parameters, seed or numerics); use another --out or run without --resume"
                )
            return str(result)
        record = run(
            rep, plan, rng=rng, resume=resume, fingerprint_extra={"seed": resolved.seed, "k": index}
        )
        write_result(
            rep,
            record,
            {
                "scenario": resolved.scenario.name,
                "seed": resolved.seed,
                "scenario_resolved": provenance,
                "command": command,
                "replicate": index,
                "seeding": seeding or f"SeedSequence({resolved.seed}).spawn(N)[{index}]",
            },
            result,
        )
        with open_result(result, lazy=True) as ds:
            summary = summarise(ds)
        atomic_json(summary, out / "summary.json")
        discard_work(work)
    return str(result)


def execute_ensemble(
    resolved: ResolvedRun,
    out_dir: Path,
    runs: int,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    figures: bool = True,
    quantiles: tuple[float, ...] = QUANTILES,
    command: str = "",
) -> EnsembleOutput:
    """Run ``runs`` replicates of ``resolved`` (a stochastic model) and write the ensemble.

    Everything is validated before the first run starts.
    """
    if not 1 <= runs <= MAX_RUNS:
        raise InputError(f"invalid value for '--runs': {runs!r}; allowed: 1 to {MAX_RUNS}")
    rep = resolved.representation()
    if not rep.stochastic:
        raise InputError(
            f"model '{resolved.model}' is deterministic; an ensemble needs a stochastic model "
            "(e.g. --model abm)"
        )
    resolved.plan()  # validates the output cadence
    out_dir = check_output_folder(out_dir)
    require_parallel_memory(resolved, runs, workers, scheduler)
    seeds = replicate_seeds(resolved.seed, runs)
    dirs = [run_directory(out_dir, k) for k in range(runs)]
    finished = sum((d / "result.nc").exists() for d in dirs) if resume else 0
    command = command or " ".join(sys.argv)
    tasks = [(resolved, k, seeds[k], str(dirs[k]), runs, resume, command) for k in range(runs)]
    paths = map_tasks(
        run_replicate,
        tasks,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        description=f"{resolved.scenario.name} ({resolved.model}) runs",
    )
    with untrusted(f"the runs in {out_dir / 'runs'}", "remove that run's folder and --resume"):
        ens = ensemble_dataset(paths, quantiles)
        wall_times = run_wall_times(paths)
    ens.attrs["scenario_resolved"] = resolved.provenance()
    ens.attrs["seeding"] = f"SeedSequence({resolved.seed}).spawn({runs})"
    path = write_netcdf(ens, out_dir / "ensemble.nc")
    summary = ensemble_summary(ens, wall_times)
    summary["computed_runs"] = runs - finished
    atomic_json(summary, out_dir / "summary.json")
    figs: list[Path] = []
    html = None
    if figures:
        figs = ensemble_figures(ens, out_dir / "figures")
        html = write_ensemble_report(resolved, ens, summary, figs, out_dir)
    return EnsembleOutput(
        out_dir, path, [Path(p) for p in paths], summary, figs, html, runs - finished
    )


def execute_ensemble_comparison(
    directories: list[Path],
    out_dir: Path,
    *,
    labels: list[str] | None = None,
    observable: str = "total_tumour",
) -> tuple[dict[str, Any], list[Path], Path]:
    """Combine finished ensembles (folders holding ensemble.nc): final values of
    ``observable`` per ensemble, fraction of runs at 0, violin figure, summary.json and
    report.html in ``out_dir``."""

    if not directories:
        raise InputError("ensemble-compare needs at least one ensemble folder")
    ensembles = []
    for d in directories:
        path = Path(d) / "ensemble.nc"
        if not path.exists():
            raise InputError(f"no ensemble.nc in '{d}'; run `oncoscale ensemble` there first")
        ensembles.append(open_result(path))
    if labels is None:
        labels = [
            str(e.attrs.get("scenario") or Path(d).name)
            for e, d in zip(ensembles, directories, strict=True)
        ]
    with untrusted("the ensembles " + ", ".join(map(str, directories))):
        comparison = compare_ensembles(ensembles, labels, observable)
    comparison["directories"] = [str(d) for d in directories]
    out_dir = Path(out_dir)
    atomic_json(comparison, out_dir / "summary.json")
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    figs = [violin_figure(comparison, out_dir / "figures")]
    html = write_comparison_report(comparison, figs, out_dir)
    return comparison, figs, html
