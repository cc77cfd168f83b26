"""Multi round-trip requests (2026-07-28): a server that needs the client's roots, LLM or
user answers a request with an InputRequiredResult (`resultType: "input_required"`,
`inputRequests` and/or an opaque `requestState`); the client retries the request with
`inputResponses` and the `requestState` echoed. Server-to-client requests are gone.

The suite's session does the client's part for every check: it answers each input request
with the handler of its method and retries (at most MRTR_ROUNDS times), recording every
InputRequiredResult. The occasions are those of the client-feature checks
(scenarios/client_features.py): on fresh connections declaring none, some or all of the
client capabilities, it lists what the server offers and calls the tools the calling
policy allows. These checks judge what the server asked on them. A server that asks
nothing leaves most of them not applicable.

Spec: https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/mrtr
      https://modelcontextprotocol.io/specification/2026-07-28/client/elicitation (and
      sampling, roots)
"""

from __future__ import annotations

from conformance.scenarios.client_features import (
    PROFILES,
    ClientExchange,
    elicitation_modes,
    exchange,
    judge_pairing,
    valid_url,
)

from conformance.checks import current, expect, modern_only, not_applicable, requirement, should
from conformance.jsonrpc import Kind
from conformance.session import MRTR_METHODS

CLIENT_REQUESTS = ("elicitation/create", "sampling/createMessage", "roots/list")  # what inputRequests may hold


def modern_exchanges(target, revision: str) -> list[ClientExchange]:
    """The client-feature exchanges of a modern revision, watched by the calling check
    (test_messages_valid owns their wire validity)."""
    modern_only(revision)
    target.shared(revision)  # skips a revision the server does not support
    made = [exchange(target, revision, profile) for profile in PROFILES]
    for one in made:
        current().watch(one.session, since=one.started_at)
    if not any(one.calls for one in made):
        not_applicable(
            "no tool could be called, so the server had no occasion to ask for input: "
            + "; ".join(dict.fromkeys(note for one in made for note in one.notes))
        )
    return made


def input_rounds(made: list[ClientExchange]):
    """(exchange, round) for every InputRequiredResult; not applicable if there was none."""
    found = [(one, round_) for one in made for round_ in one.session.input_required]
    if not found:
        not_applicable("the server answered no request with an InputRequiredResult")
    return found


def input_requests(made: list[ClientExchange]):
    """(exchange, where, key, input request) for every entry of every inputRequests."""
    found = []
    for one, round_ in input_rounds(made):
        asked = round_.response.result.get("inputRequests")
        for key, request in asked.items() if isinstance(asked, dict) else []:
            found.append((one, f"{round_.method} (id {round_.response.id!r}) inputRequests[{key!r}]", request))
    if not found:
        not_applicable("no InputRequiredResult held inputRequests")
    return found


@requirement("2026-07-28/mrtr-021", "2026-07-28/schema-021", "2026-07-28/mrtr-007")
def test_input_required_result_shape(mcp_target, revision):
    """An InputRequiredResult answers only tools/call, prompts/get or resources/read, and
    holds `inputRequests` (an object), `requestState` (a string) or both."""
    problems = []
    for _, round_ in input_rounds(modern_exchanges(mcp_target, revision)):
        result, where = round_.response.result, f"{round_.method} (id {round_.response.id!r})"
        if round_.method not in MRTR_METHODS:
            problems.append(f"{where} was answered with an InputRequiredResult; only {sorted(MRTR_METHODS)} may be")
        if "inputRequests" not in result and "requestState" not in result:
            problems.append(f"{where}: the InputRequiredResult holds neither inputRequests nor requestState")
        if "inputRequests" in result and not isinstance(result["inputRequests"], dict):
            problems.append(f"{where}: inputRequests must be an object, got {str(result['inputRequests'])[:100]}")
        if "requestState" in result and not isinstance(result["requestState"], str):
            problems.append(f"{where}: requestState must be a string")
    expect(not problems, "\n".join(problems))


