"""Trackers: what the runner records at its stop times.

A tracker names the times it needs (:meth:`Tracker.times`) and records at them
(:meth:`Tracker.record`). The runner always uses an :class:`ObservableTracker` and a
:class:`SnapshotTracker` built from the plan; callers may add more (e.g. a
:class:`CallbackTracker` that shows fields while a run goes on).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from oncoscale.models.base import Representation
from oncoscale.run.record import RecordStore


def time_grid(interval: float, t_end: float) -> np.ndarray:
    """0, interval, 2·interval, … up to t_end, with t_end always included."""
    n = int(np.floor(t_end / interval + 1e-9))
    times = interval * np.arange(n + 1)
    return times if np.isclose(times[-1], t_end) else np.append(times, t_end)


class Tracker(ABC):
    """Records something at given stop times."""

    def __init__(self, interval: float) -> None:
        self.interval = interval

    def times(self, t_end: float) -> np.ndarray:
        """The stop times this tracker needs."""
        return time_grid(self.interval, t_end)

    @abstractmethod
    def record(
        self,
        t: float,
        rep: Representation,
        state: Any,
        observables: Callable[[], Mapping[str, float]],
        store: RecordStore,
    ) -> None:
        """Record at time t; ``observables()`` gives the current observables (computed once
        per stop, shared by all trackers)."""


class ObservableTracker(Tracker):
    """The scalar observables, every ``interval``."""

    def record(self, t, rep, state, observables, store) -> None:
        store.add_observables(t, observables())


class SnapshotTracker(Tracker):
    """Fields (and particles) every ``interval``; the store copies or writes them at once."""

    def record(self, t, rep, state, observables, store) -> None:
        store.add_snapshot(t, rep.fields(state), rep.particles(state))


class CallbackTracker(Tracker):
    """Calls ``callback(t, rep, state)`` every ``interval`` (live views, custom logging)."""

    def __init__(self, interval: float, callback: Callable[[float, Representation, Any], None]):
        super().__init__(interval)
        self.callback = callback

    def record(self, t, rep, state, observables, store) -> None:
        self.callback(t, rep, state)
