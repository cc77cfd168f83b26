"""Streamable HTTP client transport (MCP 2025-03-26 and later).

Every message is POSTed to the MCP endpoint with an Accept of both answer types; the
answer (one JSON body or an SSE stream) is read on a thread of its own and its messages
go to the inbox, so the transport behaves like stdio for a Session: messages out,
messages in. The MCP-Session-Id of the initialize answer is sent on every later request,
and MCP-Protocol-Version too once a revision of 2025-06-18 or later has been negotiated.
After the `initialized` notification a GET stream is opened for messages that belong to
no request (405 is fine). Closing sends DELETE for the session.

A modern-era request (2026-07-28: `_meta` names the protocol version) carries the headers
that revision requires, derived from its body: MCP-Protocol-Version, Mcp-Method, Mcp-Name
(tools/call, resources/read, prompts/get) and an Mcp-Param-{Name} header for each tool
argument whose inputSchema property is annotated with `x-mcp-header`. The annotations are
learnt from the tools/list results seen on the endpoint (listed on demand otherwise).

`exchange()` performs one raw HTTP request for transport checks and returns its status,
headers, SSE events and messages. Every exchange is recorded in `http_log`.
"""

from __future__ import annotations

import base64
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from .. import jsonrpc
from ..jsonrpc import Kind, Message
from .base import Inbound, Inbox, ServerStartError, TransportClosed

ACCEPT_BOTH = "application/json, text/event-stream"
SESSION_HEADER = "Mcp-Session-Id"
VERSION_HEADER = "MCP-Protocol-Version"
VERSION_HEADER_SINCE = "2025-06-18"
METHOD_HEADER = "Mcp-Method"
NAME_HEADER = "Mcp-Name"
PARAM_HEADER = "Mcp-Param-"
NAMED_BY = {"tools/call": "name", "resources/read": "uri", "prompts/get": "name"}  # the Mcp-Name source
META_VERSION = "io.modelcontextprotocol/protocolVersion"
MAX_BODY = 16 * 1024 * 1024  # of one answer, read by exchange()
MAX_EVENT = 16 * 1024 * 1024  # of one SSE event; past it the event is cut
LOG_KEEP = 500
MAX_RESUMES = 3  # GETs with Last-Event-ID for one POST's stream that ended before its answer
RESUME_WAIT = 1.0  # seconds before such a GET when the server sent no retry field


# -- Server-Sent Events ------------------------------------------------------------------
@dataclass
class SseEvent:
    """One dispatched SSE event, with the id field as sent on this event (None if it had none)."""

    data: bytes
    event: str = "message"
    id: str | None = None
    retry: int | None = None
    has_data: bool = False  # a data field was present (possibly empty)


_EOL = re.compile(rb"\r\n|\r|\n")


class SseParser:
    """Incremental SSE parser (WHATWG event-stream interpretation), bytes in, events out.

    Unlike a browser it reports every event that carried any field, including an event
    with only an id (a priming event) and an empty data field, and keeps each event's own
    id rather than the inherited last-event-id, so that checks can judge what was sent."""

    def __init__(self):
        self._buffer = b""
        self._reset()

    def _reset(self):
        self._data: list[bytes] = []
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self._fields = False
        self._size = 0

    def feed(self, chunk: bytes) -> list[SseEvent]:
        self._buffer += chunk
        events = []
        while True:
            match = _EOL.search(self._buffer)
            if match is None or (match.group() == b"\r" and match.end() == len(self._buffer)):
                break  # no full line yet (a lone \r may be half of \r\n)
            line, self._buffer = self._buffer[: match.start()], self._buffer[match.end() :]
            event = self._line(line)
            if event is not None:
                events.append(event)
        if len(self._buffer) > MAX_EVENT:  # a line without end: keep its head only
            self._buffer = self._buffer[:MAX_EVENT]
        return events

    def finish(self) -> list[SseEvent]:
        """At the end of the stream: an event not closed by a blank line is dropped (SSE rules)."""
        self._buffer = b""
        self._reset()
        return []

    def _line(self, line: bytes) -> SseEvent | None:
        if not line:
            if not self._fields:
                return None
            event = SseEvent(b"\n".join(self._data), self._event or "message", self._id, self._retry, bool(self._data))
            self._reset()
            return event
        if line.startswith(b":"):
            return None
        name, colon, value = line.partition(b":")
        if colon and value.startswith(b" "):
            value = value[1:]
        self._fields = True
        if name == b"data":
            self._size += len(value)
            if self._size <= MAX_EVENT:
                self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", errors="replace")
        elif name == b"id":
            if b"\0" not in value:
                self._id = value.decode("utf-8", errors="replace")
        elif name == b"retry":
            if value.isdigit():
                self._retry = int(value)
        return None


