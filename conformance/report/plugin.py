"""Reporting plugin: --mcp-report DIR (report.json, report.html, summary.md, badges) and
--mcp-expected-failures FILE (a baseline of known failures; entries that pass are stale).

Under pytest-xdist, workers only apply the baseline to their reports; the controller sees
every report (pytest_runtest_logreport) and writes the one merged report.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import output
from .baseline import REASON, Baseline, BaselineError
from .model import BASELINE_PROPERTY, Results

BASELINE_KEY = pytest.StashKey[Baseline]()
REPORTER_NAME = "mcp-conformance-reporter"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mcp-conformance", "MCP conformance")
    group.addoption(
        "--mcp-report",
        metavar="DIR",
        help="write report.json, report.html, summary.md, badge.svg and badge.json to DIR",
    )
    group.addoption(
        "--mcp-report-transcripts",
        choices=["all", "failures"],
        default="all",
        help="the wire transcripts a report keeps: of every check (default), or only of the "
        "checks that did not pass or skip (a smaller report to publish)",
    )
    group.addoption(
        "--mcp-expected-failures",
        metavar="FILE",
        help="expected failures in the official MCP conformance suite's YAML format (server: and "
        "client: lists of checks, requirement IDs or areas): listed failures do not fail the "
        "run, listed checks that now pass do (stale entries)",
    )


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def role_of(config: pytest.Config) -> str:
    """A run tests a client (--mcp-client) or a server."""
    return "client" if config.getoption("--mcp-client", None) else "server"


def transports_of(config: pytest.Config) -> list[str]:
    """The transport of the run, in the report's names."""
    if role_of(config) == "client":
        from ..client_plugin import choose_transport

        chosen = choose_transport(config.getoption("--mcp-client"), config.getoption("--mcp-client-transport", "auto"))
    else:
        chosen = config.getoption("--mcp-transport", None) or (
            "http" if config.getoption("--mcp-url", None) else "stdio"
        )
    return [{"http": "streamable-http", "sse": "http+sse"}.get(chosen, chosen)]


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--mcp-expected-failures")
    baseline = None
    if path:
        try:
            baseline = config.stash[BASELINE_KEY] = Baseline.load(str(Path(config.invocation_params.dir, path)))
        except BaselineError as error:
            raise pytest.UsageError(str(error)) from None
        baseline.role = role_of(config)
    if not is_worker(config) and (baseline or config.getoption("--mcp-report")):
        config.pluginmanager.register(Reporter(config, baseline), REPORTER_NAME)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Outermost, so it sees the main plugin's final verdict: a failure listed in the
    baseline becomes an expected failure (xfailed), marked for the reports. An INTERNAL
    error is a bug of the suite, never an expected failure of the implementation."""
    report = yield
    baseline = item.config.stash.get(BASELINE_KEY, None)
    if baseline is None or not report.failed or report.when == "teardown":
        return report
    props = dict(report.user_properties)
    if "mcp_revision" not in props or props.get("mcp_outcome") == "internal":
        return report
    entry = baseline.match(
        item.name,
        str(props.get("mcp_area", "")),
        list(props.get("mcp_requirements") or []),
        list(props.get("mcp_scenarios") or []),
    )
    if entry is not None:
        report.outcome = "skipped"
        report.wasxfail = REASON
        report.user_properties.append((BASELINE_PROPERTY, entry))
    return report


class Reporter:
    """Lives on the controller only: collects every check and writes the reports."""

    def __init__(self, config: pytest.Config, baseline: Baseline | None):
        self.config = config
        self.baseline = baseline
        role = role_of(config)
        command = (
            config.getoption("--mcp-client")
            if role == "client"
            else (config.getoption("--mcp-server", None) or config.getoption("--mcp-url", None))
        )
        self.results = Results(
            command=command,
            role=role,
            transports=transports_of(config),
            options={
                "strict": bool(config.getoption("--mcp-strict", False)),
                "timeout": config.getoption("--mcp-client-timeout" if role == "client" else "--mcp-timeout", None),
                "transcripts": config.getoption("--mcp-report-transcripts"),
            },
        )
        self.data: dict | None = None
        self.written: Path | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.results.add(report)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.data = self.results.to_json()
        if self.data["options"]["transcripts"] == "failures":
            for check in self.data["checks"]:
                if check["outcome"] in ("PASS", "SKIP", "BLOCKED"):
                    check["messages"] = []
        if self.baseline is not None:
            self.data["baseline"] = self.baseline.judge(self.data["checks"])
            if self.data["baseline"]["stale"] and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        directory = self.config.getoption("--mcp-report")
        if directory:
            self.written = Path(self.config.invocation_params.dir, directory)
            output.write(self.data, self.written)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        judged = (self.data or {}).get("baseline")
        if judged:
            terminalreporter.section("MCP expected failures")
            terminalreporter.line(f"baseline: {judged['file']}: {len(judged['expected'])} still failing")
            for entry in judged["stale"]:
                terminalreporter.line(f"STALE: {entry} (passes now: remove it from the baseline)", red=True)
            for entry in judged["unexercised"]:
                terminalreporter.line(f"not exercised: {entry} (no check it names ran)", yellow=True)
        if self.written is not None:
            terminalreporter.line(f"MCP conformance report: {self.written / 'report.html'}")
