"""What a server offers, read the way a client would: every page of each list.

A server that loops (a cursor seen twice) or pages without end fails the check that is
listing instead of hanging the suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .checks import CheckFailed
from .jsonrpc import Kind, Message

MAX_PAGES = 100


@dataclass
class Listing:
    items: list
    pages: list[Message] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)


def list_all(session, method: str, key: str, max_pages: int = MAX_PAGES) -> Listing:
    """Every item of a paginated list method (`tools/list` -> key `tools`), cached per session."""
    cache = session.__dict__.setdefault("_listings", {})
    if method not in cache:
        cache[method] = _fetch(session, method, key, max_pages)
    return cache[method]


def _fetch(session, method: str, key: str, max_pages: int) -> Listing:
    listing = Listing([])
    cursor = None
    while True:
        response = session.request(method, {"cursor": cursor} if cursor is not None else None)
        listing.pages.append(response)
        if response.kind is not Kind.RESULT:
            raise CheckFailed(f"{method} (page {len(listing.pages)}) failed: {response.error}")
        items = response.result.get(key)
        if not isinstance(items, list):
            raise CheckFailed(f"{method} result has no list {key!r}: {response.text()[:300]}")
        listing.items.extend(items)
        cursor = response.result.get("nextCursor")
        if cursor is None:
            return listing
        if not isinstance(cursor, str):
            raise CheckFailed(f"{method}: nextCursor must be a string, got {cursor!r}")
        if cursor in listing.cursors:
            raise CheckFailed(f"{method}: the server returned cursor {cursor!r} twice: its pages loop")
        listing.cursors.append(cursor)
        if len(listing.pages) >= max_pages:
            raise CheckFailed(f"{method}: more than {max_pages} pages; the pagination does not end")


def declares(session, capability: str) -> dict | None:
    """The capability object the server declared at initialize, or None."""
    capabilities = (session.init_result or {}).get("capabilities") or {}
    value = capabilities.get(capability)
    return value if isinstance(value, dict) else None
