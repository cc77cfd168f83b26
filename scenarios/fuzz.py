"""Generated input: valid requests drawn from the schema, classes of malformed input, and a
state machine interleaving list, call, read, get, subscribe and cancel on one session.

What fails: a valid request (a schema-valid message) that gets no response, a response
with the wrong id, an answered notification, a server that crashes or
hangs on valid input. What the spec leaves open (how lax a
parser is with NaN or duplicate keys, the echo of ids beyond 2^53 - 1) is noted, and a missed
recommendation (-32602 for invalid params, surviving malformed input) warns, unless another
check owns it: a server that a plain line that is not JSON stops too is
test_survives_malformed_input's, an unknown tool's answer test_unknown_tool_rejected's and
a tool's invalid arguments test_invalid_tool_arguments_rejected's. A response
whose content its schema rejects is reported once by the sweep test_messages_valid, which
owns schema validity on every connection (the fuzz connections included).

Each check first sends every kind of message and calls every callable tool once (its first
pass), then generated cases while its budget lasts: `--mcp-fuzz quick|deep` or exactly
`--mcp-fuzz-examples N` cases (see conformance/fuzzing.py). A failure is shrunk to a minimal
message sequence, printed with the seed and saved as a JSON-lines transcript that
`--mcp-replay FILE` re-runs; `--hypothesis-seed` repeats a run.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic (Messages),
.../basic/transports (stdio), .../basic/utilities/cancellation, .../progress, .../pagination
"""

from __future__ import annotations

import json
import time

import pytest
from conformance.scenarios.messages import NOT_JSON
from hypothesis import seed
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from conformance import fuzzing, jsonrpc, strategies
from conformance.checks import current, expect, fail, info, not_applicable, requirement, should
from conformance.discovery import declares, list_all, may_call
from conformance.fuzzing import Fuzzer, ProbeFailed, from_request, id_key, signatures_of
from conformance.jsonrpc import SAFE_INTEGER, Kind
from conformance.session import ConnectionUnusable, NoResponse
from conformance.transport import TransportError

NOT_FUZZED = ("initialize", "subscriptions/listen")  # a second handshake; a stream that stays open
UNKNOWN_TOOL = "mcp_conformance_fuzz_no_such_tool"
MAX_MESSAGES = 64  # per generated case, sent at once (responses are collected afterwards)
MACHINE_STEPS = 8
# Ids: strings (the empty one included), small integers, and integers past 32 bits (up to 2^53 - 1).
IDS = st.one_of(st.text(max_size=6), st.integers(-(2**31), 2**31), st.integers(2**31, SAFE_INTEGER))
MIB = 1024 * 1024
SPLIT_PAUSE = 0.01  # seconds between the two writes of a split request
# Seconds for an answer to malformed input to come after the probe's, where the transport
# does not keep the server's messages in order (Streamable HTTP); where it does, the probe's
# answer is the barrier: what the server wrote before it has arrived.
UNORDERED_GRACE = 0.02
HUGE = 100_000  # characters of a huge string in params


_KEPT: dict = {}  # (target, revision) -> the connection the fuzz checks share while it behaves
_SLOW: dict = {}  # (target, revision) -> the tools found slow: no check of the revision waits for them again


@pytest.fixture
def fuzz(request, mcp_target, revision):
    """The check's fuzzer. Its connection is shared by the fuzz checks of a revision until a
    case fails (then each check starts afresh): one server start per revision, not per check.
    The fuzzer judges the ids and answers of what its input caused (its audit); the rest of
    what its connections carry (a banner at startup, the handshake, schema validity) is
    another check's."""
    mcp_target.shared(revision)  # skips a revision the server does not support

    def connect():
        session = mcp_target.connect(revision)
        current().watch(session)
        session.open(revision)
        return session

    fuzzer = from_request(request, connect, revision)
    fuzzer.slow_tools = _SLOW.setdefault((mcp_target, revision), set())
    kept = _KEPT.pop((mcp_target, revision), None)
    if kept is not None and not fuzzer.replay_path:
        current().watch(kept)
        fuzzer.adopt(kept)
    yield fuzzer
    if fuzzer.session is not None and not fuzzer.dirty:
        _KEPT[(mcp_target, revision)] = fuzzer.session
    elif fuzzer.session is not None:
        mcp_target.close_fresh(fuzzer.session)


