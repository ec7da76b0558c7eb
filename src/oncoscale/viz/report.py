"""Self-contained HTML reports collecting figures, key numbers, parameters and events."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from oncoscale.atomic import atomic_write

_CSS = """
body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left} th{background:#f4f4f4}
img{max-width:100%;border:1px solid #eee;margin:.4em 0} .muted{color:#777;font-size:.85em}
video{max-width:100%}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.8em;background:#f7f7f7;padding:.5em}
td{overflow-wrap:anywhere}
"""


def _fmt(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        if math.isnan(x):
            return "—"
        return f"{x:.6g}"
    if isinstance(x, dict | list):
        return html.escape(json.dumps(x, default=str)[:300])
    return html.escape(str(x))


def table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            rows += _flatten(v, key + ".")
        elif not isinstance(v, list):
            rows.append((key, v))
    return rows


def section(title: str, body: str) -> str:
    """An HTML section."""
    return f"<h2>{html.escape(title)}</h2>\n{body}\n"


#: unit suffixes of summary keys → the unit as written
_SUFFIX_UNITS = (
    ("_mm_per_h", "mm/h"),
    ("_mm_per_day", "mm/day"),
    ("_per_h", "1/h"),
    ("_cells_h", "cells·h"),
    ("_mm", "mm"),
    ("_s", "s"),
    ("_h", "h"),
    ("_day", "day"),
)
_KNOWN = {
    "family": "model family",
    "model": "representation",
    "scenario": "scenario",
    "time_units": "time unit (UDUNITS)",
    "seed": "random seed",
    "runs": "number of runs",
}


def _label(key: str, ds: Any = None) -> str:
    """A human label with units for a flattened summary key (``final.total_tumour`` →
    'total tumour cells (uninfected + infected) at the final time (cells)')."""
    head, _, rest = key.partition(".")
    if ds is not None and rest in getattr(ds, "data_vars", {}):
        attrs = ds[rest].attrs
        name = str(attrs.get("long_name", rest))
        unit = str(attrs.get("units_label") or attrs.get("units", ""))
        unit = "" if unit == "1" else unit
        where = {"final": " at the final time", "field_minimum": ", minimum over the run"}
        text = f"{name}{where.get(head, '')}"
        return f"{text} ({unit})" if unit else text
    if key in _KNOWN:
        return _KNOWN[key]
    if key == "t_end":
        unit = ds.attrs.get("time_label", "") if ds is not None else ""
        return f"final time ({unit})" if unit else "final time"
    if head == "solver_stats":
        return f"solver: {rest.replace('_', ' ')}"
    last = key.rsplit(".", 1)[-1]
    for suffix, unit in _SUFFIX_UNITS:
        if last.endswith(suffix):
            stem = key[: -len(suffix)].replace(".", ": ").replace("_", " ")
            return f"{stem} ({unit})"
    return key.replace(".", ": ").replace("_", " ")


def _value(v: Any) -> Any:
    """Whole numbers (counts) without a decimal tail."""
    if isinstance(v, float) and math.isfinite(v) and v == round(v) and abs(v) < 1e15:
        return int(v)
    return v


def key_number_rows(summary: dict[str, Any], ds: Any = None) -> list[tuple[str, str, Any]]:
    """(flattened key, human label with unit, value) for every scalar entry of a summary."""
    return [(k, _label(k, ds), _value(v)) for k, v in _flatten(summary)]


def key_numbers(summary: dict[str, Any], ds: Any = None) -> str:
    """Table of the scalar entries of a summary (nested keys flattened), each with a human
    label and its unit (from the result ``ds`` where the key names one of its variables)."""
    rows = [(label, value) for _, label, value in key_number_rows(summary, ds)]
    return table(rows, ("quantity", "value"))


def key_numbers_keyed(summary: dict[str, Any], ds: Any = None) -> str:
    """:func:`key_numbers` with each row tagged by its summary key (``data-key``), for pages
    that scripts read (the explorer)."""
    rows = "".join(
        f'<tr data-key="{html.escape(k)}"><td>{html.escape(label)}</td>'
        f'<td class="value">{_fmt(value)}</td></tr>'
        for k, label, value in key_number_rows(summary, ds)
    )
    return f"<table><tr><th>quantity</th><th>value</th></tr>{rows}</table>"


def figures_html(paths: list[Path], base: Path) -> str:
    """<img>/<video> tags for figures, relative to the report folder."""
    out = []
    for p in paths:
        rel = html.escape(str(Path(p).resolve().relative_to(base.resolve())))
        if p.suffix == ".mp4":
            out.append(f'<video controls src="{rel}"></video><p class="muted">{rel}</p>')
        else:
            out.append(f'<img src="{rel}" alt="{rel}"><p class="muted">{rel}</p>')
    return "\n".join(out)


def parameters_html(params: dict[str, Any], units: dict[str, str]) -> str:
    """Parameter table with units."""
    return table(
        [(k, v, units.get(k, "")) for k, v in params.items()], ("parameter", "value", "units")
    )


def events_html(events: list[dict[str, Any]], time_label: str = "h") -> str:
    """Event log table."""
    if not events:
        return "<p class='muted'>no events</p>"
    return table(
        [(e["time"], e["kind"], e["description"]) for e in events],
        (f"t ({time_label})" if time_label else "t", "kind", "event"),
    )


def write_report(path: Path, title: str, sections: list[str], subtitle: str = "") -> Path:
    """Write the HTML report atomically."""
    doc = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class='muted'>{html.escape(subtitle)}</p>{''.join(sections)}</body></html>"
    )
    return atomic_write(path, lambda tmp: tmp.write_text(doc, encoding="utf-8"))
