"""The plugin as a user meets it: what runs, selection, option conflicts, and bad servers
reported as one clear failed check, in time, with no process left behind."""

import sys
import time
import uuid
from pathlib import Path

import pytest

REFERENCE = f"{sys.executable} -m conformance.reference.server"


def checks_named(result, name: str) -> dict[str, str]:
    return {n: o for n, o in result.outcomes.items() if n.split("[")[0] == name}


def test_runs_the_shipped_scenarios_whatever_the_directory_holds(run_suite, tmp_path):
    (tmp_path / "test_unrelated.py").write_text("def test_would_fail(run_suite):\n    assert False\n")
    result = run_suite(REFERENCE, "-k", "ping or would_fail", cwd=tmp_path)  # -k: one area is proof enough
    assert "test_would_fail" not in result.outcomes
    assert "test_ping[2025-11-25]" in result.outcomes


def test_user_test_paths_named_explicitly_still_run(run_suite, tmp_path):
    user_test = tmp_path / "test_mine.py"
    user_test.write_text("def test_mine(mcp_target):\n    assert mcp_target.command\n")
    result = run_suite(REFERENCE, str(user_test), "-k", "ping or mine", cwd=tmp_path)
    assert result.outcomes.get("test_mine") == "passed"
    assert "test_ping[2025-11-25]" in result.outcomes


def test_select_by_requirement_id_and_by_area(run_suite):
    by_id = run_suite(REFERENCE, "-k", "lifecycle-010")
    assert set(by_id.outcomes) == {"test_answered_versions_are_echoed"}
    by_area = run_suite(REFERENCE, "-k", "ping and 2025-11-25")
    assert set(by_area.outcomes) == {"test_ping[2025-11-25]"}


def test_version_option_narrows_the_run(run_suite):
    result = run_suite(REFERENCE, "--mcp-version", "2025-06-18", "-k", "test_ping")
    assert set(result.outcomes) == {"test_ping[2025-06-18]"}


def test_unsupported_revisions_are_skipped_with_the_reason(run_suite):
    result = run_suite(f"{REFERENCE} --versions 2025-06-18,2025-11-25", "-k", "test_ping")
    assert result.outcomes == {
        "test_ping[2024-11-05]": "skipped",
        "test_ping[2025-03-26]": "skipped",
        "test_ping[2025-06-18]": "passed",
        "test_ping[2025-11-25]": "passed",
        "test_ping[2026-07-28]": "skipped",
    }  # no ping in the modern era
    assert "asked for 2024-11-05, the server answered '2025-11-25'" in result.output


def test_strict_turns_a_missed_should_into_a_failure(run_suite):
    command = f"{REFERENCE} --fault unknown-method-code"
    assert set(checks_named(run_suite(command, "-k", "test_unknown_method"), "test_unknown_method").values()) == {
        "warned"
    }
    strict = run_suite(command, "-k", "test_unknown_method", "--mcp-strict")
    assert set(checks_named(strict, "test_unknown_method").values()) == {"failed"}


