"""The explorer app: scenario runs with live views, the homogeneous ODE at slider speed,
finished results and side-by-side comparisons, in the browser (``oncoscale explore``) or in
Jupyter (``explorer_app(folder)`` in a cell after ``pn.extension()``).

Every input is validated by the code the CLI uses (:func:`oncoscale.io.scenario.resolve`),
so a bad value shows the CLI's message in the page. Runs are written under
``ROOT/explorer-runs/``; results are listed and opened only from inside ``ROOT``.
"""

from __future__ import annotations

import functools
import logging
import shlex
import time
from pathlib import Path
from typing import Any

import numpy as np
import panel as pn

from oncoscale.analysis.bifurcation import compute_diagram
from oncoscale.errors import InputError
from oncoscale.io.scenario import (
    available_scenarios,
    load_scenario,
    parse_overrides,
    resolve,
)
from oncoscale.models.base import HomogeneousRepresentation
from oncoscale.models.registry import families, family
from oncoscale.viz.explorer.fields import FieldView
from oncoscale.viz.explorer.ode import ODEView, trajectories
from oncoscale.viz.explorer.parameters import changed_values, parameter_widget
from oncoscale.viz.explorer.results import find_results, inside, result_view
from oncoscale.viz.explorer.series import SeriesView
from oncoscale.viz.report import key_numbers_keyed
from oncoscale.workflows.live import LiveRun

#: folder (inside the explorer's root) that runs started in the explorer write to
RUNS_FOLDER = "explorer-runs"
#: how often the page pulls a live run's newest frame (ms)
REFRESH_MS = 300

log = logging.getLogger(__name__)


def _message(alert: pn.pane.Alert, text: str = "", kind: str = "danger") -> None:
    alert.object = text
    alert.alert_type = kind
    alert.visible = bool(text)


def on_server_tick(action):
    """A button handler that runs ``action`` on the server's next tick, holding the Bokeh
    document lock (Panel runs click handlers without it, and raw Bokeh edits — an axis label,
    a data source — then fail); called at once outside a server (Jupyter, tests)."""
    return lambda event: pn.state.execute(action, schedule=True)


