"""Fuzz throughput against the reference server over stdio, next to the limit of the pipe.

    python bench/fuzz_throughput.py [--revision REV] [--examples N] [--seconds S] [--rounds R]

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
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time

from conformance import jsonrpc
from conformance.fuzzing import Fuzzer
from conformance.scenarios.fuzz import _exchange, _tools, message_pool, valid_cases, valid_messages
from conformance.target import Target
from conformance.transport.stdio import StdioTransport

ECHO = "import sys\nfor line in sys.stdin.buffer:\n    sys.stdout.buffer.write(line)\n    sys.stdout.buffer.flush()"
REFERENCE = f"{shlex.quote(sys.executable)} -m conformance.reference.server"


def raw_rate(seconds: float) -> float:
    """Messages per second of a send-one, receive-one loop with the echo peer."""
    transport = StdioTransport(shlex.join([sys.executable, "-c", ECHO])).start()
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


def fuzz_rate(revision: str, examples: int, seed: int) -> tuple[float, int]:
    """Messages per second of the valid-request property against the reference server."""
    target = Target(REFERENCE, revisions=[revision], call_tools="none")

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
    args = parser.parse_args(argv)
    raws, fuzzes = [], []
    for _ in range(args.rounds):
        fuzz, messages = fuzz_rate(args.revision, args.examples, args.seed)
        fuzzes.append(fuzz)
        raws.append(raw_rate(args.seconds))
    raw, fuzz = statistics.median(raws), statistics.median(fuzzes)
    print(f"raw round trips (echo peer):  median {raw:9.0f} messages/s  ({_rates(raws)})")
    print(f"fuzz (reference, {args.revision}): median {fuzz:9.0f} messages/s  ({_rates(fuzzes)}; "
          f"{messages} messages in {args.examples} cases per round)")
    print(f"ratio of the medians fuzz / raw: {fuzz / raw:.2f} (target >= 0.50)")
    return 0


def _rates(rates: list[float]) -> str:
    return ", ".join(f"{rate:.0f}" for rate in rates)


if __name__ == "__main__":
    sys.exit(main())
