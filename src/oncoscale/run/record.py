"""What a run records, and where: observables and snapshots go to a store as they are taken.

* :class:`MemoryStore` keeps everything in memory (short runs, tests, comparisons).
* :class:`DirectoryStore` writes each snapshot to its own file at once and the observables in
  chunks at every checkpoint, so neither the memory of a run nor the cost of a checkpoint grows
  with its length. Files (``.npz`` with ``allow_pickle=False``, written atomically):
  ``snap-000012.npz`` (``t``, ``field/NAME``, ``particle/NAME``) and ``obs-000003.npz``
  (``t``, ``obs/NAME``). A checkpoint records the store's :meth:`~RecordStore.position`; on
  resume everything recorded after it is dropped (:meth:`~RecordStore.truncate`).

:class:`RunRecord` is the result of :func:`oncoscale.run.runner.run`: the store, the event
log, wall time and solver statistics.
"""

from __future__ import annotations

import math
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from oncoscale.atomic import atomic_write
from oncoscale.errors import InputError
from oncoscale.run.protocols import EventRecord

Snapshot = tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]


class RecordStore(ABC):
    """Receives observables and snapshots during a run; gives them back afterwards."""

    @abstractmethod
    def add_observables(self, t: float, values: Mapping[str, float]) -> None:
        """Record the scalar observables at time t."""

    @abstractmethod
    def add_snapshot(
        self, t: float, fields: Mapping[str, np.ndarray], particles: Mapping | None
    ) -> None:
        """Record the fields (and particle arrays) at time t."""

    def flush(self) -> None:  # noqa: B027 (optional hook)
        """Persist what is buffered (before a checkpoint)."""

    def position(self) -> dict[str, Any]:
        """What has been persisted so far (JSON), for a checkpoint."""
        return {}

    def truncate(self, position: Mapping[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Drop everything recorded after ``position`` (resuming from a checkpoint)."""

    def reset(self) -> None:  # noqa: B027 (optional hook)
        """Start empty (a fresh run in a folder that may hold an older partial record)."""

    # ---- reading --------------------------------------------------------------------------
    @abstractmethod
    def observable_table(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(observation times, name → values)."""

    @property
    @abstractmethod
    def snap_times(self) -> list[float]:
        """Snapshot times."""

    @abstractmethod
    def snapshot(self, k: int) -> Snapshot:
        """(fields, particles or None) of snapshot k."""


class MemoryStore(RecordStore):
    """Everything in memory."""

    def __init__(self) -> None:
        self._obs_t: list[float] = []
        self._obs: dict[str, list[float]] = {}
        self._snap_t: list[float] = []
        self._snaps: list[Snapshot] = []

    def add_observables(self, t: float, values: Mapping[str, float]) -> None:
        n = len(self._obs_t)
        self._obs_t.append(t)
        for name, v in values.items():
            self._obs.setdefault(name, [math.nan] * n).append(float(v))
        for column in self._obs.values():
            if len(column) == n:
                column.append(math.nan)

    def add_snapshot(self, t, fields, particles) -> None:
        self._snap_t.append(t)
        parts = None if particles is None else {k: np.array(v) for k, v in particles.items()}
        self._snaps.append(({k: np.array(v, copy=True) for k, v in fields.items()}, parts))

    def observable_table(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return np.asarray(self._obs_t), {k: np.asarray(v) for k, v in self._obs.items()}

    @property
    def snap_times(self) -> list[float]:
        return list(self._snap_t)

    def snapshot(self, k: int) -> Snapshot:
        return self._snaps[k]


class DirectoryStore(RecordStore):
    """Snapshots and observable chunks as files in ``directory`` (see the module docstring)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._snap_t: list[float] = []
        self._chunks = 0
        self._buffer_t: list[float] = []
        self._buffer: list[dict[str, float]] = []

    def _snap_path(self, k: int) -> Path:
        return self.directory / f"snap-{k:06d}.npz"

    def _chunk_path(self, c: int) -> Path:
        return self.directory / f"obs-{c:06d}.npz"

    def add_observables(self, t: float, values: Mapping[str, float]) -> None:
        self._buffer_t.append(t)
        self._buffer.append({k: float(v) for k, v in values.items()})

    def add_snapshot(self, t, fields, particles) -> None:
        arrays = {"t": np.array(t)}
        arrays.update({f"field/{k}": np.asarray(v) for k, v in fields.items()})
        if particles is not None:
            arrays.update({f"particle/{k}": np.asarray(v) for k, v in particles.items()})
        _write_npz(self._snap_path(len(self._snap_t)), arrays)
        self._snap_t.append(t)

    def flush(self) -> None:
        if not self._buffer_t:
            return
        names = sorted({name for row in self._buffer for name in row})
        arrays = {"t": np.asarray(self._buffer_t)}
        for name in names:
            arrays[f"obs/{name}"] = np.array([row.get(name, math.nan) for row in self._buffer])
        _write_npz(self._chunk_path(self._chunks), arrays)
        self._chunks += 1
        self._buffer_t, self._buffer = [], []

    def position(self) -> dict[str, Any]:
        return {"snap_times": list(self._snap_t), "obs_chunks": self._chunks}

    def truncate(self, position: Mapping[str, Any]) -> None:
        self._snap_t = [float(t) for t in position["snap_times"]]
        self._chunks = int(position["obs_chunks"])
        self._buffer_t, self._buffer = [], []
        self._remove(lambda name, k: (name == "snap" and k >= len(self._snap_t))
                     or (name == "obs" and k >= self._chunks))  # fmt: skip
        paths = [self._snap_path(k) for k in range(len(self._snap_t))]
        missing = [p for p in paths + list(map(self._chunk_path, range(self._chunks)))
                   if not p.is_file()]  # fmt: skip
        if missing:
            raise InputError(
                f"cannot resume: the partial record in {self.directory} lacks {missing[0].name} "
                f"(and {len(missing) - 1} more); remove the folder or run without --resume"
            )

    def reset(self) -> None:
        self.truncate({"snap_times": [], "obs_chunks": 0})

    def _remove(self, select) -> None:
        if not self.directory.is_dir():
            return
        for path in self.directory.glob("*.npz"):
            name, _, index = path.stem.partition("-")
            if index.isdigit() and select(name, int(index)):
                path.unlink(missing_ok=True)

    def observable_table(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        times: list[np.ndarray] = []
        columns: list[dict[str, np.ndarray]] = []
        for c in range(self._chunks):
            with _load(self._chunk_path(c)) as chunk:
                times.append(chunk["t"])
                columns.append({k[4:]: chunk[k] for k in chunk.files if k.startswith("obs/")})
        if self._buffer_t:
            times.append(np.asarray(self._buffer_t))
            names = {name for row in self._buffer for name in row}
            columns.append(
                {n: np.array([row.get(n, math.nan) for row in self._buffer]) for n in names}
            )
        if not times:
            return np.zeros(0), {}
        names = sorted({n for cols in columns for n in cols})
        table = {
            n: np.concatenate(
                [
                    cols.get(n, np.full(t.size, math.nan))
                    for t, cols in zip(times, columns, strict=True)
                ]
            )
            for n in names
        }
        return np.concatenate(times), table

    @property
    def snap_times(self) -> list[float]:
        return list(self._snap_t)

    def snapshot(self, k: int) -> Snapshot:
        with _load(self._snap_path(k)) as snap:
            fields = {n[6:]: snap[n] for n in snap.files if n.startswith("field/")}
            parts = {n[9:]: snap[n] for n in snap.files if n.startswith("particle/")}
        return fields, (parts or None)


@contextmanager
def _load(path: Path):
    """An archive of the partial record (no pickle); InputError if unreadable or incomplete."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            yield archive
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(
            f"the partial record file {path} is missing, truncated or corrupt "
            f"({type(exc).__name__}: {exc}); remove its folder and run again"
        ) from None


def _write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    def writer(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    atomic_write(path, writer)


@dataclass
class RunRecord:
    """Everything a run produced: the store (observables, snapshots), the event log, the wall
    time (s), the solver statistics, and the time it resumed from (None if it did not)."""

    store: RecordStore = field(default_factory=MemoryStore)
    events: list[EventRecord] = field(default_factory=list)
    wall_time: float = 0.0
    solver_stats: dict[str, float] = field(default_factory=dict)
    resumed_from: float | None = None

    @property
    def obs_times(self) -> list[float]:
        """Observation times."""
        return [float(t) for t in self.store.observable_table()[0]]

    @property
    def observables(self) -> dict[str, np.ndarray]:
        """Observable name → values at :attr:`obs_times`."""
        return self.store.observable_table()[1]

    @property
    def snap_times(self) -> list[float]:
        """Snapshot times."""
        return self.store.snap_times

    def iter_snapshots(self) -> Iterator[Snapshot]:
        """(fields, particles) of each snapshot in turn, one in memory at a time."""
        for k in range(len(self.store.snap_times)):
            yield self.store.snapshot(k)

    @property
    def snapshots(self) -> dict[str, list[np.ndarray]]:
        """Field name → list of snapshots (loads them all: small runs)."""
        out: dict[str, list[np.ndarray]] = {}
        for fields, _ in self.iter_snapshots():
            for name, arr in fields.items():
                out.setdefault(name, []).append(arr)
        return out

    @property
    def particles(self) -> list[dict[str, np.ndarray]]:
        """Per-snapshot particle arrays (empty for models without particles)."""
        parts = [p for _, p in self.iter_snapshots()]
        return [] if all(p is None for p in parts) else [p or {} for p in parts]
