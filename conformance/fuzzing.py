"""The machinery of the fuzz checks (scenarios/fuzz.py): one connection kept while the server
behaves (a fresh one after a failed case), every step recorded, responses audited, and a
failure shrunk by Hypothesis, printed and saved as a replayable transcript.

Budget: a check first runs its first pass (every request kind and every callable tool once,
drawn with the seed), then Hypothesis' cases while its Budget lasts: `--mcp-fuzz=quick` (the
default) starts no case once QUICK_SHARE of `--mcp-timeout` has passed since the first pass
began (0.1 s at the default 5 s: none if the first pass took that long); `--mcp-fuzz=deep`
runs DEEP_CASES cases or DEEP_SECONDS; `--mcp-fuzz-examples N` runs exactly N cases, however
long they take. Time ends generation from inside the test function (BudgetSpent), never by
`deadline`.
Once a case fails, time no longer ends generation: the failing case is shrunk (a failure of
the first pass is first found again by generated cases), until the budget's shrinking time
has passed since it failed (an attempt may cost a timeout: by default --mcp-timeout, with
`--mcp-fuzz=deep` or `--mcp-fuzz-examples` SHRINK_SECONDS); then the smallest failing case
found so far is reported. A
schema violation is not shrunk: it names the request it answers, and the case is reported
as it failed.

Seed: `--hypothesis-seed` when given, else a fixed one (a server gets the same verdict every
run; give other seeds to explore further). It is printed with a failure, written into the
transcript and recorded as the JUnit property mcp_fuzz_seed. Hypothesis' example database
is off (nothing is written to the current directory; a failure is reproduced by its seed or
its transcript instead).

A fuzz check judges only what its input caused. A fresh connection must first answer a
baseline probe, validly and with its id; what arrived before that (a banner at startup, the
handshake) is counted but not judged, and so is what arrives before a case sent anything
(late answers to an earlier case) and the answer to a call cancelled for running too long.
A connection that fails its baseline, and a message that breaks a rule about the whole
session (framing, the JSON-RPC envelope) whenever it comes, leave the check BLOCKED naming
the check that owns that rule (conformance/ledger.py).
A failure carries root-cause signatures, so that one defect met by several fuzz checks (or
by other checks too: the server exited) reads as one problem.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Flaky

from . import jsonrpc, ledger, replay
from .checks import Blocked, CheckFailed, Signature
from .jsonrpc import SAFE_INTEGER, Kind, Message
from .session import ConnectionUnusable, NoResponse, Session
from .transport import TransportError

# A generated tools/call still running after this share of --mcp-timeout (0.5 s at the
# default 5 s) is cancelled and not judged, and its tool is not called again on that
# connection: no spec text bounds a tool's running time, and a run must not wait it out.
TOOL_SHARE = 1 / 10
QUICK_SHARE = 1 / 50  # --mcp-fuzz=quick: seconds of generation per check, as a share of --mcp-timeout
QUICK_CASES = 100  # --mcp-fuzz=quick: and at most this many cases
QUICK_ROUNDS = 2  # --mcp-fuzz=quick: messages of each kind drawn for the valid-request pool
POOL_ROUNDS = 8  # otherwise (a case picks by a byte: the first 255 of the pool are reachable)
DEEP_CASES = 500  # --mcp-fuzz=deep: cases per check ...
DEEP_SECONDS = 30.0  # ... or seconds per check, whichever comes first
# Seconds Hypothesis may spend shrinking a failure (a failing case can cost a timeout per
# attempt); then the smallest failing case found so far is reported. The quick default
# shrinks for --mcp-timeout instead: a server that crashes on every case would otherwise
# keep each fuzz check shrinking for a minute, restarting it at every attempt.
SHRINK_SECONDS = 60.0


DEFAULT_SEED = 20250618  # without --hypothesis-seed: the same cases every run, so the same verdict


def fuzz_seed(config) -> int:
    given_seed = config.getoption("hypothesis_seed", None)
    return int(given_seed) if given_seed not in (None, "") else DEFAULT_SEED


@dataclass(frozen=True)
class Budget:
    """What a check generates after its first pass: at most `cases` cases, and none once
    `seconds` (None: no limit) have passed since the first pass began. `rounds`: how many
    messages of each kind the valid-request check draws for the pool its cases pick from.
    `shrink_seconds`: how long a failure is shrunk (None: SHRINK_SECONDS)."""

    cases: int
    seconds: float | None = None
    rounds: int = POOL_ROUNDS
    shrink_seconds: float | None = None

    @property
    def shrinking(self) -> float:
        return SHRINK_SECONDS if self.shrink_seconds is None else self.shrink_seconds


def budget_from(config) -> Budget:
    """--mcp-fuzz-examples N (exactly N cases), else --mcp-fuzz quick or deep."""
    examples = config.getoption("--mcp-fuzz-examples")
    if examples is not None:
        return Budget(examples)
    if config.getoption("--mcp-fuzz") == "deep":
        return Budget(DEEP_CASES, DEEP_SECONDS)
    timeout = config.getoption("--mcp-timeout")
    return Budget(QUICK_CASES, timeout * QUICK_SHARE, QUICK_ROUNDS, shrink_seconds=timeout)


def draws(strategy, fuzz_seed: int, count: int) -> list:
    """Up to `count` values of `strategy`, drawn with the seed (the same values every run)."""
    drawn: list = []

    @seed(fuzz_seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw(value):
        drawn.append(value)

    draw()
    return drawn


def draw_one(strategy, fuzz_seed: int):
    """One value drawn with the seed, the second of two: Hypothesis draws the simplest first."""
    return draws(strategy, fuzz_seed, 2)[-1]


def from_request(request, mcp_connect, revision: str) -> Fuzzer:
    """The fuzzer of a check, configured by the command line (budget, seed, replay)."""
    config = request.config
    fuzzer = Fuzzer(
        mcp_connect,
        request.node.originalname,
        revision,
        budget_from(config),
        fuzz_seed(config),
        config.getoption("--mcp-replay"),
        tool_seconds=config.getoption("--mcp-timeout") * TOOL_SHARE,
    )
    request.node.user_properties.append(("mcp_fuzz_seed", str(fuzzer.seed)))  # in the JUnit XML
    return fuzzer


def judged_id(value) -> bool:
    """Ids whose echo is judged exactly: strings and integers every JSON parser keeps exactly
    (fractional ones and those beyond SAFE_INTEGER are not)."""
    return isinstance(value, str) or (
        isinstance(value, int) and not isinstance(value, bool) and abs(value) <= SAFE_INTEGER
    )


def id_key(value) -> str:
    return json.dumps(value, sort_keys=True)


# Root causes of the fuzz rules (conformance.checks.Signature), shared by the fuzz checks.
UNSENT_ID = Signature("basic-007", "", "$.id", "a response to no request sent")
ANSWERED_TWICE = Signature("basic-007", "", "$.id", "a request answered twice")
UNANSWERED = Signature("basic-003", "", "", "a valid request left unanswered")
STOPPED = Signature("basic-003", "", "", "the server stopped answering after generated input")
PROBE_OWNERS = {"ping": "test_ping", "server/discover": "test_discover_result"}  # a probe answered with an error


def ordinary_id(value) -> bool:
    """An id like those test_response_id_echoed sends (a string, or an integer below 2^31)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**31)


