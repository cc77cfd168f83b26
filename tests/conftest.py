"""Shared helpers for the suite's own tests.

`run_suite(server_command, *pytest_args)` runs the conformance suite the way a user does
(`pytest --mcp-server CMD`) in a subprocess, from a fresh temporary directory unless told
otherwise, and returns every check's outcome parsed from the JUnit XML. It is a plain
function (`from .conftest import run_suite`) and also a fixture of the same name.

The real peers (tests/peers) are found by the `server_everything_command` and
`sdk_server_command` fixtures, which fail loudly, never skip, when a peer is not installed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
PEERS = TESTS / "peers"
INSTALL_PEERS = "npm ci --prefix tests/peers --no-audit --no-fund"
EVERYTHING_ENTRY = PEERS / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
SDK_SERVER = PEERS / "sdk_server.py"

# The outcomes run_suite reports. "warned" and "informational" are checks pytest counts as
# passed that the plugin grades WARN (a SHOULD missed) or INFO (behaviour the spec leaves open);
# "blocked" is one pytest counts as skipped that could not judge its requirement because of
# something another check owns; "internal" is a failure of the suite itself (a bug of ours).
OUTCOMES = ("passed", "warned", "informational", "skipped", "blocked", "failed", "internal", "error")
GRADES = {"passed": ("warned", "informational"), "skipped": ("blocked",), "failed": ("internal",)}
RUN_TIMEOUT = 180.0  # seconds for one whole suite run before it is killed

# These tests start hundreds of Python processes (suite runs, reference servers, SDK peers).
# Where the machine sets PYTHONDONTWRITEBYTECODE (CI images often do), each one compiles every
# module it imports from source, and each suite run re-does pytest's assertion rewriting of
# every plugin (hypothesis, xdist, anyio, ours): about 2 s a run, half of a short run's time.
# The workers and every process they start inherit this.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

# Loaded into the suite run (-p): records the grade the plugin gives every check, as its
# terminal line shows it (PASS/WARN/INFO...), and the check's report sections ("SHOULD
# missed", "notes", "wire transcript"), none of which the JUnit XML carries reliably.
RECORDER = "_mcp_outcome_recorder"
# Plugins of this environment a suite run never uses (anyio's imports trio where it is
# installed; pytest-benchmark is bench/'s): left out, a run starts about 0.25 s sooner,
# over some 500 suite runs of the tests. Naming a plugin that is not installed is harmless.
UNUSED_PLUGINS = ("-p", "no:anyio", "-p", "no:benchmark", "-p", "no:xdist.looponfail")
RECORDER_SOURCE = """
import json
import os
import re

try:  # the same (classname, name) as the JUnit XML
    from _pytest.junitxml import mangle_test_address
except ImportError:  # a private helper: its logic, should it move
    def mangle_test_address(address):
        path, bracket, params = address.partition("[")
        names = path.split("::")
        names[0] = re.sub(r"\\.py$", "", names[0].replace("/", "."))
        names[-1] += bracket + params
        return names

grades = []


def pytest_configure(config):
    global CONFIG
    CONFIG = config


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and not report.passed):
        names = mangle_test_address(report.nodeid)
        category = CONFIG.hook.pytest_report_teststatus(report=report, config=CONFIG)[0]
        grades.append([".".join(names[:-1]), names[-1], category, dict(report.sections)])


def pytest_sessionfinish(session):
    with open(os.environ["MCP_OUTCOME_RECORD"], "w") as out:
        json.dump(grades, out)
"""


@dataclass
class Case:
    """One check of a suite run, from its JUnit <testcase>."""

    module: str  # the JUnit classname: the scenario module, e.g. "messages"
    name: str  # the test name with its parameters, e.g. "test_ping[2025-06-18]"
    outcome: str  # one of OUTCOMES
    properties: dict[str, str] = field(default_factory=dict)  # <property> name -> value
    message: str = ""  # the failure, error or skip message
    text: str = ""  # the failure or error details (the plugin's explanation and transcript)
    junit_outcome: str = ""  # the outcome the JUnit XML alone gives (WARN/INFO only via mcp_outcome)
    sections: dict[str, str] = field(default_factory=dict)  # report sections of the call phase

    @property
    def revision(self) -> str:
        return self.properties.get("mcp_revision", "any")

    @property
    def warnings(self) -> str:
        """The SHOULDs the check found missed, one per line (empty unless warned)."""
        return self.sections.get("SHOULD missed", "")

    @property
    def notes(self) -> str:
        """The check's informational notes."""
        return self.sections.get("notes", "")


