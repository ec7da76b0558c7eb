"""Oncolytic lattice ABM: sampling kernels, the Numba step vs the NumPy reference (statistical),
single-rule checks, the diffusion/drift limit, reproducibility, resume, protocols, errors.

Statistical tests use fixed seeds (deterministic outcome) and a two-sided z tolerance of
Z_TOL standard errors, so a correct implementation fails with probability < 1e-3 per seed.
"""

from dataclasses import replace

import numba
import numpy as np
import pytest
from scipy.stats import binom
from scipy.stats import chi2 as chi2_dist

from oncoscale.errors import InputError
from oncoscale.models.oncolytic import abm_kernels as kern
from oncoscale.models.oncolytic.abm import OncolyticABM
from oncoscale.models.oncolytic.params import OncolyticParameters, abm_coefficients
from oncoscale.models.oncolytic.pde import OncolyticPDE2D
from oncoscale.numerics.sampling import (
    bernoulli_block,
    binomial,
    binomial_cdf_table,
    chain_binomial,
    chain_binomial_table,
    fill_binomial,
    geometric_gap,
    key_from_generator,
    stream_from_generator,
    uniform,
)
from oncoscale.run.protocols import Injection, SetParameter, ThresholdInjection
from oncoscale.run.runner import RunPlan, run

Z_TOL = 4.0

#: every per-step probability of order 0.01–0.3 on a 21 x 21 lattice (L = 1 mm, δ = 0.1 mm)
FAST = dict(
    L=1.0,
    R_u=0.6,
    R_i=0.3,
    D=0.3 * 0.125,  # θ = 0.3
    D_z=0.2 * 0.125,  # θ_z = 0.2
    chi=0.2,
    p=2.0,
    q=1.0,
    beta=5.0,
    zeta=50.0,
    q_z=1.0,
    S0=200.0,
    alpha_z=0.05,
    alpha_phi=5e-4,
    gamma_phi=1e-4,
    q_phi=1.0,
    D_phi=0.05,
)


def _zscore(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return (a.mean() - b.mean()) / se if se > 0 else 0.0


# ---------------------------------------------------------------------------------------
# sampling kernels
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "p"), [(90, 0.0015), (5, 0.3), (40, 0.1), (200, 0.2), (30, 0.9), (1, 0.034)]
)
def test_binomial_sampler_has_the_binomial_mean_and_variance(n, p):
    m = 40_000
    s = stream_from_generator(np.random.default_rng(n))
    out = np.empty(m, dtype=np.int64)
    fill_binomial(s, np.full(m, n), np.full(m, p), out)
    mean, var = n * p, n * p * (1 - p)
    assert abs(out.mean() - mean) < Z_TOL * np.sqrt(var / m)
    # SE of the sample variance: sqrt((μ4 − σ⁴)/m), μ4 of the binomial
    mu4 = var * (1 + 3 * (n - 2) * p * (1 - p))
    assert abs(out.var() - var) < Z_TOL * np.sqrt((mu4 - var**2) / m) + 1e-12
    assert out.min() >= 0 and out.max() <= n


@numba.njit(cache=True)
def _chain_draws(s, m, ns, ps, out):
    for r in range(m):
        v = uniform(s)
        for k in range(ns.size):
            x, v = chain_binomial(s, v, ns[k], ps[k])
            out[r, k] = x


def test_chained_binomials_are_independent_with_the_right_marginals():
    """One uniform drives a chain: the joint law must be the product of the marginals."""
    ns = np.array([90, 3, 10, 60])
    ps = np.array([0.002, 0.05, 0.6, 0.2])  # small mean, small n, p > 1/2, large mean
    m = 40_000
    out = np.empty((m, ns.size), dtype=np.int64)
    _chain_draws(stream_from_generator(np.random.default_rng(5)), m, ns, ps, out)
    for k in range(ns.size):
        mean, var = ns[k] * ps[k], ns[k] * ps[k] * (1 - ps[k])
        assert abs(out[:, k].mean() - mean) < Z_TOL * np.sqrt(var / m)
    # P(all zero) = Π (1 − p)^n, a statement about the joint law
    zero = np.prod((1 - ps[:2]) ** ns[:2])
    frac = np.mean((out[:, 0] == 0) & (out[:, 1] == 0))
    assert abs(frac - zero) < Z_TOL * np.sqrt(zero * (1 - zero) / m)
    # independence of links: correlation of the first two counts is 0
    r = np.corrcoef(out[:, 0], out[:, 1])[0, 1]
    assert abs(r) < Z_TOL / np.sqrt(m)


