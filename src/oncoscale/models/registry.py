"""Model families and their representations, looked up by name.

A family is registered with its parameter class and a table of representation builders
(``model name -> "module:Class"``); modules are imported lazily so that listing scenarios
does not compile any kernel.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from oncoscale.errors import InputError
from oncoscale.models.base import Representation
from oncoscale.models.parameters import ParameterSet, suggest


@dataclass(frozen=True)
class Family:
    """A model family: one parameter set, several representations."""

    name: str
    parameters: str  # "module:Class" of the ParameterSet subclass
    representations: dict[str, str] = field(default_factory=dict)  # model -> "module:Class"
    description: str = ""
    #: "module:function" building a BifurcationProblem(params, param, reduction=None), or ""
    bifurcation: str = ""
    #: unit of time of the family's parameters and scenario horizons
    time_units: str = "h"
    #: "module:function" comparing a scenario's stochastic model with its continuum limit:
    #: f(scenario name or path, out_dir, runs, *, overrides, t_end, seed, workers, scheduler,
    #: resume, progress, tolerance) -> lines to report; or ""
    compare: str = ""

    def parameter_class(self) -> type[ParameterSet]:
        """The family's parameter set class."""
        return _load(self.parameters)

    def representation_class(self, model: str) -> type[Representation]:
        """The representation class for ``model``."""
        if model not in self.representations:
            raise InputError(
                f"unknown model '{model}' for family '{self.name}'"
                f"{suggest(model, list(self.representations))}; "
                f"allowed: {', '.join(self.representations)}"
            )
        return _load(self.representations[model])

    def bifurcation_builder(self):
        """The family's ``bifurcation_problem`` builder (InputError if it has none)."""
        if not self.bifurcation:
            raise InputError(f"family '{self.name}' has no homogeneous ODE to continue")
        return _load(self.bifurcation)

    def compare_builder(self):
        """The family's stochastic-vs-continuum comparison (InputError if it has none)."""
        if not self.compare:
            raise InputError(
                f"family '{self.name}' has no stochastic model to compare with its continuum "
                "limit; families with one: "
                + ", ".join(f.name for f in FAMILIES.values() if f.compare)
            )
        return _load(self.compare)


def _load(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


FAMILIES: dict[str, Family] = {
    "oncolytic": Family(
        name="oncolytic",
        parameters="oncoscale.models.oncolytic.params:OncolyticParameters",
        representations={
            "ode": "oncoscale.models.oncolytic.ode_model:OncolyticODE",
            "pde-radial": "oncoscale.models.oncolytic.pde:OncolyticPDERadial",
            "pde-1d": "oncoscale.models.oncolytic.pde:OncolyticPDEPlanar",
            "pde-2d": "oncoscale.models.oncolytic.pde:OncolyticPDE2D",
            "abm": "oncoscale.models.oncolytic.abm:OncolyticABM",
        },
        description="oncolytic virus + immune system (seed 003)",
        bifurcation="oncoscale.models.oncolytic.ode:bifurcation_problem",
        compare="oncoscale.run.compare:compare_report",
    ),
    "kinetic": Family(
        name="kinetic",
        parameters="oncoscale.models.kinetic.params:KineticParameters",
        representations={
            "ode": "oncoscale.models.kinetic.ode_model:KineticODE",
            "pde-1d": "oncoscale.models.kinetic.macro:MacroPDE1D",
            "pde-2d": "oncoscale.models.kinetic.macro:MacroPDE2D",
            "kinetic-1d": "oncoscale.models.kinetic.kinetic:Kinetic1D",
            "kinetic-2d": "oncoscale.models.kinetic.kinetic:Kinetic2D",
        },
        description="kinetic tumour-immune model and its macroscopic limits (seed 000)",
        time_units="1/r",
        bifurcation="oncoscale.models.kinetic.bifurcation:bifurcation_problem",
    ),
    "invasion": Family(
        name="invasion",
        parameters="oncoscale.models.invasion.params:InvasionParameters",
        representations={
            "ibm": "oncoscale.models.invasion.ibm:InvasionIBM",
            "pde": "oncoscale.models.invasion.pde:InvasionPDE",
        },
        description="continuous individual-based tumour invasion, IBM and age-structured PDE "
        "(seed 004)",
        time_units="day",
        compare="oncoscale.analysis.invasion_compare:compare_report",
    ),
}


def family(name: str) -> Family:
    """Look up a family by name."""
    if name not in FAMILIES:
        raise InputError(
            f"unknown model family '{name}'{suggest(name, list(FAMILIES))}; "
            f"allowed: {', '.join(FAMILIES)}"
        )
    return FAMILIES[name]
