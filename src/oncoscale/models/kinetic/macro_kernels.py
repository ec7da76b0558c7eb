"""Reaction terms and closures of the macroscopic PDEs (spec §2): a fused Numba kernel and the
plain NumPy reference of the same formulas (tested against each other).

Dimensional densities (units n), rates per unit time t. Formulas and state layouts:
docs/kinetic.md, section 'Reaction terms and closures'.
"""

from __future__ import annotations

import numba
import numpy as np

from oncoscale.models.kinetic.params import KineticParameters

KEYS: dict[str, int] = {
    "cc-linear": 0, "cc-cross": 1, "pc-linear": 2, "pc-self": 3, "pc-self-limit": 4
}  # fmt: skip
N_VARIABLES: dict[str, int] = {
    "cc-linear": 3, "cc-cross": 2, "pc-linear": 3, "pc-self": 2, "pc-self-limit": 2
}  # fmt: skip


def pack_coefficients(p: KineticParameters) -> np.ndarray:
    """[d12, b13, b14 n4, d21, d35 n5, a35 n5, b32, b22, κ2, n2*] (the kernel's layout)."""
    return np.array(
        [
            p.d12,
            p.b13,
            p.b14 * p.n4,
            p.d21,
            p.d35 * p.n5,
            p.a35 * p.n5,
            p.b32,
            p.b22,
            p.kappa2,
            p.n2_star,
        ]
    )


# ---------------------------------------------------------------------------------------
# NumPy reference
# ---------------------------------------------------------------------------------------
def split_reference(y: np.ndarray, coeffs: np.ndarray, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(n2, n3) of a state: read off (linear) or from the slaved closure (cross/self/self-limit;
    self-limit: n3 = φ(n2) = b22 n2²/(d35 n5 − b32 n2), inf where b32 n2 >= d35 n5)."""
    if key in ("cc-linear", "pc-linear"):
        return y[1], y[2]
    if key == "pc-self-limit":
        n2 = y[1]
        den = coeffs[4] - coeffs[6] * np.maximum(n2, 0.0)
        with np.errstate(divide="ignore"):
            return n2, np.where(den > 0, coeffs[7] * n2 * n2 / den, np.inf)
    n1 = np.maximum(y[0], 0.0)
    big_n = np.maximum(y[1], 0.0)
    k = coeffs[4]
    if key == "cc-cross":
        den = k + coeffs[3] * n1
        return k * big_n / den, coeffs[3] * n1 * big_n / den
    den = k + coeffs[6] * big_n
    return k * big_n / den, coeffs[6] * big_n**2 / den


def reactions_reference(y: np.ndarray, coeffs: np.ndarray, key: str) -> np.ndarray:
    """Reaction terms (same layout as y), NumPy."""
    d12, b13, r, d21, k35, a35, b32, b22, kap, n2s = coeffs
    n1 = y[0]
    n2, n3 = split_reference(y, coeffs, key)
    out = np.empty_like(y)
    out[0] = n1 * (-d12 * n2 + b13 * n3 + r)
    if key == "cc-linear":
        sw = -d21 * n1 * n2 + k35 * n3
        out[1], out[2] = sw, -sw
    elif key == "cc-cross":
        out[1] = 0.0
    elif key == "pc-linear":
        out[1] = -d21 * n1 * n2 + a35 * n3 - kap * (n2 - n2s)
        out[2] = -k35 * n3 + b32 * n2 * n3 + b22 * n2**2
    else:  # pc-self (N equation) and pc-self-limit (n2 equation): the same R2
        out[1] = -d21 * n1 * n2 + a35 * n3 - kap * (n2 - n2s)
    return out


# ---------------------------------------------------------------------------------------
# Numba kernel
# ---------------------------------------------------------------------------------------
@numba.njit(cache=True)
def _reactions_kernel(y, coeffs, key, out):  # pragma: no cover - compiled
    c = coeffs
    d12, b13, r, d21, k35, a35, b32, b22, kap, n2s = (
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]
    )  # fmt: skip
    for j in range(y.shape[1]):
        n1 = y[0, j]
        if key == 0 or key == 2:
            n2 = y[1, j]
            n3 = y[2, j]
        elif key == 4:
            n2 = y[1, j]
            den = k35 - b32 * max(n2, 0.0)
            n3 = b22 * n2 * n2 / den if den > 0.0 else np.inf
        else:
            n1c = max(n1, 0.0)
            bn = max(y[1, j], 0.0)
            if key == 1:
                den = k35 + d21 * n1c
                n2 = k35 * bn / den
                n3 = d21 * n1c * bn / den
            else:
                den = k35 + b32 * bn
                n2 = k35 * bn / den
                n3 = b32 * bn * bn / den
        out[0, j] = n1 * (-d12 * n2 + b13 * n3 + r)
        if key == 0:
            sw = -d21 * n1 * n2 + k35 * n3
            out[1, j] = sw
            out[2, j] = -sw
        elif key == 1:
            out[1, j] = 0.0
        else:
            out[1, j] = -d21 * n1 * n2 + a35 * n3 - kap * (n2 - n2s)
            if key == 2:
                out[2, j] = -k35 * n3 + b32 * n2 * n3 + b22 * n2 * n2


def reactions(y: np.ndarray, coeffs: np.ndarray, key: str) -> np.ndarray:
    """Reaction terms (same layout as y) by the compiled kernel."""
    flat = np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=np.float64)
    out = np.empty_like(flat)
    _reactions_kernel(flat, coeffs, KEYS[key], out)
    return out.reshape(y.shape)
