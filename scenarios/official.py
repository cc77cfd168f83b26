"""Fixture mode: the tools and prompts the official conformance suite expects of its test
server (tool test_simple_text, prompt test_simple_prompt, ...), checked under the names
of the official scenarios (tools-call-simple-text -> test_tools_call_simple_text). A
server that does not offer a fixture skips its check.

Fixture tools exist to be called by test suites, so they are called whatever their
annotations; only --mcp-call-tools=none stops that. The fixtures' exact texts are a
convention of the official suite, not of the spec: a different text is a warning.

Scenario list: the official suite's server scenarios (@modelcontextprotocol/conformance).
"""

from __future__ import annotations

from conformance.scenarios.progress import TRAILING_WINDOW, progress_notices, response_index
from conformance.scenarios.prompts import content_problems, get_prompt, listed_prompts

from conformance.checks import expect, not_applicable, requirement, should
from conformance.discovery import ToolCall, call_tool, declares, issued_token, list_all, listed_tools
from conformance.jsonrpc import METHOD_NOT_FOUND, Kind

SIMPLE_TEXT = "This is a simple text response for testing."
SIMPLE_PROMPT_TEXT = "This is a simple prompt for testing."
AUDIO_SINCE = "2025-03-26"
COMPLETIONS_SINCE = "2025-03-26"
PROMPT_ARGUMENTS = {"arg1": "mcp-conformance-first", "arg2": "mcp-conformance-second"}


# -- fixtures --------------------------------------------------------------------------------
def fixture_tool(session, name: str, policy: str | None = None) -> dict:
    """The listed fixture tool `name`; with a calling `policy`, only if it may be called."""
    tools = listed_tools(session) if declares(session, "tools") is not None else []
    tool = next((t for t in tools if t["name"] == name), None)
    if tool is None:
        not_applicable(f"fixture tool {name} not offered")
    if policy == "none":
        not_applicable("--mcp-call-tools=none: the suite calls no tool")
    return tool


def fixture_prompt(session, name: str) -> dict:
    prompts = listed_prompts(session) if declares(session, "prompts") is not None else []
    prompt = next((p for p in prompts if p["name"] == name), None)
    if prompt is None:
        not_applicable(f"fixture prompt {name} not offered")
    return prompt


def call_fixture(session, target, name: str, with_progress: bool = False) -> ToolCall:
    """Call fixture tool `name` without arguments; fail on no answer or a protocol error."""
    call = call_tool(session, fixture_tool(session, name, target.call_tools), {}, with_progress)
    expect(not call.failure, f"tools/call {name}: {call.failure}")
    expect(call.response.kind is Kind.RESULT, f"tools/call {name} got error {call.response.error}")
    return call


def blocks_of(call: ToolCall, kind: str) -> list[dict]:
    content = call.response.result.get("content") or []
    return [block for block in content if isinstance(block, dict) and block.get("type") == kind]


def binary_content(call: ToolCall, kind: str) -> dict:
    """The first `kind` (image, audio) block of a successful result, with base64 data."""
    expect(not call.response.result.get("isError"), f"{call.name} reported a failure (isError)")
    blocks = blocks_of(call, kind)
    expect(blocks, f"{call.name} returned no {kind} content: {call.response.text()[:300]}")
    problems = content_problems(blocks[0])
    expect(not problems, f"{call.name}: " + "; ".join(problems))
    should(
        str(blocks[0].get("mimeType", "")).startswith(f"{kind}/"),
        f"{call.name}: the mimeType of {kind} content should be {kind}/..., got {blocks[0].get('mimeType')!r}",
    )
    return blocks[0]


def texts(blocks: list[dict]) -> list[str]:
    return [
        b["text"] for b in blocks if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
    ]


# -- tools -----------------------------------------------------------------------------------
@requirement("2026-07-28/tools-007", "2026-07-28/tools-010")
def test_tools_list(mcp, mcp_connect, revision):
    """tools-list: the fixture server lists its tools, each with a description, in the
    same order on every connection (tools-list-deterministic-order). Both are conventions
    the official suite checks rather than spec rules, so they are SHOULDs here."""
    fixture_tool(mcp, "test_simple_text")
    first = [t["name"] for t in listed_tools(mcp)]
    again = [t.get("name") for t in list_all(mcp_connect(), "tools/list", "tools").items if isinstance(t, dict)]
    should(first == again, f"two connections list the tools in different orders: {first} and {again}")
    undescribed = [t["name"] for t in listed_tools(mcp) if not t.get("description")]
    should(not undescribed, f"tools without a description: {', '.join(undescribed)}")


