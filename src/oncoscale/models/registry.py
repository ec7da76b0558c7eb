"""Model families, found through Python entry points: core code never lists them.

A family is declared once, as a :class:`Family`, in a plugin module at the top of the house
(``oncoscale.families.<name>`` for the shipped families) and registered under the entry-point
group :data:`ENTRY_POINT_GROUP` in its distribution's metadata (``[project.entry-points]`` in
pyproject.toml). The declaration names each part in the layer it belongs to as a
``"module:attribute"`` string, imported only when used (listing scenarios compiles no kernel):
physics in ``models``, summaries in ``analysis``, figures in ``viz``, comparisons in
``workflows``. :func:`register_family` adds one at run time (notebooks, tests).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from oncoscale.errors import InputError
from oncoscale.models.base import Representation
from oncoscale.models.parameters import ParameterSet, suggest

#: the entry-point group a family declaration is registered under
ENTRY_POINT_GROUP = "oncoscale.families"


@dataclass(frozen=True)
class Family:
    """A model family: one parameter set, several representations, and where its parts live.

    Every part is a ``"module:attribute"`` path (``"module"`` for ``figures``), or ``""`` if
    the family has none:

    * ``parameters`` — the :class:`ParameterSet` subclass (it also fixes the time unit);
    * ``representations`` — model name → :class:`Representation` subclass;
    * ``scenarios`` — ``"package:folder"``: the folder of the family's scenario files;
    * ``bifurcation`` — ``f(params, param, reduction=None) -> BifurcationProblem``;
    * ``summary`` — ``f(ds) -> dict`` of family key numbers merged into summary.json;
    * ``figures`` — a module with ``run_figures(ds, out, movie) -> [paths]`` and optionally
      ``STUDY_FIGURES`` (metric name → ``f(study, runs, out) -> path``);
    * ``compare`` — ``f(scenario, out_dir, runs, **options) -> [lines]`` (``oncoscale compare``);
    * ``front_theory`` — ``f(params: dict) -> {observable: (label, position at t = 0, speed)}``:
      travelling-wave theory lines drawn with the fronts (explorer);
    * ``extensions`` — modules imported when the family is first used (they register
      protocol kinds, study metrics or time schemes by defining them).
    """

    name: str
    description: str
    parameters: str
    representations: Mapping[str, str] = field(default_factory=dict)
    scenarios: str = ""
    bifurcation: str = ""
    summary: str = ""
    figures: str = ""
    compare: str = ""
    front_theory: str = ""
    extensions: tuple[str, ...] = ()

    # ---- physics --------------------------------------------------------------------------
    def parameter_class(self) -> type[ParameterSet]:
        """The family's parameter set class."""
        self._load_extensions()
        return load(self.parameters)

    @property
    def time_units(self) -> str:
        """UDUNITS unit of the family's time."""
        return self.parameter_class().time_units

    @property
    def time_label(self) -> str:
        """The family's time unit as people write it."""
        return self.parameter_class().time_label

    def representation_class(self, model: str) -> type[Representation]:
        """The representation class for ``model``."""
        if model not in self.representations:
            raise InputError(
                f"unknown model '{model}' for family '{self.name}'"
                f"{suggest(model, list(self.representations))}; "
                f"allowed: {', '.join(self.representations)}"
            )
        self._load_extensions()
        return load(self.representations[model])

    def scenario_folder(self) -> Path | None:
        """The folder holding the family's scenario files, if it declares one."""
        if not self.scenarios:
            return None
        package, _, folder = self.scenarios.partition(":")
        return Path(str(resources.files(package).joinpath(folder)))

    # ---- parts in the upper layers ---------------------------------------------------------
    def part(self, name: str) -> Any:
        """The part ``name`` (e.g. "summary", "figures") loaded, or None if not declared."""
        path = getattr(self, name)
        if not path:
            return None
        self._load_extensions()
        return load(path)

    def require(self, name: str, what: str) -> Any:
        """The part ``name`` loaded; InputError naming the families that have one if not."""
        value = self.part(name)
        if value is None:
            having = [f.name for f in families().values() if getattr(f, name)]
            raise InputError(
                f"family '{self.name}' has no {what}; families with one: "
                f"{', '.join(having) or 'none'}"
            )
        return value

    def _load_extensions(self) -> None:
        for module in self.extensions:
            importlib.import_module(module)


def load(path: str) -> Any:
    """Import ``"module:attribute"`` (or ``"module"``) and return the object."""
    module, _, attribute = path.partition(":")
    mod = importlib.import_module(module)
    return getattr(mod, attribute) if attribute else mod


_DISCOVERED: dict[str, Family] | None = None
_REGISTERED: dict[str, Family] = {}


def _discover() -> dict[str, Family]:
    found: dict[str, Family] = {}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        declared = entry.load()
        if not isinstance(declared, Family):
            raise TypeError(
                f"entry point '{entry.name}' in group {ENTRY_POINT_GROUP} is "
                f"{type(declared).__name__}, not a Family declaration"
            )
        found[declared.name] = declared
    return found


def families() -> dict[str, Family]:
    """Every family: the entry-point declarations, then those added by :func:`register_family`."""
    global _DISCOVERED
    if _DISCOVERED is None:
        _DISCOVERED = _discover()
    return {**_DISCOVERED, **_REGISTERED}


def register_family(declaration: Family) -> Family:
    """Add (or replace) a family at run time, without an entry point."""
    _REGISTERED[declaration.name] = declaration
    return declaration


def refresh() -> None:
    """Forget the discovered entry points (after installing a plugin in this process)."""
    global _DISCOVERED
    _DISCOVERED = None


def family(name: str) -> Family:
    """Look up a family by name."""
    known = families()
    if name not in known:
        hint = "" if known else " (no family is registered: is oncoscale installed?)"
        raise InputError(
            f"unknown model family '{name}'{suggest(name, list(known))}; "
            f"allowed: {', '.join(known)}{hint}"
        )
    return known[name]


def family_of(params_or_rep: ParameterSet | Representation) -> Family:
    """The family of a parameter set or representation."""
    name = getattr(params_or_rep, "family", "") or type(params_or_rep).family
    return family(name)
