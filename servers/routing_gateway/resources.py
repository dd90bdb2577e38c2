"""routing-gateway's resources, prompt and argument completion.

Resources a client can attach without calling a tool: the model catalogue, one model, and the
budgets. Each is owned by the tools whose data it shows (see :mod:`gatewise.mcpkit.grants`): the
catalogue and the prompt by ``routed_complete`` and ``explain_route``, the budgets by
``get_budget_status``. The ``cheapest_model`` prompt answers "which model is cheapest for this kind of
request" from the routing table the gateway itself would use. Completion offers model ids,
projects (those with a budget and those the ledger billed lately; only its own to a caller
bound to a project) and task names as they are typed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from mcp import MCPError
from mcp.server.mcpserver import Context
from mcp.types import INVALID_PARAMS, CompleteRequestParams, PromptReference, ResourceTemplateReference
from pydantic import TypeAdapter

from gatewise.caller import CALLER, budget_scope
from gatewise.catalog import ModelInfo
from gatewise.config import TaskType
from gatewise.errors import GatewiseError, quoted
from gatewise.gateway import CompletionRequest, RoutingGateway
from gatewise.ledger.budget_store import BudgetStatus
from gatewise.mcpkit.completion import add_completion
from gatewise.mcpkit.server import GatewiseServer

# Projects offered from the ledger: those billed in this window, the costliest this many.
BILLED_WINDOW_S = 90 * 86_400
MAX_BILLED = 1000
BILLED_FRESH_S = 30.0  # completion asks on every keystroke: the ledger is read at most this often

MODELS = "gatewise://models{?input}"
MODEL = "gatewise://models/{model_id}"
BUDGETS = "gatewise://budgets{?project}"
PER_MILLION = 1_000_000
BUDGET_LIST = TypeAdapter(list[BudgetStatus])


class BilledProjects:
    """The projects the ledger billed lately (one grouped query over the window, kept for
    BILLED_FRESH_S), so projects without a budget complete too."""

    def __init__(self) -> None:
        self._read_at = -BILLED_FRESH_S
        self._projects: list[str] = []

    async def __call__(self, gateway: RoutingGateway) -> list[str]:
        if time.monotonic() - self._read_at >= BILLED_FRESH_S:
            since = time.time() - BILLED_WINDOW_S
            rows = await gateway.runtime.ledger.summary(since=since, group_by="project")
            self._projects = [row.key for row in rows[:MAX_BILLED] if row.key]
            self._read_at = time.monotonic()
        return self._projects


def model_entry(info: ModelInfo) -> dict[str, Any]:
    return {"id": info.id, "context_length": info.context_length,
            "usd_per_million_in": round(info.prompt_price * PER_MILLION, 6),
            "usd_per_million_out": round(info.completion_price * PER_MILLION, 6),
            "input": list(info.input_modalities), "output": list(info.output_modalities),
            "tools": info.supports_tools}


def _task(name: str) -> TaskType:
    try:
        return TaskType(name.strip().lower())
    except ValueError:
        known = ", ".join(t.value for t in TaskType)
        raise MCPError(code=INVALID_PARAMS, message=f"unknown task {quoted(name)}; one of: {known}") from None


def add_resources(server: GatewiseServer[RoutingGateway]) -> None:
    from .server import ToolName  # which imports this module

    routing = (ToolName.ROUTED_COMPLETE, ToolName.EXPLAIN_ROUTE)
    for uri in (MODELS, MODEL):
        server.ownership.resource(uri, *routing)
    server.ownership.resource(BUDGETS, ToolName.GET_BUDGET_STATUS)
    server.ownership.prompt("cheapest_model", *routing)

    @server.resource(MODELS, name="model_catalogue", mime_type="application/json",
                     description="Every model the gateway can route to, cheapest first, with prices "
                                 "in USD per million tokens; ?input=image keeps those that take images.")
    async def catalogue(ctx: Context[RoutingGateway], input: str = "") -> str:
        models = ctx.request_context.lifespan_context.catalog.models.values()
        chosen = [m for m in models if not input or m.supports(input)]
        return json.dumps([model_entry(m) for m in sorted(chosen, key=lambda m: (m.blended_price, m.id))])

    @server.resource(MODEL, name="model", mime_type="application/json",
                     description="One catalogue model: prices, context length, modalities.")
    async def model(model_id: str, ctx: Context[RoutingGateway]) -> str:
        catalog = ctx.request_context.lifespan_context.catalog
        info = catalog.get(catalog.resolve(model_id) or model_id)
        if info is None:
            raise MCPError(code=INVALID_PARAMS, message=f"no model {quoted(model_id)} in the catalogue")
        return json.dumps(model_entry(info))

    @server.resource(BUDGETS, name="budget_status", mime_type="application/json",
                     description="Every budget with its limit, spend, holds and what remains; "
                                 "?project=<tag> for one project's.")
    async def budgets(ctx: Context[RoutingGateway], project: str = "") -> str:
        store = ctx.request_context.lifespan_context.runtime.budgets
        try:
            found = await store.status(budget_scope(f"project:{project}" if project else None))
        except GatewiseError as exc:
            raise MCPError(code=INVALID_PARAMS, message=exc.message) from None
        return BUDGET_LIST.dump_json(found).decode()

    @server.prompt(name="cheapest_model", title="Cheapest model for a task",
                   description="Which models the gateway would use for a kind of request, cheapest "
                               "first, and how to call it. task: one of the routing tasks (completion "
                               "offers them); request: an example of the request, optional.")
    async def cheapest_model(task: str, ctx: Context[RoutingGateway], request: str = "") -> str:
        gateway = ctx.request_context.lifespan_context
        kind = _task(task)
        example = request[:2000] or f"A {kind.value} request"
        route = gateway.explain(CompletionRequest(prompt=example, task=kind))
        priced = [(info.blended_price, info) for name in route.candidates or ()  # explain gives them all
                  if (info := gateway.catalog.get(name)) is not None]
        lines = [f"- {info.id}: ${info.prompt_price * PER_MILLION:.4g} in / "
                 f"${info.completion_price * PER_MILLION:.4g} out per million tokens"
                 for _, info in sorted(priced, key=lambda pair: pair[0])]
        cheapest = min(priced, key=lambda pair: pair[0])[1].id if priced else None
        return "\n".join([
            f"For {kind.value} requests the gateway would try, in price order:", *lines, "",
            f"The cheapest is {cheapest}. " if cheapest else "",
            f"Call routed_complete with task '{kind.value}'"
            + (f" and model '{cheapest}' to pin it" if cheapest else "") + "; fallbacks still apply."])

    billed = BilledProjects()

    async def complete(gateway: RoutingGateway, params: CompleteRequestParams) -> Iterable[str]:
        ref, name = params.ref, params.argument.name
        if isinstance(ref, ResourceTemplateReference) and ref.uri == MODEL and name == "model_id":
            return list(gateway.catalog.models)
        if isinstance(ref, ResourceTemplateReference) and ref.uri == MODELS and name == "input":
            return {m for info in gateway.catalog.models.values() for m in info.input_modalities}
        if isinstance(ref, ResourceTemplateReference) and ref.uri == BUDGETS and name == "project":
            own = CALLER.get()
            if own is not None and own.project is not None:  # bound to one: it may see no other
                return [own.project]
            scopes = [b.scope for b in await gateway.runtime.budgets.status(None)]
            return [*(s.removeprefix("project:") for s in scopes if s.startswith("project:")),
                    *await billed(gateway)]
        if isinstance(ref, PromptReference) and ref.name == "cheapest_model" and name == "task":
            return [t.value for t in TaskType]
        return []

    add_completion(server, complete)
