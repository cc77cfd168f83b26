"""summary.md: GitHub-flavoured Markdown for CI job summaries ($GITHUB_STEP_SUMMARY).

GitHub renders HTML inside Markdown, so implementation strings are HTML-escaped too, and
table cells also escape `|`. Failure details sit in <pre> blocks, where Markdown is inert.
"""

from __future__ import annotations

from html import escape

from . import OUTCOMES
from .html_report import SUITE_BUG, plural, problem_count, problems_of, rate_text, title
from .model import badge_totals, grade_label

MAX_REASON = 1500  # job summaries are size-limited (1 MiB); the full text is in report.html


def cell(value: object) -> str:
    return escape(str(value), quote=False).replace("|", "\\|").replace("\n", " ")


def render(data: dict) -> str:
    revision, graded = badge_totals(data)
    lines = [
        f"## {cell(title(data))}",
        "",
        f"{cell(grade_label(data, revision))}: **{rate_text(graded['mustPassRate'])}** of checks kept every MUST "
        f"(suite {cell(data['suite']['version'])}, transports {cell(', '.join(data['transports']))})",
        "",
        "| Revision | " + " | ".join(OUTCOMES) + " | MUST pass rate |",
        "|---|" + "---:|" * (len(OUTCOMES) + 1),
    ]
    for rev, totals in data["totals"].items():
        if rev == "all" or any(totals.get(o) for o in OUTCOMES):
            counts = " | ".join(str(totals.get(o, 0)) for o in OUTCOMES)  # an older report lacks some
            lines.append(f"| {cell(rev)} | {counts} | {rate_text(totals['mustPassRate'])} |")
    return "\n".join([*lines, "", *not_judged(data), *baseline(data), *problems(data), *failures(data)]) + "\n"


def not_judged(data: dict) -> list[str]:
    """The BLOCKED and INTERNAL counts, said in words."""
    blocked, internal = (sum(1 for c in data["checks"] if c["outcome"] == o) for o in ("BLOCKED", "INTERNAL"))
    lines = [f"**{plural(internal, 'INTERNAL error')} of the suite.** {SUITE_BUG}", ""] if internal else []
    if blocked:
        lines += [f"{plural(blocked, 'check')} BLOCKED: not judged, because of what another check judges.", ""]
    return lines


def problems(data: dict) -> list[str]:
    found = problems_of(data)
    if not found:
        return []
    failed = sum(1 for c in data["checks"] if c["outcome"] == "FAIL")
    names = {c["id"]: c["name"] for c in data["checks"]}
    items = [
        f"- <code>{cell(p['signature'])}</code> ({cell(', '.join(p['revisions']))}): "
        + cell(", ".join(names.get(i, i) for i in p["checks"]))
        for p in found
    ]
    return [f"### {problem_count(len(found), failed)}", "", *items, ""]


def baseline(data: dict) -> list[str]:
    judged = data.get("baseline")
    if not judged or not judged["stale"]:
        return []
    return [
        "### Stale expected failures (these now pass: remove them from the baseline)",
        "",
        *(f"- `{cell(entry).replace('`', '')}`" for entry in judged["stale"]),
        "",
    ]


def failures(data: dict) -> list[str]:
    failed = [c for c in data["checks"] if c["outcome"] == "FAIL"]
    if not failed:
        return ["No failures."]
    lines = [f"### Failures ({len(failed)})", ""]
    for c in failed:
        expected = " (expected failure, baseline)" if c["expectedFailure"] else ""
        reason = c["reason"] if len(c["reason"]) <= MAX_REASON else c["reason"][:MAX_REASON] + " ..."
        lines += [
            f"<details><summary><b>{escape(c['name'])}</b> {escape(', '.join(c['requirements']))}{expected}</summary>",
            "",
            f"<pre>{escape(reason, quote=False)}</pre>",
            "",
            "</details>",
            "",
        ]
    return lines
