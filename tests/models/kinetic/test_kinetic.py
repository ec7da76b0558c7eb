"""Kinetic solver: kernels vs NumPy reference, homogeneous = ODE reduction (first order in
time), conservation, positivity, stability and the asymptotic-preserving property."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from oncoscale.errors import InputError
from oncoscale.models.kinetic import kinetic_kernels as kk
from oncoscale.models.kinetic import ode
from oncoscale.models.kinetic.kinetic import Kinetic1D, Kinetic2D, KineticState
from oncoscale.models.kinetic.params import named
from oncoscale.models.kinetic.velocity import ActivityBins, VelocitySet, check_moments
from oncoscale.models.registry import family


# ---------------------------------------------------------------------------------------
# velocity sets, activity bins
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("dim", "count"), [(1, 2), (2, 4), (2, 16), (2, 32)])
def test_velocity_moments_and_reflections(dim, count):
    vs = VelocitySet(dim, count)
    check_moments(vs)
    third = np.einsum("k,ka,kb,kc->abc", vs.w, vs.e, vs.e, vs.e)
    assert np.abs(third).max() < 1e-14
    for axis in range(dim):
        mirrored = vs.e[vs.reflection(axis)]
        expect = vs.e.copy()
        expect[:, axis] *= -1
        np.testing.assert_allclose(mirrored, expect, atol=1e-14)


def test_activity_bins():
    bins = ActivityBins(4)
    np.testing.assert_allclose(bins.centers[bins.mirror()], -bins.centers)
    np.testing.assert_allclose(bins.uniform_fractions(0.0, 1.0), [0, 0, 0.5, 0.5])
    with pytest.raises(InputError, match="activity_bins"):
        ActivityBins(3)
    with pytest.raises(InputError, match="velocities"):
        VelocitySet(2, 7)


def test_numerics_are_validated():
    p = named("kinetic-cc-escape")
    with pytest.raises(InputError, match="cfl"):
        Kinetic1D(p, {"cfl": 0.8})
    with pytest.raises(InputError, match="dx"):
        Kinetic1D(p, {"dx": 0.3})
    with pytest.raises(InputError, match="unknown parameter 'cells'"):
        Kinetic1D(p, {"cells": 10})


def test_an_interval_needing_endless_steps_is_refused_by_name():
    """D2 = 1e6 needs 2e7 explicit steps per unit of time: refused (naming D2) instead of
    running for hours; a normal interval is not."""
    rep = Kinetic1D(named("kinetic-cc-escape").updated(D2=1e6))
    with pytest.raises(InputError, match=r"2.2\de\+07 steps.*population 2: D2 = 1000000.0"):
        rep.advance(rep.initial_state(), 0.0, 1.0)
    rep.advance(rep.initial_state(), 0.0, 1e-4)
    tiny = Kinetic1D(named("kinetic-cc-escape"), {"dt": 1e-12})
    with pytest.raises(InputError, match=r"steps of numerics.dt = 1e-12"):
        tiny.advance(tiny.initial_state(), 0.0, 1.0)


# ---------------------------------------------------------------------------------------
# kernels: Numba == NumPy reference
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("implicit", [True, False])
def test_transport_kernel_1d_matches_reference(implicit):
    rng = np.random.default_rng(1)
    vs = VelocitySet(1, 2)
    vel = np.array([0.1, 0.3, 0.2])[:, None, None] * vs.e[None]
    M, g = rng.random((3, 2, 13)), rng.standard_normal((3, 2, 2, 12))
    lam, loss = np.array([1.0, 2.0, 0.5]), rng.random((3, 13))
    ref = kk.transport_1d_reference(M, g, vel, vs.w, lam, loss, 0.1, 0.01, 0.3, implicit)
    out = (np.empty_like(g), np.empty_like(M))
    kk.transport_1d(M, g, vel, vs.w, lam, loss, 0.1, 0.01, 0.3, implicit, *out)
    for a, b in zip(out, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("implicit", [True, False])
def test_transport_kernel_2d_matches_reference(implicit):
    rng = np.random.default_rng(2)
    vs = VelocitySet(2, 8)
    vel = np.array([0.1, 0.3, 0.2])[:, None, None] * vs.e[None]
    nx, ny = 7, 9
    M = rng.random((3, 2, nx, ny))
    gx, gy = rng.standard_normal((3, 2, 8, nx - 1, ny)), rng.standard_normal((3, 2, 8, nx, ny - 1))
    lam, loss = np.array([1.0, 2.0, 0.5]), rng.random((3, nx, ny))
    refl = (vs.reflection(0), vs.reflection(1))
    ref = kk.transport_2d_reference(
        M, gx, gy, vel, vs.w, lam, loss, *refl, 0.1, 0.01, 0.3, implicit
    )
    out = (np.empty_like(gx), np.empty_like(gy), np.empty_like(M))
    kk.transport_2d(M, gx, gy, vel, vs.w, lam, loss, *refl, 0.1, 0.01, 0.3, implicit, *out)
    for a, b in zip(out, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("cls", [Kinetic1D, Kinetic2D])
def test_numpy_backend_reproduces_numba_run(cls):
    p = named("kinetic-pc-tumour-free", epsilon=0.1, seed_amplitude=1.0)
    num = {"dx": 1 / 16, "velocities": 8, "activity_bins": 4}
    a, b = cls(p, num), cls(p, {**num, "kernel": "numpy"})
    sa = a.advance(a.initial_state(), 0.0, 1.0)
    sb = b.advance(b.initial_state(), 0.0, 1.0)
    np.testing.assert_allclose(sa.M, sb.M, rtol=1e-11, atol=1e-14)


# ---------------------------------------------------------------------------------------
# homogeneous data: the kinetic solution is the ODE reduction (first order in time)
# ---------------------------------------------------------------------------------------
def _homogeneous_run(p, y, dt, t_end, cls=Kinetic1D, **extra):
    rep = cls(p, {"dx": p.length / 4, "dt": dt, "velocities": 4, **extra})
    n = np.stack([np.full(rep.grid.shape, v) for v in (y[0] / p.tumour_scale, y[1], y[2])])
    state = rep.advance(rep.solver.state_from_densities(n), 0.0, t_end)
    dens = state.densities()
    assert np.ptp(dens, axis=tuple(range(1, dens.ndim))).max() < 1e-12  # stays homogeneous
    out = dens.reshape(3, -1)[:, 0]
    return np.array([out[0] * p.tumour_scale, out[1], out[2]])


@pytest.mark.parametrize(
    ("name", "key", "y0"),
    [
        ("kinetic-cc-escape", "cc-linear", (0.3, 0.8, 0.2)),
        ("kinetic-pc-coexistence", "pc-linear", (0.3, 1.0, 0.3)),
    ],
)
def test_homogeneous_kinetic_equals_ode_reduction_first_order(name, key, y0):
    p = named(name, d21=1.5)  # Y1 = (d21/d12) n1 != n1: checks the tumour scaling as well
    g = p.groups()
    t_end = 2.0
    rhs, _ = ode.SYSTEMS[key]
    ode_y0 = ode.from_common(key, np.array(y0))
    sol = solve_ivp(lambda t, y: rhs(y, g), (0, p.rate * t_end), ode_y0, rtol=1e-12, atol=1e-12)
    exact = ode.to_common(key, sol.y[:, -1], g)
    errors = []
    for dt in (0.02, 0.01, 0.005):
        errors.append(np.abs(_homogeneous_run(p, y0, dt, t_end) - exact).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 0.9) & (orders < 1.1)), (errors, orders)
    assert errors[-1] < 0.02 * np.abs(exact).max()
    # with Richardson extrapolation in time: second order
    errors = []
    for dt in (0.04, 0.02, 0.01):
        y = _homogeneous_run(p, y0, dt, t_end, time_extrapolation=True)
        errors.append(np.abs(y - exact).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 1.8) & (orders < 2.2)), (errors, orders)
    # 2D and ε do not matter for homogeneous data (g stays 0)
    y2d = _homogeneous_run(p.updated(epsilon=1e-6), y0, 0.01, t_end, Kinetic2D)
    np.testing.assert_allclose(y2d, _homogeneous_run(p, y0, 0.01, t_end), rtol=1e-12)


def test_self_scaling_limit_is_the_n2_slow_reduction_not_the_slides_form():
    """Known inconsistency (documented in docs/kinetic.md): under the self scaling only the
    passive pool (Q35, Q32, J3_22) is fast, so n2 is the slow variable and n3 = φ(n2) =
    b22 n2²/(d35 n5 − b32 n2) is slaved; N = n2 + n3 is *not* conserved by the fast dynamics, so
    the homogeneous limit is n2' = R2(n1, n2, φ(n2)), not the slides' N' = R2 (pc_self)."""
    p = named("kinetic-pc-coexistence", reduction="self", epsilon=1e-7)
    g = p.groups()
    y0 = np.array([0.3, 1.0, 0.3])
    t_end = 3.0
    kin = _homogeneous_run(p, y0, 5e-4, t_end)
    c, e, f = g["C"], g["E"], g["F"]

    def phi(y2):
        return f * y2**2 / (c - e * y2)

    def slow(t, y):
        return ode.pc_linear(np.array([y[0], y[1], phi(y[1])]), g)[:2]

    sol = solve_ivp(slow, (0, t_end), y0[:2], rtol=1e-11, atol=1e-12)
    y1, y2 = sol.y[:, -1]
    np.testing.assert_allclose(kin, [y1, y2, phi(y2)], rtol=3e-3)
    # the slides' reduction, started on the same slaved state, ends elsewhere
    n0 = y0[1] + phi(y0[1])
    sl = solve_ivp(lambda t, y: ode.pc_self(y, g), (0, t_end), [y0[0], n0], rtol=1e-11, atol=1e-12)
    slide = ode.to_common("pc-self", sl.y[:, -1], g)
    assert np.abs(kin - slide).max() > 0.02 * np.abs(slide).max()


