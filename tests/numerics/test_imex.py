"""IMEX additive Runge-Kutta integrator: order conditions, convergence, control, guards."""

import math

import numpy as np
import pytest

from oncoscale.errors import InputError
from oncoscale.numerics.imex import TABLEAUX, IMEXIntegrator, explicit_euler


class LogisticDecay:
    """y' = y(1 − y) (explicit) − λ y (implicit, stiff), exact solution known."""

    def __init__(self, lam):
        self.lam = lam

    def freeze(self, t, y):
        pass

    def explicit(self, t, y):
        return y * (1 - y)

    def implicit(self, t, y):
        return -self.lam * y

    def solve(self, t, rhs, c):
        return rhs / (1 + c * self.lam)

    def max_step(self, t, y):
        return math.inf

    def exact(self, t, y0):
        r = 1 - self.lam
        return r * y0 * np.exp(r * t) / (r + y0 * (np.exp(r * t) - 1))


def test_ark324_order_conditions():
    tab = TABLEAUX["ARK3(2)4L[2]SA"]
    b, c = tab.b, tab.c
    for a in (tab.a_explicit, tab.a_implicit):
        np.testing.assert_allclose(a.sum(axis=1), c, atol=1e-15)
        assert b.sum() == pytest.approx(1)
        assert b @ c == pytest.approx(1 / 2)
        assert b @ c**2 == pytest.approx(1 / 3)
        assert b @ a @ c == pytest.approx(1 / 6)
    assert b @ tab.a_explicit @ c == pytest.approx(1 / 6)
    assert tab.b_embedded.sum() == pytest.approx(1)
    assert tab.b_embedded @ c == pytest.approx(1 / 2)


@pytest.mark.parametrize(("tableau", "order"), [("ARK3(2)4L[2]SA", 3), ("IMEX-Euler", 1)])
def test_fixed_step_convergence_order(tableau, order):
    prob = LogisticDecay(0.5)
    errs = []
    for h in (0.2, 0.1, 0.05):
        integ = IMEXIntegrator(prob, tableau=tableau, fixed_step=h)
        y = integ.advance(np.array([0.1]), 0.0, 4.0)
        errs.append(abs(y[0] - prob.exact(4.0, 0.1)))
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(rates - order) < 0.3), rates


def test_stiff_implicit_part_is_stable_with_large_steps():
    prob = LogisticDecay(1e6)
    integ = IMEXIntegrator(prob, fixed_step=0.5)
    y = integ.advance(np.array([0.5]), 0.0, 10.0)
    assert abs(y[0]) < 1e-6  # stable (ARK is not positivity-preserving: tiny negatives)


@pytest.mark.parametrize("rtol", [1e-4, 1e-6, 1e-8])
def test_adaptive_error_tracks_tolerance(rtol):
    prob = LogisticDecay(0.5)
    integ = IMEXIntegrator(prob, rtol=rtol, atol=rtol * 1e-2)
    y = integ.advance(np.array([0.1]), 0.0, 10.0)
    err = abs(y[0] - prob.exact(10.0, 0.1)) / abs(prob.exact(10.0, 0.1))
    assert err < 30 * rtol
    assert integ.stats.steps > 0


def test_adaptive_chunks_equal_single_call_closely():
    prob = LogisticDecay(0.5)
    one = IMEXIntegrator(prob, rtol=1e-8, atol=1e-10).advance(np.array([0.1]), 0.0, 8.0)
    integ = IMEXIntegrator(prob, rtol=1e-8, atol=1e-10)
    y = np.array([0.1])
    for k in range(8):
        y = integ.advance(y, float(k), float(k + 1))
    assert y[0] == pytest.approx(one[0], rel=1e-6)


def test_validation_messages():
    prob = LogisticDecay(1.0)
    with pytest.raises(InputError, match="rtol"):
        IMEXIntegrator(prob, rtol=2.0)
    with pytest.raises(InputError, match="tableau"):
        IMEXIntegrator(prob, tableau="RK4")
    with pytest.raises(InputError, match="fixed_step"):
        IMEXIntegrator(prob, tableau="IMEX-Euler")


def test_negative_guard_rejects_steps():
    class Quadratic(LogisticDecay):
        def explicit(self, t, y):
            return -100.0 * y * y  # exact y = 1/(1+100t) > 0; big explicit steps overshoot

    prob = Quadratic(0.0)
    integ = IMEXIntegrator(prob, rtol=0.5, atol=1e6, first_step=0.05, negative_tolerance=0.0)
    y = integ.advance(np.array([1.0]), 0.0, 0.05)
    assert y[0] >= 0
    assert integ.stats.rejected_negative > 0


def test_explicit_euler_first_order():
    prob = LogisticDecay(0.5)
    e = [
        abs(explicit_euler(prob, np.array([0.1]), 0, 2, h)[0][0] - prob.exact(2, 0.1))
        for h in (0.01, 0.005)
    ]
    assert math.log2(e[0] / e[1]) == pytest.approx(1.0, abs=0.1)
