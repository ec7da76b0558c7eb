"""The thread tuner picks the thread count that measures faster and keeps re-measuring."""

import numba
import pytest

from oncoscale.numerics.thread_tuner import ThreadTuner, numba_threads

needs_two = pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2, reason="numba has one thread on this machine"
)


class FakeClock:
    """A clock that advances by the cost of the thread count the block ran on."""

    def __init__(self, cost_per_unit: dict[int, float]):
        self.cost = cost_per_unit
        self.now = 0.0
        self.pending = 0.0

    def __call__(self) -> float:
        self.now += self.pending
        self.pending = 0.0
        return self.now


def _run(tuner: ThreadTuner, clock: FakeClock, calls: int, work: float = 10.0) -> list[int]:
    chosen = []
    for _ in range(calls):
        with tuner.threads_for(work, clock=clock) as n:
            assert numba.get_num_threads() == n
            clock.pending = clock.cost[n] * work
            chosen.append(n)
    return chosen


@needs_two
@pytest.mark.parametrize("fast", [1, 2])
def test_tuner_uses_the_faster_choice_and_probes_the_other(fast):
    with numba_threads(2):
        tuner = ThreadTuner(probe_every=10, max_probe_every=10)
        clock = FakeClock({fast: 1.0, 3 - fast: 2.0})
        chosen = _run(tuner, clock, 104)
        assert numba.get_num_threads() == 2  # the caller's limit is restored
    assert chosen[:4] == [2, 2, 1, 1]  # each measured twice (the first is not trusted)
    later = chosen[4:]
    probes = [k for k, n in enumerate(later) if n != fast]
    assert probes == list(range(10, 100, 10))  # one probe every 10 calls


@needs_two
def test_tuner_probes_less_often_while_its_choice_holds():
    """Each probe that confirms the choice doubles the interval to the next (10, 20, 40,
    then the cap of 50); when the choice changes, the other is probed again 10 calls on."""
    with numba_threads(2):
        tuner = ThreadTuner(probe_every=10, max_probe_every=50, smoothing=1.0)
        clock = FakeClock({1: 2.0, 2: 1.0})
        later = _run(tuner, clock, 4 + 170)[4:]
        assert [k for k, n in enumerate(later) if n == 1] == [10, 30, 70, 120]
        clock.cost = {1: 1.0, 2: 3.0}  # busy machine: one thread is now faster
        later = _run(tuner, clock, 30)
    switch = later.index(1, 1)  # the first call may be the pending probe
    assert later[switch:].count(2) == 1 and later[switch + 10] == 2  # probed 10 calls on


@needs_two
def test_tuner_follows_a_change_of_load():
    """Two threads are faster until the machine gets busy, then one is: the tuner switches
    after the next probe."""
    with numba_threads(2):
        tuner = ThreadTuner(probe_every=5, smoothing=1.0)
        clock = FakeClock({1: 1.0, 2: 0.6})
        assert _run(tuner, clock, 18)[-3:] == [2, 2, 2]  # probes at calls 9 and 19
        clock.cost = {1: 1.0, 2: 1.5}
        assert _run(tuner, clock, 20)[-3:] == [1, 1, 1]


def test_tuner_respects_a_limit_of_one_thread():
    with numba_threads(1):
        tuner = ThreadTuner()
        assert set(_run(tuner, FakeClock({1: 1.0}), 5)) == {1}


def test_tuner_rejects_bad_settings():
    with pytest.raises(ValueError, match="probe_every = 1"):
        ThreadTuner(probe_every=1)
    with pytest.raises(ValueError, match="max_probe_every = 5"):
        ThreadTuner(probe_every=10, max_probe_every=5)
    with pytest.raises(ValueError, match="smoothing = 0"):
        ThreadTuner(smoothing=0)