def _tools(session, policy: str) -> dict[str, dict]:
    """name -> inputSchema of each tool --mcp-call-tools lets the suite call."""
    if declares(session, "tools") is None or policy == "none":
        return {}
    return {
        t["name"]: t.get("inputSchema") if isinstance(t.get("inputSchema"), dict) else {}
        for t in list_all(session, "tools/list", "tools").items
        if isinstance(t, dict) and isinstance(t.get("name"), str) and may_call(t, policy)
    }


# -- valid requests -----------------------------------------------------------------------------
def _tool_call(schema, meta, name: str, input_schema: dict | None):
    """tools/call requests naming the tool, with arguments from its inputSchema (None: an unknown tool)."""
    definition = strategies.client_requests(schema)["tools/call"]
    arguments = st.just({}) if input_schema is None else strategies.tool_arguments(input_schema)
    return st.tuples(strategies.message(schema, definition, meta), arguments).map(
        lambda pair: {**pair[0], "params": {**pair[0]["params"], "name": name, "arguments": pair[1]}}
    )


def valid_messages(session, tools: dict[str, dict]) -> list:
    """A strategy for each kind of message: each request method, each notification, and
    tools/call of each callable tool and of an unknown one."""
    schema, meta = session.schema, session.request_meta() if session.modern else None
    requests = strategies.client_requests(schema)
    kinds = [strategies.message(schema, requests[m], meta) for m in requests if m not in (*NOT_FUZZED, "tools/call")]
    kinds += [strategies.message(schema, definition) for definition in strategies.client_notifications(schema).values()]
    if "tools/call" in requests:
        kinds += [_tool_call(schema, meta, name, input_schema) for name, input_schema in tools.items()]
        kinds.append(_tool_call(schema, meta, UNKNOWN_TOOL, None))
    return kinds


def message_rounds(kinds: list, fuzz_seed: int, rounds: int) -> list[list[tuple]]:
    """`rounds` seeded draws of an (id, message) pair of each kind (Hypothesis draws the
    simplest values first, then random ones)."""
    return fuzzing.draws(st.tuples(*[st.tuples(IDS, kind) for kind in kinds]), fuzz_seed, rounds)


def pooled(rounds: list[list[tuple]]) -> list[tuple]:
    """The distinct pairs of the rounds, the shortest first. Drawing a schema-valid message
    costs a millisecond or two; a case picks from the pool by index instead, and shrinking
    an index shrinks towards the simplest pair."""
    pool = {json.dumps(pair, sort_keys=True): pair for drawn in rounds for pair in drawn}
    return [pool[text] for text in sorted(pool, key=lambda text: (len(text), text))]


def message_pool(kinds: list, fuzz_seed: int, rounds: int = fuzzing.POOL_ROUNDS) -> list[tuple]:
    return pooled(message_rounds(kinds, fuzz_seed, rounds))


def valid_cases(pool: list[tuple]):
    """Cases of 1 to MAX_MESSAGES (id, message) pairs from the pool, of any length alike
    (Hypothesis' lists favour short ones; long cases spread its cost per case). A case is a
    length and a byte string, a byte per pick (two draws, not one per message): byte b picks
    pool[(b - 1) % len(pool)], and 0 picks nothing, so shrinking a byte to 0 drops that
    message from the sequence and shrinking it otherwise picks a simpler one (the pool is sorted)."""
    picks = st.tuples(st.integers(1, MAX_MESSAGES), st.binary(min_size=MAX_MESSAGES, max_size=MAX_MESSAGES))
    return picks.map(lambda picked: [pool[(byte - 1) % len(pool)] for byte in picked[1][: picked[0]] if byte])


def _id_taken(fuzz: Fuzzer, request_id, outstanding: set[str]) -> bool:
    """No id is reused on a connection, and none of the requests outstanding together match
    each other's id as text (the session pairs a response with "1" or 1 alike)."""
    return bool(fuzz.ledger.sent[id_key(request_id)]) or str(request_id) in outstanding


