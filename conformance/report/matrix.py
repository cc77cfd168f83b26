"""A matrix page across implementations: one column per report.json, one row per check,
each cell linking to that implementation's report.html at the check.

    python -m conformance.report.matrix reports/*/report.json -o reports/index.html
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import quote

from . import badge
from .format import load as load_report
from .html_report import esc, implementation_label, outcome_badge, page, table


def load(paths: list[Path]) -> list[tuple[Path, dict]]:
    """The reports, each read through the format's models (ValueError naming the field)."""
    reports = [(path, load_report(path)) for path in paths]
    return sorted(reports, key=lambda item: implementation_label(item[1]).lower())


def link(report_json: Path, output: Path) -> str:
    """The report.html next to report_json, relative to the page being written."""
    relative = os.path.relpath(report_json.parent.resolve() / "report.html", output.parent.resolve())
    return quote(Path(relative).as_posix())


def rows_of(reports: list[tuple[Path, dict]]) -> list[tuple[str, str, str, list[str]]]:
    """(area, name, test, requirement IDs) of every check in any report, in a stable order."""
    seen: dict[tuple[str, str], tuple[str, str, str, list[str]]] = {}
    for _, data in reports:
        for c in data["checks"]:
            seen.setdefault((c["area"], c["name"]), (c["area"], c["name"], c["test"], c["requirements"]))
    return sorted(seen.values(), key=lambda row: (row[0], row[2], row[1]))


def cell(check: dict | None, href: str) -> str:
    if check is None:
        return "<td>-</td>"
    return f"<td>{outcome_badge(check['outcome'], check['expectedFailure'], f'{href}#' + quote(check['anchor']))}</td>"


def grade(data: dict) -> str:
    """The implementation's badge, in words ("MCP 2025-11-25: 95%", "... suite error")."""
    shown = badge.endpoint(data)
    return f"<td>{esc(shown['label'])}: {esc(shown['message'])}</td>"


def render(reports: list[tuple[Path, dict]], output: Path) -> str:
    hrefs = [link(path, output) for path, _ in reports]
    by_check = [{(c["area"], c["name"]): c for c in data["checks"]} for _, data in reports]
    names = (f'<a href="{esc(href)}">{esc(implementation_label(data))}</a>' for href, (_, data) in zip(hrefs, reports))
    rows = [['<th colspan="3">MUST pass rate</th>', *(grade(data) for _, data in reports)]]
    for area, name, _, requirements in rows_of(reports):
        rows.append(
            [
                f"<td>{esc(area)}</td>",
                f"<td>{esc(name)}</td>",
                f"<td>{esc(', '.join(requirements))}</td>",
                *(cell(checks.get((area, name)), href) for href, checks in zip(hrefs, by_check)),
            ]
        )
    body = [
        "<h1>MCP conformance matrix</h1>",
        f"<p>{len(reports)} implementations. Each cell links to the check in that implementation's report; "
        "FAIL* is an expected failure listed in its baseline.</p>",
        table(["Area", "Check", "Requirements", *names], rows, "matrix"),
    ]
    return page("MCP conformance matrix", body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.report.matrix", description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", type=Path, metavar="report.json")
    parser.add_argument("-o", "--output", type=Path, default=Path("index.html"), help="the page to write")
    args = parser.parse_args(argv)
    try:
        reports = load(args.reports)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(reports, args.output), encoding="utf-8", errors="backslashreplace")
    print(f"wrote {args.output} ({len(reports)} implementations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
