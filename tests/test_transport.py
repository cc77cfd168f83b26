"""The stdio transport: real child processes, timeouts, stderr tails, process-group shutdown."""

import shlex
import signal
import sys
import time

import pytest

from conformance.transport import ServerStartError, StdioTransport, TransportClosed, TransportTimeout

PY = sys.executable


def script(code: str) -> str:
    return f"{PY} -c {shlex.quote(code)}"


def alive(pid: int) -> bool:
    """Running or sleeping; a killed process waiting to be reaped (zombie) does not count."""
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_lines_in_and_out():
    transport = StdioTransport("cat").start()
    transport.send_message(b'{"a":1}')
    transport.send(b'{"b":')
    transport.send(b"2}\n")
    assert [transport.receive(2).raw, transport.receive(2).raw] == [b'{"a":1}', b'{"b":2}']
    assert transport.close() == 0


def test_missing_command_is_a_clear_error():
    with pytest.raises(ServerStartError, match="command not found: 'no-such-mcp-server'"):
        StdioTransport("no-such-mcp-server --flag").start()


def test_exit_reports_code_and_stderr_tail():
    transport = StdioTransport(script("import sys; sys.stderr.write('boom: bad config\\n'); sys.exit(3)")).start()
    with pytest.raises(TransportClosed) as excinfo:
        transport.receive(5)
    assert excinfo.value.exit_code == 3
    assert "exited with code 3" in excinfo.value.explain() and "boom: bad config" in excinfo.value.explain()


def test_receive_times_out():
    transport = StdioTransport(script("import time; time.sleep(30)")).start()
    started = time.monotonic()
    with pytest.raises(TransportTimeout):
        transport.receive(0.3)
    assert time.monotonic() - started < 2
    transport.close()


def test_stderr_flood_does_not_block_and_keeps_only_a_tail():
    flood = script(
        "import sys\nfor i in range(20000): sys.stderr.write('x'*100 + str(i) + '\\n')\n"
        "sys.stdout.write('{}\\n'); sys.stdout.flush(); import time; time.sleep(30)"
    )
    transport = StdioTransport(flood).start()
    assert transport.receive(10).raw == b"{}"
    # stdout and stderr are read by separate threads: the stderr one may still be catching up.
    deadline = time.monotonic() + 10
    while not transport.stderr_tail(lines=3).rstrip().endswith("19999") and time.monotonic() < deadline:
        time.sleep(0.05)
    tail = transport.stderr_tail(lines=3)
    assert tail.splitlines()[-1].endswith("19999") and len(tail) < 1000
    transport.close()


def test_unterminated_last_message_is_flagged():
    transport = StdioTransport(script("import sys; sys.stdout.write('{\"x\":1}')")).start()
    inbound = transport.receive(5)
    assert inbound.raw == b'{"x":1}' and "no newline" in inbound.note
    transport.close()


def test_shutdown_escalates_and_kills_the_whole_group(tmp_path):
    # The server ignores EOF and SIGTERM, and starts a grandchild: all must be gone after close().
    pid_file = tmp_path / "child.pid"
    code = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"child = subprocess.Popen([{PY!r}, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "sys.stdout.write('{}\\n'); sys.stdout.flush()\n"
        "while True: time.sleep(1)\n"
    )
    transport = StdioTransport(script(code), shutdown_grace=0.3).start()
    transport.receive(5)
    child = int(pid_file.read_text())
    started = time.monotonic()
    assert transport.close() == -signal.SIGKILL
    assert time.monotonic() - started < 3
    time.sleep(0.1)
    assert not alive(transport.pid) and not alive(child)


def test_well_behaved_server_exits_on_eof_without_signals():
    transport = StdioTransport(script("import sys\nfor line in sys.stdin: pass")).start()
    assert transport.close() == 0


def test_send_after_exit_raises_closed():
    transport = StdioTransport(script("pass")).start()
    transport.proc.wait(5)
    with pytest.raises(TransportClosed):
        for _ in range(50):  # the pipe may take a write or two to report the broken pipe
            transport.send(b"x" * 65536)
    transport.close()
