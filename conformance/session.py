"""A conversation with one peer: requests matched to responses, a timestamped transcript,
and every inbound message validated against the schema of the negotiated revision.

Responses are matched by id, never by arrival order: a peer may send notifications or
requests of its own first. Inbound `ping` requests are answered; other inbound requests
go to a registered handler or get -32601.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import __version__, jsonrpc, ledger, wire
from .jsonrpc import Kind, Message
from .schema import RevisionSchema, Violation, legacy_revisions
from .transport.base import TransportClosed, TransportError, TransportStalled, TransportTimeout

CLIENT_INFO = {"name": "mcp-conformance", "version": __version__}
LATEST_LEGACY = legacy_revisions()[-1]
META = "io.modelcontextprotocol/"  # prefix of the modern era's per-request _meta keys
POLL = 0.1  # seconds between checks of a wait's stop condition
MRTR_METHODS = frozenset({"tools/call", "prompts/get", "resources/read"})  # may get an InputRequiredResult
MRTR_ROUNDS = 3  # retries of one request with inputResponses before the suite gives up
FLOOD_LIMIT = 10_000  # messages in one wait that are not what was waited for
KEEP_BYTES = 64 * 1024  # of one message, in the transcript
TRANSCRIPT_BUDGET = 16 * 1024 * 1024  # past this, a session keeps only the head of each message


def is_input_required(message: Message) -> bool:
    """A modern result asking the client for input before the request can complete."""
    return (
        message.kind is Kind.RESULT
        and isinstance(message.result, dict)
        and message.result.get("resultType") == "input_required"
    )


def subscription_of(message: Message) -> Any:
    """The subscriptionId a server message carries in `_meta` (None if it carries none)."""
    params = message.params if message.kind is Kind.NOTIFICATION else message.result
    meta = params.get("_meta") if isinstance(params, dict) else None
    return meta.get(META + "subscriptionId") if isinstance(meta, dict) else None


class InputRound(NamedTuple):
    """An InputRequiredResult and the request (without its retry fields) it answered."""

    method: str
    params: dict
    response: Message


class NoResponse(TransportTimeout):
    """A request got no response within the timeout."""


class ConnectionUnusable(NoResponse):
    """A request went unanswered and the connection shows why no later one will be:
    its responses carry ids that match no request, or it stopped answering altogether.
    `owner` is the check that judges that rule; the revision's other checks are BLOCKED."""

    def __init__(self, reason: str, owner: str, exit_code: int | None = None, stderr_tail: str = ""):
        super().__init__(reason, exit_code, stderr_tail)
        self.owner = owner


class Flooded(ConnectionUnusable):
    """The peer sent so much that waiting for the answer was given up: the connection
    cannot be used for anything else either."""

    def __init__(self, reason: str, exit_code: int | None = None, stderr_tail: str = ""):
        super().__init__(reason, ledger.ANSWERING, exit_code, stderr_tail)


BARRIER_WINDOW = 0.2  # seconds of silence taken as proof where the transport does not order messages
BARRIER_GRACE = 0.02  # seconds after a barrier's answer for a message the peer was still writing
DIAGNOSIS_TIMEOUT = 1.0  # seconds a probe after an unanswered request may take (at most the timeout)


SHOWN_HEADERS = (
    "accept",
    "mcp-session-id",
    "mcp-protocol-version",
    "origin",
    "last-event-id",
    "mcp-method",
    "mcp-name",
    "authorization",
)  # the request headers a raw exchange's transcript line shows


def _shown_header(name: str, value: str) -> str:
    """A header as the transcript shows it: a bearer token by its length and head only (a
    report may be published; a token the user gave must not be)."""
    if name.lower() != "authorization" or len(value) <= 24:
        return value
    scheme, _, credentials = value.partition(" ")
    return f"{scheme} {credentials[:8]}... ({len(credentials)} characters)"


