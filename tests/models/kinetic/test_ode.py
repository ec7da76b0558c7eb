"""Homogeneous reductions of the kinetic family: parameters, Jacobians, closed-form equilibria,
exact bifurcation values (checked by independent criteria), the bifurcation hook, the table."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from oncoscale.errors import InputError
from oncoscale.models.kinetic import macro_kernels
from oncoscale.models.kinetic.bifurcation import bifurcation_problem
from oncoscale.models.kinetic.equilibria import (
    b_bar,
    b_tilde,
    common_of,
    equilibria,
    equilibrium,
    initial_levels,
    transcritical_value,
)
from oncoscale.models.kinetic.kinetic import Kinetic1D
from oncoscale.models.kinetic.macro import MacroPDE1D
from oncoscale.models.kinetic.ode import SYSTEMS, VARIABLES, to_common
from oncoscale.models.kinetic.ode_model import KineticODE
from oncoscale.models.kinetic.params import NAMED_SETS, KineticParameters, from_groups, named
from oncoscale.models.kinetic.table import equilibrium_table, table_markdown

KEYS_OF = {"cc": ("cc-linear", "cc-cross"), "pc": ("pc-linear", "pc-self", "pc-self-limit")}


# ---- parameters ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(NAMED_SETS))
def test_named_sets_reproduce_their_groups(name):
    _, groups = NAMED_SETS[name]
    g = named(name).groups()
    for k, v in groups.items():
        assert g[k] == pytest.approx(v, rel=1e-14)
    assert g["P"] == pytest.approx(g["E"] / g["C"])


def test_parameter_validation_names_parameter_value_and_range():
    with pytest.raises(InputError, match=r"'reduction'.*'self'.*allowed: linear, cross"):
        named("kinetic-cc-escape", reduction="self")
    # b22 = b32 is needed only where the slides' closure is chosen, not by the parameters
    p = named("kinetic-pc-window", reduction="self", b22=0.3)
    for build in (
        lambda: KineticODE(p),
        lambda: MacroPDE1D(p),
        lambda: bifurcation_problem(p, "B"),
    ):
        with pytest.raises(InputError, match=r"'b22'.*0.3.*b22 = b32.*'self-limit'"):
            build()
    for red in ("self-limit", "linear"):  # the true limit and the kinetic model do not need it
        KineticODE(p.updated(reduction=red))
        MacroPDE1D(p.updated(reduction=red))
    Kinetic1D(p)
    with pytest.raises(InputError, match=r"'d12'.*-1.*>= 0"):
        KineticParameters.from_mapping({"d12": -1})
    with pytest.raises(InputError, match=r"'seed_x'.*allowed: <= length"):
        KineticParameters.from_mapping({"seed_x": 2.0})
    with pytest.raises(InputError, match=r"'length'.*1e\+300.*<= 1000000"):  # spacing² overflowed
        KineticParameters.from_mapping({"length": 1e300})
    hostile = KineticParameters.from_mapping(
        {"case": "pc", "initial_state": "coexistence", "n4": 1e308}
    )
    with pytest.raises(InputError, match=r"E4 does not exist.*A = d12/r = .*b14 n4 = 1e\+308"):
        initial_levels(hostile)  # the message shows the groups and where they come from


def test_speed_gives_the_diffusivity_in_every_dimension():
    p = KineticParameters(lambda2=3.0)
    for dim in (1, 2):
        s = p.speed(2, dim)
        assert s**2 / (dim * p.lambda2) == pytest.approx(p.D2)


# ---- right-hand sides ------------------------------------------------------------------------
@pytest.mark.parametrize("key", list(SYSTEMS))
def test_jacobians_match_finite_differences(key):
    g = named("kinetic-pc-window" if key.startswith("pc") else "kinetic-cc-escape").groups()
    f, jac = SYSTEMS[key]
    rng = np.random.default_rng(1)
    for _ in range(5):
        y = rng.uniform(0.1, 2.0, size=len(VARIABLES[key]))
        h = 1e-6
        num = np.column_stack(
            [(f(y + h * e, g) - f(y - h * e, g)) / (2 * h) for e in np.eye(y.size)]
        )
        np.testing.assert_allclose(jac(y, g), num, rtol=1e-6, atol=1e-8)


def test_reductions_match_the_dimensional_reaction_terms():
    """The scaled ODEs are the PDE reaction terms R_i in τ = r t, Y1 = (d21/d12) n1, with
    non-trivial scales (r = 3, d21/d12 = 2.5)."""
    p = KineticParameters(
        case="pc", b14=2.0, n4=1.5, n5=0.8, d12=0.4, d21=1.0, b13=0.7, d35=1.3, a35=0.9,
        b32=0.3, b22=0.3, kappa2=0.6, n2_star=1.7,
    )  # fmt: skip
    g, r, s = p.groups(), p.rate, p.tumour_scale
    coeffs = macro_kernels.pack_coefficients(p)
    n = np.array([0.3, 0.8, 0.5])
    lin = macro_kernels.reactions_reference(n[:, None], coeffs, "pc-linear")[:, 0]
    y = np.array([n[0] * s, n[1], n[2]])
    np.testing.assert_allclose(SYSTEMS["pc-linear"][0](y, g) * r, [lin[0] * s, lin[1], lin[2]])
    ps = p.updated(reduction="self")
    big_n = n[1] + n[2]
    slf = macro_kernels.reactions_reference(np.array([[n[0]], [big_n]]), coeffs, "pc-self")[:, 0]
    np.testing.assert_allclose(
        SYSTEMS["pc-self"][0](np.array([y[0], big_n]), ps.groups()) * r, [slf[0] * s, slf[1]]
    )
    pc = KineticParameters(b14=2.0, n4=1.5, d12=0.4, d21=1.0, d35=1.3, n5=0.8, immune_mass=1.3)
    gc, rc, sc = pc.groups(), pc.rate, pc.tumour_scale
    coef_c = macro_kernels.pack_coefficients(pc)
    cross = macro_kernels.reactions_reference(np.array([[0.3], [1.3]]), coef_c, "cc-cross")
    assert SYSTEMS["cc-cross"][0](np.array([0.3 * sc]), gc)[0] * rc == pytest.approx(
        cross[0, 0] * sc
    )


# ---- equilibria --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(NAMED_SETS))
def test_closed_form_equilibria_are_equilibria(name):
    case, _ = NAMED_SETS[name]
    g = named(name).groups()
    for key in KEYS_OF[case]:
        eqs = equilibria(key, g)
        assert eqs, key
        for eq in eqs:
            assert np.max(np.abs(SYSTEMS[key][0](eq.state, g))) < 1e-12, (key, eq.name)


@pytest.mark.parametrize("name", list(NAMED_SETS))
def test_linear_and_nonlinear_reductions_share_their_equilibria(name):
    case, _ = NAMED_SETS[name]
    g = named(name).groups()
    lin, *others = (dict((e.name, e) for e in equilibria(k, g)) for k in KEYS_OF[case])
    for other in others:
        assert set(lin) == set(other)
        for k in lin:
            np.testing.assert_allclose(common_of(lin[k]), common_of(other[k]), atol=1e-10)


def test_cc_coexistence_matches_the_slides_formula():
    g = named("kinetic-cc-eradication").groups()
    a, b, c, i = g["A"], g["B"], g["C"], g["I"]
    e2 = equilibrium("cc-linear", g, "E2")
    np.testing.assert_allclose(
        e2.state, [(c / a) * (a * i - 1) / (1 + b * i), (1 + b * i) / (a + b)]
    )


@pytest.mark.parametrize("key", ["cc-linear", "cc-cross"])
def test_transcritical_point_ai_equals_one(key):
    g = named("kinetic-cc-escape").groups()
    a_star = transcritical_value(g, "A")
    assert a_star == pytest.approx(1.0 / g["I"])
    below = equilibrium(key, {**g, "A": a_star * 0.99}, "E1")
    above = equilibrium(key, {**g, "A": a_star * 1.01}, "E1")
    assert not below.stable and above.stable
    # E2 passes through E1 at AI = 1 and is feasible only above
    e2 = equilibrium(key, {**g, "A": a_star}, "E2")
    assert abs(common_of(e2)[0]) < 1e-14
    assert equilibrium(key, {**g, "A": a_star * 1.01}, "E2").feasible
    assert not equilibrium(key, {**g, "A": a_star * 0.99}, "E2").feasible


@pytest.mark.parametrize("key", ["pc-linear", "pc-self", "pc-self-limit"])
def test_b_tilde_is_the_fold_of_e3_e4(key):
    g = named("kinetic-pc-window").groups()
    bt = b_tilde(g, key)
    assert bt == pytest.approx((g["A"] - g["P"]) ** 2 / (4 * g["P"]))
    assert equilibrium(key, {**g, "B": bt * (1 + 1e-6)}, "E3") is None
    e3 = equilibrium(key, {**g, "B": bt * (1 - 1e-9)}, "E3")
    e4 = equilibrium(key, {**g, "B": bt * (1 - 1e-9)}, "E4")
    assert np.max(np.abs(common_of(e3) - common_of(e4))) < 1e-3
    # at the fold one eigenvalue crosses zero
    assert np.min(np.abs(e4.eigenvalues)) < 1e-3


def _hurwitz(key, g, bval):
    """Independent Hopf criterion: 2D trace = 0; 3D Routh–Hurwitz a1 a2 − a3 = 0."""
    gb = {**g, "B": bval}
    eq = equilibrium(key, gb, "E4")
    jac = SYSTEMS[key][1](eq.state, gb)
    if jac.shape[0] == 2:
        return np.trace(jac)
    _, a1, a2, a3 = np.poly(jac)
    return a1 * a2 - a3


@pytest.mark.parametrize(
    "name,key",
    [
        ("kinetic-pc-window", "pc-self"),
        ("kinetic-pc-window", "pc-linear"),
        ("kinetic-pc-coexistence", "pc-linear"),
        ("kinetic-pc-coexistence", "pc-self"),
        ("kinetic-pc-window", "pc-self-limit"),
        ("kinetic-pc-coexistence", "pc-self-limit"),
    ],
)
def test_b_bar_is_a_hopf_point_of_e4(name, key):
    g = named(name).groups()
    bb = b_bar(g, key)
    assert 0 < bb < b_tilde(g, key)
    eq = equilibrium(key, {**g, "B": bb}, "E4")
    lead = eq.eigenvalues[np.argmax(eq.eigenvalues.real)]
    assert abs(lead.real) < 1e-9 and abs(lead.imag) > 1e-2  # a Hopf point
    # independent criterion, bracketed around B̄
    indep = brentq(
        lambda b: _hurwitz(key, g, b), bb * 0.98, min(bb * 1.02, b_tilde(g, key) * 0.9999)
    )
    assert indep == pytest.approx(bb, rel=1e-8)
    # E4 stable just above B̄, unstable just below
    assert equilibrium(key, {**g, "B": bb * 1.001}, "E4").stable
    assert not equilibrium(key, {**g, "B": bb * 0.999}, "E4").stable


def test_self_and_linear_windows_differ():
    g = named("kinetic-pc-window").groups()
    assert b_bar(g, "pc-self") == pytest.approx(4.5, rel=1e-9)
    assert b_bar(g, "pc-linear") > 7.5 > b_bar(g, "pc-self")


def test_initial_levels():
    assert initial_levels(named("kinetic-cc-escape")) == (0.0, 1.0, 0.0)
    y1, n2, n3 = initial_levels(named("kinetic-pc-tumour-free"))
    e1 = equilibrium("pc-linear", named("kinetic-pc-tumour-free").groups(), "E1")
    assert e1.stable and (y1, n2, n3) == pytest.approx(tuple(common_of(e1)))
    with pytest.raises(InputError, match=r"initial_state.*coexistence"):
        initial_levels(named("kinetic-pc-coexistence"))
    assert initial_levels(named("kinetic-pc-coexistence", initial_state="coexistence")) == (
        pytest.approx((0.25, 2.0, 0.5))
    )


# ---- bifurcation hook --------------------------------------------------------------------------
def test_bifurcation_problem_starts_at_equilibria_and_lists_exact_values():
    p = named("kinetic-pc-window")
    bp = bifurcation_problem(p, "B")
    assert bp.reduction == "linear" and bp.variables == ("Y1", "Y2", "Y3")
    for start in bp.starts(5.0):
        assert np.max(np.abs(bp.rhs(start.state, 5.0))) < 1e-12
    assert float(bp.notes["B_tilde (E3/E4 fold)"]) == pytest.approx(b_tilde(p.groups()))
    bs = bifurcation_problem(p.updated(reduction="self"), "B", "self")
    assert float(bs.notes["B_bar (E4 stability change)"]) == pytest.approx(4.5)
    cc = bifurcation_problem(named("kinetic-cc-escape"), "A", "cross")
    assert float(cc.notes["transcritical AI = 1"]) == pytest.approx(1.0)
    assert cc.jac(np.array([0.0]), 0.5).shape == (1, 1)


def test_bifurcation_problem_accepts_dimensional_parameters():
    p = named("kinetic-pc-window")  # r = 1, so b13 = B
    by_group = bifurcation_problem(p, "B")
    by_param = bifurcation_problem(p, "b13")
    x = np.array([0.2, 1.0, 0.4])
    np.testing.assert_allclose(by_group.rhs(x, 4.0), by_param.rhs(x, 4.0))
    assert by_param.param_units == "1/(t*n)"


def test_bifurcation_problem_rejects_bad_input():
    p = named("kinetic-cc-escape")
    with pytest.raises(InputError, match="invalid bifurcation parameter 'Q'"):
        bifurcation_problem(p, "Q")
    with pytest.raises(InputError, match=r"'reduction'.*'self'"):
        bifurcation_problem(p, "A", "self")
    with pytest.raises(InputError, match=r"'b22'.*b22 = b32"):
        bifurcation_problem(named("kinetic-pc-window", b22=0.3), "B", "self")


# ---- table ------------------------------------------------------------------------------------
def test_table_covers_every_set_and_flags_the_disagreements():
    rows = equilibrium_table()
    assert {r.scenario for r in rows} == set(NAMED_SETS)
    assert all(r.same_state for r in rows)
    differ = {(r.scenario, r.equilibrium) for r in rows if not r.same_stability}
    # exactly where the computed stability of E4 differs between linear and self
    for r in rows:
        if (r.scenario, r.equilibrium) in differ:
            assert (r.max_re["linear"] < 0) != (r.max_re[r.reductions[1]] < 0)
    assert ("kinetic-pc-oscillation", "E4") in differ
    text = table_markdown()
    assert "| kinetic-pc-window |" in text and "self (slides' closure)" in text


def test_slides_closure_and_true_limit_share_equilibria_stability_and_windows():
    """Spec §2: the slides' self system is the true limit with the n2 equation divided by
    1 + φ' > 0, so equilibria, their stability, B̃ and B̄ coincide, eigenvalues do not."""
    for r in equilibrium_table():
        if "self" not in r.reductions:
            continue
        assert r.kind["self"] == r.kind["self-limit"], r
        assert (r.max_re["self"] < 0) == (r.max_re["self-limit"] < 0)
    window = named("kinetic-pc-window").groups()
    assert b_bar(window, "pc-self-limit") == pytest.approx(b_bar(window, "pc-self"), rel=1e-9)
    assert b_tilde(window, "pc-self-limit") == pytest.approx(b_tilde(window, "pc-self"))
    e4s, e4l = (equilibrium(k, window, "E4").eigenvalues for k in ("pc-self", "pc-self-limit"))
    assert abs(e4s[0].real - e4l[0].real) > 0.02  # -0.024 vs -0.050: magnitudes differ


