"""Kills at any moment: for each representation family (ABM, radial PDE, 2D PDE, IBM,
invasion PDE, a kinetic run) a run is SIGKILLed at random moments and at the most harmful
ones (between writing a checkpoint and renaming it, while writing a record file, with the
result file half written, after the result but before the clean-up), then resumed; after
every kill the folder holds no result.nc or one identical to an uninterrupted run's, and the
last resume gives that result bit for bit (see kill_harness.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HARNESS = Path(__file__).parent / "kill_harness.py"

#: small, fast runs (about 1-2 s uninterrupted) with many stops and a checkpoint at each
MODELS = {
    "abm": ["oncolytic-central", "--model", "abm", "--t-end", "6", "--set", "L=3",
            "--set", "output.observe_interval=0.2", "--set", "output.snapshot_interval=1"],
    "pde-radial": ["oncolytic-central", "--t-end", "40", "--set", "numerics.dr=0.05",
                   "--set", "output.snapshot_interval=4"],
    "pde-2d": ["oncolytic-central", "--model", "pde-2d", "--t-end", "8", "--set", "L=3",
               "--set", "numerics.dx=0.2", "--set", "output.snapshot_interval=1"],
    "ibm": ["invasion-homogeneous", "--model", "ibm", "--set", "M_MM=1e-3", "--set",
            "M_O2=2e-2", "--t-end", "0.5", "--set", "output.observe_interval=0.05",
            "--set", "output.snapshot_interval=0.1"],
    "invasion-pde": ["invasion-homogeneous", "--model", "pde", "--t-end", "0.3", "--set",
                     "numerics.dx=0.5", "--set", "output.observe_interval=0.05",
                     "--set", "output.snapshot_interval=0.1"],
    "kinetic": ["kinetic-pc-oscillation", "--model", "kinetic-1d", "--t-end", "2", "--set",
                "output.observe_interval=0.05", "--set", "output.snapshot_interval=0.2"],
}  # fmt: skip
#: the harmful moments, as fault points (oncoscale.faults)
EARLY = ("write:checkpoint", "write:snap", "write:obs")
LATE = ("result-snapshot:{n}", "write:result:1", "write:summary:1")


def schedules(n_random: int, spread: float):
    """Kill schedules: random delays (fractions of an uninterrupted run) with the early fault
    points among them and the late ones at the end."""
    return st.tuples(
        st.lists(st.floats(0.0, spread), min_size=n_random, max_size=n_random),
        st.lists(st.integers(1, 3), min_size=len(EARLY), max_size=len(EARLY)),
        st.integers(1, 2),
    ).map(_schedule)


def _schedule(draw) -> list[dict]:
    delays, counts, snapshot = draw
    kills = [{"after": d} for d in delays]
    for k, (site, n) in enumerate(zip(EARLY, counts, strict=True)):
        kills.insert(1 + 2 * k, {"fault": f"{site}:{n}"})
    return kills + [{"fault": f.format(n=snapshot)} for f in LATE]


def run_harness(model: str, kills: list[dict], work: Path, mode: str = "fork") -> dict:
    spec = work / "spec.json"
    work.mkdir(parents=True, exist_ok=True)
    spec.write_text(json.dumps({"work": str(work / "h"), "mode": mode, "args": MODELS[model],
                                "kills": kills}))  # fmt: skip
    res = subprocess.run([sys.executable, str(HARNESS), str(spec)], capture_output=True,
                         text=True, timeout=900)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def check(report: dict, min_killed: int, model: str = "") -> None:
    """The report's verdict; prints the kills (pytest -s shows them)."""
    assert "error" not in report, report
    killed = [k for k in report["kills"] if k["fate"] == "killed"]
    faults = sorted({k["fault"].rsplit(":", 1)[0] for k in killed if k.get("fault")})
    print(f"\n{model}: {len(killed)} kills "
          f"({len(report['kills'])} attempts; at fault points {', '.join(faults)}), then "
          f"final resume: {report['final'].get('result')}")  # fmt: skip
    assert report["uninterrupted"] == "exit 0" and report["uninterrupted_identical"] is None
    assert len(killed) >= min_killed, report["kills"]
    for k in report["kills"]:
        assert k["fate"] in ("killed", "exit 0"), k  # never an error exit, never a hang
        assert k["result"] in (None, "identical"), k  # never a wrong or partial result.nc
    for site in ("write:checkpoint", "result-snapshot", "write:result"):
        assert any(k.get("fault", "").startswith(site) for k in killed), site
    final = report["final"]
    assert final == {"fate": "exit 0", "result": "identical", "checkpoint_stop": None,
                     "temporaries": 0, "partial_left": False}, final  # fmt: skip


@pytest.mark.parametrize("model", list(MODELS))
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(kills=schedules(n_random=8, spread=0.12))
def test_killed_at_any_moment_resumes_bit_identically(model, kills, tmp_path_factory):
    report = run_harness(model, kills, tmp_path_factory.mktemp(model))
    check(report, min_killed=10, model=model)


@pytest.mark.slow
@pytest.mark.parametrize("model", list(MODELS))
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(kills=schedules(n_random=20, spread=0.08))
def test_killed_at_any_moment_heavy(model, kills, tmp_path_factory):
    report = run_harness(model, kills, tmp_path_factory.mktemp(model))
    check(report, min_killed=20, model=model)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["abm", "invasion-pde"])
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(kills=schedules(n_random=10, spread=1.0))
def test_killed_real_processes(model, kills, tmp_path_factory):
    """The real `oncoscale` executable (delays include its start-up)."""
    report = run_harness(model, kills, tmp_path_factory.mktemp(model), mode="exec")
    check(report, min_killed=10, model=model)
