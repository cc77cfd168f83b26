"""logging: setLevel and notifications/message filtered by the level the client set.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/logging
"""

from __future__ import annotations

from ... import jsonrpc
from . import ReferenceFeature

LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
FAULTS: dict = {}


class Feature(ReferenceFeature):
    capability_name = "logging"

    def __init__(self, server):
        super().__init__(server)
        self.level = "info"

    def handlers(self):
        return {"logging/setLevel": self.on_set_level}

    def on_set_level(self, message) -> list[dict]:
        level = (message.params or {}).get("level")
        if level not in LEVELS:
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, f"unknown log level {level!r}")]
        self.level = level
        return [self.server.result(message.id, {})]

    def log(self, level: str, data, logger: str = "reference") -> list[dict]:
        """The log notification for `data`, if `level` passes the client's threshold."""
        if LEVELS.index(level) < LEVELS.index(self.level):
            return []
        return [jsonrpc.notification("notifications/message", {"level": level, "logger": logger, "data": data})]
