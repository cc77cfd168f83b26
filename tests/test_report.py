"""Reports (--mcp-report), expected-failure baselines (--mcp-expected-failures), JUnit
properties and the matrix page.

The end-to-end tests run the suite as a user does, in a subprocess from an empty directory,
against the reference server with a fault switched on; the unit tests build the report data
from crafted pytest reports (including hostile implementation strings).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from conformance.report import badge, html_report, markdown, matrix, model, output
from conformance.report.baseline import Baseline, BaselineError, matches, parse

REFERENCE = f"{sys.executable} -m conformance.reference.server"
REVISION = ("--mcp-version", "2025-11-25")  # one revision is enough here, and quicker
HOSTILE = "<script>document.title='PWNED'</script><img src=x onerror=\"document.title='PWNED'\">\"'>|`"
REPORT_FILES = {"report.json", "report.html", "summary.md", "badge.svg", "badge.json"}


# -- running the suite ---------------------------------------------------------------------------
@dataclass
class Run:
    returncode: int
    output: str
    directory: Path

    @property
    def report(self) -> dict:
        return json.loads((self.directory / "out" / "report.json").read_text())

    def file(self, name: str) -> str:
        return (self.directory / "out" / name).read_text(encoding="utf-8")

    def check(self, name: str) -> dict:
        found = [c for c in self.report["checks"] if c["name"] == name]
        assert len(found) == 1, f"{len(found)} checks named {name}: {self.output[-3000:]}"
        return found[0]


def run_suite(
    directory: Path, server: str, *args: str, baseline: str | None = None, option: str = "--mcp-server"
) -> Run:
    """`pytest --mcp-server server --mcp-report out *args` from an empty directory (with
    option="--mcp-client", `server` is the client command)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pytest.ini").write_text("[pytest]\n")  # keeps any configuration above out
    if baseline is not None:
        (directory / "baseline.yml").write_text(baseline)
        args = (*args, "--mcp-expected-failures", "baseline.yml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}  # not an xdist worker's
    command = [
        sys.executable,
        "-m",
        "pytest",
        option,
        server,
        "--mcp-report",
        "out",
        "-p",
        "no:cacheprovider",
        "-q",
        "--junitxml=junit.xml",
        *args,
    ]
    done = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True, timeout=180)
    return Run(done.returncode, done.stdout + done.stderr, directory)


def run_once(tmp_path_factory, name: str, server: str, *args: str, baseline: str | None = None) -> Run:
    """run_suite, once per test session even under xdist: the first worker to claim the
    directory runs it, the others wait for its result (their temp dirs share a parent)."""
    root = tmp_path_factory.getbasetemp()
    root = root.parent if "PYTEST_XDIST_WORKER" in os.environ else root
    directory, done = root / name, root / f"{name}.json"
    try:
        directory.mkdir()
    except FileExistsError:
        deadline = time.monotonic() + 300
        while not done.exists():
            assert time.monotonic() < deadline, f"another worker never finished the run in {directory}"
            time.sleep(0.1)
        result = json.loads(done.read_text())
        return Run(result["returncode"], result["output"], directory)
    run = Run(-1, "the run raised an exception on another worker", directory)
    try:
        run = run_suite(directory, server, *args, baseline=baseline)
    finally:
        done.write_text(json.dumps({"returncode": run.returncode, "output": run.output}))
    return run


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> Run:
    """ping answered with an error (ping and response-envelope checks FAIL), under xdist."""
    return run_once(tmp_path_factory, "faulty", f"{REFERENCE} --fault ping-error", *REVISION, "-n", "2")


@pytest.fixture(scope="module")
def baselined(tmp_path_factory) -> Run:
    """The same fault, with its failures listed as expected."""
    baseline = (
        "# known failures\nserver:\n  - ping-001   # a requirement ID\n"
        "  - 'messages:test_response_envelope'\nclient:\n  - initialize\n"
    )
    return run_once(
        tmp_path_factory,
        "baselined",
        f"{REFERENCE} --fault ping-error",
        *REVISION,
        "-k",
        "ping or envelope or initialize",
        baseline=baseline,
    )