def transport_signature(error: TransportError) -> Signature:
    """The root cause of a connection that failed (the server exited, closed its output,
    flooded), as the plugin names it for any check: one problem however many checks met it."""
    return Signature("transport", type(error).__name__, "", error.reason)


def require(condition, message: str, signature: Signature) -> None:
    """A fuzz rule: fail with its root cause unless `condition` holds."""
    if not condition:
        raise CheckFailed(message, [signature])


@dataclass
class Ledger:
    """What the audit knows of one connection, kept with it from check to check."""

    sent: Counter = field(default_factory=Counter)  # id key -> requests sent with it
    answered: Counter = field(default_factory=Counter)
    audited: int = 0  # transcript entries audited so far (0: its own initialize counts as sent)
    asked: dict = field(default_factory=dict)  # id key -> what the request sent with it asked
    cancelled: set = field(default_factory=set)  # id keys of calls cancelled as slow: a late answer is not judged


def _asked(request: Message) -> str:
    """A request as a failure names it: its method, and the tool or prompt or resource."""
    params = request.params if isinstance(request.params, dict) else {}
    target = params.get("name", params.get("uri"))
    return (
        f"{request.method} {target!r} (id {request.id!r})"
        if isinstance(target, str)
        else f"{request.method} (id {request.id!r})"
    )


class ProbeFailed(CheckFailed):
    """The server no longer answers its probe request."""


