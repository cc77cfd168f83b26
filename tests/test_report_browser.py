"""The HTML reports in a real headless browser (Debian's Chromium: .ci/install-chromium):
they render, and markup an implementation sends never becomes markup on the page.

Under CI (CI=true) a missing Chromium fails these tests; locally it skips them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.report import matrix, output

try:  # tests/ as a package or as a plain directory on sys.path
    from .test_report import HOSTILE, crafted, run_suite
except ImportError:
    from test_report import HOSTILE, crafted, run_suite

CHROMIUM = os.environ.get("MCP_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# A stdio MCP server whose every string is markup: serverInfo, error messages (so ping
# fails and its reason and transcript carry them too).
HOSTILE_SERVER = f"""
import json, sys

HOSTILE = {HOSTILE!r}
KNOWN = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")

def answer(message):
    if message["method"] == "initialize":
        asked = message.get("params", {{}}).get("protocolVersion")
        return {{"result": {{"protocolVersion": asked if asked in KNOWN else KNOWN[-1], "capabilities": {{}},
                            "serverInfo": {{"name": HOSTILE, "version": HOSTILE}}}}}}
    return {{"error": {{"code": -32601 if message["method"] != "ping" else -32603, "message": HOSTILE}}}}

for line in sys.stdin:
    try:
        message = json.loads(line)
    except ValueError:
        reply = {{"id": None, "error": {{"code": -32700, "message": HOSTILE}}}}
    else:
        if not isinstance(message, dict) or "id" not in message or "method" not in message:
            continue  # notifications, responses, batches: nothing to answer
        reply = {{"id": message["id"], **answer(message)}}
    sys.stdout.write(json.dumps({{"jsonrpc": "2.0", **reply}}) + "\\n")
    sys.stdout.flush()
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is missing: run .ci/install-chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return CHROMIUM


def browse(chromium: str, page: Path, profile: Path, *mode: str) -> str:
    """Load `page` in headless Chromium; its stdout (the DOM after scripts, for --dump-dom)."""
    done = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *mode, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def title(dom: str) -> str:
    found = re.search(r"<title>(.*?)</title>", dom, re.S)
    return found.group(1) if found else ""


def assert_inert(dom: str) -> None:
    """Nothing the implementation sent ran or became an element."""
    assert title(dom).startswith("MCP conformance")  # a script would have made it just PWNED
    assert "<script" not in dom and "<img" not in dom, "implementation markup became elements"
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom  # shown, as text


def test_browser_runs_scripts(chromium, tmp_path):
    """The control: this browser does run scripts, so the tests below are not vacuous."""
    page = tmp_path / "control.html"
    page.write_text("<!DOCTYPE html><title>before</title><script>document.title = 'RAN'</script>")
    assert title(browse(chromium, page, tmp_path / "profile", "--dump-dom")) == "RAN"


def test_report_of_a_hostile_server(chromium, tmp_path):
    server = tmp_path / "hostile_server.py"
    server.write_text(HOSTILE_SERVER)
    run = run_suite(
        tmp_path / "run",
        shlex.join([sys.executable, str(server)]),
        "--mcp-version",
        "2025-11-25",
        "-k",
        "initialize or ping",
    )
    assert run.returncode == 1 and run.check("test_ping[2025-11-25]")["outcome"] == "FAIL", run.output
    assert run.report["implementation"]["name"] == HOSTILE
    dom = browse(chromium, run.directory / "out" / "report.html", tmp_path / "profile", "--dump-dom")
    assert_inert(dom)
    assert '<table id="summary">' in dom and 'id="requirements"' in dom and "Wire transcript" in dom


def test_crafted_report_and_matrix(chromium, tmp_path):
    output.write(crafted(), tmp_path / "a")
    dom = browse(chromium, tmp_path / "a" / "report.html", tmp_path / "profile", "--dump-dom")
    assert_inert(dom)
    assert '<table id="checks">' in dom and dom.count('class="failure') == 2
    assert '<ol id="problems">' in dom and 'class="internal"' in dom and 'class="row-BLOCKED"' in dom
    index = tmp_path / "index.html"
    index.write_text(matrix.render(matrix.load([tmp_path / "a" / "report.json"]), index))
    assert_inert(browse(chromium, index, tmp_path / "profile", "--dump-dom"))


def test_report_renders_to_pixels(chromium, tmp_path):
    output.write(crafted("a plain server"), tmp_path / "out")
    shot = tmp_path / "shot.png"
    browse(
        chromium,
        tmp_path / "out" / "report.html",
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1200,1600",
        "--hide-scrollbars",
    )
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000
