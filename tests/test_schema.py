"""Schema loading (pinned, verified, located in order) and message validation."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from conformance import jsonrpc, schema, wire

SHARED_SPEC = Path(__file__).resolve().parents[1].parent / "shared" / "spec"


def test_manifest_pins_every_revision_at_one_commit():
    pins = schema.manifest()
    assert schema.revisions() == ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"]
    for revision, pin in pins["revisions"].items():
        assert pins["spec_commit"] in pin["url"] and f"/schema/{revision}/schema.json" in pin["url"]
        assert len(pin["sha256"]) == 64


def test_shared_spec_matches_the_pins():
    assert SHARED_SPEC.is_dir(), "tests need ../shared/spec beside the project"
    for revision, pin in schema.manifest()["revisions"].items():
        data = (SHARED_SPEC / revision / "schema.json").read_bytes()
        assert hashlib.sha256(data).hexdigest() == pin["sha256"]


@pytest.mark.parametrize("revision", ["2024-11-05", "2025-06-18", "2025-11-25", "2026-07-28"])
def test_both_dialects_validate(revision):
    s = schema.load(revision)
    good = {"protocolVersion": revision, "capabilities": {}, "serverInfo": {"name": "x", "version": "1"}}
    if s.has("InitializeResult"):
        assert s.validate(good, "InitializeResult") == []
        bad = s.validate({"capabilities": {"tools": True}}, "InitializeResult", "$.result")
        assert any(v.path == "$.result.capabilities.tools" for v in bad)
        assert all(v.definition == "InitializeResult" for v in bad)


def test_validators_are_compiled_once():
    s = schema.load("2025-11-25")
    assert s.validator("CallToolResult") is s.validator("CallToolResult")
    assert schema.load("2025-11-25") is s


def test_explicit_dir_wins_and_must_match_the_pin(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shutil.copytree(SHARED_SPEC / "2025-06-18", tmp_path / "explicit" / "2025-06-18")
    assert (
        schema.load_bytes("2025-06-18", tmp_path / "explicit") == (SHARED_SPEC / "2025-06-18/schema.json").read_bytes()
    )


def test_tampered_copy_is_refused_and_offline_download_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "explicit" / "2024-11-05" / "schema.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{}")
    monkeypatch.setattr(schema, "candidate_dirs", lambda explicit=None: [tmp_path / "explicit"])
    pin = schema.manifest()["revisions"]["2024-11-05"]
    monkeypatch.setitem(pin, "url", "http://127.0.0.1:9/unreachable/schema.json")
    with pytest.raises(schema.SchemaUnavailable) as excinfo:
        schema.load_bytes("2024-11-05")
    message = str(excinfo.value)
    assert "not matching the pinned sha256" in message and "--mcp-schema-dir" in message


def test_cache_is_used_when_verified(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(schema, "candidate_dirs", lambda explicit=None: [])
    cached = schema.cache_dir() / "2025-03-26" / "schema.json"
    cached.parent.mkdir(parents=True)
    shutil.copy(SHARED_SPEC / "2025-03-26" / "schema.json", cached)
    assert json.loads(schema.load_bytes("2025-03-26"))["$schema"].startswith("http://json-schema.org/draft-07")


def _violations(revision, obj, answers=None):
    return wire.validate(schema.load(revision), jsonrpc.classify(obj), answers)


def test_results_are_checked_against_the_answered_method():
    ok = {"jsonrpc": "2.0", "id": 1, "result": {"tools": []}}
    assert _violations("2025-11-25", ok, "tools/list") == []
    bad = {"jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": 3}]}}
    found = _violations("2025-11-25", bad, "tools/list")
    assert found and found[0].definition == "ListToolsResult" and found[0].path.startswith("$.result.tools[0]")


def test_null_error_id_is_accepted_in_every_revision():
    parse_error = jsonrpc.error(None, -32700, "Parse error")
    for revision in schema.legacy_revisions():
        assert _violations(revision, parse_error) == [], revision


def test_batches_exist_only_in_2025_03_26():
    batch = [jsonrpc.result(1, {}), jsonrpc.result(2, {})]
    assert _violations("2025-03-26", batch) == []
    assert _violations("2025-06-18", batch)[0].message.startswith("revision 2025-06-18 has no JSON-RPC batches")


def test_known_notifications_are_checked_by_their_definition():
    bad_log = jsonrpc.notification("notifications/message", {"level": "loud", "data": "x"})
    assert _violations("2025-11-25", bad_log)[0].definition == "LoggingMessageNotification"


@pytest.fixture
def loopback_pin(tmp_path, monkeypatch):
    """A revision's pin pointed at a loopback HTTP server; returns the directory it serves."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(schema, "candidate_dirs", lambda explicit=None: [])
    pin = schema.manifest()["revisions"]["2025-06-18"]
    monkeypatch.setitem(pin, "url", f"http://127.0.0.1:{server.server_address[1]}/schema.json")
    yield served
    server.shutdown()
    server.server_close()


def test_pinned_download_is_verified_and_cached(loopback_pin, tmp_path):
    pinned = (SHARED_SPEC / "2025-06-18" / "schema.json").read_bytes()
    (loopback_pin / "schema.json").write_bytes(pinned)
    assert schema.load_bytes("2025-06-18") == pinned
    assert (tmp_path / "cache" / "mcp-conformance" / "schema" / "2025-06-18" / "schema.json").read_bytes() == pinned


def test_download_of_a_wrong_file_is_refused_and_not_cached(loopback_pin, tmp_path):
    (loopback_pin / "schema.json").write_bytes(b'{"$schema": "not the pinned file"}')
    with pytest.raises(schema.SchemaUnavailable, match="does not match the pinned sha256; not used"):
        schema.load_bytes("2025-06-18")
    assert not (tmp_path / "cache" / "mcp-conformance" / "schema" / "2025-06-18").exists()
