"""Results of a run, collected from pytest's test reports into the report.json data.

Only plain report data is used (user_properties, mcp_detail, longrepr), so the same code
works in a single process and on the xdist controller.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from typing import Any

import conformance
from conformance.checks import problems

from . import OUTCOMES
from .format import FORMAT, FORMAT_VERSION

RAN = ("PASS", "WARN", "INFO")  # the check ran and no MUST broke
GRADED = (*RAN, "FAIL")  # the check judged its requirement (BLOCKED and INTERNAL did not)
# The worst outcome of a requirement is the highest. BLOCKED sits just above SKIP: it judged
# nothing either, but says what stood in the way, so any check that did judge the requirement
# outranks it. INTERNAL tops FAIL: a bug of the suite leaves the requirement's verdict unknown
# (a FAIL beside it may come from the same bug), and the requirements table must not hide that.
SEVERITY = {"SKIP": 0, "BLOCKED": 1, "PASS": 2, "INFO": 3, "WARN": 4, "FAIL": 5, "INTERNAL": 6}
BASELINE_PROPERTY = "mcp_baseline"


@cache
def requirement_info(requirement_id: str) -> dict | None:
    """Level, summary and URL of a requirement from conformance.catalogue, or None while
    the catalogue is not there (the single place to wire it)."""
    try:
        entry = importlib.import_module("conformance.catalogue").get(requirement_id)
    except Exception:  # not written yet, or another API: reports just lack the details
        return None
    if entry is None:
        return None
    get = entry.get if isinstance(entry, dict) else lambda key: getattr(entry, key, None)
    info = {key: get(key) for key in ("level", "summary", "url")}
    return {k: str(v) for k, v in info.items() if v is not None} or None


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def anchor(area: str, name: str) -> str:
    """A stable HTML id for a check: the same check has the same anchor in every report."""
    return "check-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{area}-{name}").strip("-")


def _skip_reason(longrepr: Any) -> str:
    if isinstance(longrepr, (tuple, list)) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")


def _failure_text(report: Any) -> str:
    # str(), not longreprtext: under xdist that adds a "[gw0] linux -- Python" line.
    return str(report.longrepr or "")


def _owner_named_in(reason: str) -> str | None:
    """The owner check a BLOCKED reason names: "<reason> (judged by <owner>)"."""
    found = re.search(r"\(judged by ([^()]+)\)\s*$", reason)
    return found.group(1).strip() if found else None


@dataclass
class Check:
    id: str
    name: str
    area: str
    revision: str
    requirements: list[str]
    scenarios: list[str] = field(default_factory=list)  # client leg: the scenarios it judges
    outcome: str | None = None
    reason: str = ""
    baseline_entry: str | None = None
    duration: float = 0.0
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)  # root causes of a FAIL (none: a problem of its own)
    blocked_by: str | None = None  # the owner check (test name) of a BLOCKED check

    @classmethod
    def from_report(cls, report: Any, props: dict) -> Check:
        name = report.nodeid.rsplit("::", 1)[-1]
        requirements = props.get("mcp_requirements") or []
        return cls(
            id=report.nodeid,
            name=name,
            area=str(props.get("mcp_area", "other")),
            revision=str(props.get("mcp_revision", "any")),
            requirements=[str(r) for r in requirements],
            scenarios=[str(s) for s in props.get("mcp_scenarios") or []],
        )

    @property
    def test(self) -> str:
        return self.name.split("[", 1)[0]

    def add(self, report: Any, props: dict) -> None:
        """Fold one phase (setup, call, teardown) into the outcome: the first failure wins."""
        self.duration += float(getattr(report, "duration", 0.0) or 0.0)
        detail = getattr(report, "mcp_detail", None)
        if isinstance(detail, dict):
            self.warnings = list(detail.get("warnings") or [])
            self.infos = list(detail.get("infos") or [])
            self.messages = list(detail.get("messages") or [])
            self.signatures = [str(s) for s in detail.get("signatures") or [] if str(s)]
            self.blocked_by = None if detail.get("blocked_by") is None else str(detail["blocked_by"])
        if self.outcome in ("FAIL", "INTERNAL"):
            return
        graded = props.get("mcp_outcome")
        if report.failed and graded == "internal":
            self.outcome, self.reason = "INTERNAL", _failure_text(report)
        elif report.failed:
            self.outcome, self.reason = "FAIL", _failure_text(report)
        elif props.get(BASELINE_PROPERTY):
            self.outcome, self.reason = "FAIL", _failure_text(report)
            self.baseline_entry = str(props[BASELINE_PROPERTY])
        elif report.skipped and graded == "blocked":
            self.outcome, self.reason = "BLOCKED", _skip_reason(report.longrepr).removeprefix("Blocked: ")
            self.blocked_by = self.blocked_by or _owner_named_in(self.reason)
        elif report.skipped:
            self.outcome, self.reason = "SKIP", _skip_reason(report.longrepr)
        elif report.when == "call":
            self.outcome = {"warned": "WARN", "informational": "INFO"}.get(graded, "PASS")
            self.reason = "\n".join(self.warnings if graded == "warned" else self.infos if graded else [])

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "test": self.test,
            "area": self.area,
            "revision": self.revision,
            "requirements": self.requirements,
            "outcome": self.outcome,
            "expectedFailure": self.baseline_entry is not None,
            "baselineEntry": self.baseline_entry,
            "reason": self.reason,
            "warnings": self.warnings,
            "infos": self.infos,
            "duration": round(self.duration, 4),
            "anchor": anchor(self.area, self.name),
            "messages": self.messages,
            "signatures": self.signatures,
            "blockedBy": self.blocked_by,
            **({"scenarios": self.scenarios} if self.scenarios else {}),
        }


def totals(checks: list[dict]) -> dict:
    """Counts per outcome, expected failures, distinct problems among the FAILs, and the
    MUST pass rate: of the checks graded, the share in which no MUST broke (a WARN or INFO
    still kept every MUST; SKIP, BLOCKED and INTERNAL were not graded)."""
    counts = Counter(c["outcome"] for c in checks)
    ran = sum(counts[o] for o in RAN)
    graded = sum(counts[o] for o in GRADED)
    return {
        **{o: counts[o] for o in OUTCOMES},
        "expectedFailures": sum(1 for c in checks if c.get("expectedFailure")),
        "problems": len(failure_problems(checks)),
        "mustPassRate": round(100.0 * ran / graded, 1) if graded else None,
    }


def failure_problems(checks: list[dict]) -> list[dict]:
    """The distinct problems behind the FAIL checks (conformance.checks.problems), the one
    failing the most checks first: its signature, the ids of those checks and their revisions.
    A check of an older report.json (no signatures) is a problem of its own."""
    failed = {c["id"]: c for c in checks if c["outcome"] == "FAIL"}
    grouped = problems((c["id"], c.get("signatures") or []) for c in failed.values())
    found = [
        {"signature": signature, "checks": ids, "revisions": sorted({failed[i]["revision"] for i in ids})}
        for signature, ids in grouped.items()
    ]
    return sorted(found, key=lambda problem: -len(problem["checks"]))


def requirement_rows(checks: list[dict]) -> list[dict]:
    """One row per requirement ID: its worst outcome per revision, and the check showing it."""
    rows: dict[str, dict] = {}
    for check in checks:
        for rid in check["requirements"]:
            row = rows.setdefault(rid, {"id": rid, **(requirement_info(rid) or {}), "revisions": {}})
            cell = row["revisions"].get(check["revision"])
            if cell is None or SEVERITY[check["outcome"]] > SEVERITY[cell["outcome"]]:
                row["revisions"][check["revision"]] = {
                    "outcome": check["outcome"],
                    "anchor": check["anchor"],
                    "expectedFailure": check["expectedFailure"],
                }
    return [rows[k] for k in sorted(rows)]


def badge_revision(data: dict) -> str | None:
    """The newest revision the implementation was graded on (any check that judged its requirement)."""
    graded = {c["revision"] for c in data["checks"] if c["outcome"] in GRADED and c["revision"] != "any"}
    candidates = sorted(graded) or sorted(data.get("revisions") or [])
    return candidates[-1] if candidates else None


def badge_totals(data: dict) -> tuple[str | None, dict]:
    """The badge's revision and the totals behind it: that revision's checks plus the
    revision-independent ones (which include whether the server starts at all)."""
    revision = badge_revision(data)
    return revision, totals([c for c in data["checks"] if c["revision"] in (revision, "any")])


def grade_label(data: dict, revision: str | None) -> str:
    """What the grade is of: "MCP <revision>" for a server, "MCP client" for a client
    (client checks are not tied to a revision)."""
    return "MCP client" if data.get("role") == "client" else f"MCP {revision or 'n/a'}"


def _implementation(server_info: Any, client_info: Any = None, role: str = "server") -> dict:
    """Name and version from serverInfo (clientInfo for a client), whatever the
    implementation sent."""
    sent = client_info if role == "client" else server_info
    info = sent if isinstance(sent, dict) else {}
    name, version = info.get("name"), info.get("version")
    found = {
        "name": None if name is None else str(name),
        "version": None if version is None else str(version),
        "serverInfo": server_info,
    }
    return {**found, "clientInfo": client_info} if role == "client" else found


@dataclass
class Results:
    """Collects check results on the process that sees every report (xdist controller)."""

    command: str | None = None
    started_at: str = field(default_factory=now)
    options: dict = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    server_info: Any = None
    role: str = "server"  # or "client": the run tests an MCP client (--mcp-client)
    transports: list[str] = field(default_factory=lambda: ["stdio"])
    client_info: Any = None

    def add(self, report: Any) -> None:
        props = dict(report.user_properties)
        if "mcp_revision" not in props:
            return  # not a conformance check (the main plugin tags every check at setup)
        if report.nodeid not in self.checks:
            self.checks[report.nodeid] = Check.from_report(report, props)
        self.checks[report.nodeid].add(report, props)
        detail = getattr(report, "mcp_detail", None)
        if self.server_info is None and isinstance(detail, dict):
            self.server_info = detail.get("server_info")
        if self.client_info is None and isinstance(detail, dict):
            self.client_info = detail.get("client_info")

    def to_json(self) -> dict:
        """The report.json data (its baseline judgement, if any, is filled in by the plugin)."""
        ran = sorted(
            (c for c in self.checks.values() if c.outcome is not None),
            key=lambda c: (c.area, c.test, c.revision, c.name),
        )  # xdist delivers in any order
        checks = [c.as_json() for c in ran]
        revisions = sorted({c["revision"] for c in checks} - {"any"})
        return {
            "format": FORMAT,
            "formatVersion": FORMAT_VERSION,
            "suite": {"name": "mcp-conformance", "version": conformance.__version__},
            "implementation": _implementation(self.server_info, self.client_info, self.role),
            "role": self.role,
            "command": self.command,
            "transports": self.transports,
            "revisions": revisions,
            "startedAt": self.started_at,
            "finishedAt": now(),
            "options": self.options,
            "totals": {rev: totals([c for c in checks if c["revision"] == rev]) for rev in [*revisions, "any"]}
            | {"all": totals(checks)},
            "requirements": requirement_rows(checks),
            "problems": failure_problems(checks),
            "checks": checks,
            "baseline": None,
        }
