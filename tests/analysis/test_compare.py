"""ABM ensemble vs continuum: the metrics on synthetic data, the pipeline on a small lattice,
and (slow) the seed's agreement (central, zeta = 0.5) and divergence (central, zeta = 5)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from oncoscale.analysis.compare import (
    compare,
    comparison_summary,
    divergence_time,
    first_exceedance,
    outside_band,
    peak_lags,
    relative_difference,
    relative_l2,
)
from oncoscale.errors import InputError
from oncoscale.io.scenario import load_scenario
from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.workflows.oncolytic_compare import execute_compare, split_overrides


def test_relative_difference_and_l2():
    np.testing.assert_allclose(
        relative_difference([110.0, 0.0, 0.0], [100.0, 0.0, 50.0]), [10 / 110, 0.0, -1.0]
    )
    assert relative_difference(0.5, 0.0) == 0.5  # below one cell: absolute difference
    a = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(relative_l2(a, a), [0.0, 0.0])
    np.testing.assert_allclose(relative_l2(a, 0 * a), [1.0, 0.0])
    np.testing.assert_allclose(relative_l2(a[0], 1.1 * a[0]), 0.1 / 1.1)


def test_divergence_is_leaving_the_band_for_good():
    t = np.arange(10.0)
    lo, hi = np.full(10, 100.0), np.full(10, 120.0)
    pde = np.array([110, 110, 200, 110, 110, 110, 110, 300, 400, 500.0])  # blip at t = 2
    out = outside_band(pde, lo, hi, tol=0.05)
    assert out.tolist() == [False] * 2 + [True] + [False] * 4 + [True] * 3
    assert divergence_time(t, out) == 7.0
    assert math.isnan(divergence_time(t, outside_band(np.full(10, 125.0), lo, hi, tol=0.05)))
    assert divergence_time(t, np.ones(10, bool)) == 0.0
    # a band collapsed at 0 (extinct in every run): a PDE below one cell is inside
    assert not outside_band(0.9, 0.0, 0.0)
    assert outside_band(1.1, 0.0, 0.0)


def test_peak_lags_recover_a_known_delay_and_first_exceedance():
    """Damped oscillations, the ABM one delayed by 40 h, plus an extra PDE bump: the lags
    of mutually nearest peaks are the delay (to the 1 h sampling)."""
    t = np.arange(0.0, 1500.0, 1.0)
    pde = 1 + np.exp(-t / 800) * np.sin(2 * np.pi * t / 500)
    abm = 1 + np.exp(-(t - 40) / 800) * np.sin(2 * np.pi * (t - 40) / 500)
    lags = peak_lags(t, abm, pde)
    assert len(lags["pde_h"]) == 3 and all(abs(v - 40) <= 1 for v in lags["lag_h"])
    assert len(lags["lag_h"]) == 3
    rel = relative_difference(pde, abm)
    k = first_exceedance(t, rel, 0.25)
    assert abs(rel[int(k)]) > 0.25 and np.all(np.abs(rel[: int(k)]) <= 0.25)
    assert math.isnan(first_exceedance(t, 0 * t, 0.25))


def _synthetic():
    """An 'ensemble' with sections exp(-x^2)·(1 + t/10) and a radial result of the same
    profile, sampled on r only: the comparison must map r = |x| and find them equal."""
    t = np.array([0.0, 5.0, 10.0])
    x = np.linspace(-3, 3, 61)
    r = np.linspace(0.025, 3.975, 80)
    q = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    prof = np.exp(-(x**2))[None] * (1 + t[:, None] / 10)
    total = 100 * (1 + t)
    ens = xr.Dataset(
        {
            "total_u": (("run", "t_obs"), np.stack([total * 0.9, total * 1.1])),
            "total_u_mean": ("t_obs", total),
            "total_u_quantile": (
                ("quantile", "t_obs"),
                total[None] * (0.9 + 0.05 * np.arange(5))[:, None],
            ),
            "u_section_mean": (("t", "x"), prof),
            "u_section_quantile": (("quantile", "t", "x"), np.stack([prof] * 5)),
        },
        coords={"t": t, "t_obs": t, "x": x, "quantile": q, "run": [0, 1]},
        attrs={"scenario": "synthetic"},
    )
    radial = xr.Dataset(
        {
            "u": (("t", "r"), np.exp(-(r**2))[None] * (1 + t[:, None] / 10)),
            "total_u": ("t_obs", total * np.array([1.0, 1.0, 2.0])),
        },
        coords={"t": t, "t_obs": t, "r": r},
    )
    return ens, radial


def test_compare_maps_radial_profiles_onto_the_section_and_flags_divergence():
    ens, radial = _synthetic()
    cmp = compare(ens, {"pde-radial": radial})
    assert float(cmp["rel_l2_u"].max()) < 2e-3  # linear interpolation error only
    np.testing.assert_allclose(cmp["rel_diff_total_u"].values[0], [0.0, 0.0, 0.5])
    summary = comparison_summary(cmp)
    v = summary["continuum"]["pde-radial"]
    assert v["divergence_time_h"] == 10.0
    assert v["per_time"][-1]["rel_diff_total_u"] == 0.5
    with pytest.raises(InputError, match="continuum"):
        compare(ens, {})


def test_overrides_are_routed_per_model():
    sc = load_scenario("oncolytic-central")
    routed = split_overrides(
        sc, {"zeta": 5, "pde-2d.numerics.rtol": 1e-5, "output.observe_interval": 2}
    )
    assert routed["abm"] == {"zeta": 5, "output.observe_interval": 2}
    assert routed["pde-2d"] == {"zeta": 5, "numerics.rtol": 1e-5, "output.observe_interval": 2}
    assert routed["pde-radial"] == routed["abm"]
    with pytest.raises(InputError, match=r"MODEL\.numerics\.rtol"):
        split_overrides(sc, {"numerics.rtol": 1e-5})


def test_invalid_compare_input_writes_nothing(tmp_path):
    from oncoscale.cli import main

    for args, msg in [
        (["oncolytic-oscillation-p"], "no model 'abm'"),
        (["oncolytic-central", "--set", "numerics.dx=0.2"], "MODEL.numerics"),
        (["oncolytic-central", "--set", "abm.numerics.kernel=gpu"], "numba"),
        (["oncolytic-central", "--runs", "0"], "'--runs'"),
        (["oncolytic-central", "--tolerance", "2"], "'--tolerance'"),
    ]:
        res = CliRunner().invoke(main, ["compare", *args, "--out", str(tmp_path / "x")])
        assert res.exit_code == 2, res.output
        assert msg in res.output
    assert not (tmp_path / "x").exists()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Central injection, zeta = 0.5, on [-3, 3]^2 (61^2 sites) to 60 h, 3 ABM runs."""
    out = tmp_path_factory.mktemp("cmp")
    res = execute_compare(
        load_scenario("oncolytic-central"),
        out,
        3,
        overrides={"L": 3.0, "output.snapshot_interval": 30.0},
        t_end=60.0,
        progress=False,
    )
    return res, xr.open_dataset(res.comparison).load()


