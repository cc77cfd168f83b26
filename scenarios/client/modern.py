"""The modern era from the client's side (2026-07-28 on): no handshake, the per-request
`_meta`, the server/discover probe, and the retry after UnsupportedProtocolVersionError.
A client that speaks only the legacy era makes these checks not applicable.

Spec: https://modelcontextprotocol.io/specification/2026-07-28/basic/versioning
"""

from conformance.checks import expect, info, not_applicable, requirement, should
from conformance.jsonrpc import Kind

META = "io.modelcontextprotocol/"
UNSUPPORTED_PROTOCOL_VERSION = -32022


def _modern(record):
    requests = record.modern_requests()
    if not requests:
        not_applicable(f"the client sent no modern-era request in scenario {record.scenario} (legacy era only)")
    return requests


@requirement("2026-07-28/basic-053", "2026-07-28/basic-056")
def test_modern_requests_carry_meta(client_run):
    """In the modern era every request carries `_meta` with the protocol version and the
    client's capabilities, and should carry clientInfo."""
    record = client_run("modern")
    _modern(record)
    initialize = next((n for n, m in enumerate(record.client_requests()) if m.method == "initialize"), None)
    judged = record.client_requests()[:initialize]  # after a fall back to initialize, the legacy era rules
    missing, no_info = [], []
    for request in judged:
        meta = (request.params or {}).get("_meta") if isinstance(request.params, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        lacking = [key for key in ("protocolVersion", "clientCapabilities") if META + key not in meta]
        if lacking:
            missing.append(f"{request.method} (id {request.id}) lacks {', '.join(META + k for k in lacking)}")
        if META + "clientInfo" not in meta:
            no_info.append(f"{request.method} (id {request.id})")
    expect(not missing, "modern-era requests without the required _meta:\n  " + "\n  ".join(missing))
    should(not no_info, f"requests without {META}clientInfo: {', '.join(no_info)}")


@requirement("2026-07-28/versioning-004", "2026-07-28/versioning-011")
def test_discover_probe_first(client_run):
    """Over stdio a modern client should begin with server/discover, so that a server
    lacking its version fails cleanly before any real work."""
    record = client_run("modern")
    first = _modern(record)[0]
    should(first.method == "server/discover", f"the first modern-era request was {first.method}, not server/discover")
    if any(m.method == "initialize" for m in record.client_requests()):
        info("the client went on in the legacy era although the server offered the modern one")


@requirement("2026-07-28/versioning-002")
def test_retries_after_unsupported_version(client_run):
    """Refused with UnsupportedProtocolVersionError naming only legacy revisions, the client
    retries with a version from that list (initialize, for these) or gives up; it does not
    repeat the refused version."""
    record = client_run("modern-retry")
    modern = _modern(record)
    refused = {str(m.params["_meta"][META + "protocolVersion"]) for m in modern}
    errors = [m for m in (i.message for i in record.items if not i.from_client)
              if m.kind is Kind.ERROR and m.error_code == UNSUPPORTED_PROTOCOL_VERSION]
    expect(errors, "the suite's server refused no request (see the transcript)")
    supported = (errors[0].error.get("data") or {}).get("supported", [])
    repeated = len(modern) - 1
    initialize = next((m for m in record.client_requests() if m.method == "initialize"), None)
    should(repeated == 0, f"after the refusal the client sent {repeated} more request(s) in {sorted(refused)}")
    if initialize is not None:
        asked = (initialize.params or {}).get("protocolVersion")
        should(asked in supported, f"the client retried with initialize for {asked!r}, not one of {supported}")
        info(f"the client retried with initialize for {asked}")
    else:
        info("the client gave up after the refusal")
    expect(not record.outcome.timed_out, "the client neither retried nor exited: " + record.outcome.describe())
