"""The Streamable HTTP transport from the client's side (`--mcp-client` without {server}).

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#protocol-version-header
and https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http
"""

from conformance.checks import expect, not_applicable, requirement, should
from conformance.jsonrpc import Kind
from conformance.transport.http import modern_headers

HEADER = "mcp-protocol-version"
HEADER_SINCE = "2025-06-18"  # the first revision with the header


@requirement("lifecycle-014", "transports-065", "transports-066")
def test_http_protocol_version_header(client_run):
    """Once initialize is answered, every later POST carries MCP-Protocol-Version, naming
    the negotiated revision."""
    record = client_run("initialize")
    if record.transport != "http":
        not_applicable(f"a Streamable HTTP rule; the client speaks {record.transport}")
    record.require_session()
    if (record.answered or "") < HEADER_SINCE:
        not_applicable(f"the header exists from {HEADER_SINCE}; the session is in {record.answered}")
    answered = record.index(lambda i: not i.from_client and i.message.kind is Kind.RESULT
                            and "protocolVersion" in (i.message.result or {}))
    later = [i for i in record.items[answered:] if i.from_client]
    missing = [f"{i.message.method or 'response'} (id {i.message.id})" for i in later if HEADER not in i.headers]
    expect(not missing, "POSTs after initialization without the MCP-Protocol-Version header: " + ", ".join(missing))
    other = sorted({i.headers[HEADER] for i in later if i.headers[HEADER] != record.answered})
    should(not other, f"MCP-Protocol-Version names {other}, not the negotiated {record.answered}")


@requirement("2026-07-28/streamable-http-025", "2026-07-28/streamable-http-026", "2026-07-28/streamable-http-032")
def test_http_modern_request_headers(client_run):
    """In the modern era every POSTed request carries MCP-Protocol-Version (the version in
    its `_meta`), Mcp-Method and, for a tool call, Mcp-Name, each matching the body."""
    record = client_run("modern")
    if record.transport != "http":
        not_applicable(f"a Streamable HTTP rule; the client speaks {record.transport}")
    posted = [i for i in record.items if i.from_client and i.message.kind is Kind.REQUEST
              and modern_headers(i.message)]
    if not posted:
        not_applicable("the client sent no modern-era request (legacy era only)")
    wrong = []
    for item in posted:
        for name, value in modern_headers(item.message).items():
            sent = item.headers.get(name.lower())
            if sent != value:
                wrong.append(f"{item.message.method} (id {item.message.id}): {name} is {sent!r}, expected {value!r}")
    expect(not wrong, "modern-era requests whose standard headers are missing or do not match the body:\n  "
           + "\n  ".join(wrong))
