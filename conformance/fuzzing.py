"""The machinery of the fuzz checks (scenarios/fuzz.py): one connection kept while the server
behaves (a fresh one after a failed case), every step recorded, responses audited, and a
failure shrunk by Hypothesis, printed and saved as a replayable transcript.

Budget and seed: `--mcp-fuzz-examples N` cases per check; the seed is `--hypothesis-seed`
when given, else a fixed one (a server gets the same verdict every run; give other seeds to
explore further). It is printed with a failure, written into the transcript and recorded
as the JUnit property mcp_fuzz_seed.
Hypothesis' example database is off (nothing is written to the current directory; a
failure is reproduced by its seed or its transcript instead). Shrinking a failure stops after
SHRINK_SECONDS (an attempt may cost a timeout) with the smallest failing case found so far.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Flaky

from . import jsonrpc, replay
from .checks import CheckFailed, expect
from .jsonrpc import SAFE_INTEGER, Kind, Message
from .session import NoResponse, Session
from .transport import TransportError

TOOL_TIMEOUT = 2.0  # seconds a fuzzed tool call may run before it is cancelled (and noted)
# Seconds Hypothesis may spend shrinking a failure (a failing case can cost a timeout per
# attempt); then the smallest failing case found so far is reported.
SHRINK_SECONDS = 60.0
SETTLE_SECONDS = 1.0  # after a schema violation, for the failed case's other answers to come


DEFAULT_SEED = 20250618  # without --hypothesis-seed: the same cases every run, so the same verdict


def fuzz_seed(config) -> int:
    given_seed = config.getoption("hypothesis_seed", None)
    return int(given_seed) if given_seed not in (None, "") else DEFAULT_SEED


def from_request(request, mcp_connect, revision: str) -> "Fuzzer":
    """The fuzzer of a check, configured by the command line (budget, seed, replay)."""
    config = request.config
    fuzzer = Fuzzer(mcp_connect, request.node.originalname, revision, config.getoption("--mcp-fuzz-examples"),
                    fuzz_seed(config), config.getoption("--mcp-replay"))
    request.node.user_properties.append(("mcp_fuzz_seed", str(fuzzer.seed)))  # in the JUnit XML
    return fuzzer


def _judged_id(value) -> bool:
    """Ids whose echo is judged exactly: strings and integers every JSON parser keeps exactly
    (fractional ones and those beyond SAFE_INTEGER are not)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)
                                      and abs(value) <= SAFE_INTEGER)


def id_key(value) -> str:
    return json.dumps(value)


@dataclass
class Ledger:
    """What the audit knows of one connection, kept with it from check to check."""

    sent: Counter = field(default_factory=Counter)  # id key -> requests sent with it
    answered: Counter = field(default_factory=Counter)
    progress: dict = field(default_factory=dict)  # progress token key -> last progress value
    audited: int = 0  # transcript entries audited so far (0: its own initialize counts as sent)
    asked: dict = field(default_factory=dict)  # id key -> what the request sent with it asked
    slow_tools: set = field(default_factory=set)  # tools that outlived TOOL_TIMEOUT: not called again


def _asked(request: Message) -> str:
    """A request as a failure names it: its method, and the tool or prompt or resource."""
    params = request.params if isinstance(request.params, dict) else {}
    target = params.get("name", params.get("uri"))
    return f"{request.method} {target!r} (id {request.id!r})" if isinstance(target, str) else \
        f"{request.method} (id {request.id!r})"


class ProbeFailed(CheckFailed):
    """The server no longer answers its probe request."""


class SchemaRejected(CheckFailed):
    """The server sent a message its schema rejects (and is otherwise in order: once the
    failed case's other answers are in, shrinking goes on on the same connection)."""


class ShrinkingStopped(BaseException):
    """Shrinking ran out of time: Hypothesis is left (a BaseException passes through it) and
    the smallest failing case so far is reported."""


@dataclass
class Failure:
    """The latest failed case: while shrinking, always the smallest failing one so far."""

    error: BaseException
    steps: list
    first_at: float  # when the first case of the run failed


