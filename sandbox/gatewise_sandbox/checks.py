"""Request checks shared by the endpoints: authentication, JSON bodies, the fault header."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from gatewise_sandbox.faults import HEADER, Fault, parse_fault_header
from gatewise_sandbox.wire import error_response

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
BAD_KEY_PREFIX = "sk-bad"  # keys that the sandbox rejects, to exercise UNAUTHORIZED paths


class BadRequest(Exception):
    """A request the sandbox refuses with a 4xx; the message never contains request secrets."""

    def __init__(self, message: str, status: int = 400, error_type: str = "invalid_request"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_type = error_type

    def response(self) -> Response:
        return error_response(self.status, self.message, error_type=self.error_type)


def check_auth(request: Request) -> Response | None:
    """No header is fine (keyless sandbox mode); a bearer key is fine unless it is ``sk-bad…``."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, key = header.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return error_response(401, "Missing Authentication header", error_type="authentication")
    if key.startswith(BAD_KEY_PREFIX):
        return error_response(401, "User not found.", error_type="authentication")
    return None


async def json_body(request: Request) -> dict[str, Any]:
    try:
        raw = await request.body()
    except ClientDisconnect:  # a client that gave up (e.g. cancelled) is not a sandbox failure
        raise BadRequest("The client went away before sending the whole body") from None
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadRequest("The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object")
    return body


def header_fault(request: Request) -> Fault | None:
    value = request.headers.get(HEADER)
    if value is None:
        return None
    try:
        return parse_fault_header(value)
    except ValueError as exc:
        raise BadRequest(f"X-Gatewise-Fault: {exc}") from None


@dataclass(frozen=True)
class ChatRequest:
    candidates: tuple[str, ...]  # the model, then the `models` fallbacks, in order
    messages: list[dict[str, Any]]
    max_tokens: int | None
    stream: bool


def parse_chat(body: dict[str, Any], default_model: str) -> ChatRequest:
    messages = body.get("messages")
    if messages is None and isinstance(body.get("prompt"), str):
        messages = [{"role": "user", "content": body["prompt"]}]  # the legacy `prompt` field
    if messages is None:
        raise BadRequest("messages: required")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages: expected a non-empty array")
    for i, message in enumerate(messages):
        _check_message(i, message)

    model = body.get("model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise BadRequest("model: expected a model id string")
    fallbacks = body.get("models")
    if fallbacks is not None and (not isinstance(fallbacks, list)
                                  or not all(isinstance(m, str) and m.strip() for m in fallbacks)):
        raise BadRequest("models: expected an array of model id strings")
    ordered = ([model] if model else []) + list(fallbacks or [])
    candidates = tuple(dict.fromkeys(m.strip() for m in ordered)) or (default_model,)

    limits = [_positive_int(body, name) for name in ("max_completion_tokens", "max_tokens")]
    max_tokens = next((v for v in limits if v is not None), None)
    temperature = body.get("temperature")
    if temperature is not None and (isinstance(temperature, bool)
                                    or not isinstance(temperature, int | float)
                                    or not 0 <= temperature <= 2):
        raise BadRequest("temperature: expected a number between 0 and 2")
    stream = body.get("stream", False)
    if stream is not None and not isinstance(stream, bool):
        raise BadRequest("stream: expected a boolean")
    return ChatRequest(candidates, messages, max_tokens, bool(stream))


def _check_message(index: int, message: Any) -> None:
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        raise BadRequest(f"{where}: expected an object")
    if message.get("role") not in ROLES:
        raise BadRequest(f"{where}.role: expected one of {', '.join(sorted(ROLES))}")
    content = message.get("content")
    if content is None:
        if message["role"] in ("assistant", "tool"):
            return  # e.g. an assistant turn that only holds tool calls
        raise BadRequest(f"{where}.content: required")
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise BadRequest(f"{where}.content: expected a string or an array of content parts")
    for j, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise BadRequest(f"{where}.content[{j}]: expected a part object with a 'type'")
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            raise BadRequest(f"{where}.content[{j}].text: expected a string")


def _positive_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(f"{name}: expected a positive integer")
    return value