def test_small_lattice_abm_mean_totals_agree_with_pde_2d(small):
    """Mean totals of U and I after 60 h within 10 % of the 2D PDE on the same grid, the
    u section within 10 % (relative L2), and no divergence of the uninfected total."""
    res, cmp = small
    k = list(cmp["continuum"].values).index("pde-2d")
    for pop in ("u", "i", "tumour"):
        assert abs(cmp[f"rel_diff_total_{pop}"].values[k, -1]) < 0.10
    assert cmp["rel_l2_u"].values[k, -1] < 0.10
    assert math.isnan(res.summary["continuum"]["pde-2d"]["divergence_time_by_population_h"]["u"])
    assert cmp.sizes["x"] == 61 and cmp["x"].values[0] == -3.0


def test_small_lattice_outputs(small):
    res, _ = small
    summary = json.loads((res.directory / "summary.json").read_text())
    assert set(summary["continuum"]) == {"pde-2d", "pde-radial"}
    assert summary["runs"] == 3
    assert summary["continuum"]["pde-2d"]["per_time"][-1]["t_h"] == 60.0
    names = {p.name for p in res.figures}
    assert {"compare_sections.png", "compare_totals.png", "compare_discrepancy.png"} <= names
    assert "divergence time" in res.report.read_text()
    assert (res.directory / "abm" / "runs" / "run-0002" / "result.nc").exists()
    # the 2D PDE ran on the lattice's own grid
    pde = xr.open_dataset(res.directory / "pde-2d" / "result.nc")
    numerics = json.loads(pde.attrs["numerics"])
    assert numerics["dx"] == 0.1
    assert (numerics["diffusion"], numerics["chemotaxis"]) == ("central", "upwind")
    pde.close()


def _compare_cis(out_dir, runs, t_end, times, overrides=None):
    """``oncoscale compare oncolytic-central`` (ABM ensemble vs pde-2d on the lattice's grid);
    per population and time the relative difference (ABM mean − PDE)/PDE with its 95 %
    confidence interval from the replicates (Student t)."""
    from oncoscale.analysis.compare import mean_difference_ci

    res = execute_compare(
        load_scenario("oncolytic-central"),
        out_dir,
        runs,
        overrides={**(overrides or {}), "output.snapshot_interval": 100.0},
        t_end=t_end,
        progress=False,
    )
    assert res.summary["runs"] == runs
    ens = xr.open_dataset(res.directory / "abm" / "ensemble.nc").load()
    pde = xr.open_dataset(res.directory / "pde-2d" / "result.nc").load()
    t_abm, t_pde = ens["t_obs"].values, pde["t_obs"].values
    out = {}
    for pop in ("u", "i"):
        name = f"total_{pop}"
        for t in times:
            a = ens[name].values[:, int(np.argmin(abs(t_abm - t)))]
            b = float(pde[name].values[int(np.argmin(abs(t_pde - t)))])
            d, lo, hi = out[pop, t] = mean_difference_ci(a, b, 0.95)
            print(
                f"{name} at {t:g} h: {100 * d:+.1f} % (95 % CI {100 * lo:+.1f} … {100 * hi:+.1f} %)"
            )
    return out


