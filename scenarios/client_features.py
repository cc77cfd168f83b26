"""Client features, judged from the server's side: what a server asks of the client
(sampling/createMessage, elicitation/create in form and URL mode, roots/list), whether it
asks only for what the client declared, and the shape of what it sends.

The suite cannot make a server ask anything; it gives it the occasion. On fresh connections
that declare different client capabilities ("none": nothing; "restricted": sampling
without tools, form-only elicitation, roots; "full": sampling with tools, form and URL
elicitation, roots) it lists what the server offers and calls each tool the calling policy
allows (--mcp-call-tools) a few times, answering the server's requests with schema-valid
results the way a client would (sampling: a tool use first when tools are offered, then
text; form elicitation: accepted with data drawn from the requested schema; URL
elicitation: accepted; roots: one file:// root). A server that never asks anything makes
these checks not applicable, never failed.

In 2026-07-28 a server asks the client inside an InputRequiredResult (multi round-trip),
so these legacy requests are not judged there.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/client/sampling,
.../client/elicitation, .../client/roots
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from itertools import count
from urllib.parse import urlsplit

from conformance import generate
from conformance.checks import CheckFailed, current, expect, not_applicable, requirement, should
from conformance.discovery import (
    ToolCall,
    await_calls,
    declares,
    input_schema,
    list_all,
    may_call,
    occasion_quiet,
    send_calls,
)
from conformance.jsonrpc import Kind, Message
from conformance.revisions import URL_MODE_SINCE, elicitation_modes
from conformance.session import BARRIER_WINDOW
from conformance.transport import TransportError

ELICITATION_SINCE = "2025-06-18"
# URL_MODE_SINCE (conformance.revisions): URL-mode elicitation, sampling tools, -32042
URL_ELICITATION_REQUIRED = -32042
EXAMPLES_PER_TOOL = 2
MAX_TOOLS_CALLED = 20
MAX_TOOL_USES = 3  # tool uses the suite's "LLM" asks for per connection
ROOT = {"uri": "file:///tmp/mcp-conformance", "name": "mcp-conformance"}
PROFILES = ("none", "restricted", "full")
LISTINGS = [
    ("tools", "tools/list", "tools"),
    ("prompts", "prompts/list", "prompts"),
    ("resources", "resources/list", "resources"),
    ("resources", "resources/templates/list", "resourceTemplates"),
]
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
LINK = re.compile(r"https?://", re.IGNORECASE)
_tool_use_ids = count(1)


# -- what the client declares -----------------------------------------------------------------
def capabilities(profile: str, revision: str) -> dict:
    """The client capabilities a connection of `profile` declares in `revision`."""
    if profile == "none":
        return {}
    caps: dict = {"sampling": {}, "roots": {}}
    if revision >= ELICITATION_SINCE:
        caps["elicitation"] = {"form": {}} if revision >= URL_MODE_SINCE else {}
    if profile == "full" and revision >= URL_MODE_SINCE:
        caps["sampling"] = {"tools": {}}
        caps["elicitation"] = {"form": {}, "url": {}}
    return caps


# -- the exchange ----------------------------------------------------------------------------
@dataclass
class ClientExchange:
    """One fresh connection declaring `capabilities`: its listings and tool calls."""

    profile: str
    capabilities: dict
    session: object
    started_at: int = 0
    calls: list[ToolCall] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why tools were not (all) called
    tool_uses: int = 0

    def received(self) -> list[Message]:
        return self.session.received(self.started_at)

    def requests(self, method: str) -> list[Message]:
        return [m for m in self.received() if m.kind is Kind.REQUEST and m.method == method]


def answers(exchange: ClientExchange) -> dict:
    """Handlers answering the server's requests for the capabilities the client declared."""
    caps = exchange.capabilities
    handlers = {}
    if "sampling" in caps:
        handlers["sampling/createMessage"] = lambda params: sample(exchange, params or {})
    if "elicitation" in caps:
        handlers["elicitation/create"] = elicit
    if "roots" in caps:
        handlers["roots/list"] = lambda params: {"roots": [ROOT]}
    return handlers