def schema() -> dict:
    return json.loads(resources.files("conformance.report").joinpath("report.schema.json").read_text())


def validate(data: dict) -> None:
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(data)


# -- report files from a real run ------------------------------------------------------------------
def test_run_writes_every_report_file(faulty):
    assert faulty.returncode == 1, faulty.output
    assert {p.name for p in (faulty.directory / "out").iterdir()} == REPORT_FILES
    assert "MCP conformance report: " in faulty.output


def test_report_keeps_only_failure_transcripts_when_told(tmp_path):
    """--mcp-report-transcripts failures: a passing check carries no transcript, a failing
    one keeps the transcript that proves it (the default keeps every one: test above)."""
    run = run_suite(
        tmp_path,
        f"{REFERENCE} --fault ping-error",
        *REVISION,
        "-k",
        "ping or initialize",
        "--mcp-report-transcripts",
        "failures",
    )
    validate(run.report)
    assert run.report["options"]["transcripts"] == "failures"
    passed = [c for c in run.report["checks"] if c["outcome"] == "PASS"]
    assert passed and not any(c["messages"] for c in passed)
    assert any('"ping"' in m["data"] for m in run.check("test_ping[2025-11-25]")["messages"])


def test_client_run_writes_a_client_report(tmp_path):
    """--mcp-client with --mcp-report: role client, the client's clientInfo and transport,
    and the baseline's `client:` list applied (its `server:` list is not)."""
    client = f"{sys.executable} -m conformance.reference.client --fault answers-ping-wrong"
    run = run_suite(
        tmp_path,
        client,
        "-k",
        "ping",
        option="--mcp-client",
        baseline="server:\n  - test_answers_ping\nclient:\n  - ping-001\n",
    )
    assert run.returncode == 0, run.output
    data = run.report
    validate(data)
    assert (data["role"], data["command"], data["transports"]) == ("client", client, ["streamable-http"])
    assert data["implementation"]["name"] == "mcp-conformance-reference-client"
    assert data["implementation"]["clientInfo"]["name"] == "mcp-conformance-reference-client"
    ping = run.check("test_answers_ping")
    assert (ping["outcome"], ping["area"], ping["expectedFailure"]) == ("FAIL", "server_requests", True)
    assert data["baseline"]["expected"] == ["ping-001"]
    assert "MCP client conformance" in run.file("summary.md") and "MCP client conformance" in run.file("report.html")
    assert json.loads(run.file("badge.json"))["label"] == "MCP client"


def test_report_json_is_valid_and_complete(faulty):
    jsonschema.Draft202012Validator.check_schema(schema())
    data = faulty.report
    validate(data)
    assert data["implementation"]["name"] == "mcp-conformance-reference"
    assert data["command"] == f"{REFERENCE} --fault ping-error"
    assert data["revisions"] == ["2025-11-25"] and data["transports"] == ["stdio"]
    ping = faulty.check("test_ping[2025-11-25]")
    assert (ping["outcome"], ping["area"], ping["test"]) == ("FAIL", "ping", "test_ping")
    assert ping["requirements"] == ["ping-001"]
    assert "What happened: " in ping["reason"] and "[gw" not in ping["reason"]
    assert any('"ping"' in m["data"] for m in ping["messages"]), "the transcript crossed xdist"
    assert data["options"]["transcripts"] == "all" and any(
        c["messages"] for c in data["checks"] if c["outcome"] == "PASS"
    )
    assert data["totals"]["2025-11-25"]["FAIL"] >= 2 and data["totals"]["2025-11-25"]["PASS"] > 5
    failed = {c["id"] for c in data["checks"] if c["outcome"] == "FAIL"}
    assert {i for problem in data["problems"] for i in problem["checks"]} == failed  # every failure, grouped
    assert data["totals"]["all"]["problems"] == len(data["problems"]) <= len(failed)


def test_xdist_controller_merges_one_report(faulty):
    """Both workers' checks are in the single report the controller wrote."""
    junit_cases = list(ET.parse(faulty.directory / "junit.xml").getroot().iter("testcase"))
    assert len(faulty.report["checks"]) == len(junit_cases) > 20