# ---------------------------------------------------------------------------------------
# conservation, positivity, stability, AP
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [Kinetic1D, Kinetic2D])
@pytest.mark.parametrize(("reduction", "eps"), [("linear", 0.3), ("cross", 0.05), ("cross", 1e-6)])
def test_cc_immune_mass_conserved_to_round_off(cls, reduction, eps):
    p = named("kinetic-cc-escape", reduction=reduction, epsilon=eps, seed_amplitude=2.0)
    rep = cls(p, {"dx": 1 / 20, "velocities": 8})
    s = rep.initial_state()
    total0 = rep.observables(s)["total_N"]
    s = rep.advance(s, 0.0, 3.0)
    assert rep.solver_stats()["steps"] > 50
    assert rep.observables(s)["total_N"] == pytest.approx(total0, rel=1e-13)


@pytest.mark.parametrize("cls", [Kinetic1D, Kinetic2D])
@pytest.mark.parametrize(
    ("name", "reduction"),
    [("kinetic-cc-eradication", "linear"), ("kinetic-cc-eradication", "cross"),
     ("kinetic-pc-tumour-free", "self")],
)  # fmt: skip
def test_positivity_with_discontinuous_data(cls, name, reduction):
    for eps in (1.0, 0.1, 1e-6):
        p = named(name, reduction=reduction, epsilon=eps)
        rep = cls(p, {"dx": 1 / 16, "velocities": 8})
        n = np.stack(
            [np.ones(rep.grid.shape), np.ones(rep.grid.shape), 0.1 * np.ones(rep.grid.shape)]
        )
        n[:, rep.grid.mesh()[0] > 0.5] = 0.0  # vacuum on half the domain
        s = rep.solver.state_from_densities(n)
        for k in range(8):
            s = rep.advance(s, 0.25 * k, 0.25 * (k + 1))
            assert s.M.min() >= 0.0, (eps, k, s.M.min())


