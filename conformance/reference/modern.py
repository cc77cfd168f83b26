"""The modern era (2026-07-28) of the reference server: stateless requests carrying `_meta`.

A request whose `_meta` names a protocol version is served statelessly: the version and the
required fields are checked per request, methods the revision removed are refused, and
every result gets `resultType`, the server's identity and (where the revision asks) caching
hints. Results are decorated by request id, so a result sent later from a worker thread is
decorated too.
"""

from __future__ import annotations

from typing import Any

from .. import __version__, jsonrpc
from .faults import modern as _modern

META = "io.modelcontextprotocol/"
MODERN_VERSIONS = ["2026-07-28"]
LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
REMOVED = {"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"}
CACHEABLE = {
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
}
UNSUPPORTED_PROTOCOL_VERSION = -32022
SERVER_INFO = {"name": "mcp-conformance-reference", "version": __version__}

FAULTS = {
    "discover-no-versions": _modern("server/discover result without supportedVersions", "test_discover_result"),
    "no-result-type": _modern("modern results without resultType", "test_result_type", also=("test_messages_valid",)),
    "unsupported-version-code": _modern(
        "an unsupported version gets -32602, not -32022", "test_unsupported_version_error"
    ),
    "unsupported-version-no-data": _modern(
        "the -32022 error lists no supported versions", "test_unsupported_version_error"
    ),
    "accept-missing-capabilities": _modern(
        "serves a modern request whose _meta lacks clientCapabilities", "test_missing_required_meta_rejected"
    ),
    "serves-removed-methods": _modern(
        "answers ping and logging/setLevel in the modern era", "test_removed_methods_refused", "warned"
    ),
    "no-server-info-meta": _modern(
        "modern results without serverInfo in _meta", "test_server_identifies_itself", "warned"
    ),
    "no-cache-hints": _modern(
        "cacheable modern results without ttlMs", "test_caching_hints", also=("test_messages_valid",)
    ),
    "negative-ttl": _modern("caching hints with a negative ttlMs", "test_caching_hints", also=("test_messages_valid",)),
    "initialize-error-names-no-versions": _modern(
        "a modern-only server refuses initialize without naming versions",
        "test_initialize_names_supported_versions",
        "warned",
        server_args="--era modern",
    ),
}


def is_modern(message) -> bool:
    params = message.params if isinstance(message.params, dict) else {}
    meta = params.get("_meta")
    return isinstance(meta, dict) and META + "protocolVersion" in meta


class ModernEra:
    def __init__(self, server):
        self.server = server
        self.requests: dict[Any, str] = {}  # id of a modern request in progress -> its method

    def has(self, fault: str) -> bool:
        return self.server.has(fault)

    def supported_versions(self) -> list[str]:
        legacy = self.server.versions if self.server.era == "dual" else []
        return [*MODERN_VERSIONS, *sorted(legacy, reverse=True)]

    def handle(self, message) -> list[dict]:
        meta = message.params["_meta"]
        version = meta.get(META + "protocolVersion")
        server = self.server
        if version not in MODERN_VERSIONS:
            if self.has("unsupported-version-code"):
                return [server.error(message.id, jsonrpc.INVALID_PARAMS, "unsupported protocol version")]
            data = (
                {"requested": version}
                if self.has("unsupported-version-no-data")
                else {"supported": self.supported_versions(), "requested": version}
            )
            return [server.error(message.id, UNSUPPORTED_PROTOCOL_VERSION, "protocol version not served here", data)]
        if META + "clientCapabilities" not in meta and not self.has("accept-missing-capabilities"):
            return [
                server.error(message.id, jsonrpc.INVALID_PARAMS, f"_meta lacks the required {META}clientCapabilities")
            ]
        if meta.get(META + "logLevel", "debug") not in LOG_LEVELS and not self.has("logging-invalid-level-accepted"):
            return [server.error(message.id, jsonrpc.INVALID_PARAMS, f"unknown log level {meta[META + 'logLevel']!r}")]
        if message.method in REMOVED and not self.has("serves-removed-methods"):
            return [server.error(message.id, jsonrpc.METHOD_NOT_FOUND, f"{message.method} does not exist in {version}")]
        self.requests[message.id] = message.method
        if message.method == "server/discover":
            return [server.result(message.id, self.discover())]
        if message.method in ("ping", "logging/setLevel"):  # only reached under a fault
            return [server.result(message.id, {})]
        return server.dispatch(message)

    def discover(self) -> dict:
        result: dict[str, Any] = {"capabilities": self.server.declared()}
        if not self.has("discover-no-versions"):
            result["supportedVersions"] = self.supported_versions()
        return result

    def decorate(self, request_id: Any, value: dict) -> dict:
        """A modern result: resultType, serverInfo in _meta, caching hints where required."""
        method = self.requests.pop(request_id, None)
        value = dict(value)
        if not self.has("no-result-type"):
            value.setdefault("resultType", "complete")
        if not self.has("no-server-info-meta"):
            value["_meta"] = {**value.get("_meta", {}), META + "serverInfo": SERVER_INFO}
        if method in CACHEABLE and not self.has("no-cache-hints"):
            value.setdefault("ttlMs", -1 if self.has("negative-ttl") else 60_000)
            value.setdefault("cacheScope", "public")
        return value