class Fuzzer:
    """One fuzz check's run: cases on a connection from `connect` (fresh after a failure),
    each step recorded, a failure shrunk, saved and reported."""

    def __init__(self, connect, check: str, revision: str, examples: int, fuzz_seed: int,
                 replay_path: str | None = None):
        self.connect = connect  # () -> a fresh, opened Session
        self.check = check
        self.revision = revision
        self.examples = examples
        self.seed = fuzz_seed
        self.replay_path = replay_path
        self.session: Session | None = None
        self.dirty = False
        self.steps: list[dict] = []
        self.failure: Failure | None = None
        self.ledger = Ledger()
        self.warned: set = set()  # what a check has warned about already

    # -- the connection ---------------------------------------------------------------------
    def live(self) -> Session:
        """The connection, replaced by a fresh one after a failed case (whatever state the
        server was left in: a shrunk case must replay alike) or when it died."""
        session = self.session
        if session is None or self.dirty or session.transport.exit_code is not None \
                or getattr(session.transport, "stdout_eof", False):
            if session is not None:
                session.close()
            self.adopt(self.connect())  # its own requests (initialize) count as sent
        return self.session

    def adopt(self, session: Session) -> None:
        """Continue on a connection an earlier fuzz check left in good order."""
        slow = self.ledger.slow_tools
        self.session, self.dirty = session, False
        self.ledger = session.__dict__.setdefault("_fuzz_ledger", Ledger())
        self.ledger.slow_tools |= slow

    # -- running a property ----------------------------------------------------------------------
    def settings(self, **extra) -> settings:
        return settings(max_examples=self.examples, deadline=None, database=None, print_blob=False,
                        phases=(Phase.generate, Phase.shrink), report_multiple_bugs=False,
                        suppress_health_check=list(HealthCheck), **extra)

    def run(self, strategy, body) -> None:
        """body(session, value) for each value drawn; a failure is shrunk, saved and raised."""
        @seed(self.seed)
        @self.settings()
        @given(strategy)
        def case(value):
            self.begin_generated()
            self.body(body, value)

        self.guard(case)

    def begin(self) -> None:
        self.steps = []

    def begin_generated(self) -> None:
        """A case Hypothesis generated: once shrinking a failure has taken SHRINK_SECONDS,
        no more are run."""
        if self.failure is not None and time.monotonic() - self.failure.first_at > SHRINK_SECONDS:
            raise ShrinkingStopped()
        self.begin()

    def body(self, body, *args) -> None:
        try:
            body(self.live(), *args)
        except TransportError as error:
            self.failed(error)
            raise CheckFailed(error.explain()) from None
        except BaseException as error:
            self.failed(error)
            raise

    def failed(self, error: BaseException) -> None:
        """After a failed case the next one starts on a fresh connection, unless the server is
        in order (only a schema violation) and every answer due to the case has come: answers
        to a failed case must not be judged as the next one's."""
        first_at = self.failure.first_at if self.failure else time.monotonic()
        self.failure = Failure(error, list(self.steps), first_at)
        if not (isinstance(error, SchemaRejected) and self._settle()):
            self.dirty = True

    def _settle(self) -> bool:
        """Wait (briefly) for the answers still due to the failed case and leave them unjudged;
        False when one does not come, or the connection fails meanwhile."""
        session = self.session
        due = [step["send"]["id"] for step in self.steps if step.get("answer")]

        def settled(_=None) -> bool:
            return not any(request_id in session.pending for request_id in due)

        try:
            if not settled():
                session.wait_for(settled, SETTLE_SECONDS)
        except TransportError:
            return False
        self.ledger.audited = len(session.transcript)
        return settled()

    def guard(self, test) -> None:
        self.failure = None
        try:
            test()
        except (CheckFailed, TransportError, Flaky, ShrinkingStopped) as error:
            self.dirty = True  # the next check starts on a fresh connection
            raise self.report(error) from None

    def report(self, error: BaseException) -> CheckFailed:
        heading, prefix = "Minimal failing message sequence", ""
        if isinstance(error, (Flaky, ShrinkingStopped)) and self.failure is not None:
            # The last run did not fail (or never ran): report the latest case that did.
            if isinstance(error, Flaky):
                heading = "The failing message sequence"
                prefix = ("a case failed, but not again when its messages were repeated "
                          "(the server answered differently):\n")
            else:
                heading = f"Smallest failing message sequence found in {SHRINK_SECONDS:g}s of shrinking"
            error, self.steps = self.failure.error, self.failure.steps
        if isinstance(error, Flaky):
            error = (getattr(error, "exceptions", None) or [error])[0]
        reason = prefix + (error.explain() if isinstance(error, TransportError) else str(error))
        path = replay.save(self.check, self.revision, self.seed, self.steps)
        return CheckFailed(f"{reason}\n{heading} (seed {self.seed}, repeat with "
                           f"--hypothesis-seed={self.seed}):\n{replay.describe(self.steps)}\n"
                           f"Saved as {path}; re-run it with --mcp-replay {path}")

    # -- sending (every step recorded) ---------------------------------------------------------
    def send(self, session: Session, message: dict, answer: bool = False) -> None:
        self.send_all(session, [(message, answer)])

    def send_all(self, session: Session, messages: list[tuple[dict, bool]]) -> None:
        """(message, answer required) pairs, in order, written at once."""
        for message, answer in messages:
            self.steps.append(replay.send_step(message, answer))
            if "id" in message and "method" in message:
                session.pending[message["id"]] = message["method"]
        session.send_all([message for message, _ in messages])

    def send_raw(self, session: Session, data: bytes, ids=(), note: str = "fuzz") -> None:
        """Bytes as given; `ids` are the request ids a server can read from them."""
        self.steps.append(replay.raw_step(data, answer=False))
        for request_id in ids:
            self.ledger.sent[id_key(request_id)] += 1
        session.send_raw(data, note=note)

    def request(self, session: Session, message: dict, timeout: float | None = None) -> Message:
        """Send a request and wait for the response with its id."""
        return self.response(session, message, timeout, send=True)

    def response(self, session: Session, message: dict, timeout: float | None = None, send: bool = False) -> Message:
        """Wait for the response to a request sent (others may be outstanding: responses are
        matched by id, in any order). A response carrying an id no request of this connection
        has pending fails at once (no waiting for the timeout)."""
        try:
            if send:
                self.send(session, message, answer=True)
            return self._response(session, message, timeout)
        except NoResponse:
            raise  # the caller judges it (a slow tool is no failure)
        except BaseException as error:
            self.failed(error)
            raise

    def _response(self, session: Session, message: dict, timeout: float | None) -> Message:
        request_id = message["id"]
        deadline = time.monotonic() + (session.timeout if timeout is None else timeout)
        while request_id not in session.responses:
            received = session.wait_for(lambda m: m.is_response, max(0.0, deadline - time.monotonic()))
            if received is None:
                raise NoResponse(f"no response to {message['method']} (id {request_id!r}) within "
                                 f"{session.timeout if timeout is None else timeout:g}s",
                                 session.transport.exit_code, session.transport.stderr_tail())
            self.audit(session)
        response = session.responses[request_id]
        expect(jsonrpc.same_id(request_id, response.id),
               f"request id {request_id!r} was answered with id {response.id!r} (another type or value)")
        return response

    def probe(self, session: Session, after: str) -> None:
        """The server must still answer its probe request with a result."""
        request_id = f"fuzz-probe-{session.next_id()}"
        params = {"_meta": session.request_meta()} if session.modern else None
        try:
            response = self.request(session, jsonrpc.request(request_id, session.probe_method, params))
        except TransportError as error:
            raise ProbeFailed(f"after {after} the server no longer answers {session.probe_method}: "
                              f"{error.explain()}") from None
        if response.kind is not Kind.RESULT:
            raise ProbeFailed(f"after {after}, {session.probe_method} got {response.text()[:300]}")

    # -- the audit ----------------------------------------------------------------------------
    def audit(self, session: Session) -> None:
        """Rules over everything received since the last audit: each response carries the id
        of a request sent on this connection and answers it once (so no notification is
        answered), every message is schema-valid, and progress grows per token."""
        entries = session.transcript[self.ledger.audited:]
        self.ledger.audited += len(entries)
        try:
            self._audit(entries)
        except CheckFailed as error:
            self.failed(error)
            raise

    def _audit(self, entries) -> None:
        for entry in entries:
            message = entry.message
            if entry.direction == "->" and message is not None and message.kind is Kind.REQUEST:
                self.ledger.sent[id_key(message.id)] += 1  # raw bytes, not classified, are counted by send_raw
                self.ledger.asked[id_key(message.id)] = _asked(message)
            if entry.direction != "<-" or message is None:
                continue
            if entry.violations:
                answering = self.ledger.asked.get(id_key(message.id)) if message.is_response else None
                raise SchemaRejected(f"the server sent a message its schema rejects (wire-schema-valid)"
                                     f"{f', answering {answering}' if answering else ''}: {entry.format(600)}")
            if message.is_response and _judged_id(message.id):
                key = id_key(message.id)
                expect(self.ledger.sent[key] > 0, f"a response with id {message.id!r}, which no request sent on this "
                                           f"connection carried (a notification answered, or an id changed): "
                                           f"{message.text()[:300]}")
                self.ledger.answered[key] += 1
                expect(self.ledger.answered[key] <= self.ledger.sent[key], f"request id {message.id!r} was answered twice")
            elif message.method == "notifications/progress" and isinstance(message.params, dict):
                self._progress(message.params)

    def _progress(self, params: dict) -> None:
        token, value = id_key(params.get("progressToken")), params.get("progress")
        if not isinstance(value, (int, float)):
            return
        if token in self.ledger.progress:
            expect(value > self.ledger.progress[token], f"progress for token {params.get('progressToken')!r} went "
                                                 f"from {self.ledger.progress[token]} to {value}")
        self.ledger.progress[token] = value

    # -- replay ---------------------------------------------------------------------------------
    def replay(self) -> None:
        """Re-send a saved transcript's steps in order on a fresh connection: each step the
        check required an answer to must get one with its id, every response is audited,
        and the server must still answer its probe at the end."""
        _, steps = replay.load(self.replay_path)
        self.steps = []
        self.body(self._replay_steps, steps)

    def _replay_steps(self, session: Session, steps: list[dict]) -> None:
        for step in steps:
            if "raw" in step:
                self.send_raw(session, replay.step_bytes(step))
            elif step.get("answer"):
                self.request(session, step["send"])
            else:
                self.send(session, step["send"])
        self.probe(session, f"the {len(steps)} replayed steps")
        session.drain(0.2)
        self.audit(session)
