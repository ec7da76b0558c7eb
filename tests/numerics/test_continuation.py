"""Equilibrium continuation: normal forms with known bifurcations, and the oncolytic ODE."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from scipy.optimize import brentq

from oncoscale.errors import InputError
from oncoscale.models.oncolytic.ode import coexistence_state, system_in
from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.numerics.continuation import (
    continue_equilibria,
    equilibrium_stability,
    first_lyapunov_coefficient,
)


def hopf_normal_form(sign: float, a: float = 0.0, rot: float = 0.0, shift=(0.0, 0.0)):
    """Hopf normal form r' = r(p + s r² + a r⁴), θ' = 1 in Cartesian coordinates, rotated by
    ``rot`` and translated by ``shift`` (a ≠ 0 with s = 0: the degenerate, Bautin-type case)."""
    c, s_ = np.cos(rot), np.sin(rot)
    rmat = np.array([[c, -s_], [s_, c]])
    shift = np.asarray(shift, dtype=float)

    def f(x, p):
        xi = rmat.T @ (x - shift)
        r2 = xi @ xi
        g = np.array([p * xi[0] - xi[1], xi[0] + p * xi[1]]) + (sign * r2 + a * r2 * r2) * xi
        return rmat @ g

    return f


# ---------------------------------------------------------------------------------------------
# normal forms
# ---------------------------------------------------------------------------------------------
def test_fold_normal_form():
    b = continue_equilibria(lambda x, p: np.array([p - x[0] ** 2]), [1.0], 1.0, -1.0, 2.0)
    folds = b.special("fold")
    assert len(folds) == 1
    assert abs(folds[0].param_value) < 1e-12
    assert abs(folds[0].state[0]) < 1e-9
    assert not b.special("branch_point") and not b.special("hopf")
    # branch points satisfy x² = p; the upper half is stable, the lower unstable
    np.testing.assert_allclose(b.x[:, 0] ** 2, b.p, atol=1e-12)
    assert np.all(b.stable == (b.x[:, 0] > 0))
    ends = b.special("endpoint")
    assert [e.data["reason"] for e in ends] == ["p_max", "p_max"]
    assert sorted(e.state[0] for e in ends) == pytest.approx([-np.sqrt(2), np.sqrt(2)], abs=1e-12)


def test_transcritical_branch_point_not_fold():
    # x' = (p − 0.3) x − x², y' = x − y: branches x = 0 and x = p − 0.3 cross at p = 0.3
    def f(x, p):
        return np.array([(p - 0.3) * x[0] - x[0] ** 2, x[0] - x[1]])

    b = continue_equilibria(f, [0.0, 0.0], -1.0, -1.0, 1.0)
    bps = b.special("branch_point")
    assert len(bps) == 1 and not b.special("fold")
    assert bps[0].param_value == pytest.approx(0.3, abs=1e-12)
    assert np.all(b.stable[b.p < 0.3 - 1e-9]) and not np.any(b.stable[b.p > 0.3 + 1e-9])


def test_transcritical_on_the_oblique_branch():
    # start on the nontrivial branch x = p − 0.3 (not aligned with the axes); same crossing
    def f(x, p):
        return np.array([(p - 0.3) * x[0] - x[0] ** 2, x[0] - x[1]])

    b = continue_equilibria(f, [0.5, 0.5], 0.8, -1.0, 1.0, direction="backward")
    bps = b.special("branch_point")
    assert len(bps) == 1
    assert bps[0].param_value == pytest.approx(0.3, abs=1e-10)


@pytest.mark.parametrize("sign", [-1.0, 1.0])
def test_hopf_normal_form_location_and_l1(sign):
    f = hopf_normal_form(sign, rot=0.7, shift=(1.5, -0.5))
    b = continue_equilibria(f, [1.5, -0.5], -0.5, -1.0, 1.0)
    hopf = b.special("hopf")
    assert len(hopf) == 1
    h = hopf[0]
    assert abs(h.param_value) < 1e-12
    np.testing.assert_allclose(h.state, [1.5, -0.5], atol=1e-12)
    assert h.data["omega"] == pytest.approx(1.0, rel=1e-12)
    assert h.data["period"] == pytest.approx(2 * np.pi, rel=1e-12)
    # Kuznetsov normalisation <q,q> = 1: l1 = 2s for r' = r(p + s r²) (derivation in the
    # docstring of first_lyapunov_coefficient)
    assert h.data["l1"] == pytest.approx(2 * sign, rel=1e-8)
    assert h.data["criticality"] == ("supercritical" if sign < 0 else "subcritical")
    assert np.all(b.stable == (b.p < 0))


def test_l1_without_jacobian_matches():
    f = hopf_normal_form(-1.0, rot=0.3)
    assert first_lyapunov_coefficient(f, np.zeros(2), 0.0) == pytest.approx(-2.0, rel=1e-6)


def test_bautin_degenerate_and_small_l1():
    # r' = r(p + s r² − r⁴): l1 = 2s; s = 0 is degenerate (Bautin point)
    f0 = hopf_normal_form(0.0, a=-1.0)
    b = continue_equilibria(f0, [0.0, 0.0], -0.5, -1.0, 1.0)
    (h,) = b.special("hopf")
    assert h.data["criticality"] == "degenerate"
    assert abs(h.data["l1"]) < 1e-8
    f1 = hopf_normal_form(0.05, a=-1.0)
    (h1,) = continue_equilibria(f1, [0.0, 0.0], -0.5, -1.0, 1.0).special("hopf")
    assert h1.data["l1"] == pytest.approx(0.1, rel=1e-7)
    assert h1.data["criticality"] == "subcritical"


def test_neutral_saddle_is_not_hopf():
    # x' = p x + y, y' = 2x − y: real eigenvalues; trace p − 1 vanishes at p = 1
    def f(x, p):
        return np.array([p * x[0] + x[1], 2 * x[0] - x[1]])

    b = continue_equilibria(f, [0.0, 0.0], 0.0, 0.0, 2.0)
    assert not b.special("hopf")
    (ns,) = b.special("neutral_saddle")
    assert ns.param_value == pytest.approx(1.0, abs=1e-12)
    assert ns.data["lambda"] == pytest.approx(np.sqrt(3.0), rel=1e-10)


def test_badly_scaled_fold():
    # state of size 1e5, parameter of size 1e-3: fold at P = 0, X = 0
    def f(x, p):
        return np.array([p / 1e-3 - (x[0] / 1e5) ** 2])

    b = continue_equilibria(f, [1e5], 1e-3, -1e-3, 2e-3, x_scale=1e5)
    (fold,) = b.special("fold")
    assert abs(fold.param_value) < 1e-14
    assert 20 < b.p.size < 500
    np.testing.assert_allclose((b.x[:, 0] / 1e5) ** 2, b.p / 1e-3, atol=1e-11)


def test_equilibrium_stability_sorting():
    eig, stable = equilibrium_stability(np.diag([-3.0, 1.0, -2.0]))
    np.testing.assert_allclose(eig.real, [1.0, -2.0, -3.0])
    assert not stable
    assert equilibrium_stability(np.array([[-1.0, 5.0], [-5.0, -1.0]]))[1]


def test_input_validation():
    def f(x, p):
        return np.array([p - x[0] ** 2])

    with pytest.raises(InputError, match="p_max"):
        continue_equilibria(f, [1.0], 1.0, 2.0, 1.0)
    with pytest.raises(InputError, match="direction"):
        continue_equilibria(f, [1.0], 1.0, 0.0, 2.0, direction="up")
    with pytest.raises(InputError, match="p0"):
        continue_equilibria(f, [1.0], 3.0, 0.0, 2.0)
    with pytest.raises(InputError, match="x0"):
        continue_equilibria(f, [1.0], -0.5, -1.0, 2.0)  # no equilibrium at p < 0


def test_to_dict_is_json():
    f = hopf_normal_form(-1.0)
    b = continue_equilibria(f, [0.0, 0.0], -0.5, -1.0, 1.0, param_name="mu")
    d = json.loads(json.dumps(b.to_dict()))
    assert d["param"] == "mu" and len(d["p"]) == b.p.size
    types = [pt["type"] for pt in d["points"]]
    assert types == ["endpoint", "hopf", "endpoint"]
    assert d["points"][1]["criticality"] == "supercritical"
    assert d["points"][1]["param"] == "mu"


# ---------------------------------------------------------------------------------------------
# oncolytic ODE
# ---------------------------------------------------------------------------------------------
ONCOLYTIC_CASES = [("alpha", 1e-4, 1e-2), ("zeta", 0.05, 2.0), ("beta", 0.03, 0.5)]


def _brute_force_hopf(params, name, lo, hi):
    """Hopf value by root finding on max Re λ of the closed-form E*, and the period there."""
    _, jac = system_in(params, name)

    def growth(v):
        e_star = coexistence_state(params.model_copy(update={name: v}))
        return float(np.max(np.linalg.eigvals(jac(e_star, v)).real))

    grid = np.linspace(lo, hi, 400)
    vals = [growth(v) for v in grid]
    k = next(k for k in range(len(grid) - 1) if vals[k] * vals[k + 1] < 0)
    v_h = brentq(growth, grid[k], grid[k + 1], xtol=1e-16, rtol=1e-15)
    e_star = coexistence_state(params.model_copy(update={name: v_h}))
    omega = np.max(np.abs(np.linalg.eigvals(jac(e_star, v_h)).imag))
    return v_h, 2 * np.pi / omega


@pytest.mark.parametrize("name,lo,hi", ONCOLYTIC_CASES)
def test_oncolytic_hopf_and_branch(name, lo, hi):
    params = OncolyticParameters()
    rhs, jac = system_in(params, name)
    x0 = coexistence_state(params.model_copy(update={name: lo}))
    t0 = time.perf_counter()
    b = continue_equilibria(rhs, x0, lo, lo, hi, jac=jac, param_name=name)
    elapsed = time.perf_counter() - t0
    assert elapsed < 3.0
    # the continued branch is the closed-form E*
    exact = np.array([coexistence_state(params.model_copy(update={name: v})) for v in b.p])
    assert np.max(np.abs(b.x - exact) / np.abs(exact)) < 1e-8
    assert b.p[0] == pytest.approx(lo, rel=1e-14) and b.p[-1] == pytest.approx(hi, rel=1e-14)
    (hopf,) = b.special("hopf")
    v_ref, period_ref = _brute_force_hopf(params, name, lo, hi)
    assert hopf.param_value == pytest.approx(v_ref, rel=1e-10)
    assert hopf.data["period"] == pytest.approx(period_ref, rel=1e-8)
    assert hopf.data["criticality"] == "supercritical"
    assert hopf.data["l1"] < 0 and abs(hopf.data["l1"]) > 100 * hopf.data["l1_error"]
    # l1 independent of how the derivatives are obtained (user Jacobian vs nested differences)
    l1_fd = first_lyapunov_coefficient(rhs, hopf.state, hopf.param_value)
    assert l1_fd == pytest.approx(hopf.data["l1"], rel=1e-4)
    assert not b.special("fold") and not b.special("branch_point")
    # stable exactly on one side of the Hopf point
    before = b.p < hopf.param_value
    assert np.all(b.stable[before] == b.stable[before][0])
    assert np.all(b.stable[~before] != b.stable[before][0])


def test_oncolytic_transcritical_between_e1_and_e_star():
    """In beta, E* crosses E1 (i* = 0): both branches report the same branch point."""
    base = OncolyticParameters()
    params = base.model_copy(update={"alpha": base.ode_alpha})
    beta_x = brentq(
        lambda v: coexistence_state(params.model_copy(update={"beta": v}))[1],
        0.005,
        0.02,
        xtol=1e-16,
        rtol=1e-15,
    )
    rhs, jac = system_in(params, "beta")
    e1 = np.array([params.K - params.zeta * params.S0 / (params.p * params.q_z), 0.0,
                   params.S0 / params.q_z])  # fmt: skip
    for x0 in (e1, coexistence_state(params.model_copy(update={"beta": 0.01}))):
        b = continue_equilibria(rhs, x0, 0.01, 0.0, 0.2, jac=jac, param_name="beta")
        (bp,) = b.special("branch_point")
        assert bp.param_value == pytest.approx(beta_x, rel=1e-10)
        assert bp.data["located"]
        np.testing.assert_allclose(bp.state, e1, rtol=1e-9, atol=1e-9 * params.K)


def test_bogdanov_takens_unfolding_fold_and_hopf():
    """x' = y, y' = b1 + b2 x + x² − x y at b2 = −1, continued in b1: equilibria (x, 0) with
    x² − x + b1 = 0 fold at b1 = 1/4 (x = 1/2); the branch x = (1 − √(1 − 4 b1))/2 has a Hopf
    point where the trace −x vanishes: b1 = 0, ω = √(−b2) = 1."""

    def f(x, p):
        return np.array([x[1], p - x[0] + x[0] ** 2 - x[0] * x[1]])

    def jac(x, p):
        return np.array([[0.0, 1.0], [-1.0 + 2 * x[0] - x[1], -x[0]]])

    b = continue_equilibria(f, [-0.2, 0.0], -0.24, -0.5, 0.5, jac=jac, dfdp=lambda x, p: [0, 1])
    (fold,) = b.special("fold")
    assert fold.param_value == pytest.approx(0.25, abs=1e-12)
    np.testing.assert_allclose(fold.state, [0.5, 0.0], atol=1e-7)
    (hopf,) = b.special("hopf")
    assert abs(hopf.param_value) < 1e-12
    assert hopf.data["omega"] == pytest.approx(1.0, rel=1e-12)
    # Guckenheimer–Holmes (3.4.11) in u = x, v = −y: g = −u² − uv, 16a = −g_uv g_uu = −2, and
    # l1 = 2a in the normalisation <q, q> = 1 (see the normal-form test): l1 = −1/4
    assert hopf.data["l1"] == pytest.approx(-0.25, rel=1e-8)
    assert first_lyapunov_coefficient(f, hopf.state, 0.0) == pytest.approx(-0.25, rel=1e-6)
    # the other half of the branch (x > 1/2) is a saddle with trace −x < 0: nothing else
    assert [pt.kind for pt in b.points] == ["endpoint", "hopf", "fold", "endpoint"]
