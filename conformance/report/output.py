"""Writing every report file of a run into one directory."""

from __future__ import annotations

import json
from pathlib import Path

from . import badge, html_report, markdown
from .format import dump


def write(data: dict, directory: str | Path) -> list[Path]:
    data = dump(data)  # as the models write it: a report the schema does not describe is a bug here
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "report.json": json.dumps(data, indent=1) + "\n",
        "report.html": html_report.render(data),
        "summary.md": markdown.render(data),
        "badge.svg": badge.svg(data),
        "badge.json": json.dumps(badge.endpoint(data)) + "\n",
    }
    written = []
    for name, text in files.items():
        path = out / name
        # Lone surrogates can arrive in JSON strings from the implementation: never crash on them.
        path.write_text(text, encoding="utf-8", errors="backslashreplace")
        written.append(path)
    return written
