"""stdio transport: stdout carries only MCP messages, one per line.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports (stdio)
"""

import pytest

from conformance import ledger
from conformance.checks import Blocked, current, fail, not_applicable, requirement
from conformance.jsonrpc import Kind
from conformance.transport import TransportError


@requirement("transports-001", "transports-003", "transports-006")
def test_stdout_carries_only_messages(mcp_target, mcp_connect, revision):
    """Every line the server writes to stdout is one complete JSON-RPC message in UTF-8:
    no banners or logs (those belong on stderr) and no message spread over several lines.
    Judged on a fresh connection: its opening, a probe request, an unknown method, and
    what the server writes up to a barrier (Session.barrier) behind them."""
    if mcp_target.transport_kind != "stdio":
        not_applicable(f"a stdio rule; this server is tested over {mcp_target.transport_kind}")
    try:
        support = mcp_target.support(revision)
        if not support.supported:
            not_applicable(support.reason)
    except (pytest.skip.Exception, Blocked):
        if mcp_target.unusable is None:
            raise  # the revision is not supported: nothing to judge
    if mcp_target.unusable is not None:  # unusable, perhaps because of what it writes: judge that
        session = mcp_target.unusable.session
        current().watch(session, since=0)
    else:
        session = mcp_connect(initialize=False)
        try:
            session.open(revision)
            session.request(session.probe_method)
            session.request("conformance/no-such-method")
            session.barrier()  # what the server writes behind its answers
        except TransportError:
            pass  # judged by what did arrive; a server that cannot answer fails elsewhere too
    if not session.received():
        not_applicable("the server wrote nothing to stdout")
    bad = [
        e
        for e in session.transcript
        if e.direction == "<-" and (e.framing or e.message.kind in (Kind.NOT_JSON, Kind.INVALID))
    ]
    if bad:
        fail(
            f"{len(bad)} line(s) on stdout are not JSON-RPC messages, first: {bad[0].format(300)}",
            [ledger.FRAMING_PROBLEM],
        )
