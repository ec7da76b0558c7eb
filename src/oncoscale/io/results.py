"""Run records → labelled, CF-conforming ``xarray.Dataset`` → NetCDF (atomically), and back.

Layout of a result (CF-1.11; checked with the IOOS compliance-checker in the tests):

* fields on (``t``, space dims...) at the snapshot times ``t``; scalar observables on the
  finer observation times ``t_obs``; both in the family's time unit (h, day, or "1" for the
  kinetic family's dimensionless time — ``long_name`` says which);
* every variable has UDUNITS ``units`` (``mm-2`` for cell densities, ``1`` for counts and for
  dimensionless quantities), a ``long_name`` and, where people write the unit differently, a
  ``units_label`` (e.g. ``cells/mm^2``); counts are stored as integers;
* the event log on ``event`` (``event_time``, ``event_kind``, ``event_action``,
  ``event_description``, ``event_details`` as JSON);
* particle snapshots (particle models) as a CF contiguous ragged array: ``particle_count(t)``
  with ``sample_dimension = "particle"`` (and ``particle_offset(t)``), attributes
  ``particle_NAME(particle)``;
* global attributes: ``Conventions``, ``title``, ``history``, ``source``, family, model,
  scenario, parameters with units (JSON), numerics (JSON), seed (stochastic models only),
  solver statistics and the full resolved scenario, so the file alone says how to reproduce it.

Time coordinates carry no ``axis``/``standard_name``: CF reserves those for calendar time
("hours since <date>"), which model time is not (and dimensionless time cannot be); space
coordinates carry none either, since CF's axis semantics (longitude/latitude, ``positive``,
T-Z-Y-X order) do not describe model space. Coordinates never have a ``_FillValue``.

:func:`write_result` streams the snapshots from the run's store into the file one at a time,
so writing a result needs the memory of one snapshot, not of the whole run; each field is
stored compressed (zlib level 1 after HDF5's shuffle) where that saves at least a quarter of
its last snapshot (:func:`compresses`), raw otherwise.
"""

from __future__ import annotations

import json
import platform
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import xarray as xr

import oncoscale
from oncoscale.atomic import atomic_write
from oncoscale.errors import InputError
from oncoscale.faults import fault_point
from oncoscale.memory import memory_limit
from oncoscale.models.base import Representation, VariableInfo
from oncoscale.run.protocols import EventRecord
from oncoscale.run.record import RunRecord

#: the CF version result files follow
CONVENTIONS = "CF-1.11"


# ---- variable attributes ------------------------------------------------------------------
def variable_attrs(info: VariableInfo | None, name: str) -> dict[str, str]:
    """CF attributes of a variable from its :class:`VariableInfo` (a fallback long_name)."""
    if info is None:
        return {"long_name": name.replace("_", " ")}
    long_name = info.long_name
    if info.units == "1" and info.label not in ("", "1", "cells", "particles"):
        long_name = f"{long_name} (in {info.label})"
    attrs = {"units": info.units, "long_name": long_name}
    if info.label and info.label != info.units:
        attrs["units_label"] = info.label
    return attrs


def time_attrs(rep_or_units: Representation | str, what: str, long_name: str = "time") -> dict:
    """Attributes of a time variable: the family's unit and a long_name saying what it is."""
    if isinstance(rep_or_units, Representation):
        params = type(rep_or_units.params)
        units, long_name = params.time_units, params.time_long_name
    else:
        units = rep_or_units
    return {"units": units, "long_name": f"{long_name} of {what}"}


def _values(values: np.ndarray, info: VariableInfo | None) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if info is not None and info.integer and np.all(np.isfinite(values)):
        return np.rint(values).astype(np.int64)
    return values


