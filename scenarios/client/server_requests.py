"""Requests and notifications from the server: ping, roots, sampling, elicitation, in an
order the client does not choose (they arrive while its own request is still open).

Spec: https://modelcontextprotocol.io/specification/2025-11-25/client/roots (and sampling,
elicitation; basic/utilities/ping)
"""

from conformance import jsonrpc
from conformance.checks import expect, info, not_applicable, requirement, should
from conformance.jsonrpc import INVALID_PARAMS, METHOD_NOT_FOUND, Kind
from conformance.revisions import URL_MODE_SINCE, elicitation_modes

SCENARIO = "server-requests"
UNDECLARED = "undeclared-requests"


def _sent(record, method):
    request = next((m for m in record.peer_requests() if m.method == method), None)
    if request is None:
        not_applicable(f"the suite's server sent no {method} (the client sent no notifications/initialized)")
    return request, record.answer_to(request)


def _undeclared(client_run):
    """The undeclared-requests scenario's record, skipped before the revision that has
    elicitation modes and tools in sampling."""
    record = client_run(UNDECLARED)
    record.require_session()
    if record.revision < URL_MODE_SINCE:
        not_applicable(
            f"elicitation modes and tools in sampling came in {URL_MODE_SINCE}; the session is in {record.revision}"
        )
    return record


def _declared(record, capability):
    init = next(m for m in record.client_requests() if m.method == "initialize")
    capabilities = (init.params or {}).get("capabilities") or {}
    return capabilities.get(capability) if isinstance(capabilities, dict) else None


@requirement("basic-007", "basic-010")
def test_answers_server_requests_in_any_order(client_run):
    """Every request the server sends is answered (a result or an error) with its id, even
    while the client waits for the server's answer to its own request."""
    record = client_run(SCENARIO)
    record.require_session()
    sent = record.peer_requests()
    if not sent:
        not_applicable("the suite's server sent no requests (the client sent no notifications/initialized)")
    unanswered = [f"{m.method} (id {m.id})" for m in sent if record.answer_to(m) is None]
    expect(not unanswered, "requests from the server never answered: " + ", ".join(unanswered))
    expired = [e for e in record.events if e.get("event") == "hold-expired"]
    expect(
        not expired,
        "the client's own request was held until the server's requests were answered, "
        "and they were not answered within the hold time",
    )


@requirement("basic-013", "2026-07-28/basic-026")
def test_client_answers_no_notifications(client_run):
    """The client answers requests only: every response it sends names a request the
    suite's server sent (the server's notifications, a log message, progress, a stray
    cancellation, get none). Judged in the scenarios server-requests and progress."""
    stray = []
    for scenario in (SCENARIO, "progress"):
        record = client_run(scenario)
        record.require_session()
        sent = record.peer_requests()
        stray += [
            f"scenario {scenario}: {m.text()[:200]}"
            for m in record.from_client()
            if m.is_response and not any(r.has_id and m.has_id and jsonrpc.same_id(r.id, m.id) for r in sent)
        ]
    expect(not stray, "responses to no request of the server (notifications get none):\n  " + "\n  ".join(stray))


@requirement("ping-001")
def test_answers_ping(client_run):
    """A ping from the server gets an empty result."""
    record = client_run(SCENARIO)
    record.require_session()
    _, answer = _sent(record, "ping")
    expect(answer is not None, "the client never answered the server's ping")
    expect(answer.kind is Kind.RESULT, f"ping was answered with an error: {answer.error}")
    extra = set(answer.result) - {"_meta"}
    expect(not extra, f"the ping result must be empty, it holds {sorted(extra)}")


def modern_roots(client_run) -> list:
    """The roots the client gave in the modern era: its answers to the roots input request
    of scenario modern-mrtr (none when it speaks only the legacy era or was not asked)."""
    record = client_run("modern-mrtr")
    return [
        r
        for m in record.modern_requests()
        if isinstance(m.params, dict) and isinstance((m.params.get("inputResponses") or {}).get("roots"), dict)
        for r in m.params["inputResponses"]["roots"].get("roots") or []
    ]


@requirement("roots-001", "roots-003", "roots-004", "2026-07-28/roots-003")
def test_roots_list(client_run):
    """With the roots capability declared, roots/list gets a list of file:// roots; without
    it, the answer is error -32601. In the modern era the roots a client gives in answer to
    an input request (scenario modern-mrtr) are file:// URIs as well."""
    modern = [r.get("uri") if isinstance(r, dict) else r for r in modern_roots(client_run)]
    bad_modern = [uri for uri in modern if not str(uri or "").startswith("file://")]
    expect(not bad_modern, f"root URIs must be file:// URIs; the modern-era input response gave {bad_modern}")
    record = client_run(SCENARIO)
    record.require_session()
    _, answer = _sent(record, "roots/list")
    expect(answer is not None, "the client never answered roots/list")
    if _declared(record, "roots") is None:
        should(
            answer.kind is Kind.ERROR and answer.error_code == METHOD_NOT_FOUND,
            f"roots is not declared, so roots/list should get error -32601; got {answer.text()[:200]}",
        )
        return
    expect(answer.kind is Kind.RESULT, f"roots is declared but roots/list got an error: {answer.error}")
    roots = answer.result.get("roots")
    expect(isinstance(roots, list), f"roots/list result has no roots list: {answer.result!r}")
    bad = [r.get("uri") for r in roots if not (isinstance(r, dict) and str(r.get("uri", "")).startswith("file://"))]
    expect(not bad, f"root URIs must be file:// URIs: {bad}")


