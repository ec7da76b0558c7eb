"""The Fig. 7 damping criterion (spec oncolytic.md §8) on signals with known amplitudes."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from oncoscale.analysis.metrics import damping_metric, half_swings


def _ds(t, x):
    return xr.Dataset({"u_center": ("t_obs", x)}, coords={"t_obs": t})


T = np.arange(0.0, 4000.0, 1.0)


def test_half_swings_of_a_drifting_sine_are_its_amplitude():
    """A sine of amplitude 100 on a slow drift: every half swing is 100 up to the drift over
    half a period (here 0.05 · 200 = 10, i.e. 10 % alternately up and down)."""
    x = 1000 + 0.05 * T + 100 * np.sin(2 * np.pi * T / 400)
    amp, _ = half_swings(T, x, prominence=1.0)
    assert amp.size > 15
    np.testing.assert_allclose(amp.mean(), 100.0, rtol=0.01)
    np.testing.assert_allclose(amp, 100.0, atol=10.5)


def test_a_decaying_oscillation_is_damped_and_a_sustained_one_is_not():
    decaying = 1000 + 800 * np.exp(-T / 800) * np.cos(2 * np.pi * T / 300)
    m = damping_metric(_ds(T, decaying))
    # the first full swing runs between the first two interior extrema (t = 0 is an edge, not
    # an extremum): the trough near 150 h and the peak near 300 h
    first = 800 * (np.exp(-150 / 800) + np.exp(-300 / 800)) / 2
    assert m["first_amplitude"] == pytest.approx(first, rel=0.02)
    assert m["late_amplitude"] == pytest.approx(800 * np.exp(-3450 / 800), rel=0.3)
    assert m["damped"] == 1.0 and m["damps_then_regrows"] == 0.0
    sustained = 1000 + 0.1 * T + 500 * np.sin(2 * np.pi * T / 300)
    m = damping_metric(_ds(T, sustained))
    assert m["late_over_first"] == pytest.approx(1.0, abs=0.1) and m["damped"] == 0.0


def test_a_monotone_approach_is_damped_with_zero_late_amplitude():
    approach = 2000 - 1500 * np.exp(-T / 700) + 600 * np.exp(-T / 200) * np.sin(T / 40)
    m = damping_metric(_ds(T, approach))
    assert m["late_amplitude"] < 0.01 * m["first_amplitude"] and m["damped"] == 1.0


def test_damps_then_regrows_is_flagged():
    envelope = 600 * np.exp(-T / 400) + 400 * np.exp((T - 4000) / 600)
    x = 1500 + envelope * np.sin(2 * np.pi * T / 250)
    m = damping_metric(_ds(T, x))
    assert m["damps_then_regrows"] == 1.0
    assert m["damped"] == 0.0  # the late swings are large again
