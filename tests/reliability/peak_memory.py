"""Peak memory of one ``oncoscale run``: ``python peak_memory.py SCENARIO [OPTIONS...]`` (no
``--out``) runs ``oncoscale run SCENARIO OPTIONS...`` twice in this process and prints JSON:

* ``estimate``, ``parts``: the run's memory estimate as the runner computes it before it
  starts (:func:`oncoscale.run.footprint.run_footprint`; bytes);
* ``peak``: the peak resident set size of the second run less the resident set size just
  before it (bytes). The first run compiles the kernels (Numba) and fills the libraries'
  caches; the peak (Linux ``VmHWM``) is then reset through ``/proc/self/clear_refs``, so that
  what is measured is what the estimate counts — the run's data — and not the interpreter, the
  imported libraries or the compiled code, which every run of a process pays once (about
  200-350 MB, see ``baseline``);
* ``seconds``: the wall time of the measured run.

Linux only (``/proc``)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import io
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _status(name: str) -> int:
    """``VmRSS``/``VmHWM`` of this process, bytes."""
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{name}:\s+(\d+) kB", text, re.M).group(1)) * 1024


def _run(args: list[str], out: Path) -> None:
    from oncoscale.cli import main as cli

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            cli.main(["run", *args, "--out", str(out)], prog_name="oncoscale")
        except SystemExit as exc:
            if exc.code:
                raise RuntimeError(f"oncoscale run {' '.join(args)} exited {exc.code}") from None


def measure(args: list[str]) -> dict:
    from oncoscale.io.scenario import load_scenario, parse_overrides, resolve
    from oncoscale.run.footprint import run_footprint

    pairs = list(zip(args[1::2], args[2::2], strict=False))
    opts = dict(pairs)
    sets = [v for k, v in pairs if k == "--set"]
    t_end = float(opts["--t-end"]) if "--t-end" in opts else None
    resolved = resolve(load_scenario(args[0]), opts.get("--model"), parse_overrides(sets), t_end)
    estimate = run_footprint(resolved.representation(), resolved.plan(work_dir=Path("work")))
    del resolved
    with tempfile.TemporaryDirectory(prefix="oncoscale-peak-") as tmp:
        _run(args, Path(tmp) / "warm-up")
        shutil.rmtree(Path(tmp) / "warm-up")
        gc.collect()
        ctypes.CDLL(None).malloc_trim(0)  # give the heap the first run freed back
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        baseline = _status("VmRSS")
        start = time.perf_counter()
        _run(args, Path(tmp) / "measured")
        seconds = time.perf_counter() - start
        peak = _status("VmHWM")
    return {
        "peak": peak - baseline,
        "baseline": baseline,
        "estimate": estimate.total,
        "parts": dict(estimate.parts),
        "seconds": seconds,
    }


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1:])))
