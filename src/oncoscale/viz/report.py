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
"""


def _fmt(x: Any) -> str:
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


def key_numbers(summary: dict[str, Any]) -> str:
    """Table of the scalar entries of a summary (nested keys flattened)."""
    return table(_flatten(summary), ("quantity", "value"))


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


def events_html(events: list[dict[str, Any]]) -> str:
    """Event log table."""
    if not events:
        return "<p class='muted'>no events</p>"
    return table(
        [(e["time"], e["kind"], e["description"]) for e in events], ("t (h)", "kind", "event")
    )


def write_report(path: Path, title: str, sections: list[str], subtitle: str = "") -> Path:
    """Write the HTML report atomically."""
    doc = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class='muted'>{html.escape(subtitle)}</p>{''.join(sections)}</body></html>"
    )
    return atomic_write(path, lambda tmp: tmp.write_text(doc, encoding="utf-8"))
