"""The `mcp-conformance` console script, run as users run it: a subprocess in an empty directory."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import __version__
from conformance.cli import plugin_args
from conformance.revisions import manifest

REFERENCE_SERVER = f"{sys.executable} -m conformance.reference.server"
REFERENCE_CLIENT = f"{sys.executable} -m conformance.reference.client {{server}}"


def script() -> str:
    found = shutil.which("mcp-conformance")
    if found is None:
        pytest.fail("mcp-conformance is not on PATH: install the project (pip install -e .)", pytrace=False)
    return found


def run(cwd, *args, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([script(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_version_names_the_pinned_spec(tmp_path):
    out = run(tmp_path, "--version")
    assert out.returncode == 0 and __version__ in out.stdout and manifest()["spec_commit"] in out.stdout, out


def test_server_run_from_an_empty_directory_passes_and_reports(tmp_path):
    out = run(tmp_path, "server", REFERENCE_SERVER, "--report", "report", "--timeout", "5")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["checks"] and not any(c["outcome"] == "FAIL" for c in report["checks"])
    assert not (tmp_path / ".pytest_cache").exists()


def test_client_run_and_pytest_arguments_after_the_separator(tmp_path):
    out = run(tmp_path, "client", REFERENCE_CLIENT, "--", "-q", "-k", "test_client_connects_and_initializes")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "1 passed" in out.stdout and "deselected" in out.stdout


def test_short_names_become_the_plugin_options():
    assert plugin_args(
        "server",
        [
            "node s.js",
            "--report",
            "out",
            "--timeout=3",
            "--strict",
            "--transport",
            "http",
            "--mcp-version",
            "2025-11-25",
            "--",
            "-k",
            "--report",
        ],
    ) == [
        "--mcp-server",
        "node s.js",
        "--mcp-report",
        "out",
        "--mcp-timeout=3",
        "--mcp-strict",
        "--mcp-transport",
        "http",
        "--mcp-version",
        "2025-11-25",
        "-p",
        "no:cacheprovider",
        "-k",
        "--report",
    ]
    assert plugin_args("client", ["c {server}", "--timeout", "9", "--transport", "stdio"])[:6] == [
        "--mcp-client",
        "c {server}",
        "--mcp-client-timeout",
        "9",
        "--mcp-client-transport",
        "stdio",
    ]


@pytest.mark.parametrize(
    "args, words",
    [
        ((), "mcp-conformance server"),
        (("server",), "give the command to test first"),
        (("url", "--report", "x"), "give the URL to test first"),
        (("serve", "x"), "unknown command 'serve'"),
    ],
)
def test_a_wrong_command_line_says_why(tmp_path, args, words):
    out = run(tmp_path, *args, timeout=30)
    assert out.returncode == 2 and words in out.stderr and "Traceback" not in out.stderr, out


def test_coverage_and_matrix_subcommands(tmp_path):
    coverage = run(tmp_path, "coverage", "--revision", "2026-07-28", timeout=60)
    assert coverage.returncode == 0 and "client-side MUST, wire-testable" in coverage.stdout, coverage
    report = tmp_path / "r.json"
    shutil.copy(Path(__file__).parents[1] / "reports" / "reference" / "report.json", report)
    matrix = run(tmp_path, "matrix", str(report), "-o", "index.html", timeout=60)
    assert matrix.returncode == 0 and (tmp_path / "index.html").is_file(), matrix
