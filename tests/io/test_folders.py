"""One process per run folder: :func:`oncoscale.io.folders.exclusive` makes a second process
wait until the first lets go, and a holder killed by SIGKILL lets go at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oncoscale.io.folders import exclusive

fcntl = pytest.importorskip("fcntl")

HOLD = """
import sys, time
from oncoscale.io.folders import exclusive
with exclusive(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def holder(folder: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), str(seconds)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout.readline().strip() == "locked"
    return proc


def locked(folder: Path) -> bool:
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_second_process_waits_for_the_first(tmp_path):
    folder = tmp_path / "run"
    first = holder(folder, 1.5)
    start = time.monotonic()
    with exclusive(folder):
        waited = time.monotonic() - start  # until the first left its block (held 1.5 s)
    assert waited > 1.0, waited
    first.wait(timeout=30)


def test_a_killed_holder_releases_the_folder(tmp_path):
    folder = tmp_path / "run"
    proc = holder(folder, 600)
    assert locked(folder)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not locked(folder)
    with exclusive(folder) as got:
        assert got == folder and folder.is_dir()
