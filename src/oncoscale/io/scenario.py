"""Scenario files (TOML, shipped in ``oncoscale/scenarios``): loading, validation, overrides.

A scenario names a family, the models it can run with, the horizon, parameter values (on top
of the family defaults), numerical settings per model, output cadence, a protocol (scheduled
and triggered events) and optionally a study (a sweep over runs). Everything is validated on
load; errors name the file, the entry, the value and the allowed range.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    ValidationError,
    field_validator,
    model_validator,
)

from oncoscale.errors import InputError
from oncoscale.models.base import Representation
from oncoscale.models.parameters import ParameterSet, suggest
from oncoscale.models.registry import families
from oncoscale.models.registry import family as get_family
from oncoscale.run.protocols import Event, parse_event
from oncoscale.run.runner import RunPlan

#: largest seed: result files store it as a 64-bit integer
MAX_SEED = 2**63 - 1


class OutputSpec(BaseModel):
    """Output cadence (family time unit) and checkpoint interval (s of wall time)."""

    model_config = ConfigDict(extra="forbid")
    observe_interval: float = Field(1.0, gt=0, allow_inf_nan=False)
    snapshot_interval: float = Field(10.0, gt=0, allow_inf_nan=False)
    checkpoint_every: float = Field(60.0, gt=0, allow_inf_nan=False)
    movie: bool = True


class SweepStudy(BaseModel):
    """Run the scenario once per value of one parameter (or protocol entry) and reduce each
    run to metrics."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["sweep"]
    parameter: str  # a model parameter, or "protocol.<index>.<field>"
    values: list[FiniteFloat] = Field(min_length=1, max_length=10_000)
    metric: str
    options: dict[str, Any] = Field(default_factory=dict)


def parse_range(text: str) -> tuple[str, float, float, bool]:
    """A study range ``NAME=LO:HI`` or ``NAME=LO:HI:log`` → (name, lo, hi, log); InputError
    if malformed (whether NAME exists and the range is allowed is checked against the model
    by :class:`oncoscale.workflows.studies.space.ParameterSpace`)."""
    name, sep, rng = text.partition("=")
    parts = rng.split(":")
    if not sep or not name.strip() or len(parts) not in (2, 3):
        raise InputError(f"invalid --param '{text}': expected NAME=LO:HI or NAME=LO:HI:log")
    name = name.strip()
    scale = parts[2].strip().lower() if len(parts) == 3 else "linear"
    if scale not in ("log", "linear", "lin"):
        raise InputError(f"invalid --param '{text}': scale {parts[2]!r}; allowed: log, linear")
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise InputError(f"invalid --param '{text}': LO and HI must be numbers") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise InputError(f"invalid range for '{name}': {lo:g}:{hi:g}; allowed: LO < HI, finite")
    if scale == "log" and lo <= 0:
        raise InputError(
            f"invalid range for '{name}': {lo:g}:{hi:g}:log; allowed: LO > 0 on a log scale"
        )
    return name, lo, hi, scale == "log"


class _RangedStudy(BaseModel):
    """A study over parameter ranges (``"NAME=LO:HI[:log]"`` strings, checked on load)."""

    model_config = ConfigDict(extra="forbid")
    parameters: list[str] = Field(min_length=1)
    model: str | None = None  # the representation to study (default: the scenario's)

    @field_validator("parameters")
    @classmethod
    def _ranges(cls, value: list[str]) -> list[str]:
        try:
            for text in value:
                parse_range(text)
        except InputError as exc:
            raise ValueError(str(exc)) from None
        return value


class DesignStudy(_RangedStudy):
    """QoIs over a design (grid, Latin hypercube, Saltelli or Morris points)."""

    kind: Literal["design"]
    design: Literal["grid", "lhs", "sobol", "morris"] = "lhs"
    qois: list[str] = Field(min_length=1)
    samples: int | None = Field(None, gt=0)
    levels: int | None = Field(None, gt=1)
    replicates: int = Field(1, gt=0)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)


class SensitivityStudy(_RangedStudy):
    """Sobol or Morris indices of QoIs."""

    kind: Literal["sensitivity"]
    method: Literal["sobol", "morris"] = "sobol"
    qois: list[str] = Field(min_length=1)
    samples: int = Field(gt=0)
    levels: int = Field(4, gt=1)
    replicates: int = Field(1, gt=0)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)


class CalibrationStudy(_RangedStudy):
    """Calibration to a data file (path relative to the scenario file's folder)."""

    kind: Literal["calibration"]
    data: str
    method: Literal["mle", "abc"] | None = None
    population: int = Field(100, ge=10)
    generations: int = Field(5, ge=1, le=50)
    prefit_model: str | None = None


class OptimisationStudy(_RangedStudy):
    """Protocol fields that minimise or maximise a QoI."""

    kind: Literal["optimisation"]
    objective: str
    sense: Literal["minimise", "maximise"] = "minimise"
    screen: int = Field(8, gt=0)
    max_evaluations: int = Field(40, gt=0)