@pytest.mark.parametrize("cls", [Kinetic1D, Kinetic2D])
def test_stable_at_the_step_bound_for_all_eps(cls):
    rng = np.random.default_rng(3)
    for eps in (1.0, 0.1, 0.01, 1e-6):
        p = named("kinetic-cc-escape", epsilon=eps, d12=0, b13=0, b14=1e-9, d21=0, d35=0,
                  D1=1e-3, D3=1e-3)  # fmt: skip
        rep = cls(p, {"dx": 1 / 16, "dt": 100.0, "cfl": 0.5, "velocities": 8})
        s = rep.initial_state()
        s = KineticState(s.M + 0.1 * rng.random(s.M.shape),
                         tuple(0.1 * rng.standard_normal(g.shape) for g in s.g))  # fmt: skip
        h = rep.solver.max_step()
        s = rep.advance(s, 0.0, 300 * h)
        assert np.abs(s.M).max() < 1.2, eps


def test_step_bound_is_independent_of_eps_and_explicit_needs_eps_squared():
    steps = {}
    for eps in (1e-2, 1e-4, 1e-6):
        p = named("kinetic-cc-escape", epsilon=eps)
        steps[eps] = (
            Kinetic1D(p, {"dt": 1.0}).solver.max_step(),
            Kinetic1D(p, {"dt": 1.0, "relaxation": "explicit"}).solver.max_step(),
        )
    ap = [v[0] for v in steps.values()]
    assert max(ap) / min(ap) < 1.1
    assert steps[1e-4][1] == pytest.approx(1e-4 * steps[1e-2][1], rel=1e-9)