def _events(events: list[EventRecord], time: dict) -> dict[str, Any]:
    return {
        "event_time": ("event", np.array([e.time for e in events], dtype=float), time),
        "event_kind": (
            "event",
            np.array([e.kind for e in events], dtype=str),
            {"long_name": "kind of protocol event"},
        ),
        "event_action": (
            "event",
            np.array([e.action for e in events], dtype=str),
            {"long_name": "what the event did to the model (set_parameter, inject, ...)"},
        ),
        "event_description": (
            "event",
            np.array([e.description for e in events], dtype=str),
            {"long_name": "description of the event"},
        ),
        "event_details": (
            "event",
            np.array([e.details_json() for e in events], dtype=str),
            {"long_name": "details of the event (JSON)"},
        ),
    }


def global_attrs(title: str, history: str = "", **extra: Any) -> dict[str, Any]:
    """The CF global attributes every oncoscale file carries (``history``: the command that
    made it), plus ``extra`` (None values left out)."""
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return {
        "Conventions": CONVENTIONS,
        "title": title,
        "history": f"{created} {history or 'oncoscale'}",
        "source": f"oncoscale {oncoscale.__version__} (Python {platform.python_version()})",
        "oncoscale_version": oncoscale.__version__,
        "python": platform.python_version(),
        "created": created,
        **{k: v for k, v in extra.items() if v is not None},
    }


#: zlib level of every compressed variable (with HDF5's shuffle filter): on the oncolytic ABM's
#: 1500 h result (4 fields × 151 snapshots of 201², 195 MB) level 1 writes in 1.56 s, 57.0 MB,
#: level 4 in 2.29 s, 54.1 MB; the smooth φ field barely compresses at any level (39 of 49 MB)
COMPLEVEL = 1
#: fields of a run's result are stored compressed when that saves at least this fraction
MIN_SAVING = 0.25


# ---- one run ------------------------------------------------------------------------------
def _skeleton(rep: Representation, record: RunRecord, meta: Mapping[str, Any]) -> xr.Dataset:
    """Coordinates, observables, events and attributes of a result (no fields/particles)."""
    info = rep.variable_info()
    obs_t, obs = record.store.observable_table()
    coords: dict[str, Any] = {
        "t": ("t", np.asarray(record.snap_times, float), time_attrs(rep, "field snapshot")),
        "t_obs": ("t_obs", np.asarray(obs_t, float), time_attrs(rep, "observation")),
    }
    for name, values in rep.coords().items():
        coords[name] = (name, np.asarray(values), variable_attrs(info.get(name), name))
    data: dict[str, Any] = {}
    for name, values in obs.items():
        data[name] = (
            "t_obs",
            _values(values, info.get(name)),
            variable_attrs(info.get(name), name),
        )
    data.update(_events(record.events, time_attrs(rep, "event")))
    params = rep.params
    stochastic = rep.stochastic and meta.get("seed") is not None
    attrs = global_attrs(
        f"oncoscale {rep.family}/{rep.model} run of scenario {meta.get('scenario', '?')}",
        str(meta.get("command", "")),
        family=rep.family,
        model=rep.model,
        scenario=meta.get("scenario", ""),
        time_label=rep.time_label,
        parameters=json.dumps(params.model_dump(), default=str),
        parameter_units=json.dumps({n: type(params).units_of(n) for n in type(params).names()}),
        numerics=json.dumps(rep.describe_numerics(), default=str),
        seed=int(meta["seed"]) if stochastic else None,
        replicate=meta.get("replicate"),
        seeding=meta.get("seeding"),
        wall_time_s=float(record.wall_time),
        solver_stats=json.dumps(record.solver_stats),
        scenario_resolved=meta.get("scenario_resolved", ""),
        command=meta.get("command", ""),
        resumed_from=record.resumed_from,
    )
    attrs["stochastic"] = int(rep.stochastic)
    return xr.Dataset(data, coords=coords, attrs=attrs)


def _particle_attrs(rep: Representation, name: str) -> dict[str, str]:
    info = rep.variable_info()
    attrs = variable_attrs(info.get(f"particle_{name}") or info.get(name), f"particle {name}")
    if name in rep.coords():
        attrs["long_name"] = f"particle {attrs['long_name']}"
    return attrs


