"""MM/MDE/O2 field steps (models/invasion/fields.py): exact MM decay, O2 relaxation and steady
state against analytic solutions, positivity."""

from __future__ import annotations

import numpy as np
import pytest

from oncoscale.errors import InputError
from oncoscale.models.invasion.fields import (
    FieldSolver,
    degrade_matrix,
    domain_grid,
)
from oncoscale.models.invasion.params import InvasionParameters
from oncoscale.numerics.helmholtz import NeumannHelmholtz


def _solver(dim: int = 2, dx: float = 0.5, **changes) -> FieldSolver:
    p = InvasionParameters().updated(**changes)
    return FieldSolver(domain_grid(p, dim, dx), p)


@pytest.mark.parametrize("dim", [2, 3])
def test_mm_decays_exactly_for_frozen_mde(dim):
    """With D_m = κ = σ_m = 0 the MDE is frozen and f(t) = f0 e^{−η m t} to round-off."""
    s = _solver(dim, 1.0, D_m=0.0, kappa=0.0, sigma_m=0.0, eta=1.3)
    x = s.grid.mesh()[0]
    mde = 0.2 + 0.1 * np.sin(x)
    mm = np.full(s.grid.shape, 0.3)
    o2 = np.full(s.grid.shape, 3.0)
    load = np.zeros(s.grid.shape)
    dt, n = 0.01, 250
    for _ in range(n):
        mm, mde_new, o2 = s.step(mm, mde, o2, load, dt)
        np.testing.assert_allclose(mde_new, mde, rtol=1e-13)
        mde = mde_new
    np.testing.assert_allclose(mm, 0.3 * np.exp(-1.3 * mde * n * dt), rtol=1e-12)


def test_o2_relaxation_homogeneous_first_order():
    """No cells, homogeneous f: c → νf/φ as e^{−φt}; backward Euler error O(dt), ratio ≈ 2."""
    s = _solver(2, 1.0, eta=0.0, phi=0.5, nu=1.0)
    shape = s.grid.shape
    f = np.full(shape, 0.3)
    t_end = 4.0
    errors = []
    for dt in (0.04, 0.02, 0.01):
        c = np.zeros(shape)
        m = np.zeros(shape)
        for _ in range(round(t_end / dt)):
            f, m, c = s.step(f, m, c, np.zeros(shape), dt)
        exact = 0.6 * (1.0 - np.exp(-0.5 * t_end))
        errors.append(np.max(np.abs(c - exact)) / exact)
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all(np.abs(ratios - 2.0) < 0.05), (errors, ratios)
    assert errors[-1] < 2e-3


def test_o2_steady_state_matches_analytic_mode_second_order():
    """(φ − D_oΔ)c = νf for f = f0 + ε cos(πx/L) cos(πy/L): c = νf0/φ + νε cos·cos/(φ + 2D(π/L)²);
    the discrete steady state converges at second order in dx."""
    p = InvasionParameters()
    errors = []
    for dx in (0.5, 0.25, 0.125):
        s = FieldSolver(domain_grid(p, 2, dx), p)
        x, y = s.grid.mesh()
        mode = np.cos(np.pi * x / p.L) * np.cos(np.pi * y / p.L)
        f = 0.3 + 0.1 * mode
        exact = p.nu * 0.3 / p.phi + p.nu * 0.1 * mode / (p.phi + 2 * p.D_o * (np.pi / p.L) ** 2)
        errors.append(np.max(np.abs(s.o2_steady_state(f) - exact)))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(orders > 1.9), (errors, orders)


def test_o2_relaxes_to_discrete_steady_state_without_cells():
    """Heterogeneous frozen MM (η = 0), no cells: the step converges to the discrete steady
    state."""
    p = InvasionParameters().updated(eta=0.0, mm_case="heterogeneous", phi=0.5, nu=5.0)
    s = FieldSolver(domain_grid(p, 2, 0.5), p)
    from oncoscale.models.invasion.initial import mm_density

    f = mm_density(s.grid.mesh(), p)
    c, m = np.zeros_like(f), np.zeros_like(f)
    for _ in range(200):
        f, m, c = s.step(f, m, c, np.zeros_like(f), 0.5)
    ref = s.o2_steady_state(f)
    np.testing.assert_allclose(c, ref, rtol=1e-10)


@pytest.mark.parametrize("dim", [2, 3])
def test_fields_stay_non_negative_with_huge_uptake(dim):
    rng = np.random.default_rng(3)
    s = _solver(dim, 1.0, omega=50.0)
    shape = s.grid.shape
    f, m, c = rng.random(shape), rng.random(shape), rng.random(shape)
    load = 100.0 * rng.random(shape)
    for _ in range(20):
        f, m, c = s.step(f, m, c, load, 0.1)
        assert min(f.min(), m.min(), c.min()) >= 0.0


def test_mde_production_mass_balance():
    """Total MDE obeys d/dt ∫m = κ∫W − σ_m∫m exactly for backward Euler (diffusion conserves)."""
    s = _solver(2, 0.5)
    rng = np.random.default_rng(0)
    shape = s.grid.shape
    m = rng.random(shape)
    load = rng.random(shape)
    dt = 0.1
    _, m1, _ = s.step(np.zeros(shape), m, np.zeros(shape), load, dt)
    p = s.params
    lhs = s.grid.integrate(m1) * (1 + dt * p.sigma_m)
    rhs = s.grid.integrate(m) + dt * p.kappa * s.grid.integrate(load)
    assert abs(lhs - rhs) < 1e-12 * rhs


def test_bad_input_is_rejected():
    s = _solver(2, 1.0)
    z = np.zeros(s.grid.shape)
    with pytest.raises(InputError, match="dt"):
        s.step(z, z, z, z, 0.0)
    with pytest.raises(InputError, match="load"):
        s.step(z, z, z, np.zeros(3), 0.1)
    with pytest.raises(InputError, match="dim"):
        domain_grid(s.params, 1)


def test_field_step_equals_the_numpy_expressions_bit_for_bit():
    """The compiled right-hand sides repeat the NumPy expressions operation by operation: the
    step gives the same bits, for C- and Fortran-ordered inputs alike."""
    p = InvasionParameters()
    grid = domain_grid(p, 2, 0.5)
    rng = np.random.default_rng(4)
    mm, mde, o2, load = (rng.random(grid.shape) for _ in range(4))
    mde[0, :3] = -1e-17  # the DCT's round-off negatives
    dt = 0.01
    solver = FieldSolver(grid, p)
    helm = NeumannHelmholtz(grid)
    mm_new = degrade_matrix(mm, mde, p.eta, dt)
    o2_mid = o2 * (1.0 / (1.0 + dt * p.omega * load / (np.maximum(o2, 0.0) + p.K_O)))
    expected = (
        mm_new,
        np.maximum(helm.solve(mde + dt * p.kappa * load, dt, p.D_m, p.sigma_m), 0.0),
        np.maximum(helm.solve(o2_mid + dt * p.nu * mm_new, dt, p.D_o, p.phi), 0.0),
    )
    for order in ("C", "F"):
        args = [np.asarray(a, order=order) for a in (mm, mde, o2, load)]
        for got, want in zip(solver.step(*args, dt), expected, strict=True):
            assert np.array_equal(got, want)