@numba.njit(cache=True)
def _table_draws(s, m, n, p, cdf, out):
    for r in range(m):
        out[r], _ = chain_binomial_table(s, uniform(s), n, p, cdf)


@pytest.mark.parametrize(("n", "p"), [(90, 0.0015), (200, 0.01), (7, 0.05), (300, 0.0015)])
def test_table_sampler_matches_the_binomial_pmf(n, p):
    """Chi-square of table-inversion draws against the exact pmf (n = 300: beyond the
    table, the direct link)."""
    cdf = binomial_cdf_table(p)
    assert cdf.shape[0] == 256 and np.all(cdf[:, -1] == 1.0)
    k = np.arange(cdf.shape[1] - 1)
    np.testing.assert_allclose(
        cdf[:, :-1], binom.cdf(k[None, :], np.arange(256)[:, None], p), rtol=0, atol=1e-13
    )
    m = 100_000
    out = np.empty(m, dtype=np.int64)
    _table_draws(stream_from_generator(np.random.default_rng(n)), m, n, p, cdf, out)
    expected = m * binom.pmf(np.arange(n + 1), n, p)
    keep = expected >= 5  # pool the tail into the last kept bin
    last = np.flatnonzero(keep)[-1]
    observed = np.bincount(np.minimum(out, last), minlength=last + 1)[: last + 1]
    exp_binned = np.append(expected[:last], expected[last:].sum())
    chi2 = ((observed - exp_binned) ** 2 / exp_binned).sum()
    assert chi2 < chi2_dist.ppf(0.9999, last), (chi2, last)


@numba.njit(cache=True)
def _block_draws(s, m, sizes, p, out):
    gap = geometric_gap(s, p)
    for r in range(m):
        for b in range(sizes.size):
            out[r, b], gap = bernoulli_block(s, sizes[b], p, gap)


@pytest.mark.parametrize("p", [0.01, 0.3, 1.0])
def test_bernoulli_process_through_blocks_gives_independent_binomials(p):
    sizes = np.array([3, 0, 50, 7, 200, 1])
    m = 20_000
    out = np.empty((m, sizes.size), dtype=np.int64)
    _block_draws(stream_from_generator(np.random.default_rng(9)), m, sizes, p, out)
    for b, n in enumerate(sizes):
        mean, var = n * p, n * p * (1 - p)
        if var == 0:
            assert np.all(out[:, b] == n * p)
            continue
        assert abs(out[:, b].mean() - mean) < Z_TOL * np.sqrt(var / m)
        mu4 = var * (1 + 3 * (n - 2) * p * (1 - p))  # 4th central moment of Bin(n, p)
        assert abs(out[:, b].var() - var) < Z_TOL * np.sqrt((mu4 - var**2) / m)
    if p < 1:
        r = np.corrcoef(out[:, 2], out[:, 3])[0, 1]  # neighbouring blocks independent
        assert abs(r) < Z_TOL / np.sqrt(m)


def test_binomial_edge_cases():
    s = stream_from_generator(np.random.default_rng(0))
    out = np.empty(4, dtype=np.int64)
    fill_binomial(s, np.array([0, 7, 7, 5]), np.array([0.5, 0.0, 1.0, 1.0]), out)
    assert out.tolist() == [0, 0, 7, 5]
    assert binomial(s, 3, 0.0) == 0


# ---------------------------------------------------------------------------------------
# the model: geometry, deterministic pieces
# ---------------------------------------------------------------------------------------
def _state_with_phi_ramp(rep, rng, ramp=1.0):
    s = rep.initial_state(rng)
    x = rep.grid.axis(0)
    s.phi[:] = (ramp * rep.params.phi_star * (x - x[0]) / (x[-1] - x[0]))[:, None]
    s.counts[2][::3, ::2] = 2  # immune cells everywhere, some at the walls
    return s


def test_lattice_coincides_with_the_2d_pde_grid_and_reports_the_same_quantities():
    p = OncolyticParameters(L=2.0, R_u=1.0, R_i=0.5)
    abm, pde = OncolyticABM(p), OncolyticPDE2D(p)
    for name in ("x", "y"):
        np.testing.assert_allclose(abm.coords()[name], pde.coords()[name], atol=1e-12)
    s = abm.initial_state(np.random.default_rng(0))
    f_abm, f_pde = abm.fields(s), pde.fields(pde.initial_state())
    for name in ("u", "i", "z", "phi"):
        np.testing.assert_allclose(f_abm[name], f_pde[name], rtol=1e-12)
    assert abm.field_dims == pde.field_dims
    o_abm = abm.observables(s)
    assert set(o_abm) == set(pde.observables(pde.initial_state()))
    cap = p.K * p.delta**2
    # totals are cell counts: sites with |x| <= R (points on the circle included)
    assert o_abm["total_u"] == pytest.approx(
        round(0.9 * cap) * np.sum(abm.grid.radius() <= 1.0 + 1e-9)
    )