def _exchange(fuzz: Fuzzer, session, case) -> None:
    """Send the whole case without waiting (the server may answer in any order), then collect
    each response by its id; then the probe."""
    sent, asked, outstanding = [], [], set(map(str, session.pending))
    for request_id, message in case:
        if "id" not in message:
            sent.append((message, False))
            continue
        if _id_taken(fuzz, request_id, outstanding):
            request_id = f"fuzz-{session.next_id()}"
        outstanding.add(str(request_id))
        message = {**message, "id": request_id}
        tool = message["params"]["name"] if message["method"] == "tools/call" else None
        if tool not in fuzz.slow_tools:
            sent.append((message, True))
            asked.append((message, tool))
    fuzz.send_all(session, sent)
    for message, tool in asked:
        _collect(fuzz, session, message, tool)
    fuzz.probe(session, f"{len(case)} generated messages")


def _collect(fuzz: Fuzzer, session, message: dict, tool: str | None) -> None:
    timeout = (0 if tool in fuzz.slow_tools else fuzz.tool_seconds) if tool else None  # slow: found in this case
    try:
        response = fuzz.response(session, message, timeout)
    except NoResponse as error:
        if tool is None or session.transport.exit_code is not None or isinstance(error, ConnectionUnusable):
            fail(
                f"no response to the valid request {message['method']} (id {message['id']!r}): {error.explain()}",
                signatures_of(error),
            )
        fuzz.cancel_slow(session, message)
        return
    expect(
        response.kind in (Kind.RESULT, Kind.ERROR),
        f"{message['method']} got neither a result nor an error: {response.text()[:300]}",
    )


@requirement("basic-003", "basic-007", "basic-010", "basic-013")
def test_fuzz_valid_requests(fuzz, mcp_target, revision):
    """Generated schema-valid client messages (every request and notification of the
    revision, string and integer ids including the empty string and integers up to 2^53 - 1,
    string edge cases such as NUL, 5000 characters, astral and right-to-left characters,
    tool arguments from each callable tool's inputSchema), each case sent at once without
    waiting: each request gets a result or a JSON-RPC error with its id, no
    notification is answered, and after each case the server still answers ping
    (server/discover in the modern era). First every kind of message and every callable
    tool once (drawn with the seed, in one case), then generated cases while the budget
    lasts: by default none starts once --mcp-timeout / 50 seconds (0.1 s at the default
    5 s) have passed since the first pass began. A tool call still running after
    --mcp-timeout / 10 (0.5 s) is cancelled and not judged, and its tool not called again."""
    if fuzz.replay_path:
        return fuzz.replay()
    session = fuzz.start()
    rounds = message_rounds(
        valid_messages(session, _tools(session, mcp_target.call_tools)), fuzz.seed, fuzz.budget.rounds
    )
    first = rounds[min(1, len(rounds) - 1)]  # the first random round (the one before is the simplest)
    fuzz.run(valid_cases(pooled(rounds)), lambda live, case: _exchange(fuzz, live, case), first=first)


# -- malformed input ------------------------------------------------------------------------------
def _probe_message(session, request_id, params: dict | None = None) -> dict:
    return jsonrpc.request(request_id, session.probe_method, session.with_meta(params))


def _line(message) -> bytes:
    return jsonrpc.encode(message) + b"\n"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# Grades: "answer": valid requests; a response with each id is due (MUST), and so is surviving them.
# "crlf": should be answered. "open": the spec leaves the answer open; a result (lenient
# parsing) is noted, and surviving the input is a SHOULD. "quiet": as "open", but a result is
# as usual as an error (duplicate keys and extra members are valid JSON), so nothing is noted.
def framing_cases(session) -> list[tuple[str, str, list[bytes], list]]:
    """(what, grade, writes, ids a server can read) for the stdio framing."""
    split = _line(_probe_message(session, "fz-split"))
    pair = _line(_probe_message(session, "fz-pair-1")) + _line(_probe_message(session, "fz-pair-2"))
    return [
        ("a request split over two writes", "answer", [split[:11], split[11:]], ["fz-split"]),
        ("two requests in one write", "answer", [pair], ["fz-pair-1", "fz-pair-2"]),
        (
            "a request of 1 MiB on one line",
            "answer",
            [_line(_probe_message(session, "fz-long", {"conformancePad": "x" * MIB}))],
            ["fz-long"],
        ),
        ("a line ending in CRLF", "crlf", [_line(_probe_message(session, "fz-crlf"))[:-1] + b"\r\n"], ["fz-crlf"]),
        (
            "invalid UTF-8 inside a string",
            "open",
            [_line(_probe_message(session, "fz-utf8", {"conformance": "@"})).replace(b'"@"', b'"\xff\xfe"')],
            ["fz-utf8"],
        ),
        ("an empty line", "open", [b"\n"], []),
    ]


