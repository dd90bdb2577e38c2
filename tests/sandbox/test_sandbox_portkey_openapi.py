"""The Portkey Admin API stand-in checked against Portkey's public OpenAPI spec.

Requests go to a real sandbox over loopback; openapi-core validates each answer as if it had come
from ``https://api.portkey.ai/v1``. The module also measures how much of the spec's admin surface
(everything but the OpenAI-compatible data-plane routes) the sandbox serves.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.routing import Match

HOST = "https://api.portkey.ai"
ADMIN = {"x-portkey-api-key": "pk-admin-spec-test"}
# The OpenAI-compatible data plane the same spec describes (reference C5, last paragraph).
DATA_PLANE = frozenset({"chat", "completions", "embeddings", "images", "audio", "rerank",
                        "moderations", "files", "batches", "fine_tuning", "responses",
                        "assistants", "threads", "vector_stores", "models", "realtime"})
# Endpoints used live but absent from the spec (reference C4 and C5).
LIVE_ONLY = [("GET", "/v1/admin/organisation/defaults"), ("PUT", "/v1/admin/organisation/defaults"),
             ("GET", "/v1/workspace-exclusions/input-guardrails"),
             ("PUT", "/v1/workspace-exclusions/output-guardrails"),
             ("GET", "/v1/logs/exports/field-restrictions"), ("GET", "/v1/scim/groups")]

yaml = pytest.importorskip("yaml")
pytest.importorskip("openapi_core")
from openapi_core import Config, OpenAPI  # noqa: E402

from gatewise_sandbox import SandboxServer  # noqa: E402
from gatewise_sandbox.portkey.routes import UNKNOWN  # noqa: E402
from spec_support import PORTKEY_SPEC, SpecRequest, SpecResponse, load_spec  # noqa: E402


def spec_request(request: httpx.Request) -> SpecRequest:
    return SpecRequest.of(request, HOST)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_spec(PORTKEY_SPEC)


# oneOf lists in the spec that no value can satisfy, because one branch accepts anything the
# others accept: GuardrailCheck.parameters (BasicParameters takes any object), the operands of a
# pricing formula (ModelCalculateOperation requires nothing, so it also matches a
# ModelValueReference, as in the spec's own examples) and the two MCP integration workspace list
# shapes (neither requires a field). anyOf keeps every branch's rules.
UNSATISFIABLE_ONE_OF = [
    ("components", "schemas", "GuardrailCheck", "properties", "parameters"),
    ("components", "schemas", "ModelCalculateOperation", "properties", "operands", "items"),
    ("paths", "/mcp-integrations/{mcpIntegrationId}/workspaces", "get", "responses", "200",
     "content", "application/json", "schema"),
]


def relaxed(spec: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(spec)
    for where in UNSATISFIABLE_ONE_OF:
        node = out
        for key in where:
            node = node[key]
        node["anyOf"] = node.pop("oneOf")
    return out


@pytest.fixture(scope="module")
def api(spec: dict[str, Any]) -> OpenAPI:
    # The spec itself is trusted; skipping its self-check saves seconds.
    return OpenAPI.from_dict(relaxed(spec), config=Config(spec_validator_cls=None))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:  # its own: these tests change the organisation
        yield server


@pytest.fixture(scope="module")
def client(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.root_url + "/v1", headers=ADMIN, timeout=10) as http:
        yield http


@pytest.fixture(scope="module")
def window(sandbox: SandboxServer) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"workspace_slug": sandbox.state.portkey.org.default_workspace["slug"],
            "time_of_generation_min": (now - timedelta(days=31)).isoformat(),
            "time_of_generation_max": now.isoformat()}


def check(api: OpenAPI, response: httpx.Response, status: int = 200,
          request_too: bool = False) -> Any:
    """Validate the answer (and optionally the request) against the spec; returns the JSON."""
    assert response.status_code == status, response.text
    if request_too:
        api.validate_request(spec_request(response.request))
    api.validate_response(spec_request(response.request), SpecResponse.of(response))
    return response.json()


# -- coverage ---------------------------------------------------------------------------------

def admin_operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(method, full path) of every admin operation, each under its own server's base path."""
    default_base = urlsplit(spec["servers"][0]["url"]).path
    out = []
    for path, item in spec["paths"].items():
        if path.strip("/").split("/")[0] in DATA_PLANE:
            continue
        base = urlsplit(item["servers"][0]["url"]).path if item.get("servers") else default_base
        out += [(method.upper(), base + path) for method in item
                if method in ("get", "post", "put", "delete", "patch")]
    return out


