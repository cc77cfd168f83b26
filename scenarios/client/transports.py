"""The Streamable HTTP transport from the client's side (`--mcp-client` without {server}).

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#protocol-version-header
and https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
"""

from conformance.checks import blocked, expect, not_applicable, requirement, should
from conformance.jsonrpc import Kind
from conformance.peer import CANARY_PATH, HEADER_TOOLS, INVALID_HEADER_TOOLS, STANDARD_HEADERS, SUBSCRIPTIONS
from conformance.transport.http import (
    PARAM_HEADER,
    SENTINEL,
    SESSION_HEADER,
    argument_at,
    decoded_header,
    header_params,
    header_text,
    modern_headers,
)
from conformance.wire import supports_batches

HEADER = "mcp-protocol-version"
HEADER_SINCE = "2025-06-18"  # the first revision with the header
ANSWER_TYPES = ("application/json", "text/event-stream")
SESSION = SESSION_HEADER.lower()  # headers as the suite's server records them: lower case
PARAM = PARAM_HEADER.lower()


def http_record(client_run, scenario: str):
    record = client_run(scenario)
    if record.transport != "http":
        not_applicable(f"a Streamable HTTP rule; the client speaks {record.transport}")
    return record


def endpoint_requests(record) -> list[tuple[float, str, str, dict]]:
    """(time, HTTP method, what it carried, headers) of each request the client made to the
    MCP endpoint, in order: a POST per message, and its GETs and DELETEs."""
    posts = [
        (i.entry.t, "POST", i.message.method or i.message.kind.value, i.headers) for i in record.items if i.from_client
    ]
    others = [
        (e["t"], e["method"], "", e.get("headers") or {})
        for e in record.events
        if e.get("event") == "http" and e.get("method") in ("GET", "DELETE")
    ]
    return sorted(posts + others, key=lambda request: request[0])


def accepted_types(header: str) -> set[str]:
    """The media types an Accept header lists (parameters such as q dropped, lower case)."""
    return {part.split(";")[0].strip().lower() for part in header.split(",") if part.strip()}


def assigned_session(record) -> str:
    """The session id the suite's server gave with its initialize answer (skips without one)."""
    record.require_session()
    assigned = next((e["id"] for e in record.events if e.get("event") == "session"), None)
    if assigned is None:
        not_applicable(
            "the suite's server assigned no session: initialize was not answered "
            "(see test_client_connects_and_initializes)"
        )
    return assigned


def after_initialization(record) -> list[tuple[float, str, str, dict]]:
    """The client's endpoint requests from notifications/initialized on (it has read the
    initialize answer, and the session id in it, by then), or from its first request after
    that answer that is not a ping, when it sends no notifications/initialized."""
    answered = record.initialize_answered_at()
    later = [i for i in record.items[answered:] if i.from_client] if answered is not None else []
    first = next(
        (i for i in later if i.message.method == "notifications/initialized"),
        next((i for i in later if i.message.method != "ping"), None),
    )
    return [] if first is None else [r for r in endpoint_requests(record) if r[0] >= first.entry.t]


@requirement("lifecycle-014", "transports-065", "transports-066")
def test_http_protocol_version_header(client_run):
    """Once initialize is answered, every later POST carries MCP-Protocol-Version, naming
    the negotiated revision."""
    record = client_run("initialize")
    if record.transport != "http":
        not_applicable(f"a Streamable HTTP rule; the client speaks {record.transport}")
    record.require_session()
    if (record.answered or "") < HEADER_SINCE:
        not_applicable(f"the header exists from {HEADER_SINCE}; the session is in {record.answered}")
    answered = record.initialize_answered_at()
    later = [i for i in record.items[answered:] if i.from_client]
    missing = [f"{i.message.method or 'response'} (id {i.message.id})" for i in later if HEADER not in i.headers]
    expect(not missing, "POSTs after initialization without the MCP-Protocol-Version header: " + ", ".join(missing))
    other = sorted({i.headers[HEADER] for i in later if i.headers[HEADER] != record.answered})
    should(not other, f"MCP-Protocol-Version names {other}, not the negotiated {record.answered}")


