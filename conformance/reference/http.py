"""Reference MCP server over HTTP, with switchable HTTP faults.

    python -m conformance.reference.http --port N [--transport http|sse] [--json-response]
        [--no-get-stream] [--era legacy|modern|dual] [--fault NAME ...] [--versions REV,REV]
        [--auth-issuer URL [--auth-scope "mcp:basic mcp:tools"]]

`--transport http` (the default) serves Streamable HTTP at /mcp: one ReferenceServer per
session (MCP-Session-Id assigned at initialize), answers as an SSE stream per POST (or one
JSON body with --json-response), a GET stream for messages that belong to no request,
event ids and Last-Event-ID replay, DELETE to end a session. `--transport sse` serves the
deprecated HTTP+SSE transport of 2024-11-05: GET /sse announces the POST URL in an
`endpoint` event and carries every message from the server.

A modern-era request (2026-07-28, its `_meta` names the version) is served without a
session, by a server of its own: its MCP-Protocol-Version, Mcp-Method, Mcp-Name and
Mcp-Param-* headers must match the body (else 400 with HeaderMismatch, -32020); version,
capability and required-_meta errors get 400, an unknown method 404. A modern-only server
(`--era modern`) answers GET and DELETE with 405. Over HTTP the server also offers a tool
whose arguments are mirrored into headers (`x-mcp-header`).

With `--auth-issuer` the server is an OAuth 2.1 resource server: every request to /mcp needs
a bearer token from that issuer carrying the `--auth-scope` scopes, and Protected Resource
Metadata is served (conformance/reference/auth.py, where the auth faults live too).

Only 127.0.0.1 is bound. Requests carrying a foreign Origin get 403.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import threading
import time
from collections import deque
from urllib.parse import urlsplit

from .. import jsonrpc
from ..jsonrpc import MISSING_REQUIRED_CLIENT_CAPABILITY, Kind
from ..transport.http import (
    METHOD_HEADER,
    NAME_HEADER,
    NAMED_BY,
    PARAM_HEADER,
    argument_at,
    decoded_header,
    header_params,
)
from .auth import FAULTS as AUTH_FAULTS
from .faults import FAULTS as BASE_FAULTS
from .faults import HARMLESS, Fault
from .features import ReferenceFeature
from .features.tools import READ_ONLY, text_result
from .modern import META, MODERN_VERSIONS, UNSUPPORTED_PROTOCOL_VERSION, is_modern
from .server import ReferenceServer


def _modern(description: str, check: str, outcome: str = "failed", server_args: str = "") -> Fault:
    """An HTTP fault of the modern era: its check is judged in 2026-07-28."""
    return Fault(description, check, outcome, server_args, revision=MODERN_VERSIONS[-1])


FAULTS: dict[str, Fault] = {
    # Streamable HTTP
    "http-wrong-content-type": Fault(
        "answers requests with a JSON body labelled Content-Type text/plain", "test_http_post_answered_json_or_sse"
    ),
    "http-200-for-notification": Fault(
        "answers notifications and responses with 200, not 202", "test_http_notification_accepted_202"
    ),
    "http-no-405-on-get": Fault("answers GET with 400 instead of an SSE stream or 405", "test_http_get_stream_or_405"),
    "http-session-id-not-ascii": Fault("assigns session ids containing a space", "test_http_session_id_visible_ascii"),
    "http-missing-session-404": Fault(
        "answers a request without a session id with 404, not 400", "test_http_session_id_required", "warned"
    ),
    "http-400-for-unknown-session": Fault(
        "answers a session id it never issued with 400, not 404", "test_http_unknown_session_404", "warned"
    ),
    "http-400-for-terminated-session": Fault(
        "answers a deleted session's id with 400, not 404", "test_http_terminated_session_404"
    ),
    "http-protocol-version-ignored": Fault(
        "accepts an unsupported MCP-Protocol-Version header", "test_http_unsupported_protocol_version_400"
    ),
    "http-accept-foreign-origin": Fault(
        "serves requests that carry a foreign Origin", "test_http_foreign_origin_rejected"
    ),
    "http-foreign-origin-400": Fault("refuses a foreign Origin with 400, not 403", "test_http_foreign_origin_rejected"),
    "http-no-priming-event": Fault(
        "starts SSE streams without an event id and empty data", "test_http_sse_priming_event", "warned"
    ),
    "http-event-ids-per-stream": Fault(
        "numbers SSE event ids per stream, so ids repeat across streams", "test_http_sse_event_ids_unique"
    ),
    "http-broadcast-responses": Fault("sends each response on the GET stream too", "test_http_concurrent_streams"),
    "http-replay-other-streams": Fault("replays the events of every stream on resumption", "test_http_resumption"),
    # Streamable HTTP, modern era (2026-07-28)
    "http-modern-session-id": _modern(
        "gives modern answers an Mcp-Session-Id", "test_http_modern_ignores_sessions", "warned", "--era modern"
    ),
    "http-modern-get-served": _modern(
        "a modern-only server answers GET and DELETE with 400, not 405",
        "test_http_modern_get_delete_405",
        "warned",
        "--era modern",
    ),
    "http-missing-headers-accepted": _modern(
        "serves modern requests that lack Mcp-Method or Mcp-Name", "test_http_standard_headers_required"
    ),
    "http-header-mismatch-accepted": _modern(
        "serves modern requests whose headers contradict the body", "test_http_header_mismatch_rejected"
    ),
    "http-modern-errors-200": _modern(
        "answers modern version and method errors with HTTP 200", "test_http_modern_error_statuses"
    ),
    "http-param-header-unchecked": _modern(
        "does not check Mcp-Param headers against the arguments", "test_http_param_headers_validated"
    ),
    "http-param-header-not-decoded": _modern(
        "compares Base64-encoded Mcp-Param headers without decoding them", "test_http_param_headers_validated"
    ),
    "http-x-mcp-header-invalid": _modern(
        "annotates a tool parameter with x-mcp-header 'Region Name' (not a token)",
        "test_http_x_mcp_header_annotations_valid",
    ),
    # HTTP+SSE (2024-11-05)
    "sse-no-endpoint-event": Fault(
        "announces the POST URL in a `message` event, not `endpoint`", "test_sse_endpoint_event"
    ),
    "sse-response-in-post-body": Fault(
        "answers in the POST response body, not on the SSE stream", "test_sse_post_answered_on_stream"
    ),
    "sse-accept-foreign-origin": Fault("serves an SSE stream to a foreign Origin", "test_sse_foreign_origin_rejected"),
}

FAULTS.update(AUTH_FAULTS)  # OAuth resource-server faults: they need --auth-issuer {issuer}

SESSION_HEADER = "mcp-session-id"
VERSION_HEADER = "mcp-protocol-version"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
JSON_WAIT = 30.0  # seconds a JSON-mode POST waits for a response worked out in a thread
KEEP_EVENTS = 1000  # per session, for Last-Event-ID replay
HEADER_MISMATCH = -32020
HEADER_TOOL = "route_query"


class HeaderTool(ReferenceFeature):
    """A tool whose parameters are mirrored into Mcp-Param-* headers (x-mcp-header), offered
    over HTTP, where the modern era checks those headers against the arguments."""

    def schema(self) -> dict:
        region = "Region Name" if self.server.has("http-x-mcp-header-invalid") else "Region"
        return {
            "type": "object",
            "additionalProperties": False,
            "required": ["region"],
            "properties": {
                "region": {"type": "string", "x-mcp-header": region},
                "limit": {"type": "integer", "minimum": 1, "maximum": 100, "x-mcp-header": "Limit"},
                "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
                "query": {"type": "string"},
            },
        }

    def offered_tools(self) -> list[dict]:
        return [
            {
                "name": HEADER_TOOL,
                "description": "Says where a query would be routed (its region goes in a header too).",
                "inputSchema": self.schema(),
                "annotations": READ_ONLY,
            }
        ]

    def call_tool(self, message) -> list[dict]:
        arguments = (message.params or {}).get("arguments") or {}
        rejection = self.server.features["tools"].check_arguments(message.id, self.offered_tools()[0], arguments)
        if rejection is not None:
            return [rejection]
        return [self.server.result(message.id, text_result(f"routed to {arguments['region']}"))]

    def header_params(self, tool: str) -> list:
        return header_params(self.schema())[0] if tool == HEADER_TOOL else []


def id_key(value) -> str:
    return json.dumps(value, sort_keys=True)


def sse_frame(event_id: str | None, payload: bytes, event: str | None = None) -> bytes:
    lines = [f"event: {event}".encode()] if event else []
    if event_id is not None:
        lines.append(f"id: {event_id}".encode())
    lines += [b"data: " + part for part in payload.split(b"\n")] if payload else [b"data: "]
    return b"\n".join(lines) + b"\n\n"


class SseResponse:
    """An ASGI response streaming `frames`; it stops when the client goes away, even while
    nothing is being sent (so an idle stream does not outlive its connection)."""

    def __init__(self, frames, headers: dict[str, str] | None = None):
        self.frames = frames
        self.headers = {"content-type": "text/event-stream", "cache-control": "no-store", **(headers or {})}

    async def __call__(self, scope, receive, send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(k.encode(), v.encode("latin-1")) for k, v in self.headers.items()],
            }
        )

        async def pump():
            async for chunk in self.frames:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def watch():
            while (await receive())["type"] != "http.disconnect":
                pass

        tasks = [asyncio.ensure_future(pump()), asyncio.ensure_future(watch())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


class Stream:
    """One SSE stream of a Streamable HTTP session: a POST's answer, or a GET stream."""

    def __init__(self, session: HttpSession, kind: str, request_key: str | None = None):
        self.session = session
        self.kind = kind  # "post" or "get"
        self.no = session.next_stream_no()
        self.request_key = request_key
        self.queue: asyncio.Queue = asyncio.Queue()
        self.seq = 0
        self.attached = False  # a connection is reading it now
        self.finished = False  # the POST's response has been queued: nothing follows it
        session.streams[self.no] = self
        self.priming = self.prime()  # before anything is queued: its id comes first

    def new_event_id(self) -> str:
        self.seq += 1
        if self.session.app.has("http-event-ids-per-stream"):
            return str(self.seq)
        return f"{self.no}-{self.seq}"

    def push(self, payload: bytes) -> None:
        event_id = self.new_event_id()
        self.session.log.append((event_id, self.no, payload))
        self.queue.put_nowait((event_id, payload))
        message = jsonrpc.decode(payload)
        if self.request_key is not None and message.is_response and id_key(message.id) == self.request_key:
            self.finished = True
            self.queue.put_nowait(None)

    def prime(self) -> bytes | None:
        """The first event of a new stream: an id and empty data, from 2025-11-25 on."""
        if (self.session.server.revision or "") < "2025-11-25" or self.session.app.has("http-no-priming-event"):
            return None
        event_id = self.new_event_id()
        self.session.log.append((event_id, self.no, None))
        return sse_frame(event_id, b"")

    async def frames(self, replay: list[tuple[str, bytes]] = (), prime: bool = True):
        self.attached = True
        try:
            if prime and self.priming:
                yield self.priming
            for event_id, payload in replay:
                yield sse_frame(event_id, payload)
            while True:
                item = await self.queue.get()
                if item is None:
                    return
                yield sse_frame(*item)
        finally:
            self.attached = False


