"""Results other tools read correctly: every result.nc (each family and representation),
ensemble.nc and study.nc passes the IOOS compliance-checker's CF tests with no high- or
medium-priority failure; time is in the family's own unit everywhere; counts are integers;
deterministic runs carry no seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from compliance_checker.runner import CheckSuite

from oncoscale.analysis.summary import summarise
from oncoscale.atomic import atomic_json
from oncoscale.io.results import (
    CONVENTIONS,
    build_dataset,
    open_result,
    record_nbytes,
    write_result,
)
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.run.runner import run
from oncoscale.workflows.ensemble import execute_ensemble
from oncoscale.workflows.pipeline import execute_run, execute_study, simulate

CF_TEST = "cf:" + CONVENTIONS.removeprefix("CF-")
INVASION_COARSE = {"M_MM": 0.01, "M_O2": 0.2, "M_MDE": 0.05}

#: (label, scenario, model, overrides, t_end, time unit of the family)
RUNS = [
    ("oncolytic-ode", "oncolytic-central", "ode", {}, 20.0, "h"),
    ("oncolytic-radial", "oncolytic-central", "pde-radial", {"numerics.dr": 0.1}, 20.0, "h"),
    ("oncolytic-planar", "oncolytic-central", "pde-1d", {"numerics.dr": 0.1}, 20.0, "h"),
    ("oncolytic-2d", "oncolytic-central", "pde-2d", {"numerics.dx": 0.5}, 5.0, "h"),
    (
        "oncolytic-abm",
        "oncolytic-delayed-boost",
        "abm",
        {"L": 1.0, "R_u": 0.6, "R_i": 0.3},
        1.0,
        "h",
    ),
    ("kinetic-ode", "kinetic-pc-window", "ode", {}, 2.0, "1"),
    ("kinetic-pde-1d", "kinetic-cc-escape", "pde-1d", {}, 0.5, "1"),
    ("kinetic-pde-2d", "kinetic-cc-escape", "pde-2d", {"numerics.dx": 0.125}, 0.2, "1"),
    ("kinetic-1d", "kinetic-cc-escape", "kinetic-1d", {"numerics.dx": 0.05}, 0.05, "1"),
    ("invasion-ibm-2d", "invasion-homogeneous", "ibm", INVASION_COARSE, 0.05, "day"),
    (
        "invasion-ibm-3d",
        "invasion-homogeneous",
        "ibm",
        {**INVASION_COARSE, "numerics.dim": 3, "numerics.dx": 1.0},
        0.02,
        "day",
    ),
    ("invasion-pde-2d", "invasion-homogeneous", "pde", {"numerics.dx": 0.5}, 0.1, "day"),
    (
        "invasion-pde-3d",
        "invasion-homogeneous",
        "pde",
        {"numerics.dim": 3, "numerics.dx": 1.0},
        0.02,
        "day",
    ),
]


def cf_failures(path: Path) -> list[str]:
    """High- and medium-priority failures of the CF test (and checker errors)."""
    suite = CheckSuite()
    suite.load_all_available_checkers()
    ds = suite.load_dataset(str(path))
    ((name, (groups, errors)),) = suite.run_all(ds, [CF_TEST], skip_checks=[]).items()
    report = suite.build_structure(name, groups, str(path), limit=1)
    failed = [
        f"{r.name}: {m}"
        for r in report["all_priorities"]
        if r.weight >= 2 and r.value[0] < r.value[1]
        for m in r.msgs
    ]
    return failed + [f"checker error: {e}" for e in errors]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("cf")
    out = {}
    for label, scenario, model, overrides, t_end, _ in RUNS:
        resolved = resolve(load_scenario(scenario), model, overrides, t_end, seed=1)
        out[label] = execute_run(resolved, root / label, progress=False, figures=False).directory
    return out


@pytest.mark.parametrize("label", [r[0] for r in RUNS])
def test_result_passes_the_cf_checker(results, label):
    path = results[label] / "result.nc"
    assert cf_failures(path) == []
    ds = open_result(path)
    assert ds.attrs["Conventions"] == CONVENTIONS and ds.attrs["history"]
    for name, var in ds.variables.items():
        assert var.attrs.get("long_name"), name
        if name in ds.coords:
            assert "_FillValue" not in var.encoding or var.encoding["_FillValue"] is None, name


@pytest.mark.parametrize(("label", "unit"), [(r[0], r[5]) for r in RUNS])
def test_time_is_in_the_family_unit_everywhere(results, label, unit):
    ds = open_result(results[label] / "result.nc")
    for name in ("t", "t_obs", "event_time"):
        assert ds[name].attrs["units"] == unit, name
    summary = json.loads((results[label] / "summary.json").read_text())
    assert summary["time_units"] == unit and not any(k.endswith("_h") for k in summary)
    if "particle_age" in ds:
        assert ds["particle_age"].attrs["units"] == unit
        assert ds["particle_count"].attrs["sample_dimension"] == "particle"


@pytest.mark.parametrize("label", [r[0] for r in RUNS])
def test_summary_of_the_kept_result_is_the_summary_of_the_file(results, label, tmp_path):
    """execute_run summarises the result it kept in memory, not the file read back: the two
    must be the same result (values, attributes, particles) and give the same summary."""
    ds = open_result(results[label] / "result.nc")
    atomic_json(summarise(ds), tmp_path / "from_file.json")
    assert (tmp_path / "from_file.json").read_text() == (
        results[label] / "summary.json"
    ).read_text()


def test_the_file_written_like_the_kept_result_is_identical_to_it(tmp_path):
    """write_result(like=build_dataset(...)) writes exactly that Dataset: values, dtypes,
    attributes of every variable and global attributes (a particle model, a field model)."""
    for scenario, model, overrides, t_end in (
        ("invasion-homogeneous", "ibm", INVASION_COARSE, 0.05),
        ("oncolytic-central", "pde-radial", {"numerics.dr": 0.1}, 20.0),
    ):
        resolved = resolve(load_scenario(scenario), model, overrides, t_end, seed=1)
        rep = resolved.representation()
        record = run(rep, resolved.plan(progress=False), rng=np.random.default_rng(1))
        meta = {"scenario": scenario, "seed": 1, "command": "test"}
        kept = build_dataset(rep, record, meta)
        write_result(rep, record, meta, tmp_path / f"{model}.nc", like=kept)
        xr.testing.assert_identical(kept, open_result(tmp_path / f"{model}.nc"))
        assert record_nbytes(record) > 0


def test_a_run_with_figures_writes_its_result_beside_them(tmp_path):
    """With figures, result.nc is written by a child process while the figures are drawn
    (where it can fork): the file is complete and is what the summary and figures saw."""
    resolved = resolve(load_scenario("oncolytic-central"), "abm",
                       {"L": 1.0, "R_u": 0.6, "R_i": 0.3}, 2.0, seed=3)  # fmt: skip
    out = execute_run(resolved, tmp_path / "run", progress=False, figures=True)
    assert {p.name for p in out.figures} >= {"totals.png", "movie.mp4"}
    assert sorted(p.name for p in out.directory.iterdir()) == [
        "figures", "report.html", "result.nc", "summary.json"
    ]  # fmt: skip
    ds = open_result(out.result)
    assert cf_failures(out.result) == []
    atomic_json(summarise(ds), tmp_path / "from_file.json")
    assert (tmp_path / "from_file.json").read_text() == (out.directory / "summary.json").read_text()
    simulated = simulate(resolved)
    for name in ("u", "i", "z", "phi", "total_tumour"):
        np.testing.assert_array_equal(ds[name].values, simulated[name].values)


def test_counts_are_integers_and_only_stochastic_runs_have_a_seed(results):
    abm = json.loads((results["oncolytic-abm"] / "summary.json").read_text())
    assert isinstance(abm["final"]["total_tumour"], int) and abm["seed"] == 1
    ibm = json.loads((results["invasion-ibm-2d"] / "summary.json").read_text())
    assert isinstance(ibm["final"]["n_p"], int)
    for label in ("oncolytic-radial", "kinetic-pde-1d", "invasion-pde-2d"):
        summary = json.loads((results[label] / "summary.json").read_text())
        assert "seed" not in summary
        assert "seed" not in open_result(results[label] / "result.nc").attrs


def test_ensemble_and_study_files_pass_the_cf_checker(tmp_path):
    abm = resolve(
        load_scenario("oncolytic-delayed-boost"),
        "abm",
        {"L": 1.0, "R_u": 0.6, "R_i": 0.3},
        t_end=1.0,
        seed=2,
    )
    ens = execute_ensemble(abm, tmp_path / "ens", 3, progress=False, figures=False)
    assert cf_failures(ens.ensemble) == []
    study = resolve(
        load_scenario("oncolytic-threshold-injection"), None, {"numerics.dr": 0.1}, t_end=30.0
    )
    out = execute_study(study, tmp_path / "study", progress=False)
    assert cf_failures(out.result) == []
