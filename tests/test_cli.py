"""The oncoscale command: list, run (files written, errors leave nothing), resume."""

import json

import pytest
import xarray as xr
from click.testing import CliRunner

from oncoscale.cli import main


def test_list_shows_every_scenario_on_one_line():
    res = CliRunner().invoke(main, ["list"])
    assert res.exit_code == 0
    lines = res.output.strip().splitlines()
    assert any(line.startswith("oncolytic-central ") for line in lines)
    assert len(lines) >= 12


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nope"], "unknown scenario 'nope'"),
        (["run", "oncolytic-central", "--set", "p=-1"], "invalid value for 'p'"),
        (["run", "oncolytic-central", "--set", "numerics.rtol=5"], "'rtol'"),
        (
            ["run", "oncolytic-central", "--set", "numerics.solver=rk4"],
            "'rk4'; allowed: imex, ark3-fixed, imex-euler, euler",
        ),
        (["run", "oncolytic-central", "--model", "pde-3d"], "invalid model 'pde-3d'"),
        (["run", "oncolytic-central", "--t-end", "0"], "--t-end"),
        (
            [
                "run",
                "oncolytic-central",
                "--set",
                "numerics.solver=euler",
                "--set",
                "numerics.dt=0.1",
            ],
            "unstable",
        ),
    ],
)
def test_invalid_input_exits_nonzero_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert res.exit_code == 2
    assert message in res.output
    assert not out.exists()


def test_run_writes_result_summary_figures_report(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(
        main,
        [
            "run",
            "oncolytic-central",
            "--t-end",
            "40",
            "--set",
            "numerics.dr=0.05",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    ds = xr.open_dataset(out / "result.nc")
    assert {"u", "i", "z", "phi", "total_tumour", "front_u", "event_kind"} <= set(ds.variables)
    assert ds["u"].dims == ("t", "r") and ds["r"].attrs["units"] == "mm"
    assert ds.attrs["scenario"] == "oncolytic-central" and ds.attrs["model"] == "pde-radial"
    assert json.loads(ds.attrs["parameters"])["R_i"] == 1.0
    ds.close()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["final"]["total_tumour"] > 0
    assert (out / "report.html").read_text().count("<img") >= 4
    assert not (out / ".partial").exists()


def test_figures_redraws_a_run_made_without_figures(tmp_path):
    out = tmp_path / "run"
    args = ["run", "oncolytic-central", "--t-end", "20", "--set", "numerics.dr=0.1"]
    res = CliRunner().invoke(main, [*args, "--no-figures", "--quiet", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert not (out / "report.html").exists() and not (out / "figures").exists()
    res = CliRunner().invoke(main, ["figures", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "report.html").read_text().count("<img") >= 4
    assert "numerics.dr" in (out / "report.html").read_text()  # re-resolved with the overrides
    res = CliRunner().invoke(main, ["figures", str(tmp_path)])
    assert res.exit_code == 2 and "holds no result.nc" in res.output, res.output