@pytest.mark.parametrize("dim", [1, 2])
def test_asymptotic_preserving_tiny_eps_matches_linear_pde(dim):
    """ε = 1e-6 with the ε-independent step: stable, and within the time-discretisation error
    of the linear-diffusion PDE (first order: the error halves with Δt)."""
    p = named("kinetic-cc-escape", epsilon=1e-6, seed_amplitude=1.0, D1=1e-3)
    fam = family("kinetic")
    dx = 1 / 50 if dim == 1 else 1 / 16
    pde = fam.representation_class(f"pde-{dim}d")(p, {"dx": dx, "rtol": 1e-8})
    s0 = pde.initial_state()
    n0 = np.stack([pde.fields(s0)[k] for k in ("n1", "n2", "n3")])
    ref = pde.fields(pde.advance(s0, 0.0, 2.0))
    errs = []
    for dt in (0.01, 0.005):
        rep = fam.representation_class(f"kinetic-{dim}d")(p, {"dx": dx, "dt": dt, "velocities": 8})
        assert rep.solver.max_step() == dt
        kin = rep.fields(rep.advance(rep.solver.state_from_densities(n0), 0.0, 2.0))
        errs.append(sum(np.abs(kin[k] - ref[k]).sum() for k in ("n1", "n2", "n3"))
                    / sum(np.abs(ref[k]).sum() for k in ("n1", "n2", "n3")))  # fmt: skip
    assert errs[1] < 5e-3
    assert 1.6 < errs[0] / errs[1] < 2.4


def test_representation_outputs():
    p = named("kinetic-cc-escape")
    rep = Kinetic2D(p, {"dx": 1 / 8, "velocities": 4})
    s = rep.initial_state()
    fields = rep.fields(s)
    assert set(fields) == {"n1", "n2", "n3", "N"}
    assert all(fields[k].shape == (8, 8) for k in fields)
    assert rep.field_dims["n1"] == ("x", "y")
    obs = rep.observables(s)
    assert obs["total_N"] == pytest.approx(p.immune_mass * p.length**2)
    assert math.isfinite(obs["max_n1"])
    info = rep.variable_info()
    assert all(k in info for k in (*fields, *obs, "x", "y"))


@pytest.mark.parametrize("case", ["kinetic-cc-escape", "kinetic-pc-tumour-free"])
def test_activity_distribution_supports_and_totals(case):
    """Switching mirrors the activity: active cells stay on u >= 0, passive on u < 0."""
    p = named(case, epsilon=0.1, seed_amplitude=2.0)
    rep = Kinetic1D(p, {"dx": 1 / 20, "activity_bins": 4, "activity_output": True})
    s = rep.advance(rep.initial_state(), 0.0, 2.0)
    f, obs = rep.fields(s), rep.observables(s)
    u = rep.coords()["u"]
    assert rep.field_dims["activity_n2"] == ("u",)
    assert np.all(f["activity_n2"][u < 0] == 0) and np.all(f["activity_n2"][u > 0] > 0)
    assert np.all(f["activity_n3"][u > 0] == 0) and np.all(f["activity_n3"][u < 0] > 0)
    for k in ("n1", "n2", "n3"):
        assert f[f"activity_{k}"].sum() * 0.5 == pytest.approx(obs[f"total_{k}"], rel=1e-12)


