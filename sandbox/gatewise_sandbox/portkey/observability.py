"""Analytics, logs, log exports, feedback and audit logs: the Enterprise-gated read side, plus the
writes (custom logs, feedback) that feed it."""

from __future__ import annotations

import json
from typing import Any

from gatewise_sandbox.portkey import analytics, seed
from gatewise_sandbox.portkey.analytics import Call, Selection, selection
from gatewise_sandbox.portkey.engine import Ctx, Op, Resource, may, merge, need, page_of, validate
from gatewise_sandbox.portkey.errors import invalid, not_found
from gatewise_sandbox.portkey.org import Org
from gatewise_sandbox.portkey.store import SNAKE, Record, iso, matching, parse_time, public

REQUESTED_DATA = ("id", "trace_id", "created_at", "request", "response", "is_success", "ai_org",
                  "ai_model", "req_units", "res_units", "total_units", "request_url", "cost",
                  "cost_currency", "response_time", "response_status_code", "mode", "config",
                  "prompt_slug", "metadata")
_CHAT_URL = "https://api.portkey.ai/v1/chat/completions"


# -- analytics --------------------------------------------------------------------------------

def _chosen(ctx: Ctx) -> tuple[list[Call], Selection]:
    """The calls a request selects; without ``workspace_slug`` an org key sees the default one."""
    workspace = ctx.query.get("workspace_slug") or ctx.org.default_workspace["slug"]
    chosen = selection(ctx.query, window_required=True, workspace=workspace)
    return chosen(ctx.org.traffic), chosen


def _graph(name: str) -> Op:
    def handler(ctx: Ctx) -> Any:
        calls, chosen = _chosen(ctx)
        return analytics.graph(name, calls, chosen)
    return Op("GET", f"/analytics/graphs/{name}", handler, gated=True)


def _cache_summary(ctx: Ctx) -> Any:
    return analytics.cache_summary(_chosen(ctx)[0])


def _group(kind: str) -> Op:
    def handler(ctx: Ctx) -> Any:
        return analytics.group(kind, _chosen(ctx)[0], ctx.query, ctx.params.get("metadataKey"))
    path = "/analytics/groups/metadata/{metadataKey}" if kind == "metadata" else f"/analytics/groups/{kind}"
    return Op("GET", path, handler, gated=True)


# -- logs -------------------------------------------------------------------------------------

def _find_call(ctx: Ctx, ref: str) -> Call:
    found = next((c for c in ctx.org.traffic if c.id == ref), None)
    if found is None:
        raise not_found("Log", ref)
    return found


def log_object(org_id: str, call: Call) -> Record:
    created = iso(call.at)
    if call.raw is not None:
        request = {"method": "POST", "headers": {}, **call.raw["request"], "portkeyHeaders": {}}
        response = {"headers": {}, "status": call.status, **call.raw["response"],
                    "responseTime": call.latency_ms, "lastUsedOptionJsonPath": ""}
        response.pop("response_time", None)
    else:
        content = "" if call.failed else "Sandbox answer."
        request = {"url": _CHAT_URL, "method": "POST", "headers": {"content-type": "application/json"},
                   "body": {"model": call.model, "messages": [{"role": "user", "content": "…"}]},
                   "portkeyHeaders": {"x-portkey-trace-id": call.trace_id,
                                      "x-portkey-virtual-key": call.virtual_key or ""}}
        body: dict[str, Any] = ({"error": {"message": "Upstream error", "code": str(call.status)}}
                                if call.failed else
                                {"id": f"chatcmpl-{call.id[:8]}", "object": "chat.completion",
                                 "model": call.model,
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": content}}],
                                 "usage": {"prompt_tokens": call.prompt_tokens,
                                           "completion_tokens": call.completion_tokens,
                                           "total_tokens": call.tokens}})
        response = {"status": call.status, "headers": {}, "body": body,
                    "responseTime": call.latency_ms,
                    "lastUsedOptionJsonPath": "config.targets[0]" if call.config else ""}
    metrics = {
        "id": call.id, "organisation_id": org_id, "created_at": created,
        "is_success": not call.failed, "ai_org": call.provider, "ai_model": call.model,
        "req_units": call.prompt_tokens, "res_units": call.completion_tokens,
        "total_units": call.tokens, "cost": round(call.cost, 6), "cost_currency": "USD",
        "request_url": request["url"], "request_method": "POST",
        "response_status_code": call.status, "response_time": call.latency_ms,
        "is_proxy_call": False, "cache_status": call.cache_status,
        "cache_type": "semantic" if call.cache_status == "SEMANTIC HIT" else "simple",
        "retry_success_count": call.retries, "trace_id": call.trace_id, "span_id": call.span_id,
        "mode": "single", "virtual_key": call.virtual_key or "", "config": call.config or "",
        "prompt_slug": call.prompt_slug or "", "workspace_slug": call.workspace,
        "api_key_id": call.api_key_id,
        "metadata.key": list(call.metadata), "metadata.value": list(call.metadata.values()),
        "request_parsing_time": 1, "pre_processing_time": 2, "cache_processing_time": 1,
        "response_parsing_time": 1, "gateway_processing_time": 5,
        "upstream_response_time": max(0, call.latency_ms - 10)}
    return {"_id": call.id, "request": request, "response": response, "organisation_id": org_id,
            "created_at": created, "metrics": metrics}


