"""The invasion IBM through the scenario runner and the CLI: results layout, summary, figures,
``--dim`` and seeds."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

from oncoscale.cli import main
from oncoscale.io.results import open_result
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.workflows.pipeline import execute_run

COARSE = {"M_MM": 0.01, "M_O2": 0.2, "M_MDE": 0.05}


def test_ibm_run_writes_fields_particles_summary_and_figures(tmp_path):
    sc = load_scenario("invasion-heterogeneous")
    overrides = {**COARSE, "output.snapshot_interval": 0.05, "output.observe_interval": 0.05}
    resolved = resolve(sc, "ibm", overrides, t_end=0.1, seed=3)
    result = execute_run(resolved, tmp_path, progress=False)
    ds = open_result(result.result)
    assert ds.attrs["model"] == "ibm"
    assert ds["cells_p"].dims == ("t", "phenotype", "x", "y")
    assert ds["cells_p"].shape == (3, 5, 80, 80)
    for name in ("mm", "mde", "o2", "cells_q"):
        assert name in ds and float(ds[name].min()) >= 0
    # particle snapshots: one block per snapshot time, cells only
    counts = ds["particle_count"].values
    assert counts.size == 3 and counts[0] == 100  # cell_mass0 / M_cell = 5 / 0.05
    assert set(np.unique(ds["particle_compartment"].values)) <= {0, 1, 2}
    # observables: binned masses equal particle counts × mass
    m = ds["mass_p"].values + ds["mass_q"].values
    n = ds["n_p"].values + ds["n_q"].values
    np.testing.assert_allclose(m, n * 0.05, rtol=1e-12)
    summary = json.loads((tmp_path / "summary.json").read_text())
    inv = summary["invasion"]
    assert len(inv["t"]) == 3 and len(inv["phenotype_fraction"][0]) == 5
    assert inv["phenotype_fraction"][0][0] == 1.0
    assert (tmp_path / "figures" / "snapshots.png").exists()
    assert (tmp_path / "figures" / "measures.png").exists()


def test_cli_dim_option_sets_numerics_dim(tmp_path):
    out = tmp_path / "run3d"
    args = ["run", "invasion-homogeneous", "--dim", "3", "--t-end", "0.02", "--seed", "1",
            "--out", str(out), "--quiet", "--no-figures", "--set", "numerics.dx=1.0"]  # fmt: skip
    for k, v in {**COARSE, "M_MM": 0.1, "M_O2": 1.0}.items():
        args += ["--set", f"{k}={v}"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    ds = open_result(out / "result.nc")
    assert json.loads(ds.attrs["numerics"])["dim"] == 3
    assert ds["cells_p"].dims == ("t", "phenotype", "x", "y", "z")
    bad = CliRunner().invoke(main, ["run", "invasion-homogeneous", "--dim", "4"])
    assert bad.exit_code != 0 and "4" in bad.output


def test_same_seed_same_result(tmp_path):
    sc = load_scenario("invasion-homogeneous")
    overrides = {**COARSE, "output.snapshot_interval": 0.05}
    a = execute_run(resolve(sc, "ibm", overrides, 0.1, 5), tmp_path / "a", progress=False,
                    figures=False)  # fmt: skip
    b = execute_run(resolve(sc, "ibm", overrides, 0.1, 5), tmp_path / "b", progress=False,
                    figures=False)  # fmt: skip
    da, db = open_result(a.result), open_result(b.result)
    for name in ("particle_x", "particle_age", "o2", "mass_mm"):
        np.testing.assert_array_equal(da[name].values, db[name].values)


class _Interrupt(Exception):
    pass


def test_killed_ibm_run_resumes_to_the_identical_result(tmp_path):
    """The state carries its random stream: a run killed after a checkpoint and resumed gives
    exactly the uninterrupted run's records."""
    from oncoscale.models.invasion.ibm import InvasionIBM
    from oncoscale.models.invasion.params import InvasionParameters
    from oncoscale.run.runner import RunPlan, run

    params = InvasionParameters(**COARSE)
    plan = RunPlan(t_end=0.1, observe_interval=0.01, snapshot_interval=0.05, progress=False,
                   work_dir=tmp_path / "work", checkpoint_every=1e-9)  # fmt: skip
    full_plan = replace(plan, work_dir=tmp_path / "full")
    full = run(InvasionIBM(params, {}), full_plan, rng=np.random.default_rng(7))

    class Dying(InvasionIBM):
        calls = 0

        def advance(self, state, t0, t1):
            Dying.calls += 1
            if Dying.calls == 6:
                raise _Interrupt
            return super().advance(state, t0, t1)

    with pytest.raises(_Interrupt):
        run(Dying(params, {}), plan, rng=np.random.default_rng(7))
    resumed = run(InvasionIBM(params, {}), plan, rng=np.random.default_rng(999), resume=True)
    assert resumed.resumed_from is not None and 0 < resumed.resumed_from < 0.1
    for name in full.observables:
        np.testing.assert_array_equal(resumed.observables[name], full.observables[name])
    for a, b in zip(resumed.particles, full.particles, strict=True):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    np.testing.assert_array_equal(resumed.snapshots["o2"][-1], full.snapshots["o2"][-1])
