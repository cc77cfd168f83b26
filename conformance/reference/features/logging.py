"""logging: setLevel and notifications/message filtered by the level the client set (or,
in 2026-07-28, the level the request asked for). Resource reads and tool calls log.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/logging
"""

from __future__ import annotations

from ... import jsonrpc
from ..faults import Fault, modern
from ..modern import LOG_LEVELS as LEVELS
from ..modern import META
from . import ReferenceFeature

FAULTS = {
    "logging-rejects-notice": Fault('logging/setLevel refuses the valid level "notice"', "test_logging_set_level"),
    "logging-set-level-not-empty": Fault(
        "logging/setLevel answers with a non-empty result", "test_logging_set_level", "warned"
    ),
    "logging-invalid-level-accepted": Fault(
        "logging/setLevel accepts a level that does not exist", "test_logging_invalid_level", "warned"
    ),
    "logging-ignores-level": Fault(
        "sends log messages below the level the client set", "test_logging_respects_level", "warned"
    ),
    "logging-undeclared": Fault(
        "sends log messages without declaring the logging capability",
        "test_notifications_match_capabilities",
        also=("test_log_messages_need_capability",),
    ),
    "log-undeclared": Fault(
        "logs during tool calls (and nowhere else) without declaring the logging capability",
        "test_log_messages_need_capability",
    ),
    "log-level-ignored-in-tools": Fault(
        "tool calls log below the level the client asked for", "test_logging_respects_level", "warned"
    ),
    "modern-log-unasked": modern(
        "tool calls log although the request's _meta asks for no log level", "test_log_messages_only_when_asked"
    ),
}
TOOL_LOGGER = "reference.tools"


class Feature(ReferenceFeature):
    capability_name = "logging"

    def __init__(self, server):
        super().__init__(server)
        self.level = "info"

    def capability(self) -> dict | None:
        return None if self.server.has("logging-undeclared") or self.server.has("log-undeclared") else {}

    def handlers(self):
        return {"logging/setLevel": self.on_set_level}

    def on_set_level(self, message) -> list[dict]:
        level = (message.params or {}).get("level")
        refused = {"notice"} if self.server.has("logging-rejects-notice") else set()
        accepted = [name for name in LEVELS if name not in refused]
        if level not in accepted and not self.server.has("logging-invalid-level-accepted"):
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, f"unknown log level {level!r}")]
        if level in LEVELS:
            self.level = level
        result = {"level": level} if self.server.has("logging-set-level-not-empty") else {}
        return [self.server.result(message.id, result)]

    def tool_call(self, name) -> list[dict]:
        """The log messages of a tools/call of `name` (debug and info), filtered like all."""
        return self.log("debug", {"tool": name}, TOOL_LOGGER) + self.log("info", f"calling {name}", TOOL_LOGGER)

    def log(self, level: str, data, logger: str = "reference") -> list[dict]:
        """The log notification for `data`, if `level` passes the client's threshold."""
        in_tools = logger == TOOL_LOGGER
        if self.server.has("log-undeclared") and not in_tools:
            return []  # under this fault only tool calls log
        threshold = self.threshold(in_tools)
        if threshold is None:
            return []
        ignored = self.server.has("logging-ignores-level") or (
            in_tools and self.server.has("log-level-ignored-in-tools")
        )
        if LEVELS.index(level) < LEVELS.index(threshold) and not ignored:
            return []
        return [jsonrpc.notification("notifications/message", {"level": level, "logger": logger, "data": data})]

    def threshold(self, in_tools: bool) -> str | None:
        """The lowest level the client wants: the one set by logging/setLevel (legacy), or
        the request's own _meta logLevel (modern, where a request that names no level gets
        no log messages at all: None)."""
        if self.server.modern_meta is None:
            return self.level
        asked = self.server.modern_meta.get(META + "logLevel")
        if asked in LEVELS:
            return asked
        return "info" if in_tools and self.server.has("modern-log-unasked") else None
