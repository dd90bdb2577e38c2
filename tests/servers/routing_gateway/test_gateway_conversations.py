"""Conversation-aware routing through a real MCP client: follow-ups, stickiness, failover, input."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from gatewise.catalog import Catalog
from gatewise.routing.policy import tier_of

CATALOG = Catalog.snapshot()
HARD_CODE = ("Implement a lock-free multi-producer single-consumer queue in C++ with std::atomic, "
             "explain the memory orderings you chose, and write unit tests for it.")
HAIKU = "Write a haiku about autumn rain"
SUMMARY = "Summarize the plot of Hamlet in two sentences"


def tier(model: str) -> str:
    info = CATALOG.get(model)
    assert info is not None, model
    return tier_of(info)


async def call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    out = result.structured_content
    assert out is not None
    return out


def turns(*pairs: tuple[str, str], last: str) -> list[dict[str, str]]:
    messages = []
    for user, assistant in pairs:
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return [*messages, {"role": "user", "content": last}]


async def test_a_hard_coding_conversations_follow_up_stays_on_the_strong_model(connect, upstream) -> None:
    async with connect() as client:
        first = await call(client, "routed_complete", {"prompt": HARD_CODE})
        assert tier(first["model"]) == "premium"
        for follow_up in ("why?", "Now make it handle unicode"):
            messages = turns((HARD_CODE, first["answer"]), last=follow_up)
            out = await call(client, "routed_complete", {"messages": messages})
            assert out["model"] == first["model"]
            route = out["route"]
            assert route["task"] == "code_generation"
            # which turn set the difficulty is not this test's concern
            assert {k: v for k, v in route["conversation"].items() if k != "hardest_turns_ago"} == {
                "user_turns": 2, "established_task": "code_generation", "inherited_task": True,
                "has_code": True, "has_math": False, "sticky_source": "history",
                "sticky": f"kept {first['model']}, which answered this conversation's last turn"}


async def test_a_conversation_id_keeps_the_model_where_fresh_routing_would_move(connect, upstream) -> None:
    async with connect() as client:
        fresh = await call(client, "explain_route", {"prompt": SUMMARY})
        assert tier(fresh["candidates"][0]) == "economy"
        first = await call(client, "routed_complete", {"prompt": HAIKU, "conversation_id": "chat-1"})
        assert tier(first["model"]) == "standard"
        assert first["route"]["conversation"]["sticky_source"] == "conversation_id"

        plan = await call(client, "explain_route", {"prompt": SUMMARY, "conversation_id": "chat-1"})
        assert plan["candidates"][0] == first["model"]
        assert plan["reason"].startswith("answered this conversation's last turn (was ")
        assert plan["conversation"]["sticky"] == (
            f"kept {first['model']}, which answered this conversation's last turn")
        other = await call(client, "explain_route", {"prompt": SUMMARY, "conversation_id": "chat-2"})
        assert other["candidates"][0] == fresh["candidates"][0]
        assert other["conversation"].get("sticky") is None

        forced = await call(client, "explain_route", {"prompt": SUMMARY, "conversation_id": "chat-1",
                                                      "model": "openai/gpt-4o-mini"})
        assert forced["candidates"][0] == "openai/gpt-4o-mini"  # the caller asked otherwise


async def test_without_an_id_the_earlier_turns_name_the_conversation(connect, upstream) -> None:
    async with connect() as client:
        first = await call(client, "routed_complete", {"prompt": HAIKU})
        same = turns((HAIKU, "any reply: only user turns are hashed"), last=SUMMARY)
        plan = await call(client, "explain_route", {"messages": same})
        assert plan["candidates"][0] == first["model"]
        assert plan["conversation"]["sticky_source"] == "history"
        different = turns(("Write a limerick about a cat", "..."), last=SUMMARY)
        plan = await call(client, "explain_route", {"messages": different})
        assert tier(plan["candidates"][0]) == "economy" and plan["conversation"].get("sticky") is None


async def test_a_failing_sticky_model_falls_back_and_the_conversation_moves(connect, upstream) -> None:
    async with connect() as client:
        first = await call(client, "routed_complete", {"prompt": HAIKU, "conversation_id": "c-9"})
        upstream.fault(first["model"], error_rate=1.0, statuses=[503])
        second = await call(client, "routed_complete", {"prompt": SUMMARY, "conversation_id": "c-9"})
        assert second["attempts"][0]["model"] == first["model"]
        assert second["fallback_used"] and second["model"] != first["model"]
        upstream.reset()
        plan = await call(client, "explain_route", {"prompt": SUMMARY, "conversation_id": "c-9"})
        assert plan["candidates"][0] == second["model"]
        assert plan["conversation"]["sticky"].startswith(f"kept {second['model']}")


async def test_a_conversation_moves_up_a_tier_but_not_down(connect, upstream) -> None:
    async with connect() as client:
        first = await call(client, "routed_complete", {"prompt": "hello there", "conversation_id": "up"})
        assert tier(first["model"]) == "economy"
        harder = await call(client, "routed_complete", {"prompt": HARD_CODE, "conversation_id": "up"})
        assert tier(harder["model"]) == "premium"
        assert harder["route"]["conversation"]["sticky"] == (
            f"moved from {first['model']}: this turn needs the premium tier")
        easy = await call(client, "explain_route", {"prompt": "thanks!", "conversation_id": "up"})
        assert easy["candidates"][0] == harder["model"]


@pytest.mark.parametrize("tool", ["routed_complete", "explain_route"])
@pytest.mark.parametrize("bad", ["", "has space", "-leading-dash", "x" * 129, "naïve", "a/b"])
async def test_a_bad_conversation_id_is_refused_clearly(connect, upstream, tool: str, bad: str) -> None:
    async with connect() as client:
        result = await client.call_tool(tool, {"prompt": "hi", "conversation_id": bad})
    assert result.is_error
    text = result.content[0].text
    assert text.startswith(f"Error executing tool {tool}: INVALID_INPUT: conversation_id"), text
    assert "Hint:" in text
    assert upstream.stats()["totals"]["requests"] == 0


@pytest.mark.parametrize("proof", [
    "Beweise, dass es unendlich viele Primzahlen gibt.",
    "Démontrez qu'il existe une infinité de nombres premiers.",
    "证明：对于所有正整数n，n^3 - n 能被6整除。",
])
async def test_a_proof_in_another_language_stays_on_the_premium_tier(connect, upstream, proof: str) -> None:
    async with connect() as client:
        plan = await call(client, "explain_route", {"prompt": proof})
        answered = await call(client, "routed_complete", {"prompt": proof})
    assert plan["task"] == "math" and plan["complexity"] >= 0.7
    assert tier(plan["candidates"][0]) == "premium" and tier(answered["model"]) == "premium"
    assert "(non-routine wording)" in answered["route"]["reason"]
