"""Base protocol messages: the JSON-RPC 2.0 envelope as MCP narrows it, error codes,
notifications, malformed input and batches.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic (Messages)
JSON-RPC 2.0: https://www.jsonrpc.org/specification
"""

from conformance import jsonrpc
from conformance.checks import blocked, current, expect, info, not_applicable, requirement, should
from conformance.jsonrpc import Kind
from conformance.transport import TransportClosed, TransportError

UNKNOWN_METHOD = "conformance/no-such-method"
SURVIVES = "test_survives_malformed_input"  # judges a server that dies of malformed input
NOT_JSON = b'{"jsonrpc": "2.0", "id": 1, "method": "ping"'
INVALID_REQUESTS = {
    "a method that is not a string": b'{"jsonrpc":"2.0","id":"invalid-1","method":42}',
    "an id that is an object": b'{"jsonrpc":"2.0","id":{"nested":true},"method":"ping"}',
}


@requirement("basic-003", "basic-008", "2026-07-28/basic-008")
def test_response_envelope(mcp, revision):
    """A response is a JSON-RPC 2.0 object: `"jsonrpc": "2.0"`, the id, and a `result` object."""
    response = mcp.request(mcp.probe_method)
    expect(not response.problems, "the response envelope is wrong: " + "; ".join(response.problems))
    expect(response.kind is Kind.RESULT, f"expected a result, got {response.kind.value}")


@requirement("basic-007", "basic-010", "2026-07-28/basic-007")
def test_response_id_echoed(mcp, revision):
    """A response carries the id of its request with the same type and value (the integer
    7 is not the string "7"), for integer and string ids alike."""
    for request_id in (7_000_001, "conformance-id-\u03a9"):
        response = mcp.request(mcp.probe_method, id=request_id)
        expect(jsonrpc.same_id(request_id, response.id), f"sent id {request_id!r}, the response has id {response.id!r}")


@requirement("basic-003", "2026-07-28/basic-003")
def test_requests_answered(mcp, revision):
    """Every request gets a response (JSON-RPC 2.0): the probe request of the era and a
    list request, on the connection the other checks share. A connection that stops
    answering is failed here once; the revision's later checks are BLOCKED."""
    for method in (
        mcp.probe_method,
        "tools/list" if "tools" in (mcp.init_result or {}).get("capabilities", {}) else mcp.probe_method,
    ):
        mcp.request(method)


@requirement("basic-011", "basic-012", "2026-07-28/basic-016", "2026-07-28/basic-017")
def test_error_envelope(mcp, revision):
    """An error response carries `error` with an integer `code` and a string `message`,
    and no `result`."""
    response = mcp.request(UNKNOWN_METHOD)
    if response.kind is Kind.RESULT:  # that an unknown method gets an error at all is another check's
        blocked(f"{UNKNOWN_METHOD} got a result, so there is no error envelope to judge", "test_unknown_method")
    expect(response.kind is Kind.ERROR, f"expected an error for {UNKNOWN_METHOD}, got {response.kind.value}")
    expect(not response.problems, "the error envelope is wrong: " + "; ".join(response.problems))


@requirement("basic-003")
def test_unknown_method(mcp, revision):
    """A request for a method the server does not have gets an error response; JSON-RPC's
    code for it is -32601 (Method not found)."""
    response = mcp.request(UNKNOWN_METHOD)
    expect(response.kind is Kind.ERROR, f"{UNKNOWN_METHOD} does not exist, yet the server answered a result")
    should(
        response.error_code == jsonrpc.METHOD_NOT_FOUND,
        f"the error code for an unknown method should be -32601, got {response.error_code!r}",
    )


@requirement("basic-013")
def test_notifications_not_answered(mcp, revision):
    """The receiver of a notification sends no response: not to an unknown notification,
    nor to a cancellation of an unknown request. Silence is proven by a barrier
    (Session.barrier: a probe request answered after them, or a short window where the
    transport does not order messages)."""
    mark = mcp.mark()
    mcp.notify("notifications/conformance/unknown", {"note": "never answer this"})
    mcp.notify("notifications/cancelled", {"requestId": "conformance-never-sent", "reason": "test"})
    answers = [m for m in mcp.arrived_after(mark, mcp.barrier()) if m.is_response]
    expect(not answers, "the server answered notifications: " + "; ".join(m.text() for m in answers))


def _answer_to_malformed(session, data: bytes):
    """Send malformed bytes; return the response to them, if any came before a barrier
    (Session.barrier). A probe answered first is a barrier too: nothing the server sent
    before it (say, an answer to an earlier notification) is taken for the answer to the
    malformed input."""
    session.request(session.probe_method)
    mark = session.mark()
    session.send_raw(data + b"\n", note="deliberately malformed")
    try:
        answers = [m for m in session.arrived_after(mark, session.barrier()) if m.is_response]
    except TransportClosed as error:
        blocked(f"the server's connection ended after malformed input ({error.reason})", SURVIVES)
    return answers[0] if answers else None