def build_dataset(rep: Representation, record: RunRecord, meta: Mapping[str, Any]) -> xr.Dataset:
    """The labelled result of one run, in memory (see :func:`write_result` for large runs)."""
    ds = _skeleton(rep, record, meta)
    info = rep.variable_info()
    dims = rep.field_dims
    snaps = list(record.iter_snapshots())
    if snaps and snaps[0][0]:
        for name in snaps[0][0]:
            stacked = np.stack([f[name] for f, _ in snaps])
            ds[name] = (("t", *dims[name]), stacked, variable_attrs(info.get(name), name))
    parts = [p for _, p in snaps]
    if any(p is not None for p in parts):
        counts = np.array([len(next(iter(p.values()))) if p else 0 for p in parts])
        ds["particle_count"] = ("t", counts, _COUNT_ATTRS)
        ds["particle_offset"] = ("t", np.concatenate([[0], np.cumsum(counts)[:-1]]), _OFFSET)
        for name in next(p for p in parts if p):
            values = np.concatenate([p[name] for p in parts if p])
            ds[f"particle_{name}"] = ("particle", values, _particle_attrs(rep, name))
    return ds


_PARTICLE_INDEX = ("particle_count", "particle_offset")
_COUNT_ATTRS = {"long_name": "number of particles in the snapshot", "sample_dimension": "particle"}
_OFFSET = {"long_name": "index of the snapshot's first particle on dimension particle"}


def write_result(
    rep: Representation,
    record: RunRecord,
    meta: Mapping[str, Any],
    path: str | Path,
    like: xr.Dataset | None = None,
) -> Path:
    """Write the result of one run to ``path`` atomically, streaming the snapshots from the
    record's store one at a time (one chunk per snapshot; compressed where it pays, see
    :func:`compresses`). ``like``: the same run's
    :func:`build_dataset`, whose attributes and observables are written, so that the file
    and that Dataset are identical (test)."""
    skeleton = _skeleton(rep, record, meta) if like is None else _skeleton_of(like, rep)
    return _write_streamed(skeleton, rep, record, path)


def _skeleton_of(ds: xr.Dataset, rep: Representation) -> xr.Dataset:
    """``ds`` (a :func:`build_dataset`) without its fields and particles."""
    added = [
        name
        for name in ds.data_vars
        if name in rep.field_dims or "particle" in ds[name].dims or name in _PARTICLE_INDEX
    ]
    return ds.drop_vars(added)


def record_nbytes(record: RunRecord) -> int:
    """Bytes of a run's snapshots, estimated from the larger of the first and the last."""
    n = len(record.snap_times)
    if n == 0:
        return 0
    sizes = []
    for k in {0, n - 1}:
        fields, parts = record.store.snapshot(k)
        sizes.append(sum(np.asarray(a).nbytes for a in [*fields.values(), *(parts or {}).values()]))
    return n * max(sizes)


def _write_streamed(skeleton: xr.Dataset, rep: Representation, record: RunRecord, path) -> Path:
    info = rep.variable_info()
    dims = rep.field_dims
    n_snap = len(record.snap_times)
    compressed = _fields_worth_compressing(record)

    def writer(tmp: Path) -> None:
        skeleton.to_netcdf(tmp, engine="netcdf4", encoding=cf_encoding(skeleton))
        with netCDF4.Dataset(tmp, "a") as nc:
            offset = 0
            created: dict[str, Any] = {}
            for k, (fields, parts) in enumerate(record.iter_snapshots()):
                fault_point("result-snapshot", tmp)  # tests: die with the file half written
                if set(fields) != set(dims):
                    raise InputError(
                        f"snapshot {k} of the run's record holds the fields {sorted(fields)}, "
                        f"expected {sorted(dims)}: the partial record was changed; remove the "
                        ".partial folder and run again"
                    )
                for name, arr in fields.items():
                    var = created.get(name)
                    if var is None:
                        for dim, size in zip(dims[name], np.shape(arr), strict=True):
                            if dim not in nc.dimensions:
                                nc.createDimension(dim, size)
                        var = created[name] = nc.createVariable(
                            name,
                            np.asarray(arr).dtype,
                            ("t", *dims[name]),
                            zlib=name in compressed,
                            complevel=COMPLEVEL,
                            chunksizes=(1, *np.shape(arr)),
                            fill_value=False,
                        )
                        var.setncatts(variable_attrs(info.get(name), name))
                    if np.shape(arr) != var.shape[1:]:
                        raise InputError(
                            f"snapshot {k} of the run's record holds '{name}' of shape "
                            f"{np.shape(arr)}, expected {var.shape[1:]}: the partial record was "
                            "changed; remove the .partial folder and run again"
                        )
                    var[k] = arr
                if parts is not None:
                    offset = _append_particles(nc, rep, k, n_snap, parts, offset, created)

    return atomic_write(path, writer)


