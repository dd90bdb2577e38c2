"""routing-gateway's resources (model catalogue, one model, budgets), the cheapest_model prompt and
argument completion, through the MCP client."""

from __future__ import annotations

import json

import pytest
from gatewise.servers.routing_gateway.server import create_server
from mcp import Client, MCPError
from mcp.types import PromptReference, ResourceTemplateReference

from gatewise.caller import CALLER, Caller
from gatewise.config import Settings

MODEL = ResourceTemplateReference(type="ref/resource", uri="gatewise://models/{model_id}")
BUDGETS = ResourceTemplateReference(type="ref/resource", uri="gatewise://budgets{?project}")
PROMPT = PromptReference(type="ref/prompt", name="cheapest_model")


async def read_json(client: Client, uri: str) -> object:
    result = await client.read_resource(uri)
    return json.loads(result.contents[0].text)


async def test_catalogue_and_one_model(settings: Settings) -> None:
    async with Client(create_server(settings)) as client:
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert {"gatewise://models{?input}", "gatewise://models/{model_id}",
                "gatewise://budgets{?project}"} <= templates
        models = await read_json(client, "gatewise://models")
        assert isinstance(models, list) and len(models) > 10
        prices = [m["usd_per_million_in"] * 3 + m["usd_per_million_out"] for m in models]
        assert prices == sorted(prices)  # cheapest first
        seeing = await read_json(client, "gatewise://models?input=image")
        assert seeing and all("image" in m["input"] for m in seeing) and len(seeing) < len(models)
        one = await read_json(client, "gatewise://models/openai%2Fgpt-4o-mini")
        assert one["id"] == "openai/gpt-4o-mini" and one["usd_per_million_in"] > 0
        with pytest.raises(MCPError) as missing:
            await client.read_resource("gatewise://models/nobody%2Fnothing")
        assert "no model" in missing.value.error.message


async def test_budget_status_resource(settings: Settings) -> None:
    async with Client(create_server(settings)) as client:
        await client.call_tool("set_budget", {"scope": "project:support-bot", "limit_usd": 5})
        every = await read_json(client, "gatewise://budgets")
        assert [b["scope"] for b in every] == ["project:support-bot"]
        one = await read_json(client, "gatewise://budgets?project=support-bot")
        assert one[0]["limit_usd"] == 5
        with pytest.raises(MCPError) as bad:
            await client.read_resource("gatewise://budgets?project=no%20spaces")
        assert "budget scope" in bad.value.error.message


async def test_cheapest_model_prompt(settings: Settings) -> None:
    async with Client(create_server(settings)) as client:
        prompt = await client.get_prompt("cheapest_model", {"task": "code_generation"})
        text = prompt.messages[0].content.text
        assert "The cheapest is " in text and "routed_complete" in text
        listed = [line.split("$")[1:] for line in text.splitlines() if line.startswith("- ")]
        blended = [3 * float(i.split(" ")[0]) + float(o.split(" ")[0]) for i, o in listed]
        assert blended and blended == sorted(blended)  # cheapest first, 3:1 input to output
        with pytest.raises(MCPError) as bad:
            await client.get_prompt("cheapest_model", {"task": "juggling"})
        assert "unknown task" in bad.value.error.message


async def test_completion_of_models_projects_and_tasks(settings: Settings) -> None:
    async with Client(create_server(settings)) as client:
        await client.call_tool("set_budget", {"scope": "project:support-bot", "limit_usd": 5})
        models = (await client.complete(MODEL, {"name": "model_id", "value": "openai/gpt-4o"})).completion
        assert models.values and all(v.startswith("openai/gpt-4o") for v in models.values)
        anthropic = (await client.complete(MODEL, {"name": "model_id", "value": "anthropic/"})).completion
        assert len(anthropic.values) <= 100 and anthropic.total >= len(anthropic.values)
        projects = (await client.complete(BUDGETS, {"name": "project", "value": "sup"})).completion
        assert projects.values == ["support-bot"]
        tasks = (await client.complete(PROMPT, {"name": "task", "value": "co"})).completion
        assert tasks.values == ["code_generation"]
        nothing = (await client.complete(PROMPT, {"name": "elsewhere", "value": "x" * 10_000})).completion
        assert nothing.values == []


async def test_projects_the_ledger_billed_complete_too_but_a_bound_caller_sees_only_its_own(
        settings: Settings, upstream) -> None:
    async with Client(create_server(settings)) as client:
        await client.call_tool("set_budget", {"scope": "project:support-bot", "limit_usd": 5})
        for project in ("support-desk", "research"):
            await client.call_tool("routed_complete", {"prompt": "What is 17*23?", "project": project})
        support = (await client.complete(BUDGETS, {"name": "project", "value": "SUP"})).completion
        assert support.values == ["support-bot", "support-desk"]  # budgeted and billed, prefix-filtered
        every = (await client.complete(BUDGETS, {"name": "project", "value": ""})).completion
        assert every.values == ["research", "support-bot", "support-desk"]
        token = CALLER.set(Caller("bot", project="research"))
        try:
            bound = (await client.complete(BUDGETS, {"name": "project", "value": ""})).completion
        finally:
            CALLER.reset(token)
        assert bound.values == ["research"]
