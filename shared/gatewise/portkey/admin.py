"""The portkey-admin service: runs a tool action against the Admin API, safely.

One request path for every action: refuse arguments that do not apply, check the body locally,
preview (``dry_run``) or demand ``confirm`` for destructive actions, call the endpoint (walking
pages for lists), then mask secrets, except a new key shown once in ``secret``.

Which upstream answers: a configured ``PORTKEY_API_KEY`` always means the Portkey API at
``PORTKEY_BASE_URL``. Without one, when the servers use the local sandbox (no OpenRouter key, or
``GATEWISE_SANDBOX_URL`` set), the sandbox's Portkey stand-in answers and results say
``provider: sandbox``; it is started (as a child process) on first use if no sandbox URL is
configured. Otherwise a
call fails with UNAUTHORIZED naming PORTKEY_API_KEY, while the server still starts and lists tools.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from gatewise.analytics import UsageReport, parse_timeframe, usage_analytics
from gatewise.caller import whole_gateway
from gatewise.config import Settings
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.portkey.actions import ACTIONS, Action
from gatewise.portkey.analytics import (
    GROUP_OPS,
    METRIC_OPS,
    analytics_query,
    chart_png,
    encode_query,
    figure,
    fit_figures,
    graph_parts,
    iso,
    objects,
    problems_note,
)
from gatewise.portkey.bodies import check_body
from gatewise.portkey.client import PAGE_SIZE, PortkeyAdminClient, fill_path, unwrap
from gatewise.portkey.endpoints import ENDPOINTS
from gatewise.portkey.masking import mask_secrets, request_secrets
from gatewise.portkey.models import AdminResult, GatewaySpend, UsageAnalytics, WorkspaceStatsReport
from gatewise.portkey.stats import workspace_stats
from gatewise.redact import scrub_data_with
from gatewise.runtime import offline_catalog
from gatewise.storage.backends import opened_analytics
from gatewise.upstream.local_sandbox import PORTKEY_KEY, SandboxProcess

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 50
COMMON_ARGS = frozenset({"action", "resource", "confirm", "dry_run", "limit"})
AUDIT_FILTERS = ("method", "uri", "request_id", "user_id", "user_type", "workspace_id",
                 "response_status_code", "resource_type", "action", "client_ip", "country")
SECRET_NOTE = "The new key is in `secret` and is shown only in this answer: store it now."


@dataclass(frozen=True)
class Target:
    provider: Literal["portkey", "sandbox"]
    base_url: str | None  # None: start an embedded sandbox
    api_key: str


def resolve_target(settings: Settings) -> Target | None:
    """Where Admin API calls go (see the module docstring), or None when a key is needed."""
    if settings.portkey_api_key is not None:
        return Target("portkey", settings.portkey_url, settings.portkey_api_key.get_secret_value())
    if not settings.uses_sandbox:
        return None
    if settings.sandbox_url is None:
        return Target("sandbox", None, PORTKEY_KEY)
    return Target("sandbox", settings.portkey_url, PORTKEY_KEY)


def _needs_key() -> GatewiseError:
    return GatewiseError(
        ErrorCode.UNAUTHORIZED, "PORTKEY_API_KEY is not set, so the Portkey Admin API cannot be called",
        hint="Set PORTKEY_API_KEY to an organisation admin key (or a workspace key for workspace-scoped "
             "actions); without any OpenRouter key the local sandbox answers instead.")


class PortkeyAdmin:
    """Holds the Admin API client (created on first use) and runs tool actions."""

    def __init__(self, settings: Settings, *, page_size: int | None = None) -> None:
        self.settings = settings
        self.target = resolve_target(settings)
        self._page_size = page_size
        self._client: PortkeyAdminClient | None = None
        self._sandbox: SandboxProcess | None = None
        self._lock = asyncio.Lock()
        self._organisation_id: str | None = None

    @property
    def provider(self) -> str:
        return self.target.provider if self.target is not None else "portkey"

    async def client(self) -> PortkeyAdminClient:
        """The Admin API client, opened on first use; every request to the organisation starts here."""
        # A token bound to one project must not administer the organisation all projects share.
        whole_gateway("the Portkey organisation")
        async with self._lock:
            if self._client is None:
                self._client = await self._open()
            return self._client

    async def _open(self) -> PortkeyAdminClient:
        target = self.target
        if target is None:
            raise _needs_key()
        base_url = target.base_url
        if base_url is None:
            sandbox = self._sandbox = await SandboxProcess().__aenter__()
            base_url = sandbox.root_url + "/v1"
            log.info("no PORTKEY_API_KEY: Admin API calls go to the local sandbox at %s", base_url)
        return PortkeyAdminClient(base_url, target.api_key, limits=self.settings.limits,
                                  name=target.provider, page_size=self._page_size or PAGE_SIZE)

    async def probe(self, *, timeout_s: float) -> None:
        """One cheap authenticated read (a page of one API key) within ``timeout_s``, for
        ``gatewise doctor``: raises what a tool call would meet (no answer, a refused key)."""
        client = await self.client()
        await client.call("api_keys.list", params={"page_size": 1}, timeout_s=timeout_s)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._sandbox is not None:
            await self._sandbox.__aexit__(None, None, None)
            self._sandbox = None

    # --- generic actions ---------------------------------------------------------------------

    async def run(self, tool: str, args: Mapping[str, Any]) -> AdminResult:
        action_name, resource = args["action"], args.get("resource") or ""
        spec = _lookup(tool, resource, action_name)
        _refuse_extras(spec, args, action_name, resource)
        if spec.kind == "local" and spec.local is not None:
            return AdminResult(provider="local", applied=False, item=spec.local(args).model_dump())
        path = _path(spec, args, action_name)
        query = encode_query({name: args.get(name) for name in spec.query})
        body = _body(spec, args)
        own = request_secrets(body)
        if spec.kind in ("write", "destructive") and args.get("dry_run"):
            return await self._preview(spec, action_name, path, query, body)
        if not args.get("confirm"):
            _refuse_unconfirmed(spec, action_name, body)
        client = await self.client()
        if spec.kind == "list":
            limit = args.get("limit") or DEFAULT_LIMIT
            page = await client.list_all(spec.op, path, params=query, limit=limit)
            return AdminResult(provider=self.provider, applied=False,
                               items=_clean(page.items, own), total=page.total, truncated=page.truncated)
        reply = unwrap(await client.call(spec.op, path, params=query or None, body=body))
        result = AdminResult(provider=self.provider,
                             applied=spec.kind in ("write", "destructive"), item=_clean(reply, own))
        if spec.secret and isinstance(reply, dict) and isinstance(reply.get(spec.secret), str):
            result.secret = reply[spec.secret]
            result.notes.append(SECRET_NOTE)
        return result

    async def _preview(self, spec: Action, action: str, path: dict[str, str], query: dict[str, str],
                       body: Any) -> AdminResult:
        """What the action would do, with the object it would change: nothing is written."""
        current = None
        if spec.preview is not None:
            client = await self.client()
            shown = ENDPOINTS[spec.preview]
            preview_path = {k: v for k, v in path.items() if "{" + k + "}" in shown.path}
            # On the same path (a provider's workspace, a server's user) the filters select the same items.
            same = shown.path == ENDPOINTS[spec.op].path
            current = unwrap(await client.call(spec.preview, preview_path, params=query if same else None))
        endpoint = ENDPOINTS[spec.op]
        request: dict[str, Any] = {"method": endpoint.method, "path": fill_path(endpoint, path)}
        if query:
            request["query"] = query
        own = request_secrets(body)
        if body is not None:
            request["body"] = _clean(body, own)
        verb = "delete" if endpoint.method == "DELETE" else action.replace("_", " ")
        notes = [f"dry run: nothing was changed; '{action}' would send the request shown"
                 + (f" and {verb} the current item shown" if current is not None else "")]
        return AdminResult(provider=self.provider, applied=False,
                           item={"current": _clean(current, own), "request": request}, notes=notes)

    # --- composed tools ----------------------------------------------------------------------

    async def _gateway_usage(self, since: float | None, until: float | None) -> UsageReport:
        """The gateway's own figures: every instance's when the ledger is a shared database."""
        async with opened_analytics(self.settings) as source:
            return await usage_analytics(source, offline_catalog(self.settings), since=since, until=until,
                                         group_by="none")

    async def usage(self, args: Mapping[str, Any]) -> tuple[UsageAnalytics, bytes | None]:
        """Portkey analytics for one metric (and optional groups), beside the gateway's ledger."""
        window = parse_timeframe(args.get("timeframe"), args.get("start"), args.get("end"))
        metric, group_by = args.get("metric") or "cost", args.get("group_by")
        if group_by == "metadata" and not args.get("metadata_key"):
            raise GatewiseError(ErrorCode.INVALID_INPUT, "group_by 'metadata' needs `metadata_key`")
        if args.get("metadata_key") and group_by != "metadata":
            raise GatewiseError(ErrorCode.INVALID_INPUT, "`metadata_key` applies only to group_by 'metadata'")
        query = analytics_query(window, args.get("workspace_slug"), args.get("filters"))
        client = await self.client()
        jobs: dict[str, Any] = {"graph": client.call(METRIC_OPS[metric], params=query)}
        if group_by:
            key = {"key": args["metadata_key"]} if group_by == "metadata" else None
            jobs["groups"] = client.list_all(GROUP_OPS[group_by], key, params=query,
                                             limit=args.get("limit") or DEFAULT_LIMIT)
        include_gateway = bool(args.get("include_gateway"))
        if include_gateway:
            jobs["gateway"] = self._gateway_usage(window.since, window.until)
            if metric != "cost":
                jobs["cost"] = client.call(METRIC_OPS["cost"], params=query)
        done = dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True))
        # Upstream figures that are no usable number are left out, each named in a note; a part
        # of the wrong shape is Portkey's fault (UPSTREAM_ERROR naming it), not the caller's.
        problems: list[str] = []
        summary, points = graph_parts(done["graph"], METRIC_OPS[metric])
        out = UsageAnalytics(
            provider=self.provider, metric=metric, time_of_generation_min=query["time_of_generation_min"],
            time_of_generation_max=query["time_of_generation_max"], query=query,
            summary=fit_figures(summary, "summary", problems),
            data_points=fit_figures(points, "data_points", problems),
            notes=["Portkey reports costs in cents; *_usd fields are in US dollars."])
        if group_by:
            out.group_by = group_by
            rows = objects(_clean(done["groups"].items), "data", GROUP_OPS[group_by])
            out.groups = fit_figures(rows, "groups", problems)
            out.groups_total = done["groups"].total
        cost_summary = out.summary if metric == "cost" else {} if "cost" not in done \
            else fit_figures(graph_parts(done["cost"], METRIC_OPS["cost"])[0], "cost.summary", problems)
        cents = figure(cost_summary.get("total"))
        if cents is not None:
            out.portkey_cost_usd = round(cents / 100, 6)
        if problems:
            out.notes.append(problems_note(problems))
        spend = None
        if include_gateway:
            totals = done["gateway"].totals
            out.gateway = GatewaySpend(requests=totals.requests, cost_usd=totals.cost_usd,
                                       tokens_in=totals.tokens_in, tokens_out=totals.tokens_out,
                                       error_rate=totals.error_rate)
            spend = {self.provider: out.portkey_cost_usd or 0.0, "gateway": totals.cost_usd}
            out.combined_cost_usd = round(sum(spend.values()), 6)
        png = None
        if args.get("chart"):
            png = chart_png(metric, window, out.data_points, out.groups, group_by, spend)
        return out, png

    async def workspace_stats(self, args: Mapping[str, Any]) -> WorkspaceStatsReport:
        window = parse_timeframe(args.get("timeframe"), args.get("start"), args.get("end"))
        return await workspace_stats(await self.client(), self.provider,
                                     workspace_id=args.get("workspace_id"), since=iso(window.since),
                                     until=iso(window.until, end=True), limit=args.get("limit") or 20)

    async def audit_logs(self, args: Mapping[str, Any]) -> AdminResult:
        window = parse_timeframe(args.get("timeframe"), args.get("start"), args.get("end"))
        client = await self.client()
        organisation_id = args.get("organisation_id") or await self._discover_organisation(client)
        query = {"start_time": iso(window.since), "end_time": iso(window.until, end=True),
                 "organisation_id": organisation_id,
                 **encode_query({name: args.get(name) for name in AUDIT_FILTERS})}
        page = await client.list_all("audit.list", params=query, limit=args.get("limit") or DEFAULT_LIMIT)
        return AdminResult(provider=self.provider, applied=False, items=_clean(page.items),
                           total=page.total, truncated=page.truncated)

    async def _discover_organisation(self, client: PortkeyAdminClient) -> str:
        """The organisation id, read from any API key the caller can see (the audit API needs it)."""
        if self._organisation_id is None:
            page = await client.list_all("api_keys.list", limit=1)
            found = next((k.get("organisation_id") for k in page.items if isinstance(k, dict)), None)
            if not found:
                raise GatewiseError(ErrorCode.INVALID_INPUT,
                                    "`organisation_id` is required and could not be found from the API keys",
                                    hint="Pass organisation_id (Portkey → Admin Settings).")
            self._organisation_id = str(found)
        return self._organisation_id


