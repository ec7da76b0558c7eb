"""Kinetic tumour-immune competition (seed 000, Conte & Travaglini): kinetic equations, their
macroscopic limits and homogeneous reductions."""

from oncoscale.models.registry import Family

FAMILY = Family(
    name="kinetic",
    description="kinetic tumour-immune model and its macroscopic limits (seed 000)",
    parameters="oncoscale.models.kinetic.params:KineticParameters",
    representations={
        "ode": "oncoscale.models.kinetic.ode_model:KineticODE",
        "pde-1d": "oncoscale.models.kinetic.macro:MacroPDE1D",
        "pde-2d": "oncoscale.models.kinetic.macro:MacroPDE2D",
        "kinetic-1d": "oncoscale.models.kinetic.kinetic:Kinetic1D",
        "kinetic-2d": "oncoscale.models.kinetic.kinetic:Kinetic2D",
    },
    scenarios="oncoscale:scenarios/kinetic",
    bifurcation="oncoscale.models.kinetic.bifurcation:bifurcation_problem",
    figures="oncoscale.viz.kinetic",
)
