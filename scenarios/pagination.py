"""Pagination of the list methods: pages that end, and invalid cursors rejected.

The suite treats every cursor as an opaque string: it passes each `nextCursor` back
exactly as received and never reads meaning into it.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/server/utilities/pagination
"""

from conformance.checks import CheckFailed, expect, info, modern_only, not_applicable, requirement, should
from conformance.discovery import Listing, declares, list_all
from conformance.jsonrpc import INVALID_PARAMS, METHOD_NOT_FOUND, Kind
from conformance.transport import TransportError

# capability -> its paginated list methods and the result key holding the items
LISTS = {
    "tools": [("tools/list", "tools")],
    "prompts": [("prompts/list", "prompts")],
    "resources": [("resources/list", "resources"), ("resources/templates/list", "resourceTemplates")],
}
NEVER_A_CURSOR = "mcp-conformance/not-a-cursor-this-server-issued"


def declared_lists(session) -> list[tuple[str, str]]:
    """(method, key) of every list method of a capability the server declared."""
    return [pair for capability, pairs in LISTS.items() if declares(session, capability) is not None for pair in pairs]


def relisted(session, method: str, key: str) -> Listing:
    """List afresh (not from the session's cache), so this check judges what the listing shows."""
    session.__dict__.get("_listings", {}).pop(method, None)
    return list_all(session, method, key)


def listing_if_offered(session, method: str, key: str, fresh: bool = False) -> Listing | None:
    """The whole list, or None when the server answers the method with -32601 (not offered)."""
    try:
        return relisted(session, method, key) if fresh else list_all(session, method, key)
    except CheckFailed:
        if session.request(method).error_code == METHOD_NOT_FOUND:
            return None
        raise


@requirement("pagination-002")
def test_pagination_ends(mcp, revision):
    """Every list the server declares can be read to its end: following `nextCursor` reaches
    a page without one, never hands out the same cursor twice and takes at most 100 pages.
    A looping or endless list fails here instead of hanging a client."""
    lists = declared_lists(mcp)
    if not lists:
        not_applicable("the server declares no capability with a list method (tools, prompts, resources)")
    for method, key in lists:
        listing = listing_if_offered(mcp, method, key, fresh=True)
        if listing is None:
            info(f"{method} is not offered (-32601)")


@requirement("pagination-003", "pagination-009")
def test_pagination_invalid_cursor(mcp, revision):
    """A cursor the server never issued should be rejected with error -32602 (Invalid
    params), for each declared list method. A result (the cursor ignored) or another error
    code is a warning; so is no answer at all, since invalid cursors are to be handled
    gracefully."""
    lists = declared_lists(mcp)
    if not lists:
        not_applicable("the server declares no capability with a list method (tools, prompts, resources)")
    for method, _ in lists:
        try:
            response = mcp.request(method, {"cursor": NEVER_A_CURSOR})
        except TransportError as error:
            should(False, f"{method} with an invalid cursor got no answer: {error.reason}")
            continue
        if response.error_code == METHOD_NOT_FOUND:
            continue  # a list the server does not offer (its capability check judges that)
        if response.kind is Kind.RESULT:
            should(
                False,
                f"{method} answered the invalid cursor {NEVER_A_CURSOR!r} with a result; it should be error -32602",
            )
        else:
            should(
                response.error_code == INVALID_PARAMS,
                f"{method}: an invalid cursor should get -32602, got {response.error_code!r}",
            )


def scope_problem(method: str, listing: Listing) -> str | None:
    """Why the pages of one listing break the cacheScope rules, or None."""
    scopes = [page.result.get("cacheScope") for page in listing.pages]
    stated = {scope for scope in scopes if scope is not None}
    if len(stated) > 1 or (scopes[0] == "private" and any(scope != "private" for scope in scopes)):
        return f"{method}: the pages carry cacheScope {scopes} (page by page)"
    return None


@requirement("2026-07-28/caching-032", "2026-07-28/caching-033")
def test_pages_share_cache_scope(mcp, revision):
    """All pages of one listing carry the same `cacheScope`; a private first page makes
    every later page private too."""
    modern_only(revision)
    listings = [(method, listing_if_offered(mcp, method, key, fresh=True)) for method, key in declared_lists(mcp)]
    paged = [(method, listing) for method, listing in listings if listing is not None and len(listing.pages) > 1]
    if not paged:
        not_applicable("no declared list has more than one page")
    problems = [problem for method, listing in paged if (problem := scope_problem(method, listing))]
    expect(not problems, "\n".join(problems))