def sample(exchange: ClientExchange, params: dict) -> dict:
    """The suite's "LLM": a tool use when tools are offered (a few per connection, never
    right after tool results), else a short text."""
    tools = [t for t in params.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)]
    messages = params.get("messages") if isinstance(params.get("messages"), list) else []
    last = blocks(messages[-1]) if messages and isinstance(messages[-1], dict) else []
    after_results = any(isinstance(b, dict) and b.get("type") == "tool_result" for b in last)
    choice = params.get("toolChoice") if isinstance(params.get("toolChoice"), dict) else {}
    if tools and not after_results and exchange.tool_uses < MAX_TOOL_USES and choice.get("mode") != "none":
        exchange.tool_uses += 1
        drawn = generate.examples(input_schema(tools[0]), 1)
        arguments = drawn[0] if drawn and isinstance(drawn[0], dict) else {}
        return {
            "role": "assistant",
            "model": "mcp-conformance",
            "stopReason": "toolUse",
            "content": [
                {
                    "type": "tool_use",
                    "id": f"conformance-use-{next(_tool_use_ids)}",
                    "name": tools[0]["name"],
                    "input": arguments,
                }
            ],
        }
    return {
        "role": "assistant",
        "model": "mcp-conformance",
        "stopReason": "endTurn",
        "content": {"type": "text", "text": "A reply from the conformance suite."},
    }


def elicit(params) -> dict:
    params = params if isinstance(params, dict) else {}
    if params.get("mode") == "url":
        return {"action": "accept"}
    schema = params.get("requestedSchema")
    drawn = generate.examples(schema, 1) if isinstance(schema, dict) else []
    content = drawn[0] if drawn else None
    if isinstance(content, dict) and all(
        isinstance(v, (str, int, bool)) or isinstance(v, list) for v in content.values()
    ):
        return {"action": "accept", "content": content}
    return {"action": "decline"}


def blocks(message: dict) -> list:
    content = message.get("content")
    return content if isinstance(content, list) else [content]


def exchange(target, revision: str, profile: str) -> ClientExchange:
    """The exchange of `profile` for `revision`, made once per run (with the other
    profiles') and shared by the checks."""
    cache = target.__dict__.setdefault("_conformance_client_exchanges", {})
    if (revision, profile) not in cache:
        cache.update({(revision, made.profile): made for made in _make_exchanges(target, revision)})
    return cache[(revision, profile)]


def _make_exchanges(target, revision: str) -> list[ClientExchange]:
    """One connection per profile, side by side: all are started (the servers boot at
    once), opened and listed, every call is sent on all of them, then the answers are
    awaited (see discovery.await_calls: a call is given up once its server has been
    silent for timeout/25 s, at most the timeout) and the connections are read to a
    barrier, so that what trails the last answer is seen."""
    made = []
    for profile in PROFILES:
        session = target.connect(revision)
        made.append(ClientExchange(profile, capabilities(profile, revision), session))
    for one in made:
        _guard(one, lambda: _open(one, revision))
    for one in made:
        _guard(one, lambda: _send_calls(one, target.call_tools))
    for one in made:
        _guard(one, lambda: await_calls(one.session, one.calls, occasion_quiet(one.session)))
    _settle([one for one in made if not any("the connection broke" in note for note in one.notes)])
    return made


def _settle(made: list[ClientExchange]) -> None:
    """Read each connection to a barrier (notifications that trail the last response). On
    Streamable HTTP the barrier is a window, and the connections' windows run at once."""
    deadline = time.monotonic() + BARRIER_WINDOW
    for one in made:
        window = max(0.0, deadline - time.monotonic())
        _guard(one, lambda: one.session.barrier(window=window))


def _guard(made: ClientExchange, step) -> None:
    if any("the connection broke" in note for note in made.notes):
        return
    try:
        step()
    except TransportError as error:
        made.notes.append(f"the connection broke: {error.reason}")


