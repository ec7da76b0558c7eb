"""Additive (IMEX) Runge–Kutta time integration with embedded error control.

The right-hand side splits as y' = N(t, y) + L y (N explicit, L linear and implicit, possibly
frozen at the step start); default tableau ARK3(2)4L[2]SA, PI step control, positivity guard.
Units are the caller's. Derivation and details: docs/numerics.md, section 'Additive (IMEX)
Runge–Kutta with error control'.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol

import numba
import numpy as np

from oncoscale.errors import InputError
from oncoscale.numerics.checkpointable import state_class


class SplitProblem(Protocol):
    """What :class:`IMEXIntegrator` needs from a semi-discrete model."""

    def freeze(self, t: float, y: np.ndarray) -> None:
        """Fix the implicit operator L for a step starting at (t, y)."""

    def explicit(self, t: float, y: np.ndarray) -> np.ndarray:
        """N(t, y), including any correction for the frozen L."""

    def implicit(self, t: float, y: np.ndarray) -> np.ndarray:
        """L y with the frozen operator."""

    def solve(self, t: float, rhs: np.ndarray, c: float) -> np.ndarray:
        """x with (I − c L) x = rhs."""

    def max_step(self, t: float, y: np.ndarray) -> float:
        """Largest step the explicit part tolerates (math.inf if none)."""

    # optional: ``filter_error(t, y, err, c) -> err``, e.g. (I − cL)⁻¹ err with L frozen at y:
    # the stiff components' part of the embedded error estimate is damped as in Hairer &
    # Wanner (IV.8), so stiff, slaved components do not shrink the step for nothing.
    # optional: ``project(y) -> y``, applied to each step's result (e.g. a conservative
    # positivity projection of a stiff, slaved component).


@dataclass(frozen=True)
class ARKTableau:
    """Butcher tableaux of an additive Runge–Kutta pair with an embedded solution."""

    name: str
    a_explicit: np.ndarray
    a_implicit: np.ndarray
    b: np.ndarray
    b_embedded: np.ndarray | None
    c: np.ndarray
    order: int

    @property
    def stages(self) -> int:
        """Number of stages."""
        return self.b.size


def _frac_array(rows) -> np.ndarray:
    return np.array([[float(Fraction(x)) for x in row] for row in rows])


def _ark324() -> ARKTableau:
    g = Fraction(1767732205903, 4055673282236)
    ai = [
        [0, 0, 0, 0],
        [g, g, 0, 0],
        [Fraction(2746238789719, 10658868560708), Fraction(-640167445237, 6845629431997), g, 0],
        [
            Fraction(1471266399579, 7840856788654),
            Fraction(-4482444167858, 7529755066697),
            Fraction(11266239266428, 11593286722821),
            g,
        ],
    ]
    ae = [
        [0, 0, 0, 0],
        [2 * g, 0, 0, 0],
        [Fraction(5535828885825, 10492691773637), Fraction(788022342437, 10882634858940), 0, 0],
        [
            Fraction(6485989280629, 16251701735622),
            Fraction(-4246266847089, 9704473918619),
            Fraction(10755448449292, 10357097424841),
            0,
        ],
    ]
    b_hat = [
        Fraction(2756255671327, 12835298489170),
        Fraction(-10771552573575, 22201958757719),
        Fraction(9247589265047, 10645013368117),
        Fraction(2193209047091, 5459859503100),
    ]
    a_i = _frac_array(ai)
    return ARKTableau(
        name="ARK3(2)4L[2]SA",
        a_explicit=_frac_array(ae),
        a_implicit=a_i,
        b=a_i[-1].copy(),
        b_embedded=np.array([float(x) for x in b_hat]),
        c=np.array([0.0, float(2 * g), 0.6, 1.0]),
        order=3,
    )


def _imex_euler() -> ARKTableau:
    """Forward–backward Euler (1st order, no embedded solution): for convergence tests."""
    return ARKTableau(
        name="IMEX-Euler",
        a_explicit=np.array([[0.0, 0.0], [1.0, 0.0]]),
        a_implicit=np.array([[0.0, 0.0], [0.0, 1.0]]),
        b=np.array([0.0, 1.0]),
        b_embedded=None,
        c=np.array([0.0, 1.0]),
        order=1,
    )


TABLEAUX: dict[str, ARKTableau] = {t.name: t for t in (_ark324(), _imex_euler())}
DEFAULT_TABLEAU = "ARK3(2)4L[2]SA"


@functools.cache
def explicit_stability_interval(tableau: str = DEFAULT_TABLEAU, upper: float = 20.0) -> float:
    """Largest x with |R(−ξ)| ≤ 1 for all ξ ∈ [0, x], R the stability polynomial of the
    tableau's explicit part (3.66 for ARK3(2)4L[2]SA; resolution 1e-4): explicit terms with
    real negative eigenvalues down to −λ are stable for steps h ≤ x/λ."""
    tab = TABLEAUX[tableau]
    # A is strictly lower triangular: R(z) = 1 + Σ_k z^k bᵀA^(k−1)e, a polynomial
    coeffs, term = [1.0], np.ones(tab.stages)
    for _ in range(tab.stages):
        coeffs.append(float(tab.b @ term))
        term = tab.a_explicit @ term
    xs = np.arange(0.0, upper, 1e-4)
    unstable = np.abs(np.polynomial.polynomial.polyval(-xs, coeffs)) > 1.0 + 1e-12
    return float(xs[np.argmax(unstable) - 1]) if unstable.any() else upper


@dataclass
class IntegratorStats:
    """Counters of an integrator's work."""

    steps: int = 0
    rejected_error: int = 0
    rejected_negative: int = 0
    explicit_evals: int = 0
    implicit_solves: int = 0
    min_step: float = math.inf
    max_step: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """Plain dict for result attrs."""
        return {k: float(v) for k, v in self.__dict__.items()}


