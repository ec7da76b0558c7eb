"""Oncolytic virus + immune system (seed 003, Morselli et al.): ODE, radial/planar/2D PDE, ABM."""

from oncoscale.models.registry import Family

FAMILY = Family(
    name="oncolytic",
    description="oncolytic virus + immune system (seed 003)",
    parameters="oncoscale.models.oncolytic.params:OncolyticParameters",
    representations={
        "ode": "oncoscale.models.oncolytic.ode_model:OncolyticODE",
        "pde-radial": "oncoscale.models.oncolytic.pde:OncolyticPDERadial",
        "pde-1d": "oncoscale.models.oncolytic.pde:OncolyticPDEPlanar",
        "pde-2d": "oncoscale.models.oncolytic.pde:OncolyticPDE2D",
        "abm": "oncoscale.models.oncolytic.abm:OncolyticABM",
    },
    scenarios="oncoscale:scenarios/oncolytic",
    bifurcation="oncoscale.models.oncolytic.ode:bifurcation_problem",
    summary="oncoscale.analysis.oncolytic:summary",
    figures="oncoscale.viz.oncolytic",
    compare="oncoscale.workflows.oncolytic_compare:compare_report",
    front_theory="oncoscale.analysis.oncolytic:front_theory",
)