@requirement(
    "2026-07-28/streamable-http-025",
    "2026-07-28/streamable-http-026",
    "2026-07-28/streamable-http-032",
    "2026-07-28/streamable-http-010",
    "2026-07-28/schema-006",
)
def test_http_modern_request_headers(client_run):
    """In the modern era every POSTed request carries MCP-Protocol-Version (the version in
    its `_meta`), Mcp-Method and, for a tools/call, resources/read or prompts/get, Mcp-Name,
    each matching the body. Judged on the scenarios modern and modern-standard-headers (the
    official http-standard-headers: a hyphenated tool name, resource URIs with a
    percent-encoded space and a query)."""
    posted = []
    for scenario in ("modern", STANDARD_HEADERS):
        record = http_record(client_run, scenario)
        posted += [
            (scenario, i)
            for i in record.items
            if i.from_client and i.message.kind is Kind.REQUEST and modern_headers(i.message)
        ]
    if not posted:
        not_applicable("the client sent no modern-era request (legacy era only)")
    wrong = []
    for scenario, item in posted:
        for name, value in modern_headers(item.message).items():
            sent = item.headers.get(name.lower())
            if sent != value:
                wrong.append(
                    f"{scenario}: {item.message.method} (id {item.message.id}): {name} is {sent!r}, expected {value!r}"
                )
    expect(
        not wrong,
        "modern-era requests whose standard headers are missing or do not match the body:\n  " + "\n  ".join(wrong),
    )


def posted_batch(record, item, schema_for) -> bool:
    """A message POSTed in a JSON-RPC batch, in a revision without batches (2025-03-26 had them)."""
    return (
        item.from_client
        and (item.batch or item.message.kind is Kind.BATCH)
        and record.transport == "http"
        and not supports_batches(schema_for(record.revision))
    )


@requirement(
    "transports-014",
    "transports-015",
    "transports-017",
    "2026-07-28/streamable-http-007",
    "2026-07-28/streamable-http-008",
    "2026-07-28/streamable-http-011",
)
def test_http_posts_one_message_each(client_run, mcp_client):
    """Each message the client sends is a POST of its own, to the MCP endpoint: no batch of
    several in one body (batches were allowed only in 2025-03-26), none POSTed to another
    path. Judged on the scenarios initialize, server-requests and modern. (A body that is
    no JSON-RPC message is test_writes_only_mcp_messages's.)"""
    wrong = []
    for scenario in ("initialize", "server-requests", "modern"):
        record = http_record(client_run, scenario)
        batches = {id(i.entry): i for i in record.items if posted_batch(record, i, mcp_client.schema_for)}
        wrong += [
            f"{scenario}: a batch of {i.batch} in one POST: {i.entry.format(200).strip()}" for i in batches.values()
        ]
        wrong += [
            f"{scenario}: POST to {e['path']}, not the MCP endpoint: {e['data'][:200]}"
            for e in record.events
            if e.get("event") == "http-elsewhere" and e.get("method") == "POST"
        ]
    expect(not wrong, "messages not POSTed one by one to the MCP endpoint:\n  " + "\n  ".join(wrong))


@requirement("transports-016", "transports-038", "2026-07-28/streamable-http-009")
def test_http_accept_headers(client_run):
    """Every POST to the MCP endpoint lists both application/json and text/event-stream in
    its Accept header, and every GET lists text/event-stream. Judged on the scenarios
    initialize (legacy era) and modern."""
    wrong, seen = [], 0
    for scenario in ("initialize", "modern"):
        record = http_record(client_run, scenario)
        for _, method, what, headers in endpoint_requests(record):
            wanted = ANSWER_TYPES if method == "POST" else ("text/event-stream",) if method == "GET" else ()
            seen += bool(wanted)
            missing = [t for t in wanted if t not in accepted_types(headers.get("accept", ""))]
            if missing:
                wrong.append(
                    f"{scenario}: {method} {what} with Accept {headers.get('accept')!r} does not list "
                    + " and ".join(missing)
                )
    if not seen:
        not_applicable("the client sent no POST or GET to the MCP endpoint")
    expect(not wrong, "requests whose Accept header lacks a type the client must accept:\n  " + "\n  ".join(wrong))


