"""Run many independent tasks (sweep points, ensemble replicates) on Dask distributed.

``workers == 1`` and no scheduler: tasks run in this process, in order. Otherwise a
``LocalCluster`` with ``workers`` single-threaded processes is started (or an existing
scheduler is used), and tasks are submitted as they are; results come back in task order.
Each task writes its own result file, so a killed batch resumes by skipping finished tasks.
A worker lost mid-task is the scheduler's business: Dask runs the task again on another
worker (up to ``distributed.scheduler.allowed-failures`` times). Task keys read
``FUNCTION-0007-<token>`` (task 7, e.g. ``run_replicate-0007-1f3a9c2e``), so the scheduler's
logs say which task is which.
"""

from __future__ import annotations

import functools
import os
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from oncoscale.errors import InputError
from oncoscale.memory import MemoryEstimate, require_memory
from oncoscale.run.progress import tqdm

#: memory of one local worker process before it runs anything (Python, NumPy, Numba, Dask,
#: oncoscale imported; measured about 200 MB)
WORKER_PROCESS_BYTES = 250e6

#: glibc settings of local worker processes. Dask sets MALLOC_TRIM_THRESHOLD_ = 64 kB for
#: its workers, and any explicit setting switches off glibc's dynamic mmap threshold: every
#: array above 128 kB is then a fresh mmap whose pages fault in again (a 201² ABM: ~600
#: page faults per simulated hour, 1e8 in a 100-run ensemble; docs/abm.md). Arrays up
#: to 32 MB come from the heap instead, and a worker keeps up to 64 MB of freed memory.
WORKER_MALLOC = {"MALLOC_MMAP_THRESHOLD_": 32 * 2**20, "MALLOC_TRIM_THRESHOLD_": 64 * 2**20}

T = TypeVar("T")


def _on_threads(fn: Callable[..., T], threads: int, *args: Any) -> T:
    """Run ``fn(*args)`` with compiled kernels limited to ``threads`` threads (a worker of a
    local cluster shares the cores with the others: no oversubscription). Kernels give the
    same numbers for any thread count."""
    import numba

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    return fn(*args)


def map_tasks(
    fn: Callable[..., T],
    tasks: Sequence[tuple[Any, ...]],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
    description: str = "runs",
) -> list[T]:
    """``[fn(*task) for task in tasks]``, possibly in parallel on Dask."""
    if workers < 1:
        raise InputError(f"invalid value for '--workers': {workers!r}; allowed: >= 1")
    if not tasks:
        return []
    if workers == 1 and scheduler is None:
        return [fn(*task) for task in tqdm(tasks, desc=description, disable=not progress)]
    import dask
    from dask.distributed import Client, LocalCluster, as_completed

    label = re.sub(r"[^A-Za-z0-9_]+", "_", fn.__name__)  # readable task keys
    cluster = None
    if scheduler is None:
        n = min(workers, len(tasks))
        require_memory(
            MemoryEstimate({"worker processes": n * WORKER_PROCESS_BYTES}),
            f"{n} local worker processes",
            "fewer --workers",
        )
        fn = functools.partial(_on_threads, fn, max(1, (os.cpu_count() or 1) // n))
        environ = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_MALLOC.items()}
        with dask.config.set(environ):
            cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler at '{scheduler}': {exc}") from None
    try:
        token = uuid.uuid4().hex[:8]
        futures = [
            client.submit(fn, *task, key=f"{label}-{k:04d}-{token}") for k, task in enumerate(tasks)
        ]
        index = {f.key: k for k, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        with tqdm(total=len(futures), desc=description, disable=not progress) as bar:
            for fut in as_completed(futures):
                results[index[fut.key]] = fut.result()
                bar.update()
        return results
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
