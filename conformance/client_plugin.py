"""The client leg: `pytest --mcp-client "CMD {server}"`. The suite plays a scripted MCP
server (conformance.peer) and grades the client under test from the record of each run.

For every scenario the client command is started once (its own process group, a timeout,
stderr kept as a tail); `{server}` in it expands to the command line that starts the
scripted server for that scenario. When the client exits, or the timeout ends it, the
record is read back into a ClientRecord: a transcript in the server leg's Entry format,
every message the client sent validated against the schema of the negotiated revision
(so the plugin's wire-schema-valid grading applies unchanged).

Registered from conformance.plugin by one line (see the report); until then `-p
conformance.client_plugin` loads it.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import checks, jsonrpc, wire
from . import schema as schemas
from .jsonrpc import Kind, Message
from .session import Entry
from .transport.base import OutputTail

CLIENT_KEY = pytest.StashKey["ClientTarget"]()
PLACEHOLDER = "{server}"
MODERN_KEY = "io.modelcontextprotocol/protocolVersion"


def scenarios_dir() -> Path:
    import importlib.util
    spec = importlib.util.find_spec("conformance.scenarios")
    return Path(next(iter(spec.submodule_search_locations))).resolve() / "client"


# -- options and collection --------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mcp-conformance", "MCP conformance")
    group.addoption("--mcp-client", metavar="CMD",
                    help="command that starts the MCP client under test; {server} in it expands to the "
                         "command line of the suite's scripted server (stdio)")
    group.addoption("--mcp-client-timeout", type=float, default=20.0, metavar="SECONDS",
                    help="how long one client run may take before it is stopped (default 20)")


def pytest_configure(config: pytest.Config) -> None:
    command = config.getoption("--mcp-client")
    if not command:
        return
    if config.getoption("--mcp-server", None) or config.getoption("--mcp-url", None):
        raise pytest.UsageError("--mcp-client tests a client; give it without --mcp-server / --mcp-url")
    if PLACEHOLDER not in command:
        raise pytest.UsageError(f"--mcp-client needs {PLACEHOLDER} where the server command goes, e.g. "
                                f"--mcp-client \"my-client {PLACEHOLDER}\"")
    for revision in schemas.legacy_revisions():
        try:
            schemas.load(revision, config.getoption("--mcp-schema-dir", None))
        except schemas.SchemaUnavailable as exc:
            raise pytest.UsageError(str(exc)) from None
    config.stash[CLIENT_KEY] = ClientTarget(command, config.getoption("--mcp-client-timeout"),
                                            config.getoption("--mcp-schema-dir", None))
    explicit = config.args if config.args_source is pytest.Config.ArgsSource.ARGS else []
    config.args[:] = [*explicit, str(scenarios_dir())]


class ClientScenarioModule(pytest.Module):
    def _getobj(self):
        import importlib
        return importlib.import_module(f"conformance.scenarios.client.{self.path.stem}")


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if (file_path.suffix == ".py" and file_path.parent == scenarios_dir()
            and not file_path.name.startswith("_") and parent.config.stash.get(CLIENT_KEY, None)):
        return ClientScenarioModule.from_parent(parent, path=file_path)
    return None


def pytest_unconfigure(config: pytest.Config) -> None:
    target = config.stash.get(CLIENT_KEY, None)
    if target is not None:
        target.cleanup()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    target = config.stash.get(CLIENT_KEY, None)
    if target is None:
        return
    terminalreporter.section("MCP conformance (client)")
    terminalreporter.line(f"client: {target.command} (stdio)")
    for name, run in target.runs.items():
        terminalreporter.line(f"  {name:18} {run.summary()}")


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mcp_client(request: pytest.FixtureRequest) -> "ClientTarget":
    target = request.config.stash.get(CLIENT_KEY, None)
    if target is None:
        pytest.skip("no client under test (give --mcp-client)")
    return target


@pytest.fixture
def client_run(mcp_client: "ClientTarget"):
    """client_run(scenario) -> the ClientRecord of that scenario (one client run per scenario,
    shared by its checks), watched by the current check."""

    def get(scenario: str) -> ClientRecord:
        record = mcp_client.run(scenario)
        checks.current().watch(record, since=0)
        return record

    return get


# -- running a client ------------------------------------------------------------------------
def peer_command(scenario: str, report: str | Path) -> str:
    return shlex.join([sys.executable, "-m", "conformance.peer", "--scenario", scenario, "--report", str(report)])


def expand(command: str, server: str) -> list[str]:
    """The client's argv: `{server}` standing alone becomes the server's words; inside a
    word it becomes the server command as one (quoted) string."""
    argv = []
    for word in shlex.split(command):
        argv.extend(shlex.split(server) if word == PLACEHOLDER else [word.replace(PLACEHOLDER, server)])
    return argv


class ClientTarget:
    def __init__(self, command: str, timeout: float, schema_dir: str | None = None):
        self.command = command
        self.timeout = timeout
        self.schema_dir = schema_dir
        self.workdir = Path(tempfile.mkdtemp(prefix="mcp-client-leg-"))
        self.runs: dict[str, ClientRecord] = {}

    def schema_for(self, revision: str) -> schemas.RevisionSchema:
        return schemas.load(revision, self.schema_dir)

    def run(self, scenario: str) -> "ClientRecord":
        if scenario not in self.runs:
            self.runs[scenario] = run_client(self.command, scenario, self.timeout, self.workdir, self.schema_for)
        return self.runs[scenario]

    def cleanup(self) -> None:
        import shutil
        shutil.rmtree(self.workdir, ignore_errors=True)


def run_client(command: str, scenario: str, timeout: float, workdir: Path, schema_for) -> "ClientRecord":
    report = workdir / f"{scenario}.jsonl"
    report.unlink(missing_ok=True)
    argv = expand(command, peer_command(scenario, report))
    env = {**os.environ, "MCP_CONFORMANCE_SCENARIO": scenario, "MCP_CONFORMANCE_CONTEXT": "{}",
           "MCP_CONFORMANCE_PROTOCOL_VERSION": schemas.legacy_revisions()[-1]}
    tail = OutputTail()
    started = time.monotonic()
    outcome = RunOutcome(command=shlex.join(argv))
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    except OSError as exc:
        outcome.start_error = f"could not start the client {argv[0]!r}: {exc}"
        return ClientRecord.read(report, outcome, schema_for)
    reader = threading.Thread(target=_drain, args=(proc.stdout, tail), daemon=True)
    reader.start()
    try:
        outcome.exit_code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        outcome.timed_out = True
    outcome.seconds = time.monotonic() - started
    # The peer (in the client's group) writes "eof" when its stdin closes: give it a moment.
    waited = time.monotonic()
    deadline = waited + (1.0 if outcome.timed_out else 2.0)
    while time.monotonic() < deadline and not _ended(report):
        if not report.exists() and time.monotonic() - waited > 0.3:
            break  # no peer was started (or it never got as far as its record)
        time.sleep(0.02)
    outcome.peer_left_running = not _ended(report)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.wait(timeout=5)
        outcome.exit_code = None
    reader.join(timeout=1)
    outcome.output_tail = tail.text()
    return ClientRecord.read(report, outcome, schema_for)


def _drain(stream, tail: OutputTail) -> None:
    for chunk in iter(lambda: stream.read1(65536), b""):
        tail.append(chunk)


def _ended(report: Path) -> bool:
    try:
        lines = report.read_bytes().rstrip().splitlines()
    except OSError:
        return False
    try:
        return bool(lines) and json.loads(lines[-1]).get("event") in ("eof", "sigterm")
    except ValueError:
        return False


@dataclass
class RunOutcome:
    command: str
    exit_code: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    start_error: str = ""
    output_tail: str = ""
    peer_left_running: bool = False

    def describe(self, timeout_hint: str = "") -> str:
        if self.start_error:
            text = self.start_error
        elif self.timed_out:
            text = f"the client did not exit within {self.seconds:.1f}s and was stopped{timeout_hint}"
        else:
            text = f"the client exited with code {self.exit_code} after {self.seconds:.2f}s"
        text += f"\ncommand: {self.command}"
        if self.output_tail:
            text += "\n--- last lines of the client's output (stdout and stderr) ---\n" + self.output_tail
        return text


@dataclass
class Item:
    """One client-to-server (`<-`, as received by the suite) or server-to-client (`->`) message."""

    entry: Entry
    message: Message

    @property
    def from_client(self) -> bool:
        return self.entry.direction == "<-"


class ClientRecord:
    """One client run as the suite's server saw it. Looks like a Session to checks.Verdict."""

    def __init__(self, scenario: str, outcome: RunOutcome, items: list[Item], revision: str,
                 events: list[dict], requested: str | None, answered: str | None):
        self.scenario = scenario
        self.outcome = outcome
        self.items = items
        self.transcript = [i.entry for i in items]
        self.revision = revision
        self.events = events
        self.requested = requested  # the protocolVersion the client asked for
        self.answered = answered  # the protocolVersion the peer answered with
        self.label = f"client run, scenario {scenario}"

    @classmethod
    def read(cls, report: Path, outcome: RunOutcome, schema_for) -> "ClientRecord":
        scenario = report.stem
        lines = []
        try:
            for text in report.read_text(encoding="utf-8").splitlines():
                if text.strip():
                    lines.append(json.loads(text))
        except (OSError, ValueError):
            pass
        events = [line for line in lines if "event" in line]
        raw = [(line["t"], line["dir"], line["data"].encode("utf-8")) for line in lines if "dir" in line]
        decoded = [(t, d, data, jsonrpc.decode(data)) for t, d, data in raw]
        requested = answered = None
        for _, direction, _, message in decoded:
            if direction == "c2s" and message.method == "initialize" and isinstance(message.params, dict):
                requested = requested or message.params.get("protocolVersion")
            if direction == "s2c" and message.kind is Kind.RESULT and "protocolVersion" in (message.result or {}):
                answered = message.result["protocolVersion"]
        modern = next((m.params["_meta"].get(MODERN_KEY) for d, m in ((d, m) for _, d, _, m in decoded)
                       if d == "c2s" and m.kind is Kind.REQUEST and isinstance(m.params, dict)
                       and isinstance(m.params.get("_meta"), dict) and MODERN_KEY in m.params["_meta"]), None)
        known = schemas.legacy_revisions()
        if requested is None and modern in schemas.revisions():
            revision = modern  # a client that stayed in the modern era
        else:
            revision = next((r for r in (answered, requested) if r in known), known[-1])
        schema = schema_for(revision)
        sent_by_peer: dict[str, str] = {}
        items = []
        for t, direction, data, message in decoded:
            entry = Entry(t, "<-" if direction == "c2s" else "->", data, message)
            if direction == "s2c":
                if message.kind is Kind.REQUEST:
                    sent_by_peer[json.dumps(message.id)] = message.method
            else:
                answers = sent_by_peer.get(json.dumps(message.id)) if message.is_response else None
                entry.violations = wire.validate(schema, message, answers)
            items.append(Item(entry, message))
        return cls(scenario, outcome, items, revision, events, requested, answered)

    # -- what Verdict needs ------------------------------------------------------------------
    def mark(self) -> int:
        return len(self.transcript)

    def violations(self, since: int = 0):
        return [(e, v) for e in self.transcript[since:] for v in e.violations]

    def format_transcript(self, since: int = 0, limit: int = 200) -> str:
        entries = self.transcript[since:][-limit:]
        head = f"[{self.label}] revision {self.revision}; -> from the suite's server, <- from the client"
        return "\n".join([head, *(e.format() for e in entries)])

    # -- for checks -------------------------------------------------------------------------
    def from_client(self) -> list[Message]:
        return [i.message for i in self.items if i.from_client]

    def client_requests(self) -> list[Message]:
        return [m for m in self.from_client() if m.kind is Kind.REQUEST]

    def peer_requests(self) -> list[Message]:
        return [i.message for i in self.items if not i.from_client and i.message.kind is Kind.REQUEST]

    def answer_to(self, request: Message) -> Message | None:
        """The client's response to a request the suite's server sent (matched by id and type)."""
        return next((m for m in self.from_client() if m.is_response and m.has_id
                     and jsonrpc.same_id(request.id, m.id)), None)

    def index(self, predicate) -> int | None:
        return next((n for n, i in enumerate(self.items) if predicate(i)), None)

    @property
    def connected(self) -> bool:
        return any(e.get("event") == "start" for e in self.events)

    def modern_requests(self) -> list[Message]:
        """The client's requests in the modern era (with a protocol version in `_meta`)."""
        return [m for m in self.client_requests() if isinstance(m.params, dict)
                and isinstance(m.params.get("_meta"), dict) and MODERN_KEY in m.params["_meta"]]

    def require_session(self) -> None:
        """Skip a legacy-era check when there is nothing to judge (the startup check says why)."""
        if not any(m.method == "initialize" for m in self.client_requests()):
            why = ("it stayed in the modern era" if self.modern_requests() else
                   "see test_client_connects_and_initializes")
            pytest.skip(f"the client sent no initialize in scenario {self.scenario} ({why})")

    def summary(self) -> str:
        state = ("timed out" if self.outcome.timed_out else self.outcome.start_error or
                 f"exit {self.outcome.exit_code}")
        return (f"{len(self.from_client())} messages from the client, {len(self.items) - len(self.from_client())} "
                f"to it, {self.outcome.seconds:.2f}s, {state}, revision {self.revision}")
