"""report.html: one self-contained page (inline CSS, no scripts) rendered from report.json data.

Every string that may come from the implementation (serverInfo, reasons, transcripts) goes
through `esc`; the page also forbids scripts by Content-Security-Policy, as a second fence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from importlib import resources

from . import OUTCOMES
from .model import badge_totals, failure_problems, grade_label, totals

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
LABELS = ("Check", "Requirements", "Expected", "What happened", "Also (SHOULD)")
SUITE_BUG = "A bug of mcp-conformance, not a failure of the implementation: the check judged nothing. Please report it."


def esc(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def css() -> str:
    return resources.files(__package__).joinpath("report.css").read_text(encoding="utf-8")


def page(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f"<style>\n{css()}</style>",
            "</head>",
            "<body>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )


def implementation_label(data: dict) -> str:
    impl = data.get("implementation") or {}
    name = impl.get("name") or data.get("command") or "unknown implementation"
    return f"{name} {impl['version']}" if impl.get("version") else name


def title(data: dict) -> str:
    kind = "MCP client conformance" if data.get("role") == "client" else "MCP conformance"
    return f"{kind}: {implementation_label(data)}"


def role_text(data: dict) -> str:
    if data.get("role") == "client":
        return "client (the suite played a scripted server)"
    return "server"


def outcome_badge(outcome: str, expected: bool = False, href: str | None = None) -> str:
    classes = f"o {esc(outcome)}" + (" expected" if expected else "")
    text = esc(outcome) + ("*" if expected else "")
    title = ' title="expected failure (baseline)"' if expected else ""
    if href:
        return f'<a class="{classes}" href="{esc(href)}"{title}>{text}</a>'
    return f'<span class="{classes}"{title}>{text}</span>'


def table(header: list[str], rows: list[list[str]], table_id: str = "", row_classes: Sequence[str] = ()) -> str:
    """A table from already-escaped cells (and optional, trusted, classes per row)."""
    attr = f' id="{table_id}"' if table_id else ""
    head = "".join(f"<th>{h}</th>" for h in header)
    classes = [f' class="{c}"' if c else "" for c in row_classes] or [""] * len(rows)
    body = "\n".join(f"<tr{cls}>" + "".join(row) + "</tr>" for cls, row in zip(classes, rows))
    return f"<table{attr}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def counts_cells(totals: dict) -> list[str]:
    cells = [f'<td class="n">{totals.get(o, 0)}</td>' for o in OUTCOMES]  # an older report lacks some
    return [*cells, f'<td class="n">{rate_text(totals["mustPassRate"])}</td>']


def rate_text(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:g}%"


def header(data: dict) -> list[str]:
    revision, graded = badge_totals(data)
    rate = graded["mustPassRate"]
    meta = [
        ("Implementation", implementation_label(data)),
        ("Tested as", role_text(data)),
        ("Command", data.get("command")),
        ("Revisions", ", ".join(data["revisions"]) or "none"),
        ("Transports", ", ".join(data["transports"])),
        ("Run", f"{data['startedAt']} to {data['finishedAt']}"),
        ("Suite", f"{data['suite']['name']} {data['suite']['version']}"),
        ("Grade", f"{grade_label(data, revision)}: {rate_text(rate)} of checks kept every MUST"),
    ]
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta)
    return [f"<h1>{esc(title(data))}</h1>", f'<dl class="meta">{items}</dl>']


def summary(data: dict) -> list[str]:
    rows = [
        [f"<th>{esc(rev)}</th>", *counts_cells(t)]
        for rev, t in data["totals"].items()
        if rev != "all" and any(t.get(o) for o in OUTCOMES)
    ]
    rows.append(["<th>all</th>", *counts_cells(data["totals"]["all"])])
    header_cells = ["Revision", *OUTCOMES, "MUST pass rate"]
    return ["<h2>Summary</h2>", table(header_cells, rows, "summary"), *by_area(data)]


def by_area(data: dict) -> list[str]:
    areas = sorted({c["area"] for c in data["checks"]})
    rows = [
        [f"<th>{esc(area)}</th>", *counts_cells(totals([c for c in data["checks"] if c["area"] == area]))]
        for area in areas
    ]
    return ["<h3>By area</h3>", table(["Area", *OUTCOMES, "MUST pass rate"], rows, "areas")]


def requirements(data: dict) -> list[str]:
    revisions = [*data["revisions"], "any"]
    rows = []
    for req in data["requirements"]:
        cells = [
            outcome_badge(c["outcome"], c["expectedFailure"], "#" + c["anchor"])
            if (c := req["revisions"].get(rev))
            else ""
            for rev in revisions
        ]
        link = (
            f'<a href="{esc(req["url"])}">{esc(req["id"])}</a>'
            if str(req.get("url", "")).startswith("https://")
            else esc(req["id"])
        )
        rows.append(
            [
                f"<td>{link}</td>",
                f"<td>{esc(req.get('level', ''))}</td>",
                f"<td>{esc(req.get('summary', ''))}</td>",
                *(f"<td>{c}</td>" for c in cells),
            ]
        )
    header_cells = ["Requirement", "Level", "Summary", *map(esc, revisions)]
    return ["<h2>Requirements</h2>", table(header_cells, rows, "requirements")]


def transcript(messages: list[dict]) -> str:
    if not messages:
        return "<p>(no messages exchanged)</p>"
    lines = []
    for m in messages:
        lines.append(f"{float(m.get('t', 0)):8.3f}s [{m.get('connection', '')}] {m.get('direction')} {m.get('data')}")
        lines.extend(f"{'':10}! {note}" for note in m.get("notes") or [])
    text = esc("\n".join(lines))
    return f"<details><summary>Wire transcript ({len(messages)} messages)</summary><pre>{text}</pre></details>"


def explained(reason: str) -> list[tuple[str, str]]:
    """Split the main plugin's explanation ("Expected: ...", "What happened: ...") into parts."""
    pattern = re.compile(rf"^({'|'.join(map(re.escape, LABELS))}): ", re.M)
    marks = list(pattern.finditer(reason))
    if not marks:
        return [("What happened", reason)]
    ends = [m.start() for m in marks[1:]] + [len(reason)]
    return [(m.group(1), reason[m.end() : end].strip()) for m, end in zip(marks, ends)]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def problem_count(problem_total: int, failed: int) -> str:
    """E.g. "4 distinct problems in 11 failed checks"."""
    return f"{plural(problem_total, 'distinct problem')} in {plural(failed, 'failed check')}"