def _lookup(tool: str, resource: str, action: str) -> Action:
    actions = ACTIONS[tool].get(resource)
    spec = actions.get(action) if actions else None
    if spec is None:
        where = f" for resource '{resource}'" if resource else ""
        choices = ", ".join(actions or {})
        raise GatewiseError(ErrorCode.INVALID_INPUT, f"action '{action}' is not available{where}",
                            hint=f"Choose one of: {choices}.")
    return spec


def _refuse_unconfirmed(spec: Action, action: str, body: Any) -> None:
    """A destructive action, or a write overwriting a stored credential, is refused without confirm."""
    replaced = [name for name in spec.replaces if isinstance(body, dict) and name in body]
    if spec.kind != "destructive" and not replaced:
        return
    what = f"'{action}' with `{replaced[0]}` replaces the stored credential" if replaced \
        else f"'{action}' is destructive"
    raise GatewiseError(
        ErrorCode.INVALID_INPUT, f"{what} and cannot be undone; nothing was changed",
        hint="Call again with confirm: true, or with dry_run: true to see what it would do.")


def _refuse_extras(spec: Action, args: Mapping[str, Any], action: str, resource: str) -> None:
    """An argument the action would ignore is a mistake worth reporting, not dropping."""
    allowed = spec.arguments | COMMON_ARGS
    extra = sorted(name for name, value in args.items() if value is not None and name not in allowed)
    if extra:
        where = f" on resource '{resource}'" if resource else ""
        accepted = ", ".join(sorted(spec.arguments)) or "no other arguments"
        raise GatewiseError(ErrorCode.INVALID_INPUT,
                            f"`{extra[0]}` does not apply to action '{action}'{where}",
                            hint=f"'{action}' takes: {accepted}.")


