"""Generated input: the strategies draw only valid messages, transcripts round-trip, a fuzz
failure is shrunk, printed, saved and replayed, seeds repeat runs, the budget ends generation
(time in quick mode, a count with --mcp-fuzz-examples), slow tool calls are cancelled, and the
fuzz checks raise no false failure on the reference over HTTP (stdio: tests/test_faults.py
runs them all)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance import fuzzing, generate, jsonrpc, replay, schema, strategies, wire
from conformance.checks import CheckFailed
from conformance.fuzzing import DEFAULT_SEED, Fuzzer
from conformance.session import CLIENT_INFO
from conformance.target import Target

REFERENCE = f"{sys.executable} -m conformance.reference.server"
# Exactly 100 cases: shrinking then has SHRINK_SECONDS, whatever the machine's load (the quick
# default gives it --mcp-timeout only, which a loaded machine may spend before the minimum).
FAULT_RUN = ("-k", "test_fuzz_valid_requests", "--mcp-version", "2025-11-25", "--mcp-fuzz-examples", "100")


def meta(revision: str) -> dict | None:
    if revision < "2026":
        return None
    prefix = "io.modelcontextprotocol/"
    return {prefix + "protocolVersion": revision, prefix + "clientInfo": CLIENT_INFO, prefix + "clientCapabilities": {}}


@pytest.mark.parametrize("revision", schema.revisions())
def test_generated_client_messages_validate(revision):
    rev_schema = schema.load(revision)
    methods = set()

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        derandomize=True,  # the same draws every run
        suppress_health_check=list(HealthCheck),
    )
    @given(strategies.client_messages(rev_schema, meta=meta(revision)))
    def check(message):
        methods.add(message["method"])
        decoded = jsonrpc.classify(message, jsonrpc.encode(message))
        assert wire.validate(rev_schema, decoded) == [], message

    check()
    every = {*strategies.client_requests(rev_schema), *strategies.client_notifications(rev_schema)}
    assert len(methods) >= len(every) - 2, f"drawn {sorted(methods)} of {sorted(every)}"


@pytest.mark.parametrize(
    "input_schema",
    [
        {
            "type": "object",
            "properties": {
                "n": {"type": "integer", "minimum": 1, "maximum": 3},
                "mode": {"enum": ["a", "b"]},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["n"],
        },
        {
            "type": "object",
            "properties": {"text": {"type": "string", "minLength": 2, "pattern": "^[a-z]+$"}},
            "required": ["text"],
        },  # minLength, pattern: hypothesis-jsonschema draws these
        {
            "$defs": {"p": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}},
            "type": "object",
            "properties": {"point": {"$ref": "#/$defs/p"}},
            "required": ["point"],
        },
    ],
)
def test_tool_arguments_validate(input_schema):
    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategies.tool_arguments(input_schema))
    def check(arguments):
        assert generate.is_valid(arguments, input_schema), arguments

    check()


def test_invalid_params_call_listed_tools():
    """Mutated tools/call requests name a listed tool (unless the name itself is mutated):
    an unknown tool's answer is test_unknown_tool_rejected's to judge, not the fuzzer's."""
    from conformance.scenarios.fuzz import invalid_params_requests, owned_elsewhere

    tools = {"echo": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}
    drawn = fuzzing.draws(
        invalid_params_requests(schema.load("2025-11-25"), None, ["tools/call"], tools), DEFAULT_SEED, 40
    )
    assert drawn
    for mutation, message in drawn:
        assert message["params"].get("name") == "echo" or owned_elsewhere("tools/call", mutation), (mutation, message)


def test_transcript_round_trip(tmp_path):
    steps = [
        replay.send_step({"jsonrpc": "2.0", "id": "", "method": "ping"}, answer=True),
        replay.raw_step(b'{"bad": \xff}\n'),
    ]
    path = replay.save("test_fuzz_x", "2025-11-25", 42, steps, tmp_path)
    header, loaded = replay.load(path)
    assert header == {"check": "test_fuzz_x", "revision": "2025-11-25", "seed": 42}
    assert loaded == steps and replay.step_bytes(loaded[1]) == b'{"bad": \xff}\n'
    assert "a response is required" in replay.describe(loaded)
    (tmp_path / "bad.jsonl").write_text('{"not": "a header"}\n')
    with pytest.raises(replay.NotATranscript, match="no header line"):
        replay.load(tmp_path / "bad.jsonl")
    (tmp_path / "bad-step.jsonl").write_text('{"check": "c", "revision": "2025-11-25"}\n{"send": {}, "raw": "eA=="}\n')
    with pytest.raises(replay.NotATranscript, match="line 2: not a send or raw step: .*either send or raw"):
        replay.load(tmp_path / "bad-step.jsonl")


