"""Regenerate the published compliance reports: `python reports/regenerate.py`.

Runs the suite against each implementation below (installed by the project's own setup:
`pip install -e ".[test]"` and `npm ci --prefix tests/peers`), writes reports/<name>/ and the
matrix page reports/index.html. A run's exit status is not an error here: finding failures
is what a report is for. A run that writes no report is.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "reports"
PY = sys.executable
EVERYTHING = ROOT / "tests/peers/node_modules/@modelcontextprotocol/server-everything/dist/index.js"

IMPLEMENTATIONS = {
    "reference": f"{PY} -m conformance.reference.server",
    "server-everything": f"node {EVERYTHING} stdio",
    "python-sdk": f"{PY} {ROOT / 'tests/peers/sdk_server.py'}",
}


def run(name: str, command: str) -> Path:
    out = REPORTS / name
    shutil.rmtree(out, ignore_errors=True)
    args = [PY, "-m", "pytest", "--mcp-server", command, "--mcp-report", str(out), "-q", "-n", "2",
            "-p", "no:cacheprovider"]
    print(f"== {name}: {command}", flush=True)
    subprocess.run(args, cwd=REPORTS, check=False, stdout=subprocess.DEVNULL, timeout=900)
    report = out / "report.json"
    if not report.is_file():
        sys.exit(f"no report written for {name}: run the command above by hand to see why")
    return report


def main() -> None:
    missing = [str(EVERYTHING)] if not EVERYTHING.is_file() else []
    if missing:
        sys.exit(f"not installed: {missing}; run `npm ci --prefix tests/peers`")
    reports = [run(name, command) for name, command in IMPLEMENTATIONS.items()]
    subprocess.run([PY, "-m", "conformance.report.matrix", *map(str, reports), "-o", str(REPORTS / "index.html")],
                   check=True)
    print(f"wrote {REPORTS / 'index.html'}")


if __name__ == "__main__":
    main()
