"""A client built on the official Python SDK (mcp 2.x), for the client leg's tests.

    python tests/peers/sdk_client.py SERVER-COMMAND...
    python tests/peers/sdk_client.py http://HOST:PORT/mcp

Connects over stdio (or Streamable HTTP, given a URL) with the SDK's own connect logic (mode "auto": it may probe
server/discover before initialize), declares roots, sampling and elicitation through its
callbacks, lists the tools, calls the ones MCP_CONFORMANCE_CONTEXT's toolCalls name (else the first
one, asking for progress) and closes. Exits 1 when the SDK refuses
the session (an unsupported version, say).
"""

from __future__ import annotations

import json
import os
import sys

import anyio
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters


async def list_roots(context):
    return types.ListRootsResult(roots=[types.Root(uri="file:///tmp/project", name="project")])


async def sampling(context, params):
    return types.CreateMessageResult(
        role="assistant", content=types.TextContent(type="text", text="Hello."), model="scripted"
    )


async def elicitation(context, params):
    return types.ElicitResult(action="decline")


async def progress(done, total, message):
    pass


async def main(argv: list[str]) -> int:
    url = len(argv) == 1 and argv[0].startswith(("http://", "https://"))
    server = argv[0] if url else StdioServerParameters(command=argv[0], args=argv[1:])
    async with Client(
        server,
        list_roots_callback=list_roots,
        sampling_callback=sampling,
        elicitation_callback=elicitation,
        read_timeout_seconds=10,
    ) as client:
        tools = await client.list_tools()
        calls = asked_calls({tool.name for tool in tools.tools})
        if tools.tools and not calls:
            calls = [(tools.tools[0].name, {"text": "hi"})]
        if os.environ.get("MCP_CONFORMANCE_SCENARIO") == "json-schema-2020-12-preservation":
            # the official scenario's contract: echo the inputSchema the SDK holds for the tool
            calls = [
                ("json_schema_echo", {"schema": tool.input_schema})
                for tool in tools.tools
                if tool.name == "json_schema_2020_12_tool"
            ]
        for name, arguments in calls:
            await client.call_tool(name, arguments, progress_callback=progress)
    return 0


def asked_calls(names: set[str]) -> list[tuple[str, dict]]:
    """The tool calls the scenario's MCP_CONFORMANCE_CONTEXT names (toolCalls), as the SDKs'
    conformance clients make them."""
    try:
        asked = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}").get("toolCalls") or []
    except (ValueError, AttributeError):
        return []
    return [(c["name"], c.get("arguments") or {}) for c in asked if isinstance(c, dict) and c.get("name") in names]


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: sdk_client.py SERVER-COMMAND... | URL")
    try:
        sys.exit(anyio.run(main, sys.argv[1:]))
    except Exception as exc:  # the SDK refused the session: say so, exit non-zero
        print(f"sdk client: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