@requirement("basic-008")
def test_tools_call_simple_text(mcp, mcp_target, revision):
    """tools-call-simple-text: test_simple_text, called without arguments, returns a
    successful result with a non-empty text block (the fixture's text is
    "This is a simple text response for testing.")."""
    call = call_fixture(mcp, mcp_target, "test_simple_text")
    expect(not call.response.result.get("isError"), "test_simple_text reported a failure (isError)")
    found = texts(blocks_of(call, "text"))
    expect(any(found), f"test_simple_text returned no text content: {call.response.text()[:300]}")
    should(SIMPLE_TEXT in found, f"test_simple_text's text is {found[0]!r}, not the fixture's {SIMPLE_TEXT!r}")


@requirement("basic-008")
def test_tools_call_image(mcp, mcp_target, revision):
    """tools-call-image: test_image_content returns image content whose data is base64,
    with an image MIME type (image/png in the fixture)."""
    binary_content(call_fixture(mcp, mcp_target, "test_image_content"), "image")


@requirement("basic-008")
def test_tools_call_audio(mcp, mcp_target, revision):
    """tools-call-audio: test_audio_content returns audio content (2025-03-26 on) whose
    data is base64, with an audio MIME type (audio/wav in the fixture)."""
    if revision < AUDIO_SINCE:
        not_applicable(f"{revision} predates audio content ({AUDIO_SINCE})")
    block = binary_content(call_fixture(mcp, mcp_target, "test_audio_content"), "audio")
    should(block.get("mimeType") == "audio/wav", f"the fixture's audio is audio/wav, got {block.get('mimeType')!r}")


@requirement("schema-020")
def test_tools_call_error(mcp, mcp_target, revision):
    """tools-call-error: test_error_handling always fails. The failure is reported in the
    result, with `isError: true` and a text block saying what went wrong. A JSON-RPC error
    instead is a warning (a tool's own failures belong in its result); a result that does
    not report a failure fails."""
    call = call_tool(mcp, fixture_tool(mcp, "test_error_handling", mcp_target.call_tools), {}, with_progress=False)
    expect(not call.failure, f"tools/call test_error_handling: {call.failure}")
    if call.response.kind is Kind.ERROR:
        should(
            False,
            "test_error_handling's failure came as a JSON-RPC error; tool failures should be "
            "reported in the result with isError: true",
        )
        return
    expect(call.response.result.get("isError") is True, "test_error_handling's result does not say isError: true")
    should(any(texts(blocks_of(call, "text"))), "test_error_handling's error result carries no text")


@requirement("progress-007", "progress-010", "progress-020")
def test_tools_call_with_progress(mcp, mcp_target, revision):
    """tools-call-with-progress: test_tool_with_progress, called with a progress token,
    reports progress (0, 50, 100 of 100 in the fixture) with that token, increasing, all
    before its response, judged up to a barrier behind the response (Session.barrier;
    TRAILING_WINDOW where the transport does not order messages). Sending none is a
    warning: the fixture is meant to send some, though the spec lets any server send none."""
    call = call_fixture(mcp, mcp_target, "test_tool_with_progress", with_progress=True)
    mcp.barrier(window=TRAILING_WINDOW)
    notices = progress_notices(mcp, call.sent_at)
    answered_at = response_index(mcp, call)
    ours = [n for n in notices if n.token == call.token]
    foreign = [n.token for n in notices if not issued_token(n.token)]
    expect(not foreign, f"progress notifications for tokens the client never sent: {foreign}")
    values = [n.progress for n in ours]
    expect(all(later > earlier for earlier, later in zip(values, values[1:])), f"progress does not increase: {values}")
    late = [n.progress for n in ours if answered_at is not None and n.index > answered_at]
    expect(not late, f"progress {late} arrived after the response")
    should(ours, "test_tool_with_progress sent no progress notifications")


