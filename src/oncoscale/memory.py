"""The memory guard: how much memory a run may use, and a clear refusal when it cannot fit.

Every representation estimates its peak memory from its grid and settings before it allocates
anything (:meth:`oncoscale.models.base.Representation.memory_estimate`); the runner adds what
the plan costs (snapshots kept in memory, the observable record, writing the result); both
are checked here against :func:`memory_limit` with :func:`require_memory`.

The limit is the memory this process can still take: ``MemAvailable`` of the system (via
psutil, which the Dask dependency already brings, and which gives the same figure on macOS and
Windows; MemAvailable, not MemFree, since page cache is reclaimed on demand), lowered to the
headroom of the control group when the process runs in one with a limit (a container, a Slurm
job), since the kernel kills the process at the cgroup's limit whatever the machine has free.
``ONCOSCALE_MAX_MEMORY_GB`` replaces it (a property of the machine, not of the scenario: e.g.
a job that will have swap, or a stricter budget on a shared node).

A foundation module like :mod:`oncoscale.errors`: it imports nothing from the house.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from oncoscale.errors import InputError

#: environment variable that replaces the available memory as the limit (GB = 1e9 bytes)
LIMIT_VARIABLE = "ONCOSCALE_MAX_MEMORY_GB"
GB = 1e9
#: parts of a model's estimate that exist one at a time: what building the initial state
#: allocates on top of it, what an advance allocates, and what a stop allocates (the fields of
#: the observables or of a snapshot)
TRANSIENT = ("set-up", "step work", "snapshot")

# cgroup v2, then v1: (limit file, usage file, stat file, reclaimable key in the stat file)
_CGROUPS = (
    ("memory.max", "memory.current", "memory.stat", "inactive_file"),
    ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes", "memory/memory.stat",
     "total_inactive_file"),
)  # fmt: skip


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated peak memory in bytes, by what it holds (e.g. state, step work, snapshots)."""

    parts: Mapping[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """Sum of the parts (bytes)."""
        return float(sum(self.parts.values()))

    def plus(self, **parts: float) -> MemoryEstimate:
        """This estimate with more parts (bytes; parts of the same name add up)."""
        merged = dict(self.parts)
        for name, value in parts.items():
            merged[name] = merged.get(name, 0.0) + float(value)
        return MemoryEstimate(merged)

    def without(self, *names: str) -> MemoryEstimate:
        """This estimate less some parts."""
        return MemoryEstimate({k: v for k, v in self.parts.items() if k not in names})

    def peak(self, alternatives: tuple[str, ...] = TRANSIENT) -> MemoryEstimate:
        """The parts that are kept, plus only the largest of ``alternatives`` (parts that are
        never allocated at the same time, e.g. an advance's work and a stop's fields)."""
        present = [k for k in alternatives if k in self.parts]
        if not present:
            return self
        larger = max(present, key=lambda k: self.parts[k])
        return self.without(*present).plus(**{larger: self.parts[larger]})

    def times(self, factor: int) -> MemoryEstimate:
        """``factor`` runs at once (e.g. parallel workers on one machine)."""
        return MemoryEstimate({k: v * factor for k, v in self.parts.items()})

    def describe(self) -> str:
        """``"1.2 GB (state 1 GB, step work 0.2 GB)"``: the total and its largest parts."""
        big = sorted(self.parts.items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{k} {format_bytes(v)}" for k, v in big if v >= 0.01 * self.total)
        return f"{format_bytes(self.total)} ({shown})" if shown else format_bytes(self.total)


def format_bytes(n: float) -> str:
    """Bytes for people: ``"512 MB"``, ``"1.66e+02 GB"`` (powers of 1000)."""
    for unit, size in (("GB", GB), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def _cgroup_headroom(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """Limit − (usage − reclaimable page cache) of this process's cgroup, or None if unlimited."""
    for limit_file, usage_file, stat_file, key in _CGROUPS:
        try:
            text = (root / limit_file).read_text().strip()
            used = int((root / usage_file).read_text())
        except (OSError, ValueError):
            continue
        if text == "max" or int(text) >= 2**60:  # v1 says "unlimited" with a huge number
            return None
        reclaimable = 0
        try:
            for line in (root / stat_file).read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == key:
                    reclaimable = int(value)
        except (OSError, ValueError):
            pass
        return max(int(text) - used + reclaimable, 0)
    return None


def available_memory() -> tuple[float, str]:
    """(bytes this process can still allocate, where the figure comes from)."""
    avail = float(psutil.virtual_memory().available)
    headroom = _cgroup_headroom()
    if headroom is not None and headroom < avail:
        return headroom, "headroom under the cgroup memory limit"
    return avail, "MemAvailable"


def memory_limit() -> tuple[float, str]:
    """(largest estimate a run may have, in bytes; what it is): ONCOSCALE_MAX_MEMORY_GB if set,
    else :func:`available_memory`."""
    text = os.environ.get(LIMIT_VARIABLE, "").strip()
    if text:
        try:
            gb = float(text)
        except ValueError:
            gb = math.nan
        if not (math.isfinite(gb) and gb > 0):
            raise InputError(
                f"invalid value for '{LIMIT_VARIABLE}': {text!r} GB; allowed: a number > 0"
            )
        return gb * GB, LIMIT_VARIABLE
    return available_memory()


def require_memory(estimate: MemoryEstimate, what: str, settings: str) -> None:
    """Refuse (InputError) if ``estimate`` exceeds :func:`memory_limit`; the message gives the
    estimate, the limit and the ``settings`` that reduce it."""
    limit, source = memory_limit()
    if estimate.total > limit:
        raise InputError(
            f"{what} needs about {estimate.describe()} of memory, more than the "
            f"{format_bytes(limit)} available ({source}); reduce it with {settings}, or set "
            f"{LIMIT_VARIABLE} if the memory will be there"
        )
