"""Malthusian growth rate of the age-structured population at constant oxygen (spec §7).

With constant c, no motion and no quiescence (t_pq = 0), the total population grows like
e^{rt} where r solves the Euler–Lotka equation

    2 ∫₀^∞ e^{−(r + μ*(c)) a} pr(a, c) S(a) da = 1,   S(a) = exp(−∫₀^a pr(s, c) ds).

Mutation does not change r (every phenotype divides at the same rate).
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, optimize

from oncoscale.errors import InputError
from oncoscale.models.invasion.params import InvasionParameters, division_rate, necrosis_rate


def euler_lotka(params: InvasionParameters, c: float, r: float) -> float:
    """2 ∫ e^{−(r + μ*) a} pr(a, c) S(a) da − 1 (zero at the Malthusian rate), integrated as
    the ODE pair H' = pr, I' = 2 e^{−(r+μ*)a − H} pr over the division window (DOP853)."""
    mu = float(necrosis_rate(c, params))

    def rhs(a: float, y: np.ndarray) -> list[float]:
        rate = float(division_rate(a, c, params))
        return [rate, 2.0 * np.exp(-(r + mu) * a - y[0]) * rate]

    sol = integrate.solve_ivp(
        rhs,
        (params.pr_age_min, params.pr_age_max),
        [0.0, 0.0],
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
    )
    return float(sol.y[1, -1]) - 1.0


def malthusian_rate(params: InvasionParameters, c: float) -> float:
    """The growth rate r (1/day) at constant oxygen ``c`` (mass/len^dim)."""
    if euler_lotka(params, c, 50.0) >= 0:
        raise InputError(f"no Malthusian rate below 50/day at c = {c!r}")
    lo = -float(necrosis_rate(c, params)) - 1e-3
    while euler_lotka(params, c, lo) <= 0:
        lo -= 1.0
        if lo < -1e3:
            raise InputError(f"no division at c = {c!r}: the population cannot grow")
    return float(optimize.brentq(lambda r: euler_lotka(params, c, r), lo, 50.0, xtol=1e-13))