@requirement(
    "2026-07-28/mrtr-011",
    "2026-07-28/elicitation-011",
    "2026-07-28/elicitation-012",
    "2026-07-28/elicitation-016",
    "2026-07-28/elicitation-018",
    "2026-07-28/elicitation-019",
    "2026-07-28/sampling-015",
)
def test_input_requests_valid(mcp_target, revision):
    """Each input request is an elicitation/create (form mode, which may leave `mode` out,
    with a requestedSchema; or URL mode with a valid url), a sampling/createMessage (its
    messages with a role and content) or a roots/list, valid against the schema."""
    problems = []
    for one, where, request in input_requests(modern_exchanges(mcp_target, revision)):
        method = request.get("method") if isinstance(request, dict) else None
        if method not in CLIENT_REQUESTS:
            problems.append(f"{where}: {method!r} is not one of {', '.join(CLIENT_REQUESTS)}")
            continue
        schema = one.session.schema
        problems += [f"{where}: {v}" for v in schema.validate(request, schema.request_defs[method])]
        params = request.get("params") if isinstance(request.get("params"), dict) else {}
        if method == "elicitation/create" and params.get("mode") == "url" and not valid_url(params.get("url")):
            problems.append(f"{where}: url must hold a valid URL, got {params.get('url')!r}")
    expect(not problems, "\n".join(problems))


def undeclared(request: dict, caps: dict, revision: str) -> str:
    """What an input request needs that `caps` does not declare ("" if nothing)."""
    method = request.get("method")
    params = request.get("params") if isinstance(request.get("params"), dict) else {}
    if method == "sampling/createMessage":
        if not isinstance(caps.get("sampling"), dict):
            return "sampling"
        if ("tools" in params or "toolChoice" in params) and not isinstance(caps["sampling"].get("tools"), dict):
            return "sampling.tools"
    if method == "elicitation/create" and params.get("mode", "form") not in elicitation_modes(caps, revision):
        return f"elicitation in {params.get('mode', 'form')} mode"
    if method == "roots/list" and not isinstance(caps.get("roots"), dict):
        return "roots"
    return ""


@requirement("2026-07-28/mrtr-022", "2026-07-28/mrtr-023", "2026-07-28/elicitation-009", "2026-07-28/sampling-007")
def test_input_requests_declared(mcp_target, revision):
    """Input requests ask only for what the client declared in its clientCapabilities:
    sampling (with tools only under sampling.tools), elicitation in a declared mode, roots."""
    problems = []
    for one, where, request in input_requests(modern_exchanges(mcp_target, revision)):
        missing = undeclared(request, one.capabilities, revision) if isinstance(request, dict) else ""
        if missing:
            problems.append(
                f"{where} needs {missing}, which the client did not declare (clientCapabilities {one.capabilities})"
            )
    expect(not problems, "\n".join(problems))


@requirement("2026-07-28/mrtr-001")
def test_no_server_requests_in_modern_era(mcp_target, revision):
    """In 2026-07-28 a server asks the client for roots, sampling or elicitation only inside
    an InputRequiredResult, never with a request of its own."""
    made = modern_exchanges(mcp_target, revision)
    sent = [m for one in made for m in one.received() if m.kind is Kind.REQUEST and m.method in CLIENT_REQUESTS]
    expect(
        not sent,
        "the server sent "
        + ", ".join(f"{m.method} (id {m.id!r})" for m in sent[:5])
        + " as server-to-client requests; in 2026-07-28 it asks inside an InputRequiredResult",
    )


@requirement("2026-07-28/sampling-010", "2026-07-28/sampling-011", "2026-07-28/sampling-031")
def test_input_sampling_tool_results_paired(mcp_target, revision):
    """In the messages of a sampling input request, every assistant turn with tool uses is
    followed at once by a user message of exactly their tool results (matching
    `toolUseId`), and tool results are never mixed with other content."""
    asked = input_requests(modern_exchanges(mcp_target, revision))
    judge_pairing(
        [
            (where, request["params"])
            for _, where, request in asked
            if isinstance(request, dict)
            and request.get("method") == "sampling/createMessage"
            and isinstance(request.get("params"), dict)
        ]
    )


@requirement("2026-07-28/mrtr-036")
def test_missing_input_asked_again(mcp_target, revision):
    """A retry that echoes the requestState but leaves out the input the server asked for
    should get a new InputRequiredResult (or, if the input was not needed after all, the
    result), not an error."""
    asking = [
        (one, r)
        for one, r in input_rounds(modern_exchanges(mcp_target, revision))
        if isinstance(r.response.result.get("inputRequests"), dict) and r.response.result["inputRequests"]
    ]
    if not asking:
        not_applicable("no InputRequiredResult held inputRequests")
    one, round_ = asking[0]
    retry = dict(round_.params)
    if "requestState" in round_.response.result:
        retry["requestState"] = round_.response.result["requestState"]
    response = one.session.request(round_.method, retry, answer_input=False)
    should(
        response.kind is not Kind.ERROR,
        f"{round_.method} retried without the requested inputResponses got "
        f"error {response.error_code}; the server should ask again",
    )