def test_self_limit_ode_is_the_n2_slow_system_and_stops_where_slaving_breaks():
    """The self-limit reduction equals the n2-slow system written out independently, and a
    run reaching E·Y2 = C stops with an error naming the condition."""
    p = named("kinetic-pc-coexistence", reduction="self-limit", initial_state="coexistence")
    g = p.groups()

    def slow(t, y):
        n3 = g["F"] * y[1] ** 2 / (g["C"] - g["E"] * y[1])
        return [-g["A"] * y[0] * y[1] + g["B"] * y[0] * n3 + y[0],
                -g["A"] * y[0] * y[1] + g["D"] * n3 - g["G"] * y[1] + g["H"]]  # fmt: skip

    rep = KineticODE(p, {"rtol": 1e-11, "atol": 1e-13})
    y0 = rep.initial_state()
    y1 = rep.advance(y0.copy(), 0.0, 5.0)
    ref = solve_ivp(slow, (0, 5.0), y0[:2], rtol=1e-11, atol=1e-13).y[:, -1]
    np.testing.assert_allclose(y1[:2], ref, rtol=1e-7)
    assert y1[2] == pytest.approx(g["F"] * ref[1] ** 2 / (g["C"] - g["E"] * ref[1]), rel=1e-7)
    # a strong source of active cells drives b32 n2 up to d35 n5: a clear error
    bad = KineticODE(p.updated(n2_star=40.0, kappa2=5.0))
    start = np.array([0.0, 5.0, g["F"] * 25.0 / (g["C"] - 5.0 * g["E"])])  # C/E = 10
    with pytest.raises(InputError, match=r"self-limit closure breaks down.*E·Y2.*C"):
        bad.advance(start, 0.0, 50.0)


