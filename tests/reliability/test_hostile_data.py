"""Hostile calibration data files and explorer form values.

The contract of every entry point (fuzzing.py): a valid result, or an InputError with one
line naming the input — never another exception. Calibration data go through
:func:`oncoscale.io.observations.read_observations` (what ``oncoscale calibrate --data`` reads
first); explorer form values through the form's own validation (what the page shows).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from fuzzing import cli_text, hostile_scalars, hostile_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncoscale.errors import InputError
from oncoscale.io.observations import read_observations

FUZZ = settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=60)
HEADER = "# units: time = h, total_tumour = cells\ntime,observable,value,sd\n"


def _cell() -> st.SearchStrategy:
    return hostile_scalars().map(cli_text) | hostile_text()


@st.composite
def data_files(draw) -> bytes:
    """Whole files of junk, binary files, or a valid header with hostile cells."""
    kind = draw(st.sampled_from(["text", "bytes", "rows", "columns"]))
    if kind == "text":
        return draw(hostile_text()).encode("utf-8", "surrogatepass")
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "columns":
        header = ",".join(draw(st.lists(_cell(), min_size=1, max_size=5)))
        return f"# units: time = h\n{header}\n1,total_tumour,2,3\n".encode("utf-8", "surrogatepass")
    rows = draw(st.lists(st.tuples(_cell(), _cell(), _cell(), _cell()), min_size=1, max_size=4))
    body = "\n".join(",".join(r) for r in rows)
    return (HEADER + body + "\n").encode("utf-8", "surrogatepass")


@FUZZ
@given(content=data_files())
def test_calibration_data_files(content, tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "data.csv"
    path.write_bytes(content)
    try:
        obs = read_observations(path)
    except InputError as exc:
        message = str(exc)
        assert message and "\n" not in message, message
        return
    # accepted: every number usable by a likelihood
    assert obs.time.size > 0
    assert np.all(np.isfinite(obs.time)) and np.all(np.isfinite(obs.value))
    sd = obs.sd[~np.isnan(obs.sd)]
    assert np.all(np.isfinite(sd)) and np.all(sd > 0)


@pytest.fixture(scope="module")
def form():
    pn = pytest.importorskip("panel")  # the explorer extra is installed by `make test`
    from oncoscale.workflows.explorer import ScenarioForm

    return ScenarioForm(pn.pane.Alert("", visible=False))


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_explorer_form_values(form, data):
    """A hostile value in a parameter widget: the page shows the CLI's one-line message naming
    the parameter (or nothing when the value is valid); the form never raises anything else."""
    name = data.draw(st.sampled_from(sorted(form.widgets)))
    widget = form.widgets[name]
    value = data.draw(hostile_scalars() | hostile_text())
    old = widget.value
    try:
        widget.value = value
    except (ValueError, TypeError):  # the widget itself refuses the type: nothing reaches us
        return
    try:
        try:
            form.resolved()
        except InputError as exc:
            message = str(exc)
            assert "\n" not in message and (name in message or "value" in message), message
        shown = str(form.message.object)
        assert shown == "" or (shown.startswith("error: ") and "\n" not in shown), shown
        if isinstance(value, float) and not math.isfinite(value):
            assert shown.startswith("error: ") and name in shown, (name, value, shown)
    finally:
        widget.value = old
