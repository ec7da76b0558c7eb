"""Test-session set-up: with pytest-xdist the workers share the cores, so compiled kernels run
single-threaded there (no oversubscription; kernels give the same numbers for any thread
count, which tests/models/oncolytic/test_abm.py checks explicitly)."""

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    import numba

    numba.set_num_threads(1)
