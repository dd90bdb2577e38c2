"""OpenRouter's wire shapes: error bodies, completions, stream chunks, usage, generation stats."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from gatewise.catalog import ModelInfo

PROVIDER = "Sandbox"
INJECTED = " (injected by the gatewise sandbox)"
STOPPED = "The sandbox stopped before answering"

# OpenRouter's usual messages per status (the spec's examples), so clients see familiar text.
MESSAGES: dict[int, str] = {
    400: "Invalid request parameters", 401: "User not found.",
    402: "Insufficient credits. Add more using https://openrouter.ai/credits",
    403: "Forbidden", 404: "Resource not found",
    408: "Operation timed out. Please try again later.", 413: "Request payload too large",
    422: "Invalid argument", 429: "Rate limit exceeded", 500: "Internal Server Error",
    502: "Provider returned error", 503: "Service temporarily unavailable",
    504: "Gateway timeout", 524: "Request timed out. Please try again later.",
    529: "Provider returned error",
}


def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status, headers, media_type="application/json")


def error_response(
    status: int,
    message: str | None = None,
    *,
    error_type: str | None = None,
    retry_after: float | None = None,
    metadata: dict[str, Any] | None = None,
) -> Response:
    """``{"error": {"code": status, "message", "metadata"}}`` plus OpenRouter's 429 headers."""
    meta: dict[str, Any] = dict(metadata or {})
    if error_type:
        meta["error_type"] = error_type
    body = {"error": {"code": status, "message": message or MESSAGES.get(status, "Error"),
                      "metadata": meta}}
    headers: dict[str, str] = {}
    if status == 429 and retry_after is None:
        retry_after = 1.0  # rate limits always say when to come back
    if retry_after is not None:
        headers["Retry-After"] = format(retry_after, "g")
    if status == 429:
        reset_ms = int((time.time() + (retry_after or 0.0)) * 1000)
        headers.update({"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": str(reset_ms)})
    return json_response(body, status, headers)


@dataclass(frozen=True)
class Usage:
    tokens_in: int
    tokens_out: int
    prompt_cost: float
    completion_cost: float
    request_cost: float = 0.0
    image_tokens: int = 0  # the part of tokens_out spent on generated images
    search_cost: float = 0.0  # web search fees, billed on top of the tokens
    search_requests: int = 0

    @classmethod
    def priced(cls, info: ModelInfo, tokens_in: int, tokens_out: int) -> Usage:
        return cls(tokens_in, tokens_out, tokens_in * info.prompt_price,
                   tokens_out * info.completion_price, info.request_price)

    @property
    def cost(self) -> float:
        # ModelInfo.cost's sum in its order, so the figures match to the last bit; then the fee.
        return self.request_cost + self.prompt_cost + self.completion_cost + self.search_cost

    def to_chat(self) -> dict[str, Any]:
        usage: dict[str, Any] = {
            "prompt_tokens": self.tokens_in,
            "completion_tokens": self.tokens_out,
            "total_tokens": self.tokens_in + self.tokens_out,
            "cost": self.cost,
            "is_byok": False,
            "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0,
                                      "audio_tokens": 0, "video_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "image_tokens": self.image_tokens},
            "cost_details": {"upstream_inference_cost": None,
                             "upstream_inference_prompt_cost": self.prompt_cost,
                             "upstream_inference_completions_cost": self.completion_cost},
        }
        if self.search_requests:
            usage["server_tool_use"] = {"web_search_requests": self.search_requests}
            usage["cost_details"]["web_search_cost"] = self.search_cost
        return usage

    def to_embeddings(self) -> dict[str, Any]:
        return {"prompt_tokens": self.tokens_in, "total_tokens": self.tokens_in,
                "cost": self.cost, "is_byok": False}


def completion(gen_id: str, created: int, model: str, content: str, finish_reason: str,
               usage: Usage, error: dict[str, Any] | None = None,
               images: list[dict[str, Any]] | None = None,
               annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None,
                               "reasoning": None}
    if images:
        message["images"] = images
    if annotations:
        message["annotations"] = annotations
    choice: dict[str, Any] = {
        "index": 0, "logprobs": None, "finish_reason": finish_reason,
        "native_finish_reason": finish_reason, "message": message,
    }
    if error is not None:
        choice["error"] = error
    return {"id": gen_id, "object": "chat.completion", "created": created, "model": model,
            "provider": PROVIDER, "system_fingerprint": None, "choices": [choice],
            "usage": usage.to_chat()}


def chunk(gen_id: str, created: int, model: str, choices: list[dict[str, Any]],
          **extra: Any) -> bytes:
    body = {"id": gen_id, "object": "chat.completion.chunk", "created": created, "model": model,
            "provider": PROVIDER, "choices": choices, **extra}
    return b"data: " + dumps(body) + b"\n\n"


def delta(content: str, *, first: bool = False, finish_reason: str | None = None) -> dict[str, Any]:
    piece: dict[str, Any] = {"content": content}
    if first:
        piece = {"role": "assistant", "content": content}
    return {"index": 0, "delta": piece, "finish_reason": finish_reason,
            "native_finish_reason": finish_reason, "logprobs": None}


@dataclass(frozen=True)
class Generation:
    """What ``GET /generation`` reports about an earlier call."""

    id: str
    model: str
    created: float
    usage: Usage
    latency_ms: float
    finish_reason: str
    streamed: bool
    api_type: str = "completions"
    origin: str = ""
    attempts: tuple[int, ...] = ()  # statuses of injected failures that were failed over
    search_results: int = 0
    search_engine: str | None = None

    def to_data(self) -> dict[str, Any]:
        created_at = datetime.fromtimestamp(self.created, UTC).isoformat().replace("+00:00", "Z")
        responses = [{"status": s, "model_permaslug": self.model} for s in self.attempts]
        responses.append({"status": 200, "model_permaslug": self.model,
                          "latency": round(self.latency_ms, 3), "is_byok": False})
        tokens_out = self.usage.tokens_out if self.api_type == "completions" else 0
        return {
            "id": self.id, "upstream_id": None, "model": self.model, "provider_name": PROVIDER,
            "created_at": created_at, "api_type": self.api_type, "streamed": self.streamed,
            "cancelled": False, "finish_reason": self.finish_reason,
            "native_finish_reason": self.finish_reason, "router": None, "service_tier": None,
            "session_id": None, "app_id": None, "origin": self.origin, "data_region": "global",
            "workspace_id": None, "tokens_prompt": self.usage.tokens_in,
            "tokens_completion": tokens_out, "native_tokens_prompt": self.usage.tokens_in,
            "native_tokens_completion": tokens_out, "native_tokens_reasoning": 0,
            "native_tokens_cached": 0, "native_tokens_completion_images": 0,
            "total_cost": self.usage.cost, "usage": self.usage.cost, "cache_discount": None,
            "upstream_inference_cost": None, "is_byok": False,
            "latency": round(self.latency_ms, 3), "generation_time": round(self.latency_ms, 3),
            "moderation_latency": None, "num_media_prompt": 0, "num_input_audio_prompt": 0,
            "num_media_completion": 0, "num_search_results": self.search_results, "num_fetches": 0,
            "web_search_engine": self.search_engine, "external_user": None, "preset_id": None,
            "provider_responses": responses, "user_agent": None,
            "http_referer": self.origin or None,
        }
