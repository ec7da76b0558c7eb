"""Checkpoints as data: a NumPy ``.npz`` archive of arrays plus one JSON manifest, never pickle.

Format (schema :data:`SCHEMA`): the archive holds arrays ``a0``, ``a1``, … and ``manifest``,
the UTF-8 bytes of a JSON object with ``schema``, ``fingerprint`` (the run it belongs to) and
``content``, a JSON tree in which

* numbers, strings, booleans, ``null`` and lists stand for themselves (non-finite floats as
  ``{"__float__": "nan" | "inf" | "-inf"}``);
* ``{"__array__": "a3"}`` is array ``a3`` of the archive (numeric or boolean dtypes only);
* ``{"__tuple__": [...]}`` a tuple, ``{"__dict__": {...}}`` a dict with string keys;
* ``{"__generator__": "PCG64", "state": {...}}`` a ``numpy.random.Generator`` with that bit
  generator and state (so a resumed run continues the same random stream);
* ``{"__state__": "module:Class", "fields": {...}}`` a dataclass registered with
  :func:`oncoscale.numerics.checkpointable.state_class` — only registered classes are
  rebuilt, so opening a checkpoint from someone else's folder cannot run code.

The archive is read with ``allow_pickle=False``; a truncated, corrupt or foreign file gives an
:class:`InputError` that says what is wrong, and :func:`check_layout` refuses a state whose
arrays, classes or scalars are not those of the model being resumed (a tampered or mixed-up
file), before any of it reaches a kernel.
"""

from __future__ import annotations

import copy
import json
import math
import zipfile
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from oncoscale.atomic import atomic_write
from oncoscale.errors import InputError
from oncoscale.numerics.checkpointable import registered_state_class

SCHEMA = "oncoscale-checkpoint/1"
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "Philox", "SFC64", "MT19937")


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def __call__(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, bool | str):
            return obj
        if isinstance(obj, int | np.integer) and not isinstance(obj, bool):
            return int(obj)
        if isinstance(obj, float | np.floating):
            x = float(obj)
            return x if math.isfinite(x) else {"__float__": str(x)}
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "biufc":
                raise TypeError(f"cannot checkpoint an array of dtype {obj.dtype}")
            key = f"a{len(self.arrays)}"
            self.arrays[key] = obj
            return {"__array__": key}
        if isinstance(obj, tuple):
            return {"__tuple__": [self(v) for v in obj]}
        if isinstance(obj, list):
            return [self(v) for v in obj]
        if isinstance(obj, dict):
            if not all(isinstance(k, str) for k in obj):
                raise TypeError("cannot checkpoint a dict with non-string keys")
            return {"__dict__": {k: self(v) for k, v in obj.items()}}
        if isinstance(obj, np.random.Generator):
            state = obj.bit_generator.state
            return {"__generator__": state["bit_generator"], "state": self(state)}
        if is_dataclass(obj) and not isinstance(obj, type):
            name = f"{type(obj).__module__}:{type(obj).__qualname__}"
            if registered_state_class(name) is not type(obj):
                raise TypeError(f"{name} is not registered with @state_class")
            return {
                "__state__": name,
                "fields": {f.name: self(getattr(obj, f.name)) for f in fields(obj)},
            }
        raise TypeError(f"cannot checkpoint an object of type {type(obj).__name__}")


class _Decoder:
    def __init__(self, arrays: Any) -> None:
        self.arrays = arrays

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "__float__" in node:
            return float(node["__float__"])
        if "__array__" in node:
            return self.arrays[node["__array__"]]  # a fresh array read from the archive
        if "__tuple__" in node:
            return tuple(self(v) for v in node["__tuple__"])
        if "__dict__" in node:
            return {k: self(v) for k, v in node["__dict__"].items()}
        if "__generator__" in node:
            name = node["__generator__"]
            if name not in _BIT_GENERATORS:
                raise ValueError(f"unknown bit generator {name!r}")
            gen = np.random.Generator(getattr(np.random, name)())
            gen.bit_generator.state = self(node["state"])
            return gen
        if "__state__" in node:
            cls = registered_state_class(node["__state__"])
            if cls is None:
                raise ValueError(f"state class {node['__state__']!r} is not registered")
            return cls(**{k: self(v) for k, v in node["fields"].items()})
        raise ValueError(f"unknown node {sorted(node)}")


