"""Spatially homogeneous reductions of the kinetic family (spec §3), in scaled variables.

Systems ``cc-linear``, ``cc-cross``, ``pc-linear``, ``pc-self`` (the slides' closure) and
``pc-self-limit`` (the ε → 0 limit of the self scaling) in τ = r t and Y1 = (d21/d12) n1,
Y2 = n2, Y3 = n3, Y_N = n2 + n3, with the slaved immune split (:func:`immune_split`) and the
map to common coordinates (:func:`to_common`). Equations:
docs/kinetic.md, section 'Homogeneous reductions, equilibria and bifurcations'.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from oncoscale.errors import InputError
from oncoscale.models.kinetic.params import KineticParameters

Groups = Mapping[str, float]

#: reduction key -> names of the state components
VARIABLES: dict[str, tuple[str, ...]] = {
    "cc-linear": ("Y1", "Y2"),
    "cc-cross": ("Y1",),
    "pc-linear": ("Y1", "Y2", "Y3"),
    "pc-self": ("Y1", "YN"),
    "pc-self-limit": ("Y1", "Y2"),
}


class SlavingBreakdown(InputError):
    """The self-limit closure n3 = φ(n2) = F n2²/(C − E n2) left its domain E·Y2 < C."""


def system_key(case: str, reduction: str) -> str:
    """'cc-linear', 'cc-cross', 'pc-linear' or 'pc-self' (InputError for other pairs)."""
    key = f"{case}-{reduction}"
    if key not in VARIABLES:
        allowed = [k.split("-", 1)[1] for k in VARIABLES if k.startswith(case + "-")]
        raise InputError(
            f"invalid value for 'reduction': {reduction!r} with case {case!r}; "
            f"allowed: {', '.join(allowed)}"
        )
    return key


# ---------------------------------------------------------------------------------------
# right-hand sides and Jacobians (per unit τ)
# ---------------------------------------------------------------------------------------
def cc_linear(y: np.ndarray, g: Groups) -> np.ndarray:
    """CC linear-diffusion reduction."""
    y1, y2 = y
    a, b, c, i = g["A"], g["B"], g["C"], g["I"]
    return np.array([-a * y1 * y2 + b * y1 * (i - y2) + y1, -a * y1 * y2 + c * (i - y2)])


def cc_linear_jac(y: np.ndarray, g: Groups) -> np.ndarray:
    """Jacobian of :func:`cc_linear`."""
    y1, y2 = y
    a, b, c, i = g["A"], g["B"], g["C"], g["I"]
    return np.array([[-a * y2 + b * (i - y2) + 1.0, -(a + b) * y1], [-a * y2, -a * y1 - c]])


def cc_cross(y: np.ndarray, g: Groups) -> np.ndarray:
    """CC cross-diffusion reduction (N = I conserved, Y2 slaved)."""
    (y1,) = y
    a, b, c, i = g["A"], g["B"], g["C"], g["I"]
    return np.array([a * i * y1 * (b * y1 - c) / (c + a * y1) + y1])


def cc_cross_jac(y: np.ndarray, g: Groups) -> np.ndarray:
    """Jacobian (1×1) of :func:`cc_cross`."""
    (y1,) = y
    a, b, c, i = g["A"], g["B"], g["C"], g["I"]
    s = c + a * y1
    dg = a * i * c / s**2
    return np.array([[dg * (b * y1 - c) + a * i * y1 / s * b + 1.0]])


def pc_linear(y: np.ndarray, g: Groups) -> np.ndarray:
    """PC linear-diffusion reduction."""
    y1, y2, y3 = y
    a, b, c, d, e, f, gg, h = (g[k] for k in "ABCDEFGH")
    return np.array(
        [
            -a * y1 * y2 + b * y1 * y3 + y1,
            -a * y1 * y2 + d * y3 - gg * y2 + h,
            -c * y3 + e * y2 * y3 + f * y2**2,
        ]
    )


def pc_linear_jac(y: np.ndarray, g: Groups) -> np.ndarray:
    """Jacobian of :func:`pc_linear`."""
    y1, y2, y3 = y
    a, b, c, d, e, f, gg, _ = (g[k] for k in "ABCDEFGH")
    return np.array(
        [
            [-a * y2 + b * y3 + 1.0, -a * y1, b * y1],
            [-a * y2, -a * y1 - gg, d],
            [0.0, e * y3 + 2 * f * y2, -c + e * y2],
        ]
    )


def pc_self(y: np.ndarray, g: Groups) -> np.ndarray:
    """PC self-diffusion reduction (Y2, Y3 slaved to Y_N)."""
    y1, n = y
    a, b, d, gg, h, p = (g[k] for k in "ABDGHP")
    s = 1.0 + p * n
    return np.array([y1 * n * (b * p * n - a) / s + y1, n * (-a * y1 + d * p * n - gg) / s + h])


def pc_self_jac(y: np.ndarray, g: Groups) -> np.ndarray:
    """Jacobian of :func:`pc_self`."""
    y1, n = y
    a, b, d, gg, _, p = (g[k] for k in "ABDGHP")
    s = 1.0 + p * n
    return np.array(
        [
            [n * (b * p * n - a) / s + 1.0, y1 * (2 * b * p * n + b * p**2 * n**2 - a) / s**2],
            [-a * n / s, (-a * y1 - gg + 2 * d * p * n + d * p**2 * n**2) / s**2],
        ]
    )


def slaved_passive(y2, g: Groups):
    """φ(Y2) = F Y2²/(C − E Y2): the passive density slaved by the fast block of the self
    scaling (attracting while E Y2 < C; inf beyond)."""
    den = g["C"] - g["E"] * np.asarray(y2, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(den > 0, g["F"] * np.asarray(y2, dtype=float) ** 2 / den, np.inf)


def slaved_passive_slope(y2, g: Groups):
    """φ'(Y2) = F Y2 (2C − E Y2)/(C − E Y2)²."""
    c, e, f = g["C"], g["E"], g["F"]
    y2 = np.asarray(y2, dtype=float)
    return f * y2 * (2 * c - e * y2) / (c - e * y2) ** 2


