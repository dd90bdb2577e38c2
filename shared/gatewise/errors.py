"""The closed error taxonomy shared by every gatewise server.

Every anticipated failure becomes a :class:`GatewiseError` with a code from :class:`ErrorCode`,
a plain-English message and a hint. The MCP layer turns it into a ``ToolError``; nothing else
reaches a client, so internals and secrets never leak through error text.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Any

from gatewise.redact import scrub


class ErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN_SCOPE = "FORBIDDEN_SCOPE"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"
    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
    GUARDRAIL_BLOCKED = "GUARDRAIL_BLOCKED"
    CONTENT_POLICY = "CONTENT_POLICY"
    CONTEXT_TOO_LONG = "CONTEXT_TOO_LONG"
    UPSTREAM_ERROR = "UPSTREAM_ERROR"
    UPSTREAM_TIMEOUT = "UPSTREAM_TIMEOUT"
    UNSAFE_PATH = "UNSAFE_PATH"
    UNSAFE_URL = "UNSAFE_URL"
    TOO_LARGE = "TOO_LARGE"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    CONFIG_ERROR = "CONFIG_ERROR"
    # The shared database (PostgreSQL) cannot be reached; the servers reconnect by themselves.
    STORAGE_UNAVAILABLE = "STORAGE_UNAVAILABLE"
    # A fault in gatewise itself; the message carries a request id to find it in the log.
    INTERNAL = "INTERNAL"


# Codes worth another attempt (same model after a pause, or the next model in a route).
RETRYABLE = frozenset({ErrorCode.RATE_LIMITED, ErrorCode.UPSTREAM_ERROR, ErrorCode.UPSTREAM_TIMEOUT})

_DEFAULT_HINTS: dict[ErrorCode, str] = {
    ErrorCode.INVALID_INPUT: "Check the arguments against the tool's input schema.",
    ErrorCode.UNAUTHORIZED: "Set a valid API key in the environment or the config file.",
    ErrorCode.FORBIDDEN_SCOPE: "The key lacks the permission or plan this call needs.",
    ErrorCode.NOT_FOUND: "Check the id or name; list the available items first.",
    ErrorCode.RATE_LIMITED: "Wait for retry_after seconds, or route to another model.",
    ErrorCode.INSUFFICIENT_CREDITS: "Add credits to the account or raise the key's limit.",
    ErrorCode.BUDGET_EXCEEDED: "Raise the budget, wait for the next window, or allow downgrades.",
    ErrorCode.GUARDRAIL_BLOCKED: "Rephrase the request without the flagged content.",
    ErrorCode.CONTENT_POLICY: "The provider refused the content; rephrase or pick another model.",
    ErrorCode.CONTEXT_TOO_LONG: "Shorten the prompt or choose a model with a larger context.",
    ErrorCode.UPSTREAM_ERROR: "The provider failed; retry later or choose another model.",
    ErrorCode.UPSTREAM_TIMEOUT: "The provider was too slow; retry, or raise the timeout.",
    ErrorCode.UNSAFE_PATH: "Only files under the configured allowed directories can be read.",
    ErrorCode.UNSAFE_URL: "Only public http(s) URLs are fetched.",
    ErrorCode.TOO_LARGE: "Send less data: smaller or fewer files, or shorter text.",
    ErrorCode.UNSUPPORTED_FORMAT: "Convert the input to a supported format.",
    ErrorCode.CONFIG_ERROR: "Fix the configuration file or environment variable named above.",
    ErrorCode.STORAGE_UNAVAILABLE: "The shared database is unreachable; retry shortly (it reconnects).",
    ErrorCode.INTERNAL: "This is a bug in gatewise, not in the request; report it with the request id.",
}


class GatewiseError(Exception):
    """An anticipated failure with a stable code, a message for people and models, and a hint."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        hint: str | None = None,
        retry_after: float | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        # Scrubbed once here, so no error text (tool error, log line, warning) can carry a key
        # an upstream echoed back.
        if retry_after is not None and not math.isfinite(retry_after):
            # NaN would make every pause and comparison built on it meaningless ("retry after nans").
            raise ValueError(f"retry_after must be a finite number of seconds, not {retry_after!r}")
        message = scrub(message)
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = scrub(hint) if hint else _DEFAULT_HINTS[code]
        self.retry_after = retry_after
        self.status = status
        self.details = details or {}

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code.value, "message": self.message, "hint": self.hint}
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        return out

    def __str__(self) -> str:
        text = f"{self.code.value}: {self.message} Hint: {self.hint}"
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g}s)"
        return text


