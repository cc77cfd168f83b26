"""The report.json format, modelled once (pydantic): what the writer writes must pass these
models, the readers (the matrix page) load through them, and the shipped
report.schema.json is generated from them:

    python -m conformance.report.format > conformance/report/report.schema.json

(tests/test_report.py fails when the committed schema and the models differ.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

FORMAT = "mcp-conformance-report"
FORMAT_VERSION = 1
SCHEMA_ID = "urn:mcp-conformance:report.schema.json"

Revision = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
RevisionOrAny = Annotated[str, Field(pattern=r"^([0-9]{4}-[0-9]{2}-[0-9]{2}|any)$")]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Count = Annotated[int, Field(ge=0)]
Entry = Annotated[str, Field(min_length=1)]
Anchor = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_.-]+$", description="The check's id in report.html (the same in every report).")
]
Outcome = Annotated[
    Literal["PASS", "WARN", "INFO", "SKIP", "BLOCKED", "FAIL", "INTERNAL"],
    Field(
        description="PASS; WARN: a SHOULD missed; INFO: behaviour the spec leaves open; SKIP: not applicable; "
        "BLOCKED: not judged, because of something another check judges (blockedBy); FAIL: a MUST broken; "
        "INTERNAL: not judged, the suite itself raised an error (a bug of mcp-conformance, not of the "
        "implementation)."
    ),
]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Suite(Closed):
    name: Literal["mcp-conformance"]
    version: str


class Implementation(Closed):
    """Name and version as the implementation's serverInfo (a client's clientInfo, in a
    client report) gave them (null if it never said), and serverInfo and clientInfo
    themselves, unaltered."""

    name: str | None
    version: str | None
    serverInfo: Any = Field(
        description="Whatever the implementation sent; not necessarily an object. Null in a client report."
    )
    clientInfo: Any = Field(
        None,
        description="Client reports only: the clientInfo the client sent (initialize, or the modern era's _meta); "
        "not necessarily an object.",
    )


class Options(BaseModel):
    model_config = ConfigDict(extra="allow")

    strict: bool | None = None
    timeout: float | None = None
    transcripts: Literal["all", "failures"] | None = Field(
        None,
        description="Whose wire transcripts the report keeps: every check's, or only of checks that did not pass "
        "or skip.",
    )


class Totals(Closed):
    PASS: Count
    WARN: Count
    INFO: Count
    SKIP: Count
    FAIL: Count
    BLOCKED: Count | None = Field(None, description="Absent in older reports.")
    INTERNAL: Count | None = Field(None, description="Absent in older reports.")
    expectedFailures: Count = Field(description="FAILs listed in the baseline (included in FAIL).")
    problems: Count | None = Field(
        None, description="Distinct problems among the FAILs (see problems); absent in older reports."
    )
    mustPassRate: Annotated[float, Field(ge=0, le=100)] | None = Field(
        description="Percentage of the graded checks (PASS, WARN, INFO, FAIL: not SKIP, BLOCKED or INTERNAL) in "
        "which no MUST broke; null if none was graded."
    )


class Cell(Closed):
    outcome: Outcome
    anchor: Anchor
    expectedFailure: bool


class Requirement(Closed):
    id: str
    level: str | None = None
    summary: str | None = None
    url: str | None = None
    revisions: dict[str, Cell]


class Problem(Closed):
    signature: Entry
    checks: list[str] = Field(min_length=1, description="The ids of the checks it failed.")
    revisions: list[RevisionOrAny]


class Message(BaseModel):
    """One message on the wire, as the check saw it."""

    t: float = Field(description="Seconds since the connection started.")
    direction: Literal["->", "<-"]
    data: str = Field(description="The raw line (decoded as UTF-8, truncated if huge).")
    notes: list[str] | None = None
    connection: str | None = None


# An expected failure is a FAIL that the baseline names.
EXPECTED_IS_LISTED_FAIL = {
    "if": {"properties": {"expectedFailure": {"const": True}}},
    "then": {"properties": {"outcome": {"const": "FAIL"}, "baselineEntry": {"type": "string"}}},
}


class Check(Closed):
    model_config = ConfigDict(json_schema_extra=EXPECTED_IS_LISTED_FAIL)  # extra="forbid" from Closed

    id: str = Field(description="The pytest node id.")
    name: str = Field(description="The test name with its parameters, e.g. test_ping[2025-11-25].")
    test: str = Field(description="The test name without parameters.")
    area: str = Field(description="The scenario module (spec area).")
    scenarios: list[str] | None = Field(
        None,
        description="Client leg: the scenarios whose runs the check judged (the official suite's names where it has "
        "them); an expected-failures entry naming one covers the check.",
    )
    revision: RevisionOrAny
    requirements: list[str]
    outcome: Outcome
    expectedFailure: bool = Field(description="A FAIL listed in the baseline: it did not fail the run.")
    baselineEntry: str | None
    reason: str = Field(
        description="FAIL: what was expected and what happened; SKIP and BLOCKED: why; INTERNAL: the suite's error; "
        "WARN/INFO: the notes."
    )
    warnings: list[str]
    infos: list[str]
    duration: float = Field(ge=0, description="Seconds (setup, call and teardown).")
    anchor: Anchor
    messages: list[Message]
    signatures: list[Entry] | None = Field(
        None, description="FAIL: its root-cause signatures (none: a problem of its own). Absent in older reports."
    )
    blockedBy: str | None = Field(
        None,
        description="BLOCKED: the test name of the check that judges what stood in the way (null if not known). "
        "Absent in older reports.",
    )

    @model_validator(mode="after")
    def expected_failure_is_a_listed_fail(self) -> Check:
        if self.expectedFailure and (self.outcome != "FAIL" or self.baselineEntry is None):
            raise ValueError("expectedFailure is true, but the check is no FAIL with a baselineEntry")
        return self


class Baseline(Closed):
    file: str
    server: list[Entry]
    client: list[Entry]
    expected: list[Entry] = Field(description="Entries whose checks still fail.")
    stale: list[Entry] = Field(description="Entries whose checks now pass: they fail the run.")
    unexercised: list[Entry] = Field(description="Entries naming no check that ran.")


class Report(Closed):
    """The result of one run of mcp-conformance against one implementation (report.json,
    written by --mcp-report)."""

    model_config = ConfigDict(title="MCP conformance report")  # extra="forbid" from Closed

    format: Literal["mcp-conformance-report"]
    formatVersion: Literal[1]
    suite: Suite
    implementation: Implementation
    role: Literal["server", "client"] = Field(
        description="What was tested: a server, or a client (--mcp-client; the suite played the server)."
    )
    command: str | None = Field(description="The command that started the implementation under test.")
    transports: list[Literal["stdio", "streamable-http", "http+sse"]]
    revisions: list[Revision] = Field(
        description='Protocol revisions tested (checks not tied to a revision have revision "any").'
    )
    startedAt: Timestamp
    finishedAt: Timestamp
    options: Options
    totals: dict[str, Totals] = Field(
        description='Counts per revision, plus "any" (revision-independent checks) and "all".'
    )
    requirements: list[Requirement] = Field(
        description="Every requirement ID a check verified, with its worst outcome per revision."
    )
    problems: list[Problem] | None = Field(
        None,
        description="The distinct problems behind the FAIL checks, the one failing the most checks first: checks "
        "failing with one root-cause signature are one problem; a FAIL without a signature is a problem of its "
        "own, named by its check id. Absent in reports written before signatures existed.",
    )
    checks: list[Check]
    baseline: Baseline | None = Field(
        description="The expected-failures file applied (--mcp-expected-failures), or null."
    )


class ReportError(ValueError):
    """A file that is not a report.json of this format; the message names the field."""


def dump(data: dict) -> dict:
    """The report data, once the models accept it (ValidationError: a bug of the writer).
    The data itself is what is written: an implementation's strings may hold lone
    surrogates, which pydantic refuses and the writer escapes, so the models see a copy
    with each replaced."""
    Report.model_validate(_without_surrogates(data))
    return data


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(v) for v in value]
    return value


def load(path: str | Path) -> dict:
    """A report.json read through the models (ReportError: not one, and where)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ReportError(f"{path}: cannot read it: {exc.strerror or exc}") from exc
    try:
        return Report.model_validate_json(text).model_dump(mode="json", exclude_unset=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the document"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        why = f"{where}: {first['msg']}{more}"
        raise ReportError(f"{path}: not a report.json of {FORMAT} {FORMAT_VERSION}: {why}") from exc


def schema() -> dict:
    """The JSON Schema of report.json, generated from the models."""
    generated = Report.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **generated}


if __name__ == "__main__":
    json.dump(schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
