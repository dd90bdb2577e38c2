"""The Portkey Admin API stand-in, exercised over real loopback HTTP: state, secrets, paging,
auth and plan gating, error codes, fault injection, analytics filters, the admin views, reset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gatewise_sandbox import SandboxConfig, SandboxServer

ADMIN_KEY = "pk-admin-0123456789abcdef"
WORKSPACE_KEY = "pk-ws-0123456789abcdef"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(seed=3)) as server:
        yield server


@pytest.fixture(autouse=True)
def clean(sandbox: SandboxServer) -> None:
    sandbox.reset()


@pytest.fixture(scope="module")
def api(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.root_url + "/v1", headers={"x-portkey-api-key": ADMIN_KEY},
                      timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def anonymous(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.root_url, timeout=10) as client:
        yield client


def window(days: float = 31, **filters: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"time_of_generation_min": (now - timedelta(days=days)).isoformat(),
            "time_of_generation_max": now.isoformat(), **filters}


def error(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body = reply.json()
    found = body["error"] if "error" in body else body["data"]
    assert found["code"] == code, body
    return found


def total(api: httpx.Client, graph: str = "requests", **params: Any) -> int:
    reply = api.get(f"/analytics/graphs/{graph}", params=window(**params))
    assert reply.status_code == 200, reply.text
    return reply.json()["summary"]["total"]


# -- state ------------------------------------------------------------------------------------

def test_label_round_trip(api: httpx.Client) -> None:
    made = api.post("/labels", json={"name": "canary", "color_code": "#000000"}).json()
    assert api.get(f"/labels/{made['id']}").json()["name"] == "canary"
    assert made["id"] in [row["id"] for row in api.get("/labels").json()["data"]]
    assert api.put(f"/labels/{made['id']}", json={"color_code": "#ffffff"}).status_code == 200
    assert api.get(f"/labels/{made['id']}").json()["color_code"] == "#ffffff"
    assert api.delete(f"/labels/{made['id']}").status_code == 200
    error(api.get(f"/labels/{made['id']}"), 404, "AB08")
    assert made["id"] not in [row["id"] for row in api.get("/labels").json()["data"]]


def test_workspace_and_member_round_trip(api: httpx.Client) -> None:
    users = api.get("/admin/users", params={"pageSize": 3}).json()["data"]
    ws = api.post("/admin/workspaces", json={"name": "Payments", "users": [users[0]["id"]]}).json()
    assert ws["slug"].startswith("ws-payments-") and ws["defaults"]["is_default"] == 0
    path = f"/admin/workspaces/{ws['slug']}/users"  # ids and slugs both address a workspace
    assert api.post(path, json={"users": [{"id": users[1]["id"], "role": "manager"}]}).json() == {}
    assert api.get(path).json()["total"] == 2
    assert api.put(f"{path}/{users[1]['id']}", json={"role": "admin"}).status_code == 200
    assert api.get(f"{path}/{users[1]['id']}").json()["role"] == "admin"
    error(api.post(path, json={"users": [{"id": users[1]["id"], "role": "member"}]}), 409, "AB07")
    assert ws["id"] in api.get(f"/admin/users/{users[1]['id']}").json()["workspace_ids"]
    assert api.delete(f"{path}/{users[1]['id']}").status_code == 200
    renamed = api.put(f"/admin/workspaces/{ws['id']}", json={"name": "Payments EU"}).json()
    assert renamed["name"] == "Payments EU" and len(renamed["users"]) == 1
    assert api.get("/admin/workspaces", params={"name": "payments"}).json()["total"] == 1
    assert api.delete(f"/admin/workspaces/{ws['id']}").status_code == 200
    error(api.get(f"/admin/workspaces/{ws['id']}"), 404, "AB08")


def test_provider_policy_and_mcp_round_trips(api: httpx.Client) -> None:
    integration = api.get("/integrations").json()["data"][0]
    made = api.post("/providers", json={"name": "EU OpenAI", "integration_id": integration["id"],
                                        "slug": "eu-openai"}).json()
    assert api.put("/providers/eu-openai", json={"note": "EU only"}).json()["slug"] == "eu-openai"
    assert api.get("/providers/eu-openai").json()["note"] == "EU only"
    assert api.get("/providers/eu-openai").json()["id"] == made["id"]
    api.delete("/providers/eu-openai")
    error(api.get("/providers/eu-openai"), 404, "AB08")

    policy = api.post("/policies/rate-limits", json={
        "conditions": [{"key": "api_key", "value": "k1"}], "group_by": [{"key": "api_key"}],
        "type": "requests", "unit": "rpm", "value": 60}).json()
    api.put(f"/policies/rate-limits/{policy['id']}", json={"value": 120})
    assert api.get(f"/policies/rate-limits/{policy['id']}").json()["value"] == 120
    assert api.get("/policies/rate-limits", params={"unit": "rpm"}).json()["total"] == 2

    mcp = api.post("/mcp-integrations", json={"name": "Wiki", "url": "https://wiki.example/mcp",
                                              "auth_type": "none", "transport": "http"}).json()
    server = api.post("/mcp-servers", json={"name": "Wiki (shared)",
                                            "mcp_integration_id": mcp["slug"]}).json()
    detail = api.get(f"/mcp-servers/{server['id']}").json()
    assert detail["mcp_integration_details"]["url"] == "https://wiki.example/mcp"
    api.delete(f"/mcp-servers/{server['slug']}")
    error(api.get(f"/mcp-servers/{server['id']}"), 404, "AB08")


def test_every_config_update_is_a_version(api: httpx.Client) -> None:
    made = api.post("/configs", json={"name": "Retry", "config": {"retry": {"attempts": 1}}})
    ids = made.json()["data"]
    for attempts in (2, 3):
        reply = api.put(f"/configs/{ids['id']}", json={"config": {"retry": {"attempts": attempts}}})
        assert reply.json()["success"] is True
    api.put(f"/configs/{ids['id']}", json={"name": "Retry harder"})  # a rename is a version too
    versions = api.get(f"/configs/{ids['id']}/versions").json()
    assert versions["total"] == 4
    assert [json.loads(v["config"])["retry"]["attempts"] for v in versions["data"]] == [3, 3, 2, 1]
    assert versions["data"][-1]["version_id"] == ids["version_id"]
    assert [v["status"] for v in versions["data"]] == ["active", "archived", "archived", "archived"]
    current = api.get(f"/configs/{ids['id']}").json()["data"]
    assert current["name"] == "Retry harder" and current["config"]["retry"]["attempts"] == 3


def test_prompt_versions_default_and_render(api: httpx.Client) -> None:
    collection = api.get("/prompts").json()["data"][0]["collection_id"]
    prompt = api.post("/prompts", json={
        "name": "Greeter", "collection_id": collection, "virtual_key": "openai-x",
        "string": "{{#system}}Greet warmly.{{/system}}{{#user}}Hello {{name}}{{/user}}",
        "parameters": {"model": "gpt-4o-mini"}}).json()
    draft = api.put(f"/prompts/{prompt['id']}", json={"patch": True,
                                                      "string": "{{#user}}Hi {{name}}!{{/user}}"})
    assert api.get(f"/prompts/{prompt['id']}").json()["prompt_version"] == 1  # not yet default
    rendered = api.post(f"/prompts/{prompt['slug']}/render", json={"variables": {"name": "Ada"}})
    assert rendered.json()["data"]["messages"] == [
        {"role": "system", "content": "Greet warmly."}, {"role": "user", "content": "Hello Ada"}]
    assert api.put(f"/prompts/{prompt['id']}/makeDefault", json={"version": 2}).status_code == 200
    current = api.get(f"/prompts/{prompt['id']}").json()
    assert current["prompt_version_id"] == draft.json()["prompt_version_id"]
    completion = api.post(f"/prompts/{prompt['id']}/completions",
                          json={"variables": {"name": "Ada"}}).json()
    assert "Hi Ada!" in completion["body"]["choices"][0]["message"]["content"]
    error(api.put(f"/prompts/{prompt['id']}/makeDefault", json={"version": 9}), 404, "AB08")
    found = error(api.put(f"/prompts/{prompt['id']}", json={"parameters": {"top_p": 1}}), 400, "AB01")
    assert found["param"] == "string"  # a template change without `patch` needs the template


# -- secrets ----------------------------------------------------------------------------------

def test_api_key_is_shown_once_then_masked_and_rotates(api: httpx.Client,
                                                      anonymous: httpx.Client) -> None:
    ws = api.get("/admin/workspaces").json()["data"][0]["id"]
    made = api.post("/api-keys/workspace/service", json={
        "name": "ci", "scopes": ["completions.write"], "workspace_id": ws}).json()
    secret = made["key"]
    assert made["object"] == "api-key" and secret.startswith("pk-ws-") and len(secret) > 20
    shown = api.get(f"/api-keys/{made['id']}").json()["key"]
    listed = api.get("/api-keys", params={"page_size": 100}).text
    assert shown.endswith(secret[-4:]) and secret not in shown and secret not in listed
    rotated = api.post(f"/api-keys/{made['id']}/rotate",
                       json={"key_transition_period_ms": 3_600_000}).json()
    assert rotated["key"] != secret and rotated["key"].startswith("pk-ws-")
    assert api.get(f"/api-keys/{made['id']}").json()["key"].endswith(rotated["key"][-4:])
    error(api.post(f"/api-keys/{made['id']}/rotate", json={"key_transition_period_ms": 5}),
          400, "AB01")
    # the new key works as the workspace key it is: no Enterprise analytics
    reply = anonymous.get("/v1/analytics/graphs/requests", params=window(),
                          headers={"x-portkey-api-key": rotated["key"]})
    error(reply, 403, "AB03")


def test_provider_keys_are_never_returned(api: httpx.Client, sandbox: SandboxServer) -> None:
    provider_key = "sk-live-provider-secret-123456"
    made = api.post("/virtual-keys", json={"name": "vk", "provider": "openai", "key": provider_key})
    slug = made.json()["data"]["slug"]
    api.put(f"/virtual-keys/{slug}", json={"key": provider_key + "rotated", "note": "n"})
    pages = [api.get(f"/virtual-keys/{slug}").text,
             api.get("/virtual-keys", params={"current_page": 0, "page_size": 50}).text]
    integration = api.post("/integrations", json={"name": "Direct", "ai_provider_id": "openai",
                                                  "key": provider_key}).json()
    detail = api.get(f"/integrations/{integration['slug']}").json()
    recorded = httpx.get(sandbox.root_url + "/_sandbox/portkey/last-request",
                         params={"path": "/integrations"}).text
    pages += [json.dumps(detail), recorded]
    assert detail["masked_key"].endswith("3456")
    assert all(provider_key not in page for page in pages)


# -- paging -----------------------------------------------------------------------------------

def collect(api: httpx.Client, path: str, page: str, size: str, first: int, per: int,
            **params: Any) -> tuple[list[dict[str, Any]], int, int]:
    """Every item of a list, page by page: (items, reported total, pages fetched)."""
    items: list[dict[str, Any]] = []
    number, fetched, reported = first, 0, -1
    while True:
        body = api.get(path, params={page: number, size: per, **params}).json()
        fetched += 1
        reported = body["total"]
        items += body["data"]
        if len(body["data"]) < per or len(items) >= reported:
            return items, reported, fetched
        number += 1


def test_three_paging_styles(api: httpx.Client) -> None:
    engineering = api.get("/admin/workspaces", params={"exact_name": "Engineering"}).json()
    members_path = f"/admin/workspaces/{engineering['data'][0]['id']}/users"
    members, reported, pages = collect(api, members_path, "current_page", "page_size", 0, 10)
    assert reported == 35 and pages == 4 and len({m["id"] for m in members}) == 35
    users, reported, pages = collect(api, "/admin/users", "currentPage", "pageSize", 0, 20)
    assert reported == 48 and pages == 3 and len({u["id"] for u in users}) == 48
    integration = api.get("/mcp-integrations").json()["data"][-1]
    capabilities, reported, pages = collect(
        api, f"/mcp-integrations/{integration['id']}/capabilities", "page", "page_size", 1, 5)
    assert reported == 13 and pages == 3 and len({c["name"] for c in capabilities}) == 13
    assert api.get(f"/mcp-integrations/{integration['id']}/capabilities",
                   params={"page": 3, "page_size": 5}).json()["has_more"] is False
    keys, reported, _ = collect(api, "/api-keys", "current_page", "page_size", 0, 7)
    assert reported == len(keys) == 25


def test_paging_rules(api: httpx.Client) -> None:
    found = error(api.get("/virtual-keys", params={"page_size": 5}), 400, "AB01")
    assert "current_page" in found["message"]  # both are required here, in the older shape
    first = api.get("/virtual-keys", params={"current_page": 0, "page_size": 5}).json()
    second = api.get("/virtual-keys", params={"current_page": 1, "page_size": 5}).json()
    assert first["total"] == 12 and {v["slug"] for v in first["data"]}.isdisjoint(
        v["slug"] for v in second["data"])
    assert error(api.get("/api-keys", params={"page_size": 101}), 400, "AB01")["param"] == "page_size"
    assert error(api.get("/api-keys", params={"current_page": "x"}), 400, "AB01")["param"] == (
        "current_page")
    assert error(api.get("/admin/users", params={"pageSize": 0}), 400, "AB01")["param"] == "pageSize"


# -- auth, gating and errors ------------------------------------------------------------------

GATED = ["/analytics/graphs/cost", "/analytics/summary/cache", "/analytics/groups/users",
         "/audit-logs", "/admin/users", "/admin/users/invites", "/logs/exports", "/scim/workspaces",
         "/scim/groups", "/admin/organisation/defaults"]


def test_keys_and_plan_gating(api: httpx.Client, anonymous: httpx.Client) -> None:
    missing = error(anonymous.get("/v1/configs"), 401, "AB05")
    assert "x-portkey-api-key" in missing["message"]
    error(anonymous.get("/v1/admin/workspaces", headers={"x-portkey-api-key": "pk-bad-key"}),
          401, "AB05")
    workspace = {"x-portkey-api-key": WORKSPACE_KEY}
    for path in GATED:
        reply = anonymous.get("/v1" + path, params=window(), headers=workspace)
        found = error(reply, 403, "AB03")
        assert found["message"] == "You do not have enough permissions"
        assert WORKSPACE_KEY not in reply.text
    ws_only = anonymous.get("/v1/configs", headers=workspace)
    assert ws_only.status_code == 200 and ws_only.json()["success"] is True
    error(anonymous.post("/v1/api-keys/organisation/service", headers=workspace,
                         json={"name": "x", "scopes": []}), 403, "AB03")
    error(anonymous.post("/v1/integrations", headers=workspace,
                         json={"name": "x", "ai_provider_id": "openai"}), 403, "AB03")
    assert api.get("/integrations").status_code == 200  # reading integrations is not gated


def test_error_codes_and_shapes(api: httpx.Client) -> None:
    found = error(api.post("/guardrails", json={"name": "g", "actions": {}}), 400, "AB01")
    assert found["param"] == "checks" and found["type"]
    bad_check = api.post("/guardrails", json={"name": "g", "checks": [{"id": "nodot"}],
                                              "actions": {}})
    assert error(bad_check, 400, "AB01")["param"] == "checks[0].id"
    wrong_type = api.post("/policies/usage-limits", json={
        "conditions": [], "group_by": [{"key": "api_key"}], "type": "money", "credit_limit": 1})
    assert error(wrong_type, 400, "AB01")["param"] == "conditions"
    api.post("/labels", json={"name": "dup"})
    assert error(api.post("/labels", json={"name": "dup"}), 409, "AB07")["param"] == "name"
    error(api.post("/admin/workspaces", json={"name": "engineering"}), 409, "AB07")
    error(api.get("/guardrails/no-such-guardrail"), 404, "AB08")
    legacy = api.get("/configs/no-such-config")
    assert legacy.status_code == 404 and legacy.json() == {
        "success": False, "data": {"message": "Config not found: no-such-config", "code": "AB08"}}
    error(api.get("/no/such/endpoint"), 404, "AB08")
    error(api.post("/labels", content=b"{not json", headers={"content-type": "application/json"}),
          400, "AB01")
    error(api.delete(f"/admin/workspaces/{api.get('/admin/workspaces').json()['data'][-1]['id']}"),
          400, "AB01")  # the default workspace stays
    error(api.get("/collections"), 400, "AB01")  # workspace_id is required there


def test_fault_header(api: httpx.Client) -> None:
    limited = api.get("/configs", headers={"X-Gatewise-Fault": "status=429;retry_after=2"})
    assert limited.headers["retry-after"] == "2"
    assert limited.json()["data"]["code"] == "AB06"  # configs answer in the older shape
    assert error(api.get("/guardrails", headers={"X-Gatewise-Fault": "status=503"}),
                 503, "AB04")["message"].endswith("(injected by the gatewise sandbox)")
    error(api.get("/guardrails", headers={"X-Gatewise-Fault": "status=402"}), 402, "AB09")
    error(api.get("/guardrails", headers={"X-Gatewise-Fault": "bogus"}), 400, "AB01")
    slow = api.get("/labels", headers={"X-Gatewise-Fault": "latency_ms=50"})
    assert slow.status_code == 200 and slow.elapsed >= timedelta(milliseconds=50)
    label = api.post("/labels", json={"name": "kept"}, headers={"X-Gatewise-Fault": "status=500"})
    assert label.status_code == 500
    assert all(row["name"] != "kept" for row in api.get("/labels").json()["data"])


# -- analytics --------------------------------------------------------------------------------

def test_every_filter_changes_the_numbers(api: httpx.Client, sandbox: SandboxServer) -> None:
    org = sandbox.state.portkey.org
    everything = total(api)
    default_calls = [c for c in org.traffic if c.workspace == org.default_workspace["slug"]]
    assert everything == len(default_calls) > 500
    sample = default_calls[len(default_calls) // 2]
    filters: dict[str, Any] = {
        "ai_org_model": f"{sample.provider}__{sample.model}",
        "metadata": json.dumps({"team": sample.metadata["team"]}),
        "status_code": "429,500,502,503", "api_key_ids": sample.api_key_id,
        "virtual_keys": sample.virtual_key, "configs": org.table("configs").all()[0]["slug"],
        "trace_id": sample.trace_id, "span_id": sample.span_id,
        "prompt_slug": org.table("prompts").all()[0]["slug"],
        "cost_min": 2, "cost_max": 1, "total_units_min": 3000, "total_units_max": 1500,
        "prompt_token_min": 2500, "prompt_token_max": 1000,
        "completion_token_min": 600, "completion_token_max": 300,
        "weighted_feedback_min": 0, "weighted_feedback_max": 0,
    }
    for name, value in filters.items():
        got = total(api, **{name: value})
        assert 0 < got < everything, (name, got)
    assert total(api, trace_id=sample.trace_id) == 1
    assert total(api, cost_min=2) + total(api, cost_max=1.99) <= everything
    assert total(api, weighted_feedback_min=0) < total(api, weighted_feedback_min=-10)
    assert total(api, days=7) < everything
    other = org.table("workspaces").all()[1]["slug"]
    assert 0 < total(api, workspace_slug=other) != everything
    assert total(api, workspace_slug="ws-nobody") == 0
    cost = api.get("/analytics/graphs/cost", params=window()).json()
    cheap = api.get("/analytics/graphs/cost", params=window(ai_org_model="openai__gpt-4o-mini"))
    assert cheap.json()["summary"]["total"] < cost["summary"]["total"]
    assert sum(p["total"] for p in cost["data_points"]) == pytest.approx(cost["summary"]["total"],
                                                                         abs=len(cost["data_points"]))


def test_filter_validation(api: httpx.Client) -> None:
    assert error(api.get("/analytics/graphs/requests"), 400, "AB01")["param"] == (
        "time_of_generation_min")
    bad = {"cost_min": "cheap", "metadata": "[1]", "ai_org_model": "gpt-4o", "status_code": "ok",
           "weighted_feedback_min": "11", "time_of_generation_max": "yesterday"}
    for name, value in bad.items():
        assert error(api.get("/analytics/graphs/requests", params=window(**{name: value})),
                     400, "AB01")["param"] == name


def test_graph_shapes_and_buckets(api: httpx.Client) -> None:
    day = api.get("/analytics/graphs/latency", params=window(days=1)).json()
    assert 24 <= len(day["data_points"]) <= 25  # hourly buckets for a day
    month = api.get("/analytics/graphs/latency", params=window()).json()
    assert 31 <= len(month["data_points"]) <= 32  # daily for a month
    summary = month["summary"]
    assert summary["p50"] <= summary["p90"] <= summary["p99"]
    codes = api.get("/analytics/graphs/errors/status-codes", params=window()).json()
    assert codes["summary"]["total_errors"] == sum(p["count"] for p in codes["data_points"])
    assert total(api, "errors") == codes["summary"]["total_errors"]
    hits = api.get("/analytics/graphs/cache/hit-rate", params=window()).json()
    savings = [p["cumulative_simple_cache_savings"] for p in hits["data_points"]]
    assert savings == sorted(savings) and savings[-1] > 0
    groups = api.get("/analytics/groups/ai-models", params=window(page_size=3)).json()
    assert groups["total"] == 7 and len(groups["data"]) == 3
    assert all(isinstance(g["requests"], str) for g in groups["data"])
    team = api.get("/analytics/groups/metadata/team", params=window()).json()
    assert sum(g["requests"] for g in team["data"]) == total(api)


def test_feedback_and_custom_logs_feed_analytics(api: httpx.Client, sandbox: SandboxServer) -> None:
    org = sandbox.state.portkey.org
    unrated = next(c for c in reversed(org.traffic)
                   if c.feedback is None and c.workspace == org.default_workspace["slug"])
    before = total(api, "feedbacks")
    made = api.post("/feedback", json={"trace_id": unrated.trace_id, "value": -7, "weight": 1})
    assert made.json()["status"] == "success"
    assert total(api, "feedbacks") == before + 1
    assert total(api, trace_id=unrated.trace_id, weighted_feedback_max=-6) == 1
    api.put(f"/feedback/{made.json()['feedback_ids'][0]}", json={"value": 9})
    assert total(api, trace_id=unrated.trace_id, weighted_feedback_min=8) == 1
    error(api.post("/feedback", json={"trace_id": "t", "value": 11}), 400, "AB01")

    requests = total(api)
    log = {"request": {"url": "https://api.openai.com/v1/chat/completions",
                       "body": {"model": "gpt-4o", "messages": []}},
           "response": {"status": 200, "body": {"usage": {"prompt_tokens": 11,
                                                          "completion_tokens": 4}}},
           "metadata": {"trace_id": "custom-trace-1", "team": "batch"}}
    ids = api.post("/logs", json=[log, log]).json()["data"]["log_ids"]
    assert total(api) == requests + 2
    stored = api.get(f"/logs/{ids[0]}").json()
    assert stored["metrics"]["total_units"] == 15 and stored["request"]["body"]["model"] == "gpt-4o"
    error(api.post("/logs", json={"request": {"url": "u"}, "response": {"body": {}}}), 400, "AB01")


# -- exports, audit, admin views, reset -------------------------------------------------------

def test_log_export_lifecycle(api: httpx.Client, anonymous: httpx.Client) -> None:
    made = api.post("/logs/exports", json={
        "filters": window(ai_org_model="anthropic__claude-3-haiku-20240307"),
        "requested_data": ["id", "ai_model", "cost"]}).json()
    assert made["object"] == "export" and made["total"] > 0
    error(api.get(f"/logs/exports/{made['id']}/download"), 400, "AB01")
    api.post(f"/logs/exports/{made['id']}/start")
    statuses = [api.get(f"/logs/exports/{made['id']}").json()["status"] for _ in range(2)]
    assert statuses == ["in_progress", "success"]
    url = api.get(f"/logs/exports/{made['id']}/download").json()["signed_url"]
    lines = [json.loads(line) for line in anonymous.get(url).text.splitlines()]
    assert len(lines) == made["total"] and set(lines[0]) == {"id", "ai_model", "cost"}
    assert {line["ai_model"] for line in lines} == {"claude-3-haiku-20240307"}
    error(api.post(f"/logs/exports/{made['id']}/cancel"), 400, "AB01")
    bad = api.post("/logs/exports", json={"filters": {}, "requested_data": ["password"]})
    assert error(bad, 400, "AB01")["param"] == "requested_data[0]"


def test_mutations_are_audited(api: httpx.Client, sandbox: SandboxServer) -> None:
    api.post("/labels", json={"name": "audited"})
    now = datetime.now(UTC)
    params = {"start_time": (now - timedelta(minutes=5)).isoformat(),
              "end_time": (now + timedelta(minutes=1)).isoformat(),
              "organisation_id": sandbox.state.portkey.org.id}
    records = api.get("/audit-logs", params={**params, "resource_type": "labels"}).json()["records"]
    assert records and records[0]["method"] == "POST" and records[0]["action"] == "create"
    assert ADMIN_KEY not in json.dumps(records)
    error(api.get("/audit-logs", params={"start_time": params["start_time"]}), 400, "AB01")


def test_last_request_view(api: httpx.Client, anonymous: httpx.Client) -> None:
    params = window(metadata='{"env":"prod"}', weighted_feedback_min=0, status_code="429,500")
    api.get("/analytics/graphs/cost", params=params)
    api.get("/analytics/graphs/cost", params={**params, "configs": "pc-a"})
    seen = anonymous.get("/_sandbox/portkey/last-request",
                         params={"path": "/analytics/graphs/cost"}).json()
    assert seen["query"] == {k: str(v) for k, v in {**params, "configs": "pc-a"}.items()}
    assert seen["method"] == "GET" and seen["status"] == 200 and seen["key_type"] == "organisation"
    assert ADMIN_KEY not in json.dumps(seen)
    api.post("/virtual-keys", json={"name": "v", "provider": "openai", "key": "sk-hidden-value"})
    posted = anonymous.get("/_sandbox/portkey/last-request", params={"path": "/v1/virtual-keys"})
    assert posted.json()["body"]["key"] == "[redacted]" and "sk-hidden" not in posted.text
    assert "/v1/analytics/graphs/cost" in anonymous.get("/_sandbox/portkey/last-request").json()[
        "paths"]
    assert anonymous.get("/_sandbox/portkey/last-request",
                         params={"path": "/never/called"}).status_code == 404


def test_reset_and_determinism(api: httpx.Client, anonymous: httpx.Client,
                               sandbox: SandboxServer) -> None:
    before = api.get("/labels").json()["total"]
    api.post("/labels", json={"name": "temporary"})
    assert anonymous.post("/_sandbox/reset").json() == {"ok": True}
    assert api.get("/labels").json()["total"] == before
    summary = anonymous.get("/_sandbox/portkey").json()
    assert summary["counts"]["api_keys"] == 25 and summary["traffic"]["requests"] == 2000
    ids = [k["id"] for k in api.get("/api-keys", params={"page_size": 100}).json()["data"]]
    with SandboxServer(SandboxConfig(seed=3)) as twin, httpx.Client(
            base_url=twin.root_url + "/v1", headers={"x-portkey-api-key": ADMIN_KEY}) as other:
        assert [k["id"] for k in other.get("/api-keys", params={"page_size": 100}).json()[
            "data"]] == ids
    sandbox.reset(seed=4)
    assert [k["id"] for k in api.get("/api-keys", params={"page_size": 100}).json()["data"]] != ids


def test_pricing_is_public(anonymous: httpx.Client) -> None:
    for path in ("/model-configs/pricing/openai/gpt-4o", "/v1/model-configs/pricing/openai/gpt-4o"):
        body = anonymous.get(path).json()
        assert body["currency"] == "USD" and body["pay_as_you_go"]["request_token"]["price"] > 0
    missing = anonymous.get("/model-configs/pricing/nobody/nothing")
    assert missing.status_code == 404 and missing.json() == {"error": "Model not found"}


def test_openrouter_side_still_answers(anonymous: httpx.Client) -> None:
    models = anonymous.get("/api/v1/models")
    assert models.status_code == 200 and models.json()["data"]
