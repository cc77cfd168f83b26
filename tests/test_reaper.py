"""The reaper: every process the suite starts dies with the suite, even a suite killed by
SIGKILL, and a normal end leaves nothing behind either.

Real processes throughout. Each suite run gets a unique marker in its environment, which
every process it starts inherits (servers, their children, the reaper), so "what is still
running" is read from /proc without relying on pids staying unique. Whatever a test leaves
running is SIGKILLed in its `finally`.

The reference HTTP server stops by itself when its parent dies, so over HTTP the suite
launches it through a stubborn parent: without the reaper both would outlive the suite.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from conformance.transport.reaper import BOOT

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")

MARKER = "MCP_REAPER_TEST_RUN"
HELD = "MCP_REAPER_TEST_HELD"
GONE_WITHIN = 5.0  # seconds for the reaper to act once the suite is dead
REFERENCE_HTTP = shlex.join([sys.executable, "-m", "conformance.reference.http", "--port", "{port}"])
SHORT_RUN = ("-k", "test_ping", "--mcp-version", "2025-11-25")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

# A server that answers initialize and every request, records its pid, starts a child in
# its process group, and ignores SIGTERM, SIGHUP, SIGINT and stdin EOF: it never ends alone.
STUBBORN_SERVER = textwrap.dedent("""
    import json, os, signal, subprocess, sys, time
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    with open(sys.argv[1], "a") as pids:
        pids.write(f"{os.getpid()}\\n")
    subprocess.Popen([sys.executable, "-c", "import signal, time; "
                      "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)"])
    for line in sys.stdin:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if not isinstance(message, dict) or "id" not in message or "method" not in message:
            continue
        result = {}
        if message["method"] == "initialize":
            asked = (message.get("params") or {}).get("protocolVersion")
            result = {"protocolVersion": asked, "capabilities": {},
                      "serverInfo": {"name": "stubborn", "version": "1"}}
        try:
            print(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}), flush=True)
        except OSError:
            pass
    while True:
        time.sleep(3600)
""")

# Starts the reference HTTP server (the arguments are its own) as its child, in its process
# group, and stays, ignoring SIGTERM, SIGHUP and SIGINT. The reference server stops by itself
# when its parent dies; this parent never does, so only a kill of the group ends the two.
STUBBORN_HTTP_PARENT = textwrap.dedent("""
    import signal, subprocess, sys, time
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    subprocess.Popen([sys.executable, "-m", "conformance.reference.http", *sys.argv[1:]])
    while True:
        time.sleep(3600)
""")

# Loaded into the suite run (-p): once the first check has run (its server started and
# used), says so in a file and holds the run open, so the test kills a suite mid-run.
HOLD_OPEN_PLUGIN = textwrap.dedent("""
    import os, pathlib, time
    import pytest

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(item):
        yield
        pathlib.Path(os.environ["MCP_REAPER_TEST_HELD"]).write_text(item.nodeid)
        time.sleep(120)
