"""HTTP transports: Streamable HTTP (2025-03-26 on) and the deprecated HTTP+SSE (2024-11-05).

These checks speak HTTP directly (status codes, headers, SSE events) through the
transport's `exchange()`; every exchange appears in the check's transcript. They apply
only when the run uses that transport; otherwise they are skipped. In the modern era
(2026-07-28) there are no sessions, and the headers mirrored from the body (Mcp-Method,
Mcp-Name, Mcp-Param-*) must match it: checks that send wrong headers override the ones the
transport derives.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#streamable-http
      https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
      https://modelcontextprotocol.io/specification/2024-11-05/basic/transports#http-with-sse
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter, defaultdict

from conformance import generate, jsonrpc
from conformance.checks import expect, fail, info, modern_only, not_applicable, requirement, should
from conformance.discovery import declares, list_all, may_call
from conformance.jsonrpc import Kind
from conformance.schema import legacy_revisions
from conformance.session import BARRIER_WINDOW, META
from conformance.transport import TransportError
from conformance.transport.http import METHOD_HEADER, NAME_HEADER, PARAM_HEADER, header_params, header_text

SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
FOREIGN_ORIGIN = "http://dns-rebinding.invalid"
NEVER_A_REVISION = "1999-01-01"
HEADER_MISMATCH = -32020
UNSUPPORTED_PROTOCOL_VERSION = -32022
NEEDS_ENCODING = "Grüße, 世界"  # a string argument only the Base64 sentinel form can carry


# -- helpers ---------------------------------------------------------------------------------
def _require(mcp_target, kind: str) -> None:
    used = getattr(mcp_target, "transport_kind", "stdio")
    if used != kind:
        name = {"http": "Streamable HTTP", "sse": "HTTP+SSE (2024-11-05)"}[kind]
        not_applicable(f"a check of the {name} transport; this run uses {used}")


def _legacy(revision: str) -> None:
    if revision >= "2026":
        not_applicable(f"{revision} is a modern-era revision (legacy-era transport check)")


def _latest_legacy(mcp_target) -> str:
    """The newest legacy revision the server supports (for checks not tied to a revision)."""
    for revision in reversed([r for r in mcp_target.revisions if r < "2026"]):
        if mcp_target.support(revision).supported:
            return revision
    not_applicable("the server supports none of the legacy revisions tested")


def _connect(mcp_target, mcp_connect, revision: str | None = None, initialize: bool = True):
    """A fresh session whose transport opens no GET stream of its own (checks open theirs)."""
    session = mcp_connect(initialize=False, revision=revision or _latest_legacy(mcp_target))
    session.transport.listen = False
    if initialize:
        session.initialize(session.revision)
    return session


def _ping(request_id) -> bytes:
    return jsonrpc.encode(jsonrpc.request(request_id, "ping"))


def _answered(request_id):
    return lambda exchange: exchange.response_to(request_id) is not None


def _status(exchange) -> str:
    return f"HTTP {exchange.status}" if exchange.status is not None else f"no answer ({exchange.error})"


def _ok(exchange) -> bool:
    return exchange.status is not None and 200 <= exchange.status < 300


def _raw(conversation, method: str = "POST", body: bytes | None = None, **options):
    """One raw HTTP exchange on the session's transport, written to the session's transcript."""
    return conversation.exchange(method, body, **options)


# -- Streamable HTTP: sending messages ---------------------------------------------------------
@requirement("transports-016", "transports-021", "transports-028")
def test_http_post_answered_json_or_sse(mcp_target, mcp_connect):
    """A request POSTed with `Accept: application/json, text/event-stream` is answered with
    Content-Type application/json (one JSON object: the response) or text/event-stream (an
    SSE stream, which should carry the response)."""
    _require(mcp_target, "http")
    session = _connect(mcp_target, mcp_connect)
    request_id = "conformance-post"
    exchange = _raw(session, "POST", _ping(request_id), until=_answered(request_id))
    expect(_ok(exchange), f"a POSTed ping got {_status(exchange)}")
    expect(
        exchange.content_type in ("application/json", "text/event-stream"),
        f"a POSTed request must be answered as application/json or text/event-stream, "
        f"got Content-Type {exchange.content_type or '(none)'}",
    )
    if exchange.content_type == "application/json":
        messages = exchange.messages
        expect(
            len(messages) == 1 and messages[0].is_response and jsonrpc.same_id(request_id, messages[0].id),
            f"a JSON answer must be the one response to the request, got {exchange.content[:300]!r}",
        )
    else:
        should(
            exchange.response_to(request_id) is not None,
            f"the SSE answer to a ping carried no response ({exchange.summary()})",
        )


@requirement("transports-018", "transports-019")
def test_http_notification_accepted_202(mcp_target, mcp_connect):
    """A POSTed notification or response that the server accepts gets 202 Accepted with no
    body; input it cannot accept gets an HTTP error status, never another 2xx."""
    _require(mcp_target, "http")
    session = _connect(mcp_target, mcp_connect, initialize=False)
    session.initialize(session.revision, send_initialized=False)
    initialized = _raw(session, "POST", jsonrpc.encode(jsonrpc.notification("notifications/initialized")))
    expect(
        initialized.status == 202, f"the initialized notification must be accepted with 202, got {_status(initialized)}"
    )
    expect(not initialized.content.strip(), f"a 202 answer has no body, got {initialized.content[:200]!r}")
    others = {
        "an unknown notification": jsonrpc.notification("notifications/conformance/unknown"),
        "a response to no request": jsonrpc.result("conformance-unsolicited", {}),
    }
    for what, obj in others.items():
        exchange = _raw(session, "POST", jsonrpc.encode(obj))
        expect(exchange.status is not None, f"{what} got {_status(exchange)}")
        expect(
            exchange.status == 202 or exchange.status >= 400,
            f"{what} must get 202 (accepted) or an error status (not accepted), got HTTP {exchange.status}",
        )
        if exchange.status == 202:
            expect(not exchange.content.strip(), f"a 202 answer has no body, got {exchange.content[:200]!r}")


@requirement("transports-039")
def test_http_get_stream_or_405(mcp_target, mcp_connect):
    """A GET of the MCP endpoint (Accept: text/event-stream) opens an SSE stream, or is
    refused with 405 Method Not Allowed when the server offers none."""
    _require(mcp_target, "http")
    session = _connect(mcp_target, mcp_connect)
    exchange = _raw(session, "GET", until=lambda e: True)  # the status line and headers are enough
    expect(exchange.status is not None, f"GET got {_status(exchange)}")
    if exchange.status == 405:
        info("the server offers no GET stream (405)")
        return
    expect(
        _ok(exchange) and exchange.is_sse,
        f"GET must open an SSE stream (text/event-stream) or get 405, got {exchange.summary()}",
    )


# -- Streamable HTTP: sessions ----------------------------------------------------------------
@requirement("transports-055", "transports-056", "transports-057")
def test_http_session_id_visible_ascii(mcp_target, mcp_connect):
    """A session id, if the server assigns one with the initialize answer, consists of
    visible ASCII only (0x21 to 0x7E), and two sessions should not share one."""
    _require(mcp_target, "http")
    session_id = _connect(mcp_target, mcp_connect).transport.session_id
    if session_id is None:
        info("the server assigns no MCP-Session-Id: it runs without sessions (allowed)")
        return
    bad = sorted({c for c in session_id if not 0x21 <= ord(c) <= 0x7E})
    expect(session_id and not bad, f"the session id {session_id!r} holds characters outside visible ASCII: {bad}")
    other = _connect(mcp_target, mcp_connect).transport.session_id
    should(other != session_id, f"two sessions got the same session id {session_id!r}")


def _latest_known(mcp_target) -> str:
    """The newest legacy revision of the run, without asking the server anything."""
    return [r for r in mcp_target.revisions if r < "2026"][-1]


def _session(mcp_target, mcp_connect):
    session = _connect(mcp_target, mcp_connect)
    if session.transport.session_id is None:
        not_applicable("the server assigns no MCP-Session-Id (it runs without sessions)")
    return session


@requirement("transports-060")
def test_http_session_id_required(mcp_target, mcp_connect):
    """A server that requires its session id should answer a request without one (other
    than initialize) with 400 Bad Request."""
    _require(mcp_target, "http")
    session = _session(mcp_target, mcp_connect)
    exchange = _raw(session, "POST", _ping("conformance-no-session"), headers={SESSION_HEADER: None})
    expect(exchange.status is not None, f"a request without the session id got {_status(exchange)}")
    if _ok(exchange):
        info("the server answers requests without the session id: it does not require it")
        return
    should(
        exchange.status == 400,
        f"a request without the session id should get 400 Bad Request, got HTTP {exchange.status}",
    )


@requirement("transports-061")
def test_http_unknown_session_404(mcp_target, mcp_connect):
    """A request with a session id the server does not know (never issued, or ended)
    should get 404 Not Found: the answer the spec gives for an ended session."""
    _require(mcp_target, "http")
    session = _session(mcp_target, mcp_connect)
    unknown = f"conformance-unknown-{secrets.token_hex(8)}"
    exchange = _raw(session, "POST", _ping("conformance-unknown"), headers={SESSION_HEADER: unknown})
    should(
        exchange.status == 404,
        f"a request with a session id the server never issued got {_status(exchange)}, not 404 Not Found",
    )


@requirement("transports-061", "transports-063", "transports-064")
def test_http_terminated_session_404(mcp_target, mcp_connect):
    """After the session has ended (the server accepted its DELETE), every request with its
    id gets 404 Not Found. A server may refuse DELETE with 405."""
    _require(mcp_target, "http")
    session = _session(mcp_target, mcp_connect)
    deleted = _raw(session, "DELETE")
    if deleted.status == 405:
        info("the server does not let clients end sessions (DELETE got 405, allowed)")
        return
    if not _ok(deleted):
        info(f"DELETE of the session got {_status(deleted)}: the session could not be ended to test 404")
        return
    after = _raw(session, "POST", _ping("conformance-after-delete"))
    if _ok(after):
        should(False, f"DELETE was accepted (HTTP {deleted.status}) but the session still answers")
        return
    expect(
        after.status == 404,
        f"after the session ended (DELETE got HTTP {deleted.status}), a request with its "
        f"id got {_status(after)}; it must get 404 Not Found",
    )


@requirement("transports-068")
def test_http_unsupported_protocol_version_400(mcp_target, mcp_connect, revision):
    """A request whose MCP-Protocol-Version header names a version the server does not
    support gets 400 Bad Request (the header exists from 2025-06-18 on)."""
    _require(mcp_target, "http")
    _legacy(revision)
    if revision < "2025-06-18":
        not_applicable(f"{revision} predates the MCP-Protocol-Version header (2025-06-18)")
    session = _connect(mcp_target, mcp_connect, revision)
    exchange = _raw(session, "POST", _ping("conformance-bad-version"), headers={VERSION_HEADER: NEVER_A_REVISION})
    expect(
        exchange.status == 400,
        f"a request with {VERSION_HEADER}: {NEVER_A_REVISION} must get 400 Bad Request, got {_status(exchange)}",
    )


# -- Streamable HTTP: security ---------------------------------------------------------------
@requirement("transports-009", "transports-010", "2026-07-28/streamable-http-002", "2026-07-28/streamable-http-003")
def test_http_foreign_origin_rejected(mcp_target, mcp_connect, revision):
    """A request carrying an Origin of another site (DNS rebinding) is refused; from
    2025-11-25 on the refusal is 403 Forbidden."""
    _require(mcp_target, "http")
    session = mcp_connect(initialize=False)
    first = "server/discover" if revision >= "2026" else "initialize"
    body = (
        _modern_body(session, "conformance-origin", first)
        if revision >= "2026"
        else session.transport.initialize_body(revision)
    )
    exchange = _raw(session, "POST", body, session=False, headers={"Origin": FOREIGN_ORIGIN})
    expect(exchange.status is not None, f"{first} with a foreign Origin got {_status(exchange)}")
    expect(
        exchange.status >= 400,
        f"{first} with Origin: {FOREIGN_ORIGIN} was served (HTTP {exchange.status}): "
        "the server must validate Origin against DNS rebinding",
    )
    if revision >= "2025-11-25":
        expect(exchange.status == 403, f"a foreign Origin must get 403 Forbidden, got HTTP {exchange.status}")
    elif exchange.status != 403:
        info(f"a foreign Origin got HTTP {exchange.status} (from 2025-11-25 on it must be 403)")


# -- Streamable HTTP: SSE streams ---------------------------------------------------------------
@requirement("transports-023")
def test_http_sse_priming_event(mcp_target, mcp_connect, revision):
    """From 2025-11-25 on, an SSE stream answering a POST should start at once with an event
    that has an id and empty data, so the client can reconnect from it."""
    _require(mcp_target, "http")
    _legacy(revision)
    if revision < "2025-11-25":
        not_applicable(f"{revision} predates priming events (2025-11-25)")
    session = _connect(mcp_target, mcp_connect, revision)
    request_id = "conformance-priming"
    exchange = _raw(session, "POST", _ping(request_id), until=_answered(request_id))
    if not exchange.is_sse:
        not_applicable(f"the server answers requests with JSON bodies, not SSE streams ({exchange.summary()})")
    first = exchange.events[0] if exchange.events else None
    if first is not None and not any(event.id for event in exchange.events):
        info(
            "the SSE stream carries no event ids at all (no resumption to prime for); the spec asks "
            "for a first event with an id and empty data"
        )
        return
    should(
        first is not None and first.id and not first.data.strip(),
        "the SSE stream should start with an event carrying an id and empty data; first event: "
        + (f"id={first.id!r} data={first.data[:100]!r}" if first else "none"),
    )


def _several_streams(session, count: int = 3):
    """A GET stream (if offered) held open while `count` pings are POSTed at once, and for
    BARRIER_WINDOW after the last answer: a copy of an answer sent on the GET stream goes out
    when the answer does, and nothing orders the two streams. Returns (the GET exchange,
    {request id: POST exchange})."""
    budget = 2 * session.timeout + 1
    opened = threading.Event()
    found: dict = {}

    def on_headers(exchange):
        found["live"] = exchange  # to be cut once the window is over
        opened.set()

    def listen():
        try:
            found["get"] = _raw(session, "GET", read_for=budget, on_headers=on_headers)
        finally:
            opened.set()

    def post(request_id):
        found[request_id] = _raw(session, "POST", _ping(request_id), until=_answered(request_id))

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    opened.wait(session.timeout)
    ids = [f"conformance-stream-{n}" for n in range(count)]
    posters = [threading.Thread(target=post, args=(request_id,), daemon=True) for request_id in ids]
    for thread in posters:
        thread.start()
    deadline = time.monotonic() + budget
    for thread in posters:
        thread.join(max(0.0, deadline - time.monotonic()))
    listener.join(BARRIER_WINDOW)
    if "live" in found:
        found["live"].abort()
    listener.join(max(0.0, deadline - time.monotonic()))
    missing = [request_id for request_id in ids if request_id not in found]
    expect(not missing, f"POSTs of {missing} did not finish within {budget:g}s")
    return found.get("get"), {request_id: found[request_id] for request_id in ids}


@requirement("transports-046", "transports-047", "transports-042")
def test_http_concurrent_streams(mcp_target, mcp_connect):
    """With a GET stream open and several requests POSTed at once, each response comes once,
    in the answer to its own POST; no message goes out on two streams, and no response on
    the GET stream (watched until BARRIER_WINDOW, 0.2 s, after the last answer)."""
    _require(mcp_target, "http")
    session = _connect(mcp_target, mcp_connect)
    get, posts = _several_streams(session)
    streams = {f"POST {request_id}": exchange for request_id, exchange in posts.items()}
    for request_id, exchange in posts.items():
        expect(_ok(exchange), f"ping {request_id} got {_status(exchange)}")
        answers = [m for m in exchange.messages if m.is_response and jsonrpc.same_id(request_id, m.id)]
        expect(len(answers) <= 1, f"ping {request_id} was answered {len(answers)} times")
        should(answers, f"the answer to ping {request_id} carried no response ({exchange.summary()})")
    if get is not None and _ok(get) and get.is_sse:
        streams["GET"] = get
        responses = [m.text()[:200] for m in get.messages if m.is_response]
        expect(not responses, f"responses were sent on the GET stream (not a resumption): {responses}")
    where = defaultdict(set)
    for label, exchange in streams.items():
        for message in exchange.messages:
            if message.has_id and message.kind is not Kind.NOTIFICATION:
                where[(message.kind is Kind.REQUEST, str(message.id))].add(label)
    repeated = {key[1]: sorted(labels) for key, labels in where.items() if len(labels) > 1}
    expect(not repeated, f"messages were sent on more than one stream (id: streams): {repeated}")


@requirement("transports-049", "transports-050")
def test_http_sse_event_ids_unique(mcp_target, mcp_connect):
    """SSE event ids, where the server sends them, are unique across all streams of the
    session (a GET stream and several POST streams here)."""
    _require(mcp_target, "http")
    session = _connect(mcp_target, mcp_connect)
    get, posts = _several_streams(session)
    streams = [e for e in [get, *posts.values()] if e is not None and _ok(e) and e.is_sse]
    if not streams:
        not_applicable("the server opened no SSE stream (JSON answers and no GET stream)")
    ids = Counter(event.id for exchange in streams for event in exchange.events if event.id)
    if not ids:
        info("the server puts no ids on SSE events (allowed; its streams cannot be resumed)")
        return
    repeated = sorted(event_id for event_id, n in ids.items() if n > 1)
    expect(not repeated, f"SSE event ids repeat within the session ({len(streams)} streams): {repeated[:10]}")


@requirement("transports-036", "transports-052", "transports-053", "transports-054")
def test_http_resumption(mcp_target, mcp_connect):
    """A GET with Last-Event-ID may resume a broken SSE stream, replaying what followed
    that event; it must not replay messages that belonged to another stream. The resumed
    stream is read until it ends or stays quiet for BARRIER_WINDOW (0.2 s)."""
    _require(mcp_target, "http")
    session = _connect(mcp_target, mcp_connect)
    first, other = "conformance-resume-b", "conformance-resume-a"
    # Stream B: read up to its first event with an id, then drop the connection.
    broken = _raw(session, "POST", _ping(first), until=lambda e: any(event.id for event in e.events))
    if not broken.is_sse:
        not_applicable(f"the server answers requests with JSON bodies: no SSE stream to resume ({broken.summary()})")
    last = next((event.id for event in broken.events if event.id), None)
    if last is None:
        info("the server puts no ids on SSE events: there is nothing to resume from (allowed)")
        return
    # Stream A, read to its end: nothing of it may come back when B is resumed.
    complete = _raw(session, "POST", _ping(other), until=_answered(other))
    # A replay goes out as the stream opens: read until the server ends it, or it is quiet.
    resumed = _raw(session, "GET", headers={"Last-Event-ID": last}, idle=BARRIER_WINDOW)
    if not (_ok(resumed) and resumed.is_sse):
        info(f"GET with Last-Event-ID got {resumed.summary()}: the server does not resume streams (allowed)")
        return
    on_other = {m.raw for m in complete.messages if m.has_id}
    foreign = [
        m.text()[:200]
        for m in resumed.messages
        if (m.is_response and not jsonrpc.same_id(first, m.id)) or (m.has_id and m.raw in on_other)
    ]
    expect(not foreign, f"resuming stream B (after event {last!r}) replayed messages of another stream: {foreign}")
    if resumed.response_to(first) is None:
        info(f"resuming after event {last!r} replayed no response to {first!r} (replay is optional)")


# -- HTTP+SSE (2024-11-05) ------------------------------------------------------------------------
@requirement("transports-001")
def test_sse_endpoint_event(mcp_target, mcp_connect):
    """HTTP+SSE: a GET of the SSE endpoint opens an event stream whose first event is
    `endpoint`, naming the URL (on the same origin) that messages are POSTed to."""
    _require(mcp_target, "sse")
    try:
        session = mcp_connect(initialize=False, require_usable=False, revision=_latest_known(mcp_target))
    except TransportError as error:
        fail(f"the HTTP+SSE connection could not be set up: {error.reason}")
    exchange = _raw(session, "GET", url=session.transport.url, until=lambda e: bool(e.events))
    expect(
        _ok(exchange) and exchange.is_sse,
        f"GET of the SSE endpoint must open an event stream, got {exchange.summary()}",
    )
    expect(exchange.events, f"the SSE stream sent no event within {session.timeout:g}s")
    first = exchange.events[0]
    expect(first.event == "endpoint", f"the first SSE event is {first.event!r}, not `endpoint`")
    expect(first.data.strip(), "the endpoint event names no URL")


@requirement("transports-001")
def test_sse_post_answered_on_stream(mcp_target, mcp_connect):
    """HTTP+SSE: a message POSTed to the announced URL is accepted (2xx), and the response
    arrives on the SSE stream as a `message` event, not in the POST's answer."""
    _require(mcp_target, "sse")
    session = _connect(mcp_target, mcp_connect)
    request_id = "conformance-sse-ping"
    session.pending[request_id] = "ping"
    exchange = _raw(session, "POST", _ping(request_id))
    expect(_ok(exchange), f"a POST to the announced endpoint got {exchange.summary()}")
    response = session.wait_for(lambda m: m.is_response and jsonrpc.same_id(request_id, m.id), session.timeout)
    misplaced = " (it came in the POST's HTTP answer instead)" if exchange.response_to(request_id) else ""
    expect(response is not None, f"no response to the ping arrived on the SSE stream{misplaced}")