class HttpSession:
    """One MCP session: its own ReferenceServer, its streams and its event log."""

    def __init__(self, app: ReferenceApp, session_id: str):
        self.app = app
        self.id = session_id
        self.loop = asyncio.get_running_loop()
        self.server = app.new_server()
        self.server.emit = self.emit
        self.streams: dict[int, Stream] = {}
        self.waiting: dict[str, Stream | asyncio.Future] = {}  # request id -> where its response goes
        self.progress: dict[str, Stream] = {}  # progress token -> the stream of its request
        self.backlog: deque[bytes] = deque(maxlen=100)  # for the next GET stream
        self.log: deque[tuple[str, int, bytes | None]] = deque(maxlen=KEEP_EVENTS)
        self._streams = 0

    def next_stream_no(self) -> int:
        self._streams += 1
        if len(self.streams) > 2 * KEEP_EVENTS:  # forget finished streams the log no longer names
            logged = {no for _, no, _ in self.log}
            for no, stream in list(self.streams.items()):
                if stream.finished and not stream.attached and no not in logged:
                    del self.streams[no]
        return self._streams

    def emit(self, obj) -> None:
        """For work outliving a POST (threads): route the message on the event loop."""
        try:
            self.loop.call_soon_threadsafe(self.route, self.server.encode(obj).rstrip(b"\n"))
        except RuntimeError:
            raise OSError("the server is shutting down") from None

    def route(self, payload: bytes) -> None:
        message = jsonrpc.decode(payload)
        if message.is_response and message.has_id:
            target = self.waiting.pop(id_key(message.id), None)
            if isinstance(target, asyncio.Future):
                if not target.done():
                    target.set_result(payload)
                return
            if target is not None:
                target.push(payload)
                self._maybe_broadcast(payload)
                return
        token = (message.params or {}).get("progressToken") if isinstance(message.params, dict) else None
        related = self.progress.get(id_key(token)) if token is not None else None
        if related is not None and not related.finished:
            related.push(payload)
            return
        self.push_unrelated(payload)

    def push_unrelated(self, payload: bytes) -> None:
        """A message that belongs to no open request: the GET stream, else the backlog."""
        for stream in reversed(list(self.streams.values())):
            if stream.kind == "get" and stream.attached:
                stream.push(payload)
                return
        self.backlog.append(payload)

    def _maybe_broadcast(self, payload: bytes) -> None:
        if self.app.has("http-broadcast-responses"):
            for stream in self.streams.values():
                if stream.kind == "get" and stream.attached:
                    stream.push(payload)

    def open_get_stream(self) -> Stream:
        stream = Stream(self, "get")
        stream.attached = True  # from now on messages go to it, not to the backlog
        while self.backlog:
            stream.push(self.backlog.popleft())
        return stream

    def resume(self, last_event_id: str) -> tuple[Stream, list[tuple[str, bytes]]] | None:
        """The stream `last_event_id` belongs to and the events after it to replay."""
        entries = list(self.log)
        index = next((i for i, (event_id, _, _) in enumerate(entries) if event_id == last_event_id), None)
        if index is None:
            return None
        stream = self.streams.get(entries[index][1])
        if stream is None:
            return None
        everything = self.app.has("http-replay-other-streams")
        replay = [
            (event_id, payload)
            for event_id, no, payload in entries[index + 1 :]
            if payload is not None and (no == stream.no or everything)
        ]
        while not stream.queue.empty():  # what is queued is in the log, replayed above
            if stream.queue.get_nowait() is None:
                stream.finished = True
        if stream.finished:
            stream.queue.put_nowait(None)
        return stream, replay

    def close(self) -> None:
        for stream in self.streams.values():
            stream.queue.put_nowait(None)
        for target in self.waiting.values():
            if isinstance(target, asyncio.Future) and not target.done():
                target.cancel()