# -- one raw exchange ------------------------------------------------------------------------
_ACCESS_TOKEN = re.compile(r"([?&]access_token=)[^&#]*")  # never shown: reports may be published


@dataclass
class Exchange:
    """One HTTP request and what came back, as far as it was read."""

    method: str
    url: str
    request_headers: dict[str, str]
    body: bytes = b""
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    content: bytes = b""  # the body of a non-SSE answer
    events: list[SseEvent] = field(default_factory=list)
    error: str = ""  # no answer at all: refused, reset, timed out
    complete: bool = False  # the answer was read to its end (not cut by a time or count limit)
    started: float = 0.0
    seconds: float = 0.0
    last_read: float = 0.0  # when the last bytes (or the headers) arrived
    _response: httpx.Response | None = field(default=None, repr=False, compare=False)  # while being read
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _finished: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)  # reading is over

    def reading(self, response: httpx.Response | None) -> None:
        with self._lock:  # once cleared, abort() cannot touch a connection gone back to the pool
            self._response = response
        if response is None:
            self._finished.set()

    def abort(self) -> None:
        """Stop reading the answer (from another thread); what was read so far is kept."""
        with self._lock:
            if self._response is not None:
                _shutdown(self._response, close=False)  # the reading thread closes it

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def is_sse(self) -> bool:
        return self.content_type == "text/event-stream"

    @property
    def payloads(self) -> list[bytes]:
        """The message bodies: the JSON body, or the data of every SSE event carrying any."""
        if self.is_sse:
            return [e.data for e in self.events if e.data.strip()]
        return [self.content] if self.content.strip() else []

    @property
    def messages(self) -> list[Message]:
        return [jsonrpc.decode(p) for p in self.payloads]

    def response_to(self, request_id) -> Message | None:
        return next((m for m in self.messages if m.is_response and jsonrpc.same_id(request_id, m.id)), None)

    def summary(self) -> str:
        path = _ACCESS_TOKEN.sub(r"\1(a token)", httpx.URL(self.url).raw_path.decode("ascii", errors="replace"))
        if self.status is None:
            return f"{self.method} {path} -> no answer ({self.error})"
        text = f"{self.method} {path} -> {self.status}"
        if self.content_type:
            text += f" {self.content_type}"
        if self.is_sse:
            text += f" ({len(self.events)} event{'s' if len(self.events) != 1 else ''}"
            text += ")" if self.complete else ", not read to its end)"
        elif self.content:
            text += f" ({len(self.content)} bytes)"
        return text


def perform(
    client: httpx.Client,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None = None,
    *,
    timeout: float,
    read_for: float | None = None,
    until: Callable[[Exchange], bool] | None = None,
    on_headers: Callable[[Exchange], None] | None = None,
    idle: float | None = None,
) -> Exchange:
    """Send one request; read the answer until it ends, `until(exchange)` holds, `read_for`
    seconds (default `timeout`) have passed, no byte has come for `idle` seconds after the
    headers, or another thread calls `exchange.abort()`. Each wait is bounded by `timeout`."""
    exchange = Exchange(method, url, dict(headers), body or b"", started=time.monotonic())
    deadline = exchange.started + (timeout if read_for is None else read_for)
    try:
        with client.stream(method, url, headers=headers, content=body, timeout=httpx.Timeout(timeout)) as response:
            exchange.status = response.status_code
            exchange.headers = {k.lower(): v for k, v in response.headers.items()}
            exchange.last_read = time.monotonic()
            exchange.reading(response)
            try:
                _read(exchange, response, deadline, until, on_headers, idle)
            finally:
                exchange.reading(None)
    except httpx.TimeoutException:
        exchange.error = f"no answer within {timeout:g}s"
    except httpx.HTTPError as error:
        exchange.error = str(error) or type(error).__name__
    finally:
        exchange.seconds = time.monotonic() - exchange.started
    return exchange


