"""Property-based checks over a live server: generated valid requests, classes of malformed
input, and a stateful machine interleaving list, call, read, get and cancel on one session.

Grading: a crash or a hang on valid input breaks a MUST (every request gets a response);
a wrong answer to, or a crash after, malformed input is robustness, a SHOULD. A failure is
shrunk by Hypothesis to a minimal message sequence, printed with the seed and saved as a
JSON-lines transcript that `--mcp-replay FILE` re-runs. `--mcp-fuzz-examples N` sets the
budget; `--hypothesis-seed` fixes the seed (generation is then derandomized).

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic
"""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, seed as hypothesis_seed, settings
from hypothesis import given, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from conformance import generate, jsonrpc, replay, strategies
from conformance.checks import CheckFailed, current, expect, fail, info, not_applicable, requirement, should
from conformance.discovery import declares
from conformance.jsonrpc import Kind
from conformance.session import NoResponse
from conformance.transport import TransportError
from conformance.transport.base import TransportClosed

NOT_FUZZED = ("initialize", "subscriptions/listen")  # a second handshake; a long-lived stream
UNKNOWN_TOOL = "mcp_conformance_fuzz_no_such_tool"
MAX_STEPS = 4
HUGE = "x" * (1024 * 1024)


# -- budget, seed, replay -------------------------------------------------------------------
def _options(config) -> tuple[int, int, str | None]:
    examples = max(1, int(config.getoption("--mcp-fuzz-examples", 6) or 6))
    given_seed = config.getoption("hypothesis_seed", None) if _has_option(config, "hypothesis_seed") else None
    seed = int(given_seed) if given_seed not in (None, "") else random.randrange(2 ** 32)
    return examples, seed, config.getoption("--mcp-replay", None)


def _has_option(config, name: str) -> bool:
    try:
        config.getoption(name)
        return True
    except ValueError:
        return False


def _settings(examples: int, derandomize: bool):
    return settings(max_examples=examples, deadline=None, database=None, print_blob=False,
                    report_multiple_bugs=False, derandomize=False,
                    suppress_health_check=list(HealthCheck))


class Runner:
    """Runs one fuzz property: fresh server when the last one failed or died, records the
    steps of each example, and on failure saves the minimal one."""

    def __init__(self, request, mcp_connect, check: str, revision: str):
        self.examples, self.seed, self.replay_path = _options(request.config)
        self.seeded = _has_option(request.config, "hypothesis_seed") and \
            request.config.getoption("hypothesis_seed") not in (None, "")
        self.connect, self.check, self.revision = mcp_connect, check, revision
        self.session = None
        self.dirty = False
        self.steps: list[dict] = []
        info(f"fuzz seed {self.seed} (re-run with --hypothesis-seed={self.seed}), {self.examples} examples")

    def fresh(self):
        s = self.session
        if s is None or self.dirty or s.transport.exit_code is not None or getattr(s.transport, "stdout_eof", False):
            if s is not None:
                s.close()
            self.session = self.connect()
            self.dirty = False
        return self.session

    def run(self, body, strategy=None):
        if self.replay_path:
            return self._replay(body)
        strategy = strategy if strategy is not None else st.data()

        @hypothesis_seed(self.seed)
        @_settings(self.examples, True)
        @given(strategy)
        def case(value):
            session = self.fresh()
            self.steps = []
            try:
                body(session, value, self.steps)
            except TransportError as error:
                self.dirty = True
                raise CheckFailed(error.explain()) from None
            except BaseException:
                self.dirty = True
                raise

        try:
            case()
        except CheckFailed as error:
            path = replay.save(self.check, self.revision, self.seed, self.steps)
            raise CheckFailed(f"{error}\nMinimal message sequence (seed {self.seed}):\n{replay.describe(self.steps)}\n"
                              f"Saved as {path}; re-run with --mcp-replay {path}") from None

    def _replay(self, body):
        header, steps = replay.load(self.replay_path)
        if header.get("check") != self.check or header.get("revision") != self.revision:
            not_applicable(f"replaying {self.replay_path} ({header.get('check')}, {header.get('revision')})")
        session = self.fresh()
        body(session, Replayed(steps), [])


class Replayed:
    """Stands in for Hypothesis' data object when a saved transcript is replayed."""

    def __init__(self, steps: list[dict]):
        self.steps = list(steps)

    def draw(self, strategy, label=None):
        raise LookupError("replayed")


