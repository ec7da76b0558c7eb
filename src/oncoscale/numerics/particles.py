"""Cell lists for off-lattice particles in a box, and window (Chebyshev-ball) neighbour counts.

O(N) binning, window counts/sums and neighbourhood totals in 2D and 3D (Numba), tested exactly
against a ``scipy.spatial.cKDTree`` reference. Lengths in the caller's unit.
Details: docs/numerics.md, section 'Particle cell lists and window neighbour counts'.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numba
import numpy as np

from oncoscale.errors import InputError


@dataclass(frozen=True)
class CellList:
    """Points of a box sorted by bin: bin b holds ``sorted_pos[start[b]:start[b + 1]]``.

    Bins are cubes of side ``width`` starting at ``lo``; ``nbins[k]`` bins along axis k; flat
    bin index = ravel_multi_index(bin coordinates, nbins) (C order). ``order[j]`` is the
    original index of ``sorted_pos[j]``. Points outside the box are clamped into the edge bins.
    """

    lo: float
    width: float
    nbins: np.ndarray  # (d,) int64
    start: np.ndarray  # (prod(nbins) + 1,) int64
    order: np.ndarray  # (n,) int64, or empty when original indices are not tracked
    sorted_pos: np.ndarray  # (n, d) float64
    offsets: np.ndarray  # (3^d, d) int64: neighbour bin offsets

    @property
    def dim(self) -> int:
        """Number of space dimensions."""
        return int(self.nbins.size)

    @property
    def counts(self) -> np.ndarray:
        """Number of points per bin, shaped ``nbins``."""
        return np.diff(self.start).reshape(tuple(self.nbins))


def neighbour_offsets(dim: int) -> np.ndarray:
    """The 3^dim offsets {−1, 0, 1}^dim of a bin's neighbours (itself included)."""
    return np.array(list(itertools.product((-1, 0, 1), repeat=dim)), dtype=np.int64)


_OFFSETS = {d: neighbour_offsets(d) for d in (2, 3)}


def _offsets(dim: int) -> np.ndarray:
    return _OFFSETS[dim]


def bin_layout(lo: float, hi: float, min_width: float, dim: int) -> tuple[float, np.ndarray]:
    """Bin width (>= min_width, dividing hi − lo) and the number of bins per axis."""
    if not hi > lo:
        raise InputError(f"invalid box [{lo!r}, {hi!r}]; allowed: hi > lo")
    if not min_width > 0:
        raise InputError(f"invalid value for 'min_width': {min_width!r}; allowed: > 0")
    n = max(1, int(np.floor((hi - lo) / min_width + 1e-12)))
    return (hi - lo) / n, np.full(dim, n, dtype=np.int64)


@numba.njit(cache=True)
def _flat_bins(pos, lo, width, nbins):
    n, d = pos.shape
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        f = 0
        for k in range(d):
            b = int(np.floor((pos[i, k] - lo) / width))
            if b < 0:
                b = 0
            elif b >= nbins[k]:
                b = nbins[k] - 1
            f = f * nbins[k] + b
        out[i] = f
    return out


@numba.njit(cache=True)
def _counting_sort(pos, bins, nbins_total):
    """Stable counting sort of the rows of ``pos`` by ``bins``: (start, order, sorted rows)."""
    n, d = pos.shape
    start = np.zeros(nbins_total + 1, dtype=np.int64)
    for i in range(n):
        start[bins[i] + 1] += 1
    for b in range(nbins_total):
        start[b + 1] += start[b]
    fill = start[:-1].copy()
    order = np.empty(n, dtype=np.int64)
    out = np.empty((n, d))
    for i in range(n):
        b = bins[i]
        j = fill[b]
        order[j] = i
        for k in range(d):
            out[j, k] = pos[i, k]
        fill[b] += 1
    return start, order, out


