"""Resources: listing, reading, unknown URIs, subscriptions and update notifications.

Discovery mode works on any server that declares `resources`: the suite lists what the
server offers and reads it. Fixture mode (test_resources_read_text, _read_binary,
_templates_read) runs only when the fixture resources of the official conformance suite
are offered (test://static-text, test://static-binary, test://template/{id}/data).

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/resources
"""

import base64
import binascii
import re
import uuid
from collections import Counter

from conformance.scenarios.pagination import listing_if_offered, relisted

from conformance import ledger
from conformance.checks import expect, fail, info, not_applicable, requirement, should
from conformance.discovery import declares, list_all
from conformance.jsonrpc import INVALID_PARAMS, Kind

READ_LIMIT = 20  # listed resources read (and subscribed to) per check
RESOURCE_NOT_FOUND = -32002  # the code every legacy revision names for an unknown resource
UPDATE_WINDOW = 0.5  # seconds to wait for a subscribed resource to change
SETTLE = 0.05  # seconds for updates already under way when unsubscribing (unordered transports)
QUIET_WINDOW = 0.3  # seconds that must pass without updates after unsubscribing (a change comes any time)
FIXTURE_TEXT = "test://static-text"
FIXTURE_BINARY = "test://static-binary"
FIXTURE_WATCHED = "test://watched-resource"
FIXTURE_TEMPLATE = "test://template/{id}/data"
FIXTURE_TEXT_CONTENT = "This is the content of the static text resource."
# RFC 3986: a scheme, then only unreserved, reserved and percent-encoded characters.
URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")


# -- helpers -----------------------------------------------------------------------------
def resources_declared(session) -> dict:
    capability = declares(session, "resources")
    if capability is None:
        not_applicable("the server does not declare the resources capability")
    return capability


def listed_uris(session) -> list[str]:
    items = list_all(session, "resources/list", "resources").items
    return [item["uri"] for item in items if isinstance(item, dict) and isinstance(item.get("uri"), str)]


def read(session, uri: str):
    return session.request("resources/read", {"uri": uri})


def is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def content_problems(uri: str, contents) -> list[str]:
    """What is wrong with the contents read from `uri` (MUST level)."""
    problems = []
    for index, item in enumerate(contents if isinstance(contents, list) else []):
        where = f"{uri}: contents[{index}]"
        if not isinstance(item, dict):
            continue  # the schema validation reports it
        if "text" in item and "blob" in item:
            problems.append(f"{where} carries both text and blob; an item is one or the other")
        blob = item.get("blob")
        if isinstance(blob, str) and not is_base64(blob):
            problems.append(f"{where}: blob is not valid base64: {blob[:60]!r}")
    return problems


def fixture_item(session, uri: str) -> dict:
    """The content item under `uri` read from a fixture resource; fails on anything else."""
    response = read(session, uri)
    expect(response.kind is Kind.RESULT, f"reading {uri} failed: {response.error}")
    contents = response.result.get("contents")
    expect(isinstance(contents, list) and contents, f"reading {uri} returned no contents")
    item = next((c for c in contents if isinstance(c, dict) and c.get("uri") == uri), contents[0])
    expect(
        isinstance(item, dict) and item.get("uri") == uri,
        f"reading {uri} returned contents for {item.get('uri') if isinstance(item, dict) else item!r}",
    )
    return item


def require_fixture(present: bool, what: str) -> None:
    if not present:
        not_applicable(f"the official suite's fixture {what} is not offered (fixture mode only)")


def unknown_uri(session) -> str:
    """A URI no server offers, in the scheme of the server's own resources."""
    uris = listed_uris(session)
    scheme = uris[0].split(":", 1)[0] if uris and ":" in uris[0] else "test"
    return f"{scheme}://mcp-conformance.invalid/no-such-resource-{uuid.uuid4().hex[:12]}"


def subscriptions_exist(revision: str) -> None:
    if revision >= "2026":
        not_applicable(f"{revision} has no resources/subscribe (subscriptions/listen replaced it)")


def subscription_target(session) -> str:
    uris = listed_uris(session)
    if not uris:
        not_applicable("the server lists no resources to subscribe to")
    return FIXTURE_WATCHED if FIXTURE_WATCHED in uris else uris[0]


def updates(messages) -> list[str]:
    return [
        (m.params or {}).get("uri")
        for m in messages
        if m.kind is Kind.NOTIFICATION and m.method == "notifications/resources/updated"
    ]


# -- discovery mode -----------------------------------------------------------------------
@requirement("resources-001", "2026-07-28/resources-003")  # a declared capability is served
def test_resources_list(mcp, revision):
    """With `resources` declared, resources/list answers every page, each entry valid for the
    revision's schema (uri and name at least), and so does resources/templates/list (its
    entries carry uriTemplate and name). A server without templates may answer -32601."""
    resources_declared(mcp)
    pages = relisted(mcp, "resources/list", "resources").pages
    templates = listing_if_offered(mcp, "resources/templates/list", "resourceTemplates", fresh=True)
    expect_valid_pages(mcp, "resources/list", "resources", pages)
    if templates is None:
        info("resources/templates/list is not offered (-32601): the server has no templates")
    else:
        expect_valid_pages(mcp, "resources/templates/list", "resourceTemplates", templates.pages)
    repeated = [uri for uri, n in Counter(listed_uris(mcp)).items() if n > 1]
    if repeated:
        info(f"resources/list names these URIs more than once: {repeated[:5]}")


