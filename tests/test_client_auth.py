"""Authorization in the client leg (the `auth/*` scenarios): each OAuth fault of the
reference client is caught by its check, the checks of the clean reference pass, and the
OAuth clients of the Python and TypeScript SDKs, driven only by the official environment
contract, get no false failures.

The fault cases run the real reference client against the real harness (its processes
and loopback servers), and call the check functions directly on the records (a suite run
per fault would cost a pytest start each); the whole-suite path is covered by the clean
and SDK runs."""

from __future__ import annotations

import shutil
import sys

import pytest
from conformance.scenarios.client import authorization as auth
from conftest import require_peer

from conformance import checks
from conformance.client_plugin import ClientTarget
from conformance.reference.oauth_faults import FAULTS

REFERENCE = f"{sys.executable} -m conformance.reference.client"


def judge(target: ClientTarget, check: str, scenario: str | None) -> tuple[str, str]:
    """Run one authorization check on `target`'s records: (outcome, explanation)."""
    verdict = checks.begin(check)
    run = auth.runner(target.run, "http")
    function = getattr(auth, check)
    try:
        function(run, scenario) if scenario else function(run)
    except checks.CheckFailed as failed:
        return "failed", str(failed)
    except checks.Blocked as stopped:
        return "blocked", str(stopped)
    except pytest.skip.Exception as skipped:
        return "skipped", str(skipped)
    return ("warned" if verdict.warnings else "passed"), "\n".join(verdict.warnings)


@pytest.fixture
def target_of(tmp_path):
    made = []

    def make(command: str) -> ClientTarget:
        made.append(ClientTarget(command, timeout=15, transport="http"))
        return made[-1]

    yield make
    for target in made:
        target.cleanup()


def checks_with_parameters() -> list[tuple[str, str | None]]:
    found = []
    for name in dir(auth):
        function = getattr(auth, name)
        if name.startswith("test_") and callable(function):
            marks = [m for m in getattr(function, "pytestmark", []) if m.name == "parametrize"]
            found += [(name, value) for value in marks[0].args[1]] if marks else [(name, None)]
    return found


def test_every_oauth_check_has_a_fault():
    uncovered = {check for check, _ in checks_with_parameters()} - {
        check for check, _, outcome, _ in FAULTS.values() if outcome in ("failed", "warned")
    }
    assert not uncovered, f"authorization checks no reference-client fault can fail: {sorted(uncovered)}"


def test_clean_reference_client_passes_every_oauth_check(target_of):
    target = target_of(REFERENCE)
    target.prefetch(auth.SCENARIOS)
    results = {(check, scenario): judge(target, check, scenario) for check, scenario in checks_with_parameters()}
    bad = {key: value for key, value in results.items() if value[0] != "passed"}
    assert not bad, "\n\n".join(
        f"{check}[{scenario}]: {outcome}\n{text}" for (check, scenario), (outcome, text) in bad.items()
    )


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_oauth_fault_is_caught_by_its_check(fault, target_of, monkeypatch):
    check, scenario, outcome, words = FAULTS[fault]
    # A rule of every flow is judged here on the plainest flow alone (each fault shows
    # there); the clean reference is judged on all of them.
    for every in ("ALL", "CODE_FLOWS"):
        monkeypatch.setattr(auth, every, [auth.FIRST])
    got, text = judge(target_of(f"{REFERENCE} --fault {fault}"), check, scenario)
    assert (got, words in text) == (outcome, True), f"{check}[{scenario}]: {got}\n{text}"


# -- real peers: SDK OAuth clients driven by the official environment contract only ---------------
PEERS = __import__("pathlib").Path(__file__).resolve().parent / "peers"
TS_SDK = PEERS / "node_modules" / "@modelcontextprotocol" / "sdk" / "package.json"
SDK_FINDINGS = {  # check -> (outcome, words): what each SDK gets wrong, with its spec section
    # Python mcp 2.3.0: nothing in mcp/client reads code_challenge_methods_supported, so it
    # authorizes when the metadata does not advertise PKCE (2025-11-25 authorization,
    # "Authorization Code Protection": clients MUST refuse to proceed)
    "python": {
        "test_auth_refuses_without_pkce_support": ("failed", "auth/pkce-not-advertised, auth/oidc-pkce-not-advertised")
    },
    # TypeScript @modelcontextprotocol/sdk 1.32.2: the same PKCE gap; no RFC 9207 `iss` check
    # (2026-07-28 authorization, "Authorization Response Issuer Validation"); no check that the
    # metadata's issuer is the one it was fetched for (2026-07-28 authorization server
    # discovery, RFC 8414 section 3.3); on 403 insufficient_scope it refreshes its token, which
    # cannot add scope, instead of authorizing again (2025-11-25 authorization, "Step-Up
    # Authorization Flow", a SHOULD)
    "typescript": {
        "test_auth_refuses_without_pkce_support": ("failed", "auth/pkce-not-advertised"),
        "test_auth_iss_checked": ("failed", "auth/iss-wrong-issuer"),
        "test_auth_metadata_issuer_checked": ("failed", "still sent an authorization request"),
        "test_auth_step_up": ("warned", "used its refresh token"),
    },
}

# Skipped for both, with these reasons: neither SDK client fetches icons (a headless client
# shows none), so whether it would send its token with them cannot be seen; both use the
# official suite's fixed client ID metadata URL, which nobody serves
SDK_SKIPS = {
    "test_auth_icons_fetched_without_credentials": "fetched no tool icon",
    "test_auth_client_metadata_document": "no client ID metadata document was fetched",
}


def sdk_command(sdk: str) -> str:
    if sdk == "python":
        return f"{sys.executable} {PEERS / 'sdk_auth_client.py'}"
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the TypeScript SDK client needs Node.js 20 or later", pytrace=False)
    require_peer(TS_SDK, "@modelcontextprotocol/sdk")
    return f"{node} {PEERS / 'ts_auth_client.mjs'}"


@pytest.mark.parametrize("sdk", sorted(SDK_FINDINGS))
def test_sdk_oauth_client_gets_no_false_failures(sdk, run_suite, tmp_path):
    """The Python run also applies an expected-failures file as the official suite writes
    them (scenario names): it covers our check of that scenario (XFAIL, exit 0)."""
    baseline = tmp_path / "expected.yml"
    baseline.write_text("client:\n  - auth/pkce-not-advertised\n")
    extra = ["--mcp-expected-failures", str(baseline)] if sdk == "python" else []
    result = run_suite(None, "--mcp-client", sdk_command(sdk), "-k", "test_auth_", *extra)
    expected = {check for check, _ in checks_with_parameters()}
    judged = {name.split("[", 1)[0] for name in result.outcomes}
    assert judged == expected, result.explain()
    findings = dict(SDK_FINDINGS[sdk])
    if extra:
        check = "test_auth_refuses_without_pkce_support"
        assert result.outcomes[check] == "skipped" and "1 xfailed" in result.output, result.explain([check])
        assert result.returncode == 0, result.explain()
        findings.pop(check)
    for check, (outcome, words) in findings.items():
        case = result.case(check)
        assert case.outcome == outcome and words in case.text + case.warnings, result.explain([check])
    for check, words in SDK_SKIPS.items():
        case = result.case(check)
        assert case.outcome == "skipped" and words in case.text, result.explain([check])
    bad = [
        name
        for name in result.with_outcome("failed", "error", "warned", "skipped", "blocked")
        if name.split("[", 1)[0] not in {**SDK_FINDINGS[sdk], **SDK_SKIPS}
    ]
    assert not bad, result.explain(bad)
