"""The reliability tests' helpers (identity of results, the kill harness, hostile-input
strategies) are plain modules of this folder.

The tests start ``oncoscale``, ``dask`` and Python in other folders: they must import the
oncoscale under test (e.g. a worktree given by a relative ``PYTHONPATH=src``), not whichever
one is installed, so its folder goes first on their ``PYTHONPATH``, as an absolute path."""

import os
import sys
from pathlib import Path

import oncoscale

sys.path.insert(0, str(Path(__file__).parent))
_SOURCE = str(Path(oncoscale.__file__).resolve().parents[1])
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_SOURCE, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
)