def malformed_cases(session) -> list[tuple[str, str, list[bytes], list]]:
    """(what, grade, writes, ids a server can read) for JSON, the envelope and ids. The id
    2^70 is among them, so that its echo is known as one (how it comes back is not judged)."""
    probe = _line(_probe_message(session, "fz-trunc"))
    meta = json.dumps(session.request_meta()) if session.modern else "{}"
    raw = lambda text: [text.replace("PROBE", session.probe_method).replace("META", meta).encode() + b"\n"]  # noqa: E731
    return [
        ("JSON truncated", "open", [probe[: probe.index(b'"method"') + 5] + b"\n"], []),
        (
            "NaN in params",
            "open",
            raw('{"jsonrpc":"2.0","id":"fz-nan","method":"PROBE","params":{"_meta":META,"x":NaN}}'),
            ["fz-nan"],
        ),
        (
            "duplicate keys",
            "quiet",
            raw('{"jsonrpc":"2.0","id":"fz-dup-a","id":"fz-dup-b","method":"PROBE","params":{"_meta":META}}'),
            ["fz-dup-a", "fz-dup-b"],
        ),
        (
            "params nested 64 levels deep",
            "answer",
            [_line(_probe_message(session, "fz-deep", {"conformance": json.loads(_nested(64))}))],
            ["fz-deep"],
        ),
        ("JSON nested 100000 levels deep", "open", [_nested(100_000).encode() + b"\n"], []),
        ("no jsonrpc member", "open", [_line(_without(_probe_message(session, "fz-nover"), "jsonrpc"))], ["fz-nover"]),
        ('"jsonrpc": "1.0"', "open", [_line({**_probe_message(session, "fz-v1"), "jsonrpc": "1.0"})], ["fz-v1"]),
        (
            "an extra envelope member",
            "quiet",
            [_line({**_probe_message(session, "fz-extra"), "extra": 1})],
            ["fz-extra"],
        ),
        (
            "params that are a string",
            "open",
            [_line({**_probe_message(session, "fz-pstr"), "params": "x"})],
            ["fz-pstr"],
        ),
        (
            "a request without method",
            "open",
            [_line(_without(_probe_message(session, "fz-nometh"), "method"))],
            ["fz-nometh"],
        ),
        ("a null id", "open", [_line(_probe_message(session, None))], []),
        ("a fractional id", "open", [_line(_probe_message(session, 1.5))], []),
        ("an integer id of 2^70", "open", [_line(_probe_message(session, 2**70))], [2**70]),
        ("a boolean id", "open", [_line(_probe_message(session, True))], []),
        ("an empty-string id", "answer", [_line(_probe_message(session, ""))], [""]),
        (
            "an unknown params member",
            "answer",
            [_line(_probe_message(session, "fz-unknown", {"conformanceUnknown": [1, {"a": None}]}))],
            ["fz-unknown"],
        ),
    ]


def _without(message: dict, member: str) -> dict:
    return {k: v for k, v in message.items() if k != member}


def _run_cases(fuzz: Fuzzer, cases) -> None:
    """Send each case on one connection (a fresh one after a crash) and judge it by its grade."""
    for what, grade, writes, ids in cases:
        session = fuzz.live()
        fuzz.begin()
        mark = session.mark()
        try:
            _send_case(fuzz, session, what, grade, writes, ids)
        except (ProbeFailed, TransportError) as error:
            if grade == "answer":
                raise
            fuzz.dirty, fuzz.failure = True, None  # judged here as a SHOULD, not a failed case
            _not_survived(fuzz, what, error.explain() if isinstance(error, TransportError) else str(error))
            continue
        answers = [
            m
            for m in session.received(mark)
            if m.is_response and any(jsonrpc.same_id(i, m.id) for i in ids if fuzzing.judged_id(i))
        ]
        if grade == "crlf":
            should(answers, f"{what}: no answer (the carriage return before the newline is JSON whitespace)")
        elif grade == "open" and any(m.kind is Kind.RESULT for m in answers):
            info(f"{what}: accepted, answered {answers[0].text()[:160]}")