@requirement("transports-009")
def test_sse_foreign_origin_rejected(mcp_target, mcp_connect):
    """HTTP+SSE: the server validates Origin; a GET of the SSE endpoint with the Origin of
    another site (DNS rebinding) is refused."""
    _require(mcp_target, "sse")
    session = _connect(mcp_target, mcp_connect, initialize=False)
    exchange = _raw(session, "GET", url=session.transport.url, headers={"Origin": FOREIGN_ORIGIN}, until=lambda e: True)
    expect(exchange.status is not None, f"GET with a foreign Origin got {_status(exchange)}")
    expect(
        exchange.status >= 400,
        f"the SSE stream was opened for Origin: {FOREIGN_ORIGIN} (HTTP "
        f"{exchange.status}): the server must validate Origin against DNS rebinding",
    )


# -- Streamable HTTP, modern era (2026-07-28) ------------------------------------------------------
def _modern_session(mcp_target, mcp_connect, revision: str):
    """A fresh connection for raw modern-era exchanges (nothing sent yet)."""
    _require(mcp_target, "http")
    modern_only(revision)
    session = mcp_connect(initialize=False)
    session.transport.listen = False
    return session


def _modern_body(session, request_id: str, method: str, params: dict | None = None, meta: dict | None = None) -> bytes:
    """A modern request: `params` with the session's `_meta` (`meta` replaces it when given)."""
    params = dict(params or {})
    params["_meta"] = session.request_meta() if meta is None else meta
    return jsonrpc.encode(jsonrpc.request(request_id, method, params))


