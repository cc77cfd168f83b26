"""Client lifecycle: the initialize request, initialized, the order of the first messages.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle
"""

from conformance import ledger
from conformance.checks import expect, fail, info, not_applicable, requirement, should, sweep
from conformance.jsonrpc import Kind
from conformance.schema import legacy_revisions

PROBE = "server/discover"  # a modern-era probe a client may send first (versioning-011)


def _initialize(record):
    return next(m for m in record.client_requests() if m.method == "initialize")


@requirement("lifecycle-001")
def test_client_connects_and_initializes(client_run):
    """The client starts the suite's server, sends `initialize`, finishes its session and
    exits within the client timeout. Every other check needs this."""
    record = client_run("initialize")
    outcome = record.outcome
    if outcome.start_error:
        fail(outcome.describe())
    if not record.connected:
        how = (
            "never started the suite's server ({server} in its command)"
            if record.transport == "stdio"
            else "never connected to the suite's server (its URL is the client's last argument, or {url})"
        )
        fail(f"the client {how}\n" + outcome.describe())
    if not any(m.method == "initialize" for m in record.client_requests()):
        if record.modern_requests():
            info("the client sent no initialize: it speaks only the modern era, which this legacy server lacks")
        else:
            fail("the client started the server but sent no initialize request\n" + outcome.describe())
    if outcome.timed_out:
        fail("the client did not finish its session: " + outcome.describe())
    should(
        outcome.exit_code == 0,
        f"the client exited with code {outcome.exit_code} after a scripted session in which nothing went wrong",
    )


@requirement("lifecycle-002", "lifecycle-003", "lifecycle-004")
def test_initialize_request_shape(client_run):
    """`initialize` states the protocol version (a string), the client's capabilities (an
    object) and clientInfo (with name and version); the schema judges the rest."""
    record = client_run("initialize")
    record.require_session()
    params = _initialize(record).params
    expect(isinstance(params, dict), f"initialize has no params object: {params!r}")
    expect(
        isinstance(params.get("protocolVersion"), str),
        f"protocolVersion must be a string, got {params.get('protocolVersion')!r}",
    )
    expect(
        isinstance(params.get("capabilities"), dict),
        f"capabilities must be an object, got {params.get('capabilities')!r}",
    )
    client_info = params.get("clientInfo")
    expect(
        isinstance(client_info, dict)
        and isinstance(client_info.get("name"), str)
        and isinstance(client_info.get("version"), str),
        f"clientInfo must be an object with name and version strings, got {client_info!r}",
    )


@requirement("lifecycle-008", "lifecycle-009")
def test_requests_a_published_version(client_run):
    """The version asked for is a published revision (a client can only support those);
    the newest one is expected, an older one is noted."""
    record = client_run("initialize")
    record.require_session()
    asked = record.requested
    expect(
        asked in legacy_revisions(),
        f"the client asked for {asked!r}, which is no published revision "
        f"with an initialize handshake ({', '.join(legacy_revisions())})",
    )
    if asked != legacy_revisions()[-1]:
        info(f"the client asked for {asked}, not the newest revision {legacy_revisions()[-1]}")


@requirement("lifecycle-001", "lifecycle-006")
def test_initialize_comes_first(client_run):
    """The first request is `initialize` (a `server/discover` probe may precede it); until
    it is answered the client sends nothing but pings."""
    record = client_run("initialize")
    record.require_session()
    requests = record.client_requests()
    first = next(m for m in requests if m.method != PROBE)
    expect(first.method == "initialize", f"the first request was {first.method!r}, not initialize")
    answered = record.initialize_answered_at()
    early = [
        i.message.method
        for i in record.items[:answered]
        if i.from_client and i.message.kind is Kind.REQUEST and i.message.method not in ("initialize", "ping", PROBE)
    ]
    should(not early, f"requests before initialize was answered: {early}")


@requirement("lifecycle-001")
def test_initialized_before_other_requests(client_run):
    """After a successful initialize the client sends `notifications/initialized`, before
    any request other than ping."""
    record = client_run("initialize")
    record.require_session()
    answered = record.initialize_answered_at()
    expect(answered is not None, "the suite's server never answered initialize (see the transcript)")
    later = [i.message for i in record.items[answered:] if i.from_client]
    done = next((n for n, m in enumerate(later) if m.method == "notifications/initialized"), None)
    others = [m.method for m in later[:done] if m.kind is Kind.REQUEST and m.method != "ping"]
    expect(done is not None or not others, f"the client never sent notifications/initialized, but sent {others}")
    expect(not others, f"requests before notifications/initialized: {others}")
    if done is None:
        info("the client sent notifications/initialized never, and no request either")


@requirement("basic-006", "2026-07-28/basic-006")
def test_request_ids_not_reused(client_run):
    """The client never uses a request id twice within one session; in the modern era
    (no session) never the id of one of its requests still open, such as the
    subscriptions/listen that stays open in scenario modern-subscriptions."""
    for scenario in ("initialize", "server-requests"):
        record = client_run(scenario)
        seen, reused = set(), []
        for message in record.client_requests():
            key = (type(message.id).__name__, message.id)
            if key in seen:
                reused.append(message.id)
            seen.add(key)
        expect(not reused, f"scenario {scenario}: request ids used more than once: {reused}")
    record = client_run("modern-subscriptions")
    open_ids: dict = {}  # the client's unanswered requests: id key -> method
    clashes = []
    for item in record.before_fallback():
        message, key = item.message, (type(item.message.id).__name__, item.message.id)
        if item.from_client and message.kind is Kind.REQUEST:
            if key in open_ids:
                clashes.append(f"{message.method} (id {message.id!r}) while {open_ids[key]} with that id is open")
            open_ids[key] = message.method
        elif not item.from_client and message.is_response:
            open_ids.pop(key, None)
    expect(
        not clashes,
        "scenario modern-subscriptions: request ids of requests still open used again:\n  " + "\n  ".join(clashes),
    )