def test_shrinking_stops_at_its_budget(monkeypatch, tmp_path):
    """A failure whose every attempt is slow: once shrinking has taken SHRINK_SECONDS, the
    smallest failing case so far is reported and saved (Hypothesis alone would go on for
    five minutes)."""
    monkeypatch.setattr(fuzzing, "SHRINK_SECONDS", 1.0)
    monkeypatch.chdir(tmp_path)
    target = Target(REFERENCE, revisions=["2025-11-25"], call_tools="none")

    def connect():
        session = target.connect("2025-11-25")
        session.open("2025-11-25")
        return session

    fuzz = Fuzzer(connect, "test_fuzz_budget", "2025-11-25", 100, DEFAULT_SEED)

    def slow_failure(session, values):
        for value in values:
            fuzz.request(session, jsonrpc.request(f"n-{session.next_id()}", "ping", {"_meta": {"n": value}}))
        if sum(values) > 10:
            time.sleep(0.4)
            raise CheckFailed(f"the sum of {values} is over 10")

    started = time.monotonic()
    try:
        with pytest.raises(CheckFailed, match="found in 1s of shrinking") as failure:
            fuzz.run(st.lists(st.integers(0, 1000), min_size=1, max_size=20), slow_failure)
    finally:
        target.close()
    assert time.monotonic() - started < 30
    reported = json.loads(str(failure.value).split("the sum of ")[1].split(" is over")[0])
    _, steps = replay.load(next((tmp_path / replay.DIRECTORY).glob("test_fuzz_budget-*.jsonl")))
    assert [step["send"]["params"]["_meta"]["n"] for step in steps] == reported  # the case that failed


def reference_fuzzer(target: Target, check: str, budget) -> Fuzzer:
    def connect():
        session = target.connect("2025-11-25")
        session.open("2025-11-25")
        return session

    return Fuzzer(connect, check, "2025-11-25", budget, DEFAULT_SEED)


class Options(dict):
    def getoption(self, name):
        return self[name]


@pytest.mark.parametrize(
    "options, budget",
    [
        (
            {"--mcp-fuzz": "quick", "--mcp-fuzz-examples": None, "--mcp-timeout": 5.0},
            fuzzing.Budget(fuzzing.QUICK_CASES, 0.1, fuzzing.QUICK_ROUNDS, shrink_seconds=5.0),
        ),
        (
            {"--mcp-fuzz": "deep", "--mcp-fuzz-examples": None, "--mcp-timeout": 5.0},
            fuzzing.Budget(fuzzing.DEEP_CASES, fuzzing.DEEP_SECONDS),
        ),
        ({"--mcp-fuzz": "quick", "--mcp-fuzz-examples": 7, "--mcp-timeout": 5.0}, fuzzing.Budget(7)),
    ],
)
def test_budget_from_options(options, budget):
    assert fuzzing.budget_from(Options(options)) == budget


def test_time_budget_ends_generation():
    """--mcp-fuzz=quick: no case starts once the budget's seconds have passed since the
    first pass began, however many cases it allows; nothing fails."""
    target = Target(REFERENCE, revisions=["2025-11-25"], call_tools="none")
    fuzz = reference_fuzzer(target, "test_fuzz_time", fuzzing.Budget(cases=10_000, seconds=0.3))
    first = []

    def ping(session, values):
        first.append(values)
        fuzz.request(session, jsonrpc.request(f"t-{session.next_id()}", "ping"))
        time.sleep(0.02)

    try:
        fuzz.start()  # connecting is not part of the budget
        started = time.monotonic()
        fuzz.run(st.lists(st.integers()), ping, first=[7])
        elapsed = time.monotonic() - started
    finally:
        target.close()
    assert first[0] == [7]  # the first pass came first
    assert 1 <= fuzz.generated <= 0.3 / 0.02 + 1 and elapsed < 0.3 + 1, (fuzz.generated, elapsed)


def test_first_pass_failure_found_again_and_shrunk(monkeypatch, tmp_path):
    """A failure of the first pass is found again by generated cases and shrunk."""
    monkeypatch.chdir(tmp_path)
    target = Target(REFERENCE, revisions=["2025-11-25"], call_tools="none")
    fuzz = reference_fuzzer(target, "test_fuzz_first", fuzzing.Budget(cases=200, seconds=0.0))

    def over_90(session, values):
        fuzz.request(session, jsonrpc.request(f"f-{session.next_id()}", "ping", {"_meta": {"n": values}}))
        if any(value > 90 for value in values):
            raise CheckFailed(f"{values} holds a value over 90")

    try:
        with pytest.raises(CheckFailed, match="Minimal failing message sequence") as failure:
            fuzz.run(st.lists(st.integers(0, 100)), over_90, first=[3, 95, 4])
    finally:
        target.close()
    assert str(failure.value).startswith("[91] holds a value over 90"), failure.value


