"""Scenario files: every shipped scenario validates and builds; bad files fail clearly."""

import pytest

from oncoscale.errors import InputError
from oncoscale.io.scenario import (
    available_scenarios,
    load_scenario,
    parse_overrides,
    parse_scenario,
    resolve,
)

SPEC_NAMES = {
    "oncolytic-no-virus",
    "oncolytic-no-virus-enhanced",
    "oncolytic-central",
    "oncolytic-wide",
    "oncolytic-oscillation-p",
    "oncolytic-oscillation-zeta",
    "oncolytic-central-enhanced",
    "oncolytic-wide-enhanced",
    "oncolytic-delayed-boost",
    "oncolytic-second-injection",
    "oncolytic-threshold-injection",
    "oncolytic",
}


def test_every_continuum_scenario_of_the_spec_is_shipped():
    assert SPEC_NAMES <= set(available_scenarios())


@pytest.mark.parametrize("name", sorted(available_scenarios()))
def test_shipped_scenarios_resolve_for_every_model(name):
    sc = load_scenario(name)
    for model in sc.models:
        resolved = resolve(sc, model)
        resolved.plan(progress=False)
        if model in ("ode", "pde-radial", "pde-1d"):  # cheap to build
            resolved.representation()


BASE = """
name = "x"
family = "oncolytic"
title = "t"
models = ["pde-radial"]
default_model = "pde-radial"
t_end = 10.0
"""


def test_malformed_and_invalid_files_fail_with_clear_messages():
    with pytest.raises(InputError, match="malformed scenario file"):
        parse_scenario("name = ", "bad.toml")
    with pytest.raises(InputError, match="unknown parameter 'pp'"):
        parse_scenario(BASE + "[parameters]\npp = 1\n", "bad.toml")
    with pytest.raises(InputError, match=r"'p'.*allowed: >= 0"):
        parse_scenario(BASE + "[parameters]\np = -1\n", "bad.toml")
    with pytest.raises(InputError, match="t_end"):
        parse_scenario(BASE.replace("t_end = 10.0", "t_end = -1.0"), "bad.toml")
    with pytest.raises(InputError, match="not a model of family"):
        parse_scenario(BASE.replace('["pde-radial"]', '["pde-radial", "pde-9d"]'), "bad.toml")
    with pytest.raises(InputError, match="unknown model family"):
        parse_scenario(BASE.replace('"oncolytic"', '"oncolitic"'), "bad.toml")
    with pytest.raises(InputError, match="protocol"):
        parse_scenario(BASE + "[[protocol]]\nkind = 'injection'\ntime = 5\nfraction = 2\n", "b")


def test_overrides():
    assert parse_overrides(["zeta=5", "numerics.dr=0.02", "numerics.solver=euler"]) == {
        "zeta": 5,
        "numerics.dr": 0.02,
        "numerics.solver": "euler",
    }
    sc = load_scenario("oncolytic-central")
    r = resolve(sc, None, {"zeta": 5, "numerics.dr": 0.02, "output.snapshot_interval": 50})
    assert r.params.zeta == 5 and r.numerics["dr"] == 0.02 and r.output.snapshot_interval == 50
    with pytest.raises(InputError, match="unknown parameter 'zet'"):
        resolve(sc, None, {"zet": 5})
    with pytest.raises(InputError, match="unknown output setting"):
        resolve(sc, None, {"output.foo": 5})
    with pytest.raises(InputError, match="NAME=VALUE"):
        parse_overrides(["zeta"])
    with pytest.raises(InputError, match=r"unknown scenario 'oncolytic-centrl'.*did you mean"):
        load_scenario("oncolytic-centrl")


def test_named_variants_apply_between_the_scenario_and_the_overrides():
    """The Fig. 10 scenarios use the published code's lysis rate; --variant paper restores the
    paper's; --set still wins; an unknown variant is a clear error."""
    sc = load_scenario("oncolytic-secretion-a")
    assert sc.variant == "published-code"
    assert resolve(sc).params.q == 9.34e-3
    assert resolve(sc, variant="paper").params.q == 8.34e-3
    assert resolve(sc, overrides={"q": 0.01}).params.q == 0.01
    assert resolve(load_scenario("oncolytic-central")).params.q == 8.34e-3
    assert resolve(load_scenario("oncolytic-central"), variant="published-code").params.q == 9.34e-3
    assert "variant = 'published-code'" in resolve(sc).provenance()
    with pytest.raises(InputError, match=r"unknown variant 'publish'.*did you mean"):
        resolve(sc, variant="publish")
    with pytest.raises(InputError, match="unknown variant"):
        parse_scenario(
            'name = "x"\nfamily = "oncolytic"\ntitle = "x"\nmodels = ["ode"]\n'
            'default_model = "ode"\nt_end = 1.0\nvariant = "nope"\n'
        )
