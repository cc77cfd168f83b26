"""Capabilities: what the server declares at initialize is what it serves and what it
sends. A declared capability's methods are answered (not with -32601), and notifications
tied to a capability (list changes, resource updates, log messages) arrive only when it
was declared. Methods of capabilities the server did not declare are only noted, unless
they offer something (entries, completion values): what a server offers, it declares.
Extension ids (2026-07-28) follow the `_meta` key-name rules.

Spec: https://modelcontextprotocol.io/specification/2025-11-25/basic/lifecycle#capability-negotiation
"""

import re

from conformance.scenarios.pagination import LISTS, declared_lists, listing_if_offered

from conformance.checks import CheckFailed, expect, info, modern_only, not_applicable, requirement
from conformance.discovery import declares, list_all
from conformance.jsonrpc import METHOD_NOT_FOUND, Kind
from conformance.wire import extension_id_problem

NOTICE_WINDOW = 0.1  # seconds to let notifications caused by the probes arrive (unordered transports)
LIST_CHANGED = {f"notifications/{name}/list_changed": name for name in ("tools", "prompts", "resources")}
LOG_LEVEL_META = "io.modelcontextprotocol/logLevel"  # modern era: the log level asked for per request
NO_SUCH_PROMPT = {
    "ref": {"type": "ref/prompt", "name": "mcp-conformance-no-such-prompt"},
    "argument": {"name": "argument", "value": ""},
}


def first_resource_uri(session) -> str | None:
    """The first listed resource; None if there is none or the list fails (judged elsewhere)."""
    if declares(session, "resources") is None:
        return None
    try:
        items = list_all(session, "resources/list", "resources").items
    except CheckFailed:
        return None
    return next((r["uri"] for r in items if isinstance(r, dict) and isinstance(r.get("uri"), str)), None)


def exercise(session, extra: dict | None = None) -> None:
    """Ordinary requests that may make a server log or notify: ping (server/discover in the
    modern era), the first page of each declared list, and a read of the first listed
    resource. `extra` is added to every request's params (e.g. a modern `_meta` field)."""
    extra = extra or {}
    session.request(session.probe_method, extra or None)
    for method, _ in declared_lists(session):
        session.request(method, extra or None)
    uri = first_resource_uri(session)
    if uri is not None:
        session.request("resources/read", {"uri": uri, **extra})


def asked_for_logs(session) -> bool:
    """Whether any request on `session` carried a per-request log level (modern era)."""
    return any(e.direction == "->" and LOG_LEVEL_META.encode() in e.raw for e in session.transcript)


def completion_params(session) -> dict:
    """A completion request about something the server offers, if anything has arguments."""
    try:
        return _completion_about_offer(session)
    except CheckFailed:  # a list that fails is judged by its own checks
        return NO_SUCH_PROMPT


def _completion_about_offer(session) -> dict:
    if declares(session, "prompts") is not None:
        prompts = listing_if_offered(session, "prompts/list", "prompts")
        for prompt in prompts.items if prompts else []:
            arguments = prompt.get("arguments") if isinstance(prompt, dict) else None
            if arguments and isinstance(arguments[0], dict) and "name" in arguments[0]:
                return {
                    "ref": {"type": "ref/prompt", "name": prompt.get("name")},
                    "argument": {"name": arguments[0]["name"], "value": ""},
                }
    if declares(session, "resources") is not None:
        templates = listing_if_offered(session, "resources/templates/list", "resourceTemplates")
        for template in templates.items if templates else []:
            variable = re.search(r"\{[+#./;?&]?([A-Za-z0-9_]+)", str(template.get("uriTemplate", "")))
            if variable:
                return {
                    "ref": {"type": "ref/resource", "uri": template["uriTemplate"]},
                    "argument": {"name": variable[1], "value": ""},
                }
    return NO_SUCH_PROMPT


def probes(session, revision: str) -> list[tuple[str, str, dict | None]]:
    """(capability, method, params) for each method a capability stands for."""
    legacy = revision < "2026"  # the modern era has no setLevel and no resources/subscribe
    found = [(capability, method, None) for capability, pairs in LISTS.items() for method, _ in pairs]
    if legacy:
        found.append(("logging", "logging/setLevel", {"level": "info"}))
    if revision >= "2025-03-26":  # the completions capability exists from 2025-03-26 on
        found.append(("completions", "completion/complete", completion_params(session)))
    uri = first_resource_uri(session)
    if uri is not None:
        found.append(("resources", "resources/read", {"uri": uri}))
    if uri is not None and legacy:
        found += [("resources.subscribe", m, {"uri": uri}) for m in ("resources/subscribe", "resources/unsubscribe")]
    return found


def is_declared(session, capability: str) -> bool:
    name, _, sub = capability.partition(".")
    declared = declares(session, name)
    return declared is not None and (not sub or declared.get(sub) is True)


