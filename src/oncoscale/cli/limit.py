"""``oncoscale limit``: kinetic model vs its macroscopic limit as ε → 0."""

from __future__ import annotations

import time

import click

from oncoscale.cli import main
from oncoscale.cli.common import friendly_errors, out_dir, set_option
from oncoscale.errors import InputError

DEFAULT_T_END = 10.0  # transients; see the --t-end help
#: kinetic step unless the scenario or --set numerics.dt gives one: the time error (after
#: extrapolation) must stay below the ε-error; 2D is costlier per step
DEFAULT_DT = {1: 0.0025, 2: 0.01}
#: numerics of the PDE reference unless --pde-set changes them
PDE_REFERENCE = {"solver": "imex", "rtol": 1e-8}


def _parse_eps(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(
            f"invalid value for '--eps': {text!r}; allowed: comma-separated numbers in (0, 1]"
        ) from None


@main.command("limit")
@click.argument("scenario")
@click.option(
    "--regime",
    type=click.Choice(["linear", "cross", "self", "self-limit"]),
    required=True,
    help="hydrodynamic scaling (cross: CC scenarios; self: PC scenarios, measured against its "
    "ε → 0 limit 'self-limit', with the model gap to the slides' self system; 'self-limit' is "
    "the same scaling)",
)
@click.option("--eps", "eps_text", default="0.2,0.1,0.05,0.025", show_default=True,
              help="Knudsen numbers, comma-separated")  # fmt: skip
@click.option("--dim", type=click.IntRange(1, 2), default=1, show_default=True, help="1D or 2D")
@click.option(
    "--t-end",
    type=float,
    help="final time (default: the scenario's, at most 10: later the solutions settle on the "
    "same equilibrium or grow without bound, and the distance says little about the limit)",
)
@click.option("--no-extrapolation", is_flag=True, help="no Richardson extrapolation in time")
@set_option
@click.option(
    "--pde-set",
    "pde_sets",
    multiple=True,
    metavar="NAME=VALUE",
    help="numerical setting of the PDE (e.g. rtol=1e-8); repeatable",
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="write the JSON here")
@click.option("--out", type=click.Path(file_okay=False), help="folder for figures and report.html")
@friendly_errors
def limit_cmd(
    scenario, regime, eps_text, dim, t_end, no_extrapolation, sets, pde_sets, json_path, out
):
    """Run the kinetic model of SCENARIO at each ε and the macroscopic PDE of the regime's
    ε → 0 limit, and report their distance at the final time (relative L1/L2) with the fitted
    slope in ε. For the self scaling the limit is 'self-limit' and gap_to_slides (per ε) is
    the distance to the slides' self-diffusion system: a model gap, not an error.

    --set NAME=VALUE changes a parameter or (numerics.NAME) a kinetic numerical setting;
    --pde-set NAME=VALUE a numerical setting of the PDE (default: adaptive IMEX, rtol = 1e-8,
    on the scenario's grid)."""
    from oncoscale.analysis.limit import gap_explanation
    from oncoscale.atomic import atomic_json
    from oncoscale.io.scenario import load_scenario, parse_overrides, resolve
    from oncoscale.viz.limit import write_limit_report
    from oncoscale.workflows.limit import limit_study

    sc = load_scenario(scenario)
    if sc.family != "kinetic":
        raise InputError(
            f"scenario '{sc.name}' is of family '{sc.family}'; `limit` needs 'kinetic'"
        )
    overrides = parse_overrides(sets)
    overrides.setdefault("reduction", regime)
    pde_model = f"pde-{dim}d"
    if t_end is None:
        t_end = min(sc.t_end, DEFAULT_T_END)
    resolved = resolve(sc, pde_model if pde_model in sc.models else None, overrides, t_end)
    kinetic_model = f"kinetic-{dim}d"
    kin_num = dict(sc.numerics.get(kinetic_model, {}))
    kin_num.update(
        {k.split(".", 1)[1]: v for k, v in overrides.items() if k.startswith("numerics.")}
    )
    kin_num.setdefault("dt", DEFAULT_DT[dim])
    # an accurate PDE reference on the scenario's grid (its solver choice is for long runs)
    grid = {k: v for k, v in sc.numerics.get(pde_model, {}).items() if k == "dx"}
    pde_num = {**PDE_REFERENCE, **grid, **parse_overrides(pde_sets)}
    start = time.perf_counter()
    try:
        result = limit_study(
            resolved.params,
            regime,
            _parse_eps(eps_text),
            resolved.t_end,
            dim=dim,
            kinetic_numerics=kin_num,
            pde_numerics=pde_num,
            extrapolate=not no_extrapolation,
        )
    except FloatingPointError as exc:
        raise click.ClickException(
            f"a solver failed: {exc} (try a shorter --t-end or other numerics)"
        ) from None
    record = {"scenario": sc.name, **result.to_json()}
    directory = out_dir(out, sc.name, f"limit-{regime}-{dim}d")
    atomic_json(record, directory / "limit.json")
    if json_path:
        atomic_json(record, json_path)
    report = write_limit_report(result, sc.name, directory)
    click.echo(f"reference: pde-{dim}d with reduction '{result.reference}' (the ε → 0 limit)")
    gaps = result.gap_to_slides or [None] * len(result.eps)
    for e, err, err2, gap in zip(result.eps, result.error, result.error_l2, gaps, strict=True):
        extra = f"  gap_to_slides = {gap:.4e}" if gap is not None else ""
        click.echo(f"eps = {e:<8g} rel. L1 = {err:.4e}  rel. L2 = {err2:.4e}{extra}")
    click.echo(
        f"slope (L1) = {result.slope:.3f}, slope (L2) = {result.slope_l2:.3f}, "
        f"floor = {result.floor:.3e} ({time.perf_counter() - start:.1f} s)"
    )
    if result.slides:
        click.echo(gap_explanation(result))
    click.echo(f"distance to the kinetic eps -> 0 limit: slope {result.slope_to_kinetic_limit:.3f}")
    click.echo(f"report: {report}")
