"""Cursor pagination for the reference server's list methods (opaque cursors)."""

from __future__ import annotations

import base64
import json


class InvalidCursor(ValueError):
    pass


def encode_cursor(offset: int, listing: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([listing, offset]).encode()).decode()


def decode_cursor(cursor: str, listing: str) -> int:
    try:
        name, offset = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, AttributeError):  # AttributeError: a cursor that is not a string
        raise InvalidCursor(f"invalid cursor {cursor!r}") from None
    if name != listing or not isinstance(offset, int) or offset < 0:
        raise InvalidCursor(f"invalid cursor {cursor!r}")
    return offset


def page(items: list, cursor: str | None, size: int, listing: str) -> tuple[list, str | None]:
    """One page of `items` and the cursor of the next page (None at the end)."""
    offset = 0 if cursor is None else decode_cursor(cursor, listing)
    end = offset + size
    return items[offset:end], (encode_cursor(end, listing) if end < len(items) else None)