def _not_survived(fuzz: Fuzzer, what: str, why: str) -> None:
    """A server that stopped answering after malformed input should not have. When a line
    that is not JSON stops it too, that is the defect, and test_survives_malformed_input
    (which owns surviving malformed input) reports it: noted here, not warned again."""
    if _dies_on_garbage(fuzz):
        info(
            f"the server did not survive {what} (nor a line that is not JSON, which "
            f"test_survives_malformed_input judges): {why}"
        )
    else:
        should(False, f"the server should survive {what}: {why}")


def _dies_on_garbage(fuzz: Fuzzer) -> bool:
    """Whether a fresh connection stops answering after the line test_survives_malformed_input
    sends first (asked once per check)."""
    if fuzz.dies_on_garbage is None:
        session = fuzz.live()
        fuzz.begin()
        try:
            fuzz.send_raw(session, NOT_JSON + b"\n", note="fuzz: a line that is not JSON")
            fuzz.probe(session, "a line that is not JSON")
            fuzz.dies_on_garbage = False
        except (ProbeFailed, TransportError):
            fuzz.dirty, fuzz.failure, fuzz.dies_on_garbage = True, None, True
    return fuzz.dies_on_garbage


def _send_case(fuzz: Fuzzer, session, what: str, grade: str, writes: list[bytes], ids: list) -> None:
    for number, data in enumerate(writes):
        if number:
            time.sleep(SPLIT_PAUSE)  # the parts arrive apart (nothing to wait for: no answer can come yet)
        fuzz.send_raw(session, data, ids if number == len(writes) - 1 else (), note=f"fuzz: {what}")
    if grade == "answer":
        fuzz.steps[-1]["answer"] = True
        for request_id in ids:
            session.pending[request_id] = session.probe_method
            try:  # the fuzzer's own wait: what the input caused is this check's to judge
                fuzz.response(session, {"id": request_id, "method": session.probe_method})
            except NoResponse as error:
                fail(f"no response to a valid request ({what}): {error.explain()}", signatures_of(error))
    fuzz.probe(session, what)
    if not getattr(session.transport, "ordered", False):
        session.drain(UNORDERED_GRACE)  # the probe's answer came on its own stream: it proves nothing here
    fuzz.audit(session)


@requirement("basic-003", "transports-001", "transports-003")
def test_fuzz_framing(fuzz, mcp_target, revision):
    """stdio framing edge cases: a request split over two writes, two requests in one
    write and a request of 1 MiB on one line each get their response (valid messages);
    a line ending in CRLF should be answered (the carriage return is JSON whitespace);
    invalid UTF-8 and an empty line are noted, and the server should survive them."""
    if mcp_target.transport_kind != "stdio":
        not_applicable(f"stdio framing; this server is tested over {mcp_target.transport_kind}")
    if fuzz.replay_path:
        return fuzz.replay()
    fuzz.guard(lambda: _run_cases(fuzz, framing_cases(fuzz.live())))


@requirement("basic-003", "basic-004", "basic-005", "basic-007", "basic-010")
def test_fuzz_malformed_input(fuzz, revision):
    """Malformed JSON (truncated, NaN, duplicate keys, 100000 levels of nesting), broken
    envelopes (no jsonrpc, version 1.0, extra members, params a string, no method) and odd
    ids (null, fractional, 2^70, boolean): what the server answers is noted, it should keep
    answering, and any answer carrying an id carries one that was sent. Valid edge cases
    among them (params nested 64 levels, an empty-string id, an unknown params member)
    must be answered with their id."""
    if fuzz.replay_path:
        return fuzz.replay()
    fuzz.guard(lambda: _run_cases(fuzz, malformed_cases(fuzz.live())))


# -- invalid params --------------------------------------------------------------------------------
def _mutations(node: dict) -> list[str]:
    properties = node.get("properties", {}) if isinstance(node, dict) else {}
    return [
        "unknown member",
        "huge string",
        *[f"drop {r}" for r in node.get("required", []) if r != "_meta"],
        *[f"wrong type {p}" for p in properties if p != "_meta"],
    ]


WRONG_VALUES = {
    "string": 12345,
    "integer": "12345",
    "number": "1.5",
    "boolean": "true",
    "object": [1, 2],
    "array": {"not": "a list"},
}


