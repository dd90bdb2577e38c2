"""portkey-admin against a hostile Admin API (tests/hostile_upstream.py, admin mode "answer"):
secrets inside JSON text and under unusual names, broken Unicode, unusable figures, answers of
the wrong shape, a Retry-After on a final error, capped listings and a write that times out."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult
from portkey_support import fails, ok
from pydantic import SecretStr

from gatewise.config import Settings, load_settings
from gatewise.portkey.errors import ADMIN_MAX_RETRY_AFTER_S, admin_error
from gatewise.portkey.masking import mask_secrets
from hostile_upstream import HostileUpstream

ADMIN_KEY = "pk-Hx7mT2vKp9LwR4zNc8YbH3sJd6Fg"
GEMINI_KEY = "AIzaSyD4qv9XkLmN0pQrStUvWxYz1234567890ab"  # no prefix the key-shape scrubber knows
OTHER_ADMIN_KEY = "pk-other-admin-KEY9876543210"


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileUpstream]:
    with HostileUpstream() as server:
        yield server


@pytest.fixture
def admin_api(hostile: HostileUpstream, settings: Settings) -> Settings:
    """Settings whose Admin API is the hostile upstream, answering ``{}`` until told otherwise."""
    hostile.admin_mode = "answer"
    hostile.admin_answer = (200, "{}", {})
    hostile.admin_calls.clear()
    return settings.model_copy(update={"portkey_api_key": SecretStr(ADMIN_KEY),
                                       "portkey_base_url": hostile.root_url + "/v1"})


def answer(hostile: HostileUpstream, body: Any, *, status: int = 200, headers: dict[str, str] | None = None
           ) -> None:
    hostile.admin_answer = (status, body if isinstance(body, str) else json.dumps(body), headers or {})


def strict_json(text: str) -> Any:
    """``text`` parsed as JSON proper: NaN and Infinity are refused."""
    def refuse(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


async def result(client: Client, tool: str, **args: Any) -> CallToolResult:
    out = await client.call_tool(tool, args)
    assert not out.is_error, out.content[0].text  # type: ignore[union-attr]
    return out


# --- secrets: inside JSON text, and under names other than the top-level `key` -------------------


async def test_secrets_inside_json_text_and_nested_fields_are_masked(connect, admin_api, hostile) -> None:
    audit = {"timestamp": "2026-12-07T10:00:00Z", "method": "POST", "uri": "/v1/virtual-keys",
             "request_body": json.dumps({"name": "gem", "provider": "google", "key": GEMINI_KEY}),
             "request_headers": json.dumps({"x-portkey-api-key": OTHER_ADMIN_KEY,
                                            "content-type": "application/json"}),
             "response_body": '{"data": {"key": "' + GEMINI_KEY[:30]}  # cut off: no longer JSON
    virtual_key = {"slug": "g", "provider": "google",
                   "model_config": {"apiKey": GEMINI_KEY, "key": GEMINI_KEY},
                   "secret_mappings": [{"target_field": "key", "value": GEMINI_KEY}],
                   "custom_headers": [{"name": "Authorization", "value": f"Bearer {GEMINI_KEY}"}],
                   "usage_limits": {"conditions": [{"key": "workspace_id", "value": "ws-1"}],
                                    "group_by": [{"key": "api_key"}]},
                   "metadata": {"key": "env"}}
    async with connect(admin_api) as client:
        answer(hostile, {"object": "list", "total": 1, "data": [audit]})
        logs = await result(client, "get_audit_logs", organisation_id="o")
        answer(hostile, virtual_key)
        got = await result(client, "manage_virtual_keys", action="get", slug="g")
    for out in (logs, got):
        text = out.content[0].text + json.dumps(out.structured_content)  # type: ignore[union-attr]
        assert GEMINI_KEY[4:20] not in text and "KEY9876543210" not in text
    entry = logs.structured_content["items"][0]  # type: ignore[index]
    body = json.loads(entry["request_body"])  # still JSON text, written again with the key masked
    assert body["name"] == "gem" and body["provider"] == "google" and body["key"].endswith("90ab")
    assert json.loads(entry["request_headers"])["content-type"] == "application/json"
    item = got.structured_content["item"]  # type: ignore[index]
    # Names stay readable: a policy's fields, a metadata key, what a secret mapping targets.
    assert item["usage_limits"] == virtual_key["usage_limits"] and item["metadata"] == {"key": "env"}
    assert item["secret_mappings"][0]["target_field"] == "key"


def test_json_text_without_secrets_is_left_as_it_was() -> None:
    text = '{"name":  "gem",\n "tags": ["a"]}'
    assert mask_secrets({"request_body": text, "note": "[1, 2]"}) == {"request_body": text, "note": "[1, 2]"}


# --- broken Unicode -------------------------------------------------------------------------------


async def test_a_lone_surrogate_from_upstream_is_replaced_and_the_answer_still_arrives(
        connect, admin_api, hostile) -> None:
    # JSON text may escape half a UTF-16 pair, as JavaScript writes a string cut mid-emoji.
    answer(hostile, '{"object": "list", "total": 1, "id": "\\ud800x", "slug": "c\\udfff", '
                    '"data": [{"id": "\\ud800x", "name": "ok"}], "summary": {"total": 5}, '
                    '"data_points": [{"timestamp": "2026-12-01T00:00:00Z", "total": 5, "label": "\\ud83d"}]}')
    async with connect(admin_api) as client:
        listed = await result(client, "get_api_keys")
        one = await result(client, "get_api_keys", action="get", id="k")
        config = await result(client, "manage_configs", action="get", slug="c")
        usage = await result(client, "get_usage_analytics", metric="cost")
    assert listed.structured_content["items"] == [{"id": "\ufffdx", "name": "ok"}]  # type: ignore[index]
    assert one.structured_content["item"]["id"] == "\ufffdx"  # type: ignore[index]
    assert config.structured_content["item"]["slug"] == "c\ufffd"  # type: ignore[index]
    assert usage.structured_content["data_points"][0]["label"] == "\ufffd"  # type: ignore[index]
    for out in (listed, one, config, usage):
        assert strict_json(out.content[0].text) == out.structured_content  # type: ignore[union-attr]


# --- overwriting a stored provider key ----------------------------------------------------------


async def test_an_update_replacing_a_stored_key_needs_confirm(connect, admin_api, hostile) -> None:
    answer(hostile, {"slug": "vk", "name": "main", "provider": "openai"})
    new_key = "sk-provider-new-0123456789abcdef"
    async with connect(admin_api) as client:
        for tool, args in (("manage_virtual_keys", {"slug": "vk", "key": new_key}),
                           ("manage_virtual_keys", {"slug": "vk", "fields": {"key": new_key}}),
                           ("manage_integrations", {"resource": "integration", "id": "i",
                                                    "fields": {"key": new_key}}),
                           ("manage_integrations", {"resource": "secret_reference", "id": "s",
                                                    "fields": {"auth_config": {"aws_secret": "x"}}})):
            refused = await fails(client, tool, action="update", **args)
            assert "INVALID_INPUT" in refused and "replaces the stored credential" in refused
            assert "nothing was changed" in refused and "confirm: true" in refused
        assert hostile.admin_calls == []  # nothing was sent
        await ok(client, "manage_virtual_keys", action="update", slug="vk", fields={"note": "x"})
        await ok(client, "manage_virtual_keys", action="update", slug="vk", key=new_key, confirm=True)
    assert hostile.admin_calls == [("PUT", "/v1/virtual-keys/vk")] * 2


# --- analytics figures Portkey should not have sent -----------------------------------------------


async def test_unusable_analytics_figures_are_left_out_with_a_note(connect, admin_api, hostile) -> None:
    huge = "9" * 401
    graph = ('{"object": "list", "total": 3, "summary": {"total": ' + huge + ', "unique": 1e999}, '
             '"data_points": [{"timestamp": "garbage", "total": 5}, '
             '{"timestamp": "2026-12-01T00:00:00Z", "total": 1e308}, '
             '{"timestamp": "2026-12-01T01:00:00Z", "total": 1e308}, '
             '{"timestamp": "2026-12-02T00:00:00Z", "total": 7}], '
             '"data": [{"ai_model": "a", "requests": "lots", "cost": "12"}, '
             '{"ai_model": "b", "requests": "1e999", "cost": NaN}, {"ai_model": "c", "requests": "3"}]}')
    answer(hostile, graph)
    async with connect(admin_api) as client:
        for args in ({"metric": "cost", "chart": True}, {"metric": "requests", "chart": True},
                     {"metric": "cost", "group_by": "ai_models", "chart": True, "include_gateway": True}):
            out = await result(client, "get_usage_analytics", **args)
            data = strict_json(out.content[0].text)  # type: ignore[union-attr]
            assert data == out.structured_content and out.content[-1].type == "image"
            assert base64.b64decode(out.content[-1].data).startswith(b"\x89PNG")  # type: ignore[union-attr]
            assert data["summary"] == {} and "portkey_cost_usd" not in data
            assert data["data_points"] == [{"total": 5}, {"timestamp": "2026-12-01T00:00:00Z"},
                                           {"timestamp": "2026-12-01T01:00:00Z"},
                                           {"timestamp": "2026-12-02T00:00:00Z", "total": 7}]
            note = data["notes"][-1]
            assert "summary.total (an integer beyond ±1e+15)" in note and "summary.unique (inf)" in note
            assert "data_points[0].timestamp ('garbage')" in note and "data_points[2].total (1e+308)" in note
        assert note.endswith("and 3 more")  # the groups' requests 'lots' and '1e999', and a NaN cost
        assert data["groups"] == [{"ai_model": "a", "cost": 12}, {"ai_model": "b"},
                                  {"ai_model": "c", "requests": 3}]
        assert data["combined_cost_usd"] == data["gateway"]["cost_usd"]

        answer(hostile, '{"summary": {"total": 1e999}, "data_points": []}')
        out = await result(client, "get_usage_analytics", metric="cost")
        assert "Infinity" not in out.content[0].text and "portkey_cost_usd" not in out.structured_content  # type: ignore[union-attr,operator]

        answer(hostile, {"summary": {"total": "250"}})  # counts and costs may come as numeric text
        out = await result(client, "get_usage_analytics", metric="cost")
        assert out.structured_content["portkey_cost_usd"] == 2.5  # type: ignore[index]


@pytest.mark.parametrize(("body", "named"), [
    ({"summary": "x"}, "has `summary` as a string, not an object"),
    ({"summary": {}, "data_points": "y"}, "has `data_points` as a string, not an array"),
    ({"data_points": [{"total": 1}, 2]}, "has `data_points[1]` as a number, not an object"),
    ([1, 2, 3], "is not a JSON object"),
])
async def test_analytics_of_the_wrong_shape_are_an_upstream_error(connect, admin_api, hostile, body,
                                                                   named) -> None:
    answer(hostile, body)
    async with connect(admin_api) as client:
        text = await fails(client, "get_usage_analytics", metric="cost")
    assert "UPSTREAM_ERROR" in text and "GET /analytics/graphs/cost " + named in text
    assert "input schema" not in text


# --- Retry-After on an error that waiting does not cure -------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409])
def test_a_final_error_does_not_invite_a_retry(status: int) -> None:
    error = admin_error(status, {"error": {"message": "no"}}, provider="portkey", retry_after=2.0)
    assert error.retry_after is None and "retry after" not in str(error)


def test_a_rate_limit_keeps_its_retry_after_capped() -> None:
    assert admin_error(429, {}, provider="portkey", retry_after=2.0).retry_after == 2.0
    assert admin_error(503, {}, provider="portkey", retry_after=1e9).retry_after == ADMIN_MAX_RETRY_AFTER_S
    assert admin_error(429, {}, provider="portkey", retry_after=float("inf")).retry_after is None


async def test_a_not_found_with_retry_after_is_reported_without_it(connect, admin_api, hostile) -> None:
    answer(hostile, {"error": {"code": "AB02", "message": "no such key"}}, status=404,
           headers={"Retry-After": "2"})
    async with connect(admin_api) as client:
        text = await fails(client, "get_api_keys", action="get", id="k")
    assert "NOT_FOUND" in text and "retry after" not in text


# --- workspace stats: capped listings, missing figures --------------------------------------------


async def test_workspace_counts_past_the_page_cap_are_lower_bounds(connect, admin_api, hostile) -> None:
    # Every listing is a full page with no total, for ever; analytics answers hold no summary.
    answer(hostile, {"object": "list", "data": [{"id": "w1", "slug": "w1", "name": "one"}] * 100})
    async with connect(admin_api) as client:
        report = await ok(client, "get_workspace_stats", limit=1)
    stats = report["workspaces"][0]
    assert stats["members"] == stats["api_keys"] == 2000  # 20 pages of 100
    assert sorted(stats["at_least"]) == ["api_keys", "members"]  # configs come in one answer, whole
    assert set(stats["errors"]) == {"requests", "cost_cents"}
    assert "UPSTREAM_ERROR" in stats["errors"]["requests"] and "summary.total" in stats["errors"]["requests"]
    assert "requests" not in stats and "cost_cents" not in stats


async def test_exact_workspace_counts_are_not_marked(connect, admin_api, hostile) -> None:
    answer(hostile, {"object": "list", "total": 3, "summary": {"total": "12"},
                     "data": [{"id": "w1", "slug": "w1", "name": "one"}]})
    async with connect(admin_api) as client:
        report = await ok(client, "get_workspace_stats", limit=1)
    stats = report["workspaces"][0]
    assert stats["members"] == 3 and stats["requests"] == 12 and stats["cost_cents"] == 12
    assert "at_least" not in stats or stats["at_least"] == []
    assert stats.get("errors", {}) == {}


# --- a write that times out -----------------------------------------------------------------------


async def test_a_timed_out_write_says_it_may_have_been_applied(connect, admin_api, hostile,
                                                               tmp_path) -> None:
    hostile.admin_mode = "drip"  # answers a byte at a time, for ever
    quick = load_settings({}, data_dir=tmp_path / "quick", sandbox_url=admin_api.sandbox_url,
                          limits={"deadline_s": 0.5, "backoff_base_s": 0.001, "backoff_max_s": 0.01})
    quick = quick.model_copy(update={"portkey_api_key": admin_api.portkey_api_key,
                                     "portkey_base_url": admin_api.portkey_base_url})
    async with connect(quick) as client:
        written = await fails(client, "manage_api_keys", action="update", id="k", fields={"name": "x"})
        read = await fails(client, "get_api_keys", action="get", id="k")
    assert "UPSTREAM_TIMEOUT" in written and "may have been applied" in written
    assert "list or get the item" in written and "raise the timeout" not in written
    assert [c for c in hostile.admin_calls if c[0] == "PUT"] == [("PUT", "/v1/api-keys/k")]  # sent once
    assert "UPSTREAM_TIMEOUT" in read and "may have been applied" not in read

