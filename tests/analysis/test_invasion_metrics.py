"""Invasion measures on synthetic fields with known answers, and a short IBM pipeline run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr

from oncoscale.analysis.invasion_metrics import (
    direction_ratio,
    front_roughness,
    invasion_summary,
    ring_measures,
)
from oncoscale.models.invasion.params import InvasionParameters


def _grid(n: int = 160, length: float = 10.0):
    x = (np.arange(n) + 0.5) * length / n
    mx, my = np.meshgrid(x, x, indexing="ij")
    r = np.hypot(mx - 5, my - 5)
    theta = np.arctan2(my - 5, mx - 5)
    return x, r, theta


def test_ring_radius_and_hollowness():
    _, r, _ = _grid()
    ring = np.exp(-0.5 * ((r - 3.0) / 0.3) ** 2)
    got = ring_measures(ring, r, 5.0)
    assert abs(got["radius_peak"] - 3.0) <= 0.25  # shell centres 0.25, 0.75, ...
    assert got["hollowness"] < 1e-6
    disc = (r < 2.0).astype(float)
    assert ring_measures(disc, r, 5.0)["hollowness"] == pytest.approx(1.0)


def test_direction_ratio_counts_the_diagonal_sectors():
    _, r, theta = _grid()
    along = np.exp(-0.5 * ((r - 3.0) / 0.3) ** 2) * (1 + np.cos(2 * (theta - math.pi / 4)))
    ratio = direction_ratio(along, r, theta, 2.0, math.pi / 4)
    # ∫(1 + cos 2φ) over |φ| < 45° (and the opposite sector) vs the orthogonal sectors
    expected = (math.pi / 2 + 1) / (math.pi / 2 - 1)
    assert ratio == pytest.approx(expected, rel=0.02)
    iso = np.exp(-0.5 * ((r - 3.0) / 0.3) ** 2)
    assert direction_ratio(iso, r, theta, 2.0, math.pi / 4) == pytest.approx(1.0, rel=0.02)


def test_front_roughness_of_disc_and_flower():
    _, r, theta = _grid(320)
    disc = (r < 3.0).astype(float)
    smooth = front_roughness(disc, r, theta)
    assert smooth["cv"] < 0.01
    assert smooth["mean_front_radius"] == pytest.approx(3.0 * math.sqrt(0.9), rel=0.02)
    flower = (r < 3.0 * (1 + 0.25 * np.cos(5 * theta))).astype(float)
    rough = front_roughness(flower, r, theta)
    assert rough["cv"] > 0.1
    assert rough["finger_share"] > 0.9  # all the variance in mode 5


def test_summary_of_a_synthetic_result():
    p = InvasionParameters()
    x, r, _ = _grid(80)
    ring = np.exp(-0.5 * ((r - 3.0) / 0.3) ** 2)
    cells_p = np.zeros((2, 5, 80, 80))
    cells_p[:, 0] = ring
    cells_p[1, 4] = ring  # second snapshot: half type 4
    ds = xr.Dataset(
        {
            "cells_p": (("t", "phenotype", "x", "y"), cells_p),
            "cells_q": (("t", "phenotype", "x", "y"), np.zeros_like(cells_p)),
        },
        coords={"t": [0.0, 1.0], "x": x, "y": x, "phenotype": np.arange(5)},
        attrs={"parameters": json.dumps(p.model_dump())},
    )
    s = invasion_summary(ds)["invasion"]
    assert s["phenotype_fraction"][1] == pytest.approx([0.5, 0, 0, 0, 0.5])
    assert abs(s["ring_radius_peak"][0] - 3.0) <= 0.25
    assert s["final"]["direction_ratio"] == pytest.approx(1.0, rel=0.03)
