"""The requirement catalogue: well-formed data, every cited ID known, summaries that are our
own words, and the coverage command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import catalogue

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT.parent / "shared" / "spec"  # the spec sources sit next to the project
RUN = 12  # no run of this many words may match the spec text
REVISIONS = ("2025-11-25", "2026-07-28")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@pytest.mark.parametrize("revision", REVISIONS)
def test_catalogue_is_well_formed(revision):
    requirements = catalogue.load(revision)
    assert len(requirements) > 400
    prefix = f"https://modelcontextprotocol.io/specification/{revision}"
    for r in requirements.values():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*-\d{3}", r.id), r
        assert r.revision == revision and r.level in catalogue.LEVELS and r.side in catalogue.SIDES, r
        assert r.testable in ("yes", "partially") and r.transport and r.area, r
        assert r.url == prefix or r.url.startswith((prefix + "/", prefix + "#")), r
        assert 0 < len(r.summary) <= 120, r


def test_legacy_revisions_share_the_default_catalogue():
    assert catalogue.load("2025-06-18") is catalogue.load("2025-11-25")
    assert catalogue.lookup("lifecycle-010", "2024-11-05") is catalogue.lookup("lifecycle-010")


def test_lookup_qualified_and_unknown():
    assert catalogue.lookup("2026-07-28/basic-003").revision == "2026-07-28"
    assert catalogue.lookup("lifecycle-010").area == "lifecycle"
    for made_up in ("lifecycle-999", "2026-07-28/lifecycle-010", "1999-01-01/basic-003"):
        with pytest.raises(KeyError, match="catalogue"):
            catalogue.lookup(made_up)
    assert catalogue.get("lifecycle-999") is None


def test_every_cited_id_exists():
    found = catalogue.checks()
    assert any(c.name == "test_server_answers_initialize" and "lifecycle-001" in c.requirement_ids for c in found)
    unknown = []
    for check in found:
        for requirement_id in check.requirement_ids:
            try:
                catalogue.lookup(requirement_id)
            except KeyError as exc:
                unknown.append(f"{check.area}.{check.name}: {exc.args[0]}")
    assert not unknown, "checks cite unknown requirement IDs:\n" + "\n".join(unknown)


def test_every_check_cites_a_requirement():
    uncited = [f"{c.area}.{c.name}" for c in catalogue.checks() if not c.requirement_ids]
    assert not uncited, f"checks without @requirement: {uncited}"


@pytest.mark.parametrize("revision", REVISIONS)
def test_summaries_are_not_spec_text(revision):
    root = SPEC / revision
    if not (root / "docs").is_dir() or not (root / "schema.ts").is_file():
        pytest.fail(f"spec sources missing: expected {root}/docs/**.mdx and {root}/schema.ts")
    runs = set()
    for path in [*(root / "docs").rglob("*.mdx"), root / "schema.ts"]:
        w = words(path.read_text(encoding="utf-8"))
        runs.update(tuple(w[i : i + RUN]) for i in range(len(w) - RUN + 1))
    copied = []
    for r in catalogue.load(revision).values():
        w = words(r.summary)
        copied += [
            f"{r.id}: {' '.join(w[i : i + RUN])}" for i in range(len(w) - RUN + 1) if tuple(w[i : i + RUN]) in runs
        ]
    assert not copied, "summaries repeat spec text; paraphrase them:\n" + "\n".join(copied)


def test_coverage_counts_cited_requirements():
    result = catalogue.coverage("2025-11-25")
    assert "test_answered_versions_are_echoed" in result.checks_by_requirement["lifecycle-010"]
    lifecycle = next(a for a in result.areas if a.area == "lifecycle")
    assert any(r.id == "lifecycle-010" for r in lifecycle.covered)
    assert all(r.id not in result.checks_by_requirement for r in lifecycle.missing)
    done, total = result.share(catalogue.MUST)
    assert 0 < done <= total


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_coverage_command():
    result = run("coverage")
    assert result.returncode == 0, result.stderr
    for revision in REVISIONS:
        assert revision in result.stdout
    assert re.search(r"server-side MUST: \d+/\d+ \(\d+\.\d%\)", result.stdout), result.stdout
    assert len(re.findall(r"server-side SHOULD: \d+/\d+", result.stdout)) == len(REVISIONS)
    portable = r"server-side MUST, wire-testable, not HTTP-only or authorization: \d+/\d+ \(\d+\.\d%\)"
    assert len(re.findall(portable, result.stdout)) == len(REVISIONS), result.stdout
    for line in (
        "client-side MUST: ",
        "client-side SHOULD: ",
        "client-side MUST, wire-testable, not authorization: ",
        "client-side SHOULD, wire-testable, not authorization: ",
    ):
        assert len(re.findall(re.escape(line) + r"\d+/\d+ \(\d+\.\d%\)", result.stdout)) == len(REVISIONS), line


def test_portable_share_leaves_out_partial_http_and_authorization_rows():
    result = catalogue.coverage("2026-07-28")
    done, total = result.share(("MUST",), portable=True)
    pool = [
        r
        for r in catalogue.load("2026-07-28").values()
        if r.level == "MUST"
        and r.side in ("server", "both")
        and r.testable == "yes"
        and r.transport == "any"
        and not r.area.startswith(("auth", "client-reg", "secur"))
    ]
    assert (done, total) == (sum(result.checked_by(r.id, "server") for r in pool), len(pool))
    assert total < result.share(("MUST",))[1]


def test_each_side_counts_the_checks_of_its_own_leg():
    """A rule for both sides counts for the server side when a server check cites it, and
    for the client side when a client-leg check does: progress-002 (unique progress tokens)
    is judged on clients only."""
    result = catalogue.coverage("2025-11-25")
    assert result.checks_by_requirement["progress-002"] == ("test_progress_tokens",)
    assert "test_progress_tokens" in result.client_checks
    assert result.checked_by("progress-002", "client") and not result.checked_by("progress-002", "server")
    assert result.checked_by("lifecycle-010", "server") and "test_http_accept_headers" in result.client_checks
    done, total = result.share(catalogue.MUST, side="client", wire_testable=True)
    pool = [
        r
        for r in catalogue.load("2025-11-25").values()
        if r.level in catalogue.MUST
        and r.side in ("client", "both")
        and r.testable == "yes"
        and r.area not in catalogue.AUTHORIZATION_AREAS
    ]
    assert (done, total) == (sum(result.checked_by(r.id, "client") for r in pool), len(pool))
    assert result.checked_by("transports-016", "client")


def test_no_check_name_in_both_legs():
    """Coverage tells a server check from a client-leg one by its name."""
    legs: dict[str, set[str]] = {}
    for check in catalogue.checks():
        legs.setdefault(check.name, set()).add("client" if check.area.startswith("client.") else "server")
    assert not [name for name, found in legs.items() if len(found) > 1]


def test_coverage_missing_lists_uncited_ids():
    result = run("coverage", "--revision", "2025-11-25", "--missing")
    assert result.returncode == 0, result.stderr
    assert "schema-035" in result.stdout and "2026-07-28" not in result.stdout


def test_no_command_prints_usage():
    result = run()
    assert result.returncode != 0 and "coverage" in result.stdout