def _send(session, step: dict, steps: list[dict]) -> None:
    steps.append(step)
    if "raw" in step:
        session.send_raw(replay.raw_bytes(step), note="fuzz")
    else:
        session.send(step["send"])


# -- valid requests ---------------------------------------------------------------------------
def _callable_names(session, policy: str) -> list[str]:
    from conformance.scenarios.tools import may_call
    if declares(session, "tools") is None or policy == "none":
        return []
    response = session.request("tools/list")
    tools = (response.result or {}).get("tools") if response.kind is Kind.RESULT else None
    return [t["name"] for t in tools or [] if isinstance(t, dict) and isinstance(t.get("name"), str)
            and may_call(t, policy)]


def _valid_message(session, data, names: list[str]) -> dict:
    schema = session.schema
    methods = [m for m in strategies.client_requests(schema) if m not in NOT_FUZZED]
    meta = session.request_meta() if session.modern else None
    message = data.draw(strategies.client_messages(schema, methods, meta=meta))
    if message.get("method") == "tools/call":  # only tools the policy allows; else an unknown name
        name = data.draw(st.sampled_from([*names, UNKNOWN_TOOL]))
        message = {**message, "params": {**message["params"], "name": name}}
    return message


def _exchange(session, message: dict, steps: list[dict]) -> None:
    """Send one valid message; a request must get a response, and the server must still answer."""
    mark = session.mark()
    if "id" in message:
        request_id = session.next_id()
        message = {**message, "id": request_id}
        session.pending[request_id] = message["method"]
        _send(session, {"send": message}, steps)
        try:
            response = session.await_response(request_id)
        except NoResponse as error:
            if session.transport.exit_code is None and message["method"] == "tools/call":
                session.notify("notifications/cancelled", {"requestId": request_id, "reason": "fuzz timeout"})
                should(False, f"tools/call got no response within {session.timeout:g}s (cancelled)")
                return
            raise CheckFailed(f"valid request {message['method']} crashed or hung the server: {error.explain()}")
        expect(response.kind in (Kind.RESULT, Kind.ERROR),
               f"valid request {message['method']} got neither a result nor an error: {response.text()[:300]}")
    else:
        _send(session, {"send": message}, steps)
    try:
        probe = session.request(session.probe_method)
    except TransportError as error:
        raise CheckFailed(f"after valid {message['method']} the server no longer answers "
                          f"{session.probe_method}: {error.explain()}")
    expect(probe.kind is Kind.RESULT, f"after valid {message['method']} {session.probe_method} failed: {probe.text()[:300]}")
    bad = session.violations(mark)
    expect(not bad, f"after valid {message['method']}: " + "; ".join(str(v) for _, v in bad[:3]))


@requirement("basic-001", "basic-003", "basic-007", "basic-010")
def test_fuzz_valid_requests(request, mcp_connect, mcp_target, revision):
    """Every generated schema-valid client request gets a schema-valid result or a proper
    JSON-RPC error, no notification crashes the server, and it still answers its probe."""
    runner = Runner(request, mcp_connect, "test_fuzz_valid_requests", revision)
    names = _callable_names(runner.fresh(), mcp_target.call_tools)

    def body(session, data, steps):
        if isinstance(data, Replayed):
            for step in data.steps:
                _exchange(session, step["send"], steps)
            return
        for _ in range(data.draw(st.integers(1, MAX_STEPS))):
            _exchange(session, _valid_message(session, data, names), steps)

    runner.run(body)