def _modern_raw(session, request_id: str, method: str, params: dict | None = None, **options):
    return _raw(
        session,
        "POST",
        _modern_body(session, request_id, method, params, options.pop("meta", None)),
        until=_answered(request_id),
        **options,
    )


def _modern_only_server(mcp_target) -> bool:
    return not any(mcp_target.support(r).supported for r in legacy_revisions())


def _note(condition, message: str) -> bool:
    """Like should(), for behaviour the spec asks only of other servers: noted, not graded."""
    if not condition:
        info(message)
    return bool(condition)


def _error_of(exchange, request_id):
    """The JSON-RPC error the answer carries for the request (or an id-less one), else None."""
    return next(
        (m for m in exchange.messages if m.kind is Kind.ERROR and (m.id is None or jsonrpc.same_id(request_id, m.id))),
        None,
    )


def _answer_text(exchange, request_id) -> str:
    answer = exchange.response_to(request_id) or _error_of(exchange, request_id)
    return answer.text()[:300] if answer is not None else f"no JSON-RPC response ({exchange.summary()})"


def _expect_header_mismatch(exchange, request_id, what: str) -> None:
    error = _error_of(exchange, request_id)
    expect(
        exchange.status == 400 and error is not None and error.error_code == HEADER_MISMATCH,
        f"{what} must get 400 Bad Request with error -32020 (HeaderMismatch), got {_status(exchange)}: "
        f"{_answer_text(exchange, request_id)}",
    )


