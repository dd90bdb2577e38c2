"""Per-workspace figures composed from several Admin API endpoints, fetched concurrently.

One failing endpoint (a missing scope, a timeout, an answer without a usable figure) blanks
only its own field and says why in ``errors``; the rest of the report still arrives. A count made
by walking a listing that had more pages than the client fetches is a lower bound, named in
``at_least``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any, NamedTuple

from gatewise.errors import GatewiseError
from gatewise.portkey.analytics import figure, graph_parts, objects, upstream_fault
from gatewise.portkey.client import Page, PortkeyAdminClient, unwrap
from gatewise.portkey.models import WorkspaceStats, WorkspaceStatsReport

MAX_CONCURRENCY = 8  # upstream requests in flight at once for one report
COUNT_ALL = 10_000  # listing cap when an endpoint gives no total


async def workspace_stats(client: PortkeyAdminClient, provider: str, *, workspace_id: str | None,
                          since: str, until: str, limit: int) -> WorkspaceStatsReport:
    if workspace_id:
        found = unwrap(await client.call("workspaces.get", {"workspace_id": workspace_id}))
        workspaces = objects([found], "data", "workspaces.get")
        truncated = False
    else:
        page = await client.list_all("workspaces.list", limit=limit)
        workspaces, truncated = objects(page.items, "data", "workspaces.list"), page.truncated
    gate = asyncio.Semaphore(MAX_CONCURRENCY)

    async def bounded(job: Awaitable[Any]) -> Any:
        async with gate:
            return await job

    configs = asyncio.ensure_future(bounded(client.list_all("configs.list", limit=COUNT_ALL)))
    try:
        stats = await asyncio.gather(*(
            _one(client, bounded, configs, ws, since, until) for ws in workspaces))
    finally:
        configs.cancel()
    return WorkspaceStatsReport(provider=provider, time_of_generation_min=since,
                                time_of_generation_max=until, workspaces=list(stats), truncated=truncated)


async def _one(client: PortkeyAdminClient, bounded: Any, configs: asyncio.Future[Any],
               ws: Mapping[str, Any], since: str, until: str) -> WorkspaceStats:
    ws_id, slug = str(ws.get("id") or ws.get("slug")), _text(ws.get("slug"))
    window = {"time_of_generation_min": since, "time_of_generation_max": until,
              **({"workspace_slug": slug} if slug else {})}

    async def config_count() -> Count:
        page: Page = await asyncio.shield(configs)
        found = sum(1 for c in page.items if isinstance(c, dict) and c.get("workspace_id") == ws_id)
        return Count(found, page.truncated)

    jobs = {
        "members": bounded(_count(client, "members.list", {"workspace_id": ws_id}, {})),
        "api_keys": bounded(_count(client, "api_keys.list", None, {"workspace_id": ws_id})),
        "configs": config_count(),
        "requests": bounded(_summary_total(client, "analytics.requests", window)),
        "cost_cents": bounded(_summary_total(client, "analytics.cost", window)),
    }
    results = await asyncio.gather(*jobs.values(), return_exceptions=True)
    out = WorkspaceStats(id=ws_id, slug=slug, name=_text(ws.get("name")))
    for name, value in zip(jobs, results, strict=True):
        if isinstance(value, GatewiseError):
            out.errors[name] = f"{value.code.value}: {value.message}"
        elif isinstance(value, BaseException):
            raise value
        elif isinstance(value, Count):
            setattr(out, name, value.found)
            if value.more:
                out.at_least.append(name)
        else:
            setattr(out, name, int(value) if name == "requests" else value)
    return out


class Count(NamedTuple):
    found: int
    more: bool  # the listing held more than were counted: ``found`` is a lower bound


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def _count(client: PortkeyAdminClient, operation: str, path: Mapping[str, str] | None,
                 params: Mapping[str, Any]) -> Count:
    """How many items a list holds: its ``total`` when given, else by walking it (up to the
    client's page cap)."""
    page = await client.list_all(operation, path, params=params, limit=1)
    if page.total is not None:
        return Count(page.total, False)
    if not page.truncated:
        return Count(len(page.items), False)
    page = await client.list_all(operation, path, params=params, limit=COUNT_ALL)
    return Count(len(page.items), page.truncated)


async def _summary_total(client: PortkeyAdminClient, operation: str, params: Mapping[str, Any]
                         ) -> int | float:
    summary, _ = graph_parts(await client.call(operation, params=params), operation)
    total = figure(summary.get("total"))
    if total is None:
        raise upstream_fault(operation, "has no `summary.total` that is a finite number in range")
    return total