# -- malformed input ----------------------------------------------------------------------------
def _ping(session, request_id, **extra) -> dict:
    params = {"_meta": session.request_meta()} if session.modern else None
    message = jsonrpc.request(request_id, session.probe_method, params)
    message.update(extra)
    return message


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def malformed_cases(session) -> list[tuple[str, str, bytes | list[bytes], object]]:
    """(class, what, bytes to send (a list: separate writes), id to expect an answer for or
    None). The expectation per class is in `_judge`."""
    enc = lambda obj: jsonrpc.encode(obj)  # noqa: E731
    ping = enc(_ping(session, "fz-split"))
    meta = session.request_meta() if session.modern else None
    with_meta = lambda params: {**params, "_meta": meta} if meta else params  # noqa: E731
    cases = [
        ("valid", "a request split over two writes", [ping[:9], ping[9:] + b"\n"], "fz-split"),
        ("valid", "an empty-string id", enc(_ping(session, "")) + b"\n", ""),
        ("framing", "CRLF line ending", enc(_ping(session, "fz-crlf")) + b"\r\n", "fz-crlf"),
        ("framing", "a very long line (1 MiB)", enc({**_ping(session, "fz-long"), "params": with_meta({"pad": HUGE})}) + b"\n", "fz-long"),
        ("framing", "invalid UTF-8", b'{"jsonrpc":"2.0","id":"fz-utf8","method":"\xff\xfe"}\n', None),
        ("json", "truncated JSON", enc(_ping(session, "fz-trunc"))[:-7] + b"\n", None),
        ("json", "NaN in params", b'{"jsonrpc":"2.0","id":"fz-nan","method":"%s","params":{"x":NaN}}\n'
         % session.probe_method.encode(), "fz-nan"),
        ("json", "duplicate keys", enc(_ping(session, "fz-dup"))[:-1] + b',"id":"fz-dup"}\n', "fz-dup"),
        ("json", "deep nesting (100 levels)", b'{"jsonrpc":"2.0","id":"fz-deep","method":"%s","params":{"x":%s}}\n'
         % (session.probe_method.encode(), _nested(100)), "fz-deep"),
        ("json", "deep nesting (100000 levels)", _nested(100_000) + b"\n", None),
        ("envelope", "no jsonrpc member", enc({k: v for k, v in _ping(session, "fz-nover").items() if k != "jsonrpc"}) + b"\n", "fz-nover"),
        ("envelope", "an extra envelope member", enc(_ping(session, "fz-extra", extra=1)) + b"\n", "fz-extra"),
        ("envelope", "a numeric method", enc({"jsonrpc": "2.0", "id": "fz-meth", "method": 42}) + b"\n", "fz-meth"),
        ("envelope", "params that are a list", enc({**_ping(session, "fz-plist"), "params": [1]}) + b"\n", "fz-plist"),
        ("id", "a null id", enc(_ping(session, None)) + b"\n", None),
        ("id", "a float id", enc(_ping(session, 1.5)) + b"\n", None),
        ("id", "a huge integer id", enc(_ping(session, 2 ** 70)) + b"\n", None),
        ("id", "a boolean id", enc(_ping(session, True)) + b"\n", None),
        ("params", "a cursor of the wrong type", enc(jsonrpc.request("fz-cursor", "tools/list", with_meta({"cursor": 5}))) + b"\n", "fz-cursor"),
        ("params", "resources/read without uri", enc(jsonrpc.request("fz-nouri", "resources/read", with_meta({}))) + b"\n", "fz-nouri"),
        ("params", "a 1 MiB tool name", enc(jsonrpc.request("fz-hugename", "tools/call", with_meta({"name": HUGE}))) + b"\n", "fz-hugename"),
        ("params", "an unknown params member", enc({**_ping(session, "fz-unknown"), "params": with_meta({"conformanceUnknown": 1})}) + b"\n", "fz-unknown"),
    ]
    return cases


def _judge(kind: str, what: str, answers: list, expected_id) -> None:
    """Expectations per class. Valid input ('valid', and the framing/params cases that stay
    valid JSON-RPC) must be answered; everything else only SHOULD be answered sensibly."""
    if kind == "valid":
        expect(answers, f"no response to valid input ({what})")
        expect(answers[0].kind is Kind.RESULT, f"valid input ({what}) got {answers[0].text()[:200]}")
        return
    results = [a for a in answers if a.kind is Kind.RESULT]
    if kind in ("json", "envelope", "id") and what not in ("duplicate keys", "an extra envelope member",
                                                           "a huge integer id", "deep nesting (100 levels)"):
        should(not results, f"{what}: answered with a result, an error was due: {results[0].text()[:200]}"
               if results else "")
    if kind == "params" and what != "an unknown params member":
        should(not results or results[0].result.get("isError") is True,
               f"{what}: invalid params answered with a result" if results else "")
    if what in ("duplicate keys", "an extra envelope member", "a huge integer id", "NaN in params"):
        info(f"{what}: answered {answers[0].text()[:120] if answers else 'nothing'}")


def _answers(session, mark: int, expected_id, probe) -> list:
    return [m for m in session.received(mark) if m.is_response and m is not probe
            and (expected_id is None or jsonrpc.same_id(expected_id, m.id))]