class EnsembleStudy(BaseModel):
    """Run N stochastic replicates and summarise them."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["ensemble"]
    runs: int = Field(gt=0)
    metric: str = "final_totals"
    options: dict[str, Any] = Field(default_factory=dict)


class Scenario(BaseModel):
    """A named, validated scenario."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    family: str
    title: str
    description: str = ""
    figure: str = ""
    models: list[str] = Field(min_length=1)
    default_model: str
    t_end: float = Field(gt=0, allow_inf_nan=False)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    variant: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    numerics: dict[str, dict[str, Any]] = Field(default_factory=dict)
    output: OutputSpec = Field(default_factory=OutputSpec)
    protocol: list[Event] = Field(default_factory=list)
    study: (
        SweepStudy
        | EnsembleStudy
        | DesignStudy
        | SensitivityStudy
        | CalibrationStudy
        | OptimisationStudy
        | None
    ) = Field(None, discriminator="kind")
    #: the folder of the scenario file (data files of a calibration study are relative to it)
    folder: str = Field("", exclude=True)

    @field_validator("protocol", mode="before")
    @classmethod
    def _events(cls, value: Any) -> list[Event]:
        if not isinstance(value, list):
            raise ValueError("expected a list of event tables ([[protocol]] entries)")
        try:
            return [
                v if isinstance(v, Event) else parse_event(v, f"protocol.{k}")
                for k, v in enumerate(value)
            ]
        except InputError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        study_model = getattr(self.study, "model", None)
        if study_model is not None and study_model not in self.models:
            raise ValueError(f"study model '{study_model}' is not in models {self.models}")
        if self.default_model not in self.models:
            raise ValueError(f"default_model '{self.default_model}' is not in models {self.models}")
        for m in self.numerics:
            if m not in self.models:
                raise ValueError(
                    f"numerics given for model '{m}' which is not in models {self.models}"
                )
        return self

    def one_line(self) -> str:
        """Summary for ``oncoscale list``."""
        fig = f" [seed Fig. {self.figure}]" if self.figure else ""
        unit = get_family(self.family).time_label
        variant = f"; variant {self.variant}" if self.variant else ""
        return (
            f"{self.name:34s} {self.title}{fig} ({', '.join(self.models)}; {self.t_end:g} {unit}"
            f"{variant})"
        )


def available_scenarios() -> dict[str, Scenario]:
    """Every family's shipped scenarios, validated, by name."""
    out = {}
    for fam in families().values():
        folder = fam.scenario_folder()
        if folder is None or not folder.is_dir():
            continue
        for entry in sorted(folder.glob("*.toml")):
            sc = parse_scenario(entry.read_text(), source=entry.name, folder=str(folder))
            if sc.family != fam.name:
                raise InputError(
                    f"scenario file {entry} declares family '{sc.family}' but is shipped with "
                    f"family '{fam.name}'"
                )
            out[sc.name] = sc
    return out


def parse_scenario(text: str, source: str = "<string>", folder: str = "") -> Scenario:
    """Parse and validate scenario TOML text (including the family's parameter names);
    ``folder``: where the file lives (relative paths in its study)."""
    try:
        data = tomllib.loads(text)
        data.pop("folder", None)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"malformed scenario file {source}: {exc}") from None
    try:
        sc = Scenario(**data, folder=folder)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise InputError(
            f"invalid scenario file {source}: entry '{loc}' = {err.get('input')!r}: {err['msg']}"
        ) from None
    fam = get_family(sc.family)
    for m in sc.models:
        if m not in fam.representations:
            raise InputError(
                f"invalid scenario file {source}: model '{m}' is not a model of family "
                f"'{sc.family}'; allowed: {', '.join(fam.representations)}"
            )
    pcls = fam.parameter_class()
    changes = pcls.variant(sc.variant) if sc.variant is not None else {}
    pcls.from_mapping({**sc.parameters, **changes}, context=f"scenario file {source}")
    return sc


def load_scenario(name_or_path: str) -> Scenario:
    """A shipped scenario by name, or a scenario file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.exists():
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else f"not UTF-8 text ({exc.reason})"
            raise InputError(
                f"invalid value for 'SCENARIO': cannot read the scenario file '{path}': {reason}"
            ) from None
        return parse_scenario(text, source=str(path), folder=str(path.parent))
    scenarios = available_scenarios()
    if name_or_path not in scenarios:
        raise InputError(
            f"unknown scenario '{name_or_path}'{suggest(name_or_path, list(scenarios))}; "
            "run `oncoscale list` to see the available ones"
        )
    return scenarios[name_or_path]


# ---------------------------------------------------------------------------------------
# overrides and resolution
# ---------------------------------------------------------------------------------------
def parse_value(text: str) -> Any:
    """Interpret a --set value: number, true/false, none, or a string."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return int(text) if low.lstrip("+-").isdigit() else float(text)
    except ValueError:
        return text.strip()


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``["zeta=5", "numerics.dr=0.02"]`` → ``{"zeta": 5, "numerics.dr": 0.02}``."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"invalid --set '{item}': expected NAME=VALUE")
        out[name.strip()] = parse_value(value)
    return out