def _read(exchange: Exchange, response: httpx.Response, deadline: float, until, on_headers, idle) -> None:
    """Read the answer after its headers into `exchange` (see perform)."""
    if on_headers is not None:
        on_headers(exchange)
    if until is not None and until(exchange):
        return
    if idle is not None:
        threading.Thread(target=_abort_when_idle, args=(exchange, idle), daemon=True, name="mcp-http-idle").start()
    parser = SseParser() if exchange.is_sse else None
    try:
        for chunk in response.iter_bytes():
            exchange.last_read = time.monotonic()
            if parser is not None:
                exchange.events += parser.feed(chunk)
            elif len(exchange.content) < MAX_BODY:
                exchange.content += chunk[: MAX_BODY - len(exchange.content)]
            if (until is not None and until(exchange)) or time.monotonic() > deadline:
                return
        exchange.complete = True
    except (httpx.TimeoutException, httpx.TransportError, OSError):
        pass  # the answer was cut (or aborted): complete stays False


def _abort_when_idle(exchange: Exchange, idle: float) -> None:
    """Cut the answer once `idle` seconds pass without a new byte: a stream quiet that long is
    taken to have said what it will (where nothing else can tell)."""
    while not exchange._finished.wait(max(0.0, exchange.last_read + idle - time.monotonic())):
        if time.monotonic() >= exchange.last_read + idle:
            exchange.abort()
            return


def looks_like_message(body: bytes, content_type: str) -> bool:
    """Whether a non-SSE body is passed on as a message: JSON by its Content-Type, or by its
    look whatever the Content-Type (lenient; the transport checks judge the Content-Type)."""
    text = body.strip()
    return bool(text) and ("json" in content_type.lower() or text[:1] in (b"{", b"["))


def merge_headers(base: dict[str, str], extra: dict[str, str | None] | None) -> dict[str, str]:
    """`base` with `extra` applied case-insensitively; a None value removes the header."""
    merged = {k.lower(): (k, v) for k, v in base.items()}
    for name, value in (extra or {}).items():
        if value is None:
            merged.pop(name.lower(), None)
        else:
            merged[name.lower()] = (name, value)
    return dict(merged.values())


# -- modern-era request headers (2026-07-28) --------------------------------------------------
SENTINEL = ("=?base64?", "?=")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP field-name token (1*tchar)
_PLAIN = re.compile(r"[\x20-\x7e]*")