@requirement("basic-003", "basic-010", "2026-07-28/basic-015")
def test_parse_error(mcp_connect, revision):
    """A line that is not JSON should get error -32700; its id is null (JSON-RPC) or absent
    (MCP's schema), since the request id could not be read."""
    session = mcp_connect()
    answer = _answer_to_malformed(session, NOT_JSON)
    if not should(answer is not None, "no error response to a line that is not JSON"):
        return
    expect(answer.kind is Kind.ERROR, f"invalid JSON must not get a result: {answer.text()}")
    expect(answer.id is None, f"a parse error response must have a null or absent id, got {answer.id!r}")
    should(answer.error_code == jsonrpc.PARSE_ERROR, f"a parse error should be -32700, got {answer.error_code!r}")


@requirement("basic-003", "basic-010", "2026-07-28/basic-015")
def test_invalid_request(mcp_connect, revision):
    """JSON that is not a valid request should get error -32600, with the request's id if
    it could be read, else a null or absent id; never a result."""
    session = mcp_connect()
    for what, data in INVALID_REQUESTS.items():
        answer = _answer_to_malformed(session, data)
        if not should(answer is not None, f"no error response to a request with {what}"):
            continue
        expect(answer.kind is Kind.ERROR, f"a request with {what} must not get a result: {answer.text()}")
        readable_id = jsonrpc.decode(data).id if isinstance(jsonrpc.decode(data).id, (str, int)) else None
        expect(answer.id in (None, readable_id), f"the error for a request with {what} has id {answer.id!r}")
        should(
            answer.error_code == jsonrpc.INVALID_REQUEST,
            f"an invalid request ({what}) should get -32600, got {answer.error_code!r}",
        )


@requirement("basic-003")
def test_survives_malformed_input(mcp_connect, revision):
    """After malformed input (not JSON, invalid UTF-8, an invalid request) the server still
    answers. Clients must not send such input, so this is robustness: a SHOULD."""
    session = mcp_connect()
    inputs = [NOT_JSON, b"\xff\xfe not utf-8 \xc3\x28", *INVALID_REQUESTS.values()]
    for data in inputs:
        session.send_raw(data + b"\n", note="deliberately malformed")
    try:
        session.request(session.probe_method)
    except TransportError as error:
        should(False, f"after malformed input the server no longer answers ping: {error.reason}")


BATCH_IDS = ("batch-a", "batch-b")


def _send_batch(session) -> int:
    """Send a batch of two probe requests (ids BATCH_IDS); return its transcript mark."""
    params = {"_meta": session.request_meta()} if session.modern else None
    batch = [jsonrpc.request(key, session.probe_method, params) for key in BATCH_IDS]
    session.pending.update({key: session.probe_method for key in BATCH_IDS})
    mark = session.mark()
    session.send_raw(jsonrpc.encode(batch) + b"\n", note="a JSON-RPC batch of two pings")
    return mark


@requirement("basic-003")
def test_batch_rejected(mcp_connect, revision):
    """From 2025-06-18 on, MCP has no JSON-RPC batches. The spec does not say how a server
    must treat one it receives, so refusing, ignoring and processing it are all noted, never
    failed. What answers the batch is what arrives before a barrier (Session.barrier)."""
    if revision < "2025-06-18":
        not_applicable(f"{revision} predates the removal of batches (2025-06-18)")
    session = mcp_connect()
    current().watch(session)  # a batch reply is judged here (noted), not by the schema sweep
    mark = _send_batch(session)
    received = session.arrived_after(mark, session.barrier())
    processed = [m for m in received if m.kind is Kind.BATCH or m.id in BATCH_IDS]
    if processed:
        info(
            "the server still processes JSON-RPC batches, which this revision removed: "
            + "; ".join(m.text() for m in processed)
        )
    elif not any(m.kind is Kind.ERROR for m in received):
        info("the server ignored the batch silently (an error response is also fine)")


@requirement("basic-003")
def test_batch_supported(mcp_connect, revision):
    """In 2025-03-26 a receiver must accept JSON-RPC batches: both requests of a batch get
    their responses, within the timeout (--mcp-timeout)."""
    if revision != "2025-03-26":
        not_applicable("only 2025-03-26 requires receiving batches")
    session = mcp_connect()
    _send_batch(session)
    session.wait_for(lambda m: set(BATCH_IDS) <= session.responses.keys(), session.timeout)
    missing = [i for i in BATCH_IDS if i not in session.responses]
    expect(not missing, f"no response to the batched request(s) {missing}")
