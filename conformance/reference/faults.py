"""Switchable faults of the reference server, each naming the check written to catch it.

`tests/test_faults.py` runs the suite against the reference server with each fault and
asserts that the named check reports the expected outcome ("failed", or "warned" for a
missed SHOULD). A check with no fault here (or a recorded real-peer failure) is a defect.
`tests/test_precision.py` runs the whole suite against each fault and asserts that the
checks it fails or warns are exactly `Fault.checks` (the named check and `also`, at most
three in all): one defect, one failure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    description: str
    check: str  # the check's test name (matched with -k)
    outcome: str = "failed"  # "failed" (MUST broken), "warned" (SHOULD missed) or "informational" (noted)
    server_args: str = ""  # further reference-server options the fault needs, e.g. "--era modern"
    revision: str = "2025-11-25"  # the revision its check is run for in tests/test_faults.py
    also: tuple[str, ...] = ()  # other checks the defect rightly fails or warns (their own rule broken too)

    @property
    def checks(self) -> frozenset[str]:
        """Every check this fault makes fail or warn in a whole run of its revision."""
        return frozenset((self.check, *self.also))


FAULTS: dict[str, Fault] = {
    # startup and bad input (the server is unusable: one clear failed check)
    "exit-at-start": Fault("exits with status 3 before reading anything", "test_server_answers_initialize"),
    "silent": Fault("reads input but never answers", "test_server_answers_initialize"),
    "garbage": Fault(
        "answers every line with non-JSON text",
        "test_server_answers_initialize",
        also=("test_stdout_carries_only_messages",),
    ),
    "stdout-flood": Fault(
        "floods stdout with endless non-JSON lines",
        "test_server_answers_initialize",
        also=("test_stdout_carries_only_messages",),
    ),
    "stops-answering": Fault("answers the handshake, then no request at all", "test_requests_answered"),
    "no-known-version": Fault(
        "answers initialize with a version no revision defines, server/discover with -32601", "test_revisions_testable"
    ),
    # lifecycle
    "init-missing-server-info": Fault("initialize result without serverInfo", "test_initialize_result_shape"),
    "capabilities-not-object": Fault(
        "capabilities declared as a list", "test_capabilities_object", also=("test_initialize_result_shape",)
    ),
    "capability-not-object": Fault(
        "a capability value that is `true`, not an object",
        "test_capabilities_object",
        also=("test_initialize_result_shape",),
    ),
    "version-mismatch": Fault(
        "answers a version it does not echo when asked for it", "test_answered_versions_are_echoed"
    ),
    "version-oldest": Fault(
        "answers an unknown version with its oldest, not latest, version",
        "test_unsupported_version_gets_latest",
        "warned",
    ),
    "version-unsupported-answer": Fault(
        "answers an unknown version with a version it does not support", "test_unsupported_version_gets_supported"
    ),
    "request-before-initialized": Fault(
        "sends roots/list before the initialized notification",
        "test_no_requests_before_initialized",
        "warned",
        also=("test_roots_only_when_declared",),
    ),
    # ping
    "ping-not-empty": Fault("ping result carries a field", "test_ping"),
    "ping-error": Fault("ping answered with an error", "test_ping", also=("test_response_envelope",)),
    # JSON-RPC envelope
    "id-as-string": Fault("echoes integer ids as strings", "test_response_id_echoed"),
    "jsonrpc-version": Fault('responses say "jsonrpc": "1.0"', "test_response_envelope", also=("test_error_envelope",)),
    "error-code-string": Fault("error codes sent as strings", "test_error_envelope"),
    "result-and-error": Fault("error responses also carry a result", "test_error_envelope"),
    "unknown-method-result": Fault("answers an unknown method with a result", "test_unknown_method"),
    "unknown-method-code": Fault("answers an unknown method with -32603, not -32601", "test_unknown_method", "warned"),
    "answer-notifications": Fault("answers notifications with an error", "test_notifications_not_answered"),
    # malformed input
    "parse-error-silent": Fault("ignores lines that are not JSON", "test_parse_error", "warned"),
    "parse-error-with-id": Fault("answers a parse error with id 0", "test_parse_error"),
    "invalid-request-silent": Fault("ignores JSON that is not a JSON-RPC request", "test_invalid_request", "warned"),
    "invalid-request-result": Fault("answers an invalid request with a result", "test_invalid_request"),
    "crash-on-garbage": Fault("exits when it reads a line that is not JSON", "test_survives_malformed_input", "warned"),
    # stdio framing
    "stdout-banner": Fault("prints a banner line to stdout at startup", "test_stdout_carries_only_messages"),
    "pretty-json": Fault(
        "writes indented JSON (embedded newlines)",
        "test_stdout_carries_only_messages",
        also=("test_server_answers_initialize",),
    ),
    # batches
    "batch-processed": Fault(
        "processes JSON-RPC batches in revisions that removed them", "test_batch_rejected", "informational"
    ),
    "batch-unsupported": Fault(
        "rejects batches in 2025-03-26, which requires them", "test_batch_supported", revision="2025-03-26"
    ),
}


MODERN = "2026-07-28"


def modern(*args, **kwargs) -> Fault:
    """A fault whose check is judged in the modern era (2026-07-28)."""
    return Fault(*args, revision=MODERN, **kwargs)


def registry() -> dict[str, Fault]:
    """Every fault: the base ones above, the modern era's and each feature module's.
    Merged on demand, so a feature module may import `Fault` from here without a cycle."""
    from . import modern
    from .features import modules

    merged = dict(FAULTS)
    for module in [*modules(), modern]:
        merged.update(module.FAULTS)
    return merged


# Faults that change nothing a correct check may object to: the clean verdict must hold.
HARMLESS = {
    "stderr-flood": "writes megabytes to stderr while working normally",
    "slow-start": "waits a second before reading input",
    "notify-first": "sends a log notification before each response",
}
