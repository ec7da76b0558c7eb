"""One call in a forked child process while the caller goes on (the second core after a run).

After a run, writing result.nc (HDF5 + zlib, which hold the GIL) and drawing the figures
(matplotlib) are each single-threaded: :func:`beside` writes the file in a child forked from
this process while the parent draws. Fork shares the run's record copy-on-write, without
pickling it and without a fresh interpreter's imports.

Fork is used only where it is safe: on Linux, and only while this process runs no other
Python thread (no thread can then hold a lock inside HDF5 or the interpreter at the fork;
numba's worker threads are not Python threads and the child runs no compiled parallel code).
Elsewhere the call runs in the caller, before ``beside`` yields: same result, no overlap.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from oncoscale.errors import RunFailed


class Pending:
    """The outcome of a call made by :func:`beside`: :meth:`result` waits for it."""

    def __init__(self, pid: int = 0, pipe: int = -1, outcome: tuple[str, Any] | None = None):
        self._pid, self._pipe, self._outcome = pid, pipe, outcome

    def _wait(self) -> tuple[str, Any]:
        if self._outcome is None:
            chunks = []
            while chunk := os.read(self._pipe, 1 << 16):  # read all before waiting: no deadlock
                chunks.append(chunk)
            os.close(self._pipe)
            _, status = os.waitpid(self._pid, 0)
            if os.WIFSIGNALED(status) or not chunks:
                how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else "no result"
                self._outcome = ("error", RunFailed(
                    f"the child process (pid {self._pid}) that wrote beside this one died "
                    f"({how}); its output file is incomplete or missing: run again"
                ))  # fmt: skip
            else:
                self._outcome = pickle.loads(b"".join(chunks))
        return self._outcome

    def result(self) -> Any:
        """The call's return value; its exception is raised here."""
        kind, value = self._wait()
        if kind == "error":
            raise value
        return value


def can_fork() -> bool:
    """Whether :func:`beside` forks here (Linux, no Python thread but this one)."""
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


@contextmanager
def beside(
    fn: Callable[..., Any], *args: Any, fork: bool = True, **kwargs: Any
) -> Iterator[Pending]:
    """``with beside(fn, ...) as pending:`` runs ``fn(...)`` in a forked child while the block
    runs; leaving the block waits for the child (``pending.result()`` gives its value or
    raises its exception). If the block raises, the child is still waited for and the block's
    exception is the one raised. ``fork=False`` (or where :func:`can_fork` is false): the call
    runs here first, then the block."""
    if not (fork and can_fork()):
        try:
            pending = Pending(outcome=("value", fn(*args, **kwargs)))
        except Exception as exc:
            pending = Pending(outcome=("error", exc))
        yield pending
        pending.result()
        return
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # Python >= 3.12 warns of numba's (idle) worker threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: the call, its outcome down the pipe, then out without clean-up
        os.close(read_end)
        try:
            outcome: tuple[str, Any] = ("value", fn(*args, **kwargs))
        except BaseException as exc:
            outcome = ("error", exc)
        try:
            payload = pickle.dumps(outcome)
        except Exception:  # an unpicklable value or exception: its text
            payload = pickle.dumps(("error", RunFailed(f"beside: {outcome[1]!r}")))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
        os._exit(0)
    os.close(write_end)
    pending = Pending(pid, read_end)
    try:
        yield pending
    except BaseException:
        pending._wait()  # the child's outcome is dropped: the block's exception wins
        raise
    pending.result()