def _named_request(mcp, policy: str):
    """A request that carries Mcp-Name and is harmless to serve: reading a listed resource,
    getting a listed prompt, or calling a tool the policy allows; None if there is none."""
    if declares(mcp, "resources") is not None:
        resources = list_all(mcp, "resources/list", "resources").items
        if resources and isinstance(resources[0], dict) and isinstance(resources[0].get("uri"), str):
            return "resources/read", {"uri": resources[0]["uri"]}
    if declares(mcp, "prompts") is not None:
        for prompt in list_all(mcp, "prompts/list", "prompts").items:
            if isinstance(prompt, dict) and isinstance(prompt.get("name"), str):
                required = [
                    a.get("name")
                    for a in prompt.get("arguments") or []
                    if isinstance(a, dict) and a.get("required") and isinstance(a.get("name"), str)
                ]
                return "prompts/get", {"name": prompt["name"], "arguments": dict.fromkeys(required, "conformance")}
    if declares(mcp, "tools") is not None:
        for tool in list_all(mcp, "tools/list", "tools").items:
            if isinstance(tool, dict) and isinstance(tool.get("name"), str) and may_call(tool, policy):
                return "tools/call", {"name": tool["name"], "arguments": _arguments(tool)}
    return None


def _arguments(tool: dict) -> dict:
    schema = tool.get("inputSchema") if isinstance(tool.get("inputSchema"), dict) else {}
    drawn = generate.examples(schema, count=1)
    return drawn[0] if drawn and isinstance(drawn[0], dict) else {}


