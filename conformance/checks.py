"""What a check uses to state its verdict.

Grading follows the spec's keywords: a broken MUST fails (`expect`, `fail`); a missed
SHOULD is a warning (`should`), which fails only under --mcp-strict; behaviour the spec
leaves open is noted (`info`); a check that does not apply is skipped with its reason
(`not_applicable`). The plugin turns these into PASS / WARN / INFO / SKIP / FAIL.

Two outcomes say that the check did not judge its requirement: BLOCKED (`blocked`), when
something another check owns stood in the way (a session-wide rule broken, a connection
that stopped answering), naming that owner; and INTERNAL, when the suite itself raised an
unexpected exception (a bug of the suite, never counted against the implementation).
A failure carries root-cause signatures (`Signature`), so that one defect met by several
checks reads as one problem (`problems`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NoReturn

import pytest


@dataclass(frozen=True)
class Signature:
    """The root cause of a failure: the requirement broken and, for a message that breaks
    its schema, the definition, the JSON path (array indices folded to []) and the method.
    Failures with equal signatures are one problem."""

    requirement: str
    definition: str = ""
    path: str = ""
    method: str = ""

    def __str__(self) -> str:
        return " \u00b7 ".join(part for part in (self.requirement, self.definition, self.path, self.method) if part)


def problems(failures: Iterable[tuple[str, Iterable[str]]]) -> dict[str, list[str]]:
    """Failed checks grouped by root cause: (check id, its signatures) pairs in, signature ->
    the ids of the checks it failed out, in the order first seen. A failure without a
    signature is a problem of its own, named by its check id."""
    grouped: dict[str, list[str]] = {}
    for check_id, signatures in failures:
        for signature in list(signatures) or [check_id]:
            grouped.setdefault(str(signature), [])
            if check_id not in grouped[str(signature)]:
                grouped[str(signature)].append(check_id)
    return grouped


class CheckFailed(AssertionError):
    """A MUST-level requirement is broken; the message says what happened. `signatures`
    name the root cause when it is not simply the check's own requirement; `owner` names
    the check whose rule it is, when a shared helper raised it (in any other check the
    failure is BLOCKED, naming that owner)."""

    def __init__(self, message: str = "", signatures: Iterable[Signature] = (), owner: str | None = None):
        super().__init__(message)
        self.signatures = list(signatures)
        self.owner = owner


class Blocked(Exception):
    """The check could not judge its requirement because of something `owner` (another
    check) judges: BLOCKED, counted apart from FAIL and SKIP."""

    def __init__(self, reason: str, owner: str, met_by: str = "", cause: Exception | None = None):
        super().__init__(f"{reason} (judged by {owner})")
        self.reason = reason
        self.owner = owner
        self.met_by = met_by  # the check that found it, when the block holds for a whole revision
        self.cause = cause  # what it met (a NoResponse carries its evidence: session, transcript index)


@dataclass
class Verdict:
    """What one check found, beyond pass/fail: warnings, notes, and the sessions it used."""

    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    sessions: list[tuple[Any, int]] = field(default_factory=list)  # (session, transcript mark)
    check: str = ""  # the test name of the running check (without its parameters)

    def watch(self, session, since: int | None = None) -> None:
        """Record `session` for this check: its messages from now (or from `since`) on are
        shown with the check and the report. Their schema validity is judged once, by the
        sweep check that owns it (conformance.ledger: one violation, one failure)."""
        if all(s is not session for s, _ in self.sessions):
            self.sessions.append((session, session.mark() if since is None else since))

    def messages(self, limit: int = 200) -> list[dict]:
        """The messages this check exchanged, as plain data (reports; crosses xdist)."""
        return [
            entry.as_dict() | {"connection": session.label}
            for session, mark in self.sessions
            for entry in session.transcript[mark:]
        ][-limit:]

    def transcripts(self) -> str:
        return "\n\n".join(s.format_transcript(mark) for s, mark in self.sessions if s.transcript[mark:])


_current = Verdict()
_ahead = threading.local()  # on a thread doing work ahead for a check (Target.run_ahead)


def current() -> Verdict:
    return getattr(_ahead, "verdict", None) or _current


def act_for(check: str) -> None:
    """On a thread of work done ahead: what it meets is met by `check`, the first check
    that will use it (as if that check had done the work itself, as in a serial run)."""
    _ahead.verdict = Verdict(check=check)


def begin(check: str = "") -> Verdict:
    global _current
    _current = Verdict(check=check)
    return _current


def requirement(*ids: str):
    """Tag a check with the requirement IDs it verifies (IDs of the requirement catalogue)."""
    return pytest.mark.mcp_requirement(*ids)


def scenarios(*names: str, param: str | None = None):
    """Tag a client-leg check with the scenarios whose runs it judges (the official suite's
    names where it has them), or with its parameter `param` when that is the scenario: an
    expected-failures entry naming a scenario then covers the check."""
    return pytest.mark.mcp_scenarios(*names, param=param)


def expect(condition: Any, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def fail(message: str, signatures: Iterable[Signature] = ()) -> NoReturn:
    raise CheckFailed(message, signatures)


def blocked(reason: str, owner: str) -> NoReturn:
    """End the check BLOCKED: `reason` kept it from judging its requirement, and `owner`
    is the check that judges that reason."""
    raise Blocked(reason, owner)


def sweep(function):
    """Mark a check that judges what the whole run saw on every connection (the ledger of
    wire violations, log messages...): it runs after every other check of the run."""
    return pytest.mark.mcp_sweep(function)


def should(condition: Any, message: str) -> bool:
    if not condition:
        _current.warnings.append(message)
    return bool(condition)


def info(message: str) -> None:
    _current.infos.append(message)


def not_applicable(reason: str) -> None:
    pytest.skip(reason)


def legacy_only(revision: str) -> None:
    """Skip in the modern era (2026-07-28 on), which has no initialize handshake."""
    if revision >= "2026":
        not_applicable(f"{revision} has no initialize handshake (legacy-era check)")


def modern_only(revision: str) -> None:
    if revision < "2026":
        not_applicable(f"{revision} is a legacy-era revision (modern-era check)")
