"""Ping: either side may ask; the answer is an empty result, sent promptly.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/ping
"""

from conformance.checks import expect, legacy_only, requirement
from conformance.jsonrpc import Kind


@requirement("ping-001")
def test_ping(mcp, revision):
    """`ping` gets an empty result within the timeout (`_meta` is the only field allowed)."""
    legacy_only(revision)
    response = mcp.request("ping")
    expect(response.kind is Kind.RESULT, f"ping must get a result, got error {response.error}")
    extra = {k: v for k, v in response.result.items() if k != "_meta"}
    expect(not extra, f"the ping result must be empty, it carries {extra}")