""")


# -- processes ----------------------------------------------------------------------------------
def marked(marker: str) -> dict[int, str]:
    """pid -> command line of every live process whose environment holds this run's marker
    (a zombie has no environment left: it counts as gone)."""
    needle = f"{MARKER}={marker}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    return found


def wait_until(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def kill_marked(marker: str) -> None:
    """SIGKILL whatever of this run is still alive (cleanup after a failure)."""
    for pid in marked(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    wait_until(lambda: not marked(marker), GONE_WITHIN)


def reapers(processes: dict[int, str]) -> list[int]:
    return [pid for pid, cmdline in processes.items() if "conformance.transport.reaper" in cmdline]


# -- a suite run ----------------------------------------------------------------------------------
class Suite:
    """`python -m pytest --mcp-server CMD ...` in a subprocess, from a fresh directory, with a
    marker in its environment; optionally held open after its first check."""

    def __init__(self, tmp_path: Path, server: str, *args: str, hold_open: bool = False):
        self.marker = uuid.uuid4().hex
        self.held = tmp_path / "held"
        self.log = tmp_path / "suite.log"
        workdir = tmp_path / "run"
        workdir.mkdir()
        (workdir / "pytest.ini").write_text("[pytest]\n")
        plugins = tmp_path / "plugins"
        plugins.mkdir()
        (plugins / "_hold_open.py").write_text(HOLD_OPEN_PLUGIN)
        hold = ["-p", "_hold_open"] if hold_open else []
        self.command = [
            sys.executable,
            "-m",
            "pytest",
            "--mcp-server",
            server,
            "-p",
            "no:cacheprovider",
            "-q",
            *hold,
            *args,
        ]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command,
                cwd=workdir,
                env=self._environment(plugins),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _environment(self, plugins: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
        env.update(
            {
                MARKER: self.marker,
                HELD: str(self.held),
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(plugins), env.get("PYTHONPATH")])),
            }
        )
        return env

    def output(self) -> str:
        return f"$ {subprocess.list2cmdline(self.command)}\n{self.log.read_text(errors='replace')[-6000:]}"

    def wait_held(self) -> None:
        if not wait_until(lambda: self.held.exists() or self.proc.poll() is not None, 60):
            pytest.fail(f"the suite did not reach its first check within 60s\n{self.output()}")
        if not self.held.exists():
            pytest.fail(
                f"the suite ended (exit code {self.proc.returncode}) before its first check finished\n{self.output()}"
            )

    def kill(self) -> None:
        """SIGKILL the pytest process only (not its group): what a CI timeout does to it."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        kill_marked(self.marker)


def assert_all_gone(suite: Suite, before: dict[int, str]) -> None:
    if not wait_until(lambda: not marked(suite.marker), GONE_WITHIN):
        left = "\n".join(f"  {pid}: {cmdline}" for pid, cmdline in marked(suite.marker).items())
        pytest.fail(
            f"{GONE_WITHIN:g}s after the suite ended, still running:\n{left}\n(before: {before})\n{suite.output()}"
        )


def listening(processes: dict[int, str]) -> bool:
    """Whether a reference HTTP server among `processes` accepts connections on its --port."""
    for cmdline in processes.values():
        words = cmdline.split()
        if words[1:3] == ["-m", "conformance.reference.http"] and "--port" in words[:-1]:
            port = int(words[words.index("--port") + 1])
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                return False
    return False


# -- the suite killed by SIGKILL ------------------------------------------------------------------
def test_sigkilled_suite_takes_a_stubborn_stdio_server_and_its_children_with_it(tmp_path):
    server_script, pid_file = tmp_path / "stubborn.py", tmp_path / "server.pids"
    server_script.write_text(STUBBORN_SERVER)
    suite = Suite(tmp_path, shlex.join([sys.executable, str(server_script), str(pid_file)]), *SHORT_RUN, hold_open=True)
    try:
        suite.wait_held()
        server_pids = [int(line) for line in pid_file.read_text().split()]
        before = marked(suite.marker)
        assert server_pids and all(pid in before for pid in server_pids), (server_pids, before)
        assert len(before) >= 2 + 2 * len(server_pids), f"suite, reaper, servers and their children: {before}"
        assert len(reapers(before)) == 1, f"one reaper per suite process: {before}"
        suite.kill()
        assert suite.proc.returncode == -signal.SIGKILL
        assert_all_gone(suite, before)
    finally:
        suite.cleanup()


def test_sigkilled_suite_takes_a_launched_http_server_with_it(tmp_path):
    parent_script = tmp_path / "stubborn_http_parent.py"
    parent_script.write_text(STUBBORN_HTTP_PARENT)
    suite = Suite(
        tmp_path,
        shlex.join([sys.executable, str(parent_script), "--port", "{port}"]),
        "--mcp-transport",
        "http",
        *SHORT_RUN,
        hold_open=True,
    )
    try:
        suite.wait_held()
        before = marked(suite.marker)
        assert listening(before), f"no reference HTTP server listening among {before}\n{suite.output()}"
        assert len(reapers(before)) == 1, f"one reaper per suite process: {before}"
        suite.kill()
        assert_all_gone(suite, before)
    finally:
        suite.cleanup()