def header_text(value) -> str:
    """A mirrored value as header text: booleans lower-case, integers in decimal, strings as
    they are unless unsafe (not printable ASCII, padded, or sentinel-shaped): those go as
    Base64 of their UTF-8 in the sentinel form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = value if isinstance(value, str) else str(value)
    looks_encoded = text.startswith(SENTINEL[0]) and text.endswith(SENTINEL[1])
    if _PLAIN.fullmatch(text) and text == text.strip() and not looks_encoded:
        return text
    return SENTINEL[0] + base64.b64encode(text.encode("utf-8")).decode("ascii") + SENTINEL[1]


def decoded_header(text: str) -> str | None:
    """A header value with the sentinel encoding undone (None: malformed Base64 or UTF-8)."""
    if not (text.startswith(SENTINEL[0]) and text.endswith(SENTINEL[1]) and len(text) >= 11):
        return text
    try:
        return base64.b64decode(text[len(SENTINEL[0]) : -len(SENTINEL[1])], validate=True).decode("utf-8")
    except ValueError:
        return None


def _primitive(declared) -> bool:
    """A type a header can carry: string, integer or boolean (nullable allowed; no type
    given cannot be judged and is let be)."""
    if declared is None:
        return True
    types = (
        {t for t in declared if isinstance(t, str)}
        if isinstance(declared, list)
        else {declared}
        if isinstance(declared, str)
        else set()
    )
    return bool(types - {"null"}) and types - {"null"} <= {"string", "integer", "boolean"}


def header_params(schema) -> tuple[list[tuple[tuple[str, ...], str]], list[str]]:
    """The x-mcp-header annotations of an inputSchema: ([(property path, header name)], problems).
    Only annotations reached through a chain of `properties` count; anything else about an
    annotation that the spec forbids is a problem (such a tool is not to be used over HTTP)."""
    found: list[tuple[tuple[str, ...], str]] = []
    problems: list[str] = []

    def walk(node, path: tuple[str, ...], reachable: bool, where: str) -> None:
        if isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, path, False, f"{where}/{index}")
            return
        if not isinstance(node, dict):
            return
        if "x-mcp-header" in node:
            name = node["x-mcp-header"]
            if not reachable or not path:
                problems.append(f"x-mcp-header at {where or '/'} is not on a property reached through `properties`")
            elif not isinstance(name, str) or not _TOKEN.fullmatch(name):
                problems.append(f"x-mcp-header {name!r} at {where} is not an HTTP field-name token")
            elif not _primitive(node.get("type")):
                problems.append(
                    f"x-mcp-header {name!r} at {where} is on a property of type {node.get('type')!r}, "
                    "not string, integer or boolean"
                )
            else:
                found.append((path, name))
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for prop, sub in value.items():
                    walk(sub, path + (prop,), reachable, f"{where}/properties/{prop}")
            elif key not in ("x-mcp-header", "enum", "const", "default", "examples"):
                walk(value, path, False, f"{where}/{key}")

    walk(schema, (), True, "")
    names = [name.lower() for _, name in found]
    problems += [
        f"x-mcp-header {name!r} is used more than once" for name in sorted(set(names)) if names.count(name) > 1
    ]
    return found, problems


def argument_at(arguments, path: tuple[str, ...]):
    """The value at a property path of the call arguments, or None when absent."""
    for key in path:
        if not isinstance(arguments, dict):
            return None
        arguments = arguments.get(key)
    return arguments


def modern_headers(message: Message, tool_params: Callable[[str], list] = lambda name: []) -> dict[str, str]:
    """The headers a modern-era request carries, derived from its body ({} for anything else)."""
    params = message.params if isinstance(message.params, dict) else {}
    meta = params.get("_meta")
    version = meta.get(META_VERSION) if isinstance(meta, dict) else None
    if message.kind is not Kind.REQUEST or not isinstance(version, str):
        return {}
    headers = {VERSION_HEADER: version, METHOD_HEADER: message.method}
    source = params.get(NAMED_BY.get(message.method, ""))
    if isinstance(source, str):
        headers[NAME_HEADER] = header_text(source)
    if message.method == "tools/call" and isinstance(params.get("name"), str):
        for path, name in tool_params(params["name"]):
            value = argument_at(params.get("arguments"), path)
            if value is not None:
                headers[PARAM_HEADER + name] = header_text(value)
    return headers


class ToolHeaderBook:
    """The x-mcp-header annotations of each tool an endpoint lists (endpoint URL -> tool
    name -> [(path, header name)]), shared by every connection to that endpoint: a check
    may call a tool on a connection that never listed it. Tools whose annotations break
    the rules get no headers (a client drops such tools)."""

    def __init__(self):
        self._tools: dict[str, dict[str, list]] = {}
        self._complete: set[str] = set()
        self._lock = threading.Lock()

    def learn(self, url: str, result, complete: bool) -> None:
        tools = result.get("tools") if isinstance(result, dict) else None
        with self._lock:
            known = self._tools.setdefault(url, {})
            for tool in tools if isinstance(tools, list) else []:
                if isinstance(tool, dict) and isinstance(tool.get("name"), str):
                    found, problems = header_params(tool.get("inputSchema"))
                    known[tool["name"]] = [] if problems else found
            if complete:
                self._complete.add(url)

    def params(self, url: str, name: str) -> list | None:
        """The annotations of tool `name`; None when the endpoint's tools are not known yet."""
        with self._lock:
            known = self._tools.get(url, {})
            if name in known:
                return known[name]
            return [] if url in self._complete else None


TOOL_HEADERS = ToolHeaderBook()
MAX_TOOL_PAGES = 20


