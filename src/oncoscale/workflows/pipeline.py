"""From a resolved scenario to files on disk: result.nc, summary.json, figures, report.html.

``execute_run`` does one run; ``redraw_run`` redraws the figures and report of a finished run;
``execute_study`` runs a scenario's study (a sweep over one parameter or protocol entry),
reusing finished runs on resume.
"""

from __future__ import annotations

import ast
import json
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.analysis.metrics import check_options, metric
from oncoscale.analysis.summary import summarise
from oncoscale.atomic import atomic_json, remove_stale_temporaries
from oncoscale.errors import InputError, RunFailed
from oncoscale.io.folders import check_output_folder, exclusive
from oncoscale.io.results import (
    build_dataset,
    fits_in_memory,
    open_for_figures,
    open_result,
    record_nbytes,
    untrusted,
    write_netcdf,
    write_result,
)
from oncoscale.io.scenario import ResolvedRun, SweepStudy, load_scenario, resolve
from oncoscale.memory import require_memory
from oncoscale.run.beside import beside
from oncoscale.run.footprint import footprint_settings, run_footprint
from oncoscale.run.parallel import WORKER_PROCESS_BYTES
from oncoscale.run.runner import CHECKPOINT_FILE, run
from oncoscale.run.trackers import Tracker
from oncoscale.viz import report
from oncoscale.viz.figures import run_figures, study_figure

#: the folder inside a run folder that holds the checkpoint and the partial record
WORK_DIR = ".partial"


@dataclass
class RunOutput:
    """Paths and key numbers of a finished run."""

    directory: Path
    result: Path
    summary: dict[str, Any]
    figures: list[Path]
    report: Path | None


def execute_run(
    resolved: ResolvedRun,
    out_dir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    figures: bool = True,
    command: str = "",
    trackers: Sequence[Tracker] = (),
) -> RunOutput:
    """Run one resolved scenario and write everything into ``out_dir``.

    Inputs (numerics, memory, output folder) are validated before anything is written; the
    result file appears only when the run is complete (checkpoints and the partial record in
    ``out_dir/.partial`` allow ``resume``). Extra ``trackers`` see the run as it goes (e.g.
    live views).
    """
    out_dir = check_output_folder(out_dir)
    rep = resolved.representation()  # validates numerics before touching the disk
    work = out_dir / WORK_DIR
    plan = resolved.plan(work_dir=work, progress=progress)
    rng = np.random.default_rng(resolved.seed) if rep.stochastic else None
    figs: list[Path] = []
    html = None
    with ExitStack() as stack:
        with run_folder(out_dir, resolved):
            record = run(rep, plan, rng=rng, resume=resume, trackers=trackers)
            meta = {
                "scenario": resolved.scenario.name,
                "seed": resolved.seed if rep.stochastic else None,
                "scenario_resolved": resolved.provenance(),
                "command": command or " ".join(sys.argv),
            }
            result = out_dir / "result.nc"
            if fits_in_memory(record_nbytes(record)):
                # kept in memory for the summary and the figures, which are drawn while a
                # child process writes the same result to the file (run.beside)
                ds = build_dataset(rep, record, meta)
                writing = beside(write_result, rep, record, meta, result, like=ds, fork=figures)
            else:  # large: written first, then read as needed
                write_result(rep, record, meta, result)
                ds = stack.enter_context(open_result(result, lazy=True))
                writing = nullcontext()
            with writing:
                summary = summarise(ds)
                if figures:
                    figs = run_figures(ds, out_dir / "figures", movie=resolved.output.movie)
            atomic_json(summary, out_dir / "summary.json")
            discard_work(work)
        if figures:
            html = write_run_report(resolved, ds, summary, figs, out_dir)
    return RunOutput(out_dir, result, summary, figs, html)


def simulate(
    resolved: ResolvedRun, seed: np.random.SeedSequence | None = None, seeding: str = ""
) -> xr.Dataset:
    """One run of ``resolved`` in memory (no files, no checkpoints): the result Dataset that
    ``execute_run`` would write, with the same provenance. Stochastic models draw from
    ``seed`` (a spawned SeedSequence; default the scenario's seed)."""
    rep = resolved.representation()
    plan = resolved.plan(progress=False)
    rng = None
    if rep.stochastic:
        rng = np.random.default_rng(resolved.seed if seed is None else seed)
    record = run(rep, plan, rng=rng)
    meta = {
        "scenario": resolved.scenario.name,
        "seed": resolved.seed if rep.stochastic else None,
        "seeding": seeding or None,
        "scenario_resolved": resolved.provenance(),
    }
    return build_dataset(rep, record, meta)


def discard_work(work: Path) -> None:
    """Remove a run's work folder, the checkpoint first: a process killed half-way through
    leaves either a resumable record or one without a checkpoint (a fresh start), never a
    checkpoint that points at removed snapshot files."""
    (Path(work) / CHECKPOINT_FILE).unlink(missing_ok=True)
    shutil.rmtree(work, ignore_errors=True)


