"""Export a finished run (result.nc) for ParaView, VisIt, pandas and friends.

``vtk`` (written with pyvista, the VTK XML formats):

* fields on a regular grid (2D/3D PDE and kinetic runs, the ABM lattice; 1D runs as a line)
  → one VTK image data file per snapshot, ``fields-NNNNNN.vti``, with one point array per
  variable at the cell centres (origin = first centre, spacing = grid step; a variable with an
  extra dimension such as ``phenotype`` becomes one array per value, ``cells_p_phenotype2``),
  and ``fields.pvd``, the time series ParaView opens in one go;
* particles (IBM) → ``particles-NNNNNN.vtp`` (poly data: one vertex per particle, z = 0 in
  2D) with every recorded attribute (phenotype, compartment/state, age, ...) as point data,
  and ``particles.pvd``.

``csv``: ``observables.csv`` (t_obs and every scalar observable), ``fields-NNNNNN.csv`` (one
row per grid point) and ``particles.csv`` (one row per particle per snapshot: the per-agent
table). Values are written with full precision (``repr`` of float64), so they read back
exactly. Every file is written atomically.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import xarray as xr

from oncoscale.atomic import atomic_write
from oncoscale.errors import InputError

#: the export formats
FORMATS = ("vtk", "csv")
#: dimension names that are space, in VTK's axis order
SPACE_DIMS = ("x", "y", "z", "r")


# ---- what a result holds ----------------------------------------------------------------------
def space_dims(ds: xr.Dataset) -> tuple[str, ...]:
    """The spatial dimensions of a result's fields (VTK axis order)."""
    return tuple(d for d in SPACE_DIMS if d in ds.dims)


def field_names(ds: xr.Dataset) -> list[str]:
    """Variables on (t, space...) with possibly one extra dimension (e.g. phenotype)."""
    space = set(space_dims(ds))
    out = []
    for name, var in ds.data_vars.items():
        dims = var.dims
        if dims[:1] == ("t",) and space and space <= set(dims) and len(dims) <= len(space) + 2:
            out.append(str(name))
    return out


def split_field(ds: xr.Dataset, name: str, k: int) -> Iterator[tuple[str, np.ndarray]]:
    """(array name, values on the space dims in VTK order) of variable ``name`` at snapshot
    ``k``; an extra dimension is split into one array per coordinate value."""
    var = ds[name].isel(t=k)
    space = space_dims(ds)
    extra = [d for d in var.dims if d not in space]
    if not extra:
        yield name, np.asarray(var.transpose(*space).values)
        return
    (dim,) = extra
    labels = ds[dim].values if dim in ds.coords else np.arange(var.sizes[dim])
    for j, label in enumerate(labels):
        yield f"{name}_{dim}{label}", np.asarray(var.isel({dim: j}).transpose(*space).values)


def particle_names(ds: xr.Dataset) -> list[str]:
    """Attributes of the particles recorded in a result (``particle_NAME`` → NAME)."""
    return [
        str(n)[len("particle_") :]
        for n, v in ds.data_vars.items()
        if str(n).startswith("particle_") and v.dims == ("particle",)
    ]


def particles_at(ds: xr.Dataset, k: int) -> dict[str, np.ndarray]:
    """Every particle attribute at snapshot ``k`` (the CF ragged array unpacked)."""
    start = int(ds["particle_offset"].values[k])
    stop = start + int(ds["particle_count"].values[k])
    return {n: np.asarray(ds[f"particle_{n}"].values[start:stop]) for n in particle_names(ds)}


def _spacing(values: np.ndarray, dim: str) -> float:
    if values.size < 2:
        return 1.0
    steps = np.diff(values)
    if not np.allclose(steps, steps[0], rtol=1e-9, atol=0):
        raise InputError(f"coordinate '{dim}' is not uniformly spaced: cannot export as image data")
    return float(steps[0])


# ---- VTK ----------------------------------------------------------------------------------------
def _image(ds: xr.Dataset):
    import pyvista as pv

    space = space_dims(ds)
    axes = [np.asarray(ds[d].values, dtype=float) for d in space]
    dims = [a.size for a in axes] + [1] * (3 - len(axes))
    origin = [float(a[0]) for a in axes] + [0.0] * (3 - len(axes))
    spacing = [_spacing(a, d) for a, d in zip(axes, space, strict=True)] + [1.0] * (3 - len(axes))
    return pv.ImageData(dimensions=dims, origin=origin, spacing=spacing)


def write_pvd(path: Path, entries: list[tuple[float, str]]) -> Path:
    """A ParaView collection file: one dataset per time step (atomically)."""
    lines = [
        '<?xml version="1.0"?>',
        '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">',
        "  <Collection>",
        *(
            f'    <DataSet timestep="{t!r}" group="" part="0" file={quoteattr(name)}/>'
            for t, name in entries
        ),
        "  </Collection>",
        "</VTKFile>",
    ]
    text = "\n".join(lines) + "\n"
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _save(mesh, path: Path) -> Path:
    return atomic_write(path, lambda tmp: mesh.save(tmp, binary=True))