class ReferenceApp:
    """The ASGI application: Streamable HTTP at /mcp, or HTTP+SSE at /sse and /messages."""

    def __init__(
        self,
        faults: set[str] = frozenset(),
        versions: list[str] | None = None,
        *,
        transport: str = "http",
        json_response: bool = False,
        get_stream: bool = True,
        era: str = "dual",
    ):
        from starlette.applications import Starlette
        from starlette.routing import Route

        self.faults = set(faults)
        self.versions = versions
        self.json_response = json_response
        self.get_stream = get_stream
        self.era = era
        self.sessions: dict[str, HttpSession] = {}
        self.terminated: set[str] = set()
        self.legacy: dict[str, LegacySession] = {}
        if transport == "sse":
            routes = [
                Route("/sse", self.legacy_get, methods=["GET"]),
                Route("/messages", self.legacy_post, methods=["POST"]),
            ]
        else:
            routes = [
                Route("/mcp", self.post, methods=["POST"]),
                Route("/mcp", self.get, methods=["GET"]),
                Route("/mcp", self.delete, methods=["DELETE"]),
            ]
        self.asgi = Starlette(routes=routes)

    def has(self, fault: str) -> bool:
        return fault in self.faults

    def new_server(self) -> ReferenceServer:
        server = ReferenceServer(self.faults, self.versions, self.era)
        server.features["header_tool"] = HeaderTool(server)
        return server

    async def __call__(self, scope, receive, send):
        await self.asgi(scope, receive, send)

    # -- shared rules ------------------------------------------------------------------
    @staticmethod
    def refusal(status: int, text: str, headers: dict | None = None):
        from starlette.responses import Response

        body = jsonrpc.encode(jsonrpc.error(None, jsonrpc.INVALID_REQUEST, text))
        return Response(body, status, headers=headers, media_type="application/json")

    def foreign_origin(self, request, allow_fault: str):
        """A refusal for a request whose Origin is not this machine's (DNS rebinding)."""
        origin = request.headers.get("origin")
        if origin is None or self.has(allow_fault) or urlsplit(origin).hostname in LOOPBACK:
            return None
        status = 400 if self.has("http-foreign-origin-400") else 403
        return self.refusal(status, f"Forbidden: origin {origin} is not allowed")

    def session_of(self, request, message=None):
        """(session, refusal): the request's session, or the HTTP error to answer with."""
        session_id = request.headers.get(SESSION_HEADER)
        if session_id is None:
            if message is not None and message.kind is Kind.REQUEST and message.method == "initialize":
                return self.new_session(), None
            status = 404 if self.has("http-missing-session-404") else 400
            return None, self.refusal(status, "Bad Request: no MCP-Session-Id header")
        session = self.sessions.get(session_id)
        if session is not None:
            return session, None
        terminated = session_id in self.terminated
        fault = "http-400-for-terminated-session" if terminated else "http-400-for-unknown-session"
        return None, self.refusal(400 if self.has(fault) else 404, "Session not found")

    def new_session(self) -> HttpSession:
        session_id = secrets.token_hex(16)
        if self.has("http-session-id-not-ascii"):
            session_id = f"session {session_id}"
        session = HttpSession(self, session_id)
        self.sessions[session_id] = session
        return session

    def bad_version(self, request, session: HttpSession):
        version = request.headers.get(VERSION_HEADER)
        if version is None or version in session.server.versions or self.has("http-protocol-version-ignored"):
            return None
        return self.refusal(400, f"Bad Request: unsupported MCP-Protocol-Version {version!r}")

    @staticmethod
    def handle(server: ReferenceServer, body: bytes) -> list[bytes]:
        try:
            return [line.rstrip(b"\n") for line in server.handle(body)]
        except SystemExit as stop:  # a fault that crashes the server: the whole process goes
            sys.stderr.write(f"reference server: exiting with {stop.code}\n")
            sys.stderr.flush()
            os._exit(stop.code if isinstance(stop.code, int) else 70)

    # -- Streamable HTTP -----------------------------------------------------------------
    async def post(self, request):
        from starlette.responses import Response

        if refusal := self.foreign_origin(request, "http-accept-foreign-origin"):
            return refusal
        body = await request.body()
        message = jsonrpc.decode(body)
        if self.era != "legacy" and message.kind is Kind.REQUEST and is_modern(message):
            return await self.post_modern(request, message, body)
        sessionless = request.headers.get(SESSION_HEADER) is None and message.kind not in (Kind.REQUEST, Kind.BATCH)
        if self.era == "modern" or (self.era == "dual" and sessionless):
            return self.stateless(body)
        session, refusal = self.session_of(request, message)
        if refusal:
            return refusal
        if refusal := self.bad_version(request, session):
            return refusal
        is_initialize = message.kind is Kind.REQUEST and message.method == "initialize"
        headers = {SESSION_HEADER: session.id} if is_initialize else {}
        payloads = self.handle(session.server, body)
        if message.kind is Kind.REQUEST:
            return await self.answer_request(session, message, payloads, headers)
        if message.kind in (Kind.NOTIFICATION, Kind.RESULT, Kind.ERROR):
            for payload in payloads:
                session.route(payload)
            return Response(status_code=200 if self.has("http-200-for-notification") else 202)
        # Not one valid message (not JSON, invalid, a batch): the answer goes in the body,
        # 200 for a processed batch (2025-03-26), else 400 with the JSON-RPC error.
        if not payloads:
            return Response(status_code=400)
        answer = next((p for p in payloads if jsonrpc.decode(p).kind is Kind.BATCH), payloads[0])
        for payload in payloads:
            if payload is not answer:
                session.route(payload)
        status = 200 if jsonrpc.decode(answer).kind is Kind.BATCH else 400
        return Response(answer, status, headers=headers, media_type="application/json")

    async def answer_request(self, session: HttpSession, message, payloads: list[bytes], headers: dict):
        from starlette.responses import Response

        key = id_key(message.id)
        meta = message.params.get("_meta") if isinstance(message.params, dict) else None
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        media = "text/plain" if self.has("http-wrong-content-type") else "application/json"
        if self.json_response or self.has("http-wrong-content-type"):
            response = next(
                (p for p in payloads if jsonrpc.decode(p).is_response and id_key(jsonrpc.decode(p).id) == key), None
            )
            for payload in payloads:
                if payload is not response:
                    session.route(payload)
            if response is None:
                future = asyncio.get_running_loop().create_future()
                session.waiting[key] = future
                try:
                    response = await asyncio.wait_for(future, JSON_WAIT)
                except (asyncio.TimeoutError, asyncio.CancelledError):
                    session.waiting.pop(key, None)
                    return self.refusal(500, "no response was produced in time")
            return Response(response, 200, headers=headers, media_type=media)
        stream = Stream(session, "post", key)
        session.waiting[key] = stream
        if token is not None:
            session.progress[id_key(token)] = stream
        for payload in payloads:
            if jsonrpc.decode(payload).is_response and id_key(jsonrpc.decode(payload).id) == key:
                session.waiting.pop(key, None)
                stream.push(payload)
                session._maybe_broadcast(payload)
            else:
                stream.push(payload)
        return SseResponse(stream.frames(), headers)

    # -- Streamable HTTP, modern era (2026-07-28) ----------------------------------------------
    async def post_modern(self, request, message, body: bytes):
        """A stateless request: its headers checked against the body, then served by a
        session of its own (no session id is issued, none is read, Last-Event-ID is ignored)."""
        from starlette.responses import Response

        session = HttpSession(self, "modern")
        headers = {SESSION_HEADER: secrets.token_hex(16)} if self.has("http-modern-session-id") else {}
        if problem := self.header_problem(request, message, session.server):
            error = jsonrpc.error(message.id, HEADER_MISMATCH, f"Header mismatch: {problem}")
            return Response(
                jsonrpc.encode(error),
                self.modern_status(message, error["error"]["code"]),
                headers=headers,
                media_type="application/json",
            )
        payloads = self.handle(session.server, body)
        answer = next(
            (
                jsonrpc.decode(p)
                for p in payloads
                if jsonrpc.decode(p).is_response and id_key(jsonrpc.decode(p).id) == id_key(message.id)
            ),
            None,
        )
        if answer is not None and answer.kind is Kind.ERROR:
            status = self.modern_status(message, answer.error_code)
            if status != 200:  # the error says it all: one JSON body with its status
                return Response(answer.raw, status, headers=headers, media_type="application/json")
        return await self.answer_request(session, message, payloads, headers)

    def modern_status(self, message, code) -> int:
        """The HTTP status of a modern error: 400 for version, capability, header and
        required-_meta errors, 404 for an unknown method, else 200."""
        if self.has("http-modern-errors-200"):
            return 200
        if code == jsonrpc.METHOD_NOT_FOUND:
            return 404
        lacks_meta = code == jsonrpc.INVALID_PARAMS and META + "clientCapabilities" not in message.params["_meta"]
        if lacks_meta or code in (HEADER_MISMATCH, MISSING_REQUIRED_CLIENT_CAPABILITY, UNSUPPORTED_PROTOCOL_VERSION):
            return 400
        return 200

    def header_problem(self, request, message, server: ReferenceServer) -> str | None:
        """Why the request's headers do not match its body (None: they do)."""
        params = message.params
        standard = {VERSION_HEADER: params["_meta"].get(META + "protocolVersion"), METHOD_HEADER: message.method}
        if isinstance(params.get(NAMED_BY.get(message.method, "")), str):
            standard[NAME_HEADER] = params[NAMED_BY[message.method]]
        mirrored = {}
        if message.method == "tools/call":
            for path, name in server.features["header_tool"].header_params(params.get("name")):
                value = argument_at(params.get("arguments"), path)
                if value is not None:
                    mirrored[PARAM_HEADER + name] = value
        for header, value in [*standard.items(), *mirrored.items()]:
            param = header in mirrored
            got = request.headers.get(header)
            if got is None:
                if not self.has("http-param-header-unchecked" if param else "http-missing-headers-accepted"):
                    return f"the {header} header is missing"
            elif not self.has("http-param-header-unchecked" if param else "http-header-mismatch-accepted"):
                if (
                    header != VERSION_HEADER
                    and header != METHOD_HEADER
                    and not (param and self.has("http-param-header-not-decoded"))
                ):
                    got = decoded_header(got)
                if not same_value(got, value):
                    return f"the {header} header {got!r} does not match the body's {value!r}"
        return None

    def stateless(self, body: bytes):
        """Input outside any session (a modern-only server, or a notification or malformed
        body with no session id): notifications are accepted; anything else gets the server's
        error with 400 (initialize to a modern-only server: the versions it supports)."""
        from starlette.responses import Response

        payloads = self.handle(self.new_server(), body)
        if not payloads:
            return Response(status_code=202)
        return Response(payloads[0], 400, media_type="application/json")

    async def get(self, request):
        if refusal := self.foreign_origin(request, "http-accept-foreign-origin"):
            return refusal
        if refusal := self.modern_only_405():
            return refusal
        session, refusal = self.session_of(request)
        if refusal:
            return refusal
        if refusal := self.bad_version(request, session):
            return refusal
        if self.has("http-no-405-on-get"):
            return self.refusal(400, "Bad Request: no SSE stream here")
        last = request.headers.get("last-event-id")
        if last is not None and (found := session.resume(last)) is not None:
            stream, replay = found
            return SseResponse(stream.frames(replay, prime=False))
        if not self.get_stream:
            return self.refusal(405, "Method Not Allowed: no GET stream", {"allow": "POST, DELETE"})
        return SseResponse(session.open_get_stream().frames())

    async def delete(self, request):
        from starlette.responses import Response

        if refusal := self.foreign_origin(request, "http-accept-foreign-origin"):
            return refusal
        if refusal := self.modern_only_405():
            return refusal
        session, refusal = self.session_of(request)
        if refusal:
            return refusal
        del self.sessions[session.id]
        self.terminated.add(session.id)
        session.close()
        return Response(status_code=204)

    def modern_only_405(self):
        """A modern-only server has no GET stream and no sessions to delete."""
        if self.era != "modern":
            return None
        if self.has("http-modern-get-served"):
            return self.refusal(400, "Bad Request: no MCP-Session-Id header")
        return self.refusal(405, "Method Not Allowed", {"allow": "POST"})

    # -- HTTP+SSE (2024-11-05) -------------------------------------------------------------
    async def legacy_get(self, request):
        if refusal := self.foreign_origin(request, "sse-accept-foreign-origin"):
            return refusal
        session = LegacySession(self)
        self.legacy[session.id] = session

        async def frames():
            try:
                endpoint = f"/messages?session_id={session.id}".encode()
                yield sse_frame(None, endpoint, "message" if self.has("sse-no-endpoint-event") else "endpoint")
                while True:
                    payload = await session.queue.get()
                    yield sse_frame(None, payload, "message")
            finally:
                self.legacy.pop(session.id, None)

        return SseResponse(frames())

    async def legacy_post(self, request):
        from starlette.responses import Response

        if refusal := self.foreign_origin(request, "sse-accept-foreign-origin"):
            return refusal
        session = self.legacy.get(request.query_params.get("session_id", ""))
        if session is None:
            return self.refusal(404, "Session not found")
        payloads = self.handle(session.server, await request.body())
        if self.has("sse-response-in-post-body") and payloads:
            return Response(payloads[0], 200, media_type="application/json")
        for payload in payloads:
            session.queue.put_nowait(payload)
        return Response("Accepted", 202, media_type="text/plain")


