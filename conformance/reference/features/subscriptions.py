"""subscriptions: `subscriptions/listen` streams (2026-07-28).

A listen request is acknowledged at once (notifications/subscriptions/acknowledged, tagged
with the subscription id, naming the part of the filter the server honours) and then stays
open: the watched resource changes every TICK_SECONDS and each stream that asked for it
hears `notifications/resources/updated`, tagged. The list-changed kinds are honoured only
where the server declares `listChanged` (resources). The client ends a stream with
notifications/cancelled naming it (stdio); the server sends nothing more on it.

Spec: https://modelcontextprotocol.io/specification/2026-07-28/basic/patterns/subscriptions
"""

from __future__ import annotations

import threading
from typing import Any

from ... import jsonrpc
from ..faults import modern as _modern
from ..modern import META
from . import ReferenceFeature
from .resources import TICK_SECONDS, WATCHED

LIST_CHANGED = {"toolsListChanged": "tools", "promptsListChanged": "prompts", "resourcesListChanged": "resources"}

FAULTS = {
    "listen-no-ack": _modern("subscriptions/listen is never acknowledged", "test_listen_acknowledged"),
    "listen-update-before-ack": _modern(
        "a resource update goes out on the stream before its acknowledgement", "test_listen_acknowledged"
    ),
    "listen-untagged-notifications": _modern(
        "stream notifications carry no subscriptionId", "test_stream_notifications_tagged"
    ),
    "listen-ignores-filter": _modern(
        "every stream also gets tools/list_changed, asked for or not", "test_listen_filter_honoured"
    ),
    "cancels-other-request": _modern(
        "sends notifications/cancelled naming a request that is no subscription",
        "test_server_cancels_only_subscriptions",
    ),
    "listen-ignores-cancel": _modern(
        "a cancelled stream goes on sending updates", "test_listen_cancel_ends_stream", "warned"
    ),
}


class Feature(ReferenceFeature):
    capability_name = None  # listen needs no capability of its own

    def __init__(self, server):
        super().__init__(server)
        self.streams: dict[Any, dict] = {}  # subscription id -> the filter honoured
        self.lock = threading.Lock()

    def handlers(self):
        return {"subscriptions/listen": self.on_listen}

    def on_listen(self, message) -> list[dict]:
        if self.server.modern_meta is None:
            return [
                self.server.error(message.id, jsonrpc.METHOD_NOT_FOUND, "subscriptions/listen is a 2026-07-28 method")
            ]
        wanted = (message.params or {}).get("notifications")
        if not isinstance(wanted, dict):
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, "params.notifications must be an object")]
        honoured = self.honoured(wanted)
        if self.server.has("listen-update-before-ack"):
            self.server.emit(self.tagged(message.id, "notifications/resources/updated", {"uri": WATCHED}))
        if not self.server.has("listen-no-ack"):
            # Sent before the stream is registered: nothing of the stream may precede it.
            self.server.emit(
                self.tagged(message.id, "notifications/subscriptions/acknowledged", {"notifications": honoured})
            )
        if self.server.has("cancels-other-request"):
            self.server.emit(jsonrpc.notification("notifications/cancelled", {"requestId": "not-a-subscription"}))
        if self.server.has("listen-ignores-filter"):
            self.server.emit(self.tagged(message.id, "notifications/tools/list_changed", {}))
        with self.lock:
            self.streams[message.id] = honoured
        self.tick_every(TICK_SECONDS, "listen-streams", self._tick)
        return []  # the response comes only when the stream ends

    def honoured(self, wanted: dict) -> dict:
        """The part of the filter this server can serve."""
        declared = self.server.declared()
        honoured: dict = {
            flag: True
            for flag, capability in LIST_CHANGED.items()
            if wanted.get(flag) is True and (declared.get(capability) or {}).get("listChanged")
        }
        uris = wanted.get("resourceSubscriptions")
        resources = self.server.features["resources"]
        if isinstance(uris, list):
            honoured["resourceSubscriptions"] = [u for u in uris if isinstance(u, str) and resources.contents(u)]
        return honoured

    def tagged(self, subscription_id, method: str, params: dict) -> dict:
        meta = (
            {}
            if self.server.has("listen-untagged-notifications") and "acknowledged" not in method
            else {"_meta": {META + "subscriptionId": subscription_id}}
        )
        return jsonrpc.notification(method, {**meta, **params})

    def on_notification(self, message) -> list[dict]:
        params = message.params if isinstance(message.params, dict) else {}
        cancelled = params.get("requestId")
        if (
            message.method == "notifications/cancelled"
            and isinstance(cancelled, (str, int))
            and not self.server.has("listen-ignores-cancel")
        ):
            with self.lock:
                self.streams.pop(cancelled, None)
        return []

    def _tick(self) -> None:
        """The watched resource changes every TICK_SECONDS: streams that asked hear of it."""
        with self.lock:
            watching = [
                sid for sid, honoured in self.streams.items() if WATCHED in honoured.get("resourceSubscriptions", [])
            ]
        for subscription_id in watching:
            self.server.emit(self.tagged(subscription_id, "notifications/resources/updated", {"uri": WATCHED}))
