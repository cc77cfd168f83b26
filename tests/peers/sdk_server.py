"""A small but representative MCP server built on the official Python SDK (PyPI `mcp`, 2.x).

    python tests/peers/sdk_server.py                 # stdio
    python tests/peers/sdk_server.py --port N        # Streamable HTTP at http://127.0.0.1:N/mcp

Serves over stdio, or over Streamable HTTP (the SDK's own uvicorn app) with --port. It offers what a typical real server offers: three tools (one annotated
read-only, one that changes state and says so, one that asks the user for input: an
elicitation request in the legacy era, a multi round-trip request in 2026-07-28), a static
resource, a resource template and a prompt. The conformance suite's own tests run against it (tests/test_real_peers.py).

mcp 2.x renamed v1's `mcp.server.fastmcp.FastMCP` to `mcp.server.mcpserver.MCPServer`.
"""

from __future__ import annotations

import sys

from typing import Annotated

try:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.resolve import Elicit, Resolve
    from mcp.types import ToolAnnotations
    from pydantic import BaseModel
except ImportError as error:  # pragma: no cover - a clear message instead of a traceback
    sys.stderr.write(f"sdk_server: needs the `mcp` SDK 2.x (pip install -e '.[test]'): {error}\n")
    sys.exit(2)

server = MCPServer(
    name="conformance-sdk-peer",
    version="1.0.0",
    instructions="A test peer for mcp-conformance: a notes store with a word counter.",
    log_level="WARNING",  # the SDK logs to stderr; keep it quiet
)

NOTES: dict[str, str] = {"welcome": "Hello from the Python SDK peer."}


@server.tool(
    title="Count words",
    description="Count the words in a text.",
    annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                                open_world_hint=False),
)
def count_words(text: str) -> int:
    return len(text.split())


@server.tool(
    title="Add note",
    description="Store a note under a name (replaces a note of the same name).",
    annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                                open_world_hint=False),
)
def add_note(name: str, text: str) -> str:
    NOTES[name] = text
    return f"stored note {name!r} ({len(text)} characters)"


class Author(BaseModel):
    name: str


def ask_author() -> Elicit:
    return Elicit("Who is signing the note?", Author)


@server.tool(
    title="Sign a note",
    description="Sign a stored note; asks the user for their name (elicitation).",
    annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False),
)
def sign_note(name: str, author: Annotated[Author, Resolve(ask_author)]) -> str:
    return f"note {name!r} signed by {author.name}"


@server.resource("notes://index", name="notes-index", title="Note index",
                 description="The names of all stored notes, one per line.", mime_type="text/plain")
def notes_index() -> str:
    return "\n".join(sorted(NOTES))


@server.resource("notes://note/{name}", name="note", title="A note",
                 description="One stored note by name.", mime_type="text/plain")
def note(name: str) -> str:
    return NOTES.get(name, "")


@server.prompt(title="Summarize a note", description="Ask the model to summarize one stored note.")
def summarize_note(name: str, style: str = "brief") -> str:
    return f"Summarize the note {name!r} in a {style} style:\n\n{NOTES.get(name, '(no such note)')}"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--port" and sys.argv[2].isdigit():
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    elif len(sys.argv) > 1:
        sys.exit(f"usage: {sys.argv[0]} [--port N]")
    else:
        server.run("stdio")