def test_no_virus_means_no_infected_site():
    rep = OncolyticABM(OncolyticParameters(L=1.0, R_u=0.6, R_i=0.0))
    assert rep.initial_state(np.random.default_rng(0)).counts[1].sum() == 0


def test_mapping_of_pde_coefficients_is_the_shared_one():
    p = OncolyticParameters()
    m = abm_coefficients(p)
    c = kern.pack_coefficients(p)
    assert c[kern.THETA] == m.theta and c[kern.THETA_Z] == m.theta_z
    assert c[kern.CHEM] == pytest.approx(m.nu / (4 * p.phi_star))
    assert m.D_tilde == pytest.approx(0.125) and m.nu == pytest.approx(3.86, rel=2e-3)


def _frozen(**kw):
    """Every rate zero (moves of probability ~1e-30)."""
    base = dict(
        L=1.0,
        R_u=0.6,
        R_i=0.3,
        p=0.0,
        q=0.0,
        beta=0.0,
        zeta=0.0,
        q_z=0.0,
        S0=0.0,
        alpha_z=0.0,
        alpha_phi=0.0,
        gamma_phi=0.0,
        q_phi=0.0,
        D=1e-31,
        D_z=1e-31,
        chi=0.0,
    )
    return OncolyticParameters(**{**base, **kw})


@pytest.mark.parametrize("kernel", ["numba", "numpy"])
def test_with_all_rates_zero_nothing_changes(kernel):
    rep = OncolyticABM(_frozen(), {"kernel": kernel})
    s0 = rep.initial_state(np.random.default_rng(1))
    s0.counts[2][5, 5] = 3
    counts0 = s0.counts.copy()
    s1 = rep.advance(s0, 0.0, 2.0)
    np.testing.assert_array_equal(s1.counts, counts0)
    np.testing.assert_array_equal(s1.phi, 0.0)


@pytest.mark.parametrize(("kernel", "theta"), [("numba", 0.4), ("numba", 0.01), ("numpy", 0.4)])
def test_movement_only_conserves_cells_keeps_them_on_the_lattice(kernel, theta):
    rep = OncolyticABM(
        _frozen(D=theta * 0.125, D_z=0.3 * 0.125, chi=0.3, D_phi=1e-12), {"kernel": kernel}
    )
    s = _state_with_phi_ramp(rep, np.random.default_rng(2))
    s.counts[:, 0, :] = 7  # a full wall of cells
    counts0 = s.counts.copy()
    before = s.counts.sum(axis=(1, 2))
    s1 = rep.advance(s, 0.0, 4.0)
    np.testing.assert_array_equal(s1.counts.sum(axis=(1, 2)), before)
    assert s1.counts.min() >= 0
    assert not np.array_equal(s1.counts, counts0)


@pytest.mark.parametrize(("theta", "t"), [(0.5, 2.0), (0.02, 20.0)])
def test_random_walk_has_the_diffusive_mean_square_displacement(theta, t):
    """Lattice walk with θ: E|x|² = 4Dt exactly (2·dim·D·t) until cells reach the walls
    (rms displacement 0.71 and 0.45 mm, walls at 2.5 mm; θ = 0.02 runs the table sampler)."""
    D = theta * 0.125
    rep = OncolyticABM(_frozen(L=2.5, D=D, R_u=0.0, R_i=0.0))
    s = rep.initial_state(np.random.default_rng(3))
    centre = np.unravel_index(np.argmin(rep.grid.radius()), rep.grid.shape)
    n = 5000
    s.counts[0][centre] = n
    s1 = rep.advance(s, 0.0, t)
    r2 = rep.grid.radius() ** 2
    counts = s1.counts[0]
    msd = float((counts * r2).sum() / n)
    # SE from the per-cell spread of r² (cells move independently)
    se = np.sqrt(((counts * r2**2).sum() / n - msd**2) / n)
    assert abs(msd - 4 * D * t) < Z_TOL * se
    assert counts.sum() == n


