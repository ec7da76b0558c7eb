"""Kill harness: run ``oncoscale run`` again and again in one folder, SIGKILL it at given
moments, and check the folder after every kill.

``python kill_harness.py SPEC.json`` prints a JSON report. SPEC holds ``args`` (the
``oncoscale`` arguments, without ``--out`` and ``--resume``), ``work`` (a scratch folder),
``kills`` (a list of ``{"after": f}`` — SIGKILL after f times the duration of an uninterrupted
run — or ``{"fault": "SITE:N"}`` — the child kills itself the N-th time it reaches the fault
point SITE, see :mod:`oncoscale.faults`) and ``mode``:

* ``"fork"``: children are forks of this process, which has run the reference once, so they
  start at once with everything imported and compiled: every kill lands in the run itself;
* ``"exec"``: children are the real ``oncoscale`` executable (startup included in the delays).

Every child after the reference runs with ``--resume``. After each kill the folder must hold
no result.nc, or one identical to the reference; at the end one more resume must finish and
give the reference bit for bit, with no temporary file or work folder left behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
# GNU OpenMP refuses fork() once it has run a parallel region ("fork() called from a process
# already using GNU OpenMP, this is unsafe"), and "fork" mode forks after the reference run:
# numba's fork-safe workqueue threading layer instead (the kernels give the same numbers on
# any layer and thread count: tested), so the identity checks are unchanged.
os.environ["NUMBA_THREADING_LAYER"] = "workqueue"

from identity import result_difference

from oncoscale import faults
from oncoscale.atomic import _TEMPORARY
from oncoscale.cli import main
from oncoscale.run.checkpoint import read_checkpoint

COMMON = ["--quiet", "--no-figures", "--set", "output.checkpoint_every=1e-9"]


def _child(argv: list[str], fault: str) -> None:
    """In a forked child: run the command with ``fault`` armed, exit with its status."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    code = 0
    try:
        faults.arm(fault)
        main.main(argv, prog_name="oncoscale")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        code = 3
    os._exit(code)


def _start(mode: str, argv: list[str], fault: str = "") -> int | subprocess.Popen:
    if mode == "exec":
        env = {**os.environ, faults.VARIABLE: fault}
        exe = Path(sys.executable).with_name("oncoscale")
        return subprocess.Popen([str(exe), *argv], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
    pid = os.fork()
    if pid == 0:
        _child(argv, fault)
    return pid


def _finish(child, after: float | None, timeout: float) -> str:
    """Wait for the child (SIGKILL it ``after`` seconds from now, if given); its fate."""
    pid = child if isinstance(child, int) else child.pid
    deadline = time.monotonic() + timeout
    kill_at = None if after is None else time.monotonic() + after
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        now = time.monotonic()
        if now >= deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        if kill_at is not None and now >= kill_at:
            os.kill(pid, signal.SIGKILL)
            kill_at = None
        time.sleep(0.002)
    if isinstance(child, subprocess.Popen):
        child.returncode = 0  # reaped above
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return "killed" if sig == signal.SIGKILL else f"signal {sig}"
    return f"exit {os.WEXITSTATUS(status)}"


def _folder_state(out: Path, reference: Path) -> dict:
    result = out / "result.nc"
    state = {"result": None, "checkpoint_stop": None, "temporaries": 0}
    if result.exists():
        state["result"] = result_difference(reference, result) or "identical"
    ck = out / ".partial" / "checkpoint.npz"
    if ck.exists():
        state["checkpoint_stop"] = int(read_checkpoint(ck)["k"])
    folders = [out, out / ".partial"]
    state["temporaries"] = sum(
        1 for f in folders if f.is_dir() for p in f.iterdir() if _TEMPORARY.match(p.name)
    )
    return state


def run_spec(spec: dict) -> dict:
    """Execute SPEC (see the module docstring) and return the report."""
    work = Path(spec["work"])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    args, mode = [*spec["args"], *COMMON], spec.get("mode", "fork")
    reference_dir = work / "reference"
    reference = reference_dir / "result.nc"
    t0 = time.monotonic()
    try:  # in this process: imports and compiles what the forked children will use
        with contextlib.redirect_stdout(io.StringIO()):
            main.main(["run", *args, "--out", str(reference_dir)], prog_name="oncoscale")
    except SystemExit as exc:
        if exc.code:
            return {"error": f"reference run failed with status {exc.code}"}
    timed = work / "timed"
    t0 = time.monotonic()
    fate = _finish(_start(mode, ["run", *args, "--out", str(timed)]), None, 600)
    duration = time.monotonic() - t0
    report = {"duration_s": duration, "uninterrupted": fate, "kills": []}
    report["uninterrupted_identical"] = result_difference(reference, timed / "result.nc")
    out = work / "run"
    argv = ["run", *args, "--out", str(out), "--resume"]
    for kill in spec["kills"]:
        after = kill.get("after")
        child = _start(mode, argv, kill.get("fault", ""))
        fate = _finish(child, None if after is None else after * duration, 600)
        report["kills"].append({**kill, "fate": fate, **_folder_state(out, reference)})
    fate = _finish(_start(mode, argv), None, 600)
    final = _folder_state(out, reference)
    report["final"] = {"fate": fate, **final, "partial_left": (out / ".partial").exists()}
    return report


if __name__ == "__main__":
    print(json.dumps(run_spec(json.loads(Path(sys.argv[1]).read_text()))))