@dataclass
class ResolvedRun:
    """A scenario resolved for one model with overrides applied and everything validated."""

    scenario: Scenario
    model: str
    params: ParameterSet
    numerics: dict[str, Any]
    output: OutputSpec
    t_end: float
    seed: int
    overrides: dict[str, Any]
    variant: str | None = None

    def representation(self) -> Representation:
        """Build the representation (validates the numerics)."""
        cls = get_family(self.scenario.family).representation_class(self.model)
        return cls(self.params, self.numerics)

    def plan(self, work_dir: Path | None = None, progress: bool = True) -> RunPlan:
        """The run plan for the shared runner (``work_dir``: checkpoints and partial record)."""
        events = tuple(e for e in self.scenario.protocol)
        return RunPlan(
            t_end=self.t_end,
            observe_interval=self.output.observe_interval,
            snapshot_interval=self.output.snapshot_interval,
            events=events,
            work_dir=work_dir,
            checkpoint_every=self.output.checkpoint_every,
            progress=progress,
            description=f"{self.scenario.name} ({self.model})",
        )

    def describe_inputs(self) -> str:
        """One line naming what was asked for: scenario, model, and what differs from the
        scenario (overrides, horizon, seed)."""
        parts = [f"scenario '{self.scenario.name}'", f"model {self.model}"]
        parts += [f"{k}={v!r}" for k, v in self.overrides.items()]
        if self.t_end != self.scenario.t_end:
            parts.append(f"t_end={self.t_end!r}")
        if self.seed != self.scenario.seed:
            parts.append(f"seed={self.seed!r}")
        return "inputs: " + ", ".join(parts)

    def provenance(self) -> str:
        """A TOML-like text of everything needed to reproduce the run."""
        lines = [
            f"scenario = {self.scenario.name!r}",
            f"model = {self.model!r}",
            f"t_end = {self.t_end!r}",
            f"seed = {self.seed!r}",
            f"overrides = {self.overrides!r}",
            f"variant = {self.variant!r}",
            f"parameters = {self.params.model_dump()!r}",
            f"numerics = {self.numerics!r}",
            f"output = {self.output.model_dump()!r}",
            f"protocol = {[e.model_dump() for e in self.scenario.protocol]!r}",
        ]
        return "\n".join(lines)


def resolve(
    scenario: Scenario,
    model: str | None = None,
    overrides: dict[str, Any] | None = None,
    t_end: float | None = None,
    seed: int | None = None,
    variant: str | None = None,
) -> ResolvedRun:
    """Apply a parameter variant (``variant``, else the scenario's) and the overrides
    (``NAME`` parameters, ``numerics.NAME``, ``output.NAME``), validate. Precedence: family
    defaults < scenario parameters < variant < overrides."""
    model = model or scenario.default_model
    if model not in scenario.models:
        raise InputError(
            f"invalid model '{model}' for scenario '{scenario.name}'; "
            f"allowed: {', '.join(scenario.models)}"
        )
    overrides = dict(overrides or {})
    fam = get_family(scenario.family)
    pcls = fam.parameter_class()
    variant = variant if variant is not None else scenario.variant
    params = {**scenario.parameters, **(pcls.variant(variant) if variant is not None else {})}
    numerics = dict(scenario.numerics.get(model, {}))
    output = scenario.output.model_dump()
    for key, value in overrides.items():
        section, _, name = key.rpartition(".")
        if section == "":
            if key not in pcls.names():
                raise InputError(
                    f"unknown parameter '{key}' for family '{scenario.family}'"
                    f"{suggest(key, pcls.names())}; use numerics.NAME or output.NAME for "
                    f"numerical and output settings; parameters: {', '.join(pcls.names())}"
                )
            params[key] = value
        elif section == "numerics":
            numerics[name] = value
        elif section == "output":
            if name not in OutputSpec.model_fields:
                raise InputError(
                    f"unknown output setting '{name}'; "
                    f"allowed: {', '.join(OutputSpec.model_fields)}"
                )
            output[name] = value
        else:
            raise InputError(f"invalid --set '{key}': sections are numerics and output")
    if t_end is not None and not (math.isfinite(t_end) and t_end > 0):
        raise InputError(
            f"invalid value for '--t-end': {t_end!r} {fam.time_label}; allowed: > 0, finite"
        )
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise InputError(f"invalid value for '--seed': {seed!r}; allowed: 0 to 2**63 - 1")
    try:
        out_spec = OutputSpec(**output)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(
            f"invalid value for 'output.{err['loc'][0]}': {err.get('input')!r}; {err['msg']}"
        ) from None
    return ResolvedRun(
        scenario=scenario,
        model=model,
        params=pcls.from_mapping(params, context=f"scenario '{scenario.name}'"),
        numerics=numerics,
        output=out_spec,
        t_end=t_end if t_end is not None else scenario.t_end,
        seed=seed if seed is not None else scenario.seed,
        overrides=overrides,
        variant=variant,
    )
