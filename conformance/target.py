"""The implementation under test, and the connections the checks share or start fresh.

One initialized connection per revision is shared by the checks that only ask and read;
checks that send malformed input or test the handshake get a fresh process. Which legacy
revisions the server supports is learnt by asking for each one in `initialize`: a server
that answers another version does not support the one asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pytest

from . import checks, ledger
from . import schema as schemas
from .auth.setup import AuthOptions, AuthSetup, probe
from .checks import Blocked
from .jsonrpc import Kind
from .session import ConnectionUnusable, Flooded, NoResponse, Session
from .transport import ServerStartError, TransportError
from .transport.launch import make_transport

UNSUPPORTED_PROTOCOL_VERSION = -32022
UNANSWERED_LIMIT = 3  # requests of a revision left unanswered before its other checks are BLOCKED
VALID_TOKEN_CHECK = "test_auth_valid_token_accepted"  # judges whether the run's bearer is accepted
MAY_RUN_LONG = frozenset({"tools/call", "tasks/result", "subscriptions/listen"})  # not counted for that


@dataclass
class Support:
    revision: str
    supported: bool
    reason: str = ""  # why not, in words for the report
    answered: str | None = None  # the protocolVersion the server answered with
    responded: bool = True  # False when the probe got no JSON-RPC answer at all


class AuthorizationRequired(TransportError):
    """The server refuses the suite's requests for want of authorization the run cannot give."""

    def explain(self) -> str:
        return self.reason + (
            f"\n--- last lines of the server's output ---\n{self.stderr_tail}" if self.stderr_tail else ""
        )


class Unusable(Exception):
    """The server could not be brought to answer initialize at all."""

    def __init__(self, error: TransportError, session: Session):
        super().__init__(error.reason)
        self.error = error
        self.session = session  # closed; kept for its transcript


def _judge_modern_support(revision: str, response) -> Support:
    """The stdio era probe: a DiscoverResult or a modern error means a modern server."""
    if response.kind is Kind.RESULT:
        versions = (response.result or {}).get("supportedVersions")
        if not isinstance(versions, list) or revision in versions:
            # A malformed list still marks a modern server; test_discover_result judges it.
            return Support(revision, True, answered=revision)
        return Support(revision, False, f"not supported: server/discover lists {versions}")
    data = response.error.get("data") if isinstance(response.error, dict) else None
    if response.error_code == UNSUPPORTED_PROTOCOL_VERSION:
        supported = data.get("supported") if isinstance(data, dict) else None
        return Support(revision, False, f"not supported: the server supports {supported}")
    return Support(
        revision, False, f"not supported: not a modern-era server (server/discover got error {response.error_code})"
    )


def server_info(result: dict | None) -> dict | None:
    """serverInfo from an initialize result, or from a discover result's _meta."""
    result = result or {}
    return result.get("serverInfo") or (result.get("_meta") or {}).get("io.modelcontextprotocol/serverInfo")


