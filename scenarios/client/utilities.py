"""Progress and cancellation from the client's side: the progress tokens it hands out, the
progress it reports on the server's requests, the notifications/cancelled it sends, and how
it takes progress and a stray cancellation from the server in the middle of a tool call.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/progress
and .../basic/utilities/cancellation
"""

from conformance.scenarios.client.transports import sse_answers, stuck_after

from conformance import jsonrpc
from conformance.checks import blocked, expect, info, not_applicable, requirement, should
from conformance.jsonrpc import Kind
from conformance.peer import SAMPLING_PROGRESS, STRAY_CANCEL_ID

SCENARIO = "progress"


def _token(request):
    meta = request.params.get("_meta") if isinstance(request.params, dict) else None
    return meta.get("progressToken", None) if isinstance(meta, dict) else None


def _answered_at(record, request) -> int:
    """Where the suite's server answered `request` (the end of the record if it never did)."""
    found = record.index(
        lambda i: not i.from_client and i.message.is_response and jsonrpc.same_id(i.message.id, request.id)
    )
    return len(record.items) if found is None else found


def _shared_tokens(record, asked) -> list[str]:
    """Pairs of requests (index, message) open at the same time with one progress token."""
    return [
        f"{a.method} (id {a.id}) and {b.method} (id {b.id}): {_token(a)!r}"
        for x, (n, a) in enumerate(asked)
        for m, b in asked[x + 1 :]
        if _token(a) == _token(b) and m < _answered_at(record, a)
    ]


@requirement("progress-001", "progress-002", "2026-07-28/progress-002", "2026-07-28/progress-003")
def test_progress_tokens(client_run):
    """A progressToken is a string or an integer, and no two requests open at the same time
    share one (scenario progress); in the modern era too, a progressToken is a string or an
    integer (scenario modern), and the two tool calls scenario modern-subscriptions asks
    for at once (the server answers them once both are open) have tokens of their own."""
    modern = [m for m in client_run("modern").modern_requests() if _token(m) is not None]
    bad = [
        f"{m.method} (id {m.id}): {_token(m)!r}"
        for m in modern
        if isinstance(_token(m), bool) or not isinstance(_token(m), (str, int))
    ]
    expect(not bad, "progress tokens must be a string or an integer (modern era):\n  " + "\n  ".join(bad))
    concurrent = client_run("modern-subscriptions")
    tokened = [
        (n, i.message)
        for n, i in enumerate(concurrent.before_fallback())
        if i.from_client and i.message.kind is Kind.REQUEST and _token(i.message) is not None
    ]
    shared = _shared_tokens(concurrent, tokened)
    expect(
        not shared,
        "scenario modern-subscriptions: requests open at the same time share a progress token:\n  "
        + "\n  ".join(shared),
    )
    overlapping = any(m < _answered_at(concurrent, a) for x, (n, a) in enumerate(tokened) for m, _ in tokened[x + 1 :])
    if not overlapping:
        info(
            "in the modern era the client never had two requests with progress tokens open at once "
            "(scenario modern-subscriptions): their uniqueness was not put to the test there"
        )
    record = client_run(SCENARIO)
    record.require_session()
    asked = [
        (n, i.message)
        for n, i in enumerate(record.items)
        if i.from_client and i.message.kind is Kind.REQUEST and _token(i.message) is not None
    ]
    if not asked:
        not_applicable("the client asked for no progress (no progressToken in any request)")
    bad = [
        f"{m.method} (id {m.id}): {_token(m)!r}"
        for _, m in asked
        if isinstance(_token(m), bool) or not isinstance(_token(m), (str, int))
    ]
    expect(not bad, "progress tokens must be a string or an integer:\n  " + "\n  ".join(bad))
    shared = _shared_tokens(record, asked)
    expect(not shared, "requests open at the same time share a progress token:\n  " + "\n  ".join(shared))


