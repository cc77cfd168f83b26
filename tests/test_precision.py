"""Precision: a reference fault fails (or warns) exactly the checks its registry entry
names, at most three, in a whole run of the suite for its revision; the clean reference
gives no warning at all. One defect, one failure.

A whole run per fault costs about twenty seconds, so CI measures a fixed sample that
spans the spec areas and the ways a rule is owned (framing, envelope, schema sweep,
handshake, a check's own rule); `MCP_PRECISION=all` measures every fault:

    MCP_PRECISION=all python -m pytest tests/test_precision.py -n 2
"""

import os
import sys

import pytest

from conformance.reference.faults import registry

FAULTS = registry()
REFERENCE = f"{sys.executable} -m conformance.reference.server"
SAMPLE = ("stdout-banner", "result-and-error", "id-as-string", "init-missing-server-info", "ping-error",
          "jsonrpc-version", "unknown-method-code", "parse-error-with-id", "batch-unsupported")
MEASURED = sorted(FAULTS) if os.environ.get("MCP_PRECISION") == "all" else [n for n in SAMPLE if n in FAULTS]
MOVED = ("failed", "warned", "blocked", "internal", "error")  # a clean check shows none of these


def moved(result) -> dict[str, str]:
    """Check name (without its revision) -> outcome, for every check that did not pass or skip."""
    return {name.split("[")[0]: outcome for name, outcome in result.outcomes.items() if outcome in MOVED}


def test_every_fault_names_at_most_three_checks():
    crowded = {name: sorted(f.checks) for name, f in FAULTS.items() if len(f.checks) > 3}
    assert not crowded, f"faults naming more than three checks: {crowded}"


@pytest.mark.parametrize("name", MEASURED)
def test_fault_fails_exactly_its_checks(run_suite, name):
    fault = FAULTS[name]
    result = run_suite(f"{REFERENCE} --fault {name} {fault.server_args}", "--mcp-version", fault.revision,
                       "--mcp-fuzz-examples", "5")
    found = moved(result)
    unexpected = {check: o for check, o in found.items() if check not in fault.checks or o not in ("failed", "warned")}
    missing = fault.checks - set(found)
    assert not unexpected and not missing, (
        f"fault {name} should move exactly {sorted(fault.checks)}; unexpected: {unexpected}, missing: "
        f"{sorted(missing)}\n" + result.explain(list(unexpected))[-6000:])


def test_clean_reference_gives_no_warning(run_suite):
    result = run_suite(REFERENCE, "--mcp-fuzz-examples", "5")
    assert not moved(result), result.explain(list(moved(result)))
