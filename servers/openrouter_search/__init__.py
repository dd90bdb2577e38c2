"""The openrouter-search MCP server."""
