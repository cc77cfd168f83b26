"""Expected-failure baselines in the official MCP conformance suite's YAML format:

    server:
      - test_ping                 # a check, every revision
      - test_ping[2025-11-25]     # a check in one revision
      - ping-001                  # every check verifying a requirement
      - ping                      # every check of an area
      - ping:test_ping            # scenario:check, i.e. area:check
    client: []

The format is a flat mapping of lists, so a tiny parser reads it (no YAML dependency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .model import RAN

REASON = "expected failure (baseline)"
KEYS = ("server", "client")


class BaselineError(ValueError):
    pass


def _strip_comment(line: str) -> str:
    """Drop a `#` comment (at the start or after a space) unless it is inside quotes."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _scalar(text: str, where: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    if not text:
        raise BaselineError(f"{where}: empty entry")
    return text


def _flow_list(text: str, where: str) -> list[str]:
    if not (text.startswith("[") and text.endswith("]")):
        raise BaselineError(f"{where}: expected a list of entries, got {text!r}")
    inner = text[1:-1].strip()
    return [_scalar(part, where) for part in inner.split(",")] if inner else []


def parse(text: str, source: str = "<baseline>") -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {}
    key = None
    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{source}:{number}"
        line = _strip_comment(raw).rstrip()
        if not line.strip() or line.strip() == "---":
            continue
        if line.lstrip().startswith("- ") or line.strip() == "-":
            if key is None:
                raise BaselineError(f"{where}: a list entry before `server:` or `client:`")
            lists[key].append(_scalar(line.lstrip()[1:], where))
        elif not line[0].isspace() and ":" in line:
            key, rest = (part.strip() for part in line.split(":", 1))
            if key not in KEYS:
                raise BaselineError(f"{where}: unknown key {key!r} (expected {' or '.join(KEYS)})")
            lists[key] = _flow_list(rest, where) if rest else []
        else:
            raise BaselineError(f"{where}: cannot read {raw.strip()!r}")
    return lists


def matches(entry: str, name: str, area: str, requirements: list[str], scenarios: list[str] = ()) -> bool:
    """Whether a baseline entry names this check (see the module docstring); a client
    check is also named by the scenarios it judges (`auth/scope-step-up`, as the official
    suite's client baselines list them)."""
    test = name.split("[", 1)[0]
    if ":" in entry:
        scope, check = entry.split(":", 1)
        return scope == area and check in (name, test)
    return entry in (name, test, area) or entry in requirements or entry in scenarios


@dataclass
class Baseline:
    path: str
    server: list[str] = field(default_factory=list)
    client: list[str] = field(default_factory=list)
    role: str = "server"  # which list applies: the run tests a server, or a client (--mcp-client)

    @property
    def entries(self) -> list[str]:
        return self.client if self.role == "client" else self.server

    @classmethod
    def load(cls, path: str) -> Baseline:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise BaselineError(f"cannot read the expected-failures file {path}: {error.strerror}") from None
        lists = parse(text, path)
        return cls(path, lists.get("server", []), lists.get("client", []))

    def match(self, name: str, area: str, requirements: list[str], scenarios: list[str] = ()) -> str | None:
        """The first entry of the run's list (`server:` or `client:`) naming this check."""
        return next((e for e in self.entries if matches(e, name, area, requirements, scenarios)), None)

    def judge(self, checks: list[dict]) -> dict:
        """Which entries still fail (expected), which now pass (stale), which match no
        check that judged its requirement (not exercised: filtered out, skipped, BLOCKED,
        INTERNAL, or a typo)."""
        expected, stale, unexercised = [], [], []
        for entry in self.entries:
            hits = [
                c for c in checks if matches(entry, c["name"], c["area"], c["requirements"], c.get("scenarios", []))
            ]
            if any(c["outcome"] == "FAIL" for c in hits):
                expected.append(entry)
            elif any(c["outcome"] in RAN for c in hits):
                stale.append(entry)
            else:
                unexercised.append(entry)
        return {
            "file": self.path,
            "server": self.server,
            "client": self.client,
            "expected": expected,
            "stale": stale,
            "unexercised": unexercised,
        }
