"""The route table: every Admin API operation under ``/v1``, the public pricing path, a Portkey
shaped 404 for anything else under ``/v1``, and the ``/_sandbox/portkey`` views for tests."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gatewise_sandbox.portkey import actions, gateway, observability
from gatewise_sandbox.portkey.engine import Ctx, Op, endpoint
from gatewise_sandbox.portkey.errors import AdminError
from gatewise_sandbox.portkey.resources import RESOURCES
from gatewise_sandbox.portkey.state import PortkeyState
from gatewise_sandbox.portkey.store import iso
from gatewise_sandbox.wire import json_response

PREFIX = "/v1"
PRICING_ROOT = "/model-configs/pricing/{provider}/{model:path}"  # its own server in the spec
UNKNOWN = PREFIX + "/{rest:path}"
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def operations() -> list[Op]:
    """Every operation, literal path segments before parameters so `/prompts/partials` is never
    read as a prompt id (Starlette takes the first route that matches)."""
    ops = [op for resource in RESOURCES for op in resource.operations()]
    ops += actions.OPS + observability.OPS
    return sorted(ops, key=lambda op: [part.startswith("{") for part in op.path.split("/")])


def _unknown(ctx: Ctx) -> None:
    raise AdminError("AB08", f"No such endpoint: {ctx.request.method} {ctx.request.url.path[:200]}")


def routes() -> list[BaseRoute]:
    table: list[BaseRoute] = [Route(PREFIX + op.path, endpoint(op), methods=[op.method])
                              for op in operations()]
    pricing = next(op for op in actions.OPS if op.handler is actions.model_pricing)
    table.append(Route(PRICING_ROOT, endpoint(pricing), methods=["GET"]))
    table.append(Route(PREFIX + "/chat/completions", gateway.chat_completions, methods=["POST"]))
    table.append(Route(UNKNOWN, endpoint(Op("ANY", "/{rest:path}", _unknown)), methods=ALL_METHODS))
    table += [Route("/_sandbox/portkey", summary, methods=["GET"]),
              Route("/_sandbox/portkey/last-request", last_request, methods=["GET"]),
              Route("/_sandbox/portkey/exports/{export_id}.jsonl", export_download, methods=["GET"])]
    return table


def _state(request: Request) -> PortkeyState:
    state: PortkeyState = request.app.state.sandbox.portkey
    return state


async def summary(request: Request) -> Response:
    """What a test needs to address the seeded organisation: ids, slugs, counts, traffic span."""
    org = _state(request).org
    workspaces = [{"id": w["id"], "slug": w["slug"], "name": w["name"]}
                  for w in org.table("workspaces").all()]
    return json_response({
        "organisation_id": org.id, "default_workspace": workspaces[0] if workspaces else None,
        "workspaces": workspaces, "counts": {name: len(t.rows) for name, t in org.tables.items()},
        "traffic": {"requests": len(org.traffic),
                    "from": iso(org.traffic[0].at) if org.traffic else None,
                    "to": iso(org.traffic[-1].at) if org.traffic else None},
        "keys": {"header": "x-portkey-api-key", "workspace_key_prefix": "pk-ws-",
                 "rejected_key_prefix": "pk-bad", "any_other_key": "organisation admin"}})


async def last_request(request: Request) -> Response:
    """``?path=/v1/analytics/graphs/cost`` (``/v1`` optional): the last request seen there."""
    state = _state(request)
    raw = request.query_params.get("path")
    if not raw:
        return json_response({"paths": state.paths()})
    path = urlsplit(raw).path or raw
    if not path.startswith((PREFIX + "/", "/model-configs/")):
        path = PREFIX + "/" + path.lstrip("/")
    entry = state.last(path)
    if entry is None:
        return json_response({"error": f"no request recorded for {path[:200]}"}, 404)
    return json_response(entry)


async def export_download(request: Request) -> Response:
    """The file a finished export's ``signed_url`` points at: one JSON object per line."""
    org = _state(request).org
    row = org.table("exports").find(request.path_params["export_id"])
    if row is None or row["status"] != "success":
        return json_response({"error": "no finished export with this id"}, 404)
    lines = observability.export_lines(org.id, row, observability.export_calls(org, row))
    body = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    return Response(body, media_type="application/x-ndjson")
