"""Fuzz throughput against the reference server over stdio, next to the limit of the pipe.

    python bench/fuzz_throughput.py [--revision REV] [--examples N] [--seconds S] [--rounds R] [--one-core]

Two numbers in one run, both in messages per second (sent plus received):
  - raw: a send-one, receive-one loop over the suite's stdio transport with a trivial echo
    peer (a Python child writing back each line it reads): no generation, no validation,
    no server logic, no transcript. The round-trip limit of that kind of pipe.
  - fuzz: the valid-request property of scenarios/fuzz.py (test_fuzz_valid_requests)
    against the reference server, everything included: drawing the run's pool of valid
    messages (message_pool), the Hypothesis engine choosing each case from it, sending a
    case at once, receiving, schema-validating and auditing every message received, the
    probe after each case.
The two are measured interleaved, ROUNDS times each (the raw loop is noisy on a shared
machine); the medians and the ratio of the medians are printed; the target is 0.5 or more.
No timing is asserted anywhere.

Placement. The raw loop's rate depends on where the scheduler puts its two processes: on
two cores every hop is a wakeup across cores; on one core it is a context switch, about
seven times faster (seen here: 22k against 150k messages/s), and left alone the scheduler
picks one or the other from run to run. So both loops run with the same, fixed placement:
the suite on one core and its peer on another (as in a fuzz run on a two-core CI machine,
where the suite and the server each keep a core busy). `--one-core` puts both on one core
instead; the fuzz rate hardly moves (it is bound by the work of the suite and the server,
not by wakeups), the raw one does, and the ratio there is far below the target.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time

from conformance.scenarios.fuzz import _exchange, _tools, message_pool, valid_cases, valid_messages

from conformance import jsonrpc
from conformance.fuzzing import Fuzzer
from conformance.target import Target
from conformance.transport.stdio import StdioTransport

ECHO = "import sys\nfor line in sys.stdin.buffer:\n    sys.stdout.buffer.write(line)\n    sys.stdout.buffer.flush()"
REFERENCE = [sys.executable, "-m", "conformance.reference.server"]
# Runs a command on the given cores: PIN_TO <cores> <command...>
PIN_TO = [
    sys.executable,
    "-c",
    "import os, sys; os.sched_setaffinity(0, map(int, sys.argv[1].split(','))); os.execvp(sys.argv[2], sys.argv[2:])",
]


def place(one_core: bool) -> tuple[str, list[str]]:
    """Pin this process (and the threads it starts from now on) to one core; return how the
    placement reads and the prefix that pins a peer command to its core."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) < 2 and not (one_core and cores):
        return "unpinned (fewer than two cores, or no affinity on this system)", []
    suite_core, peer_core = cores[0], cores[0] if one_core else cores[1]
    os.sched_setaffinity(0, {suite_core})
    where = "both on one core" if one_core else "the suite and its peer on two cores"
    return f"{where} (suite: core {suite_core}, peer: core {peer_core})", [*PIN_TO, str(peer_core)]


def raw_rate(seconds: float, pin: list[str]) -> float:
    """Messages per second of a send-one, receive-one loop with the echo peer."""
    transport = StdioTransport(shlex.join([*pin, sys.executable, "-c", ECHO])).start()
    line = jsonrpc.encode(jsonrpc.request(1, "ping")) + b"\n"
    try:
        count, started = 0, time.monotonic()
        while time.monotonic() - started < seconds:
            transport.send_message(line)
            transport.receive(5.0)
            count += 2
        return count / (time.monotonic() - started)
    finally:
        transport.close()


def fuzz_rate(revision: str, examples: int, seed: int, pin: list[str]) -> tuple[float, int]:
    """Messages per second of the valid-request property against the reference server."""
    target = Target(shlex.join([*pin, *REFERENCE]), revisions=[revision], call_tools="none")

    def connect():
        session = target.connect(revision)
        session.open(revision)
        return session

    fuzz = Fuzzer(connect, "bench", revision, examples, seed)
    session = fuzz.live()
    mark = session.mark()
    try:
        started = time.monotonic()
        pool = message_pool(valid_messages(session, _tools(session, "none")), seed)
        fuzz.run(valid_cases(pool), lambda live, case: _exchange(fuzz, live, case))
        elapsed = time.monotonic() - started
        count = len(fuzz.live().transcript) - mark
    finally:
        target.close()
    return count / elapsed, count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--revision", default="2025-11-25")
    parser.add_argument("--examples", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the raw loop")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved measurements of each")
    parser.add_argument("--one-core", action="store_true", help="run the suite and its peer on one core")
    args = parser.parse_args(argv)
    where, pin = place(args.one_core)
    print(f"placement: {where}")
    raws, fuzzes = [], []
    for _ in range(args.rounds):
        fuzz, messages = fuzz_rate(args.revision, args.examples, args.seed, pin)
        fuzzes.append(fuzz)
        raws.append(raw_rate(args.seconds, pin))
    raw, fuzz = statistics.median(raws), statistics.median(fuzzes)
    print(f"raw round trips (echo peer):  median {raw:9.0f} messages/s  ({_rates(raws)})")
    print(
        f"fuzz (reference, {args.revision}): median {fuzz:9.0f} messages/s  ({_rates(fuzzes)}; "
        f"{messages} messages in {args.examples} cases per round)"
    )
    print(f"ratio of the medians fuzz / raw: {fuzz / raw:.2f} (target >= 0.50)")
    return 0


def _rates(rates: list[float]) -> str:
    return ", ".join(f"{rate:.0f}" for rate in rates)


if __name__ == "__main__":
    sys.exit(main())
