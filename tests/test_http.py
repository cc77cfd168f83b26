"""The HTTP transports (Streamable HTTP and the deprecated HTTP+SSE) against the reference
HTTP server, the launcher, and the suite run over both transports: the clean reference
passes, each HTTP fault is caught by its check. Everything listens on 127.0.0.1 only."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import time

import pytest

from conformance import jsonrpc
from conformance import schema as schemas
from conformance.catalogue import checks as all_checks
from conformance.reference.auth import FAULTS as AUTH_FAULTS
from conformance.reference.http import FAULTS
from conformance.session import Session
from conformance.transport import ServerStartError, StdioTransport, TransportClosed
from conformance.transport.http import (
    HttpTransport,
    SseParser,
    decoded_header,
    header_params,
    header_text,
    merge_headers,
)
from conformance.transport.launch import LaunchedServer, make_transport
from conformance.transport.sse import SseTransport, same_origin

REFERENCE = f"{shlex.quote(sys.executable)} -m conformance.reference.http --port {{port}}"
LEGACY = [r for r in schemas.revisions() if r < "2026"]
PING = jsonrpc.encode(jsonrpc.request("raw-ping", "ping"))


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def serve():
    """serve(*args, path="/mcp") -> a running reference server (one per argument list)."""
    started: dict[tuple, LaunchedServer] = {}

    def get(*args: str, path: str = "/mcp") -> LaunchedServer:
        if args not in started:
            server = LaunchedServer(" ".join([REFERENCE, *args]), path=path, timeout=15)
            server.ensure_running()
            started[args] = server
        return started[args]

    yield get
    for server in started.values():
        server.stop()


def open_session(transport) -> Session:
    session = Session(transport, schemas.load, "2025-11-25", timeout=5)
    session.start()
    return session


@pytest.fixture
def sessions():
    opened: list[Session] = []

    def make(transport) -> Session:
        opened.append(open_session(transport))
        return opened[-1]

    yield make
    for session in opened:
        session.close()


# -- SSE parsing -----------------------------------------------------------------------------
def test_sse_parser_keeps_each_events_own_fields():
    parser = SseParser()
    events = parser.feed(
        b'id: p1\ndata:\n\n: a comment\ndata: {"a":\ndata: 1}\n\nevent: endpoint\ndata: /m?x=1\n\n'
        b"retry: 1500\nid: 7\ndata: x\n\nid: only\n\n"
    )
    assert [(e.id, e.data, e.event, e.has_data) for e in events] == [
        ("p1", b"", "message", True),
        (None, b'{"a":\n1}', "message", True),
        (None, b"/m?x=1", "endpoint", True),
        ("7", b"x", "message", True),
        ("only", b"", "message", False),
    ]
    assert events[3].retry == 1500


def test_sse_parser_handles_split_lines_and_crlf():
    parser = SseParser()
    stream = b"id: 1\r\ndata: one\r\n\r\ndata: two\r\r: a lone CR ends a line too\n"
    got = [event for i in range(len(stream)) for event in parser.feed(stream[i : i + 1])]
    assert [(e.id, e.data) for e in got] == [("1", b"one"), (None, b"two")]
    assert parser.feed(b"data: unfinished") == [] and parser.finish() == []


def test_merge_headers_is_case_insensitive():
    merged = merge_headers({"Accept": "a", "Mcp-Session-Id": "s"}, {"accept": "b", "MCP-SESSION-ID": None})
    assert merged == {"accept": "b"}


@pytest.mark.parametrize(
    "value, sent",
    [
        ("us-west1", "us-west1"),
        (True, "true"),
        (False, "false"),
        (-7, "-7"),
        ("", ""),
        ("Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="),
        (" padded ", "=?base64?IHBhZGRlZCA=?="),
        ("line1\nline2", "=?base64?bGluZTEKbGluZTI=?="),
        ("=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
    ],
)
def test_header_values_are_encoded_when_unsafe(value, sent):
    assert header_text(value) == sent
    assert decoded_header(sent) == (value if isinstance(value, str) else sent)


def test_malformed_base64_header_is_not_decoded():
    assert decoded_header("=?base64?not base64!?=") is None


def test_header_params_follow_properties_only():
    schema = {
        "type": "object",
        "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "nested": {"type": "object", "properties": {"flag": {"type": "boolean", "x-mcp-header": "Flag"}}},
            "list": {"type": "array", "items": {"type": "string", "x-mcp-header": "Item"}},
            "ratio": {"type": "number", "x-mcp-header": "Ratio"},
            "other": {"type": "string", "x-mcp-header": "region"},
            "spaced": {"type": "string", "x-mcp-header": "Two Words"},
        },
    }
    found, problems = header_params(schema)
    assert found == [(("region",), "Region"), (("nested", "flag"), "Flag"), (("other",), "region")]
    assert len(problems) == 4 and "more than once" in problems[-1]
    assert any("/properties/list/items" in p for p in problems)


def test_modern_requests_carry_mirrored_headers(serve, sessions):
    session = sessions(HttpTransport(serve().url, timeout=5))
    session.revision = "2026-07-28"
    # route_query's arguments are checked against its Mcp-Param-* headers: a call succeeds
    # only when the transport derived them (learning the tool from a listing of its own).
    call = session.request("tools/call", {"name": "route_query", "arguments": {"region": "Grüße", "verbose": True}})
    assert call.kind is jsonrpc.Kind.RESULT, call.text()
    assert session.request("resources/read", {"uri": "test://static-text"}).kind is jsonrpc.Kind.RESULT
    assert session.transport.session_id is None
    refused = session.transport.exchange(
        "POST",
        jsonrpc.encode(jsonrpc.request("x", "server/discover", {"_meta": session.request_meta()})),
        headers={"Mcp-Method": "tools/list"},
    )
    assert refused.status == 400 and refused.response_to("x").error_code == -32020


def test_same_origin():
    assert same_origin("http://127.0.0.1:5/sse", "http://127.0.0.1:5/messages?x=1")
    assert not same_origin("http://127.0.0.1:5/sse", "http://127.0.0.1:6/messages")
    assert not same_origin("http://127.0.0.1:5/sse", "https://127.0.0.1:5/messages")


# -- Streamable HTTP transport ---------------------------------------------------------------------
@pytest.mark.parametrize("mode", [(), ("--json-response",)], ids=["sse-answers", "json-answers"])
def test_http_transport_carries_a_session(serve, sessions, mode):
    server = serve(*mode)
    session = sessions(HttpTransport(server.url, timeout=5))
    transport = session.transport
    response = session.initialize("2025-11-25")
    assert response.kind is jsonrpc.Kind.RESULT
    assert transport.session_id and transport.protocol_version == "2025-11-25"
    assert transport.session_headers() == {"Mcp-Session-Id": transport.session_id, "MCP-Protocol-Version": "2025-11-25"}
    assert session.request("ping").result == {}
    note = "HTTP 200 application/json" if mode else "HTTP 200 text/event-stream"
    assert [e.note for e in session.transcript if e.direction == "<-"] == [note, note]
    # Raw malformed input becomes a POST with that body; the 400 carries the JSON-RPC error.
    session.send_raw(b"this is not json\n")
    error = session.wait_for(lambda m: m.kind is jsonrpc.Kind.ERROR, 2)
    assert error is not None and error.id is None and error.error_code == jsonrpc.PARSE_ERROR
    # A slow tool: progress and the result arrive after the POST's status line.
    call = session.request(
        "tools/call", {"name": "count_slowly", "arguments": {"count": 2}, "_meta": {"progressToken": "p"}}
    )
    assert call.kind is jsonrpc.Kind.RESULT
    progress = next((m for m in session.received() if m.method == "notifications/progress"), None)
    assert progress or session.wait_for(lambda m: m.method == "notifications/progress", 2)
    assert any(line.startswith("POST initialize -> 200") for line in transport.http_log)
    assert "POST notifications/initialized -> 202" in transport.http_log


def test_http_get_stream_brings_unrelated_messages(serve, sessions):
    session = sessions(HttpTransport(serve().url, timeout=5))
    session.initialize("2025-11-25")
    assert session.request("resources/subscribe", {"uri": "test://watched-resource"}).kind is jsonrpc.Kind.RESULT
    update = session.wait_for(lambda m: m.method == "notifications/resources/updated", 3)
    assert update is not None
    assert next(e for e in session.transcript if e.message is update).note == "HTTP GET stream"


def test_http_close_deletes_the_session(serve):
    server = serve()
    session = open_session(HttpTransport(server.url, timeout=5))
    session.initialize("2025-06-18")
    session_id = session.transport.session_id
    session.close()
    assert any(line.startswith("DELETE /mcp -> 204") for line in session.transport.http_log)
    probe = open_session(HttpTransport(server.url, timeout=5))
    try:
        answer = probe.transport.exchange("POST", PING, headers={"Mcp-Session-Id": session_id})
        assert answer.status == 404
    finally:
        probe.close()


def test_http_ended_session_closes_the_transport(serve, sessions):
    session = sessions(HttpTransport(serve().url, timeout=5))
    session.initialize("2025-11-25")
    assert session.transport.exchange("DELETE").status == 204
    started = time.monotonic()
    with pytest.raises(TransportClosed, match="404"):
        session.request("ping")
    assert time.monotonic() - started < 2 and session.transport.stdout_eof


def test_http_refused_request_is_recorded(serve, sessions):
    session = sessions(HttpTransport(serve().url, timeout=5))
    session.send({"jsonrpc": "2.0", "id": 9, "method": "ping"})  # no session yet: 400
    deadline = time.monotonic() + 2
    while "9" not in session.transport.refused and time.monotonic() < deadline:
        time.sleep(0.02)
    assert session.transport.refused == {"9": 400}


def test_http_raw_exchange_is_bounded(serve, sessions):
    session = sessions(HttpTransport(serve().url, timeout=5))
    session.initialize("2025-11-25")
    started = time.monotonic()
    stream = session.transport.exchange("GET", timeout=0.5, read_for=0.5)
    assert time.monotonic() - started < 1.5
    assert stream.status == 200 and stream.is_sse and not stream.complete
    assert [e.data for e in stream.events] == [b""] and stream.events[0].id  # the priming event


def test_http_unreachable_endpoint_is_a_clean_error(sessions):
    from conformance.transport.launch import free_port

    session = sessions(HttpTransport(f"http://127.0.0.1:{free_port()}/mcp", timeout=2))
    with pytest.raises(TransportClosed, match="failed"):
        session.request("ping")


# -- HTTP+SSE transport ---------------------------------------------------------------------
def test_sse_transport_carries_a_session(serve, sessions):
    server = serve("--transport", "sse", path="/sse")
    session = sessions(SseTransport(server.url, timeout=5))
    transport = session.transport
    assert transport.endpoint_url.startswith(server.url.removesuffix("/sse") + "/messages?session_id=")
    assert session.initialize("2024-11-05").kind is jsonrpc.Kind.RESULT
    assert session.request("ping").result == {}
    assert {e.note for e in session.transcript if e.direction == "<-"} == {"SSE message event"}


def test_sse_transport_needs_the_endpoint_event(serve):
    server = serve("--transport", "sse", "--fault", "sse-no-endpoint-event", path="/sse")
    transport = SseTransport(server.url, timeout=2)
    with pytest.raises(Exception, match="not `endpoint`"):
        transport.start()


# -- launching ---------------------------------------------------------------------------------
def test_launch_reports_an_early_exit_with_its_output():
    command = f"{shlex.quote(sys.executable)} -c \"import sys; sys.stderr.write('boom {{port}}\\n'); sys.exit(4)\""
    server = LaunchedServer(command, timeout=5)
    with pytest.raises(ServerStartError) as caught:
        server.ensure_running()
    assert caught.value.exit_code == 4 and f"boom {server.port}" in caught.value.stderr_tail


def test_launch_gives_up_on_a_server_that_never_listens():
    server = LaunchedServer("sleep 30 {port}", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ServerStartError, match="did not accept connections"):
        server.ensure_running()
    assert time.monotonic() - started < 5
    assert server.exit_code is not None  # stopped


def test_launch_needs_a_port():
    with pytest.raises(ServerStartError, match=r"\{port\}"):
        LaunchedServer("python -m something", timeout=1).ensure_running()


def test_launch_stops_the_whole_process_group():
    command = f"sh -c 'sleep 60 & exec {REFERENCE}'".replace("{port}", "$0") + " {port}"
    server = LaunchedServer(command, timeout=15)
    server.ensure_running()
    group = server.proc.pid
    os.killpg(group, 0)  # the group exists
    server.stop()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("processes of the server's group are still running")


def test_launch_restarts_a_dead_server():
    server = LaunchedServer(REFERENCE, timeout=15)
    try:
        server.ensure_running()
        os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait(5)
        session = open_session(HttpTransport(timeout=5, server=server))  # starting it starts the server again
        try:
            assert session.initialize("2025-11-25").kind is jsonrpc.Kind.RESULT
            assert server.exit_code is None and session.transport.url == server.url
        finally:
            session.close()
    finally:
        server.stop()


def test_launch_moves_off_a_port_another_process_took(monkeypatch):
    """The port chosen for `{port}` is taken by another server before ours binds it: the
    start is retried on a new port instead of talking to the other server (seen in CI)."""
    import conformance.transport.launch as launch

    other, ours = LaunchedServer(REFERENCE, timeout=15), LaunchedServer(REFERENCE, timeout=15)
    try:
        other.ensure_running()
        chosen = iter([other.port])
        real = launch.free_port
        monkeypatch.setattr(launch, "free_port", lambda: next(chosen, None) or real())
        ours.ensure_running()
        assert ours.port != other.port and launch.listener_group(ours.port) == ours.proc.pid
    finally:
        ours.stop()
        other.stop()


def test_make_transport_kinds():
    assert isinstance(make_transport("stdio", command="cat", timeout=1), StdioTransport)
    assert make_transport("http", url="http://127.0.0.1:1/mcp", timeout=1).url == "http://127.0.0.1:1/mcp"
    launched = make_transport("sse", command=REFERENCE, timeout=1)
    assert isinstance(launched, SseTransport) and launched.server.path == "/sse"
    for kind, options in [("ws", {"url": "x"}), ("http", {}), ("stdio", {"url": "x"})]:
        with pytest.raises(ValueError):
            make_transport(kind, timeout=1, **options)


# -- the suite over HTTP ------------------------------------------------------------------------
def every_http_check() -> set[str]:
    return {c.name for c in all_checks() if c.area == "http"}


def test_every_http_check_has_a_fault():
    uncovered = every_http_check() - {fault.check for fault in FAULTS.values()}
    assert not uncovered, f"HTTP checks no reference fault can fail: {sorted(uncovered)}"


@pytest.fixture
def run_over(run_suite):
    """run_over(kind, server_args, *pytest_args) -> SuiteRun, the suite over `kind`."""

    def run(kind: str, server_args: str, *pytest_args: str):
        return run_suite(f"{REFERENCE} --transport {kind} {server_args}", "--mcp-transport", kind, *pytest_args)

    return run


# The stdio framing check reads every transport note as a framing problem: stdio only.
# The fuzzing checks are judged over stdio (tests/test_faults.py), where they are cheaper.
NOT_OVER_HTTP = "not test_stdout_carries_only_messages and not fuzz"
MODERN_ONLY_SERVER_CHECKS = {"test_http_modern_get_delete_405"}  # skipped for the dual-era reference


def passed_checks(result) -> set[str]:
    return {n.split("[")[0] for n, o in result.outcomes.items() if o == "passed"}


@pytest.mark.parametrize("kind", ["http", "sse"])
def test_clean_reference_passes_over(run_over, kind):
    """Every revision, the modern era included, over Streamable HTTP and over HTTP+SSE
    (stdio: tests/test_faults.py)."""
    result = run_over(kind, "", "-k", NOT_OVER_HTTP, "-n", "2")
    bad = {n: o for n, o in result.outcomes.items() if o not in ("passed", "skipped", "informational")}
    assert not bad, result.explain(bad)
    expected = {name for name in every_http_check() if name.startswith(f"test_{kind}_")} - MODERN_ONLY_SERVER_CHECKS
    missing = sorted(expected - passed_checks(result))
    assert not missing, f"not passed: {missing}\n{result.summary()}"
    assert sum(o == "passed" for o in result.outcomes.values()) > 150
    if kind == "http":
        assert result.counts()["2026-07-28"]["passed"] > 50, result.summary()


def test_clean_modern_only_reference_passes_the_http_checks(run_over):
    result = run_over("http", "--era modern", "-k", "test_http_", "--mcp-version", "2026-07-28")
    bad = {n: o for n, o in result.outcomes.items() if o not in ("passed", "skipped")}
    assert not bad, result.explain(bad)
    modern = {name for name in every_http_check() if name.startswith("test_http_") and "_modern_" in name}
    assert modern <= passed_checks(result), f"not passed: {sorted(modern - passed_checks(result))}"


@pytest.mark.parametrize("server_args", ["--json-response", "--no-get-stream"])
def test_clean_reference_variants_pass_the_http_checks(run_over, server_args):
    result = run_over("http", server_args, "-k", "test_http_", *(f"--mcp-version={r}" for r in LEGACY))
    bad = {n: o for n, o in result.outcomes.items() if o not in ("passed", "skipped", "informational")}
    assert not bad, result.explain(bad)
    if server_args == "--no-get-stream":
        assert result.outcomes["test_http_get_stream_or_405"] == "informational"


@pytest.mark.parametrize("name", sorted(set(FAULTS) - set(AUTH_FAULTS)))  # auth ones: tests/test_auth.py
def test_http_fault_is_caught_by_its_check(run_over, name):
    fault = FAULTS[name]
    kind = "sse" if name.startswith("sse-") else "http"
    revisions = [fault.revision] if fault.revision >= "2026" else LEGACY
    result = run_over(
        kind, f"--fault {name} {fault.server_args}", "-k", fault.check, *(f"--mcp-version={r}" for r in revisions)
    )
    found = {o for n, o in result.outcomes.items() if n.split("[")[0] == fault.check}
    assert fault.outcome in found, (
        f"fault {name} should make {fault.check} {fault.outcome}, got {found}\n" + result.output[-4000:]
    )
