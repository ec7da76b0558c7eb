"""Choose, call by call, the thread count that runs a compiled kernel fastest right now.

For kernels whose results do not depend on the number of threads (the oncolytic ABM's keyed
random streams), the thread count is a pure speed choice, and the best one changes with the
machine's load: two threads of the 201² lattice step take 0.58× the time of one on an idle
2-core machine, but 1.45× while another process holds a core (benchmarks/bench_abm.py,
``threads``). :class:`ThreadTuner` measures the wall time per unit of work of one thread and of
the caller's thread limit, uses the faster, and re-measures the other after ``probe_every``
calls, then after twice as many each time the re-measurement confirms the choice (up to
``max_probe_every``; back to ``probe_every`` when the choice changes), so a run follows the
load as it changes and an idle machine spends few calls on the slower choice (on the 1500 h
oncolytic ABM run: 6 probes of 1500 calls instead of 30).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager

import numba


@contextmanager
def numba_threads(n: int):
    """Run the compiled kernels inside the block on ``n`` threads; numba's limit is restored
    afterwards."""
    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(before)


class ThreadTuner:
    """Pick 1 or ``numba.get_num_threads()`` threads for each call, by measured speed.

    ``probe_every``: calls before the first re-measurement of the slower choice (>= 2);
    ``max_probe_every``: the longest interval between re-measurements (>= probe_every);
    ``smoothing``: weight of a new measurement in each choice's running mean, in (0, 1].
    The first call of each choice is not measured (it may include loading the kernel).
    """

    def __init__(self, probe_every: int = 50, smoothing: float = 0.5, max_probe_every: int = 400):
        if probe_every < 2:
            raise ValueError(f"probe_every = {probe_every!r}: must be >= 2")
        if max_probe_every < probe_every:
            raise ValueError(
                f"max_probe_every = {max_probe_every!r}: must be >= probe_every = {probe_every}"
            )
        if not 0.0 < smoothing <= 1.0:
            raise ValueError(f"smoothing = {smoothing!r}: must be in (0, 1]")
        self.probe_every = probe_every
        self.max_probe_every = max_probe_every
        self.smoothing = smoothing
        self._limit = 0
        self._cost: dict[int, float] = {}  # seconds per unit of work, running mean
        self._seen: dict[int, int] = {}
        self._calls = 0
        self._best = 0
        self._interval = probe_every
        self._next_probe = 0
        self.calls_by_threads: dict[int, int] = {}

    def _reset(self, limit: int) -> None:
        self._limit = limit
        self._cost.clear()
        self._seen.clear()
        self._calls = 0
        self._best = 0

    def choose(self) -> int:
        """Thread count for the next call (the caller's numba limit is the most)."""
        limit = numba.get_num_threads()
        if limit != self._limit:
            self._reset(limit)
        if limit == 1:
            return 1
        for threads in (limit, 1):  # measure each choice twice before trusting either
            if self._seen.get(threads, 0) < 2:
                return threads
        best = min(self._cost, key=self._cost.__getitem__)
        if best != self._best:  # a new choice: re-measure the other soon
            self._best = best
            self._interval = self.probe_every
            self._next_probe = self._calls + self._interval
        if self._calls < self._next_probe:
            return best
        self._interval = min(2 * self._interval, self.max_probe_every)
        self._next_probe = self._calls + self._interval
        return 1 if best == limit else limit

    def record(self, threads: int, seconds: float, work: float) -> None:
        """Note that ``work`` units (e.g. steps) took ``seconds`` of wall time."""
        self._calls += 1
        self.calls_by_threads[threads] = self.calls_by_threads.get(threads, 0) + 1
        seen = self._seen.get(threads, 0)
        self._seen[threads] = seen + 1
        if seen == 0 or work <= 0:
            return
        cost = seconds / work
        old = self._cost.get(threads)
        self._cost[threads] = cost if old is None else old + self.smoothing * (cost - old)

    @contextmanager
    def threads_for(self, work: float, clock: Callable[[], float] = time.perf_counter):
        """``with tuner.threads_for(steps) as n:`` runs the block on n threads (numba's
        limit restored afterwards) and records its wall time."""
        threads = self.choose()
        start = clock()
        with numba_threads(threads):
            yield threads
        self.record(threads, clock() - start, work)