@requirement("2026-07-28/streamable-http-080", "2026-07-28/streamable-http-081")
def test_http_modern_ignores_sessions(mcp_target, mcp_connect, revision):
    """Modern-era requests have no sessions: the answer carries no Mcp-Session-Id, and a
    request that brings an older client's session id and Last-Event-ID is served as if it
    had neither (asked of servers that speak only the modern era; noted for others)."""
    session = _modern_session(mcp_target, mcp_connect, revision)
    judge = should if _modern_only_server(mcp_target) else _note
    plain = _modern_raw(session, "conformance-plain", "server/discover")
    expect(
        _ok(plain) and plain.response_to("conformance-plain") is not None,
        f"server/discover got {_status(plain)}: {_answer_text(plain, 'conformance-plain')}",
    )
    judge(
        SESSION_HEADER.lower() not in plain.headers,
        f"the answer to a modern request carries {SESSION_HEADER}: {plain.headers.get(SESSION_HEADER.lower())}",
    )
    stale = _modern_raw(
        session,
        "conformance-stale",
        "server/discover",
        headers={SESSION_HEADER: f"conformance-{secrets.token_hex(8)}", "Last-Event-ID": "0"},
    )
    answer = stale.response_to("conformance-stale")
    judge(
        _ok(stale) and answer is not None and answer.kind is Kind.RESULT,
        f"a modern request with an older client's {SESSION_HEADER} and Last-Event-ID got {_status(stale)}: "
        f"{_answer_text(stale, 'conformance-stale')}; both headers should be ignored",
    )


