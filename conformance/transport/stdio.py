"""stdio transport: a child process speaking newline-delimited JSON-RPC.

Moves bytes only. The child runs in its own process group so that everything it starts
can be stopped with it; shutdown follows the spec's stdio sequence (close stdin, wait,
SIGTERM, SIGKILL). Every read has a timeout; stderr is drained continuously (a server
flooding it cannot block) and only its tail is kept for failure messages.
"""

from __future__ import annotations

import atexit
import os
import select
import shlex
import signal
import subprocess
import threading
import time
import weakref

from ..jsonrpc import LineFramer, OversizedLine
from . import reaper
from .base import Inbound, Inbox, OutputTail, ServerStartError, TransportClosed, TransportStalled, pipe_chunks

_live: weakref.WeakSet[StdioTransport] = weakref.WeakSet()


def close_all() -> None:
    """Stop every process this interpreter started (end of run, interrupts)."""
    for transport in list(_live):
        transport.close()


atexit.register(close_all)


class StdioTransport:
    kind = "stdio"
    ordered = True  # the peer's messages arrive in the order it wrote them (Session.barrier)

    def __init__(
        self,
        command: str,
        *,
        env: dict | None = None,
        cwd: str | None = None,
        shutdown_grace: float = 2.0,
        stderr_keep: int = 64 * 1024,
        write_timeout: float = 5.0,
    ):
        self.command = command
        self.argv = shlex.split(command)
        self.env = env
        self.cwd = cwd
        self.shutdown_grace = shutdown_grace
        self.write_timeout = write_timeout
        self.started_at = time.monotonic()
        self._inbox = Inbox()
        self._stderr = OutputTail(stderr_keep)
        self._closed = False
        self.proc: subprocess.Popen | None = None
        self.stdout_eof = False

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> StdioTransport:
        if not self.argv:
            raise ServerStartError("the server command is empty")
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                bufsize=0,
            )
        except FileNotFoundError:
            raise ServerStartError(f"command not found: {self.argv[0]!r} (from {self.command!r})") from None
        except PermissionError:
            raise ServerStartError(f"command not executable: {self.argv[0]!r}") from None
        except OSError as exc:
            raise ServerStartError(f"could not start {self.command!r}: {exc}") from None
        _live.add(self)
        reaper.watch(self.proc.pid)
        self.started_at = time.monotonic()
        threading.Thread(target=self._read_stdout, daemon=True, name="mcp-stdout").start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True, name="mcp-stderr")
        self._stderr_reader.start()
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def exit_code(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def close(self) -> int | None:
        """Spec order: close stdin, wait; SIGTERM the group, wait; SIGKILL the group."""
        if self._closed or self.proc is None:
            return self.exit_code
        self._closed = True
        self._inbox.stop()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        if not self._wait(self.shutdown_grace):
            self._signal_group(signal.SIGTERM)
            if not self._wait(self.shutdown_grace):
                self._signal_group(signal.SIGKILL)
                self._wait(self.shutdown_grace)
        # The leader may be gone while children it started live on in the group.
        self._signal_group(signal.SIGKILL)
        reaper.release(self.proc.pid)
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        _live.discard(self)
        return self.exit_code

    def _wait(self, seconds: float) -> bool:
        try:
            self.proc.wait(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    # -- bytes out -----------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Write exactly these bytes (framing is the caller's: a message plus b"\\n")."""
        if self.proc is None or self._closed:
            raise TransportClosed("the transport is closed", self.exit_code, self.stderr_tail())
        try:
            self._write_within(data, self.write_timeout)
        except (BrokenPipeError, ValueError, OSError):
            raise TransportClosed(self._gone_reason(), self.exit_code, self.stderr_tail()) from None

    def _write_within(self, data: bytes, seconds: float) -> None:
        """Write all of `data`, waiting at most `seconds` for room: a server that stops
        reading its input (say, while it floods its output) must not hang the suite."""
        fd = self.proc.stdin.fileno()
        os.set_blocking(fd, False)
        view, deadline = memoryview(data), time.monotonic() + seconds
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransportStalled(
                    f"the server read none of the last {len(view)} bytes written to its stdin "
                    f"within {seconds:g}s: it stopped reading its input",
                    self.exit_code,
                    self.stderr_tail(),
                )
            select.select([], [fd], [], remaining)
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                continue

    def send_message(self, data: bytes) -> None:
        self.send(data + b"\n")

    def send_messages(self, messages: list[bytes]) -> None:
        """Several messages, each framed, in one write."""
        self.send(b"".join(data + b"\n" for data in messages))

    # -- bytes in ------------------------------------------------------------------
    def receive(self, timeout: float) -> Inbound:
        """The next framed message, or TransportTimeout / TransportClosed."""
        item = self._inbox.get(timeout)
        if item is None:
            if self.proc is not None:
                self._wait(0.5)
                self._stderr_reader.join(timeout=0.5)  # so the tail shown is complete
            raise TransportClosed(self._gone_reason(), self.exit_code, self.stderr_tail())
        return item

    def _gone_reason(self) -> str:
        code = self.exit_code
        if code is None:
            return "the server closed its stdout"
        if code < 0:
            return f"the server was killed by signal {-code}"
        return f"the server exited with code {code}"

    def _read_stdout(self) -> None:
        framer = LineFramer()
        for chunk in pipe_chunks(self.proc.stdout.fileno()):
            now = time.monotonic()
            for line in framer.feed(chunk):
                if isinstance(line, OversizedLine):
                    self._inbox.put(Inbound(now, line.head, note=f"line longer than {framer.max_line} bytes, cut"))
                elif line.strip():
                    self._inbox.put(Inbound(now, line))
        rest = framer.pending()
        if rest.strip():
            self._inbox.put(Inbound(time.monotonic(), rest, note="no newline before the stream closed"))
        self.stdout_eof = True
        self._inbox.end("the server closed its stdout")

    def _read_stderr(self) -> None:
        for chunk in pipe_chunks(self.proc.stderr.fileno()):
            self._stderr.append(chunk)

    def stderr_tail(self, lines: int = 20) -> str:
        return self._stderr.text(lines)

    def describe(self) -> str:
        return f"stdio: {self.command}"