@requirement("transports-059")
def test_http_session_id_echoed(client_run):
    """The suite's server gives an MCP-Session-Id with its initialize answer; every later
    request of the client (POST, GET, DELETE: from notifications/initialized on) carries it."""
    record = http_record(client_run, "initialize")
    assigned = assigned_session(record)
    wrong = [
        f"{method} {what}".rstrip() + f" with MCP-Session-Id {headers.get(SESSION)!r}"
        for _, method, what, headers in after_initialization(record)
        if headers.get(SESSION) != assigned
    ]
    expect(
        not wrong,
        f"requests after initialization without the session id {assigned!r} they were given:\n  " + "\n  ".join(wrong),
    )


@requirement("transports-063")
def test_http_session_deleted_at_end(client_run):
    """A client done with its session should end it: a DELETE to the MCP endpoint naming the
    session id, before it exits. Blocked for a client that never echoed the id (owned by
    test_http_session_id_echoed)."""
    record = http_record(client_run, "initialize")
    assigned = assigned_session(record)
    requests = after_initialization(record)
    if not any(headers.get(SESSION) == assigned for *_, headers in requests):
        blocked(f"the client never sent the session id {assigned!r} back", "test_http_session_id_echoed")
    deleted = any(method == "DELETE" and headers.get(SESSION) == assigned for _, method, _, headers in requests)
    should(deleted, f"the client ended its run without a DELETE for its session {assigned!r}")


@requirement("transports-022", "2026-07-28/streamable-http-017", "2026-07-28/transports-002")
def test_http_json_and_sse_answers_handled(client_run):
    """The client takes a request's answer both as one JSON body and on an SSE stream: the
    suite's server answers what it can at once in JSON, and a request it answers later
    (after progress, after its own requests, or a tool call held until a second one is
    open) on a stream. After an SSE answer the client goes on (a next message) or ends
    cleanly (exit 0), as it did after the JSON answers of scenario initialize. Judged on
    the scenarios server-requests, progress and, for the modern era's binding,
    modern-subscriptions."""
    plain = http_record(client_run, "initialize")
    plain.require_session()
    if plain.outcome.exit_code != 0:
        not_applicable(
            f"the client exits with code {plain.outcome.exit_code} after a session answered in JSON "
            "only, so how it ends after an SSE answer says nothing"
        )
    stuck, streamed = [], 0
    for scenario in ("server-requests", "progress", SUBSCRIPTIONS):
        record = http_record(client_run, scenario)
        streamed += len(sse_answers(record))
        stuck += [f"{scenario}: {why}" for why in stuck_after(record, sse_answers(record), "the SSE answer")]
    if not streamed:
        not_applicable("no request of the client was answered on an SSE stream")
    expect(not stuck, "\n".join(stuck))


def sse_answers(record) -> list[dict]:
    return [e for e in record.events if e.get("event") == "answer" and e.get("as") == "sse"]


def stuck_after(record, answers: list[dict], what: str) -> list[str]:
    """Over HTTP, the answers (the peer's "answer" events) after which the client sent
    nothing more and did not end cleanly (exit 0): what it did then, for each."""
    if record.transport != "http" or record.outcome.exit_code == 0:
        return []
    return [
        f"after {what} to request {answer['id']!r} the client sent nothing more and ended: "
        + record.outcome.describe().splitlines()[0]
        for answer in answers
        if not any(i.from_client and i.entry.t > answer["t"] for i in record.items)
    ]