def _shutdown(response: httpx.Response, close: bool = True) -> None:
    """Wake a thread blocked reading `response` (closing the socket alone does not); with
    `close`, close it too."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    if not close and sock is not None:
        return
    try:
        response.close()
    except Exception:  # noqa: BLE001 - closing from another thread may race the reader
        pass


@dataclass
class StreamCursor:
    """Where an SSE stream stood: its last event id and the last retry it named (ms)."""

    last_id: str | None = None
    retry: int | None = None

    def see(self, event: SseEvent) -> None:
        self.last_id = event.id if event.id is not None else self.last_id
        self.retry = event.retry if event.retry is not None else self.retry


class HttpBased:
    """What the HTTP transports share: a server this run may have launched, an inbox, and
    the credentials every request carries (an Authorization header value, or None)."""

    kind: str
    url: str | None
    server = None  # a launch.LaunchedServer started for this run, or None
    authorization: str | None = None  # "Bearer ...": sent on every request of a protected server
    _inbox: Inbox

    def credentials(self) -> dict[str, str]:
        return {"Authorization": self.authorization} if self.authorization else {}

    @property
    def exit_code(self) -> int | None:
        return self.server.exit_code if self.server is not None else None

    def stderr_tail(self, lines: int = 20) -> str:
        return self.server.stderr_tail(lines) if self.server is not None else ""

    def describe(self) -> str:
        return f"{self.kind}: {self.url or (self.server.command if self.server else '(no URL)')}"

    def receive(self, timeout: float) -> Inbound:
        item = self._inbox.get(timeout)
        if item is None:
            raise TransportClosed(self._inbox.end_reason, self.exit_code, self.stderr_tail())
        return item


class HttpTransport(HttpBased):
    """A Streamable HTTP connection to one MCP endpoint, seen as a stream of messages."""

    kind = "http"

    def __init__(self, url: str | None = None, *, timeout: float = 5.0, server=None, listen: bool = True):
        self.url = url  # None until a launched server tells its port
        self.timeout = timeout
        self.server = server  # a launch.LaunchedServer started for this run, or None
        self.listen = listen  # open a GET stream after initialization
        self.accept = ACCEPT_BOTH  # the Accept of every POSTed message (a reference-client fault narrows it)
        self.session_id: str | None = None
        self.session_ended: str | None = None  # the session id a POST got HTTP 404 for (it ended)
        self.protocol_version: str | None = None  # as negotiated in initialize
        self.started_at = time.monotonic()
        self.stdout_eof = False  # the session is gone (404, or the endpoint refuses connections)
        self.http_log: deque[str] = deque(maxlen=LOG_KEEP)
        # str(request id) -> HTTP status, for POSTed requests refused with an error status and
        # no JSON-RPC response to them (so a caller need not wait for an answer that cannot come)
        self.refused: dict[str, int] = {}
        self._inbox = Inbox()
        self._client: httpx.Client | None = None
        self._open: set[httpx.Response] = set()
        self._lock = threading.Lock()
        self._initialize_ids: list = []
        self._tool_lists: set[str] = set()  # ids of tools/list requests sent (their results name tool headers)
        self._modern_answers: dict[str, httpx.Response] = {}  # request id -> its answer being read (modern era)
        self._listening = False
        self._readers = 0  # threads reading an answer (or about to): POSTs and the GET stream
        self._closed = False
        self._stopping = threading.Event()  # set by close(): a wait before resuming a stream ends
        # Resuming a POST's SSE stream that ended before its answer (2025-11-25): whether to,
        # the seconds to wait given the retry field (ms or None), whether to name the last
        # event id (reference-client faults change these).
        self.resumes = True
        self.resume_wait: Callable[[int | None], float] = lambda retry: RESUME_WAIT if retry is None else retry / 1000
        self.names_last_event = True
        self._cancelled: set[str] = set()  # ids of requests cancelled by notification: no stream resumed

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> HttpTransport:
        if self.server is not None:
            self.server.ensure_running()
            self.url = self.server.url
        if not self.url:
            raise ServerStartError("no URL for the HTTP server")
        self.started_at = time.monotonic()
        # trust_env=False: no proxy from the environment; the endpoint is the one given.
        self._client = httpx.Client(
            trust_env=False,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=10),
        )
        return self

    def close(self) -> int | None:
        if self._closed:
            return self.exit_code
        self._closed = True
        self._stopping.set()
        if self.session_id is not None and self._client is not None and not self.stdout_eof:
            self.exchange("DELETE", timeout=min(self.timeout, 2.0))
        with self._lock:
            responses = list(self._open)
        for response in responses:
            _shutdown(response)
        if self._client is not None:
            self._client.close()
        self._inbox.stop()
        self._inbox.end("the transport is closed")
        return self.exit_code

    # -- headers -------------------------------------------------------------------
    def session_headers(self) -> dict[str, str]:
        headers = {}
        if self.session_id is not None:
            headers[SESSION_HEADER] = self.session_id
        if self.protocol_version is not None and self.protocol_version >= VERSION_HEADER_SINCE:
            headers[VERSION_HEADER] = self.protocol_version
        return headers

    def modern_headers(self, message: Message) -> dict[str, str]:
        """The headers of a modern-era request (Mcp-Method, Mcp-Name, Mcp-Param-*...); {} otherwise."""
        return modern_headers(message, lambda name: self._tool_params(name, message.params["_meta"]))

    def _tool_params(self, name: str, meta: dict) -> list:
        known = TOOL_HEADERS.params(self.url, name)
        if known is None:  # no connection to this endpoint has listed its tools yet
            self._list_tools(meta)
            known = TOOL_HEADERS.params(self.url, name)
        return known or []

    def _list_tools(self, meta: dict) -> None:
        """List the endpoint's tools (outside the message flow) to learn their x-mcp-header params."""
        cursor = None
        for page in range(MAX_TOOL_PAGES):
            request_id = f"conformance-tool-headers-{page}"
            params = {"_meta": meta, **({"cursor": cursor} if cursor is not None else {})}
            exchange = self.exchange(
                "POST",
                jsonrpc.encode(jsonrpc.request(request_id, "tools/list", params)),
                until=lambda e: e.response_to(request_id) is not None,
            )
            response = exchange.response_to(request_id)
            if response is None or response.kind is not Kind.RESULT or not isinstance(response.result, dict):
                TOOL_HEADERS.learn(self.url, {}, complete=True)  # no tools to learn: do not ask again
                return
            cursor = response.result.get("nextCursor")
            TOOL_HEADERS.learn(self.url, response.result, complete=not isinstance(cursor, str))
            if not isinstance(cursor, str):
                return

    # -- bytes out -----------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """POST exactly these bytes (one trailing newline, stdio's framing, is dropped)."""
        self._post(data[:-1] if data.endswith(b"\n") else data)

    def send_message(self, data: bytes) -> None:
        self._post(data)

    def _post(self, body: bytes) -> None:
        if self._client is None or self._closed:
            raise TransportClosed("the transport is closed", self.exit_code, self.stderr_tail())
        message = jsonrpc.decode(body)
        if self._cancel_by_closing(message):
            return
        if (
            message.kind is Kind.NOTIFICATION
            and message.method == "notifications/cancelled"
            and isinstance(message.params, dict)
        ):
            self._cancelled.add(str(message.params.get("requestId")))  # its answer is not awaited
        if message.kind is Kind.REQUEST and message.method == "initialize":
            self._initialize_ids.append(message.id)
        if message.kind is Kind.REQUEST and message.method == "tools/list":
            self._tool_lists.add(str(message.id))
        headers = {
            "Accept": self.accept,
            "Content-Type": "application/json",
            **self.credentials(),
            **self.session_headers(),
            **self.modern_headers(message),
        }
        answered = threading.Event()
        outcome: dict = {}
        self._read_on_thread("mcp-http-post", self._post_worker, body, headers, message, answered, outcome)
        # Wait for the status line, so that messages reach the server in the order sent;
        # a slow answer goes on arriving in the background.
        answered.wait(self.timeout)
        if "error" in outcome:
            raise TransportClosed(outcome["error"], self.exit_code, self.stderr_tail())

    def _cancel_by_closing(self, message: Message) -> bool:
        """In the modern era, HTTP has no cancellation notification: the client closes the
        request's answer stream instead. True when that was done (nothing is to be POSTed)."""
        if message.kind is not Kind.NOTIFICATION or message.method != "notifications/cancelled":
            return False
        request_id = (message.params or {}).get("requestId") if isinstance(message.params, dict) else None
        with self._lock:
            response = self._modern_answers.pop(str(request_id), None)
        if response is None:
            return False
        self.http_log.append(f"closed the answer to request {request_id} (cancellation, modern era)")
        _shutdown(response)
        return True

    def _post_worker(
        self, body: bytes, headers: dict, message: Message, answered: threading.Event, outcome: dict
    ) -> None:
        response = None
        try:
            request = self._client.build_request(
                "POST", self.url, headers=headers, content=body, timeout=httpx.Timeout(self.timeout, read=None)
            )  # an answer may take long: close() ends it
            response = self._client.send(request, stream=True)
        except httpx.HTTPError as error:
            reason = f"POST {self.url} failed: {error or type(error).__name__}"
            self.http_log.append(f"POST -> no answer ({error or type(error).__name__})")
            if isinstance(error, (httpx.ConnectError, httpx.RemoteProtocolError)):
                self.stdout_eof = True
                outcome["error"] = reason
                self._inbox.end(reason)
            answered.set()
            return
        modern_request = message.kind is Kind.REQUEST and METHOD_HEADER in headers
        try:
            with self._lock:
                self._open.add(response)
                if modern_request:
                    self._modern_answers[str(message.id)] = response
            content_type = response.headers.get("content-type", "").split(";")[0].strip()
            line = f"POST {message.method or message.kind.value} -> {response.status_code} {content_type}".rstrip()
            if message.kind is Kind.REQUEST and message.method == "initialize" and response.status_code < 300:
                self.session_id = response.headers.get(SESSION_HEADER, self.session_id)
                line += f" ({SESSION_HEADER}: {self.session_id})" if self.session_id else " (no session id)"
            self.http_log.append(line)
            if response.status_code == 404 and headers.get(SESSION_HEADER):
                reason = f"the server answered HTTP 404 for session {headers[SESSION_HEADER]}: the session ended"
                self.session_ended = headers[SESSION_HEADER]
                self.stdout_eof = True
                self._inbox.end(reason)
            answered.set()
            if message.kind in (Kind.NOTIFICATION, Kind.RESULT, Kind.ERROR) and response.status_code >= 400:
                # Refused input: a JSON-RPC error in the body (allowed, with no id) answers no request.
                try:
                    self.http_log.append(f"  refusal body: {response.read()[:300]!r}")
                except (httpx.HTTPError, OSError, RuntimeError):
                    pass
                return
            cursor = StreamCursor()
            delivered = self._consume(response, f"HTTP {response.status_code} {content_type}".rstrip(), cursor)
            if not modern_request and self._left_unanswered(message, cursor, delivered):
                delivered += self._resume(cursor, message.id)
            if (
                message.kind is Kind.REQUEST
                and response.status_code >= 400
                and not any(m.is_response and jsonrpc.same_id(message.id, m.id) for m in delivered)
            ):
                self.refused[str(message.id)] = response.status_code
            if (
                message.kind is Kind.NOTIFICATION
                and message.method == "notifications/initialized"
                and response.status_code < 300
                and self.listen
            ):
                self._start_listening()
        finally:
            answered.set()
            with self._lock:
                self._open.discard(response)
                if modern_request:
                    self._modern_answers.pop(str(message.id), None)
            response.close()

    def _left_unanswered(self, message: Message, cursor: StreamCursor, delivered: list[Message]) -> bool:
        """Whether the SSE stream of a request (not cancelled) ended after an event id but
        without its answer: a stream to resume."""
        return (
            message.kind is Kind.REQUEST
            and cursor.last_id is not None
            and str(message.id) not in self._cancelled
            and not any(m.is_response and jsonrpc.same_id(message.id, m.id) for m in delivered)
        )

    def _resume(self, cursor: StreamCursor, request_id) -> list[Message]:
        """A POST's SSE stream ended after an event id but before the answer: the server may
        close the connection and let the client poll (2025-11-25 transports, sending
        messages): wait the retry it named, then GET with Last-Event-ID, a few times at most."""
        delivered: list[Message] = []
        for _ in range(MAX_RESUMES if self.resumes else 0):
            wait = self.resume_wait(cursor.retry)
            if wait > self.timeout:  # not sooner than asked, and no wait past the timeout
                self.http_log.append(f"not resuming after event {cursor.last_id}: retry {cursor.retry} ms")
                break
            if self._stopping.wait(wait) or self._client is None:
                break
            label = f"GET (resuming after event {cursor.last_id})"
            got = self._get_stream(
                {"Last-Event-ID": cursor.last_id} if self.names_last_event else {},
                label,
                "HTTP GET stream (resumed)",
                cursor,
            )
            if got is None:
                break
            delivered += got
            if any(m.is_response and jsonrpc.same_id(request_id, m.id) for m in delivered):
                break
        return delivered

    def _consume(self, response: httpx.Response, note: str, cursor: StreamCursor | None = None) -> list[Message]:
        """Feed the messages of an answer (JSON body or SSE stream) to the inbox; an SSE
        stream's last event id and retry go to `cursor`."""
        delivered: list[Message] = []
        cursor = cursor or StreamCursor()
        try:
            if response.headers.get("content-type", "").split(";")[0].strip().lower() == "text/event-stream":
                parser = SseParser()
                for chunk in response.iter_bytes():
                    for event in parser.feed(chunk):
                        cursor.see(event)
                        if event.data.strip():
                            delivered.append(self._deliver(event.data, note))
            else:
                body = response.read()
                if looks_like_message(body, response.headers.get("content-type", "")):
                    delivered.append(self._deliver(body, note))
        except (httpx.HTTPError, OSError, RuntimeError):
            pass  # the stream was cut (or closed by close())
        return delivered

    def _deliver(self, raw: bytes, note: str) -> Message:
        message = jsonrpc.decode(raw)
        if (
            self._initialize_ids
            and self.protocol_version is None
            and message.kind is Kind.RESULT
            and any(jsonrpc.same_id(i, message.id) for i in self._initialize_ids)
            and isinstance(message.result, dict)
            and isinstance(message.result.get("protocolVersion"), str)
        ):
            self.protocol_version = message.result["protocolVersion"]
        if message.kind is Kind.RESULT and str(message.id) in self._tool_lists and isinstance(message.result, dict):
            TOOL_HEADERS.learn(self.url, message.result, complete=message.result.get("nextCursor") is None)
        self._inbox.put(Inbound(time.monotonic(), raw, note=note))
        return message

    def _start_listening(self) -> None:
        with self._lock:
            if self._listening:
                return
            self._listening = True
        self._read_on_thread("mcp-http-get", self._listen)

    def _read_on_thread(self, name: str, read: Callable, *args) -> None:
        """Run `read` (which reads an answer into the inbox) on a thread of its own, counted
        from now until it returns (see quiet)."""
        with self._lock:
            self._readers += 1

        def run():
            try:
                read(*args)
            finally:
                with self._lock:
                    self._readers -= 1

        threading.Thread(target=run, daemon=True, name=name).start()

    def quiet(self) -> bool:
        """Whether nothing more can arrive: every message from the server comes in the answer
        to a POST or on the GET stream, and none of those is open or awaited now (what they
        carried is in the inbox already). Silence proven without waiting (Session.barrier)."""
        with self._lock:
            return self._readers == 0

    def _listen(self) -> None:
        self._get_stream({}, "GET", "HTTP GET stream")

    def _get_stream(self, extra: dict, label: str, note: str, cursor: StreamCursor | None = None):
        """GET an SSE stream of the endpoint and read it to its end into the inbox: the
        messages it carried, or None when no stream came (logged as `label`)."""
        headers = {"Accept": "text/event-stream", **self.credentials(), **self.session_headers(), **extra}
        try:
            request = self._client.build_request(
                "GET", self.url, headers=headers, timeout=httpx.Timeout(self.timeout, read=None)
            )
            response = self._client.send(request, stream=True)
        except (httpx.HTTPError, RuntimeError) as error:
            self.http_log.append(f"{label} -> no answer ({error or type(error).__name__})")
            return None
        with self._lock:
            self._open.add(response)
        try:
            content_type = response.headers.get("content-type", "").split(";")[0].strip()
            self.http_log.append(f"{label} -> {response.status_code} {content_type}".rstrip())
            if response.status_code != 200 or content_type != "text/event-stream":
                return None
            return self._consume(response, note, cursor)
        finally:
            with self._lock:
                self._open.discard(response)
            response.close()

    # -- bytes in ------------------------------------------------------------------
    # -- raw access for transport checks -----------------------------------------------
    def exchange(
        self,
        method: str = "POST",
        body: bytes | None = None,
        *,
        headers: dict | None = None,
        session: bool = True,
        timeout: float | None = None,
        read_for: float | None = None,
        until: Callable[[Exchange], bool] | None = None,
        url: str | None = None,
        on_headers: Callable[[Exchange], None] | None = None,
        idle: float | None = None,
    ) -> Exchange:
        """One HTTP request, outside the message flow. The usual headers (Accept, Content-Type
        for a body, and with `session` the session and version headers) are sent unless
        `headers` overrides them (a None value drops one), and so are the run's credentials.
        A modern-era request body gets the headers derived from it (`modern_headers`)."""
        if self._client is None:
            raise TransportClosed("the transport is not started")
        base = {"Accept": ACCEPT_BOTH if method == "POST" else "text/event-stream", **self.credentials()}
        if body is not None:
            base["Content-Type"] = "application/json"
        if session:
            base.update(self.session_headers())
        if body is not None:
            base.update(self.modern_headers(jsonrpc.decode(body)))
        exchange = perform(
            self._client,
            method,
            url or self.url,
            merge_headers(base, headers),
            body,
            timeout=self.timeout if timeout is None else timeout,
            read_for=read_for,
            until=until,
            on_headers=on_headers,
            idle=idle,
        )
        self.http_log.append(exchange.summary())
        return exchange

    def initialize_body(self, revision: str, request_id="conformance-init") -> bytes:
        from ..session import CLIENT_INFO

        return jsonrpc.encode(
            jsonrpc.request(
                request_id, "initialize", {"protocolVersion": revision, "capabilities": {}, "clientInfo": CLIENT_INFO}
            )
        )


__all__ = [
    "ACCEPT_BOTH",
    "Exchange",
    "HttpTransport",
    "METHOD_HEADER",
    "NAME_HEADER",
    "PARAM_HEADER",
    "SESSION_HEADER",
    "SseEvent",
    "SseParser",
    "TOOL_HEADERS",
    "VERSION_HEADER",
    "decoded_header",
    "header_params",
    "header_text",
    "merge_headers",
    "modern_headers",
    "perform",
]
