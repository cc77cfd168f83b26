"""The step of the GitHub Action (action.yml at the repository's root): `python -m conformance.ci_action`.

It reads the action's inputs from INPUT_<NAME> environment variables (action.yml passes
them: SERVER, URL, CLIENT, TRANSPORT, REVISIONS, EXPECTED_FAILURES, REPORT_DIR, ARGS), runs
the suite through the mcp-conformance command, appends the report's summary.md to the job
summary ($GITHUB_STEP_SUMMARY), writes the step's outputs to $GITHUB_OUTPUT (must-pass-rate,
outcome, report-dir) and exits with the run's exit code, so a failed run fails the step.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from . import cli

TARGETS = ("server", "url", "client")  # exactly one is given
DEFAULT_REPORT_DIR = "mcp-conformance-report"


def inputs(environ=os.environ) -> dict[str, str]:
    names = (*TARGETS, "transport", "revisions", "expected-failures", "report-dir", "args")
    return {name: environ.get("INPUT_" + name.upper().replace("-", "_"), "").strip() for name in names}


def report_dir(given: dict[str, str]) -> Path:
    return Path(given["report-dir"] or DEFAULT_REPORT_DIR)


def command(given: dict[str, str]) -> list[str]:
    """The mcp-conformance arguments for these inputs (ValueError: not exactly one target)."""
    targets = [name for name in TARGETS if given[name]]
    if len(targets) != 1:
        raise ValueError(f"give exactly one of the inputs server, url, client (given: {', '.join(targets) or 'none'})")
    kind = targets[0]
    args = [kind, given[kind], "--report", str(report_dir(given))]
    if given["transport"]:
        args += ["--transport", given["transport"]]
    for revision in given["revisions"].replace(",", " ").split():
        args += ["--mcp-version", revision]
    if given["expected-failures"]:
        args += ["--mcp-expected-failures", given["expected-failures"]]
    return args + shlex.split(given["args"])


def must_pass_rate(report_dir: Path) -> str:
    """The run's MUST pass rate over all revisions, as the report gives it ('' without one)."""
    try:
        rate = json.loads((report_dir / "report.json").read_text())["totals"]["all"]["mustPassRate"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return "" if rate is None else str(rate)


def publish(report_dir: Path, code: int, environ=os.environ) -> None:
    summary, output = environ.get("GITHUB_STEP_SUMMARY"), environ.get("GITHUB_OUTPUT")
    markdown = report_dir / "summary.md"
    if summary and markdown.is_file():
        with open(summary, "a", encoding="utf-8") as out:
            out.write(markdown.read_text(encoding="utf-8") + "\n")
    if output:
        with open(output, "a", encoding="utf-8") as out:
            out.write(f"must-pass-rate={must_pass_rate(report_dir)}\n")
            out.write(f"outcome={'passed' if code == 0 else 'failed'}\n")
            out.write(f"report-dir={report_dir}\n")


def main() -> int:
    given = inputs()
    try:
        args = command(given)
    except ValueError as exc:
        print(f"::error title=mcp-conformance::{exc}")
        return 2
    code = cli.main(args)
    publish(report_dir(given), code)
    return code


if __name__ == "__main__":
    sys.exit(main())
