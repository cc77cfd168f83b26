"""The requirement catalogue: the wire-testable requirements of each spec revision, and
which checks cite them.

The data is one TSV per catalogue revision in conformance/requirements/, derived from the
spec's requirement list; the summaries are our own paraphrases, never spec text. An
unqualified ID ("lifecycle-010") means the 2025-11-25 catalogue, which also stands for the
older legacy revisions (their requirements are a subset under the same IDs); IDs of any
other catalogue are qualified ("2026-07-28/basic-003").
"""

from __future__ import annotations

import csv
import importlib
import inspect
import pkgutil
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources

DEFAULT_REVISION = "2025-11-25"
# Legacy revisions without a catalogue of their own are served by the default one.
ALIASES = {"2024-11-05": DEFAULT_REVISION, "2025-03-26": DEFAULT_REVISION, "2025-06-18": DEFAULT_REVISION}
LEVELS = ("MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY")
SIDES = ("server", "client", "both", "auth-server", "intermediary")
MUST = ("MUST", "MUST NOT")
SHOULD = ("SHOULD", "SHOULD NOT")
COLUMNS = ("id", "level", "side", "testable", "transport", "area", "url", "summary")
MARK = "mcp_requirement"
# Authorization is tested over HTTP with an authorization server, not on the plain wire.
AUTHORIZATION_AREAS = (
    "authorization-server-discovery",
    "client-registration",
    "authorization",
    "security-considerations",
)

# The server-side authorization MUSTs a harness can observe when it plays the OAuth client
# and the authorization server the server trusts (with no token, or with tokens it mints):
# the measure of the authorization checks (rows 1.2 A0 and AT of the design background).
AUTHORIZATION_OBSERVABLE = {
    "2025-11-25": tuple(
        f"authorization-{n}"
        for n in (
            "008",
            "013",
            "014",
            "015",
            "016",
            "017",
            "074",  # no token needed
            "063",
            "067",
            "068",
            "069",
            "070",
            "072",
            "073",
            "075",
            "088",
            "119",
            "120",
            "121",
        )
    ),  # trusted tokens
    "2026-07-28": (
        *(f"authorization-server-discovery-{n}" for n in ("001", "002", "004", "005", "006")),
        "authorization-008",
        "authorization-058",
        *(f"authorization-{n}" for n in ("042", "046", "047", "048", "049", "051", "052", "059", "072")),
        *(f"security-considerations-{n}" for n in ("004", "031", "032", "033")),
    ),
}

# The client-side authorization rows a harness can observe when it plays the protected MCP
# server and its authorization server (rows 1.2 (b) of the design background); the
# coverage command counts their MUSTs.
CLIENT_AUTHORIZATION_OBSERVABLE = {
    "2025-11-25": tuple(
        f"authorization-{n:03}"
        for n in (
            7,
            12,
            22,
            *range(24, 32),
            33,
            34,
            39,
            40,
            49,
            53,
            *range(55, 67),
            71,
            82,
            84,
            85,
            87,
            *range(94, 101),
            104,
            123,
        )
    ),
    "2026-07-28": (
        *(f"authorization-server-discovery-{n:03}" for n in (3, *range(8, 15), 17)),
        *(f"client-registration-{n:03}" for n in (2, 3, 8, 9, 18, 21, 22, 23, 24, 26, 27, 28, 29)),
        *(
            f"authorization-{n:03}"
            for n in (7, 12, 14, 18, 19, 22, 27, 28, 29, 30, 32, 33, *range(34, 46), 50, 54, 55, 67, 69, 71)
        ),
        *(f"security-considerations-{n:03}" for n in (3, *range(10, 17), 20, 35)),
    ),
}


@dataclass(frozen=True)
class Requirement:
    id: str
    revision: str
    level: str
    side: str
    testable: str
    transport: str
    area: str
    url: str
    summary: str

    @property
    def qualified_id(self) -> str:
        return self.id if self.revision == DEFAULT_REVISION else f"{self.revision}/{self.id}"

    @property
    def wire_testable(self) -> bool:
        """Fully wire-testable and no authorization rule (authorization has its own measure)."""
        return self.testable == "yes" and self.area not in AUTHORIZATION_AREAS

    @property
    def portable(self) -> bool:
        """Wire-testable on any transport (issue #4's measure of the server side)."""
        return self.wire_testable and self.transport == "any"


@dataclass(frozen=True)
class CheckInfo:
    name: str  # the test function
    area: str  # its scenario module
    requirement_ids: tuple[str, ...]  # as cited, possibly qualified


def revisions() -> list[str]:
    """The revisions that have a catalogue file."""
    files = resources.files("conformance.requirements").iterdir()
    return sorted(f.name.removesuffix(".tsv") for f in files if f.name.endswith(".tsv"))


def _catalogue_of(revision: str) -> str:
    name = ALIASES.get(revision, revision)
    if name not in revisions():
        known = ", ".join([*revisions(), *ALIASES])
        raise KeyError(f"no requirement catalogue for revision {revision!r}; known: {known}")
    return name


@cache
def _load(name: str) -> dict[str, Requirement]:
    text = resources.files("conformance.requirements").joinpath(f"{name}.tsv").read_text(encoding="utf-8")
    rows = csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = tuple(next(rows))
    if header != COLUMNS:
        raise ValueError(f"requirements/{name}.tsv: expected columns {COLUMNS}, got {header}")
    return {row[0]: Requirement(row[0], name, *row[1:]) for row in rows if row}


def load(revision: str) -> dict[str, Requirement]:
    """The catalogue serving `revision`, by requirement ID (unqualified)."""
    return _load(_catalogue_of(revision))


