"""Local reaction terms of the oncolytic model, shared by the ODE and the PDEs."""

from __future__ import annotations

import numpy as np

from oncoscale.errors import InputError
from oncoscale.models.oncolytic.params import OncolyticParameters


def tumour_reactions(
    u: np.ndarray, i: np.ndarray, z: np.ndarray, params: OncolyticParameters
) -> tuple[np.ndarray, np.ndarray]:
    """(du/dt, di/dt) from growth, infection, lysis and immune killing (cells/(mm²·h))."""
    p, K, beta, zeta = params.p, params.K, params.beta, params.zeta
    infection = (beta / K) * u * i
    du = p * u * (1.0 - (u + i) / K) - infection - (zeta / K) * u * z
    di = infection - params.q * i - (zeta / K) * i * z
    return du, di


def chemoattractant_production(
    u: np.ndarray, i: np.ndarray, phi: np.ndarray, params: OncolyticParameters
) -> np.ndarray:
    """Saturating secretion (α_φ i + γ_φ u)(φ* − φ) (µg/(mm²·h)); decay is separate."""
    return (params.alpha_phi * i + params.gamma_phi * u) * (params.phi_star - phi)


def injection_fraction(options: dict) -> float:
    """The fraction of uninfected cells an ``inject`` action infects (default 0.3), validated."""
    fraction = float(options.get("fraction", 0.3))
    if not 0 <= fraction <= 1:
        raise InputError(f"invalid value for 'fraction': {fraction!r}; allowed: 0 <= fraction <= 1")
    return fraction
