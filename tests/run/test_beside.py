"""A call beside the caller: in a forked child where that is safe, its value or exception
comes back, a crash is reported by name, and the caller's own exception wins."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from oncoscale.errors import InputError, RunFailed
from oncoscale.run.beside import beside, can_fork

forks = pytest.mark.skipif(not can_fork(), reason="no fork here (not Linux, or threads)")


def _pid_and(value):
    return os.getpid(), value


def _refuse(name):
    raise InputError(f"invalid value for '{name}'")


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


@forks
def test_the_call_runs_in_a_child_while_the_block_runs():
    with beside(_pid_and, 7) as pending:
        here = os.getpid()
    pid, value = pending.result()
    assert value == 7 and pid != here


@forks
def test_the_childs_exception_is_raised_with_its_type():
    with pytest.raises(InputError, match="'alpha'"), beside(_refuse, "alpha"):
        pass


@forks
def test_a_child_killed_by_a_signal_is_a_run_failure_naming_it():
    with pytest.raises(RunFailed, match="signal 9"), beside(_die):
        pass


@forks
def test_the_blocks_exception_wins_and_the_child_is_reaped():
    with pytest.raises(KeyError), beside(_refuse, "beta"):
        raise KeyError("from the block")
    with pytest.raises(ChildProcessError):  # no child left behind (no zombie)
        os.waitpid(-1, os.WNOHANG)


def test_with_another_thread_or_fork_false_the_call_runs_here_first():
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not can_fork()
        with beside(_pid_and, 1) as pending:
            assert pending.result() == (os.getpid(), 1)  # done before the block
    finally:
        stop.set()
        thread.join()
    with beside(_pid_and, 2, fork=False) as pending:
        assert pending.result() == (os.getpid(), 2)
    with pytest.raises(InputError, match="'gamma'"), beside(_refuse, "gamma", fork=False):
        pass
