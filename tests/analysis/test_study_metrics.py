"""Study metrics and QoI extraction on hand-made results with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from oncoscale.analysis.metrics import metric, metric_units
from oncoscale.analysis.qoi import parse_qoi, qoi_attrs, qoi_values
from oncoscale.errors import InputError


def result(x, t=None):
    t = np.arange(len(x), dtype=float) if t is None else t
    return xr.Dataset(
        {"total_tumour": ("t_obs", np.asarray(x, float), {"units": "1", "long_name": "cells"})},
        coords={"t_obs": ("t_obs", t, {"units": "h"})},
    )


def test_eradication_relapse_and_nadir():
    ds = result([100, 50, 10, 0.5, 0.2, 5, 60, 80])
    m = metric("eradication")(ds)
    assert m == {
        "eradicated": 0.0,
        "time_to_extinction": 7.0,  # censored: never stays below 1
        "time_to_relapse": 2.0,  # nadir 0.2 at t = 4, back above 50 at t = 6
        "nadir": 0.2,
        "time_of_nadir": 4.0,
        "amplitude": pytest.approx(79.8),
    }
    gone = metric("eradication")(result([100, 20, 0.5, 0.1, 0.0]))
    assert gone["eradicated"] == 1.0 and gone["time_to_extinction"] == 2.0
    assert gone["time_to_relapse"] == 0.0  # nadir at the end: remaining horizon 0


def test_outcome_metric():
    assert metric("outcome")(result([1.0, 50.0, 1e4])) == {
        "log10_final": 4.0,
        "escaped": 1.0,
        "extinct": 0.0,
    }


def test_qoi_values_and_units():
    ds = result([0.0, 10.0, 20.0, 30.0])
    qois = [parse_qoi(q) for q in ("total_tumour", "total_tumour@1.5", "eradication.nadir")]
    assert qoi_values(ds, qois).tolist() == [30.0, 15.0, 0.0]
    assert metric_units("tumour_burden", ds)["integral_cells_h"] == "h"
    assert qoi_attrs(qois[1], ds)["long_name"].endswith("value at t = 1.5 h")
    with pytest.raises(InputError, match="expected NAME@TIME"):
        parse_qoi("total_tumour@")


def test_metric_qoi_on_a_model_without_its_observable():
    from oncoscale.analysis.qoi import check_qois

    ds = result([1.0, 2.0]).rename({"total_tumour": "n1"})
    with pytest.raises(InputError, match=r"--qoi-option outcome\.observable=NAME"):
        check_qois([parse_qoi("outcome.escaped")], ds)
    check_qois([parse_qoi("outcome.escaped")], ds, {"outcome": {"observable": "n1"}})


def test_qoi_option_parsing():
    from oncoscale.cli.study_options import parse_qoi_options

    assert parse_qoi_options(["outcome.observable=n1", "outcome.escape_factor=10"]) == {
        "outcome": {"observable": "n1", "escape_factor": 10}
    }
    with pytest.raises(InputError, match=r"expected METRIC\.OPTION=VALUE"):
        parse_qoi_options(["observable=n1"])
