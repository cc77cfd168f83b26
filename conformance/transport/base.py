"""What every transport shares: inbound items and the ways a connection ends."""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Iterator
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


class TransportStalled(TransportError):
    """The peer stopped reading what the suite writes (its input stayed full)."""


class Inbox:
    """Framed messages waiting to be read. A full inbox makes the producer wait (a flooding
    peer is slowed down, not buffered without bound); once ended, every later read says so."""

    def __init__(self, maxsize: int = 1000):
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._stopped = threading.Event()  # the transport is closing: producers stop waiting
        self.end_reason: str | None = None

    def put(self, item: Inbound) -> None:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def end(self, reason: str) -> None:
        """No more messages will come, for this reason (those already queued are still read)."""
        self.end_reason = self.end_reason or reason
        self.put(_END)  # wakes a reader waiting on an empty inbox

    def stop(self) -> None:
        """The transport is closing: producers stop waiting for room."""
        self._stopped.set()

    def get(self, timeout: float) -> Inbound | None:
        """The next message; None once the inbox has ended; TransportTimeout if none came."""
        try:
            item = self._queue.get(timeout=0 if self.end_reason else max(timeout, 0))
        except queue.Empty:
            if self.end_reason is not None:
                return None
            raise TransportTimeout(f"nothing received within {timeout:g}s") from None
        return None if item is _END else item


_END = object()


class OutputTail:
    """The last bytes a process wrote (older output is dropped), for failure messages."""

    def __init__(self, keep: int = 64 * 1024):
        self._chunks: deque[bytes] = deque()
        self._kept = 0
        self._keep = keep
        self._lock = threading.Lock()

    def append(self, chunk: bytes) -> None:
        with self._lock:
            self._chunks.append(chunk)
            self._kept += len(chunk)
            while self._kept > self._keep and len(self._chunks) > 1:
                self._kept -= len(self._chunks.popleft())

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()
            self._kept = 0

    def text(self, lines: int = 20) -> str:
        with self._lock:
            text = b"".join(self._chunks).decode("utf-8", errors="replace")
        return "\n".join(line[:500] for line in text.splitlines()[-lines:])


def pipe_chunks(fd: int, size: int = 65536) -> Iterator[bytes]:
    """What a pipe delivers until it closes (a read error counts as closed)."""
    while True:
        try:
            chunk = os.read(fd, size)
        except OSError:
            return
        if not chunk:
            return
        yield chunk
