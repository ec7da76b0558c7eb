"""A test-only family whose "model" is a function with known Sobol indices: the Ishigami
function (x1..x3 on [-π, π], x4 does not enter) and Sobol's G function (a = 0, 1, 4.5, 9, 99,
99 on [0, 1]^6); its stochastic representation adds Gaussian noise of sd ``noise``. Studies
run it through the same engine as every model (registered with ``register_family``)."""

from __future__ import annotations

import math

import numpy as np

from oncoscale.io.scenario import parse_scenario
from oncoscale.models.base import HomogeneousRepresentation, VariableInfo
from oncoscale.models.parameters import ParameterSet, param
from oncoscale.models.registry import Family, register_family

A, B = 7.0, 0.1
G_A = (0.0, 1.0, 4.5, 9.0, 99.0, 99.0)


class TestFunctionParameters(ParameterSet):
    """Inputs of the Ishigami and G functions (dimensionless)."""

    family = "testfunctions"
    time_units = "1"
    time_label = "1"
    x1: float = param(0.0, "1", "Ishigami input 1", ge=-math.pi, le=math.pi)
    x2: float = param(0.0, "1", "Ishigami input 2", ge=-math.pi, le=math.pi)
    x3: float = param(0.0, "1", "Ishigami input 3", ge=-math.pi, le=math.pi)
    x4: float = param(0.0, "1", "input that no function uses", ge=-math.pi, le=math.pi)
    g1: float = param(0.5, "1", "G input 1", ge=0, le=1)
    g2: float = param(0.5, "1", "G input 2", ge=0, le=1)
    g3: float = param(0.5, "1", "G input 3", ge=0, le=1)
    g4: float = param(0.5, "1", "G input 4", ge=0, le=1)
    g5: float = param(0.5, "1", "G input 5", ge=0, le=1)
    g6: float = param(0.5, "1", "G input 6", ge=0, le=1)
    noise: float = param(0.0, "1", "sd of the Gaussian noise (stochastic model)", ge=0)


def ishigami(p) -> float:
    return math.sin(p.x1) + A * math.sin(p.x2) ** 2 + B * p.x3**4 * math.sin(p.x1)


def sobol_g(p) -> float:
    xs = (p.g1, p.g2, p.g3, p.g4, p.g5, p.g6)
    return float(np.prod([(abs(4 * x - 2) + a) / (1 + a) for x, a in zip(xs, G_A, strict=True)]))


class Functions(HomogeneousRepresentation):
    """The state is the pair (Ishigami, G) of the parameters; time does nothing."""

    family = "testfunctions"
    model = "exact"

    def initial_state(self, rng=None) -> np.ndarray:
        return np.array([ishigami(self.params), sobol_g(self.params)])

    def advance(self, state, t0, t1):
        return state

    def observables(self, state) -> dict[str, float]:
        return {"ishigami": float(state[0]), "sobol_g": float(state[1])}

    def variable_info(self) -> dict[str, VariableInfo]:
        return {
            "ishigami": VariableInfo("1", "Ishigami function"),
            "sobol_g": VariableInfo("1", "Sobol G function"),
        }


class NoisyFunctions(Functions):
    """The functions plus N(0, noise²), drawn once per run from the run's stream."""

    model = "noisy"
    stochastic = True

    def initial_state(self, rng=None) -> np.ndarray:
        return super().initial_state() + self.params.noise * rng.standard_normal(2)


FAMILY = Family(
    name="testfunctions",
    description="test functions with known Sobol indices",
    parameters=f"{__name__}:TestFunctionParameters",
    representations={"exact": f"{__name__}:Functions", "noisy": f"{__name__}:NoisyFunctions"},
)

SCENARIO = """
name = "test-functions"
family = "testfunctions"
title = "Ishigami and G"
models = ["exact", "noisy"]
default_model = "exact"
t_end = 1.0
seed = 5
"""


def scenario():
    """Register the family and return its scenario."""
    register_family(FAMILY)
    return parse_scenario(SCENARIO)


def ishigami_indices() -> dict[str, dict[str, float]]:
    """Analytic S1 and ST of the Ishigami function (x4: 0)."""
    v1 = 0.5 * (1 + B * math.pi**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * math.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return {
        "S1": {"x1": v1 / v, "x2": v2 / v, "x3": 0.0, "x4": 0.0},
        "ST": {"x1": (v1 + v13) / v, "x2": v2 / v, "x3": v13 / v, "x4": 0.0},
    }


def g_indices() -> dict[str, dict[str, float]]:
    """Analytic S1 and ST of the G function."""
    vi = [1 / (3 * (1 + a) ** 2) for a in G_A]
    v = float(np.prod([1 + x for x in vi])) - 1
    names = [f"g{k}" for k in range(1, 7)]
    total = [
        x * float(np.prod([1 + y for j, y in enumerate(vi) if j != i])) for i, x in enumerate(vi)
    ]
    return {
        "S1": {n: x / v for n, x in zip(names, vi, strict=True)},
        "ST": {n: t / v for n, t in zip(names, total, strict=True)},
    }
