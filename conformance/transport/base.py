"""What every transport shares: inbound items and the ways a connection ends."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Inbound:
    """One framed message as it arrived: when (monotonic seconds) and its bytes."""

    t: float
    raw: bytes
    note: str = ""  # a framing problem noticed by the transport, if any


class TransportError(Exception):
    """The peer cannot be talked to; `str()` is the reason to show the user."""

    def __init__(self, reason: str, exit_code: int | None = None, stderr_tail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail

    def explain(self) -> str:
        text = self.reason
        if self.stderr_tail:
            text += "\n--- last lines of the server's stderr ---\n" + self.stderr_tail
        else:
            text += "\n(the server wrote nothing to stderr)"
        return text


class ServerStartError(TransportError):
    """The server process could not be started at all."""


class TransportClosed(TransportError):
    """The peer went away (exited, closed its output)."""


class TransportTimeout(TransportError):
    """Nothing arrived within the time allowed."""
