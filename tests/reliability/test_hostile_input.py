"""Hostile input through every entry point of the ``oncoscale`` command: ``--set``, scenario
TOML files (including their sweep study), the options of every verb, folders where files
are expected and files where folders are. Each case exits 0 (the input was valid: the run is
complete) or 2 with one line naming the input; never a traceback, never a partial file (see
fuzzing.py). The tally of cases is printed at the end of the module (pytest -s)."""

from __future__ import annotations

import copy
import faulthandler
import signal
import tomllib
from pathlib import Path

import pytest
from fuzzing import (
    TALLY,
    Case,
    check,
    cli_entry,
    cli_text,
    hostile_scalars,
    hostile_text,
    hostile_values,
    to_toml,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncoscale.io.scenario import OutputSpec, load_scenario, resolve
from oncoscale.models.registry import family

SCENARIOS = Path(__file__).parents[2] / "src" / "oncoscale" / "scenarios"
#: fast configurations of every representation: (scenario, model, arguments that keep a
#: valid run short)
FAST = [
    ("oncolytic-central", "ode", ["--t-end", "5"]),
    ("oncolytic-central", "pde-radial", ["--t-end", "2", "--set", "numerics.dr=0.1"]),
    ("oncolytic-central", "pde-2d", ["--t-end", "1", "--set", "L=3", "--set", "numerics.dx=0.2"]),
    ("oncolytic-central", "abm", ["--t-end", "1", "--set", "L=3"]),
    ("kinetic-pc-oscillation", "pde-1d", ["--t-end", "0.1"]),
    ("kinetic-pc-oscillation", "kinetic-1d", ["--t-end", "0.05"]),
    ("invasion-homogeneous", "pde", ["--t-end", "0.02", "--set", "numerics.dx=1"]),
    ("invasion-homogeneous", "ibm", ["--t-end", "0.02", "--set", "M_MM=1e-2",
                                     "--set", "M_O2=1e-1"]),
]  # fmt: skip
QUIET = ["--quiet", "--no-figures"]
FUZZ = settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=12)
HEAVY = settings(FUZZ, max_examples=150)  # the slow versions
CASE_SECONDS = 300  # a case that takes longer fails (instead of hanging the suite)


@pytest.fixture(autouse=True)
def time_limit():
    def expired(signum, frame):
        raise TimeoutError(f"a hostile-input case took more than {CASE_SECONDS} s")

    old = signal.signal(signal.SIGALRM, expired)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module", autouse=True)
def tally():
    yield
    print("\nhostile-input cases:", dict(sorted(TALLY.items())))


def run_case(case: Case):
    """``check`` with a time limit: SIGALRM fails a slow case; inside a compiled kernel (where
    no Python signal handler runs) faulthandler ends the process a minute later, printing
    every thread's stack, so a hung case stops the suite instead of hanging it."""
    signal.alarm(CASE_SECONDS)
    faulthandler.dump_traceback_later(CASE_SECONDS + 60, exit=True)
    try:
        return check(cli_entry, case)
    finally:
        signal.alarm(0)
        faulthandler.cancel_dump_traceback_later()


def _settings_names(scenario: str, model: str) -> list[str]:
    rep = resolve(load_scenario(scenario), model).representation()
    return list(type(rep.settings).model_fields) if hasattr(rep, "settings") else []


def set_names(scenario: str, model: str) -> st.SearchStrategy:
    """Names for --set: parameters, numerics and output settings, and names that are not."""
    params = family(load_scenario(scenario).family).parameter_class().names()
    numerics = [f"numerics.{n}" for n in _settings_names(scenario, model)]
    output = [f"output.{n}" for n in OutputSpec.model_fields]
    odd = ["nope", "numerics.nope", "output.nope", "a.b.c", "numerics.", ".", "ζ", "x" * 300]
    return st.sampled_from(params + numerics + output + odd) | hostile_text().filter(
        lambda s: "=" not in s
    )


def names_in_message(name: str) -> list[str]:
    section, _, last = name.strip().rpartition(".")
    return [n for n in (name.strip(), last, section, "--set") if n]


