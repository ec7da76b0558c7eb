"""``oncoscale limit``: the kinetic model at several Knudsen numbers ε against the macroscopic
PDE of its regime (the runs; the measures are in :mod:`oncoscale.analysis.limit`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from oncoscale.analysis.limit import POPULATIONS, LimitResult, check_eps, distances, fit_slope
from oncoscale.errors import InputError
from oncoscale.models.kinetic.params import REGIMES, KineticParameters
from oncoscale.models.registry import family


def limit_study(
    params: KineticParameters,
    regime: str,
    eps: Sequence[float],
    t_end: float,
    dim: int = 1,
    kinetic_numerics: dict[str, Any] | None = None,
    pde_numerics: dict[str, Any] | None = None,
    floor_eps: float = 1e-6,
    extrapolate: bool = True,
) -> LimitResult:
    """Run the kinetic model at each ε and the PDE of the regime's ε → 0 limit; return their
    distances (and, where the slides' system differs from the limit — the self scaling — the
    model gap of each kinetic run to the slides' PDE).

    ``extrapolate``: Richardson extrapolation in time of the (first-order) kinetic scheme,
    2 n(Δt/2) − n(Δt), so that its time error stays below the modelling error.
    """
    if regime not in REGIMES:
        raise InputError(f"invalid value for '--regime': {regime!r}; allowed: {', '.join(REGIMES)}")
    if dim not in (1, 2):
        raise InputError(f"invalid dimension {dim!r}; allowed: 1, 2")
    if not t_end > 0:
        raise InputError(f"invalid value for 't_end': {t_end!r}; allowed: > 0")
    eps_list = check_eps(eps)
    scaling = REGIMES[regime]
    p = params.updated(reduction=scaling.limit_reduction)
    fam = family("kinetic")
    pde_num = dict(pde_numerics or {})
    kin_num = dict(kinetic_numerics or {})
    pde_cls = fam.representation_class(f"pde-{dim}d")
    pde = pde_cls(p, pde_num)
    # the same grid for both
    kin_num["dx"] = pde.grid.spacing
    t0 = time.perf_counter()
    pde_state = pde.initial_state()
    n0 = np.stack([np.asarray(pde.fields(pde_state)[k], dtype=float) for k in POPULATIONS])
    pde_final = pde.fields(pde.advance(pde_state, 0.0, t_end))
    pde_time = time.perf_counter() - t0
    ref = {k: np.asarray(pde_final[k], dtype=float) for k in POPULATIONS}
    volume = pde.grid.cell_volume
    slides_ref, slides_note = None, ""
    if scaling.slides and scaling.slides != scaling.limit_reduction:
        try:
            slides_pde = pde_cls(p.updated(reduction=scaling.slides), pde_num)
        except InputError as exc:  # e.g. b22 != b32: the slides' closure does not exist
            slides_note = str(exc)
        else:
            s_state = slides_pde.initial_state()
            s0 = np.stack([np.asarray(slides_pde.fields(s_state)[k]) for k in POPULATIONS])
            if not np.allclose(s0, n0, rtol=1e-10, atol=1e-12):
                raise InputError("the slides' PDE and the limit PDE start from different data")
            final = slides_pde.fields(slides_pde.advance(s_state, 0.0, t_end))
            slides_ref = {k: np.asarray(final[k], dtype=float) for k in POPULATIONS}
    kin_cls = fam.representation_class(f"kinetic-{dim}d")

    kin_num["time_extrapolation"] = extrapolate

    def run_kinetic(e: float) -> tuple[dict[str, np.ndarray], float, Any]:
        start = time.perf_counter()
        rep = kin_cls(p.updated(epsilon=e), kin_num)
        fields = rep.fields(rep.advance(rep.solver.state_from_densities(n0), 0.0, t_end))
        return fields, time.perf_counter() - start, rep

    errors, errors2, runtimes, gaps = [], [], [], []
    per: dict[str, list[float]] = {k: [] for k in POPULATIONS}
    kin_profiles = {}
    rep = None
    for e in eps_list:
        fields, seconds, rep = run_kinetic(e)
        l1, l2, by_pop = distances(fields, ref, volume)
        errors.append(l1)
        errors2.append(l2)
        runtimes.append(seconds)
        for k in POPULATIONS:
            per[k].append(by_pop[k])
        kin_profiles[e] = {k: fields[k] for k in POPULATIONS}
        if slides_ref is not None:
            gaps.append(distances(fields, slides_ref, volume)[0])
    floor_fields, _, _ = run_kinetic(floor_eps)
    floor, _, _ = distances(floor_fields, ref, volume)
    own = [distances(kin_profiles[e], floor_fields, volume)[0] for e in eps_list]
    profiles = {"coords": pde.coords(), "pde": ref, "kinetic": kin_profiles}
    if slides_ref is not None:
        profiles["slides"] = slides_ref
    return LimitResult(
        regime=regime,
        eps=eps_list,
        error=errors,
        error_l2=errors2,
        error_by_population=per,
        slope=fit_slope(eps_list, errors),
        slope_l2=fit_slope(eps_list, errors2),
        floor=floor,
        floor_eps=floor_eps,
        error_to_kinetic_limit=own,
        slope_to_kinetic_limit=fit_slope(eps_list, own),
        extrapolated=extrapolate,
        t_end=t_end,
        dim=dim,
        runtimes_s=runtimes,
        pde_runtime_s=pde_time,
        kinetic_numerics=rep.describe_numerics() if rep is not None else {},
        pde_numerics=pde.describe_numerics(),
        profiles=profiles,
        reference=scaling.limit_reduction,
        slides=scaling.slides if scaling.slides != scaling.limit_reduction else "",
        gap_to_slides=gaps,
        slides_gap_of_limit=(
            distances(ref, slides_ref, volume)[0] if slides_ref is not None else float("nan")
        ),
        slides_note=slides_note,
    )
