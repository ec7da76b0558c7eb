"""Age-structured invasion PDE (models/invasion/pde.py, pde_kernels.py): Malthusian growth
rate vs Euler–Lotka, exact MM decay, O2 relaxation, mass bookkeeping of divisions, deaths and
mutations, positivity, exact ageing, compiled kernels vs NumPy references, space convergence of
the motion operator."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from scipy.optimize import brentq

from oncoscale.errors import InputError
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.models.invasion import pde_box, pde_motion
from oncoscale.models.invasion import pde_kernels as kern
from oncoscale.models.invasion.fields import domain_grid
from oncoscale.models.invasion.params import InvasionParameters, division_rate
from oncoscale.models.invasion.pde import InvasionPDE
from oncoscale.models.invasion.theory import malthusian_rate
from oncoscale.models.registry import family


def _model(numerics=None, **changes) -> InvasionPDE:
    return InvasionPDE(InvasionParameters().updated(**changes), numerics or {})


def _mass(model: InvasionPDE, state) -> np.ndarray:
    """Living mass per phenotype."""
    return model.grid.integrate(state.cells_p() + state.cells_q())


# ---- growth rate (spec §7) ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("f0", "changes"),
    [(0.3, {}), (0.05, {"c_quiescence": 0.1})],
    ids=["c=3,no-death", "c=0.5,necrosis"],
)
def test_malthusian_growth_rate_matches_euler_lotka(f0, changes):
    """Constant c = 10 f0 (η = ω = 0), t_pq = 0: the total mass grows at the Euler–Lotka rate
    r (within 1 % over t ∈ [10, 20]; the Δt = 0.01 scheme is second order, ~1e-4 here)."""
    model = _model({"dx": 2.0, "dt": 0.01}, eta=0.0, omega=0.0, f0=f0, **changes)
    r = malthusian_rate(10 * f0, model.params)
    s = model.initial_state()
    times, logs = [], []
    t = 0.0
    for _ in range(40):
        s = model.advance(s, t, t + 0.5)
        t += 0.5
        times.append(t)
        logs.append(np.log(_mass(model, s).sum()))
        np.testing.assert_allclose(s.o2, 10 * f0, rtol=1e-12)  # c really is constant
    times, logs = np.array(times), np.array(logs)
    late = times >= 10
    rate = np.polyfit(times[late], logs[late], 1)[0]
    assert abs(rate - r) < 0.01 * r, (rate, r)
    assert abs(rate - r) < 2e-3 * r, (rate, r)  # what the scheme actually achieves


def _discrete_rate(p: InvasionParameters, c: float, da: float) -> float:
    """Growth rate of the midpoint-discretised renewal equation on age bins of width da."""
    a = (np.arange(int(p.pr_age_max / da)) + 0.5) * da
    pr = division_rate(a, c, p)
    survival = np.exp(-np.concatenate([[0.0], np.cumsum(pr * da)[:-1]]) - 0.5 * pr * da)
    return brentq(lambda r: 2 * np.sum(np.exp(-r * a) * pr * survival * da) - 1, 0, 5)


def test_malthusian_rate_solves_euler_lotka():
    """Cross-check of the reference rate: the discrete renewal equation (second order in the
    age step, Richardson-extrapolated) grows at the same rate (c = 3, no death)."""
    p = InvasionParameters()
    coarse, fine = (_discrete_rate(p, 3.0, da) for da in (0.002, 0.001))
    assert abs((4 * fine - coarse) / 3 - malthusian_rate(3.0, p)) < 1e-6


# ---- fields inside the PDE ------------------------------------------------------------------
def test_mm_decays_exponentially_for_frozen_mde():
    """D_m = κ = σ_m = 0 freeze the MDE at its initial density m: f(t) = f0 e^{−η m t}."""
    model = _model({"dx": 0.5, "dt": 0.02}, D_m=0.0, kappa=0.0, sigma_m=0.0, eta=2.0)
    s0 = model.initial_state()
    s = model.advance(copy.deepcopy(s0), 0.0, 1.0)
    np.testing.assert_allclose(s.mde, s0.mde, rtol=0, atol=1e-14)
    np.testing.assert_allclose(s.mm, s0.mm * np.exp(-2.0 * s0.mde * 1.0), rtol=1e-12)
    assert np.min(s.mm / s0.mm) < 0.5  # the test probes real decay


def test_o2_relaxes_to_nu_f_over_phi_without_uptake():
    """ω = 0 (cells do not consume), η = 0, c(0) = 0: c → (ν/φ) f0 (1 − e^{−φt}), backward
    Euler in time (relative error ≈ φΔt/2 · φt)."""
    model = _model({"dx": 1.0, "dt": 0.01}, omega=0.0, eta=0.0, phi=0.5, nu=5.0)
    s = model.initial_state()
    s.o2[...] = 0.0
    s = model.advance(s, 0.0, 2.0)
    exact = 10.0 * 0.3 * (1.0 - np.exp(-0.5 * 2.0))
    np.testing.assert_allclose(s.o2, exact, rtol=3e-3)


# ---- bookkeeping, positivity, ageing ----------------------------------------------------------
def _stressed(kernel="numba", da=None):
    """Low O2 with strong uptake: necrosis, quiescence and reactivation all active."""
    return _model(
        {"dx": 1.0, "dt": 0.02, "kernel": kernel, "da": da},
        mm_case="heterogeneous",
        omega=5.0,
        t_m=0.3,
    )


@pytest.mark.parametrize("da", [None, 0.1], ids=["da=dt", "da=5dt"])
@pytest.mark.parametrize("kernel", ["numba", "numpy"])
def test_mass_bookkeeping_of_divisions_deaths_and_mutations(kernel, da):
    model = _stressed(kernel, da)
    p = model.params
    s0 = model.initial_state()
    s = model.advance(copy.deepcopy(s0), 0.0, 3.0)
    led = s.ledger
    m0, m1 = _mass(model, s0), _mass(model, s)
    # each division removes a parent and adds two daughters: net + daughters/2
    total_change = m1.sum() - m0.sum()
    booked = led.daughters.sum() / 2 - led.dead.sum()
    assert abs(total_change - booked) < 1e-12 * m1.sum(), (total_change, booked)
    # per phenotype: newborns (after mutation) − dividing parents − deaths
    np.testing.assert_allclose(m1 - m0, led.newborn - led.daughters / 2 - led.dead, atol=1e-12)
    # mutation moves mass between phenotypes without creating any
    assert abs(led.newborn.sum() - led.daughters.sum()) < 1e-12 * led.daughters.sum()
    expected = (1 - p.t_m) * led.daughters
    expected[1:] += p.t_m * led.daughters[:-1]
    expected[-1] += p.t_m * led.daughters[-1]
    np.testing.assert_allclose(led.newborn, expected, rtol=1e-12)
    # the necrotic field is the booked deaths; every process really happened
    np.testing.assert_allclose(model.grid.integrate(s.necrotic), led.dead, rtol=1e-12)
    assert led.dead.sum() > 0.05 * m0.sum()
    assert s.cells_q().sum() > 0 and led.daughters[3] > 0


def test_without_mutation_only_the_wild_type_lives():
    model = _model({"dx": 1.0, "dt": 0.02}, t_m=0.0)
    s = model.advance(model.initial_state(), 0.0, 2.0)
    mass = _mass(model, s)
    assert mass[0] > 5.0 and np.all(mass[1:] == 0.0)


def test_positivity_with_strong_haptotaxis_and_uptake():
    """ρ large enough to need motion sub-steps, strong uptake: every density stays ≥ 0."""
    model = _model(
        {"dx": 0.5, "dt": 0.02}, rho=40.0, omega=20.0, mm_case="heterogeneous", f_peak=3.0
    )
    s = model.advance(model.initial_state(), 0.0, 0.6)
    assert model.solver_stats()["max_motion_substeps"] > 1
    for name in ("p", "q", "p_old", "q_old", "mm", "mde", "o2", "necrotic"):
        assert np.min(getattr(s, name)) >= 0.0, name
    assert _mass(model, s).sum() > 0


@pytest.mark.parametrize(
    ("da", "steps_and_shifts"),
    [(None, ((17, 17),)), (0.25, ((1, 1), (5, 1), (6, 2), (17, 4)))],
    ids=["da=dt", "da=5dt"],
)
def test_ageing_is_an_exact_shift(da, steps_and_shifts):
    """No division, death, switching or motion: after n steps the age profile is the initial
    one shifted bit for bit, by n bins (Δa = Δt) or by one bin per k = 5 steps (Δa = 5Δt, at
    the end of steps 0, 5, 10, ...); the oldest bins collect in the plus bin."""
    model = _model(
        {"dx": 2.0, "dt": 0.05, "da": da},
        pr_amplitude=0.0,
        mu_max=0.0,
        qp_rate=0.0,
        D_n=0.0,
        rho=0.0,
        cell_age_max0=6.0,
    )
    s0 = model.initial_state()
    before = s0.p_by_age()
    for n, shifts in steps_and_shifts:
        s = model.advance(copy.deepcopy(s0), 0.0, n * model.dt)
        after = s.p_by_age()
        np.testing.assert_array_equal(after[:, shifts:], before[:, :-shifts])
        np.testing.assert_array_equal(after[:, :shifts], 0.0)
        np.testing.assert_allclose(s.p_old, before[:, -shifts:].sum(axis=1), rtol=1e-14)
        assert s.head != 0  # the ring buffer really rotated


def test_division_table_averages_the_cohorts_of_a_bin():
    """k = 1: pr((j + 1)Δt), the seed's scheme. k = 4: bin j ≥ 1 at the m-th step after a
    shift averages pr over the mid-step ages (4j + m − r)Δt, r = 0..3; bin 0 over the m
    cohorts born since the shift."""
    p = InvasionParameters()
    fine = _model({"dx": 2.0, "dt": 0.01})
    np.testing.assert_allclose(
        fine.g_table[0], division_rate((np.arange(fine.n_age) + 1) * 0.01, 1.0, p), rtol=1e-14
    )
    coarse = _model({"dx": 2.0, "dt": 0.1, "da": 0.4})
    assert coarse.g_table.shape == (4, coarse.n_age) == (4, 16)
    ages = (4 * 3 + 2 - np.arange(4)) * 0.1
    assert coarse.g_table[1, 3] == pytest.approx(division_rate(ages, 1.0, p).mean(), rel=1e-14)
    assert coarse.g_table[2, 0] == pytest.approx(
        division_rate(np.array([0.3, 0.2, 0.1]), 1.0, p).mean(), abs=1e-14
    )
    # every age beyond the last bin is past the division window: the plus bin is exact
    assert coarse.plus_from >= p.pr_age_max


def test_coarse_age_bins_growth_rate_converges_at_second_order():
    """Malthusian rate at c = 3 (as above) with Δa = 5Δt and 10Δt: relative errors
    1.5e-3 and 7.2e-3 (measured), ratio ≈ 4.6 — second order in Δa."""
    errors = []
    for da in (0.05, 0.1):
        model = _model({"dx": 2.0, "dt": 0.01, "da": da}, eta=0.0, omega=0.0)
        r = malthusian_rate(3.0, model.params)
        s, t, times, logs = model.initial_state(), 0.0, [], []
        for _ in range(40):
            s = model.advance(s, t, t + 0.5)
            t += 0.5
            times.append(t)
            logs.append(np.log(_mass(model, s).sum()))
        late = np.array(times) >= 10
        rate = np.polyfit(np.array(times)[late], np.array(logs)[late], 1)[0]
        errors.append(abs(rate - r) / r)
    assert errors[0] < 3e-3 and errors[1] < 1.2e-2, errors
    assert 3.0 < errors[1] / errors[0] < 6.0, errors


# ---- compiled kernels vs references -------------------------------------------------------
def _shape3(grid) -> tuple[int, int, int]:
    """The kernels' three axes: 3D as is, 2D as (x, 1, y)."""
    g = grid.shape
    return g if grid.dim == 3 else (g[0], 1, g[1])


