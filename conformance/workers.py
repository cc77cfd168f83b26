"""pytest glue: the checks of a run on several pytest-xdist workers, a revision per worker.

The revisions of a run are independent: each has its own connections, its own shared
session and its own blocks (conformance.target). What ties the checks of one revision
together is the worker's memory: the ledger of schema violations that the sweep
test_messages_valid[revision] reports, the exchanges made once and shared, the checks a
block names. So a revision is one unit of work, run whole on one worker (after the checks
that are not tied to a revision, which use the newest legacy one, go with it); units run
side by side. Within a worker the checks run one after another, in the order of a serial
run, sweeps last: the verdicts are those of a serial run.

By default (`--mcp-workers auto`) a run against a server uses as many workers as there
are cores, at most one per revision and at most MAX_WORKERS; `--mcp-workers 0` runs
serially, and an explicit `-n` (or `-p no:xdist`, `--pdb`, `--collect-only`) is left
alone, and so is a run whose authorization server has a fixed port (--mcp-auth-port).
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import PurePosixPath

from .schema import revisions as known_revisions

MAX_WORKERS = 4
REVISION_PARAM = re.compile(r"\[(\d{4}-\d{2}-\d{2})\]$")
AUTO = "auto"


def parse_workers(value: str) -> str:
    if value != AUTO and not value.isdigit():
        raise argparse.ArgumentTypeError(f"--mcp-workers takes a number or 'auto', not {value!r}")
    return value


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(setting: str, revisions: int) -> int:
    if setting != AUTO:
        return int(setting)
    return max(0, min(cores(), revisions, MAX_WORKERS)) if cores() > 1 else 0


def add_worker_args(early_config, args: list[str]) -> None:
    """Before the command line is parsed: ask pytest-xdist for the run's workers (-n N),
    unless the run is no run against a server, is a worker itself, or the user chose."""
    namespace = early_config.known_args_namespace
    if not (getattr(namespace, "mcp_server", None) or getattr(namespace, "mcp_url", None)):
        return
    if not early_config.pluginmanager.has_plugin("xdist") or "PYTEST_XDIST_WORKER" in os.environ:
        return
    if getattr(namespace, "numprocesses", None) is not None or getattr(namespace, "dist", "no") != "no":
        return
    if (
        getattr(namespace, "usepdb", False)
        or getattr(namespace, "collectonly", False)
        or getattr(namespace, "mcp_replay", None)
    ):
        return
    if getattr(namespace, "mcp_auth_port", None) is not None:
        return  # one authorization server on that port, which a worker each cannot share
    revisions = len(set(getattr(namespace, "mcp_version", None) or known_revisions()))
    count = worker_count(getattr(namespace, "mcp_workers", AUTO), revisions)
    if count > 1:
        args[:] = [*args, "-n", str(count)]


def unit_of(nodeid: str, revisions: list[str]) -> str:
    """The unit of work of a check: its revision; a check tied to none goes with the newest
    legacy revision of the run (the one it uses), so that revision's sweep sees it."""
    found = REVISION_PARAM.search(nodeid)
    if found:
        return found.group(1)
    if "scenarios" in PurePosixPath(nodeid.split("::", 1)[0]).parts:
        legacy = [r for r in revisions if r < "2026"]
        return (legacy or revisions)[-1]
    return nodeid.rsplit("::", 1)[0]  # a test of the user's own: by module, as xdist would


def make_scheduler(config, log, revisions: list[str]):
    from xdist.scheduler import LoadScopeScheduling

    class RevisionScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(nodeid, revisions)

    return RevisionScheduling(config, log)
