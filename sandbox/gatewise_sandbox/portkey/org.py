"""The organisation the stand-in serves: its tables, its traffic, its audit trail and settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gatewise_sandbox.portkey.analytics import Call
from gatewise_sandbox.portkey.store import Ids, Record, Table, iso

ORGANISATION_ID = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"
MAX_AUDIT = 5_000

# table name → (what an AB08 message calls it, the fields a path id may match)
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "users": ("User", ("id",)),
    "invites": ("Invite", ("id",)),
    "workspaces": ("Workspace", ("id", "slug")),
    "members": ("Workspace member", ("key",)),
    "scim": ("SCIM workspace mapping", ("id",)),
    "api_keys": ("API key", ("id",)),
    "virtual_keys": ("Virtual key", ("slug",)),
    "providers": ("Provider", ("slug", "id")),
    "integrations": ("Integration", ("slug", "id")),
    "secret_references": ("Secret reference", ("id", "slug")),
    "configs": ("Config", ("slug", "id")),
    "prompts": ("Prompt", ("id", "slug")),
    "partials": ("Prompt partial", ("id", "slug")),
    "labels": ("Label", ("id",)),
    "collections": ("Collection", ("id", "slug")),
    "guardrails": ("Guardrail", ("id", "slug")),
    "usage_limits": ("Usage limits policy", ("id",)),
    "rate_limits": ("Rate limits policy", ("id",)),
    "exports": ("Log export", ("id",)),
    "feedback": ("Feedback", ("id",)),
    "mcp_integrations": ("MCP integration", ("id", "slug")),
    "mcp_servers": ("MCP server", ("id", "slug")),
}


class Org:
    """One seeded organisation; every handler reads and changes it in place."""

    def __init__(self, seed: int, anchor: datetime) -> None:
        self.id = ORGANISATION_ID
        self.ids = Ids(seed)
        self.anchor = anchor  # the end of the seeded traffic
        self.tables = {name: Table(what, keys) for name, (what, keys) in TABLES.items()}
        self.traffic: list[Call] = []
        self.audit: list[Record] = []
        self.owner_id = ""
        self.default_workspace_id = ""
        self.defaults: dict[str, Any] = {"input_guardrails": [], "output_guardrails": []}
        self.exclusions: dict[str, list[str]] = {"input": [], "output": []}

    def table(self, name: str) -> Table:
        return self.tables[name]

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def stamp(self) -> str:
        return iso(self.now())

    def workspace(self, ref: str | None) -> Record:
        """A workspace by id or slug; the default workspace when ``ref`` is empty."""
        return self.table("workspaces").get(ref or self.default_workspace_id)

    @property
    def default_workspace(self) -> Record:
        return self.workspace(None)

    def record_audit(self, entry: Record) -> None:
        self.audit.append(entry)
        del self.audit[:-MAX_AUDIT]