def test_outcomes_cover_pass_warn_skip_fail(faulty):
    outcomes = {c["outcome"] for c in faulty.report["checks"]}
    assert {"PASS", "SKIP", "FAIL"} <= outcomes
    skipped = faulty.check("test_batch_supported[2025-11-25]")
    assert skipped["outcome"] == "SKIP" and "2025-03-26" in skipped["reason"]


def test_html_report(faulty):
    page = faulty.file("report.html")
    assert page.startswith("<!DOCTYPE html>") and '<table id="summary">' in page
    assert "<script" not in page and "http://" not in page and 'src="' not in page  # self-contained
    assert 'id="requirements"' in page and "ping-001" in page
    anchor = faulty.check("test_ping[2025-11-25]")["anchor"]
    assert f'id="{anchor}"' in page and f'href="#{anchor}"' in page
    assert "What happened" in page and "Wire transcript" in page and "ping is not supported" in page
    assert page.index("<h2>Problems</h2>") < page.index("<h2>Failures") < page.index("<h2>All checks</h2>")


def test_summary_markdown(faulty):
    summary = faulty.file("summary.md")
    assert "| Revision | PASS | WARN | INFO | SKIP | BLOCKED | FAIL | INTERNAL | MUST pass rate |" in summary
    assert " distinct problem" in summary and " failed checks" in summary
    assert "| 2025-11-25 |" in summary and "### Failures" in summary and "test_ping[2025-11-25]" in summary


def test_badges(faulty):
    endpoint = json.loads(faulty.file("badge.json"))
    assert set(endpoint) == {"schemaVersion", "label", "message", "color"} and endpoint["schemaVersion"] == 1
    assert endpoint["label"] == "MCP 2025-11-25" and endpoint["message"].endswith("%")
    assert endpoint["color"] in badge.COLOURS and endpoint["color"] not in ("brightgreen", "lightgrey")
    svg = ET.fromstring(faulty.file("badge.svg"))
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "MCP 2025-11-25" in texts and endpoint["message"] in texts


def test_junit_carries_requirements_and_revision(faulty):
    cases = {c.get("name"): c for c in ET.parse(faulty.directory / "junit.xml").getroot().iter("testcase")}
    properties = {p.get("name"): p.get("value") for p in cases["test_ping[2025-11-25]"].iter("property")}
    assert properties["mcp_revision"] == "2025-11-25" and properties["mcp_area"] == "ping"
    assert "ping-001" in properties["mcp_requirements"]
    lifecycle = {p.get("name"): p.get("value") for p in cases["test_server_answers_initialize"].iter("property")}
    assert lifecycle["mcp_revision"] == "any" and "lifecycle-001" in lifecycle["mcp_requirements"]


# -- expected-failure baselines -----------------------------------------------------------------------
def test_expected_failures_do_not_fail_the_run(baselined):
    assert baselined.returncode == 0, baselined.output
    assert "xfailed" in baselined.output and "STALE" not in baselined.output
    data = baselined.report
    validate(data)
    ping = baselined.check("test_ping[2025-11-25]")
    assert (ping["outcome"], ping["expectedFailure"], ping["baselineEntry"]) == ("FAIL", True, "ping-001")
    assert baselined.check("test_response_envelope[2025-11-25]")["expectedFailure"]
    assert data["baseline"]["stale"] == [] and data["baseline"]["client"] == ["initialize"]
    assert data["totals"]["2025-11-25"]["expectedFailures"] == 2 and data["baseline"]["expected"] == [
        "ping-001",
        "messages:test_response_envelope",
    ]
    assert "FAIL*" in baselined.file("report.html") and "expected failure" in baselined.file("summary.md")


def test_expected_failures_in_junit_are_xfailed(baselined):
    cases = {c.get("name"): c for c in ET.parse(baselined.directory / "junit.xml").getroot().iter("testcase")}
    skipped = cases["test_ping[2025-11-25]"].find("skipped")
    assert skipped is not None and skipped.get("type") == "pytest.xfail"
    assert skipped.get("message") == "expected failure (baseline)"


