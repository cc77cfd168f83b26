"""The client leg (`pytest --mcp-client "CMD {server}"`): the reference client passes every
check, each of its faults is caught by its check, the official Python SDK client gets no
false failures, and clients that never connect, hang or exit early fail one clear check in
time with no process left behind."""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import pytest


LOAD = ("-p", "conformance.client_plugin")  # redundant once conformance.plugin registers it
REFERENCE = f"{sys.executable} -m conformance.reference.client"
SDK_CLIENT = f"{sys.executable} {Path(__file__).resolve().parent / 'peers' / 'sdk_client.py'}"
STARTUP = "test_client_connects_and_initializes"
CHECKS = {
    STARTUP, "test_initialize_request_shape", "test_requests_a_published_version", "test_initialize_comes_first",
    "test_initialized_before_other_requests", "test_request_ids_not_reused", "test_writes_only_mcp_messages",
    "test_answers_server_requests_in_any_order", "test_answers_ping", "test_roots_list", "test_sampling_answered",
    "test_elicitation_answered", "test_disconnects_on_unsupported_version", "test_older_version_answered",
    "test_closes_stdin_first", "test_modern_requests_carry_meta", "test_discover_probe_first", "test_retries_after_unsupported_version",
}


@pytest.fixture
def run_client_suite(run_suite):
    """run_client_suite(client_command, *pytest_args, env=None): a client-leg suite run."""
    def run(client_command: str, *args: str, env: dict | None = None):
        return run_suite(None, *LOAD, "--mcp-client", client_command, *args, env=env)
    return run


def test_reference_client_passes_every_check(run_client_suite):
    result = run_client_suite(f"{REFERENCE} {{server}}")
    assert set(result.outcomes) == CHECKS, result.explain()
    bad = result.with_outcome("failed", "error", "warned", "skipped")
    assert not bad, result.explain(bad)
    assert result.returncode == 0


FAULTS = {  # fault -> (the check that catches it, its outcome, words in the explanation)
    "no-initialized": ("test_initialized_before_other_requests", "failed", "never sent notifications/initialized"),
    "wrong-version-field": ("test_initialize_request_shape", "failed", "protocolVersion must be a string"),
    "ids-reused": ("test_request_ids_not_reused", "failed", "used more than once"),
    "answers-ping-wrong": ("test_answers_ping", "failed", "answered with an error"),
    "sends-request-before-initialize": ("test_initialize_comes_first", "failed", "'tools/list', not initialize"),
    "ignores-version": ("test_disconnects_on_unsupported_version", "warned", "yet the client went on"),
    "bad-sampling-result": ("test_sampling_answered", "failed", "wire-schema-valid"),
    "answers-undeclared-roots": ("test_roots_list", "warned", "should get error -32601"),
    "not-json": ("test_writes_only_mcp_messages", "failed", "no JSON-RPC message"),
    "ignores-server-requests": ("test_answers_server_requests_in_any_order", "failed", "never answered"),
    "exits-early": (STARTUP, "failed", "never started the suite's server"),
    "sigterm-first": ("test_closes_stdin_first", "warned", "without first closing its stdin"),
    "no-meta": ("test_modern_requests_carry_meta", "failed", "lacks io.modelcontextprotocol/clientCapabilities"),
    "retries-same-version": ("test_retries_after_unsupported_version", "warned", "1 more request(s)"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_caught_by_its_check(fault, run_client_suite):
    check, outcome, words = FAULTS[fault]
    result = run_client_suite(f"{REFERENCE} --fault {fault} {{server}}", "-k", check)
    case = result.case(check)
    assert case.outcome == outcome, result.explain([check])
    assert words in case.text + case.warnings, result.explain([check])


def test_sdk_client_gets_no_false_failures(run_client_suite):
    result = run_client_suite(f"{SDK_CLIENT} {{server}}")
    assert set(result.outcomes) == CHECKS, result.explain()
    bad = result.with_outcome("failed", "error", "warned")
    assert not bad, result.explain(bad)
    # It probes server/discover, goes modern when offered, and falls back to initialize
    # for a server naming only legacy revisions: the modern checks judged it, none skipped.
    assert not result.with_outcome("skipped"), result.explain(result.with_outcome("skipped"))
    assert "retried with initialize for 2025-11-25" in result.case("test_retries_after_unsupported_version").notes


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


@pytest.mark.parametrize("client, words", [
    (f"{sys.executable} -c pass {{server}}", "never started the suite's server"),
    (f"{sys.executable} -c 'import time; time.sleep(60)' {{server}}", "did not exit within"),
    (f"{REFERENCE} --fault hangs {{server}}", "did not finish its session"),
    (f"{REFERENCE} --fault exits-early {{server}}", "exited with code 3"),
    ("/nonexistent/mcp-client {server}", "could not start the client"),
], ids=["never-connects", "hangs-silently", "hangs-after-session", "exits-early", "not-found"])
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


def test_client_command_without_placeholder_is_a_usage_error(run_client_suite):
    result = run_client_suite(f"{REFERENCE}")
    assert result.returncode == 4 and "{server}" in result.output
