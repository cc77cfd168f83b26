"""OAuth for the suite: a loopback authorization server that mints the tokens used to test
OAuth-protected MCP servers (resource servers), and the WWW-Authenticate parser both legs use."""
