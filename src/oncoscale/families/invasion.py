"""Fully continuous individual-based tumour invasion (seed 004, Gómez-Mourelo et al.): IBM and
age-structured PDE, 2D and 3D."""

from oncoscale.models.registry import Family

FAMILY = Family(
    name="invasion",
    description="continuous individual-based tumour invasion, IBM and age-structured PDE "
    "(seed 004)",
    parameters="oncoscale.models.invasion.params:InvasionParameters",
    representations={
        "ibm": "oncoscale.models.invasion.ibm:InvasionIBM",
        "pde": "oncoscale.models.invasion.pde:InvasionPDE",
    },
    scenarios="oncoscale:scenarios/invasion",
    summary="oncoscale.analysis.invasion_metrics:invasion_summary",
    figures="oncoscale.viz.invasion",
    compare="oncoscale.workflows.invasion_compare:compare_report",
    extensions=("oncoscale.analysis.invasion_metrics",),  # the invasion_front study metric
)