@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("name", ["kinetic-cc-escape", "kinetic-pc-tumour-free"])
def test_initial_densities_are_the_pdes(dim, name):
    fam = family("kinetic")
    p = named(name, seed_amplitude=0.7)
    kin = fam.representation_class(f"kinetic-{dim}d")(p, {"dx": 1 / 16})
    pde = fam.representation_class(f"pde-{dim}d")(p, {"dx": 1 / 16})
    a, b = kin.fields(kin.initial_state()), pde.fields(pde.initial_state())
    for k in ("n1", "n2", "n3"):
        np.testing.assert_array_equal(a[k], b[k])


def test_2d_solution_keeps_the_symmetries_of_the_data():
    """x ↔ y and x ↦ 1 − x symmetric data stay symmetric (the velocity set has both symmetries):
    checks that the x-face and y-face code paths and the wall reflections agree."""
    p = named("kinetic-cc-escape", reduction="cross", epsilon=0.1, seed_amplitude=2.0,
              seed_x=0.3, seed_y=0.3)  # fmt: skip
    rep = Kinetic2D(p, {"dx": 1 / 20, "velocities": 16})
    s = rep.initial_state()
    n = s.densities()
    np.testing.assert_allclose(n, n.transpose(0, 2, 1), rtol=0, atol=1e-15)
    s = rep.advance(s, 0.0, 3.0)
    n = s.densities()
    np.testing.assert_allclose(n, n.transpose(0, 2, 1), rtol=1e-10, atol=1e-14)
    q = named("kinetic-cc-escape", epsilon=0.1, seed_amplitude=2.0, seed_x=0.5, seed_y=0.3)
    rep = Kinetic2D(q, {"dx": 1 / 20, "velocities": 16})
    n = rep.advance(rep.initial_state(), 0.0, 3.0).densities()
    np.testing.assert_allclose(n, n[:, ::-1, :], rtol=1e-10, atol=1e-14)


def test_explicit_relaxation_reference_agrees_with_the_ap_scheme():
    """Both relaxation treatments are first-order consistent: their difference halves with Δt."""
    p = named("kinetic-cc-escape", epsilon=0.05, seed_amplitude=1.0)
    diffs = []
    for dt in (4e-4, 2e-4):
        out = []
        for relaxation in ("implicit", "explicit"):
            rep = Kinetic1D(p, {"dx": 1 / 25, "dt": dt, "relaxation": relaxation})
            assert rep.solver.max_step() == dt
            out.append(rep.advance(rep.initial_state(), 0.0, 0.5).densities())
        diffs.append(np.abs(out[0] - out[1]).sum() / np.abs(out[1]).sum())
    assert diffs[1] < 1e-3
    assert 1.7 < diffs[0] / diffs[1] < 2.3, diffs


def test_cross_scaling_homogeneous_limit_is_the_cc_cross_reduction():
    """Fast CC switching conserves N, so the homogeneous ε → 0 limit is the slides' cc_cross
    ODE (unlike the self regime): to the time-discretisation error, first order in Δt."""
    p = named("kinetic-cc-escape", reduction="cross", epsilon=1e-7)
    g = p.groups()
    y0 = np.array([0.3, 0.8, 0.2])  # off the slaved split: an O(ε) initial layer projects it
    t_end = 2.0
    sol = solve_ivp(lambda t, y: ode.cc_cross(y, g), (0, t_end), [y0[0]], rtol=1e-12, atol=1e-12)
    exact = ode.to_common("cc-cross", sol.y[:, -1], g)
    errors = [np.abs(_homogeneous_run(p, y0, dt, t_end) - exact).max() for dt in (0.01, 0.005)]
    assert errors[1] < 0.01 * np.abs(exact).max(), (errors, exact)
    assert 1.7 < errors[0] / errors[1] < 2.3, errors