@contextmanager
def run_folder(out_dir: Path, resolved: ResolvedRun) -> Iterator[None]:
    """Around everything a run writes into ``out_dir``: hold the folder's lock (one process
    per run folder: see :func:`oncoscale.io.folders.exclusive`), remove the temporary files of
    writers killed there; if the run fails on its input (InputError), remove what it wrote (its
    work folder, and ``out_dir`` if this call created it and nothing else is in it — a work
    folder from before is kept: it may be resumed) and name the inputs in the error."""
    work = out_dir / WORK_DIR
    new_folders = [p for p in (out_dir, *out_dir.parents) if not p.exists()]
    with exclusive(out_dir):
        had_work = work.exists()
        for folder in (out_dir, work):
            remove_stale_temporaries(folder)
        try:
            yield
        except InputError as exc:
            if not had_work:
                discard_work(work)
            for folder in new_folders:  # innermost first
                try:
                    folder.rmdir()
                except OSError:
                    break
            if isinstance(exc, RunFailed):
                raise RunFailed(f"{exc} ({resolved.describe_inputs()})") from None
            raise


def redraw_run(out_dir: Path) -> RunOutput:
    """Figures and report.html of a finished run in ``out_dir`` again, from its result.nc (and
    summary.json), without rerunning: after a change of the figure code, or for a run made
    with ``--no-figures``. The run is re-resolved from the provenance stored in result.nc."""
    result = Path(out_dir) / "result.nc"
    if not result.is_file():
        raise InputError(
            f"invalid value for 'DIR': {str(out_dir)!r} holds no result.nc; allowed: the output "
            "folder of a finished 'oncoscale run'"
        )
    with open_for_figures(result) as ds, untrusted(str(result)):
        return _redraw(ds, result, Path(out_dir))


def _redraw(ds: xr.Dataset, result: Path, out_dir: Path) -> RunOutput:
    fields = {}
    for line in ds.attrs.get("scenario_resolved", "").splitlines():
        key, _, value = line.partition(" = ")
        if key in ("scenario", "model", "t_end", "seed", "overrides", "variant"):
            fields[key] = ast.literal_eval(value)
    if not {"scenario", "model", "t_end", "seed", "overrides"} <= set(fields):
        raise InputError(f"{result} has no run provenance (attribute 'scenario_resolved')")
    resolved = resolve(
        load_scenario(fields["scenario"]),
        fields["model"],
        fields["overrides"],
        fields["t_end"],
        fields["seed"],
        fields.get("variant"),
    )
    summary_path = out_dir / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else summarise(ds)
    figs = run_figures(ds, out_dir / "figures", movie=resolved.output.movie)
    html = write_run_report(resolved, ds, summary, figs, out_dir)
    return RunOutput(out_dir, result, summary, figs, html)


def write_run_report(resolved, ds, summary, figs, out_dir: Path) -> Path:
    """report.html of one run."""
    params = json.loads(ds.attrs["parameters"])
    units = json.loads(ds.attrs["parameter_units"])
    sc = resolved.scenario
    sections = [
        report.section("Scenario", f"<p>{sc.description}</p>"),
        report.section(
            "Key numbers",
            report.key_numbers({k: v for k, v in summary.items() if k != "events"}, ds),
        ),
        report.section(
            "Events", report.events_html(summary["events"], ds.attrs.get("time_label", ""))
        ),
        report.section("Figures", report.figures_html(figs, out_dir)),
        report.section("Parameters", report.parameters_html(params, units)),
        report.section("Numerics", f"<pre>{ds.attrs['numerics']}</pre>"),
        report.section("Reproduce", f"<pre>{ds.attrs['scenario_resolved']}</pre>"),
    ]
    return report.write_report(
        out_dir / "report.html",
        f"{sc.name} — {resolved.model}",
        sections,
        subtitle=f"{sc.title}; oncoscale {ds.attrs['oncoscale_version']}, {ds.attrs['created']}",
    )


def require_parallel_memory(
    resolved: ResolvedRun, runs: int, workers: int, scheduler: str | None
) -> None:
    """Refuse ``runs`` runs of ``resolved`` on ``workers`` local processes at once if they
    cannot fit in this machine's memory together (a remote scheduler's workers check their
    own when each run starts)."""
    if scheduler is not None:
        return
    rep = resolved.representation()
    at_once = max(1, min(workers, runs))
    processes = WORKER_PROCESS_BYTES if at_once > 1 else 0.0
    require_memory(
        run_footprint(rep, resolved.plan(), in_memory=False)
        .plus(**{"worker process": processes})
        .times(at_once),
        f"{at_once} {rep.family} {rep.model} run(s) at once",
        f"fewer --workers, {footprint_settings(rep)}",
    )


