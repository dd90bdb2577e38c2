"""Tool annotation presets, so every tool states its side effects the same way."""

from __future__ import annotations

from mcp.types import ToolAnnotations


def read_only(title: str, *, remote: bool) -> ToolAnnotations:
    """Looks things up; ``remote`` when it asks an upstream API (open world)."""
    return ToolAnnotations(title=title, read_only_hint=True, destructive_hint=False,
                           idempotent_hint=True, open_world_hint=remote)


def calls_model(title: str) -> ToolAnnotations:
    """Sends a request to a model: spends money and records it, changes nothing else."""
    return ToolAnnotations(title=title, read_only_hint=False, destructive_hint=False,
                           idempotent_hint=False, open_world_hint=True)


def writes(title: str, *, destructive: bool, idempotent: bool, remote: bool) -> ToolAnnotations:
    """Changes state; destructive tools must also ask for ``confirm`` and offer ``dry_run``."""
    return ToolAnnotations(title=title, read_only_hint=False, destructive_hint=destructive,
                           idempotent_hint=idempotent, open_world_hint=remote)