def same_value(header: str | None, value) -> bool:
    """A (decoded) header against the body value it mirrors; integers compare as numbers."""
    if header is None:
        return False
    if isinstance(value, bool):
        return header == ("true" if value else "false")
    if isinstance(value, int):
        try:
            return float(header) == value
        except ValueError:
            return False
    return header == value


class LegacySession:
    def __init__(self, app: ReferenceApp):
        self.id = secrets.token_hex(16)
        self.queue: asyncio.Queue = asyncio.Queue()
        self.loop = asyncio.get_running_loop()
        self.server = app.new_server()
        self.server.emit = self.emit

    def emit(self, obj) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, self.server.encode(obj).rstrip(b"\n"))
        except RuntimeError:
            raise OSError("the server is shutting down") from None


def _exit_with_parent() -> None:
    """Stop when the process that started us is gone (a suite killed on a timeout)."""
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.reference.http",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    parser.add_argument(
        "--transport",
        choices=["http", "sse"],
        default="http",
        help="Streamable HTTP at /mcp (default) or HTTP+SSE (2024-11-05) at /sse",
    )
    parser.add_argument("--json-response", action="store_true", help="answer POSTed requests with one JSON body")
    parser.add_argument("--no-get-stream", action="store_true", help="answer GET with 405")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        choices=sorted({*BASE_FAULTS, *HARMLESS, *FAULTS}),
        help="switch on a fault (repeatable)",
    )
    parser.add_argument("--versions", help="comma-separated protocol revisions to support")
    parser.add_argument(
        "--era",
        choices=["legacy", "modern", "dual"],
        default="dual",
        help="legacy (initialize handshake), modern (2026-07-28, stateless) or dual (both)",
    )
    parser.add_argument(
        "--auth-issuer",
        metavar="URL",
        help="protect /mcp as an OAuth 2.1 resource server trusting this issuer's tokens",
    )
    parser.add_argument(
        "--auth-scope",
        default="mcp:basic mcp:tools",
        metavar="SCOPES",
        help='space-separated scopes every request needs (default "mcp:basic mcp:tools")',
    )
    args = parser.parse_args(argv)
    if "exit-at-start" in args.fault:
        sys.stderr.write("reference server: fatal: refusing to start (fault exit-at-start)\n")
        return 3
    if "slow-start" in args.fault:
        time.sleep(1.0)
    import uvicorn

    _exit_with_parent()
    app = ReferenceApp(
        set(args.fault),
        args.versions.split(",") if args.versions else None,
        transport=args.transport,
        json_response=args.json_response,
        get_stream=not args.no_get_stream,
        era=args.era,
    )
    if args.auth_issuer:
        from .auth import ResourceGuard

        app = ResourceGuard(
            app, args.auth_issuer, f"http://127.0.0.1:{args.port}/mcp", args.auth_scope.split(), set(args.fault)
        )
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off", timeout_graceful_shutdown=0.1
    )  # open SSE streams must not hold up a stop
    return 0


if __name__ == "__main__":
    sys.exit(main())