def test_chemotactic_walk_drifts_with_velocity_chi_grad_phi():
    """In a frozen linear φ the immune cells drift with χ ∂φ/∂x (the PDE's chemotaxis)."""
    chi = 0.02
    p = _frozen(L=2.5, D_z=0.2 * 0.125, chi=chi, D_phi=1e-12, R_u=0.0, R_i=0.0)
    rep = OncolyticABM(p)
    s = _state_with_phi_ramp(rep, np.random.default_rng(4))
    s.counts[2][:] = 0
    centre = np.unravel_index(np.argmin(rep.grid.radius()), rep.grid.shape)
    n = 5000
    s.counts[2][centre] = n
    grad = p.phi_star / (2 * p.L)
    t = 2.0
    s1 = rep.advance(s, 0.0, t)
    x = rep.grid.mesh()[0]
    z = s1.counts[2]
    mean_x = float((z * x).sum() / n)
    se = np.sqrt(((z * x**2).sum() / n - mean_x**2) / n)
    assert abs(mean_x - chi * grad * t) < Z_TOL * se
    assert mean_x > 3 * se  # the drift is resolved, not noise


# ---------------------------------------------------------------------------------------
# Numba kernel vs NumPy reference: the same process
# ---------------------------------------------------------------------------------------
def _statistics(rep, s):
    U, I, Z = (c.astype(float) for c in s.counts)
    x = rep.grid.mesh()[0]
    return [
        U.sum(),
        I.sum(),
        Z.sum(),
        (Z * x).sum(),  # chemotactic drift direction
        U[0, :].sum() + U[-1, :].sum(),  # cells at the walls (zero flux)
        float(s.phi.sum()),
    ]


def _replicates(kernel, n_rep, steps, seed):
    p = OncolyticParameters(**FAST)
    rep = OncolyticABM(p, {"kernel": kernel})
    start = _state_with_phi_ramp(rep, np.random.default_rng(0), ramp=0.5)
    seqs = np.random.SeedSequence(seed).spawn(n_rep)
    out = []
    for sq in seqs:
        s = start.copy()
        s.rng = np.random.default_rng(sq)
        s.key = key_from_generator(np.random.default_rng(sq.spawn(1)[0]))
        out.append(_statistics(rep, rep.advance(s, 0.0, steps * p.tau)))
    return np.array(out)


def test_kernel_and_reference_sample_the_same_process():
    """Means and variances of totals, drift and wall counts after 25 steps agree (z-test)."""
    n_rep, steps = 200, 25
    fast = _replicates("numba", n_rep, steps, 11)
    ref = _replicates("numpy", n_rep, steps, 12)
    for k in range(fast.shape[1]):
        assert abs(_zscore(fast[:, k], ref[:, k])) < Z_TOL, k
        # variances: log-ratio with SE ≈ sqrt(2/(n−1)) per sample (normal approximation,
        # widened by 1.5 for non-normal tails)
        if ref[:, k].var() > 0:
            lr = np.log(fast[:, k].var(ddof=1) / ref[:, k].var(ddof=1))
            assert abs(lr) < Z_TOL * 1.5 * np.sqrt(4 / (n_rep - 1)), k
    # the process is not trivial: every statistic moved and fluctuates
    assert np.all(ref.std(axis=0)[:5] > 0)


# ---------------------------------------------------------------------------------------
# reproducibility, resume
# ---------------------------------------------------------------------------------------
def test_same_seed_same_result_other_seed_other_result_independent_of_chunking():
    rep = OncolyticABM(OncolyticParameters(**FAST))
    a = rep.advance(rep.initial_state(np.random.default_rng(7)), 0.0, 1.0)
    b = rep.advance(rep.initial_state(np.random.default_rng(7)), 0.0, 1.0)
    s = rep.initial_state(np.random.default_rng(7))
    for k in range(10):
        s = rep.advance(s, 0.1 * k, 0.1 * (k + 1))
    children = np.random.SeedSequence(7).spawn(2)
    c = rep.advance(rep.initial_state(np.random.default_rng(children[0])), 0.0, 1.0)
    d = rep.advance(rep.initial_state(np.random.default_rng(children[1])), 0.0, 1.0)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.phi, b.phi)
    np.testing.assert_array_equal(a.counts, s.counts)  # stops do not change the trajectory
    assert not np.array_equal(c.counts, d.counts)
    assert not np.array_equal(a.counts, c.counts)


class Interrupt(Exception):
    pass


