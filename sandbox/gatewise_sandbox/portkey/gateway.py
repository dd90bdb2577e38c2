"""Portkey's data plane: ``POST /v1/chat/completions`` with the ``x-portkey-*`` headers.

A pasted gateway config (``x-portkey-config``) is planned with the same code the routing gateway
uses, each target suffers the sandbox's per-model faults, and the answer carries Portkey's
response headers (cache status, retry count, the target that answered).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatewise.errors import GatewiseError
from gatewise.routing.portkey_config import (
    next_attempt_index,
    openrouter_model_id,
    parse_portkey_config,
    plan_targets,
    routing_context,
)
from gatewise.sandbox import answers
from gatewise.sandbox.chat import new_id
from gatewise.sandbox.checks import header_fault
from gatewise.sandbox.portkey.engine import authenticate
from gatewise.sandbox.portkey.errors import AdminError
from gatewise.sandbox.state import SandboxState
from gatewise.sandbox.wire import json_response

CACHE_LIMIT = 1_000


async def chat_completions(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    try:
        authenticate(request)
        body = await _json(request)
        config = _header_json(request, "x-portkey-config")
        metadata = _header_json(request, "x-portkey-metadata") or {}
        attempts = _targets(config, metadata, body, request.headers.get("x-portkey-provider"))
    except AdminError as exc:
        return exc.response()
    cache_key = _cache_key(config, body)
    headers = {"x-portkey-trace-id": request.headers.get("x-portkey-trace-id", new_id()),
               "x-portkey-retry-attempt-count": "0"}
    cached = state.portkey_cache.get(cache_key) if cache_key else None
    if cached is not None:
        return json_response(cached, headers={**headers, "x-portkey-cache-status": "HIT"})
    forced = header_fault(request)
    index: int | None = 0
    status = 500
    while index is not None and index < len(attempts):
        model_id, attempt = attempts[index]
        info = state.model(model_id)
        if info is None:
            return AdminError("AB01", f"{model_id} is not a model this gateway can reach",
                              param="model").response()
        fault = state.fault_for(info.id, forced)
        if fault.kind == "error":
            status = fault.status
            index = next_attempt_index(attempt, status) if attempt is not None else None
            continue
        reply = _completion(info.id, body, answers.prompt_tokens(body["messages"]))
        if cache_key:
            if len(state.portkey_cache) >= CACHE_LIMIT:
                state.portkey_cache.pop(next(iter(state.portkey_cache)))
            state.portkey_cache[cache_key] = reply
        return json_response(reply, headers={
            **headers, "x-portkey-cache-status": "MISS" if cache_key else "DISABLED",
            "x-portkey-last-used-option-index": str(index), "x-portkey-provider": info.provider})
    return AdminError("AB04", "every target failed", status=status).response()


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise AdminError("AB01", "the body is not JSON", param="body") from None
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
        raise AdminError("AB01", "messages: a non-empty list is required", param="messages")
    return body


def _header_json(request: Request, name: str) -> Any:
    value = request.headers.get(name)
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        raise AdminError("AB01", f"{name} is not JSON", param=name) from None


def _targets(config: Any, metadata: dict[str, Any], body: dict[str, Any], provider: str | None
             ) -> list[tuple[str, Any]]:
    """(model id, plan step) pairs in the order the gateway would try them."""
    try:
        default = openrouter_model_id(provider, body.get("model")) if body.get("model") else None
        if config is None:
            if default is None:
                raise AdminError("AB01", "model: required without a config", param="model")
            return [(default, None)]
        plan = plan_targets(parse_portkey_config(config), routing_context(metadata, body))
    except GatewiseError as exc:
        raise AdminError("AB01", exc.message, param="x-portkey-config") from None
    pairs = []
    for step in plan:
        model = step.model or default
        if model is None:
            raise AdminError("AB01", f"{step.path or 'config'}: no model for this target", param="model")
        pairs.append((model, step))
    return pairs


def _cache_key(config: Any, body: dict[str, Any]) -> str | None:
    cache = config.get("cache") if isinstance(config, dict) else None
    if not isinstance(cache, dict) or cache.get("mode") not in ("simple", "semantic"):
        return None
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _completion(model: str, body: dict[str, Any], prompt_tokens: int) -> dict[str, Any]:
    text = answers.answer(model, body["messages"])
    limit = body.get("max_tokens") or body.get("max_completion_tokens")
    tokens = answers.count_tokens(text)
    finish = "stop"
    if isinstance(limit, int) and tokens > limit:
        text, tokens, finish = answers.truncate(text, limit), limit, "length"
    return {
        "id": f"chatcmpl-{new_id()[4:]}", "object": "chat.completion", "created": int(time.time()),
        "model": model, "provider": model.split("/", 1)[0],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": tokens,
                  "total_tokens": prompt_tokens + tokens},
    }