@state_class
@dataclass
class StepMemory:
    """What an adaptive integrator carries from one call to the next: the proposed next step
    and the previous error norm (PI controller). A representation keeps it in its state, so a
    resumed run continues with the same steps (bit-identical)."""

    step: float | None = None
    err_prev: float = 1.0


@dataclass
class IMEXIntegrator:
    """Adaptive (or fixed-step) IMEX-ARK integrator.

    ``atol`` may be a scalar or an array broadcastable to the state (per-component scales).
    ``fixed_step`` disables error control (the step is still shortened to hit t1 exactly).
    The step-size memory is :attr:`memory` unless :meth:`advance` is given one (the caller's
    state then owns it).
    """

    problem: SplitProblem
    rtol: float = 1e-5
    atol: float | np.ndarray = 1e-8
    tableau: str = DEFAULT_TABLEAU
    first_step: float | None = None
    max_step_size: float = math.inf
    fixed_step: float | None = None
    negative_tolerance: float | np.ndarray | Callable[[np.ndarray], np.ndarray] | None = None
    safety: float = 0.9
    #: most adaptive steps one :meth:`advance` may need (checked from its 2000th step on, by
    #: projecting the steps so far over the interval): more means the problem is too stiff for
    #: these parameters or tolerances, and the run would go on for ever
    max_steps: float = 1e7
    stats: IntegratorStats = field(default_factory=IntegratorStats)
    memory: StepMemory = field(default_factory=lambda: StepMemory())

    def __post_init__(self) -> None:
        if self.tableau not in TABLEAUX:
            raise InputError(
                f"invalid value for 'tableau': {self.tableau!r}; allowed: {', '.join(TABLEAUX)}"
            )
        tab = TABLEAUX[self.tableau]
        if self.fixed_step is None:
            if tab.b_embedded is None:
                raise InputError(f"tableau {tab.name} has no error estimate: give fixed_step")
            if not 0 < self.rtol < 1:
                raise InputError(f"invalid value for 'rtol': {self.rtol!r}; allowed: 0 < rtol < 1")
            if np.any(np.asarray(self.atol) <= 0):
                raise InputError(f"invalid value for 'atol': {self.atol!r}; allowed: > 0")
        elif not self.fixed_step > 0:
            raise InputError(f"invalid value for 'dt': {self.fixed_step!r}; allowed: > 0")
        if not self.max_step_size > 0:
            raise InputError(f"invalid value for 'dt_max': {self.max_step_size!r}; allowed: > 0")
        self._tab = tab
        self._atol_full: np.ndarray | None = None
        self._terms: np.ndarray | None = None

    # ------------------------------------------------------------------------------------
    def _stage_solution(self, t: float, y: np.ndarray, h: float):
        """One ARK step of size h: (y_new, error estimate or None)."""
        tab, prob = self._tab, self.problem
        prob.freeze(t, y)
        s = tab.stages
        flat = np.ascontiguousarray(y, dtype=float).reshape(-1)
        if self._terms is None or self._terms.shape != (2, s, flat.size):
            self._terms = np.empty((2, s, flat.size))  # stage terms, reused from step to step
        n_terms, l_terms = self._terms
        for i in range(s):
            rhs = np.empty(flat.size)
            _stage_rhs(rhs, flat, h * tab.a_explicit[i, :i], n_terms, h * tab.a_implicit[i, :i],
                       l_terms)  # fmt: skip
            rhs = rhs.reshape(y.shape)
            gamma = tab.a_implicit[i, i]
            ti = t + tab.c[i] * h
            if gamma != 0.0:
                stage = prob.solve(ti, rhs, h * gamma)
                self.stats.implicit_solves += 1
                l_terms[i] = ((stage - rhs) / (h * gamma)).reshape(-1)  # = L·stage, consistent
            else:
                stage = rhs
                l_terms[i] = np.broadcast_to(prob.implicit(ti, stage), y.shape).reshape(-1)
            n_terms[i] = np.broadcast_to(prob.explicit(ti, stage), y.shape).reshape(-1)
            self.stats.explicit_evals += 1
        y_new = np.empty(flat.size)
        err = np.zeros(flat.size) if tab.b_embedded is not None else None
        b_err = np.zeros(s) if err is None else h * (tab.b - tab.b_embedded)
        _combine_stages(flat, n_terms, l_terms, h * tab.b, b_err, y_new,
                        np.zeros(1) if err is None else err)  # fmt: skip
        y_new = y_new.reshape(y.shape)
        if hasattr(prob, "project"):  # optional hook, see SplitProblem
            y_new = prob.project(y_new)
        return y_new, None if err is None else err.reshape(y.shape)

    def _error_norm(self, err: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> float:
        """Weighted RMS norm of err with scales atol + rtol·max(|y0|, |y1|); inf if y1 is
        not finite."""
        if self._atol_full is None or self._atol_full.shape != y0.shape:
            self._atol_full = np.ascontiguousarray(np.broadcast_to(self.atol, y0.shape), float)
        return _weighted_rms(err.reshape(-1), y0.reshape(-1), y1.reshape(-1),
                             self._atol_full.reshape(-1), self.rtol)  # fmt: skip

    def _too_negative(self, y: np.ndarray) -> bool:
        tol = self.negative_tolerance
        if tol is None:
            return False
        if callable(tol):  # e.g. scaled with the state (round-off of global solves)
            tol = tol(y)
        return bool(np.any(y < -np.asarray(tol)))

    def advance(
        self, y: np.ndarray, t0: float, t1: float, memory: StepMemory | None = None
    ) -> np.ndarray:
        """Integrate from t0 to exactly t1 and return y(t1); ``memory`` (default
        :attr:`memory`) is updated in place."""
        mem = self.memory if memory is None else memory
        if t1 <= t0:
            return y
        t = t0
        y = np.array(y, dtype=float, copy=True)
        steps = 0
        while t < t1 - 1e-12 * max(1.0, abs(t1)):
            steps += 1
            if self.fixed_step is None and steps >= 2000:
                projected = steps * (t1 - t0) / max(t - t0, 1e-300)
                if projected > self.max_steps:
                    raise FloatingPointError(
                        f"the adaptive steps ({mem.step:.3g} after {steps}) would number about "
                        f"{projected:.2g} between t = {t0:g} and {t1:g}: the problem is too "
                        "stiff for these parameter values or tolerances"
                    )
            limit = min(self.max_step_size, self.problem.max_step(t, y), t1 - t)
            if self.fixed_step is not None:
                h = min(self.fixed_step, limit)
                check_step(t, h)
                y_new, _ = self._stage_solution(t, y, h)
                if not np.all(np.isfinite(y_new)):
                    raise FloatingPointError(f"non-finite solution at t = {t + h:g}")
                t, y = t + h, y_new
                self._record(h)
                continue
            proposal = mem.step if mem.step is not None else (self.first_step or 1e-3 * (t1 - t0))
            h = min(proposal, limit)
            truncated = h < proposal  # shortened to land on t1 or by the stability limit
            while True:
                y_new, err = self._stage_solution(t, y, h)
                if hasattr(self.problem, "filter_error") and np.all(np.isfinite(y_new)):
                    # optional hook, see SplitProblem
                    err = self.problem.filter_error(t, y, err, h * self._tab.a_implicit[-1, -1])
                norm = self._error_norm(err, y, y_new)  # inf if y_new is not finite
                if norm <= 1.0 and self._too_negative(y_new):
                    self.stats.rejected_negative += 1
                    h *= 0.5
                elif norm <= 1.0:
                    break
                else:
                    self.stats.rejected_error += 1
                    factor = 0.2 if not math.isfinite(norm) else max(0.2, self.safety * norm**-0.33)
                    h *= min(factor, 0.9)
                truncated = False
                if h < 1e-14 * max(1.0, abs(t)):
                    raise FloatingPointError(
                        f"step size underflow at t = {t:g} (error norm {norm:.3g}); "
                        "the problem may be ill-posed or the tolerances too tight"
                    )
            t_next = t + h
            self._record(h)
            # PI step-size controller (Gustafsson), exponents for an embedded order-2 error
            norm = max(norm, 1e-10)
            factor = self.safety * norm ** (-0.7 / 3) * mem.err_prev ** (0.4 / 3)
            mem.err_prev = norm
            h_next = h * min(5.0, max(0.2, factor))
            mem.step = max(h_next, proposal) if truncated else h_next
            t, y = t_next, y_new
        return y

    def _record(self, h: float) -> None:
        self.stats.steps += 1
        self.stats.min_step = min(self.stats.min_step, h)
        self.stats.max_step = max(self.stats.max_step, h)


@numba.njit(cache=True)
def _stage_rhs(out, y, c_expl, n_terms, c_impl, l_terms):  # pragma: no cover - compiled
    """out = y + Σ_j (c_expl[j] N_j + c_impl[j] L_j) over the stages j < len(c_expl)."""
    m = c_expl.shape[0]
    for k in range(y.shape[0]):
        acc = y[k]
        for j in range(m):
            if c_expl[j] != 0.0:
                acc += c_expl[j] * n_terms[j, k]
            if c_impl[j] != 0.0:
                acc += c_impl[j] * l_terms[j, k]
        out[k] = acc


@numba.njit(cache=True)
def _combine_stages(y, n_terms, l_terms, c_sol, c_err, y_new, err):  # pragma: no cover
    """y_new = y + Σ_j c_sol[j](N_j + L_j); err = Σ_j c_err[j](N_j + L_j) (if err has the
    size of y)."""
    with_err = err.shape[0] == y.shape[0]
    for k in range(y.shape[0]):
        acc = y[k]
        e = 0.0
        for j in range(c_sol.shape[0]):
            total = n_terms[j, k] + l_terms[j, k]
            if c_sol[j] != 0.0:
                acc += c_sol[j] * total
            if c_err[j] != 0.0:
                e += c_err[j] * total
        y_new[k] = acc
        if with_err:
            err[k] = e


@numba.njit(cache=True)
def _weighted_rms(err, y0, y1, atol, rtol):  # pragma: no cover - compiled
    total = 0.0
    for k in range(err.shape[0]):
        if not math.isfinite(y1[k]):
            return math.inf
        scale = atol[k] + rtol * max(abs(y0[k]), abs(y1[k]))
        total += (err[k] / scale) ** 2
    value = math.sqrt(total / err.shape[0])
    return value if math.isfinite(value) else math.inf


def check_step(t: float, h: float) -> None:
    """FloatingPointError if a step h no longer moves t (a fixed step below the resolution
    of the time: the loop would never end)."""
    if not t + h > t:
        raise FloatingPointError(f"the step {h:g} does not advance the time t = {t:g}")


def explicit_euler(problem: SplitProblem, y: np.ndarray, t0: float, t1: float, dt: float):
    """Reference forward-Euler integration of y' = N + L y with a fixed step dt.

    Returns (y(t1), number of steps). Stability is the caller's responsibility.
    """
    t = t0
    y = np.array(y, dtype=float, copy=True)
    steps = 0
    while t < t1 - 1e-12 * max(1.0, abs(t1)):
        h = min(dt, t1 - t)
        check_step(t, h)
        problem.freeze(t, y)
        y = y + h * (problem.explicit(t, y) + problem.implicit(t, y))
        t += h
        steps += 1
    return y, steps
