"""The modern era from the client's side (2026-07-28 on): no handshake, the per-request
`_meta`, the server/discover probe, the retry after UnsupportedProtocolVersionError, a
result without resultType, and the multi round-trip retry after an InputRequiredResult.
A client that speaks only the legacy era makes these checks not applicable.

Spec: https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning
"""

from conformance import jsonrpc
from conformance.checks import expect, info, not_applicable, requirement, should
from conformance.jsonrpc import Kind, Message
from conformance.peer import FORM_BY_DEFAULT, UNKNOWN_RESULT_TYPE

META = "io.modelcontextprotocol/"
UNSUPPORTED_PROTOCOL_VERSION = -32022
MRTR = "modern-mrtr"


def _modern(record):
    requests = record.modern_requests()
    if not requests:
        not_applicable(f"the client sent no modern-era request in scenario {record.scenario} (legacy era only)")
    return requests


@requirement(
    "2026-07-28/basic-053",
    "2026-07-28/basic-056",
    "2026-07-28/mrtr-002",
    "2026-07-28/tools-001",
    "2026-07-28/pagination-001",
    "2026-07-28/prompts-001",
    "2026-07-28/resources-001",
    "2026-07-28/completion-001",
)
def test_modern_requests_carry_meta(client_run):
    """In the modern era every request (server/discover, the paginated tools/list,
    tools/call, and the prompts/, resources/ and completion/ requests a client sends to the
    suite's server, which declares those features) carries `_meta` with the protocol
    version and the client's capabilities, and should carry clientInfo."""
    record = client_run("modern")
    _modern(record)
    initialize = next((n for n, m in enumerate(record.client_requests()) if m.method == "initialize"), None)
    judged = record.client_requests()[:initialize]  # after a fall back to initialize, the legacy era rules
    missing, no_info = [], []
    for request in judged:
        meta = (request.params or {}).get("_meta") if isinstance(request.params, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        lacking = [key for key in ("protocolVersion", "clientCapabilities") if META + key not in meta]
        if lacking:
            missing.append(f"{request.method} (id {request.id}) lacks {', '.join(META + k for k in lacking)}")
        if META + "clientInfo" not in meta:
            no_info.append(f"{request.method} (id {request.id})")
    expect(not missing, "modern-era requests without the required _meta:\n  " + "\n  ".join(missing))
    should(not no_info, f"requests without {META}clientInfo: {', '.join(no_info)}")


@requirement("2026-07-28/versioning-004", "2026-07-28/versioning-011")
def test_discover_probe_first(client_run):
    """Over stdio a modern client should begin with server/discover, so that a server
    lacking its version fails cleanly before any real work."""
    record = client_run("modern")
    first = _modern(record)[0]
    if record.transport != "stdio":
        not_applicable(f"the probe is advised over stdio only; over {record.transport} it is optional")
    should(first.method == "server/discover", f"the first modern-era request was {first.method}, not server/discover")
    if any(m.method == "initialize" for m in record.client_requests()):
        info("the client went on in the legacy era although the server offered the modern one")


@requirement("2026-07-28/versioning-002")
def test_retries_after_unsupported_version(client_run):
    """Refused with UnsupportedProtocolVersionError naming only legacy revisions, the client
    retries with a version from that list (initialize, for these) or gives up; it does not
    repeat the refused version."""
    record = client_run("modern-retry")
    modern = _modern(record)
    refused = {str(m.params["_meta"][META + "protocolVersion"]) for m in modern}
    errors = [
        m
        for m in (i.message for i in record.items if not i.from_client)
        if m.kind is Kind.ERROR and m.error_code == UNSUPPORTED_PROTOCOL_VERSION
    ]
    expect(errors, "the suite's server refused no request (see the transcript)")
    supported = (errors[0].error.get("data") or {}).get("supported", [])
    repeated = len(modern) - 1
    initialize = next((m for m in record.client_requests() if m.method == "initialize"), None)
    should(repeated == 0, f"after the refusal the client sent {repeated} more request(s) in {sorted(refused)}")
    if initialize is not None:
        asked = (initialize.params or {}).get("protocolVersion")
        should(asked in supported, f"the client retried with initialize for {asked!r}, not one of {supported}")
        info(f"the client retried with initialize for {asked}")
    else:
        info("the client gave up after the refusal")
    expect(not record.outcome.timed_out, "the client neither retried nor exited: " + record.outcome.describe())


def _input_required(record):
    """The client's first tools/call and the InputRequiredResult the suite's server gave it."""
    calls = [m for m in _modern(record) if m.method == "tools/call"]
    if not calls:
        not_applicable("the client called no tool in the modern era, so it got no InputRequiredResult")
    answer = next(
        (
            i.message
            for i in record.items
            if not i.from_client and i.message.kind is Kind.RESULT and jsonrpc.same_id(i.message.id, calls[0].id)
        ),
        None,
    )
    expect(
        answer is not None and answer.result.get("resultType") == "input_required",
        "the suite's server did not answer the first tools/call with an InputRequiredResult (see the transcript)",
    )
    return calls, answer.result


def _retry(calls):
    """The client's retry among its tool calls: the one carrying a requestState (None without)."""
    return next((m for m in calls[1:] if isinstance(m.params, dict) and "requestState" in m.params), None)


@requirement("2026-07-28/basic-014", "2026-07-28/schema-016")
def test_missing_result_type_read_as_complete(client_run):
    """Sent back to initialize by a server of the legacy era, whose results have no
    resultType, the client reads them as complete: it uses the tools/list it got (calls a
    listed tool); it neither stops nor asks again."""
    record = client_run("modern-retry")
    _modern(record)
    requests = record.client_requests()
    initialize = next((n for n, m in enumerate(requests) if m.method == "initialize"), None)
    if initialize is None:
        not_applicable("the client gave up after the refusal, so it got no result from the legacy-era server")
    later = requests[initialize + 1 :]
    lists = [n for n, m in enumerate(later) if m.method == "tools/list"]
    if not lists:
        not_applicable("the client sent no tools/list to the legacy-era server")
    after = later[lists[0] + 1 :]
    if any(m.method == "tools/call" for m in after):
        return
    expect(
        not any(m.method == "tools/list" for m in after),
        "the client asked for tools/list again after a result without resultType (it is complete)",
    )
    expect(
        record.outcome.exit_code == 0 or record.outcome.timed_out,
        f"the client stopped (exit code {record.outcome.exit_code}) after a tools/list result without "
        "resultType, which it must read as complete\n" + record.outcome.describe(),
    )
    info("the client called no tool after tools/list, so the use of the list is not seen")


@requirement(
    "2026-07-28/mrtr-026",
    "2026-07-28/mrtr-028",
    "2026-07-28/mrtr-031",
    "2026-07-28/mrtr-032",
    "2026-07-28/tools-012",
    "2026-07-28/basic-032",
)
def test_retry_after_input_required(client_run):
    """Answered with an InputRequiredResult, the client retries the call under a new id with
    an inputResponses entry for every input request and the requestState unchanged (the
    state spanning the two requests travels with the client's retry); no other request
    carries them. (The elicitation without a mode is test_modern_elicitation_without_mode_is_form's.)"""
    record = client_run(MRTR)
    calls, asked = _input_required(record)
    first = calls[0]
    retry = _retry(calls)
    carriers = [
        f"{m.method} (id {m.id})"
        for m in record.client_requests()
        if m is not retry
        and isinstance(m.params, dict)
        and ("requestState" in m.params or "inputResponses" in m.params)
    ]
    expect(not carriers, "requests other than the retry carry requestState or inputResponses: " + ", ".join(carriers))
    if retry is None:
        info("the client did not retry the tool call after the InputRequiredResult")
        return
    expect(not jsonrpc.same_id(retry.id, first.id), f"the retry reuses the id of the first request ({first.id!r})")
    expect(
        retry.params["requestState"] == asked.get("requestState"),
        f"the retry's requestState {retry.params['requestState']!r} is not the one the server sent "
        f"({asked.get('requestState')!r}): it must be echoed unchanged",
    )
    responses = retry.params.get("inputResponses")
    missing = sorted(
        set(asked.get("inputRequests") or {})
        - set(responses if isinstance(responses, dict) else {})
        - {FORM_BY_DEFAULT}
    )
    expect(not missing, f"the retry's inputResponses lack answers to the input requests {missing}")


@requirement("2026-07-28/stdio-007", "2026-07-28/streamable-http-012")
def test_modern_client_sends_no_responses(client_run):
    """In the modern era the server sends the client no requests (it asks inside an
    InputRequiredResult instead), so the client sends no JSON-RPC response, on stdio or
    over HTTP: judged in the modern scenarios up to any fall back to initialize."""
    answers, seen = [], 0
    for scenario in ("modern", MRTR):
        record = client_run(scenario)
        if not record.modern_requests():
            continue
        seen += 1
        answers += [
            f"scenario {scenario}: {i.message.text()[:200]}"
            for i in record.before_fallback()
            if i.from_client and i.message.is_response
        ]
    if not seen:
        not_applicable("the client sent no modern-era request (legacy era only)")
    expect(
        not answers,
        "JSON-RPC responses sent in the modern era, where the server sends no requests:\n  " + "\n  ".join(answers),
    )


def undeclared_inputs_retry(client_run) -> tuple[dict, dict, dict]:
    """Scenario modern-undeclared-inputs: the InputRequiredResult, and the clientCapabilities
    and inputResponses of the client's retry (skipped without a retry)."""
    calls, asked = _input_required(client_run("modern-undeclared-inputs"))
    retry = _retry(calls)
    if retry is None:
        not_applicable("the client did not retry the tool call after the InputRequiredResult")
    meta = retry.params.get("_meta") if isinstance(retry.params.get("_meta"), dict) else {}
    declared = meta.get(META + "clientCapabilities")
    responses = retry.params.get("inputResponses")
    return asked, declared if isinstance(declared, dict) else {}, responses if isinstance(responses, dict) else {}


# What fulfilling an input request shows the client supports: method -> (capability, the sign)
SUPPORT_SHOWN = {
    "sampling/createMessage": ("sampling", lambda answer: "content" in answer),
    "elicitation/create": ("elicitation", lambda answer: answer.get("action") == "accept"),
    "roots/list": ("roots", lambda answer: isinstance(answer.get("roots"), list)),
}


@requirement("2026-07-28/elicitation-007", "2026-07-28/sampling-008", "2026-07-28/roots-002")
def test_modern_capabilities_declared_per_request(client_run):
    """A client that supports sampling, elicitation or roots declares it in the
    clientCapabilities `_meta` of each request: asked for all three whatever it declared
    (scenario modern-undeclared-inputs), a retry that fulfils one (a sampled message, an
    accepted elicitation, a list of roots) shows the support, which that retry must declare.
    A declined or missing answer shows nothing."""
    asked, declared, responses = undeclared_inputs_retry(client_run)
    undeclared = []
    for key, request in (asked.get("inputRequests") or {}).items():
        capability, shown = SUPPORT_SHOWN[request["method"]]
        answer = responses.get(key)
        if isinstance(answer, dict) and shown(answer) and capability not in declared:
            undeclared.append(
                f"{key} ({request['method']}) fulfilled, yet {capability} is not in the retry's clientCapabilities"
            )
    expect(not undeclared, "features used but not declared per request:\n  " + "\n  ".join(undeclared))


def declared_per_request(record) -> list[tuple[Message, dict]]:
    """(request, its clientCapabilities) of each modern-era request that declares them."""
    found = []
    for request in record.modern_requests():
        meta = request.params.get("_meta") if isinstance(request.params, dict) else None
        capabilities = meta.get(META + "clientCapabilities") if isinstance(meta, dict) else None
        if isinstance(capabilities, dict):
            found.append((request, capabilities))
    return found


@requirement("2026-07-28/elicitation-008")
def test_modern_elicitation_capability_names_a_mode(client_run):
    """An elicitation capability a modern-era request declares supports a mode: it names
    form or url, or is empty (which means form). Judged in the scenarios modern and
    modern-mrtr."""
    declared = [
        (r, c["elicitation"])
        for name in ("modern", MRTR)
        for r, c in declared_per_request(client_run(name))
        if "elicitation" in c
    ]
    if not declared:
        not_applicable("no modern-era request declared elicitation")
    wrong = [
        f"{r.method} (id {r.id}): elicitation {e!r}"
        for r, e in declared
        if not (isinstance(e, dict) and (not e or "form" in e or "url" in e))
    ]
    expect(
        not wrong,
        "elicitation declared without a mode it supports (form, url, or {} for form):\n  "
        + "\n  ".join(dict.fromkeys(wrong)),
    )


@requirement("2026-07-28/basic-012", "2026-07-28/basic-013")
def test_unknown_result_type_treated_as_invalid(client_run):
    """A result whose resultType the client does not know (neither a core value nor one of
    an extension it supports) is invalid: given a tools/list result with resultType
    "mcp-conformance-unknown" (scenario modern-unknown-result-type), the client calls none
    of the tools it lists. Stopping, or asking again, is its choice."""
    record = client_run("modern-unknown-result-type")
    requests = _modern(record)
    if any(m.method == "initialize" for m in record.client_requests()):
        not_applicable("the client went on in the legacy era although the server offered the modern one")
    listed = {
        t["name"]
        for i in record.items
        if not i.from_client
        and i.message.kind is Kind.RESULT
        and i.message.result.get("resultType") == UNKNOWN_RESULT_TYPE
        for t in i.message.result.get("tools") or []
        if isinstance(t, dict) and "name" in t
    }
    if not listed:
        not_applicable("the client sent no tools/list, so it got no result of an unknown resultType")
    called = [
        f"{m.method} {m.params.get('name')!r} (id {m.id})"
        for m in requests
        if m.method == "tools/call" and isinstance(m.params, dict) and m.params.get("name") in listed
    ]
    expect(
        not called,
        f"the client used a tools/list result of resultType {UNKNOWN_RESULT_TYPE!r}, which it must "
        "take as invalid: " + ", ".join(called),
    )


@requirement("2026-07-28/sampling-006", "2026-07-28/schema-055", "2026-07-28/schema-056")
def test_modern_tool_sampling_needs_capability(client_run):
    """Tool-enabled sampling is for a client that declares sampling.tools; one that does
    not must not sample a message for a request offering tools and toolChoice (its answer
    would be an error, which an input response cannot carry, so it leaves the request
    unfulfilled). Judged on the retry in scenario modern-undeclared-inputs."""
    asked, declared, responses = undeclared_inputs_retry(client_run)
    sampling = declared.get("sampling")
    if isinstance(sampling, dict) and "tools" in sampling:
        not_applicable("the client declares sampling.tools: tool-enabled sampling is allowed")
    sampled = [
        key
        for key, request in (asked.get("inputRequests") or {}).items()
        if request["method"] == "sampling/createMessage"
        and "tools" in (request.get("params") or {})
        and isinstance(responses.get(key), dict)
        and "content" in responses[key]
    ]
    expect(
        not sampled,
        f"the client sampled a message for {sampled} (tools offered) without declaring "
        f"sampling.tools (it declares sampling {sampling!r})",
    )


@requirement("2026-07-28/elicitation-015")
def test_modern_elicitation_without_mode_is_form(client_run):
    """An elicitation input request without a mode is a form request: a client that
    declares form mode answers it as one (accept, decline or cancel) in its retry
    (scenario modern-mrtr)."""
    record = client_run(MRTR)
    calls, asked = _input_required(record)
    if FORM_BY_DEFAULT not in (asked.get("inputRequests") or {}):
        not_applicable("the client declares no elicitation in form mode, so no elicitation without a mode was asked")
    retry = _retry(calls)
    if retry is None:
        not_applicable("the client did not retry the tool call after the InputRequiredResult")
    responses = retry.params.get("inputResponses") if isinstance(retry.params.get("inputResponses"), dict) else {}
    answer = responses.get(FORM_BY_DEFAULT)
    expect(
        isinstance(answer, dict) and answer.get("action") in ("accept", "decline", "cancel"),
        f"the elicitation without a mode ({FORM_BY_DEFAULT}) got no form answer in the retry: {answer!r}",
    )
