"""The study engine: ranges validated like --set, QoIs by name, one CF study.nc (point ×
replicate per QoI, design coordinates with units), the same numbers on 1 or 2 Dask workers,
resume after a kill, spawned seeds per (point, replicate), and the sweep as a special case."""

from __future__ import annotations

import numpy as np
import pytest
from oncoscale_testfunctions import scenario

from oncoscale.errors import InputError
from oncoscale.io.results import open_result
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.workflows.studies import engine
from oncoscale.workflows.studies.design import make_design
from oncoscale.workflows.studies.engine import StudyPlan, run_design
from oncoscale.workflows.studies.space import ParameterSpace, parse_range, udunits

ODE = {"output.observe_interval": 10.0, "output.snapshot_interval": 200.0}


def ode():
    return resolve(load_scenario("oncolytic-central"), "ode", ODE, t_end=200.0)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("zeta=-1:5", "invalid value for 'zeta'"),
        ("zeta=5:1", "invalid range for 'zeta': 5:1; allowed: LO < HI"),
        ("zeta=0:5:log", "allowed: LO > 0 on a log scale"),
        ("zeta=0.1:5:cubic", "allowed: log, linear"),
        ("zeta", "expected NAME=LO:HI"),
        ("zetta=0.1:5", "unknown parameter 'zetta' for family 'oncolytic' (did you mean 'zeta'?)"),
        ("R_u=1:20", "invalid value for 'R_u'"),
        ("protocol.0.time=1:2", "the scenario has 0 protocol entries"),
    ],
)
def test_ranges_are_validated_with_clear_messages(spec, message):
    with pytest.raises(InputError, match=None) as err:
        ParameterSpace.parse([spec], ode())
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_range_bound_message_names_parameter_value_and_allowed_range():
    with pytest.raises(InputError) as err:
        ParameterSpace.parse(["q=-0.5:0.1"], ode())
    assert str(err.value).startswith("invalid value for 'q'")
    assert "-0.5 1/h" in str(err.value) and "allowed: >= 0" in str(err.value)


def test_protocol_fields_are_validated_too():
    sc = resolve(load_scenario("oncolytic-threshold-injection"), "ode")
    with pytest.raises(InputError, match=r"protocol\.0\.threshold"):
        ParameterSpace.parse(["protocol.0.threshold=-5:10"], sc)
    with pytest.raises(InputError, match=r"has no field 'treshold' .*did you mean 'threshold'"):
        ParameterSpace.parse(["protocol.0.treshold=1:10"], sc)
    space = ParameterSpace.parse(["protocol.0.start=100:900"], sc)
    assert space.dims[0].units == "h"


def test_log_scale_maps_the_unit_interval_geometrically():
    name, lo, hi, log = parse_range("zeta=0.05:5:log")
    assert (name, lo, hi, log) == ("zeta", 0.05, 5.0, True)
    space = ParameterSpace.parse(["zeta=0.05:5:log"], ode())
    assert space.from_unit(np.array([[0.5]]))[0, 0] == pytest.approx(0.5)
    assert space.to_unit(np.array([[5.0]]))[0, 0] == pytest.approx(1.0)


def test_parameter_units_become_udunits():
    cf_units = pytest.importorskip("cf_units")
    from oncoscale.models.registry import families

    for fam in families().values():
        pcls = fam.parameter_class()
        for name in pcls.names():
            cf_units.Unit(udunits(pcls.units_of(name)))  # parses
    assert udunits("cells/mm^2") == "1/mm^2"
    assert udunits("1/(t*n)") == "1"


def test_qoi_errors_are_clear(tmp_path):
    resolved = ode()
    space = ParameterSpace.parse(["zeta=0.1:1"], resolved)
    design = make_design("lhs", space.names, 2, 0)
    for qoi, message in [
        ("total_tumor", "did you mean 'total_tumour'"),
        ("total_tumour@900", "time 900 is outside the run [0, 200] h"),
        ("eradication.nope", "metric 'eradication' has no entry 'nope'"),
        ("nometric.key", "unknown study metric 'nometric'"),
    ]:
        with pytest.raises(InputError, match=None) as err:
            plan = StudyPlan.make(resolved, space, design, [qoi])
            run_design(plan, tmp_path / qoi, progress=False)
        assert message in str(err.value)
        assert not (tmp_path / qoi / "study.nc").exists()