# ---- ODE representation ----------------------------------------------------------------------
def test_ode_representation_matches_direct_dimensional_integration():
    p = from_groups("pc", {"A": 1, "B": 2, "C": 2, "D": 1, "E": 0.2, "F": 0.2, "G": 1, "H": 2},
                    initial_state="coexistence", b14=2.0, n4=0.5, d21=2.0)  # fmt: skip
    # changing b14, n4, d21 changes the groups; compare against the dimensional R_i directly
    rep = KineticODE(p, {"rtol": 1e-11, "atol": 1e-13})
    y0 = rep.initial_state()
    y1 = rep.advance(y0, 0.0, 3.0)
    coeffs = macro_kernels.pack_coefficients(p)
    sol = solve_ivp(
        lambda t, n: macro_kernels.reactions_reference(n[:, None], coeffs, "pc-linear")[:, 0],
        (0.0, 3.0), y0, rtol=1e-11, atol=1e-13, method="LSODA",
    )  # fmt: skip
    np.testing.assert_allclose(y1, sol.y[:, -1], rtol=1e-7)
    obs = rep.observables(y1)
    assert obs["N"] == pytest.approx(obs["n2"] + obs["n3"])
    assert math.isclose(obs["Y1"], y1[0] * p.tumour_scale)
    assert to_common("pc-linear", np.array([1.0, 2.0, 3.0]), p.groups()).tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "name,key", [("kinetic-pc-window", "pc-self"), ("kinetic-pc-coexistence", "pc-linear")]
)
def test_hopf_at_b_bar_is_supercritical(name, key):
    """Just below B̄ a stable limit cycle surrounds the unstable E4 (the cycle branch that the
    continuation follows): bounded oscillations whose amplitude grows away from B̄."""
    g = named(name).groups()
    bb = b_bar(g, key)
    amplitudes = []
    f, jac = SYSTEMS[key]
    for factor in (0.999, 0.99):
        gb = {**g, "B": bb * factor}
        y0 = equilibrium(key, gb, "E4").state * (1 + 1e-3)
        sol = solve_ivp(lambda t, y, gb=gb: f(y, gb), (0, 3000), y0, method="LSODA",
                        rtol=1e-9, atol=1e-12, jac=lambda t, y, gb=gb: jac(y, gb))  # fmt: skip
        late = sol.y[0][sol.t > 2000]
        assert sol.status == 0 and np.all(np.isfinite(late))
        amplitudes.append(np.ptp(late))
    assert 1e-3 < amplitudes[0] < amplitudes[1] < 1.0
