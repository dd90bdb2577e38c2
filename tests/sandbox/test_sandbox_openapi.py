"""The sandbox's answers checked against OpenRouter's public OpenAPI spec.

Each request is sent to a real sandbox over loopback, then the request and the answer are
validated by openapi-core as if they had gone to ``https://openrouter.ai/api/v1``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

HOST = "https://openrouter.ai"
AUTH = {"Authorization": "Bearer sk-or-v1-sandbox-spec-test"}
CHAT = {"model": "anthropic/claude-3-haiku", "max_tokens": 50,
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": "What is 12*12?"}]}

yaml = pytest.importorskip("yaml")
openapi_core = pytest.importorskip("openapi_core")
from openapi_core import Config, OpenAPI  # noqa: E402
from openapi_schema_validator import OAS31Validator  # noqa: E402
from referencing import Registry, Resource  # noqa: E402
from referencing.jsonschema import DRAFT202012  # noqa: E402

from gatewise_sandbox import SandboxServer  # noqa: E402
from spec_support import OPENROUTER_SPEC, SpecRequest, SpecResponse, load_spec  # noqa: E402


def spec_request(request: httpx.Request) -> SpecRequest:
    return SpecRequest.of(request, HOST, title_case_headers=True)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return load_spec(OPENROUTER_SPEC)


@pytest.fixture(scope="module")
def api(spec: dict[str, Any]) -> OpenAPI:
    # The spec itself is trusted; skipping its self-check saves seconds.
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with SandboxServer() as sandbox, httpx.Client(base_url=sandbox.url, timeout=10) as http:
        yield http


def check(api: OpenAPI, response: httpx.Response, *, request_too: bool = True) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    if request_too:
        api.validate_request(spec_request(response.request))
    api.validate_response(spec_request(response.request), SpecResponse.of(response))
    return response.json()


def component(spec: dict[str, Any], name: str) -> OAS31Validator:
    registry = Registry().with_resource("urn:openrouter", Resource(spec, DRAFT202012))
    return OAS31Validator({"$ref": f"urn:openrouter#/components/schemas/{name}"},
                          registry=registry, format_checker=OAS31Validator.FORMAT_CHECKER)


def test_chat_completion_matches_spec(api: OpenAPI, client: httpx.Client) -> None:
    body = check(api, client.post("/chat/completions", json=CHAT, headers=AUTH))
    assert body["choices"][0]["message"]["content"].endswith("12*12 = 144")


def test_truncated_completion_matches_spec(api: OpenAPI, client: httpx.Client) -> None:
    reply = client.post("/chat/completions", json={**CHAT, "max_tokens": 2}, headers=AUTH)
    body = check(api, reply)
    assert body["choices"][0]["finish_reason"] == "length"


def test_stream_chunks_match_spec(spec: dict[str, Any], client: httpx.Client) -> None:
    validator = component(spec, "ChatStreamChunk")
    reply = client.post("/chat/completions", json={**CHAT, "stream": True}, headers=AUTH)
    events = [line[6:] for line in reply.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    for chunk in chunks:
        validator.validate(chunk)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["cost"] > 0


def test_models_match_spec(api: OpenAPI, client: httpx.Client) -> None:
    # Only the answer: openapi-core 0.23 cannot read this operation's `type: [integer, null]`
    # query parameters, so it fails on any /models request before looking at it.
    body = check(api, client.get("/models", params={"output_modalities": "all"}),
                 request_too=False)
    assert body["total_count"] == len(body["data"]) > 30


def test_key_and_credits_match_spec(api: OpenAPI, client: httpx.Client) -> None:
    key = check(api, client.get("/key", headers=AUTH))["data"]
    assert key["is_management_key"] is False and "sk-or" not in json.dumps(key)
    credits = check(api, client.get("/credits", headers=AUTH))["data"]
    assert credits["total_credits"] >= credits["total_usage"]


def test_generation_matches_spec(api: OpenAPI, client: httpx.Client) -> None:
    made = client.post("/chat/completions", json=CHAT, headers=AUTH).json()
    data = check(api, client.get("/generation", params={"id": made["id"]}, headers=AUTH))["data"]
    assert data["id"] == made["id"] and data["total_cost"] == made["usage"]["cost"]


def test_embeddings_match_spec(api: OpenAPI, client: httpx.Client) -> None:
    request = {"model": "openai/text-embedding-3-large", "input": ["alpha", "beta"],
               "dimensions": 32}
    body = check(api, client.post("/embeddings", json=request, headers=AUTH))
    assert [len(row["embedding"]) for row in body["data"]] == [32, 32]


@pytest.mark.parametrize(("request_body", "headers", "status"), [
    ({"model": "anthropic/claude-3-haiku"}, {}, 400),  # no messages
    ({**CHAT, "model": "nobody/no-such-model"}, {}, 404),
    (CHAT, {"X-Gatewise-Fault": "status=429;retry_after=2"}, 429),
    (CHAT, {"X-Gatewise-Fault": "status=503"}, 503),
    (CHAT, {"Authorization": "Bearer sk-bad-spec"}, 401),
])
def test_error_bodies_match_spec(api: OpenAPI, client: httpx.Client, request_body: dict[str, Any],
                                 headers: dict[str, str], status: int) -> None:
    reply = client.post("/chat/completions", json=request_body, headers={**AUTH, **headers})
    assert reply.status_code == status
    # Validate the answer only: some of these requests are invalid on purpose.
    api.validate_response(spec_request(reply.request), SpecResponse.of(reply))
    assert reply.json()["error"]["code"] == status
