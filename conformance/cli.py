"""The `mcp-conformance` command: the suite without a pytest command line to learn.

    mcp-conformance server "CMD" [--transport stdio|http|sse] [OPTIONS] [-- PYTEST-ARGS]
    mcp-conformance url URL [OPTIONS] [-- PYTEST-ARGS]
    mcp-conformance client "CMD" [--transport auto|stdio|http] [OPTIONS] [-- PYTEST-ARGS]
    mcp-conformance coverage [--revision REV] [--missing]
    mcp-conformance matrix REPORT.json... [-o index.html]
    mcp-conformance --version

server, url and client run the pytest plugin (pytest.main) on the server command, the URL
of a running server or the client command ({server} and {url} as with --mcp-client). Every
option of the plugin works as it is (--mcp-report DIR, --mcp-version REV, ...); the common
ones also go by short names: --report DIR, --timeout SECONDS, --strict, --transport.
Anything after -- goes to pytest unchanged. The exit code is pytest's.
"""

from __future__ import annotations

import sys

USAGE = __doc__.split("\n\n")[1]
# short name -> the plugin's option, per kind of run
SHORT = {
    "server": {
        "--report": "--mcp-report",
        "--timeout": "--mcp-timeout",
        "--strict": "--mcp-strict",
        "--transport": "--mcp-transport",
    },
    "client": {
        "--report": "--mcp-report",
        "--timeout": "--mcp-client-timeout",
        "--strict": "--mcp-strict",
        "--transport": "--mcp-client-transport",
    },
}
SHORT["url"] = SHORT["server"]
TARGET = {"server": "--mcp-server", "url": "--mcp-url", "client": "--mcp-client"}


def plugin_args(kind: str, args: list[str]) -> list[str]:
    """The pytest arguments of a run: the target, the options with short names spelled out,
    and what follows `--` as it is."""
    target, rest = args[0], args[1:]
    ours, theirs = (rest[: rest.index("--")], rest[rest.index("--") + 1 :]) if "--" in rest else (rest, [])
    names = SHORT[kind]

    def spelled(arg: str) -> str:  # --report DIR and --report=DIR alike
        name, equals, value = arg.partition("=")
        return names.get(name, name) + equals + value if arg.startswith("--") else arg

    return [TARGET[kind], target, *map(spelled, ours), "-p", "no:cacheprovider", *theirs]


def version() -> str:
    from . import __version__
    from .revisions import manifest, revisions

    return (
        f"mcp-conformance {__version__} (MCP specification at commit {manifest()['spec_commit']}; "
        f"revisions {', '.join(revisions())})"
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else None
    if command in ("-h", "--help"):
        print(__doc__.split("\n\n", 1)[1].strip())
        return 0
    if command is None:
        print(USAGE, file=sys.stderr)
        return 2
    if command == "--version":
        print(version())
        return 0
    if command in TARGET:
        if len(args) < 2 or args[1].startswith("-"):
            print(
                f"mcp-conformance {command}: give the {'URL' if command == 'url' else 'command'} to test "
                f"first\n{USAGE}",
                file=sys.stderr,
            )
            return 2
        import pytest

        return int(pytest.main(plugin_args(command, args[1:])))
    if command == "coverage":
        from .__main__ import main as tools

        return tools(args)
    if command == "matrix":
        from .report.matrix import main as matrix

        return matrix(args[1:])
    print(f"mcp-conformance: unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
