"""Kinetic → macroscopic limit: linear O(ε²) + the scheme's O(εh), cross and self O(ε); the
self scaling is measured against its true limit (self-limit) with the model gap to the slides'
self-diffusion system; the ``oncoscale limit`` command."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.integrate import solve_ivp

from oncoscale.analysis.limit import distances, fit_slope
from oncoscale.cli import main
from oncoscale.errors import InputError
from oncoscale.models.kinetic.kinetic import Kinetic1D
from oncoscale.models.kinetic.params import named
from oncoscale.workflows.limit import limit_study

EPS = [0.2, 0.1, 0.05, 0.025]
QUICK = {"kinetic_numerics": {"dt": 0.005}, "pde_numerics": {"dx": 1 / 50, "rtol": 1e-8}}


def test_fit_slope_and_distances():
    eps = np.array(EPS)
    assert fit_slope(eps, 3.0 * eps**1.5) == pytest.approx(1.5, abs=1e-12)
    assert np.isnan(fit_slope([0.1], [1.0]))
    ref = {k: np.ones(4) for k in ("n1", "n2", "n3")}
    kin = {**ref, "n1": np.full(4, 1.3)}
    l1, l2, per = distances(kin, ref, 0.25)
    assert l1 == pytest.approx(0.1)
    assert l2 == pytest.approx(0.3 / np.sqrt(3))
    assert per == pytest.approx({"n1": 0.3, "n2": 0.0, "n3": 0.0})


def test_limit_input_validation():
    p = named("kinetic-cc-escape")
    with pytest.raises(InputError, match="--eps"):
        limit_study(p, "linear", [0.1], 1.0)
    with pytest.raises(InputError, match="--eps"):
        limit_study(p, "linear", [0.1, 2.0], 1.0)
    with pytest.raises(InputError, match="--regime"):
        limit_study(p, "fast", EPS, 1.0)
    with pytest.raises(InputError, match="reduction"):
        limit_study(p, "self", EPS, 1.0)  # self needs the PC case


def test_cross_error_to_the_pde_falls_with_eps():
    """Quick grid (50 cells, t = 2). Cross is O(ε) (the immune split lags its slaved value by
    O(ε)); measured slope ≈ 0.8 on ε = 0.2 … 0.025 (pre-asymptotic)."""
    r = limit_study(named("kinetic-cc-eradication", seed_amplitude=0.5), "cross", EPS, 2.0, **QUICK)
    assert np.all(np.diff(r.error) < 0), r.error
    assert r.slope >= 0.7, r
    assert r.floor < r.error[-1] / 5  # the solvers agree well below the modelling error
    assert r.slope_to_kinetic_limit >= 0.7


def _eps_fit(nx: int) -> tuple[float, float]:
    """(a, b) of the least-squares fit error ≈ a ε + b ε² (relative residuals), linear regime,
    cc-eradication (seed 0.5), t = 2, kinetic Δt = 5e-4 (extrapolated: floor ~2e-8)."""
    eps = np.array([0.05, 0.025, 0.0125, 0.00625])
    r = limit_study(named("kinetic-cc-eradication", seed_amplitude=0.5), "linear", eps, 2.0,
                    kinetic_numerics={"dt": 5e-4},
                    pde_numerics={"dx": 1 / nx, "rtol": 1e-10})  # fmt: skip
    err = np.array(r.error)
    assert r.floor < err[-1] / 100
    a, b = np.linalg.lstsq(np.column_stack([eps, eps**2]) / err[:, None], np.ones(4), rcond=None)[0]
    return a, b


def test_linear_limit_is_second_order_in_eps_plus_the_schemes_eps_h_term():
    """What the docs claim: the continuous linear-diffusion limit is O(ε²) (the O(ε) flux
    correction vanishes because the odd velocity moments do); the first-order upwind transport
    of g adds an O(ε h) term. So error ≈ a ε + b ε² with a ∝ h and b independent of h.
    Measured (25, 50, 100 cells): a = 5.4e-3, 3.1e-3, 1.6e-3; b = 1.59e-2, 1.47e-2, 1.64e-2."""
    a25, b25 = _eps_fit(25)
    a50, b50 = _eps_fit(50)
    assert a25 > 0 and a50 > 0 and b25 > 0 and b50 > 0
    assert 0.4 < a50 / a25 < 0.65  # ∝ h (theory 0.5)
    assert 0.8 < b50 / b25 < 1.25  # the ε² coefficient does not depend on h


def test_self_regime_converges_to_self_limit_at_order_one_with_a_model_gap_to_the_slides():
    """Self scaling, measured against the self-limit PDE (the ε → 0 limit): local slopes
    1.11, 1.06, 1.04 on ε = 0.02 … 0.0025 (order 1: the slaving n3 = φ(n2) lags by O(ε));
    the distance to the slides' self PDE stays at the PDE–PDE gap (2.7 %): a model gap."""
    p = named("kinetic-pc-tumour-free", reduction="self", seed_amplitude=2.0)
    eps = [0.02, 0.01, 0.005, 0.0025]
    r = limit_study(p, "self", eps, 2.0, kinetic_numerics={"dt": 0.001},
                    pde_numerics={"dx": 1 / 50, "rtol": 1e-10})  # fmt: skip
    assert r.reference == "self-limit" and r.slides == "self"
    local = np.log2(np.array(r.error[:-1]) / np.array(r.error[1:]))
    assert np.all((local > 0.9) & (local < 1.3)) and local[-1] < local[0], local
    assert r.floor < r.error[-1] / 20
    assert r.slides_gap_of_limit > 100 * r.error[-1]
    np.testing.assert_allclose(r.gap_to_slides, r.slides_gap_of_limit, rtol=0.02)