def test_stale_entries_fail_the_run(tmp_path):
    run = run_suite(
        tmp_path,
        REFERENCE,
        "--mcp-version",
        "2025-11-25",
        "-k",
        "ping",
        baseline="server:\n  - ping-001\n  - no_such_check\nclient: []\n",
    )
    assert run.returncode == 1, run.output
    assert "STALE: ping-001" in run.output and "not exercised: no_such_check" in run.output
    assert run.report["baseline"]["stale"] == ["ping-001"]
    assert "Stale expected failures" in run.file("summary.md")


def test_unreadable_baseline_is_a_usage_error(tmp_path):
    run = run_suite(tmp_path, REFERENCE, baseline="servers:\n  - test_ping\n")
    assert run.returncode == 4 and "unknown key 'servers'" in run.output


def test_baseline_parser_reads_the_flat_yaml():
    text = (
        "---\n# comment\nserver:\n  - test_ping  # why\n  - \"messages:test_x\"\n- 'ping-001'\n"
        "  - a#b\nclient: [one, 'two']\n"
    )
    assert parse(text) == {"server": ["test_ping", "messages:test_x", "ping-001", "a#b"], "client": ["one", "two"]}
    assert parse("server: []\n") == {"server": []}
    for bad in ("- test_ping\n", "other:\n  - x\n", "server:\n  just text\n", "server:\n  -\n", "server: x\n"):
        with pytest.raises(BaselineError):
            parse(bad)


@pytest.mark.parametrize(
    "entry, expected",
    [
        ("test_ping", True),
        ("test_ping[2025-11-25]", True),
        ("test_ping[2025-06-18]", False),
        ("ping-001", True),
        ("ping", True),
        ("ping:test_ping", True),
        ("ping:test_ping[2025-11-25]", True),
        ("messages:test_ping", False),
        ("test_pin", False),
        ("ping-002", False),
    ],
)
def test_baseline_entry_forms(entry, expected):
    assert matches(entry, "test_ping[2025-11-25]", "ping", ["ping-001"]) is expected


def test_baseline_judgement():
    checks = [{"name": "test_a[r]", "area": "x", "requirements": ["x-1"], "outcome": o} for o in ("FAIL",)]
    checks += [
        {"name": "test_b[r]", "area": "y", "requirements": ["y-1"], "outcome": "WARN"},
        {"name": "test_c[r]", "area": "y", "requirements": ["y-2"], "outcome": "SKIP"},
    ]
    checks += [{"name": "test_d[r]", "area": "z", "requirements": [], "outcome": o} for o in ("BLOCKED", "INTERNAL")]
    judged = Baseline("b.yml", ["test_a", "y-1", "test_c", "zzz", "x", "test_d"]).judge(checks)
    assert judged["expected"] == ["test_a", "x"] and judged["stale"] == ["y-1"]
    assert judged["unexercised"] == ["test_c", "zzz", "test_d"]  # BLOCKED and INTERNAL judged nothing


def test_baseline_never_expects_an_internal_error():
    """A listed check that fails is xfailed; one that hit a bug of the suite stays failed."""
    from conformance.report import plugin

    stash = pytest.Stash()
    stash[plugin.BASELINE_KEY] = Baseline("b.yml", ["test_ping"])
    item = type("Item", (), {"name": "test_ping[2025-11-25]", "config": type("Config", (), {"stash": stash})})

    def after_hook(report):
        hook = plugin.pytest_runtest_makereport(item, None)
        next(hook)
        with pytest.raises(StopIteration) as done:
            hook.send(report)
        return done.value.value

    assert after_hook(phase("test_ping", "call", "failed", longrepr="x")).outcome == "skipped"
    internal = phase("test_ping", "call", "failed", longrepr="INTERNAL ERROR", props=[("mcp_outcome", "internal")])
    assert after_hook(internal).outcome == "failed"


