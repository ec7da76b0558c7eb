"""The explorer's logic without a browser: widgets from parameter sets, the ODE at slider
speed, live runs that equal CLI runs and stop on request."""

import json
import time

import numpy as np
import pytest
from click.testing import CliRunner

from oncoscale.cli import main
from oncoscale.errors import InputError
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.models.registry import family
from oncoscale.run.runner import run
from oncoscale.viz.explorer.ode import trajectories
from oncoscale.viz.explorer.parameters import (
    allowed_range,
    changed_values,
    parameter_widget,
    tooltip,
)
from oncoscale.workflows.live import LiveRun
from oncoscale.workflows.pipeline import execute_run


def test_widgets_carry_range_units_and_description():
    params = OncolyticParameters()
    widgets = {
        n: parameter_widget(OncolyticParameters, n, getattr(params, n)) for n in params.names()
    }
    assert widgets["p"].name == "p (1/h)"
    assert allowed_range(OncolyticParameters, "p") == ">= 0"
    assert "Allowed: >= 0." in tooltip(OncolyticParameters, "p")
    assert changed_values(widgets, params) == {}
    widgets["zeta"].value = 5.0
    widgets["R"].value = "3"
    assert changed_values(widgets, params) == {"zeta": 5.0, "R": 3}
    widgets["p"].value = -1.0
    with pytest.raises(InputError, match=r"invalid value for 'p'.*allowed: >= 0"):
        resolve(load_scenario("oncolytic-central"), None, changed_values(widgets, params))


@pytest.mark.parametrize(("scenario", "param"), [("oncolytic", "zeta"), ("kinetic-pc-window", "B")])
def test_ode_view_follows_a_slider_in_milliseconds(scenario, param):
    resolved = resolve(load_scenario(scenario), "ode")
    problem = family(resolved.scenario.family).part("bifurcation")(resolved.params, param)
    t0 = time.perf_counter()
    runs = trajectories(problem, problem.param_value, {}, resolved.t_end)
    elapsed = time.perf_counter() - t0
    assert runs and all(np.all(np.isfinite(r.y)) for r in runs)
    assert elapsed < 5.0, f"{elapsed:.2f} s"  # ms to ~2 s (kinetic, 300 1/r) on a loaded 2-core box


def test_ode_view_matches_the_model_run():
    resolved = resolve(load_scenario("oncolytic"), "ode", t_end=500.0)
    rep = resolved.representation()
    initial = rep.observables(rep.initial_state(None))
    problem = family("oncolytic").part("bifurcation")(resolved.params, "zeta")
    (first, *_) = trajectories(problem, problem.param_value, initial, 500.0)
    assert first.name == "model initial state"
    record = run(rep, resolved.plan(progress=False))
    _, obs = record.store.observable_table()
    final = np.array([obs[v][-1] for v in ("u", "i", "z")])
    np.testing.assert_allclose(first.y[-1], final, rtol=1e-4)


def test_live_run_equals_the_cli_run_and_shows_frames(tmp_path):
    resolved = resolve(load_scenario("oncolytic-central"), "pde-radial", {"zeta": 5}, 40.0)
    live = LiveRun(resolved, tmp_path / "live").start()
    live.join(300)
    assert live.state.status == "finished", live.state.message
    assert len(live.state.times) > 10 and live.state.frame.fields["u"].ndim == 1
    execute_run(resolved, tmp_path / "cli", progress=False, figures=False)
    a = json.loads((tmp_path / "live/summary.json").read_text())
    b = json.loads((tmp_path / "cli/summary.json").read_text())
    assert a["final"] == b["final"] and a["fronts"] == b["fronts"]


def test_live_run_stops_and_keeps_the_partial_record(tmp_path):
    resolved = resolve(load_scenario("oncolytic-central"), "pde-radial", {}, 3000.0)
    live = LiveRun(resolved, tmp_path, command="oncoscale run oncolytic-central").start()
    deadline = time.monotonic() + 120
    while not live.state.times and time.monotonic() < deadline:
        time.sleep(0.05)
    live.stop()
    live.join(120)
    assert live.state.status == "stopped"
    assert "--resume" in live.state.message
    assert not (tmp_path / "result.nc").exists()


def test_live_run_reports_bad_numerics_as_a_message(tmp_path):
    resolved = resolve(load_scenario("oncolytic-central"), "pde-radial", {"numerics.rtol": 5}, 10.0)
    live = LiveRun(resolved, tmp_path).start()
    live.join(60)
    assert live.state.status == "failed" and "'rtol'" in live.state.message


def test_fronts_plot_carries_the_travelling_wave_theory(tmp_path):
    """The explorer's fronts plot draws R + c t with the summary's theory speeds (dashed)."""
    from oncoscale.viz.explorer.results import RunResultView

    res = CliRunner().invoke(
        main,
        ["run", "oncolytic-central", "--model", "pde-radial", "--t-end", "40", "--no-figures",
         "--quiet", "--out", str(tmp_path)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    theory = json.loads((tmp_path / "summary.json").read_text())["theory"]
    view = RunResultView(tmp_path)
    dashed = [r for r in view.series.fronts.renderers if r.glyph.line_dash]
    assert len(dashed) == 2
    speeds = sorted(
        (d["y"][1] - d["y"][0]) / (d["x"][1] - d["x"][0])
        for d in (r.data_source.data for r in dashed)
    )
    expected = sorted(
        theory[k]
        for k in ("uninfected_speed_2sqrt(Dp)_mm_per_h", "infected_speed_2sqrt(D(beta-q))_mm_per_h")
    )
    assert speeds == pytest.approx(expected, rel=1e-12)
