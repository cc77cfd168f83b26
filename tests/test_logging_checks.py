"""How the 2026-07-28 sweep ties a log message to the requests in flight when it arrives
(stdio has nothing else to tie a notification to its request)."""

from types import SimpleNamespace

from conformance.scenarios.logging import LOG_LEVEL_META, unasked_logs

from conformance import jsonrpc
from conformance.session import Entry

LOG = jsonrpc.notification("notifications/message", {"level": "info", "data": "x"})


def asking(request_id, level: str | None = "debug") -> dict:
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
    if level is not None:
        meta[LOG_LEVEL_META] = level
    return jsonrpc.request(request_id, "tools/call", {"name": "echo", "_meta": meta})


def session(*messages: tuple[str, dict]):
    entries = [Entry(0.0, direction, jsonrpc.encode(obj), jsonrpc.classify(obj)) for direction, obj in messages]
    return SimpleNamespace(transcript=entries)


def test_log_while_an_asking_request_is_in_flight_is_allowed():
    assert unasked_logs(session(("->", asking(1)), ("<-", LOG), ("<-", jsonrpc.result(1, {})))) == []


def test_log_for_a_request_without_a_level_is_found():
    found = unasked_logs(session(("->", asking(1, None)), ("<-", LOG), ("<-", jsonrpc.result(1, {}))))
    assert [m.method for m in found] == ["notifications/message"]


def test_log_after_the_asking_request_was_answered_is_found():
    found = unasked_logs(session(("->", asking(1)), ("<-", jsonrpc.result(1, {})), ("<-", LOG)))
    assert len(found) == 1


def test_one_asking_request_in_flight_covers_the_log():
    messages = session(
        ("->", asking(1, None)),
        ("->", asking(2)),
        ("<-", LOG),
        ("<-", jsonrpc.result(2, {})),
        ("<-", jsonrpc.result(1, {})),
    )
    assert unasked_logs(messages) == []


def test_a_response_id_of_another_type_still_ends_the_request():
    found = unasked_logs(session(("->", asking(1)), ("<-", jsonrpc.result("1", {})), ("<-", LOG)))
    assert len(found) == 1