# -- report data from crafted reports --------------------------------------------------------------
def phase(
    name: str, when: str, outcome: str, *, longrepr=None, props=(), area="ping", revision="2025-11-25", detail=None
) -> pytest.TestReport:
    user_properties = [("mcp_requirements", ["ping-001"]), ("mcp_revision", revision), ("mcp_area", area), *props]
    report = pytest.TestReport(
        f"{area}.py::{name}[{revision}]",
        (f"{area}.py", 1, name),
        {},
        outcome,
        longrepr,
        when,
        user_properties=user_properties,
    )
    if detail is not None:
        report.mcp_detail = detail
    return report


def crafted(text: str = HOSTILE) -> dict:
    """Report data for one check of each outcome, with `text` wherever the implementation
    has a say: serverInfo, reasons, warnings, transcripts, baseline entries."""
    message = {
        "t": 0.5,
        "direction": "<-",
        "data": json.dumps({"error": {"message": text}}),
        "notes": [text],
        "connection": "stdio",
    }
    detail = {
        "warnings": [text],
        "infos": [text],
        "messages": [message],
        "server_info": {"name": text, "version": text},
        "signatures": [text],
        "blocked_by": None,
    }
    results = model.Results(command=f"server --name {text}")
    for name, outcome, extra in [
        ("test_pass", "passed", {}),
        ("test_fail", "failed", {"longrepr": f"What happened: {text}"}),
        ("test_warn", "passed", {"props": [("mcp_outcome", "warned")]}),
        ("test_info", "passed", {"props": [("mcp_outcome", "informational")]}),
        ("test_xfail", "skipped", {"longrepr": text, "props": [("mcp_baseline", text)]}),
        (
            "test_blocked",
            "skipped",
            {"longrepr": ("x.py", 1, f"Blocked: {text} (judged by x)"), "props": [("mcp_outcome", "blocked")]},
        ),
        ("test_internal", "failed", {"longrepr": f"INTERNAL ERROR {text}", "props": [("mcp_outcome", "internal")]}),
    ]:
        blocked_by = {"blocked_by": text} if name == "test_blocked" else {}
        for report in (
            phase(name, "setup", "passed"),
            phase(name, "call", outcome, detail=detail | blocked_by, **extra),
            phase(name, "teardown", "passed"),
        ):
            results.add(report)
    results.add(phase("test_skip", "setup", "skipped", longrepr=("x.py", 1, f"Skipped: {text}")))
    data = results.to_json()
    data["baseline"] = Baseline("b.yml", [text, "test_pass"]).judge(data["checks"])
    return data


def test_crafted_report_outcomes_and_schema():
    data = crafted()
    validate(data)
    outcomes = {c["test"]: (c["outcome"], c["expectedFailure"]) for c in data["checks"]}
    assert outcomes == {
        "test_pass": ("PASS", False),
        "test_fail": ("FAIL", False),
        "test_warn": ("WARN", False),
        "test_info": ("INFO", False),
        "test_xfail": ("FAIL", True),
        "test_skip": ("SKIP", False),
        "test_blocked": ("BLOCKED", False),
        "test_internal": ("INTERNAL", False),
    }
    assert data["implementation"]["name"] == HOSTILE
    assert data["totals"]["2025-11-25"]["mustPassRate"] == 60.0  # 3 of 5 graded: SKIP, BLOCKED, INTERNAL do not count
    assert [p["signature"] for p in data["problems"]] == [HOSTILE]  # test_fail and test_xfail: one problem
    assert data["baseline"]["stale"] == ["test_pass"]


def test_reports_survive_xdist_serialization():
    """The controller gets reports rebuilt from JSON (lists, not tuples): same result."""
    results = model.Results()
    for report in (
        phase("test_w", "call", "passed", props=[("mcp_outcome", "warned")]),
        phase("test_s", "setup", "skipped", longrepr=("x.py", 1, "Skipped: why")),
        phase(
            "test_b",
            "call",
            "skipped",
            longrepr=("x.py", 1, "Blocked: no answer (judged by test_w)"),
            props=[("mcp_outcome", "blocked")],
            detail={"blocked_by": "test_w"},
        ),
    ):
        rebuilt = pytest.TestReport._from_json(json.loads(json.dumps(report._to_json())))
        results.add(rebuilt)
    assert [(c["test"], c["outcome"], c["reason"], c["blockedBy"]) for c in results.to_json()["checks"]] == [
        ("test_b", "BLOCKED", "no answer (judged by test_w)", "test_w"),
        ("test_s", "SKIP", "why", None),
        ("test_w", "WARN", "", None),
    ]