def test_self_regime_without_the_slides_closure_reports_why():
    p = named("kinetic-pc-tumour-free", reduction="self", b22=0.3)
    r = limit_study(p, "self", [0.2, 0.1], 0.5, **QUICK)
    assert r.gap_to_slides == [] and "b22" in r.slides_note
    assert np.all(np.isfinite(r.error))


def _n2_slow_pde(p, n0, nx, t_end):
    """Method of lines (3-point zero-flux Laplacian, LSODA) for the consistent self limit:
    ∂t n1 = D1Δn1 + R1, ∂t n2 = D2Δn2 + R2 with n3 = φ(n2) = b22 n2²/(d35 n5 − b32 n2)."""
    h = p.length / nx

    def lap(u):
        up = np.concatenate([u[:1], u, u[-1:]])
        return (up[2:] - 2 * u + up[:-2]) / h**2

    def phi(n2):
        return p.b22 * n2**2 / (p.d35 * p.n5 - p.b32 * n2)

    def rhs(t, y):
        n1, n2 = y[:nx], y[nx:]
        n3 = phi(n2)
        r1 = n1 * (-p.d12 * n2 + p.b13 * n3 + p.b14 * p.n4)
        r2 = -p.d21 * n1 * n2 + p.a35 * p.n5 * n3 - p.kappa2 * (n2 - p.n2_star)
        return np.concatenate([p.D1 * lap(n1) + r1, p.D2 * lap(n2) + r2])

    y0 = np.concatenate([n0[0], n0[1]])
    sol = solve_ivp(rhs, (0, t_end), y0, method="LSODA", rtol=1e-10, atol=1e-12)
    n1, n2 = sol.y[:nx, -1], sol.y[nx:, -1]
    return np.stack([n1, n2, phi(n2)])


def test_self_regime_converges_to_an_independent_n2_slow_pde():
    """The independent reference: the kinetic self-scaling densities converge to the n2-slow
    system solved by the method of lines (LSODA) on the same grid: measured 8.1e-3, 2.9e-3,
    1.1e-3, 4.7e-4 (slope 1.37 on these ε), 1.8e-5 at ε = 1e-6."""
    p = named("kinetic-pc-tumour-free", reduction="self", seed_amplitude=2.0)
    nx, t_end = 50, 2.0
    n0 = Kinetic1D(p, {"dx": 1 / nx}).initial_state().densities()
    assert np.allclose(n0[2], p.b22 * n0[1] ** 2 / (p.d35 * p.n5 - p.b32 * n0[1]))  # on φ
    ref = _n2_slow_pde(p, n0, nx, t_end)
    err = []
    for eps in [*EPS, 1e-6]:
        num = {"dx": 1 / nx, "dt": 0.005, "time_extrapolation": True}
        rep = Kinetic1D(p.updated(epsilon=eps), num)
        n = rep.advance(rep.solver.state_from_densities(n0), 0.0, t_end).densities()
        err.append(np.abs(n - ref).sum() / np.abs(ref).sum())
    assert np.all(np.diff(err) < 0) and fit_slope(EPS, err[:4]) >= 0.9, err
    assert err[-1] < 1e-4