def shows_errors(method):
    """Show InputError (the CLI's message) and any other failure in the page's message box,
    never as a traceback."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except InputError as exc:
            _message(self.message, f"error: {exc}")
        except Exception as exc:  # the traceback goes to the server's log, not to the page
            log.exception("explorer: %s failed", method.__name__)
            _message(self.message, f"error: {type(exc).__name__}: {exc}")
        return None

    return wrapper


class ScenarioForm:
    """Family, scenario, model, horizon, seed, settings and one widget per parameter."""

    def __init__(self, message: pn.pane.Alert) -> None:
        self.message = message
        self.scenarios = available_scenarios()
        names = list(families())
        self.family = pn.widgets.Select(
            name="family",
            options=names,
            value="oncolytic" if "oncolytic" in names else names[0],
            css_classes=["family"],
        )
        self.scenario = pn.widgets.Select(name="scenario", css_classes=["scenario"])
        self.model = pn.widgets.Select(name="representation", css_classes=["model"])
        self.t_end = pn.widgets.FloatInput(name="t_end", css_classes=["t-end"], width=170)
        self.seed = pn.widgets.IntInput(name="seed", css_classes=["seed"], width=170)
        self.settings = pn.widgets.TextAreaInput(
            name="numerical and output settings (one NAME=VALUE per line, as --set)",
            placeholder="numerics.dr=0.02\noutput.snapshot_interval=50",
            css_classes=["settings"],
            height=80,
        )
        self.description = pn.pane.Markdown("", css_classes=["scenario-description"])
        self.params_box = pn.FlexBox(css_classes=["parameters"])
        self.params_scroll = pn.Column(self.params_box, scroll=True, max_height=640, width=380)
        self.widgets: dict[str, pn.widgets.Widget] = {}
        self.family.param.watch(lambda e: self._family_changed(), "value")
        self.scenario.param.watch(lambda e: self._scenario_changed(), "value")
        self.layout = pn.Column(
            self.family,
            self.scenario,
            self.model,
            pn.Row(self.t_end, self.seed),
            self.description,
            self.settings,
            pn.pane.Markdown("**parameters** (hover ⓘ: meaning, units, allowed range)"),
            self.params_scroll,
            width=390,
        )
        self._family_changed()

    def _family_changed(self) -> None:
        options = [n for n, s in self.scenarios.items() if s.family == self.family.value]
        self.scenario.options = options
        self.scenario.value = options[0] if options else None
        self._scenario_changed()

    @shows_errors
    def _scenario_changed(self) -> None:
        if not self.scenario.value:
            return
        sc = self.scenarios[self.scenario.value]
        self.model.options = list(sc.models)
        self.model.value = sc.default_model
        self.t_end.value = sc.t_end
        self.seed.value = sc.seed
        unit = family(sc.family).time_label
        self.t_end.name = f"t_end ({unit})"
        self.description.object = f"**{sc.title}**  \n{sc.description}"
        params = resolve(sc).params
        cls = type(params)
        self.widgets = {n: parameter_widget(cls, n, getattr(params, n)) for n in cls.names()}
        for widget in self.widgets.values():
            widget.param.watch(lambda e: self.check(), "value")
        self.params_box.objects = list(self.widgets.values())
        _message(self.message)

    def overrides(self) -> dict[str, Any]:
        """Parameters changed in the form plus the settings box (validated later)."""
        sc = self.scenarios[self.scenario.value]
        base = resolve(sc).params
        lines = [ln.strip() for ln in (self.settings.value or "").splitlines() if ln.strip()]
        return {**changed_values(self.widgets, base), **parse_overrides(lines)}

    def resolved(self, model: str | None = None):
        """The form as a validated run (InputError with the CLI's message otherwise)."""
        sc = load_scenario(self.scenario.value)
        return resolve(
            sc, model or self.model.value, self.overrides(), self.t_end.value, self.seed.value
        )

    def check(self) -> None:
        """Validate the form now: the message box shows what the CLI would say."""
        try:
            self.resolved()
            _message(self.message)
        except InputError as exc:
            _message(self.message, f"error: {exc}")

    def command(self, resolved) -> str:
        """The equivalent ``oncoscale run`` command line."""
        parts = ["oncoscale", "run", resolved.scenario.name, "--model", resolved.model]
        parts += ["--t-end", f"{resolved.t_end:g}"]
        if resolved.representation().stochastic:
            parts += ["--seed", str(resolved.seed)]
        for key, value in resolved.overrides.items():
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            parts += ["--set", f"{key}={text}"]
        return shlex.join(parts)


class RunTab:
    """Start and stop a run; live fields, totals and fronts; key numbers and figures after."""

    def __init__(self, form: ScenarioForm, root: Path, message: pn.pane.Alert) -> None:
        self.form, self.root, self.message = form, root, message
        self.run_button = pn.widgets.Button(name="Run", button_type="primary", css_classes=["run"])
        self.stop_button = pn.widgets.Button(name="Stop", disabled=True, css_classes=["stop"])
        self.progress = pn.indicators.Progress(
            value=0, max=1000, width=300, css_classes=["progress"]
        )
        self.status = pn.pane.Markdown("", css_classes=["run-status"])
        self.fields = FieldView()
        self.series = SeriesView()
        self.numbers = pn.pane.HTML("", css_classes=["key-numbers"])
        self.figures = pn.FlexBox()
        self.run_button.on_click(on_server_tick(self.start))
        self.stop_button.on_click(on_server_tick(self.stop))
        self.live: LiveRun | None = None
        self._callback = None
        self.layout = pn.Column(
            pn.Row(self.run_button, self.stop_button, self.progress),
            self.status,
            self.fields.layout,
            self.series.layout,
            pn.Card(self.numbers, title="key numbers", css_classes=["numbers-card"]),
            pn.Card(
                self.figures,
                title="figures (fronts with the travelling-wave theory)",
                collapsed=True,
            ),
            sizing_mode="stretch_width",
        )

    @shows_errors
    def start(self) -> None:
        """Validate the form and start the run (the CLI's message if invalid)."""
        if self.live is not None and self.live.alive:
            raise InputError("a run is going on: stop it first")
        resolved = self.form.resolved()
        resolved.representation()  # numerics validated before anything is written
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = self.root / RUNS_FOLDER / f"{resolved.scenario.name}-{resolved.model}-{stamp}"
        command = self.form.command(resolved) + f" --out {shlex.quote(str(out))}"
        resolved.output = resolved.output.model_copy(update={"movie": False})
        _message(self.message)
        self.numbers.object, self.figures.objects = "", []
        fam = family(resolved.scenario.family)
        self.series.set_time_label(fam.time_label)
        theory = fam.part("front_theory")
        guides = theory(resolved.params.model_dump()) if theory else {}
        self.series.set_guides(guides, resolved.t_end)
        self.status.object = f"running… equivalent command: `{command}`"
        self.live = LiveRun(resolved, out, command).start()
        self.run_button.disabled, self.stop_button.disabled = True, False
        self._callback = pn.state.add_periodic_callback(self.refresh, period=REFRESH_MS)

    def stop(self) -> None:
        """Stop the run at its next frame."""
        if self.live is not None:
            self.live.stop()
            self.status.object = "stopping…"

    @shows_errors
    def refresh(self) -> None:
        """Pull the newest frame of the live run into the views."""
        live = self.live
        if live is None:
            return
        with live.lock:
            state = live.state
            frame, status = state.frame, state.status
            times = list(state.times)
            table = {
                k: [o.get(k, np.nan) for o in state.observables]
                for k in (frame.observables if frame else {})
            }
        if frame is not None:
            self.fields.update(frame)
            self.series.show(np.asarray(times), {k: np.asarray(v) for k, v in table.items()})
            self.progress.value = int(1000 * frame.t / live.t_end)
        if status in ("finished", "stopped", "failed"):
            self._finish(live)

    def _finish(self, live: LiveRun) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None
        self.run_button.disabled, self.stop_button.disabled = False, True
        state = live.state
        if state.status == "failed":
            self.status.object = ""
            _message(self.message, f"error: {state.message}")
            return
        self.status.object = f"**{state.status}** — {state.message}  \n`{live.command}`"
        out = state.output
        if out is None:
            return
        self.progress.value = 1000
        from oncoscale.io.results import open_result

        ds = open_result(out.result)
        self.numbers.object = key_numbers_keyed(
            {k: v for k, v in out.summary.items() if k != "events"}, ds
        )
        self.figures.objects = [
            pn.pane.PNG(str(p), width=520) for p in out.figures if p.suffix == ".png"
        ]


class ODETab:
    """The homogeneous ODE of the chosen scenario: slider, time series, phase portrait and the
    bifurcation diagram with a marker at the slider's value."""

    def __init__(self, form: ScenarioForm, message: pn.pane.Alert) -> None:
        self.form, self.message = form, message
        self.parameter = pn.widgets.Select(name="parameter", css_classes=["ode-parameter"])
        self.p_from = pn.widgets.FloatInput(name="from", width=120)
        self.p_to = pn.widgets.FloatInput(name="to", width=120)
        self.slider = pn.widgets.FloatSlider(name="value", css_classes=["ode-slider"], width=360)
        self.horizon = pn.widgets.FloatInput(name="horizon", width=120)
        self.axis_x = pn.widgets.Select(name="phase x", width=100)
        self.axis_y = pn.widgets.Select(name="phase y", width=100)
        self.cycles = pn.widgets.Checkbox(name="limit cycles in the diagram (slower)")
        self.diagram_button = pn.widgets.Button(name="Compute diagram", css_classes=["ode-diagram"])
        self.info = pn.pane.Markdown("", css_classes=["ode-info"])
        self.view = ODEView()
        self.problem = None
        self._choosing = False  # widgets being reset for a new parameter: no redraw per change
        self._initial: dict[str, float] = {}
        self.form.scenario.param.watch(lambda e: self.setup(), "value")
        self.parameter.param.watch(lambda e: self.choose(), "value")
        self.slider.param.watch(lambda e: self.update(), "value")
        for w in (self.axis_x, self.axis_y, self.horizon):
            w.param.watch(lambda e: self.update(), "value")
        self.diagram_button.on_click(on_server_tick(self.diagram))
        self.layout = pn.Column(
            pn.Row(self.parameter, self.p_from, self.p_to, self.horizon),
            pn.Row(self.slider, self.axis_x, self.axis_y),
            pn.Row(self.diagram_button, self.cycles),
            self.info,
            self.view.layout,
            sizing_mode="stretch_width",
        )
        self.setup()

    @shows_errors
    def setup(self) -> None:
        """Parameters of the scenario's family; the model's initial state (if homogeneous)."""
        sc = self.form.scenarios.get(self.form.scenario.value)
        if sc is None:
            return
        self.problem = None  # until a parameter of the new scenario is chosen
        fam = family(sc.family)
        if fam.part("bifurcation") is None:
            self.info.object = f"family '{fam.name}' has no homogeneous ODE"
            return
        self._initial = {}
        for model in sc.models:
            cls = fam.representation_class(model)
            if issubclass(cls, HomogeneousRepresentation):
                rep = resolve(sc, model).representation()
                self._initial = rep.observables(rep.initial_state(None))
                break
        self.horizon.value = sc.t_end
        self.horizon.name = f"horizon ({fam.time_label})"
        build = fam.part("bifurcation")
        names = list(getattr(build, "parameters", ())) or fam.parameter_class().names()
        self.parameter.options = names
        preferred = "zeta" if "zeta" in names else names[0]
        if self.parameter.value == preferred:
            self.choose()
        self.parameter.value = preferred

    def _problem(self, param: str):
        resolved = self.form.resolved(model=None)
        fam = family(resolved.scenario.family)
        build = fam.require("bifurcation", "homogeneous ODE")
        return build(resolved.params, param), resolved

    @shows_errors
    def choose(self) -> None:
        """A new slider parameter: its range around the current value, and the diagram."""
        if not self.parameter.value:
            return
        self._choosing = True
        try:
            self._reset_widgets()
        finally:
            self._choosing = False
        self.diagram()
        self.update()

    def _reset_widgets(self) -> None:
        self.problem, _ = self._problem(self.parameter.value)
        value = self.problem.param_value
        low, high = (value / 4, value * 3) if value > 0 else (0.0, 1.0)
        self.p_from.value, self.p_to.value = low, high
        self.slider.start, self.slider.end = low, high
        self.slider.step = (high - low) / 200
        self.slider.value = value
        variables = list(self.problem.variables)
        self.axis_x.options = variables
        self.axis_y.options = [*variables, "t"] if len(variables) == 1 else variables
        self.axis_x.value = variables[0]
        self.axis_y.value = self.axis_y.options[1] if len(self.axis_y.options) > 1 else "t"

    @shows_errors
    def update(self) -> None:
        """Trajectories at the slider's value (phase portrait, time series, marker)."""
        if self.problem is None or self._choosing:
            return
        value, pr = float(self.slider.value), self.problem
        if pr.param in type(self.form.resolved().params).names():
            self.form.resolved().params.updated(**{pr.param: value})  # the CLI's range check
        t0 = time.perf_counter()
        runs = trajectories(pr, value, self._initial, float(self.horizon.value))
        var = list(pr.variables)
        axes = (var.index(self.axis_x.value), [*var, "t"].index(self.axis_y.value))
        self.view.show_trajectories(pr, runs, axes, main=0)
        self.view.mark(pr, value, runs)
        ms = 1000 * (time.perf_counter() - t0)
        finals = (
            ", ".join(f"{v} = {runs[0].y[-1, j]:.6g}" for j, v in enumerate(var)) if runs else ""
        )
        self.info.object = (
            f"{pr.param} = {value:.6g} {pr.param_units}: {len(runs)} trajectories in {ms:.0f} ms; "
            f"{runs[0].name if runs else ''} at the horizon: {finals}"
        )
        _message(self.message)

    @shows_errors
    def diagram(self) -> None:
        """Compute the bifurcation diagram over [from, to]."""
        if self.problem is None:
            return
        low, high = float(self.p_from.value), float(self.p_to.value)
        if not high > low:
            raise InputError(
                f"invalid range for '{self.problem.param}': from {low:g} to {high:g}; "
                "allowed: from < to"
            )
        self.slider.start, self.slider.end = low, high
        self.slider.step = (high - low) / 200
        self.view.show_diagram(compute_diagram(self.problem, low, high, cycles=self.cycles.value))


class OpenTab:
    """Open a finished run, ensemble or study folder under the root; compare two runs."""

    def __init__(self, root: Path, message: pn.pane.Alert, compare: bool = False) -> None:
        self.root, self.message, self.compare = root, message, compare
        self.refresh_button = pn.widgets.Button(name="Refresh list", width=120)
        self.left = pn.widgets.Select(name="result folder", css_classes=["open-left"], width=380)
        self.right = pn.widgets.Select(name="second run", css_classes=["open-right"], width=380)
        self.body = pn.Row(sizing_mode="stretch_width")
        self.diff = pn.pane.HTML("", css_classes=["compare-numbers"])
        self.open_button = pn.widgets.Button(
            name="Compare" if compare else "Open", button_type="primary", css_classes=["open"]
        )
        self.refresh_button.on_click(on_server_tick(self.refresh))
        self.open_button.on_click(on_server_tick(self.open))
        pickers = [self.left, self.right] if compare else [self.left]
        self.layout = pn.Column(
            pn.Row(*pickers, self.refresh_button, self.open_button),
            self.diff,
            self.body,
            sizing_mode="stretch_width",
        )
        self.refresh()

    def refresh(self) -> None:
        """List the result folders under the root."""
        found = find_results(self.root)
        self.left.options = found
        self.right.options = found

    @shows_errors
    def open(self) -> None:
        """Show the chosen folder(s)."""
        if not self.left.value:
            raise InputError(f"no result folder under {self.root}: run something first")
        views = [result_view(inside(self.root, self.left.value))]
        if self.compare:
            views.append(result_view(inside(self.root, self.right.value)))
            self.diff.object = compare_numbers(self.root, self.left.value, self.right.value)
        self.body.objects = [v.layout for v in views]
        _message(self.message)


def compare_numbers(root: Path, a: str, b: str) -> str:
    """Key numbers of two runs side by side with their difference (HTML table)."""
    import json

    from oncoscale.viz.report import key_number_rows, table

    def numbers(rel: str) -> dict[str, tuple[str, Any]]:
        path = inside(root, rel) / "summary.json"
        summary = json.loads(path.read_text()) if path.is_file() else {}
        rows = key_number_rows({k: v for k, v in summary.items() if k != "events"})
        return {k: (label, v) for k, label, v in rows}

    left, right = numbers(a), numbers(b)
    rows = []
    for key, (label, va) in left.items():
        if key in right:
            vb = right[key][1]
            both = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (va, vb))
            rows.append((label, va, vb, (vb - va) if both else ""))
    return table(rows, ("quantity", a, b, "difference"))