@requirement("2026-07-28/streamable-http-079")
def test_http_modern_get_delete_405(mcp_target, mcp_connect, revision):
    """A server that speaks only the modern era has no GET stream and no sessions to end:
    GET and DELETE of the MCP endpoint should get 405 Method Not Allowed."""
    session = _modern_session(mcp_target, mcp_connect, revision)
    if not _modern_only_server(mcp_target):
        not_applicable("the server also speaks the legacy era, whose GET stream and DELETE it may serve")
    for method in ("GET", "DELETE"):
        exchange = _raw(session, method, until=lambda e: True)
        should(exchange.status == 405, f"{method} of the MCP endpoint got {_status(exchange)}, not 405")


@requirement("2026-07-28/streamable-http-064", "2026-07-28/streamable-http-072")
def test_http_standard_headers_required(mcp, mcp_target, mcp_connect, revision):
    """A modern request without its Mcp-Method header, or a resources/read, prompts/get or
    tools/call without Mcp-Name, is rejected with 400 Bad Request and error -32020
    (HeaderMismatch)."""
    session = _modern_session(mcp_target, mcp_connect, revision)
    cases = [(METHOD_HEADER, "server/discover", None)]
    named = _named_request(mcp, mcp_target.call_tools)
    if named is None:
        info("no listed resource or prompt, nor a tool that may be called: Mcp-Name was not tested")
    else:
        cases.append((NAME_HEADER, *named))
    for header, method, params in cases:
        request_id = f"conformance-no-{header.lower()}"
        exchange = _modern_raw(session, request_id, method, params, headers={header: None})
        _expect_header_mismatch(exchange, request_id, f"a {method} request without {header}")


