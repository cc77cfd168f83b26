"""The client leg: `pytest --mcp-client CMD`. The suite plays a scripted MCP server
(conformance.peer) and grades the client under test from the record of each run.

For every scenario the client command is started once (its own process group, a timeout,
output kept as a tail). Over stdio (`{server}` in the command) `{server}` expands to the
command line that starts the scripted server; over Streamable HTTP (no `{server}`) the
suite serves it on a free loopback port (conformance.peer_http) and the URL fills `{url}`
or is appended. Either way the client gets the official suite's environment
(MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT, MCP_CONFORMANCE_PROTOCOL_VERSION).
Over HTTP the `auth/*` scenarios put the scripted server behind the suite's OAuth harness
(conformance.auth.client_leg, AuthLeg), with the official names and context.
When the client exits, or the timeout ends it, the record is read back into a
ClientRecord: a transcript in the server leg's Entry format, every message the client sent
validated against the schema of the negotiated revision (so the plugin's wire-schema-valid
grading applies unchanged). The checks take the transport as a property of the record
(`record.transport`): the same checks run over both, a rule of one transport skips on the
other.

Registered by conformance.plugin (`pytest_plugins`).
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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from . import checks, jsonrpc, wire
from . import schema as schemas
from .collection import PackageModule, add_keywords, collect_only, is_scenario_file, package_dir, require_schemas
from .jsonrpc import Kind, Message
from .session import Entry
from .transport import reaper
from .transport.base import OutputTail

CLIENT_KEY = pytest.StashKey["ClientTarget"]()
PLACEHOLDER = "{server}"
URL_PLACEHOLDER = "{url}"
MODERN_KEY = "io.modelcontextprotocol/protocolVersion"
CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo"
# MCP_CONFORMANCE_SCENARIO gets the official suite's nearest scenario, so that the SDKs'
# conformance clients (which act on it) do what the script expects; ours is in
# MCP_CONFORMANCE_SUITE_SCENARIO.
OFFICIAL_SCENARIO = {
    "initialize": "initialize",
    "server-requests": "initialize",
    "undeclared-requests": "initialize",
    "tasks": "initialize",
    "tool-tasks": "tools_call",
    "tool-tasks-undeclared": "tools_call",
    "version-mismatch": "initialize",
    "version-fallback": "initialize",
    "progress": "tools_call",
    "session-expired": "initialize",
    "modern": "request-metadata",
    "modern-custom-headers": "http-custom-headers",
    "modern-invalid-tool-headers": "http-invalid-tool-headers",
    "modern-retry": "request-metadata",
    "modern-mrtr": "sep-2322-client-request-state",
    "modern-undeclared-inputs": "sep-2322-client-request-state",
    "modern-unknown-result-type": "request-metadata",
    "modern-network-ref": "json-schema-ref-no-deref",
    "modern-subscriptions": "tools_call",
    "modern-subscriptions-restart": "tools_call",
    "modern-standard-headers": "http-standard-headers",
    "sse-retry": "sse-retry",
    "json-schema-2020-12-preservation": "json-schema-2020-12-preservation",
    "elicitation-defaults": "elicitation-sep1034-client-defaults",
}
PARALLEL_RUNS = 4  # client runs at once when every scenario is run beforehand


def scenarios_dir() -> Path:
    return package_dir("conformance.scenarios") / "client"


# -- options and collection --------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mcp-conformance", "MCP conformance")
    group.addoption(
        "--mcp-client",
        metavar="CMD",
        help="command that starts the MCP client under test; {server} in it expands to the "
        "command line of the suite's scripted server (stdio); without {server} the suite "
        "serves it over Streamable HTTP and the URL fills {url} or is appended",
    )
    group.addoption(
        "--mcp-client-transport",
        choices=("auto", "stdio", "http"),
        default="auto",
        help="how the client reaches the scripted server (default auto: stdio with {server} in "
        "the command, Streamable HTTP otherwise)",
    )
    group.addoption(
        "--mcp-client-timeout",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="how long one client run may take before it is stopped (default 20)",
    )


def pytest_configure(config: pytest.Config) -> None:
    command = config.getoption("--mcp-client")
    if not command:
        return
    if config.getoption("--mcp-server", None) or config.getoption("--mcp-url", None):
        raise pytest.UsageError("--mcp-client tests a client; give it without --mcp-server / --mcp-url")
    transport = choose_transport(command, config.getoption("--mcp-client-transport"))
    require_schemas(schemas.revisions(), config.getoption("--mcp-schema-dir", None))
    config.stash[CLIENT_KEY] = ClientTarget(
        command, config.getoption("--mcp-client-timeout"), config.getoption("--mcp-schema-dir", None), transport
    )
    collect_only(config, scenarios_dir())


class ClientScenarioModule(PackageModule):
    package = "conformance.scenarios.client"


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if is_scenario_file(file_path, scenarios_dir()) and parent.config.stash.get(CLIENT_KEY, None):
        return ClientScenarioModule.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash.get(CLIENT_KEY, None) is not None:
        add_keywords(items, ClientScenarioModule)


def pytest_collection_finish(session: pytest.Session) -> None:
    """A whole run (no -k or -m, not an xdist worker) needs every scenario: start them all
    at once instead of one by one as checks ask. Selected authorization checks start the
    `auth/*` scenarios at once too (they read most of them)."""
    config = session.config
    target = config.stash.get(CLIENT_KEY, None)
    if target is None or not session.items or hasattr(config, "workerinput"):
        return
    if not config.option.keyword and not config.option.markexpr:
        from .peer import SCENARIOS

        target.prefetch(SCENARIOS)
    authorization = any(
        getattr(item, "module", None) is not None and item.module.__name__.endswith("client.authorization")
        for item in session.items
    )
    if authorization and target.transport == "http":  # authorization is for HTTP transports only
        target.prefetch_authorization()


@pytest.hookimpl(trylast=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if isinstance(item.parent, ClientScenarioModule):  # the report groups client checks by module
        item.user_properties.append(("mcp_area", item.parent.area))
        item.user_properties.append(("mcp_scenarios", scenarios_of(item)))


def scenarios_of(item: pytest.Item) -> list[str]:
    """The scenarios a check judges (checks.scenarios): its marker's names, or its parameter."""
    marker = item.get_closest_marker("mcp_scenarios")
    if marker is None:
        return []
    param = marker.kwargs.get("param")
    callspec = getattr(item, "callspec", None)
    return [*marker.args, *([str(callspec.params[param])] if param and callspec and param in callspec.params else [])]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Outside the main plugin's wrapper: add the client's clientInfo to the report data."""
    report = yield
    target = item.config.stash.get(CLIENT_KEY, None)
    detail = getattr(report, "mcp_detail", None)
    if target is not None and isinstance(detail, dict):
        detail["client_info"] = target.client_info()
    return report


def pytest_unconfigure(config: pytest.Config) -> None:
    target = config.stash.get(CLIENT_KEY, None)
    if target is not None:
        target.cleanup()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    target = config.stash.get(CLIENT_KEY, None)
    if target is None:
        return
    terminalreporter.section("MCP conformance (client)")
    terminalreporter.line(f"client: {target.command} ({target.transport})")
    for name, run in target.runs.items():
        terminalreporter.line(f"  {name:18} {run.summary()}")


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mcp_client(request: pytest.FixtureRequest) -> ClientTarget:
    target = request.config.stash.get(CLIENT_KEY, None)
    if target is None:
        pytest.skip("no client under test (give --mcp-client)")
    return target


@pytest.fixture
def client_run(mcp_client: ClientTarget):
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


def expand(command: str, placeholder: str, value: str) -> list[str]:
    """The client's argv: `{server}` standing alone becomes the server's words; inside a
    word it becomes the server command as one (quoted) string. `{url}` becomes the URL;
    without it the URL is the last argument."""
    words = shlex.split(command)
    if placeholder == URL_PLACEHOLDER and not any(URL_PLACEHOLDER in w for w in words):
        return [*words, value]
    argv = []
    for word in words:
        if word == PLACEHOLDER and placeholder == PLACEHOLDER:
            argv.extend(shlex.split(value))
        else:
            argv.append(word.replace(placeholder, value))
    return argv


def choose_transport(command: str, asked: str) -> str:
    """auto: `{server}` in the command means stdio, anything else Streamable HTTP."""
    has_server = PLACEHOLDER in command
    transport = asked if asked != "auto" else ("stdio" if has_server else "http")
    if transport == "stdio" and not has_server:
        raise pytest.UsageError(
            f"--mcp-client over stdio needs {PLACEHOLDER} where the server command goes, "
            f'e.g. --mcp-client "my-client {PLACEHOLDER}"'
        )
    if transport == "http" and has_server:
        raise pytest.UsageError(
            f"--mcp-client over HTTP gets a URL ({URL_PLACEHOLDER}, or appended), not {PLACEHOLDER}"
        )
    return transport


class ClientTarget:
    """The client under test: one run per scenario, on demand or all at once beforehand
    (`prefetch`, up to PARALLEL_RUNS at a time), each shared by the checks that read it."""

    def __init__(self, command: str, timeout: float, schema_dir: str | None = None, transport: str = "stdio"):
        self.command = command
        self.timeout = timeout
        self.schema_dir = schema_dir
        self.transport = transport
        self.workdir = Path(tempfile.mkdtemp(prefix="mcp-client-leg-"))
        self.futures: dict[str, Future] = {}
        self.pool = ThreadPoolExecutor(max_workers=PARALLEL_RUNS, thread_name_prefix="mcp-client-run")
        self.lock = threading.Lock()

    def schema_for(self, revision: str) -> schemas.RevisionSchema:
        return schemas.load(revision, self.schema_dir)

    def prefetch(self, scenarios) -> None:
        for scenario in scenarios:
            self._future(scenario)

    def prefetch_authorization(self) -> None:
        """The first `auth/*` scenario, then the others once it shows the client does OAuth
        (a client without it would only meet 401s in each)."""
        from .auth.client_leg import SCENARIOS

        def then(first: Future) -> None:
            if not first.cancelled() and first.exception() is None and first.result().started_oauth():
                try:
                    self.prefetch(SCENARIOS)
                except RuntimeError:  # the run ended first (the pool is shut down)
                    pass

        self._future(next(iter(SCENARIOS))).add_done_callback(then)

    def run(self, scenario: str) -> ClientRecord:
        return self._future(scenario).result()

    def _future(self, scenario: str) -> Future:
        with self.lock:
            if scenario not in self.futures:
                self.futures[scenario] = self.pool.submit(self._run, scenario)
            return self.futures[scenario]

    def _run(self, scenario: str) -> ClientRecord:
        if scenario.startswith("auth/"):
            leg = AuthLeg(scenario, self.workdir)
        else:
            leg = (StdioLeg if self.transport == "stdio" else HttpLeg)(scenario, self.workdir)
        return run_client(self.command, leg, self.timeout, self.schema_for)

    @property
    def runs(self) -> dict[str, ClientRecord]:
        """The runs finished so far, by scenario."""
        return {name: f.result() for name, f in self.futures.items() if f.done() and not f.exception()}

    def client_info(self):
        """The clientInfo the client sent in the runs so far (initialize, or modern `_meta`)."""
        return next((info for run in self.runs.values() for info in run.client_infos()), None)

    def cleanup(self) -> None:
        import shutil

        self.pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.workdir, ignore_errors=True)


class StdioLeg:
    """The client starts the scripted server itself (`{server}`); the peer records "eof"
    when the client closes its stdin, "sigterm" when signalled."""

    transport = "stdio"

    def __init__(self, scenario: str, workdir: Path):
        self.scenario = scenario
        self.report = workdir / f"{scenario}.jsonl"
        self.report.unlink(missing_ok=True)

    def env(self) -> dict[str, str]:
        return official_env(self.scenario)

    def argv(self, command: str) -> list[str]:
        return expand(command, PLACEHOLDER, peer_command(self.scenario, self.report))

    def after_exit(self, timed_out: bool) -> bool:
        """Wait for the peer (in the client's group) to finish its record; False if it did not."""
        waited = time.monotonic()
        deadline = waited + (1.0 if timed_out else 2.0)
        while time.monotonic() < deadline and not _ended(self.report):
            if not self.report.exists() and time.monotonic() - waited > 0.3:
                break  # no peer was started (or it never got as far as its record)
            time.sleep(0.02)
        return _ended(self.report)

    def close(self) -> None:
        pass


class HttpLeg:
    """The suite serves the scripted server over Streamable HTTP; the client gets its URL."""

    transport = "http"

    def __init__(self, scenario: str, workdir: Path):
        from .peer_http import HttpPeerServer

        self.scenario = scenario
        self.report = workdir / f"{scenario}.jsonl"
        self.report.unlink(missing_ok=True)
        self.server = HttpPeerServer(scenario, str(self.report)).start()

    def env(self) -> dict[str, str]:
        return official_env(self.scenario)

    def argv(self, command: str) -> list[str]:
        return expand(command, URL_PLACEHOLDER, self.server.url)

    def after_exit(self, timed_out: bool) -> bool:
        return True

    def close(self) -> None:
        self.server.stop()


class AuthLeg(HttpLeg):
    """An `auth/*` scenario: the scripted server behind the suite's OAuth harness
    (conformance.auth.client_leg), with the official scenario name and context."""

    def __init__(self, scenario: str, workdir: Path):
        from .auth.client_leg import SCENARIOS, AuthHarness  # PyJWT and uvicorn: only when needed

        self.scenario = scenario
        self.report = workdir / f"{SCENARIOS[scenario].file_name}.jsonl"
        self.report.unlink(missing_ok=True)
        self.harness = AuthHarness(SCENARIOS[scenario], str(self.report)).start()

    def env(self) -> dict[str, str]:
        return {
            "MCP_CONFORMANCE_SCENARIO": self.scenario,
            "MCP_CONFORMANCE_SUITE_SCENARIO": self.scenario,
            "MCP_CONFORMANCE_CONTEXT": json.dumps(self.harness.context()),
            "MCP_CONFORMANCE_PROTOCOL_VERSION": self.harness.scenario.revision,
        }

    def argv(self, command: str) -> list[str]:
        return expand(command, URL_PLACEHOLDER, self.harness.mcp_url)

    def close(self) -> None:
        self.harness.stop()


def run_client(command: str, leg, timeout: float, schema_for) -> ClientRecord:
    try:
        outcome = run_process(leg.argv(command), {**os.environ, **leg.env()}, timeout, leg.after_exit)
    finally:
        leg.close()
    return ClientRecord.read(leg.report, outcome, schema_for, leg.transport, leg.scenario)


def official_env(scenario: str) -> dict[str, str]:
    from .peer import CONTEXTS

    return {
        "MCP_CONFORMANCE_SCENARIO": OFFICIAL_SCENARIO[scenario],
        "MCP_CONFORMANCE_SUITE_SCENARIO": scenario,
        "MCP_CONFORMANCE_CONTEXT": json.dumps(CONTEXTS.get(scenario, {})),
        "MCP_CONFORMANCE_PROTOCOL_VERSION": protocol_version_for(scenario),
    }


def protocol_version_for(scenario: str) -> str:
    return max(schemas.revisions()) if scenario.startswith("modern") else schemas.legacy_revisions()[-1]


def run_process(argv: list[str], env: dict, timeout: float, after_exit) -> RunOutcome:
    """Run the client in its own process group until it exits or the timeout ends it; then
    let `after_exit` finish the peer's record and stop the whole group."""
    tail = OutputTail()
    started = time.monotonic()
    outcome = RunOutcome(command=shlex.join(argv))
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        outcome.start_error = f"could not start the client {argv[0]!r}: {exc}"
        return outcome
    reaper.watch(proc.pid)
    reader = threading.Thread(target=_drain, args=(proc.stdout, tail), daemon=True)
    reader.start()
    try:
        outcome.exit_code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        outcome.timed_out = True
    outcome.seconds = time.monotonic() - started
    outcome.peer_left_running = not after_exit(outcome.timed_out)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        time.sleep(0.1)
    reaper.release(proc.pid)
    if proc.poll() is None:
        proc.wait(timeout=5)
        outcome.exit_code = None
    reader.join(timeout=1)
    outcome.output_tail = tail.text()
    return outcome


def format_http(event: dict) -> str:
    """One HTTP request of an authorization scenario, as a transcript line (secrets hidden)."""
    query = "&".join(f"{k}={v}" for k, v in (event.get("query") or {}).items())
    status = "passed to the MCP server" if event.get("status") == 0 else event.get("status")
    line = f"HTTP {event['method']} {event['server']} {event['path']}" + (f"?{query}" if query else "")
    line += f" -> {status}"
    details = {
        k: v
        for k, v in event.items()
        if k not in ("event", "t", "server", "method", "path", "query", "status", "what") and v not in (None, False)
    }
    return line + (f" {json.dumps(details, sort_keys=True)}" if details else "")


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
    headers: dict = field(default_factory=dict)  # over HTTP: the MCP headers of the client's POST
    utf8: bool = True  # False: the bytes were no UTF-8 (the message is read with replacement characters)
    batch: int = 0  # the size of the JSON-RPC batch this message came in (its entry is the batch's)

    @property
    def from_client(self) -> bool:
        return self.entry.direction == "<-"


class ClientRecord:
    """One client run as the suite's server saw it. Looks like a Session to checks.Verdict."""

    def __init__(
        self,
        scenario: str,
        outcome: RunOutcome,
        items: list[Item],
        revision: str,
        events: list[dict],
        requested: str | None,
        answered: str | None,
        transport: str = "stdio",
    ):
        self.scenario = scenario
        self.transport = transport
        self.outcome = outcome
        self.items = items
        # with an authorization scenario's HTTP requests, in time order (the report shows them)
        http = [Entry(e["t"], "<-", format_http(e).encode("utf-8")) for e in events if e.get("event") == "oauth-http"]
        entries = list({id(i.entry): i.entry for i in items}.values())  # a batch's members share one
        self.transcript = sorted(entries + http, key=lambda entry: entry.t)
        self.revision = revision
        self.events = events
        self.requested = requested  # the protocolVersion the client asked for
        self.answered = answered  # the protocolVersion the peer answered with
        self.label = f"client run over {transport}, scenario {scenario}"

    @classmethod
    def read(
        cls, report: Path, outcome: RunOutcome, schema_for, transport: str = "stdio", scenario: str | None = None
    ) -> ClientRecord:
        scenario = scenario or report.stem
        lines = []
        try:
            for text in report.read_text(encoding="utf-8").splitlines():
                if text.strip():
                    lines.append(json.loads(text))
        except (OSError, ValueError):
            pass
        events = [line for line in lines if "event" in line]
        messages = [line for line in lines if "dir" in line]
        decoded = [
            (line["t"], line["dir"], line["data"].encode("utf-8"), jsonrpc.decode(line["data"].encode("utf-8")))
            for line in messages
        ]
        requested = answered = None
        for _, direction, _, message in decoded:
            if direction == "c2s" and message.method == "initialize" and isinstance(message.params, dict):
                requested = requested or message.params.get("protocolVersion")
            if direction == "s2c" and message.kind is Kind.RESULT and "protocolVersion" in (message.result or {}):
                answered = message.result["protocolVersion"]
        modern = next(
            (
                m.params["_meta"].get(MODERN_KEY)
                for d, m in ((d, m) for _, d, _, m in decoded)
                if d == "c2s"
                and m.kind is Kind.REQUEST
                and isinstance(m.params, dict)
                and isinstance(m.params.get("_meta"), dict)
                and MODERN_KEY in m.params["_meta"]
            ),
            None,
        )
        known = schemas.legacy_revisions()
        if requested is None and modern in schemas.revisions():
            revision = modern  # a client that stayed in the modern era
        else:
            revision = next((r for r in (answered, requested) if r in known), known[-1])
        schema = schema_for(revision)
        sent_by_peer: dict[str, str] = {}
        task_augmented: set[str] = set()  # ids of the peer's requests with a `task` field
        items = []
        for line, (t, direction, data, message) in zip(messages, decoded):
            entry = Entry(t, "<-" if direction == "c2s" else "->", data, message)
            key = json.dumps(message.id)
            if direction == "s2c":
                if message.kind is Kind.REQUEST:
                    sent_by_peer[key] = message.method
                    if isinstance(message.params, dict) and "task" in message.params:
                        task_augmented.add(key)
            else:
                answers = sent_by_peer.get(key) if message.is_response else None
                # A task-augmented request gets a CreateTaskResult only if the client ran it as a task.
                as_task = key in task_augmented and isinstance(message.result, dict) and "task" in message.result
                entry.violations = wire.validate(schema, message, answers, as_task)
            extra = (line.get("headers") or {}, line.get("utf8", True))
            if direction == "c2s" and message.kind is Kind.BATCH and message.obj:
                # each member is read as a message of its own; the batch rule is judged from `batch`
                items += [
                    Item(entry, jsonrpc.decode(json.dumps(member).encode("utf-8")), *extra, len(message.obj))
                    for member in message.obj
                ]
            else:
                items.append(Item(entry, message, *extra))
        return cls(scenario, outcome, items, revision, events, requested, answered, transport)

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
        return next(
            (m for m in self.from_client() if m.is_response and m.has_id and jsonrpc.same_id(request.id, m.id)), None
        )

    def index(self, predicate) -> int | None:
        return next((n for n, i in enumerate(self.items) if predicate(i)), None)

    def initialize_answered_at(self) -> int | None:
        """Where in `items` the suite's server answered initialize (a result naming a protocolVersion)."""
        return self.index(lambda i: not i.from_client and "protocolVersion" in (i.message.result or {}))

    def before_fallback(self) -> list[Item]:
        """The items before the client's first initialize: all of a modern-era session, the
        modern part of one that fell back to the legacy era."""
        return self.items[: self.index(lambda i: i.from_client and i.message.method == "initialize")]

    @property
    def connected(self) -> bool:
        return any(e.get("event") == "start" for e in self.events)

    def http_requests(self, server: str | None = None) -> list[dict]:
        """An authorization scenario's HTTP requests to the "resource" or "authorization" server."""
        return [e for e in self.events if e.get("event") == "oauth-http" and server in (None, e.get("server"))]

    def started_oauth(self) -> bool:
        """Whether the client looked for authorization at all (a request beside the MCP endpoint)."""
        return any(e.get("what") != "mcp" for e in self.http_requests())

    @property
    def oauth(self) -> dict:
        """Where an authorization scenario's servers were: mcp_url, resource, issuer, prm_url."""
        return next((e for e in self.events if e.get("event") == "oauth-setup"), {})

    def client_infos(self) -> list:
        found = []
        for request in self.client_requests():
            params = request.params if isinstance(request.params, dict) else {}
            meta = params.get("_meta") if isinstance(params.get("_meta"), dict) else {}
            found += [
                v
                for v in (
                    params.get("clientInfo") if request.method == "initialize" else None,
                    meta.get(CLIENT_INFO_KEY),
                )
                if v is not None
            ]
        return found

    def modern_requests(self) -> list[Message]:
        """The client's requests in the modern era (with a protocol version in `_meta`)."""
        return [
            m
            for m in self.client_requests()
            if isinstance(m.params, dict)
            and isinstance(m.params.get("_meta"), dict)
            and MODERN_KEY in m.params["_meta"]
        ]

    def server_capabilities(self) -> dict:
        """The capabilities the suite's server answered initialize with ({} without one)."""
        answered = self.initialize_answered_at()
        result = self.items[answered].message.result if answered is not None else None
        capabilities = result.get("capabilities") if isinstance(result, dict) else None
        return capabilities if isinstance(capabilities, dict) else {}

    def client_capabilities(self) -> dict:
        """The capabilities of the client's first initialize ({} without one)."""
        init = next((m for m in self.client_requests() if m.method == "initialize"), None)
        capabilities = init.params.get("capabilities") if init is not None and isinstance(init.params, dict) else None
        return capabilities if isinstance(capabilities, dict) else {}

    def require_session(self) -> None:
        """Skip a legacy-era check when there is nothing to judge (the startup check says why)."""
        if not any(m.method == "initialize" for m in self.client_requests()):
            why = (
                "it stayed in the modern era" if self.modern_requests() else "see test_client_connects_and_initializes"
            )
            pytest.skip(f"the client sent no initialize in scenario {self.scenario} ({why})")

    def summary(self) -> str:
        state = "timed out" if self.outcome.timed_out else self.outcome.start_error or f"exit {self.outcome.exit_code}"
        return (
            f"{len(self.from_client())} messages from the client, {len(self.items) - len(self.from_client())} "
            f"to it, {self.outcome.seconds:.2f}s, {state}, revision {self.revision}"
        )
