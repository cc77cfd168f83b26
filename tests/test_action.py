"""The GitHub Action (action.yml): its step's script, run as the runner runs it, with the
job summary and the step outputs in temporary files."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import ci_action

ACTION = Path(__file__).resolve().parents[1] / "action.yml"
REFERENCE_SERVER = f"{sys.executable} -m conformance.reference.server"


def run_step(tmp_path, **given) -> tuple[subprocess.CompletedProcess, str, dict]:
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    env = {
        **os.environ,
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        **{f"INPUT_{k.upper()}": v for k, v in given.items()},
    }
    done = subprocess.run(
        [sys.executable, "-m", "conformance.ci_action"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines()) if output.exists() else {}
    return done, summary.read_text() if summary.exists() else "", outputs


def test_a_passing_server_fills_the_summary_and_outputs(tmp_path):
    done, summary, outputs = run_step(
        tmp_path, server=REFERENCE_SERVER, revisions="2025-11-25", args="--timeout 5 -- -k initialize"
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert summary.startswith("## MCP conformance") and "2025-11-25" in summary
    assert outputs == {"must-pass-rate": "100.0", "outcome": "passed", "report-dir": ci_action.DEFAULT_REPORT_DIR}
    assert (tmp_path / ci_action.DEFAULT_REPORT_DIR / "report.json").is_file()


def test_a_failing_server_fails_the_step(tmp_path):
    done, summary, outputs = run_step(
        tmp_path,
        server=f"{REFERENCE_SERVER} --fault jsonrpc-version",
        revisions="2025-11-25",
        report_dir="out",
        args="-- -k response_envelope",
    )
    assert done.returncode == 1 and outputs["outcome"] == "failed" and outputs["report-dir"] == "out", done.stdout
    assert float(outputs["must-pass-rate"]) < 100 and "FAIL" in summary


@pytest.mark.parametrize("given", [{}, {"server": "x", "url": "http://127.0.0.1:1/mcp"}])
def test_not_exactly_one_target_is_an_error_annotation(tmp_path, given):
    done, _, outputs = run_step(tmp_path, **given)
    assert done.returncode == 2 and done.stdout.startswith("::error title=mcp-conformance::give exactly one")
    assert outputs == {}


def test_action_passes_every_input_the_script_reads():
    text = ACTION.read_text()
    declared = re.findall(r"^  ([a-z-]+):\n    description:", text.split("\noutputs:")[0], re.M)
    passed = set(re.findall(r"INPUT_([A-Z_]+): \$\{\{ inputs\.([a-z-]+) \}\}", text))
    assert set(ci_action.inputs({})) == set(declared) - {"version"}
    assert passed == {(name.upper().replace("-", "_"), name) for name in ci_action.inputs({})}