class Blocking(BaseException):
    """Carries what keeps a fuzz check from judging its input (a Blocked, or the
    ConnectionUnusable of a failed baseline) out through Hypothesis, which would otherwise
    shrink it as a failing case; Fuzzer.guard and Fuzzer.start raise `error` itself."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


class BudgetSpent(BaseException):
    """The check's generation budget is spent and no case failed: Hypothesis is left (a
    BaseException passes through it) and the check ends."""


class ShrinkingStopped(BaseException):
    """No more cases are run for a failure: Hypothesis is left and the latest failing case
    is reported, as the smallest found once shrinking took the budget's time, or under the
    subclass' `heading`. `why` says why it stopped, if not for time."""

    heading = ""

    def __init__(self, why: str = ""):
        super().__init__(why)
        self.why = why


class Unreproduced(ShrinkingStopped):
    heading = "The failing message sequence (the first pass; no generated case failed again)"


@dataclass
class Failure:
    """The latest failed case: while shrinking, always the smallest failing one so far."""

    error: BaseException
    steps: list
    first_at: float  # when the first case of the run failed


class Fuzzer:
    """One fuzz check's run: cases on a connection from `connect` (fresh after a failure),
    each step recorded, a failure shrunk, saved and reported."""

    def __init__(
        self,
        connect,
        check: str,
        revision: str,
        budget: Budget | int,
        fuzz_seed: int,
        replay_path: str | None = None,
        tool_seconds: float = 0.5,
    ):
        self.connect = connect  # () -> a fresh, opened Session
        self.check = check
        self.revision = revision
        self.budget = budget if isinstance(budget, Budget) else Budget(budget)  # an int: exactly that many cases
        self.began = time.monotonic()  # the budget runs from the first pass on (guard)
        self.generated = 0  # cases Hypothesis has run
        self.tool_seconds = tool_seconds
        self.slow_tools: set = set()  # tools that outlived tool_seconds: not called again (on any connection)
        self.seed = fuzz_seed
        self.replay_path = replay_path
        self.session: Session | None = None
        self.dirty = False
        self.steps: list[dict] = []
        self.sent_at: float | None = None  # when the current case sent its first message (transcript time)
        self.failure: Failure | None = None
        self.ledger = Ledger()
        self.warned: set = set()  # what a check has warned about already
        self.dies_on_garbage: bool | None = None  # a line that is not JSON stops the server (None: not asked yet)

    # -- the connection ---------------------------------------------------------------------
    def live(self) -> Session:
        """The connection, replaced by a fresh one after a failed case (whatever state the
        server was left in: a shrunk case must replay alike) or when it died. A fresh one
        must pass its baseline first (else Blocking)."""
        session = self.session
        if (
            session is None
            or self.dirty
            or session.transport.exit_code is not None
            or getattr(session.transport, "stdout_eof", False)
        ):
            if session is not None:
                session.close()
            self.session = None
            try:
                fresh = self.connect()
            except (Blocked, TransportError) as error:  # blocked revision, or no handshake
                raise Blocking(error) from None
            self.adopt(fresh)
            try:
                self.baseline(fresh)
            except Blocking:
                self.dirty = True  # not kept for the next check either
                raise
        return self.session

    def start(self) -> Session:
        """live() for the check's own code outside guard(): what blocks it is raised as it is."""
        try:
            return self.live()
        except Blocking as blocking:
            raise blocking.error from None

    def adopt(self, session: Session) -> None:
        """Continue on a connection (a fresh one, or one an earlier fuzz check left in good
        order): what it carried so far is counted, not judged (not caused by this check)."""
        self.session, self.dirty = session, False
        self.ledger = session.__dict__.setdefault("_fuzz_ledger", Ledger())
        self._catch_up(session)

    def _catch_up(self, session: Session) -> None:
        """Count the requests sent and the responses received since the last audit, judging none."""
        entries = session.transcript[self.ledger.audited :]
        self.ledger.audited += len(entries)
        for entry in entries:
            self._count(entry)

    def _count(self, entry) -> None:
        """Count a request sent (raw bytes, not classified, are counted by send_raw) or a
        response received, judging nothing."""
        message = entry.message
        if message is None:
            return
        if entry.direction == "->" and message.kind is Kind.REQUEST:
            self.ledger.sent[id_key(message.id)] += 1
            self.ledger.asked[id_key(message.id)] = _asked(message)
        elif entry.direction == "<-" and message.is_response and judged_id(message.id):
            self.ledger.answered[id_key(message.id)] += 1

    def _caused(self, entry) -> bool:
        """Whether a message received may be judged as caused by the current case: it arrived
        after the case sent its first message, and it answers no call cancelled for running long."""
        if self.sent_at is None or entry.t < self.sent_at:
            return False
        return not (entry.message.is_response and id_key(entry.message.id) in self.ledger.cancelled)

    def baseline(self, session: Session) -> None:
        """Before any input of the check, a fresh connection must answer its probe request
        with a valid result carrying its id: else nothing the check sends could be judged,
        and it is BLOCKED naming the check that owns what went wrong (raised as Blocking)."""
        request_id = f"fuzz-baseline-{session.next_id()}"
        mark, unmatched = session.mark(), getattr(session, "unmatched", [])
        seen, refused = len(unmatched), getattr(session.transport, "refused", None)
        answered = lambda: request_id in session.responses  # noqa: E731
        probe_owner = PROBE_OWNERS.get(session.probe_method, ledger.ANSWERING)
        try:
            session.send_request(session.probe_method, id=request_id)
            session.wait_for(
                lambda m: answered() or len(unmatched) > seen,
                session.timeout,
                stop=lambda: bool(refused) and str(request_id) in refused,
            )
        except TransportError as error:
            raise Blocking(error) from None
        if not answered() and refused and str(request_id) in refused:
            raise Blocking(
                Blocked(
                    f"the baseline {session.probe_method} sent before any generated input was "
                    f"refused with HTTP {refused[str(request_id)]}",
                    probe_owner,
                )
            )
        for entry in session.transcript[mark:]:
            broken = session_rule_broken(entry) if entry.direction == "<-" else None
            if broken is not None:
                raise Blocking(
                    Blocked(
                        f"before any generated input, what the server sent with its answer to the "
                        f"baseline {session.probe_method} breaks a rule: {broken[1]}",
                        broken[0],
                    )
                )
        said = f"no response to the baseline {session.probe_method} (id {request_id!r}) sent before any generated input"
        tail = (session.transport.exit_code, session.transport.stderr_tail())
        if not answered() and len(unmatched) > seen:
            ids = ", ".join(repr(e.message.id) for e in unmatched[seen:][-3:])
            self._unusable(
                session,
                ConnectionUnusable(
                    f"{said}; the server sent responses whose ids match no request the suite sent ({ids})",
                    ledger.IDS,
                    *tail,
                ),
            )
        if not answered():
            self._unusable(
                session,
                ConnectionUnusable(
                    f"{said} within {session.timeout:g}s: the server does not answer", ledger.ANSWERING, *tail
                ),
            )
        response = session.responses[request_id]
        if response.kind is not Kind.RESULT:
            raise Blocking(
                Blocked(
                    f"the baseline {session.probe_method} got {response.text()[:200]}, not a "
                    "result: the fuzz checks cannot tell whether the server still answers",
                    probe_owner,
                )
            )
        self._catch_up(session)

    # -- running a property ----------------------------------------------------------------------
    def settings(self, **extra) -> settings:
        return settings(
            max_examples=self.budget.cases,
            deadline=None,
            database=None,
            print_blob=False,
            phases=(Phase.generate, Phase.shrink),
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
            **extra,
        )

    def run(self, strategy, body, first=None) -> None:
        """body(session, first) as the first pass (if given), then body(session, value) for
        each value drawn while the budget lasts; a failure is shrunk, saved and raised."""

        @seed(self.seed)
        @self.settings()
        @given(strategy)
        def case(value):
            self.begin_generated()
            self.body(body, value)

        self.guard(case, None if first is None else lambda: self.body(body, first))

    def begin(self) -> None:
        self.steps, self.sent_at = [], None

    def begin_generated(self, check: bool = True) -> None:
        """A case Hypothesis generated; `check`: none once generation should stop."""
        if check:
            self.stop_if_spent()
        self.generated += 1
        self.begin()

    def stop_if_spent(self) -> None:
        """End generation from inside the test function (not by `deadline`) once the budget
        is spent or shrinking a failure has taken its time. Called where the case has
        drawn all it draws (Hypothesis takes a case that stops drawing earlier than before
        for a flaky strategy)."""
        if (
            self.failure is None
            and self.budget.seconds is not None
            and time.monotonic() - self.began > self.budget.seconds
        ):
            raise BudgetSpent()
        if self.failure is not None and time.monotonic() - self.failure.first_at > self.budget.shrinking:
            raise ShrinkingStopped()

    def body(self, body, *args) -> None:
        session = self.live()  # Blocking passes through unrecorded: no case of this check failed
        try:
            body(session, *args)
        except TransportError as error:
            self.failed(error)
            raise CheckFailed(error.explain(), signatures_of(error)) from None
        except BaseException as error:
            self.failed(error)
            raise

    def failed(self, error: BaseException) -> None:
        """After a failed case the next one starts on a fresh connection (whatever state the
        server was left in, and answers still due to the case are not judged as the next
        one's). What blocks the check is no failed case (nothing is recorded)."""
        if isinstance(error, (ShrinkingStopped, BudgetSpent)):  # no failure of a case: the check ends
            return
        self.dirty = True
        if isinstance(error, Blocking):
            return
        first_at = self.failure.first_at if self.failure else time.monotonic()
        self.failure = Failure(error, list(self.steps), first_at)

    def cancel_slow(self, session: Session, request: dict) -> None:
        """A generated tools/call still running after tool_seconds: cancelled (a client may
        cancel any request), its answer neither awaited nor judged, its tool not called again."""
        self.slow_tools.add(request["params"]["name"])
        self.ledger.cancelled.add(id_key(request["id"]))
        for step in self.steps:
            if step.get("send", {}).get("id") == request["id"]:
                step["answer"] = False  # a replay does not wait for it either
        self.send(
            session,
            jsonrpc.notification(
                "notifications/cancelled", {"requestId": request["id"], "reason": "fuzz: still running"}
            ),
        )

    @staticmethod
    def _unusable(session: Session, error: ConnectionUnusable):
        """The connection cannot be used before any input: the target blocks the revision
        (as for any check that meets it), and this check cannot judge anything."""
        report = getattr(session, "on_unanswered", None)
        if report is not None:
            report(session.revision, error)
        raise Blocking(error)

    def guard(self, test, first=None) -> None:
        """Run `first` (the first pass: its failure is recorded, for `test` to find again and
        shrink), then `test`, and raise what failed as the check's failure."""
        self.failure, self.began = None, time.monotonic()
        try:
            if first is not None:
                self.first_pass(first)
            test()
            if self.failure is not None:
                raise Unreproduced()  # the first pass failed; Hypothesis found no failing case
        except BudgetSpent:
            return
        except Blocking as blocking:
            self.dirty = True
            if self.failure is None or isinstance(self.failure.error, ConnectionUnusable):
                raise blocking.error from None
            # A case failed, then a fresh connection could not be used: report that case.
            raise self.report(ShrinkingStopped(f"a fresh connection could not be used: {blocking.error}")) from None
        except (CheckFailed, TransportError, Flaky, ShrinkingStopped) as error:
            self.dirty = True  # the next check starts on a fresh connection
            unusable = error if isinstance(error, ConnectionUnusable) else getattr(self.failure, "error", None)
            if isinstance(unusable, ConnectionUnusable):
                raise unusable from None  # the connection broke down, not a case: its owner judges that
            raise self.report(error) from None

    def first_pass(self, first) -> None:
        """The deterministic start of a check: a failure is recorded (Fuzzer.failed) and the
        generated cases go on, now to find it again and shrink it (a schema violation, not
        shrunk, and what blocks the check pass through)."""
        self.begin()
        try:
            first()
        except CheckFailed:
            pass

    def report(self, error: BaseException) -> CheckFailed:
        heading, prefix = "Minimal failing message sequence", ""
        if isinstance(error, (Flaky, ShrinkingStopped)) and self.failure is not None:
            # The last run did not fail (or never ran): report the latest case that did.
            if getattr(error, "heading", ""):
                heading = error.heading
            elif isinstance(error, Flaky):
                heading = "The failing message sequence"
                prefix = (
                    "a case failed, but not again when its messages were repeated (the server answered differently):\n"
                )
            elif error.why:
                heading = f"Smallest failing message sequence found before shrinking stopped ({error.why})"
            else:
                heading = f"Smallest failing message sequence found in {self.budget.shrinking:g}s of shrinking"
            error, self.steps = self.failure.error, self.failure.steps
        if isinstance(error, Flaky):
            error = (getattr(error, "exceptions", None) or [error])[0]
        reason = prefix + (error.explain() if isinstance(error, TransportError) else str(error))
        path = replay.save(self.check, self.revision, self.seed, self.steps)
        return CheckFailed(
            f"{reason}\n{heading} (seed {self.seed}, repeat with "
            f"--hypothesis-seed={self.seed}):\n{replay.describe(self.steps)}\n"
            f"Saved as {path}; re-run it with --mcp-replay {path}",
            signatures_of(error),
        )

    # -- sending (every step recorded) ---------------------------------------------------------
    def send(self, session: Session, message: dict, answer: bool = False) -> None:
        self.send_all(session, [(message, answer)])

    def send_all(self, session: Session, messages: list[tuple[dict, bool]]) -> None:
        """(message, answer required) pairs, in order, written at once."""
        for message, answer in messages:
            self.steps.append(replay.send_step(message, answer))
            if "id" in message and "method" in message:
                session.pending[message["id"]] = message["method"]
        self._sending(session)
        session.send_all([message for message, _ in messages])

    def _sending(self, session: Session) -> None:
        """Note when the case's first message goes out: what arrived before is not its doing."""
        if self.sent_at is None:
            self.sent_at = time.monotonic() - session.transport.started_at  # the transcript's clock

    def send_raw(self, session: Session, data: bytes, ids=(), note: str = "fuzz") -> None:
        """Bytes as given; `ids` are the request ids a server can read from them."""
        self.steps.append(replay.raw_step(data, answer=False, ids=ids))
        for request_id in ids:
            self.ledger.sent[id_key(request_id)] += 1
        self._sending(session)
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
                raise NoResponse(
                    f"no response to {message['method']} (id {request_id!r}) within "
                    f"{session.timeout if timeout is None else timeout:g}s",
                    session.transport.exit_code,
                    session.transport.stderr_tail(),
                )
            self.audit(session)
        response = session.responses[request_id]
        if not jsonrpc.same_id(request_id, response.id) and ordinary_id(request_id):
            raise Blocking(Blocked(f"request id {request_id!r} was answered with id {response.id!r}", ledger.IDS))
        require(
            jsonrpc.same_id(request_id, response.id),
            f"request id {request_id!r} was answered with id {response.id!r} (another type or value)",
            UNSENT_ID,
        )
        return response

    def probe(self, session: Session, after: str) -> None:
        """The server must still answer its probe request with a result."""
        request_id = f"fuzz-probe-{session.next_id()}"
        params = {"_meta": session.request_meta()} if session.modern else None
        try:
            response = self.request(session, jsonrpc.request(request_id, session.probe_method, params))
        except TransportError as error:
            timed_out = isinstance(error, NoResponse) and not isinstance(error, ConnectionUnusable)
            signature = STOPPED if timed_out else transport_signature(error)
            raise ProbeFailed(
                f"after {after} the server no longer answers {session.probe_method}: {error.explain()}", [signature]
            ) from None
        if response.kind is not Kind.RESULT:
            raise ProbeFailed(f"after {after}, {session.probe_method} got {response.text()[:300]}", [STOPPED])

    # -- the audit ----------------------------------------------------------------------------
    def audit(self, session: Session) -> None:
        """Rules over everything received since the last audit: each response carries the id
        of a request sent on this connection and answers it once (so no notification is
        answered). A message that breaks a session-wide rule (framing, envelope) blocks the
        check instead; schema validity of message content is the sweep's
        (test_messages_valid), which sees every connection, and progress is judged by the
        progress checks (test_progress_increases)."""
        entries = session.transcript[self.ledger.audited :]
        self.ledger.audited += len(entries)
        try:
            self._audit(entries)
        except (CheckFailed, Blocking) as error:
            self.failed(error)
            raise

    def _audit(self, entries) -> None:
        for entry in entries:
            message = entry.message
            if entry.direction != "<-" or message is None or not self._caused(entry):
                self._count(entry)
                continue
            broken = session_rule_broken(entry)
            if broken is not None:
                raise Blocking(
                    Blocked(
                        f"the server sent a message that breaks a rule about the whole session: "
                        f"{broken[1]}; {entry.format(300)}",
                        broken[0],
                    )
                )
            if message.is_response and judged_id(message.id):
                key = id_key(message.id)
                if not self.ledger.sent[key] and self._spells_unjudged_id(message.id):
                    continue  # an id past 2^53 - 1 echoed as its digits: how it comes back is left open
                if not self.ledger.sent[key] and self._id_rule_owner(message):
                    raise Blocking(
                        Blocked(
                            f"a response with id {message.id!r}, which no request sent on this "
                            f"connection carried: {message.text()[:300]}",
                            self._id_rule_owner(message),
                        )
                    )
                require(
                    self.ledger.sent[key] > 0,
                    f"a response with id {message.id!r}, which no request sent on this "
                    f"connection carried (a notification answered, or an id changed): "
                    f"{message.text()[:300]}",
                    UNSENT_ID,
                )
                self.ledger.answered[key] += 1
                require(
                    self.ledger.answered[key] <= self.ledger.sent[key],
                    f"request id {message.id!r} was answered twice",
                    ANSWERED_TWICE,
                )

    def _spells_unjudged_id(self, value) -> bool:
        """Whether `value` is the decimal text of an integer id sent whose echo is not judged."""
        sent = (json.loads(key) for key, count in self.ledger.sent.items() if count)
        return isinstance(value, str) and any(type(v) is int and not judged_id(v) and str(v) == value for v in sent)

    def _id_rule_owner(self, message) -> str | None:
        """The check that owns the rule a response with an id no request carried breaks, when
        that is not the fuzzer's own finding: an ordinary id echoed with another type
        (test_response_id_echoed), an error answering malformed input with an id
        (test_parse_error). Ids only fuzzing sends (large integers) stay the fuzzer's."""
        sent = {str(json.loads(key)) for key, count in self.ledger.sent.items() if count}
        if str(message.id) in sent and ordinary_id(message.id):
            return ledger.IDS
        if message.kind is Kind.ERROR and ordinary_id(message.id):
            return "test_parse_error"
        return None

    # -- replay ---------------------------------------------------------------------------------
    def replay(self) -> None:
        """Re-send a saved transcript's steps in order on a fresh connection: each step the
        check required an answer to must get one with its id, every response is audited,
        and the server must still answer its probe at the end."""
        _, steps = replay.load(self.replay_path)
        self.begin()
        try:
            self.body(self._replay_steps, steps)
        except Blocking as blocking:
            raise blocking.error from None

    def _replay_steps(self, session: Session, steps: list[dict]) -> None:
        for step in steps:
            if "raw" in step:
                ids = step.get("ids", ())
                self.send_raw(session, replay.step_bytes(step), ids)
                for request_id in ids if step.get("answer") else ():
                    session.pending[request_id] = "(raw bytes)"
                    try:
                        self.response(session, {"id": request_id, "method": "the request sent as raw bytes"})
                    except NoResponse as error:
                        raise CheckFailed(
                            f"no response to a valid request sent as raw bytes: {error.explain()}", [UNANSWERED]
                        ) from None
                self.steps[-1]["answer"] = step.get("answer", False)
            elif step.get("answer"):
                self.request(session, step["send"])
            else:
                self.send(session, step["send"])
        self.probe(session, f"the {len(steps)} replayed steps")
        session.drain(0.2)
        self.audit(session)


def session_rule_broken(entry) -> tuple[str, str] | None:
    """(owner, what) when a received message breaks a rule about the whole session: it is
    not framed as a JSON-RPC message, or its JSON-RPC envelope is broken (by the schema or
    by JSON-RPC's own rules, such as a response carrying both result and error)."""
    message = entry.message
    for violation in entry.violations:
        rule = ledger.rule_of(message, violation)
        if rule != "content":
            return ledger.owner_of(rule, message), f"{violation} ({rule})"
    if message is not None and message.problems:
        rule = "framing" if message.kind in (Kind.NOT_JSON, Kind.INVALID) else "envelope"
        return ledger.owner_of(rule, message), "; ".join(message.problems) + f" ({rule})"
    return None


def signatures_of(error: BaseException) -> list[Signature]:
    """The root causes a fuzz failure reports: those its error names, a connection that
    failed, or none (the plugin then names the check's own requirements)."""
    if isinstance(error, CheckFailed) and error.signatures:
        return list(error.signatures)
    if isinstance(error, ConnectionUnusable):  # flooded, say: no mere timeout
        return [transport_signature(error)]
    if isinstance(error, NoResponse):
        return [UNANSWERED]
    if isinstance(error, TransportError):
        return [transport_signature(error)]
    return []