def build_cell_list(pos: np.ndarray, lo: float, hi: float, min_width: float) -> CellList:
    """Sort the points ``pos`` (n, d) of the box [lo, hi]^d into bins of width >= min_width."""
    pos = np.ascontiguousarray(pos, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] not in (2, 3):
        raise InputError(f"points must have shape (n, 2) or (n, 3); got {pos.shape}")
    d = pos.shape[1]
    width, nbins = bin_layout(lo, hi, min_width, d)
    bins = _flat_bins(pos, float(lo), width, nbins)
    start, order, sorted_pos = _counting_sort(pos, bins, int(np.prod(nbins)))
    return CellList(float(lo), width, nbins, start, order, sorted_pos, _offsets(d))


@numba.njit(cache=True)
def _compact(sorted_pos, start, order, keep):
    n, d = sorted_pos.shape
    nb = start.size - 1
    m = 0
    for i in range(n):
        if keep[i]:
            m += 1
    out = np.empty((m, d))
    track = order.size > 0
    new_order = np.empty(m if track else 0, dtype=np.int64)
    new_start = np.empty(nb + 1, dtype=np.int64)
    j = 0
    for b in range(nb):
        new_start[b] = j
        for i in range(start[b], start[b + 1]):
            if keep[i]:
                for k in range(d):
                    out[j, k] = sorted_pos[i, k]
                if track:
                    new_order[j] = order[i]
                j += 1
    new_start[nb] = j
    return new_start, new_order, out


def compact_cell_list(cl: CellList, keep: np.ndarray) -> CellList:
    """The cell list of the points with ``keep`` True (``keep`` in sorted order), without
    re-sorting: O(n). ``order`` keeps pointing at the original indices (an empty ``order``, for
    lists that do not track them, stays empty)."""
    keep = np.asarray(keep, dtype=np.bool_)
    if keep.shape != (cl.sorted_pos.shape[0],):
        raise InputError(f"keep must have shape ({cl.sorted_pos.shape[0]},); got {keep.shape}")
    start, order, sorted_pos = _compact(cl.sorted_pos, cl.start, cl.order, keep)
    return CellList(cl.lo, cl.width, cl.nbins, start, order, sorted_pos, cl.offsets)


@numba.njit(cache=True)
def bin_coords(q, lo, width, nbins, out):
    """Bin index per axis of point q, clamped to the grid of bins (written into ``out``)."""
    for k in range(q.size):
        b = int(np.floor((q[k] - lo) / width))
        if b < 0:
            b = 0
        elif b >= nbins[k]:
            b = nbins[k] - 1
        out[k] = b


@numba.njit(cache=True)
def neighbour_flat(b, o, nbins):
    """Flat index of bin b + o, or −1 if outside the grid of bins."""
    f = 0
    for k in range(b.size):
        c = b[k] + o[k]
        if c < 0 or c >= nbins[k]:
            return -1
        f = f * nbins[k] + c
    return f


@numba.njit(cache=True)
def window_counts_kernel(query, spos, start, lo, width, nbins, offsets, half, weights, count, diff):
    """For each query point: (weighted) number of sources in the closed window of half-width
    ``half`` (``count``) and, per axis, (weighted) upper-half minus lower-half (``diff``).

    ``weights`` of length 0 means unit weights; otherwise one weight per sorted source.
    """
    nq, d = query.shape
    b = np.empty(d, dtype=np.int64)
    use_w = weights.size > 0
    for i in range(nq):
        bin_coords(query[i], lo, width, nbins, b)
        c = 0.0
        for k in range(d):
            diff[i, k] = 0.0
        for o in range(offsets.shape[0]):
            f = neighbour_flat(b, offsets[o], nbins)
            if f < 0:
                continue
            for j in range(start[f], start[f + 1]):
                inside = True
                for k in range(d):
                    if abs(spos[j, k] - query[i, k]) > half:
                        inside = False
                        break
                if not inside:
                    continue
                w = float(weights[j]) if use_w else 1.0
                c += w
                for k in range(d):
                    dx = spos[j, k] - query[i, k]
                    if dx > 0:
                        diff[i, k] += w
                    elif dx < 0:
                        diff[i, k] -= w
        count[i] = c


