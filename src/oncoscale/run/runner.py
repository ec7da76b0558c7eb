"""The one run loop shared by every representation.

It owns time: it advances the representation between stop times (tracker times, scheduled
events), fires protocol events, lets the trackers record observables and snapshots into the
run's store, writes periodic checkpoints (data, see :mod:`oncoscale.run.checkpoint`) and shows
progress. The state is advanced in place, never copied per stop. A killed run resumes from
its last checkpoint and gives the same result as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from oncoscale.errors import InputError, RunFailed
from oncoscale.memory import require_memory
from oncoscale.models.base import Representation
from oncoscale.run.checkpoint import (
    check_layout,
    layout_of,
    read_checkpoint,
    write_checkpoint,
)
from oncoscale.run.footprint import footprint_settings, run_footprint
from oncoscale.run.progress import tqdm
from oncoscale.run.protocols import Event, EventRecord
from oncoscale.run.record import DirectoryStore, MemoryStore, RecordStore, RunRecord
from oncoscale.run.trackers import ObservableTracker, SnapshotTracker, Tracker

#: name of the checkpoint file inside a run's work folder
CHECKPOINT_FILE = "checkpoint.npz"
#: what a model raises when it cannot integrate its inputs (turned into :class:`RunFailed`)
NUMERICAL_FAILURES = (FloatingPointError, OverflowError, ZeroDivisionError, np.linalg.LinAlgError)


@dataclass(frozen=True)
class RunPlan:
    """What to run: horizon and output cadence (in the family's time unit), protocol, and the
    work folder for checkpoints and the partial record (None: everything in memory, no
    checkpoints)."""

    t_end: float
    observe_interval: float
    snapshot_interval: float
    events: tuple[Event, ...] = ()
    work_dir: Path | None = None
    checkpoint_every: float = 60.0  # seconds of wall time
    progress: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        for name in ("t_end", "observe_interval", "snapshot_interval"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
                raise InputError(f"invalid value for '{name}': {value!r}; allowed: > 0, finite")
        if not (np.isfinite(self.checkpoint_every) and self.checkpoint_every > 0):
            raise InputError(
                f"invalid value for 'checkpoint_every': {self.checkpoint_every!r} s; "
                "allowed: > 0, finite"
            )
        for e in self.events:
            if not isinstance(e, Event):
                raise InputError(f"invalid protocol event {e!r}: not an Event")

    @property
    def checkpoint_path(self) -> Path | None:
        """The checkpoint file (in :attr:`work_dir`), or None."""
        return None if self.work_dir is None else Path(self.work_dir) / CHECKPOINT_FILE

    def trackers(self) -> list[Tracker]:
        """The standard trackers: observables and snapshots at the plan's intervals."""
        return [ObservableTracker(self.observe_interval), SnapshotTracker(self.snapshot_interval)]


def _key(t: float) -> float:
    return round(float(t), 12)


def stop_times(plan: RunPlan, trackers: Sequence[Tracker]) -> np.ndarray:
    """Sorted stop times: every tracker's times, the scheduled events' times, t_end."""
    parts = [tr.times(plan.t_end) for tr in trackers]
    parts.append(np.array([t for e in plan.events for t in e.stop_times() if t <= plan.t_end]))
    parts.append(np.array([0.0, plan.t_end]))
    return np.unique(np.round(np.concatenate(parts), 12))


#: most steps a fixed-step model may take in one run (at a microsecond each: a quarter hour)
MAX_STEPS = 1e9


def _check_steps(rep: Representation, t_end: float) -> None:
    step = rep.time_step
    if step is None or t_end / step <= MAX_STEPS:
        return
    unit, setting = rep.time_label, rep.time_step_setting or "the time step"
    raise InputError(
        f"this run takes {t_end / step:.3g} steps of {step:g} {unit} ({setting}) to reach "
        f"t_end = {t_end:g} {unit}; allowed: at most {MAX_STEPS:.0e} steps (a longer "
        f"{setting} or a shorter horizon)"
    )


def _check_time_grid(rep: Representation, times: np.ndarray) -> None:
    step = rep.time_step
    if step is None:
        return
    k = times / step
    bad = np.abs(k - np.round(k)) > 1e-6
    if np.any(bad):
        unit = rep.time_label
        raise InputError(
            f"time {times[bad][0]:g} {unit} is not a multiple of the model's time step "
            f"{step:g} {unit}; choose output intervals and event times that are multiples of it"
        )


def fingerprint(rep: Representation, plan: RunPlan, extra: Any = None) -> str:
    """Hash identifying a run (model, parameters, numerics, plan): guards --resume."""
    blob = json.dumps(
        {
            "family": rep.family,
            "model": rep.model,
            "params": rep.params.model_dump(),
            "numerics": rep.describe_numerics(),
            "t_end": plan.t_end,
            "observe": plan.observe_interval,
            "snapshot": plan.snapshot_interval,
            "events": [e.model_dump() for e in plan.events],
            "extra": extra,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run(
    rep: Representation,
    plan: RunPlan,
    *,
    rng: np.random.Generator | None = None,
    resume: bool = False,
    fingerprint_extra: Any = None,
    trackers: Sequence[Tracker] = (),
) -> RunRecord:
    """Run ``rep`` according to ``plan`` and return the record.

    With ``resume=True`` and a checkpoint of the same run (same fingerprint) in the plan's
    work folder, the run continues from the checkpoint instead of starting again. Extra
    ``trackers`` record alongside the standard ones. A run that cannot fit in memory is
    refused before anything is allocated; one the model cannot integrate (overflow,
    non-finite solution, ...) raises :class:`RunFailed` with the time it stopped at.
    """
    _check_steps(rep, plan.t_end)
    require_memory(
        run_footprint(rep, plan), f"this {rep.family} {rep.model} run", footprint_settings(rep)
    )
    all_trackers = [*plan.trackers(), *trackers]
    times = stop_times(plan, all_trackers)
    _check_time_grid(rep, times)
    tracked = [{_key(t) for t in tr.times(plan.t_end)} for tr in all_trackers]
    events = list(plan.events)
    tol = 1e-9 * max(1.0, plan.t_end)
    key = fingerprint(rep, plan, fingerprint_extra)
    store: RecordStore = MemoryStore() if plan.work_dir is None else DirectoryStore(plan.work_dir)

    saved = None
    if resume and plan.checkpoint_path is not None and plan.checkpoint_path.exists():
        layout = layout_of(rep.initial_state(np.random.default_rng()))  # what a state holds
        saved = read_checkpoint(plan.checkpoint_path, key)
        check_layout(saved["state"], layout, plan.checkpoint_path)
    if saved is not None:
        k0, state, memories = saved["k"], saved["state"], saved["memories"]
        rep.params = type(rep.params).from_mapping(saved["params"])
        rep.parameters_changed()
        store.truncate(saved["store"])
        record = RunRecord(
            store,
            [EventRecord.from_dict(e) for e in saved["events"]],
            wall_time=float(saved["wall_time"]),
            resumed_from=float(times[k0]),
        )
    else:
        store.reset()
        with _integrable(rep, lambda: 0.0):
            state = rep.initial_state(rng)
            observables = set(rep.observables(state))
        record = RunRecord(store)
        memories = [e.new_memory() for e in events]
        k0 = -1
        for e in events:
            e.check(rep, observables)

    scheduled = [(e, m) for e, m in zip(events, memories, strict=True) if not e.triggered]
    triggers = [(e, m) for e, m in zip(events, memories, strict=True) if e.triggered]
    t_wall0 = time.perf_counter()
    last_checkpoint = t_wall0
    bar = tqdm(
        total=float(plan.t_end),
        initial=float(times[max(k0, 0)]),
        disable=not plan.progress,
        desc=plan.description or f"{rep.family}/{rep.model}",
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.4g}/{total:.4g} "
        + rep.time_label
        + " [{elapsed}<{remaining}]",
        leave=False,
    )
    reached = float(times[max(k0, 0)])  # the time the state is at
    try:
        with _integrable(rep, lambda: reached):
            for k in range(k0 + 1, len(times)):
                t = float(times[k])
                if k > 0:
                    state = rep.advance(state, reached, t)
                    bar.update(t - reached)
                    reached = t
                stop = False  # an event that ends the run fired: record everything, then stop
                for e, memory in scheduled:
                    done = e.fire(rep, state, t, None, memory, tol)
                    record.events.extend(done)
                    stop = stop or (bool(done) and e.ends_run)
                observables = _Observables(rep, state)
                if triggers:
                    values = observables()
                    fired: list[EventRecord] = []
                    for e, memory in triggers:
                        done = e.fire(rep, state, t, values, memory, tol)
                        fired.extend(done)
                        stop = stop or (bool(done) and e.ends_run)
                    if fired:
                        record.events.extend(fired)
                        observables.invalidate()
                for tracker, at in zip(all_trackers, tracked, strict=True):
                    if _key(t) in at or stop:
                        tracker.record(t, rep, state, observables, store)
                if stop:
                    break
                now = time.perf_counter()
                if plan.work_dir is not None and now - last_checkpoint >= plan.checkpoint_every:
                    record.wall_time += now - t_wall0
                    t_wall0 = now
                    _save_checkpoint(plan, key, k, state, memories, record, rep)
                    last_checkpoint = time.perf_counter()
    finally:
        bar.close()
    store.flush()
    record.wall_time += time.perf_counter() - t_wall0
    record.solver_stats = rep.solver_stats()
    return record


@contextmanager
def _integrable(rep: Representation, reached: Callable[[], float]) -> Iterator[None]:
    """Turn what a model raises when it cannot integrate its inputs into :class:`RunFailed`
    (``reached()``: the time the state had reached)."""
    try:
        yield
    except (*NUMERICAL_FAILURES, MemoryError) as exc:
        raise _failure(rep, reached(), exc) from None


def _failure(rep: Representation, t: float, exc: BaseException) -> RunFailed:
    where = f"the {rep.family} {rep.model} run failed after t = {t:g} {rep.time_label}"
    if isinstance(exc, MemoryError):
        return RunFailed(f"{where}: out of memory; reduce it with {footprint_settings(rep)}")
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return RunFailed(
        f"{where}: {reason}; the parameter values or numerical settings are outside what the "
        "model can integrate"
    )


class _Observables:
    """The observables of one state, computed at most once per stop (shared by the trackers)."""

    def __init__(self, rep: Representation, state: Any) -> None:
        self.rep, self.state, self.values = rep, state, None

    def __call__(self) -> dict[str, float]:
        if self.values is None:
            self.values = self.rep.observables(self.state)
        return self.values

    def invalidate(self) -> None:
        """Forget the values (an event changed the state)."""
        self.values = None


def _save_checkpoint(plan, key, k, state, memories, record: RunRecord, rep) -> None:
    record.store.flush()
    write_checkpoint(
        plan.checkpoint_path,
        key,
        {
            "k": k,
            "state": state,
            "memories": memories,
            "params": rep.params.model_dump(),
            "events": [e.to_dict() for e in record.events],
            "store": record.store.position(),
            "wall_time": record.wall_time,
        },
    )
