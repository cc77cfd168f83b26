"""resources: paged lists of resources and templates, reads, and subscriptions to a
resource that changes on a timer, so that update notifications can be observed.

The fixture resources of the official conformance suite (test://static-text,
test://static-binary, test://watched-resource, test://template/{id}/data) are among them.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/resources
"""

from __future__ import annotations

import re

from ... import jsonrpc
from ..faults import Fault, modern
from ..paging import InvalidCursor, decode_cursor, page
from . import ReferenceFeature

PAGE_SIZE = 2
TICK_SECONDS = 0.2
RESOURCE_NOT_FOUND = -32002  # the code every legacy revision names
WATCHED = "test://watched-resource"
PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
STATIC_TEXT = "This is the content of the static text resource."

RESOURCES = [
    {"uri": "test://static-text", "name": "static-text", "mimeType": "text/plain"},
    {"uri": "test://static-binary", "name": "static-binary", "mimeType": "image/png"},
    {
        "uri": WATCHED,
        "name": "watched-resource",
        "mimeType": "text/plain",
        "description": "changes every 200 ms; subscribe to hear about it",
    },
    {"uri": "reference://readme", "name": "readme", "mimeType": "text/markdown"},
    {"uri": "reference://logo.png", "name": "logo", "mimeType": "image/png"},
]
BAD_URI = {"uri": "test://bad uri/100%", "name": "bad-uri", "mimeType": "text/plain"}  # fault resources-uri-invalid
TEMPLATES = [
    {"uriTemplate": "test://template/{id}/data", "name": "template-data", "mimeType": "application/json"},
    {"uriTemplate": "reference://greeting/{name}", "name": "greeting", "mimeType": "text/plain"},
    {"uriTemplate": "reference://square/{n}", "name": "square", "mimeType": "text/plain"},
]

FAULTS = {
    "resources-templates-missing-name": Fault(
        "resource templates are listed without the required name", "test_resources_list"
    ),
    "resources-blob-not-base64": Fault("a binary resource's blob is not base64", "test_resources_read_listed"),
    "resources-text-and-blob": Fault("a resource's contents carry both text and blob", "test_resources_read_listed"),
    "resources-not-found-empty": Fault(
        "an unknown URI reads as empty contents, not an error", "test_resource_not_found", "warned"
    ),
    "resources-static-text-as-blob": Fault("test://static-text is served as a blob", "test_resources_read_text"),
    "resources-static-binary-as-text": Fault("test://static-binary is served as text", "test_resources_read_binary"),
    "resources-template-ignores-id": Fault("test://template/{id}/data ignores the id", "test_resources_templates_read"),
    "resources-subscribe-error": Fault(
        "resources/subscribe fails although subscribe is declared", "test_resources_subscribe"
    ),
    "resources-unsubscribe-error": Fault("resources/unsubscribe fails", "test_resources_unsubscribe"),
    "resources-updates-after-unsubscribe": Fault(
        "keeps sending updates after unsubscribe", "test_resource_updates_follow_subscription", "warned"
    ),
    "resources-unsubscribe-unrouted": Fault(
        "declares subscribe but answers resources/unsubscribe with -32601",
        "test_declared_capabilities_served",
        also=("test_resources_unsubscribe",),
    ),
    "resources-list-changed-undeclared": Fault(
        "sends resources/list_changed without declaring listChanged", "test_notifications_match_capabilities"
    ),
    "resources-invalid-cursor-ignored": Fault(
        "answers an invalid resources/list cursor with the first page", "test_pagination_invalid_cursor", "warned"
    ),
    "resources-templates-cursor-loop": Fault(
        "resources/templates/list hands out the same cursor forever",
        "test_pagination_ends",
        also=("test_pagination_invalid_cursor",),
    ),
    "resources-list-fails": modern(
        "resources/list answers -32603 although resources are declared",
        "test_pagination_ends",
        also=("test_pagination_invalid_cursor",),
    ),
    "resources-uri-invalid": modern(
        "lists a resource whose URI holds a space and a stray %", "test_resource_uris_valid"
    ),
    "paging-cache-scope-varies": modern(
        "later pages of a list are private, the first public", "test_pages_share_cache_scope"
    ),
}


