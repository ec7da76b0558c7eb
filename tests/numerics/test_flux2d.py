"""2D two-point-flux operators, their implicit solves (BiCGSTAB + ADI) and fitted fluxes."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from oncoscale.errors import InputError
from oncoscale.numerics import flux2d, fv
from oncoscale.numerics.grids import CartesianGrid
from oncoscale.numerics.imex import explicit_stability_interval


def _grid(n=(23, 17), h=0.1):
    return CartesianGrid((n[0], n[1]), h, (0.0, 0.0))


def _potential(grid, amplitude=2.0):
    x, y = grid.mesh()
    return amplitude * np.exp(-((x - 1.0) ** 2 + (y - 0.7) ** 2) / 0.2)


def _matrix(op: flux2d.FaceOperator2D, shape) -> sp.csr_matrix:
    """Assembled L, column by column from apply_reference (small grids only)."""
    n = shape[0] * shape[1]
    cols = []
    for k in range(n):
        e = np.zeros(n)
        e[k] = 1.0
        cols.append(op.apply_reference(e.reshape(shape)).ravel())
    return sp.csr_matrix(np.array(cols).T)


@pytest.mark.parametrize("scheme", ["sg", "upwind"])
def test_compiled_operator_matches_the_references(scheme):
    g = _grid()
    phi = _potential(g)
    chi, d, q = 0.165, 4.2e-3, 7.5e-3
    op = flux2d.chemotaxis_operator(g, d, chi, phi, scheme, decay=q)
    drift = [chi * gr for gr in fv.face_gradients(g, phi)]
    build = (flux2d.drift_diffusion_operator if scheme == "sg"
             else flux2d.upwind_drift_diffusion_operator)  # fmt: skip
    ref_op = build(g, d, drift, q)
    for name in ("a0", "b0", "a1", "b1"):
        np.testing.assert_allclose(getattr(op, name), getattr(ref_op, name), rtol=1e-13)
    f = np.random.default_rng(0).uniform(0, 10, g.shape)
    expected = -q * f + (
        fv.drift_diffusion(g, d, drift, f) if scheme == "sg"
        else d * fv.laplacian(g, f) + fv.advection(g, drift, f, "upwind")
    )  # fmt: skip
    np.testing.assert_allclose(op.apply(f), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(op.apply_reference(f), expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(InputError, match="'chemotaxis': 'central'"):
        flux2d.chemotaxis_operator(g, d, chi, phi, "central")


def test_operator_conserves_mass_and_is_an_m_matrix():
    g = _grid((9, 11))
    op = flux2d.chemotaxis_operator(g, 4.2e-3, 0.165, 10 * _potential(g), decay=0.0)
    m = _matrix(op, g.shape).toarray()
    np.testing.assert_allclose(m.sum(axis=0), 0.0, atol=1e-12 * np.abs(m).max())  # columns
    off = m - np.diag(np.diag(m))
    assert off.min() >= 0.0 and np.diag(m).max() <= 0.0
    a = np.eye(m.shape[0]) - 50.0 * m  # a huge implicit step
    assert np.linalg.inv(a).min() >= -1e-14  # (I − cL)⁻¹ ≥ 0: non-negative data stay so


@pytest.mark.parametrize("c", [0.05, 1.0, 5.0])
def test_implicit_solve_reaches_its_tolerance_and_matches_a_direct_solve(c):
    g = _grid()
    op = flux2d.chemotaxis_operator(g, 4.2e-3, 0.165, _potential(g), decay=7.5e-3)
    rhs = np.random.default_rng(1).uniform(0, 100, g.shape)
    solver = flux2d.ImplicitSolver2D(op, c, tol=1e-9, maxiter=200)
    x = solver.solve(rhs)
    assert np.sqrt(np.mean((solver.apply(x) - rhs) ** 2)) <= 1e-9
    n = rhs.size
    direct = spsolve((sp.identity(n) - c * _matrix(op, g.shape)).tocsc(), rhs.ravel())
    np.testing.assert_allclose(x.ravel(), direct, rtol=1e-8, atol=1e-8)
    assert solver.stats.solves == 1 and solver.stats.failures == 0


def test_adi_preconditioner_is_exact_for_a_single_line():
    """Lines along axis 1 decoupled: only the axis-1 factor acts and the preconditioner is exact."""
    g = CartesianGrid((2, 40), 0.05, (0.0, 0.0))
    op = flux2d.diffusion_operator(g, 0.3)
    op = op._replace(a0=np.zeros_like(op.a0), b0=np.zeros_like(op.b0))  # lines decoupled
    solver = flux2d.ImplicitSolver2D(op, 2.0, tol=1e-12)
    rhs = np.random.default_rng(2).uniform(size=g.shape)
    np.testing.assert_allclose(solver.apply(solver.precondition(rhs)), rhs, rtol=1e-12)


def test_solver_reports_failure_as_nan_and_validates():
    g = _grid()
    op = flux2d.chemotaxis_operator(g, 4.2e-3, 0.165, _potential(g, 20.0))
    solver = flux2d.ImplicitSolver2D(op, 50.0, tol=1e-14, maxiter=1)
    x = solver.solve(np.random.default_rng(3).uniform(size=g.shape))
    assert np.isnan(x).all() and solver.stats.failures == 1
    with pytest.raises(InputError, match="'tol'"):
        flux2d.ImplicitSolver2D(op, 1.0, tol=0.0)
    with pytest.raises(InputError, match="implicit coefficient"):
        flux2d.ImplicitSolver2D(op, -1.0, tol=1e-6)
    with pytest.raises(InputError, match="2D grid"):
        flux2d.diffusion_operator(CartesianGrid((5, 5, 5), 0.1, (0.0,) * 3), 1.0)


def test_bernoulli_pair_is_accurate_and_positive():
    x = np.array([-800, -40, -3, -0.6, -0.4, -0.011, -0.009, -1e-7, 0, 1e-7, 0.009, 0.011,
                  0.4, 0.6, 3, 40, 800.0])  # fmt: skip
    with np.errstate(all="ignore"):
        exact = np.where(x == 0, 1.0, x / np.expm1(x))
    b = fv.bernoulli(x)
    ok = np.isfinite(exact)
    np.testing.assert_allclose(b[ok], exact[ok], rtol=1e-14)
    assert np.all(b >= 0) and fv.bernoulli(np.array([800.0]))[0] == 0.0


def test_fitted_flux_matches_its_reference_and_limits():
    rng = np.random.default_rng(4)
    a = 10 ** rng.uniform(-280, 4, 1000)
    b = a * np.exp(rng.normal(scale=np.where(rng.uniform(size=1000) < 0.3, 1e-5, 3.0)))
    np.testing.assert_allclose(
        fv.fitted_flux(a, b, 0.0), fv.fitted_flux_reference(a, b, 0.0), rtol=1e-12
    )
    assert fv.fitted_flux(np.array([5.0]), np.array([5.0]), 0.0)[0] == 0.0
    assert fv.fitted_flux(np.array([1e4]), np.array([0.0]), 0.0)[0] < 1e-140  # empty: no flux
    # close values: the central flux
    assert fv.fitted_flux(np.array([1.0]), np.array([1.0 - 1e-9]), 0.0)[0] == pytest.approx(1e-9)
    big = (a > 1e-290) & (b > 1e-290)  # (the floor of the logarithm aside)
    kappa = fv.fitted_kappa(a, b, 0.0)
    np.testing.assert_allclose((kappa * (a - b))[big], fv.fitted_flux(a, b, 0.0)[big], rtol=1e-10)
    assert np.all((kappa > 0) & (kappa <= 1))
    # the shift ε: defined for values down to −ε, central where both values are ≪ ε
    assert fv.fitted_flux(np.array([3e-12]), np.array([-9e-9]), 1e-8)[0] > 0
    tiny = np.array([3e-14]), np.array([1e-14])
    assert fv.fitted_flux(*tiny, 1e-8)[0] == pytest.approx(2e-14, rel=1e-9)
    # the series branch (values within 1e-3 of each other) joins the logarithm continuously
    near = np.array([1.0]), np.array([1.0 / (1 + 0.999e-3)]), np.array([1.0 / (1 + 1.001e-3)])
    ratio = [fv.fitted_flux(near[0], b, 0.0)[0] / fv.fitted_flux_reference(near[0], b, 0.0)[0]
             for b in near[1:]]  # fmt: skip
    np.testing.assert_allclose(ratio, 1.0, rtol=1e-13)


@pytest.mark.parametrize("angle", [0.0, 0.4, np.pi / 4])
def test_fitted_fluxes_are_exact_for_planar_exponentials_in_any_direction(angle):
    """For f = exp(−λ n·x) at the cell centres each fitted face flux is the exact flux
    Dλ n_a f(face), whatever λh (here 2.2: the infected front's decay rate at dx = 0.1) and
    the direction n; the discrete Laplacian is then Dλ²f times sinh(λh/2)/(λh/2) per axis
    (symbol error (λh)²/24 instead of the central flux's (λh)²/12: 21 % vs 47 % here)."""
    g = _grid((30, 30), 0.1)
    x, y = g.mesh()
    lam, d, h = 22.0, 1.88e-4, g.spacing
    n = (np.cos(angle), np.sin(angle))
    f = 1e4 * np.exp(-lam * (n[0] * x + n[1] * y))
    for axis in (0, 1):
        left, right = np.moveaxis(f, axis, 0)[:-1], np.moveaxis(f, axis, 0)[1:]
        flux = d / h * fv.fitted_flux(left, right, 0.0)
        exact = d * lam * n[axis] * np.sqrt(left * right)  # f at the face centre
        np.testing.assert_allclose(flux, exact, rtol=1e-10, atol=1e-300)
    inner = (slice(1, -1), slice(1, -1))
    symbol = sum(np.sinh(lam * c * h / 2) / (lam * c * h / 2) * c**2 if c else 0.0 for c in n)
    fitted = fv.fitted_diffusion(g, d, f, 0.0)[inner]
    np.testing.assert_allclose(fitted, d * lam**2 * symbol * f[inner], rtol=1e-10)
    if angle == 0.0:
        central = d * fv.laplacian(g, f)[inner]
        assert np.median(central / (d * lam**2 * f[inner])) == pytest.approx(1.474, abs=1e-3)
        assert symbol == pytest.approx(1.214, abs=1e-3)
    assert abs(fv.fitted_diffusion(g, d, f, 0.0).sum()) < 1e-9 * np.abs(fitted).sum()  # conserves


def test_explicit_stability_interval_of_the_tableaux():
    assert explicit_stability_interval() == pytest.approx(3.6642, abs=2e-4)
    assert explicit_stability_interval("IMEX-Euler") == pytest.approx(1.0, abs=2e-4)