def export_vtk(ds: xr.Dataset, out: Path) -> list[Path]:
    """Fields as .vti + fields.pvd, particles as .vtp + particles.pvd; returns the paths."""
    out = Path(out)
    written: list[Path] = []
    times = np.asarray(ds["t"].values, dtype=float) if "t" in ds.dims else np.array([])
    names = field_names(ds)
    if names:
        grid = _image(ds)
        entries = []
        for k, t in enumerate(times):
            image = grid.copy()
            for array, values in (a for n in names for a in split_field(ds, n, k)):
                image.point_data[array] = values.ravel(order="F")
            path = _save(image, out / f"fields-{k:06d}.vti")
            entries.append((float(t), path.name))
            written.append(path)
        written.append(write_pvd(out / "fields.pvd", entries))
    if "particle_count" in ds:
        written += _export_particles_vtk(ds, times, out)
    if not written:
        raise InputError(
            "nothing to export as VTK: the result has no spatial fields and no particles "
            "(homogeneous ODE runs: use --format csv)"
        )
    return written


def _export_particles_vtk(ds: xr.Dataset, times: np.ndarray, out: Path) -> list[Path]:
    import pyvista as pv

    written, entries = [], []
    for k, t in enumerate(times):
        parts = particles_at(ds, k)
        n = int(ds["particle_count"].values[k])
        points = np.zeros((n, 3))
        for axis, dim in enumerate(("x", "y", "z")):
            if dim in parts:
                points[:, axis] = parts[dim]
        cloud = pv.PolyData(points) if n else pv.PolyData()
        for name, values in parts.items():
            if n:
                cloud.point_data[name] = values
        path = _save(cloud, out / f"particles-{k:06d}.vtp")
        entries.append((float(t), path.name))
        written.append(path)
    written.append(write_pvd(out / "particles.pvd", entries))
    return written


# ---- CSV ----------------------------------------------------------------------------------------
def _csv_text(header: list[str], columns: list[np.ndarray]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in zip(*(c.tolist() for c in columns), strict=True):
        writer.writerow([repr(v) if isinstance(v, float) else v for v in row])
    return buffer.getvalue()


def _write_csv(path: Path, header: list[str], columns: list[np.ndarray]) -> Path:
    text = _csv_text(header, columns)
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def export_csv(ds: xr.Dataset, out: Path) -> list[Path]:
    """observables.csv, fields-NNNNNN.csv per snapshot, particles.csv; returns the paths."""
    out = Path(out)
    written: list[Path] = []
    scalars = [str(n) for n, v in ds.data_vars.items() if v.dims == ("t_obs",)]
    if "t_obs" in ds.dims:
        written.append(
            _write_csv(
                out / "observables.csv",
                ["t_obs", *scalars],
                [ds["t_obs"].values, *(ds[n].values for n in scalars)],
            )
        )
    names = field_names(ds)
    if names:
        space = space_dims(ds)
        mesh = np.meshgrid(*(ds[d].values for d in space), indexing="ij")
        coords = [m.ravel(order="F") for m in mesh]
        for k in range(ds.sizes["t"]):
            arrays = [a for n in names for a in split_field(ds, n, k)]
            written.append(
                _write_csv(
                    out / f"fields-{k:06d}.csv",
                    [*space, *(a for a, _ in arrays)],
                    [*coords, *(v.ravel(order="F") for _, v in arrays)],
                )
            )
    if "particle_count" in ds:
        counts = ds["particle_count"].values
        snapshot = np.repeat(np.arange(counts.size), counts)
        index = np.concatenate([np.arange(c) for c in counts]) if counts.sum() else snapshot
        attrs = particle_names(ds)
        written.append(
            _write_csv(
                out / "particles.csv",
                ["t", "snapshot", "index", *attrs],
                [
                    ds["t"].values[snapshot],
                    snapshot,
                    index,
                    *(ds[f"particle_{n}"].values for n in attrs),
                ],
            )
        )
    return written


def export_result(ds: xr.Dataset, out: Path, fmt: str) -> list[Path]:
    """Export one result in ``fmt`` ("vtk" or "csv") into the folder ``out``."""
    if fmt not in FORMATS:
        raise InputError(f"invalid value for '--format': {fmt!r}; allowed: {', '.join(FORMATS)}")
    return export_vtk(ds, out) if fmt == "vtk" else export_csv(ds, out)


def results_in(directory: Path) -> dict[str, Path]:
    """The result files of a run folder (``""`` → result.nc) or of an ensemble/study folder
    (``runs/NAME/result.nc`` → NAME)."""
    directory = Path(directory)
    if (directory / "result.nc").is_file():
        return {"": directory / "result.nc"}
    found = {p.parent.name: p for p in sorted(directory.glob("runs/*/result.nc"))}
    if not found:
        raise InputError(
            f"invalid value for 'DIR': {str(directory)!r} holds no result.nc (nor runs/*/"
            "result.nc); allowed: the folder of a finished 'oncoscale run', ensemble or study"
        )
    return found


def export_folder(directory: Path, out: Path, fmt: str) -> list[Path]:
    """Export every result of a run, ensemble or study folder (one subfolder per run)."""
    from oncoscale.io.results import open_result

    if fmt not in FORMATS:
        raise InputError(f"invalid value for '--format': {fmt!r}; allowed: {', '.join(FORMATS)}")
    written: list[Path] = []
    for name, path in results_in(directory).items():
        with open_result(path, lazy=True) as ds:
            written += export_result(ds, Path(out) / name if name else Path(out), fmt)
    return written