@st.composite
def invalid_params_requests(draw, schema, meta, methods, tools: dict[str, dict]):
    """A valid request with its params mutated: a required member dropped, a member of the
    wrong type, a string of 100000 characters, or an unknown member (the last two stay valid).
    tools/call names a listed tool with arguments from its inputSchema: an unknown tool's
    answer is test_unknown_tool_rejected's to judge."""
    method = draw(st.sampled_from(methods))
    definition = strategies.client_requests(schema)[method]
    message = draw(strategies.message(schema, definition, meta))
    params_schema = strategies.params_schema(schema, definition)
    mutation = draw(st.sampled_from(_mutations(params_schema)))
    params = dict(message.get("params", {}))
    if method == "tools/call":
        params["name"] = draw(st.sampled_from(sorted(tools)))
        params["arguments"] = draw(strategies.tool_arguments(tools[params["name"]]))
    kind, _, member = mutation.partition(" ")
    if mutation == "unknown member":
        params["conformanceUnknown"] = draw(strategies.JSON_VALUES)
    elif mutation == "huge string":
        member = draw(st.sampled_from(sorted(set(params) - {"_meta"}) or ["conformancePad"]))
        params[member], mutation = "x" * HUGE, f"huge string in {member}"
    elif kind == "drop":
        params.pop(mutation.removeprefix("drop "), None)
    else:
        member = mutation.removeprefix("wrong type ")
        wanted = strategies.resolved(schema, params_schema["properties"][member]).get("type", "object")
        params[member] = WRONG_VALUES.get(wanted if isinstance(wanted, str) else "object", [1])
    return mutation, {**message, "params": params}


def _invalid_params_case(fuzz: Fuzzer, session, case: list[tuple]) -> None:
    """Send the (mutation, request) pairs at once; each must get a response with its id,
    and then the server must answer its probe. A tool call still running after
    tool_seconds is cancelled and not judged (as in test_fuzz_valid_requests)."""
    sent = [
        (mutation, {**message, "id": f"fuzz-{session.next_id()}"})
        for mutation, message in case
        if not _slow_call(fuzz, message)
    ]
    if not sent:
        return
    fuzz.send_all(session, [(message, True) for _, message in sent])
    answered = []
    for mutation, message in sent:
        response = _invalid_params_response(fuzz, session, mutation, message)
        if response is not None:
            answered.append((mutation, message, response))
    fuzz.probe(
        session,
        f"{sent[0][1]['method']} with params mutated ({sent[0][0]})"
        if len(sent) == 1
        else f"{len(sent)} requests with params mutated",
    )
    for mutation, message, response in answered:
        _judge_invalid_params(fuzz, session, mutation, message, response)


def _slow_call(fuzz: Fuzzer, message: dict) -> bool:
    name = message["params"].get("name") if message["method"] == "tools/call" else None
    return isinstance(name, str) and name in fuzz.slow_tools


def _invalid_params_response(fuzz: Fuzzer, session, mutation: str, message: dict):
    """The response to a mutated request, or None for a tool call cancelled as slow."""
    tool = message["method"] == "tools/call"
    try:
        return fuzz.response(session, message, fuzz.tool_seconds if tool else None)
    except NoResponse as error:
        if not tool or session.transport.exit_code is not None or isinstance(error, ConnectionUnusable):
            fail(f"no response to {message['method']} with params mutated ({mutation}): {error.explain()}")
        fuzz.cancel_slow(session, message)
        return None


# Members whose invalid values other checks own (one rule, one owner): a cursor
# (test_pagination_invalid_cursor, test_task_list_invalid_cursor_rejected), the name of a
# tool called (test_unknown_tool_rejected), its arguments (test_invalid_tool_arguments_rejected),
# a log level (test_logging_invalid_level).
OWNED_MEMBERS = {"cursor": None, "name": "tools/call", "arguments": "tools/call", "level": "logging/setLevel"}


def owned_elsewhere(method: str, mutation: str) -> bool:
    member = mutation.rpartition(" ")[2]
    return member in OWNED_MEMBERS and OWNED_MEMBERS[member] in (None, method)


def _judge_invalid_params(fuzz: Fuzzer, session, mutation: str, message: dict, response) -> None:
    valid = not session.schema.validate(message, strategies.client_requests(session.schema)[message["method"]])
    if (
        valid
        or response.kind is Kind.ERROR
        or (message["method"], mutation) in fuzz.warned
        or owned_elsewhere(message["method"], mutation)
    ):
        return
    fuzz.warned.add((message["method"], mutation))  # one warning per method and mutation
    is_error = isinstance(response.result, dict) and response.result.get("isError") is True
    should(
        is_error,
        f"{message['method']} with invalid params ({mutation}) got a result, not an error "
        f"(-32602 is the code for invalid params): {response.text()[:200]}",
    )