def _open(made: ClientExchange, revision: str) -> None:
    session = made.session
    session.handlers.update(answers(made))
    if revision >= "2026":
        session.client_capabilities = made.capabilities
        session.open(revision)
    else:
        session.initialize(revision, capabilities=made.capabilities)
    made.started_at = session.mark()


def _send_calls(made: ClientExchange, policy: str) -> None:
    session = made.session
    for capability, method, key in LISTINGS:
        if declares(session, capability) is not None:
            try:
                list_all(session, method, key)
            except CheckFailed as error:
                made.notes.append(f"{method} failed: {error}")
    if declares(session, "tools") is None:
        made.notes.append("the server does not declare tools: no tool was called")
        return
    if policy == "none":
        made.notes.append("--mcp-call-tools=none: no tool was called")
        return
    listing = session.__dict__.get("_listings", {}).get("tools/list")
    tools = [t for t in (listing.items if listing else []) if isinstance(t, dict) and isinstance(t.get("name"), str)]
    allowed = [t for t in tools if may_call(t, policy)]
    if len(allowed) < len(tools):
        made.notes.append(
            f"not called under --mcp-call-tools={policy}: " + ", ".join(t["name"] for t in tools if t not in allowed)
        )
    if len(allowed) > MAX_TOOLS_CALLED:
        made.notes.append(
            f"not called (over the budget of {MAX_TOOLS_CALLED} tools): "
            + ", ".join(t["name"] for t in allowed[MAX_TOOLS_CALLED:])
        )
    planned = [
        (tool, arguments)
        for tool in allowed[:MAX_TOOLS_CALLED]
        for arguments in generate.examples(input_schema(tool), EXAMPLES_PER_TOOL)
    ]
    made.calls = send_calls(session, planned)


def exchanges(target, revision: str, profiles=PROFILES) -> list[ClientExchange]:
    """The exchanges of `profiles`, watched by the calling check; not applicable in the
    modern era and when no tool could be called on any of them."""
    if revision >= "2026":
        not_applicable(
            f"in {revision} a server asks the client inside an InputRequiredResult (multi "
            "round-trip); legacy server-to-client requests are not judged there"
        )
    target.shared(revision)  # skips a revision the server does not support
    made = [exchange(target, revision, profile) for profile in profiles]
    for one in made:
        current().watch(one.session, since=one.started_at)  # test_messages_valid owns their validity
    if not any(one.calls for one in made):
        not_applicable(
            "no tool could be called, so the server had no occasion to ask the client anything: "
            + "; ".join(dict.fromkeys(note for one in made for note in one.notes))
        )
    return made


def requests_of(made: list[ClientExchange], method: str) -> list[tuple[ClientExchange, Message]]:
    return [(one, request) for one in made for request in one.requests(method)]


def params_of(request: Message) -> dict:
    return request.params if isinstance(request.params, dict) else {}


def never_sent(what: str) -> None:
    not_applicable(
        f"the server sent no {what} on any connection (each declaring {', '.join(PROFILES)} "
        "of the client capabilities): nothing to judge"
    )


def valid_url(value) -> bool:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return bool(SCHEME.fullmatch(parts.scheme or "")) and bool(parts.netloc or parts.path)


# -- asking only for what was declared --------------------------------------------------------
@requirement("lifecycle-016", "sampling-006")
def test_sampling_only_when_declared(mcp_target, revision):
    """A server sends sampling/createMessage only to a client that declared `sampling`, and
    a request offering tools (`tools` or `toolChoice`) only to one that declared
    `sampling.tools`."""
    made = exchanges(mcp_target, revision)
    problems = []
    for one, request in requests_of(made, "sampling/createMessage"):
        sampling = one.capabilities.get("sampling")
        params = params_of(request)
        if sampling is None:
            problems.append(
                f"sampling/createMessage (id {request.id!r}) sent to a client that declared no "
                f"sampling capability (capabilities {one.capabilities})"
            )
        elif ("tools" in params or "toolChoice" in params) and not isinstance(sampling.get("tools"), dict):
            problems.append(
                f"sampling/createMessage (id {request.id!r}) offers tools to a client that did not "
                f"declare sampling.tools (it declared sampling {sampling})"
            )
    expect(not problems, "\n".join(problems))
    if not requests_of(made, "sampling/createMessage"):
        never_sent("sampling/createMessage request")


