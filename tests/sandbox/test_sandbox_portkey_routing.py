"""The sandbox's own reading of Portkey's config semantics, and gatewise's router checked against it.

The sandbox's Portkey gateway plans routes with code written apart from ``gatewise.routing``, so
running one config through both (and one query table through both evaluators) catches a
misreading of the spec on either side.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from gatewise.servers.routing_gateway.server import create_server
from mcp import Client

from gatewise.config import load_settings
from gatewise.routing.portkey_config import parse_portkey_config, routing_context
from gatewise.routing.portkey_query import evaluate_query
from gatewise.upstream.local_sandbox import PORTKEY_KEY
from gatewise_sandbox.portkey.query import ConfigError, matches
from gatewise_sandbox.portkey.routing import Router, Target

GPT, HAIKU, SONNET, MINI = ("openai/gpt-4o", "anthropic/claude-haiku-4.5", "anthropic/claude-sonnet-4.5",
                            "openai/gpt-4o-mini")


def leaf(model: str, **extra: Any) -> dict[str, Any]:
    return {"override_params": {"model": model}, **extra}


def fallback(*targets: dict[str, Any], codes: list[int] | None = None, **extra: Any) -> dict[str, Any]:
    strategy: dict[str, Any] = {"mode": "fallback"}
    if codes is not None:
        strategy["on_status_codes"] = codes
    return {"strategy": strategy, "targets": list(targets), **extra}


def run(config: dict[str, Any], statuses: dict[str, int], context: dict[str, Any] | None = None,
        seed: int = 0) -> tuple[list[str], int, str, int]:
    """(models called in order, final status, model that answered or failed last, retries)."""
    calls: list[str] = []

    def call(target: Target) -> int:
        calls.append(target.model or "")
        return statuses.get(target.model or "", 200)

    outcome = Router(config).route(context or routing_context(), call, random.Random(seed))
    return calls, outcome.status, outcome.target.model or "", outcome.retries


# --- the sandbox's planner on its own -----------------------------------------------------------

CASES = [
    # (config, failing models, expected calls, expected final status)
    (leaf(GPT), {}, [GPT], 200),
    (fallback(leaf(GPT), leaf(HAIKU)), {GPT: 503}, [GPT, HAIKU], 200),
    (fallback(leaf(GPT), leaf(HAIKU)), {GPT: 400}, [GPT, HAIKU], 200),  # no codes: any non-2xx
    (fallback(leaf(GPT), leaf(HAIKU), codes=[429]), {GPT: 503}, [GPT], 503),
    (fallback(leaf(GPT, on_status_codes=[503]), leaf(HAIKU), codes=[429]), {GPT: 503}, [GPT, HAIKU], 200),
    (fallback(leaf(GPT), leaf(HAIKU)), {GPT: 500, HAIKU: 502}, [GPT, HAIKU], 502),
    # A nested group hands its last status to the outer group, judged by the outer codes.
    (fallback(fallback(leaf(GPT), leaf(HAIKU)), leaf(SONNET), codes=[500]), {GPT: 503, HAIKU: 500},
     [GPT, HAIKU, SONNET], 200),
    (fallback(fallback(leaf(GPT), leaf(HAIKU)), leaf(SONNET), codes=[500]), {GPT: 500, HAIKU: 503},
     [GPT, HAIKU], 503),
    ({"strategy": {"mode": "single"}, "targets": [leaf(GPT), leaf(HAIKU)]}, {GPT: 503}, [GPT], 503),
    ({"strategy": {"mode": "loadbalance"}, "targets": [leaf(GPT, weight=0), leaf(HAIKU)]}, {}, [HAIKU], 200),
    # Retries repeat a target on its retry codes, inherited unless a child sets its own.
    (fallback(leaf(GPT), leaf(HAIKU), retry={"attempts": 2}), {GPT: 429}, [GPT, GPT, GPT, HAIKU], 200),
    (fallback(leaf(GPT), leaf(HAIKU), retry={"attempts": 2}), {GPT: 400}, [GPT, HAIKU], 200),
    (fallback(leaf(GPT, retry={"attempts": 1, "on_status_codes": [503]}), leaf(HAIKU),
              retry={"attempts": 3}), {GPT: 503}, [GPT, GPT, HAIKU], 200),
    (leaf(GPT, retry={"attempts": 9}), {GPT: 500}, [GPT] * 6, 500),  # at most 5 retries
]


@pytest.mark.parametrize(("config", "failing", "calls", "status"), CASES)
def test_planner(config: dict, failing: dict, calls: list[str], status: int) -> None:
    seen, final, _, _ = run(config, failing)
    assert (seen, final) == (calls, status)


def test_override_params_merge_parent_to_child_and_leaves_are_numbered_in_document_order() -> None:
    config = {"strategy": {"mode": "fallback"}, "override_params": {"temperature": 0.1, "max_tokens": 9},
              "targets": [leaf(GPT), {"strategy": {"mode": "single"}, "override_params": {"max_tokens": 5},
                                      "targets": [{"override_params": {"model": HAIKU, "top_p": 1}}]}]}
    seen: list[Target] = []

    def call(target: Target) -> int:
        seen.append(target)
        return 503 if target.model == GPT else 200

    Router(config).route(routing_context(), call, random.Random(0))
    assert [(t.index, t.model) for t in seen] == [(0, GPT), (1, HAIKU)]
    assert seen[1].params == {"temperature": 0.1, "max_tokens": 5, "top_p": 1}


def test_conditional_routes_on_metadata_params_and_default() -> None:
    config = {"strategy": {"mode": "conditional", "default": "cheap", "conditions": [
        {"query": {"metadata.tier": {"$eq": "free"}}, "then": "cheap"},
        {"query": {"$or": [{"params.max_tokens": {"$gt": 4000}}, {"metadata.task": {"$in": ["code"]}}]},
         "then": "strong"}]},
        "targets": [leaf(MINI, name="cheap"), leaf(SONNET, name="strong")]}
    assert run(config, {}, routing_context({"tier": "free", "task": "code"}))[0] == [MINI]
    assert run(config, {}, routing_context({}, {"max_tokens": 5000}))[0] == [SONNET]
    assert run(config, {}, routing_context({"task": "code"}))[0] == [SONNET]
    assert run(config, {}, routing_context({"tier": "pro"}))[0] == [MINI]
    del config["strategy"]["default"]
    with pytest.raises(ConfigError, match="no condition matched"):
        run(config, {}, routing_context({"tier": "pro"}))


def test_loadbalance_splits_by_relative_weight() -> None:
    config = {"strategy": {"mode": "loadbalance"}, "targets": [
        leaf(GPT, weight=5), leaf(HAIKU, weight=3), leaf(SONNET, weight=1), leaf(MINI, weight=0)]}
    router, rng = Router(config), random.Random(7)
    picks = Counter(router.route(routing_context(), lambda t: 200, rng).target.model for _ in range(9000))
    assert MINI not in picks
    for model, weight in ((GPT, 5), (HAIKU, 3), (SONNET, 1)):
        assert picks[model] / 9000 == pytest.approx(weight / 9, abs=0.02)


@pytest.mark.parametrize(("config", "fragment"), [
    ({"strategy": {"mode": "roundrobin"}, "targets": [leaf(GPT)]}, "config.strategy.mode: must be one of"),
    ({"strategy": {"mode": "fallback"}}, "config.targets: a strategy needs"),
    ({"targets": [leaf(GPT)]}, "config.targets: needs a strategy"),
    (fallback(leaf(GPT), "gpt-4o"), "config.targets[1]: must be an object"),
    ({"strategy": {"mode": "loadbalance"}, "targets": [leaf(GPT, weight=0)]}, "every weight is 0"),
    (fallback(leaf(GPT, weight=-1)), "targets[0].weight"),
    (leaf(GPT, retry={"attempts": "3"}), "config.retry.attempts"),
    (fallback(leaf(GPT), codes=["503"]), "strategy.on_status_codes"),
    ({"override_params": {"model": 4}}, "config.override_params"),
    ({"strategy": {"mode": "conditional", "conditions": [{"query": {}, "then": "b"}]},
      "targets": [leaf(GPT, name="a")]}, "conditions[0].then: names no target"),
    ({"strategy": {"mode": "conditional", "default": "b", "conditions": [{"query": {}, "then": "a"}]},
      "targets": [leaf(GPT, name="a")]}, "strategy.default: names no target"),
])
def test_malformed_configs_are_refused(config: dict, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Router(config)
    assert fragment in str(caught.value)


# --- one query table, two evaluators -----------------------------------------------------------

QUERIES = [
    ({"metadata.tier": {"$eq": "free"}}, {"tier": "free"}, {}),
    ({"metadata.tier": {"$eq": "free"}}, {"tier": "Free"}, {}),
    ({"metadata.tier": {"$ne": "free"}}, {}, {}),
    ({"params.max_tokens": {"$gt": 100}}, {}, {"max_tokens": 100}),
    ({"params.max_tokens": {"$gte": 100}}, {}, {"max_tokens": 100}),
    ({"params.max_tokens": {"$lt": 100}}, {}, {"max_tokens": 99.5}),
    ({"params.max_tokens": {"$lte": 100}}, {}, {"max_tokens": 101}),
    ({"metadata.x": {"$gt": 4000}}, {"x": "4001"}, {}),
    ({"metadata.x": {"$gt": 10}}, {"x": "12abc"}, {}),
    ({"metadata.x": {"$gt": "6.5"}}, {"x": " 7"}, {}),
    ({"metadata.x": {"$gt": 999}}, {"x": "1e3"}, {}),
    ({"metadata.x": {"$gt": -1}}, {"x": "abc"}, {}),
    ({"metadata.x": {"$gt": 0}}, {"x": True}, {}),
    ({"metadata.x": {"$gt": -1}}, {"x": None}, {}),
    ({"metadata.x": {"$gt": 0}}, {}, {}),
    ({"metadata.task": {"$in": ["code", "math"]}}, {"task": "math"}, {}),
    ({"metadata.task": {"$in": ["code"]}}, {}, {}),
    ({"metadata.task": {"$nin": ["code", "math"]}}, {"task": "chat"}, {}),
    ({"metadata.task": {"$nin": ["code", "math"]}}, {"task": "code"}, {}),
    ({"params.model": {"$regex": "^gpt-4"}}, {}, {"model": "gpt-4o"}),
    ({"params.model": {"$regex": "^GPT"}}, {}, {"model": "gpt-4o"}),
    ({"params.model": {"$regex": "gpt-(4"}}, {}, {"model": "gpt-(4"}),
    ({"params.max_tokens": {"$regex": "^40"}}, {}, {"max_tokens": 4000}),
    ({"metadata.tier": "free", "params.stream": True}, {"tier": "free"}, {"stream": False}),
    ({"params.stream": True}, {}, {"stream": 1}),
    ({"params.user": None}, {}, {}),
    ({"params.user": None}, {}, {"user": None}),
    ({"params.max_tokens": {"$gt": 10, "$lt": 20}}, {}, {"max_tokens": 15}),
    ({"$or": [{"$and": [{"metadata.tier": "pro"}, {"params.max_tokens": {"$gte": 1000}}]},
              {"metadata.team": "ml"}]}, {"tier": "pro"}, {"max_tokens": 999}),
    ({"$or": [{"metadata.a": "1"}], "metadata.b": "2"}, {"a": "1", "b": "3"}, {}),
    ({"$and": []}, {}, {}),
    ({"$or": []}, {}, {}),
    ({}, {}, {}),
    pytest.param({"metadata.x": {"$gt": 0}}, {"x": [5]}, {}, marks=pytest.mark.xfail(
        strict=True, reason="parseFloat([5]) is 5 in JavaScript; gatewise treats an array as NaN")),
]


@pytest.mark.parametrize(("query", "metadata", "params"), QUERIES)
def test_both_evaluators_agree(query: dict, metadata: dict, params: dict) -> None:
    context = routing_context(metadata, params)
    assert evaluate_query(query, context) is matches(query, context)


def test_operators_the_reference_does_not_document_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown operator '\\$length'"):
        matches({"params.messages": {"$length": 2}}, routing_context({}, {"messages": [{}, {}]}))


# --- one config, two routers, end to end against the sandbox --------------------------------------

END_TO_END = [
    # (config, faults as model → status, metadata)
    (fallback(leaf("gpt-4o", provider="openai"), leaf(SONNET), codes=[503], retry={"attempts": 1}),
     {GPT: 503}, {}),
    (fallback(leaf("gpt-4o", provider="openai"), leaf(SONNET), codes=[429]), {GPT: 503}, {}),
    (fallback(fallback(leaf(GPT), leaf(HAIKU)), leaf(SONNET), codes=[500]), {GPT: 503, HAIKU: 500}, {}),
    (fallback(leaf(GPT, on_status_codes=[503]), leaf(HAIKU), codes=[429]), {GPT: 503}, {}),
    ({"strategy": {"mode": "conditional", "default": "cheap", "conditions": [
        {"query": {"metadata.tier": {"$eq": "free"}}, "then": "cheap"},
        {"query": {"metadata.team": {"$in": ["ml", "infra"]}}, "then": "strong"}]},
      "targets": [leaf(MINI, name="cheap"), leaf(SONNET, name="strong")]}, {}, {"team": "ml"}),
    ({"strategy": {"mode": "loadbalance"}, "targets": [leaf(GPT, weight=0), leaf(HAIKU, weight=2)]}, {}, {}),
]


@pytest.mark.parametrize(("config", "faults", "metadata"), END_TO_END)
async def test_gatewise_routes_a_config_as_the_sandbox_gateway_does(
        tmp_path: Path, sandbox, upstream, config: dict, faults: dict, metadata: dict) -> None:
    parse_portkey_config(config)  # both sides accept it

    def with_faults() -> None:
        upstream.reset()
        for model, status in faults.items():
            upstream.fault(model, error_rate=1.0, statuses=[status])

    with_faults()
    settings = load_settings({}, data_dir=tmp_path, sandbox_url=sandbox.url, routing={"config": config},
                             limits={"backoff_base_s": 0.001})
    async with Client(create_server(settings)) as client:
        result = await client.call_tool("routed_complete", {"prompt": "hello there", "metadata": metadata})
    ours = None if result.is_error else result.structured_content["model"]
    our_calls = {m: s["requests"] for m, s in upstream.stats()["models"].items()}

    with_faults()
    reply = httpx.post(sandbox.root_url + "/v1/chat/completions", timeout=10, json={
        "model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}]},
        headers={"x-portkey-api-key": PORTKEY_KEY, "x-portkey-config": json.dumps(config),
                 "x-portkey-metadata": json.dumps(metadata)})
    theirs = reply.json()["model"] if reply.is_success else None
    their_calls = {m: s["requests"] for m, s in upstream.stats()["models"].items()}
    assert (ours, our_calls) == (theirs, their_calls)