def problems_of(data: dict) -> list[dict]:
    """report.json's problems, or (an older report.json) one per failed check."""
    found = data.get("problems")
    return failure_problems(data["checks"]) if found is None else found


def check_link(check: dict) -> str:
    return f'<a href="#{esc(check["anchor"])}">{esc(check["name"])}</a>'


def problems(data: dict) -> list[str]:
    found = problems_of(data)
    if not found:
        return []
    by_id = {c["id"]: c for c in data["checks"]}
    items = "".join(
        f"<li><code>{esc(p['signature'])}</code> ({esc(', '.join(p['revisions']))}): "
        + ", ".join(check_link(by_id[i]) if i in by_id else esc(i) for i in p["checks"])
        + "</li>"
        for p in found
    )
    failed = sum(1 for c in data["checks"] if c["outcome"] == "FAIL")
    return [
        "<h2>Problems</h2>",
        f"<p>{problem_count(len(found), failed)}, grouped by root cause.</p>",
        f'<ol id="problems">{items}</ol>',
    ]


def suite_errors(data: dict) -> list[str]:
    internal = [c for c in data["checks"] if c["outcome"] == "INTERNAL"]
    if not internal:
        return []
    return [f"<h2>Suite errors ({len(internal)})</h2>", f"<p>{esc(SUITE_BUG)}</p>", *map(failure, internal)]


def failures(data: dict) -> list[str]:
    failed = [c for c in data["checks"] if c["outcome"] == "FAIL"]
    out = [f"<h2>Failures ({len(failed)})</h2>"]
    if not failed:
        out.append("<p>None.</p>")
    return [*out, *map(failure, failed)]


