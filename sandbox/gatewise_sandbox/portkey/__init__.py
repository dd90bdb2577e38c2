"""A local, stateful stand-in for Portkey's Admin (control-plane) API, served under ``/v1``.

Seeded from the sandbox seed: an organisation with users, workspaces, keys, configs, prompts,
guardrails, policies, MCP servers and 30 days of synthetic traffic for analytics and logs.
Keys go in ``x-portkey-api-key``: ``pk-bad…`` is refused, ``pk-ws-…`` acts as a workspace key
(Enterprise-gated endpoints answer 403 AB03), any other key as an organisation admin key.
``routes.routes()`` is the route table; ``state.PortkeyState`` is what it remembers.
"""
