"""What a check uses to state its verdict.

Grading follows the spec's keywords: a broken MUST fails (`expect`, `fail`); a missed
SHOULD is a warning (`should`), which fails only under --mcp-strict; behaviour the spec
leaves open is noted (`info`); a check that does not apply is skipped with its reason
(`not_applicable`). The plugin turns these into PASS / WARN / INFO / SKIP / FAIL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from .schema import Violation


class CheckFailed(AssertionError):
    """A MUST-level requirement is broken; the message says what happened."""


class WireViolation(CheckFailed):
    """A message on the wire broke the schema of its revision or the framing rules."""


@dataclass
class Verdict:
    """What one check found, beyond pass/fail: warnings, notes, and the sessions it used."""

    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    sessions: list[tuple[Any, int]] = field(default_factory=list)  # (session, transcript mark)
    not_judged: list[Any] = field(default_factory=list)  # sessions whose wire validity another check owns

    def watch(self, session, since: int | None = None, judge_wire: bool = True) -> None:
        """Record `session` for this check: its messages from now (or from `since`) on. With
        `judge_wire` False the messages are shown but their schema validity is left to the
        one check that owns that exchange (one violation, one failure)."""
        if all(s is not session for s, _ in self.sessions):
            self.sessions.append((session, session.mark() if since is None else since))
        if not judge_wire:
            self.not_judged.append(session)

    def wire_violations(self) -> list[tuple[Any, Violation]]:
        return [pair for session, mark in self.sessions if all(session is not s for s in self.not_judged)
                for pair in session.violations(mark)]

    def messages(self, limit: int = 200) -> list[dict]:
        """The messages this check exchanged, as plain data (reports; crosses xdist)."""
        return [entry.as_dict() | {"connection": session.label}
                for session, mark in self.sessions for entry in session.transcript[mark:]][-limit:]

    def transcripts(self) -> str:
        return "\n\n".join(s.format_transcript(mark) for s, mark in self.sessions if s.transcript[mark:])


_current = Verdict()


def current() -> Verdict:
    return _current


def begin() -> Verdict:
    global _current
    _current = Verdict()
    return _current


def requirement(*ids: str):
    """Tag a check with the requirement IDs it verifies (IDs of the requirement catalogue)."""
    return pytest.mark.mcp_requirement(*ids)


def expect(condition: Any, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def fail(message: str) -> None:
    raise CheckFailed(message)


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