@requirement("lifecycle-005", "tools-005", "prompts-001", "resources-001", "logging-001", "completion-001")
def test_declared_capabilities_served(mcp_connect, revision):
    """Each declared capability's methods are served: tools/list, prompts/list,
    resources/list and resources/read, resources/subscribe and /unsubscribe (with
    `subscribe`; legacy era), logging/setLevel (legacy era), completion/complete (from
    2025-03-26 on). Any answer but -32601 (Method not found) counts; resources/templates/list
    may be missing. Undeclared capabilities' methods are probed too, and what they get is
    only noted."""
    session = mcp_connect()
    unserved = []
    for capability, method, params in probes(session, revision):
        response = session.request(method, params)
        served = response.error_code != METHOD_NOT_FOUND
        if is_declared(session, capability):
            if not served and method != "resources/templates/list":
                unserved.append(f"{method} (for the declared capability {capability})")
            elif not served:
                info("resources/templates/list is not offered (-32601): the server has no templates")
        elif served:
            answer = "a result" if response.kind is Kind.RESULT else f"error {response.error_code}"
            info(f"{capability} is not declared, yet {method} got {answer} (-32601 was expected)")
    expect(not unserved, "declared but answered -32601 (Method not found): " + "; ".join(unserved))


def undeclared_notification(message, session) -> str | None:
    """Why `message` should not have arrived on `session`, given what the server declared."""
    method = message.method if message.kind is Kind.NOTIFICATION else None
    if method in LIST_CHANGED and not is_declared(session, f"{LIST_CHANGED[method]}.listChanged"):
        return f"{method} arrived, but {LIST_CHANGED[method]}.listChanged is not declared"
    if method == "notifications/resources/updated" and not is_declared(session, "resources.subscribe"):
        return f"{method} arrived, but resources.subscribe is not declared"
    if method == "notifications/message" and not is_declared(session, "logging"):
        return f"{method} (a log message) arrived, but the logging capability is not declared"
    if method == "notifications/message" and session.modern and not asked_for_logs(session):
        return f"{method} (a log message) arrived, but no request asked for logs ({LOG_LEVEL_META} in _meta)"
    return None


@requirement("lifecycle-016", "logging-001", "2026-07-28/logging-002", "2026-07-28/logging-003")
def test_notifications_match_capabilities(mcp, revision):
    """Notifications arrive only for what was declared: */list_changed needs the
    capability's `listChanged: true`, resources/updated needs `resources.subscribe`, and
    log messages need `logging` (and, from 2026-07-28 on, a request that asked for logs).
    Judged on everything the shared connection has received, after putting it through a
    round of ordinary requests and a barrier (Session.barrier; NOTICE_WINDOW where the
    transport does not order messages)."""
    exercise(mcp)
    mcp.barrier(window=NOTICE_WINDOW)
    problems = {why for m in mcp.received() if (why := undeclared_notification(m, mcp))}
    expect(not problems, "\n".join(sorted(problems)))


def offered_entries(session, method: str, key: str) -> list:
    """The entries the first page of `method` lists ([] for an error or no list)."""
    response = session.request(method)
    entries = response.result.get(key) if response.kind is Kind.RESULT else None
    return entries if isinstance(entries, list) else []


def completion_offered(session) -> bool:
    """Whether completion/complete answers values for an argument of a listed prompt."""
    prompt = next(
        (
            p
            for p in offered_entries(session, "prompts/list", "prompts")
            if isinstance(p, dict) and p.get("arguments") and isinstance(p["arguments"][0], dict)
        ),
        None,
    )
    if prompt is None:
        return False
    response = session.request(
        "completion/complete",
        {
            "ref": {"type": "ref/prompt", "name": prompt.get("name")},
            "argument": {"name": prompt["arguments"][0].get("name"), "value": ""},
        },
    )
    completion = response.result.get("completion") if response.kind is Kind.RESULT else None
    return isinstance(completion, dict) and bool(completion.get("values"))


@requirement(
    "tools-005",
    "prompts-001",
    "resources-001",
    "completion-001",
    "2026-07-28/tools-006",
    "2026-07-28/prompts-002",
    "2026-07-28/resources-002",
    "2026-07-28/completion-002",
)
def test_offered_features_declared(mcp_connect, revision):
    """A server that offers tools, prompts, resources or completions declares the matching
    capability: a list method of an undeclared capability that lists entries, or an
    undeclared completion/complete that answers values, breaks that. An empty answer is
    not an offer."""
    session = mcp_connect()
    offered = [
        capability
        for capability, pairs in LISTS.items()
        if declares(session, capability) is None and any(offered_entries(session, method, key) for method, key in pairs)
    ]
    if revision >= "2025-03-26" and declares(session, "completions") is None and completion_offered(session):
        offered.append("completions")
    expect(not offered, "offered but not declared among the capabilities: " + ", ".join(offered))


@requirement("2026-07-28/versioning-005", "2026-07-28/schema-031")
def test_extension_ids_well_formed(mcp, revision):
    """Each extension the server advertises (the keys of `capabilities.extensions`) has an
    id that follows the `_meta` key-name rules, with the prefix those rules make optional."""
    modern_only(revision)
    extensions = declares(mcp, "extensions")
    if not isinstance(extensions, dict) or not extensions:
        not_applicable("the server advertises no extensions")
    problems = [f"{key!r}: {why}" for key in extensions if (why := extension_id_problem(key))]
    expect(not problems, "extension ids break the naming rules: " + "; ".join(problems))