@requirement("basic-003", "basic-007", "basic-010")
def test_fuzz_invalid_params(fuzz, mcp_target, revision):
    """Requests with generated params mutations (a required member left out, a member of the
    wrong type, a string of 100000 characters, an unknown member) each get a response with their id and
    the server keeps answering; params the schema rejects should get an error (or, for
    tools/call, a result with isError), not a plain result. tools/call names a tool the
    calling policy allows (left out when there is none). First one mutated request of
    each method, sent at once, then one generated request per case for the budget (see
    test_fuzz_valid_requests)."""
    if fuzz.replay_path:
        return fuzz.replay()
    session = fuzz.start()
    schema, meta = session.schema, session.request_meta() if session.modern else None
    tools = _tools(session, mcp_target.call_tools)
    methods = sorted(
        m for m in strategies.client_requests(schema) if m not in NOT_FUZZED and (m != "tools/call" or tools)
    )
    first = fuzzing.draw_one(
        st.tuples(*[invalid_params_requests(schema, meta, [m], tools) for m in methods]), fuzz.seed
    )
    fuzz.run(
        invalid_params_requests(schema, meta, methods, tools).map(lambda case: [case]),
        lambda live, case: _invalid_params_case(fuzz, live, case),
        first=list(first),
    )


# -- the state machine -----------------------------------------------------------------------------
LISTED = ("tools", "prompts", "resources")


