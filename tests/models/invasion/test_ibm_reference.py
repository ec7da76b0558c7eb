"""The invasion IBM's compiled step (ibm_kernels) against its independent NumPy reference
(ibm_reference, ``numerics.kernel = "numpy"``): the same process in law (statistical test over
replicates), and the test's power (a 15 % change of one rate in the reference fails it)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from oncoscale.models.invasion.ibm import InvasionIBM
from oncoscale.models.invasion.ibm_reference import reflect
from oncoscale.models.invasion.params import PROLIFERATING, InvasionParameters

#: every process active within 15 steps: ~200 cells at c ≈ 1 (necrosis, quiescence and
#: reactivation all happen), fast division, mutation, MM degradation, O2 emission, uptake and
#: decay, MDE production and decay, visible motion; particles coarse enough for the reference
STRESSED = dict(
    cell_mass0=10.0, f0=0.1, M_MM=0.005, M_O2=0.02, M_MDE=0.05, nu=2.5, phi=0.25, eta=20.0,
    omega=5.0, kappa=2.0, sigma_m=5.0, t_m=0.3, D_n=0.05, rho=2.0, mm_case="homogeneous",
)  # fmt: skip
STEPS = 15
REPLICATES = 100
#: |z| bound per statistic: 16 statistics, P(any |z| > 4) ≈ 1e-3 under the null
Z_TOL = 4.0
NAMES = (
    "P cells", "Q cells", "necrotic", "mutants", "MM", "O2", "MDE", "var x of P", "mean x of P",
    "O2 taken", "MM degraded", "O2 emitted", "MDE made", "mean age", "Q of type 0",
    "necrotic of type 0",
)  # fmt: skip


def _statistics(s) -> list[float]:
    prolif = s.cell_comp == PROLIFERATING
    x = s.cell_pos[prolif, 0]
    c = s.counters
    return [
        prolif.sum(), (~prolif).sum(), s.dead_type.size, (s.cell_type > 0).sum(),
        s.living_mm().shape[0], s.o2.shape[0], s.mde.shape[0], x.var(), x.mean(),
        c["o2_taken"], c["mm_degraded"], c["o2_emitted"], c["mde_produced"], s.cell_age.mean(),
        (~prolif & (s.cell_type == 0)).sum(), (s.dead_type == 0).sum(),
    ]  # fmt: skip


def _replicates(kernel: str, seed: int, n: int = REPLICATES, **changes) -> np.ndarray:
    """``n`` runs of STEPS steps from one initial state (seed 0), each with its own stream."""
    params = InvasionParameters(**STRESSED)
    start = InvasionIBM(params, {}).initial_state(np.random.default_rng(0))
    rep = InvasionIBM(params.updated(**changes), {"kernel": kernel})
    out = []
    for child in np.random.SeedSequence(seed).spawn(n):
        s = rep.advance(
            type(start)(**{**start.__dict__, "rng": np.random.default_rng(child)}),
            0.0, STEPS * params.dt,
        )  # fmt: skip
        out.append(_statistics(s))
    return np.array(out, dtype=float)


def _zscores(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Welch z of the difference of the means, per statistic."""
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    return (a.mean(axis=0) - b.mean(axis=0)) / se


@pytest.fixture(scope="module")
def compiled() -> np.ndarray:
    return _replicates("numba", 11)


def test_compiled_step_and_numpy_reference_sample_the_same_process(compiled):
    """Means of 16 statistics after 15 steps agree within Z_TOL standard errors (Welch, 100
    replicates each); variances within Z_TOL × 1.5 × √(4/(n − 1)) in log ratio (the normal
    approximation widened by 1.5 for non-normal tails)."""
    ref = _replicates("numpy", 12)
    z = _zscores(compiled, ref)
    assert np.all(np.abs(z) < Z_TOL), dict(zip(NAMES, np.round(z, 2), strict=True))
    log_ratio = np.log(compiled.var(axis=0, ddof=1) / ref.var(axis=0, ddof=1))
    bound = Z_TOL * 1.5 * math.sqrt(4 / (REPLICATES - 1))
    assert np.all(np.abs(log_ratio) < bound), dict(zip(NAMES, np.round(log_ratio, 2), strict=True))
    # every process really happened and fluctuates
    assert np.all(ref.mean(axis=0)[:13] > 0) and np.all(ref.std(axis=0)[:13] > 0)


@pytest.mark.parametrize(
    "change",
    [
        {"kappa": 2.3},
        pytest.param({"omega": 5.75}, marks=pytest.mark.slow),
        pytest.param({"eta": 23.0}, marks=pytest.mark.slow),
        pytest.param({"nu": 2.875}, marks=pytest.mark.slow),
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_rate_changed_by_15_percent_fails_the_comparison(compiled, change):
    """Power: the reference (60 replicates) with one rate 15 % higher — MDE production κ,
    O2 uptake ω, MM degradation η, O2 emission ν — differs from the compiled step by more than
    Z_TOL in some statistic (measured max |z|: 7.8, 13.9, 6.3, 11.8). A 15 % change of the
    division amplitude (max |z| 3.1) or of D_n (2.2) is below this design's power."""
    z = _zscores(compiled, _replicates("numpy", 13, n=60, **change))
    assert np.max(np.abs(z)) > Z_TOL, dict(zip(NAMES, np.round(z, 2), strict=True))


def test_reflection_folds_positions_into_the_box():
    x = np.array([-0.3, 0.2, 1.4, 2.3, -1.7, 3.9])
    np.testing.assert_allclose(reflect(x, 1.0), [0.3, 0.2, 0.6, 0.3, 0.3, 0.1])