def get_log(ctx: Ctx) -> Any:
    return log_object(ctx.org.id, _find_call(ctx, ctx.arg("logId")))


_LOG_FIELDS = {"request": need("dict"), "response": need("dict"), "metadata": may("dict")}


def insert_logs(ctx: Ctx) -> Any:
    entries = ctx.body if isinstance(ctx.body, list) else [ctx.obj()]
    if not entries:
        raise invalid("body", "expected a log object or a non-empty array of them")
    for i, entry in enumerate(entries):
        where = f"[{i}]." if isinstance(ctx.body, list) else ""
        if not isinstance(entry, dict):
            raise invalid(f"[{i}]", "expected an object")
        validate(entry, _LOG_FIELDS, where)
        validate(entry["request"], {"url": need("str"), "method": may("str"),
                                    "headers": may("dict"), "body": need("dict")}, f"{where}request.")
        validate(entry["response"], {"status": may("int"), "headers": may("dict"),
                                     "body": need("dict"), "response_time": may("int")},
                 f"{where}response.")
    workspace = ctx.org.default_workspace["slug"]
    calls = [seed.custom_log_call(ctx.org, entry, workspace, "custom") for entry in entries]
    ctx.org.traffic.extend(calls)
    return {"success": True, "data": {"log_ids": [c.id for c in calls]}}


# -- log exports ------------------------------------------------------------------------------

def export_calls(org: Org, row: Record) -> list[Call]:
    """The calls an export's filters select (its workspace unless the filters name one)."""
    ws = org.table("workspaces").find(row["workspace_id"])
    filters = {k: v if isinstance(v, str) else _query_value(v) for k, v in row["filters"].items()
               if k not in ("page_size", "current_page")}
    slug = filters.pop("workspace_slug", None) or (ws["slug"] if ws else None)
    return selection(filters, window_required=False, workspace=slug)(org.traffic)


def _query_value(value: Any) -> str:
    """Export filters arrive as JSON values; analytics filters are query strings."""
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def _check_export(body: dict[str, Any]) -> None:
    for i, name in enumerate(body.get("requested_data") or []):
        if name not in REQUESTED_DATA:
            raise invalid(f"requested_data[{i}]", f"expected one of {', '.join(REQUESTED_DATA)}")


def _build_export(ctx: Ctx, body: dict[str, Any]) -> Record:
    _check_export(body)
    now = ctx.org.stamp()
    row = {"id": ctx.org.ids.uuid(), "organisation_id": ctx.org.id, "filters": body["filters"],
           "requested_data": body["requested_data"], "status": "draft",
           "description": body.get("description") or "", "created_at": now, "last_updated_at": now,
           "created_by": ctx.org.owner_id, "workspace_id": ctx.org.workspace(body.get("workspace_id"))["id"],
           "object": "export"}
    row["_total"] = len(export_calls(ctx.org, row))
    return row


def _export_view(ctx: Ctx, row: Record) -> Record:
    """A started export reports ``in_progress`` once, then ``success``, so pollers see both."""
    if row["status"] == "in_progress":
        row["_polls"] = row.get("_polls", 0) + 1
        if row["_polls"] > 1:
            row["status"], row["last_updated_at"] = "success", ctx.org.stamp()
    return public(row)


def _export_answer(ctx: Ctx, row: Record) -> Record:
    return {"id": row["id"], "total": row["_total"], "object": "export"}


def _update_export(ctx: Ctx, row: Record, body: dict[str, Any]) -> Any:
    _check_export(body)
    if "workspace_id" in body:
        body = {**body, "workspace_id": ctx.org.workspace(body["workspace_id"])["id"]}
    merge(ctx, row, body, ("workspace_id", "filters", "requested_data"))
    row["_total"] = len(export_calls(ctx.org, row))
    return _export_answer(ctx, row)


def _export(ctx: Ctx) -> Record:
    return ctx.org.table("exports").get(ctx.arg("exportId"))


def start_export(ctx: Ctx) -> Any:
    row = _export(ctx)
    if row["status"] == "in_progress":
        raise invalid("exportId", "the export is already running")
    row.update(status="in_progress", _polls=0, last_updated_at=ctx.org.stamp())
    return {"message": "Export started", "object": "export"}


def cancel_export(ctx: Ctx) -> Any:
    row = _export(ctx)
    if row["status"] != "in_progress":
        raise invalid("exportId", f"the export is not running (status: {row['status']})")
    row.update(status="stopped", last_updated_at=ctx.org.stamp())
    return {"message": "Export cancelled", "object": "export"}


def download_export(ctx: Ctx) -> Any:
    row = _export(ctx)
    if row["status"] != "success":
        raise invalid("exportId", f"the export has not finished (status: {row['status']})")
    base = str(ctx.request.base_url).rstrip("/")
    return {"signed_url": f"{base}/_sandbox/portkey/exports/{row['id']}.jsonl"
                          f"?signature={ctx.org.ids.hex(32)}"}