def expect_valid_pages(session, method: str, key: str, pages) -> None:
    """Every entry of a listing valid for the revision's result schema; this check claims
    what it finds, so the schema sweep does not report it again. The rest of a page (its
    resultType, caching hints, _meta) is judged by the checks that own those members and
    by the sweep."""
    violations = [
        v
        for page in pages
        for v in session.schema.validate(page.result, session.schema.result_definition(method, False), "$.result")
    ]
    violations = ledger.about_members(violations, (key,))
    if violations:
        fail(
            f"{method} pages break the schema:\n  " + "\n  ".join(map(str, violations[:10])),
            ledger.schema_signatures(violations, method),
        )


@requirement("resources-006", "2026-07-28/resources-012")
def test_resource_uris_valid(mcp, revision):
    """Every listed resource URI, whatever its scheme, is an absolute URI as RFC 3986
    spells it: a scheme, then only allowed characters, with well-formed %-escapes."""
    resources_declared(mcp)
    uris = listed_uris(mcp)
    if not uris:
        not_applicable("the server lists no resources")
    invalid = [uri for uri in uris if not URI.fullmatch(uri)]
    expect(not invalid, "resource URIs that are not RFC 3986 URIs: " + ", ".join(map(repr, invalid[:10])))


@requirement("resources-011", "2026-07-28/resources-019")
def test_resources_read_listed(mcp, revision):
    """Each listed resource (the first 20) reads as contents whose items carry either text or
    a base64 blob, never both. Errors on reading are noted (the spec allows failure cases),
    and so are contents under a URI other than the one read."""
    resources_declared(mcp)
    uris = listed_uris(mcp)[:READ_LIMIT]
    if not uris:
        not_applicable("the server lists no resources")
    problems = []
    for uri in uris:
        response = read(mcp, uri)
        if response.kind is not Kind.RESULT:
            info(f"reading the listed resource {uri} failed: {response.error}")
            continue
        contents = response.result.get("contents")
        problems += content_problems(uri, contents)
        if isinstance(contents, list) and not any(isinstance(c, dict) and c.get("uri") == uri for c in contents):
            info(f"reading {uri} returned no item under that URI ({len(contents)} item(s))")
    expect(not problems, "\n".join(problems))


@requirement("resources-007", "resources-009", "2026-07-28/resources-013", "2026-07-28/resources-016")
def test_resource_not_found(mcp, revision):
    """Reading a URI the server does not have gives an error. Up to 2025-11-25 the spec asks
    for -32002 (Resource not found), a SHOULD: -32602, the code adopted later, is noted;
    empty contents (which look like an empty resource) or another code are warnings. From
    2026-07-28 on, -32602 is required and empty contents are forbidden. Contents for the
    URI are noted either way (a template may match it)."""
    resources_declared(mcp)
    modern = revision >= "2026"
    grade = expect if modern else should  # MUST from 2026-07-28 on, SHOULD before
    wanted = -32602 if modern else RESOURCE_NOT_FOUND
    uri = unknown_uri(mcp)
    response = read(mcp, uri)
    if response.kind is Kind.RESULT:
        contents = response.result.get("contents")
        grade(contents, f"reading the unknown URI {uri} gave empty contents; it should be error {wanted}")
        if contents:
            info(f"the server returned contents for {uri}, which it never listed (a template may match it)")
        return
    if not modern and response.error_code == INVALID_PARAMS:
        info(f"an unknown resource got -32602, the code revisions after 2025-11-25 use; {revision} names -32002")
        return
    grade(response.error_code == wanted, f"an unknown resource should get {wanted}, got {response.error_code!r}")


@requirement("resources-001", "lifecycle-016")  # declared subscribe is served
def test_resources_subscribe(mcp, revision):
    """With `resources.subscribe` declared, resources/subscribe to a listed resource gets a
    result (the suite unsubscribes again afterwards)."""
    subscriptions_exist(revision)
    if not resources_declared(mcp).get("subscribe"):
        not_applicable("resources.subscribe is not declared")
    uri = subscription_target(mcp)
    response = mcp.request("resources/subscribe", {"uri": uri})
    mcp.request("resources/unsubscribe", {"uri": uri})  # leave the shared session as it was
    expect(response.kind is Kind.RESULT, f"subscribing to {uri} failed: {response.error}")


