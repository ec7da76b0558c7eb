"""The one run loop shared by every representation.

It owns time: it advances the representation between stop times (observation times,
snapshot times, scheduled events), applies protocols, evaluates triggers, records
observables, field snapshots and particle snapshots, writes periodic checkpoints and shows
progress. A killed run resumes from its last checkpoint and gives the same result as an
uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from oncoscale.errors import InputError
from oncoscale.io.atomic import atomic_pickle, load_pickle
from oncoscale.models.base import Representation
from oncoscale.run.protocols import (
    EventRecord,
    EventSpec,
    ThresholdInjection,
    TriggerState,
    apply_scheduled,
    evaluate_triggers,
    scheduled_times,
    validate_protocol,
)


@dataclass(frozen=True)
class RunPlan:
    """What to run: horizon, output cadence, protocol, checkpointing."""

    t_end: float
    observe_interval: float
    snapshot_interval: float
    events: tuple[EventSpec, ...] = ()
    checkpoint_path: Path | None = None
    checkpoint_every: float = 60.0  # seconds of wall time
    progress: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        for name in ("t_end", "observe_interval", "snapshot_interval"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise InputError(f"invalid value for '{name}': {value!r} h; allowed: > 0")
        if self.checkpoint_every <= 0:
            raise InputError(
                f"invalid value for 'checkpoint_every': {self.checkpoint_every!r} s; allowed: > 0"
            )


@dataclass
class RunRecord:
    """Everything a run produced, ready to become an xarray Dataset."""

    obs_times: list[float] = field(default_factory=list)
    observables: dict[str, list[float]] = field(default_factory=dict)
    snap_times: list[float] = field(default_factory=list)
    snapshots: dict[str, list[np.ndarray]] = field(default_factory=dict)
    particles: list[dict[str, np.ndarray]] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    wall_time: float = 0.0
    solver_stats: dict[str, float] = field(default_factory=dict)
    resumed_from: float | None = None


_BAR = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} h [{elapsed}<{remaining}]"


def _grid(interval: float, t_end: float) -> np.ndarray:
    n = int(np.floor(t_end / interval + 1e-9))
    times = interval * np.arange(n + 1)
    return times if np.isclose(times[-1], t_end) else np.append(times, t_end)


def stop_times(plan: RunPlan) -> tuple[np.ndarray, set[float], set[float]]:
    """Sorted stop times, and which of them are observation / snapshot times."""
    obs = _grid(plan.observe_interval, plan.t_end)
    snap = _grid(plan.snapshot_interval, plan.t_end)
    events = [t for t in scheduled_times(list(plan.events)) if t <= plan.t_end]
    allt = np.unique(np.round(np.concatenate([obs, snap, events]), 12))
    return allt, set(np.round(obs, 12)), set(np.round(snap, 12))


def _check_time_grid(rep: Representation, times: np.ndarray) -> None:
    step = rep.time_step
    if step is None:
        return
    k = times / step
    bad = np.abs(k - np.round(k)) > 1e-6
    if np.any(bad):
        raise InputError(
            f"time {times[bad][0]:g} h is not a multiple of the model's time step {step:g} h; "
            "choose output intervals and event times that are multiples of it"
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
) -> RunRecord:
    """Run ``rep`` according to ``plan`` and return the record.

    With ``resume=True`` and an existing checkpoint of the same run (same fingerprint), the
    run continues from the checkpoint instead of starting again.
    """
    times, obs_set, snap_set = stop_times(plan)
    _check_time_grid(rep, times)
    events = list(plan.events)
    tol = 1e-9 * max(1.0, plan.t_end)
    key = fingerprint(rep, plan, fingerprint_extra)

    start = _load_checkpoint(plan, key) if resume else None
    if start is not None:
        k0, state, record, triggers, params = start
        rep.params = params
        rep.parameters_changed()
        record.resumed_from = float(times[k0])
    else:
        state = rep.initial_state(rng)
        record = RunRecord()
        triggers = [TriggerState() for e in events if isinstance(e, ThresholdInjection)]
        k0 = 0
        validate_protocol(rep, events, set(rep.observables(state)))

    t_wall0 = time.perf_counter()
    last_checkpoint = t_wall0
    bar = tqdm(
        total=float(plan.t_end),
        initial=float(times[k0]),
        unit="h",
        disable=not plan.progress,
        desc=plan.description or f"{rep.family}/{rep.model}",
        bar_format=_BAR,
        leave=False,
    )
    try:
        for k in range(k0, len(times)):
            t = float(times[k])
            if k > 0 and (start is None or k > k0):
                state = rep.advance(state, float(times[k - 1]), t)
                bar.update(t - float(times[k - 1]))
            if start is not None and k == k0:
                continue  # the checkpoint already holds the records of this stop time
            state, fired = apply_scheduled(rep, state, events, t, tol)
            record.events.extend(fired)
            key_t = round(t, 12)
            if key_t in obs_set or key_t in snap_set or triggers:
                values = rep.observables(state)
                if triggers:
                    state, fired = evaluate_triggers(rep, state, events, triggers, values, t)
                    if fired:
                        record.events.extend(fired)
                        values = rep.observables(state)
                if key_t in obs_set:
                    record.obs_times.append(t)
                    for name, v in values.items():
                        record.observables.setdefault(name, []).append(float(v))
            if key_t in snap_set:
                record.snap_times.append(t)
                for name, arr in rep.fields(state).items():
                    record.snapshots.setdefault(name, []).append(np.array(arr, copy=True))
                parts = rep.particles(state)
                if parts is not None:
                    record.particles.append({n: np.array(a, copy=True) for n, a in parts.items()})
            now = time.perf_counter()
            if plan.checkpoint_path is not None and now - last_checkpoint >= plan.checkpoint_every:
                record.wall_time += now - t_wall0
                t_wall0 = now
                _save_checkpoint(plan, key, k, state, record, triggers, rep)
                last_checkpoint = now
    finally:
        bar.close()
    record.wall_time += time.perf_counter() - t_wall0
    record.solver_stats = rep.solver_stats()
    return record


def _save_checkpoint(plan, key, k, state, record, triggers, rep) -> None:
    atomic_pickle(
        {
            "fingerprint": key,
            "k": k,
            "state": state,
            "record": record,
            "triggers": triggers,
            "params": rep.params,
        },
        plan.checkpoint_path,
    )


def _load_checkpoint(plan: RunPlan, key: str):
    path = plan.checkpoint_path
    if path is None or not Path(path).exists():
        return None
    data = load_pickle(path)
    if data.get("fingerprint") != key:
        raise InputError(
            f"cannot resume: the checkpoint {path} belongs to a different run (other parameters, "
            "numerics or protocol); remove it or run without --resume"
        )
    return data["k"], data["state"], data["record"], data["triggers"], data["params"]
