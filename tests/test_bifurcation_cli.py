"""``oncoscale bifurcation`` on the oncolytic ODE: Hopf points vs brute force, JSON, errors."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.optimize import brentq

from oncoscale.cli import main
from oncoscale.models.oncolytic.ode import coexistence_state, jacobian
from oncoscale.models.oncolytic.params import OncolyticParameters


def _hopf_by_bisection(name: str, lo: float, hi: float) -> float:
    """Where the leading eigenvalue of the closed-form E* crosses the imaginary axis."""
    base = OncolyticParameters()

    def growth(value: float) -> float:
        params = base.model_copy(update={name: value})
        return float(np.max(np.linalg.eigvals(jacobian(coexistence_state(params), params)).real))

    return brentq(growth, lo, hi, xtol=1e-15, rtol=1e-14)


@pytest.mark.parametrize(
    ("param", "lo", "hi", "bracket"),
    [
        ("zeta", 0.05, 1.5, (0.05, 1.5)),
        ("alpha", 2e-4, 6e-3, (2e-4, 6e-3)),
        ("beta", 0.003, 0.3, (0.03, 0.3)),  # below ~0.009 E* is an infeasible saddle
    ],
)
def test_hopf_points_match_brute_force_and_json_is_written(tmp_path, param, lo, hi, bracket):
    out = tmp_path / "diag"
    json_file = tmp_path / "points.json"
    res = CliRunner().invoke(
        main,
        ["bifurcation", "oncolytic", "--param", param, "--from", str(lo), "--to", str(hi),
         "--json", str(json_file), "--out", str(out)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    record = json.loads(json_file.read_text())
    assert (out / "diagram.json").exists() and (out / "report.html").exists()
    assert (out / f"bifurcation-{param}.png").stat().st_size > 10_000
    hopf = [p for p in record["points"] if p["type"] == "hopf"]
    assert len(hopf) == 1
    assert {"param", "value", "type"} <= set(hopf[0])
    assert hopf[0]["param"] == param
    # the Hopf point on E* (closed form), located independently by bisection
    expected = _hopf_by_bisection(param, *bracket)
    assert hopf[0]["value"] == pytest.approx(expected, rel=1e-7)
    assert hopf[0]["criticality"] == "supercritical"
    kinds = [b["kind"] for b in record["branches"]]
    assert "equilibrium" in kinds and "limit_cycle" in kinds
    cycle = next(b for b in record["branches"] if b["kind"] == "limit_cycle")
    assert len(cycle["p"]) > 5
    assert all(np.isfinite(cycle["period"]))


def test_coexistence_branch_follows_the_closed_form(tmp_path):
    res = CliRunner().invoke(
        main,
        ["bifurcation", "oncolytic", "--param", "zeta", "--from", "0.1", "--to", "1.0",
         "--no-cycles", "--out", str(tmp_path)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    record = json.loads((tmp_path / "diagram.json").read_text())
    branch = next(b for b in record["branches"] if b["start"].startswith("E*"))
    base = OncolyticParameters()
    for p, x in zip(branch["p"][::7], branch["x"][::7], strict=True):
        exact = coexistence_state(base.model_copy(update={"zeta": p}))
        np.testing.assert_allclose(x, exact, rtol=1e-7)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "nope", "--from", "0", "--to", "1"], "'nope'"),
        (["--param", "zeta", "--from", "1", "--to", "0.5"], "--from < --to"),
        (["--param", "zeta", "--from", "-1", "--to", "0.5"], "invalid value for 'zeta'"),
        (["--param", "zeta", "--from", "0.1", "--to", "1", "--reduction", "cross"], "reduction"),
    ],
)
def test_invalid_bifurcation_input_exits_nonzero_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["bifurcation", "oncolytic", *args, "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert not out.exists()


def test_transcritical_point_in_beta_is_where_infection_invades_e1(tmp_path):
    res = CliRunner().invoke(
        main,
        ["bifurcation", "oncolytic", "--param", "beta", "--from", "0.003", "--to", "0.05",
         "--no-cycles", "--json", str(tmp_path / "b.json"), "--out", str(tmp_path / "d")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    points = json.loads((tmp_path / "b.json").read_text())["points"]
    bp = [p for p in points if p["type"] == "branch_point"]
    assert len(bp) == 1
    # E1 = (u1, 0, z1) loses stability when (beta/K) u1 - q - (zeta/K) z1 = 0
    p = OncolyticParameters()
    z1 = p.S0 / p.q_z
    u1 = p.K - p.zeta * z1 / p.p
    assert bp[0]["value"] == pytest.approx((p.q * p.K + p.zeta * z1) / u1, rel=1e-8)


@pytest.mark.parametrize(
    ("scenario", "reduction", "param", "lo", "hi", "expected"),
    [
        ("kinetic-pc-window", "linear", "B", 1.0, 12.0, {"fold", "hopf"}),
        ("kinetic-pc-window", "self", "B", 1.0, 12.0, {"fold", "hopf"}),
        ("kinetic-cc-escape", "cross", "A", 0.05, 5.0, {"branch_point"}),
    ],
)
def test_kinetic_reductions_bifurcations_match_exact_values(
    tmp_path, scenario, reduction, param, lo, hi, expected
):
    """The continuation finds the kinetic family's closed-form/bisection values (AI = 1, B̃, B̄)."""
    from oncoscale.io.scenario import load_scenario, resolve
    from oncoscale.models.kinetic.bifurcation import bifurcation_problem

    args = ["bifurcation", scenario, "--reduction", reduction, "--param", param,
            "--from", str(lo), "--to", str(hi), "--no-cycles", "--out", str(tmp_path)]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    points = json.loads((tmp_path / "diagram.json").read_text())["points"]
    params = resolve(load_scenario(scenario)).params
    exact = bifurcation_problem(params, param, reduction).notes
    found = {p["type"]: p["value"] for p in points}
    assert expected <= set(found)
    if "fold" in expected:
        assert found["fold"] == pytest.approx(float(exact["B_tilde (E3/E4 fold)"]), rel=1e-7)
    if "hopf" in expected:
        assert found["hopf"] == pytest.approx(float(exact["B_bar (E4 stability change)"]), rel=1e-6)
    if "branch_point" in expected:
        assert found["branch_point"] == pytest.approx(
            float(exact["transcritical AI = 1"]), rel=1e-7
        )
