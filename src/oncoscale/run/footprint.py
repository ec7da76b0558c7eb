"""What a run costs in memory: the model's own estimate plus what the plan adds.

Two phases, the larger one is the peak:

* running: what the model keeps (state, operators:
  :meth:`~oncoscale.models.base.Representation.memory_estimate`), plus the larger of what an
  advance allocates (``step work``) and what a stop allocates (one set of fields for the
  observables or a snapshot: ``snapshot``) — they never coexist —, the stop times, the
  observables recorded so far (Python floats in lists or row dicts until they are written:
  :data:`OBS_BYTES` per value), and, in memory (no work folder), every snapshot;
* writing the result (:func:`oncoscale.io.results.write_result`, after the state is gone): the
  observables as arrays (table, Dataset, NetCDF buffer), two snapshots read back from the
  store (the one being written and the one before, until the loop lets go of it), a third
  in HDF5's chunk caches (one chunk per variable: a whole field, kept until evicted), two
  field-sized buffers (conversion, compression), and the snapshots still held by an
  in-memory store.

Checkpoints add nothing: they are written in chunks (``numpy.savez``) and read straight into
the resumed state.
"""

from __future__ import annotations

import math

from oncoscale.memory import TRANSIENT, MemoryEstimate
from oncoscale.models.base import Representation

#: bytes per recorded observable value before it is written (a float object, its list slot
#: or row-dict entry)
OBS_BYTES = 100
#: bytes per observable value while the result is written (table, Dataset, NetCDF buffer)
OBS_WRITE_BYTES = 3 * 8
#: NetCDF/HDF5 library buffers while writing (chunk cache, metadata), measured
WRITE_BUFFERS = 20e6


def _count(t_end: float, interval: float) -> float:
    """Number of recording times 0, interval, ..., t_end (a float: may be astronomically big)."""
    return float(math.floor(t_end / interval + 1e-9)) + 2.0


def run_footprint(rep: Representation, plan, *, in_memory: bool | None = None) -> MemoryEstimate:
    """Peak memory (bytes) of running ``rep`` by ``plan`` (a :class:`~oncoscale.run.runner.
    RunPlan`) and writing its result; ``in_memory``: snapshots kept in memory (default: the
    plan has no work folder)."""
    model = rep.memory_estimate()
    snapshot = float(model.parts.get("snapshot", 0.0))
    field = snapshot / max(len(rep.field_dims), 1)
    in_memory = plan.work_dir is None if in_memory is None else in_memory
    n_obs = _count(plan.t_end, plan.observe_interval)
    n_snap = _count(plan.t_end, plan.snapshot_interval)
    names = max(len(rep.variable_info()), 8)
    kept = (n_snap - 1) * snapshot if in_memory else 0.0
    running = model.peak().plus(
        **{
            "stop times": 4 * 8 * (n_obs + n_snap + len(plan.events)),
            "observables": OBS_BYTES * n_obs * names,
            "snapshots kept": kept,
        }
    )
    writing = model.without("state", *TRANSIENT).plus(
        **{
            "observables": OBS_WRITE_BYTES * n_obs * names,
            "snapshots kept": kept,
            "result writing": 3 * snapshot + 2 * field + WRITE_BUFFERS,
        }
    )
    return running if running.total >= writing.total else writing


def footprint_settings(rep: Representation) -> str:
    """What reduces a run's memory: the model's settings, then the output cadence and the
    horizon."""
    model = f"{rep.memory_settings}, " if rep.memory_settings else ""
    return (
        f"{model}fewer snapshots (output.snapshot_interval) or observations "
        "(output.observe_interval), or a shorter horizon (t_end, --t-end)"
    )