def explorer_app(root: str | Path = ".") -> pn.viewable.Viewable:
    """The explorer for the folder ``root`` (a Panel layout: serve it, or show it in Jupyter)."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise InputError(f"invalid value for 'DIR': {str(root)!r}; allowed: an existing folder")
    message = pn.pane.Alert(
        "", alert_type="danger", visible=False, css_classes=["explorer-message"]
    )
    form = ScenarioForm(message)
    run_tab = RunTab(form, root, message)
    tabs = pn.Tabs(
        ("Run", run_tab.layout),
        ("Homogeneous ODE", ODETab(form, message).layout),
        ("Open result", OpenTab(root, message).layout),
        ("Compare runs", OpenTab(root, message, compare=True).layout),
        dynamic=False,
        sizing_mode="stretch_width",
    )
    header = pn.pane.Markdown(f"## oncoscale explorer\nfolder: `{root}`")
    return pn.Column(header, message, pn.Row(form.layout, tabs), sizing_mode="stretch_width")


def serve(root: str | Path, port: int = 5006, host: str = "127.0.0.1", show: bool = False):
    """Serve the explorer on http://host:port (blocking)."""
    root = Path(root).resolve()
    explorer_app(root)  # validate the folder before binding the port
    origins = [f"{host}:{port}"] + ([f"localhost:{port}"] if host == "127.0.0.1" else [])
    return pn.serve(
        {"/": lambda: explorer_app(root)},
        port=port,
        address=host,
        websocket_origin=origins,
        show=show,
        title="oncoscale explorer",
        threaded=False,
        print_url=False,
    )
