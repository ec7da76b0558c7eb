"""The CF checker helper of tests/io/test_cf_results.py, importable from this folder."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "cf_results_tests", Path(__file__).parents[1] / "io" / "test_cf_results.py"
)
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
cf_failures = _mod.cf_failures
