"""Limit-cycle continuation: systems with closed-form cycles, periods and multipliers, and the
oncolytic ODE against long direct integration."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from oncoscale.errors import InputError
from oncoscale.models.oncolytic.ode import coexistence_state, system_in
from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.numerics.continuation import continue_equilibria
from oncoscale.numerics.periodic_orbits import continue_limit_cycles


def _hopf(rhs, x0, p0, p_min, p_max, jac=None):
    (h,) = continue_equilibria(rhs, x0, p0, p_min, p_max, jac=jac).special("hopf")
    return h


def radial(c3: float, c5: float = 0.0):
    """r' = r(p + c3 r² + c5 r⁴), θ' = 1 (vectorised over columns)."""

    def f(x, p):
        r2 = x[0] ** 2 + x[1] ** 2
        g = p + c3 * r2 + c5 * r2 * r2
        return np.array([g * x[0] - x[1], g * x[1] + x[0]])

    return f


def snic(x, p):
    """r' = r(p − r²), θ' = 1 − r cos θ: Hopf at p = 0, cycle r = √p with period 2π/√(1−p),
    saddle-node on the invariant circle at p = 1."""
    r2 = x[0] ** 2 + x[1] ** 2
    return np.array([x[0] * (p - r2) - x[1] * (1 - x[0]), x[1] * (p - r2) + x[0] * (1 - x[0])])


def twisted(x, p):
    """A cycle (cos t, sin t) for p > −1 (radius √(p+1)) with a transverse plane v that turns by
    half a revolution per period: multipliers 1, e^{−4π(p+1)}, −e^{2πp}, −e^{−2π}; period
    doubling at p = 0."""
    rho = np.sqrt(max(p + 1.0, 1e-300))
    c, s = x[0] / rho, x[1] / rho
    r2 = x[0] ** 2 + x[1] ** 2
    a, b = (p - 1) / 2, (p + 1) / 2
    return np.array(
        [
            (p + 1) * x[0] - x[1] - x[0] * r2,
            x[0] + (p + 1) * x[1] - x[1] * r2,
            (a + b * c) * x[2] + (b * s - 0.5) * x[3],
            (b * s + 0.5) * x[2] + (a - b * c) * x[3],
        ]
    )


# ---------------------------------------------------------------------------------------------
def test_supercritical_hopf_cycles():
    f = radial(-1.0)
    c = continue_limit_cycles(f, _hopf(f, [0.0, 0.0], -0.5, -1.0, 1.0), -1.0, 1.0)
    assert c.points[-1].kind == "endpoint" and c.points[-1].data["reason"] == "p_max"
    assert c.p[-1] == pytest.approx(1.0, abs=1e-12)
    amp = 0.5 * (c.x_max - c.x_min)
    np.testing.assert_allclose(amp[:, 0], np.sqrt(c.p), rtol=1e-8)
    np.testing.assert_allclose(amp[:, 1], np.sqrt(c.p), rtol=1e-8)
    np.testing.assert_allclose(c.period, 2 * np.pi, rtol=1e-10)
    # multipliers: trivial 1 and exp(−4πp) (radial contraction λ = −2p over T = 2π)
    np.testing.assert_allclose(np.abs(c.multipliers[:, 0]), 1.0, atol=1e-8)
    np.testing.assert_allclose(c.multipliers[:, 1].real, np.exp(-4 * np.pi * c.p), atol=1e-8)
    assert np.all(c.stable)
    times, states = c.orbits[-1]
    assert times[0] == 0.0 and times[-1] == pytest.approx(c.period[-1])
    np.testing.assert_allclose(np.hypot(states[:, 0], states[:, 1]), 1.0, rtol=1e-8)


def test_subcritical_hopf_cycles_are_unstable():
    f = radial(1.0)
    c = continue_limit_cycles(f, _hopf(f, [0.0, 0.0], -0.5, -1.0, 1.0), -1.0, 1.0)
    assert c.p[-1] == pytest.approx(-1.0, abs=1e-12)
    np.testing.assert_allclose(0.5 * (c.x_max - c.x_min)[:, 0], np.sqrt(-c.p), rtol=1e-8)
    assert not np.any(c.stable)


@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_stability_of_tiny_cycles(sign):
    """At amplitude 1e-5 the non-trivial multiplier is 1 ∓ 1.3e-9 (at 1e-4: 1 ∓ 1.3e-7): the
    trivial multiplier must be told apart by its eigenvector (the flow direction), not by being
    the one closest to 1."""
    f = radial(sign)
    h = _hopf(f, [0.0, 0.0], -0.5, -1.0, 1.0)
    c = continue_limit_cycles(f, h, -1.0, 1.0, amplitude=1e-5, ds=1e-4, ds_max=1e-4, max_points=3)
    assert np.all(np.abs(np.abs(c.multipliers) - 1) < 1e-5)
    assert np.all(c.stable == (sign < 0))


def test_fold_of_cycles():
    # r' = r(p + r² − r⁴): cycles p = r⁴ − r², fold at r² = 1/2, p = −1/4
    f = radial(1.0, -1.0)
    c = continue_limit_cycles(f, _hopf(f, [0.0, 0.0], -0.5, -1.0, 1.0), -1.0, 1.0)
    (fold,) = c.special("fold_cycle")
    assert fold.param_value == pytest.approx(-0.25, abs=1e-8)
    assert fold.data["located"]
    # small cycles (r² < 1/2) unstable, large ones stable
    r2 = (0.5 * (c.x_max - c.x_min)[:, 0]) ** 2
    assert np.all(c.stable == (r2 > 0.5))


def test_period_blowup_at_snic():
    h = _hopf(snic, [0.0, 0.0], -0.5, -1.0, 2.0)
    c = continue_limit_cycles(snic, h, -1.0, 2.0, period_max_factor=5.0)
    np.testing.assert_allclose(c.period, 2 * np.pi / np.sqrt(1 - c.p), rtol=1e-9)
    (blow,) = c.special("period_blowup")
    assert c.points[-1].data["reason"] == "period_blowup"
    assert 1 - 1 / 25 < blow.param_value < 1.0  # T > 5·2π  <=>  p > 1 − 1/25
    assert blow.data["period"] > 5 * 2 * np.pi


def test_collocation_order():
    """Uniform mesh, degree 4: period error O(h^2m) = O(h^8) (superconvergence), here > 6."""
    h = _hopf(snic, [0.0, 0.0], -0.5, -1.0, 2.0)
    errs = []
    for n in (20, 40):
        c = continue_limit_cycles(snic, h, -1.0, 0.8, n_intervals=n, adapt_mesh=False)
        errs.append(abs(c.period[-1] / (2 * np.pi / np.sqrt(1 - c.p[-1])) - 1))
    assert np.log2(errs[0] / errs[1]) > 6.0
    assert errs[1] < 1e-8


def test_period_doubling_and_multipliers():
    c = continue_limit_cycles(
        twisted, _hopf(twisted, np.zeros(4), -1.5, -2.0, 0.8), -2.0, 0.8, ds_max=0.3
    )
    (pd,) = c.special("period_doubling")
    assert abs(pd.param_value) < 1e-8
    np.testing.assert_allclose(c.period, 2 * np.pi, rtol=1e-10)
    for p, mu in zip(c.p, c.multipliers, strict=True):
        expected = np.sort(
            [1.0, np.exp(-4 * np.pi * (p + 1)), -np.exp(2 * np.pi * p), -np.exp(-2 * np.pi)]
        )
        np.testing.assert_allclose(np.sort(mu.real), expected, atol=1e-7)
    assert np.all(c.stable == (c.p < 0))


# ---------------------------------------------------------------------------------------------
def _oncolytic_cycle(value: float):
    params = OncolyticParameters()
    rhs, jac = system_in(params, "zeta")
    x0 = coexistence_state(params.model_copy(update={"zeta": 0.3}))
    h = _hopf(rhs, x0, 0.3, 0.3, 1.0, jac=jac)
    return rhs, jac, continue_limit_cycles(rhs, h, 0.3, value, jac=jac, param_name="zeta")


def test_oncolytic_cycle_matches_direct_integration():
    value = 0.6
    rhs, jac, c = _oncolytic_cycle(value)
    assert c.p[-1] == pytest.approx(value, rel=1e-12)
    assert c.stable[-1] and c.param_name == "zeta"
    e_star = coexistence_state(OncolyticParameters(zeta=value))

    def f(t, y):
        return rhs(y, value)

    # approach the attracting cycle from E* (60 000 h ≈ 115 periods), then measure tightly
    y_end = solve_ivp(f, (0.0, 6e4), 1.05 * e_star, method="DOP853", rtol=1e-9, atol=1e-9).y[:, -1]
    sol = solve_ivp(f, (0.0, 2.2e3), y_end, method="DOP853", rtol=1e-12, atol=1e-10,
                    dense_output=True)  # fmt: skip

    def g(t):
        return sol.sol(t)[0] - e_star[0]

    ts = np.linspace(0.0, 2.2e3, 2201)
    vals = g(ts)
    up = np.where((vals[:-1] < 0) & (vals[1:] >= 0))[0]
    cross = [brentq(g, ts[i], ts[i + 1], xtol=1e-10) for i in up]
    period = np.diff(cross)
    assert np.ptp(period) < 1e-7 * period[-1]  # converged onto the cycle
    assert c.period[-1] == pytest.approx(period[-1], rel=1e-8)
    y = sol.sol(np.linspace(cross[-2], cross[-1], 40001))
    np.testing.assert_allclose(c.x_min[-1], y.min(axis=1), rtol=1e-6)
    np.testing.assert_allclose(c.x_max[-1], y.max(axis=1), rtol=1e-6)
    # Floquet multipliers against the variational equation over one period
    times, states = c.orbits[-1]
    n = states.shape[1]

    def var(t, w):
        x, phi = w[:n], w[n:].reshape(n, n)
        return np.concatenate([rhs(x, value), (jac(x, value) @ phi).ravel()])

    w0 = np.concatenate([states[0], np.eye(n).ravel()])
    mono = solve_ivp(var, (0, times[-1]), w0, method="DOP853", rtol=1e-12, atol=1e-12).y[n:, -1]
    mu_ref = np.linalg.eigvals(mono.reshape(n, n))
    np.testing.assert_allclose(
        np.sort(np.abs(c.multipliers[-1])), np.sort(np.abs(mu_ref)), rtol=1e-6, atol=1e-9
    )


def test_input_validation_and_json():
    f = radial(-1.0)
    h = _hopf(f, [0.0, 0.0], -0.5, -1.0, 1.0)
    with pytest.raises(InputError, match="degree"):
        continue_limit_cycles(f, h, -1.0, 1.0, degree=0)
    with pytest.raises(InputError, match="hopf"):
        continue_limit_cycles(f, h, 0.5, 1.0)
    fold = continue_equilibria(lambda x, p: np.array([p - x[0] ** 2]), [1.0], 1.0, -1, 2)
    with pytest.raises(InputError, match="hopf"):
        continue_limit_cycles(f, fold.special("fold")[0], -1.0, 1.0)
    c = continue_limit_cycles(f, h, -1.0, 0.2, max_points=10, param_name="mu")
    d = json.loads(json.dumps(c.to_dict()))
    assert d["param"] == "mu" and len(d["period"]) == c.p.size <= 10
    assert d["points"][-1]["type"] == "endpoint"


def test_branch_between_two_hopf_points_ends_at_the_second():
    # r' = r(p(1 − p) − r²): Hopf points at p = 0 and p = 1, cycles r = √(p(1−p)) between them
    def f(x, p):
        g = p * (1 - p) - (x[0] ** 2 + x[1] ** 2)
        return np.array([g * x[0] - x[1], g * x[1] + x[0]])

    eq = continue_equilibria(f, [0.0, 0.0], -0.5, -1.0, 2.0)
    first, second = eq.special("hopf")
    assert second.param_value == pytest.approx(1.0, abs=1e-12)
    c = continue_limit_cycles(f, first, -1.0, 2.0)
    assert not c.special("fold_cycle")
    end = c.points[-1]
    assert end.data["reason"] == "hopf"
    assert end.data["hopf_estimate"] == pytest.approx(1.0, abs=1e-2)
    assert np.all(c.p < 1.0)
    np.testing.assert_allclose(0.5 * (c.x_max - c.x_min)[:, 0], np.sqrt(c.p * (1 - c.p)), rtol=1e-7)
