"""The suite proves itself on the reference server: the clean server passes every check,
each registered fault makes its own check fail (or warn, for a SHOULD), harmless quirks
change nothing, and no check is left without a fault that can fail it."""

import json
import sys

import pytest

from conformance.ledger import SCHEMA
from conformance.reference.faults import HARMLESS, registry

FAULTS = registry()

REFERENCE = f"{sys.executable} -m conformance.reference.server"


def verdicts(result, check: str) -> set[str]:
    return {outcome for name, outcome in result.outcomes.items() if name.split("[")[0] == check}


def test_clean_reference_passes_every_check(run_suite):
    result = run_suite(REFERENCE)
    bad = {n: o for n, o in result.outcomes.items() if o not in ("passed", "skipped")}
    assert not bad, result.output
    assert sum(o == "passed" for o in result.outcomes.values()) > 50


def selection(fault) -> list[str]:
    """The -k that runs the fault's checks; the schema sweep judges what the whole run
    saw, so a fault it names runs the whole revision."""
    if SCHEMA in fault.checks:
        return ["--mcp-fuzz-examples", "5"]
    return ["-k", " or ".join(sorted(fault.checks))]


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_is_caught_by_its_check(run_suite, name):
    fault = FAULTS[name]
    result = run_suite(
        f"{REFERENCE} --fault {name} {fault.server_args}", *selection(fault), "--mcp-version", fault.revision
    )
    found = verdicts(result, fault.check)
    assert fault.outcome in found, (
        f"fault {name} should make {fault.check} {fault.outcome}, got {found}\n" + result.output[-4000:]
    )


@pytest.mark.parametrize("name", sorted(HARMLESS))
def test_harmless_quirk_changes_no_verdict(run_suite, name):
    # The quirks act alike in every revision: one legacy and the modern one suffice (only the
    # legacy one for slow-start, which delays every fresh connection by a second).
    revisions = ["2025-11-25"] if name == "slow-start" else ["2025-11-25", "2026-07-28"]
    result = run_suite(f"{REFERENCE} --fault {name}", *[arg for r in revisions for arg in ("--mcp-version", r)])
    bad = {n: o for n, o in result.outcomes.items() if o not in ("passed", "skipped")}
    assert not bad, result.output[-4000:]


# Checks that only take notes, where the spec sets no rule to fail (a fault shows the note).
NOTES_ONLY = {
    "test_batch_rejected": "no rule for a batch sent in a revision without batches",
    "test_auth_server_metadata_discoverable": "it judges the authorization server, not the MCP server",
}


def test_every_check_has_a_fault():
    """Every server check has a fault that makes it fail or warn (a fault graded
    informational does not count), except the notes-only ones, listed with their reason.
    (The client leg's checks, area client.*: tests/test_client.py and test_client_auth.py.)"""
    from conformance.catalogue import checks
    from conformance.reference.http import FAULTS as HTTP_FAULTS  # exercised in tests/test_http.py

    faults = [*FAULTS.values(), *HTTP_FAULTS.values()]
    caught = {fault.check for fault in faults if fault.outcome in ("failed", "warned")}
    uncovered = sorted(
        c.name
        for c in checks()
        if not c.area.startswith("client.") and c.name not in caught and c.name not in NOTES_ONLY
    )
    assert not uncovered, f"checks no reference fault can fail: {uncovered}"
    assert {f.check for f in faults if f.outcome == "informational"} <= caught | set(NOTES_ONLY)


def test_tools_of_other_features_refuse_a_task_field():
    """Every reference tool without taskSupport answers a task-augmented call with -32601,
    the tools of the client-request features too: which one test_task_forbidden_tool_rejected
    tries first depends on the listing's order (fixture-tools-order-varies shuffles it)."""
    from conformance.reference.server import ReferenceServer

    server = ReferenceServer()

    def send(message: dict) -> list[dict]:
        return [json.loads(line) for line in server.handle(json.dumps({"jsonrpc": "2.0", **message}).encode())]

    send(
        {
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"},
            },
        }
    )
    send({"method": "notifications/initialized"})
    for name in ("list_roots", "ask_url", "connect_account"):
        answer = [
            m
            for m in send({"id": name, "method": "tools/call", "params": {"name": name, "arguments": {}, "task": {}}})
            if m.get("id") == name
        ]
        assert answer[0].get("error", {}).get("code") == -32601, (name, answer)