@requirement(
    "2026-07-28/streamable-http-027",
    "2026-07-28/streamable-http-063",
    "2026-07-28/streamable-http-064",
    "2026-07-28/streamable-http-070",
)
def test_http_header_mismatch_rejected(mcp, mcp_target, mcp_connect, revision):
    """A modern request whose MCP-Protocol-Version, Mcp-Method or Mcp-Name header
    contradicts its body is rejected with 400 Bad Request and error -32020 (HeaderMismatch).
    A server may read a legacy version in MCP-Protocol-Version as a legacy request (its own
    rules then apply): that is noted, as long as the request is not served."""
    session = _modern_session(mcp_target, mcp_connect, revision)
    legacy = max(legacy_revisions())
    version = _modern_raw(session, "conformance-wrong-version", "server/discover", headers={VERSION_HEADER: legacy})
    error = _error_of(version, "conformance-wrong-version")
    expect(
        error is not None,
        f"a server/discover request with {VERSION_HEADER}: {legacy} (the body says {revision}) "
        f"was served: {_answer_text(version, 'conformance-wrong-version')}",
    )
    if not (version.status == 400 and error.error_code == HEADER_MISMATCH):
        info(
            f"a server/discover request with {VERSION_HEADER}: {legacy} got {_status(version)} with error "
            f"{error.error_code} (read as a {legacy} request, not as a HeaderMismatch): {error.text()[:200]}"
        )
    cases = [(METHOD_HEADER, "tools/list", "server/discover", None)]
    named = _named_request(mcp, mcp_target.call_tools)
    if named is None:
        info("no listed resource or prompt, nor a tool that may be called: Mcp-Name was not tested")
    else:
        cases.append((NAME_HEADER, "conformance-another-name", *named))
    for header, value, method, params in cases:
        request_id = f"conformance-wrong-{header.lower()}"
        exchange = _modern_raw(session, request_id, method, params, headers={header: value})
        _expect_header_mismatch(exchange, request_id, f"a {method} request with {header}: {value}")


@requirement("2026-07-28/streamable-http-028", "2026-07-28/streamable-http-029", "2026-07-28/basic-055")
def test_http_modern_error_statuses(mcp_target, mcp_connect, revision):
    """Over HTTP a request for a protocol version the server does not support gets 400 with
    UnsupportedProtocolVersionError (-32022); a request lacking a required `_meta` field is
    refused with 400; a method the server does not implement (unknown, or removed in this
    revision) gets 404 with -32601."""
    session = _modern_session(mcp_target, mcp_connect, revision)
    meta = session.request_meta()
    version = _modern_raw(
        session, "conformance-version", "server/discover", meta={**meta, META + "protocolVersion": NEVER_A_REVISION}
    )
    error = _error_of(version, "conformance-version")
    expect(
        version.status == 400 and error is not None and error.error_code == UNSUPPORTED_PROTOCOL_VERSION,
        f"a request for version {NEVER_A_REVISION} must get 400 with error -32022, got {_status(version)}: "
        f"{_answer_text(version, 'conformance-version')}",
    )
    lacking = _modern_raw(
        session,
        "conformance-lacking",
        "server/discover",
        meta={k: v for k, v in meta.items() if k != META + "clientCapabilities"},
    )
    if _error_of(lacking, "conformance-lacking") is not None:  # served: test_missing_required_meta_rejected says so
        expect(
            lacking.status == 400,
            f"a request lacking {META}clientCapabilities was refused with {_status(lacking)}, not 400 Bad Request",
        )
    unknown = _modern_raw(session, "conformance-unknown", "conformance/unknown-method")
    error = _error_of(unknown, "conformance-unknown")
    expect(
        unknown.status == 404 and error is not None and error.error_code == jsonrpc.METHOD_NOT_FOUND,
        f"an unknown method must get 404 with error -32601, got {_status(unknown)}: "
        f"{_answer_text(unknown, 'conformance-unknown')}",
    )
    for method, params in (("ping", None), ("logging/setLevel", {"level": "info"})):
        removed = _modern_raw(session, f"conformance-{method}", method, params)
        error = _error_of(removed, f"conformance-{method}")
        if error is not None and error.error_code == jsonrpc.METHOD_NOT_FOUND:  # else test_removed_methods_refused
            expect(
                removed.status == 404,
                f"{method} (removed in {revision}) got -32601 with {_status(removed)}, not 404 Not Found",
            )


