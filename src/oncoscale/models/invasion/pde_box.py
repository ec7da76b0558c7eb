"""The support box of the age-structured invasion PDE: the cells where a cell density may be
nonzero (everything outside is exactly 0), as a (2, 3) int64 array [lo; hi] of cell indices on
the kernels' three axes. Details: docs/invasion_pde.md, section 'Support box and threads'.
"""

from __future__ import annotations

import numpy as np

EMPTY = np.zeros((2, 3), dtype=np.int64)


def whole(shape: tuple[int, ...]) -> np.ndarray:
    """The box of the whole grid of ``shape`` (three axes)."""
    return np.array([[0, 0, 0], shape], dtype=np.int64)


def is_empty(box: np.ndarray) -> bool:
    """Whether the box holds no cell."""
    return bool(np.any(box[1] <= box[0]))


def grow(box: np.ndarray, margin: int, shape: tuple[int, ...]) -> np.ndarray:
    """The box grown by ``margin`` cells per side, clipped to ``shape``; empty stays empty."""
    if is_empty(box):
        return EMPTY.copy()
    lo = np.maximum(box[0] - margin, 0)
    hi = np.minimum(box[1] + margin, np.asarray(shape, dtype=np.int64))
    return np.stack([lo, hi]).astype(np.int64)


def slices(box: np.ndarray) -> tuple[slice, slice, slice]:
    """Index slices of the box along the three axes."""
    return tuple(slice(int(box[0, a]), int(box[1, a])) for a in range(3))  # type: ignore[return-value]


def shape_of(box: np.ndarray) -> tuple[int, int, int]:
    """Number of cells of the box along each axis."""
    return tuple(max(int(n), 0) for n in box[1] - box[0])  # type: ignore[return-value]


def of_nonzero(*arrays: np.ndarray) -> np.ndarray:
    """Smallest box holding every nonzero value of ``arrays`` (shapes (..., nx, ny, nz))."""
    mask = np.zeros(arrays[0].shape[-3:], dtype=bool)
    for arr in arrays:
        for slab in arr.reshape(-1, *mask.shape):  # slab by slab: small temporaries
            mask |= slab != 0
    if not mask.any():
        return EMPTY.copy()
    lo, hi = [], []
    for a in range(3):
        hit = np.flatnonzero(np.any(mask, axis=tuple(b for b in range(3) if b != a)))
        lo.append(hit[0])
        hi.append(hit[-1] + 1)
    return np.array([lo, hi], dtype=np.int64)


def new_extents(box: np.ndarray) -> np.ndarray:
    """Per plane (axis 0) of ``box``: min/max index along axes 1 and 2 of the nonzero values,
    filled by the kernels (max < 0: plane empty); see :func:`from_extents`."""
    out = np.empty((shape_of(box)[0], 4), dtype=np.int64)
    out[:, 0::2] = np.iinfo(np.int64).max
    out[:, 1::2] = -1
    return out


def from_extents(extents: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The box of the nonzero values recorded in ``extents`` (indices relative to ``box``)."""
    planes = np.flatnonzero(extents[:, 1] >= 0)
    if planes.size == 0:
        return EMPTY.copy()
    used = extents[planes]
    lo = [planes[0], used[:, 0].min(), used[:, 2].min()]
    hi = [planes[-1] + 1, used[:, 1].max() + 1, used[:, 3].max() + 1]
    return box[0] + np.array([lo, hi], dtype=np.int64)