@requirement("roots-002")
def test_roots_change_notified(client_run):
    """A client that declares roots.listChanged sends notifications/roots/list_changed when
    its roots change: the suite's server asks roots/list twice, and two different answers
    need that notification after the first. Changing roots is a host's action that no
    environment contract asks for: a client whose roots stay the same is not judged."""
    record = client_run(SCENARIO)
    record.require_session()
    roots = _declared(record, "roots")
    if not (isinstance(roots, dict) and roots.get("listChanged") is True):
        not_applicable("the client does not declare roots.listChanged")
    asked = [m for m in record.peer_requests() if m.method == "roots/list"]
    answers = [a for a in map(record.answer_to, asked) if a is not None and a.kind is Kind.RESULT]
    if len(answers) < 2:
        not_applicable("the client did not answer roots/list twice with a result")
    if answers[0].result.get("roots") == answers[1].result.get("roots"):
        not_applicable(
            "the client's roots did not change during the session (a host's action, which no "
            "environment contract asks for)"
        )
    first = record.index(lambda i: i.message is answers[0])
    notified = any(
        i.from_client and i.message.method == "notifications/roots/list_changed" for i in record.items[first:]
    )
    expect(
        notified,
        "the client's roots changed between its two roots/list answers, and it sent no "
        f"notifications/roots/list_changed: {answers[0].result.get('roots')} then "
        f"{answers[1].result.get('roots')}",
    )


@requirement("sampling-007")
def test_sampling_answered(client_run):
    """With sampling declared, sampling/createMessage gets a CreateMessageResult (or an
    error such as a declined request); the schema judges the result."""
    record = client_run(SCENARIO)
    record.require_session()
    if _declared(record, "sampling") is None:
        not_applicable("the client does not declare sampling, so the server sends none")
    _, answer = _sent(record, "sampling/createMessage")
    expect(answer is not None, "the client never answered sampling/createMessage")
    if answer.kind is Kind.ERROR:
        info(f"sampling/createMessage answered with error {answer.error_code}: declined or failed")


@requirement("elicitation-007", "elicitation-008", "elicitation-014")
def test_elicitation_answered(client_run):
    """With elicitation declared (modes form and/or url, empty meaning form), a form
    request without a mode is answered with accept, decline or cancel."""
    record = client_run(SCENARIO)
    record.require_session()
    declared = _declared(record, "elicitation")
    if declared is None:
        not_applicable("the client does not declare elicitation, so the server sends none")
    expect(isinstance(declared, dict), f"the elicitation capability must be an object, got {declared!r}")
    unknown = set(declared) - {"form", "url"}
    should(not unknown, f"unknown elicitation modes declared: {sorted(unknown)}")
    if not any(m.method == "elicitation/create" for m in record.peer_requests()):
        not_applicable(f"no elicitation in the negotiated revision {record.revision}")
    _, answer = _sent(record, "elicitation/create")
    expect(answer is not None, "the client never answered elicitation/create")
    expect(
        answer.kind is Kind.RESULT or answer.error_code != METHOD_NOT_FOUND,
        "elicitation is declared, but elicitation/create got -32601",
    )
    if answer.kind is Kind.RESULT:
        expect(
            answer.result.get("action") in ("accept", "decline", "cancel"),
            f"elicitation result action must be accept, decline or cancel: {answer.result!r}",
        )


@requirement("elicitation-040")
def test_undeclared_elicitation_mode_refused(client_run):
    """An elicitation/create in a mode the client did not declare (url to a client that
    declared form only, form to one that declared url only) gets error -32602."""
    record = _undeclared(client_run)
    declared = _declared(record, "elicitation")
    modes = elicitation_modes({"elicitation": declared}, record.revision)
    if not modes or modes == {"form", "url"}:
        not_applicable(f"the client declares elicitation {declared!r}: no mode is left undeclared")
    request, answer = _sent(record, "elicitation/create")
    mode = (request.params or {}).get("mode")
    expect(answer is not None, f"the client never answered elicitation/create in the undeclared mode {mode!r}")
    expect(
        answer.kind is Kind.ERROR,
        f"the client accepted elicitation mode {mode!r}, which it did not declare "
        f"(it declared {sorted(modes)}): {answer.text()[:200]}",
    )
    expect(
        answer.error_code == INVALID_PARAMS,
        f"an undeclared elicitation mode must get error -32602 (Invalid params), got {answer.error_code!r}",
    )


@requirement("sampling-005", "schema-027", "schema-028")
def test_tool_sampling_refused_without_capability(client_run):
    """A sampling/createMessage offering `tools` and `toolChoice` to a client that declared
    sampling without sampling.tools gets an error, not a sampled message."""
    record = _undeclared(client_run)
    sampling = _declared(record, "sampling")
    if not isinstance(sampling, dict) or "tools" in sampling:
        not_applicable(
            f"the client declares sampling {sampling!r}: tool-enabled sampling is "
            + ("allowed" if isinstance(sampling, dict) else "never sent")
        )
    _, answer = _sent(record, "sampling/createMessage")
    expect(answer is not None, "the client never answered sampling/createMessage offering tools")
    expect(
        answer.kind is Kind.ERROR,
        "the client sampled a message with tools offered, though it did not declare "
        f"sampling.tools: {answer.text()[:200]}",
    )