def _annotated_tools(mcp) -> list[dict]:
    if declares(mcp, "tools") is None:
        not_applicable("the server does not declare the tools capability")
    tools = [
        t
        for t in list_all(mcp, "tools/list", "tools").items
        if isinstance(t, dict) and "x-mcp-header" in jsonrpc.encode(t.get("inputSchema")).decode()
    ]
    if not tools:
        not_applicable("no tool's inputSchema has an x-mcp-header annotation")
    return tools


@requirement(
    "2026-07-28/streamable-http-037",
    "2026-07-28/streamable-http-038",
    "2026-07-28/streamable-http-039",
    "2026-07-28/streamable-http-040",
    "2026-07-28/streamable-http-041",
    "2026-07-28/streamable-http-043",
    "2026-07-28/streamable-http-044",
)
def test_http_x_mcp_header_annotations_valid(mcp, mcp_target, revision):
    """Each `x-mcp-header` annotation of a tool's inputSchema is a non-empty HTTP token,
    unique (ignoring case) in that schema, on a string, integer or boolean property reached
    from the root through `properties` only (a client drops a tool that breaks this)."""
    _require(mcp_target, "http")
    modern_only(revision)
    problems = [
        f"{tool.get('name')}: {problem}"
        for tool in _annotated_tools(mcp)
        for problem in header_params(tool.get("inputSchema"))[1]
    ]
    expect(not problems, "x-mcp-header annotations break the rules: " + "; ".join(problems))


def _mirrored_argument(mcp, policy: str):
    """(tool, arguments, property, header) for a tool the policy allows with a top-level
    mirrored parameter; the argument needs Base64 where the schema lets a string be anything."""
    for tool in _annotated_tools(mcp):
        found, problems = header_params(tool.get("inputSchema"))
        top = [(path[0], name) for path, name in found if len(path) == 1]
        if problems or not may_call(tool, policy):
            continue
        drawn = _arguments(tool)
        for prop, name in top:
            encoded = {**drawn, prop: NEEDS_ENCODING}
            arguments = encoded if generate.is_valid(encoded, tool["inputSchema"]) else drawn
            if arguments.get(prop) is not None:  # a null or absent argument has no header
                return tool, arguments, prop, name
    not_applicable(f"no tool with a mirrored top-level parameter may be called under --mcp-call-tools={policy}")


def _contradiction(value):
    if isinstance(value, bool):
        return header_text(not value)
    if isinstance(value, int):
        return str(value + 1)
    return header_text(f"{value}-not")


@requirement(
    "2026-07-28/streamable-http-053",
    "2026-07-28/streamable-http-063",
    "2026-07-28/streamable-http-064",
    "2026-07-28/streamable-http-065",
    "2026-07-28/streamable-http-068",
    "2026-07-28/streamable-http-073",
)
def test_http_param_headers_validated(mcp, mcp_target, mcp_connect, revision):
    """For a tool parameter mirrored into an Mcp-Param-{Name} header, the server checks the
    header against the argument: matching headers (Base64-encoded where the value needs it)
    are accepted; a header contradicting the argument, or missing while the argument is
    given, gets 400 Bad Request with error -32020 (HeaderMismatch)."""
    session = _modern_session(mcp_target, mcp_connect, revision)
    tool, arguments, prop, name = _mirrored_argument(mcp, mcp_target.call_tools)
    header, params = PARAM_HEADER + name, {"name": tool["name"], "arguments": arguments}
    matching = _modern_raw(session, "conformance-param-ok", "tools/call", params)
    error = _error_of(matching, "conformance-param-ok")
    expect(
        matching.status is not None and not (error is not None and error.error_code == HEADER_MISMATCH),
        f"{tool['name']} called with {header}: {matching.request_headers.get(header)} for {prop}="
        f"{arguments[prop]!r} got {_status(matching)}: {_answer_text(matching, 'conformance-param-ok')}",
    )
    wrong = _contradiction(arguments[prop])
    for request_id, value, what in (
        ("conformance-param-wrong", wrong, f"{header}: {wrong}"),
        ("conformance-param-missing", None, f"no {header}"),
    ):
        exchange = _modern_raw(session, request_id, "tools/call", params, headers={header: value})
        _expect_header_mismatch(
            exchange, request_id, f"a call of {tool['name']} with {prop}={arguments[prop]!r} and {what}"
        )