def served(sandbox: SandboxServer, method: str, path: str) -> bool:
    concrete = re.sub(r"\{[^}]+\}", "x1", path)
    scope = {"type": "http", "method": method, "path": concrete, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in sandbox.app.routes
               if getattr(route, "path", None) != UNKNOWN)


def test_coverage_of_the_admin_api(spec: dict[str, Any], sandbox: SandboxServer) -> None:
    operations = admin_operations(spec)
    missing = [op for op in operations if not served(sandbox, *op)]
    share = 1 - len(missing) / len(operations)
    print(f"\nPortkey Admin API coverage: {len(operations) - len(missing)}/{len(operations)} "
          f"spec operations ({share:.1%}); missing: {missing or 'none'}")
    assert len(operations) > 120
    assert share >= 0.9, missing
    assert all(served(sandbox, *op) for op in LIVE_ONLY)


# -- organisation -----------------------------------------------------------------------------

def test_users_invites_and_workspaces_match_spec(api: OpenAPI, client: httpx.Client) -> None:
    users = check(api, client.get("/admin/users", params={"pageSize": 5, "currentPage": 1}))
    assert users["total"] == 48 and len(users["data"]) == 5
    check(api, client.get(f"/admin/users/{users['data'][0]['id']}"))
    workspaces = check(api, client.get("/admin/workspaces"))["data"]
    invite = {"email": "spec.check@example.org", "role": "member",
              "workspaces": [{"id": workspaces[0]["id"], "role": "member"}]}
    made = check(api, client.post("/admin/users/invites", json=invite), request_too=True)
    check(api, client.get(f"/admin/users/invites/{made['id']}"))
    check(api, client.get("/admin/users/invites", params={"status": "pending"}))
    check(api, client.post(f"/admin/users/invites/{made['id']}/resend"))
    created = check(api, client.post("/admin/workspaces", json={"name": "Spec team",
                                                                 "description": "spec"}),
                    request_too=True)
    detail = check(api, client.get(f"/admin/workspaces/{created['id']}"))
    assert detail["users"] == []
    engineering = next(w for w in workspaces if w["name"] == "Engineering")
    members = check(api, client.get(f"/admin/workspaces/{engineering['id']}/users"))["data"]
    check(api, client.get(f"/admin/workspaces/{engineering['id']}/users/{members[0]['id']}"))
    mappings = check(api, client.get("/scim/workspaces"))
    assert mappings["total_count"] == len(mappings["mappings"]) > 0
    check(api, client.post("/scim/workspaces", json={"workspace_id": created["id"], "role": "member",
                                                     "scim_group_name": "Spec group"}))


# -- keys, providers, integrations, secrets, pricing ------------------------------------------

def test_keys_and_providers_match_spec(api: OpenAPI, client: httpx.Client,
                                       sandbox: SandboxServer) -> None:
    ws = sandbox.state.portkey.org.default_workspace["id"]
    made = check(api, client.post("/api-keys/workspace/service", json={
        "name": "spec key", "scopes": ["completions.write"], "workspace_id": ws}), request_too=True)
    check(api, client.get(f"/api-keys/{made['id']}"))
    check(api, client.get("/api-keys", params={"page_size": 10, "current_page": 0}))
    check(api, client.post(f"/api-keys/{made['id']}/rotate",
                           json={"key_transition_period_ms": 3_600_000}))
    vk = check(api, client.post("/virtual-keys", json={"name": "spec vk", "provider": "openai",
                                                       "key": "sk-spec-provider-key"}))
    check(api, client.get(f"/virtual-keys/{vk['data']['slug']}"))
    check(api, client.get("/virtual-keys", params={"current_page": 0, "page_size": 5}))
    integration = check(api, client.get("/integrations"))["data"][0]
    check(api, client.get(f"/integrations/{integration['slug']}"))
    check(api, client.get(f"/integrations/{integration['slug']}/models"))
    check(api, client.get(f"/integrations/{integration['slug']}/workspaces"))
    provider = check(api, client.post("/providers", json={
        "name": "Spec provider", "integration_id": integration["slug"]}), request_too=True)
    check(api, client.get(f"/providers/{provider['slug']}"))
    check(api, client.get("/providers"))
    secret = check(api, client.post("/secret-references", json={
        "name": "Spec secret", "manager_type": "hashicorp_vault", "secret_path": "kv/spec",
        "auth_config": {"vault_auth_type": "token", "vault_addr": "https://vault.example.com",
                        "vault_token": "hvs.spec-secret-token"}}))
    detail = check(api, client.get(f"/secret-references/{secret['id']}"))
    assert "hvs.spec-secret-token" not in str(detail)
    check(api, client.get("/secret-references", params={"manager_type": "aws_sm"}))
    pricing = httpx.get(client.base_url.copy_with(path="/model-configs/pricing/openai/gpt-4o"))
    assert check(api, pricing)["currency"] == "USD"