def test_html_escapes_implementation_strings():
    page = html_report.render(crafted())
    assert "<script" not in page and "<img" not in page and 'onerror="' not in page
    assert "&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;/script&gt;" in page
    assert "Content-Security-Policy" in page


def test_markdown_escapes_implementation_strings():
    summary = markdown.render(crafted())
    assert "<script" not in summary and "<img" not in summary
    assert "&lt;script&gt;" in summary and "\\|" in summary


def test_lone_surrogates_from_the_implementation_are_written(tmp_path):
    output.write(crafted("bad \ud800 name <b>"), tmp_path)
    assert json.loads((tmp_path / "report.json").read_text())["implementation"]["name"] == "bad \ud800 name <b>"
    assert "&lt;b&gt;" in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize(
    "rate, warnings, colour",
    [
        (100.0, 0, "brightgreen"),
        (100.0, 2, "green"),
        (95.0, 0, "yellow"),
        (80.0, 0, "orange"),
        (10.0, 0, "red"),
        (None, 0, "lightgrey"),
    ],
)
def test_badge_grades(rate, warnings, colour):
    assert badge.grade(rate, warnings) == colour


def test_badge_of_a_server_that_never_started():
    """No revision graded: the revision-independent checks (the startup one failing) decide."""
    results = model.Results()
    results.add(phase("test_server_answers_initialize", "call", "failed", longrepr="no answer", revision="any"))
    results.add(phase("test_ping", "setup", "skipped", longrepr=("x", 1, "Skipped: unusable")))
    assert badge.endpoint(results.to_json()) == {
        "schemaVersion": 1,
        "label": "MCP 2025-11-25",
        "message": "0%",
        "color": "red",
    }


def test_requirement_details_are_optional(monkeypatch):
    model.requirement_info.cache_clear()
    monkeypatch.setitem(sys.modules, "conformance.catalogue", None)  # import fails: not written yet
    try:
        assert model.requirement_info("ping-001") is None
        assert model.requirement_rows(crafted()["checks"])[0].keys() == {"id", "revisions"}
    finally:
        model.requirement_info.cache_clear()


# -- BLOCKED, INTERNAL and problems grouped by root cause ------------------------------------------------
SHARED = "ping-001 \u00b7 JSONRPCResponse \u00b7 result \u00b7 ping"


def blocked(name: str, owner: str, when: str = "call", detail: dict | None = None) -> pytest.TestReport:
    reason = f"Blocked: the connection stopped answering (judged by {owner})"
    return phase(name, when, "skipped", longrepr=("x.py", 1, reason), props=[("mcp_outcome", "blocked")], detail=detail)


def root_causes() -> dict:
    """Two checks failing with one signature (in two revisions), one failing with none, two
    BLOCKED (one by a check of this run, one by a check that is not in it), one INTERNAL."""
    results = model.Results()
    for report in [
        phase("test_ping", "call", "failed", longrepr="What happened: error", detail={"signatures": [SHARED]}),
        phase(
            "test_ping_id",
            "call",
            "failed",
            longrepr="What happened: error",
            revision="2025-06-18",
            detail={"signatures": [SHARED]},
        ),
        phase("test_alone", "call", "failed", longrepr="What happened: no", detail={"signatures": []}),
        blocked("test_after", "test_ping", detail={"blocked_by": "test_ping"}),
        blocked("test_elsewhere", "test_wire_schema_valid", when="setup"),  # no mcp_detail at setup
        phase(
            "test_oops", "call", "failed", longrepr="INTERNAL ERROR KeyError: 'x'", props=[("mcp_outcome", "internal")]
        ),
        phase("test_fine", "call", "passed"),
    ]:
        results.add(report)
    return results.to_json()