# OpenRouter's `metadata.error_type` vocabulary, where it says more than the status code does.
_ERROR_TYPES: dict[str, ErrorCode] = {
    "context_length_exceeded": ErrorCode.CONTEXT_TOO_LONG,
    "max_tokens_exceeded": ErrorCode.CONTEXT_TOO_LONG,
    "token_limit_exceeded": ErrorCode.CONTEXT_TOO_LONG,
    "string_too_long": ErrorCode.CONTEXT_TOO_LONG,
    "content_policy_violation": ErrorCode.CONTENT_POLICY,
    "refusal": ErrorCode.CONTENT_POLICY,
    "payment_required": ErrorCode.INSUFFICIENT_CREDITS,
    "permission_denied": ErrorCode.FORBIDDEN_SCOPE,
    "authentication": ErrorCode.UNAUTHORIZED,
    "rate_limit_exceeded": ErrorCode.RATE_LIMITED,
    "provider_overloaded": ErrorCode.UPSTREAM_ERROR,
    "provider_unavailable": ErrorCode.UPSTREAM_ERROR,
    "timeout": ErrorCode.UPSTREAM_TIMEOUT,
    "model_not_found": ErrorCode.NOT_FOUND,
    "not_found": ErrorCode.NOT_FOUND,
    "payload_too_large": ErrorCode.TOO_LARGE,
    "image_too_large": ErrorCode.TOO_LARGE,
    "unsupported_image_format": ErrorCode.UNSUPPORTED_FORMAT,
}


# The most of a caller's argument an error message quotes.
QUOTED_CHARS = 60
_LONG_RUN = re.compile(rf"\S{{{QUOTED_CHARS + 1},}}")


def quoted(value: object, *, end: bool = False) -> str:
    """``value`` as an error message quotes a caller's argument: its repr, cut to at most
    ``QUOTED_CHARS`` characters of the text (its ``end`` for a file path, whose name says most),
    so no error echoes an input at length."""
    text = str(value)
    if len(text) > QUOTED_CHARS:
        text = "…" + text[1 - QUOTED_CHARS:] if end else text[:QUOTED_CHARS - 1] + "…"
    return repr(text)


def json_type(value: Any) -> str:
    """The JSON type of a parsed value; a whole float such as 1.0 is an integer, as JSON Schema says."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


_WITH_ARTICLE = {"array": "an array", "object": "an object", "integer": "a number", "null": "null"}


def json_type_phrase(value: Any) -> str:
    """A parsed JSON value's type as an error names it: "an array", "a number", "null"."""
    kind = json_type(value)
    return _WITH_ARTICLE.get(kind, f"a {kind}")


def code_for_status(status: int) -> ErrorCode:
    """Map an HTTP status from any upstream to the taxonomy."""
    if status == 401:
        return ErrorCode.UNAUTHORIZED
    if status == 402:
        return ErrorCode.INSUFFICIENT_CREDITS
    if status == 403:
        return ErrorCode.FORBIDDEN_SCOPE
    if status == 404:
        return ErrorCode.NOT_FOUND
    if status in (408, 504, 524):
        return ErrorCode.UPSTREAM_TIMEOUT
    if status == 413:
        return ErrorCode.TOO_LARGE
    if status == 429:
        return ErrorCode.RATE_LIMITED
    if status >= 500:
        return ErrorCode.UPSTREAM_ERROR
    return ErrorCode.INVALID_INPUT


def short_upstream_text(text: str, limit: int = 300) -> str:
    """An upstream's own words, scrubbed before they are cut, so a cut never splits a key into
    pieces too short to recognise. Huge bodies are bounded first to keep the scrub cheap. A run
    without spaces longer than an error may quote is cut too: it is most often the request's own
    path or an argument echoed back ("No such endpoint: GET /v1/logs/<a 5,000-character id>")."""
    return _LONG_RUN.sub(lambda run: run[0][:QUOTED_CHARS - 1] + "…", scrub(text[: limit * 8]))[:limit]


def error_from_response(
    status: int, body: Any, *, provider: str, retry_after: float | None = None
) -> GatewiseError:
    """Build the error for a non-2xx upstream answer from its status and error body.

    Understands OpenRouter's ``{"error": {"code", "message", "metadata": {"error_type"}}}`` and
    Portkey's ``{"error": {"message", "type"}}`` / ``{"message"}`` shapes; anything else falls
    back to the status code alone.
    """
    message = ""
    error_type = None
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        message = str(err.get("message") or "")
        meta = err.get("metadata")
        if isinstance(meta, dict):
            error_type = meta.get("error_type")
        error_type = error_type or err.get("type")
    elif isinstance(err, str):
        message = err
    elif isinstance(body, dict) and isinstance(body.get("message"), str):
        message = body["message"]
    code = _ERROR_TYPES.get(str(error_type)) if error_type else None
    code = code or code_for_status(status)
    text = f"{provider} answered HTTP {status}"
    if message:
        text += f": {short_upstream_text(message)}"
    # Kept for the fallback, which tells a request no model can take from one this model cannot.
    details = {"error_type": str(error_type)[:64]} if error_type else None
    return GatewiseError(code, text, retry_after=retry_after, status=status, details=details)
