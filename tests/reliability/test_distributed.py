"""A real Dask deployment: ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1,
an ABM ensemble (and, slow, the sweep study of oncolytic-threshold-injection) through
``--scheduler``; one worker is SIGKILLed by its pid while it runs a task that has written a
checkpoint. The ensemble finishes with results bit-identical to a ``--workers 1`` run.

The same for the client: ``oncoscale ensemble`` is SIGKILLed after some runs have finished
and ``--resume`` completes it: finished runs are reused (files untouched), the others are
completed (by the orphaned tasks, which the folder lock lets finish first, or afresh), and
ensemble.nc equals the uninterrupted one. Killing a local run (client and its local workers,
as a batch system would) and resuming continues the unfinished runs from their checkpoints.

Each test prints its timeline (pytest -s shows it). Bounded in time; every process started is
stopped (checked)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from cluster import BIN, DaskDeployment, Timeline, run_until
from identity import result_difference

from oncoscale.io.results import read_attrs

ENSEMBLE = ["ensemble", "oncolytic-central", "--model", "abm", "--runs", "6", "--seed", "5",
            "--t-end", "48", "--set", "L=3", "--set", "output.observe_interval=0.5",
            "--set", "output.snapshot_interval=2", "--set", "output.checkpoint_every=0.1",
            "--quiet", "--no-figures"]  # fmt: skip
STUDY = ["run", "oncolytic-threshold-injection", "--t-end", "800", "--set", "numerics.dr=0.1",
         "--set", "output.observe_interval=1", "--set", "output.checkpoint_every=0.2",
         "--quiet"]  # fmt: skip
TIMEOUT = 600


def oncoscale(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "oncoscale"), *args], cwd=cwd, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip


def finished(proc: subprocess.Popen, timeout: float = TIMEOUT, tick=None) -> str:
    rc = run_until(proc, timeout, tick)
    out = proc.stdout.read()
    assert rc == 0, out
    return out


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """The ensemble (and the study folder) computed by one local process, --workers 1."""
    root = tmp_path_factory.mktemp("reference")
    finished(oncoscale(*ENSEMBLE, "--workers", "1", "--out", str(root / "ensemble"), cwd=root))
    return root


def assert_same_ensemble(a: Path, b: Path) -> None:
    assert result_difference(a / "ensemble.nc", b / "ensemble.nc") is None
    runs = sorted(p.name for p in (a / "runs").iterdir())
    assert runs == sorted(p.name for p in (b / "runs").iterdir())
    for run in runs:
        diff = result_difference(a / "runs" / run / "result.nc", b / "runs" / run / "result.nc")
        assert diff is None, (run, diff)
        assert not (b / "runs" / run / ".partial").exists()


def replicate(key: str) -> int:
    return int(re.search(r"-(\d{4})-", key).group(1))


def kill_worker_mid_run(dask: DaskDeployment, tl: Timeline, out: Path, victim: str, killed):
    """A tick: poll the scheduler; kill ``victim`` once it runs a task that has checkpointed."""

    def tick():
        dask.poll(tl)
        if killed:
            return
        for key in tl.running(victim):
            folder = out / "runs" / f"run-{replicate(key):04d}"
            if (folder / ".partial" / "checkpoint.npz").exists():
                tl.note(f"{victim} runs {key}, which has a checkpoint in {folder.name}/.partial")
                killed[key] = dask.kill_worker(victim, tl)
                return

    return tick


def test_worker_killed_mid_ensemble_gives_the_same_ensemble(references, tmp_path):
    out = tmp_path / "ensemble"
    with DaskDeployment(2, tmp_path / "cluster") as dask:
        tl = Timeline()
        proc = oncoscale(*ENSEMBLE, "--scheduler", dask.address, "--out", str(out), cwd=tmp_path)
        tl.note("oncoscale ensemble started (6 runs, 2 workers)")
        killed: dict[str, int] = {}
        finished(proc, tick=kill_worker_mid_run(dask, tl, out, "worker-1", killed))
        dask.poll(tl)
        tl.note("oncoscale ensemble finished")
        print("\n" + tl.text())
        print("re-run tasks:", tl.rerun())
    assert dask.alive() == []
    assert len(killed) == 1, tl.text()
    (key,) = killed
    assert tl.rerun()[key][-1] == "worker-0"  # the lost task ran again on the survivor
    assert_same_ensemble(references / "ensemble", out)


def test_client_killed_then_resumed_gives_the_same_ensemble(references, tmp_path):
    """The client dies once a run has finished and another has checkpointed; then the worker
    running that run (now an orphaned task) dies too. --resume reuses the finished runs
    (files untouched), waits for the orphan on the surviving worker (folder lock) and
    continues the run of the dead worker from its checkpoint."""
    out = tmp_path / "ensemble"
    with DaskDeployment(2, tmp_path / "cluster") as dask:
        tl = Timeline()
        proc = oncoscale(*ENSEMBLE, "--scheduler", dask.address, "--out", str(out), cwd=tmp_path)
        tl.note("oncoscale ensemble started")
        victims: list[str] = []

        def tick():
            dask.poll(tl)
            done = list(out.glob("runs/*/result.nc"))
            if proc.poll() is not None or not done or victims:
                return
            for worker in sorted(dask.workers):  # whichever runs a task that has checkpointed
                on_it = [out / "runs" / f"run-{replicate(k):04d}" for k in tl.running(worker)]
                partial = [
                    d
                    for d in on_it
                    if (d / ".partial" / "checkpoint.npz").exists()
                    and not (d / "result.nc").exists()
                ]  # (not one being cleaned up)
                if partial:
                    os.killpg(proc.pid, signal.SIGKILL)  # the client, then at once the worker
                    dask.kill_worker(worker, tl)  # whose task (now an orphan) dies with it
                    victims.extend(d.name for d in partial)
                    tl.note(f"SIGKILL oncoscale ensemble (pid {proc.pid}) just before; finished: "
                            + ", ".join(sorted(p.parent.name for p in done))
                            + f"; checkpointed on {worker}: " + ", ".join(victims))  # fmt: skip
                    return

        run_until(proc, TIMEOUT, tick)
        assert victims, "the ensemble finished before the kill"
        before = {p.parent.name: os.stat(p).st_mtime_ns for p in out.glob("runs/*/result.nc")}
        assert not (out / "ensemble.nc").exists()
        again = oncoscale(*ENSEMBLE, "--scheduler", dask.address, "--out", str(out),
                          "--resume", cwd=tmp_path)  # fmt: skip
        tl.note("oncoscale ensemble --resume started; finished runs: " + ", ".join(sorted(before)))
        text = finished(again, tick=lambda: dask.poll(tl))
        tl.note("oncoscale ensemble --resume finished: " + text.splitlines()[0])
    assert dask.alive() == []
    for name, stamp in before.items():  # finished runs were reused, not recomputed
        assert os.stat(out / "runs" / name / "result.nc").st_mtime_ns == stamp, name
    resumed = {
        p.parent.name
        for p in out.glob("runs/*/result.nc")
        if read_attrs(p).get("resumed_from") is not None
    }
    tl.note("runs continued from a checkpoint: " + ", ".join(sorted(resumed)))
    print("\n" + tl.text())
    assert set(victims) <= resumed, (victims, resumed)
    assert_same_ensemble(references / "ensemble", out)


@pytest.mark.slow
def test_killed_local_ensemble_resumes_runs_from_their_checkpoints(references, tmp_path):
    """`--workers 2` (a LocalCluster inside the client): the client and every process it
    started are killed, as a batch system does; --resume continues the interrupted runs from
    their checkpoints."""
    out = tmp_path / "ensemble"
    proc = oncoscale(*ENSEMBLE, "--workers", "2", "--out", str(out), cwd=tmp_path)

    def tick():
        done = list(out.glob("runs/*/result.nc"))
        partial = list(out.glob("runs/*/.partial/checkpoint.npz"))
        if len(done) >= 1 and partial and proc.poll() is None:
            kill_tree(proc.pid)

    run_until(proc, TIMEOUT, tick)
    interrupted = {p.parents[1].name for p in out.glob("runs/*/.partial/checkpoint.npz")}
    assert interrupted
    finished(oncoscale(*ENSEMBLE, "--workers", "2", "--out", str(out), "--resume", cwd=tmp_path))
    resumed = {
        p.parent.name
        for p in out.glob("runs/*/result.nc")
        if read_attrs(p).get("resumed_from") is not None
    }
    assert interrupted <= resumed, (interrupted, resumed)
    assert_same_ensemble(references / "ensemble", out)


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants (what a batch system does to a job)."""
    parent = psutil.Process(pid)
    procs = [*parent.children(recursive=True), parent]
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(procs, timeout=30)