def _path(spec: Action, args: Mapping[str, Any], action: str) -> dict[str, str]:
    path = {}
    for placeholder, arg in spec.path.items():
        value = args.get(arg) or spec.path_defaults.get(placeholder)
        if not value:
            raise GatewiseError(ErrorCode.INVALID_INPUT, f"`{arg}` is required for action '{action}'")
        path[placeholder] = str(value)
    return path


def _body(spec: Action, args: Mapping[str, Any]) -> Any:
    if spec.body is None and not spec.body_args:
        return None
    body: dict[str, Any] = dict(args.get("fields") or {})
    for name in spec.body_args:
        if args.get(name) is not None:
            body[name] = _plain(args[name])
    built = spec.build(args, body) if spec.build is not None else body
    if spec.body is not None:
        check_body(spec.body, built, partial=not spec.create, typed=spec.body_args)
    if spec.check is not None:
        spec.check(built)
    return built


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, exclude_none=True)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _clean(value: Any, own: Sequence[str] = ()) -> Any:
    """Secrets masked: by field name at any depth, inside JSON text fields too (audit logs' request
    bodies and headers), by key shape in any text (a result's raw key is only ever in `secret`),
    and ``own``, the secrets the request sent, wherever the answer echoes them; configs stored as
    JSON strings (config versions) decoded."""
    return scrub_data_with(mask_secrets(_decode_configs(value)), own, shapes=True)


def _decode_configs(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode_configs(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _decode_configs(v) for k, v in value.items()}
    raw = out.get("config")
    if isinstance(raw, str) and raw.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):
            out["config"] = json.loads(raw)
    return out
