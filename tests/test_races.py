"""Races are not violations: a message the suite had already received when it sent its own
trigger (a cancellation) is never counted against the server, and a response that crossed
a cancellation is not judged. Proved on small stdio servers written into tmp_path, whose
tool reports progress and answers however its mode says, and on the helpers themselves."""

from __future__ import annotations

import sys
import textwrap
from types import SimpleNamespace

from conformance.scenarios.progress import lasting

from conformance.discovery import ToolCall
from conformance.session import Entry, Session

REVISION = "2025-11-25"
CHECK = f"test_cancelled_request_not_answered[{REVISION}]"
PROGRESS_CHECKS = ("test_progress_tokens_known", "test_progress_increases", "test_no_progress_after_response")

# A tool server speaking newline-delimited JSON-RPC on stdio. Its one tool reports progress
# and then answers, whatever it is told (its duration_ms is ignored):
#   instant   progress and response in one write: the suite has both before it cancels
#   crossing  progress, 50 ms, response, and only then is the next line read: the response
#             leaves before the server has read the cancellation
#   ignores   progress, response 300 ms later from a thread, while the cancellation and a
#             ping are read and answered at once: a cancellation the server knew of and ignored
SERVER = textwrap.dedent("""
    import json, sys, threading, time

    MODE = sys.argv[1]
    TOOL = {"name": "wait", "description": "Waits duration_ms (or not).",
            "inputSchema": {"type": "object", "properties": {"duration_ms": {"type": "integer", "minimum": 0}}},
            "annotations": {"readOnlyHint": True, "destructiveHint": False}}
    lock = threading.Lock()

    def write(*messages):
        with lock:
            sys.stdout.write("".join(json.dumps({"jsonrpc": "2.0", **m}) + "\\n" for m in messages))
            sys.stdout.flush()

    def progress(params):
        token = (params.get("_meta") or {}).get("progressToken")
        notice = {"method": "notifications/progress", "params": {"progressToken": token, "progress": 1, "total": 2}}
        return [notice] if token is not None else []

    def done(request_id):
        return {"id": request_id, "result": {"content": [{"type": "text", "text": "done"}]}}

    def call(message):
        params = message.get("params") or {}
        if MODE == "instant":
            write(*progress(params), done(message["id"]))
        elif MODE == "crossing":
            write(*progress(params))
            time.sleep(0.05)
            write(done(message["id"]))
        else:
            write(*progress(params))
            threading.Timer(0.3, write, [done(message["id"])]).start()

    for line in sys.stdin:
        message = json.loads(line)
        method, request_id = message.get("method"), message.get("id")
        if request_id is None:
            continue  # notifications, the cancellation among them, are ignored
        if method == "initialize":
            write({"id": request_id, "result": {"protocolVersion": message["params"]["protocolVersion"],
                                                "capabilities": {"tools": {}},
                                                "serverInfo": {"name": "race", "version": "1"}}})
        elif method == "ping":
            write({"id": request_id, "result": {}})
        elif method == "tools/list":
            write({"id": request_id, "result": {"tools": [TOOL]}})
        elif method == "tools/call":
            call(message)
        else:
            write({"id": request_id, "error": {"code": -32601, "message": "Method not found"}})
""")


def race_server(tmp_path, mode: str) -> str:
    script = tmp_path / "race_server.py"
    script.write_text(SERVER)
    return f"{sys.executable} {script} {mode}"


def run(run_suite, tmp_path, mode: str):
    return run_suite(
        race_server(tmp_path, mode),
        "--mcp-version",
        REVISION,
        "-k",
        "test_cancelled_request_not_answered or " + " or ".join(PROGRESS_CHECKS),
    )


def test_response_before_the_cancellation_is_not_judged(run_suite, tmp_path):
    result = run(run_suite, tmp_path, "instant")
    assert result.outcomes[CHECK] == "skipped", result.explain([CHECK])
    assert "answered before the cancellation was sent" in result.case(CHECK).message, result.explain([CHECK])
    for check in PROGRESS_CHECKS:  # progress and response in one piece: the progress came first
        assert result.outcomes[f"{check}[{REVISION}]"] == "passed", result.explain([f"{check}[{REVISION}]"])


def test_response_crossing_the_cancellation_is_not_judged(run_suite, tmp_path):
    result = run(run_suite, tmp_path, "crossing")
    assert result.outcomes[CHECK] == "skipped", result.explain([CHECK])
    assert "crossed the cancellation" in result.case(CHECK).message, result.explain([CHECK])


def test_cancellation_known_and_ignored_still_warns(run_suite, tmp_path):
    result = run(run_suite, tmp_path, "ignores")
    assert result.outcomes[CHECK] == "warned", result.explain([CHECK])


# -- the helpers ------------------------------------------------------------------------------
def transcript(*entries: tuple[float, str]) -> SimpleNamespace:
    return SimpleNamespace(transcript=[Entry(t, direction, b"{}") for t, direction in entries])


is_received_after = Session.received_after  # it reads only the transcript


def test_received_after_goes_by_time_not_by_reading_order():
    # A response the transport had at 1.0, read by the session only after it sent at 2.0.
    session = transcript((0.0, "->"), (2.0, "->"), (1.0, "<-"), (3.0, "<-"))
    assert not is_received_after(session, 2, 1)
    assert is_received_after(session, 3, 1)
    assert not is_received_after(session, 1, 0)  # sent, not received


def test_received_after_keeps_the_order_of_one_read():
    # Two messages read in one piece share a time; the later line is the later message.
    session = transcript((1.0, "<-"), (1.0, "<-"))
    assert is_received_after(session, 1, 0)
    assert not is_received_after(session, 0, 1)


def call_of(properties: dict, arguments: dict, seconds: float = 0.01) -> ToolCall:
    tool = {"name": "t", "inputSchema": {"type": "object", "properties": properties}}
    return ToolCall(tool, arguments, "token", 1, 0, seconds=seconds)


def test_lasting_stretches_a_duration_and_its_steps():
    plan = lasting(call_of({"duration": {"type": "number"}, "steps": {"type": "number"}}, {}), timeout=5.0)
    assert plan.arguments == {"duration": 0.5, "steps": 4} and plan.seconds == 0.5


def test_lasting_reads_milliseconds_and_stays_within_the_timeout():
    plan = lasting(call_of({"duration_ms": {"type": "integer", "minimum": 0}}, {"duration_ms": 0}), timeout=2.0)
    assert plan.arguments == {"duration_ms": 200} and plan.seconds == 0.2


def test_lasting_scales_a_known_step_count_within_its_bounds():
    plan = lasting(call_of({"count": {"type": "integer", "minimum": 1, "maximum": 3}}, {"count": 1}, 0.05), 5.0)
    assert plan.arguments == {"count": 3} and abs(plan.seconds - 0.15) < 1e-9


def test_lasting_leaves_what_it_cannot_stretch():
    rejected = {"delay": {"type": "integer", "enum": [0]}}
    assert lasting(call_of(rejected, {"delay": 0}), 5.0).arguments == {"delay": 0}
    plan = lasting(call_of({"count": {"type": "integer"}}, {}, 0.3), 5.0)  # its step count unknown
    assert plan.arguments == {} and plan.seconds == 0.3