def test_killed_run_resumes_bit_identically(tmp_path):
    params = OncolyticParameters(**FAST)
    plan = RunPlan(
        t_end=4.0,
        observe_interval=0.2,
        snapshot_interval=1.0,
        progress=False,
        work_dir=tmp_path / "work",
        checkpoint_every=1e-9,
        events=(SetParameter(kind="set_parameter", time=1.0, parameter="zeta", value=8.0),),
    )
    full = run(
        OncolyticABM(params),
        replace(plan, work_dir=tmp_path / "full"),
        rng=np.random.default_rng(3),
    )

    class Dying(OncolyticABM):
        calls = 0

        def advance(self, state, t0, t1):
            Dying.calls += 1
            if Dying.calls == 13:
                raise Interrupt
            return super().advance(state, t0, t1)

    with pytest.raises(Interrupt):
        run(Dying(params), plan, rng=np.random.default_rng(3))
    resumed = run(OncolyticABM(params), plan, rng=np.random.default_rng(999), resume=True)
    assert resumed.resumed_from is not None and 1.0 < resumed.resumed_from < 4.0
    for name in full.observables:
        np.testing.assert_array_equal(resumed.observables[name], full.observables[name])
    for name in full.snapshots:
        np.testing.assert_array_equal(resumed.snapshots[name][-1], full.snapshots[name][-1])


# ---------------------------------------------------------------------------------------
# protocols and errors
# ---------------------------------------------------------------------------------------
def test_injection_moves_floor_of_the_fraction_of_uninfected_cells_per_site():
    rep = OncolyticABM(OncolyticParameters(L=1.0, R_u=0.6, R_i=0.0))
    s = rep.initial_state(np.random.default_rng(0))
    s.counts[0][3, 4] = 7
    before = s.counts.copy()
    info = rep.apply_action(s, "inject", {"fraction": 0.3})  # in place
    moved = np.floor(0.3 * before[0])
    np.testing.assert_array_equal(s.counts[1], moved)
    np.testing.assert_array_equal(s.counts[0], before[0] - moved)
    assert info["cells_infected"] == moved.sum() > 0
    assert isinstance(info["cells_infected"], int)
    assert s.counts[1][3, 4] == 2
    with pytest.raises(InputError, match="fraction"):
        rep.apply_action(s, "inject", {"fraction": 1.5})
    with pytest.raises(InputError, match="no action"):
        rep.apply_action(s, "explode", {})


def test_protocols_run_on_the_abm():
    params = OncolyticParameters(**{**FAST, "zeta": 0.5})
    rep = OncolyticABM(params)
    s0 = rep.initial_state(np.random.default_rng(0))
    threshold = 1.2 * float(s0.counts[:2].sum())
    plan = RunPlan(
        t_end=3.0,
        observe_interval=0.1,
        snapshot_interval=1.0,
        progress=False,
        events=(
            SetParameter(kind="set_parameter", time=1.0, parameter="zeta", value=5.0),
            Injection(kind="injection", time=2.0, fraction=0.3),
            ThresholdInjection(kind="threshold_injection", threshold=threshold, fraction=0.3),
        ),
    )
    rec = run(rep, plan, rng=np.random.default_rng(1))
    kinds = [e.kind for e in rec.events]
    assert "set_parameter" in kinds and "injection" in kinds
    assert rep.params.zeta == 5.0 and rep.coeffs[kern.ZETA] == 5.0
    k = rec.obs_times.index(2.0)
    jump = rec.observables["total_i"][k] - rec.observables["total_i"][k - 1]
    injected = next(e for e in rec.events if e.kind == "injection").details["cells_infected"]
    assert injected > 0 and jump > 0.5 * injected


def test_lattice_parameters_cannot_change_during_a_run():
    rep = OncolyticABM(OncolyticParameters(L=1.0, R_u=0.6, R_i=0.3))
    with pytest.raises(InputError, match="delta"):
        rep.set_parameter("delta", 0.05)


@pytest.mark.parametrize("kernel", ["numba", "numpy"])
def test_move_probability_check_fails_with_a_clear_message(kernel):
    rep = OncolyticABM(OncolyticParameters(L=1.0, R_u=0.6, R_i=0.3, chi=0.5), {"kernel": kernel})
    s = rep.initial_state(np.random.default_rng(0))
    s.phi[10, 10] = 2.0  # a spike: neighbours see φ_k − φ_j = 2 towards it
    with pytest.raises(InputError, match=r"exceed 1.*chi = 0.5.*tau.*alpha_phi = .*D_phi = "):
        rep.advance(s, 0.0, 0.1)