@requirement("resources-001", "lifecycle-016")
def test_resources_unsubscribe(mcp, revision):
    """With `resources.subscribe` declared, resources/unsubscribe after a subscription gets a
    result."""
    subscriptions_exist(revision)
    if not resources_declared(mcp).get("subscribe"):
        not_applicable("resources.subscribe is not declared")
    uri = subscription_target(mcp)
    mcp.request("resources/subscribe", {"uri": uri})
    response = mcp.request("resources/unsubscribe", {"uri": uri})
    expect(response.kind is Kind.RESULT, f"unsubscribing from {uri} failed: {response.error}")


@requirement("resources-002")  # change notifications, as declared
def test_resource_updates_follow_subscription(mcp, mcp_connect, revision):
    """Update notifications concern subscribed resources only, and stop after unsubscribing.
    The suite subscribes to the listed resources (the first 20) and waits briefly for one to
    change; a server whose resources do not change meanwhile cannot be judged here. Updates
    that arrive before the answer to a ping sent after the unsubscriptions (on Streamable
    HTTP, within SETTLE) were on their way; after that, none may come for QUIET_WINDOW."""
    subscriptions_exist(revision)
    if not resources_declared(mcp).get("subscribe"):
        not_applicable("resources.subscribe is not declared")
    session = mcp_connect()
    uris = listed_uris(session)[:READ_LIMIT]
    subscribed = [uri for uri in uris if session.request("resources/subscribe", {"uri": uri}).kind is Kind.RESULT]
    if not subscribed:
        not_applicable("no subscription succeeded (see test_resources_subscribe)")
    changed = session.wait_for(lambda m: bool(updates([m])), UPDATE_WINDOW)
    if changed is None:
        not_applicable(f"none of the {len(subscribed)} subscribed resources changed within {UPDATE_WINDOW:g} s")
    unexpected = set(updates(session.received())) - set(subscribed)
    should(not unexpected, f"updates arrived for resources never subscribed to: {sorted(map(str, unexpected))}")
    left = [uri for uri in subscribed if session.request("resources/unsubscribe", {"uri": uri}).kind is Kind.RESULT]
    session.barrier(window=SETTLE)  # updates under way when the unsubscriptions were read
    late = set(updates(session.drain(QUIET_WINDOW))) & set(left)
    should(not late, f"updates kept arriving after unsubscribing from {sorted(late)}")


# -- fixture mode (the official suite's fixture resources) ---------------------------------
@requirement("basic-008")  # official fixture: a result with the fixture text
def test_resources_read_text(mcp, revision):
    """The fixture resource test://static-text reads as a text item under its own URI. Its
    exact text is a convention of the official suite, not of the spec: another is a warning."""
    resources_declared(mcp)
    require_fixture(FIXTURE_TEXT in listed_uris(mcp), f"resource {FIXTURE_TEXT}")
    item = fixture_item(mcp, FIXTURE_TEXT)
    expect(
        isinstance(item.get("text"), str) and "blob" not in item,
        f"{FIXTURE_TEXT} should read as text, got the fields {sorted(item)}",
    )
    should(
        item["text"] == FIXTURE_TEXT_CONTENT,
        f"{FIXTURE_TEXT} reads {item['text'][:80]!r}, not the official fixture's text",
    )
    if "mimeType" not in item:
        info(f"{FIXTURE_TEXT} is read without a mimeType (optional; the official fixture gives text/plain)")


@requirement("resources-011")
def test_resources_read_binary(mcp, revision):
    """The fixture resource test://static-binary reads as a blob of valid base64 under its
    own URI."""
    resources_declared(mcp)
    require_fixture(FIXTURE_BINARY in listed_uris(mcp), f"resource {FIXTURE_BINARY}")
    item = fixture_item(mcp, FIXTURE_BINARY)
    blob = item.get("blob")
    expect(
        isinstance(blob, str) and "text" not in item,
        f"{FIXTURE_BINARY} should read as a blob, got the fields {sorted(item)}",
    )
    expect(is_base64(blob), f"the blob of {FIXTURE_BINARY} is not valid base64: {blob[:60]!r}")


@requirement("basic-008")  # official fixture
def test_resources_templates_read(mcp, revision):
    """The fixture template test://template/{id}/data, read as test://template/123/data,
    gives contents under that URI that reflect the id 123."""
    resources_declared(mcp)
    templates = listing_if_offered(mcp, "resources/templates/list", "resourceTemplates")
    offered = templates is not None and any(
        isinstance(t, dict) and t.get("uriTemplate") == FIXTURE_TEMPLATE for t in templates.items
    )
    require_fixture(offered, f"template {FIXTURE_TEMPLATE}")
    uri = FIXTURE_TEMPLATE.replace("{id}", "123")
    item = fixture_item(mcp, uri)
    blob = item.get("blob")
    expect(
        isinstance(item.get("text"), str) or (isinstance(blob, str) and is_base64(blob)),
        f"{uri} has neither text nor a base64 blob",
    )
    data = item["text"] if "text" in item else base64.b64decode(blob).decode("utf-8", "replace")
    expect("123" in str(data), f"{uri} does not reflect the id 123: {str(data)[:200]!r}")
