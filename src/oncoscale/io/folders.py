"""Output folders: checked before a run starts, cleaned of what killed writers left behind.

:func:`check_output_folder` refuses, before anything is computed or written, a folder that
is a file, lies under a file, or cannot be written (read-only folder or file system);
:func:`os_error_message` turns the OSError of a write that failed later (disk full, folder
removed) into one line naming the file.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from oncoscale.errors import InputError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one process per folder is then the user's job
    fcntl = None  # type: ignore[assignment]


def check_output_folder(path: str | Path, option: str = "--out") -> Path:
    """``path`` as a Path if it is, or can become, a writable folder; else InputError naming
    ``option``. Creates nothing."""
    path = Path(path)
    allowed = "allowed: a folder (new or existing) that can be written"
    if path.exists() and not path.is_dir():
        raise InputError(f"invalid value for '{option}': '{path}' is a file; {allowed}")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing != path and not existing.is_dir():
        raise InputError(
            f"invalid value for '{option}': '{path}' lies under the file '{existing}'; {allowed}"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "read-only" if _read_only_fs(existing) else "not writable"
        raise InputError(f"invalid value for '{option}': '{existing}' is {what}; {allowed}")
    return path


@contextmanager
def exclusive(folder: str | Path) -> Iterator[Path]:
    """Create ``folder`` if needed and hold an exclusive lock on it while the block runs.

    Another process that wants the same folder waits: a Dask task re-run elsewhere while its
    first worker still runs, the orphaned worker of a killed client, a second command on the
    same --out. The kernel releases the lock when the holder dies, even by SIGKILL."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield folder
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder
    finally:
        os.close(fd)  # releases the lock


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def os_error_message(exc: OSError) -> str:
    """One line for an OSError of a file operation: what failed, on which path, and a hint."""
    where = f": '{exc.filename}'" if exc.filename else ""
    reason = " ".join((exc.strerror or str(exc) or type(exc).__name__).split())
    hints = {
        errno.ENOSPC: "free some space (an earlier result there is untouched; resume with "
        "--resume)",
        errno.EDQUOT: "free some space or raise the quota",
        errno.EROFS: "choose another --out",
        errno.EACCES: "choose another --out or change its permissions",
        errno.ENOTDIR: "a file stands where a folder is needed",
        errno.EISDIR: "a folder stands where a file is needed",
    }
    hint = hints.get(exc.errno)
    return f"{reason}{where}" + (f"; {hint}" if hint else "")