def test_static_probability_checks():
    with pytest.raises(InputError, match="theta"):
        OncolyticABM(OncolyticParameters(L=1.0, R_u=0.6, D=1.0))
    with pytest.raises(InputError, match="tau\\*q "):
        OncolyticABM(OncolyticParameters(L=1.0, R_u=0.6, q=100.0))
    with pytest.raises(InputError, match="delta"):
        OncolyticABM(OncolyticParameters(L=1.0, R_u=0.6, delta=0.3))
    with pytest.raises(InputError, match="numba"):
        OncolyticABM(OncolyticParameters(L=1.0, R_u=0.6), {"kernel": "gpu"})


def test_cli_runs_the_abm_reproducibly_with_the_seed_in_the_result(tmp_path):
    from click.testing import CliRunner

    from oncoscale.cli import main
    from oncoscale.io.results import open_result

    small = ["--set", "L=1.5", "--set", "R_u=0.8", "--set", "R_i=0.3", "--t-end", "2"]
    results = []
    for k, seed in enumerate((5, 5, 6)):
        out = tmp_path / f"run{k}"
        res = CliRunner().invoke(
            main,
            [
                "run",
                "oncolytic-delayed-boost",
                "--model",
                "abm",
                "--seed",
                str(seed),
                *small,
                "--out",
                str(out),
                "--no-figures",
                "--quiet",
            ],
        )
        assert res.exit_code == 0, res.output
        results.append(open_result(out / "result.nc"))
    a, b, c = results
    assert a.attrs["model"] == "abm" and a.attrs["seed"] == 5 and c.attrs["seed"] == 6
    assert a["u"].dims == ("t", "x", "y") and a["total_u"].attrs["units"] == "1"  # UDUNITS
    assert a["total_u"].attrs["units_label"] == "cells" and a["total_u"].dtype.kind == "i"
    np.testing.assert_array_equal(a["u"].values, b["u"].values)
    np.testing.assert_array_equal(a["total_z"].values, b["total_z"].values)
    # another seed, another run (the fields: on this small lattice ~1 immune cell arrives in
    # 2 h, so total_z is often 0 for both seeds)
    assert not np.array_equal(a["u"].values, c["u"].values)


def test_run_is_bit_identical_for_any_number_of_threads():
    """Counter-based streams keyed on (run key, step, row, phase): the rows may be spread over
    any number of threads and the counts and φ come out the same to the last bit."""
    import numba

    from oncoscale.models.oncolytic.abm import PARALLEL_ROWS
    from oncoscale.numerics.thread_tuner import ThreadTuner

    rep = OncolyticABM(OncolyticParameters(**{**FAST, "L": 6.5, "R_u": 2.0, "R_i": 1.0}))
    assert rep.grid.shape[0] >= PARALLEL_ROWS  # large enough to run on several threads
    results = []
    before = numba.get_num_threads()
    try:
        for threads in (1, 2, 1):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            s = rep.advance(rep.initial_state(np.random.default_rng(21)), 0.0, 2.0)
            results.append(s)
        # in short calls the thread tuner switches between 1 and 2 threads mid-run
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        rep._tuner = ThreadTuner(probe_every=3)
        s = rep.initial_state(np.random.default_rng(21))
        for k in range(20):
            s = rep.advance(s, 0.1 * k, 0.1 * (k + 1))
        results.append(s)
        assert set(rep._tuner.calls_by_threads) == {1, 2}
    finally:
        numba.set_num_threads(before)
    assert numba.config.NUMBA_NUM_THREADS >= 2, "the test needs two threads to mean anything"
    for s in results[1:]:
        np.testing.assert_array_equal(s.counts, results[0].counts)
        np.testing.assert_array_equal(s.phi, results[0].phi)
    assert results[0].counts[2].sum() > 0  # immune cells arrived and moved


@pytest.mark.parametrize(
    ("change", "named"),
    [({"L": 1e16}, "'L'"), ({"L": 1e308}, "'L'"), ({"tau": 1e308}, "'tau'")],
)
def test_a_lattice_too_large_or_a_vanishing_diffusivity_is_refused_by_name(change, named):
    """Found by a CLI sweep of hostile values: L = 1e16 tried to allocate a 2e17-site axis,
    L = 1e308 overflowed, tau = 1e308 divided by zero — tracebacks, now InputErrors."""
    with pytest.raises(InputError, match=named):
        OncolyticABM(OncolyticParameters(**change))