def by_test(data: dict) -> dict:
    return {c["test"]: c for c in data["checks"]}


def test_blocked_and_internal_outcomes_and_totals():
    data = root_causes()
    validate(data)
    checks = by_test(data)
    assert {t: c["outcome"] for t, c in checks.items()} == {
        "test_ping": "FAIL",
        "test_ping_id": "FAIL",
        "test_alone": "FAIL",
        "test_after": "BLOCKED",
        "test_elsewhere": "BLOCKED",
        "test_oops": "INTERNAL",
        "test_fine": "PASS",
    }
    assert checks["test_after"]["blockedBy"] == "test_ping"
    assert checks["test_elsewhere"]["blockedBy"] == "test_wire_schema_valid"  # read from the reason
    assert checks["test_after"]["reason"] == "the connection stopped answering (judged by test_ping)"
    assert checks["test_oops"]["reason"].startswith("INTERNAL ERROR")
    assert checks["test_ping"]["signatures"] == [SHARED] and checks["test_alone"]["signatures"] == []
    every = data["totals"]["all"]
    assert (every["FAIL"], every["BLOCKED"], every["INTERNAL"], every["PASS"], every["problems"]) == (3, 2, 1, 1, 2)
    assert every["mustPassRate"] == 25.0  # 1 of 4 graded: BLOCKED and INTERNAL are not
    # The requirement's worst outcome in 2025-11-25: INTERNAL (its verdict is unknown).
    assert data["requirements"][0]["revisions"]["2025-11-25"]["outcome"] == "INTERNAL"


def test_failed_checks_with_one_signature_are_one_problem():
    data = root_causes()
    ids = {t: c["id"] for t, c in by_test(data).items()}
    assert data["problems"] == [
        {
            "signature": SHARED,
            "checks": [ids["test_ping"], ids["test_ping_id"]],
            "revisions": ["2025-06-18", "2025-11-25"],
        },
        {"signature": ids["test_alone"], "checks": [ids["test_alone"]], "revisions": ["2025-11-25"]},
    ]


def test_html_shows_problems_blocked_owners_and_suite_errors():
    data = root_causes()
    page = html_report.render(data)
    anchors = {t: c["anchor"] for t, c in by_test(data).items()}
    problems = page[page.index("<h2>Problems</h2>") : page.index("<h2>Requirements</h2>")]
    assert "2 distinct problems in 3 failed checks" in problems
    assert f'href="#{anchors["test_ping"]}"' in problems and f'href="#{anchors["test_ping_id"]}"' in problems
    assert page.index("<h2>Problems</h2>") < page.index("<h2>All checks</h2>")
    assert f'blocked by <a href="#{anchors["test_ping"]}">test_ping[2025-11-25]</a>' in page  # the owner, linked
    assert "blocked by test_wire_schema_valid (not in this report)" in page
    assert page.count('<tr class="row-BLOCKED">') == 2 and page.count('<tr class="row-INTERNAL">') == 1
    assert "<h2>Suite errors (1)</h2>" in page and page.count(html_report.SUITE_BUG) == 2  # section and row
    assert f"Root cause: <code>{html_report.esc(SHARED)}</code>" in page


def test_markdown_counts_problems_blocked_and_internal():
    summary = markdown.render(root_causes())
    assert "### 2 distinct problems in 3 failed checks" in summary
    assert (
        "- <code>ping-001 \u00b7 JSONRPCResponse \u00b7 result \u00b7 ping</code> (2025-06-18, 2025-11-25): "
        "test_ping[2025-11-25], test_ping_id[2025-06-18]" in summary
    )
    assert "**1 INTERNAL error of the suite.**" in summary and "2 checks BLOCKED" in summary
    assert "| all | 1 | 0 | 0 | 0 | 2 | 3 | 1 | 25% |" in summary


def test_badge_of_a_suite_error():
    assert badge.endpoint(root_causes())["message"] == "suite error"
    assert badge.endpoint(root_causes())["color"] == "lightgrey"


