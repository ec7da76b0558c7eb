"""The test-only families of the study tests live beside this file (importable by name, as a
family declaration's "module:attribute" parts must be)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
