"""Lifecycle: the initialize handshake and version negotiation (legacy era).

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle
"""

import pytest

from conformance import ledger
from conformance.checks import (
    Blocked,
    blocked,
    current,
    expect,
    fail,
    info,
    legacy_only,
    not_applicable,
    requirement,
    should,
)
from conformance.jsonrpc import Kind
from conformance.session import BARRIER_WINDOW
from conformance.target import VALID_TOKEN_CHECK

NEVER_A_REVISION = "1999-01-01"


@requirement("basic-001", "lifecycle-001", "lifecycle-005")
def test_server_answers_initialize(mcp_target):
    """The server starts and answers `initialize` within the timeout: the first exchange of
    every legacy-era connection. Any answer counts here; its content is judged elsewhere."""
    try:
        mcp_target.ensure_usable()
    except (pytest.skip.Exception, Blocked) as error:
        if isinstance(error, Blocked) and error.owner == VALID_TOKEN_CHECK:
            raise  # the run's token is refused: the authorization check judges that, not this one
    if mcp_target.unusable is not None:
        session = mcp_target.unusable.session
        current().watch(session, since=0)
        received = session.received()
        garbage = received and all(m.kind in (Kind.NOT_JSON, Kind.INVALID) for m in received)
        fail(mcp_target.unusable.error.explain(), [ledger.FRAMING_PROBLEM] if garbage else [])


@requirement("basic-001")
def test_revisions_testable(mcp_target, mcp_connect):
    """At least one of the revisions asked for can be tested: a run that tests nothing is
    not a pass. Fails with what the server answered to each version the suite asked for;
    BLOCKED when the cause is a version answered that the server does not echo (its
    negotiation is broken: test_answered_versions_are_echoed judges that)."""
    try:
        supported = mcp_target.supported()
    except (pytest.skip.Exception, Blocked) as error:
        if isinstance(error, Blocked) and error.owner == VALID_TOKEN_CHECK:
            raise
        supported = []
    if mcp_target.unusable is not None:
        blocked("the server could not be used at all", ledger.STARTUP)
    if supported:
        return
    unechoed = _unechoed(mcp_target, mcp_connect)
    if unechoed:
        blocked("no revision could be tested: " + "; ".join(unechoed), "test_answered_versions_are_echoed")
    answers = [f"{r}: {mcp_target.support(r).reason}" for r in mcp_target.revisions]
    fail("no revision could be tested; what the server answered to each one asked for:\n  " + "\n  ".join(answers))


@requirement("lifecycle-005")
def test_initialize_result_shape(mcp, revision):
    """The initialize result carries protocolVersion, capabilities and serverInfo, valid
    against the revision's InitializeResult schema."""
    legacy_only(revision)
    violations = mcp.schema.validate(mcp.init_result, "InitializeResult", "$.result")
    if violations:
        fail(
            "the initialize result breaks the schema:\n  " + "\n  ".join(map(str, violations)),
            ledger.schema_signatures(violations, "initialize"),
        )


@requirement("lifecycle-005")
def test_capabilities_object(mcp, revision):
    """`capabilities` is an object, and every capability declared in it is an object
    (an empty object declares a capability with no sub-options)."""
    legacy_only(revision)
    capabilities = mcp.init_result.get("capabilities")
    expect(isinstance(capabilities, dict), f"capabilities must be an object, got {capabilities!r}")
    not_objects = {k: v for k, v in capabilities.items() if not isinstance(v, dict)}
    expect(not not_objects, f"capabilities must be objects: {not_objects}")


def require_testable(mcp_target) -> None:
    """A server that supports none of the revisions asked for is judged once, by
    test_revisions_testable; what it answers to other versions says nothing more."""
    if not mcp_target.supported():
        blocked("no revision asked for could be tested", "test_revisions_testable")


def _answer_to(mcp_connect, requested: str):
    """Ask a fresh server for `requested`; return the initialize response."""
    session = mcp_connect(initialize=False)
    return session.initialize(requested, send_initialized=False)


