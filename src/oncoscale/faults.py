"""Fault injection for the reliability tests: die (SIGKILL) or fail (ENOSPC) at named points.

Production code marks the moments where a crash is most harmful with :func:`fault_point`
(e.g. ``"checkpoint"`` between writing a checkpoint's temporary file and renaming it,
``"result-snapshot"`` while the result file is half written). Nothing happens unless the
environment variable ``ONCOSCALE_FAULTS`` (read once, at import) or :func:`arm` asks for it:

``ONCOSCALE_FAULTS="checkpoint:3"``        SIGKILL at the 3rd time the point is reached
``ONCOSCALE_FAULTS="result-snapshot:2:enospc"``  raise OSError(ENOSPC) there instead

Several entries are separated by commas. Only the tests use this; it costs one dict lookup
per write. A foundation module: it imports nothing from the house.
"""

from __future__ import annotations

import errno
import os
import signal

VARIABLE = "ONCOSCALE_FAULTS"
_ACTIONS = ("kill", "enospc")

_plan: dict[str, tuple[int, str]] = {}
_seen: dict[str, int] = {}


def parse(text: str) -> dict[str, tuple[int, str]]:
    """``"site:n[:action],..."`` → {site: (n, action)}; ValueError if malformed."""
    plan = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        parts = item.split(":")  # SITE may contain ':' itself (write:checkpoint)
        action = parts.pop() if parts[-1] in _ACTIONS else "kill"
        count = parts.pop() if len(parts) > 1 else ""
        site = ":".join(parts)
        if not site or not count.isdigit() or int(count) < 1:
            raise ValueError(f"invalid {VARIABLE} entry {item!r}; expected SITE:N[:kill|enospc]")
        plan[site] = (int(count), action)
    return plan


def arm(text: str) -> None:
    """Replace the plan (same syntax as the environment variable) and reset the counters."""
    global _plan
    _plan = parse(text)
    _seen.clear()


def fault_point(site: str, path: object = "") -> None:
    """Mark a moment where a fault may be injected (see the module docstring)."""
    if not _plan or site not in _plan:
        return
    _seen[site] = _seen.get(site, 0) + 1
    count, action = _plan[site]
    if _seen[site] != count:
        return
    if action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path) or None)
    os.kill(os.getpid(), signal.SIGKILL)


arm(os.environ.get(VARIABLE, ""))
