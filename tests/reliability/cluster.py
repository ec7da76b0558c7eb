"""A real Dask deployment on 127.0.0.1 for the tests: ``dask scheduler`` and ``dask worker``
processes started with the commands users run, a timeline of which task ran where (polled
from the scheduler), and a guarantee that every process started is stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Timeline:
    """Events (seconds since the start, text) and, per task key, the workers it ran on."""

    t0: float = field(default_factory=time.monotonic)
    events: list[tuple[float, str]] = field(default_factory=list)
    ran_on: dict[str, list[str]] = field(default_factory=dict)
    _running: dict[str, set[str]] = field(default_factory=dict)

    def note(self, text: str) -> None:
        self.events.append((round(time.monotonic() - self.t0, 2), text))

    def observe(self, processing: dict[str, list[str]], names: dict[str, str]) -> None:
        """Record the tasks that started or stopped on each worker since the last poll."""
        now = {names.get(w, w): {str(k) for k in keys} for w, keys in processing.items()}
        for worker in now.keys() | self._running.keys():
            before, after = self._running.get(worker, set()), now.get(worker, set())
            for key in sorted(after - before):
                self.ran_on.setdefault(key, []).append(worker)
                self.note(f"{key} assigned to {worker}")
            for key in sorted(before - after):
                self.note(f"{key} done on or taken from {worker}")
        self._running = now

    def running(self, worker: str) -> set[str]:
        """Keys the worker was processing at the last poll."""
        return self._running.get(worker, set())

    def rerun(self) -> dict[str, list[str]]:
        """Tasks that ran on more than one worker (or twice on one)."""
        return {k: w for k, w in self.ran_on.items() if len(w) > 1}

    def text(self) -> str:
        return "\n".join(f"{t:7.2f} s  {e}" for t, e in self.events)


class DaskDeployment:
    """``dask scheduler`` + ``n_workers`` x ``dask worker --no-nanny`` (one process each, so
    killing its pid kills the worker), all on 127.0.0.1."""

    def __init__(self, n_workers: int, workdir: Path):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []
        self.workers: dict[str, subprocess.Popen] = {}
        self.n_workers = n_workers
        self.client = None

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "w")
        proc = subprocess.Popen(
            [str(BIN / "dask"), *args], cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        self.procs.append(proc)
        return proc

    def __enter__(self) -> DaskDeployment:
        from dask.distributed import Client

        self.workdir.mkdir(parents=True, exist_ok=True)
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                  "--no-dashboard"])  # fmt: skip
        for k in range(self.n_workers):
            name = f"worker-{k}"
            self.workers[name] = self._start(name, [
                "worker", self.address, "--name", name, "--nthreads", "1", "--no-nanny",
                "--no-dashboard", "--death-timeout", "60",
                "--local-directory", str(self.workdir / name),
            ])  # fmt: skip
        self.client = Client(self.address, timeout="60s")
        self.client.wait_for_workers(self.n_workers, timeout=120)
        return self

    def names(self) -> dict[str, str]:
        """Worker address → name."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return {addr: w.get("name", addr) for addr, w in info.items()}

    def poll(self, timeline: Timeline) -> None:
        timeline.observe(self.client.processing(), self.names())

    def kill_worker(self, name: str, timeline: Timeline) -> int:
        proc = self.workers[name]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        timeline.note(f"SIGKILL {name} (pid {proc.pid})")
        return proc.pid

    def __exit__(self, *exc) -> None:
        if self.client is not None:
            self.client.close(timeout=10)
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def alive(self) -> list[int]:
        """Pids of the started processes still running (none after the with block)."""
        return [p.pid for p in self.procs if p.poll() is None]


def run_until(proc: subprocess.Popen, timeout: float, tick=None, every: float = 0.1) -> int:
    """Wait for ``proc`` (calling ``tick()`` every ``every`` s); SIGKILL it and fail after
    ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise TimeoutError(f"{proc.args} did not finish in {timeout} s")
        if tick is not None:
            tick()
        time.sleep(every)
    return proc.returncode
