"""Sobol and Morris indices through the study engine on functions with known indices: the
Ishigami function (and an input that does not enter: ST ≈ 0) and Sobol's G function; the
analytic indices lie inside the reported bootstrap intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from oncoscale_testfunctions import g_indices, ishigami_indices, scenario

from oncoscale.io.scenario import resolve
from oncoscale.workflows.studies.sensitivity import execute_sensitivity

PI = "3.141592653589793"
ISHIGAMI = [f"x{k}=-{PI}:{PI}" for k in range(1, 5)]


@pytest.fixture(scope="module")
def ishigami(tmp_path_factory):
    out = tmp_path_factory.mktemp("ishigami")
    resolved = resolve(scenario(), "exact")
    return execute_sensitivity(resolved, ISHIGAMI, ["ishigami"], "sobol", 1024, out, progress=False)


def _inside(est, conf, exact):
    return {n: abs(est[n] - exact[n]) <= conf[n] for n in exact}


def test_ishigami_sobol_indices_contain_the_analytic_values(ishigami):
    res = json.loads(ishigami.json.read_text())
    exact = ishigami_indices()
    for key in ("S1", "ST"):
        est, conf = res[key]["ishigami"], res[f"{key}_conf"]["ishigami"]
        assert all(_inside(est, conf, exact[key]).values()), (key, est, conf, exact[key])
        assert max(conf.values()) < 0.1  # informative intervals, not wide ones
    assert res["ST"]["ishigami"]["x4"] < 0.01  # x4 does not enter the function
    assert abs(res["ST"]["ishigami"]["x3"] - exact["ST"]["x3"]) < 0.05


def test_sobol_g_indices_contain_the_analytic_values(tmp_path):
    resolved = resolve(scenario(), "exact")
    params = [f"g{k}=0:1" for k in range(1, 7)]
    out = execute_sensitivity(
        resolved, params, ["sobol_g"], "sobol", 1024, tmp_path, progress=False
    )
    res = json.loads(out.json.read_text())
    exact = g_indices()
    for key in ("S1", "ST"):
        est, conf = res[key]["sobol_g"], res[f"{key}_conf"]["sobol_g"]
        assert all(_inside(est, conf, exact[key]).values()), (key, est, conf, exact[key])
    assert res["ST"]["sobol_g"]["g5"] < 0.01 and res["ST"]["sobol_g"]["g1"] > 0.5


def test_morris_ranks_the_ishigami_inputs(tmp_path):
    resolved = resolve(scenario(), "exact")
    out = execute_sensitivity(
        resolved, ISHIGAMI, ["ishigami"], "morris", 40, tmp_path, progress=False
    )
    res = json.loads(out.json.read_text())
    mu = res["mu_star"]["ishigami"]
    sigma = res["sigma"]["ishigami"]
    assert mu["x4"] == 0 and sigma["x4"] == 0  # exactly no effect
    assert min(mu["x1"], mu["x2"], mu["x3"]) > 1.0
    assert sigma["x3"] > 0.5 * mu["x3"]  # x3 acts only through its interaction with x1


def test_stochastic_model_uses_replicate_means_and_reports_the_noise(tmp_path):
    sc = scenario()
    resolved = resolve(sc, "noisy", {"noise": 0.5})
    out = execute_sensitivity(
        resolved,
        ISHIGAMI[:3],
        ["ishigami"],
        "sobol",
        128,
        tmp_path,
        replicates=4,
        progress=False,
    )
    res = json.loads(out.json.read_text())
    noise = res["replicate_noise"]["ishigami"]
    assert noise["replicates"] == 4
    assert noise["within_point_variance"] == pytest.approx(0.25, rel=0.15)
    study = out.study.dataset
    y = study["qoi_ishigami"].values
    assert y.shape == (128 * 5, 4) and np.all(np.std(y, axis=1) > 0)
    assert res["ST"]["ishigami"]["x2"] > 0.3
