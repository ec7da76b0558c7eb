"""Cell-centred finite-volume grids.

* :class:`Grid1D` — a 1D grid, planar (slab) or radial (axisymmetric 2D: annular cells),
  possibly non-uniform; its operators are tridiagonal.
* :class:`CartesianGrid` — a uniform grid in 1, 2 or 3 dimensions with cells of equal width.

Both expose cell centres, cell volumes (length, area or volume) and the areas of the faces
between cells, which is all a conservative finite-volume operator needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from oncoscale.errors import InputError

Geometry1D = Literal["planar", "radial"]


#: cells per axis beyond which a grid is refused (1e7 per axis: 800 TB per 2D field)
MAX_CELLS_PER_AXIS = 10**7


def _cells_per_axis(lo: float, hi: float, spacing: float, name: str) -> int:
    """round((hi − lo)/spacing) (0 for a spacing ≤ 0); refused (InputError naming the side
    and the spacing ``name``) beyond :data:`MAX_CELLS_PER_AXIS` or when not finite."""
    if not spacing > 0:
        return 0
    n = (hi - lo) / spacing
    if not n <= MAX_CELLS_PER_AXIS:
        raise InputError(
            f"invalid domain side {hi - lo!r} (the domain size, e.g. 'L') with '{name}' = "
            f"{spacing!r}: {n:.3g} cells per axis; allowed: at most {MAX_CELLS_PER_AXIS:.0e} — "
            "a smaller domain or a coarser spacing"
        )
    return round(n)


@dataclass(frozen=True)
class Grid1D:
    """1D finite-volume grid with cell faces at ``edges`` (length units, e.g. mm).

    ``planar``: cells are intervals, volumes are lengths, faces have unit area.
    ``radial``: cells are annuli of the plane, volume π(r₊² − r₋²), face area 2πr; the face at
    r = 0 has zero area, so no boundary condition is needed there.
    """

    edges: np.ndarray
    geometry: Geometry1D = "planar"
    centers: np.ndarray = field(init=False, repr=False)
    volumes: np.ndarray = field(init=False, repr=False)
    face_areas: np.ndarray = field(init=False, repr=False)
    center_spacing: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        edges = np.asarray(self.edges, dtype=float)
        if edges.ndim != 1 or edges.size < 3:
            raise InputError(f"a 1D grid needs at least 2 cells; got {edges.size - 1}")
        if np.any(np.diff(edges) <= 0):
            raise InputError("grid edges must be strictly increasing")
        if self.geometry not in ("planar", "radial"):
            raise InputError(f"invalid grid geometry {self.geometry!r}; allowed: planar, radial")
        if self.geometry == "radial" and edges[0] != 0.0:
            raise InputError(f"a radial grid must start at r = 0; got {edges[0]}")
        centers = 0.5 * (edges[1:] + edges[:-1])
        if self.geometry == "radial":
            volumes = np.pi * (edges[1:] ** 2 - edges[:-1] ** 2)
            face_areas = 2.0 * np.pi * edges
        else:
            volumes = np.diff(edges)
            face_areas = np.ones_like(edges)
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "centers", centers)
        object.__setattr__(self, "volumes", volumes)
        object.__setattr__(self, "face_areas", face_areas)
        object.__setattr__(self, "center_spacing", np.diff(centers))

    @classmethod
    def uniform(
        cls, lo: float, hi: float, spacing: float, geometry: Geometry1D = "planar", name: str = "dr"
    ):
        """Uniform grid on [lo, hi] with cells of width ``spacing`` (must divide hi − lo)."""
        n = _cells_per_axis(lo, hi, spacing, name)
        if n < 2 or abs(n * spacing - (hi - lo)) > 1e-9 * (hi - lo):
            raise InputError(
                f"invalid value for '{name}': {spacing!r}; allowed: a spacing > 0 that divides "
                f"the length {hi - lo!r} into at least 2 cells"
            )
        return cls(np.linspace(lo, hi, n + 1), geometry)

    @property
    def n(self) -> int:
        """Number of cells."""
        return self.centers.size

    def integrate(self, values: np.ndarray) -> np.ndarray:
        """∫ f over the domain (sum of cell averages times volumes) along the last axis."""
        return np.asarray(values) @ self.volumes

    def cell_average_of_indicator(self, radius: float) -> np.ndarray:
        """Fraction of each cell inside {x <= radius} (radial: the disc of that radius)."""
        lo, hi = self.edges[:-1], self.edges[1:]
        if self.geometry == "radial":
            inner = np.clip(radius, lo, hi)
            return (inner**2 - lo**2) / (hi**2 - lo**2)
        return (np.clip(radius, lo, hi) - lo) / (hi - lo)


@dataclass(frozen=True)
class CartesianGrid:
    """Uniform cell-centred grid in d = 1, 2 or 3 dimensions.

    Cell k along axis a is centred at ``first_center[a] + k * spacing`` and has width
    ``spacing`` (the same on every axis). Zero-flux boundaries sit half a cell beyond the first
    and last centres.
    """

    shape: tuple[int, ...]
    spacing: float
    first_center: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.shape) not in (1, 2, 3):
            raise InputError(f"invalid grid dimension {len(self.shape)}; allowed: 1, 2, 3")
        if min(self.shape) < 2:
            raise InputError(f"a grid needs at least 2 cells per axis; got shape {self.shape}")
        if self.spacing <= 0:
            raise InputError(f"invalid grid spacing {self.spacing!r}; allowed: > 0")
        if len(self.first_center) != len(self.shape):
            raise InputError("first_center must have one entry per axis")

    @classmethod
    def cell_centred(
        cls, lo: float, hi: float, spacing: float, dim: int, name: str = "dx"
    ) -> CartesianGrid:
        """Cells of width ``spacing`` filling the cube [lo, hi]^dim exactly."""
        n = _cells_per_axis(lo, hi, spacing, name)
        if n < 2 or abs(n * spacing - (hi - lo)) > 1e-9 * (hi - lo):
            raise InputError(
                f"invalid value for '{name}': {spacing!r}; allowed: a spacing > 0 that divides "
                f"the side {hi - lo!r} into at least 2 cells"
            )
        return cls((n,) * dim, float(spacing), (lo + 0.5 * spacing,) * dim)

    @classmethod
    def node_centred(
        cls, lo: float, hi: float, spacing: float, dim: int, name: str = "dx"
    ) -> CartesianGrid:
        """Cells centred on the lattice nodes lo, lo + spacing, ..., hi (as an ABM lattice):
        the domain extends half a cell beyond [lo, hi]."""
        n = _cells_per_axis(lo, hi, spacing, name)
        if n < 1 or abs(n * spacing - (hi - lo)) > 1e-9 * (hi - lo):
            raise InputError(
                f"invalid value for '{name}': {spacing!r}; allowed: a spacing > 0 that divides "
                f"the side {hi - lo!r}"
            )
        return cls((n + 1,) * dim, float(spacing), (float(lo),) * dim)

    @property
    def dim(self) -> int:
        """Number of space dimensions."""
        return len(self.shape)

    @property
    def cell_volume(self) -> float:
        """Volume (length, area) of one cell."""
        return self.spacing**self.dim

    def axis(self, a: int) -> np.ndarray:
        """Cell-centre coordinates along axis ``a``."""
        return self.first_center[a] + self.spacing * np.arange(self.shape[a])

    def mesh(self) -> tuple[np.ndarray, ...]:
        """Cell-centre coordinate arrays (``indexing='ij'``)."""
        return tuple(np.meshgrid(*(self.axis(a) for a in range(self.dim)), indexing="ij"))

    def radius(self, center: tuple[float, ...] | None = None) -> np.ndarray:
        """Distance of each cell centre from ``center`` (default: the origin)."""
        c = center or (0.0,) * self.dim
        return np.sqrt(sum((m - c0) ** 2 for m, c0 in zip(self.mesh(), c, strict=True)))

    def integrate(self, values: np.ndarray) -> np.ndarray:
        """∫ f over the domain, over the last ``dim`` axes."""
        axes = tuple(range(-self.dim, 0))
        return np.sum(values, axis=axes) * self.cell_volume
