"""HTTP+SSE client transport: the deprecated transport of protocol revision 2024-11-05.

The client GETs the SSE stream; the server's first event, `endpoint`, names the URL to
POST messages to; every message from the server arrives on the stream as a `message`
event. The announced URL must be on the same origin (scheme, host, port) as the stream:
the suite never posts anywhere else.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import httpx

from .base import Inbound, Inbox, ServerStartError, TransportClosed, TransportError
from .http import LOG_KEEP, Exchange, HttpBased, SseParser, _shutdown, looks_like_message, merge_headers, perform


def same_origin(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port) == (y.scheme, y.hostname, y.port)


class SseTransport(HttpBased):
    kind = "sse"
    ordered = True  # the peer's messages arrive in the order it wrote them (Session.barrier)

    def __init__(self, url: str | None = None, *, timeout: float = 5.0, server=None):
        self.url = url  # the SSE stream; None until a launched server tells its port
        self.timeout = timeout
        self.server = server
        self.endpoint_url: str | None = None  # announced by the `endpoint` event
        self.started_at = time.monotonic()
        self.stdout_eof = False  # the SSE stream has ended
        self.http_log: deque[str] = deque(maxlen=LOG_KEEP)
        self._inbox = Inbox()
        self._client: httpx.Client | None = None
        self._stream: httpx.Response | None = None
        self._endpoint = threading.Event()
        self._problem = ""
        self._closed = False

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> SseTransport:
        if self.server is not None:
            self.server.ensure_running()
            self.url = self.server.url
        if not self.url:
            raise ServerStartError("no URL for the SSE endpoint")
        self.started_at = time.monotonic()
        self._client = httpx.Client(trust_env=False, follow_redirects=False)
        threading.Thread(target=self._read_stream, daemon=True, name="mcp-sse").start()
        if not self._endpoint.wait(self.timeout) or self.endpoint_url is None:
            problem = self._problem or f"no `endpoint` event on {self.url} within {self.timeout:g}s"
            self.close()
            raise TransportError(problem, self.exit_code, self.stderr_tail())
        return self

    def close(self) -> int | None:
        if self._closed:
            return self.exit_code
        self._closed = True
        if self._stream is not None:
            _shutdown(self._stream)
        if self._client is not None:
            self._client.close()
        self._inbox.stop()
        self._inbox.end("the transport is closed")
        return self.exit_code

    # -- the stream ----------------------------------------------------------------
    def _read_stream(self) -> None:
        try:
            request = self._client.build_request(
                "GET",
                self.url,
                headers={"Accept": "text/event-stream", **self.credentials()},
                timeout=httpx.Timeout(self.timeout, read=None),
            )
            response = self._client.send(request, stream=True)
        except (httpx.HTTPError, RuntimeError) as error:
            self._fail(f"GET {self.url} failed: {error or type(error).__name__}")
            return
        self._stream = response
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        self.http_log.append(f"GET (SSE stream) -> {response.status_code} {content_type}".rstrip())
        if response.status_code != 200 or content_type != "text/event-stream":
            response.close()
            self._fail(f"GET {self.url} answered {response.status_code} {content_type}, not an SSE stream")
            return
        parser = SseParser()
        try:
            for chunk in response.iter_bytes():
                for event in parser.feed(chunk):
                    self._on_event(event)
        except (httpx.HTTPError, OSError, RuntimeError):
            pass
        finally:
            response.close()
        self.stdout_eof = True
        self._fail("the server ended the SSE stream")

    def _on_event(self, event) -> None:
        if self.endpoint_url is None:
            if event.event != "endpoint":
                self._problem = f"the first SSE event is {event.event!r}, not `endpoint`"
                self._endpoint.set()
                return
            announced = urljoin(self.url, event.data.decode("utf-8", errors="replace").strip())
            if not same_origin(announced, self.url):
                self._problem = f"the endpoint event names another origin: {announced}"
            else:
                self.endpoint_url = announced
            self._endpoint.set()
            return
        if event.data.strip():
            note = "SSE message event" if event.event == "message" else f"SSE event of type {event.event!r}"
            self._inbox.put(Inbound(time.monotonic(), event.data, note=note))

    def _fail(self, reason: str) -> None:
        self._problem = self._problem or reason
        self._endpoint.set()
        self._inbox.end(reason)

    # -- bytes out -----------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """POST exactly these bytes (one trailing newline, stdio's framing, is dropped)."""
        self._post(data[:-1] if data.endswith(b"\n") else data)

    def send_message(self, data: bytes) -> None:
        self._post(data)

    def _post(self, body: bytes) -> None:
        if self._client is None or self._closed or self.endpoint_url is None:
            raise TransportClosed("the transport is closed", self.exit_code, self.stderr_tail())
        exchange = self.exchange("POST", body)
        if exchange.status is None:
            self.stdout_eof = True
            raise TransportClosed(f"POST {self.endpoint_url}: {exchange.error}", self.exit_code, self.stderr_tail())
        # Lenient: a message in the POST's answer is passed on (the checks judge where it came).
        for payload in exchange.payloads:
            if exchange.is_sse or looks_like_message(payload, exchange.content_type):
                self._inbox.put(
                    Inbound(time.monotonic(), payload, note=f"in the body of the POST's HTTP {exchange.status} answer")
                )

    # -- bytes in ------------------------------------------------------------------
    # -- raw access for transport checks -----------------------------------------------
    def exchange(
        self,
        method: str = "POST",
        body: bytes | None = None,
        *,
        headers: dict | None = None,
        timeout: float | None = None,
        read_for: float | None = None,
        until: Callable[[Exchange], bool] | None = None,
        url: str | None = None,
    ) -> Exchange:
        """One HTTP request: by default a POST to the announced endpoint, a GET to the stream."""
        if self._client is None:
            raise TransportClosed("the transport is not started")
        base = {"Accept": "text/event-stream"} if method == "GET" else {"Content-Type": "application/json"}
        base.update(self.credentials())
        target = url or (self.url if method == "GET" else self.endpoint_url)
        exchange = perform(
            self._client,
            method,
            target,
            merge_headers(base, headers),
            body,
            timeout=self.timeout if timeout is None else timeout,
            read_for=read_for,
            until=until,
        )
        self.http_log.append(exchange.summary())
        return exchange
