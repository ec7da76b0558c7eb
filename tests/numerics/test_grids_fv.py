"""Finite-volume grids and operators: conservation, exactness, convergence order."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncoscale.errors import InputError
from oncoscale.numerics import fv
from oncoscale.numerics.grids import CartesianGrid, Grid1D
from oncoscale.numerics.helmholtz import NeumannHelmholtz
from oncoscale.numerics.tridiagonal import (
    Tridiagonal,
    solve_tridiagonal,
    solve_tridiagonal_reference,
)


def test_radial_grid_volumes_and_indicator_mass():
    g = Grid1D.uniform(0.0, 10.0, 0.01, "radial")
    assert g.volumes.sum() == pytest.approx(np.pi * 100.0, rel=1e-12)
    frac = g.cell_average_of_indicator(2.605)  # radius between faces
    assert g.integrate(frac) == pytest.approx(np.pi * 2.605**2, rel=1e-12)


def test_grid_validation_messages():
    with pytest.raises(InputError, match=r"'dr': 0\.3"):
        Grid1D.uniform(0.0, 1.0, 0.3)
    with pytest.raises(InputError, match="radial grid must start at r = 0"):
        Grid1D(np.linspace(1, 2, 5), "radial")
    with pytest.raises(InputError, match=r"'dx': -0\.1"):
        CartesianGrid.cell_centred(0.0, 1.0, -0.1, 2)


@pytest.mark.parametrize("side", [1e8, 1e300, 1e308, float("inf")])
@pytest.mark.parametrize("centring", ["cell_centred", "node_centred"])
def test_a_hostile_side_is_refused_by_name(side, centring):
    """A side of 1e8 … inf cells per axis is refused naming the side and the spacing (not
    an OverflowError from rounding inf, not an allocation attempt)."""
    with pytest.raises(InputError, match=r"cells per axis.*at most 1e\+07") as err:
        getattr(CartesianGrid, centring)(0.0, side, 1.0, 2, name="dx")
    assert "'dx' = 1.0" in str(err.value)
    with pytest.raises(InputError, match=r"'dr' = 1.0: .* cells per axis"):
        Grid1D.uniform(0.0, side, 1.0)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(3, 40), batch=st.integers(1, 4), seed=st.integers(0, 2**31 - 1))
def test_thomas_matches_lapack(n, batch, seed):
    rng = np.random.default_rng(seed)
    lower = rng.uniform(0, 1, (batch, n))
    upper = rng.uniform(0, 1, (batch, n))
    diag = lower + upper + rng.uniform(0.1, 2, (batch, n))  # diagonally dominant
    rhs = rng.normal(size=(batch, n))
    t = Tridiagonal(lower, diag, upper)
    x = solve_tridiagonal(t, rhs)
    np.testing.assert_allclose(x, solve_tridiagonal_reference(t, rhs), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(t.matvec(x), rhs, atol=1e-10)


@pytest.mark.parametrize("geometry", ["planar", "radial"])
def test_drift_diffusion_conserves_mass_and_is_m_matrix(geometry):
    g = Grid1D.uniform(0.0, 5.0, 0.05, geometry)
    rng = np.random.default_rng(1)
    v = rng.normal(scale=3.0, size=g.n - 1)
    t = fv.drift_diffusion_matrix_1d(g, 0.01, v)
    f = rng.uniform(size=g.n)
    assert abs(g.integrate(t.matvec(f))) < 1e-12 * g.integrate(f)
    assert np.all(t.lower >= 0) and np.all(t.upper >= 0) and np.all(t.diag <= 0)
    # implicit step of a non-negative field stays non-negative, even for a huge step
    x = solve_tridiagonal(t.scaled_identity_minus(1e3), f)
    assert x.min() >= 0
    assert g.integrate(x) == pytest.approx(g.integrate(f), rel=1e-10)


def test_scharfetter_gummel_limits():
    g = Grid1D.uniform(0.0, 1.0, 0.1)
    d = fv.diffusion_matrix_1d(g, 2.0)
    sg0 = fv.drift_diffusion_matrix_1d(g, 2.0, np.zeros(g.n - 1))
    for a, b in zip(d, sg0, strict=True):
        np.testing.assert_allclose(a, b)
    # large Péclet: SG flux tends to upwind advection
    v = np.full(g.n - 1, 1e3)
    sg = fv.drift_diffusion_matrix_1d(g, 1e-6, v)
    up = fv.upwind_advection_matrix_1d(g, v)
    for a, b in zip(sg, up, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_scharfetter_gummel_steady_state_exact():
    """Zero-flux steady state of f' = (D f_x − v f)_x is f ∝ exp(v x / D): SG is exact."""
    g = Grid1D.uniform(0.0, 1.0, 0.05)
    d, vel = 0.1, 0.7
    t = fv.drift_diffusion_matrix_1d(g, d, np.full(g.n - 1, vel))
    f = np.exp(vel * g.centers / d)
    assert np.max(np.abs(t.matvec(f))) < 1e-10 * np.max(np.abs(f)) / 0.05**2