class SessionMachine(RuleBasedStateMachine):
    """List, call (tools the calling policy allows), call and cancel, read, get, subscribe
    and cancel a finished request, interleaved on one connection; the fuzzer's audit (ids
    matched and answered once, no answered notification) runs after
    every step, and a page asked for twice with the same cursor should be the same."""

    fuzz: Fuzzer
    tools: dict[str, dict] = {}

    def __init__(self, generated: bool = True):
        super().__init__()
        self.generated = generated
        if generated:
            # Before the first run nothing was drawn, so the budget may end it here; later
            # ones end in teardown, once their steps are drawn (see Fuzzer.stop_if_spent).
            self.fuzz.begin_generated(check=not self.fuzz.generated)
        else:
            self.fuzz.begin()
        self.session = self.fuzz.live()
        self.finished: list = []

    def first_pass(self, arguments: dict[str, dict]) -> None:
        """Every rule once, each callable tool called once with the arguments given: the
        deterministic start of the check (each step waits for its answer, never a fixed time)."""
        for kind in LISTED:
            self.list_pages(kind)
        for name in sorted(self.tools):
            self.call_tool(name, arguments[name])
        fast = sorted(set(self.tools) - self.fuzz.slow_tools)
        if fast:
            self.cancel_call(fast[0], arguments[fast[0]])
        self.cancel_finished()
        self.read(0)
        self.get(0)
        self.subscribe()
        self.audited()
        self.teardown()

    def ask(self, method: str, params: dict | None = None):
        request_id = f"sm-{self.session.next_id()}"
        request = jsonrpc.request(request_id, method, self.session.with_meta(params))
        try:
            response = self.fuzz.request(
                self.session, request, self.fuzz.tool_seconds if method == "tools/call" else None
            )
        except NoResponse as error:
            if (
                method != "tools/call"
                or self.session.transport.exit_code is not None
                or isinstance(error, ConnectionUnusable)
            ):
                self.fuzz.failed(error)
                fail(f"no response to {method}: {error.explain()}", signatures_of(error))
            self.fuzz.cancel_slow(self.session, request)
            return None
        self.finished.append(request_id)
        return response.result if response.kind is Kind.RESULT and isinstance(response.result, dict) else None

    def cancel(self, request_id) -> None:
        self.fuzz.send(
            self.session, jsonrpc.notification("notifications/cancelled", {"requestId": request_id, "reason": "fuzz"})
        )

    @rule(kind=st.sampled_from(LISTED))
    def list_pages(self, kind):
        if declares(self.session, kind) is None:
            return
        cursor = (self.ask(f"{kind}/list") or {}).get("nextCursor")
        if isinstance(cursor, str):
            first, second = (self.ask(f"{kind}/list", {"cursor": cursor}) for _ in range(2))
            if first is not None and second is not None:
                should(
                    first.get(kind) == second.get(kind), f"{kind}/list gave two different pages for cursor {cursor!r}"
                )

    @precondition(lambda self: self.tools)
    @rule(data=st.data())
    def call(self, data):
        name = data.draw(st.sampled_from(sorted(self.tools)))
        self.call_tool(name, data.draw(strategies.tool_arguments(self.tools[name])))

    def call_tool(self, name: str, arguments: dict) -> None:
        if name not in self.fuzz.slow_tools:
            token = f"fz-progress-{self.session.next_id()}"
            self.ask("tools/call", {"name": name, "arguments": arguments, "_meta": {"progressToken": token}})

    @precondition(lambda self: self.tools)
    @rule(data=st.data())
    def call_and_cancel(self, data):
        name = data.draw(st.sampled_from(sorted(self.tools)))
        self.cancel_call(name, data.draw(strategies.tool_arguments(self.tools[name])))

    def cancel_call(self, name: str, arguments: dict) -> None:
        request_id = f"sm-{self.session.next_id()}"
        params = {"name": name, "arguments": arguments}
        self.fuzz.send(self.session, jsonrpc.request(request_id, "tools/call", self.session.with_meta(params)))
        self.cancel(request_id)

    @rule()
    def cancel_finished(self):
        if self.finished:
            self.cancel(self.finished[-1])

    @rule(index=st.integers(0, 3))
    def read(self, index):
        if declares(self.session, "resources") is not None:
            items = (self.ask("resources/list") or {}).get("resources") or []
            if items and isinstance(items[index % len(items)], dict):
                self.ask("resources/read", {"uri": items[index % len(items)].get("uri")})

    @rule(index=st.integers(0, 3))
    def get(self, index):
        if declares(self.session, "prompts") is None:
            return
        items = (self.ask("prompts/list") or {}).get("prompts") or []
        prompt = items[index % len(items)] if items else None
        if isinstance(prompt, dict):
            arguments = {
                a["name"]: "x"
                for a in prompt.get("arguments") or []
                if isinstance(a, dict) and a.get("required") and isinstance(a.get("name"), str)
            }
            self.ask("prompts/get", {"name": prompt.get("name"), "arguments": arguments})

    @rule()
    def subscribe(self):
        if (declares(self.session, "resources") or {}).get("subscribe") is not True:
            return
        items = (self.ask("resources/list") or {}).get("resources") or []
        if items and isinstance(items[0], dict):
            self.ask("resources/subscribe", {"uri": items[0].get("uri")})
            self.ask("resources/unsubscribe", {"uri": items[0].get("uri")})

    @invariant()
    def audited(self):
        self.fuzz.audit(self.session)

    def teardown(self):
        if not self.fuzz.dirty:  # what the steps did to the server shows within this case
            self.fuzz.probe(self.session, "the state machine's steps")
        if self.generated:
            self.fuzz.stop_if_spent()


@requirement("basic-007", "basic-013", "cancellation-012", "pagination-002")
def test_fuzz_session_machine(fuzz, mcp_target, revision):
    """Interleaved list, call (with a progress token), call-then-cancel, read, get,
    subscribe and cancellation of finished requests on one connection: every response
    carries the id of a request sent and answers it once, no notification is answered,
    the server keeps answering, and the same cursor should give
    the same page. First every rule once and every callable tool called once (arguments
    drawn with the seed), then generated runs of up to MACHINE_STEPS steps for the budget (see
    test_fuzz_valid_requests); a call still running after --mcp-timeout / 10 (0.5 s) is
    cancelled and not judged, and its tool is not called again."""
    if fuzz.replay_path:
        return fuzz.replay()
    tools = _tools(fuzz.start(), mcp_target.call_tools)
    machine = type("SessionMachine", (SessionMachine,), {"fuzz": fuzz, "tools": tools})
    arguments = fuzzing.draw_one(
        st.fixed_dictionaries({name: strategies.tool_arguments(schema) for name, schema in tools.items()}), fuzz.seed
    )
    step_settings = fuzz.settings(stateful_step_count=MACHINE_STEPS)
    fuzz.guard(
        lambda: run_state_machine_as_test(seed(fuzz.seed)(machine), settings=step_settings),
        first=lambda: fuzz.body(lambda _: machine(generated=False).first_pass(arguments)),
    )
