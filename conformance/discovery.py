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
    something else than an object says nothing readable: BLOCKED, like capabilities()."""
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
    return [
        tool
        for tool in list_all(session, "tools/list", "tools").items
        if isinstance(tool, dict) and isinstance(tool.get("name"), str)
    ]


def may_call(tool: dict, policy: str) -> bool:
    """Whether --mcp-call-tools=`policy` lets the suite call `tool`."""
    if policy == "all":
        return True
    annotations = tool.get("annotations") if isinstance(tool.get("annotations"), dict) else {}
    return (
        policy == "readonly"
        and annotations.get("readOnlyHint") is True
        and annotations.get("destructiveHint") is not True
    )


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
        not_applicable(
            f"no {which} may be called under --mcp-call-tools={policy}: {names(tools)} "
            "are not annotated readOnlyHint: true (or are destructive); "
            "--mcp-call-tools=all calls them"
        )
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
    params: dict | None = None  # as sent (send_calls)

    @property
    def name(self) -> str:
        return self.tool["name"]

    @property
    def succeeded(self) -> bool:
        return (
            self.response is not None
            and self.response.kind is Kind.RESULT
            and isinstance(self.response.result, dict)
            and self.response.result.get("isError") is not True
        )


def new_token() -> str:
    """A progress token unique for this run."""
    token = f"mcp-conformance-progress-{next(_tokens)}"
    _issued_tokens.add(token)
    return token


def issued_token(token) -> bool:
    """Whether the suite put `token` in one of its requests."""
    return isinstance(token, str) and token in _issued_tokens


def call_params(tool: dict, arguments, token: str | None, extra: dict | None = None) -> dict:
    """tools/call params; `extra` adds params (its `_meta` merged with the progress token's)."""
    params: dict = {"name": tool["name"], "arguments": arguments, **(extra or {})}
    meta = {**({"progressToken": token} if token is not None else {}), **(extra or {}).get("_meta", {})}
    if meta:
        params["_meta"] = meta
    return params


def call_tool(session, tool: dict, arguments, with_progress: bool = True, awaited=None) -> ToolCall:
    """Call `tool` (with a fresh progress token) and wait for its answer, whatever it is.
    A call still unanswered at the timeout is cancelled, as a client gives up on it.
    `awaited(session, call)`, when given, sends the call and returns its response, or None
    to stop a call that is still running (it is cancelled)."""
    token = new_token() if with_progress else None
    call = ToolCall(tool, arguments, token, session.next_id(), session.mark())
    call.params = call_params(tool, arguments, token)
    started = time.monotonic()
    try:
        if awaited is None:
            call.response = session.request("tools/call", call.params, id=call.request_id)
        else:
            call.response = awaited(session, call)
            if call.response is None:
                call.failure, call.timed_out = (
                    (f"still running after {time.monotonic() - started:.1f} s, reporting progress: stopped"),
                    True,
                )
                cancel(session, call.request_id, "mcp-conformance: long-running call stopped")
    except NoResponse as error:
        call.failure, call.timed_out = error.reason, True
        cancel(session, call.request_id, "client timeout")
    except TransportError as error:
        call.failure = error.reason
    call.seconds = time.monotonic() - started
    return call


def occasion_quiet(session) -> float:
    """Seconds of silence after which calls made only as an occasion are given up."""
    return session.timeout / 25


def send_calls(session, planned: list[tuple[dict, object]], extra: dict | None = None) -> list[ToolCall]:
    """Send a tools/call for each (tool, arguments) of `planned` at once, without awaiting
    any answer: a slow tool then delays no other. No progress is asked for: these calls
    are an occasion for the server to ask or log (a tool run with a huge step count would
    send thousands of progress notifications for nothing); tools.py judges progress."""
    calls = []
    for tool, arguments in planned:
        call = ToolCall(tool, arguments, None, session.next_id(), session.mark())
        calls.append(call)
        call.params = call_params(tool, arguments, None, extra)
        try:
            session.send_request("tools/call", call.params, id=call.request_id)
        except TransportError as error:
            call.failure = error.reason
            break
    return calls


def await_calls(session, calls: list[ToolCall], quiet: float) -> None:
    """Wait for the answers to `calls` (sent by send_calls) until every one came, nothing
    but progress has passed on the connection for `quiet` seconds (counted from when the
    last message was sent or arrived, so that connections awaited one after another are
    waited on side by side), or the timeout ran out; cancel the rest, as a client gives up
    on a call (marked timed_out). For calls made as an occasion (for the server to ask
    the client something, or to log), never judged as calls: a tool still working after
    that is not waited out. Silence is taken for a working tool only once the server has
    answered a probe request sent after it: a server slow to answer anything (a loaded
    machine) is waited for, up to the timeout."""
    started = time.monotonic()
    deadline = started + session.timeout
    waiting = [c for c in calls if not c.failure]
    since = min((c.sent_at for c in calls), default=session.mark())
    probed = False
    try:
        while any(c.request_id not in session.responses for c in waiting):
            wait = min(deadline, last_heard(session, since) + quiet) - time.monotonic()
            # What already arrived is read even when the time is up (a floor of 1 ms).
            if session.wait_for(lambda m: True, max(wait, 0.001)) is None and wait <= 0:
                if probed or not answers_probe(session, deadline - time.monotonic()):
                    break
                probed = True
    except TransportError as error:
        for call in waiting:
            call.failure = call.failure or ("" if call.request_id in session.responses else error.reason)
    for call in waiting:
        call.seconds = time.monotonic() - started
        call.response = session.responses.get(call.request_id)
        if call.response is not None and not call.failure:
            call.response = _answer_input(session, call)
        if call.response is None and not call.failure:
            call.failure, call.timed_out = f"no answer within {quiet:g}s of the server's last message", True
            cancel(session, call.request_id, "client timeout")


def answers_probe(session, limit: float) -> bool:
    """Whether the server answers its era's probe request within `limit` seconds."""
    if limit <= 0:
        return False
    try:
        session.request(session.probe_method, timeout=limit)
    except NoResponse:
        return False
    return True


def last_heard(session, since: int) -> float:
    """When (time.monotonic) the latest transcript entry from `since` on that is not a
    progress notification was sent or arrived: progress is no occasion, and does not keep
    a call waited on."""
    for entry in reversed(session.transcript[since:]):
        if entry.message is None or entry.message.method != "notifications/progress":
            return session.transport.started_at + entry.t
    return time.monotonic()


def _answer_input(session, call: ToolCall) -> Message | None:
    """The call's final response: an InputRequiredResult (modern era) answered by a retry."""
    try:
        return session.answer_input("tools/call", call.params, call.response, timeout=occasion_quiet(session) * 5)
    except NoResponse as error:
        call.failure, call.timed_out = error.reason, True
    except TransportError as error:
        call.failure = error.reason
    return None


def cancel(session, request_id, reason: str) -> None:
    try:
        session.cancel(request_id, reason)
    except TransportError:
        pass  # the server is gone: nothing left to cancel


def input_schema(tool: dict) -> dict:
    schema = tool.get("inputSchema")
    return schema if isinstance(schema, dict) else {"type": "object"}
