"""Collect every **[decision]** (choices taken where the sources are silent or wrong) from the
specs (``$ONCOSCALE_SPECS``, default ``../shared/specs`` or ``/work/shared/specs``) and from
docs/*.md into docs/decisions.md. Without the specs folder the committed page is kept."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
CANDIDATES = [os.environ.get("ONCOSCALE_SPECS", ""), DOCS.parent.parent / "shared/specs",
              "/work/shared/specs"]  # fmt: skip
MARK = "[decision]"


def blocks(text: str):
    """(heading, block) for every paragraph or table row that carries the mark."""
    heading = ""
    for block in re.split(r"\n\s*\n", text):
        for line in block.splitlines():
            if line.startswith("#"):
                heading = line.lstrip("#").strip()
        if MARK not in block:
            continue
        if block.lstrip().startswith("|"):
            for row in block.splitlines():
                if MARK in row:
                    cells = [c.strip() for c in row.strip().strip("|").split("|")]
                    yield heading, "table entry: " + " — ".join(c for c in cells if c)
        else:
            lines = [ln for ln in block.splitlines() if not ln.startswith("#")]
            yield heading, " ".join(ln.strip() for ln in lines)


def escape(text: str) -> str:
    return text.replace("[decision]", "**decision**").replace("****", "**")


def main() -> int:
    specs = next((Path(c) for c in CANDIDATES if c and Path(c).is_dir()), None)
    target = DOCS / "decisions.md"
    if specs is None:
        print(f"no specs folder found ({', '.join(map(str, CANDIDATES[1:]))}); keeping {target}")
        return 0
    out = [
        "# Decisions where the sources are silent or wrong",
        "",
        "Every choice marked **[decision]** in the specifications (from the seed papers) and in",
        "these docs, collected by `docs/scripts/decisions.py`, grouped by source and section.",
        "",
    ]
    sources = [(f"specification `{p.name}`", p) for p in sorted(specs.glob("*.md"))]
    sources += [(f"[{p.stem}]({p.name})", p) for p in sorted(DOCS.glob("*.md"))
                if p.name != "decisions.md"]  # fmt: skip
    count = 0
    for title, path in sources:
        found = list(blocks(path.read_text(encoding="utf-8")))
        if not found:
            continue
        out += [f"## {title}", ""]
        for heading, text in found:
            out.append(f"- *{heading}*: {escape(text)}" if heading else f"- {escape(text)}")
            count += 1
        out.append("")
    target.write_text("\n".join(out), encoding="utf-8")
    print(f"wrote {target}: {count} decisions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