SERVER_FEATURES = {
    "tools/": "tools",
    "prompts/": "prompts",
    "resources/": "resources",
    "logging/": "logging",
    "completion/": "completions",
    "tasks/": "tasks",
}  # request method prefix -> server capability
COMPLETIONS_SINCE = "2025-03-26"  # the completions capability (completion/complete had none before)


@requirement("lifecycle-016")
def test_requests_only_declared_server_features(client_run):
    """The client asks only for server features the server declared in its initialize
    answer (the suite's server declares tools and logging): no prompts/, resources/,
    completion/ or tasks/ request. Judged in the scenarios initialize and server-requests."""
    asked = []
    for scenario in ("initialize", "server-requests"):
        record = client_run(scenario)
        record.require_session()
        answered = record.initialize_answered_at()
        if answered is None:
            continue
        declared = record.items[answered].message.result.get("capabilities") or {}
        asked += [
            f"scenario {scenario}: {i.message.method} (id {i.message.id}), without the {feature} capability"
            for i in record.items[answered:]
            if i.from_client and i.message.kind is Kind.REQUEST
            for prefix, feature in SERVER_FEATURES.items()
            if (i.message.method or "").startswith(prefix)
            and feature not in declared
            and (feature != "completions" or record.revision >= COMPLETIONS_SINCE)
        ]
    expect(not asked, "requests for server features the server did not declare:\n  " + "\n  ".join(asked))


@requirement("basic-014", "2026-07-28/basic-027")
def test_client_notifications_have_no_id(mcp_client):
    """A notification the client sends (a method the schema defines as a notification:
    notifications/initialized, notifications/cancelled...) carries no `id`: with one it
    would be a request, which the server answers. Judged in every scenario."""
    from conformance.peer import SCENARIOS

    with_id = []
    for name in SCENARIOS:
        record = mcp_client.run(name)
        notifications = mcp_client.schema_for(record.revision).notification_defs
        with_id += [
            f"scenario {name}: {m.method} with id {m.id!r}"
            for m in record.client_requests()
            if m.method in notifications
        ]
    expect(not with_id, "notifications sent with an id:\n  " + "\n  ".join(with_id))


@requirement("transports-007", "transports-003", "basic-003", "2026-07-28/stdio-005", "2026-07-28/stdio-001")
def test_writes_only_mcp_messages(client_run):
    """Every line the client writes to the server's stdin (every body it POSTs, over HTTP)
    is a JSON-RPC message: a message spread over several lines (a newline inside it) is
    lines that are none."""
    for scenario in ("initialize", "server-requests", "modern"):
        record = client_run(scenario)
        bad = [m.text()[:200] for m in record.from_client() if m.kind in (Kind.NOT_JSON, Kind.INVALID)]
        expect(not bad, f"scenario {scenario}: lines that are no JSON-RPC message: {bad}")


@requirement("lifecycle-017", "lifecycle-018")
def test_closes_stdin_first(client_run):
    """To end a stdio session the client first closes the server's stdin (a signal comes
    only later, for a server that does not exit)."""
    record = client_run("initialize")
    if record.transport != "stdio":
        not_applicable(f"a stdio rule; the client speaks {record.transport}")
    record.require_session()
    if record.outcome.timed_out:
        not_applicable("the client did not end its session (see test_client_connects_and_initializes)")
    ends = [e["event"] for e in record.events if e.get("event") in ("eof", "sigterm")]
    if should(ends, "the server was still running, its stdin open, after the client exited"):
        should(ends[0] == "eof", "the client sent SIGTERM to the server without first closing its stdin")


@sweep
@requirement(
    "basic-003",
    "basic-004",
    "basic-005",
    "basic-008",
    "basic-011",
    "basic-012",
    *(f"2026-07-28/basic-{n}" for n in ("003", "004", "005", "008", "016", "017")),
    "2026-07-28/sampling-015",
)
def test_client_messages_valid(mcp_client):
    """Every message the client sent in every scenario is valid against the schema of its
    revision; among the rules the schema holds: request ids are strings or integers (never
    null), a result response has `result`, an error response an `error` with an integer
    `code` and a `message`, a sampled message (a result, or a modern-era input response)
    has a role, user or assistant, and content. The one owner of the client's schema validity: each distinct problem
    (definition, JSON path, method) is reported here once, with where it was first seen;
    the checks that read those messages judge only their own rule."""
    from conformance.scenarios.client.transports import posted_batch

    from conformance.peer import SCENARIOS

    seen: dict = {}
    for name in SCENARIOS:
        record = mcp_client.run(name)
        batches = {id(i.entry) for i in record.items if posted_batch(record, i, mcp_client.schema_for)}
        for entry, violation in record.violations():
            if id(entry) in batches:
                continue  # a batch POSTed over HTTP is test_http_posts_one_message_each's
            seen.setdefault(
                ledger.signature_of(entry, violation), f"scenario {name}: {violation}\n    " + entry.format(300).strip()
            )
    if seen:
        fail(
            f"{len(seen)} distinct schema violation(s) in what the client sent (wire-schema-valid):\n"
            + "\n".join(f"- {signature}\n  {text}" for signature, text in list(seen.items())[:20]),
            list(seen),
        )
