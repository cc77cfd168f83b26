"""Regenerate the published compliance reports: `python reports/regenerate.py`.

Runs the suite against each server and client below (installed by the project's own setup:
`pip install -e ".[test]"` and `npm ci --prefix tests/peers`), writes reports/<name>/ and the
matrix page reports/index.html. A run's exit status is not an error here: finding failures
is what a report is for. A run that writes no report is. Published reports keep the wire
transcripts of the checks that did not pass or skip (--mcp-report-transcripts failures).
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

PEERS = ROOT / "tests/peers"
# name -> the suite's options for that run; servers go on the matrix page, clients do not.
SERVERS = {
    "reference": ["--mcp-server", f"{PY} -m conformance.reference.server"],
    "server-everything": ["--mcp-server", f"node {EVERYTHING} stdio"],
    "server-everything-http": [
        "--mcp-server",
        f"env PORT={{port}} node {EVERYTHING} streamableHttp",
        "--mcp-transport",
        "http",
    ],
    "python-sdk": ["--mcp-server", f"{PY} {PEERS / 'sdk_server.py'}"],
}
CLIENTS = {
    "python-sdk-client": ["--mcp-client", f"{PY} {PEERS / 'sdk_client.py'} {{server}}"],
    "typescript-sdk-client": ["--mcp-client", f"node {PEERS / 'ts_client.mjs'}"],  # Streamable HTTP: URL appended
    # the SDKs' OAuth clients, in the auth/* scenarios only
    "python-sdk-oauth-client": ["--mcp-client", f"{PY} {PEERS / 'sdk_auth_client.py'}", "-k", "test_auth_"],
    "typescript-sdk-oauth-client": ["--mcp-client", f"node {PEERS / 'ts_auth_client.mjs'}", "-k", "test_auth_"],
}


def run(name: str, options: list[str]) -> Path:
    out = REPORTS / name
    shutil.rmtree(out, ignore_errors=True)
    args = [
        PY,
        "-m",
        "pytest",
        *options,
        "--mcp-report",
        str(out),
        "--mcp-report-transcripts",
        "failures",
        "-q",
        "-n",
        "2",
        "-p",
        "no:cacheprovider",
    ]
    print(f"== {name}: {' '.join(options)}", flush=True)
    subprocess.run(args, cwd=REPORTS, check=False, stdout=subprocess.DEVNULL, timeout=900)
    report = out / "report.json"
    if not report.is_file():
        sys.exit(f"no report written for {name}: run the command above by hand to see why")
    return report


def main() -> None:
    missing = [str(EVERYTHING)] if not EVERYTHING.is_file() else []
    if missing:
        sys.exit(f"not installed: {missing}; run `npm ci --prefix tests/peers`")
    reports = [run(name, options) for name, options in SERVERS.items()]
    for name, options in CLIENTS.items():
        run(name, options)
    subprocess.run(
        [PY, "-m", "conformance.report.matrix", *map(str, reports), "-o", str(REPORTS / "index.html")], check=True
    )
    print(f"wrote {REPORTS / 'index.html'}")


if __name__ == "__main__":
    main()