def export_lines(org_id: str, row: Record, calls: list[Call]) -> list[Record]:
    """The rows a finished export's download holds: the requested fields of each call."""
    lines = []
    for call in calls:
        log = log_object(org_id, call)
        metrics = log["metrics"]
        full = {**metrics, "id": call.id, "created_at": log["created_at"],
                "request": log["request"], "response": log["response"],
                "metadata": call.metadata}
        lines.append({name: full.get(name) for name in row["requested_data"]})
    return lines


def field_restrictions(ctx: Ctx) -> Any:
    ws = ctx.org.workspace(ctx.query.get("workspace_id"))
    return {"object": "field-restrictions", "workspace_id": ws["id"], "restricted_fields": [],
            "allowed_fields": list(REQUESTED_DATA)}


EXPORTS = Resource(
    "exports", "/logs/exports", "exportId", ops="LCRU", gated="LCRU", paging=None,
    scope=lambda ctx, rows: [r for r in rows if not ctx.query.get("workspace_id")
                             or r["workspace_id"] == ctx.org.workspace(ctx.query["workspace_id"])["id"]],
    build=_build_export, created=_export_answer, view=_export_view, apply=_update_export,
    fields={"filters": need("dict"), "requested_data": need("list"), "workspace_id": may("str"),
            "description": may("str")},
    update_fields={"filters": may("dict"), "requested_data": may("list"), "workspace_id": may("str")})


# -- feedback ---------------------------------------------------------------------------------

_FEEDBACK = {"value": need("int"), "weight": may("number"), "metadata": may("dict")}


def _check_feedback(body: dict[str, Any]) -> None:
    if not -10 <= body["value"] <= 10:
        raise invalid("value", "must be between -10 and 10")
    if "weight" in body and not 0 <= body["weight"] <= 1:
        raise invalid("weight", "must be between 0 and 1")


def _apply_feedback(ctx: Ctx, row: Record) -> None:
    for call in ctx.org.traffic:
        if call.trace_id == row["trace_id"]:
            call.feedback, call.weight = float(row["value"]), float(row["weight"])


def _feedback_answer(row: Record) -> Record:
    return {"status": "success", "message": "feedback accepted", "feedback_ids": [row["id"]]}


def create_feedback(ctx: Ctx) -> Any:
    body = ctx.obj()
    validate(body, {"trace_id": need("str"), **_FEEDBACK})
    _check_feedback(body)
    row = ctx.org.table("feedback").add({
        "id": ctx.org.ids.uuid(), "trace_id": body["trace_id"], "value": body["value"],
        "weight": body.get("weight", 1.0), "metadata": body.get("metadata") or {},
        "created_at": ctx.org.stamp()})
    _apply_feedback(ctx, row)
    return _feedback_answer(row)


def update_feedback(ctx: Ctx) -> Any:
    row = ctx.org.table("feedback").get(ctx.arg("id"))
    body = ctx.obj()
    validate(body, _FEEDBACK)
    _check_feedback(body)
    row.update({k: body[k] for k in ("value", "weight", "metadata") if k in body})
    _apply_feedback(ctx, row)
    return _feedback_answer(row)


# -- audit logs -------------------------------------------------------------------------------

_AUDIT_FILTERS = ("organisation_id", "method", "uri", "request_id", "user_id", "user_type",
                  "workspace_id", "response_status_code", "resource_type", "action", "client_ip",
                  "country")


def audit_logs(ctx: Ctx) -> Any:
    for name in ("start_time", "end_time", "organisation_id"):
        if not ctx.query.get(name):
            raise invalid(name, "required")
    start, end = (parse_time(ctx.query[name], name) for name in ("start_time", "end_time"))
    rows = [r for r in reversed(ctx.org.audit)
            if start <= parse_time(r["timestamp"], "timestamp") <= end]
    rows = matching(rows, ctx.query, _AUDIT_FILTERS)
    page, _ = page_of(ctx, rows, SNAKE)
    return {"records": page, "total": len(rows), "object": "analytics-graph"}


OPS = [
    *[_graph(name) for name in analytics.GRAPHS],
    Op("GET", "/analytics/summary/cache", _cache_summary, gated=True),
    _group("users"), _group("ai-models"), _group("metadata"),
    Op("GET", "/logs/exports/field-restrictions", field_restrictions, gated=True),
    *EXPORTS.operations(),
    Op("POST", "/logs/exports/{exportId}/start", start_export, gated=True),
    Op("POST", "/logs/exports/{exportId}/cancel", cancel_export, gated=True),
    Op("GET", "/logs/exports/{exportId}/download", download_export, gated=True),
    Op("POST", "/logs", insert_logs, legacy=True),
    Op("GET", "/logs/{logId}", get_log, legacy=True),
    Op("POST", "/feedback", create_feedback, legacy=True),
    Op("PUT", "/feedback/{id}", update_feedback, legacy=True),
    Op("GET", "/audit-logs", audit_logs, gated=True),
]
