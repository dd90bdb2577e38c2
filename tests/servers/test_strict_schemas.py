"""Input schemas that strict function calling takes (no open object, no bare $ref), and the
strict shapes working end to end: metadata as {key, value} pairs, objects as JSON text, while the
objects callers sent before still work."""

from __future__ import annotations

import json
from typing import Any

from gatewise.servers.openrouter_multimodal.server import create_server as multimodal_server
from gatewise.servers.portkey_admin.server import create_server as portkey_server
from gatewise.servers.routing_gateway.server import create_server as gateway_server
from mcp import Client

from gatewise.config import Settings
from gatewise.mcpkit.inline_schema import inline_input_schema
from repo_paths import CONTRACTS
from tool_support import call, error_text


def open_objects(node: Any, path: str = "") -> list[str]:
    """Where a schema allows keys it does not name (every object says additionalProperties: false,
    as strict mode needs), or points at a definition."""
    found = []
    if isinstance(node, dict):
        if "$ref" in node:
            found.append(f"{path} ($ref)")
        if node.get("type") == "object" and node.get("additionalProperties") is not False:
            found.append(path)
        found += [p for key, value in node.items() for p in open_objects(value, f"{path}/{key}")]
    elif isinstance(node, list):
        found += [p for i, value in enumerate(node) for p in open_objects(value, f"{path}[{i}]")]
    return found


def test_no_published_input_schema_leaves_an_object_open() -> None:
    for path in CONTRACTS.glob("*_tools.json"):
        for name, tool in json.loads(path.read_text()).items():
            assert open_objects(tool["inputSchema"]) == [], f"{path.name}: {name}"


def test_inlining_keeps_recursive_definitions_and_field_descriptions() -> None:
    schema = {"type": "object", "properties": {
        "a": {"$ref": "#/$defs/A", "description": "the field's own words"},
        "tree": {"$ref": "#/$defs/Tree"}},
        "$defs": {"A": {"type": "object", "description": "A's words", "additionalProperties": False,
                        "properties": {"x": {"type": "string"}}},
                  "Tree": {"type": "object", "additionalProperties": False,
                           "properties": {"child": {"$ref": "#/$defs/Tree"}}}}}
    out = inline_input_schema(schema)
    assert out["properties"]["a"]["description"] == "the field's own words"
    assert out["properties"]["a"]["properties"] == {"x": {"type": "string"}}
    assert out["properties"]["tree"]["properties"]["child"] == {"$ref": "#/$defs/Tree"}
    assert "$defs" in out  # still needed by the recursive reference
    assert inline_input_schema({"type": "object", "properties": {}})["additionalProperties"] is False
    assert "$defs" in schema  # the tool's own schema is not changed


async def test_routed_complete_takes_metadata_as_pairs_or_as_an_object(settings: Settings) -> None:
    async with Client(gateway_server(settings)) as client:
        for metadata in ([{"key": "team", "value": "qa"}], {"team": "qa"}):
            result = await call(client, "routed_complete", {"prompt": "What is 6*7?", "metadata": metadata})
            assert "42" in result["answer"]
        twice = await error_text(client, "routed_complete", {
            "prompt": "hi", "metadata": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]})
        assert "INVALID_INPUT" in twice and "twice" in twice
        loose = await error_text(client, "routed_complete", {
            "prompt": "hi", "metadata": [{"key": "a", "value": "1", "extra": "x"}]})
        assert "INVALID_INPUT" in loose
        for key in ({"__proto__": 1}, ["a"], 7):  # no key a map can hold: a clear error, no fault
            odd = await error_text(client, "routed_complete", {
                "prompt": "hi", "metadata": [{"key": key, "value": "1"}]})
            assert "INVALID_INPUT" in odd and "key must be a string" in odd
        parts = [json.dumps({"type": "text", "text": "What is 6*7?"})]
        result = await call(client, "routed_complete", {"messages": [{"role": "user", "content": parts}]})
        assert "42" in result["answer"]


async def test_chat_completion_takes_messages_as_json_text_or_objects(settings: Settings) -> None:
    message = {"role": "user", "content": "What is 6*7?"}
    async with Client(multimodal_server(settings)) as client:
        for messages in ([json.dumps(message)], [message]):
            result = await call(client, "chat_completion",
                                {"model": "openai/gpt-5-nano", "messages": messages})
            assert "42" in json.dumps(result)
        bad = await error_text(client, "chat_completion", {"model": "openai/gpt-5-nano",
                                                           "messages": ['{"role": "user", "content": ']})
        assert "INVALID_INPUT" in bad and "JSON" in bad


async def test_portkey_objects_as_json_text_reach_the_validator(settings: Settings) -> None:
    config = {"strategy": {"mode": "fallbak"}, "targets": [{"provider": "x"}]}
    async with Client(portkey_server(settings)) as client:
        for given in (json.dumps(config), config):
            checked = await call(client, "manage_configs", {"action": "validate", "config": given})
            assert checked["item"]["errors"][0].startswith("strategy.mode"), checked
