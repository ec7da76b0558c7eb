"""Calibration: data files validated with clear errors; maximum likelihood recovers the
parameters that made synthetic ODE data (true values inside the profile-likelihood 95 %
intervals); ABC-SMC does too; the CLI writes calibration.json with estimate / interval95."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest

from oncoscale.errors import InputError
from oncoscale.io.observations import read_observations, write_observations
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.workflows.studies.calibration import execute_calibration, synthetic_observations

ODE = {"output.observe_interval": 10.0, "output.snapshot_interval": 600.0}
TIMES = list(range(50, 601, 50))
UNITS = "# units: time = h, u = cells/mm^2\n"


def ode(**over):
    return resolve(load_scenario("oncolytic-central"), "ode", {**ODE, **over}, t_end=600.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,value\n1,2\n", "required: time, observable, value"),
        (
            "# units: time = h, u = cells/mm^2\ntime,observable,value,sd\n1,u,2,-1\n",
            "line 3: sd = -1",
        ),
        (
            "# units: time = h, u = cells/mm^2\ntime,observable,value\n1,u,abc\n",
            "value = 'abc' is not a number",
        ),
        ("time,observable,value\n1,u,2\n", "no units for time, u"),
        (
            "# units: time = h, u = cells/mm^2\ntime,observable,value\n-1,u,2\n",
            "time = -1; allowed: >= 0",
        ),
    ],
)
def test_bad_data_files_get_clear_errors(tmp_path, text, message):
    path = tmp_path / "d.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_observations(path)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("row", "units", "message"),
    [
        ("1,total_tumor,5", "total_tumor = cells/mm^2", "unknown observable 'total_tumor'"),
        ("900,total_tumour,5", "total_tumour = cells/mm^2", "after the end of the run (600)"),
        ("1,total_tumour,5", "total_tumour = cells", "the model gives it in"),
    ],
)
def test_data_must_fit_the_model(tmp_path, row, units, message):
    path = tmp_path / "d.csv"
    path.write_text(f"# units: time = h, {units}\ntime,observable,value\n{row}\n")
    with pytest.raises(InputError) as err:
        execute_calibration(ode(), path, ["zeta=0.1:2:log"], tmp_path / "out", progress=False)
    assert message in str(err.value)
    assert not (tmp_path / "out" / "calibration.json").exists()


def test_units_sidecar_and_round_trip(tmp_path):
    obs = synthetic_observations(ode(), ["total_tumour"], [100, 200], seed=1)
    path = write_observations(obs, tmp_path / "d.csv")
    back = read_observations(path)
    assert back.units["total_tumour"] == "cells/mm^2" and back.has_sd
    plain = tmp_path / "e.csv"
    plain.write_text("time,observable,value\n100,u,5\n")
    (tmp_path / "e.units.json").write_text('{"time": "h", "u": "cells/mm^2"}')
    assert read_observations(plain).units["u"] == "cells/mm^2"


def test_mle_recovers_the_true_parameters(tmp_path):
    truth = ode()
    obs = synthetic_observations(truth, ["total_tumour", "z"], TIMES, rel_sd=0.1, seed=4)
    out = execute_calibration(
        ode(),
        obs,
        ["beta=0.03:0.3:log", "zeta=0.1:2:log"],
        tmp_path,
        starts=2,
        progress=False,
        truth={"beta": truth.params.beta, "zeta": truth.params.zeta},
    )
    res = json.loads(out.json.read_text())
    assert res["truth_inside_interval95"] == {"beta": True, "zeta": True}
    for name, (lo, hi) in res["interval95"].items():
        assert lo < res["estimate"][name] < hi and hi / lo < 1.5  # informative
    assert (tmp_path / "best" / "result.nc").exists() and (
        tmp_path / "best" / "report.html"
    ).exists()
    assert (tmp_path / "figures" / "profiles.png").exists()


@pytest.mark.slow
def test_abc_smc_posterior_contains_the_truth(tmp_path):
    truth = ode()
    obs = synthetic_observations(truth, ["total_tumour"], TIMES, rel_sd=0.1, seed=5)
    out = execute_calibration(
        ode(),
        obs,
        ["zeta=0.05:5:log"],
        tmp_path,
        method="abc",
        population=60,
        generations=4,
        progress=False,
        truth={"zeta": 0.5},
    )
    res = out.result
    assert res["truth_inside_interval95"] == {"zeta": True}
    lo, hi = res["interval95"]["zeta"]
    assert hi / lo < 5  # the prior spans a factor 100
    eps = [g["epsilon"] for g in res["generations"]]
    assert eps[0] == float("inf") and all(a > b for a, b in itertools.pairwise(eps[1:]))
    assert (tmp_path / "figures" / "posterior.png").exists()


def test_cli_calibrate_writes_estimate_and_interval(tmp_path):
    obs = synthetic_observations(ode(), ["total_tumour"], TIMES[::3], rel_sd=0.1, seed=6)
    data = write_observations(obs, tmp_path / "d.csv")
    cmd = [
        sys.executable,
        "-m",
        "oncoscale",
        "calibrate",
        "oncolytic-central",
        "--model",
        "ode",
        "--data",
        str(data),
        "--param",
        "zeta=0.1:2:log",
        "--starts",
        "1",
        "--t-end",
        "600",
        "--set",
        "output.observe_interval=10",
        "--out",
        str(tmp_path / "o"),
        "--json",
        str(tmp_path / "c.json"),
        "--quiet",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    res = json.loads((tmp_path / "c.json").read_text())
    assert set(res["estimate"]) == {"zeta"} and len(res["interval95"]["zeta"]) == 2
    k = cmd.index("zeta=0.1:2:log")
    bad = subprocess.run([*cmd[:k], "zeta=0:2:log", *cmd[k + 1 :]], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: invalid range for 'zeta': 0:2:log; allowed: LO > 0 on a log scale"
    ]