@pytest.mark.parametrize("cells", [1, 7, 30, 10_000])
def test_demography_blocks_tile_the_box(cells):
    """The demography's blocks (whole planes or rows of one plane) cover every cell of the
    box exactly once."""
    box = np.array([[2, 1, 3], [7, 6, 8]], dtype=np.int64)
    count = np.zeros((9, 9, 9), dtype=int)
    blocks = kern.demography_blocks(box, cells)
    for blk in blocks:
        count[pde_box.slices(blk)] += 1
    inside = np.zeros_like(count)
    inside[pde_box.slices(box)] = 1
    assert np.array_equal(count, inside)
    assert kern.demography_blocks(pde_box.EMPTY, cells).shape == (0, 2, 3)


def test_demography_does_not_depend_on_the_blocks():
    """Rows of one plane (small blocks) and whole planes (large blocks) give identical
    demography, bit for bit (every cell is computed from its own values)."""
    rng = np.random.default_rng(3)
    n_ph, n_age, shape3 = 5, 6, (6, 5, 7)
    p0 = rng.random((n_ph, n_age, *shape3)) * (rng.random((n_ph, n_age, *shape3)) < 0.7)
    q0 = rng.random((n_ph, n_age, *shape3)) * (rng.random((n_ph, n_age, *shape3)) < 0.5)
    po0, qo0 = rng.random((n_ph, *shape3)), rng.random((n_ph, *shape3))
    fields = [rng.random(shape3) * 3, rng.random(shape3), rng.random(shape3), rng.random(shape3)]
    box = np.array([[1, 0, 1], [6, 5, 6]], dtype=np.int64)
    results = []
    for cells in (3, 10_000):
        p, q, po, qo = p0.copy(), q0.copy(), po0.copy(), qo0.copy()
        outs = [np.zeros((n_ph, *shape3)) for _ in range(3)]
        blocks = kern.demography_blocks(box, cells)
        hits = np.zeros((len(blocks), n_ph, n_age + 1), dtype=np.int64)
        live = np.ones((n_ph, n_age + 1), dtype=bool)
        kern._demography(p, q, po, qo, 2, np.linspace(0, 30, n_age), *fields, 0.02, blocks,
                         pde_box.whole(shape3), 1e-3, live, *outs, hits)  # fmt: skip
        results.append((p, q, po, qo, *outs, hits.sum(axis=0)))
    for x, y in zip(*results, strict=True):
        assert np.array_equal(x, y)


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("boxed", [False, True], ids=["whole-grid", "inner-box"])
@pytest.mark.parametrize("moving", [False, True], ids=["demography", "demography+motion"])
def test_cell_kernel_matches_references(dim, boxed, moving):
    """step_cells (ring buffer, demography in blocks then motion in groups of age bins,
    demography inside a box, motion inside the frame around it) and births_box equal the NumPy
    demography reference, motion reference and newborns (age order) and leave everything
    outside the frame untouched."""
    rng = np.random.default_rng(7 + dim)
    p = InvasionParameters()
    grid = domain_grid(p, dim, 2.0 if dim == 2 else 2.5)
    n_ph, n_age, space, shape3 = 5, 40, grid.shape, _shape3(grid)
    frame = pde_box.whole(shape3)
    box = frame.copy()
    if boxed:  # inner box: the densities vanish outside it, the frame is one cell wider
        box[0] += np.array(shape3) > 1
        box[1] -= np.array(shape3) > 1
    inside = np.zeros(shape3, dtype=bool)
    inside[pde_box.slices(box)] = True
    inside = inside.reshape(space)
    pp = rng.random((n_ph, n_age, *space)) * inside
    qq = rng.random((n_ph, n_age, *space)) * (rng.random((n_ph, n_age, *space)) < 0.5) * inside
    p_old, q_old = rng.random((n_ph, *space)) * inside, rng.random((n_ph, *space)) * inside
    pp[2, 5] = qq[2, 5] = 0.0  # an empty bin (ring slot 5: age bin 32; skipped)
    g = np.where(np.arange(n_age) > 5, rng.random(n_age) * 20, 0.0)
    c = rng.random(space) * 3
    c.flat[:3] = 0.0
    mu, tpq, tqp = rng.random(space) * (c < 1), rng.random(space), rng.random(space) * (c > 1)
    f = rng.random(space)
    diff = np.linspace(0.01, 0.05, 5) * moving
    rho = np.linspace(0.0, 0.4, 5) * moving
    head, dt, t_m = 13, 0.02, 0.1
    ref = list(
        kern.demography_reference(
            kern.ring_to_age_order(pp, head), kern.ring_to_age_order(qq, head), p_old, q_old,
            g, c, mu, tpq, tqp, dt,
        )
    )  # fmt: skip
    totals_ref = ref[0].sum(1) + ref[1].sum(1) + ref[2] + ref[3]
    ref[0] = pde_motion.motion_reference(ref[0], f, diff, rho, dt, grid, n_sub=2)
    ref[2] = pde_motion.motion_reference(ref[2][:, None], f, diff, rho, dt, grid, n_sub=2)[:, 0]
    nb_ref, lost_ref = kern.newborns(ref[4], t_m, mu, dt)
    live = np.ones((n_ph, n_age + 1), dtype=bool)  # by age bin
    live[2, (5 - head) % n_age] = False
    outs = [np.zeros((n_ph, *shape3)) for _ in range(3)]
    r3 = [x.reshape(shape3) for x in (c, mu, tpq, tqp)]
    kern.step_cells(
        pp.reshape(n_ph, n_age, *shape3), qq.reshape(n_ph, n_age, *shape3),
        p_old.reshape(n_ph, *shape3), q_old.reshape(n_ph, *shape3), head, g, *r3, dt, box,
        frame, 0.0, f.reshape(shape3), diff, rho, grid.spacing, 2, live, *outs,
    )  # fmt: skip
    got = (kern.ring_to_age_order(pp, head), kern.ring_to_age_order(qq, head), p_old, q_old)
    births, dead, totals = (x.reshape(n_ph, *space) for x in outs)
    for x, y in zip((*got, births, dead), ref, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(totals, totals_ref, rtol=1e-12, atol=1e-15)
    assert not live[2, (5 - head) % n_age] and live.sum() == n_ph * (n_age + 1) - 1
    # newborns: mutation, half-step survival, load, support
    nb, lost = np.empty((n_ph, *shape3)), np.empty((n_ph, *shape3))
    load, ext = np.empty(shape3), pde_box.new_extents(frame)
    necrotic, sums = np.full((n_ph, *shape3), 0.5), np.empty((shape3[0], 3, n_ph))
    kern.births_box(outs[0], outs[2], outs[1], mu.reshape(shape3), t_m, p.w, dt, 0.0, nb, lost,
                    load, ext, necrotic, frame[0], sums)  # fmt: skip
    np.testing.assert_allclose(nb.reshape(n_ph, *space), nb_ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(lost.reshape(n_ph, *space), lost_ref, rtol=1e-12, atol=1e-15)
    # the dead mass joins the necrotic field; per-plane sums of births, lost, dead + lost
    dead_all = ref[5] + lost_ref
    np.testing.assert_allclose(necrotic.reshape(n_ph, *space), 0.5 + dead_all, rtol=1e-12)
    for k, x in enumerate((ref[4], lost_ref, dead_all)):
        np.testing.assert_allclose(sums[:, k].sum(axis=0), x.reshape(n_ph, -1).sum(1), rtol=1e-12)
    load_ref = np.tensordot(p.w, totals_ref + nb_ref, axes=(0, 0))
    np.testing.assert_allclose(load.reshape(space), load_ref, rtol=1e-12)
    assert np.array_equal(pde_box.from_extents(ext, frame), box)


def test_births_box_adds_the_dead_mass_to_the_necrotic_field_of_its_frame_only():
    """births_box works on a frame inside the grid: the step's dead mass (dead + lost) joins
    the whole-grid necrotic field at the frame's cells and nowhere else."""
    rng = np.random.default_rng(11)
    n_ph, grid_shape, frame = 5, (6, 7, 8), np.array([[1, 2, 3], [4, 5, 8]])
    local = tuple(frame[1] - frame[0])
    births, totals, dead = (rng.random((n_ph, *local)) for _ in range(3))
    mu = rng.random(local)
    nb, lost, load = np.empty((n_ph, *local)), np.empty((n_ph, *local)), np.empty(local)
    necrotic = rng.random((n_ph, *grid_shape))
    before = necrotic.copy()
    sums = np.empty((local[0], 3, n_ph))
    kern.births_box(births, totals, dead, mu, 0.2, np.ones(n_ph), 0.01, 0.0, nb, lost, load,
                    pde_box.new_extents(frame), necrotic, frame[0], sums)  # fmt: skip
    region = (slice(None), *pde_box.slices(frame))
    expected = before.copy()
    expected[region] += dead + lost
    assert np.array_equal(necrotic, expected)
    np.testing.assert_allclose(sums[:, 2].sum(0), (dead + lost).sum(axis=(1, 2, 3)), rtol=1e-13)


def test_motion_refuses_face_gradients_of_another_box():
    """move_slab's zero flux at the box's faces relies on the gradients being those of the
    box (0 on its last faces): gradients of another shape are refused."""
    s = np.ones((1, 4, 4, 4))
    box = pde_box.whole((4, 4, 4))
    gx, gy, gz = pde_motion.face_gradients(np.ones((4, 4, 4)), pde_box.whole((3, 4, 4)), 0.1)
    with pytest.raises(ValueError, match="gradients must be those of the box"):
        pde_motion.move_slab(s, gx, gy, gz, 0.01, 0.1, 0.01, 0.1, box, 1, 0.0)


@pytest.mark.parametrize("dim", [2, 3])
def test_motion_kernel_matches_reference(dim):
    """move_slabs (slabs in parallel) equals the motion reference; inside a box whose faces
    nothing reaches, it equals the reference on the whole grid."""
    p = InvasionParameters()
    grid = domain_grid(p, dim, 1.0)
    shape3 = _shape3(grid)
    rng = np.random.default_rng(dim)
    dens = rng.random((5, 4, *grid.shape))
    f = rng.random(grid.shape)
    diff, rho = np.linspace(0.01, 0.05, 5), np.linspace(0.0, 0.4, 5)
    ref = pde_motion.motion_reference(dens, f, diff, rho, 0.1, grid, n_sub=2)
    whole = pde_box.whole(shape3)
    grads = pde_motion.face_gradients(f.reshape(shape3), whole, 1.0)
    pde_motion.move_slabs(dens.reshape(20, *shape3), np.ones(20, dtype=bool), diff.repeat(4),
                          rho.repeat(4), *grads, 0.1, 1.0, whole, 2, 0.0)  # fmt: skip
    np.testing.assert_allclose(dens, ref, rtol=1e-13)
    # compact support: a box two cells wider than the support per side (2 sub-steps)
    blob = np.zeros((1, *shape3))
    inner = (slice(None), *(slice(3, 6) if n > 1 else slice(None) for n in shape3))
    blob[inner] = rng.random(blob[inner].shape)
    full = pde_motion.motion_reference(blob.reshape(1, 1, *grid.shape), f, diff[:1], rho[:1],
                                       0.1, grid, n_sub=2)  # fmt: skip
    box = pde_box.grow(pde_box.of_nonzero(blob), 2, shape3)
    grads = pde_motion.face_gradients(f.reshape(shape3), box, 1.0)
    pde_motion.move_slabs(blob, np.ones(1, dtype=bool), diff[:1], rho[:1], *grads, 0.1, 1.0,
                          box, 2, 0.0)  # fmt: skip
    np.testing.assert_allclose(blob.reshape(grid.shape), full[0, 0], rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize(("dim", "da"), [(2, None), (3, None), (2, 0.2)])
def test_numba_step_matches_numpy_reference(dim, da):
    numerics = {"dim": dim, "dx": 1.0 if dim == 2 else 2.0, "dt": 0.05, "da": da}
    fast = _model(numerics, mm_case="heterogeneous", omega=3.0, rho=2.0)
    slow = _model({**numerics, "kernel": "numpy"}, mm_case="heterogeneous", omega=3.0, rho=2.0)
    a = fast.advance(fast.initial_state(), 0.0, 1.0)
    b = slow.advance(slow.initial_state(), 0.0, 1.0)
    scale = np.max(a.p)
    np.testing.assert_allclose(a.p_by_age(), b.p_by_age(), rtol=1e-10, atol=1e-13 * scale)
    np.testing.assert_allclose(a.q_by_age(), b.q_by_age(), rtol=1e-10, atol=1e-13 * scale)
    for name in ("p_old", "q_old", "mm", "mde", "o2", "necrotic"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-10, atol=1e-13)


# ---- space convergence of the motion operator --------------------------------------------------
def _motion_error(h: float, rho: float, diff: float) -> float:
    """Max-norm error of the discrete D Δn − ρ∇·(n∇f) against the exact operator for smooth
    Neumann-compatible n and f on [0, 10]²."""
    p = InvasionParameters()
    grid = domain_grid(p, 2, h)
    x, y = grid.mesh()
    k = np.pi / p.L
    n = 2.0 + np.cos(k * x) * np.cos(k * y)
    f = 0.3 + 0.1 * np.cos(k * x) * np.cos(2 * k * y)
    nx, ny = -k * np.sin(k * x) * np.cos(k * y), -k * np.cos(k * x) * np.sin(k * y)
    fx = -0.1 * k * np.sin(k * x) * np.cos(2 * k * y)
    fy = -0.2 * k * np.cos(k * x) * np.sin(2 * k * y)
    lap_n = -2 * k**2 * (n - 2.0)
    lap_f = -5 * k**2 * (f - 0.3)
    exact = diff * lap_n - rho * (nx * fx + ny * fy + n * lap_f)
    dens = n[None, None].repeat(5, axis=0)
    dt = 1e-3
    moved = dens[:1].copy()
    shape3 = _shape3(grid)
    whole = pde_box.whole(shape3)
    grads = pde_motion.face_gradients(f.reshape(shape3), whole, h)
    pde_motion.move_slabs(moved.reshape(1, *shape3), np.ones(1, dtype=bool), np.array([diff]),
                          np.array([rho]), *grads, dt, h, whole, 1, 0.0)  # fmt: skip
    return float(np.max(np.abs((moved[0, 0] - n) / dt - exact)))


def test_motion_operator_converges():
    """Diffusion alone: second order; with upwind haptotaxis: first order (max norm)."""
    hs = (0.5, 0.25, 0.125)
    diff_err = [_motion_error(h, 0.0, 0.05) for h in hs]
    full_err = [_motion_error(h, 0.5, 0.05) for h in hs]
    diff_orders = np.log2(np.array(diff_err[:-1]) / diff_err[1:])
    full_orders = np.log2(np.array(full_err[:-1]) / full_err[1:])
    assert np.all(diff_orders > 1.9), (diff_err, diff_orders)
    assert np.all(full_orders > 0.9), (full_err, full_orders)


def test_solution_converges_under_grid_refinement():
    """Short run of the full model: the cell density on grids 1/2, 1/4, 1/8 coarsened to 1/2
    differs by a shrinking amount (observed order ≥ 0.9)."""
    out = []
    for dx in (0.5, 0.25, 0.125):
        model = _model({"dx": dx, "dt": 0.02}, rho=2.0, D_n=0.02, mm_case="heterogeneous")
        s = model.advance(model.initial_state(), 0.0, 0.4)
        dens = (s.cells_p() + s.cells_q()).sum(axis=0)
        r = round(0.5 / dx)
        out.append(dens.reshape(20, r, 20, r).mean(axis=(1, 3)))
    d1 = np.max(np.abs(out[0] - out[1]))
    d2 = np.max(np.abs(out[1] - out[2]))
    assert np.log2(d1 / d2) > 0.9, (d1, d2)


# ---- interface and input checks -------------------------------------------------------------
def test_representation_interface_and_registry():
    assert family("invasion").representation_class("pde") is InvasionPDE
    model = _model({"dx": 1.0, "dt": 0.05})
    s = model.advance(model.initial_state(), 0.0, 0.1)
    fields = model.fields(s)
    for name, dims in model.field_dims.items():
        assert fields[name].ndim == len(dims)
        for d, size in zip(dims, fields[name].shape, strict=True):
            assert model.coords()[d].size == size
    obs = model.observables(s)
    assert abs(obs["mass_cells"] - _mass(model, s).sum()) < 1e-12
    assert obs["n_p0"] == pytest.approx(obs["mass_p0"] / model.params.M_cell)
    info = model.variable_info()
    assert all(k in info for k in obs)
    assert model.describe_numerics()["age_bins"] == 120
    assert model.time_step == 0.05


def test_a_pickled_model_leaves_its_step_buffers_behind_and_steps_the_same():
    """The step's work arrays (kept for the run) are not pickled (ensembles ship models to
    workers); the unpickled model rebuilds them and steps bit for bit the same."""
    model = _model({"dx": 1.0, "dt": 0.05})
    s = model.advance(model.initial_state(), 0.0, 0.1)
    assert model._buffers is not None
    clone = pickle.loads(pickle.dumps(model))
    assert clone._buffers is None
    assert len(pickle.dumps(model)) < model._buffers.nbytes
    a, b = model.advance(s.copy(), 0.1, 0.2), clone.advance(s.copy(), 0.1, 0.2)
    assert np.array_equal(a.p, b.p) and np.array_equal(a.q, b.q)


def test_bad_numerics_are_rejected():
    with pytest.raises(InputError, match="max_state_gb"):
        _model({"dim": 3})  # seed resolution in 3D: 166 GB
    with pytest.raises(InputError, match="a_max"):
        _model({"dx": 1.0}, a_max=4.0)
    with pytest.raises(InputError, match=r"'da': 0.015.*multiple of dt = 0.01"):
        _model({"dx": 1.0, "da": 0.015})
    with pytest.raises(InputError, match=r"'da': 0.005.*multiple"):
        _model({"dx": 1.0, "da": 0.005})
    with pytest.raises(InputError, match="dim"):
        _model({"dim": 4})
    with pytest.raises(InputError, match=r"'kernel'.*'cuda'.*numba"):
        _model({"kernel": "cuda"})
    model = _model({"dx": 1.0, "dt": 0.05})
    with pytest.raises(InputError, match="multiple"):
        model.advance(model.initial_state(), 0.0, 0.123)


# ---- what the seed reports (spec §7), on a coarser grid ------------------------------------
@pytest.mark.slow
def test_homogeneous_ring_necrotic_core_and_phenotype_takeover():
    """Homogeneous MM, dx = 1/4, t = 12: proliferating cells form a ring outside the quiescent
    ones around an empty (necrotic) core, and the aggressive phenotypes gain ground."""
    model = _model({"dx": 0.25})
    s = model.advance(model.initial_state(), 0.0, 12.0)
    obs = model.observables(s)
    assert obs["radius_p"] > obs["radius_q"] > 2.5
    assert obs["mass_necrotic"] > 5 * obs["mass_cells"]
    r = model.grid.radius((5.0, 5.0))
    living = (s.cells_p() + s.cells_q()).sum(axis=0)
    assert living[r < 1.5].max() < 0.02 * living.max()  # necrotic core
    share = _mass(model, s) / _mass(model, s).sum()
    assert share[3] + share[4] > 0.15  # they start as 0 and stay below 1 % until t = 2.5


@pytest.mark.slow
def test_heterogeneous_invasion_prefers_the_matrix_peaks():
    """Heterogeneous MM (peaks at (2.5, 2.5) and (7.5, 7.5)): the cell mass spreads further
    along the diagonal through the peaks than across it."""
    model = _model({"dx": 0.25}, mm_case="heterogeneous")
    s = model.advance(model.initial_state(), 0.0, 12.0)
    x, y = model.grid.mesh()
    along, across = (x + y - 10) / np.sqrt(2), (x - y) / np.sqrt(2)
    w = (s.cells_p() + s.cells_q()).sum(axis=0)
    w = w / w.sum()
    assert np.sqrt((w * along**2).sum()) > 1.04 * np.sqrt((w * across**2).sum())


@pytest.mark.parametrize("age_max", [0.0, 0.004])
def test_initial_ages_narrower_than_one_bin_go_to_bin_zero(age_max):
    model = _model({"dx": 2.0, "dt": 0.01}, cell_age_max0=age_max)
    s = model.initial_state()
    ages = s.p_by_age()[0].sum(axis=(1, 2))
    assert ages[0] > 0 and np.all(ages[1:] == 0)
    assert model.grid.integrate(s.cells_p()).sum() == pytest.approx(5.0, rel=1e-12)


def test_time_convergence_first_order():
    """Lie splitting and backward-Euler fields: successive differences of the cell density and
    O2 at t = 2 halve with Δt (stressed case: necrosis, quiescence and reactivation active)."""
    out = []
    for dt in (0.04, 0.02, 0.01):
        model = _model({"dx": 1.0, "dt": dt}, mm_case="heterogeneous", omega=5.0)
        s = model.advance(model.initial_state(), 0.0, 2.0)
        out.append(((s.cells_p() + s.cells_q()).sum(axis=0), s.o2))
    for k in (0, 1):
        d1 = np.max(np.abs(out[0][k] - out[1][k]))
        d2 = np.max(np.abs(out[1][k] - out[2][k]))
        assert 0.85 < np.log2(d1 / d2) < 1.3, (k, d1, d2)


def test_seed_resolution_3d_scenario_fits_in_memory():
    """invasion-3d-seed-resolution: the seed's 3D grid (120³, Δt = 0.005) with Δa = 0.125 and
    pr_age_max = 3 needs 25 age bins (3.6 GB); with Δa = Δt it is refused."""
    resolved = resolve(load_scenario("invasion-3d-seed-resolution"), "pde")
    model = resolved.representation()  # no state allocated yet
    assert model.grid.shape == (120, 120, 120) and model.dt == 0.005
    assert model.n_age == 25 and model.age_steps == 25
    gb = 2 * 5 * (model.n_age + 1) * 120**3 * 8 / 1e9
    assert 3.5 < gb < model.settings.max_state_gb
    with pytest.raises(InputError, match="max_state_gb"):
        InvasionPDE(model.params, {**model.numerics, "da": None})


def test_3d_run_writes_its_figures(tmp_path):
    """A short 3D PDE run through the CLI: result, report, the snapshots (dominant phenotype
    in the plane z = L/2: a regression, the argmax once ran along z) and the shell figure with
    its third panel (plane z = L/2 of type 4 and the necrotic core), which only the PDE has."""
    from click.testing import CliRunner

    from oncoscale.cli import main

    args = ["run", "invasion-3d", "--model", "pde", "--t-end", "1", "--quiet", "--out"]
    args += [str(tmp_path), "--set", "numerics.dx=0.5", "--set", "numerics.dt=0.02"]
    args += ["--set", "numerics.da=0.1"]  # 20 cells per axis: planes and phenotypes differ
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    png = tmp_path / "figures" / "shells.png"
    import matplotlib.image as mpimg

    height, width = mpimg.imread(png).shape[:2]
    assert width / height > 3.5  # three panels (the IBM version has two)
    assert (tmp_path / "report.html").exists()


@pytest.mark.parametrize("change", [{"D_n": 1e16}, {"rho": 1e16}])
def test_motion_needing_absurdly_many_substeps_is_refused(change):
    """A hostile D_n or rho asked for 1e12–1e15 explicit motion sub-steps per step (an
    endless run); refused naming D_n, rho and dt."""
    model = InvasionPDE(InvasionParameters(**change), {"dx": 1.0})
    state = model.initial_state()
    with pytest.raises(InputError, match=r"sub-steps.*D_n, rho or numerics\.dt"):
        for _ in range(3):  # MM gradients (haptotaxis) appear once enzymes degrade it
            model.step(state)


def test_overflowing_motility_is_refused_at_set_up():
    """rho = 1e308 times the phenotype factors w overflows (once a NaN sub-step count and a
    traceback)."""
    with pytest.raises(InputError, match="'rho' = 1e"):
        InvasionPDE(InvasionParameters(rho=1e308), {"dx": 1.0})