# -- configs, prompts, partials, labels, collections, guardrails ------------------------------

def test_configs_and_prompts_match_spec(api: OpenAPI, client: httpx.Client) -> None:
    made = check(api, client.post("/configs", json={"name": "Spec config",
                                                    "config": {"retry": {"attempts": 2}}}),
                 request_too=True)["data"]
    check(api, client.get(f"/configs/{made['id']}"))
    check(api, client.put(f"/configs/{made['id']}", json={"config": {"retry": {"attempts": 4}}}))
    versions = check(api, client.get(f"/configs/{made['id']}/versions"))
    assert versions["total"] == 2
    check(api, client.get("/configs"))
    collection = check(api, client.get("/prompts"))["data"][0]["collection_id"]
    prompt = check(api, client.post("/prompts", json={
        "name": "Spec prompt", "collection_id": collection, "virtual_key": "openai-spec",
        "string": "{{#system}}Be brief.{{/system}}{{#user}}Hi {{name}}{{/user}}",
        "parameters": {"model": "gpt-4o-mini", "max_tokens": 50}}), request_too=True)
    check(api, client.get(f"/prompts/{prompt['id']}"))
    check(api, client.get(f"/prompts/{prompt['id']}/versions"))
    check(api, client.get(f"/prompts/{prompt['id']}/versions/{prompt['version_id']}"))
    check(api, client.put(f"/prompts/{prompt['id']}", json={"string": "Hello {{name}}",
                                                            "parameters": {}}))
    rendered = check(api, client.post(f"/prompts/{prompt['id']}/render",
                                      json={"variables": {"name": "Ada"}}))
    assert rendered["data"]["messages"][-1]["content"] == "Hi Ada"
    check(api, client.post(f"/prompts/{prompt['id']}/completions",
                           json={"variables": {"name": "Ada"}}))
    partial = check(api, client.post("/prompts/partials", json={"name": "Spec partial",
                                                                "string": "Be kind."}))
    check(api, client.get(f"/prompts/partials/{partial['id']}"))
    check(api, client.get(f"/prompts/partials/{partial['id']}/versions"))
    check(api, client.get("/prompts/partials"))


def test_labels_collections_and_guardrails_match_spec(api: OpenAPI, client: httpx.Client,
                                                      sandbox: SandboxServer) -> None:
    label = check(api, client.post("/labels", json={"name": "spec-label"}), request_too=True)
    check(api, client.get(f"/labels/{label['id']}"))
    check(api, client.get("/labels", params={"search": "spec"}))
    # a reserved name: the error body is the spec's ErrorResponse
    assert check(api, client.post("/labels", json={"name": "latest"}), 400)["error"]["code"] == "AB01"
    ws = sandbox.state.portkey.org.default_workspace["id"]
    collections = check(api, client.get("/collections", params={"workspace_id": ws}))["data"]
    check(api, client.get(f"/collections/{collections[0]['id']}"))
    check(api, client.post("/collections", json={"name": "Spec collection", "workspace_id": ws}))
    guardrail = check(api, client.post("/guardrails", json={
        "name": "Spec guard", "checks": [{"id": "default.regexMatch",
                                          "parameters": {"rule": "\\d{16}", "not": True}}],
        "actions": {"deny": True, "async": False,
                    "on_success": {"feedback": {"value": 1, "weight": 1, "metadata": ""}},
                    "on_fail": {"feedback": {"value": -1, "weight": 1, "metadata": ""}}}}))
    check(api, client.get(f"/guardrails/{guardrail['id']}"))
    check(api, client.put(f"/guardrails/{guardrail['id']}", json={"name": "Spec guard 2"}))
    check(api, client.get("/guardrails"))
    injected = client.get("/guardrails", headers={"X-Gatewise-Fault": "status=403"})
    assert check(api, injected, 403)["error"]["code"] == "AB03"


# -- policies, MCP ----------------------------------------------------------------------------

