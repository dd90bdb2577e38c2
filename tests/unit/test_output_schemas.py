"""Lean output schemas accept exactly what the models' own schemas accept, for less checking."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from jsonschema import exceptions as schema_errors
from jsonschema.validators import validator_for
from pydantic import BaseModel
from referencing import Registry

from gatewise.gateway import CompletionResult
from gatewise.mcpkit.inline_schema import lean_output_schema

# A routed_complete result with every optional part filled, so each nested schema is entered.
RESULT: dict[str, Any] = {
    "answer": "Paris [1]", "model": "openai/gpt-5-nano", "provider": "openrouter",
    "route": {"task": "simple_query", "complexity": 0.5, "language": "en", "modalities": ["text"],
              "needs_web": True, "web_search": True, "est_tokens_in": 9, "reason": "tier table",
              "candidates": ["openai/gpt-5-nano", "google/gemini-2.5-flash-lite"],
              "skipped": [{"model": "x/y", "reason": "over max_cost_usd"}],
              "conversation": {"user_turns": 2, "established_task": "math", "inherited_task": True,
                               "hardest_turns_ago": 1, "has_code": False, "has_math": True,
                               "sticky_source": "history", "sticky": "kept"}},
    "attempts": [{"model": "x/y", "provider": "openrouter", "status": "error", "latency_ms": 3.5,
                  "error_code": "UPSTREAM_ERROR", "error": "boom"},
                 {"model": "openai/gpt-5-nano", "provider": "openrouter", "status": "ok", "latency_ms": 9.0}],
    "fallback_used": True, "tokens_in": 9, "tokens_out": 3, "cost_usd": 0.0001, "latency_ms": 12.5,
    "finish_reason": "stop", "cache_status": "hit_semantic",
    "semantic_match": {"question": "capital of France?", "similarity": 0.93, "age_s": 4.0},
    "citations": [{"number": 1, "url": "https://x.example", "title": "X", "snippet": "Paris is",
                   "position": 6, "spans": [{"start": 0, "end": 5}]}],
    "request_id": "abc", "warnings": ["w"], "grounding_score": 0.8,
}
REPLACEMENTS: list[Any] = [None, "text", 3, 2.5, True, [], {}, ["text"], "math", "bypass"]


def is_valid(schema: dict[str, Any], value: Any) -> bool:
    """The check the MCP client runs on every structured result."""
    validator = validator_for(schema)(schema, registry=Registry())
    return schema_errors.best_match(validator.iter_errors(value)) is None


def variants(value: Any) -> Iterator[Any]:
    """``value`` with each of its parts replaced by values of other types, or removed."""
    yield value
    if isinstance(value, dict):
        for key in value:
            for part in variants(value[key]):
                yield {**value, key: part}
            yield {k: v for k, v in value.items() if k != key}
    elif isinstance(value, list) and value:
        for part in variants(value[0]):
            yield [part, *value[1:]]
    else:
        yield from REPLACEMENTS


def test_the_lean_schema_accepts_exactly_what_the_models_schema_accepts() -> None:
    assert CompletionResult.model_validate(RESULT)
    full = CompletionResult.model_json_schema(mode="serialization")
    lean = lean_output_schema(full)
    assert "$defs" not in lean and "$ref" not in json.dumps(lean)
    checked = accepted = 0
    for value in variants(RESULT):
        verdict = is_valid(full, value)
        assert is_valid(lean, value) == verdict, value
        checked, accepted = checked + 1, accepted + verdict
    assert checked > 500 and 0 < accepted < checked


class Nested(BaseModel):
    code: str
    size: int | None = None


class Odd(BaseModel):
    level: int | None = None
    tags: list[str] | None = None
    either: int | str | None = None  # three branches: left as they are
    nested: Nested | None = None
    named: str | None = None


def test_optional_fields_stay_portable_and_keep_their_own_words() -> None:
    """A nullable field stays ``anyOf`` with single-type branches: a ``type`` array is refused by
    clients mapping schemas onto a single-``type`` dialect."""
    full = Odd.model_json_schema(mode="serialization")
    full["properties"]["named"]["description"] = "the field's own words"
    before = copy.deepcopy(full)
    lean = lean_output_schema(full)
    assert full == before  # the model's schema is left as it was
    props = lean["properties"]
    assert '"type": [' not in json.dumps(lean)
    assert props["level"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert props["nested"]["anyOf"][0]["required"] == ["code"]  # inlined, not a reference
    assert props["named"]["description"] == "the field's own words"
    assert props["either"]["anyOf"] == full["properties"]["either"]["anyOf"]
    for value in [{}, {"level": None}, {"level": "1"}, {"nested": None}, {"nested": {}},
                  {"nested": {"code": "a"}}, {"nested": {"code": "a", "size": "big"}}, {"tags": [1]},
                  {"either": None}, {"either": []}]:
        assert is_valid(lean, value) == is_valid(full, value), value