def pc_self_limit(y: np.ndarray, g: Groups) -> np.ndarray:
    """PC self scaling, its ε → 0 limit (Y3 = φ(Y2) slaved, Y2 slow; spec §2, last point)."""
    y1, y2 = y
    a, b, d, gg, h = (g[k] for k in "ABDGH")
    y3 = float(slaved_passive(y2, g))
    return np.array([-a * y1 * y2 + b * y1 * y3 + y1, -a * y1 * y2 + d * y3 - gg * y2 + h])


def pc_self_limit_jac(y: np.ndarray, g: Groups) -> np.ndarray:
    """Jacobian of :func:`pc_self_limit`."""
    y1, y2 = y
    a, b, d, gg, _ = (g[k] for k in "ABDGH")
    y3, dphi = float(slaved_passive(y2, g)), float(slaved_passive_slope(y2, g))
    return np.array(
        [[-a * y2 + b * y3 + 1.0, -a * y1 + b * y1 * dphi], [-a * y2, -a * y1 + d * dphi - gg]]
    )


SYSTEMS: dict[str, tuple[Callable, Callable]] = {
    "cc-linear": (cc_linear, cc_linear_jac),
    "cc-cross": (cc_cross, cc_cross_jac),
    "pc-linear": (pc_linear, pc_linear_jac),
    "pc-self": (pc_self, pc_self_jac),
    "pc-self-limit": (pc_self_limit, pc_self_limit_jac),
}


def check_closure(params: KineticParameters, key: str) -> None:
    """InputError unless ``params`` admit the closure of ``key``: the slides' self-diffusion
    closure (``pc-self``) needs b22 = b32; the others need nothing."""
    if key == "pc-self" and not math.isclose(params.b22, params.b32, rel_tol=1e-12, abs_tol=1e-300):
        raise InputError(
            f"invalid value for 'b22': {params.b22!r} 1/(t*n) with reduction 'self'; allowed: "
            f"b22 = b32 = {params.b32!r} (the slides' self-diffusion closure needs it; reduction "
            "'self-limit', the ε → 0 limit of the self scaling, does not)"
        )


def reduction_of(params: KineticParameters, reduction: str | None = None) -> str:
    """The system key of ``params`` (``reduction`` overrides ``params.reduction``)."""
    return system_key(params.case, reduction or params.reduction)


# ---------------------------------------------------------------------------------------
# slaved split and common coordinates
# ---------------------------------------------------------------------------------------
def immune_split(key: str, y: np.ndarray, g: Groups) -> tuple[float, float]:
    """(Y2, Y3) of a reduced state: slaved for cc-cross / pc-self, read off otherwise."""
    if key == "cc-linear":
        return float(y[1]), float(g["I"] - y[1])
    if key == "cc-cross":
        n, y1 = g["I"], y[0]
        y2 = g["C"] * n / (g["C"] + g["A"] * y1)
        return float(y2), float(n - y2)
    if key == "pc-linear":
        return float(y[1]), float(y[2])
    if key == "pc-self":
        n, p = y[1], g["P"]
        return float(n / (1 + p * n)), float(p * n**2 / (1 + p * n))
    if key == "pc-self-limit":
        return float(y[1]), float(slaved_passive(y[1], g))
    raise InputError(f"unknown reduction '{key}'; allowed: {', '.join(VARIABLES)}")


def to_common(key: str, y: np.ndarray, g: Groups) -> np.ndarray:
    """(Y1, Y2, Y3) of a reduced state (for comparing reductions)."""
    y2, y3 = immune_split(key, y, g)
    return np.array([float(y[0]), y2, y3])


def from_common(key: str, y: np.ndarray) -> np.ndarray:
    """Reduced state from common coordinates (Y1, Y2, Y3) (the closure is not imposed)."""
    y1, y2, y3 = (float(v) for v in y)
    return {
        "cc-linear": np.array([y1, y2]),
        "cc-cross": np.array([y1]),
        "pc-linear": np.array([y1, y2, y3]),
        "pc-self": np.array([y1, y2 + y3]),
        "pc-self-limit": np.array([y1, y2]),
    }[key]
