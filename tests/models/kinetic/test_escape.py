"""Escape is an outcome: every kinetic representation stops at the documented threshold
(escape_density) through the general ``stop_when`` protocol kind, and says so."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from oncoscale.cli import main
from oncoscale.errors import InputError
from oncoscale.io.results import open_result
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.models.kinetic.ode_model import KineticODE
from oncoscale.models.kinetic.params import named
from oncoscale.run.protocols import StopWhen, parse_event
from oncoscale.run.runner import RunPlan, run
from oncoscale.workflows.pipeline import execute_run

ESCAPE = {"kind": "stop_when", "observable": "max_n1", "threshold_parameter": "escape_density",
          "outcome": "escape"}  # fmt: skip


@pytest.mark.parametrize("model", ["ode", "pde-1d", "kinetic-1d"])
def test_every_representation_stops_at_the_escape_threshold(model, tmp_path):
    resolved = resolve(load_scenario("kinetic-cc-escape"), model, {"output.observe_interval": 0.5})
    out = execute_run(resolved, tmp_path, progress=False, figures=False)
    summary = out.summary
    assert summary["outcome"].startswith("escape at t = ")
    with open_result(out.result) as ds:
        t_stop = float(ds["t_obs"].values[-1])
        assert 5.0 < t_stop < resolved.t_end  # stopped early, at an observation time
        assert float(ds["t"].values[-1]) == t_stop  # the last snapshot is the stop
        max_n1 = ds["max_n1"].values
        assert max_n1[-1] >= 1e6 > max_n1[-2]
        assert list(ds["event_action"].values) == ["stop"]


def test_escape_density_inf_lets_the_run_go_on(tmp_path):
    resolved = resolve(load_scenario("kinetic-cc-escape"), "ode", {"escape_density": np.inf}, 30.0)
    out = execute_run(resolved, tmp_path, progress=False, figures=False)
    assert "outcome" not in out.summary and out.summary["t_end"] == 30.0
    assert out.summary["final"]["max_n1"] > 1e6


def test_stop_when_is_general_and_validated():
    rep = KineticODE(named("kinetic-cc-escape"))
    obs = set(rep.observables(rep.initial_state()))
    fixed = StopWhen(observable="n1", threshold=1.0, outcome="doubling")
    record = run(rep, RunPlan(t_end=20.0, observe_interval=0.5, snapshot_interval=5.0,
                              events=(fixed,), progress=False))  # fmt: skip
    assert record.obs_times[-1] < 20.0 and record.events[0].details["outcome"] == "doubling"
    with pytest.raises(InputError, match="exactly one of 'threshold'"):
        StopWhen(observable="n1").check(rep, obs)
    with pytest.raises(InputError, match="unknown observable 'nl'"):
        StopWhen(observable="nl", threshold=1.0).check(rep, obs)
    with pytest.raises(InputError, match="unknown parameter 'escape'"):
        parse_event({**ESCAPE, "threshold_parameter": "escape"}).check(rep, obs)


def test_run_command_says_escape_and_draws_readable_figures(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", "kinetic-cc-escape", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["outcome"].startswith("escape at t = ")
    assert "escape at t = " in (out / "report.html").read_text()
    assert (out / "figures" / "totals.png").exists()