@dataclass
class SuiteRun:
    """The result of one run of the conformance suite."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    cases: list[Case]
    junit_xml: str | None  # None: the run wrote no JUnit XML (a usage error, say)

    @property
    def output(self) -> str:
        """stdout, then stderr (usage errors go there)."""
        return self.stdout + ("\n[stderr]\n" + self.stderr if self.stderr.strip() else "")

    @property
    def outcomes(self) -> dict[str, str]:
        """Test name (with its [revision] parameter) -> outcome."""
        if self.junit_xml is None:
            raise AssertionError(
                f"the suite run wrote no JUnit XML (exit code {self.returncode}):\n"
                f"{shlex.join(self.command)}\n{self.output[-8000:]}"
            )
        names = Counter(case.name for case in self.cases)
        clashes = sorted(name for name, n in names.items() if n > 1)
        if clashes:
            raise AssertionError(f"checks of the same name in several modules: {clashes}; use .by_id")
        return {case.name: case.outcome for case in self.cases}

    @property
    def by_id(self) -> dict[str, str]:
        """ "module::name" -> outcome (unique even when two modules share a test name)."""
        return {f"{case.module}::{case.name}": case.outcome for case in self.cases}

    def case(self, name: str) -> Case:
        """The check called `name` ("test_ping[2025-06-18]" or "ping::test_ping[2025-06-18]")."""
        found = [case for case in self.cases if name in (case.name, f"{case.module}::{case.name}")]
        if len(found) != 1:
            raise KeyError(f"{len(found)} checks named {name!r} in this run; known: {sorted(self.by_id)}")
        return found[0]

    def with_outcome(self, *outcomes: str) -> dict[str, str]:
        """The checks whose outcome is one of `outcomes`: name -> outcome."""
        unknown = set(outcomes) - set(OUTCOMES)
        if unknown:
            raise ValueError(f"unknown outcome(s) {sorted(unknown)}; known: {OUTCOMES}")
        return {name: outcome for name, outcome in self.outcomes.items() if outcome in outcomes}

    def counts(self) -> dict[str, Counter]:
        """Revision ("any" for checks not tied to one) -> Counter of outcomes."""
        table: dict[str, Counter] = {}
        for case in self.cases:
            table.setdefault(case.revision, Counter())[case.outcome] += 1
        return table

    def summary(self) -> str:
        """One line per revision, e.g. "2025-06-18   11 passed, 2 warned, 1 skipped"."""
        return "\n".join(
            f"{revision:12} " + ", ".join(f"{n} {o}" for o in OUTCOMES if (n := counts[o]))
            for revision, counts in sorted(self.counts().items())
        )

    def explain(self, names=None) -> str:
        """Details of the named checks (default: the failed and errored ones) and the tail of
        the output, for assertion messages."""
        chosen = [c for c in self.cases if (c.name in names if names is not None else c.outcome in ("failed", "error"))]
        parts = [
            f"--- {c.module}::{c.name}: {c.outcome.upper()}\n"
            + "\n".join(
                filter(
                    None,
                    [
                        c.text or c.message,
                        c.warnings,
                        c.notes,
                        c.sections.get("wire transcript", "") if not c.text else "",
                    ],
                )
            )
            for c in chosen
        ]
        return "\n\n".join(parts) + f"\n\n--- suite output (exit code {self.returncode}):\n{self.output[-8000:]}"


def _parse_cases(junit_xml: str, grades: list[list]) -> list[Case]:
    """Every <testcase> of the JUnit XML. A passed check graded WARN or INFO, a skipped one
    graded BLOCKED and a failed one graded INTERNAL (by its user property mcp_outcome, or by
    the recorder's terminal category) get that outcome instead."""
    graded = {(module, name): (category, sections) for module, name, category, sections in grades}
    rank = {outcome: i for i, outcome in enumerate(OUTCOMES)}
    cases: dict[tuple[str, str], Case] = {}
    for element in ET.fromstring(junit_xml).iter("testcase"):
        key = module, name = element.get("classname", ""), element.get("name", "")
        properties = {p.get("name", ""): p.get("value", "") for p in element.iter("property")}
        outcome, message, text = "passed", "", ""
        for tag, word in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            child = element.find(tag)
            if child is not None:
                outcome, message, text = word, child.get("message", ""), child.text or ""
                break
        if properties.get("mcp_outcome") in GRADES.get(outcome, ()):
            outcome = properties["mcp_outcome"]
        junit_outcome = outcome
        category, sections = graded.get(key, ("", {}))
        if category in GRADES.get(outcome, ()):
            outcome = category
        case = Case(module, name, outcome, properties, message, text, junit_outcome, sections)
        # A check that fails and then errors in teardown has two <testcase>s: keep the worse.
        if key not in cases or rank[outcome] > rank[cases[key].outcome]:
            cases[key] = case
    return list(cases.values())


def _child_environment(private: Path, record: Path, extra: dict[str, str] | None) -> dict[str, str]:
    """This process's environment without what would change how the child pytest behaves
    (PYTEST_ADDOPTS, PYTEST_PLUGINS, xdist worker variables), plus `extra`; the recorder's
    directory goes first on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(extra or {})
    env["PYTHONUNBUFFERED"] = "1"
    env["MCP_OUTCOME_RECORD"] = str(record)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(private), env.get("PYTHONPATH")]))
    return env


def run_suite(
    server_command: str | None,
    *pytest_args: str,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = RUN_TIMEOUT,
) -> SuiteRun:
    """Run `python -m pytest --mcp-server server_command -p no:cacheprovider -q
    --junitxml=... *pytest_args` in a subprocess and return a SuiteRun.

    - The run is serial (--mcp-workers=0) unless `pytest_args` name --mcp-workers or -n.
    - `server_command` None leaves out --mcp-server (a plain pytest run with the plugin loaded).
    - `cwd` None runs in a fresh empty directory holding only an empty pytest.ini, so neither
      the caller's directory nor the project's pytest configuration matters. A given `cwd` is
      used as it is (its own ini file, if any, applies, as it would for a user).
    - `env` adds to (or overrides) this process's environment; PYTEST_* variables are dropped.
    - The run is killed with every process it started after `timeout` seconds, failing the
      calling test. A run that writes no JUnit XML (exit code 4, a usage error) is returned:
      `.returncode` and `.output` tell why; `.outcomes` raises with that output.

    `run.outcomes` maps "test_ping[2025-06-18]" to "passed", "warned", "informational",
    "skipped", "failed" or "error"; `run.case(name)` gives the details (message, text,
    warnings, notes, properties, sections).
    """
    private = Path(tempfile.mkdtemp(prefix="mcp-suite-run-"))
    try:
        if cwd is None:
            workdir = private / "run"
            workdir.mkdir()
            (workdir / "pytest.ini").write_text("[pytest]\n")
        else:
            workdir = Path(cwd)
        (private / f"{RECORDER}.py").write_text(RECORDER_SOURCE)
        junit, record = private / "junit.xml", private / "grades.json"
        server = ["--mcp-server", server_command] if server_command is not None else []
        if not any(arg.startswith(("--mcp-workers", "-n")) for arg in pytest_args):
            server.append("--mcp-workers=0")  # serial unless asked: the tests run side by side already
        command = [
            sys.executable,
            "-m",
            "pytest",
            *server,
            "-p",
            "no:cacheprovider",
            *UNUSED_PLUGINS,
            "-q",
            f"--junitxml={junit}",
            "-o",
            "junit_family=xunit2",
            "-o",
            "junit_logging=no",
            "-p",
            RECORDER,
            *pytest_args,
        ]
        started = time.monotonic()
        # A process group of its own: on a timeout the run and every server it started die.
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=_child_environment(private, record, env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            timed_out = True
        if timed_out:
            pytest.fail(
                f"the suite run did not finish within {timeout:g}s: {shlex.join(command)}\n"
                f"{stdout[-8000:]}\n[stderr]\n{stderr[-4000:]}",
                pytrace=False,
            )
        seconds = time.monotonic() - started
        junit_xml = junit.read_text() if junit.exists() else None
        grades = json.loads(record.read_text()) if record.exists() else []
        cases = _parse_cases(junit_xml, grades) if junit_xml is not None else []
        return SuiteRun(command, process.returncode, stdout, stderr, seconds, cases, junit_xml)
    finally:
        shutil.rmtree(private, ignore_errors=True)


@pytest.fixture(name="run_suite")
def run_suite_fixture():
    """The run_suite function, for tests that prefer a fixture to an import."""
    return run_suite


# -- the real peers ---------------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "real_peer: runs the whole suite against a real MCP implementation (slow; needs tests/peers installed)",
    )


def require_peer(path: Path, what: str, install: str = INSTALL_PEERS) -> Path:
    """Fail (never skip: CI must notice) when a real peer is not installed."""
    if not path.exists():
        pytest.fail(
            f"{what} is not installed ({path} is missing): run `{install}` in the repository root", pytrace=False
        )
    return path


@pytest.fixture(scope="session")
def server_everything_command() -> str:
    """The command that starts the pinned @modelcontextprotocol/server-everything over stdio
    (node on the installed entry point: no npx, no network)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: server-everything needs Node.js 20 or later", pytrace=False)
    entry = require_peer(EVERYTHING_ENTRY, "@modelcontextprotocol/server-everything")
    return shlex.join([node, str(entry), "stdio"])


@pytest.fixture(scope="session")
def sdk_server_command() -> str:
    """The command that starts tests/peers/sdk_server.py (the official Python SDK) over stdio."""
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError as error:
        pytest.fail(f"the Python MCP SDK 2.x is not installed ({error}): run `pip install -e '.[test]'`", pytrace=False)
    return shlex.join([sys.executable, str(SDK_SERVER)])