# -- prompts ---------------------------------------------------------------------------------
@requirement("2026-07-28/prompts-003")
def test_prompts_list(mcp, revision):
    """prompts-list: the fixture server lists its prompts; test_prompt_with_arguments, if
    listed, declares its arguments arg1 and arg2 (required); every prompt should have a
    description (a convention the official suite checks)."""
    fixture_prompt(mcp, "test_simple_prompt")
    prompts = listed_prompts(mcp)
    with_args = next((p for p in prompts if p["name"] == "test_prompt_with_arguments"), None)
    if with_args is not None:
        declared = {a.get("name"): a for a in with_args.get("arguments") or [] if isinstance(a, dict)}
        expect(
            {"arg1", "arg2"} <= set(declared),
            f"test_prompt_with_arguments lists arguments {sorted(declared)}, not arg1 and arg2",
        )
        should(
            all(declared[a].get("required") is True for a in ("arg1", "arg2")),
            "test_prompt_with_arguments should mark arg1 and arg2 as required",
        )
    undescribed = [p["name"] for p in prompts if not p.get("description")]
    should(not undescribed, f"prompts without a description: {', '.join(undescribed)}")


def fixture_messages(session, name: str, arguments: dict | None) -> list[dict]:
    fixture_prompt(session, name)
    response = get_prompt(session, name, arguments)
    expect(response.kind is Kind.RESULT, f"prompts/get {name} got error {response.error}")
    messages = response.result.get("messages") or []
    expect(messages, f"prompts/get {name} returned no messages")
    return messages


def message_texts(messages: list[dict]) -> list[str]:
    return texts([m.get("content") for m in messages if isinstance(m, dict)])


@requirement("basic-008")
def test_prompts_get_simple(mcp, revision):
    """prompts-get-simple: test_simple_prompt, fetched without arguments, returns at least
    one message (the fixture's text is "This is a simple prompt for testing.")."""
    found = message_texts(fixture_messages(mcp, "test_simple_prompt", None))
    should(
        SIMPLE_PROMPT_TEXT in found, f"test_simple_prompt's texts are {found}, not the fixture's {SIMPLE_PROMPT_TEXT!r}"
    )


@requirement("basic-008")
def test_prompts_get_with_args(mcp, revision):
    """prompts-get-with-args: test_prompt_with_arguments, fetched with arg1 and arg2,
    returns messages whose text holds both values."""
    found = " ".join(message_texts(fixture_messages(mcp, "test_prompt_with_arguments", PROMPT_ARGUMENTS)))
    missing = [name for name, value in PROMPT_ARGUMENTS.items() if value not in found]
    expect(not missing, f"the values of {missing} do not appear in the prompt's text: {found[:300]!r}")


@requirement("prompts-003")
def test_prompts_get_with_image(mcp, revision):
    """prompts-get-with-image: test_prompt_with_image returns a message with image content
    whose data is base64, with an image MIME type."""
    messages = fixture_messages(mcp, "test_prompt_with_image", None)
    images = [
        m["content"]
        for m in messages
        if isinstance(m, dict) and isinstance(m.get("content"), dict) and m["content"].get("type") == "image"
    ]
    expect(images, "test_prompt_with_image returned no image content")
    problems = content_problems(images[0])
    expect(not problems, "; ".join(problems))
    should(
        str(images[0].get("mimeType", "")).startswith("image/"),
        f"the image's mimeType should be image/..., got {images[0].get('mimeType')!r}",
    )


# -- completion ------------------------------------------------------------------------------
@requirement("completion-001")
def test_completion_complete(mcp, revision):
    """completion-complete: completing argument arg1 of test_prompt_with_arguments
    answers with a result holding at most 100 values. Servers without completions (not
    declared; in 2024-11-05, which has no such capability, answered with -32601) skip."""
    fixture_prompt(mcp, "test_prompt_with_arguments")
    if revision >= COMPLETIONS_SINCE and declares(mcp, "completions") is None:
        not_applicable("the server does not declare the completions capability")
    response = mcp.request(
        "completion/complete",
        {
            "ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"},
            "argument": {"name": "arg1", "value": "par"},
        },
    )
    if revision < COMPLETIONS_SINCE and response.error_code == METHOD_NOT_FOUND:
        not_applicable("completion/complete is not offered (-32601)")
    expect(response.kind is Kind.RESULT, f"completion/complete got error {response.error}")
    values = (response.result.get("completion") or {}).get("values") or []
    expect(len(values) <= 100, f"{len(values)} completion values in one response (at most 100)")
