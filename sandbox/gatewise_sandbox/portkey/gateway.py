"""Portkey's data plane: ``POST /v1/chat/completions`` with the ``x-portkey-*`` headers.

A pasted gateway config (``x-portkey-config``) is run by the sandbox's own reading of Portkey's
semantics (:mod:`gatewise_sandbox.portkey.routing`), each target suffers the sandbox's per-model
faults, and the answer carries Portkey's response headers (cache status, retries, the target
that answered).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gatewise.catalog import ModelInfo
from gatewise_sandbox import answers
from gatewise_sandbox.chat import new_id
from gatewise_sandbox.checks import header_fault
from gatewise_sandbox.portkey.engine import authenticate
from gatewise_sandbox.portkey.errors import AdminError
from gatewise_sandbox.portkey.query import ConfigError
from gatewise_sandbox.portkey.routing import Router, Target
from gatewise_sandbox.state import SandboxState
from gatewise_sandbox.wire import json_response

CACHE_LIMIT = 1_000
_RNG = random.Random()


async def chat_completions(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    try:
        authenticate(request)
        body = await _json(request)
        config = _header_json(request, "x-portkey-config")
        metadata = _header_json(request, "x-portkey-metadata") or {}
        router = Router({} if config is None else config)
    except AdminError as exc:
        return exc.response()
    except ConfigError as exc:
        return AdminError("AB01", str(exc), param="x-portkey-config").response()
    cache_key = _cache_key(config, body)
    headers = {"x-portkey-trace-id": request.headers.get("x-portkey-trace-id", new_id())}
    cached = state.portkey_cache.get(cache_key) if cache_key else None
    if cached is not None:
        return json_response(cached, headers={**headers, "x-portkey-cache-status": "HIT",
                                              "x-portkey-retry-attempt-count": "0"})
    forced = header_fault(request)
    provider = request.headers.get("x-portkey-provider")

    def call(target: Target) -> int:
        info = _served_model(state, target.provider or provider, target.model or body.get("model"))
        fault = state.fault_for(info.id, forced)
        return fault.status if fault.kind == "error" else 200

    context = {"metadata": metadata, "params": body, "url": {"pathname": request.url.path}}
    try:
        outcome = router.route(context, call, _RNG)
    except ConfigError as exc:
        return AdminError("AB01", str(exc), param="x-portkey-config").response()
    headers["x-portkey-retry-attempt-count"] = str(outcome.retries)
    if not outcome.ok:
        return AdminError("AB04", "every target failed", status=outcome.status).response()
    target = outcome.target
    info = _served_model(state, target.provider or provider, target.model or body.get("model"))
    state.receive(info.id, body["messages"])
    reply = _completion(info.id, {**body, **target.params}, answers.prompt_tokens(body["messages"]))
    reply["usage"] = state.faults.usage_for(info.id).usage_of(reply["usage"])
    if cache_key:
        if len(state.portkey_cache) >= CACHE_LIMIT:
            state.portkey_cache.pop(next(iter(state.portkey_cache)))
        state.portkey_cache[cache_key] = reply
    return json_response(reply, headers={
        **headers, "x-portkey-cache-status": "MISS" if cache_key else "DISABLED",
        "x-portkey-last-used-option-index": str(target.index), "x-portkey-provider": info.provider})


def _served_model(state: SandboxState, provider: str | None, name: Any) -> ModelInfo:
    """The catalogue model that answers for a target. A bare name (``gpt-4o``) is looked up among
    the catalogue's ids, preferring the vendor the provider slug names."""
    if not isinstance(name, str) or not name:
        raise ConfigError("no model for this target: set model in the body or in override_params")
    if "/" not in name:
        same = [m for m in state.catalog.models if m.split("/", 1)[-1] == name]
        vendor = (provider or "").removeprefix("@").lower()
        candidates = [m for m in same if m.split("/", 1)[0] == vendor] or same
        if len(candidates) == 1:
            name = candidates[0]
    info = state.model(name)
    if info is None:
        raise ConfigError(f"{name} is not a model this gateway can reach (name its vendor: vendor/model)")
    return info


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