@requirement("basic-003", "basic-004", "basic-005", "basic-006", "transports-003")
def test_fuzz_malformed_input(request, mcp_connect, revision):
    """Malformed input of every class (framing, JSON, envelope, ids, MCP params) gets a
    sensible answer (an error, never a result, where an error is due) and the server keeps
    answering. Valid edge cases (a request split over writes, an empty-string id) must be
    answered. Robustness is a SHOULD; a crash on valid input breaks a MUST."""
    runner = Runner(request, mcp_connect, "test_fuzz_malformed_input", revision)
    session = runner.fresh()
    for kind, what, data, expected_id in malformed_cases(session):
        mark = session.mark()
        for chunk in data if isinstance(data, list) else [data]:
            session.send_raw(chunk, note=f"fuzz: {what}")
        try:
            probe = session.request(session.probe_method)
        except TransportError as error:
            if kind == "valid":
                fail(f"valid input ({what}) crashed or hung the server: {error.explain()}")
            should(False, f"after {what} the server no longer answers {session.probe_method}: {error.reason}")
            runner.dirty = True
            session = runner.fresh()
            continue
        if expected_id is not None and not _answers(session, mark, expected_id, probe):
            session.wait_for(lambda m: m.is_response and jsonrpc.same_id(expected_id, m.id), 0.1)
        _judge(kind, what, _answers(session, mark, expected_id, probe), expected_id)
    # A reused id: each request sent gets at most one answer.
    mark = session.mark()
    for _ in range(2):
        session.send(_ping(session, "fz-reused"))
    session.request(session.probe_method)
    session.drain(0.1)
    reused = [m for m in session.received(mark) if m.is_response and m.id == "fz-reused"]
    should(len(reused) <= 2, f"two requests with the reused id got {len(reused)} answers")


# -- the stateful machine ---------------------------------------------------------------------
class SessionMachine(RuleBasedStateMachine):
    """Interleaved list / call / read / get / cancel on one session; the invariants are
    checked on every message received."""

    session = None
    names: list[str] = []
    tool_args: dict[str, list] = {}
    steps: list[dict] = []
    shared: dict = {}

    def __init__(self):
        super().__init__()
        # Kept across examples: a late answer to a call cancelled in an earlier one is fine.
        shared = type(self).shared
        self.sent, self.answered, self.cancelled, self.progress = (shared["sent"], shared["answered"],
                                                                   shared["cancelled"], shared["progress"])
        self.checked = shared.setdefault("checked", self.session.mark())
        type(self).steps.clear()

    def _send_request(self, method: str, params: dict | None) -> object:
        request_id = f"sm-{self.session.next_id()}"
        if self.session.modern:
            params = {**(params or {}), "_meta": self.session.request_meta()}
        self.sent[request_id] = method
        self.session.pending[request_id] = method
        step = {"send": jsonrpc.request(request_id, method, params)}
        _send(self.session, step, type(self).steps)
        return request_id

    def ask(self, method: str, params: dict | None = None, wait: bool = True):
        request_id = self._send_request(method, params)
        if not wait:
            return request_id, None
        found = self.session.wait_for(lambda m: (self._check(), request_id in self.session.responses)[1],
                                      self.session.timeout)
        if found is None:
            if self.session.transport.exit_code is not None:
                fail(f"the server exited during {method}")
            if method == "tools/call":
                self.cancel_id(request_id)
                return request_id, None
            fail(f"no response to {method} ({request_id}) within {self.session.timeout:g}s")
        return request_id, self.session.responses[request_id]

    def cancel_id(self, request_id) -> None:
        self.cancelled.add(request_id)
        _send(self.session, {"send": jsonrpc.notification("notifications/cancelled",
                                                          {"requestId": request_id, "reason": "fuzz"})},
              type(self).steps)

    def _check(self) -> None:
        for entry in self.session.transcript[self.checked:]:
            message = entry.message
            if entry.direction != "<-" or message is None:
                continue
            if message.is_response:
                key = message.id
                expect(key in self.sent, f"a response with id {key!r}, which no request of this session carried "
                                         f"(a notification answered, or an id changed): {message.text()[:200]}")
                expect(key not in self.answered, f"request {key!r} was answered twice")
                self.answered.add(key)
            elif message.method == "notifications/progress" and isinstance(message.params, dict):
                token, value = message.params.get("progressToken"), message.params.get("progress")
                if isinstance(value, (int, float)) and token in self.progress:
                    expect(value > self.progress[token], f"progress for {token!r} went from "
                                                         f"{self.progress[token]} to {value}")
                if isinstance(value, (int, float)):
                    self.progress[token] = value
        self.checked = type(self).shared["checked"] = len(self.session.transcript)

    @rule(kind=st.sampled_from(["tools", "prompts", "resources"]))
    def list_again(self, kind):
        if declares(self.session, kind) is None:
            return
        _, response = self.ask(f"{kind}/list")
        if response is None or response.kind is not Kind.RESULT:
            return
        cursor = response.result.get("nextCursor")
        if isinstance(cursor, str):
            _, first = self.ask(f"{kind}/list", {"cursor": cursor})
            _, second = self.ask(f"{kind}/list", {"cursor": cursor})
            if first is not None and second is not None and first.kind is Kind.RESULT:
                should(first.result.get(kind) == (second.result or {}).get(kind),
                       f"{kind}/list gave two different pages for the same cursor")

    @rule(data=st.data())
    def call(self, data):
        if not self.names:
            return
        name = data.draw(st.sampled_from(self.names))
        args = data.draw(st.sampled_from(self.tool_args.get(name) or [{}]))
        token = f"fz-progress-{self.session.next_id()}"
        self.ask("tools/call", {"name": name, "arguments": args, "_meta": {"progressToken": token}})

    @rule(data=st.data())
    def call_and_cancel(self, data):
        if not self.names:
            return
        name = data.draw(st.sampled_from(self.names))
        request_id, _ = self.ask("tools/call", {"name": name, "arguments": (self.tool_args.get(name) or [{}])[0]},
                                 wait=False)
        self.cancel_id(request_id)

    @rule()
    def cancel_finished(self):
        if self.answered:
            self.cancel_id(sorted(self.answered)[-1])

    @rule()
    def read(self):
        if declares(self.session, "resources") is None:
            return
        _, response = self.ask("resources/list")
        items = (response.result or {}).get("resources") if response is not None and response.kind is Kind.RESULT else None
        if items:
            self.ask("resources/read", {"uri": items[0].get("uri")})

    @rule()
    def get(self):
        if declares(self.session, "prompts") is None:
            return
        _, response = self.ask("prompts/list")
        items = (response.result or {}).get("prompts") if response is not None and response.kind is Kind.RESULT else None
        if items:
            prompt = items[0]
            args = {a["name"]: "x" for a in prompt.get("arguments") or [] if isinstance(a, dict) and a.get("required")}
            self.ask("prompts/get", {"name": prompt.get("name"), "arguments": args})

    @invariant()
    def matched(self):
        self._check()


