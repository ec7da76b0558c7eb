"""IBM-vs-PDE comparison (analysis/invasion_compare.py): statistics on known inputs and a tiny
end-to-end run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from oncoscale.analysis.invasion_compare import profile_distances, totals_statistics
from oncoscale.errors import InputError
from oncoscale.workflows.invasion_compare import compare_ibm_pde


def test_totals_statistics_known_values():
    ibm = np.array([[1.0, 2.0], [3.0, 6.0]])
    pde = np.array([2.0, 5.0])
    s = totals_statistics(ibm, pde)
    np.testing.assert_allclose(s["mean"], [2.0, 4.0])
    np.testing.assert_allclose(s["sd"], [np.sqrt(2.0), np.sqrt(8.0)])
    np.testing.assert_allclose(s["rel_diff"], [0.0, -0.2])
    np.testing.assert_allclose(s["z"], [0.0, -1.0 / 2.0])


def test_profile_distances_known_values():
    r = np.linspace(0.1, 5.0, 50)
    pde = np.exp(-r)[None].repeat(3, axis=0)  # 3 snapshots
    same = profile_distances(pde[None].repeat(4, axis=0), pde, r, 2)
    np.testing.assert_allclose(same["mean_vs_pde"], 0.0, atol=1e-15)
    np.testing.assert_allclose(same["spread"], 0.0, atol=1e-15)
    # replicates 1.2 and 1.0 times the PDE: mean 1.1 → distance 0.1, spread 0.1
    ibm = np.stack([1.2 * pde, 1.0 * pde])
    d = profile_distances(ibm, pde, r, 2)
    np.testing.assert_allclose(d["mean_vs_pde"], 0.1, rtol=1e-12)
    np.testing.assert_allclose(d["spread"], 0.1, rtol=1e-12)


def test_compare_end_to_end_tiny(tmp_path):
    summary = compare_ibm_pde(
        "invasion-homogeneous", 2, 0.1, tmp_path, dx=1.0, observe_interval=0.05,
        snapshot_interval=0.05,
    )  # fmt: skip
    for name in ("compare.nc", "compare_summary.json", "compare.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert json.loads((tmp_path / "compare_summary.json").read_text())["runs"] == 2
    import xarray as xr

    ds = xr.open_dataset(tmp_path / "compare.nc")
    # both start from the same total mass (100 cells of 0.05 = PDE mass 5)
    assert float(ds["pde_mass_cells"][0]) == pytest.approx(5.0, rel=1e-12)
    assert float(ds["ibm_mass_cells_mean"][0]) == pytest.approx(5.0, rel=1e-12)
    assert ds.sizes["replicate"] == 2 and ds.sizes["t"] == 3
    # after 0.1 day both grew by the same order of magnitude
    assert 0.5 < summary["totals"]["mass_cells"]["ibm_mean_final"] / 5.0 - 0.0 < 2.0
    assert np.all(np.isfinite(ds["distance_mm"]))


def test_compare_command_routes_the_invasion_family(tmp_path):
    """``oncoscale compare`` finds the invasion comparison through the family registry."""
    from click.testing import CliRunner

    from oncoscale.cli import main

    out = tmp_path / "cmp"
    args = ["compare", "invasion-homogeneous", "--runs", "1", "--t-end", "0.05", "--quiet"]
    args += ["--set", "numerics.dx=2.0", "--set", "output.observe_interval=0.05"]
    res = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "total mass_cells: final relative difference IBM vs PDE" in res.output
    assert (out / "compare_summary.json").exists()
    for extra, msg in [(["--resume"], "'--resume'"), (["--tolerance", "0.1"], "'--tolerance'")]:
        res = CliRunner().invoke(main, [*args, *extra, "--out", str(tmp_path / "x")])
        assert res.exit_code == 2 and msg in res.output, res.output
    res = CliRunner().invoke(main, ["compare", "kinetic-cc-escape", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "no stochastic model" in res.output, res.output
    assert not (tmp_path / "x").exists()


def test_compare_rejects_bad_input(tmp_path):
    with pytest.raises(InputError, match="runs"):
        compare_ibm_pde("invasion-homogeneous", 0, 1.0, tmp_path)
    with pytest.raises(InputError, match="invasion"):
        compare_ibm_pde("oncolytic", 1, 1.0, tmp_path)


def test_particle_mass_limit_study_tiny(tmp_path):
    """Two cell masses, one replicate each, a few steps: per-mass rows, exponents, files."""
    from oncoscale.workflows.invasion_compare import compare_particle_mass_limit

    out = compare_particle_mass_limit(
        "invasion-homogeneous", (0.05, 0.025), 1, 0.04, tmp_path, dx=1.0,
        observe_interval=0.02, snapshot_interval=0.02, figure=False,
    )  # fmt: skip
    assert [row["M_cell"] for row in out["rows"]] == [0.05, 0.025]
    assert set(out["distance_exponent"]) == {"cells", "cells_p", "cells_q", "mm", "o2"}
    assert (tmp_path / "limit_summary.json").exists()
    assert (tmp_path / "M_cell=0.025" / "compare_summary.json").exists()
    with pytest.raises(InputError, match="cell_masses"):
        compare_particle_mass_limit("invasion-homogeneous", (0.05,), 1, 0.1, tmp_path)