@requirement("progress-007")
def test_client_progress_increases(client_run):
    """The progress a client reports on a server request grows with every notification:
    scenario server-requests asks for progress on its sampling/createMessage (progressToken
    SAMPLING_PROGRESS); reporting none is allowed (not applicable)."""
    record = client_run("server-requests")
    record.require_session()
    reported = [
        i.message.params
        for i in record.items
        if i.from_client
        and i.message.method == "notifications/progress"
        and isinstance(i.message.params, dict)
        and i.message.params.get("progressToken") == SAMPLING_PROGRESS
    ]
    if not reported:
        not_applicable(
            f"the client reported no progress on the sampling request (token {SAMPLING_PROGRESS!r}): "
            "a receiver may send none"
        )
    values = [params.get("progress") for params in reported]
    back = [
        f"{a!r} then {b!r}"
        for a, b in zip(values, values[1:])
        if not (isinstance(a, (int, float)) and isinstance(b, (int, float)) and b > a)
    ]
    expect(
        not back,
        f"the progress the client reported on token {SAMPLING_PROGRESS!r} did not grow: {values} ({'; '.join(back)})",
    )


@requirement("cancellation-015")
def test_takes_progress_and_stray_cancellation(client_run):
    """During its tool call the client gets progress notifications (when it asked for
    them) and a cancellation naming a request it never received; it ignores the stray
    cancellation and finishes its session normally."""
    record = client_run(SCENARIO)
    record.require_session()
    stray = record.index(lambda i: not i.from_client and i.message.method == "notifications/cancelled")
    if stray is None:
        not_applicable("the client called no tool, so the suite's server sent no progress or cancellation")
    stuck = stuck_after(record, sse_answers(record), "the SSE answer")
    if stuck:
        blocked(
            f"the tool call's answer came on an SSE stream, and {stuck[0]}", "test_http_json_and_sse_answers_handled"
        )
    expect(
        not record.outcome.timed_out,
        "the client did not finish its session after the server's progress "
        "and cancellation: " + record.outcome.describe(),
    )
    plain = client_run("initialize").outcome.exit_code
    if plain != 0:
        info(f"the client exits with code {plain} after a plain session too, so its exit code here says nothing")
        return
    should(
        record.outcome.exit_code == 0,
        f"after a cancellation naming {STRAY_CANCEL_ID!r}, a request it never received, the client "
        f"exited with code {record.outcome.exit_code} (it should ignore such a cancellation)\n"
        + record.outcome.describe(),
    )


@requirement(
    "cancellation-001",
    "cancellation-002",
    "cancellation-003",
    "schema-003",
    "schema-004",
    "schema-009",
    *(
        f"2026-07-28/{i}"
        for i in ("cancellation-005", "cancellation-011", "cancellation-012", "schema-022", "stdio-010")
    ),
)
def test_cancellations_name_own_running_requests(client_run):
    """A notifications/cancelled from the client names one of its own requests, never
    initialize; one sent after the answer arrived is a race the spec allows (noted).
    Judged in the legacy scenarios and the modern ones (over stdio the modern era cancels
    with the same notification, a subscription included; over HTTP by closing the stream)."""
    seen = 0
    for scenario in ("initialize", "server-requests", SCENARIO, "modern", "modern-mrtr", "modern-subscriptions"):
        record = client_run(scenario)
        requests = record.client_requests()
        for n, item in enumerate(record.items):
            if not (item.from_client and item.message.method == "notifications/cancelled"):
                continue
            seen += 1
            target = (item.message.params or {}).get("requestId") if isinstance(item.message.params, dict) else None
            own = next((r for r in requests if r.has_id and jsonrpc.same_id(r.id, target)), None)
            expect(
                own is not None, f"scenario {scenario}: the client cancelled request {target!r}, which it never sent"
            )
            expect(own.method != "initialize", f"scenario {scenario}: the client cancelled its initialize request")
            if _answered_at(record, own) < n:
                info(
                    f"scenario {scenario}: the client cancelled {own.method} (id {own.id}) after its answer "
                    "had been sent (a race the spec allows)"
                )
    if not seen:
        not_applicable("the client cancelled no request")