class Target:
    def __init__(
        self,
        command: str,
        *,
        timeout: float = 5.0,
        revisions: list[str] | None = None,
        schema_dir: str | None = None,
        call_tools: str = "readonly",
        transport_kind: str = "stdio",
        url: str | None = None,
        auth: AuthOptions | None = None,
    ):
        self.command = command
        self.transport_kind = transport_kind  # stdio, http (Streamable HTTP) or sse (2024-11-05 HTTP+SSE)
        self.url = url
        self.call_tools = call_tools  # which tools checks may call: none / readonly / all
        self.timeout = timeout
        self.schema_dir = schema_dir
        self.revisions = revisions or schemas.revisions()
        self._shared: dict[str, Session] = {}
        self._support: dict[str, Support] = {}
        self._fresh: list[Session] = []
        self.unusable: Unusable | None = None
        self.server_info: dict | None = None
        self.blocks: dict[str, Blocked] = {}  # revision -> why its connections cannot be used
        self.passed: set[tuple[str, str]] = set()  # (check, revision) pairs that passed
        self.timeouts: dict[str, int] = {}  # revision -> requests that waited out the timeout
        self.ended: dict[str, str] = {}  # revision -> the first check whose connection ended
        self._closing: list[threading.Thread] = []  # connections being closed (close_fresh)
        self._spare = None  # stdio: a server process started ahead for the next connection
        self._spare_lock = threading.Lock()  # connections are also made by work run ahead
        self._ahead: dict[tuple, Future] = {}  # work started ahead of the check that uses it (run_ahead)
        self.auth = AuthSetup(auth or AuthOptions())
        self._authorization: str | None = None  # the Authorization header of every connection
        self._auth_probed = False

    def unanswered(self, revision: str, error: NoResponse) -> None:
        """A request of this revision waited out the timeout. A connection that showed it
        cannot be used (ConnectionUnusable), or UNANSWERED_LIMIT such waits, block the
        revision: from now on its checks end BLOCKED at once (bounded time), naming the
        check that judges the broken rule, which still runs. If that check already passed
        (the server broke down later), the check that met the breakdown stands for it."""
        if not isinstance(error, ConnectionUnusable):
            if getattr(error, "method", "") in MAY_RUN_LONG:
                return  # a slow tool is no broken connection: the probe after it was answered
            self.timeouts[revision] = self.timeouts.get(revision, 0) + 1
            if self.timeouts[revision] < UNANSWERED_LIMIT:
                return
            error = ConnectionUnusable(
                f"{self.timeouts[revision]} requests went unanswered within the timeout, the last: {error.reason}",
                ledger.ANSWERING,
            )
        owner, met_by = error.owner, checks.current().check
        if (owner, revision) in self.passed or isinstance(error, Flooded):
            owner = met_by  # a flood is met, not judged, by a check: the one it hit fails
        self.blocks.setdefault(revision, Blocked(error.reason, owner, met_by, cause=error))

    def connection_ended(self, revision: str, check: str, error: TransportError) -> Blocked | None:
        """A check of this revision met a connection that ended (the server exited or closed
        its output while serving it). The first such check fails; any later one is BLOCKED
        naming it, and so is the rest of the revision: a server that keeps dying is one
        problem, not one failure per check."""
        first = self.ended.setdefault(revision, check)
        if first == check:
            return None
        self.blocks.setdefault(revision, Blocked(f"the server's connection ended again ({error.reason})", first))
        return self.blocks[revision]

    def _session(self, transport, revision: str) -> Session:
        session = Session(transport, self.schema_for, revision, timeout=self.timeout)
        session.on_unanswered = self.unanswered
        self._fresh.append(session)
        return session

    def check_blocked(self, revision: str | None) -> None:
        if not self._auth_probed and self.transport_kind == "http":
            self.authorization()  # a refused token blocks every revision
        blocked = self.blocks.get(revision or "")
        if blocked is not None and checks.current().check != blocked.owner:
            raise Blocked(blocked.reason, blocked.owner)

    def _startup_failed(self) -> None:
        raise Blocked(f"the server could not be used ({self.unusable.error.reason})", ledger.STARTUP)

    def schema_for(self, revision: str) -> schemas.RevisionSchema:
        return schemas.load(revision, self.schema_dir)

    def _transport(self, credentials: bool = True):
        transport = make_transport(
            self.transport_kind,
            command=self.auth.fill(self.command),
            url=self.url,
            timeout=self.timeout,
            env=self.auth.env() or None,
        )
        if credentials and self.transport_kind != "stdio":
            transport.authorization = self.authorization()
        return transport

    def authorization(self) -> str | None:
        """The Authorization header every connection sends (None for an open server). Found
        out once, over Streamable HTTP, by an unauthenticated probe: a server that answers it
        with 401 gets the user's token or one the suite mints for it. Without either, or when
        that token is refused too, the server is unusable, with one clear explanation."""
        if self._auth_probed or self.transport_kind != "http":
            if self.unusable is not None and isinstance(self.unusable.error, AuthorizationRequired):
                self._startup_failed()
            return self._authorization or (self.auth.header() if self.auth.active else None)
        self._auth_probed = True
        session = Session(
            self._transport(credentials=False),
            self.schema_for,
            self.revisions[-1],
            timeout=self.timeout,
            label="authorization probe",
        )
        try:
            session.start()
            protection = probe(session, session.opening_body("conformance-auth-probe"))
            self.auth.learn(protection, session.transport.url)
            self._authorization = self.auth.header() if self.auth.active else None
            if protection.required:
                self._check_accepted(session, protection)
        except TransportError:
            pass  # the connections that follow meet the same problem and report it
        finally:
            session.close()
        if self.unusable is not None:
            self._startup_failed()
        return self._authorization

    def _check_accepted(self, session: Session, protection) -> None:
        """A protected server: the run's bearer must be accepted, or nothing can be tested."""
        if self._authorization is None:
            why = self.auth.can_mint() if self.auth.options.issuer_wanted else None
            self._auth_unusable(
                session,
                f"the server requires authorization ({protection.describe()}), and this "
                "run has no token for it"
                + (f" ({why})" if why else "")
                + ". Put {issuer} in its command (it then trusts the suite's authorization "
                "server, which mints the tokens), or pass --mcp-auth-token TOKEN "
                "(or MCP_CONFORMANCE_AUTH_TOKEN)",
            )
            return
        answer = session.exchange(
            "POST",
            session.opening_body("conformance-auth-probe"),
            session=False,
            headers={"Authorization": self._authorization},
            until=lambda e: bool(e.messages),
        )
        if answer.status in (401, 403):
            # The positive control's check owns this; every revision's checks are BLOCKED by it.
            source = (
                "given with --mcp-auth-token"
                if self.auth.options.user_token
                else f"minted by the suite's authorization server {self.auth.issuer}"
            )
            reason = (
                f"the server refused the valid token {source} with HTTP {answer.status} "
                f"(WWW-Authenticate: {answer.headers.get('www-authenticate')})"
            )
            for revision in self.revisions:
                self.blocks.setdefault(revision, Blocked(reason, VALID_TOKEN_CHECK))
            return
        session_id = answer.headers.get("mcp-session-id")
        if session_id:  # the probe's own session: end it
            session.exchange(
                "DELETE", session=False, headers={"Authorization": self._authorization, "Mcp-Session-Id": session_id}
            )

    def _auth_unusable(self, session: Session, reason: str) -> None:
        self._authorization = None
        self.unusable = Unusable(AuthorizationRequired(reason, None, session.transport.stderr_tail()), session)

    def protection(self):
        """What the unauthenticated probe found (None over stdio and HTTP+SSE), even when it
        made the run unusable: the authorization checks judge it all the same."""
        try:
            self.authorization()
        except Blocked:
            pass
        return self.auth.protection

    def http_session(self, revision: str, authorization: str | None = None) -> Session:
        """A started HTTP session of its own for an authorization check, watched by it: its
        credentials are exactly `authorization` (None: none at all), whatever the run's are,
        and it can be used even when the run's own connections cannot. Closed with the run."""
        transport = self._transport(credentials=False)
        transport.authorization = authorization
        session = self._session(transport, revision)
        checks.current().watch(session)
        return session.start()

    def connect(self, revision: str | None = None) -> Session:
        """A fresh server process with a session around it, not yet initialized."""
        self.check_blocked(revision or self.revisions[-1])
        return self._prepared(revision or self.revisions[-1]).start()

    def _prepared(self, revision: str) -> Session:
        """A session to start. Over stdio its server is the spare process, started (not yet
        spoken to) while the previous check ran, if it is still alive: a server's start-up
        (an interpreter loading its modules) then overlaps other work instead of adding to
        each check. A new spare is started at once."""
        with self._spare_lock:
            return self._prepared_locked(revision)

    def _prepared_locked(self, revision: str) -> Session:
        spare, self._spare = self._spare, None
        if spare is not None and (spare.exit_code is not None or spare.stdout_eof):
            spare.close()
            spare = None
        session = self._session(spare or self._transport(), revision)
        session.started = spare is not None
        if self.transport_kind == "stdio" and self.unusable is None:
            self._spare = self._transport()
            try:
                self._spare.start()
            except TransportError:
                self._spare = None
        return session

    # -- work run ahead -------------------------------------------------------------
    def run_ahead(self, key: tuple, make: Callable[[], Any], acting_for: str) -> None:
        """Start `make` (work on connections of its own, bounded by their timeouts) on a
        thread now, so that its waits overlap the checks that run before `acting_for`, the
        first check to use it: what it meets is met by that check. take() returns it."""
        if key in self._ahead:
            return
        future: Future = Future()

        def run() -> None:
            checks.act_for(acting_for)
            try:
                future.set_result(make())
            except BaseException as error:  # a skip or a block too: re-raised by take()
                future.set_exception(error)

        self._ahead[key] = future
        threading.Thread(target=run, daemon=True, name=f"mcp-ahead-{'-'.join(map(str, key))}").start()

    def take(self, key: tuple, make: Callable[[], Any]) -> Any:
        """The result of the work run ahead under `key` (raising what it raised), once; or
        make() now if none was started."""
        future = self._ahead.pop(key, None)
        return make() if future is None else future.result()

    def support(self, revision: str) -> Support:
        if revision not in self._support:
            self.shared(revision, must_support=False)
        return self._support[revision]

    def shared(self, revision: str, must_support: bool = True) -> Session | None:
        """The shared initialized session for `revision` (restarted if its server died)."""
        self.check_blocked(revision)
        session = self._shared.get(revision)
        if session is not None and session.transport.exit_code is None and not session.transport.stdout_eof:
            return session
        if self.unusable is not None:
            self._startup_failed()
        if revision in self._support and not self._support[revision].supported:
            return self._not_supported(revision, must_support)
        session = self._prepared(revision)
        try:
            session.start()
            response = session.open(revision)
        except TransportError as error:
            session.close()
            if revision >= "2026" and not isinstance(error, ServerStartError):
                # A legacy server may ignore, reject or even die on the modern probe.
                self._support[revision] = Support(
                    revision,
                    False,
                    f"not supported: not a modern-era server ({error.reason} on server/discover)",
                    responded=False,
                )
                return self._not_supported(revision, must_support)
            if not any(s.responded for s in self._support.values()):  # never answered: unusable
                self.unusable = Unusable(error, session)
                self._startup_failed()
            raise
        self._support[revision] = self._judge_support(revision, response)
        if not self._support[revision].supported:
            session.close()
            return self._not_supported(revision, must_support)
        self.server_info = self.server_info or server_info(session.init_result)
        self._shared[revision] = session
        return session

    def _not_supported(self, revision: str, must_support: bool) -> None:
        if must_support:
            pytest.skip(self._support[revision].reason)
        return None

    @staticmethod
    def _judge_support(revision: str, response) -> Support:
        if revision >= "2026":
            return _judge_modern_support(revision, response)
        if response.kind is not Kind.RESULT:
            return Support(
                revision,
                False,
                f"not supported: the server answered initialize for {revision} with error {response.error_code}",
            )
        answered = (response.result or {}).get("protocolVersion")
        if answered == revision:
            return Support(revision, True, answered=answered)
        return Support(
            revision, False, f"not supported: asked for {revision}, the server answered {answered!r}", answered
        )

    def ensure_usable(self) -> None:
        """Skip the calling check when the server cannot be brought to answer at all."""
        for revision in reversed(self.revisions):
            if self.support(revision).supported:
                return

    def legacy_revisions(self) -> list[str]:
        return [r for r in self.revisions if r < "2026"]

    def supported(self) -> list[str]:
        return [r for r in self.revisions if self.support(r).supported]

    def close(self) -> None:
        """Stop every connection, all at once: a server that ignores the end of its input
        takes its grace period, and a run's end waits for one such period, not one each."""
        self.auth.stop()
        closers = [s.close for s in [*self._shared.values(), *self._fresh]]
        if self._spare is not None:
            closers.append(self._spare.close)
            self._spare = None
        self._shared.clear()
        self._fresh.clear()
        for close in closers:
            closing = threading.Thread(target=close, name="mcp-close", daemon=True)
            closing.start()
            self._closing.append(closing)
        for closing in self._closing:
            closing.join()
        self._closing.clear()

    def close_fresh(self, session: Session) -> None:
        """Stop a check's own connection without waiting for its server to exit (a server
        may take its grace period): the next check starts meanwhile; close() waits."""
        if session in self._fresh:
            self._fresh.remove(session)
        closing = threading.Thread(target=session.close, name="mcp-close", daemon=True)
        closing.start()
        self._closing = [c for c in self._closing if c.is_alive()] + [closing]
