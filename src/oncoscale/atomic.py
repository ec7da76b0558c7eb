"""Atomic file writes: write to a temporary name in the same folder, then rename.

Nothing ever leaves half a result file: a reader sees either the old file or the new one.
A foundation module (like :mod:`oncoscale.errors`): it imports nothing from the house, so every
layer may use it.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from oncoscale.faults import fault_point

#: the names :func:`atomic_path` gives its temporary files (``.result.nc.k3j_x9ab.tmp.nc``)
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[^.]*)?$")


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    A test can kill the process between the write and the rename (fault point
    ``write:KIND``, KIND the file name up to its first '-' or '.': ``checkpoint``, ``result``,
    ``snap``, ...; see :mod:`oncoscale.faults`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    try:
        yield Path(tmp)
        fault_point("write:" + re.split(r"[-.]", path.name, maxsplit=1)[0], path)
        os.replace(tmp, path)
    except Exception as exc:
        explained = _explain(exc, path)
        Path(tmp).unlink(missing_ok=True)
        if explained is exc:
            raise
        raise explained from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: free space (bytes) below which a failed write is blamed on a full disk
_FULL = 1 << 20


def _explain(exc: Exception, path: Path) -> Exception:
    """The error of a failed write as an OSError naming ``path``: libraries report a full disk
    without a file name (zipfile) or as a RuntimeError (NetCDF: "HDF error")."""
    if isinstance(exc, OSError | RuntimeError) and exc.__class__ is not NotImplementedError:
        try:
            full = shutil.disk_usage(path.parent).free < _FULL
        except OSError:
            full = False
        if full:
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    if isinstance(exc, OSError) and exc.filename is None and exc.errno is not None:
        return OSError(exc.errno, exc.strerror or str(exc), str(path))
    return exc


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files that writers killed before their rename left in ``folder``
    (not recursive); return them. Only for folders no other process is writing to."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.iterdir() if _TEMPORARY.match(p.name) and p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def atomic_write(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path``."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def atomic_json(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as indented JSON, atomically (non-finite floats become null)."""

    def clean(x: Any) -> Any:
        if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))):
            return None
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        if hasattr(x, "item") and callable(x.item):  # numpy scalars
            return clean(x.item())
        return x

    return atomic_write(path, lambda p: p.write_text(json.dumps(clean(obj), indent=2) + "\n"))