@requirement("basic-007", "basic-013", "progress-007", "cancellation-012", "pagination-002")
def test_fuzz_session_machine(request, mcp_connect, mcp_target, revision):
    """Interleaved list, call (read-only tools only), read, get and cancel on one session:
    every response carries the id of a request that was sent, none is answered twice, no
    notification is answered, progress increases, and a page asked for twice is the same."""
    runner = Runner(request, mcp_connect, "test_fuzz_session_machine", revision)
    if runner.replay_path:
        return runner.run(lambda session, data, steps: [_exchange_raw(session, s) for s in data.steps])
    session = runner.fresh()
    names = _callable_names(session, mcp_target.call_tools)
    listed = {t["name"]: t for t in (session.request("tools/list").result or {}).get("tools", [])} if names else {}
    SessionMachine.names = names
    SessionMachine.tool_args = {n: generate.examples(listed[n].get("inputSchema") or {}, 2) for n in names}

    def body(session, _data, steps):
        SessionMachine.session = session
        SessionMachine.steps = steps
        SessionMachine.shared = {"sent": {}, "answered": set(), "cancelled": set(), "progress": {}}
        run_state_machine_as_test(SessionMachine, settings=settings(
            max_examples=runner.examples, stateful_step_count=6, deadline=None, database=None, print_blob=False,
            derandomize=runner.seeded,
            suppress_health_check=list(HealthCheck)))

    _run_machine(runner, body)


def _exchange_raw(session, step):
    _send(session, step, [])
    session.drain(0.05)


def _run_machine(runner, body):
    """The machine draws its own steps (and shrinks them); one run, seed fixed."""
    session = runner.fresh()
    try:
        body(session, None, runner.steps)
    except CheckFailed as error:
        path = replay.save(runner.check, runner.revision, runner.seed, runner.steps)
        raise CheckFailed(f"{error}\nMinimal message sequence (seed {runner.seed}):\n{replay.describe(runner.steps)}\n"
                          f"Saved as {path}; re-run with --mcp-replay {path}") from None
