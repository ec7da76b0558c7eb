"""Ensembles: seeding independent of workers, statistics against exact results of a toy
birth-death process, section profiles, extinction, resume, CLI.

The toy (only here, in the tests): on a small lattice, population ``a`` is a tau-leaped
birth-death process (births Bin(A, bτ) and deaths Bin(A, dτ) per site and step), so
E[A_n] = A_0 (1 + (b - d)τ)^n exactly; population ``c`` only dies (survivors Bin(C, 1 - μτ)),
so each cell survives n steps with probability s_n = (1 - μτ)^n, the total is
Bin(C_0, s_n) and P(extinct by step n) = (1 - s_n)^C_0 exactly.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner
from scipy import stats

from oncoscale.analysis.ensemble_stats import ensemble_dataset, extinction_time, section
from oncoscale.errors import InputError
from oncoscale.io.results import open_result
from oncoscale.io.scenario import Scenario, resolve
from oncoscale.models.base import Representation, VariableInfo
from oncoscale.models.parameters import ParameterSet, param
from oncoscale.models.registry import Family, register_family
from oncoscale.run.parallel import WORKER_MALLOC, map_tasks
from oncoscale.workflows.ensemble import (
    execute_ensemble,
    execute_ensemble_comparison,
    replicate_seeds,
)

TOY = "toy-birth-death"
X = np.arange(-3.0, 3.5, 1.0)  # 7 sites
Y = np.array([-1.6, -0.6, 0.4, 1.4])  # no site at y = 0: the section is the line y = 0.4


class ToyParameters(ParameterSet):
    """Rates of the toy process."""

    b: float = param(0.3, "1/h", "birth rate of a", ge=0)
    d: float = param(0.2, "1/h", "death rate of a", ge=0)
    mu: float = param(0.05, "1/h", "death rate of c", ge=0)
    a0: int = param(5, "cells", "initial a per site", ge=0)
    c0: int = param(1, "cells", "initial c per site (centre row only)", ge=0)
    tau: float = param(0.5, "h", "time step", gt=0)


class BirthDeath(Representation):
    """Tau-leaped birth-death (a) and pure death (c) on a 7 x 4 lattice."""

    family = TOY
    model = "toy"
    stochastic = True

    @property
    def time_step(self) -> float:
        return self.params.tau

    def initial_state(self, rng=None):
        p = self.params
        a = np.full((X.size, Y.size), p.a0, dtype=np.int64)
        c = np.zeros_like(a)
        c[:, 2] = p.c0
        return {"a": a, "c": c, "rng": rng}

    def advance(self, state, t0, t1):
        p, rng = self.params, state["rng"]
        a, c = state["a"].copy(), state["c"].copy()
        for _ in range(round((t1 - t0) / p.tau)):
            births = rng.binomial(a, p.b * p.tau)
            deaths = rng.binomial(a, p.d * p.tau)
            a = a + births - deaths
            c = rng.binomial(c, 1 - p.mu * p.tau)
        return {"a": a, "c": c, "rng": rng}

    def fields(self, state):
        return {"a": state["a"].astype(float), "c": state["c"].astype(float)}

    @property
    def field_dims(self):
        return {"a": ("x", "y"), "c": ("x", "y")}

    def coords(self):
        return {"x": X, "y": Y}

    def observables(self, state):
        return {"total_a": float(state["a"].sum()), "total_c": float(state["c"].sum())}

    def variable_info(self):
        return {
            "total_a": VariableInfo("1", "total a", "cells"),
            "a": VariableInfo("1", "a", "cells"),
        }


register_family(
    Family(
        name=TOY,
        description="toy birth-death process (tests)",
        parameters=f"{__name__}:ToyParameters",
        representations={"toy": f"{__name__}:BirthDeath"},
    )
)


def _scenario(**params) -> Scenario:
    return Scenario(
        name="toy-ensemble",
        family=TOY,
        title="toy birth-death",
        models=["toy"],
        default_model="toy",
        t_end=20.0,
        parameters=params,
        output={"observe_interval": 1.0, "snapshot_interval": 5.0},
    )


def _ensemble(tmp: Path, runs: int, workers: int = 1, seed: int = 3, resume=False, **params):
    resolved = resolve(_scenario(**params), seed=seed)
    return execute_ensemble(
        resolved, tmp, runs, workers=workers, resume=resume, progress=False, figures=False
    )


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """100 runs of the toy, with figures."""
    out = tmp_path_factory.mktemp("ens")
    resolved = resolve(_scenario(), seed=11)
    res = execute_ensemble(resolved, out, 100, progress=False, figures=True)
    return res, open_result(res.ensemble)


def test_replicate_seeds_are_spawned_children_independent_of_n():
    a, b = replicate_seeds(5, 3), replicate_seeds(5, 10)
    for k in range(3):
        assert a[k].spawn_key == b[k].spawn_key == (k,)
        assert a[k].entropy == 5
    draws = [np.random.default_rng(s).random() for s in b]
    assert len(set(draws)) == 10


def test_mean_total_matches_exact_birth_death_mean(big):
    _, ens = big
    p = ToyParameters()
    t = ens["t_obs"].values
    exact = p.a0 * X.size * Y.size * (1 + (p.b - p.d) * p.tau) ** (t / p.tau)
    runs = ens["total_a"].values
    se = runs.std(axis=0, ddof=1) / math.sqrt(runs.shape[0])
    z = np.abs(ens["total_a_mean"].values[1:] - exact[1:]) / se[1:]
    assert z.max() < 4.0, z.max()
    np.testing.assert_allclose(ens["total_a_mean"].values, runs.mean(axis=0))


def test_pure_death_quantiles_and_extinction_match_binomial(big):
    _, ens = big
    p = ToyParameters()
    t = ens["t_obs"].values
    c0 = p.c0 * X.size
    s = (1 - p.mu * p.tau) ** (t / p.tau)
    runs = ens["total_c"].values
    # mean within 4 exact standard errors at every time
    se = np.sqrt(c0 * s * (1 - s) / runs.shape[0])
    ok = se > 0
    assert np.all(np.abs(runs.mean(axis=0)[ok] - c0 * s[ok]) < 4 * se[ok])
    # the ensemble median is within one cell of the exact binomial median
    q = list(ens["quantile"].values).index(0.5)
    med = ens["total_c_quantile"].values[q]
    assert np.all(np.abs(med - stats.binom.median(c0, s)) <= 1.0)
    # extinction by t_end: fraction vs (1 - s)^c0, and first-zero times vs the exact CDF
    p_ext = (1 - s[-1]) ** c0
    frac = ens["extinct_c"].values.mean()
    assert abs(frac - p_ext) < 4 * math.sqrt(p_ext * (1 - p_ext) / runs.shape[0])
    times = ens["extinction_time_c"].values
    for k in (10, 15):
        emp = np.mean(times <= t[k])
        exact = (1 - s[k]) ** c0
        assert abs(emp - exact) < 4 * math.sqrt(exact * (1 - exact) / runs.shape[0]) + 1e-12
    # extinction time = first observation with total 0 (c cannot come back)
    for r in range(runs.shape[0]):
        zero = np.nonzero(runs[r] == 0)[0]
        expected = t[zero[0]] if zero.size else np.nan
        np.testing.assert_equal(times[r], expected)
    assert ens["extinct_a"].sum() == 0


def test_section_is_line_nearest_y0_and_stats_match_the_run_files(big):
    res, ens = big
    assert json.loads(ens.attrs["section"])["a"]["y"] == 0.4
    sec = np.stack([open_result(p)["a"].sel(y=0.4).values for p in res.runs[:100]])
    np.testing.assert_allclose(ens["a_section_mean"].values, sec.mean(axis=0))
    np.testing.assert_allclose(
        ens["a_section_quantile"].values, np.quantile(sec, ens["quantile"].values, axis=0)
    )
    assert ens["a_section_mean"].dims == ("t", "x")


def test_summary_figures_report_written(big):
    res, _ = big
    summary = json.loads((res.directory / "summary.json").read_text())
    assert summary["runs"] == 100
    assert summary["extinction"]["a"]["runs_extinct"] == 0
    assert {p.name for p in res.figures} == {"fan_totals.png", "sections.png"}
    assert all(p.stat().st_size > 10_000 for p in res.figures)
    assert "fan_totals.png" in res.report.read_text()
    assert (res.directory / "runs" / "run-0099" / "result.nc").exists()


def _without_timestamps(ds: xr.Dataset) -> xr.Dataset:
    """The dataset without the attributes that record when it was written."""
    return ds.drop_attrs(deep=False).assign_attrs(
        {k: v for k, v in ds.attrs.items() if k not in ("history", "created")}
    )


def test_same_dataset_with_one_or_two_workers(tmp_path):
    one = _ensemble(tmp_path / "w1", 6, workers=1)
    two = _ensemble(tmp_path / "w2", 6, workers=2)
    a, b = (_without_timestamps(open_result(r.ensemble)) for r in (one, two))
    xr.testing.assert_identical(a, b)
    # and the first runs of a larger ensemble are the same runs
    r1 = open_result(one.runs[3])
    more = _ensemble(tmp_path / "w3", 8, workers=1)
    xr.testing.assert_equal(r1["total_a"], open_result(more.runs[3])["total_a"])


def test_resume_recomputes_only_missing_runs(tmp_path):
    first = _ensemble(tmp_path, 4)
    before = open_result(first.ensemble)
    stamps = {p: os.stat(p).st_mtime_ns for p in first.runs}
    first.runs[2].unlink()  # as if killed while run 2 was computing
    again = _ensemble(tmp_path, 4, resume=True)
    assert again.computed == 1
    for p in (first.runs[0], first.runs[1], first.runs[3]):
        assert os.stat(p).st_mtime_ns == stamps[p]
    xr.testing.assert_identical(
        _without_timestamps(before), _without_timestamps(open_result(again.ensemble))
    )
    with pytest.raises(InputError, match="different ensemble"):
        _ensemble(tmp_path, 4, seed=4, resume=True)


def test_invalid_input(tmp_path):
    with pytest.raises(InputError, match="'--runs'"):
        _ensemble(tmp_path, 0)
    with pytest.raises(InputError, match="deterministic"):
        execute_ensemble(resolve(load("oncolytic-central")), tmp_path, 2, progress=False)
    assert not any(tmp_path.iterdir())
    assert math.isnan(extinction_time(np.arange(3.0), np.zeros(3)))  # never present
    assert extinction_time(np.arange(4.0), np.array([0.0, 2.0, 0.0, 0.0])) == 2.0
    assert math.isnan(extinction_time(np.arange(3.0), np.array([1.0, 0.0, 1.0])))
    bad = xr.DataArray(np.zeros((2, 2, 2)), dims=("t", "r", "x"), name="f")
    with pytest.raises(InputError, match="section"):
        section(bad)
    with pytest.raises(InputError, match="at least one run"):
        ensemble_dataset([])


def load(name):
    from oncoscale.io.scenario import load_scenario

    return load_scenario(name)


def test_cli_ensemble_and_compare(tmp_path):
    from oncoscale.cli import main

    text = (
        f'name = "toy-ensemble"\nfamily = "{TOY}"\ntitle = "toy"\nmodels = ["toy"]\n'
        'default_model = "toy"\nt_end = 10.0\n[study]\nkind = "ensemble"\nruns = 5\n'
    )
    sc = tmp_path / "toy.toml"
    sc.write_text(text)
    dirs = []
    for k, mu in enumerate((0.05, 0.3)):
        d = tmp_path / f"e{k}"
        res = CliRunner().invoke(
            main,
            ["ensemble", str(sc), "--set", f"mu={mu}", "--out", str(d), "--quiet", "--seed", "1"],
        )
        assert res.exit_code == 0, res.output
        assert "c: extinct in" in res.output
        assert len(list((d / "runs").iterdir())) == 5  # runs from the scenario's study
        dirs.append(str(d))
    res = CliRunner().invoke(
        main,
        [
            "ensemble-compare",
            *dirs,
            "--out",
            str(tmp_path / "cmp"),
            "--labels",
            "slow,fast",
            "--observable",
            "total_c",
        ],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "cmp" / "summary.json").read_text())
    slow, fast = summary["ensembles"]
    assert (slow["label"], fast["label"]) == ("slow", "fast")
    assert fast["fraction_zero"] >= slow["fraction_zero"]
    assert (tmp_path / "cmp" / "figures" / "violin_final.png").exists()
    res = CliRunner().invoke(main, ["ensemble", str(sc), "--runs", "0", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "'--runs'" in res.output
    res = CliRunner().invoke(main, ["ensemble-compare", str(tmp_path / "nope"), "--out", "x"])
    assert res.exit_code == 2 and "no ensemble.nc" in res.output


def test_comparison_of_ensembles_counts_zero_finals(tmp_path):
    a = _ensemble(tmp_path / "a", 5, mu=0.0)
    b = _ensemble(tmp_path / "b", 5, mu=1.9)  # survival (1 - 0.95)^40: all c extinct
    comp, figs, _ = execute_ensemble_comparison(
        [a.directory, b.directory], tmp_path / "cmp", observable="total_c"
    )
    assert [r["fraction_zero"] for r in comp["ensembles"]] == [0.0, 1.0]
    # Wilson interval for 0 of 5 and 5 of 5: [0, z²/(n + z²)] and its mirror
    z2 = 1.959963984540054**2
    np.testing.assert_allclose(comp["ensembles"][0]["fraction_zero_ci95"], [0.0, z2 / (5 + z2)])
    np.testing.assert_allclose(comp["ensembles"][1]["fraction_zero_ci95"], [5 / (5 + z2), 1.0])
    assert comp["ensembles"][0]["values"] == [7.0] * 5
    # Fisher's exact test of 0/5 vs 5/5: p = 2 / C(10, 5)
    assert comp["pairs"][0]["fisher_p"] == pytest.approx(2 / 252)
    assert figs[0].exists()


def test_runs_needed_to_separate_two_fractions_match_the_textbook():
    """Two-sided 5 % test, power 80 %: 388 per group for 0.5 vs 0.6, 294 for 0.2 vs 0.3."""
    from oncoscale.analysis.ensemble_stats import runs_to_separate

    assert runs_to_separate(0.5, 0.6) == 388
    assert runs_to_separate(0.2, 0.3) == 294
    assert runs_to_separate(0.3, 0.3) == float("inf")


def test_zero_fraction_interval_matches_the_wilson_formula():
    from oncoscale.analysis.ensemble_stats import zero_fraction_interval

    z = 1.959963984540054
    for k, n in ((15, 100), (70, 100), (1, 7)):
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        np.testing.assert_allclose(zero_fraction_interval(k, n), [centre - half, centre + half])


def test_local_workers_allocate_from_the_heap_not_fresh_pages():
    """Dask's workers get MALLOC_TRIM_THRESHOLD_ = 64 kB, which switches off glibc's dynamic
    mmap threshold (each large scratch array faulted its pages in again: 1e8 page faults in
    a 100-run ABM ensemble); map_tasks' local workers get both thresholds raised."""
    seen = map_tasks(os.getenv, [(name,) for name in WORKER_MALLOC] * 2, workers=2,
                     progress=False)  # fmt: skip
    assert seen == [str(v) for v in WORKER_MALLOC.values()] * 2
