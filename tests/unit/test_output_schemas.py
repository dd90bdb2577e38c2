"""Published output schemas accept exactly the results the server sends (null fields left out),
and cost a client little to check."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from jsonschema import exceptions as schema_errors
from jsonschema.validators import validator_for
from pydantic import BaseModel, Field
from referencing import Registry

from gatewise.gateway import CompletionResult
from gatewise.mcpkit.structured import dump, output_schema

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


def with_nulls(value: Any, schema: dict[str, Any]) -> Any:
    """``value`` with every field it leaves out whose published default is null put back as null:
    what the published schema says an absent field means."""
    if isinstance(value, dict):
        schema = next((b for b in schema.get("anyOf", ()) if "properties" in b), schema)
        out = dict(value)
        for name, field in schema.get("properties", {}).items():
            if name in out:
                out[name] = with_nulls(out[name], field)
            elif "default" in field and field["default"] is None:
                out[name] = None
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [with_nulls(item, schema["items"]) for item in value]
    return value


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    return [without_nulls(v) for v in value] if isinstance(value, list) else value


def test_the_published_schema_accepts_exactly_what_the_server_sends() -> None:
    """What the model's own schema accepts, with its null fields left out as the server sends it,
    is accepted; and what is accepted means, with absent fields read as null, a valid result."""
    assert CompletionResult.model_validate(RESULT)
    full = CompletionResult.model_json_schema()
    published = output_schema(CompletionResult)
    assert "$defs" not in published and "$ref" not in json.dumps(published)
    checked = accepted = widened = 0
    for value in variants(RESULT):
        verdict = is_valid(full, value)
        if verdict:
            sent = dump(CompletionResult.model_validate(value))
            assert is_valid(published, value) and is_valid(published, without_nulls(value)), value
            assert is_valid(published, sent) and sent == without_nulls(sent), value
        if is_valid(published, value):
            assert is_valid(full, with_nulls(value, published)), value
            widened += not verdict
        checked, accepted = checked + 1, accepted + verdict
    assert checked > 500 and 0 < accepted < checked
    assert widened  # finish_reason may be left out: it is null then


class Nested(BaseModel):
    code: str
    size: int | None = None


class Odd(BaseModel):
    level: int | None = None
    tags: list[str] | None = None
    either: int | str | None = None  # three branches: left as they are
    nested: Nested | None = None
    named: str | None = None
    given: str | None  # required, yet null: left out like the others
    scores: dict[str, float | None] = {}  # values are data: their nulls stay


def test_optional_fields_stay_portable_and_keep_their_own_words() -> None:
    """A nullable field stays ``anyOf`` with single-type branches: a ``type`` array is refused by
    clients mapping schemas onto a single-``type`` dialect."""
    full = Odd.model_json_schema()
    before = copy.deepcopy(full)
    published = output_schema(Odd)
    assert full == before  # the model's schema is left as it was
    props = published["properties"]
    assert '"type": [' not in json.dumps(published)
    assert props["level"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert props["nested"]["anyOf"][0]["required"] == ["code"]  # inlined, not a reference
    assert props["either"]["anyOf"] == full["properties"]["either"]["anyOf"]
    assert "required" not in published and props["given"]["default"] is None
    sent = dump(Odd(given=None, nested=Nested(code="a"), scores={"x": None, "y": 1.0}))
    assert sent == {"nested": {"code": "a"}, "scores": {"x": None, "y": 1.0}}
    assert is_valid(published, sent) and not is_valid(full, sent)
    for value in [{}, {"level": None}, {"level": "1"}, {"nested": None}, {"nested": {}},
                  {"nested": {"code": "a"}}, {"nested": {"code": "a", "size": "big"}}, {"tags": [1]},
                  {"either": None}, {"either": []}]:
        assert is_valid(published, value) == is_valid(full, {"given": None, **value}), value


def test_a_field_described_by_the_model_keeps_its_words() -> None:
    class Described(BaseModel):
        named: str | None = Field(None, description="the field's own words")
        found: Nested | None = Field(description="where it was found")

    props = output_schema(Described)["properties"]
    assert props["named"]["description"] == "the field's own words"
    assert props["found"]["description"] == "where it was found" and props["found"]["default"] is None