# ---- --set ---------------------------------------------------------------------------------
def set_case(scenario, model, fast, data, tmp_path_factory):
    name = data.draw(set_names(scenario, model), label="name")
    value = cli_text(data.draw(hostile_values(), label="value"))
    out = tmp_path_factory.mktemp("set") / "out"
    args = ["run", scenario, "--model", model, *fast, "--set", f"{name}={value}", *QUIET]
    run_case(Case([*args, "--out", str(out)], names_in_message(name), [out], "--set"))


MODELS = pytest.mark.parametrize(("scenario", "model", "fast"), FAST, ids=[m for _, m, _ in FAST])


@MODELS
@FUZZ
@given(data=st.data())
def test_set_values(scenario, model, fast, data, tmp_path_factory):
    set_case(scenario, model, fast, data, tmp_path_factory)


@pytest.mark.slow
@MODELS
@HEAVY
@given(data=st.data())
def test_set_values_heavy(scenario, model, fast, data, tmp_path_factory):
    set_case(scenario, model, fast, data, tmp_path_factory)


# ---- options of every verb ----------------------------------------------------------------
X = "{x}"  # where the hostile value goes


def option_templates(tmp: Path) -> list[tuple[list[str], str]]:
    """(arguments with X, the option the message must name) for every verb's options."""
    out = ["--out", str(tmp / "out")]
    run = ["run", "oncolytic-central", "--model", "ode", "--t-end", "1", *QUIET, *out]
    ens = ["ensemble", "oncolytic-central", "--model", "abm", "--runs", "1", "--t-end", "1"]
    ens += ["--set", "L=3", *QUIET, *out]
    bif = ["bifurcation", "oncolytic-central", "--param", "zeta", "--to", "1", *out]
    return [
        (["run", "oncolytic-central", "--model", "ode", "--t-end", X, *QUIET, *out], "--t-end"),
        ([*run, "--seed", X], "--seed"),
        ([*run, "--model", X], "model"),
        (["run", X, *out], "scenario"),
        ([*run, "--dim", X], "--dim"),
        ([*run, "--workers", X], "--workers"),
        ([*ens, "--runs", X], "--runs"),
        ([*ens, "--seed", X], "--seed"),
        ([*ens, "--workers", X], "--workers"),
        ([*bif, "--from", X], "--from"),
        ([*bif, "--from", "0.1", "--param", X], "parameter"),
        (
            ["limit", "kinetic-cc-escape", "--regime", "cross", "--t-end", "0.01", "--eps", X],
            "--eps",
        ),
        (["compare", "oncolytic-central", *out, "--runs", X], "--runs"),
        (["compare", "oncolytic-central", *out, "--runs", "0", "--tolerance", X], "--"),
        (["kinetic", "compare", "kinetic-pc-oscillation", *out, "--t-end", X], "--t-end"),
    ]


@st.composite
def option_cases(draw, tmp: Path):
    template, option = draw(st.sampled_from(option_templates(tmp)))
    value = draw((hostile_scalars().map(cli_text) | hostile_text()).filter(lambda s: s[:1] != "-"))
    args = [value if a == X else a for a in template]
    return args, [option] + ([value.strip()] if len(value.strip()) >= 2 else [])


