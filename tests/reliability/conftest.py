"""The reliability tests' helpers (identity of results, the kill harness, hostile-input
strategies) are plain modules of this folder."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
