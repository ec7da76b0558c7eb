"""Cell lists and window counts against scipy's cKDTree (Chebyshev metric), exactly."""

from __future__ import annotations

import numpy as np
import pytest

from oncoscale.errors import InputError
from oncoscale.numerics.particles import (
    build_cell_list,
    compact_cell_list,
    neighbourhood_totals,
    sorted_cell_list,
    window_counts,
    window_counts_reference,
    window_sums,
)


@pytest.mark.parametrize("dim", [2, 3])
def test_window_counts_match_ckdtree_exactly(dim):
    rng = np.random.default_rng(dim)
    n = 20000 if dim == 2 else 40000
    src = rng.uniform(0.0, 10.0, (n, dim))
    # queries inside, on the walls' neighbourhood and slightly outside the box
    query = rng.uniform(-0.3, 10.3, (3000, dim))
    half = 0.125
    cl = build_cell_list(src, 0.0, 10.0, half)
    count, diff = window_counts(query, cl, half)
    ref_count, ref_diff = window_counts_reference(query, src, half)
    assert np.array_equal(count, ref_count)
    assert np.array_equal(diff, ref_diff)
    assert count.sum() > 0.5 * query.shape[0] * n * (2 * half / 10.0) ** dim


@pytest.mark.parametrize("dim", [2, 3])
def test_window_sums_match_reference(dim):
    rng = np.random.default_rng(10 + dim)
    src = rng.uniform(0.0, 5.0, (5000, dim))
    query = rng.uniform(0.0, 5.0, (500, dim))
    weights = rng.random(5000)
    cl = build_cell_list(src, 0.0, 5.0, 0.3)  # bins wider than the window
    s, d = window_sums(query, cl, 0.3, weights)
    rs, rd = window_counts_reference(query, src, 0.3, weights)
    np.testing.assert_allclose(s, rs, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d, rd, rtol=1e-12, atol=1e-12)


def test_cell_list_is_a_permutation_sorted_by_bin():
    rng = np.random.default_rng(0)
    src = rng.uniform(0.0, 1.0, (1000, 2))
    cl = build_cell_list(src, 0.0, 1.0, 0.1)
    assert sorted(cl.order.tolist()) == list(range(1000))
    np.testing.assert_array_equal(cl.sorted_pos, src[cl.order])
    assert cl.width == pytest.approx(0.1) and cl.nbins.tolist() == [10, 10]
    hist, _, _ = np.histogram2d(src[:, 0], src[:, 1], bins=10, range=[[0, 1], [0, 1]])
    np.testing.assert_array_equal(cl.counts, hist)
    # every point lies in its bin
    for b in range(100):
        pts = cl.sorted_pos[cl.start[b] : cl.start[b + 1]]
        ij = np.floor(pts / cl.width).astype(int)
        assert np.all(ij[:, 0] * 10 + ij[:, 1] == b)


def test_neighbourhood_totals_bound_window_counts():
    rng = np.random.default_rng(1)
    src = rng.uniform(0.0, 2.0, (3000, 3))
    cl = build_cell_list(src, 0.0, 2.0, 0.25)
    totals = neighbourhood_totals(cl)
    query = rng.uniform(0.0, 2.0, (400, 3))
    count, _ = window_counts(query, cl, 0.25)
    bins = np.minimum(np.floor(query / cl.width).astype(int), cl.nbins - 1)
    assert np.all(count <= totals[tuple(bins.T)])
    assert totals.sum() == 3000 * 27 - _lost_at_walls(cl)


def _lost_at_walls(cl) -> int:
    """Bins near the walls have fewer than 27 neighbours: count the missing neighbour slots."""
    counts = cl.counts
    n = counts.shape[0]
    reach = np.full(n, 3)
    reach[0] = reach[-1] = 2
    per_bin = reach[:, None, None] * reach[None, :, None] * reach[None, None, :]
    return int(np.sum(counts * (27 - per_bin)))


def test_empty_sources_and_invalid_input():
    cl = build_cell_list(np.empty((0, 2)), 0.0, 1.0, 0.1)
    count, diff = window_counts(np.array([[0.5, 0.5]]), cl, 0.1)
    assert count[0] == 0 and np.all(diff == 0)
    with pytest.raises(InputError, match="half-width"):
        window_counts(np.array([[0.5, 0.5]]), cl, 0.5)
    with pytest.raises(InputError, match="shape"):
        build_cell_list(np.zeros((3, 4)), 0.0, 1.0, 0.1)
    with pytest.raises(InputError, match="min_width"):
        build_cell_list(np.zeros((3, 2)), 0.0, 1.0, -1.0)


def test_mask_and_compaction_match_the_reference_on_the_kept_points():
    rng = np.random.default_rng(4)
    src = rng.uniform(0.0, 4.0, (6000, 2))
    query = rng.uniform(0.0, 4.0, (700, 2))
    cl = build_cell_list(src, 0.0, 4.0, 0.2)
    keep = rng.random(6000) < 0.7  # in sorted order
    kept = cl.sorted_pos[keep]
    ref = window_counts_reference(query, kept, 0.2)
    masked = window_counts(query, cl, 0.2, mask=keep)
    small = compact_cell_list(cl, keep)
    compacted = window_counts(query, small, 0.2)
    for got in (masked, compacted):
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_array_equal(small.sorted_pos, kept)
    np.testing.assert_array_equal(small.order, cl.order[keep])
    again = sorted_cell_list(small.sorted_pos, small.start, 0.0, 4.0, 0.2)
    np.testing.assert_array_equal(window_counts(query, again, 0.2)[0], ref[0])
    with pytest.raises(InputError, match="start"):
        sorted_cell_list(small.sorted_pos, cl.start, 0.0, 4.0, 0.2)