@requirement("lifecycle-016", "elicitation-009")
def test_elicitation_only_declared_modes(mcp_target, revision):
    """A server sends elicitation/create only to a client that declared `elicitation`, and
    only in a mode the client declared (`form`, `url`; an empty object means form only;
    a request without `mode` is form mode)."""
    made = exchanges(mcp_target, revision)
    problems = []
    for one, request in requests_of(made, "elicitation/create"):
        mode = params_of(request).get("mode", "form")
        modes = elicitation_modes(one.capabilities, revision)
        if not modes:
            problems.append(
                f"elicitation/create (id {request.id!r}) sent to a client that declared no "
                f"elicitation capability (capabilities {one.capabilities})"
            )
        elif mode not in modes:
            problems.append(
                f"elicitation/create (id {request.id!r}) uses mode {mode!r}; the client declared "
                f"only {sorted(modes)} (elicitation {one.capabilities.get('elicitation')})"
            )
    expect(not problems, "\n".join(problems))
    if not requests_of(made, "elicitation/create") and revision >= ELICITATION_SINCE:
        never_sent("elicitation/create request")


@requirement("lifecycle-016", "roots-017")
def test_roots_only_when_declared(mcp_target, revision):
    """A server sends roots/list only to a client that declared the `roots` capability."""
    made = exchanges(mcp_target, revision)
    problems = [
        f"roots/list (id {request.id!r}) sent to a client that declared no roots capability "
        f"(capabilities {one.capabilities})"
        for one, request in requests_of(made, "roots/list")
        if "roots" not in one.capabilities
    ]
    expect(not problems, "\n".join(problems))
    if not requests_of(made, "roots/list"):
        never_sent("roots/list request")


# -- elicitation ---------------------------------------------------------------------------
def elicitations(mcp_target, revision: str) -> list[tuple[ClientExchange, Message]]:
    if revision < ELICITATION_SINCE:
        not_applicable(f"{revision} predates elicitation ({ELICITATION_SINCE})")
    found = requests_of(exchanges(mcp_target, revision), "elicitation/create")
    if not found:
        not_applicable("the server sent no elicitation/create request on any connection")
    return found


@requirement(
    "elicitation-010",
    "elicitation-011",
    "elicitation-012",
    "elicitation-015",
    "elicitation-017",
    "elicitation-018",
    "elicitation-019",
)
def test_elicitation_request_shape(mcp_target, revision):
    """Every elicitation/create names its mode (`form`, which may be left out, or `url`) and
    a non-empty human-readable `message`; a form request carries a `requestedSchema` object
    schema; a URL request carries a valid URL in `url` and a non-empty `elicitationId`."""
    problems = []
    for _, request in elicitations(mcp_target, revision):
        params = params_of(request)
        where = f"elicitation/create (id {request.id!r})"
        mode = params.get("mode", "form")
        message = params.get("message")
        if not isinstance(message, str) or not message.strip():
            problems.append(f"{where}: message must be a non-empty human-readable string, got {message!r}")
        if mode == "form":
            schema = params.get("requestedSchema")
            if (
                not isinstance(schema, dict)
                or schema.get("type") != "object"
                or not isinstance(schema.get("properties"), dict)
            ):
                problems.append(
                    f"{where}: a form request needs requestedSchema, an object schema with "
                    f"properties; got {str(schema)[:200]}"
                )
        elif mode == "url":
            if revision < URL_MODE_SINCE:
                problems.append(f"{where}: URL mode does not exist in {revision} (it arrived in {URL_MODE_SINCE})")
            if not valid_url(params.get("url")):
                problems.append(f"{where}: url must hold a valid URL, got {params.get('url')!r}")
            if not isinstance(params.get("elicitationId"), str) or not params.get("elicitationId"):
                problems.append(
                    f"{where}: a URL request needs a non-empty elicitationId, got {params.get('elicitationId')!r}"
                )
        else:
            problems.append(f'{where}: mode must be "form" or "url", got {mode!r}')
    expect(not problems, "\n".join(problems))


