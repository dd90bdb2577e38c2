"""Portkey gateway configs: loading, conditional queries, and the per-request attempt plan."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest

from gatewise.errors import ErrorCode, GatewiseError
from gatewise.routing.portkey_config import (
    DEFAULT_RETRY_ON,
    next_attempt_index,
    openrouter_model_id,
    parse_portkey_config,
    plan_targets,
    routing_context,
    should_retry,
    status_moves_on,
)
from gatewise.routing.portkey_query import evaluate_query

# The examples of the Portkey reference, as a user would paste them.
FALLBACK_EXAMPLE = """
{"strategy": {"mode": "fallback", "on_status_codes": [429, 500, 502, 503, 408]},
 "request_timeout": 10000, "retry": {"attempts": 3},
 "targets": [{"provider": "openai", "api_key": "sk-openai-0123456789abcdef",
              "override_params": {"model": "gpt-4o"}},
             {"provider": "openrouter", "api_key": "sk-or-v1-0123456789abcdef",
              "override_params": {"model": "anthropic/claude-sonnet-4"}}]}
"""
CONDITIONAL_EXAMPLE: dict[str, Any] = {
    "strategy": {
        "mode": "conditional",
        "conditions": [
            {"query": {"metadata.tier": {"$eq": "free"}}, "then": "cheap"},
            {"query": {"$or": [{"params.max_tokens": {"$gt": 4000}},
                               {"metadata.task": {"$in": ["code", "math"]}}]}, "then": "strong"},
        ],
        "default": "cheap",
    },
    "targets": [{"name": "cheap", "provider": "openrouter", "api_key": "sk-or-cheap-0123456789"},
                {"name": "strong", "provider": "openai", "api_key": "sk-strong-0123456789"}],
}


def plan(config: dict[str, Any] | str, context: dict[str, Any] | None = None, seed: int = 0):
    return plan_targets(parse_portkey_config(config), context, random.Random(seed))


def config_error(config: dict[str, Any] | str) -> str:
    with pytest.raises(GatewiseError) as caught:
        parse_portkey_config(config)
    assert caught.value.code is ErrorCode.CONFIG_ERROR
    message = caught.value.message
    assert "\n" not in message and message.startswith("invalid Portkey config")
    return message


def matches(query: dict[str, Any], *, metadata: dict[str, Any] | None = None,
            params: dict[str, Any] | None = None, pathname: str = "/v1/chat/completions") -> bool:
    """Load the query inside a conditional config (so it is validated) and evaluate it."""
    parse_portkey_config({"strategy": {"mode": "conditional", "conditions": [{"query": query, "then": "a"}],
                                       "default": "a"}, "targets": [{"name": "a"}]})
    return evaluate_query(query, routing_context(metadata, params, pathname))


# --- the reference's examples --------------------------------------------------------------


def test_fallback_example_plans_both_targets_with_inherited_retry_and_timeout() -> None:
    config = parse_portkey_config(FALLBACK_EXAMPLE)
    first, second = plan_targets(config)
    assert (first.model, second.model) == ("openai/gpt-4o", "anthropic/claude-sonnet-4")
    assert (first.path, second.path) == ("targets[0]", "targets[1]")
    assert (first.reason, second.reason) == ("fallback #1", "fallback #2")
    for attempt in (first, second):
        assert attempt.retry_attempts == 3 and attempt.retry_on == DEFAULT_RETRY_ON
        assert attempt.timeout_ms == 10000 and attempt.override_params == {}
        assert attempt.fallback_on == frozenset({429, 500, 502, 503, 408})
    assert status_moves_on(first, 503) and status_moves_on(first, None)
    assert not status_moves_on(first, 400) and not status_moves_on(first, 200)
    assert not status_moves_on(second, 503)  # nothing left
    assert [n.split(":")[0] for n in config.notes] == ["targets[0].api_key", "targets[1].api_key"]


@pytest.mark.parametrize(("metadata", "params", "expected"), [
    ({"tier": "free", "task": "code"}, {}, ("cheap", "conditional: matched condition 1 → 'cheap'")),
    ({"tier": "pro"}, {"max_tokens": 5000}, ("strong", "conditional: matched condition 2 → 'strong'")),
    ({"task": "math"}, {"max_tokens": 10}, ("strong", "conditional: matched condition 2 → 'strong'")),
    ({"tier": "pro"}, {"max_tokens": 4000}, ("cheap", "conditional: no condition matched → default 'cheap'")),
])
def test_conditional_example(metadata: dict, params: dict, expected: tuple[str, str]) -> None:
    (attempt,) = plan(CONDITIONAL_EXAMPLE, routing_context(metadata, params))
    assert (attempt.name, attempt.reason) == expected
    assert attempt.model is None  # neither target names a model: the request's model is used
    assert attempt.path == ("targets[0]" if expected[0] == "cheap" else "targets[1]")


# --- conditional queries -------------------------------------------------------------------


@pytest.mark.parametrize(("query", "metadata", "params", "expected"), [
    ({"metadata.tier": {"$eq": "free"}}, {"tier": "free"}, {}, True),
    ({"metadata.tier": {"$eq": "free"}}, {"tier": "Free"}, {}, False),
    ({"metadata.tier": {"$ne": "free"}}, {"tier": "pro"}, {}, True),
    ({"metadata.tier": {"$ne": "free"}}, {}, {}, True),  # a missing key is "not equal"
    ({"params.max_tokens": {"$gt": 100}}, {}, {"max_tokens": 101}, True),
    ({"params.max_tokens": {"$gt": 100}}, {}, {"max_tokens": 100}, False),
    ({"params.max_tokens": {"$gte": 100}}, {}, {"max_tokens": 100}, True),
    ({"params.max_tokens": {"$lt": 100}}, {}, {"max_tokens": 99.5}, True),
    ({"params.max_tokens": {"$lte": 100}}, {}, {"max_tokens": 101}, False),
    ({"metadata.task": {"$in": ["code", "math"]}}, {"task": "math"}, {}, True),
    ({"metadata.task": {"$in": ["code", "math"]}}, {"task": "chat"}, {}, False),
    ({"metadata.task": {"$in": ["code"]}}, {}, {}, False),
    ({"metadata.task": {"$nin": ["code", "math"]}}, {"task": "chat"}, {}, True),
    ({"metadata.task": {"$nin": ["code", "math"]}}, {"task": "code"}, {}, False),
    ({"params.model": {"$regex": "^gpt-4"}}, {}, {"model": "gpt-4o"}, True),
    ({"params.model": {"$regex": "^GPT"}}, {}, {"model": "gpt-4o"}, False),  # case-sensitive
    ({"params.model": {"$regex": "claude"}}, {}, {"model": "anthropic/claude-sonnet-4"}, True),
    ({"params.max_tokens": {"$regex": "^40"}}, {}, {"max_tokens": 4000}, True),  # numbers as text
    ({"params.messages": {"$length": 2}}, {}, {"messages": [{}, {}]}, True),
    ({"params.messages": {"$length": {"$gt": 2}}}, {}, {"messages": [{}, {}]}, False),
    ({"metadata.tier": "free"}, {"tier": "free"}, {}, True),  # a bare value is equality
    ({"metadata.tier": "free", "params.stream": True}, {"tier": "free"}, {"stream": True}, True),
    ({"metadata.tier": "free", "params.stream": True}, {"tier": "free"}, {"stream": False}, False),
    ({"params.stream": True}, {}, {"stream": 1}, False),  # true is not 1
    ({"params.user": None}, {}, {}, False),  # a missing key is not null
    ({"params.user": None}, {}, {"user": None}, True),
    ({"params.max_tokens": {"$gt": 10, "$lt": 20}}, {}, {"max_tokens": 15}, True),
    ({"params.max_tokens": {"$gt": 10, "$lt": 20}}, {}, {"max_tokens": 25}, False),
    ({}, {}, {}, True),
])
def test_operators(query: dict, metadata: dict, params: dict, expected: bool) -> None:
    assert matches(query, metadata=metadata, params=params) is expected


def test_url_pathname() -> None:
    assert matches({"url.pathname": {"$regex": "/embeddings$"}}, pathname="/v1/embeddings")
    assert not matches({"url.pathname": "/v1/embeddings"})


def test_nested_and_or() -> None:
    query = {"$or": [
        {"$and": [{"metadata.tier": "pro"}, {"params.max_tokens": {"$gte": 1000}}]},
        {"$and": [{"metadata.tier": "enterprise"}, {"$or": [{"metadata.team": "ml"},
                                                            {"metadata.team": "infra"}]}]},
    ]}
    assert matches(query, metadata={"tier": "pro"}, params={"max_tokens": 1000})
    assert not matches(query, metadata={"tier": "pro"}, params={"max_tokens": 999})
    assert matches(query, metadata={"tier": "enterprise", "team": "infra"})
    assert not matches(query, metadata={"tier": "enterprise", "team": "sales"})
    assert matches({"$and": []}) and not matches({"$or": []})
    # $or is ANDed with its sibling keys rather than deciding alone.
    assert not matches({"$or": [{"metadata.a": "1"}], "metadata.b": "2"}, metadata={"a": "1", "b": "3"})


@pytest.mark.parametrize(("actual", "bound", "expected"), [
    ("4001", 4000, True),  # metadata values are strings
    ("12abc", 10, True),  # parseFloat reads the numeric prefix
    (" 7", "6.5", True),
    ("1e3", 999, True),
    ("abc", -1, False),  # not a number: every comparison is false
    ("", -1, False),
    (True, 0, False),
    ([5], 0, False),
    (None, -1, False),
])
def test_numeric_parsing(actual: Any, bound: Any, expected: bool) -> None:
    assert matches({"metadata.x": {"$gt": bound}}, metadata={"x": actual}) is expected
    assert not matches({"metadata.x": {"$gt": 0}})  # missing


def test_invalid_regex_is_false_and_noted() -> None:
    query = {"params.model": {"$regex": "gpt-(4"}}
    assert not matches(query, params={"model": "gpt-(4"})
    config = parse_portkey_config({"strategy": {"mode": "conditional", "default": "a",
                                                "conditions": [{"query": query, "then": "a"}]},
                                   "targets": [{"name": "a"}]})
    assert any("$regex: invalid pattern" in note for note in config.notes)


@pytest.mark.parametrize(("query", "fragment"), [
    ({"metadata.task": {"$in": "code"}}, "query.metadata.task.$in: needs an array, got a string"),
    ({"metadata.task": {"$nin": 3}}, "$nin: needs an array"),
    ({"metadata.task": {"$like": "c%"}}, "unknown operator '$like'"),
    ({"$not": [{"metadata.a": "1"}]}, "unknown operator '$not'"),
    ({"$or": [{"metadata.a": {"$exists": True}}]}, "query.$or[0].metadata.a: unknown operator '$exists'"),
    ({"$or": {"metadata.a": "1"}}, "$or: needs an array of queries"),
    ({"metadata.a.b": "1"}, "key 'metadata.a.b' must be"),
    ({"tier": "free"}, "key 'tier' must be"),
    ({"headers.x": "1"}, "key 'headers.x' must be"),
    ({"url.host": "x"}, "key 'url.host' must be"),
    ({"params.max_tokens": {"$gt": "lots"}}, "$gt: needs a number"),
    ({"params.model": {"$regex": 5}}, "$regex: needs a pattern string"),
    ({"params.messages": {"$length": "2"}}, "$length: needs an integer"),
    ({"metadata.task": ["code", "math"]}, "a bare array is not a value"),
])
def test_malformed_queries_fail_at_load(query: dict, fragment: str) -> None:
    message = config_error({"strategy": {"mode": "conditional", "default": "a",
                                         "conditions": [{"query": {"metadata.x": "1"}, "then": "a"},
                                                        {"query": query, "then": "a"}]},
                            "targets": [{"name": "a"}]})
    assert "at strategy.conditions[1].query" in message
    assert fragment in message


def test_conditional_without_default_fails_only_for_unmatched_requests() -> None:
    raw = {**CONDITIONAL_EXAMPLE, "strategy": {**CONDITIONAL_EXAMPLE["strategy"], "default": None}}
    config = parse_portkey_config(raw)
    assert any("no 'default'" in note for note in config.notes)
    (attempt,) = plan_targets(config, routing_context({"tier": "free"}))
    assert attempt.name == "cheap"
    with pytest.raises(GatewiseError) as caught:
        plan_targets(config, routing_context({"tier": "pro"}))
    assert caught.value.code is ErrorCode.CONFIG_ERROR and "no 'default'" in caught.value.message


# --- load balancing ------------------------------------------------------------------------


def test_weights_split_traffic_in_proportion() -> None:
    config = parse_portkey_config({"strategy": {"mode": "loadbalance"}, "targets": [
        {"name": "five", "weight": 5, "override_params": {"model": "openai/gpt-4o"}},
        {"name": "three", "weight": 3, "override_params": {"model": "anthropic/claude-sonnet-4"}},
        {"name": "one", "weight": 1, "override_params": {"model": "google/gemini-2.5-pro"}},
        {"name": "off", "weight": 0, "override_params": {"model": "openai/gpt-4o-mini"}},
    ]})
    rng = random.Random(20260521)
    picks = Counter()
    for _ in range(9000):
        (attempt,) = plan_targets(config, None, rng)
        picks[attempt.name] += 1
    assert picks["off"] == 0
    for name, share in (("five", 5 / 9), ("three", 3 / 9), ("one", 1 / 9)):
        assert abs(picks[name] / 9000 - share) <= 0.02, (name, picks)
    (attempt,) = plan_targets(config, None, random.Random(1))
    assert attempt.reason == f"loadbalance pick (weight {dict(five=5, three=3, one=1)[attempt.name]} of 9)"


def test_weight_zero_is_never_picked_and_all_zero_is_an_error() -> None:
    config = parse_portkey_config({"strategy": {"mode": "loadbalance"}, "targets": [
        {"name": "off", "weight": 0}, {"name": "on", "weight": 0.01}, {"name": "off2", "weight": 0}]})
    assert {plan_targets(config, None, random.Random(seed))[0].name for seed in range(500)} == {"on"}
    message = config_error({"strategy": {"mode": "loadbalance"}, "targets": [{"weight": 0}]})
    assert "every loadbalance target has weight 0" in message
    assert "greater than or equal to 0" in config_error(
        {"strategy": {"mode": "loadbalance"}, "targets": [{"weight": -1}]})


def test_nested_fallback_inside_loadbalance() -> None:
    raw = {"strategy": {"mode": "loadbalance"}, "targets": [
        {"weight": 1, "override_params": {"model": "openai/gpt-4o-mini"}},
        {"weight": 3, "strategy": {"mode": "fallback", "on_status_codes": [429, 503]}, "targets": [
            {"provider": "anthropic", "override_params": {"model": "claude-sonnet-4"}},
            {"provider": "google", "override_params": {"model": "gemini-2.5-pro"}},
        ]},
    ]}
    config = parse_portkey_config(raw)
    plans = [plan_targets(config, None, random.Random(seed)) for seed in range(200)]
    nested = next(p for p in plans if len(p) == 2)
    single = next(p for p in plans if len(p) == 1)
    assert [a.model for a in nested] == ["anthropic/claude-sonnet-4", "google/gemini-2.5-pro"]
    assert [a.path for a in nested] == ["targets[1].targets[0]", "targets[1].targets[1]"]
    assert nested[0].reason == "loadbalance pick (weight 3 of 4); fallback #1"
    assert nested[1].reason == "loadbalance pick (weight 3 of 4); fallback #2"
    assert nested[0].fallback_on == frozenset({429, 503})
    assert next_attempt_index(nested[0], 429) == 1 and next_attempt_index(nested[0], 500) is None
    assert single[0].model == "openai/gpt-4o-mini" and not status_moves_on(single[0], 500)


# --- fallback semantics --------------------------------------------------------------------


def nested_fallback(outer_codes: list[int] | None) -> list:
    strategy: dict[str, Any] = {"mode": "fallback"}
    if outer_codes is not None:
        strategy["on_status_codes"] = outer_codes
    return plan({"strategy": strategy, "targets": [
        {"strategy": {"mode": "fallback", "on_status_codes": [429]}, "targets": [
            {"override_params": {"model": "a/one"}}, {"override_params": {"model": "a/two"}}]},
        {"override_params": {"model": "b/three"}},
    ]})


def test_nested_fallback_groups_hand_their_failure_outward() -> None:
    first, second, third = nested_fallback(None)
    assert [a.model for a in (first, second, third)] == ["a/one", "a/two", "b/three"]
    assert next_attempt_index(first, 429) == 1  # inner group moves on
    assert next_attempt_index(first, 500) == 2  # inner group gives up; outer moves on
    assert next_attempt_index(second, 500) == 2
    assert next_attempt_index(second, 429) == 2
    assert next_attempt_index(third, 500) is None
    assert next_attempt_index(first, 200) is None
    first, _, _ = nested_fallback([503])
    assert next_attempt_index(first, 500) is None  # the outer group does not fall back on 500
    assert next_attempt_index(first, 503) == 2


def test_target_level_on_status_codes_override_the_groups() -> None:
    first, second, _ = plan({"strategy": {"mode": "fallback"}, "targets": [
        {"on_status_codes": [429], "override_params": {"model": "a/one"}},
        {"override_params": {"model": "a/two"}},
        {"override_params": {"model": "a/three"}},
    ]})
    assert first.fallback_on == frozenset({429}) and second.fallback_on is None
    assert not status_moves_on(first, 500) and status_moves_on(second, 500)


def test_no_answer_counts_as_408_or_503() -> None:
    def first_attempt(codes: list[int] | None, retry: dict[str, Any] | None = None):
        strategy: dict[str, Any] = {"mode": "fallback"}
        if codes is not None:
            strategy["on_status_codes"] = codes
        raw: dict[str, Any] = {"strategy": strategy, "targets": [{}, {}]}
        if retry:
            raw["retry"] = retry
        return plan(raw)[0]

    assert status_moves_on(first_attempt(None), None)
    assert status_moves_on(first_attempt([408]), None)
    assert status_moves_on(first_attempt([503]), None)
    assert not status_moves_on(first_attempt([429, 500]), None)
    assert should_retry(first_attempt(None, {"attempts": 2}), None)  # default codes include 503
    assert not should_retry(first_attempt(None, {"attempts": 2, "on_status_codes": [429]}), None)
    assert not should_retry(first_attempt(None), 429)  # no retry configured


def test_single_takes_the_first_target_and_a_bare_config_is_one_leaf() -> None:
    (attempt,) = plan({"strategy": {"mode": "single"}, "targets": [
        {"provider": "anthropic", "override_params": {"model": "claude-sonnet-4"}},
        {"provider": "openai", "override_params": {"model": "gpt-4o"}}]})
    assert (attempt.model, attempt.path, attempt.reason) == (
        "anthropic/claude-sonnet-4", "targets[0]", "single: first target")
    (attempt,) = plan({"provider": "openai", "api_key": "sk-top-0123456789",
                       "override_params": {"model": "gpt-4o-mini", "temperature": 0}})
    assert (attempt.model, attempt.path) == ("openai/gpt-4o-mini", "")
    assert attempt.reason == "the config's only target"
    assert attempt.override_params == {"temperature": 0} and attempt.fallback_steps == ()


# --- inheritance ---------------------------------------------------------------------------


def test_override_params_merge_parent_to_child() -> None:
    raw = {"override_params": {"model": "openai/gpt-4o", "temperature": 0.1, "max_tokens": 100},
           "strategy": {"mode": "fallback"}, "targets": [
               {"override_params": {"temperature": 0.5},
                "strategy": {"mode": "single"}, "targets": [
                    {"override_params": {"model": "anthropic/claude-sonnet-4", "top_p": 0.9}}]},
               {}]}
    config = parse_portkey_config(raw)
    deep, plain = plan_targets(config)
    assert deep.model == "anthropic/claude-sonnet-4"
    assert deep.override_params == {"temperature": 0.5, "max_tokens": 100, "top_p": 0.9}
    assert plain.model == "openai/gpt-4o"
    assert plain.override_params == {"temperature": 0.1, "max_tokens": 100}
    deep.override_params["temperature"] = 2  # the plan is a copy; the config is untouched
    assert plan_targets(config)[0].override_params["temperature"] == 0.5


def test_request_timeout_and_retry_pass_down_unless_overridden() -> None:
    attempts = plan({
        "request_timeout": 5000, "retry": {"attempts": 2, "use_retry_after_headers": True},
        "strategy": {"mode": "fallback"}, "targets": [
            {},
            {"request_timeout": 800, "retry": {"attempts": 1, "on_status_codes": [429]}},
            {"strategy": {"mode": "fallback"}, "request_timeout": 2000, "targets": [
                {}, {"retry": {"attempts": 4, "use_retry_after_header": True}}]},
        ]})
    assert [a.timeout_ms for a in attempts] == [5000, 800, 2000, 2000]
    assert [a.retry_attempts for a in attempts] == [2, 1, 2, 4]
    assert [a.use_retry_after for a in attempts] == [True, False, True, True]
    assert attempts[0].retry_on == DEFAULT_RETRY_ON and attempts[1].retry_on == frozenset({429})
    assert should_retry(attempts[1], 429) and not should_retry(attempts[1], 503)
    assert attempts[3].fallback_steps[0].next_index is None
    assert attempts[2].fallback_steps[1].next_index is None  # nested group is the outer's last


def test_retry_attempts_are_capped_at_five() -> None:
    config = parse_portkey_config({"retry": {"attempts": 9}, "strategy": {"mode": "single"},
                                   "targets": [{"retry": {"attempts": 7}}]})
    assert plan_targets(config)[0].retry_attempts == 5
    assert "retry.attempts: 9 capped at 5" in config.notes
    assert "targets[0].retry.attempts: 7 capped at 5" in config.notes
    assert "retry.attempts" in config_error({"retry": {"on_status_codes": [429]}})


# --- provider and model mapping ------------------------------------------------------------


@pytest.mark.parametrize(("provider", "model", "expected"), [
    ("openai", "gpt-4o", "openai/gpt-4o"),
    ("anthropic", "claude-sonnet-4", "anthropic/claude-sonnet-4"),
    ("google", "gemini-2.5-pro", "google/gemini-2.5-pro"),
    ("vertex-ai", "gemini-2.5-flash", "google/gemini-2.5-flash"),
    ("gemini", "gemini-2.5-flash", "google/gemini-2.5-flash"),
    ("mistral-ai", "mistral-large", "mistralai/mistral-large"),
    ("meta", "llama-3.3-70b-instruct", "meta-llama/llama-3.3-70b-instruct"),
    ("deepseek", "deepseek-chat", "deepseek/deepseek-chat"),
    ("x-ai", "grok-4", "x-ai/grok-4"),
    ("xai", "grok-4", "x-ai/grok-4"),
    ("cohere", "command-r-plus", "cohere/command-r-plus"),
    ("perplexity-ai", "sonar", "perplexity/sonar"),
    ("@openai", "gpt-4o", "openai/gpt-4o"),
    ("openrouter", "openrouter/auto", "openrouter/auto"),
    ("openrouter", "gpt-4o", "gpt-4o"),
    ("groq", "meta-llama/llama-3.3-70b-instruct", "meta-llama/llama-3.3-70b-instruct"),
    ("bedrock", "anthropic/claude-sonnet-4", "anthropic/claude-sonnet-4"),
    (None, "gpt-4o", "gpt-4o"),
    ("openai", None, None),
])
def test_model_mapping(provider: str | None, model: str | None, expected: str | None) -> None:
    assert openrouter_model_id(provider, model) == expected
    leaf: dict[str, Any] = {"provider": provider} if provider else {}
    if model:
        leaf["override_params"] = {"model": model}
    assert plan(leaf)[0].model == expected


@pytest.mark.parametrize(("provider", "fragment"), [
    ("groq", "hosts many vendors' models"),
    ("together-ai", "hosts many vendors' models"),
    ("fireworks-ai", "hosts many vendors' models"),
    ("bedrock", "has no OpenRouter equivalent"),
    ("@my-team-openai", "has no OpenRouter equivalent"),
])
def test_unmappable_models_fail_at_load(provider: str, fragment: str) -> None:
    message = config_error({"override_params": {"model": "llama-3.3-70b"}, "strategy": {"mode": "fallback"},
                            "targets": [{"provider": "openai"}, {"provider": provider}]})
    assert message.startswith("invalid Portkey config at targets[1]: ")
    assert fragment in message and "'<vendor>/<model>'" in message


def test_model_must_be_a_string() -> None:
    assert "override_params.model: must be a string" in config_error({"override_params": {"model": 4}})


# --- load errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "fragment"), [
    ({"strategy": {"mode": "round-robin"}, "targets": [{}]},
     "at strategy.mode: Input should be 'single', 'fallback', 'loadbalance' or 'conditional'"),
    ({"strategy": {"mode": "fallback"}}, "at strategy: mode 'fallback' needs a non-empty 'targets' list"),
    ({"strategy": {"mode": "single"}, "targets": []}, "needs a non-empty 'targets' list"),
    ({"strategy": {"mode": "fallback"}, "targets": [{"strategy": {"mode": "bogus"}, "targets": [{}]}]},
     "at targets[0].strategy.mode: Input should be"),
    ({"targets": [{}]}, "'targets' needs a 'strategy'"),
    ({"strategy": {"mode": "conditional", "conditions": [{"query": {}, "then": "nope"}]},
      "targets": [{"name": "a"}, {"name": "b"}]},
     "at strategy.conditions[0].then: names no target: 'nope' (targets: 'a', 'b')"),
    ({"strategy": {"mode": "conditional", "conditions": [{"query": {}, "then": "a"}], "default": "z"},
      "targets": [{"name": "a"}]}, "at strategy.default: names no target: 'z'"),
    ({"strategy": {"mode": "conditional", "default": "a"}, "targets": [{"name": "a"}]},
     "needs a non-empty 'conditions' list"),
    ({"strategy": {"mode": "conditional", "conditions": [{"query": {"metadata.x": {"$foo": 1}},
                                                          "then": "a"}]}, "targets": [{"name": "a"}]},
     "unknown operator '$foo'"),
    ({"strategy": {"mode": "fallback"}, "targets": [{"name": "a"}, {"name": "a"}]},
     "target name 'a' is used more than once"),
    ({"mode": "fallback", "options": [{}]}, "at mode: Portkey's old config format"),
    ({"stratgy": {"mode": "fallback"}}, "at stratgy: unknown field (did you mean 'strategy'?)"),
    ({"retry": {"attempts": 2, "backoff": "linear"}}, "at retry.backoff: Extra inputs are not permitted"),
    ({"strategy": {"mode": "fallback", "on_status_codes": [42]}, "targets": [{}]},
     "at strategy.on_status_codes[0]: Input should be greater than or equal to 100"),
    ({"request_timeout": 0}, "at request_timeout: Input should be greater than 0"),
    ([{"provider": "openai"}], "Input should be a valid dictionary"),
    ("{not json", "not valid JSON"),
])
def test_load_errors_are_one_line(raw: Any, fragment: str) -> None:
    assert fragment in config_error(raw)


def test_deep_nesting_is_refused() -> None:
    raw: dict[str, Any] = {}
    for _ in range(12):
        raw = {"strategy": {"mode": "single"}, "targets": [raw]}
    assert "nested more than 10 levels deep" in config_error(raw)


# --- secrets and ignored fields ------------------------------------------------------------

SECRETS = ("sk-top-secret-0123456789", "vk-virtual-0123456789", "AKIA0123456789SECRET",
           "aws-secret-0123456789", "entra-secret-0123456789", "vertex-private-key-0123456789",
           "unknown-token-0123456789")


def test_secrets_do_not_survive_parsing() -> None:
    raw = {
        "api_key": SECRETS[0], "cache": {"mode": "semantic", "max_age": 60},
        "strategy": {"mode": "loadbalance", "sticky": {"enabled": True, "hash_fields": ["metadata.user"]}},
        "targets": [
            {"provider": "openai", "virtual_key": SECRETS[1], "override_params": {"model": "gpt-4o"},
             "input_guardrails": ["pg-123"], "cb_config": {"failure_threshold": 3}},
            {"provider": "bedrock", "aws_access_key_id": SECRETS[2], "aws_secret_access_key": SECRETS[3],
             "azure_entra_client_secret": SECRETS[4],
             "vertex_service_account_json": {"private_key": SECRETS[5]},
             "custom_host": "http://10.0.0.1", "some_future_field": SECRETS[6],
             "override_params": {"model": "anthropic/claude-sonnet-4"}},
        ],
    }
    config = parse_portkey_config(json.dumps(raw))
    plans = [plan_targets(config, None, random.Random(seed)) for seed in range(20)]
    text = repr(config) + repr(plans) + repr(config.root.model_dump())
    for secret in SECRETS:
        assert secret not in text
    fields = {note.split(":")[0] for note in config.notes}
    assert fields >= {"api_key", "cache", "strategy.sticky", "targets[0].virtual_key",
                      "targets[0].input_guardrails", "targets[0].cb_config", "targets[1].aws_access_key_id",
                      "targets[1].aws_secret_access_key", "targets[1].azure_entra_client_secret",
                      "targets[1].vertex_service_account_json", "targets[1].custom_host",
                      "targets[1].some_future_field"}
    assert raw["api_key"] == SECRETS[0]  # the caller's object is not modified


def test_validation_errors_do_not_echo_values() -> None:
    message = config_error({"api_key": SECRETS[0], "weight": SECRETS[6]})
    assert "at weight:" in message and SECRETS[6] not in message and SECRETS[0] not in message