def _check_window(cl: CellList, query: np.ndarray, half: float) -> np.ndarray:
    query = np.ascontiguousarray(query, dtype=np.float64)
    if query.ndim != 2 or query.shape[1] != cl.dim:
        raise InputError(f"query points must have shape (n, {cl.dim}); got {query.shape}")
    if not 0 < half <= cl.width * (1 + 1e-12):
        raise InputError(
            f"invalid window half-width {half!r}; allowed: 0 < half <= bin width {cl.width!r}"
        )
    return query


def sorted_cell_list(
    sorted_pos: np.ndarray, start: np.ndarray, lo: float, hi: float, min_width: float
) -> CellList:
    """A cell list from points already sorted by bin (``start`` from an earlier list of the
    same box and width); original indices are not tracked."""
    d = sorted_pos.shape[1]
    width, nbins = bin_layout(lo, hi, min_width, d)
    if start.size != int(np.prod(nbins)) + 1 or start[-1] != sorted_pos.shape[0]:
        raise InputError("start does not match the bins of this box or the number of points")
    return CellList(float(lo), width, nbins, start, np.empty(0, dtype=np.int64), sorted_pos,
                    _offsets(d))  # fmt: skip


def window_counts(
    query: np.ndarray, cl: CellList, half: float, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Counts of the cell list's points in the window of half-width ``half`` around each query
    point, and the per-axis half differences (upper − lower); float arrays (nq,), (nq, d).
    ``mask`` (bool, in the list's sorted order) restricts the count to the True points."""
    query = _check_window(cl, query, half)
    count = np.empty(query.shape[0])
    diff = np.empty(query.shape)
    if mask is None:
        weights = np.empty(0, dtype=np.uint8)
    else:
        mask = np.ascontiguousarray(mask, dtype=np.bool_)
        if mask.shape != (cl.sorted_pos.shape[0],):
            raise InputError(f"mask must have shape ({cl.sorted_pos.shape[0]},); got {mask.shape}")
        weights = mask.view(np.uint8)
    window_counts_kernel(
        query, cl.sorted_pos, cl.start, cl.lo, cl.width, cl.nbins, cl.offsets, float(half),
        weights, count, diff,
    )  # fmt: skip
    return count, diff


def window_sums(
    query: np.ndarray, cl: CellList, half: float, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """As :func:`window_counts` with a weight per point (in the original order)."""
    query = _check_window(cl, query, half)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (cl.order.size,):
        raise InputError(f"weights must have shape ({cl.order.size},); got {weights.shape}")
    count = np.empty(query.shape[0])
    diff = np.empty(query.shape)
    window_counts_kernel(
        query, cl.sorted_pos, cl.start, cl.lo, cl.width, cl.nbins, cl.offsets, float(half),
        np.ascontiguousarray(weights[cl.order]), count, diff,
    )  # fmt: skip
    return count, diff


def window_counts_reference(
    query: np.ndarray, points: np.ndarray, half: float, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Reference of :func:`window_counts`/:func:`window_sums` with ``scipy.spatial.cKDTree``
    (Chebyshev metric, closed ball of radius ``half``)."""
    from scipy.spatial import cKDTree

    query = np.asarray(query, dtype=float)
    points = np.asarray(points, dtype=float)
    w = np.ones(points.shape[0]) if weights is None else np.asarray(weights, dtype=float)
    count = np.zeros(query.shape[0])
    diff = np.zeros(query.shape)
    if points.shape[0] == 0:
        return count, diff
    hits = cKDTree(points).query_ball_point(query, r=half, p=np.inf)
    for i, idx in enumerate(hits):
        idx = np.asarray(idx, dtype=np.int64)
        if idx.size == 0:
            continue
        count[i] = w[idx].sum()
        diff[i] = (np.sign(points[idx] - query[i]) * w[idx, None]).sum(axis=0)
    return count, diff


def neighbourhood_totals(cl: CellList) -> np.ndarray:
    """Per bin (shaped ``nbins``): points in the 3^d bins around it, itself included."""
    counts = cl.counts
    padded = np.pad(counts, 1)
    total = np.zeros_like(counts)
    for o in cl.offsets:
        sl = tuple(slice(1 + k, 1 + k + n) for k, n in zip(o, counts.shape, strict=True))
        total += padded[sl]
    return total
