"""Revisions side by side on pytest-xdist workers (conformance/workers.py): a revision is
one unit of work, and a run on workers grades every check as a serial run does."""

from __future__ import annotations

import argparse
import sys

import pytest

from conformance import workers
from tests.conftest import run_suite

REFERENCE = f"{sys.executable} -m conformance.reference.server"


@pytest.mark.parametrize(
    "nodeid, unit",
    [
        ("scenarios/ping.py::test_ping[2025-06-18]", "2025-06-18"),
        ("../lib/site-packages/conformance/scenarios/wire.py::test_messages_valid[2026-07-28]", "2026-07-28"),
        ("scenarios/http.py::test_http_resumption", "2025-11-25"),  # no revision: the newest legacy one
        ("tests/test_mine.py::test_own", "tests/test_mine.py"),
    ],
)
def test_unit_of_a_check(nodeid, unit):
    assert workers.unit_of(nodeid, ["2024-11-05", "2025-06-18", "2025-11-25", "2026-07-28"]) == unit


def test_worker_count(monkeypatch):
    monkeypatch.setattr(workers, "cores", lambda: 8)
    assert workers.worker_count("auto", 5) == workers.MAX_WORKERS
    assert workers.worker_count("auto", 1) == 1  # one revision: no worker beside the run
    assert workers.worker_count("3", 5) == 3
    monkeypatch.setattr(workers, "cores", lambda: 1)
    assert workers.worker_count("auto", 5) == 0
    with pytest.raises(argparse.ArgumentTypeError):
        workers.parse_workers("many")


def test_workers_grade_as_a_serial_run():
    """The same faulty server, two revisions: on two workers every check gets the grade it
    gets serially, and the run says it ran on workers."""
    args = ("--mcp-version", "2025-06-18", "--mcp-version", "2025-11-25")
    server = f"{REFERENCE} --fault ping-error"
    serial = run_suite(server, *args)
    side_by_side = run_suite(server, *args, "--mcp-workers", "2")
    assert "revisions side by side on 2 workers" in side_by_side.output, side_by_side.output[-3000:]
    moved = {
        name: (grade, side_by_side.outcomes.get(name))
        for name, grade in serial.outcomes.items()
        if side_by_side.outcomes.get(name) != grade
    }
    assert not moved, f"(serial, on workers) grades that differ: {moved}"
    assert serial.outcomes["test_ping[2025-11-25]"] == "failed"
    assert side_by_side.returncode == serial.returncode == 1


def test_bad_worker_count_is_a_usage_error():
    run = run_suite(REFERENCE, "--mcp-workers", "many")
    assert run.returncode == 4 and "--mcp-workers takes a number or 'auto'" in run.output