# -- the normal end of a run ----------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_normal_end_leaves_no_process_behind(tmp_path, transport):
    if transport == "stdio":
        server_script = tmp_path / "stubborn.py"
        server_script.write_text(STUBBORN_SERVER)
        suite = Suite(
            tmp_path,
            shlex.join([sys.executable, str(server_script), str(tmp_path / "server.pids")]),
            "--mcp-timeout",
            "1",
            *SHORT_RUN,
        )
    else:
        suite = Suite(tmp_path, REFERENCE_HTTP, "--mcp-transport", "http", *SHORT_RUN)
    try:
        suite.proc.wait(timeout=120)
        assert suite.proc.returncode == 0, suite.output()
        assert_all_gone(suite, {})
    finally:
        suite.cleanup()


# -- the reaper on its own ------------------------------------------------------------------------
# Run in a session of its own (so that its group is expendable): a group watched, one watched
# and released, its own group (with a sibling in it) registered by mistake; then it dies.
WATCHING_PROCESS = textwrap.dedent("""
    import os, signal, subprocess, sys
    from conformance.transport import reaper
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    kept, released = (subprocess.Popen(["sleep", "60"], start_new_session=True, **quiet) for _ in range(2))
    sibling = subprocess.Popen(["sleep", "60"], **quiet)
    reaper.watch(kept.pid)
    reaper.watch(released.pid)
    reaper.release(released.pid)
    reaper.watch(os.getpgrp())
    print(kept.pid, released.pid, sibling.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_the_reaper_kills_watched_groups_and_spares_the_others():
    proc = subprocess.run(
        [sys.executable, "-c", WATCHING_PROCESS], capture_output=True, text=True, timeout=30, start_new_session=True
    )
    pids = [int(pid) for pid in proc.stdout.split()]
    try:
        assert proc.returncode == -signal.SIGKILL and len(pids) == 3, (proc.returncode, proc.stdout, proc.stderr)
        kept, released, sibling = pids
        assert wait_until(lambda: not alive(kept), GONE_WITHIN), "the watched group outlived its watcher"
        assert alive(released), "a released group was killed"
        assert alive(sibling), "the watcher's own group was killed"
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def test_the_reaper_ignores_bad_lines_and_signals_and_exits_at_eof():
    reaper = subprocess.Popen(
        [sys.executable, "-c", BOOT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        reaper.stdin.write(b"garbage\n+\n+0\n+1\n-1\n+-5\n+99999999999999999999\n\n+12x\n\xff\xfe\n")
        reaper.stdin.flush()
        assert wait_until(lambda: ignores(reaper.pid, STOP_SIGNALS), 30), "the reaper never got ready"
        for sig in STOP_SIGNALS:
            os.kill(reaper.pid, sig)
        time.sleep(0.2)
        assert reaper.poll() is None, "the reaper died of a signal before its suite did"
        reaper.stdin.close()
        assert reaper.wait(timeout=GONE_WITHIN) == 0
        assert reaper.stdout.read() == b"" and reaper.stderr.read() == b""
    finally:
        if reaper.poll() is None:
            reaper.kill()
            reaper.wait()


def test_the_reaper_refuses_a_bad_command_line_without_a_traceback():
    proc = subprocess.run(
        [sys.executable, "-c", BOOT, "not-a-group"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "usage:" in proc.stderr and "Traceback" not in proc.stderr


def ignores(pid: int, signals) -> bool:
    """Whether the process has set all these signals to SIG_IGN (its SigIgn mask in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")), 16)
    return all(mask & (1 << (sig - 1)) for sig in signals)


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
