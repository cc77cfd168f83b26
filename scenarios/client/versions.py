"""Version negotiation from the client's side: the server answers another version.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#version-negotiation
"""

from conformance.checks import expect, info, requirement, should
from conformance.jsonrpc import Kind
from conformance.peer import IMPOSSIBLE_VERSION


def _after_answer(record):
    answered = record.initialize_answered_at()
    expect(answered is not None, "the suite's server never answered initialize (see the transcript)")
    return [i.message for i in record.items[answered:] if i.from_client]


@requirement("lifecycle-013")
def test_disconnects_on_unsupported_version(client_run):
    """Answered with a version it cannot support, the client ends the connection instead of
    going on (no initialized, no further requests) and exits in time."""
    record = client_run("version-mismatch")
    record.require_session()
    later = _after_answer(record)
    used = [m.method for m in later if m.kind in (Kind.REQUEST, Kind.NOTIFICATION)]
    should(not used, f"the server answered {IMPOSSIBLE_VERSION}, yet the client went on with {used}")
    expect(not record.outcome.timed_out, "the client neither disconnected nor exited: " + record.outcome.describe())


@requirement("schema-010", "lifecycle-013")
def test_older_version_answered(client_run):
    """Answered with the revision before the one it asked for, the client either goes on in
    that revision (its messages are judged by that revision's schema) or disconnects."""
    record = client_run("version-fallback")
    record.require_session()
    later = _after_answer(record)
    if any(m.method == "notifications/initialized" for m in later):
        info(f"the client went on in {record.answered} (asked for {record.requested})")
    else:
        info(f"the client disconnected when answered {record.answered} (asked for {record.requested})")
    expect(not record.outcome.timed_out, "the client neither went on nor exited: " + record.outcome.describe())
