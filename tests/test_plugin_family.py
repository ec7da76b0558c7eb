"""A fourth family that lives only in tests/plugin_family registers itself through an entry
point, without any file under src/oncoscale naming it; list, run (both models), bifurcation,
figures and the report then work for it, in its own time unit (days)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from oncoscale.io.results import open_result

PLUGIN = Path(__file__).parent / "plugin_family"
SRC = Path(__file__).parents[1] / "src" / "oncoscale"


def oncoscale(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(PLUGIN), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "oncoscale", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_no_core_file_names_the_plugin_family():
    names = [p for p in SRC.rglob("*") if p.is_file() and p.suffix in (".py", ".toml", ".html")]
    assert names
    assert not [p for p in names if "logistic" in p.read_text(encoding="utf-8").lower()]


@pytest.fixture(scope="module")
def pde_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("plugin")
    res = oncoscale("run", "logistic-growth", "--quiet", "--out", "pde", cwd=cwd)
    assert res.returncode == 0, res.stderr
    return cwd / "pde"


def test_list_shows_the_plugin_scenario_in_days(tmp_path):
    res = oncoscale("list", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    line = next(x for x in res.stdout.splitlines() if x.startswith("logistic-growth"))
    assert "pde-1d, ode; 20 day" in line
    assert "oncolytic-central" in res.stdout  # the shipped families are still there


def test_pde_run_writes_result_summary_figure_and_report(pde_run):
    ds = open_result(pde_run / "result.nc")
    assert ds.attrs["family"] == "logistic" and ds.attrs["model"] == "pde-1d"
    assert ds["t_obs"].attrs["units"] == "day" and "seed" not in ds.attrs
    summary = json.loads((pde_run / "summary.json").read_text())
    assert summary["time_units"] == "day" and summary["t_end"] == 20.0
    # the family's own key numbers: the front runs at Fisher's speed 2 sqrt(D (r - h))
    fisher = summary["logistic"]["theory"]["fisher_speed_mm_per_day"]
    assert fisher == pytest.approx(2 * math.sqrt(0.01 * 0.4))
    assert summary["logistic"]["front_speed_mm_per_day"] == pytest.approx(fisher, rel=0.1)
    assert (pde_run / "figures" / "logistic.png").stat().st_size > 10_000
    assert "logistic.png" in (pde_run / "report.html").read_text()


def test_figures_redraws_the_plugin_run(pde_run):
    (pde_run / "figures" / "logistic.png").unlink()
    res = oncoscale("figures", str(pde_run), cwd=pde_run.parent)
    assert res.returncode == 0, res.stderr
    assert (pde_run / "figures" / "logistic.png").exists()


def test_ode_run_matches_the_closed_form(tmp_path):
    res = oncoscale(
        "run", "logistic-growth", "--model", "ode", "--quiet", "--out", "ode", cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    ds = open_result(tmp_path / "ode" / "result.nc")
    t, u = ds["t_obs"].values, ds["u"].values
    g, cap = 0.5 - 0.1, 100.0 * 0.4 / 0.5
    exact = cap / (1 + (cap / 5.0 - 1) * np.exp(-g * t))
    np.testing.assert_allclose(u, exact, rtol=1e-12)


def test_bifurcation_finds_the_transcritical_point_at_h_equal_r(tmp_path):
    res = oncoscale(
        "bifurcation", "logistic-growth", "--param", "h", "--from", "0", "--to", "1",
        "--json", "d.json", "--out", "bif", cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    points = json.loads((tmp_path / "d.json").read_text())["points"]
    crossings = [p["value"] for p in points if p["type"] == "branch_point"]
    assert crossings and crossings[0] == pytest.approx(0.5, abs=1e-6)
    assert (tmp_path / "bif" / "report.html").exists()


def test_a_bad_value_for_the_plugin_family_is_a_clear_error(tmp_path):
    res = oncoscale("run", "logistic-growth", "--set", "r=-1", "--out", "x", cwd=tmp_path)
    assert res.returncode == 2
    assert "invalid value for 'r'" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "x").exists()