def test_policies_and_mcp_match_spec(api: OpenAPI, client: httpx.Client) -> None:
    policy = check(api, client.post("/policies/usage-limits", json={
        "conditions": [{"key": "api_key", "value": "any"}], "group_by": [{"key": "api_key"}],
        "type": "cost", "credit_limit": 100}), request_too=True)
    check(api, client.get(f"/policies/usage-limits/{policy['id']}",
                          params={"include_usage": "true"}))
    seeded = check(api, client.get("/policies/usage-limits"))["data"][-1]
    check(api, client.get(f"/policies/usage-limits/{seeded['id']}/entities"))
    rate = check(api, client.get("/policies/rate-limits"))["data"][0]
    check(api, client.get(f"/policies/rate-limits/{rate['id']}"))
    integration = check(api, client.get("/mcp-integrations"))["data"][0]
    check(api, client.get(f"/mcp-integrations/{integration['id']}"))
    check(api, client.get(f"/mcp-integrations/{integration['id']}/metadata"))
    check(api, client.get(f"/mcp-integrations/{integration['id']}/capabilities",
                          params={"page": 1, "page_size": 5}))
    check(api, client.get(f"/mcp-integrations/{integration['id']}/workspaces"))
    server = check(api, client.post("/mcp-servers", json={
        "name": "Spec MCP", "mcp_integration_id": integration["id"]}), request_too=True)
    check(api, client.get(f"/mcp-servers/{server['id']}"))
    check(api, client.get("/mcp-servers"))
    check(api, client.post(f"/mcp-servers/{server['id']}/test"))
    check(api, client.get(f"/mcp-servers/{server['id']}/capabilities"))
    check(api, client.get(f"/mcp-servers/{server['id']}/user-access", params={"page_size": 5}))
    seeded_server = check(api, client.get("/mcp-servers"))["data"][-1]
    check(api, client.get(f"/mcp-servers/{seeded_server['id']}/connections"))


# -- analytics, logs, exports, feedback, audit ------------------------------------------------

GRAPHS = ["requests", "cost", "latency", "tokens", "users", "users/requests", "errors",
          "errors/rate", "errors/stacks", "errors/status-codes", "requests/rescued",
          "cache/hit-rate", "cache/latency", "feedbacks", "feedbacks/scores",
          "feedbacks/weighted", "feedbacks/ai-models"]


@pytest.mark.parametrize("graph", GRAPHS)
def test_every_graph_matches_spec(api: OpenAPI, client: httpx.Client, window: dict[str, str],
                                  graph: str) -> None:
    body = check(api, client.get(f"/analytics/graphs/{graph}", params=window), request_too=True)
    assert body["object"] == "analytics-graph" and body["data_points"]


def test_summary_and_groups_match_spec(api: OpenAPI, client: httpx.Client,
                                       window: dict[str, str]) -> None:
    assert check(api, client.get("/analytics/summary/cache", params=window))["summary"]["hits"] > 0
    for group in ("users", "ai-models", "metadata/team"):
        body = check(api, client.get(f"/analytics/groups/{group}",
                                     params={**window, "page_size": 3}))
        assert len(body["data"]) <= 3 < body["total"] or group == "metadata/team"


def test_logs_exports_feedback_and_audit_match_spec(api: OpenAPI, client: httpx.Client,
                                                    sandbox: SandboxServer) -> None:
    org = sandbox.state.portkey.org
    check(api, client.get(f"/logs/{org.traffic[10].id}"))
    check(api, client.get("/logs/exports"))
    made = check(api, client.post("/logs/exports", json={
        "filters": {"time_of_generation_min": "2020-01-01T00:00:00Z"},
        "requested_data": ["id", "cost", "ai_model"]}), request_too=True)
    check(api, client.post(f"/logs/exports/{made['id']}/start"))
    check(api, client.get(f"/logs/exports/{made['id']}"))
    check(api, client.get(f"/logs/exports/{made['id']}"))
    check(api, client.get(f"/logs/exports/{made['id']}/download"))
    check(api, client.post("/feedback", json={"trace_id": org.traffic[0].trace_id, "value": 5}),
          request_too=True)
    now = datetime.now(UTC)
    check(api, client.get("/audit-logs", params={
        "start_time": (now - timedelta(days=40)).isoformat(), "end_time": now.isoformat(),
        "organisation_id": org.id, "page_size": 10}))


def test_legacy_error_shape_matches_spec(api: OpenAPI, client: httpx.Client) -> None:
    reply = client.get("/virtual-keys", params={"current_page": 0, "page_size": 5},
                       headers={"x-portkey-api-key": "pk-bad-spec"})
    body = check(api, reply, 401)
    assert body["success"] is False and body["data"]["code"] == "AB05"