def _answer_for(mcp_target, mcp_connect, requested: str):
    """The protocolVersion the server answers when asked for `requested` (known already for
    a revision the run asked for)."""
    if requested in mcp_target.revisions:
        return mcp_target.support(requested).answered
    return (_answer_to(mcp_connect, requested).result or {}).get("protocolVersion")


@requirement("lifecycle-010", "lifecycle-011")
def test_answered_versions_are_echoed(mcp_target, mcp_connect):
    """Every version the server answers with is one it supports: asked for that version,
    it answers with the same version."""
    unechoed = _unechoed(mcp_target, mcp_connect)
    expect(not unechoed, "; ".join(unechoed))


def _unechoed(mcp_target, mcp_connect) -> list[str]:
    """Each version the server answered instead of a revision asked for that, asked for
    itself, it does not answer with."""
    found = []
    for requested in mcp_target.legacy_revisions():
        answered = mcp_target.support(requested).answered
        if answered is None or answered == requested:
            continue
        echoed = _answer_for(mcp_target, mcp_connect, answered)
        if echoed != answered:
            found.append(
                f"asked for {requested}, the server answered {answered}; "
                f"asked for {answered}, it answered {echoed!r}: it does not support what it answered"
            )
    return found


@requirement("lifecycle-011")
def test_unsupported_version_gets_supported(mcp_target, mcp_connect):
    """Asked for a version it cannot support, the server answers with a version it does
    support (or, as the spec's own error example shows, with an error)."""
    require_testable(mcp_target)
    response = _answer_to(mcp_connect, NEVER_A_REVISION)
    if response.kind is Kind.ERROR:
        info(
            f"asked for {NEVER_A_REVISION}, the server answered with error {response.error_code} "
            "instead of offering a version"
        )
        return
    answered = (response.result or {}).get("protocolVersion")
    expect(
        isinstance(answered, str) and answered != NEVER_A_REVISION,
        f"asked for {NEVER_A_REVISION}, the server answered {answered!r}",
    )
    echoed = (_answer_to(mcp_connect, answered).result or {}).get("protocolVersion")
    expect(echoed == answered, f"the server offered {answered} but, asked for it, answered {echoed!r}")


@requirement("lifecycle-012")
def test_unsupported_version_gets_latest(mcp_target, mcp_connect):
    """The version offered instead of an unsupported one should be the latest the server
    supports. An offer of a version it does not support (test_unsupported_version_gets_supported)
    leaves this check BLOCKED."""
    supported = [r for r in mcp_target.supported() if r < "2026"]
    if not supported:
        not_applicable("the server supports none of the legacy revisions tested")
    response = _answer_to(mcp_connect, NEVER_A_REVISION)
    if response.kind is not Kind.RESULT:
        not_applicable("the server answered an unsupported version with an error")
    answered = (response.result or {}).get("protocolVersion")
    if isinstance(answered, str) and answered >= max(supported):
        return
    # An offer the server does not support itself has no latest to be: the supported check's.
    if (
        not isinstance(answered, str)
        or answered == NEVER_A_REVISION
        or _answer_for(mcp_target, mcp_connect, answered) != answered
    ):
        blocked(
            f"asked for {NEVER_A_REVISION}, the server offered {answered!r}, which it does not support: "
            "no latest to compare",
            "test_unsupported_version_gets_supported",
        )
    should(False, f"asked for {NEVER_A_REVISION}, the server offered {answered!r}, not its latest ({max(supported)})")


@requirement("lifecycle-007")
def test_no_requests_before_initialized(mcp_connect, revision):
    """Before the client's `notifications/initialized`, the server sends no requests other
    than ping (log notifications are fine): none within BARRIER_WINDOW of its initialize
    response. A window, not Session.barrier: the probe request a barrier sends would come
    before `initialized`, and some servers end the handshake on anything else there."""
    legacy_only(revision)
    session = mcp_connect(initialize=False)
    response = session.initialize(revision, send_initialized=False)
    expect(response.kind is Kind.RESULT, f"initialize failed: {response.error}")
    early = [m.method for m in session.drain(BARRIER_WINDOW) if m.kind is Kind.REQUEST and m.method != "ping"]
    should(not early, f"the server sent {early} before the initialized notification")
    session.notify("notifications/initialized")