def test_study_nc_is_labelled_and_cf_compliant(tmp_path):
    from test_cf_results_helper import cf_failures

    resolved = ode()
    space = ParameterSpace.parse(["zeta=0.1:2:log", "beta=0.05:0.2"], resolved)
    design = make_design("lhs", space.names, 6, 1)
    qois = [
        "total_tumour",
        "z@100",
        "eradication.time_to_relapse",
        "tumour_burden.integral_cells_h",
    ]
    plan = StudyPlan.make(resolved, space, design, qois)
    res = run_design(plan, tmp_path, progress=False)
    ds = open_result(res.path)
    assert ds["zeta"].dims == ("point",) and ds["zeta"].attrs["units"] == "1/h"
    assert ds["zeta"].attrs["scale"] == "log"
    assert ds["qoi_total_tumour"].dims == ("point", "replicate")
    assert ds["qoi_z_at_100"].attrs["units"] == "mm-2"
    assert ds["qoi_eradication_time_to_relapse"].attrs["units"] == "h"
    assert ds["qoi_tumour_burden_integral_cells_h"].attrs["units"] == "mm-2 h"
    assert cf_failures(res.path) == []
    # the values are those of normal runs at the design points
    from oncoscale.workflows.pipeline import simulate

    x = res.plan.values()[3]
    one = simulate(space.apply(resolved, x))
    assert ds["qoi_total_tumour"].values[3, 0] == pytest.approx(float(one["total_tumour"][-1]))
    assert ds["qoi_z_at_100"].values[3, 0] == pytest.approx(float(one["z"].sel(t_obs=100.0)))


def test_same_numbers_on_two_dask_workers_and_resume_after_a_kill(tmp_path, monkeypatch):
    sc = resolve(scenario(), "noisy", {"noise": 1.0})
    # the test family is registered in this process only: two workers use the ODE instead
    resolved = ode()
    space = ParameterSpace.parse(["zeta=0.1:2:log"], resolved)
    design = make_design("lhs", space.names, 8, 0)
    plan = StudyPlan.make(resolved, space, design, ["total_tumour"])
    one = run_design(plan, tmp_path / "one", progress=False, chunk_size=2)
    two = run_design(plan, tmp_path / "two", workers=2, progress=False, chunk_size=2)
    assert np.array_equal(one.values, two.values)
    # kill after two chunks: resume computes only the missing ones
    calls = []
    real = engine.evaluate_point

    def dying(plan, index, *args, **kwargs):
        calls.append(index)
        if len(calls) > 4:
            raise KeyboardInterrupt
        return real(plan, index, *args, **kwargs)

    monkeypatch.setattr(engine, "evaluate_point", dying)
    with pytest.raises(KeyboardInterrupt):
        run_design(plan, tmp_path / "killed", progress=False, chunk_size=2)
    assert len(list((tmp_path / "killed" / "points").glob("chunk-*.npz"))) == 2
    assert not (tmp_path / "killed" / "study.nc").exists()
    calls.clear()
    monkeypatch.setattr(engine, "evaluate_point", real)
    counted = []
    monkeypatch.setattr(
        engine, "evaluate_point", lambda p, i, *a, **k: counted.append(i) or real(p, i, *a, **k)
    )
    resumed = run_design(plan, tmp_path / "killed", progress=False, chunk_size=2, resume=True)
    assert sorted(counted) == [4, 5, 6, 7]
    assert np.array_equal(resumed.values, one.values)
    # resuming into a different study is refused
    other = StudyPlan.make(resolved, space, make_design("lhs", space.names, 8, 9), ["total_tumour"])
    with pytest.raises(InputError, match="belongs to a different study"):
        run_design(other, tmp_path / "killed", progress=False, chunk_size=2, resume=True)
    # stochastic points: replicate k of point i has its own spawned stream, any chunking
    sp = ParameterSpace.parse(["x1=0:1"], sc)
    splan = StudyPlan.make(sc, sp, make_design("lhs", sp.names, 3, 0), ["ishigami"], replicates=3)
    a = run_design(splan, tmp_path / "s1", progress=False, chunk_size=1)
    b = run_design(splan, tmp_path / "s2", progress=False, chunk_size=3)
    assert np.array_equal(a.values, b.values)
    assert len(np.unique(a.values)) == 9


def test_replicates_need_a_stochastic_model():
    resolved = ode()
    space = ParameterSpace.parse(["zeta=0.1:1"], resolved)
    with pytest.raises(InputError, match="deterministic"):
        StudyPlan.make(resolved, space, make_design("lhs", ["zeta"], 2, 0), ["u"], replicates=3)


def test_sobol_samples_must_be_a_power_of_two():
    with pytest.raises(InputError, match="a power of 2"):
        make_design("sobol", ["a", "b"], 100, 0)


def test_a_point_the_model_rejects_is_a_reported_failure(tmp_path):
    # the window set starts from the coexistence state E4, which does not exist at b13 = 10
    resolved = resolve(load_scenario("kinetic-pc-window"), "ode", t_end=1.0)
    space = ParameterSpace.parse(["b13=4:10"], resolved)
    plan = StudyPlan.make(resolved, space, make_design("grid", space.names, None, 0, 2), ["n1"])
    res = run_design(plan, tmp_path, progress=False)
    assert list(res.failures) == [1] and "E4 does not exist" in res.failures[1]
    ds = open_result(res.path)
    assert ds["failed"].values.tolist() == [0, 1]
    assert np.isfinite(ds["qoi_n1"].values[0, 0]) and np.isnan(ds["qoi_n1"].values[1, 0])
    from oncoscale.workflows.studies.sensitivity import sensitivity_indices

    with pytest.raises(InputError, match="1 of 2 QoI values are not finite"):
        sensitivity_indices(res, "morris")
