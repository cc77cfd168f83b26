"""The suite against hostile servers (tests/hostile_server.py, one broken thing per mode):
no suite error (INTERNAL or pytest ERROR), a bounded run time (at most twice the clean
reference's for the same revisions, plus 10 s), a small number of distinct problems (the
terminal line `N distinct problems in M failed checks`), and the exit status: 1 for a
defect or for a run that tested nothing, never 3 (a suite error). The `clean` mode is the
control: the same server with nothing broken passes.

Each mode is run for 2025-11-25 only, and for 2026-07-28 too where it is about the modern
era (CI time: a run per mode takes 5 to 20 s)."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import run_suite

HOSTILE = Path(__file__).resolve().parent / "hostile_server.py"
REFERENCE = f"{sys.executable} -m conformance.reference.server"
LEGACY = ("2025-11-25",)
BOTH = ("2025-11-25", "2026-07-28")
PROBLEMS = re.compile(r"(\d+) distinct problems? in (\d+) failed checks?")


@dataclass(frozen=True)
class Expect:
    problems: tuple[int, int]  # the least and most distinct problems the run may report
    exit_code: int | None = 1  # None: not asserted (a known gap, said where the mode is listed)
    revisions: tuple[str, ...] = LEGACY
    owner: str = ""  # a check that must fail (the one that owns the defect), if known
    nothing_tested: bool = False  # no revision could be tested: no check of a revision passed, warned or noted
    failed: tuple[int, int] | None = None  # the least and most failed checks, if bounded
    says: str = ""  # words the owner's failure message holds


MODES = {
    "clean": Expect((0, 0), exit_code=0, revisions=BOTH),  # the control: nothing broken
    "banner": Expect((1, 1), owner="test_stdout_carries_only_messages"),
    # The startup check and the stdout check both fail, for one problem (output that is no JSON-RPC).
    "garbage": Expect((1, 1), owner="test_server_answers_initialize", nothing_tested=True, failed=(1, 2)),
    "object-id": Expect((1, 2)),
    "null-id": Expect((1, 2)),
    "shifted-id": Expect((1, 2)),
    # The owner fails with what the check that met the silence proved: no second timeout.
    "hang-after-handshake": Expect((1, 2), owner="test_requests_answered", says="(met by test_"),
    "exit-mid-run": Expect((1, 2)),
    # The flood stalls the server's stdin: the revision is blocked, and the owner of answering
    # (test_requests_answered) fails with what was met, even if its own connection held out.
    "flood-stdout": Expect((1, 2)),
    "flood-stderr": Expect((0, 0), exit_code=0),  # harmless: the clean verdict
    "result-and-error": Expect((1, 2)),
    "result-and-error-after-init": Expect((1, 2)),
    "unknown-version": Expect((1, 1), nothing_tested=True, failed=(1, 1)),  # the one check that says why
    "modern-only-minus32601": Expect((0, 1), revisions=BOTH, nothing_tested=True, failed=(0, 1)),
    "modern-hang-after-discover": Expect((1, 2), revisions=BOTH),
}


def version_args(revisions) -> list[str]:
    return [arg for revision in revisions for arg in ("--mcp-version", revision)]


@pytest.fixture(scope="session")
def clean_seconds():
    """revisions -> seconds the clean reference takes for them (each measured once)."""
    measured: dict[tuple, float] = {}

    def seconds(revisions: tuple[str, ...]) -> float:
        if revisions not in measured:
            run = run_suite(REFERENCE, *version_args(revisions))
            assert run.returncode == 0, f"the clean reference does not pass:\n{run.summary()}\n{run.explain()}"
            measured[revisions] = run.seconds
        return measured[revisions]

    return seconds


def distinct_problems(stdout: str) -> tuple[int, int]:
    """(N, M) of the run's `N distinct problems in M failed checks` line; (0, 0) without one."""
    found = PROBLEMS.findall(stdout)
    return (int(found[-1][0]), int(found[-1][1])) if found else (0, 0)


@pytest.mark.parametrize("mode", sorted(MODES))
def test_hostile_server(mode, clean_seconds):
    expect = MODES[mode]
    bound = 2 * clean_seconds(expect.revisions) + 10
    # Killed (and failed) soon after the bound: a run that hangs costs CI no more than that.
    run = run_suite(f"{sys.executable} {HOSTILE} {mode}", *version_args(expect.revisions), timeout=bound + 30)
    assert run.junit_xml is not None, run.output[-8000:]
    failed = [f"{case.module}::{case.name}" for case in run.cases if case.outcome == "failed"]
    report = (
        f"{mode}: exit code {run.returncode}, {run.seconds:.1f}s (bound {bound:.1f}s)\n{run.summary()}\n"
        f"{run.explain()[-15000:]}"
    )
    broken = [f"{case.module}::{case.name}" for case in run.cases if case.outcome in ("internal", "error")]
    assert not broken, f"suite errors: {sorted(broken)}\n{report}"
    assert run.returncode != 3, report
    assert expect.exit_code is None or run.returncode == expect.exit_code, report
    assert run.seconds <= bound, f"took {run.seconds:.1f}s, more than {bound:.1f}s\n{report}"
    problems, failed_checks = distinct_problems(run.stdout)
    if failed:
        assert PROBLEMS.search(run.stdout), f"no 'N distinct problems in M failed checks' line\n{report}"
        assert failed_checks == len(failed), report
    low, high = expect.problems
    assert low <= problems <= high, f"{problems} distinct problems, expected {low}..{high}\n{report}"
    if expect.owner:
        owners = [c for c in run.cases if c.outcome == "failed" and c.name.split("[")[0] == expect.owner]
        assert owners, f"{expect.owner} did not fail\n{report}"
        assert all(expect.says in c.message + c.text for c in owners), (
            f"{expect.owner} does not say {expect.says!r}\n{report}"
        )
    if expect.nothing_tested:
        judged = [
            c.name for c in run.cases if c.revision != "any" and c.outcome in ("passed", "warned", "informational")
        ]
        assert not judged, f"checks judged a server that could not be tested: {sorted(judged)}\n{report}"
    if expect.failed:
        low, high = expect.failed
        assert low <= len(failed) <= high, f"{len(failed)} failed checks, expected {low}..{high}\n{report}"