@pytest.mark.slow
def test_worker_killed_mid_study_gives_the_same_study(tmp_path):
    ref = tmp_path / "reference"
    finished(oncoscale(*STUDY, "--workers", "1", "--out", str(ref), cwd=tmp_path))
    out = tmp_path / "study"
    with DaskDeployment(2, tmp_path / "cluster") as dask:
        tl = Timeline()
        proc = oncoscale(*STUDY, "--scheduler", dask.address, "--out", str(out), cwd=tmp_path)
        killed: dict[str, int] = {}

        def tick():
            dask.poll(tl)
            if (
                not killed
                and tl.running("worker-1")
                and any(out.glob("runs/*/.partial/checkpoint.npz"))
            ):
                killed["worker-1"] = dask.kill_worker("worker-1", tl)

        finished(proc, tick=tick)
        print("\n" + tl.text())
    assert dask.alive() == [] and killed
    assert result_difference(ref / "study.nc", out / "study.nc") is None
    for run in (ref / "runs").iterdir():
        assert result_difference(run / "result.nc", out / "runs" / run.name / "result.nc") is None


def test_processes_are_reported(tmp_path):
    """The deployment helper stops what it starts, even when the test body fails."""
    with pytest.raises(RuntimeError), DaskDeployment(1, tmp_path) as dask:
        pids = [p.pid for p in dask.procs]
        raise RuntimeError
    assert dask.alive() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("process groups and SIGKILL are POSIX")
