"""What a server offers, read the way a client would: every page of each list, and the
tools the calling policy (--mcp-call-tools) lets the suite call, called as a client would.

A server that loops (a cursor seen twice) or pages without end fails the check that is
listing instead of hanging the suite.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import count

from .checks import CheckFailed, blocked, not_applicable
from .jsonrpc import Kind, Message
from .session import NoResponse
from .transport import TransportError

MAX_PAGES = 100
_tokens = count(1)
_issued_tokens: set[str] = set()


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


LIST_OWNER = "test_pagination_ends"  # judges that every declared list can be read to its end


class ListingFailed(CheckFailed):
    """A list method could not be read to its end; test_pagination_ends judges that."""

    def __init__(self, message: str):
        super().__init__(message, owner=LIST_OWNER)


def _fetch(session, method: str, key: str, max_pages: int) -> Listing:
    listing = Listing([])
    cursor = None
    while True:
        response = session.request(method, {"cursor": cursor} if cursor is not None else None)
        listing.pages.append(response)
        if response.kind is not Kind.RESULT:
            raise ListingFailed(f"{method} (page {len(listing.pages)}) failed: {response.error}")
        items = response.result.get(key)
        if not isinstance(items, list):
            raise ListingFailed(f"{method} result has no list {key!r}: {response.text()[:300]}")
        listing.items.extend(items)
        cursor = response.result.get("nextCursor")
        if cursor is None:
            return listing
        if not isinstance(cursor, str):
            raise ListingFailed(f"{method}: nextCursor must be a string, got {cursor!r}")
        if cursor in listing.cursors:
            raise ListingFailed(f"{method}: the server returned cursor {cursor!r} twice: its pages loop")
        listing.cursors.append(cursor)
        if len(listing.pages) >= max_pages:
            raise ListingFailed(f"{method}: more than {max_pages} pages; the pagination does not end")


CAPABILITIES_OWNERS = {"legacy": "test_capabilities_object", "modern": "test_discover_result"}


def capabilities(session) -> dict:
    """What the server declared (initialize or discover result). Capabilities that are not
    an object leave nothing to read: BLOCKED, judged by test_capabilities_object."""
    result = session.init_result if isinstance(session.init_result, dict) else {}
    declared = result.get("capabilities", {})
    if not isinstance(declared, dict):
        era = "modern" if getattr(session, "modern", False) else "legacy"
        blocked(f"the server's capabilities are not an object ({declared!r})", CAPABILITIES_OWNERS[era])
    return declared


def declares(session, capability: str) -> dict | None:
    """The capability object the server declared, or None. A capability declared as
    something else than an object says nothing readable: BLOCKED, like capabilities(). """
    value = capabilities(session).get(capability)
    if value is not None and not isinstance(value, dict):
        era = "modern" if getattr(session, "modern", False) else "legacy"
        blocked(f"the server declares {capability} as {value!r}, not an object", CAPABILITIES_OWNERS[era])
    return value


# -- tools: which may be called, and calling them ----------------------------------------
def listed_tools(session) -> list[dict]:
    """Every tool on every page; not applicable when the tools capability is not declared."""
    if declares(session, "tools") is None:
        not_applicable("the server does not declare the tools capability")
    return [tool for tool in list_all(session, "tools/list", "tools").items
            if isinstance(tool, dict) and isinstance(tool.get("name"), str)]


def may_call(tool: dict, policy: str) -> bool:
    """Whether --mcp-call-tools=`policy` lets the suite call `tool`."""
    if policy == "all":
        return True
    annotations = tool.get("annotations") if isinstance(tool.get("annotations"), dict) else {}
    return policy == "readonly" and annotations.get("readOnlyHint") is True \
        and annotations.get("destructiveHint") is not True


def callable_tools(session, policy: str) -> list[dict]:
    """The listed tools the policy allows; not applicable (naming the rest) when there are none."""
    tools = listed_tools(session)
    if not tools:
        not_applicable("the server lists no tools")
    return allowed_tools(tools, policy)


def allowed_tools(tools: list[dict], policy: str, which: str = "tool") -> list[dict]:
    """Those of `tools` the policy allows; not applicable (naming the rest) when there are none."""
    if policy == "none":
        not_applicable("--mcp-call-tools=none: the suite calls no tool")
    allowed = [tool for tool in tools if may_call(tool, policy)]
    if not allowed:
        not_applicable(f"no {which} may be called under --mcp-call-tools={policy}: {names(tools)} "
                       "are not annotated readOnlyHint: true (or are destructive); "
                       "--mcp-call-tools=all calls them")
    return allowed


def names(tools: list[dict]) -> str:
    return ", ".join(str(tool.get("name")) for tool in tools)


@dataclass
class ToolCall:
    tool: dict
    arguments: dict
    token: str | None
    request_id: int
    sent_at: int  # transcript index of the request
    response: Message | None = None
    failure: str = ""  # why there is no response: no answer in time, the server gone
    timed_out: bool = False  # no answer in time (then cancelled), the server still connected
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.tool["name"]

    @property
    def succeeded(self) -> bool:
        return self.response is not None and self.response.kind is Kind.RESULT \
            and isinstance(self.response.result, dict) and self.response.result.get("isError") is not True


def new_token() -> str:
    """A progress token unique for this run."""
    token = f"mcp-conformance-progress-{next(_tokens)}"
    _issued_tokens.add(token)
    return token


def issued_token(token) -> bool:
    """Whether the suite put `token` in one of its requests."""
    return isinstance(token, str) and token in _issued_tokens


def call_params(tool: dict, arguments, token: str | None) -> dict:
    params: dict = {"name": tool["name"], "arguments": arguments}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return params


def call_tool(session, tool: dict, arguments, with_progress: bool = True) -> ToolCall:
    """Call `tool` (with a fresh progress token) and wait for its answer, whatever it is.
    A call still unanswered at the timeout is cancelled, as a client gives up on it."""
    token = new_token() if with_progress else None
    call = ToolCall(tool, arguments, token, session.next_id(), session.mark())
    started = time.monotonic()
    try:
        call.response = session.request("tools/call", call_params(tool, arguments, token), id=call.request_id)
    except NoResponse as error:
        call.failure, call.timed_out = error.reason, True
        cancel(session, call.request_id, "client timeout")
    except TransportError as error:
        call.failure = error.reason
    call.seconds = time.monotonic() - started
    return call


def cancel(session, request_id, reason: str) -> None:
    try:
        session.cancel(request_id, reason)
    except TransportError:
        pass  # the server is gone: nothing left to cancel


def input_schema(tool: dict) -> dict:
    schema = tool.get("inputSchema")
    return schema if isinstance(schema, dict) else {"type": "object"}
