"""The shared run loop: time control, protocols, triggers, records, checkpoints and resume."""

import itertools
from dataclasses import replace

import numpy as np
import pytest

from oncoscale.errors import InputError
from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.models.oncolytic.pde import OncolyticPDERadial
from oncoscale.run.protocols import Injection, SetParameter, ThresholdInjection
from oncoscale.run.runner import RunPlan, run


def _rep(**kw):
    return OncolyticPDERadial(OncolyticParameters(**kw), {"dr": 0.05})


def test_scheduled_parameter_change_and_injection_are_applied_and_logged():
    rep = _rep(R_i=1.0)
    plan = RunPlan(
        t_end=60.0,
        observe_interval=5.0,
        snapshot_interval=20.0,
        progress=False,
        events=(
            SetParameter(kind="set_parameter", time=20.0, parameter="zeta", value=5.0),
            Injection(kind="injection", time=40.0, fraction=0.3),
        ),
    )
    rec = run(rep, plan)
    assert rep.params.zeta == 5.0
    assert [e.kind for e in rec.events] == ["set_parameter", "injection"]
    assert [e.time for e in rec.events] == [20.0, 40.0]
    assert rec.events[0].details == {"parameter": "zeta", "old": 0.5, "new": 5.0}
    assert rec.snap_times == [0.0, 20.0, 40.0, 60.0]
    assert rec.obs_times == list(np.arange(0.0, 61.0, 5.0))
    # the injection moves 30 % of u into i at t = 40 (recorded value is post-event)
    k = rec.obs_times.index(40.0)
    assert rec.observables["total_i"][k] > rec.observables["total_i"][k - 1] + 1e4


def test_injection_equals_manual_split_run():
    """Running through an injection event = stopping, injecting by hand, continuing."""
    plan = RunPlan(
        t_end=30.0,
        observe_interval=10.0,
        snapshot_interval=30.0,
        progress=False,
        events=(Injection(kind="injection", time=10.0, fraction=0.5),),
    )
    rep = _rep(R_i=0.0)
    rec = run(rep, plan)
    rep2 = _rep(R_i=0.0)
    s = rep2.advance(rep2.initial_state(), 0.0, 10.0)
    rep2.apply_action(s, "inject", {"fraction": 0.5})
    s = rep2.advance(s, 10.0, 30.0)
    np.testing.assert_allclose(rec.snapshots["u"][-1], s.y[0], rtol=1e-6, atol=1e-6)


def test_threshold_trigger_fires_on_upward_crossings_only():
    """Wide injection, zeta = 5: the tumour shrinks and regrows; a trigger at 1e5 cells after
    500 h fires each time the total climbs back to the threshold, never twice in a row."""
    rep = _rep(R_i=2.6, zeta=5.0)
    trig = ThresholdInjection(kind="threshold_injection", start=500.0, threshold=1e5)
    plan = RunPlan(
        t_end=1500.0, observe_interval=1.0, snapshot_interval=500.0, progress=False, events=(trig,)
    )
    rec = run(rep, plan)
    fired = [e for e in rec.events if e.kind == "threshold_injection"]
    assert len(fired) >= 2
    t = np.array(rec.obs_times)
    total = np.array(rec.observables["total_tumour"])
    for e in fired:
        assert e.time >= 500.0
        assert e.details["total_tumour"] >= 1e5
        k = int(np.searchsorted(t, e.time))
        assert total[k - 1] < 1e5  # reached from below
    # between two firings the total went below the threshold again (re-armed)
    for a, b in itertools.pairwise(fired):
        sel = (t > a.time) & (t < b.time)
        assert total[sel].min() < 1e5


class Interrupt(Exception):
    pass


def test_killed_run_resumes_to_the_identical_result(tmp_path):
    plan = RunPlan(
        t_end=200.0,
        observe_interval=2.0,
        snapshot_interval=50.0,
        progress=False,
        work_dir=tmp_path / "work",
        checkpoint_every=1e-9,
        events=(SetParameter(kind="set_parameter", time=60.0, parameter="zeta", value=5.0),),
    )
    full = run(_rep(R_i=1.0), replace(plan, work_dir=tmp_path / "full"))

    class Dying(OncolyticPDERadial):
        calls = 0

        def advance(self, state, t0, t1):
            Dying.calls += 1
            if Dying.calls == 70:
                raise Interrupt
            return super().advance(state, t0, t1)

    rep = Dying(OncolyticParameters(R_i=1.0), {"dr": 0.05})
    with pytest.raises(Interrupt):
        run(rep, plan)
    assert (tmp_path / "work" / "checkpoint.npz").exists()
    resumed = run(_rep(R_i=1.0), plan, resume=True)
    assert resumed.resumed_from is not None and 100 < resumed.resumed_from < 200
    assert resumed.obs_times == full.obs_times
    for name in full.observables:
        np.testing.assert_array_equal(resumed.observables[name], full.observables[name])
    np.testing.assert_array_equal(resumed.snapshots["u"][-1], full.snapshots["u"][-1])
    assert [e.to_dict() for e in resumed.events] == [e.to_dict() for e in full.events]


def test_resume_refuses_a_different_run(tmp_path):
    plan = RunPlan(
        t_end=10.0,
        observe_interval=1.0,
        snapshot_interval=5.0,
        progress=False,
        work_dir=tmp_path / "work",
        checkpoint_every=1e-9,
    )
    run(_rep(), plan)
    with pytest.raises(InputError, match="different run"):
        run(_rep(zeta=3.0), plan, resume=True)


def test_plan_and_protocol_validation():
    with pytest.raises(InputError, match="t_end"):
        RunPlan(t_end=-1.0, observe_interval=1.0, snapshot_interval=1.0)
    plan = RunPlan(
        t_end=10.0,
        observe_interval=1.0,
        snapshot_interval=5.0,
        progress=False,
        events=(SetParameter(kind="set_parameter", time=5.0, parameter="zeat", value=1.0),),
    )
    with pytest.raises(InputError, match="did you mean 'zeta'"):
        run(_rep(), plan)
    plan = RunPlan(
        t_end=10.0,
        observe_interval=1.0,
        snapshot_interval=5.0,
        progress=False,
        events=(SetParameter(kind="set_parameter", time=5.0, parameter="zeta", value=-1.0),),
    )
    with pytest.raises(InputError, match="zeta"):
        run(_rep(), plan)
    plan = RunPlan(
        t_end=10.0,
        observe_interval=1.0,
        snapshot_interval=5.0,
        progress=False,
        events=(ThresholdInjection(kind="threshold_injection", threshold=1.0, observable="tumor"),),
    )
    with pytest.raises(InputError, match="unknown observable"):
        run(_rep(), plan)