@dataclass
class Entry:
    """One line of the transcript: a message sent (->) or received (<-)."""

    t: float
    direction: str  # "->" sent by the suite, "<-" received from the peer
    raw: bytes
    message: Message | None = None
    violations: list[Violation] = field(default_factory=list)
    note: str = ""
    answers: str | None = None  # for a response: the method of the request it answers
    framing: str = ""  # a framing problem the transport noticed (an overlong line, no final newline)

    def as_dict(self, limit: int = 4000) -> dict:
        text = self.raw.decode("utf-8", errors="replace")
        return {
            "t": round(self.t, 4),
            "direction": self.direction,
            "data": text if len(text) <= limit else text[:limit] + f"... ({len(self.raw)} bytes)",
            "notes": [n for n in [self.note, *map(str, self.violations)] if n],
        }

    def format(self, limit: int = 2000) -> str:
        text = self.raw.decode("utf-8", errors="replace").replace("\r", "\\r").replace("\n", "\\n")
        if len(text) > limit:
            text = text[:limit] + f"... ({len(self.raw)} bytes)"
        line = f"{self.t:8.3f}s {self.direction} {text}"
        if self.note:
            line += f"\n{'':10}   ! {self.note}"
        for violation in self.violations:
            line += f"\n{'':10}   ! {violation}"
        return line


