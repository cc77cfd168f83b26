"""Precision: a reference fault fails (or warns) exactly the checks its registry entry
names, at most three, in a whole run of the suite for its revision. One defect, one
failure. (That the clean reference gives no warning, no BLOCKED and no failure at all is
tests/test_faults.py::test_clean_reference_passes_every_check.)

A whole run per fault costs about twenty seconds, so CI measures a fixed sample that
spans the spec areas and the ways a rule is owned (framing, envelope, schema sweep,
handshake, a check's own rule); `MCP_PRECISION=all` measures every fault, and
`MCP_PRECISION=name,name` just those:

    MCP_PRECISION=all python -m pytest tests/test_precision.py -n 2
"""

import os
import sys

import pytest

from conformance.reference.faults import registry

FAULTS = registry()
REFERENCE = f"{sys.executable} -m conformance.reference.server"
SAMPLE = (
    "stdout-banner",
    "result-and-error",
    "init-missing-server-info",
    "jsonrpc-version",
    "stops-answering",
    "tasks-create-returns-call-result",
)


def measured(choice: str) -> list[str]:
    """ "all", a comma-separated list of fault names, or (unset) the CI sample."""
    if choice == "all":
        return sorted(FAULTS)
    named = [n.strip() for n in choice.split(",") if n.strip()]
    return named or [n for n in SAMPLE if n in FAULTS]  # a misspelt name fails, not vanishes


MEASURED = measured(os.environ.get("MCP_PRECISION", ""))
MOVED = ("failed", "warned", "internal", "error")  # BLOCKED is right for the checks a fault stands in the way of


def moved(result) -> dict[str, str]:
    """Check name (without its revision) -> outcome, for every check that failed or warned
    (or broke the suite)."""
    return {name.split("[")[0]: outcome for name, outcome in result.outcomes.items() if outcome in MOVED}


def informational(result) -> dict[str, str]:
    return {name.split("[")[0]: o for name, o in result.outcomes.items() if o == "informational"}


def test_every_fault_names_at_most_three_checks():
    crowded = {name: sorted(f.checks) for name, f in FAULTS.items() if len(f.checks) > 3}
    assert not crowded, f"faults naming more than three checks: {crowded}"


@pytest.mark.parametrize("name", MEASURED)
def test_fault_fails_exactly_its_checks(run_suite, name):
    fault = FAULTS[name]
    result = run_suite(
        f"{REFERENCE} --fault {name} {fault.server_args}", "--mcp-version", fault.revision, "--mcp-fuzz-examples", "5"
    )
    found = moved(result)
    if fault.outcome == "informational":  # a note, not a failure: the named check shows it
        found.update({c: o for c, o in informational(result).items() if c == fault.check})
    unexpected = {check: o for check, o in found.items() if check not in fault.checks or o in ("internal", "error")}
    missing = fault.checks - set(found)
    assert not unexpected and not missing, (
        f"fault {name} should move exactly {sorted(fault.checks)}; unexpected: {unexpected}, missing: "
        f"{sorted(missing)}\n" + result.explain(list(unexpected))[-6000:]
    )
