"""Closed-form equilibria of the homogeneous reductions, their stability, and the exact
bifurcation values (AI = 1, B̃, B̄).

Equilibria in the scaled variables of :mod:`.ode`, ordered by Y2 (tumour-free E1 < E2,
coexistence E3 < E4). Formulas and their derivation: docs/kinetic.md, section 'Homogeneous
reductions, equilibria and bifurcations'.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from oncoscale.errors import InputError
from oncoscale.models.bifurcation import Equilibrium
from oncoscale.models.kinetic.ode import SYSTEMS, Groups, to_common

_TOL = 1e-12


def common_of(eq: Equilibrium) -> np.ndarray:
    """(Y1, Y2, Y3) of a kinetic equilibrium: the variables common to every reduction."""
    return np.array([eq.labelled["Y1"], eq.labelled["Y2"], eq.labelled["Y3"]])


def _quadratic_roots(a: float, b: float, c: float) -> list[float]:
    """Real roots of a x² + b x + c = 0, ascending (linear if a = 0)."""
    if abs(a) < _TOL:
        return [] if abs(b) < _TOL else [-c / b]
    disc = b * b - 4 * a * c
    if disc < -_TOL * max(1.0, b * b):
        return []
    sq = math.sqrt(max(disc, 0.0))
    # numerically stable pair
    q = -0.5 * (b + math.copysign(sq, b)) if b != 0 else 0.5 * sq
    roots = [q / a, c / q] if q != 0 else [0.0, 0.0]
    return sorted(roots)


def _states(key: str, g: Groups) -> list[tuple[str, np.ndarray]]:
    a, b, c = g["A"], g["B"], g["C"]
    if key in ("cc-linear", "cc-cross"):
        i = g["I"]
        e1 = np.array([0.0, i])
        out = [("E1", e1)]
        if a > 0:
            e2 = np.array([(c / a) * (a * i - 1) / (1 + b * i), (1 + b * i) / (a + b)])
            out.append(("E2", e2))
        return [(n, s[:1] if key == "cc-cross" else s) for n, s in out]
    d, e, f, gg, h, p = (g[k] for k in "DEFGHP")
    out = []
    if key == "pc-linear":
        free = _quadratic_roots(d * f + gg * e, -(gg * c + h * e), h * c)
        for name, y2 in zip(("E1", "E2"), free, strict=False):
            denom = c - e * y2
            y3 = f * y2**2 / denom if abs(denom) > _TOL else math.inf
            out.append((name, np.array([0.0, y2, y3])))
        coex = _quadratic_roots(a * e + b * f, -(a * c + e), c) if b > 0 and a > 0 else []
        for name, y2 in zip(("E3", "E4"), coex, strict=False):
            y3 = (a * y2 - 1) / b
            y1 = (d * y3 - gg * y2 + h) / (a * y2)
            out.append((name, np.array([y1, y2, y3])))
    elif key == "pc-self-limit":
        # the same polynomials as pc-linear (Y3 = φ(Y2) there too); state (Y1, Y2)
        return [(name, state[:2]) for name, state in _states("pc-linear", g)]
    elif key == "pc-self":
        free = _quadratic_roots(d * p, h * p - gg, h)
        out += [(n, np.array([0.0, v])) for n, v in zip(("E1", "E2"), free, strict=False)]
        coex = _quadratic_roots(b * p, p - a, 1.0) if a > 0 else []
        for name, n in zip(("E3", "E4"), coex, strict=False):
            y1 = (d * p * n**2 - gg * n + h * (1 + p * n)) / (a * n)
            out.append((name, np.array([y1, n])))
    else:
        raise InputError(f"unknown reduction '{key}'")
    return sorted(out, key=lambda t: t[0])


def equilibria(key: str, g: Groups, feasible_only: bool = False) -> list[Equilibrium]:
    """Closed-form equilibria of reduction ``key`` with groups ``g``.

    Names: CC E1 (eradication), E2 (coexistence); PC E1, E2 tumour-free and E3, E4
    coexistence, each pair ordered by Y2. Infeasible (negative) equilibria are kept, marked
    ``feasible = False``, unless ``feasible_only``.
    """
    _, jac = SYSTEMS[key]
    out = []
    for name, state in _states(key, g):
        if not np.all(np.isfinite(state)):
            continue
        eig = np.linalg.eigvals(jac(state, g))
        eig = eig[np.lexsort((-eig.imag, -eig.real))]
        common = to_common(key, state, g)
        feasible = bool(np.all(common >= -1e-12))
        if feasible_only and not feasible:
            continue
        out.append(
            Equilibrium(
                name,
                state,
                eig,
                feasible,
                reduction=key,
                labelled={"Y1": common[0], "Y2": common[1], "Y3": common[2]},
            )
        )
    return out


def equilibrium(key: str, g: Groups, name: str) -> Equilibrium | None:
    """One named equilibrium (None if it does not exist for these groups)."""
    for eq in equilibria(key, g):
        if eq.name == name:
            return eq
    return None


# ---------------------------------------------------------------------------------------
# exact bifurcation values
# ---------------------------------------------------------------------------------------
def transcritical_value(g: Groups, param: str) -> float:
    """Value of ``param`` ('A' or 'I') at the CC transcritical point AI = 1."""
    if param == "A":
        return 1.0 / g["I"]
    if param == "I":
        return 1.0 / g["A"] if g["A"] > 0 else math.inf
    raise InputError(f"invalid parameter '{param}' for AI = 1; allowed: A, I")


def b_tilde(g: Groups, key: str = "pc-linear") -> float:
    """B̃: the value of B at which E3 and E4 are born (saddle-node), coexistence for B < B̃.

    pc-linear and pc-self-limit: (AC − E)²/(4CF); pc-self: (A − P)²/(4P) (equal when E = F).
    """
    a, c, e, f, p = g["A"], g["C"], g["E"], g["F"], g["P"]
    if key in ("pc-linear", "pc-self-limit"):
        return (a * c - e) ** 2 / (4 * c * f) if c * f > 0 else math.inf
    if key == "pc-self":
        return (a - p) ** 2 / (4 * p) if p > 0 else math.inf
    raise InputError(f"invalid reduction '{key}' for B̃; allowed: pc-linear, pc-self, pc-self-limit")


def max_real_part(key: str, g: Groups, name: str = "E4") -> float:
    """Largest real part of the eigenvalues at equilibrium ``name`` (nan if absent)."""
    eq = equilibrium(key, g, name)
    return float(np.max(eq.eigenvalues.real)) if eq is not None else math.nan


def b_bar(g: Groups, key: str = "pc-linear", n_scan: int = 400) -> float:
    """B̄: the largest B < B̃ where E4 changes stability (max Re λ(E4) = 0), or nan.

    Found by scanning B on (0, B̃) from the top and refining the first sign change with
    Brent's method (tolerance 1e-12).
    """
    top = b_tilde(g, key)
    if not math.isfinite(top) or top <= 0:
        return math.nan

    def f(bval: float) -> float:
        return max_real_part(key, {**g, "B": bval}, "E4")

    grid = top * (1 - np.geomspace(1e-6, 1.0, n_scan, endpoint=False))
    prev_b, prev_v = None, None
    for bval in grid:
        v = f(bval)
        if not math.isfinite(v):
            continue
        if prev_v is not None and np.sign(v) != np.sign(prev_v) and v != 0:
            return float(brentq(f, bval, prev_b, xtol=1e-12))
        prev_b, prev_v = bval, v
    return math.nan


def initial_levels(params) -> tuple[float, float, float]:
    """Homogeneous start (Y1, n2, n3) on which the tumour seed is added (spec §4).

    ``initial_state = "tumour-free"``: Y1 = tumour_background and the immune cells at the
    tumour-free state (CC: n2 = I, n3 = 0; PC: the stable feasible tumour-free equilibrium, the
    same for the linear and the self reduction when b22 = b32). ``"coexistence"``: every
    population at the feasible coexistence equilibrium (CC: E2, PC: E4), the same for both
    reductions of a case, plus tumour_background.
    """
    g = params.groups()
    if params.initial_state == "coexistence":
        name = "E2" if params.case == "cc" else "E4"
        eq = equilibrium(f"{params.case}-linear", g, name)
        if eq is None or not eq.feasible:
            raise InputError(
                f"invalid value for 'initial_state': 'coexistence'; the coexistence equilibrium "
                f"{name} does not exist (or is negative) for these groups ({params.groups_text()})"
                "; allowed: tumour-free"
            )
        y1, y2, y3 = (float(v) for v in common_of(eq))
        return y1 + params.tumour_background, y2, y3
    if params.case == "cc":
        return params.tumour_background, float(params.immune_mass), 0.0
    free = [e for e in equilibria("pc-linear", g, feasible_only=True) if e.name in ("E1", "E2")]
    if not free:
        raise InputError(
            "invalid value for 'initial_state': 'tumour-free'; these groups have no feasible "
            "tumour-free state ((DF + GE) Y2² − (GC + HE) Y2 + HC = 0 has no root with "
            f"0 <= Y2 < C/E; {params.groups_text()}); allowed: coexistence"
        )
    stable = [e for e in free if e.stable]
    pick = (stable or free)[0]
    return params.tumour_background, float(common_of(pick)[1]), float(common_of(pick)[2])
