"""ABC-SMC on the lattice ABM (small lattice, short horizon), from the prior and started from
the radial PDE's posterior (multi-fidelity): the true (β, ζ) inside the 95 % intervals for a
few synthetic data sets; the PDE start spends fewer ABM runs. Slow (minutes)."""

from __future__ import annotations

import pytest

from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.workflows.studies.calibration import execute_calibration, synthetic_observations

ABM = {
    "L": 2.0,
    "R_u": 1.2,
    "R_i": 0.6,
    "output.observe_interval": 10.0,
    "output.snapshot_interval": 100.0,
}
TRUTH = {"beta": 0.102, "zeta": 0.5}
PARAMS = ["beta=0.03:0.3:log", "zeta=0.1:2.5:log"]


@pytest.mark.slow
@pytest.mark.parametrize("data_seed", [21, 22, 23])
def test_abm_abc_recovers_beta_and_zeta(tmp_path, data_seed):
    abm = resolve(load_scenario("oncolytic-central"), "abm", ABM, t_end=100.0, seed=1)
    times = [12.5 * k for k in range(1, 9)]
    obs = synthetic_observations(
        abm, ["total_tumour", "total_z"], times, rel_sd=0.05, replicates=2, seed=data_seed
    )
    prior = execute_calibration(
        abm,
        obs,
        PARAMS,
        tmp_path / "prior",
        method="abc",
        population=40,
        generations=4,
        truth=TRUTH,
        figures=False,
        progress=False,
    ).result
    assert all(prior["truth_inside_interval95"].values()), prior["interval95"]
    target = prior["generations"][-1]["max_distance"]
    mf = execute_calibration(
        abm,
        obs,
        PARAMS,
        tmp_path / "mf",
        method="abc",
        population=40,
        generations=4,
        prefit_model="pde-radial",
        target_epsilon=target,
        truth=TRUTH,
        figures=False,
        progress=False,
    ).result
    assert all(mf["truth_inside_interval95"].values()), mf["interval95"]
    assert mf["generations"][-1]["max_distance"] <= target  # equal posterior quality
    assert mf["runs"] < prior["runs"]
