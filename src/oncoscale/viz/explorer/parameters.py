"""One widget per parameter, generated from a :class:`ParameterSet` class: the allowed range
from the field's constraints, the units and the description (shown as the widget's tooltip).

Widgets do not clamp: a value outside the range is sent as typed and the run's validation
(:func:`oncoscale.io.scenario.resolve`) answers with the CLI's message, shown in the page.
"""

from __future__ import annotations

import math
import typing
from typing import Any

import annotated_types
import panel as pn

from oncoscale.io.scenario import parse_value
from oncoscale.models.parameters import ParameterSet

_BOUNDS = (
    (annotated_types.Gt, "gt", "> {}"),
    (annotated_types.Ge, "ge", ">= {}"),
    (annotated_types.Lt, "lt", "< {}"),
    (annotated_types.Le, "le", "<= {}"),
)


def allowed_range(cls: type[ParameterSet], name: str) -> str:
    """The allowed range of a parameter as the CLI writes it (">= 0, <= 1"), or "any"."""
    parts = []
    for item in cls.model_fields[name].metadata:
        for kind, attr, text in _BOUNDS:
            if isinstance(item, kind):
                parts.append(text.format(getattr(item, attr)))
    return ", ".join(parts) or "any"


def label(cls: type[ParameterSet], name: str) -> str:
    """'name (units)' for a widget title."""
    units = cls.units_of(name)
    return f"{name} ({units})" if units and units != "1" else name


def tooltip(cls: type[ParameterSet], name: str) -> str:
    """Description, units and allowed range of a parameter."""
    field = cls.model_fields[name]
    units = cls.units_of(name)
    units = units if units not in ("", "1") else "dimensionless"
    return f"{field.description or name}. Units: {units}. Allowed: {allowed_range(cls, name)}."


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple | list):
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


def parameter_widget(cls: type[ParameterSet], name: str, value: Any) -> pn.widgets.Widget:
    """The widget of one parameter: FloatInput / IntInput / Checkbox / Select (literal
    choices) / TextInput (optional values and lists), with the parameter's name as CSS class
    (``param-NAME``) so tests and scripts can find it."""
    annotation = cls.model_fields[name].annotation
    common = {
        "name": label(cls, name),
        "description": tooltip(cls, name),
        "css_classes": [f"param-{name}"],
        "width": 170,
    }
    if annotation is bool:
        return pn.widgets.Checkbox(value=bool(value), **common)
    if annotation is float and isinstance(value, int | float) and math.isfinite(value):
        return pn.widgets.FloatInput(value=float(value), format="0[.]0000000", **common)
    if annotation is int:
        return pn.widgets.IntInput(value=int(value), **common)
    if typing.get_origin(annotation) is typing.Literal:
        return pn.widgets.Select(options=list(typing.get_args(annotation)), value=value, **common)
    return pn.widgets.TextInput(value=_text(value), **common)


def widget_value(widget: pn.widgets.Widget) -> Any:
    """The value a widget holds, as a scenario override (text parsed like ``--set``; a
    comma-separated text becomes a list)."""
    value = widget.value
    if not isinstance(widget, pn.widgets.TextInput):
        return value
    text = str(value).strip()
    if "," in text:
        return [parse_value(v) for v in text.split(",") if v.strip()]
    return parse_value(text) if text else None


def changed_values(widgets: dict[str, pn.widgets.Widget], params: ParameterSet) -> dict[str, Any]:
    """The parameters whose widget differs from ``params`` (the overrides of a run)."""
    out = {}
    for name, widget in widgets.items():
        value = widget_value(widget)
        current = getattr(params, name)
        if isinstance(current, tuple) and isinstance(value, list):
            value_cmp: Any = tuple(value)
        else:
            value_cmp = value
        if value_cmp != current:
            out[name] = value
    return out