def strings_in(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


@requirement("elicitation-049")
def test_form_elicitation_has_no_links(mcp_target, revision):
    """A form elicitation should hold no URL meant to be clicked (in its message or in the
    titles and descriptions of its schema): links belong to URL mode."""
    forms = [(one, r) for one, r in elicitations(mcp_target, revision) if params_of(r).get("mode", "form") == "form"]
    if not forms:
        not_applicable("the server sent no form-mode elicitation")
    for _, request in forms:
        params = params_of(request)
        links = [s for s in strings_in([params.get("message"), params.get("requestedSchema")]) if LINK.search(s)]
        should(not links, f"form elicitation (id {request.id!r}) holds a link: {links[0][:200] if links else ''}")


def errors_required(made: list[ClientExchange]) -> list[tuple[ClientExchange, Message]]:
    return [
        (one, m)
        for one in made
        for m in one.received()
        if m.kind is Kind.ERROR and m.error_code == URL_ELICITATION_REQUIRED
    ]


@requirement("elicitation-021", "elicitation-022")
def test_elicitation_complete_ids(mcp_target, revision):
    """Every notifications/elicitation/complete names, in `elicitationId`, a URL elicitation
    the server started on that same connection (by elicitation/create or in a -32042 error)."""
    if revision < URL_MODE_SINCE:
        not_applicable(f"{revision} predates URL-mode elicitation ({URL_MODE_SINCE})")
    made = exchanges(mcp_target, revision)
    problems, seen = [], 0
    for one in made:
        started = {params_of(r).get("elicitationId") for r in one.requests("elicitation/create")}
        for _, error in errors_required([one]):
            data = error.error.get("data") if isinstance(error.error.get("data"), dict) else {}
            listed = data.get("elicitations") if isinstance(data.get("elicitations"), list) else []
            started |= {e.get("elicitationId") for e in listed if isinstance(e, dict)}
        started.discard(None)
        for notice in [m for m in one.received() if m.method == "notifications/elicitation/complete"]:
            seen += 1
            elicitation_id = (notice.params or {}).get("elicitationId") if isinstance(notice.params, dict) else None
            if elicitation_id not in started:
                problems.append(
                    f"notifications/elicitation/complete names elicitationId {elicitation_id!r}, "
                    f"which no elicitation on this connection had (it had {sorted(map(str, started))})"
                )
    if not seen:
        not_applicable("the server sent no notifications/elicitation/complete")
    expect(not problems, "\n".join(problems))


@requirement("elicitation-028", "elicitation-029")
def test_url_elicitation_required_error(mcp_target, revision):
    """An error -32042 (URL elicitation required) lists in `data.elicitations` the
    elicitations to finish before retrying: at least one, each URL mode with an
    `elicitationId`, a valid `url` and a `message`."""
    if revision < URL_MODE_SINCE:
        not_applicable(f"{revision} predates error -32042 ({URL_MODE_SINCE})")
    found = errors_required(exchanges(mcp_target, revision))
    if not found:
        not_applicable("the server answered no request with error -32042")
    problems = []
    for _, error in found:
        data = error.error.get("data")
        listed = data.get("elicitations") if isinstance(data, dict) else None
        where = f"error -32042 (id {error.id!r})"
        if not isinstance(listed, list) or not listed:
            problems.append(f"{where}: data.elicitations must list the elicitations to finish, got {str(data)[:200]}")
            continue
        for item in listed:
            item = item if isinstance(item, dict) else {}
            if item.get("mode") != "url":
                problems.append(f"{where}: a listed elicitation is not URL mode (mode {item.get('mode')!r})")
            if not isinstance(item.get("elicitationId"), str) or not item.get("elicitationId"):
                problems.append(f"{where}: a listed elicitation has no elicitationId")
            if not valid_url(item.get("url")):
                problems.append(f"{where}: a listed elicitation has no valid url ({item.get('url')!r})")
            if not isinstance(item.get("message"), str):
                problems.append(f"{where}: a listed elicitation has no message")
    expect(not problems, "\n".join(problems))


# -- sampling -------------------------------------------------------------------------------
def samplings(mcp_target, revision: str) -> list[tuple[ClientExchange, Message]]:
    found = requests_of(exchanges(mcp_target, revision), "sampling/createMessage")
    if not found:
        not_applicable("the server sent no sampling/createMessage request on any connection")
    return found


def pairing_problems(messages: list) -> tuple[list[str], bool]:
    """Problems of tool use / tool result pairing in one request's messages, and whether
    the messages hold any tool use or tool result at all."""
    problems, used, involved = [], set(), False
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        content = [b for b in blocks(message) if isinstance(b, dict)]
        results = [b for b in content if b.get("type") == "tool_result"]
        uses = [b for b in content if b.get("type") == "tool_use"]
        involved = involved or bool(results or uses)
        if results and len(results) != len(content):
            problems.append(
                f"message {index}: tool results mixed with other content "
                f"({', '.join(str(b.get('type')) for b in content)})"
            )
        for result in results:
            if result.get("toolUseId") not in used:
                problems.append(
                    f"message {index}: tool result for toolUseId {result.get('toolUseId')!r}, "
                    "which no earlier tool use has"
                )
        if uses and message.get("role") == "assistant":
            ids = {u.get("id") for u in uses}
            used |= ids
            following = messages[index + 1] if index + 1 < len(messages) else None
            answered = [b for b in blocks(following) if isinstance(b, dict)] if isinstance(following, dict) else []
            if (
                not isinstance(following, dict)
                or following.get("role") != "user"
                or any(b.get("type") != "tool_result" for b in answered)
                or {b.get("toolUseId") for b in answered} != ids
            ):
                problems.append(
                    f"message {index}: the tool uses {sorted(map(str, ids))} are not followed by a user "
                    "message of exactly their tool results"
                )
    return problems, involved


@requirement("sampling-009", "sampling-010", "sampling-023", "schema-032")
def test_sampling_tool_results_paired(mcp_target, revision):
    """In the messages of a sampling request, every assistant turn with tool uses is
    followed at once by a user message holding exactly one tool result per tool use
    (matching `toolUseId`) and nothing else; a user message with tool results holds
    only tool results, each answering an earlier tool use."""
    if revision < URL_MODE_SINCE:
        not_applicable(f"{revision} predates tool use in sampling ({URL_MODE_SINCE})")
    judge_pairing(
        [
            (f"sampling/createMessage (id {request.id!r})", params_of(request))
            for _, request in samplings(mcp_target, revision)
        ]
    )


def judge_pairing(requests: list[tuple[str, dict]]) -> None:
    """Fail on the tool use / tool result pairing problems of sampling requests, given as
    (where, params); not applicable when none carries tool uses or results."""
    problems, involved = [], False
    for where, params in requests:
        messages = params.get("messages")
        found, uses_tools = pairing_problems(messages if isinstance(messages, list) else [])
        involved = involved or uses_tools
        problems += [f"{where}, {p}" for p in found]
    if not involved:
        not_applicable("no sampling request carried tool uses or tool results")
    expect(not problems, "\n".join(problems))


@requirement("sampling-008", "schema-013", "schema-025")
def test_sampling_include_context(mcp_target, revision):
    """A sampling request should leave `includeContext` out (or "none") unless the client
    declared `sampling.context`: "thisServer" and "allServers" are soft-deprecated."""
    found = samplings(mcp_target, revision)
    for one, request in found:
        context = params_of(request).get("includeContext")
        declared = isinstance((one.capabilities.get("sampling") or {}).get("context"), dict)
        should(
            context in (None, "none") or declared,
            f"sampling/createMessage (id {request.id!r}) asks includeContext {context!r}, but the client "
            "declared no sampling.context",
        )