class Session:
    def __init__(
        self,
        transport,
        schema_for: Callable[[str], RevisionSchema],
        revision: str,
        timeout: float = 5.0,
        label: str = "",
    ):
        self.transport = transport
        self.schema_for = schema_for
        self.revision = revision  # the revision messages are judged against
        self.timeout = timeout
        self.label = label or transport.describe()
        self.transcript: list[Entry] = []
        self.next_id = jsonrpc.IdSequence()
        self.pending: dict[Any, str] = {}  # request id -> method, awaiting a response
        self.responses: dict[Any, Message] = {}
        self.task_requests: set = set()  # ids of task-augmented requests
        self.handlers: dict[str, Callable[[Any], dict]] = {}
        self.init_result: dict | None = None  # initialize result (legacy) or discover result (modern)
        self.initialize_response: Message | None = None
        self.client_capabilities: dict = {}
        self.input_required: list[InputRound] = []  # every InputRequiredResult the suite got
        self.unmatched: list[Entry] = []  # responses whose id matches no request the suite sent
        self._raw_ids: set[str] = set()  # ids of requests sent as raw bytes (not awaited)
        self.on_unanswered: Callable[[str, NoResponse], None] | None = None  # (revision, why) after a timeout
        self._kept_bytes = 0
        self._diagnosing = False
        self.started = False

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> Session:
        if not self.started:  # a transport may be started ahead (Target's spare server process)
            self.transport.start()
            self.started = True
        return self

    def close(self) -> None:
        self.transport.close()

    def opening_body(self, request_id) -> bytes:
        """The revision's first request as raw bytes: initialize, or a modern server/discover
        with its per-request _meta (for raw HTTP checks and the authorization probe)."""
        if self.modern:
            return jsonrpc.encode(jsonrpc.request(request_id, "server/discover", self.with_meta({})))
        return jsonrpc.encode(
            jsonrpc.request(
                request_id,
                "initialize",
                {"protocolVersion": self.revision, "capabilities": {}, "clientInfo": CLIENT_INFO},
            )
        )

    def exchange(self, method: str = "POST", body: bytes | None = None, **options):
        """One raw HTTP request on this session's transport (HTTP transports only), written to
        the transcript with its headers of interest and what came back (see HttpTransport.exchange)."""
        exchange = self.transport.exchange(method, body, **options)
        shown = "; ".join(
            f"{k}: {_shown_header(k, v)}"
            for k, v in exchange.request_headers.items()
            if k.lower() in SHOWN_HEADERS or k.lower().startswith("mcp-param-")
        )
        t = exchange.started - self.transport.started_at
        self.transcript.append(Entry(t, "->", body or b"", note=f"HTTP {method} ({shown})"))
        answer = f"HTTP answer: {exchange.summary()}"
        challenge = exchange.headers.get("www-authenticate")
        if challenge is not None:
            answer += f"; WWW-Authenticate: {challenge}"
        for payload in exchange.payloads or [exchange.content]:
            self.transcript.append(Entry(t + exchange.seconds, "<-", payload, note=answer))
        return exchange

    @property
    def schema(self) -> RevisionSchema:
        return self.schema_for(self.revision)

    @property
    def modern(self) -> bool:
        """The modern (stateless) era: no handshake, `_meta` on every request."""
        return self.revision >= "2026"

    @property
    def probe_method(self) -> str:
        """A request every server of the era must answer with a result."""
        return "server/discover" if self.modern else "ping"

    def request_meta(self) -> dict:
        return {
            META + "protocolVersion": self.revision,
            META + "clientInfo": CLIENT_INFO,
            META + "clientCapabilities": self.client_capabilities,
        }

    def with_meta(self, params: dict | None) -> dict | None:
        """`params` with the modern era's per-request `_meta` (keys already in its `_meta`
        win); unchanged in the legacy era."""
        if not self.modern:
            return params
        params = dict(params or {})
        params["_meta"] = {**self.request_meta(), **params.get("_meta", {})}
        return params

    def open(self, revision: str | None = None) -> Message:
        """Begin a conversation in `revision`: initialize (legacy) or server/discover (modern)."""
        revision = revision or self.revision
        if revision >= "2026":
            self.revision = revision
            response = self.request("server/discover")
            self.initialize_response = response
            if response.kind is Kind.RESULT and isinstance(response.result, dict):
                self.init_result = response.result
            return response
        return self.initialize(revision)

    def initialize(
        self, revision: str | None = None, capabilities: dict | None = None, send_initialized: bool = True
    ) -> Message:
        """Legacy-era handshake. Afterwards messages are judged by the negotiated revision."""
        requested = revision or self.revision
        # Judge by the requested revision; an unknown one by the newest legacy revision.
        self.revision = requested if self._known(requested) and requested < "2026" else LATEST_LEGACY
        response = self.request(
            "initialize", {"protocolVersion": requested, "capabilities": capabilities or {}, "clientInfo": CLIENT_INFO}
        )
        self.initialize_response = response
        if response.kind is Kind.RESULT and isinstance(response.result, dict):
            self.init_result = response.result
            negotiated = response.result.get("protocolVersion")
            if isinstance(negotiated, str) and self._known(negotiated):
                self.revision = negotiated
            if send_initialized:
                self.notify("notifications/initialized")
        return response

    def _known(self, revision: str) -> bool:
        try:
            self.schema_for(revision)
            return True
        except Exception:
            return False

    # -- sending -------------------------------------------------------------------
    def send_raw(self, data: bytes, note: str = "") -> None:
        """Send bytes exactly as given (malformed-input checks)."""
        for part in data.splitlines():
            obj = jsonrpc.decode(part).obj
            for item in obj if isinstance(obj, list) else [obj]:
                if isinstance(item, dict) and "id" in item:
                    self._raw_ids.add(str(item["id"]))
        self.transcript.append(Entry(self._now(), "->", data, note=note))
        self.transport.send(data)

    def send(self, obj: Any) -> None:
        self.send_all([obj])

    def send_all(self, objects: list[Any]) -> None:
        """Send messages in this order, in one write where the transport can (stdio)."""
        framed = []
        for obj in objects:
            data = jsonrpc.encode(obj)
            self.transcript.append(Entry(self._now(), "->", data, jsonrpc.classify(obj, data)))
            framed.append(data)
        try:
            send_messages = getattr(self.transport, "send_messages", None)
            if send_messages is not None:
                send_messages(framed)
            else:
                for data in framed:
                    self.transport.send_message(data)
        except TransportStalled as error:  # a connection that takes no input can be used for nothing
            unusable = ConnectionUnusable(error.reason, ledger.ANSWERING, error.exit_code, error.stderr_tail)
            if self.on_unanswered is not None:
                self.on_unanswered(self.revision, unusable)
            raise unusable from None

    def notify(self, method: str, params: dict | None = None) -> None:
        self.send(jsonrpc.notification(method, params))

    def request(
        self,
        method: str,
        params: dict | None = None,
        *,
        id: Any = None,
        timeout: float | None = None,
        add_meta: bool = True,
        answer_input: bool = True,
    ) -> Message:
        """Send a request and return its response (a result or an error message).
        In the modern era the per-request `_meta` is added unless `add_meta` is False, and an
        InputRequiredResult is answered (unless `answer_input` is False) by retrying with a
        new id, the `inputResponses` the handlers give and the echoed `requestState`."""
        response = self.await_response(self.send_request(method, params, id=id, add_meta=add_meta), timeout)
        return self.answer_input(method, params, response, timeout, add_meta, answer_input)

    def answer_input(
        self,
        method: str,
        params: dict | None,
        response: Message,
        timeout: float | None = None,
        add_meta: bool = True,
        answer_input: bool = True,
    ) -> Message:
        """The final response to a request whose first response is `response`: an
        InputRequiredResult (modern era) is answered as request() describes."""
        base = {k: v for k, v in (params or {}).items() if k not in ("inputResponses", "requestState")}
        for rounds in range(MRTR_ROUNDS + 1):
            if not (self.modern and answer_input and is_input_required(response)):
                break
            self.input_required.append(InputRound(method, base, response))
            retry = self.input_responses(response.result) if rounds < MRTR_ROUNDS else None
            if retry is None:
                break
            response = self.await_response(self.send_request(method, {**base, **retry}, add_meta=add_meta), timeout)
        return response

    def send_request(self, method: str, params: dict | None = None, *, id: Any = None, add_meta: bool = True) -> Any:
        """Send a request without waiting for its response; return its id."""
        request_id = self.next_id() if id is None else id
        if add_meta:
            params = self.with_meta(params)
        self.pending[request_id] = method
        if isinstance(params, dict) and "task" in params:
            self.task_requests.add(request_id)  # answered with a CreateTaskResult
        self.send(jsonrpc.request(request_id, method, params))
        return request_id

    def input_responses(self, result: dict) -> dict | None:
        """The retry fields answering an InputRequiredResult: each input request answered
        by the handler of its method; None when one has no handler (the client cannot)."""
        asked = result.get("inputRequests") or {}
        if not isinstance(asked, dict):
            return None
        answers = {}
        for key, request in asked.items():
            handler = self.handlers.get(request.get("method")) if isinstance(request, dict) else None
            if handler is None:
                return None
            params = request.get("params")
            answers[key] = handler(params if isinstance(params, dict) else {})
        retry: dict[str, Any] = {"inputResponses": answers} if answers else {}
        if "requestState" in result:
            retry["requestState"] = result["requestState"]  # echoed unchanged, never read
        return retry

    def listen(self, notifications: dict) -> Any:
        """Open a subscriptions/listen stream with this filter; return its id, which is the
        subscription id. Its response comes only when the server ends the stream."""
        return self.send_request("subscriptions/listen", {"notifications": notifications})

    def cancel(self, request_id: Any, reason: str = "") -> None:
        """Cancel a request (on stdio: notifications/cancelled naming it)."""
        self.notify("notifications/cancelled", {"requestId": request_id, **({"reason": reason} if reason else {})})

    def await_response(self, request_id: Any, timeout: float | None = None) -> Message:
        if request_id in self.responses:  # it came while the suite awaited another
            return self.responses[request_id]
        limit = self.timeout if timeout is None else timeout
        refused = getattr(self.transport, "refused", None)  # HTTP: requests refused with no JSON-RPC answer
        stop = (lambda: str(request_id) in refused) if refused is not None else None
        found = self.wait_for(lambda m: request_id in self.responses, limit, stop=stop)
        if found is None and refused and str(request_id) in refused:
            if getattr(self.transport, "stdout_eof", False):
                self.wait_for(lambda m: False, 0.5)  # the connection ended: say that (TransportClosed)
            raise NoResponse(
                f"request id {request_id!r} ({self.pending.get(request_id, '?')}) was refused with "
                f"HTTP {refused[str(request_id)]} and no JSON-RPC response",
                None,
                "",
            )
        if found is None:
            error = self._unanswered(request_id, limit)
            error.method = self.pending.get(request_id, "?")
            error.evidence = (self, self._sent_at(request_id))
            if self.on_unanswered is not None and limit >= self.timeout:
                self.on_unanswered(self.revision, error)
            raise error
        return self.responses[request_id]

    def _sent_at(self, request_id: Any) -> int:
        """The transcript index of the request with this id (where the proof that it went
        unanswered starts)."""
        for index in range(len(self.transcript) - 1, -1, -1):
            entry = self.transcript[index]
            if (
                entry.direction == "->"
                and entry.message is not None
                and entry.message.kind is Kind.REQUEST
                and jsonrpc.same_id(entry.message.id, request_id)
            ):
                return index
        return 0

    def _unanswered(self, request_id: Any, limit: float) -> NoResponse:
        """Why a request got no response: a connection whose responses match no request, or
        that answers not even a probe, is unusable (ConnectionUnusable); else plain NoResponse."""
        method = self.pending.get(request_id, "?")
        said = f"no response to request id {request_id!r} ({method}) within {limit:g}s"
        tail = (self.transport.exit_code, self.transport.stderr_tail())
        if self.unmatched:
            ids = ", ".join(repr(e.message.id) for e in self.unmatched[-3:])
            return ConnectionUnusable(
                f"{said}; the server sent responses whose ids match no request the suite "
                f"sent ({ids}): its responses cannot be matched to requests",
                ledger.IDS,
                *tail,
            )
        if self._diagnosing or limit < self.timeout:  # a deliberately short wait proves nothing
            return NoResponse(said, *tail)
        if method == self.probe_method:
            return ConnectionUnusable(f"{said}: the server stopped answering", ledger.ANSWERING, *tail)
        self._diagnosing = True
        try:
            self.request(self.probe_method, timeout=min(DIAGNOSIS_TIMEOUT, self.timeout))
        except NoResponse:
            return ConnectionUnusable(
                f"{said}, nor to a {self.probe_method} sent after it: the server stopped answering",
                ledger.ANSWERING,
                *tail,
            )
        except TransportError:
            pass  # the connection ended: the caller's next read says so
        finally:
            self._diagnosing = False
        return NoResponse(said, *tail)

    # -- receiving -----------------------------------------------------------------
    def wait_for(
        self, predicate: Callable[[Message], bool], timeout: float, stop: Callable[[], bool] | None = None
    ) -> Message | None:
        """Receive until a message satisfies `predicate`; None when the time runs out or
        `stop()` says nothing more is coming (checked every POLL seconds)."""
        deadline = time.monotonic() + timeout
        unwanted = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (stop is not None and stop()):
                return None
            try:
                message = self.receive_one(min(remaining, POLL) if stop is not None else remaining)
            except TransportTimeout:
                continue
            if predicate(message):
                return message
            unwanted += 1
            if unwanted >= FLOOD_LIMIT:
                flooded = Flooded(
                    f"the peer sent {FLOOD_LIMIT} messages without the one awaited",
                    self.transport.exit_code,
                    self.transport.stderr_tail(),
                )
                if self.on_unanswered is not None:
                    self.on_unanswered(self.revision, flooded)
                raise flooded

    def barrier(self, window: float = BARRIER_WINDOW, grace: float = BARRIER_GRACE) -> list[Message]:
        """Everything that arrives before the peer has certainly read what was sent so far,
        for checks that expect silence. On a transport that keeps the peer's messages in
        order (stdio, HTTP+SSE) that is a probe request (ping, or server/discover in the
        modern era) and its answer, plus `grace` for a message the peer was still writing;
        on Streamable HTTP, where each request has a stream of its own, until no answer
        stream is open (then nothing more can come), at most `window`.
        A probe left unanswered ends the wait at the timeout (NoResponse, judged by the
        caller's owner of answering)."""
        if not getattr(self.transport, "ordered", False):
            quiet = getattr(self.transport, "quiet", None)  # HTTP: no answer stream open or awaited
            if quiet is None:
                return self.drain(window)
            received: list[Message] = []
            try:
                self.wait_for(lambda m: received.append(m) and False, window, stop=quiet)
            except TransportClosed:
                pass
            return received + self.drain(grace)  # what was already queued
        start = self.mark()
        probe = self.next_id()
        self.request(self.probe_method, id=probe)
        self.drain(grace)
        return [m for m in self.received(start) if m is not self.responses.get(probe)]

    def drain(self, seconds: float) -> list[Message]:
        """Everything that arrives within `seconds` (for checks that expect silence)."""
        received: list[Message] = []
        try:
            self.wait_for(lambda m: received.append(m) and False, seconds)
        except TransportClosed:
            pass  # silence until the end, then the end itself
        return received

    def receive_one(self, timeout: float) -> Message:
        inbound = self.transport.receive(timeout)
        message = jsonrpc.decode(inbound.raw)
        keep = KEEP_BYTES if self._kept_bytes < TRANSCRIPT_BUDGET else 200
        kept = inbound.raw if len(inbound.raw) <= keep else inbound.raw[:keep]
        self._kept_bytes += len(kept)
        message.raw = kept
        entry = Entry(
            inbound.t - self.transport.started_at, "<-", kept, message, note=inbound.note, framing=inbound.note
        )
        self.transcript.append(entry)
        answers, request_id = self._settle(message, entry)
        # A task-augmented request gets a CreateTaskResult only if the peer ran it as a task.
        as_task = request_id in self.task_requests and isinstance(message.result, dict) and "task" in message.result
        extra: list[Violation] = []
        if self.modern and answers in MRTR_METHODS and is_input_required(message):
            # Judged as an InputRequiredResult, which these methods may answer with, not as their result.
            answers, extra = None, self.schema.validate(message.result, "InputRequiredResult", "$.result")
        entry.answers = answers
        entry.violations = wire.validate(self.schema, message, answers, as_task) + extra
        if entry.violations:
            ledger.LEDGER.record(self.revision, entry, entry.violations, self.label)
        if message.kind is Kind.REQUEST:
            self._answer(message)
        return message

    def _settle(self, message: Message, entry: Entry) -> tuple[str | None, Any]:
        """Match a response to its pending request; return the method it answers and the
        id the suite sent (None, None for anything else)."""
        if message.kind is Kind.BATCH:
            for item in message.obj:
                self._settle(jsonrpc.classify(item), entry)
            return None, None
        if not message.is_response or not message.has_id:
            return None, None
        if message.id is None:
            if message.kind is Kind.RESULT:  # only an error may say "no readable id"
                self.unmatched.append(entry)
            return None, None
        for sent_id, method in list(self.pending.items()):
            if jsonrpc.same_id(sent_id, message.id) or str(sent_id) == str(message.id):
                if not jsonrpc.same_id(sent_id, message.id):
                    entry.note = f"id {message.id!r} does not match the request id {sent_id!r} in type"
                del self.pending[sent_id]
                self.responses[sent_id] = message
                return method, sent_id
        entry.note = "; ".join(filter(None, [entry.note, "a response to no request the suite has pending"]))
        if str(message.id) not in self._raw_ids:
            self.unmatched.append(entry)
        return None, None

    def _answer(self, message: Message) -> None:
        if not message.has_id or message.id is None:
            return
        method = message.method
        if method == "ping":
            self.send(jsonrpc.result(message.id, {}))
        elif method in self.handlers:
            self.send(jsonrpc.result(message.id, self.handlers[method](message.params)))
        else:
            self.send(
                jsonrpc.error(message.id, jsonrpc.METHOD_NOT_FOUND, f"the conformance client does not offer {method}")
            )

    # -- the record ----------------------------------------------------------------
    def _now(self) -> float:
        return time.monotonic() - self.transport.started_at

    def mark(self) -> int:
        return len(self.transcript)

    def received_after(self, index: int, trigger: int) -> bool:
        """Whether entry `index` is a message received after entry `trigger` (one the suite
        sent, or one it received). A message the transport had received before the suite
        sent `trigger` is not, even if the session read it later. Entries of one instant
        (read off one stream in one piece) keep their order in the transcript."""
        entries = self.transcript
        return entries[index].direction == "<-" and (entries[index].t, index) > (entries[trigger].t, trigger)

    def arrived_after(self, mark: int, messages) -> list[Message]:
        """Those of `messages` received after the suite sent entry `mark` (received_after):
        one the transport already had (an answer to something earlier, read only now) is no
        reaction to what was sent at `mark`."""
        after = {
            id(self.transcript[i].message) for i in range(mark, len(self.transcript)) if self.received_after(i, mark)
        }
        return [m for m in messages if id(m) in after]

    def received(self, since: int = 0) -> list[Message]:
        return [e.message for e in self.transcript[since:] if e.direction == "<-" and e.message]

    def violations(self, since: int = 0) -> list[tuple[Entry, Violation]]:
        return [(e, v) for e in self.transcript[since:] for v in e.violations]

    def format_transcript(self, since: int = 0, limit: int = 200) -> str:
        entries = self.transcript[since:]
        lines = [f"[{self.label}] revision {self.revision}"]
        if len(entries) > limit:
            lines.append(f"  ... {len(entries) - limit} earlier messages omitted")
            entries = entries[-limit:]
        lines += [e.format() for e in entries]
        return "\n".join(lines)