# ---------------------------------------------------------------------------------------
# studies
# ---------------------------------------------------------------------------------------
def _sweep_runs(
    resolved: ResolvedRun,
    out_dir: Path,
    resume: bool,
    progress: bool,
    workers: int,
    scheduler: str | None,
) -> list[Path]:
    """The sweep's runs through the study engine: a one-dimensional design of the given
    values, one run folder each (``runs/NAME=VALUE``); returns the result paths."""
    from oncoscale.workflows.studies import design, engine, space

    study = resolved.scenario.study
    values = np.asarray(study.values, dtype=float)
    lo, hi = float(values.min()), float(values.max())
    dim = space.dimension(resolved, study.parameter, lo, hi if hi > lo else lo + 1.0, False)
    sp = space.ParameterSpace((dim,))
    for v in values:
        sp.apply(resolved, [v]).representation()  # validate every point before running any
    plan = engine.StudyPlan.make(resolved, sp, design.given(dim.to_unit(values)[:, None]), [])
    names = [f"{study.parameter}={v:g}" for v in study.values]
    out = engine.run_design(
        plan,
        out_dir,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        progress=progress,
        keep_runs=True,
        run_names=names,
    )
    if out.failures:
        raise InputError(f"sweep runs failed: {next(iter(out.failures.values()))}")
    return [Path(d) / "result.nc" for d in out.run_dirs or []]


def _value_attrs(resolved: ResolvedRun) -> dict[str, str]:
    """CF attributes of a sweep's value coordinate (units of the parameter, if a parameter)."""
    name = resolved.scenario.study.parameter
    attrs = {"long_name": f"value of {name}"}
    if name in type(resolved.params).names():
        units = type(resolved.params).units_of(name)
        attrs.update({"units_label": units} if units else {})
    return attrs


def execute_study(
    resolved: ResolvedRun,
    out_dir: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    workers: int = 1,
    scheduler: str | None = None,
) -> RunOutput:
    """Run a sweep study — the one-parameter special case of the study engine: one run per
    value (``runs/NAME=VALUE``), the scenario's metric per run, a study dataset and figure."""
    study = resolved.scenario.study
    if not isinstance(study, SweepStudy):
        raise InputError(f"scenario '{resolved.scenario.name}' has no sweep study")
    reduce = metric(study.metric)
    check_options(study.metric, study.options)
    out_dir = check_output_folder(out_dir)
    if len({f"{v:g}" for v in study.values}) < len(study.values):
        raise InputError(
            f"invalid study values {study.values!r}: they must differ in their first 6 "
            "significant digits (one run folder per value)"
        )
    require_parallel_memory(resolved, len(study.values), workers, scheduler)
    paths = _sweep_runs(resolved, out_dir, resume, progress, workers, scheduler)
    runs = {v: open_result(path) for v, path in zip(study.values, paths, strict=True)}
    try:
        rows = [reduce(runs[v], **study.options) for v in study.values]
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise InputError(
            f"study metric '{study.metric}' with options {study.options!r} cannot be computed "
            f"from the runs ({type(exc).__name__}: {exc}); the runs are kept, fix the [study] "
            "table and run again with --resume"
        ) from None
    ds = xr.Dataset(
        {
            k: (
                "value",
                np.array([r[k] for r in rows], dtype=float),
                {"long_name": f"{study.metric} metric: {k.replace('_', ' ')}"},
            )
            for k in rows[0]
        },
        coords={"value": ("value", np.array(study.values, dtype=float), _value_attrs(resolved))},
        attrs={
            "family": resolved.scenario.family,
            "scenario": resolved.scenario.name,
            "model": resolved.model,
            "parameter": study.parameter,
            "metric": study.metric,
            **{k: v for k, v in study.options.items() if isinstance(v, int | float | str)},
        },
    )
    result = write_netcdf(ds, out_dir / "study.nc")
    summary = {
        "scenario": resolved.scenario.name,
        "model": resolved.model,
        "parameter": study.parameter,
        "metric": study.metric,
        "points": [{"value": v, **r} for v, r in zip(study.values, rows, strict=True)],
    }
    atomic_json(summary, out_dir / "summary.json")
    (out_dir / "figures").mkdir(parents=True, exist_ok=True)
    fig = study_figure(ds, runs, out_dir / "figures")
    figs = [fig] if fig is not None else []
    sc = resolved.scenario
    rows_html = report.table(
        [(p["value"], *[p[k] for k in rows[0]]) for p in summary["points"]],
        (study.parameter, *rows[0].keys()),
    )
    html = report.write_report(
        out_dir / "report.html",
        f"{sc.name} — study over {study.parameter}",
        [
            report.section("Scenario", f"<p>{sc.description}</p>"),
            report.section("Results", rows_html),
            report.section("Figures", report.figures_html(figs, out_dir)),
        ],
        subtitle=sc.title,
    )
    return RunOutput(out_dir, result, summary, figs, html)