@requirement("2026-07-28/streamable-http-069")
def test_http_header_names_case_insensitive(client_run):
    """Header names compare case-insensitively: in scenario modern-standard-headers the
    suite's server writes every response header name in upper case (CONTENT-TYPE...). The
    client reads those answers as it reads the lower-case ones of scenario modern: after
    each it goes on (a next message) or ends cleanly (exit 0)."""
    plain = http_record(client_run, "modern")
    if not plain.modern_requests():
        not_applicable("the client sent no modern-era request in scenario modern (legacy era only)")
    if plain.outcome.exit_code != 0:
        not_applicable(
            f"the client exits with code {plain.outcome.exit_code} in scenario modern, where header "
            "names are lower case, so how it ends here says nothing"
        )
    record = http_record(client_run, STANDARD_HEADERS)
    if not record.modern_requests():
        not_applicable(f"the client sent no modern-era request in scenario {STANDARD_HEADERS}")
    answers = [e for e in record.events if e.get("event") == "answer"]
    if not answers:
        not_applicable(f"no request of the client was answered in scenario {STANDARD_HEADERS}")
    stuck = stuck_after(record, answers, "the answer (header names in upper case)")
    expect(not stuck, "\n".join(stuck))


@requirement("transports-062")
def test_http_new_session_after_404(client_run):
    """A request naming the client's session gets HTTP 404 once the server has ended that
    session (scenario session-expired: the first request past the handshake); the client
    then starts a new session with an initialize that carries no MCP-Session-Id."""
    record = http_record(client_run, "session-expired")
    record.require_session()
    ended = next((e for e in record.events if e.get("event") == "session-ended"), None)
    if ended is None:
        not_applicable("the client sent no request past its handshake, so the suite's server did not end the session")
    later = [(method, what, headers) for t, method, what, headers in endpoint_requests(record) if t > ended["t"]]
    initialize = next((headers for method, what, headers in later if method == "POST" and what == "initialize"), None)
    sent = ", ".join(f"{method} {what}".rstrip() for method, what, _ in later) or "nothing"
    expect(
        initialize is not None,
        f"after HTTP 404 for its session {ended['id']!r} the client did not initialize "
        f"anew: it sent {sent}, then {record.outcome.describe().splitlines()[0]}",
    )
    expect(
        SESSION not in initialize,
        f"the new initialize carries MCP-Session-Id {initialize.get(SESSION)!r}; a new session starts without one",
    )


@requirement(*(f"2026-07-28/streamable-http-{n}" for n in ("035", "036", "033", "051", "065", "066", "067")))
def test_http_custom_headers(client_run):
    """A modern tools/call mirrors each argument of a parameter annotated with x-mcp-header
    into Mcp-Param-{Name}: booleans lower-case, integers in decimal, strings as they are
    unless not plain printable ASCII or padded (then Base64 in the lowercase sentinel
    =?base64?...?=); a null or absent argument, or one not annotated, gets no header.
    Judged on scenario modern-custom-headers (the official http-custom-headers), whose
    MCP_CONFORMANCE_CONTEXT names the calls to make."""
    record = http_record(client_run, "modern-custom-headers")
    if not record.modern_requests():
        not_applicable("the client sent no modern-era request (legacy era only)")
    annotated = {tool["name"]: header_params(tool["inputSchema"])[0] for tool in HEADER_TOOLS}
    calls = [
        i
        for i in record.items
        if i.from_client
        and i.message.method == "tools/call"
        and isinstance(i.message.params, dict)
        and i.message.params.get("name") in annotated
    ]
    if not calls:
        not_applicable(
            f"the client called none of {sorted(annotated)}, the tools with x-mcp-header parameters "
            "that MCP_CONFORMANCE_CONTEXT's toolCalls name"
        )
    wrong = []
    for call in calls:
        name, arguments = call.message.params["name"], call.message.params.get("arguments") or {}
        wrong += [
            f"{name} (id {call.message.id}): {problem}"
            for problem in param_header_problems(annotated[name], arguments, call.headers)
        ]
    expect(not wrong, "tool calls whose Mcp-Param headers do not mirror their arguments:\n  " + "\n  ".join(wrong))


