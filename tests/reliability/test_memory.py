"""The memory guard: every representation estimates its peak memory before it allocates, a
run that cannot fit is refused with one line giving the estimate and the setting to change,
and the estimate is within 25 % of the measured peak (peak_memory.py; the slow table covers
one configuration of each large representation, the quick test one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fuzzing import cli_entry

from oncoscale.errors import InputError
from oncoscale.io.scenario import load_scenario, parse_overrides, resolve
from oncoscale.memory import LIMIT_VARIABLE, MemoryEstimate, memory_limit, require_memory
from oncoscale.run.footprint import run_footprint

HERE = Path(__file__).parent
#: one small configuration of every representation: (scenario, model, --set values)
MODELS = [
    ("oncolytic-central", "ode", []),
    ("oncolytic-central", "pde-radial", ["numerics.dr=0.1"]),
    ("oncolytic-central", "pde-2d", ["L=3", "numerics.dx=0.2"]),
    ("oncolytic-central", "abm", ["L=3"]),
    ("kinetic-pc-oscillation", "pde-1d", []),
    ("kinetic-pc-oscillation", "kinetic-1d", []),
    ("invasion-homogeneous", "pde", ["numerics.dx=1"]),
    ("invasion-homogeneous", "ibm", ["M_MM=1e-2", "M_O2=1e-1"]),
]


def representation(scenario: str, model: str, sets: list[str], t_end: float = 1.0):
    resolved = resolve(load_scenario(scenario), model, parse_overrides(sets), t_end)
    return resolved.representation(), resolved


def test_peak_keeps_one_transient_part():
    e = MemoryEstimate({"state": 10, "operators": 1, "set-up": 30, "step work": 20, "snapshot": 5})
    assert e.peak().parts == {"state": 10, "operators": 1, "set-up": 30}
    assert e.without("state", "snapshot").total == 51
    assert MemoryEstimate({"state": 3}).peak().total == 3


def test_limit_variable_is_checked(monkeypatch):
    monkeypatch.setenv(LIMIT_VARIABLE, "2.5")
    assert memory_limit() == (2.5e9, LIMIT_VARIABLE)
    for bad in ("-1", "0", "nan", "inf", "lots"):
        monkeypatch.setenv(LIMIT_VARIABLE, bad)
        with pytest.raises(InputError, match=LIMIT_VARIABLE):
            memory_limit()
    monkeypatch.delenv(LIMIT_VARIABLE)
    limit, source = memory_limit()
    assert limit > 0 and source in ("MemAvailable", "headroom under the cgroup memory limit")
    with pytest.raises(InputError, match=r"needs about 1e\+06 GB .*reduce it with the knob"):
        require_memory(MemoryEstimate({"state": 1e15}), "this", "the knob")


@pytest.mark.parametrize(("scenario", "model", "sets"), MODELS, ids=[m[1] for m in MODELS])
def test_every_representation_estimates_before_allocating(scenario, model, sets, tmp_path):
    """Positive parts, a state part, and a refusal naming the model's own settings when the
    limit is below the estimate: at construction (the model) or before the run (the plan)."""
    rep, resolved = representation(scenario, model, sets)
    estimate = rep.memory_estimate()
    assert estimate.parts.get("state", 0) > 0
    assert all(v >= 0 for v in estimate.parts.values())
    footprint = run_footprint(rep, resolved.plan(work_dir=Path("work")))
    assert footprint.total >= estimate.peak().total - estimate.parts.get("state", 0)
    cli = ["run", scenario, "--model", model, "--t-end", "1", "--quiet", "--no-figures"]
    cli += [a for s in sets for a in ("--set", s)]
    os.environ[LIMIT_VARIABLE] = f"{0.5 * footprint.total / 1e9:.6g}"
    try:
        out = cli_entry([*cli, "--out", str(tmp_path / "out")])
    finally:
        del os.environ[LIMIT_VARIABLE]
    assert out.status == 2 and out.exception is None, out
    message = out.stderr.strip()
    assert "\n" not in message and "needs about" in message and LIMIT_VARIABLE in message
    assert "reduce it with" in message
    assert not list(tmp_path.rglob("result.nc"))


def test_invasion_3d_with_age_step_equal_to_time_step_is_refused_with_its_size(tmp_path):
    """The issue's example: the 3D invasion PDE at the seed's resolution with Δa = Δt and the
    seed's division window (pr_age_max = 6): the issue guessed ~166 GB; the estimate is the
    age-resolved state, 166 GB, plus a step's field-sized work (the default kernel updates
    the age bins in place)."""
    out = cli_entry(["run", "invasion-3d-seed-resolution", "--model", "pde", "--set",
                     "numerics.da=0.005", "--set", "pr_age_max=6", "--set",
                     "numerics.max_state_gb=1e6", "--quiet", "--no-figures", "--out",
                     str(tmp_path / "out")])  # fmt: skip
    assert out.status == 2 and out.exception is None, out
    message = out.stderr.strip()
    assert "\n" not in message and "needs about" in message and "numerics.da" in message
    gb = float(message.split("needs about ")[1].split(" GB")[0])
    assert 160 < gb < 175, message


def measure(scenario: str, *args: str) -> dict:
    """Run peak_memory.py in a fresh process (the peak only grows)."""
    proc = subprocess.run(
        [sys.executable, str(HERE / "peak_memory.py"), scenario, *args, "--quiet",
         "--no-figures"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_estimate(scenario: str, args: list[str]) -> None:
    got = measure(scenario, *args)
    ratio = got["estimate"] / got["peak"]
    print(f"\n{scenario} {' '.join(args)}: estimated {got['estimate'] / 1e6:.0f} MB, "
          f"measured {got['peak'] / 1e6:.0f} MB (ratio {ratio:.2f}; process before the run "
          f"{got['baseline'] / 1e6:.0f} MB; {got['seconds']:.1f} s)")  # fmt: skip
    assert 0.75 <= ratio <= 1.25, got


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux /proc needed")
def test_ibm_estimate_is_within_a_quarter_of_the_measured_peak():
    check_estimate("invasion-homogeneous", ["--model", "ibm", "--t-end", "0.01", "--set",
                                            "M_MM=1e-5"])  # fmt: skip


TABLE = [
    ("oncolytic-central", ["--model", "pde-2d", "--t-end", "0.05", "--set", "numerics.dx=0.025"]),
    ("oncolytic-central", ["--model", "abm", "--t-end", "0.1", "--set", "L=60"]),
    # every age bin written (unwritten zeros are not resident): t_end > pr_age_max
    ("invasion-homogeneous", ["--model", "pde", "--t-end", "2.2", "--set", "numerics.dx=0.04",
                              "--set", "numerics.da=0.1", "--set", "pr_age_max=2"]),
    ("oncolytic-central", ["--model", "pde-radial", "--t-end", "0.05", "--set",
                           "numerics.dr=0.0002"]),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux /proc needed")
@pytest.mark.parametrize(
    ("scenario", "args"), TABLE, ids=["pde-2d", "abm", "invasion-pde", "pde-radial"]
)
def test_estimate_is_within_a_quarter_of_the_measured_peak(scenario, args):
    check_estimate(scenario, args)
