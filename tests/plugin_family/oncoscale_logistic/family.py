"""The family's declaration, registered through the entry point in its dist-info."""

from oncoscale.models.registry import Family

FAMILY = Family(
    name="logistic",
    description="logistic growth with harvesting and diffusion (test-only plugin family)",
    parameters="oncoscale_logistic.model:LogisticParameters",
    representations={
        "ode": "oncoscale_logistic.model:LogisticODE",
        "pde-1d": "oncoscale_logistic.model:LogisticPDE",
    },
    scenarios="oncoscale_logistic:scenarios",
    bifurcation="oncoscale_logistic.model:bifurcation_problem",
    summary="oncoscale_logistic.summary:summary",
    figures="oncoscale_logistic.figures",
)
