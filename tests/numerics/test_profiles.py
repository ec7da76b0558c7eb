"""Azimuthal averages in rings: against a per-ring mask computation written independently."""

import numpy as np

from oncoscale.numerics.grids import CartesianGrid
from oncoscale.numerics.profiles import RadialBins, radial_profile


def _masked_ring_means(values, radius, width, r_max):
    n = len(np.arange(0.0, r_max + width, width)) - 1
    out = np.full(n, np.nan)
    for k in range(n):
        ring = (radius >= k * width) & (radius < (k + 1) * width)
        if ring.any():
            out[k] = values[ring].mean()
    return out


def test_ring_means_match_a_per_ring_mask_and_are_reusable():
    grid = CartesianGrid.node_centred(-2.0, 2.0, 0.1, 2)
    radius = grid.radius()
    rng = np.random.default_rng(3)
    bins = RadialBins(radius, 0.1, 2.0)
    for _ in range(3):  # the same bins serve many fields
        f = rng.random(radius.shape)
        np.testing.assert_allclose(bins.mean(f), _masked_ring_means(f, radius, 0.1, 2.0),
                                   rtol=1e-12)  # fmt: skip
    centres, prof = radial_profile(f, radius, 0.1, 2.0)
    np.testing.assert_array_equal(prof, bins.mean(f))
    np.testing.assert_allclose(centres, 0.05 + 0.1 * np.arange(centres.size))


def test_radially_symmetric_field_gives_its_profile():
    grid = CartesianGrid.node_centred(-3.0, 3.0, 0.05, 2)
    radius = grid.radius()
    bins = RadialBins(radius, 0.05, 3.0)
    prof = bins.mean(np.exp(-radius))
    inner = bins.centres < 2.9
    # within a ring of width 0.05 the mean of exp(-r) is exp(-centre) to O(width)
    np.testing.assert_allclose(prof[inner][1:], np.exp(-bins.centres[inner][1:]), rtol=0.03)
