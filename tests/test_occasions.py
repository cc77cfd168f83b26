"""Work run ahead (conformance.occasions, Target.run_ahead): its result, or what it raised,
reaches the check that takes it, once; it acts for the check named; a check that finds
nothing started makes the work itself. That the verdicts of a run with work run ahead are
those of a serial run is what tests/test_faults.py and tests/test_precision.py measure:
every run of the suite there runs the tool exercise ahead."""

import threading

import pytest

from conformance import checks
from conformance.target import Target


@pytest.fixture
def target():
    made = Target("unused")
    yield made
    made.close()


def test_result_reaches_the_taker_once(target):
    seen = {}

    def work():
        seen["check"] = checks.current().check
        seen["thread"] = threading.current_thread().name
        return 42

    target.run_ahead(("work", "2025-11-25"), work, acting_for="test_first_user")
    assert target.take(("work", "2025-11-25"), lambda: "made here") == 42
    assert seen == {"check": "test_first_user", "thread": "mcp-ahead-work-2025-11-25"}
    assert target.take(("work", "2025-11-25"), lambda: "made here") == "made here"  # taken already
    assert checks.current().check != "test_first_user"  # the main thread acts for its own check


def test_what_the_work_raised_is_raised_by_take(target):
    def work():
        checks.not_applicable("nothing to call")

    target.run_ahead(("work", "2025-11-25"), work, acting_for="test_first_user")
    with pytest.raises(pytest.skip.Exception, match="nothing to call"):
        target.take(("work", "2025-11-25"), lambda: None)


def test_started_once_per_key(target):
    calls = []
    target.run_ahead(("work", "r"), lambda: calls.append(1) or len(calls), acting_for="a")
    target.run_ahead(("work", "r"), lambda: calls.append(2) or len(calls), acting_for="b")
    assert target.take(("work", "r"), lambda: None) == 1
    assert calls == [1]