def _radial_laplacian_error(h):
    g = Grid1D.uniform(0.0, 1.0, h, "radial")
    f = np.cos(np.pi * g.centers) + g.centers**2  # f'(0)=0; f'(1) = 2 (not zero-flux)
    exact = (
        -np.pi * np.sin(np.pi * g.centers) / g.centers - np.pi**2 * np.cos(np.pi * g.centers) + 4.0
    )
    approx = fv.diffusion_matrix_1d(g, 1.0).matvec(f)
    interior = g.centers < 0.8  # away from the zero-flux wall where f' ≠ 0
    return np.sqrt(np.sum(((approx - exact) ** 2 * g.volumes)[interior]))


def test_radial_laplacian_second_order():
    e1, e2 = _radial_laplacian_error(0.02), _radial_laplacian_error(0.01)
    assert np.log2(e1 / e2) == pytest.approx(2.0, abs=0.25)


def test_cartesian_laplacian_matches_dct_and_conserves():
    g = CartesianGrid.cell_centred(0.0, 1.0, 0.05, 2)
    rng = np.random.default_rng(0)
    f = rng.uniform(size=g.shape)
    lap = fv.laplacian(g, f)
    assert abs(g.integrate(lap)) < 1e-10
    np.testing.assert_allclose(NeumannHelmholtz(g).apply(f, 1.0), lap, atol=1e-9)
    solver = NeumannHelmholtz(g)
    x = solver.solve(f, 0.3, 0.5, 0.1)
    np.testing.assert_allclose(x - 0.3 * (0.5 * fv.laplacian(g, x) - 0.1 * x), f, atol=1e-10)


def test_helmholtz_denominators_are_cached_per_coefficient_set():
    """The spectral denominator is kept for the coefficient sets solved in turn (MDE, O2 in a
    time loop) and gives the same bits as a fresh solver; pickling leaves the cache behind."""
    import pickle

    g = CartesianGrid.cell_centred(0.0, 2.0, 0.1, 2)
    rhs = np.random.default_rng(3).random(g.shape)
    solver = NeumannHelmholtz(g)
    sets = [(0.01, 0.5, 0.0), (0.01, 2.0, 0.3), (0.02, np.array([0.5, 1.0]), 0.1)]
    for _ in range(3):  # each set several times, in turn
        for c, d, q in sets:
            b = np.stack([rhs, 2 * rhs]) if np.ndim(d) else rhs
            fresh = NeumannHelmholtz(g).solve(b, c, d, q)
            assert np.array_equal(solver.solve(b, c, d, q), fresh)
    assert len(solver._cache) == len(sets)
    for k in range(6):  # more sets than kept: the oldest go, the results stay right
        fresh = NeumannHelmholtz(g).solve(rhs, 0.01, 1.0 + k)
        assert np.array_equal(solver.solve(rhs, 0.01, 1.0 + k), fresh)
    assert len(solver._cache) <= 4
    assert pickle.loads(pickle.dumps(solver))._cache == {}


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_cartesian_advection_and_drift_diffusion_conserve(dim):
    g = CartesianGrid.cell_centred(0.0, 1.0, 0.1, dim)
    rng = np.random.default_rng(dim)
    f = rng.uniform(size=g.shape)
    vel = fv.face_gradients(g, rng.uniform(size=g.shape))
    for scheme in ("upwind", "limited"):
        assert abs(g.integrate(fv.advection(g, vel, f, scheme))) < 1e-12
    assert abs(g.integrate(fv.drift_diffusion(g, 0.01, vel, f))) < 1e-12


def test_cartesian_drift_diffusion_matches_1d_matrix():
    g1 = Grid1D.uniform(0.0, 1.0, 0.05)
    gc = CartesianGrid.cell_centred(0.0, 1.0, 0.05, 1)
    rng = np.random.default_rng(3)
    f = rng.uniform(size=g1.n)
    v = rng.normal(size=g1.n - 1)
    np.testing.assert_allclose(
        fv.drift_diffusion(gc, 0.02, [v], f),
        fv.drift_diffusion_matrix_1d(g1, 0.02, v).matvec(f),
        rtol=1e-12,
        atol=1e-12,
    )


def _advect_sine(n, scheme):
    """Advect a smooth bump with constant speed for a short time; return L1 error."""
    g = Grid1D.uniform(0.0, 1.0, 1.0 / n)
    x = g.centers
    f = np.exp(-200 * (x - 0.3) ** 2)
    v = np.full(n - 1, 1.0)
    dt = 0.2 / n
    t = 0.0
    while t < 0.2 - 1e-12:  # SSP-RK2 (Heun)
        k1 = fv.advection_1d(g, v, f, scheme)
        f1 = f + dt * k1
        f = 0.5 * (f + f1 + dt * fv.advection_1d(g, v, f1, scheme))
        t += dt
    exact = np.exp(-200 * (x - 0.5) ** 2)
    return np.sum(np.abs(f - exact)) / n


def test_limited_advection_is_more_accurate_than_upwind():
    e_up = [_advect_sine(n, "upwind") for n in (200, 400)]
    e_lim = [_advect_sine(n, "limited") for n in (200, 400)]
    assert np.log2(e_up[0] / e_up[1]) == pytest.approx(1.0, abs=0.25)
    assert np.log2(e_lim[0] / e_lim[1]) > 1.6
    assert e_lim[1] < 0.2 * e_up[1]
