"""logging: setLevel and notifications/message filtered by the level the client set.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/logging
"""

from __future__ import annotations

from ... import jsonrpc
from ..faults import Fault
from ..modern import LOG_LEVELS as LEVELS, META
from . import ReferenceFeature

FAULTS = {
    "logging-rejects-notice": Fault('logging/setLevel refuses the valid level "notice"', "test_logging_set_level"),
    "logging-set-level-not-empty": Fault("logging/setLevel answers with a non-empty result",
                                         "test_logging_set_level", "warned"),
    "logging-invalid-level-accepted": Fault("logging/setLevel accepts a level that does not exist",
                                            "test_logging_invalid_level", "warned"),
    "logging-ignores-level": Fault("sends log messages below the level the client set",
                                   "test_logging_respects_level", "warned"),
    "logging-undeclared": Fault("sends log messages without declaring the logging capability",
                                "test_notifications_match_capabilities"),
}


class Feature(ReferenceFeature):
    capability_name = "logging"

    def __init__(self, server):
        super().__init__(server)
        self.level = "info"

    def capability(self) -> dict | None:
        return None if self.server.has("logging-undeclared") else {}

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

    def log(self, level: str, data, logger: str = "reference") -> list[dict]:
        """The log notification for `data`, if `level` passes the client's threshold: the
        one set by logging/setLevel (legacy), or the request's own _meta logLevel (modern,
        where a request that names no level gets no log messages at all)."""
        threshold = self.level
        if self.server.modern_meta is not None:
            threshold = self.server.modern_meta.get(META + "logLevel")
            if threshold not in LEVELS:
                return []
        below = LEVELS.index(level) < LEVELS.index(threshold)
        if below and not self.server.has("logging-ignores-level"):
            return []
        return [jsonrpc.notification("notifications/message", {"level": level, "logger": logger, "data": data})]