@pytest.fixture(scope="module")
def central_500h(tmp_path_factory):
    """Seed Fig. 5 (central injection, zeta = 0.5): 10 ABM runs and the 2D PDE to 500 h."""
    cis = _compare_cis(tmp_path_factory.mktemp("central500"), 10, 500.0, (500.0,))
    return {pop: cis[pop, 500.0] for pop in ("u", "i")}


@pytest.mark.slow
@pytest.mark.parametrize(
    "pop",
    [
        "u",
        pytest.param(
            "i",
            marks=pytest.mark.xfail(
                strict=True,
                reason="demographic noise at K delta^2 = 100 cells per site: the ABM's "
                "infection lags early and the tumour-immune oscillation shifts, so at 500 h "
                "its infected total is above the PDE's; the gap falls with the cells per "
                "site (test below; docs/ensembles.md, 'ABM vs PDE: cells per site')",
            ),
        ),
    ],
)
def test_central_zeta_half_ten_run_mean_total_within_ten_percent_of_pde_2d_at_500h(
    central_500h, pop
):
    """Claim: the 95 % interval of the ABM-vs-PDE difference lies within ±10 %. Holds for the
    uninfected cells; the infected cells miss it (strict xfail: it fails loudly if the gap
    closes, so the claim can then be restored)."""
    d, lo, hi = central_500h[pop]
    assert -0.10 <= lo and hi <= 0.10, (pop, d, lo, hi)


@pytest.mark.slow
def test_central_zeta_five_continuum_infection_recurs_the_abm_one_does_not(tmp_path):
    """Seed Fig. 8: with zeta = 5 the two agree until the infection nearly dies out; then the
    continuum infection recurs and stimulates the immune system again while the ABM's
    infection (a few dozen cells left, extinct on most sites) regrows slowly, so the tumour
    totals part. Measured with 4 runs to 1000 h: |tumour difference| <= 12.4 % up to 500 h,
    PDE total i 4-6 x the ABM mean at 650-750 h, divergence of the tumour total at 614 h
    (seed: ~490 h). The ABM's infected population did not go extinct in any of the 4 runs
    (minimum 30-62 cells around 300-350 h)."""
    res = execute_compare(
        load_scenario("oncolytic-central-enhanced"),
        tmp_path,
        4,
        overrides={"output.snapshot_interval": 100.0},
        t_end=800.0,
        progress=False,
    )
    cmp = xr.open_dataset(res.comparison).load()
    k = list(cmp["continuum"].values).index("pde-2d")
    t = cmp["t_obs"].values
    early = t <= 500
    assert np.abs(cmp["rel_diff_total_tumour"].values[k, early]).max() < 0.15
    at = int(np.searchsorted(t, 700.0))
    assert cmp["pde_total_i"].values[k, at] > 3 * cmp["abm_total_i_mean"].values[at]
    td = res.summary["continuum"]["pde-2d"]["divergence_time_by_population_h"]["tumour"]
    assert 450 < td < 800


@pytest.mark.slow
def test_abm_meets_the_pde_when_sites_hold_sixteen_times_the_cells(tmp_path):
    """The ABM-vs-PDE gap is demographic noise: with 16 times the cells per site
    (OncolyticParameters.cells_scaled, the same PDE in units of K) 6 runs agree with the 2D PDE
    within ±8 % (95 % intervals) for U and I at 200, 300 and 500 h, where at 100 cells per
    site the infected total is 16 % low at 200 h and U 19 % high at 300 h (docs/ensembles.md).
    Power: the same criterion fails for the default population (checked at 200 h below)."""
    scaled = OncolyticParameters(R_i=1.0, zeta=0.5).cells_scaled_changes(16.0)
    cis = _compare_cis(tmp_path / "m16", 6, 500.0, (200.0, 300.0, 500.0), scaled)
    for key, (d, lo, hi) in cis.items():
        assert -0.08 <= lo and hi <= 0.08, (key, d, lo, hi)
    d, lo, hi = _compare_cis(tmp_path / "m1", 6, 200.0, (200.0,))["i", 200.0]
    assert hi < -0.08, ("the default population's infected gap at 200 h", d, lo, hi)