def test_badge_counts_no_blocked_check_as_a_pass():
    results = model.Results()
    for report in (
        phase("test_a", "call", "passed"),
        phase("test_b", "call", "failed", longrepr="x"),
        *(blocked(f"test_c{i}", "test_b") for i in range(5)),
    ):
        results.add(report)
    assert badge.endpoint(results.to_json())["message"] == "50%"


def test_badge_of_a_run_where_nothing_was_graded():
    results = model.Results()
    results.add(blocked("test_a", "test_server_answers_initialize", when="setup"))
    results.add(phase("test_b", "setup", "skipped", longrepr=("x", 1, "Skipped: not supported")))
    assert badge.endpoint(results.to_json()) == {
        "schemaVersion": 1,
        "label": "MCP 2025-11-25",
        "message": "not tested",
        "color": "lightgrey",
    }


def older(data: dict) -> dict:
    """`data` as a report.json written before BLOCKED, INTERNAL and signatures existed."""
    old = {k: v for k, v in data.items() if k != "problems"}
    old["checks"] = [
        {k: v for k, v in c.items() if k not in ("signatures", "blockedBy")}
        for c in data["checks"]
        if c["outcome"] not in ("BLOCKED", "INTERNAL")
    ]
    old["totals"] = {
        rev: {k: v for k, v in t.items() if k not in ("BLOCKED", "INTERNAL", "problems")}
        for rev, t in data["totals"].items()
    }
    return old


def test_an_older_report_json_still_validates_and_renders(tmp_path):
    old = older(root_causes())
    validate(old)
    assert "3 distinct problems in 3 failed checks" in html_report.render(old)  # one per failure
    assert "| all | 1 | 0 | 0 | 0 | 0 | 3 | 0 | 25% |" in markdown.render(old)
    (tmp_path / "report.json").write_text(json.dumps(old))
    index = tmp_path / "index.html"
    assert "MCP 2025-11-25: 33.3%" in matrix.render(matrix.load([tmp_path / "report.json"]), index)


# -- the matrix page ------------------------------------------------------------------------------------
def test_matrix_of_two_reports(faulty, baselined, tmp_path):
    page_path = tmp_path / "site" / "index.html"
    inputs = [str(faulty.directory / "out" / "report.json"), str(baselined.directory / "out" / "report.json")]
    done = subprocess.run(
        [sys.executable, "-m", "conformance.report.matrix", *inputs, "-o", str(page_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    page = page_path.read_text()
    assert '<table id="matrix">' in page and "<script" not in page
    anchor = faulty.check("test_ping[2025-11-25]")["anchor"]
    for run in (faulty, baselined):
        href = os.path.relpath(run.directory / "out" / "report.html", page_path.parent)
        assert f'href="{href}#{anchor}"' in page
    assert page.count("test_ping[2025-11-25]") == 1  # one row per check, a column per implementation
    assert "FAIL*" in page  # the baselined implementation's expected failure


def test_matrix_rejects_other_json(tmp_path):
    other = tmp_path / "report.json"
    other.write_text('{"format": "something else"}')
    assert matrix.main([str(other), "-o", str(tmp_path / "index.html")]) == 2


def test_committed_schema_is_generated_from_the_models():
    from conformance.report import format as report_format

    assert schema() == report_format.schema(), (
        "report.schema.json and conformance/report/format.py differ: regenerate it with "
        "`python -m conformance.report.format > conformance/report/report.schema.json`"
    )


def test_a_wrong_report_is_refused_naming_the_field(tmp_path, capsys):
    data = json.loads(json.dumps(crafted("plain")))
    data["checks"][0]["outcome"] = "MAYBE"
    bad = tmp_path / "report.json"
    bad.write_text(json.dumps(data))
    assert matrix.main([str(bad), "-o", str(tmp_path / "index.html")]) == 2
    err = capsys.readouterr().err
    assert "not a report.json of mcp-conformance-report 1: checks.0.outcome:" in err and "Traceback" not in err
    (tmp_path / "older.json").write_text(json.dumps({"format": "mcp-conformance-report", "formatVersion": 1}))
    assert matrix.main([str(tmp_path / "older.json")]) == 2
    assert "suite: Field required" in capsys.readouterr().err