def write_checkpoint(path: str | Path, fingerprint: str, content: Any) -> Path:
    """Write ``content`` (a tree of the types above) atomically to ``path`` (.npz)."""
    encode = _Encoder()
    tree = encode(content)
    manifest = json.dumps({"schema": SCHEMA, "fingerprint": fingerprint, "content": tree})
    arrays = {**encode.arrays, "manifest": np.frombuffer(manifest.encode(), dtype=np.uint8)}

    def writer(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    return atomic_write(path, writer)


def read_checkpoint(path: str | Path, fingerprint: str | None = None) -> Any:
    """The content of the checkpoint at ``path``; with ``fingerprint``, check that it belongs
    to that run. InputError for anything that is not a readable oncoscale checkpoint."""
    path = Path(path)
    advice = "remove it or run without --resume"
    try:
        with np.load(path, allow_pickle=False) as archive:
            manifest = json.loads(bytes(archive["manifest"]).decode())
            if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
                found = manifest.get("schema") if isinstance(manifest, dict) else None
                raise InputError(
                    f"cannot resume: {path} is not an oncoscale checkpoint of schema {SCHEMA} "
                    f"(found {found!r}); {advice}"
                )
            if fingerprint is not None and manifest.get("fingerprint") != fingerprint:
                raise InputError(
                    f"cannot resume: the checkpoint {path} belongs to a different run (other "
                    f"parameters, numerics or protocol); {advice}"
                )
            return _Decoder(archive)(manifest["content"])
    except InputError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise InputError(
            f"cannot resume: the checkpoint {path} is truncated or corrupt "
            f"({type(exc).__name__}: {exc}); {advice}"
        ) from None


def _layout_mismatch(value: Any, like: Any, where: str) -> str | None:
    """Where ``value`` differs in layout from ``like`` (None if it does not). Arrays: same
    dtype, number of axes and sizes after the first (particle counts vary); dataclasses: same
    class, fields compared; dicts: common keys compared; ``None`` matches anything."""
    if value is None or like is None:
        return None
    if isinstance(like, np.ndarray):
        if not isinstance(value, np.ndarray):
            return f"{where}: {type(value).__name__} where an array is expected"
        if (
            value.dtype != like.dtype
            or value.shape[1:] != like.shape[1:]
            or (value.ndim != like.ndim)
        ):
            expected = ["any", *like.shape[1:]] if like.ndim else []
            found = f"{value.dtype}{list(value.shape)}"
            return f"{where}: array {found}, expected {like.dtype}{expected}"
        return None
    if is_dataclass(like):
        if type(value) is not type(like):
            return f"{where}: {type(value).__name__} where {type(like).__name__} is expected"
        pairs = [(getattr(value, f.name), getattr(like, f.name), f.name) for f in fields(like)]
    elif isinstance(like, dict):
        if not isinstance(value, dict):
            return f"{where}: {type(value).__name__} where a table is expected"
        pairs = [(value[k], like[k], k) for k in like if k in value]
    elif isinstance(like, list | tuple):
        if type(value) is not type(like):
            return f"{where}: {type(value).__name__} where a {type(like).__name__} is expected"
        pairs = [(v, w, str(i)) for i, (v, w) in enumerate(zip(value, like, strict=False))]
    else:
        return (
            None
            if _same_scalar_kind(value, like)
            else (f"{where}: {value!r} where a {type(like).__name__} is expected")
        )
    for v, w, name in pairs:
        found = _layout_mismatch(v, w, f"{where}.{name}")
        if found:
            return found
    return None


def _same_scalar_kind(value: Any, like: Any) -> bool:
    if isinstance(like, np.random.Generator):
        return isinstance(value, np.random.Generator)
    if isinstance(like, bool | np.bool_):
        return isinstance(value, bool | np.bool_)
    if isinstance(like, int | float | np.number):
        return isinstance(value, int | float | np.number) and not isinstance(value, bool)
    if isinstance(like, str):
        return isinstance(value, str)
    return True


def layout_of(state: Any) -> Any:
    """``state`` with every array replaced by an empty one of the same dtype and trailing
    sizes (what :func:`check_layout` compares), so that a fresh state used as the model's
    template need not stay in memory while a checkpoint is read."""
    if isinstance(state, np.ndarray):
        return np.empty((0, *state.shape[1:]), state.dtype) if state.ndim else state
    if is_dataclass(state) and not isinstance(state, type):
        out = copy.copy(state)  # not replace(): no __init__ or __post_init__ checks run again
        for f in fields(state):
            object.__setattr__(out, f.name, layout_of(getattr(state, f.name)))
        return out
    if isinstance(state, dict):
        return {k: layout_of(v) for k, v in state.items()}
    if isinstance(state, list | tuple):
        return type(state)(layout_of(v) for v in state)
    return state


def check_layout(state: Any, like: Any, path: str | Path) -> None:
    """InputError unless the resumed ``state`` has the layout of ``like`` (a fresh state of the
    same model): arrays' dtypes and sizes, classes, scalar kinds."""
    found = _layout_mismatch(state, like, "state")
    if found:
        raise InputError(
            f"cannot resume: the checkpoint {path} does not hold a state of this model "
            f"({found}); remove it or run without --resume"
        )
