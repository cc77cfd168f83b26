"""The suite against real MCP servers over stdio: the official server-everything (TypeScript
SDK) and a server built on the official Python SDK (tests/peers/sdk_server.py).

A false failure (the suite failing a correct server) is worse than a missed one, so every
check must pass except the verdicts listed below. Each was checked by hand against the wire
transcript and the spec text named in its comment. A verdict that appears or disappears is
either a new real violation (verify it against the spec, then list it here) or a bug in a
check (fix the check).

Install the peers first: `npm ci --prefix tests/peers --no-audit --no-fund` (and
`pip install -e '.[test]'` for the Python SDK). One suite run per peer and revision (15-30 s
each), so the ten runs spread over pytest-xdist workers (-n 2 or more).
"""

from __future__ import annotations

import pytest

LEGACY = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]
MODERN = "2026-07-28"
REVISIONS = [*LEGACY, MODERN]
ALL = LEGACY  # the verdicts both peers share cover the legacy revisions; the Python SDK adds 2026-07-28
SINCE_2025_06 = ["2025-06-18", "2025-11-25"]
# server-everything 2026.8.31 is built on the TypeScript SDK 1.x, which predates 2026-07-28:
# it answers server/discover with -32601, so the suite reports that revision as not supported.
SUPPORTED = {"server-everything": LEGACY, "python-sdk": REVISIONS}


# check -> {revision: outcome} for every verdict other than PASS and SKIP, per peer (or a
# tuple of the outcomes accepted).
# What both official SDKs (TypeScript 1.32 under server-everything, Python 2.3) do alike:
BOTH_SDKS = {
    # REAL: basic/index.mdx (2025-03-26) "Batching": receiving batches is a MUST in that
    # revision (its stdio transport also lists a batch as a message). Both negotiate
    # 2025-03-26, then ignore a batch of two pings (still no answer after the timeout).
    "test_batch_supported": {"2025-03-26": "failed"},
    # SHOULD missed: JSON-RPC 2.0 section 5.1 gives invalid JSON -32700 and its examples
    # answer it; MCP only requires that messages follow JSON-RPC 2.0 (basic/index.mdx
    # "Messages"), the client MUST NOT send such input (transports.mdx, stdio) and before
    # 2025-11-25 the schema has no error shape without an id. Both stay silent.
    "test_parse_error": dict.fromkeys(ALL, "warned"),
    # The same for a request whose method is a number or whose id is an object (-32600).
    "test_invalid_request": dict.fromkeys(ALL, "warned"),
    # basic/index.mdx from 2025-06-18 has no batches and no rule for answering one: silence is
    # fine (INFO).
    "test_batch_rejected": dict.fromkeys(SINCE_2025_06, "informational"),
    # SHOULD missed: server/utilities/pagination.mdx "Error Handling": an invalid cursor
    # should get -32602. Every list method of both servers answers an unknown cursor with the
    # first page.
    "test_pagination_invalid_cursor": dict.fromkeys(ALL, "warned"),
    # server/resources.mdx "Error Handling" (all four revisions): -32002 is the suggested
    # code for an unknown resource (SHOULD). Both answer -32602, the code 2026-07-28 adopted; the suite notes it
    # (INFO) rather than warning: lenient, not a false failure.
    "test_resource_not_found": dict.fromkeys(ALL, "informational"),
    # SHOULD missed: server/tools.mdx "Error Handling" lists unknown tools under protocol
    # errors (example: error -32602 "Unknown tool"); both answer a result with isError true.
    "test_unknown_tool_rejected": dict.fromkeys(ALL, "warned"),
    # INFO: a ping whose params hold a string with bytes that are not UTF-8 is answered with
    # a result (both decode leniently). basic/transports.mdx (stdio) makes UTF-8 the sender's
    # duty; what a receiver does with other bytes is left open.
    "test_fuzz_framing": dict.fromkeys(ALL, "informational"),
}