class Feature(ReferenceFeature):
    capability_name = "resources"

    def __init__(self, server):
        super().__init__(server)
        self.subscribed: set[str] = set()
        self.ticks = 0

    def capability(self) -> dict | None:
        if self.server.has("resources-list-changed-undeclared"):
            return {"subscribe": True}
        return {"subscribe": True, "listChanged": True}

    def handlers(self):
        return {
            "resources/list": self.on_list,
            "resources/templates/list": self.on_templates,
            "resources/read": self.on_read,
            "resources/subscribe": self.on_subscribe,
            "resources/unsubscribe": self.on_unsubscribe,
        }

    # -- lists ---------------------------------------------------------------------
    def on_list(self, message) -> list[dict]:
        cursor = (message.params or {}).get("cursor")
        if self.server.has("resources-invalid-cursor-ignored") and not self._valid(cursor, "resources"):
            cursor = None  # an unknown cursor starts over instead of failing
        if self.server.has("resources-list-fails"):
            return [self.server.error(message.id, jsonrpc.INTERNAL_ERROR, "the resource list is unavailable")]
        listed = RESOURCES + [BAD_URI] if self.server.has("resources-uri-invalid") else RESOURCES
        replies = self._page(message, listed, "resources", cursor)
        if self.server.has("resources-list-changed-undeclared"):
            replies.append(jsonrpc.notification("notifications/resources/list_changed"))
        return replies

    def on_templates(self, message) -> list[dict]:
        cursor = (message.params or {}).get("cursor")
        looping = self.server.has("resources-templates-cursor-loop")
        replies = self._page(message, TEMPLATES, "resourceTemplates", None if looping else cursor)
        if self.server.has("resources-templates-missing-name") and cursor is not None:  # on later pages
            for item in replies[0].get("result", {}).get("resourceTemplates", []):
                item.pop("name", None)
        if looping and "result" in replies[0]:
            replies[0]["result"]["nextCursor"] = "again"  # the first page again and again
        return replies

    @staticmethod
    def _valid(cursor, listing: str) -> bool:
        try:
            decode_cursor(cursor, listing)
            return True
        except (InvalidCursor, AttributeError):
            return False

    def _page(self, message, items: list[dict], key: str, cursor) -> list[dict]:
        try:
            chunk, next_cursor = page(items, cursor, PAGE_SIZE, key)
        except InvalidCursor as error:
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, str(error))]
        result: dict = {key: [dict(item) for item in chunk]}
        if next_cursor is not None:
            result["nextCursor"] = next_cursor
        if cursor is not None and self.server.has("paging-cache-scope-varies"):
            result["cacheScope"] = "private"
        return [self.server.result(message.id, result)]

    # -- reading -------------------------------------------------------------------
    def on_read(self, message) -> list[dict]:
        uri = (message.params or {}).get("uri")
        contents = self.contents(uri) if isinstance(uri, str) else None
        if contents is None and self.server.has("resources-not-found-empty"):
            contents = []
        if contents is None:
            # 2026-07-28 replaced -32002 with -32602 for an unknown resource.
            code = jsonrpc.INVALID_PARAMS if self.server.modern_meta is not None else RESOURCE_NOT_FOUND
            error = self.server.error(message.id, code, f"Resource not found: {uri}")
            error.get("error", {})["data"] = {"uri": uri}
            return [error]
        # Every read is logged, so the logging checks have something to filter.
        logging = self.server.features["logging"]
        logs = logging.log("debug", {"read": uri}) + logging.log("info", f"read {uri}")
        return logs + [self.server.result(message.id, {"contents": contents})]

    def contents(self, uri: str) -> list[dict] | None:
        """The contents of `uri`, or None when there is no such resource."""
        mime = next((r["mimeType"] for r in RESOURCES if r["uri"] == uri), None)
        if mime is None:
            return self.template_contents(uri)
        if mime == "image/png":
            blob = "not base64!" if self._broken_blob(uri) else PNG_1X1
            if uri == "test://static-binary" and self.server.has("resources-static-binary-as-text"):
                return [{"uri": uri, "mimeType": "text/plain", "text": "a PNG, really"}]
            return [{"uri": uri, "mimeType": mime, "blob": blob}]
        item = {"uri": uri, "mimeType": mime, "text": self.text_of(uri)}
        if uri == "test://static-text" and self.server.has("resources-static-text-as-blob"):
            item = {"uri": uri, "mimeType": mime, "blob": "VGhpcyBpcyB0ZXh0Lg=="}
        if uri == "reference://readme" and self.server.has("resources-text-and-blob"):
            item["blob"] = "SGVsbG8="
        return [item]

    def _broken_blob(self, uri: str) -> bool:
        return uri == "reference://logo.png" and self.server.has("resources-blob-not-base64")

    def text_of(self, uri: str) -> str:
        if uri == WATCHED:
            return f"tick {self.ticks}"
        if uri == "test://static-text":
            return STATIC_TEXT
        return "# Reference server\n\nA small correct MCP server with switchable faults.\n"

    def template_contents(self, uri: str) -> list[dict] | None:
        if match := re.fullmatch(r"test://template/([^/]+)/data", uri):
            key = "someone" if self.server.has("resources-template-ignores-id") else match[1]
            text = f'{{"id":"{key}","templateTest":true,"data":"Data for ID: {key}"}}'
            return [{"uri": uri, "mimeType": "application/json", "text": text}]
        if match := re.fullmatch(r"reference://greeting/([^/]+)", uri):
            return [{"uri": uri, "mimeType": "text/plain", "text": f"Hello, {match[1]}!"}]
        if match := re.fullmatch(r"reference://square/(\d{1,6})", uri):
            return [{"uri": uri, "mimeType": "text/plain", "text": str(int(match[1]) ** 2)}]
        return None

    # -- subscriptions -------------------------------------------------------------
    def on_subscribe(self, message) -> list[dict]:
        uri = (message.params or {}).get("uri")
        if not isinstance(uri, str) or self.contents(uri) is None:
            return [self.server.error(message.id, RESOURCE_NOT_FOUND, f"Resource not found: {uri}")]
        if self.server.has("resources-subscribe-error"):
            return [self.server.error(message.id, jsonrpc.INTERNAL_ERROR, "subscriptions are broken")]
        self.subscribed.add(uri)
        self.tick_every(TICK_SECONDS, "watched-resource", self._tick)
        return [self.server.result(message.id, {})]

    def on_unsubscribe(self, message) -> list[dict]:
        if self.server.has("resources-unsubscribe-unrouted"):
            return [self.server.error(message.id, jsonrpc.METHOD_NOT_FOUND, "Method not found: resources/unsubscribe")]
        if self.server.has("resources-unsubscribe-error"):
            return [self.server.error(message.id, jsonrpc.INTERNAL_ERROR, "unsubscribing is broken")]
        if not isinstance((message.params or {}).get("uri"), str):
            return [self.server.error(message.id, jsonrpc.INVALID_PARAMS, "resources/unsubscribe needs a uri")]
        if not self.server.has("resources-updates-after-unsubscribe"):
            self.subscribed.discard((message.params or {}).get("uri"))
        return [self.server.result(message.id, {})]

    def _tick(self) -> None:
        """The watched resource changes every TICK_SECONDS; subscribers hear of each change."""
        self.ticks += 1
        if WATCHED in self.subscribed:
            self.server.emit(jsonrpc.notification("notifications/resources/updated", {"uri": WATCHED}))
