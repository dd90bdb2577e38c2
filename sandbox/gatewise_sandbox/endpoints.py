"""The secondary endpoints: models, key, credits, generation stats and embeddings."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatewise.hashed_vectors import DEFAULT_DIMENSIONS, MAX_DIMENSIONS, embed, encode
from gatewise_sandbox import answers
from gatewise_sandbox.chat import disconnect_waiter, hang, injected_error, new_id
from gatewise_sandbox.checks import BadRequest, check_auth, header_fault, json_body
from gatewise_sandbox.state import SandboxState
from gatewise_sandbox.wire import (
    PROVIDER,
    STOPPED,
    Generation,
    Usage,
    error_response,
    json_response,
)


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


MODELS_FAULT = "/models"


async def models(request: Request) -> Response:
    """Public, like upstream: no key needed, and a bad key does not matter here."""
    params = request.query_params
    state = _state(request)
    # A fault rule set for the model id "/models" itself (never the "*" rule, which is for chat)
    # delays the catalogue, as a slow upstream would at a server's start-up.
    delay_s = state.faults.table().get(MODELS_FAULT, {}).get("latency_ms", 0) / 1000
    if not await state.pause(delay_s, disconnect_waiter(request)):
        return error_response(503, STOPPED, error_type="server")
    body = state.models_body(params.get("output_modalities") or "text",
                                       params.get("input_modalities") or "")
    return Response(body, media_type="application/json")


async def embedding_models(request: Request) -> Response:
    body = _state(request).models_body("embeddings", "")
    return Response(body, media_type="application/json")


async def key(request: Request) -> Response:
    if (denied := check_auth(request)) is not None:
        return denied
    usage = _state(request).total_usage
    keyless = "authorization" not in request.headers
    data = {
        # A fixed label: upstream shows a masked key here, the sandbox never shows any part of one.
        "label": "sandbox (no key)" if keyless else "sandbox key",
        "limit": None, "limit_remaining": None, "limit_reset": None,
        "include_byok_in_limit": False,
        "usage": usage, "usage_daily": usage, "usage_weekly": usage, "usage_monthly": usage,
        "byok_usage": 0.0, "byok_usage_daily": 0.0, "byok_usage_weekly": 0.0,
        "byok_usage_monthly": 0.0,
        "is_free_tier": False, "is_management_key": False, "is_provisioning_key": False,
        "expires_at": None, "creator_user_id": None,
        "rate_limit": {"requests": -1, "interval": "10s",
                       "note": "deprecated; no limit in the sandbox"},
    }
    return json_response({"data": data})


async def credits(request: Request) -> Response:
    if (denied := check_auth(request)) is not None:
        return denied
    state = _state(request)
    return json_response({"data": {"total_credits": state.config.total_credits,
                                   "total_usage": state.total_usage}})


async def generation(request: Request) -> Response:
    if (denied := check_auth(request)) is not None:
        return denied
    gen_id = request.query_params.get("id", "")
    if not gen_id:
        return error_response(400, "id: required", error_type="invalid_request")
    found = _state(request).generation(gen_id)
    if found is None:
        return error_response(404, f"Generation {gen_id[:80]} not found", error_type="not_found")
    return json_response({"data": found.to_data()})


async def embeddings(request: Request) -> Response:
    state = _state(request)
    started = time.perf_counter()
    if (denied := check_auth(request)) is not None:
        return denied
    try:
        body = await json_body(request)
        model, texts, dimensions, encoding_format = _parse_embeddings(body)
        forced = header_fault(request)
    except BadRequest as exc:
        return exc.response()
    info = state.model(model)
    if info is None:
        return error_response(404, f"{model} is not a valid model ID", error_type="model_not_found")
    if "embeddings" not in info.output_modalities:
        return error_response(400, f"{model} is not an embedding model",
                              error_type="wrong_endpoint")
    counts = [answers.count_tokens(text) for text in texts]
    if info.context_length and max(counts) > info.context_length:
        return error_response(400, f"An input is longer than the model's {info.context_length} "
                              "tokens", error_type="context_length_exceeded")
    fault = state.fault_for(info.id, forced)
    if fault.kind == "timeout":
        return await hang(state, request)
    wait = (state.config.base_latency_ms + fault.latency_ms) / 1000
    if not await state.pause(wait, disconnect_waiter(request)):
        return error_response(503, STOPPED, error_type="server")
    if fault.kind is not None:  # no stream to break here: every fault is an error answer
        return injected_error(fault, info)
    usage = Usage.priced(info, sum(counts), 0)
    gen_id = new_id()
    data = [{"object": "embedding", "index": i,
             "embedding": encode(embed(text, dimensions), encoding_format)}
            for i, text in enumerate(texts)]
    state.remember(Generation(gen_id, info.id, time.time(), usage,
                              (time.perf_counter() - started) * 1000, "stop", False,
                              api_type="embeddings"))
    return json_response({"object": "list", "id": gen_id, "model": info.id, "provider": PROVIDER,
                          "data": data, "usage": fault.usage_of(usage.to_embeddings())},
                         headers={"X-Generation-Id": gen_id})


def _parse_embeddings(body: dict[str, Any]) -> tuple[str, list[str], int, str]:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise BadRequest("model: required")
    raw = body.get("input")
    if isinstance(raw, str):
        texts = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(t, str) for t in raw):
        texts = list(raw)
    elif isinstance(raw, list) and raw and all(isinstance(t, int) for t in raw):
        texts = [" ".join(map(str, raw))]  # one token array
    elif isinstance(raw, list) and raw and all(
            isinstance(t, list) and t and all(isinstance(n, int) for n in t) for t in raw):
        texts = [" ".join(map(str, t)) for t in raw]
    else:
        raise BadRequest("input: expected a string, an array of strings or token arrays")
    if any(not text for text in texts):
        raise BadRequest("input: strings must not be empty")
    dimensions = body.get("dimensions", DEFAULT_DIMENSIONS)
    if (isinstance(dimensions, bool) or not isinstance(dimensions, int)
            or not 1 <= dimensions <= MAX_DIMENSIONS):
        raise BadRequest(f"dimensions: expected an integer from 1 to {MAX_DIMENSIONS}")
    encoding_format = body.get("encoding_format") or "float"
    if encoding_format not in ("float", "base64"):
        raise BadRequest("encoding_format: expected 'float' or 'base64'")
    return model.strip(), texts, dimensions, encoding_format