def _fields_worth_compressing(record: RunRecord) -> set[str]:
    """The fields whose last snapshot :func:`compresses`."""
    n = len(record.snap_times)
    if n == 0:
        return set()
    fields, _ = record.store.snapshot(n - 1)
    return {name for name, arr in fields.items() if compresses(np.asarray(arr))}


def compresses(arr: np.ndarray, sample_bytes: int = 1 << 20) -> bool:
    """Whether zlib (level :data:`COMPLEVEL`, after HDF5's byte shuffle) saves at least
    :data:`MIN_SAVING` of (the first ``sample_bytes`` of) ``arr``. Smooth float fields barely
    compress and cost the most time to try: on the oncolytic ABM's 1500 h result φ gives
    20 % for 0.8 s of the 1.6 s write, the cell counts 78–93 %."""
    flat = np.ravel(arr)[: max(1, sample_bytes // max(arr.itemsize, 1))]
    if flat.size == 0:
        return True
    shuffled = flat.view(np.uint8).reshape(flat.size, flat.itemsize).T.tobytes()
    return len(zlib.compress(shuffled, COMPLEVEL)) <= (1.0 - MIN_SAVING) * len(shuffled)


def _append_particles(nc, rep, k: int, n_snap: int, parts, offset: int, created) -> int:
    if "particle_count" not in created:
        nc.createDimension("particle", None)
        for name, attrs in (("particle_count", _COUNT_ATTRS), ("particle_offset", _OFFSET)):
            var = created[name] = nc.createVariable(name, "i8", ("t",), fill_value=False)
            var.setncatts(attrs)
            var[:] = np.zeros(n_snap, dtype=np.int64)
    n = len(next(iter(parts.values()))) if parts else 0
    created["particle_count"][k] = n
    created["particle_offset"][k] = offset
    for name, values in parts.items():
        key = f"particle_{name}"
        if key not in created:
            created[key] = nc.createVariable(
                key,
                np.asarray(values).dtype,
                ("particle",),
                zlib=True,
                complevel=COMPLEVEL,
                fill_value=False,
            )
            created[key].setncatts(_particle_attrs(rep, name))
        if n:
            created[key][offset : offset + n] = values
    return offset + n


# ---- any dataset ----------------------------------------------------------------------------
def cf_encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    """NetCDF encoding: compressed numeric data variables, no _FillValue on coordinates."""
    encoding: dict[str, dict[str, Any]] = {
        name: {"zlib": True, "complevel": COMPLEVEL}
        for name, var in ds.data_vars.items()
        if var.dtype.kind in "fiu" and var.ndim > 0
    }
    for name in ds.coords:
        encoding.setdefault(str(name), {})["_FillValue"] = None
    for name, var in ds.data_vars.items():
        if var.dtype.kind in "iu":  # counts are complete: no fill value either
            encoding.setdefault(str(name), {})["_FillValue"] = None
    return encoding


def write_netcdf(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to NetCDF atomically (compressed, CF encoding, CF global attributes added
    where missing)."""
    ds = ds.copy()
    for key, value in global_attrs(str(ds.attrs.get("title") or Path(path).stem)).items():
        ds.attrs.setdefault(key, value)
    return atomic_write(
        path, lambda tmp: ds.to_netcdf(tmp, encoding=cf_encoding(ds), engine="netcdf4")
    )


#: what reading a damaged, foreign or tampered file raises (NetCDF library, xarray, JSON,
#: Python literals in the provenance)
READ_ERRORS = (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError, SyntaxError,
               RecursionError, MemoryError)  # fmt: skip


@contextmanager
def untrusted(what: str, advice: str = "remove it or write it again") -> Iterator[None]:
    """Around code that reads files someone else may have written: any read error becomes
    one InputError naming ``what``. Reading never runs code (NetCDF through netCDF4, no
    pickle; provenance through ``ast.literal_eval``), so this is all a tampered file can do."""
    try:
        yield
    except InputError:
        raise
    except READ_ERRORS as exc:
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise InputError(
            f"cannot read {what}: damaged, not written by oncoscale, or changed since "
            f"({type(exc).__name__}: {reason}); {advice}"
        ) from None


def _open(path: Path) -> xr.Dataset:
    with untrusted(str(path)):
        return xr.open_dataset(path, engine="netcdf4", decode_times=False, decode_timedelta=False)


@contextmanager
def _lazy(path: Path) -> Iterator[xr.Dataset]:
    ds = _open(path)
    try:
        yield ds
    finally:
        ds.close()


def open_result(path: str | Path, lazy: bool = False):
    """Open a result file. Default: loaded into memory, file closed. ``lazy=True``: a context
    manager yielding the file-backed Dataset (large runs: snapshots are read when used).
    A file that is not a readable NetCDF file gives an InputError naming it."""
    path = Path(path)
    if lazy:
        return _lazy(path)
    with _open(path) as ds, untrusted(str(path)):
        return ds.load()


#: the largest result read into memory whole for the summary and the figures (bytes)
IN_MEMORY_BYTES = 1e9


def fits_in_memory(nbytes: float) -> bool:
    """Whether a result of ``nbytes`` is read into memory whole for the summary and the
    figures: at most :data:`IN_MEMORY_BYTES` and a quarter of the memory this process can
    still use (:func:`oncoscale.memory.memory_limit`)."""
    return nbytes <= min(IN_MEMORY_BYTES, 0.25 * memory_limit()[0])


@contextmanager
def open_for_figures(path: str | Path) -> Iterator[xr.Dataset]:
    """A result file for reading many times over (summary, figures, movie frames): loaded
    into memory once when it fits (:func:`fits_in_memory`), file-backed otherwise (each use
    then reads and decompresses what it needs)."""
    with _lazy(Path(path)) as ds:
        if fits_in_memory(ds.nbytes):
            with untrusted(str(path)):
                ds.load()
        yield ds


def read_attrs(path: str | Path) -> dict[str, Any]:
    """The global attributes of a NetCDF file (InputError if it cannot be read)."""
    with _lazy(Path(path)) as ds:
        return dict(ds.attrs)


def parameters_of(ds: xr.Dataset) -> dict[str, Any]:
    """The parameter values recorded in a result."""
    return json.loads(ds.attrs["parameters"])


def events_of(ds: xr.Dataset) -> list[dict[str, Any]]:
    """The event log of a result as a list of dicts."""
    if "event" not in ds.dims or ds.sizes["event"] == 0:
        return []
    actions = ds["event_action"].values if "event_action" in ds else [""] * ds.sizes["event"]
    return [
        EventRecord(float(t), str(k), str(d), json.loads(str(x)), str(a)).to_dict()
        for t, k, d, x, a in zip(
            ds["event_time"].values,
            ds["event_kind"].values,
            ds["event_description"].values,
            ds["event_details"].values,
            actions,
            strict=True,
        )
    ]