@pytest.fixture
def scenario_file(tmp_path):
    text = """
name = "kinetic-limit-test"
family = "kinetic"
title = "limit test"
models = ["pde-1d", "kinetic-1d"]
default_model = "pde-1d"
t_end = 1.0

[parameters]
case = "cc"
d12 = 2.0
d21 = 2.0
seed_amplitude = 0.5

[numerics.kinetic-1d]
dt = 0.01

[numerics.pde-1d]
dx = 0.04
"""
    path = tmp_path / "sc.toml"
    path.write_text(text)
    return path


def test_limit_command_writes_json_figures_and_report(scenario_file, tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main,
        ["limit", str(scenario_file), "--regime", "cross", "--eps", "0.2,0.1,0.05",
         "--pde-set", "rtol=1e-7", "--json", str(tmp_path / "lim.json"), "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "lim.json").read_text())
    assert data["regime"] == "cross" and data["eps"] == [0.2, 0.1, 0.05]
    assert len(data["error"]) == 3 and data["error"][0] > data["error"][-1]
    assert data["slope"] == pytest.approx(fit_slope(data["eps"], data["error"]))
    for name in ("report.html", "error.png", "profiles.png", "limit.json"):
        assert (out / name).exists()
    assert "slope (L1)" in res.output
    assert data["pde_numerics"]["rtol"] == 1e-7


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--eps", "0.1,x"], "--eps"), (["--eps", "0.1"], "--eps"), (["--eps", "0.2,0.1", "--regime",
      "self"], "reduction"), (["--regime", "fast"], "--regime")],
)  # fmt: skip
def test_limit_command_rejects_bad_input(scenario_file, args, message):
    base = ["limit", str(scenario_file)]
    if "--regime" not in args:
        base += ["--regime", "linear"]
    res = CliRunner().invoke(main, base + args)
    assert res.exit_code == 2
    assert message in res.output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "regime", "amplitude", "t_end"),
    [("kinetic-cc-escape", "linear", 1.0, 5.0), ("kinetic-cc-escape", "cross", 0.1, 10.0),
     ("kinetic-pc-tumour-free", "linear", 2.0, 10.0)],
)  # fmt: skip
def test_limit_default_grid(name, regime, amplitude, t_end):
    """Default grid (100 cells), dt = 0.002 (extrapolated). Measured slopes: 1.58, 0.76, 1.72.
    (t_end = 5 where the adaptive PDE solver stops with a step-size underflow near t = 9.5.)"""
    r = limit_study(
        named(name, seed_amplitude=amplitude), regime, EPS, t_end,
        kinetic_numerics={"dt": 0.002}, pde_numerics={"rtol": 1e-7},
    )  # fmt: skip
    assert np.all(np.diff(r.error) < 0) and r.slope >= 0.7, r


@pytest.mark.slow
@pytest.mark.parametrize(("name", "regime"), [("kinetic-cc-eradication", "cross"),
                                              ("kinetic-pc-tumour-free", "linear")])  # fmt: skip
def test_limit_2d(name, regime):
    """2D, 32², 16 directions, t = 5. Measured slopes: cross 1.13, linear 1.44."""
    r = limit_study(
        named(name, seed_amplitude=0.5 if regime == "cross" else 2.0), regime, EPS, 5.0, dim=2,
        kinetic_numerics={"dt": 0.01}, pde_numerics={"dx": 1 / 32, "rtol": 1e-7},
    )  # fmt: skip
    assert np.all(np.diff(r.error) < 0) and r.slope >= 0.9, r
