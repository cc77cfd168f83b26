"""The client leg (`pytest --mcp-client "CMD {server}"` over stdio, `--mcp-client CMD` over
Streamable HTTP): the reference client passes every check on both transports, each of its
faults is caught by its check, the official Python and TypeScript SDK clients get no false
failures, and clients that never connect, hang or exit early fail one clear check in time
with no process left behind."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import shutil
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import require_peer
from test_client_auth import FAULTS as AUTH_FAULTS
from test_client_auth import checks_with_parameters

REFERENCE = f"{sys.executable} -m conformance.reference.client"
PEERS = Path(__file__).resolve().parent / "peers"
SDK_CLIENT = f"{sys.executable} {PEERS / 'sdk_client.py'}"
STARTUP = "test_client_connects_and_initializes"
HTTP_ONLY = {
    "test_http_accept_headers",
    "test_http_session_id_echoed",
    "test_http_session_deleted_at_end",
    "test_http_json_and_sse_answers_handled",
    "test_http_new_session_after_404",
    "test_http_custom_headers",
    "test_http_invalid_header_tools_dropped",
    "test_http_posts_one_message_each",
    "test_network_refs_not_fetched",
    "test_http_header_names_case_insensitive",
    "test_http_polls_closed_stream",
    "test_http_waits_retry_before_reconnecting",
}
SUBSCRIPTION_CHECKS = {"test_subscription_notifications_correlated", "test_resubscribes_after_reconnect"}  # stdio
CHECKS = {
    STARTUP,
    "test_client_messages_valid",
    "test_initialize_request_shape",
    "test_requests_a_published_version",
    "test_initialize_comes_first",
    "test_initialized_before_other_requests",
    "test_request_ids_not_reused",
    "test_writes_only_mcp_messages",
    "test_answers_server_requests_in_any_order",
    "test_answers_ping",
    "test_roots_list",
    "test_sampling_answered",
    "test_elicitation_answered",
    "test_disconnects_on_unsupported_version",
    "test_older_version_answered",
    "test_closes_stdin_first",
    "test_modern_requests_carry_meta",
    "test_discover_probe_first",
    "test_retries_after_unsupported_version",
    "test_missing_result_type_read_as_complete",
    "test_retry_after_input_required",
    "test_progress_tokens",
    "test_takes_progress_and_stray_cancellation",
    "test_cancellations_name_own_running_requests",
    "test_http_protocol_version_header",
    "test_http_modern_request_headers",
    *HTTP_ONLY,
    "test_undeclared_elicitation_mode_refused",
    "test_tool_sampling_refused_without_capability",
    "test_client_notifications_have_no_id",
    "test_modern_client_sends_no_responses",
    "test_requests_only_declared_server_features",
    "test_client_answers_no_notifications",
    "test_client_writes_utf8",
    "test_client_meta_keys_well_formed",
    "test_client_extension_ids_well_formed",
    "test_client_task_created",
    "test_client_task_status_transitions",
    "test_client_task_result_is_underlying_result",
    "test_client_task_result_related_meta",
    "test_client_task_listed",
    "test_client_task_errors",
    "test_client_ignores_task_without_capability",
    "test_client_task_cancel_sticks",
    "test_roots_change_notified",
    "test_client_tool_tasks_as_declared",
    "test_modern_capabilities_declared_per_request",
    "test_modern_elicitation_capability_names_a_mode",
    "test_unknown_result_type_treated_as_invalid",
    "test_modern_tool_sampling_needs_capability",
    "test_modern_elicitation_without_mode_is_form",
    *SUBSCRIPTION_CHECKS,
    "test_tool_schema_keywords_kept",
    "test_elicitation_defaults_prefilled",
    "test_client_progress_increases",
    "test_client_task_progress_keeps_token",
}
# The SDK test clients report no progress on the server's requests: nothing to judge.
REPORTS_NO_PROGRESS = "test_client_progress_increases"

# The authorization checks (test_client_auth.py): judged over HTTP only; a client without
# OAuth (the SDK clients of this file) skips them all.
AUTH_CHECKS = {f"{check}[{scenario}]" if scenario else check for check, scenario in checks_with_parameters()}
CHECKS |= AUTH_CHECKS
COMMANDS = {"stdio": "{client} {{server}}", "http": "{client}"}  # over HTTP the URL is appended
# Checks that do not apply to the reference client: a rule of the other transport, or no
# The checks of a task receiver: they do not apply to a client without task support (the SDK clients).
TASK_RECEIVER = {
    "test_client_task_created",
    "test_client_task_status_transitions",
    "test_client_task_result_is_underlying_result",
    "test_client_task_result_related_meta",
    "test_client_task_listed",
    "test_client_task_errors",
    "test_client_task_cancel_sticks",
    "test_client_task_progress_keeps_token",
}
ROOTS_CHANGE = "test_roots_change_notified"  # judged only on a client whose roots change
WITHOUT_TASKS = "test_client_ignores_task_without_capability"
# cancellation sent (it never has a request to give up on), no extension declared, task
# support declared (the check of a client without it), roots that never change.
NOT_APPLICABLE = {
    "stdio": {
        "test_http_protocol_version_header",
        "test_http_modern_request_headers",
        "test_client_extension_ids_well_formed",
        WITHOUT_TASKS,
        ROOTS_CHANGE,
        *HTTP_ONLY,
        *AUTH_CHECKS,
    },
    "http": {
        "test_closes_stdin_first",
        "test_discover_probe_first",
        "test_cancellations_name_own_running_requests",
        "test_client_extension_ids_well_formed",
        WITHOUT_TASKS,
        ROOTS_CHANGE,
        *SUBSCRIPTION_CHECKS,
    },
}


def command(client: str, transport: str) -> str:
    return COMMANDS[transport].format(client=client)


@pytest.fixture
def run_client_suite(run_suite):
    """run_client_suite(client_command, *pytest_args, env=None): a client-leg suite run."""

    def run(client_command: str, *args: str, env: dict | None = None):
        return run_suite(None, "--mcp-client", client_command, *args, env=env)

    return run


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_reference_client_passes_every_check(transport, run_client_suite):
    result = run_client_suite(command(REFERENCE, transport))
    assert set(result.outcomes) == CHECKS, result.explain()
    bad = result.with_outcome("failed", "error", "warned")
    assert not bad, result.explain(bad)
    assert set(result.with_outcome("skipped")) == NOT_APPLICABLE[transport], result.explain()
    assert result.returncode == 0


FAULTS = {  # fault -> (the check that catches it, its outcome, words in the explanation)
    "no-initialized": ("test_initialized_before_other_requests", "failed", "never sent notifications/initialized"),
    "wrong-version-field": ("test_initialize_request_shape", "failed", "protocolVersion must be a string"),
    "ids-reused": ("test_request_ids_not_reused", "failed", "used more than once"),
    "answers-ping-wrong": ("test_answers_ping", "failed", "answered with an error"),
    "sends-request-before-initialize": ("test_initialize_comes_first", "failed", "'tools/list', not initialize"),
    "ignores-version": ("test_disconnects_on_unsupported_version", "warned", "yet the client went on"),
    "bad-sampling-result": ("test_client_messages_valid", "failed", "wire-schema-valid"),
    "answers-undeclared-roots": ("test_roots_list", "warned", "should get error -32601"),
    "not-json": ("test_writes_only_mcp_messages", "failed", "no JSON-RPC message"),
    "ignores-server-requests": ("test_answers_server_requests_in_any_order", "failed", "never answered"),
    "ignores-sampling": ("test_sampling_answered", "failed", "never answered sampling/createMessage"),
    "exits-early": (STARTUP, "failed", "never started the suite's server"),
    "sigterm-first": ("test_closes_stdin_first", "warned", "without first closing its stdin"),
    "no-meta": ("test_modern_requests_carry_meta", "failed", "lacks io.modelcontextprotocol/clientCapabilities"),
    "retries-same-version": ("test_retries_after_unsupported_version", "warned", "1 more request(s)"),
    "bad-progress-token": ("test_progress_tokens", "failed", "must be a string or an integer"),
    "cancels-initialize": ("test_cancellations_name_own_running_requests", "failed", "cancelled its initialize"),
    "chokes-on-cancel": ("test_takes_progress_and_stray_cancellation", "warned", "exited with code 1"),
    "rejects-missing-result-type": (
        "test_missing_result_type_read_as_complete",
        "failed",
        "which it must read as complete",
    ),
    "mrtr-same-id": ("test_retry_after_input_required", "failed", "reuses the id"),
    "mrtr-alters-state": ("test_retry_after_input_required", "failed", "echoed unchanged"),
    "mrtr-no-input-responses": ("test_retry_after_input_required", "failed", "lack answers"),
    "no-version-header": ("test_http_protocol_version_header", "failed", "without the MCP-Protocol-Version"),
    "no-modern-headers": ("test_http_modern_request_headers", "failed", "Mcp-Method is None"),
    "unpublished-version": ("test_requests_a_published_version", "failed", "which is no published revision"),
    "no-discover-probe": ("test_discover_probe_first", "warned", "not server/discover"),
    "unknown-elicitation-mode": ("test_elicitation_answered", "warned", "unknown elicitation modes declared"),
    "stalls-on-older-version": ("test_older_version_answered", "failed", "neither went on nor exited"),
    "accepts-undeclared-elicitation-mode": (
        "test_undeclared_elicitation_mode_refused",
        "failed",
        "accepted elicitation mode 'url'",
    ),
    "samples-with-undeclared-tools": ("test_tool_sampling_refused_without_capability", "failed", "with tools offered"),
    "initialized-with-id": ("test_client_notifications_have_no_id", "failed", "notifications/initialized with id"),
    "mrtr-answers-input-requests": (
        "test_modern_client_sends_no_responses",
        "failed",
        "responses sent in the modern era",
    ),
    "http-accept-json-only": ("test_http_accept_headers", "failed", "does not list text/event-stream"),
    "http-drops-session-id": ("test_http_session_id_echoed", "failed", "without the session id"),
    "http-no-delete": ("test_http_session_deleted_at_end", "warned", "without a DELETE for its session"),
    "http-no-reinitialize": ("test_http_new_session_after_404", "failed", "did not initialize anew"),
    "answers-notifications": (
        "test_client_answers_no_notifications",
        "failed",
        "responses to no request of the server",
    ),
    "lists-prompts": ("test_requests_only_declared_server_features", "failed", "prompts/list (id"),
    "keeps-invalid-header-tools": ("test_http_invalid_header_tools_dropped", "failed", "invalid_empty_header"),
    "no-param-headers": ("test_http_custom_headers", "failed", "no Mcp-Param-Region for the argument 'us-west1'"),
    # the modern era's part too (modern-subscriptions), which 2026 transports-002 rests on
    "http-ignores-sse": (
        "test_http_json_and_sse_answers_handled",
        "failed",
        "modern-subscriptions: after the SSE answer to request",
    ),
    "http-batches-notification": ("test_http_posts_one_message_each", "failed", "a batch of 1 in one POST"),
    "http-posts-elsewhere": ("test_http_posts_one_message_each", "failed", "POST to /mcp/elsewhere"),
    "not-utf8": ("test_client_writes_utf8", "failed", "notifications/initialized"),
    "bad-meta-key": ("test_client_meta_keys_well_formed", "failed", "'-demo/trace'"),
    "bad-extension-id": ("test_client_extension_ids_well_formed", "failed", "'conformance-demo': it has no prefix"),
    "task-starts-completed": ("test_client_task_created", "failed", "status is 'completed', not 'working'"),
    "task-reopens": ("test_client_task_status_transitions", "failed", "yet tasks/get after it says 'working'"),
    "task-result-is-task": ("test_client_task_result_is_underlying_result", "failed", "CreateMessageResult"),
    "task-result-no-related-meta": ("test_client_task_result_related_meta", "failed", "has no _meta"),
    "task-not-listed": ("test_client_task_listed", "failed", "is not in tasks/list"),
    "task-unknown-id-internal-error": ("test_client_task_errors", "failed", "tasks/get of an unknown task"),
    "task-cancel-lost": ("test_client_task_cancel_sticks", "failed", "is 'completed' at the next tasks/get"),
    "roots-change-silently": ("test_roots_change_notified", "failed", "sent no notifications/roots/list_changed"),
    "tool-task-forbidden": ("test_client_tool_tasks_as_declared", "failed", "echo_forbidden (taskSupport forbidden)"),
    "tool-task-required-plain": ("test_client_tool_tasks_as_declared", "failed", "called without a task (tasks-008)"),
    "tool-task-undeclared": ("test_client_tool_tasks_as_declared", "failed", "declares no tasks.requests.tools.call"),
    "modern-answers-undeclared": (
        "test_modern_capabilities_declared_per_request",
        "failed",
        "sampling is not in the retry's clientCapabilities",
    ),
    "roots-not-file": ("test_roots_list", "failed", "modern-era input response gave ['https://example.com/project']"),
    "modern-elicitation-no-mode": (
        "test_modern_elicitation_capability_names_a_mode",
        "failed",
        "elicitation {'voice': {}}",
    ),
    "accepts-unknown-result-type": ("test_unknown_result_type_treated_as_invalid", "failed", "tools/call 'echo'"),
    "derefs-network-refs": ("test_network_refs_not_fetched", "failed", "GET /canary/profile-schema.json"),
    "modern-needs-elicitation-mode": (
        "test_modern_elicitation_without_mode_is_form",
        "failed",
        "got no form answer in the retry: None",
    ),
    "modern-samples-with-undeclared-tools": (
        "test_modern_tool_sampling_needs_capability",
        "failed",
        "sampled a message for ['sample_with_tools']",
    ),
    "tasks-undeclared": ("test_client_ignores_task_without_capability", "failed", "as a task though it declares"),
    "uncorrelated-notifications": (
        "test_subscription_notifications_correlated",
        "failed",
        "more time(s) after two list changes",
    ),
    "no-resubscribe": ("test_resubscribes_after_reconnect", "failed", "but no subscriptions/listen"),
    "reuses-listen-id": ("test_request_ids_not_reused", "failed", "while subscriptions/listen with that id is open"),
    "shares-progress-token": ("test_progress_tokens", "failed", "'progress-shared'"),
    "http-no-poll": ("test_http_polls_closed_stream", "warned", "the client never reconnected with a GET"),
    "http-polls-at-once": ("test_http_waits_retry_before_reconnecting", "failed", "whose retry field asked for 500 ms"),
    "http-polls-without-last-event": ("test_http_polls_closed_stream", "warned", "no GET named the last event"),
    "strips-schema-keywords": ("test_tool_schema_keywords_kept", "failed", "lost or changed ['$schema', '$defs'"),
    "partial-defaults": ("test_elicitation_defaults_prefilled", "warned", "but left out ['age', 'score', 'verified']"),
    "task-progress-new-token": ("test_client_task_progress_keeps_token", "failed", "not the request's progressToken"),
    "progress-goes-back": ("test_client_progress_increases", "failed", "did not grow: [2, 1]"),
    "case-sensitive-headers": (
        "test_http_header_names_case_insensitive",
        "failed",
        "(header names in upper case) to request 1 the client sent nothing more",
    ),
}
STALLS = {"stalls-on-older-version"}
OVER_HTTP = {
    "no-version-header",
    "no-modern-headers",
    "mrtr-same-id",
    "bad-progress-token",
    "http-accept-json-only",
    "http-drops-session-id",
    "http-no-delete",
    "http-ignores-sse",
    "http-no-reinitialize",
    "no-param-headers",
    "keeps-invalid-header-tools",
    "http-batches-notification",
    "http-posts-elsewhere",
    "derefs-network-refs",
    "case-sensitive-headers",
    "http-no-poll",
    "http-polls-at-once",
    "http-polls-without-last-event",
}  # the rest over stdio


def test_every_reference_client_fault_is_tested():
    from conformance.reference.client import FAULTS as CLIENT_FAULTS

    assert set(CLIENT_FAULTS) == {*FAULTS, *AUTH_FAULTS, "hangs", "exits-early"}  # those two: the broken-client test


def test_every_client_check_has_a_fault():
    import conformance.scenarios.client as package

    found = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found |= {
            name
            for name, obj in vars(module).items()
            if name.startswith("test_") and inspect.isfunction(obj) and obj.__module__ == module.__name__
        }
    caught = {check for check, outcome, _ in FAULTS.values() if outcome in ("failed", "warned")}
    caught |= {check for check, _, outcome, _ in AUTH_FAULTS.values() if outcome in ("failed", "warned")}
    uncovered = sorted(found - caught)
    assert not uncovered, f"client checks no reference-client fault can fail: {uncovered}"


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_caught_by_its_check(fault, run_client_suite):
    check, outcome, words = FAULTS[fault]
    transport = "http" if fault in OVER_HTTP else "stdio"
    quick = ["--mcp-client-timeout", "5"] if fault in STALLS else []  # the stall lasts until the timeout
    result = run_client_suite(command(f"{REFERENCE} --fault {fault}", transport), "-k", check, *quick)
    case = result.case(check)
    assert case.outcome == outcome, result.explain([check])
    assert words in case.text + case.warnings, result.explain([check])


# A real finding on both SDK clients: the SDK hands a sampling/createMessage offering
# tools to the host's sampling callback although the client declared no sampling.tools
# (neither refuses it itself; the TypeScript SDK does refuse undeclared elicitation modes),
# and our hosts' callbacks, like most, sample. Missed: the CreateMessageRequestParams tools
# and toolChoice fields, https://modelcontextprotocol.io/specification/2025-11-25/schema
# (a client must answer with an error without sampling.tools).
SDK_FINDINGS = {"test_tool_sampling_refused_without_capability": "failed"}
# Over HTTP, on both SDK clients: a request answered HTTP 404 for the session ends in an
# error for the host (Python: "Session terminated"; TypeScript: a thrown StreamableHTTPError);
# neither starts a new session with a fresh initialize, which a client must
# (https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#session-management).
SDK_HTTP_FINDINGS = {"test_http_new_session_after_404": "failed"}
# On the Python SDK client (mcp 2.3.0): ClientSession.call_tool sends a plain tools/call for a
# tool whose execution.taskSupport is "required" on a server declaring tasks.requests.tools.call
# (nothing in mcp/client reads taskSupport), where a client must call it as a task
# (https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/tasks#tool-level-negotiation).
# The TypeScript SDK client refuses such a call itself.
# And https://modelcontextprotocol.io/specification/2026-07-28/basic#resulttype (a resultType
# the client does not recognise makes the result invalid): a tools/list result with resultType
# "mcp-conformance-unknown" is taken as a list, and its tool called (ClientSession routes an
# unknown resultType to the core arm for tools/call only; tools/list is not checked).
# In the modern era it also fulfils a sampling input request offering tools without
# sampling.tools, as in the legacy era (SDK_FINDINGS;
# https://modelcontextprotocol.io/specification/2026-07-28/client/sampling#capabilities).
PYTHON_SDK_FINDINGS = {
    "test_client_tool_tasks_as_declared": "failed",
    "test_unknown_result_type_treated_as_invalid": "failed",
    "test_modern_tool_sampling_needs_capability": "failed",
}


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_sdk_client_gets_no_false_failures(transport, run_client_suite):
    result = run_client_suite(command(SDK_CLIENT, transport))
    assert set(result.outcomes) == CHECKS, result.explain()
    bad = result.with_outcome("failed", "error", "warned")
    assert bad == SDK_FINDINGS | PYTHON_SDK_FINDINGS | (SDK_HTTP_FINDINGS if transport == "http" else {}), (
        result.explain(bad)
    )
    assert (
        "echo_required (taskSupport required) called without a task"
        in result.case("test_client_tool_tasks_as_declared").text
    )
    assert "did not declare sampling.tools" in result.case("test_tool_sampling_refused_without_capability").text
    # It probes server/discover, goes modern when offered, retries after an
    # InputRequiredResult, and falls back to initialize for a server naming only legacy
    # revisions: the modern checks judged it, none skipped but the other transport's.
    # It does no OAuth (sdk_auth_client.py does), and it declares both elicitation modes.
    # Nor does it declare task support: the task receiver checks skip, the one for a client
    # without it judges (it answers a task-augmented sampling request as a plain one).
    # Nor does it open a subscription (no subscriptions/listen) or cancel anything, so
    # over stdio the subscription and cancellation checks have nothing to judge; it declines
    # every elicitation, so no form defaults are seen.
    expected = (
        (NOT_APPLICABLE[transport] - {WITHOUT_TASKS})
        | AUTH_CHECKS
        | TASK_RECEIVER
        | {
            "test_undeclared_elicitation_mode_refused",
            "test_cancellations_name_own_running_requests",
            *SUBSCRIPTION_CHECKS,
            "test_elicitation_defaults_prefilled",
            REPORTS_NO_PROGRESS,
        }
    )
    assert set(result.with_outcome("skipped")) == expected, result.explain()
    assert "no mode is left undeclared" in result.case("test_undeclared_elicitation_mode_refused").message
    assert "retried with initialize for 2025-11-25" in result.case("test_retries_after_unsupported_version").notes


TS_SDK = PEERS / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json"
TS_LEGACY_ONLY = {  # the TypeScript SDK 1.x speaks the legacy era only: the modern checks do not apply
    "test_modern_requests_carry_meta",
    "test_modern_client_sends_no_responses",
    "test_discover_probe_first",
    "test_retries_after_unsupported_version",
    "test_missing_result_type_read_as_complete",
    "test_retry_after_input_required",
    "test_http_modern_request_headers",
    "test_http_custom_headers",
    "test_http_invalid_header_tools_dropped",
    "test_modern_capabilities_declared_per_request",
    "test_modern_elicitation_capability_names_a_mode",
    "test_unknown_result_type_treated_as_invalid",
    "test_network_refs_not_fetched",
    "test_modern_tool_sampling_needs_capability",
    "test_modern_elicitation_without_mode_is_form",
    "test_http_header_names_case_insensitive",
}

# Real findings on the TypeScript SDK client, each with the spec section it misses.
TS_FINDINGS = {
    # https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#session-management
    # (a client that no longer needs its session should DELETE it): Client.close() closes the
    # StreamableHTTPClientTransport without terminateSession(), so no DELETE is sent.
    "test_http_session_deleted_at_end": "warned",
    # https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/tasks#capabilities
    # (a receiver without task support for a request type processes it normally, ignoring
    # the task metadata): a Client without tasks.requests.sampling.createMessage answers a
    # sampling/createMessage with a `task` field -32603 "Client does not support task
    # creation" (assertTaskHandlerCapability) instead of sampling; the SDK's servers share
    # the bug for tools/call.
    "test_client_ignores_task_without_capability": "failed",
    **SDK_FINDINGS,
    **SDK_HTTP_FINDINGS,
}


def test_typescript_sdk_client_gets_no_false_failures(run_client_suite):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the TypeScript SDK client needs Node.js 20 or later", pytrace=False)
    require_peer(TS_SDK, "@modelcontextprotocol/sdk")
    result = run_client_suite(command(f"{node} {PEERS / 'ts_client.mjs'}", "http"))
    assert set(result.outcomes) == CHECKS, result.explain()
    bad = result.with_outcome("failed", "error", "warned")
    assert bad == TS_FINDINGS, result.explain(bad)
    skipped = (
        (NOT_APPLICABLE["http"] - {WITHOUT_TASKS})
        | TS_LEGACY_ONLY
        | AUTH_CHECKS
        | TASK_RECEIVER
        | {REPORTS_NO_PROGRESS}
    )
    assert set(result.with_outcome("skipped")) == skipped, result.explain()


def _processes_with(token: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if token.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize(
    "client, words",
    [
        (f"{sys.executable} -c pass {{server}}", "never started the suite's server"),
        (f"{sys.executable} -c 'import time; time.sleep(60)' {{server}}", "did not exit within"),
        (f"{REFERENCE} --fault hangs {{server}}", "did not finish its session"),
        (f"{REFERENCE} --fault exits-early {{server}}", "exited with code 3"),
        ("/nonexistent/mcp-client {server}", "could not start the client"),
        (f"{sys.executable} -c pass", "never connected to the suite's server"),
        (f"{sys.executable} -c 'import time; time.sleep(60)'", "did not exit within"),
        (f"{REFERENCE} --fault hangs", "did not finish its session"),
    ],
    ids=[
        "never-connects",
        "hangs-silently",
        "hangs-after-session",
        "exits-early",
        "not-found",
        "http-never-connects",
        "http-hangs-silently",
        "http-hangs-after-session",
    ],
)
def test_broken_clients_fail_one_clear_check_in_time(client, words, run_client_suite):
    token = f"MCP_CLIENT_LEAK_{uuid.uuid4().hex}"
    started = time.monotonic()
    result = run_client_suite(client, "--mcp-client-timeout", "3", "-k", STARTUP, env={token: "1"})
    assert time.monotonic() - started < 30
    case = result.case(STARTUP)
    assert case.outcome == "failed" and words in case.text, result.explain([STARTUP])
    if sys.platform.startswith("linux"):
        assert _processes_with(token) == [], "processes left running after the run"


def test_other_checks_skip_when_the_client_never_initializes(run_client_suite):
    result = run_client_suite(f"{sys.executable} -c pass {{server}}", "-k", "initialize_request_shape or ping")
    assert set(result.outcomes.values()) == {"skipped"}, result.explain()


@pytest.mark.parametrize("client, transport", [(REFERENCE, "stdio"), (f"{REFERENCE} {{server}}", "http")])
def test_client_command_not_fitting_its_transport_is_a_usage_error(client, transport, run_client_suite):
    result = run_client_suite(client, "--mcp-client-transport", transport)
    assert result.returncode == 4 and "{server}" in result.output


@pytest.mark.parametrize("template", ["{client}", "{client} --url={{url}}"])
def test_http_client_gets_the_url_and_the_official_environment(template, tmp_path):
    """Over HTTP the URL (a loopback port) is the last argument, or fills {url}; the
    environment follows the official suite's contract."""
    from conformance.client_plugin import ClientTarget

    out = tmp_path / "seen.json"
    client = (
        f"{sys.executable} -c \"import json, os, sys; json.dump([sys.argv[1:], dict(os.environ)], open('{out}', 'w'))\""
    )
    target = ClientTarget(template.format(client=client), timeout=10, transport="http")
    try:
        record = target.run("modern-mrtr")
    finally:
        target.cleanup()
    argv, env = json.loads(out.read_text())
    url = argv[-1].removeprefix("--url=")
    assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp"), argv
    assert (env["MCP_CONFORMANCE_SCENARIO"], env["MCP_CONFORMANCE_SUITE_SCENARIO"]) == (
        "sep-2322-client-request-state",
        "modern-mrtr",
    )
    assert env["MCP_CONFORMANCE_PROTOCOL_VERSION"] == "2026-07-28" and env["MCP_CONFORMANCE_CONTEXT"] == "{}"
    assert record.outcome.exit_code == 0 and not record.connected
