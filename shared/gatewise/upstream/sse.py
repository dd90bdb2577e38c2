"""Server-sent events as JSON objects: comments skipped, multi-line data joined, [DONE] ends."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from gatewise.errors import ErrorCode, GatewiseError


async def iter_sse_json(lines: AsyncIterable[str]) -> AsyncIterator[dict[str, Any]]:
    """Yield each event's JSON payload.

    Comment lines (``: OPENROUTER PROCESSING`` keep-alives) are skipped before any parsing; an
    in-band error event (HTTP status already 200) becomes an UPSTREAM_ERROR.
    """
    data: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r")
        if line.startswith(":"):
            continue
        if line:
            field, _, value = line.partition(":")
            if field == "data":
                data.append(value[1:] if value.startswith(" ") else value)
            continue
        if not data:
            continue
        payload, data = "\n".join(data), []
        if payload == "[DONE]":
            return
        yield _decode(payload)
    if data and (payload := "\n".join(data)) != "[DONE]":
        yield _decode(payload)


def _decode(payload: str) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except ValueError:
        raise GatewiseError(ErrorCode.UPSTREAM_ERROR, "a stream event was not JSON") from None
    error = event.get("error") if isinstance(event, dict) else None
    if error:
        message = error.get("message", "error") if isinstance(error, dict) else str(error)
        raise GatewiseError(ErrorCode.UPSTREAM_ERROR, f"the stream failed mid-way: {message}",
                            details={"mid_stream": True})
    if not isinstance(event, dict):
        raise GatewiseError(ErrorCode.UPSTREAM_ERROR, "a stream event was not an object")
    return event