EXPECTED = {
    # @modelcontextprotocol/server-everything 2026.8.31 (serverInfo 2.0.0).
    "server-everything": {
        **BOTH_SDKS,
        # SHOULD missed: server/utilities/logging.mdx "Error Handling": an invalid level
        # should get -32602; it answers -32603 with a zod validation dump.
        "test_logging_invalid_level": dict.fromkeys(ALL, "warned"),
        # INFO: prompts/get resource-prompt with generated arguments gets -32603 (its
        # resourceType must be "Text" or "Blob"); an error for arbitrary values is fine.
        "test_prompts_answer_get": dict.fromkeys(ALL, "informational"),
        # REAL (2024-11-05, 2025-03-26): get-resource-links returns content of type
        # "resource_link" after negotiating a revision whose CallToolResult content is only
        # text, image, (audio,) resource: schema.ts of those revisions, which basic/index.mdx
        # "Schema" calls the source of truth (lifecycle.mdx "Operation": both parties SHOULD
        # respect the negotiated version). The schema sweep, which owns message validity on
        # every connection, reports it once per revision; the checks that made the calls
        # judge their own rule.
        "test_messages_valid": dict.fromkeys(["2024-11-05", "2025-03-26"], "failed"),
        # INFO: trigger-long-running-operation (10 s by default) is still running, reporting
        # progress, after a fifth of --mcp-timeout: it is stopped and noted, not failed, since
        # no spec text bounds a tool's running time.
        "test_tool_calls_answered": dict.fromkeys(
            ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"], "informational"
        ),
        # SHOULD missed: basic/utilities/tasks.mdx (2025-11-25) "Tool-Level Negotiation": a
        # tool without task support called as a task should get -32601; `echo` answers -32602.
        "test_task_forbidden_tool_rejected": {"2025-11-25": "warned"},
    },
    # tests/peers/sdk_server.py on PyPI mcp 2.3.
    "python-sdk": {
        **BOTH_SDKS,
        # SHOULD missed: server/prompts.mdx "Error Handling" (every revision): an unknown
        # prompt and a missing required argument should both get -32602. The SDK answers both
        # with error code 0 (legacy revisions) or -32603 (2026-07-28).
        "test_unknown_prompt_rejected": dict.fromkeys(REVISIONS, "warned"),
        "test_prompt_missing_argument_rejected": dict.fromkeys(REVISIONS, "warned"),
        # SHOULD missed: server/tools.mdx (2025-06-18 on) "Structured Content": structured
        # content should also be given as its JSON text in a text block, for older clients.
        # count_words returns structuredContent {"result": N} but the text "N".
        "test_tool_structured_content_as_text": dict.fromkeys([*SINCE_2025_06, MODERN], "warned"),
        # INFO: add_note (destructive) is not called under --mcp-call-tools=readonly.
        "test_tool_calls_answered": dict.fromkeys(REVISIONS, "informational"),
        # INFO: a ping with NaN in its params (not JSON: RFC 8259 has no NaN) is answered with
        # a result; the Python JSON parser accepts NaN. JSON-RPC 2.0 gives -32700 for invalid
        # JSON, but MCP forbids the client to send it (basic/transports.mdx), so it is noted.
        "test_fuzz_malformed_input": dict.fromkeys(REVISIONS, "informational"),
    },
}
# 2026-07-28, which only the Python SDK speaks: the shared verdicts hold there too (same spec
# text: basic/index.mdx "Error Codes", server/utilities/pagination.mdx and server/tools.mdx
# "Error Handling"), except test_resource_not_found, which passes: -32602 is that revision's
# code for an unknown resource (server/resources.mdx).
for check in (
    "test_parse_error",
    "test_invalid_request",
    "test_batch_rejected",
    "test_pagination_invalid_cursor",
    "test_unknown_tool_rejected",
    "test_fuzz_framing",
):
    EXPECTED["python-sdk"][check] = {**BOTH_SDKS[check], MODERN: BOTH_SDKS[check]["2025-11-25"]}


def reasons(peer: str, check: str, outcome: str) -> tuple[str, ...]:
    """Words the check's message must hold for a listed verdict: the reason verified."""
    if check == "test_messages_valid":
        return ("CallToolResult", "tools/call", "resource_link")
    if check == "test_task_forbidden_tool_rejected":
        return ("does not support tasks, but a call with a `task` field got", "-32602")
    if check == "test_tool_calls_answered":
        if peer == "server-everything":
            return ("trigger-long-running-operation", "was still running and reporting progress, so it was stopped")
        return ("not called under --mcp-call-tools=readonly: add_note",)
    return {
        "test_batch_supported": ("no response to the batched request(s) ['batch-a', 'batch-b']",),
        "test_parse_error": ("no error response to a line that is not JSON",),
        "test_invalid_request": ("method that is not a string", "id that is an object"),
        "test_batch_rejected": ("ignored the batch silently",),
        "test_pagination_invalid_cursor": ("answered the invalid cursor", "it should be error -32602"),
        "test_resource_not_found": ("got -32602",),
        "test_unknown_tool_rejected": ("got a result with isError: true",),
        "test_logging_invalid_level": ("should get -32602, got -32603",),
        "test_prompts_answer_get": ("'resource-prompt' with its required arguments got error -32603",),
        "test_unknown_prompt_rejected": ("should get -32602, got",),
        "test_prompt_missing_argument_rejected": ("should get -32602, got",),
        "test_tool_structured_content_as_text": ("no text block holds the structuredContent as JSON",),
        "test_fuzz_framing": ("invalid UTF-8 inside a string: accepted",),
        "test_fuzz_malformed_input": ("NaN in params: accepted",),
    }[check]


