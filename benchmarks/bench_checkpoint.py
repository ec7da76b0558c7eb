"""Checkpoint cost and memory over a long run: flat, not growing with the run's length.

A run through the real runner (``execute_run``: checkpoints in ``.partial/``, snapshots and
observables written incrementally) of the 1500 h central ABM (201², τ = 0.02 h) and of the
radial PDE to 6000 h with dense output (Δr = 0.01, snapshots every 10 h). At 10 %, 50 % and
100 % of the horizon a tracker measures:

* the time to write a checkpoint now (flush of the buffered observables + the state as data),
* the size of that checkpoint, and the resident memory of the process (RSS),
* next to the previous design's cost at the same moment: pickling the whole record (every
  snapshot and observable so far) with the state — the ratio old/new is the benchmark.

``--quick``: 150 h of the ABM, 1500 h of the radial PDE.
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import ratio
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.run.checkpoint import write_checkpoint
from oncoscale.run.trackers import Tracker
from oncoscale.workflows.pipeline import execute_run


def _rss_mb() -> float:
    """Resident memory of this process (MB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Probe(Tracker):
    """At given fractions of the horizon: checkpoint cost now vs pickling the whole record."""

    def __init__(self, t_end: float, folder: Path) -> None:
        super().__init__(t_end)
        self.t_end, self.folder, self.rows = t_end, folder, []
        self.snapshots: list[dict] = []  # what the old design held in memory
        self.obs: list[dict] = []

    def times(self, t_end: float) -> np.ndarray:
        return np.array([0.1 * t_end, 0.5 * t_end, t_end])

    def record(self, t, rep, state, observables, store) -> None:
        t0 = time.perf_counter()
        store.flush()
        path = write_checkpoint(self.folder / "probe.npz", "probe", {"state": state})
        new_s, new_mb = time.perf_counter() - t0, path.stat().st_size / 1e6
        # the previous design: one pickle of the state and the whole record so far
        snaps = [store.snapshot(k) for k in range(len(store.snap_times))]
        obs = store.observable_table()
        t1 = time.perf_counter()
        blob = pickle.dumps({"state": state, "snapshots": snaps, "obs": obs}, protocol=5)
        old_s, old_mb = time.perf_counter() - t1, len(blob) / 1e6
        del snaps, blob
        self.rows.append((t / self.t_end, t, new_s, new_mb, old_s, old_mb, _rss_mb()))


def _measure(label: str, scenario: str, model: str, overrides: dict, t_end: float) -> None:
    resolved = resolve(load_scenario(scenario), model, overrides, t_end, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        probe = _Probe(t_end, Path(tmp))
        t0 = time.perf_counter()
        execute_run(resolved, Path(tmp) / "run", progress=False, figures=False, trackers=[probe])
        wall = time.perf_counter() - t0
    print(f"{label} to {t_end:g} h ({wall:.1f} s wall incl. the probes):")
    print("   at     t (h) | checkpoint now: s     MB | old design (pickle all): s      MB"
          " | ratio time | RSS MB")  # fmt: skip
    if label.startswith("central ABM"):
        _, _, new_s, _, old_s, _, _ = probe.rows[-1]
        ratio("checkpoint.abm_old_over_new_at_end", old_s / new_s, "checkpoint time at 100 %")
    for frac, t, new_s, new_mb, old_s, old_mb, rss in probe.rows:
        print(
            f"  {100 * frac:3.0f} % {t:8.0f} | {new_s:16.3f} {new_mb:6.3f} | "
            f"{old_s:24.3f} {old_mb:7.3f} | {old_s / new_s:9.1f}x | {rss:6.0f}"
        )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_checkpoint")
    ap.add_argument("--quick", action="store_true", help="shorter horizons")
    args = ap.parse_args(argv)
    abm_t = 150.0 if args.quick else 1500.0
    pde_t = 1500.0 if args.quick else 6000.0
    _measure(
        "central ABM 201^2",
        "oncolytic-central",
        "abm",
        {"output.snapshot_interval": 10.0, "output.observe_interval": 1.0},
        abm_t,
    )
    _measure(
        "central radial PDE, dr = 0.01",
        "oncolytic-central",
        "pde-radial",
        {"output.snapshot_interval": 10.0, "output.observe_interval": 0.5},
        pde_t,
    )


if __name__ == "__main__":
    main()
