"""The openrouter-multimodal MCP server."""