# Checks that must really run and pass on a peer (not skip for want of something to judge):
# the SDK peer's sign_note asks for input, so multi round-trip requests are exercised.
EXERCISED = {
    ("python-sdk", MODERN): (
        "test_input_required_result_shape",
        "test_input_requests_valid",
        "test_no_server_requests_in_modern_era",
    )
}

PEER_COMMANDS = {"server-everything": "server_everything_command", "python-sdk": "sdk_server_command"}

# A skip saying the peer was not tested at all (a revision it lacks, a server that could not
# be used). Other skips are checks that do not apply (a capability the peer does not declare).
NOT_TESTED = ("not supported", "could not be used", "no implementation under test")


def expected_for(peer: str, revision: str) -> dict[str, str]:
    return {
        f"{check}[{revision}]": by_revision[revision]
        for check, by_revision in EXPECTED[peer].items()
        if revision in by_revision
    }


@pytest.mark.real_peer
@pytest.mark.parametrize("revision", REVISIONS)
@pytest.mark.parametrize("peer", sorted(PEER_COMMANDS))
def test_suite_against_real_peer(peer, revision, request, run_suite):
    run = run_suite(request.getfixturevalue(PEER_COMMANDS[peer]), "--mcp-version", revision, timeout=150)
    print(f"\n{peer} {revision}: {run.seconds:.1f}s\n{run.summary()}")  # shown with -rA

    if revision not in SUPPORTED[peer]:
        checks = [case for case in run.cases if case.revision == revision]
        judged = {case.name: case.outcome for case in checks if case.outcome != "skipped"}
        assert checks and not judged, f"{peer} does not support {revision}, yet: {judged}\n{run.output[-4000:]}"
        assert any("not supported" in case.message for case in checks), run.output[-4000:]
        # Nothing was tested: one check says why, and the run fails.
        assert run.outcomes.get("test_revisions_testable") == "failed", run.output[-4000:]
        assert run.returncode == 1, run.output[-4000:]
        return

    counts = run.counts()
    assert counts.get(revision, {}).get("passed"), f"{peer}: no check passed for {revision}\n{run.explain()}"
    assert counts.get("any", {}).get("passed"), f"{peer}: the revision-independent checks did not run\n{run.explain()}"
    not_tested = {
        case.name: case.message
        for case in run.cases
        if case.outcome == "skipped" and any(words in case.message for words in NOT_TESTED)
    }
    assert not not_tested, f"{peer}: checks skipped that should have run: {not_tested}\n{run.output[-4000:]}"

    expected = expected_for(peer, revision)
    assert_verdicts(run, expected, f"{peer} {revision}", lambda check, outcome: reasons(peer, check, outcome))
    assert run.returncode == (1 if "failed" in run.outcomes.values() else 0), run.output[-4000:]

    exercised = [f"{check}[{revision}]" for check in EXERCISED.get((peer, revision), ())]
    assert all(run.outcomes.get(name) == "passed" for name in exercised), (
        f"{peer} {revision}: not all of {exercised} passed\n{run.explain(exercised)}"
    )

    # JUnit XML carries the WARN and INFO grades (property mcp_outcome) too.
    assert all(case.junit_outcome == case.outcome for case in run.cases)


def assert_verdicts(run, expected: dict[str, str | tuple], label: str, reasons_for) -> None:
    """Every verdict other than PASS and SKIP is the one listed (check name -> outcome), for
    the reasons verified: `reasons_for(check, outcome)` names words its message must hold."""
    graded = {name: outcome for name, outcome in run.outcomes.items() if outcome not in ("passed", "skipped")}
    accepted = {n: o if isinstance(o, tuple) else (o,) for n, o in expected.items()}
    changed = sorted(n for n in {*graded, *expected} if graded.get(n, "passed") not in accepted.get(n, ("passed",)))
    assert not changed, (
        f"{label}: the suite's verdicts changed (check -> now, listed):\n"
        + "".join(
            f"  {n}: {graded.get(n, 'passed/skipped')}, listed {expected.get(n, 'passed/skipped')}\n" for n in changed
        )
        + run.explain(changed)
    )
    for name, outcome in graded.items():
        case = run.case(name)
        said = "\n".join([case.text, case.message, case.warnings, case.notes])
        missing = [words for words in reasons_for(name.split("[")[0], outcome) if words not in said]
        assert not missing, f"{name}: expected {missing} in what the check said:\n{said}"