def test_slow_tool_call_cancelled_not_judged():
    """A generated tool call still running after the fuzzer's tool_seconds is cancelled, its
    answer no longer required (nor awaited by a replay), and its tool not called again."""
    from conformance.scenarios.fuzz import _exchange

    target = Target(REFERENCE, revisions=["2025-11-25"], call_tools="all")
    fuzz = reference_fuzzer(target, "test_fuzz_slow", 1)
    fuzz.tool_seconds = 0.01  # count_slowly takes 50 ms a step
    call = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "tools/call",
        "params": {"name": "count_slowly", "arguments": {"count": 3}},
    }
    try:
        session = fuzz.start()
        started = time.monotonic()
        _exchange(fuzz, session, [("slow-1", call)])
        assert time.monotonic() - started < 1
        assert fuzz.slow_tools == {"count_slowly"}
        assert [(step["send"]["method"], step["answer"]) for step in fuzz.steps] == [
            ("tools/call", False),
            ("notifications/cancelled", False),
            ("ping", True),
        ]  # then the probe
        fuzz.begin()
        _exchange(fuzz, session, [("slow-2", call)])  # not sent again: only the probe
        assert [step["send"]["method"] for step in fuzz.steps] == ["ping"]
    finally:
        target.close()


def suite_in(run_suite, directory: Path, server: str, *args: str):
    (directory / "pytest.ini").write_text("[pytest]\n")
    return run_suite(server, *args, cwd=directory)


def test_failure_shrunk_saved_and_replayed(run_suite, tmp_path):
    """A generated-input fault: the failure prints the minimal sequence and the seed, writes
    the transcript (and no Hypothesis database), and --mcp-replay reproduces it; the same
    transcript passes against the clean server."""
    faulty = f"{REFERENCE} --fault fuzz-crash-on-nul"
    run = suite_in(run_suite, tmp_path, faulty, *FAULT_RUN)  # the default seed
    case = run.case("test_fuzz_valid_requests[2025-11-25]")
    assert case.outcome == "failed", run.explain()
    assert f"Minimal failing message sequence (seed {DEFAULT_SEED}" in case.text and "\\u0000" in case.text, case.text
    assert case.properties["mcp_fuzz_seed"] == str(DEFAULT_SEED)
    saved = sorted((tmp_path / replay.DIRECTORY).glob("*.jsonl"))
    assert [p.name for p in saved] == [f"test_fuzz_valid_requests-2025-11-25-{DEFAULT_SEED}.jsonl"]
    assert not (tmp_path / ".hypothesis").exists()
    _, steps = replay.load(saved[0])
    assert 1 <= len(steps) <= 3, steps  # shrunk: the message with U+0000 (and a probe)

    replayed = suite_in(run_suite, tmp_path, faulty, "--mcp-replay", str(saved[0]))
    assert replayed.outcomes == {"test_fuzz_valid_requests[2025-11-25]": "failed"}, replayed.output[-3000:]
    assert "exited with code 70" in replayed.case("test_fuzz_valid_requests[2025-11-25]").text
    clean = suite_in(run_suite, tmp_path, REFERENCE, "--mcp-replay", str(saved[0]))
    assert clean.outcomes == {"test_fuzz_valid_requests[2025-11-25]": "passed"}, clean.output[-3000:]


def test_seed_repeats_the_run(run_suite, tmp_path):
    """--hypothesis-seed gives the same cases: the same minimal sequence, twice."""
    faulty = f"{REFERENCE} --fault fuzz-crash-on-wrong-type"
    texts = []
    for attempt in ("a", "b"):
        (tmp_path / attempt).mkdir()
        run = suite_in(
            run_suite,
            tmp_path / attempt,
            faulty,
            "-k",
            "test_fuzz_invalid_params",
            "--mcp-version",
            "2025-11-25",
            "--hypothesis-seed=11",
            "--mcp-fuzz-examples",
            "100",
        )  # shrinking to the end, however loaded the machine
        assert run.outcomes["test_fuzz_invalid_params[2025-11-25]"] == "failed", run.explain()
        texts.append(next((tmp_path / attempt / replay.DIRECTORY).glob("*-11.jsonl")).read_text())
    assert texts[0] == texts[1]
    params = [json.loads(line).get("send", {}).get("params", {}) for line in texts[0].splitlines()[1:]]
    assert any(isinstance(p.get(k), (int, float)) for p in params for k in ("name", "uri", "cursor", "level")), texts[0]


def test_bad_replay_file_is_a_usage_error(run_suite, tmp_path):
    run = run_suite(REFERENCE, "--mcp-replay", str(tmp_path / "missing.jsonl"))
    assert run.returncode == 4 and "cannot read fuzz transcript" in run.output, run.output[-2000:]


def test_fuzz_checks_over_http_no_false_failure(run_suite):
    """Over Streamable HTTP the fuzz checks pass on the clean reference; the stdio framing
    check does not apply."""
    server = f"{sys.executable} -m conformance.reference.http --port {{port}}"
    run = run_suite(
        server, "--mcp-transport", "http", "-k", "fuzz", "--mcp-version", "2025-11-25", "--mcp-version", "2026-07-28"
    )
    bad = {n: o for n, o in run.outcomes.items() if o not in ("passed", "skipped")}
    assert not bad, run.explain()
    assert run.outcomes["test_fuzz_framing[2025-11-25]"] == "skipped"
    assert sum(o == "passed" for o in run.outcomes.values()) == 8