def test_another_plugin_owning_the_option_is_named(run_suite, tmp_path):
    (tmp_path / "rival_mcp_plugin.py").write_text(
        "def pytest_addoption(parser):\n    parser.addoption('--mcp-server')\n"
    )
    result = run_suite(None, "-p", "rival_mcp_plugin", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 4
    assert "rival_mcp_plugin" in result.output and "--mcp-server" in result.output
    assert "Traceback" not in result.output


def _processes_with(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if marker.encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return found


BAD_SERVERS = {
    "command not found": ("no-such-mcp-server --stdio", "command not found: 'no-such-mcp-server'"),
    "exits at once": (f"{REFERENCE} --fault exit-at-start", "refusing to start"),
    "never answers": (f"{REFERENCE} --fault silent", "no response to request id 1 (initialize) within 1s"),
    "speaks garbage": (f"{REFERENCE} --fault garbage", "this is not JSON"),
    "floods stdout": (f"{REFERENCE} --fault stdout-flood", "messages without the one awaited"),
}


@pytest.mark.parametrize("case", sorted(BAD_SERVERS))
def test_bad_server_gives_one_clear_failure_in_time(run_suite, case):
    command, cause = BAD_SERVERS[case]
    marker = f"MCP_CONFORMANCE_TEST_{uuid.uuid4().hex}"
    started = time.monotonic()
    result = run_suite(command, "--mcp-timeout", "1", env={marker: "1"})
    assert time.monotonic() - started < 60
    assert result.outcomes["test_server_answers_initialize"] == "failed"
    failed = {n for n, o in result.outcomes.items() if o == "failed"}
    # A server that does write to stdout is also judged by the stdout framing check.
    assert failed - {n for n in failed if n.startswith("test_stdout_carries_only_messages")} == {
        "test_server_answers_initialize"
    }
    assert cause in result.output
    assert "Traceback" not in result.output
    assert _processes_with(marker) == [], "a server process outlived the run"


def test_stderr_tail_is_shown_for_a_server_that_dies(run_suite):
    result = run_suite(f"{REFERENCE} --fault exit-at-start")
    assert "last lines of the server's stderr" in result.output
    assert "reference server: fatal: refusing to start" in result.output


def test_no_option_no_conformance_run(run_suite, tmp_path):
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    pass\n")
    result = run_suite(None, cwd=tmp_path)
    assert result.outcomes == {"test_plain": "passed"}


# -- verdicts a user can trust --------------------------------------------------------------
def test_a_run_that_tests_nothing_fails(run_suite):
    """A server offering no version any revision defines: one check says what it answered
    to each version asked for, and the run exits 1 (never "3 passed, 669 skipped")."""
    result = run_suite(
        f"{REFERENCE} --fault no-known-version", "--mcp-version", "2025-11-25", "--mcp-version", "2026-07-28"
    )
    assert result.returncode == 1, result.output[-3000:]
    case = result.case("test_revisions_testable")
    assert case.outcome == "failed"
    assert "2025-11-25: not supported: asked for 2025-11-25, the server answered '1999-01-01'" in case.text
    assert "2026-07-28: not supported: not a modern-era server" in case.text


def test_every_check_skipped_is_not_a_pass(run_suite):
    result = run_suite(REFERENCE, "-k", "test_ping", "--mcp-version", "2026-07-28")  # ping: legacy only
    assert set(result.outcomes.values()) == {"skipped"}
    assert result.returncode == 1
    assert "nothing was tested" in result.stdout


def test_a_suite_exception_is_internal_not_the_servers_failure(run_suite, tmp_path):
    buggy = tmp_path / "test_buggy.py"
    buggy.write_text("def test_buggy_check(mcp):\n    return {}['no such key']\n")
    result = run_suite(REFERENCE, str(buggy), "-k", "buggy_check", "--mcp-version", "2025-11-25", cwd=tmp_path)
    assert result.outcomes == {"test_buggy_check[2025-11-25]": "internal"}
    assert result.returncode == 3
    assert (
        "INTERNAL ERROR of mcp-conformance: this is a bug of the suite"
        in result.case("test_buggy_check[2025-11-25]").text
    )
    assert "1 INTERNAL error(s)" in result.stdout


def test_a_server_that_stops_answering_blocks_its_revision(run_suite):
    """The owner of "requests get answered" fails once; every other check of the revision
    is BLOCKED naming it, so the run stays short."""
    result = run_suite(f"{REFERENCE} --fault stops-answering", "--mcp-version", "2025-11-25")
    failed = result.with_outcome("failed")
    assert set(failed) == {"test_requests_answered[2025-11-25]"}, result.explain()
    blocked = result.with_outcome("blocked")
    assert len(blocked) > 50
    assert all("test_requests_answered" in result.case(name).message for name in blocked)
    assert "1 distinct problem in 1 failed check" in result.stdout
    assert result.seconds < 60
