"""Who owns each rule about a session as a whole, and the run's ledger of wire violations.

One rule, one owner: a message that breaks the framing, the JSON-RPC envelope or its schema
is failed by the check that owns that rule, never by every check that happened to receive
it. Other checks judge their own requirement; one that cannot (its answer was not a
message, or the connection stopped answering) ends BLOCKED naming the owner.

The ledger records every violation any connection of this process met, once per root
cause (its Signature) and revision, so that the sweep check that owns schema validity
(`test_messages_valid`) can report what no other check claimed. Sans-IO: it reads
transcript entries and knows nothing of processes or sockets.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from .checks import Signature
from .jsonrpc import Kind

# The owners of the session-wide rules (test names in scenarios/).
STARTUP = "test_server_answers_initialize"
FRAMING = "test_stdout_carries_only_messages"
ENVELOPE = "test_response_envelope"
ERROR_ENVELOPE = "test_error_envelope"
IDS = "test_response_id_echoed"
ANSWERING = "test_requests_answered"
SCHEMA = "test_messages_valid"
SCHEMA_REQUIREMENT = "basic-003"  # messages are valid JSON-RPC 2.0 / MCP (both catalogues)
# Output that is no JSON-RPC message at all: one problem, whether it kept the server from
# being used (test_server_answers_initialize) or not (test_stdout_carries_only_messages).
FRAMING_PROBLEM = Signature("transports-003", "", "", "output that is no JSON-RPC message")

INDEX = re.compile(r"\[\d+\]")


def rule_of(message, violation) -> str:
    """ "framing" (not a JSON-RPC message at all), "envelope" (the JSON-RPC frame of a
    response: jsonrpc, id, result or error, an error's code and message), "batch" and
    "request-id" (judged by their own checks), or "content" (what a method's params or
    result carry: the schema sweep's)."""
    if message is None or message.kind in (Kind.NOT_JSON, Kind.INVALID):
        return "framing"
    if message.kind is Kind.BATCH:
        return "batch"  # test_batch_supported / test_batch_rejected judge a batch reply
    if message.kind is Kind.REQUEST and violation.path == "$.id":
        return "request-id"  # test_server_request_ids judges the ids of the server's requests
    if (
        message.is_response
        and violation.definition.startswith("JSONRPC")
        and not violation.path.startswith(("$.result", "$.params"))
    ):
        return "envelope"
    return "content"


def owner_of(rule: str, message=None) -> str:
    if rule == "framing":
        return FRAMING
    if rule == "envelope":
        return ERROR_ENVELOPE if message is not None and message.kind is Kind.ERROR else ENVELOPE
    return SCHEMA


def folded(path: str) -> str:
    """A JSON path with its array indices folded: one problem whichever element shows it."""
    return INDEX.sub("[]", path)


def signature_of(entry, violation) -> Signature:
    message = getattr(entry, "message", None)
    method = getattr(entry, "answers", None) or (message.method if message is not None else None) or ""
    return Signature(SCHEMA_REQUIREMENT, violation.definition, folded(violation.path), str(method))


def about_members(violations, members, base: str = "$.result") -> list:
    """The violations within the given members of the object at `base`, or of one missing:
    what a check that owns those members claims, leaving the rest of the object to theirs."""

    def inside(violation) -> bool:
        path = violation.path
        return any(
            path == f"{base}.{m}"
            or path.startswith((f"{base}.{m}[", f"{base}.{m}."))
            or (path == base and violation.message.startswith(f"'{m}'"))
            for m in members
        )

    return [v for v in violations if inside(v)]


def schema_signatures(violations, method: str) -> list[Signature]:
    """The signatures of violations a check found by validating a message itself."""
    return list(dict.fromkeys(Signature(SCHEMA_REQUIREMENT, v.definition, folded(v.path), method) for v in violations))


@dataclass
class Seen:
    """The first time a root cause was met: what, where and on which connection."""

    signature: Signature
    rule: str
    owner: str
    text: str  # the violation and the message, for the failure message
    connection: str


class Ledger:
    """Every wire violation met in this process, per revision and root cause."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[Signature, Seen]] = {}
        self._claimed: dict[str, set[Signature]] = {}
        self._lock = threading.Lock()

    def record(self, revision: str, entry, violations, connection: str = "") -> None:
        with self._lock:
            seen = self._seen.setdefault(revision, {})
            for violation in violations:
                signature = signature_of(entry, violation)
                if signature not in seen:
                    message = getattr(entry, "message", None)
                    rule = rule_of(message, violation)
                    excerpt = entry.format(300) if hasattr(entry, "format") else ""
                    seen[signature] = Seen(
                        signature, rule, owner_of(rule, message), f"{violation}\n    {excerpt.strip()}", connection
                    )

    def claim(self, revision: str, signatures) -> None:
        """A check failed for these: the sweep does not report them again."""
        with self._lock:
            self._claimed.setdefault(revision, set()).update(signatures)

    def unclaimed(self, revision: str, rules=("content",)) -> list[Seen]:
        with self._lock:
            claimed = self._claimed.get(revision, set())
            return [s for s in self._seen.get(revision, {}).values() if s.rule in rules and s.signature not in claimed]


LEDGER = Ledger()
