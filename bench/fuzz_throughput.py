"""Fuzz throughput against the reference server over stdio, next to the limit of the pipe.

    python bench/fuzz_throughput.py [--revision REV] [--examples N] [--seconds S]

Two numbers in one run, both in messages per second (sent plus received):
  - raw: a round-trip loop over the suite's stdio transport with a trivial echo peer (a
    Python child writing back each line it reads): no generation, no validation, no server
    logic. The limit for anything talking over that kind of pipe.
  - fuzz: the valid-request property of scenarios/fuzz.py (test_fuzz_valid_requests)
    against the reference server, everything included: generation, schema validation of
    every message received, the audit, the probe after each case.
The ratio fuzz / raw is printed; the target is 0.5 or more. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from conformance import jsonrpc
from conformance.fuzzing import Fuzzer
from conformance.scenarios.fuzz import MAX_MESSAGES, IDS, _exchange, _tools, valid_messages
from conformance.target import Target
from conformance.transport.stdio import StdioTransport
from hypothesis import strategies as st

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
    cases = st.lists(st.tuples(IDS, valid_messages(session, _tools(session, "none"))), min_size=1,
                     max_size=MAX_MESSAGES)
    mark = session.mark()
    try:
        started = time.monotonic()
        fuzz.run(cases, lambda live, case: _exchange(fuzz, live, case))
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
    args = parser.parse_args(argv)
    fuzz, messages = fuzz_rate(args.revision, args.examples, args.seed)
    raw = raw_rate(args.seconds)
    print(f"raw round trips (echo peer):  {raw:9.0f} messages/s")
    print(f"fuzz (reference, {args.revision}): {fuzz:9.0f} messages/s ({messages} messages, {args.examples} cases)")
    print(f"ratio fuzz / raw: {fuzz / raw:.2f} (target >= 0.50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
