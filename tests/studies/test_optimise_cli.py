"""Protocol optimisation and the study verbs on the command line: the optimum of a scheduled
injection time is found and its run kept; bad ranges exit with status 2 and one line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.workflows.pipeline import simulate
from oncoscale.workflows.studies.optimisation import execute_optimisation

OVER = {"output.observe_interval": 5.0, "output.snapshot_interval": 1500.0}


def test_optimum_of_the_second_injection_time(tmp_path):
    resolved = resolve(load_scenario("oncolytic-second-injection"), "ode", OVER, t_end=1500.0)
    out = execute_optimisation(
        resolved,
        ["protocol.0.time=100:1400"],
        "tumour_burden.integral_cells_h",
        tmp_path,
        screen=6,
        max_evaluations=20,
        progress=False,
    )
    res = out.result
    best_t = res["optimum"]["protocol.0.time"]
    # a brute-force scan of the same objective: the optimiser is at least as good
    from oncoscale.workflows.studies.space import with_values

    scan = [
        float(np.trapezoid(ds["total_tumour"].values, ds["t_obs"].values))
        for ds in (
            simulate(with_values(resolved, {"protocol.0.time": t}))
            for t in np.linspace(100, 1400, 14)
        )
    ]
    assert res["objective_at_optimum"] <= min(scan) * (1 + 1e-6)
    assert 100 <= best_t <= 1400
    assert (tmp_path / "optimum" / "result.nc").exists()
    assert (tmp_path / "optimum" / "report.html").exists()
    assert json.loads((tmp_path / "optimisation.json").read_text())["evaluations"] <= 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "optimise",
                "oncolytic-second-injection",
                "--protocol-param",
                "zeta=1:2",
                "--objective",
                "total_tumour",
            ],
            "expected protocol.K.FIELD=LO:HI",
        ),
        (
            [
                "optimise",
                "oncolytic-second-injection",
                "--protocol-param",
                "protocol.0.fraction=0.1:2",
                "--objective",
                "total_tumour",
            ],
            "invalid value for 'protocol.0.fraction'",
        ),
        (
            [
                "sensitivity",
                "oncolytic-central",
                "--model",
                "ode",
                "--param",
                "zeta=1:0.5",
                "--qoi",
                "total_tumour",
                "--samples",
                "8",
            ],
            "invalid range for 'zeta': 1:0.5",
        ),
        (
            [
                "sensitivity",
                "oncolytic-central",
                "--model",
                "ode",
                "--param",
                "zeta=0.1:1",
                "--qoi",
                "total_tumour",
                "--samples",
                "100",
            ],
            "a power of 2",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    proc = subprocess.run(
        [sys.executable, "-m", "oncoscale", *args, "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "o").exists()


def test_cli_morris_on_the_ode(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "oncoscale",
            "sensitivity",
            "oncolytic-central",
            "--model",
            "ode",
            "--t-end",
            "300",
            "--set",
            "output.observe_interval=10",
            "--param",
            "zeta=0.1:2:log",
            "--param",
            "beta=0.05:0.2",
            "--param",
            "ode_radius=1:9",
            "--qoi",
            "total_tumour",
            "--method",
            "morris",
            "--samples",
            "4",
            "--out",
            str(tmp_path / "m"),
            "--json",
            str(tmp_path / "m.json"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    res = json.loads((tmp_path / "m.json").read_text())
    assert set(res) >= {"mu_star", "sigma"} and res["runs"] == 16
    assert (tmp_path / "m" / "figures" / "morris-total_tumour.png").exists()
    assert res["mu_star"]["total_tumour"]["zeta"] > 0
