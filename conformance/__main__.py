"""Command line: `python -m conformance coverage [--revision REV ...] [--missing]`.

Subcommands, so more tools can join `coverage` later.
"""

from __future__ import annotations

import argparse
import sys

from . import catalogue


def _share(label: str, counts: tuple[int, int], side: str = "server") -> str:
    done, total = counts
    percent = f"{100 * done / total:.1f}%" if total else "n/a"
    return f"{side}-side {label}: {done}/{total} ({percent})"


def _proven_checks() -> set[str]:
    """The checks some reference fault makes fail or warn (a check no fault trips proves nothing)."""
    from .reference.faults import registry
    from .reference.http import FAULTS as HTTP_FAULTS
    from .reference.oauth_faults import FAULTS as OAUTH_FAULTS

    faults = [*registry().values(), *HTTP_FAULTS.values()]
    return {fault.check for fault in faults if fault.outcome in ("failed", "warned")} | {
        check for check, _, outcome, _ in OAUTH_FAULTS.values() if outcome in ("failed", "warned")
    }


def coverage(args: argparse.Namespace) -> int:
    for revision in args.revision or catalogue.revisions():
        try:
            result = catalogue.coverage(revision)
        except KeyError as exc:
            print(f"error: {exc.args[0]}", file=sys.stderr)
            return 2
        served = [old for old, new in catalogue.ALIASES.items() if new == result.revision]
        print(f"{result.revision}" + (f" (also serves {', '.join(served)})" if served else ""))
        width = max(len(a.area) for a in result.areas)
        print(f"  {'area':<{width}}  checked/total")
        for a in result.areas:
            print(f"  {a.area:<{width}}  {len(a.covered):>3}/{len(a.missing) + len(a.covered)}")
        covered = sum(len(a.covered) for a in result.areas)
        print(f"  {'all':<{width}}  {covered:>3}/{covered + sum(len(a.missing) for a in result.areas)}")
        print(f"  {_share('MUST', result.share(catalogue.MUST))}")
        print(f"  {_share('SHOULD', result.share(catalogue.SHOULD))}")
        print(f"  {_share('MUST, wire-testable, not HTTP-only or authorization', result.share(('MUST',), True))}")
        for label, levels in (("MUST", catalogue.MUST), ("SHOULD", catalogue.SHOULD)):
            print(f"  {_share(label, result.share(levels, side='client'), 'client')}")
            wire = result.share(levels, side="client", wire_testable=True)
            print(f"  {_share(f'{label}, wire-testable, not authorization', wire, 'client')}")
        checked, unchecked = result.authorization(_proven_checks())
        if checked or unchecked:
            label = "authorization MUST observable by the harness, with a check and a fault"
            print(f"  {_share(label, (len(checked), len(checked) + len(unchecked)))}")
            if unchecked:
                print(f"    not yet: {', '.join(unchecked)}")
        checked, unchecked = result.authorization(_proven_checks(), side="client")
        if checked or unchecked:
            label = "authorization MUST observable by the harness, with a check and a fault"
            print(f"  {_share(label, (len(checked), len(checked) + len(unchecked)), 'client')}")
            if unchecked:
                print(f"    not yet: {', '.join(unchecked)}")
        if args.missing:
            print("  without a check:")
            for a in result.areas:
                for r in a.missing:
                    print(f"    {r.qualified_id:<34} {r.level:<10} {r.side:<12} {r.summary}")
        for check, requirement_id in result.unknown:
            print(f"warning: {check} cites {requirement_id!r}, which no catalogue lists", file=sys.stderr)
        print()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance", description="MCP conformance suite tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    cover = commands.add_parser("coverage", help="how many catalogue requirements the shipped checks cite")
    cover.add_argument(
        "--revision", action="append", metavar="REV", help="catalogue to report (repeatable); default: every catalogue"
    )
    cover.add_argument("--missing", action="store_true", help="list the requirements no check cites")
    cover.set_defaults(run=coverage)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
