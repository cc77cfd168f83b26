"""The scripted server of the client leg (conformance.peer) over Streamable HTTP.

`HttpPeerServer(scenario, report).start()` serves the peer's script at
http://127.0.0.1:PORT/mcp (loopback only, a free port) from a thread of the test process,
until `stop()`. The record is the same JSON-lines file as over stdio; each client message
also records the HTTP method and the MCP headers it came with.

The answer to initialize assigns a session (an MCP-Session-Id header, recorded as a
"session" event), so that checks can see the client echo it and end it with DELETE; requests
without it are still served (the checks judge, the peer does not refuse). In scenario
session-expired the first request past the handshake ends the session: it and every later
request naming that session get HTTP 404 (a client must then initialize anew). In scenario
modern-standard-headers every response header name is upper case. In scenario sse-retry
the stream of a tools/call closes after a priming event (an id and a retry field), and the
GET naming that event in Last-Event-ID resumes it with the answer.

Routing: a POSTed request answered at once gets one JSON body; otherwise an SSE stream,
opened at once, carries what belongs to it (progress, say) and ends with its answer (each
answer is recorded as an "answer" event saying which of the two carried it).
Messages that belong to no request (the server-requests scenario's ping, roots/list...)
go to a GET stream when the client holds one open; otherwise onto the stream of an open
request, or they wait for the next one.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid

from . import jsonrpc
from .peer import SSE_RETRY, SSE_RETRY_MS, STANDARD_HEADERS, Peer, readable
from .reference.http import SseResponse, id_key, sse_frame
from .transport import http as transport_http

PATH = "/mcp"
SESSION_HEADER = transport_http.SESSION_HEADER.lower()
PARAM_PREFIX = transport_http.PARAM_HEADER.lower()  # x-mcp-header mirrors, recorded too
RECORDED_HEADERS = (
    "mcp-protocol-version",
    SESSION_HEADER,
    "mcp-method",
    "mcp-name",
    "accept",
    "content-type",
    "origin",
    "last-event-id",
)
STREAM_WAIT = 60.0  # seconds a POST stream waits for the peer's answer (the hold is shorter)


class HttpPeer(Peer):
    """The peer's script with messages routed to HTTP streams (all on the server's loop)."""

    shared_channel = False  # each subscription has a stream of its own

    def __init__(self, scenario: str, report_path: str):
        super().__init__(scenario, report_path, announce=False)
        self.connected = False
        self.request_streams: dict[str, asyncio.Queue] = {}  # open POST streams by request id
        self.get_streams: list[asyncio.Queue] = []
        self.waiting: list[bytes] = []  # messages of no request, with no stream to carry them
        self.session_id: str | None = None  # assigned with the first initialize answer
        self.expired: str | None = None  # session-expired: the session ended, answered 404 from then on
        self.dropped: dict[str, tuple[asyncio.Queue, object]] = {}  # sse-retry: last event id -> (stream, request id)

    def deliver(self, data: bytes, obj: dict, related) -> None:
        if "method" not in obj:  # a response: onto the stream of the request it answers
            stream = self.request_streams.get(id_key(obj.get("id")))
            if stream is None:
                self.record({"event": "undeliverable", "id": obj.get("id")})
            else:
                stream.put_nowait((data, True))
            return
        candidates = [
            self.request_streams.get(id_key(related)) if related is not None else None,
            next(iter(self.get_streams), None),
            self.latest_request_stream(),
        ]
        stream = next((c for c in candidates if c is not None), None)
        if stream is None:
            self.waiting.append(data)
        else:
            stream.put_nowait((data, False))

    def latest_request_stream(self) -> asyncio.Queue | None:
        return next(reversed(self.request_streams.values()), None)

    def flush_waiting(self, stream: asyncio.Queue) -> None:
        waiting, self.waiting = self.waiting, []
        for data in waiting:
            stream.put_nowait((data, False))

    def session_headers(self, message: jsonrpc.Message) -> dict[str, str]:
        """The MCP-Session-Id header for the answer to an initialize request (the same id if
        the client initializes again), else none."""
        if message.method != "initialize":
            return {}
        if self.session_id is None:
            self.session_id = uuid.uuid4().hex
            self.record({"event": "session", "id": self.session_id})
        return {SESSION_HEADER: self.session_id}

    def ends_session_at(self, message: jsonrpc.Message) -> bool:
        """In scenario session-expired, the first request of the first session past its
        handshake (initialize, ping and notifications aside) ends that session."""
        return (
            self.scenario == "session-expired"
            and self.expired is None
            and self.session_id is not None
            and message.kind is jsonrpc.Kind.REQUEST
            and message.method not in ("initialize", "ping")
        )

    def announce(self) -> None:
        if not self.connected:
            self.connected = True
            self.record({"event": "start", "scenario": self.scenario, "transport": "http"})


class PeerApp:
    """The ASGI app: POST, GET and DELETE at /mcp."""

    def __init__(self, peer: HttpPeer):
        self.peer = peer

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        from starlette.requests import Request
        from starlette.responses import Response

        request = Request(scope, receive)
        if request.url.path != PATH:  # a message POSTed beside the endpoint, or a $ref fetched
            self.peer.record(
                {
                    "event": "http-elsewhere",
                    "method": request.method,
                    "path": request.url.path,
                    "data": (await request.body()).decode("utf-8", errors="replace"),
                }
            )
            await Response(status_code=404)(scope, receive, send)
            return
        self.peer.announce()
        if self.peer.scenario == STANDARD_HEADERS:
            send = upper_case_header_names(send)
        headers = {k: v for k, v in request.headers.items() if k in RECORDED_HEADERS or k.startswith(PARAM_PREFIX)}
        handler = {"POST": self.post, "GET": self.get, "DELETE": self.delete}.get(request.method)
        if handler is None:
            self.peer.record({"event": "http", "method": request.method, "headers": headers})
            response = Response(status_code=405, headers={"allow": "GET, POST, DELETE"})
        elif self.peer.expired is not None and headers.get(SESSION_HEADER) == self.peer.expired:
            response = self.gone(request.method, await request.body(), headers)
        else:
            response = await handler(request, headers)
        await response(scope, receive, send)

    def gone(self, method: str, body: bytes, headers: dict):
        """HTTP 404 for a request naming the ended session (the client must initialize anew)."""
        from starlette.responses import Response

        if method == "POST":
            self.peer.record(
                {"dir": "c2s", "data": body.decode("utf-8", errors="replace"), "http": "POST", "headers": headers}
            )
        else:
            self.peer.record({"event": "http", "method": method, "headers": headers})
        self.peer.record({"event": "http-404", "session": self.peer.expired})
        return Response(status_code=404)

    async def post(self, request, headers: dict):
        from starlette.responses import Response

        body = await request.body()
        message = jsonrpc.decode(readable(body)[0].encode("utf-8"))
        if self.peer.ends_session_at(message):
            self.peer.expired, self.peer.session_id = self.peer.session_id, None
            response = self.gone("POST", body, headers)
            self.peer.record({"event": "session-ended", "id": self.peer.expired})  # what follows is judged
            return response
        if message.kind is not jsonrpc.Kind.REQUEST:
            self.peer.on_line(body, http="POST", headers=headers)
            self.peer.tick()
            accepted = message.kind in (jsonrpc.Kind.NOTIFICATION, jsonrpc.Kind.RESULT, jsonrpc.Kind.ERROR)
            return Response(status_code=202 if accepted else 400)
        stream: asyncio.Queue = asyncio.Queue()
        key = id_key(message.id)
        self.peer.request_streams[key] = stream
        self.peer.on_line(body, http="POST", headers=headers)
        session = self.peer.session_headers(message)
        if not self.peer.get_streams:
            self.peer.flush_waiting(stream)
        if self.peer.scenario == SSE_RETRY and message.method == "tools/call":
            self.peer.request_streams.pop(key, None)
            event_id = f"{key}-primed"
            self.peer.dropped[event_id] = (stream, message.id)
            return SseResponse(self._closed_early(event_id, message.id), headers=session)
        if stream.qsize() == 1:  # answered at once, nothing else first: one JSON body
            data, final = stream.get_nowait()
            if final:
                self.peer.request_streams.pop(key, None)
                self.peer.record({"event": "answer", "id": message.id, "as": "json"})
                return Response(data, status_code=200, media_type="application/json", headers=session)
            stream.put_nowait((data, final))
        return SseResponse(self._frames(stream, key, message.id), headers=session)

    async def _next(self, stream: asyncio.Queue):
        try:
            return await asyncio.wait_for(stream.get(), STREAM_WAIT)
        except asyncio.TimeoutError:
            return None

    async def _frames(self, stream: asyncio.Queue, key: str | None, request_id, resumed_after: str | None = None):
        """The SSE answer to one POSTed request: its stream open at once (the status line
        comes before the answer is known), ending with the response. `resumed_after`: the
        stream closed early, resumed on a GET that named this event (its frames get ids)."""
        sent = 0
        try:
            item = await self._next(stream)
            while item is not None:
                sent += 1
                yield sse_frame(None if resumed_after is None else f"{resumed_after}-{sent}", item[0])
                if item[1]:
                    kind = "sse" if resumed_after is None else "sse-resumed"
                    self.peer.record({"event": "answer", "id": request_id, "as": kind})
                    return
                item = await self._next(stream)
        finally:
            if key is not None:
                self.peer.request_streams.pop(key, None)

    async def _closed_early(self, event_id: str, request_id):
        """sse-retry: a stream primed with an event id and a retry field, then closed before
        its answer (the client is to poll it with GET and Last-Event-ID)."""
        yield f"id: {event_id}\nretry: {SSE_RETRY_MS}\ndata: \n\n".encode()
        await asyncio.sleep(0.05)  # the priming event goes out before the connection closes
        self.peer.record({"event": "stream-closed", "id": request_id, "last_event": event_id, "retry": SSE_RETRY_MS})

    async def get(self, request, headers: dict):
        self.peer.record({"event": "http", "method": "GET", "headers": headers})
        last_event = headers.get("last-event-id", "")
        if last_event in self.peer.dropped:
            stream, request_id = self.peer.dropped.pop(last_event)
            return SseResponse(self._frames(stream, None, request_id, resumed_after=last_event))
        stream: asyncio.Queue = asyncio.Queue()
        self.peer.get_streams.append(stream)
        self.peer.flush_waiting(stream)

        async def frames():
            try:
                yield b": stream open\n\n"
                while True:
                    yield sse_frame(None, (await stream.get())[0])
            finally:
                self.peer.get_streams.remove(stream)

        return SseResponse(frames())

    async def delete(self, request, headers: dict):
        from starlette.responses import Response

        self.peer.record({"event": "http", "method": "DELETE", "headers": headers})
        return Response(status_code=200)


def upper_case_header_names(send):
    """The ASGI send of a response whose header names are all upper case (CONTENT-TYPE...):
    names compare case-insensitively (2026-07-28 streamable-http-069)."""

    async def shouting(message: dict) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [(name.upper(), value) for name, value in message.get("headers") or []]}
        await send(message)

    return shouting


class HttpPeerServer:
    """The peer served by uvicorn on a thread; a loopback socket bound before the start."""

    def __init__(self, scenario: str, report_path: str):
        self.peer = HttpPeer(scenario, report_path)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}{PATH}"
        self.peer.origin = self.url[: -len(PATH)]
        self.server = None
        self.thread: threading.Thread | None = None

    def start(self, timeout: float = 5.0) -> HttpPeerServer:
        import uvicorn

        # h11 writes header names as given (uvicorn's httptools protocol lowers them).
        config = uvicorn.Config(
            PeerApp(self.peer), log_level="warning", lifespan="off", http="h11", timeout_graceful_shutdown=0.1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._serve, daemon=True, name="mcp-client-leg-peer")
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def _serve(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        async def ticks():
            while True:
                await asyncio.sleep(0.1)
                self.peer.tick()

        ticker = asyncio.ensure_future(ticks())
        try:
            await self.server.serve(sockets=[self.socket])
        finally:
            ticker.cancel()

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.socket.close()
        self.peer.record({"event": "stopped"})
        self.peer.report.close()