def lookup(requirement_id: str, revision: str | None = None) -> Requirement:
    """The requirement an ID names. A qualified ID ("2026-07-28/basic-003") names its own
    catalogue; an unqualified one is looked up in `revision`'s (by default 2025-11-25)."""
    qualifier, _, bare = requirement_id.rpartition("/")
    name = _catalogue_of(qualifier or revision or DEFAULT_REVISION)
    try:
        return _load(name)[bare]
    except KeyError:
        raise KeyError(
            f"unknown requirement {requirement_id!r}: not in the {name} catalogue (conformance/requirements/{name}.tsv)"
        ) from None


def get(requirement_id: str, revision: str | None = None) -> Requirement | None:
    """Like `lookup`, but None for an unknown ID (for reports, which show what they can)."""
    try:
        return lookup(requirement_id, revision)
    except KeyError:
        return None


def checks() -> list[CheckInfo]:
    """Every check shipped in conformance.scenarios (the client leg's as area "client.<module>"),
    with the requirement IDs it cites."""
    package = importlib.import_module("conformance.scenarios")
    found = []
    prefix = package.__name__ + "."
    for info in sorted(pkgutil.walk_packages(package.__path__, prefix), key=lambda m: m.name):
        if info.ispkg:
            continue
        module = importlib.import_module(info.name)
        area = info.name.removeprefix(prefix)
        module_ids = _cited(getattr(module, "pytestmark", []))
        for name, func in vars(module).items():  # in definition order
            # Only tests defined here: an imported helper named test_* is not a check of this area.
            if name.startswith("test_") and inspect.isfunction(func) and func.__module__ == module.__name__:
                ids = module_ids + _cited(getattr(func, "pytestmark", []))
                found.append(CheckInfo(name, area, tuple(dict.fromkeys(ids))))
    return found


def _cited(marks) -> tuple[str, ...]:
    marks = marks if isinstance(marks, (list, tuple)) else [marks]
    return tuple(i for mark in marks if getattr(mark, "name", None) == MARK for i in mark.args)


@dataclass(frozen=True)
class AreaCoverage:
    area: str
    covered: tuple[Requirement, ...]
    missing: tuple[Requirement, ...]


@dataclass(frozen=True)
class Coverage:
    revision: str  # the catalogue's
    areas: tuple[AreaCoverage, ...]  # in spec order
    checks_by_requirement: dict[str, tuple[str, ...]]
    unknown: tuple[tuple[str, str], ...]  # (check, cited ID) naming no catalogue entry
    client_checks: frozenset[str] = frozenset()  # the client leg's checks (the rest judge servers)

    def share(
        self, levels: tuple[str, ...], portable: bool = False, side: str = "server", wire_testable: bool = False
    ) -> tuple[int, int]:
        """(checked, total) over the requirements of `side` ("server" or "client") at these
        levels; a side's requirements include the rules for both sides, and count as checked
        when a check of that side's leg cites them. `wire_testable` keeps only the fully
        testable, non-authorization ones; `portable` also only the transport-independent ones."""
        pool = [
            r
            for a in self.areas
            for r in (*a.covered, *a.missing)
            if r.level in levels
            and r.side in (side, "both")
            and (r.portable or not portable)
            and (r.wire_testable or not wire_testable)
        ]
        return sum(self.checked_by(r.id, side) for r in pool), len(pool)

    def checked_by(self, requirement_id: str, side: str) -> bool:
        """Whether a check of `side`'s leg cites the requirement."""
        return any(
            (check in self.client_checks) == (side == "client")
            for check in self.checks_by_requirement.get(requirement_id, ())
        )

    def authorization(self, proven: set[str] | None = None, side: str = "server") -> tuple[list[str], list[str]]:
        """(checked, unchecked) harness-observable authorization MUSTs of `side` (see
        AUTHORIZATION_OBSERVABLE and CLIENT_AUTHORIZATION_OBSERVABLE); with `proven`, a
        requirement counts only when one of its checks is in that set (the checks a
        reference fault makes fail or warn)."""
        checked, unchecked = [], []
        rows = (AUTHORIZATION_OBSERVABLE if side == "server" else CLIENT_AUTHORIZATION_OBSERVABLE).get(
            self.revision, ()
        )
        catalogue = _load(self.revision)
        for requirement_id in rows:
            if side != "server" and (
                requirement_id not in catalogue or catalogue[requirement_id].level not in ("MUST", "MUST NOT")
            ):
                continue
            citing = self.checks_by_requirement.get(requirement_id, ())
            ok = any(proven is None or check in proven for check in citing)
            (checked if ok else unchecked).append(requirement_id)
        return checked, unchecked


def coverage(revision: str = DEFAULT_REVISION) -> Coverage:
    """Which requirements of `revision`'s catalogue at least one check cites, per area."""
    name = _catalogue_of(revision)
    cited, unknown = defaultdict(list), []
    found = checks()
    for check in found:
        for requirement_id in check.requirement_ids:
            requirement = get(requirement_id)
            if requirement is None:
                unknown.append((check.name, requirement_id))
            elif requirement.revision == name:
                cited[requirement.id].append(check.name)
    by_area: dict[str, list[Requirement]] = defaultdict(list)
    for requirement in _load(name).values():
        by_area[requirement.area].append(requirement)
    areas = tuple(
        AreaCoverage(area, tuple(r for r in rs if r.id in cited), tuple(r for r in rs if r.id not in cited))
        for area, rs in by_area.items()
    )
    client = frozenset(check.name for check in found if check.area.startswith("client."))
    return Coverage(name, areas, {k: tuple(v) for k, v in cited.items()}, tuple(unknown), client)
