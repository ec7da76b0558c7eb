"""Scenario files declare studies: `oncoscale run FILE` runs a declared sensitivity study,
`oncoscale study` a grid design; malformed study tables are rejected on load."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from oncoscale.errors import InputError
from oncoscale.io.results import open_result
from oncoscale.io.scenario import parse_scenario

BASE = """
name = "ode-study"
family = "oncolytic"
title = "declared study"
models = ["ode", "pde-radial"]
default_model = "pde-radial"
t_end = 300.0

[output]
observe_interval = 10.0
snapshot_interval = 300.0
"""

SENS = """
[study]
kind = "sensitivity"
model = "ode"
method = "morris"
parameters = ["zeta=0.1:2:log", "beta=0.05:0.2"]
qois = ["total_tumour", "eradication.nadir"]
samples = 4
"""


def oncoscale(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "oncoscale", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_run_executes_a_declared_sensitivity_study(tmp_path):
    (tmp_path / "s.toml").write_text(BASE + SENS)
    proc = oncoscale("run", "s.toml", "--out", "o", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    res = json.loads((tmp_path / "o" / "sensitivity.json").read_text())
    assert res["model"] == "ode" and res["runs"] == 12
    assert set(res["mu_star"]) == {"total_tumour", "eradication.nadir"}


def test_study_verb_runs_a_grid_design(tmp_path):
    (tmp_path / "s.toml").write_text(BASE)
    proc = oncoscale(
        "study",
        "s.toml",
        "--model",
        "ode",
        "--param",
        "zeta=0.1:2:log",
        "--param",
        "beta=0.05:0.2",
        "--qoi",
        "total_tumour@150",
        "--design",
        "grid",
        "--levels",
        "3",
        "--out",
        "g",
        "--quiet",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    ds = open_result(tmp_path / "g" / "study.nc")
    assert ds.sizes["point"] == 9 and sorted(set(ds["zeta"].values.round(6))) == [
        0.1,
        0.447214,
        2.0,
    ]
    assert (tmp_path / "g" / "figures" / "design-total_tumour_150.png").exists()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (SENS.replace("zeta=0.1:2:log", "zeta=2:0.1"), "invalid range for 'zeta'"),
        (SENS.replace('model = "ode"', 'model = "abm"'), "study model 'abm' is not in models"),
        (SENS.replace("samples = 4", "samples = 0"), "entry 'study.sensitivity.samples'"),
    ],
)
def test_malformed_declared_studies_are_rejected(table, message):
    with pytest.raises(InputError) as err:
        parse_scenario(BASE + table)
    assert message in str(err.value)


def test_keep_runs_writes_each_point_as_a_normal_run(tmp_path):
    (tmp_path / "s.toml").write_text(BASE)
    proc = oncoscale(
        "study",
        "s.toml",
        "--model",
        "ode",
        "--param",
        "zeta=0.1:2:log",
        "--qoi",
        "total_tumour",
        "--design",
        "lhs",
        "--samples",
        "3",
        "--keep-runs",
        "--out",
        "k",
        "--quiet",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    ds = open_result(tmp_path / "k" / "study.nc")
    for i in range(3):
        run = open_result(tmp_path / "k" / "runs" / f"point-{i:05d}" / "result.nc")
        assert f"'zeta': {float(ds['zeta'].values[i])!r}" in run.attrs["scenario_resolved"]
        assert float(run["total_tumour"][-1]) == ds["qoi_total_tumour"].values[i, 0]