def param_header_problems(annotations, arguments, headers: dict) -> list[str]:
    """What is wrong with the Mcp-Param headers (lower-case names) of one call."""
    expected = {
        header.lower(): (header, value)
        for path, header in annotations
        if (value := argument_at(arguments, path)) is not None
    }
    sent = {name.removeprefix(PARAM): value for name, value in headers.items() if name.startswith(PARAM)}
    problems = []
    for key, (header, value) in expected.items():
        raw, wanted = sent.get(key), header_text(value)
        if raw is None:
            problems.append(f"no Mcp-Param-{header} for the argument {value!r}")
        elif wanted.startswith(SENTINEL[0]) and not raw.startswith(SENTINEL[0]):
            problems.append(
                f"Mcp-Param-{header} is {raw!r}; {value!r} must go as Base64 in the sentinel form {wanted!r}"
            )
        elif decoded_header(raw) != decoded_header(wanted):
            problems.append(
                f"Mcp-Param-{header} is {raw!r}, which does not read as the argument {value!r} (expected {wanted!r})"
            )
    extra = sorted(set(sent) - set(expected))
    if extra:
        problems.append(
            "Mcp-Param headers for no annotated, non-null argument: "
            + ", ".join(f"Mcp-Param-{h}: {sent[h]!r}" for h in extra)
        )
    return problems


@requirement("2026-07-28/streamable-http-045", "2026-07-28/tools-031", "2026-07-28/tools-032")
def test_http_invalid_header_tools_dropped(client_run):
    """Over HTTP a client rejects a tool whose x-mcp-header annotations break the rules
    (empty, not a field-name token, on a non-primitive property, one header for two
    properties) and drops it from the tools it uses, while it keeps a valid one. Judged on
    scenario modern-invalid-tool-headers (the official http-invalid-tool-headers), whose
    MCP_CONFORMANCE_CONTEXT asks for a call of every tool."""
    record = http_record(client_run, "modern-invalid-tool-headers")
    if not record.modern_requests():
        not_applicable("the client sent no modern-era request (legacy era only)")
    invalid = {
        tool["name"]: header_params(tool["inputSchema"])[1][0]
        for tool in INVALID_HEADER_TOOLS
        if header_params(tool["inputSchema"])[1]
    }
    called = {
        i.message.params.get("name")
        for i in record.items
        if i.from_client and i.message.method == "tools/call" and isinstance(i.message.params, dict)
    }
    if not called - set(invalid):
        not_applicable(
            "the client called no valid tool either (MCP_CONFORMANCE_CONTEXT asks for a call of each), "
            "so whether it drops the invalid ones cannot be told"
        )
    kept = sorted(called & set(invalid))
    expect(
        not kept,
        "tools with invalid x-mcp-header annotations were called:\n  "
        + "\n  ".join(f"{name}: {invalid[name]}" for name in kept),
    )


@requirement("2026-07-28/basic-043")
def test_network_refs_not_fetched(client_run):
    """A `$ref` in a tool's inputSchema that names a network URI is not fetched: the suite's
    server lists a tool whose schema refers to a canary URL on itself (scenario
    modern-network-ref, the official json-schema-ref-no-deref) and no request may reach it.
    The rule is the modern era's: a client that stays in the legacy era is not judged."""
    record = http_record(client_run, "modern-network-ref")
    if not record.modern_requests() or any(m.method == "initialize" for m in record.client_requests()):
        not_applicable("the client did not stay in the modern era in scenario modern-network-ref")
    if not any(m.method == "tools/list" for m in record.client_requests()):
        not_applicable("the client listed no tools, so it never saw the schema")
    fetched = [
        f"{e['method']} {e['path']}"
        for e in record.events
        if e.get("event") == "http-elsewhere" and e.get("path") == CANARY_PATH
    ]
    expect(not fetched, "the client dereferenced the network $ref of a tool's inputSchema: " + ", ".join(fetched))