def failure(c: dict) -> str:
    parts = "".join(
        f"<dt>{esc(label)}</dt><dd><pre>{esc(text)}</pre></dd>"
        for label, text in explained(c["reason"])
        if label not in ("Check", "Requirements")
    )
    expected = c["expectedFailure"]
    note = f" (expected failure: baseline entry <code>{esc(c['baselineEntry'])}</code>)" if expected else ""
    where = (
        f"Area {esc(c['area'])}, revision {esc(c['revision'])}, "
        f"requirements {esc(', '.join(c['requirements']) or 'none')}"
    )
    causes = ", ".join(f"<code>{esc(s)}</code>" for s in c.get("signatures") or [])
    root = f"<p>Root cause: {causes}</p>" if causes else ""
    kind = "internal" if c["outcome"] == "INTERNAL" else "failure expected" if expected else "failure"
    return (
        f'<section class="{kind}">'
        f'<h3><a href="#{esc(c["anchor"])}">{esc(c["name"])}</a>{note}</h3>'
        f"<p>{where}</p>{root}<dl>{parts}</dl>{transcript(c['messages'])}</section>"
    )


def owner_of(check: dict, checks: list[dict]) -> dict | None:
    """The check a BLOCKED check names as its owner, as it ran in this report (the same
    revision's first), or None."""
    named = [c for c in checks if check.get("blockedBy") in (c["test"], c["name"])]
    return next((c for c in named if c["revision"] == check["revision"]), named[0] if named else None)


def blocked_note(check: dict, checks: list[dict]) -> str:
    owner = owner_of(check, checks)
    if owner is not None:
        by = f"{check_link(owner)} {outcome_badge(owner['outcome'], owner['expectedFailure'])}"
    else:
        by = esc(check.get("blockedBy") or "another check") + " (not in this report)"
    return f'<p class="note">Not judged: blocked by {by}</p>'


def outcome_note(check: dict, checks: list[dict]) -> str:
    """What a check that judged nothing says before its details."""
    if check["outcome"] == "BLOCKED":
        return blocked_note(check, checks)
    if check["outcome"] == "INTERNAL":
        return f'<p class="note">{esc(SUITE_BUG)}</p>'
    return ""


def checks(data: dict) -> list[str]:
    rows = []
    for c in data["checks"]:
        detail = (
            f"<details><summary>details</summary><pre>{esc(c['reason'])}</pre>{transcript(c['messages'])}</details>"
            if c["reason"] or c["messages"]
            else ""
        )
        rows.append(
            [
                f"<td>{esc(c['area'])}</td>",
                f'<td id="{esc(c["anchor"])}">{esc(c["name"])}</td>',
                f"<td>{esc(c['revision'])}</td>",
                f"<td>{esc(', '.join(c['requirements']))}</td>",
                f"<td>{outcome_badge(c['outcome'], c['expectedFailure'])}</td>",
                f'<td class="n">{c["duration"]:.2f}s</td>',
                f"<td>{outcome_note(c, data['checks'])}{detail}</td>",
            ]
        )
    row_classes = [f"row-{c['outcome']}" if c["outcome"] in ("BLOCKED", "INTERNAL") else "" for c in data["checks"]]
    header_cells = ["Area", "Check", "Revision", "Requirements", "Outcome", "Time", "Reason and transcript"]
    return ["<h2>All checks</h2>", table(header_cells, rows, "checks", row_classes)]


def baseline(data: dict) -> list[str]:
    judged = data.get("baseline")
    if not judged:
        return []
    kinds = [
        ("stale", "STALE (passes now: remove it)", ' class="stale"'),
        ("expected", "still failing", ""),
        ("unexercised", "not exercised in this run", ""),
    ]
    items = "".join(f"<li{cls}>{what}: <code>{esc(e)}</code></li>" for key, what, cls in kinds for e in judged[key])
    return [f"<h2>Expected failures ({esc(judged['file'])})</h2>", f"<ul>{items or '<li>none listed</li>'}</ul>"]


def render(data: dict) -> str:
    body = [
        *header(data),
        *summary(data),
        *suite_errors(data),
        *baseline(data),
        *problems(data),
        *requirements(data),
        *failures(data),
        *checks(data),
        "<p>FAIL* marks an expected failure listed in the baseline. "
        "BLOCKED: not judged, because of what another check judges. INTERNAL: a bug of the suite.</p>",
    ]
    return page(title(data), body)
