"""Per-workspace figures composed from several Admin API endpoints, fetched concurrently.

One failing endpoint (a missing scope, a timeout) blanks only its own field and says why in
``errors``; the rest of the report still arrives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any

from gatewise.errors import GatewiseError
from gatewise.portkey.client import PortkeyAdminClient, unwrap
from gatewise.portkey.models import WorkspaceStats, WorkspaceStatsReport

MAX_CONCURRENCY = 8  # upstream requests in flight at once for one report
COUNT_ALL = 10_000  # listing cap when an endpoint gives no total


async def workspace_stats(client: PortkeyAdminClient, provider: str, *, workspace_id: str | None,
                          since: str, until: str, limit: int) -> WorkspaceStatsReport:
    if workspace_id:
        found = await client.call("workspaces.get", {"workspace_id": workspace_id})
        workspaces = [unwrap(found)]
        truncated = False
    else:
        page = await client.list_all("workspaces.list", limit=limit)
        workspaces, truncated = page.items, page.truncated
    gate = asyncio.Semaphore(MAX_CONCURRENCY)

    async def bounded(job: Awaitable[Any]) -> Any:
        async with gate:
            return await job

    configs = asyncio.ensure_future(bounded(client.list_all("configs.list", limit=COUNT_ALL)))
    try:
        stats = await asyncio.gather(*(
            _one(client, bounded, configs, ws, since, until) for ws in workspaces if isinstance(ws, dict)))
    finally:
        configs.cancel()
    return WorkspaceStatsReport(provider=provider, time_of_generation_min=since,
                                time_of_generation_max=until, workspaces=list(stats), truncated=truncated)


async def _one(client: PortkeyAdminClient, bounded: Any, configs: asyncio.Future[Any],
               ws: Mapping[str, Any], since: str, until: str) -> WorkspaceStats:
    ws_id, slug = str(ws.get("id") or ws.get("slug")), ws.get("slug")
    window = {"time_of_generation_min": since, "time_of_generation_max": until,
              **({"workspace_slug": slug} if slug else {})}

    async def config_count() -> int:
        page = await asyncio.shield(configs)
        return sum(1 for c in page.items if isinstance(c, dict) and c.get("workspace_id") == ws_id)

    jobs = {
        "members": bounded(_count(client, "members.list", {"workspace_id": ws_id}, {})),
        "api_keys": bounded(_count(client, "api_keys.list", None, {"workspace_id": ws_id})),
        "configs": config_count(),
        "requests": bounded(_summary_total(client, "analytics.requests", window)),
        "cost_cents": bounded(_summary_total(client, "analytics.cost", window)),
    }
    results = await asyncio.gather(*jobs.values(), return_exceptions=True)
    out = WorkspaceStats(id=ws_id, slug=slug, name=ws.get("name"))
    for name, value in zip(jobs, results, strict=True):
        if isinstance(value, GatewiseError):
            out.errors[name] = f"{value.code.value}: {value.message}"
        elif isinstance(value, BaseException):
            raise value
        elif name in ("members", "api_keys", "configs", "requests") and value is not None:
            setattr(out, name, int(value))
        else:
            setattr(out, name, value)
    return out


async def _count(client: PortkeyAdminClient, operation: str, path: Mapping[str, str] | None,
                 params: Mapping[str, Any]) -> int:
    """How many items a list holds: its ``total`` when given, else by walking it."""
    page = await client.list_all(operation, path, params=params, limit=1)
    if page.total is not None:
        return page.total
    if not page.truncated:
        return len(page.items)
    return len((await client.list_all(operation, path, params=params, limit=COUNT_ALL)).items)


async def _summary_total(client: PortkeyAdminClient, operation: str, params: Mapping[str, Any]) -> Any:
    body = await client.call(operation, params=params)
    summary = body.get("summary") if isinstance(body, dict) else None
    total = summary.get("total") if isinstance(summary, dict) else None
    return total if isinstance(total, int | float) and not isinstance(total, bool) else None
