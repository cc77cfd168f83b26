"""Starting an HTTP server under test, and the one factory for every transport.

    make_transport("stdio", command="python server.py", timeout=5)
    make_transport("http", command="node server.js --port {port}", timeout=5)   # launched
    make_transport("http", url="http://127.0.0.1:3000/mcp", timeout=5)          # already running
    make_transport("sse", command="python -m pkg --port {port}", timeout=5)     # GET /sse

A launched server picks a free loopback port for `{port}`, runs in its own process group
(everything it starts is stopped with it), and is shared by every connection of the run:
an HTTP server serves many sessions. If it dies it is started again by the next
connection. All launched servers are stopped at exit (`close_all`).
"""

from __future__ import annotations

import atexit
import os
import shlex
import signal
import socket
import subprocess
import threading
import time
from urllib.parse import urlsplit

from . import reaper
from .base import OutputTail, ServerStartError, pipe_chunks
from .http import HttpTransport
from .sse import SseTransport
from .stdio import StdioTransport

DEFAULT_PATHS = {"http": "/mcp", "sse": "/sse"}
KINDS = ("stdio", "http", "sse")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listener_group(port: int) -> int | None:
    """The process group of the process listening on loopback `port`, found through /proc;
    None where that cannot be told (not Linux, no listening socket in this network
    namespace, or its owner's descriptors are not readable)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as rows:
                for row in list(rows)[1:]:
                    fields = row.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                        inodes.add(f"socket:[{fields[9]}]")
        except (OSError, IndexError, ValueError):
            return None
    for pid in filter(str.isdigit, os.listdir("/proc") if inodes else ()):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{pid}/fd")):
                return os.getpgid(int(pid))
        except OSError:
            continue
    return None


class _PortTaken(Exception):
    """The port chosen for `{port}` was taken by another process before the server bound it."""


class LaunchedServer:
    """An HTTP server process started from a command line with `{port}` in it."""

    def __init__(
        self,
        command: str,
        *,
        url: str | None = None,
        path: str = "/mcp",
        timeout: float = 5.0,
        grace: float = 2.0,
        keep: int = 64 * 1024,
        env: dict[str, str] | None = None,
    ):
        self.command = command
        self.env = env  # added to the suite's environment (the authorization server's location)
        self.url_template = url
        self.path = path
        self.timeout = timeout
        self.grace = grace
        self.url: str | None = None
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self._output = OutputTail(keep)
        self._lock = threading.Lock()

    @property
    def exit_code(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def ensure_running(self) -> None:
        with self._lock:
            if self.proc is not None and self.proc.poll() is None:
                return
            self._start()

    def _start(self, attempts: int = 3) -> None:
        for attempt in range(attempts):
            try:
                return self._start_once()
            except _PortTaken:
                if attempt == attempts - 1:
                    raise ServerStartError(
                        f"another process took each port chosen for {self.command!r} ({attempts} tries)",
                        self.exit_code,
                        self.stderr_tail(),
                    ) from None

    def _start_once(self) -> None:
        templated = "{port}" in self.command or "{port}" in (self.url_template or "")
        fixed = urlsplit(self.url_template).port if self.url_template and "{port}" not in self.url_template else None
        if not templated and fixed is None:
            raise ServerStartError(
                f"cannot tell which port {self.command!r} listens on: put {{port}} in the "
                "command (a free port is chosen) or give the URL with its port"
            )
        self.port = fixed or free_port()
        self.url = (
            self.url_template.replace("{port}", str(self.port))
            if self.url_template
            else f"http://127.0.0.1:{self.port}{self.path}"
        )
        host = urlsplit(self.url).hostname or "127.0.0.1"
        argv = [arg.replace("{port}", str(self.port)) for arg in shlex.split(self.command)]
        if not argv:
            raise ServerStartError("the server command is empty")
        self._output.clear()
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                bufsize=0,
                env={**os.environ, **self.env} if self.env else None,
            )
        except FileNotFoundError:
            raise ServerStartError(f"command not found: {argv[0]!r} (from {self.command!r})") from None
        except OSError as exc:
            raise ServerStartError(f"could not start {self.command!r}: {exc}") from None
        _live.add(self)
        reaper.watch(self.proc.pid)
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True, name="mcp-server-output").start()
        self._wait_listening(host, self.port, chosen=fixed is None)

    def _wait_listening(self, host: str, port: int, chosen: bool) -> None:
        deadline = time.monotonic() + self.timeout
        # Between free_port() and the server's bind another process (a parallel worker's server)
        # can take the port; a connection check alone would then talk to that server. A listener
        # of another process group is waited out: our server then fails to bind and exits, and
        # the start is retried on a new port. Bounded, for listeners that are the server's own
        # but outside its group (a container runtime's port proxy).
        foreign_until = time.monotonic() + min(self.timeout, 3.0)
        while True:
            code = self.proc.poll()
            listening = self._accepts(host, port)
            if code is not None:
                if chosen and listening:
                    raise _PortTaken  # someone else holds the port we picked: pick another
                time.sleep(0.1)  # let the output drain
                raise ServerStartError(
                    f"the server exited with code {code} before listening on {host}:{port}", code, self.stderr_tail()
                )
            if listening and (
                not chosen or listener_group(port) in (None, self.proc.pid) or time.monotonic() > foreign_until
            ):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(
                    f"the server did not accept connections on {host}:{port} within {self.timeout:g}s",
                    self.exit_code,
                    self.stderr_tail(),
                )
            time.sleep(0.05)

    @staticmethod
    def _accepts(host: str, port: int) -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            return False

    def _drain(self, proc: subprocess.Popen) -> None:
        for chunk in pipe_chunks(proc.stdout.fileno()):
            self._output.append(chunk)

    def stderr_tail(self, lines: int = 20) -> str:
        """The last lines the server wrote (stdout and stderr together)."""
        return self._output.text(lines)

    def stop(self) -> int | None:
        """SIGTERM the process group, wait, then SIGKILL it."""
        if self.proc is None:
            return None
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=self.grace)
                break
            except subprocess.TimeoutExpired:
                continue
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything the server left behind
        except (ProcessLookupError, PermissionError):
            pass
        reaper.release(self.proc.pid)
        if self.proc.stdout is not None:
            try:
                self.proc.stdout.close()
            except OSError:
                pass
        _live.discard(self)
        return self.exit_code


_live: set[LaunchedServer] = set()
_servers: dict[tuple, LaunchedServer] = {}
_servers_lock = threading.Lock()


def close_all() -> None:
    """Stop every server launched by this interpreter."""
    for server in list(_live):
        server.stop()


atexit.register(close_all)


def launched(
    command: str, *, url: str | None, path: str, timeout: float, env: dict[str, str] | None = None
) -> LaunchedServer:
    """The shared server for this command line (not started until a transport starts)."""
    key = (command, url, path, tuple(sorted((env or {}).items())))
    with _servers_lock:
        if key not in _servers:
            _servers[key] = LaunchedServer(
                command, url=url, path=path, timeout=timeout, grace=min(timeout, 2.0), env=env
            )
        return _servers[key]


def make_transport(
    kind: str,
    *,
    url: str | None = None,
    command: str | None = None,
    timeout: float,
    endpoint_path: str | None = None,
    env: dict[str, str] | None = None,
):
    """A transport of `kind` (stdio, http or sse), not yet started.

    stdio needs `command`. http and sse need `url`, `command` (with `{port}`; the server is
    launched on a free port, endpoint at `endpoint_path`, default /mcp or /sse), or both
    (`url` then says where the launched server listens and may contain `{port}`)."""
    if kind == "stdio":
        if not command:
            raise ValueError("the stdio transport needs a command")
        return StdioTransport(command, shutdown_grace=min(timeout, 2.0), write_timeout=timeout)
    if kind not in DEFAULT_PATHS:
        raise ValueError(f"unknown transport {kind!r}; known: {', '.join(KINDS)}")
    if not command and not url:
        raise ValueError(f"the {kind} transport needs a URL or a command that starts the server")
    cls = HttpTransport if kind == "http" else SseTransport
    if command:
        server = launched(command, url=url, path=endpoint_path or DEFAULT_PATHS[kind], timeout=timeout, env=env)
        return cls(timeout=timeout, server=server)
    return cls(url, timeout=timeout)
