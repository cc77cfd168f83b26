"""The reaper: a watchdog that kills the suite's process groups when the suite dies.

Every server and client the suite starts runs in a process group of its own and is stopped
by `close()` / `stop()` at the normal end of a run. A suite killed by SIGKILL (a CI job at
its timeout) runs none of that, and a server that ignores stdin EOF would live on forever.
So, the first time the suite starts a child, it also starts one reaper (`main` below, run
by the suite's own interpreter) and writes a line to the reaper's stdin for each process
group it starts (`+PGID`) and for each one it has stopped (`-PGID`). However the suite
dies, the kernel closes its end of the pipe; the reaper reads EOF, sends SIGKILL to every
group still registered and exits. At a normal end the suite has released its groups and
the reaper just exits (a group the suite forgot to release is killed then too).

Why a pipe and not PR_SET_PDEATHSIG in each child: the death signal goes to the direct
child only, not to its process group (what the server started lives on), and it fires when
the *thread* that created the child ends, not the process: the suite starts servers from
worker threads, which would kill servers still in use.

The reaper runs in a session of its own, so a Ctrl-C at the terminal or a killpg of the
suite's group does not kill it before it acts, and it ignores SIGINT, SIGTERM and SIGHUP:
it only ever ends at EOF (or by SIGKILL), so it cannot outlive the suite. Only the suite
holds the write end: subprocess closes inherited descriptors in every child (close_fds),
the pipe is close-on-exec, and a fork of the suite closes its copy (`_forget_in_fork`).

Best effort: if the reaper cannot be started or dies, the suite goes on without it.
One window stays open: between a child's start and its `+PGID` line (microseconds, plus
the spawning of the reaper the first time) a SIGKILL of the suite leaves that child alive.
Lines written before the reaper reads them wait in the pipe, so its start-up is no window.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the directory holding `conformance/`
LINE = re.compile(rb"^([+-])(\d{1,10})$")
MAX_PID = 2**31 - 1
# -c rather than -m: `conformance.transport` imports this module, and runpy warns when the
# module it is asked to run is imported before it runs.
BOOT = "import sys; from conformance.transport.reaper import main; sys.exit(main(sys.argv[1:]))"

_lock = threading.Lock()
_reaper: subprocess.Popen | None = None
_unavailable = False  # the reaper could not be started, or died: do not try again


# -- the suite's side -------------------------------------------------------------------------
def watch(pgid: int) -> None:
    """Have process group `pgid` killed should this process die before `release(pgid)`.
    Starts the reaper the first time. Never raises."""
    _send(f"+{pgid}\n", start=True)


def release(pgid: int) -> None:
    """Process group `pgid` is stopped: the reaper forgets it. Never raises."""
    _send(f"-{pgid}\n", start=False)


def _send(line: str, *, start: bool) -> None:
    global _reaper, _unavailable
    with _lock:
        if _reaper is None and start and not _unavailable:
            _reaper = _start_reaper()
            _unavailable = _reaper is None
        if _reaper is None:
            return
        try:
            _reaper.stdin.write(line.encode())  # unbuffered, one write: atomic (< PIPE_BUF)
        except (OSError, ValueError):  # the reaper died: go on without it
            _drop_reaper()
            _unavailable = True


def _start_reaper() -> subprocess.Popen | None:
    """The reaper process, or None when it cannot run here."""
    if not sys.executable or not hasattr(os, "killpg"):
        return None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        # cwd "/": nothing in the suite's directory can shadow a module the reaper imports.
        return subprocess.Popen(
            [sys.executable, "-c", BOOT, str(os.getpgrp())],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            env=env,
            start_new_session=True,
            bufsize=0,
        )
    except (OSError, ValueError):
        return None


def _drop_reaper() -> None:
    global _reaper
    try:
        _reaper.stdin.close()
    except OSError:
        pass
    _reaper = None


def _forget_in_fork() -> None:
    """In a forked child: close the inherited write end (else the reaper would wait for the
    child too) and start afresh; the lock may have been held by a thread that is not here."""
    global _lock, _unavailable
    _lock = threading.Lock()
    if _reaper is not None:
        _drop_reaper()
    _unavailable = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_fork)


# -- the reaper's side ------------------------------------------------------------------------
def main(args: list[str]) -> int:
    """Read +PGID / -PGID lines until EOF, then SIGKILL every group still registered.
    `args`: the suite's process group, never to be killed (default: the parent's)."""
    suite_group = parse_group(args)
    if suite_group is None:
        print(
            "usage: python -m conformance.transport.reaper [SUITE_PGID]  (reads +PGID / -PGID lines "
            "on stdin; at EOF kills the groups still registered)",
            file=sys.stderr,
        )
        return 2
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    never = {os.getpgrp(), suite_group}
    groups: dict[int, str | None] = {}  # pgid -> its leader's start time when registered
    for line in sys.stdin.buffer:
        apply(line, groups, never)
    kill_all(groups)
    return 0


def parse_group(args: list[str]) -> int | None:
    """The suite's group from the command line. Given, not looked up: by the time the reaper
    runs, a suite that died at once has left it an adopted orphan with init for a parent."""
    if not args:
        try:
            return os.getpgid(os.getppid())
        except OSError:
            return os.getpgrp()
    if len(args) == 1 and re.fullmatch(r"\d{1,10}", args[0]):
        return int(args[0])
    return None


def apply(line: bytes, groups: dict[int, str | None], never: set[int]) -> None:
    """Register (+) or release (-) one group; anything malformed or unsafe is ignored."""
    match = LINE.match(line.strip())
    if not match:
        return
    pgid = int(match[2])
    if not 1 < pgid <= MAX_PID or pgid in never:  # killpg(0) is our own group, 1 is init's
        return
    if match[1] == b"+":
        groups[pgid] = start_time(pgid)
    else:
        groups.pop(pgid, None)


def kill_all(groups: dict[int, str | None]) -> None:
    for pgid, started in groups.items():
        if reused(pgid, started):
            continue
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:  # gone already, or not ours
            pass


def reused(pgid: int, started: str | None) -> bool:
    """True when the number now belongs to another process than the leader registered (its
    group ended and the pid was given out again). A leader gone while its group lives on is
    not a reuse: the kernel gives out no pid that is still some group's id."""
    now = start_time(pgid)
    return now is not None and now != started


def start_time(pid: int) -> str | None:
    """The process's start time (clock ticks after boot) from /proc, or None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = stat.rpartition(b")")[2].split()
    return fields[19].decode() if len(fields) > 19 else None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
