"""Homogeneous ODE: closed-form equilibria, their eigenvalues, the u* correction."""

import numpy as np
import pytest

from oncoscale.models.oncolytic import ode
from oncoscale.models.oncolytic.ode_model import OncolyticODE
from oncoscale.models.oncolytic.params import OncolyticParameters


@pytest.mark.parametrize("zeta", [0.5, 5.0])
@pytest.mark.parametrize("alpha", [None, 1e-3, 1e-2])
def test_closed_form_equilibria_are_zeros(zeta, alpha):
    p = OncolyticParameters(zeta=zeta, alpha=alpha)
    for eq in ode.equilibria(p):
        scale = np.abs(eq.state).max()
        assert np.abs(ode.rhs(eq.state, p)).max() < 1e-12 * scale * p.p * 100, eq.name


def test_seed_printed_u_star_is_not_an_equilibrium():
    """The seed prints u* = qK/β + ζz*; the spec corrects it to (qK + ζz*)/β."""
    p = OncolyticParameters()
    u, i, z = ode.coexistence_state(p)
    printed = np.array([p.q * p.K / p.beta + p.zeta * z, i, z])
    assert np.abs(ode.rhs(printed, p)).max() > 1.0
    assert np.abs(ode.rhs(np.array([u, i, z]), p)).max() < 1e-9


def test_eigenvalues_match_seed_closed_forms():
    p = OncolyticParameters()
    s, qz, K, zeta = p.S0, p.q_z, p.K, p.zeta
    eqs = {e.name.split()[0]: e for e in ode.equilibria(p)}
    e0 = sorted(eqs["E0"].eigenvalues.real)
    expect0 = sorted([-qz, p.p - s * zeta / (K * qz), -p.q - s * zeta / (K * qz)])
    np.testing.assert_allclose(e0, expect0, rtol=1e-12)
    e1 = sorted(eqs["E1"].eigenvalues.real)
    expect1 = sorted(
        [
            -qz,
            -p.p + s * zeta / (K * qz),
            p.beta - p.q - s * (p.beta * zeta + p.p * zeta) / (K * p.p * qz),
        ]
    )
    np.testing.assert_allclose(e1, expect1, rtol=1e-10)


def test_jacobian_matches_finite_differences():
    p = OncolyticParameters(zeta=2.0)
    y = np.array([3000.0, 800.0, 120.0])
    jac = ode.jacobian(y, p)
    fd = np.zeros((3, 3))
    for k in range(3):
        e = np.zeros(3)
        e[k] = 1e-3 * max(1.0, abs(y[k]))
        fd[:, k] = (ode.rhs(y + e, p) - ode.rhs(y - e, p)) / (2 * e[k])
    np.testing.assert_allclose(jac, fd, rtol=1e-6, atol=1e-12)


def test_ode_converges_to_stable_coexistence():
    p = OncolyticParameters(alpha=1e-3)  # below the Hopf point in alpha: E* stable
    estar = next(e for e in ode.equilibria(p) if e.name.startswith("E*"))
    assert estar.stable and estar.feasible
    rep = OncolyticODE(p)
    y = rep.advance(rep.initial_state(), 0.0, 40000.0)  # slowest decay rate 5e-4 1/h
    np.testing.assert_allclose(y, estar.state, rtol=1e-4)


def test_ode_parameter_default_alpha():
    p = OncolyticParameters()
    assert p.ode_alpha == pytest.approx(np.pi * 25 * p.alpha_z)
    assert OncolyticParameters(alpha=0.01).ode_alpha == 0.01