def option_case(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("opt")
    args, names = data.draw(option_cases(tmp))
    run_case(Case(args, [*names, "Invalid value", "No such"], [tmp / "out"], "option"))


@settings(FUZZ, max_examples=40)
@given(data=st.data())
def test_options(data, tmp_path_factory):
    option_case(data, tmp_path_factory)


@pytest.mark.slow
@settings(HEAVY, max_examples=600)
@given(data=st.data())
def test_options_heavy(data, tmp_path_factory):
    option_case(data, tmp_path_factory)


# ---- scenario files ------------------------------------------------------------------------
BASES = ["oncolytic/oncolytic-central.toml", "oncolytic/oncolytic-threshold-injection.toml",
         "kinetic/kinetic-pc-oscillation.toml", "invasion/invasion-homogeneous.toml"]  # fmt: skip
FAST_FOR = {"oncolytic-central": FAST[1], "oncolytic-threshold-injection": FAST[1],
            "kinetic-pc-oscillation": FAST[4], "invasion-homogeneous": FAST[6]}  # fmt: skip


def _paths(doc, prefix=()):
    for k, v in doc.items():
        yield (*prefix, k)
        if isinstance(v, dict):
            yield from _paths(v, (*prefix, k))
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for i, x in enumerate(v):
                yield from _paths(x, (*prefix, k, i))


def _entries(doc) -> set[str]:
    """What a message may name of a scenario file: its keys, dotted paths and text values,
    quoted as messages quote them."""
    out = set()
    for path in _paths(doc):
        out |= {f"'{path[-1]}'", "'" + ".".join(map(str, path)) + "'"}
        value = doc
        for k in path:
            value = value[k]
        if isinstance(value, str):
            out.add(f"'{value}'")
    return out


@st.composite
def mutated_scenarios(draw):
    """A shipped scenario with one entry replaced, removed or added (any depth; the study
    and protocol tables included)."""
    base = draw(st.sampled_from(BASES))
    doc = tomllib.loads((SCENARIOS / base).read_text())
    doc.setdefault("numerics", {})
    paths = list(_paths(doc))
    path = draw(st.sampled_from(paths))
    target = doc
    for k in path[:-1]:
        target = target[k]
    how = draw(st.sampled_from(["replace", "replace", "replace", "remove", "add"]))
    if how == "remove":
        del target[path[-1]]
    elif how == "add":
        target[draw(hostile_text().filter(bool))] = draw(hostile_values())
    else:
        target[path[-1]] = draw(hostile_values())
    return base, doc, ".".join(map(str, path))


def scenario_case(mutated, tmp_path_factory):
    base, doc, where = mutated
    tmp = tmp_path_factory.mktemp("toml")
    path = tmp / "scenario.toml"
    try:
        text = to_toml(copy.deepcopy(doc))
    except TypeError:
        return
    path.write_text(text, encoding="utf-8")
    name = Path(base).stem
    _, model, fast = FAST_FOR[name]
    args = ["run", str(path), *fast, *QUIET, "--out", str(tmp / "out")]
    models = doc.get("models", [])  # mutated too: then the file is refused, --model or not
    if doc.get("default_model") != model and isinstance(models, list) and model in models:
        args[2:2] = ["--model", model]
    # a removed entry takes its default, which the message may name (e.g. an initial state
    # that these parameters do not allow)
    removed = f"'{where.rsplit('.', 1)[-1]}'"
    names = [str(path), "scenario", "--", "SCENARIO", removed, *_entries(doc)]
    run_case(Case(args, names, [tmp / "out", path], "scenario file"))


@settings(FUZZ, max_examples=30)
@given(mutated=mutated_scenarios())
def test_scenario_files(mutated, tmp_path_factory):
    scenario_case(mutated, tmp_path_factory)


@pytest.mark.slow
@settings(HEAVY, max_examples=600)
@given(mutated=mutated_scenarios())
def test_scenario_files_heavy(mutated, tmp_path_factory):
    scenario_case(mutated, tmp_path_factory)


@settings(FUZZ, max_examples=25)
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_garbage_scenario_files(raw, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("raw")
    path = tmp / "garbage.toml"
    path.write_bytes(raw)
    args = ["run", str(path), "--t-end", "1", *QUIET, "--out", str(tmp / "out")]
    run_case(Case(args, [str(path)], [tmp / "out"], "garbage file"))


# ---- folders and files in the wrong place --------------------------------------------------
def test_a_folder_where_a_file_is_expected_and_the_reverse(tmp_path):
    folder = tmp_path / "scenario.toml"
    folder.mkdir()
    a_file = tmp_path / "file"
    a_file.write_text("not a folder")
    run = ["run", "oncolytic-central", "--model", "ode", "--t-end", "1", *QUIET]
    cases = [
        Case(["run", str(folder), *QUIET, "--out", str(tmp_path / "o1")], [str(folder)]),
        Case([*run, "--out", str(a_file)], [str(a_file), "--out"], [a_file]),
        Case([*run, "--out", str(a_file / "sub")], [str(a_file), "--out"], [a_file]),
        Case(["figures", str(a_file)], [str(a_file), "DIR"], [a_file]),
        Case(["figures", str(tmp_path)], [str(tmp_path)]),
        Case(["ensemble-compare", str(a_file), "--out", str(tmp_path / "c")], [str(a_file)]),
        Case(
            [
                "bifurcation",
                "oncolytic-central",
                "--param",
                "zeta",
                "--from",
                "0.1",
                "--to",
                "1",
                "--json",
                str(tmp_path),
            ],
            [str(tmp_path), "--json"],
        ),
    ]
    for case in cases:
        run_case(case)
