"""Checks of MCP clients (the client leg, `pytest --mcp-client "CMD {server}"`): the suite
plays a scripted server (conformance.peer) and judges what the client sent."""
