"""Portkey Admin API failures (AB01–AB09, two body shapes) as gatewise errors that say what to do.

A bare "403" teaches a model nothing; the messages here name the scope or plan the endpoint needs
(see :mod:`gatewise.portkey.endpoints`), say "already exists" for AB07 and keep Portkey's own
message, which for validation errors names the offending field.
"""

from __future__ import annotations

import math
from typing import Any

from gatewise.errors import ErrorCode, GatewiseError, code_for_status, short_upstream_text

CODES: dict[str, ErrorCode] = {
    "AB01": ErrorCode.INVALID_INPUT,
    "AB02": ErrorCode.NOT_FOUND,
    "AB03": ErrorCode.FORBIDDEN_SCOPE,
    "AB04": ErrorCode.UPSTREAM_ERROR,
    "AB05": ErrorCode.UNAUTHORIZED,
    "AB06": ErrorCode.RATE_LIMITED,
    "AB07": ErrorCode.INVALID_INPUT,
    "AB08": ErrorCode.NOT_FOUND,
    "AB09": ErrorCode.INSUFFICIENT_CREDITS,
}
_STATUS_CODES = {409: "AB07", 402: "AB09"}

DEFAULT_GATE = "a key whose scopes allow this operation"
# Only a rate limit or an unavailable service is over after a wait: a Retry-After on any other
# failure (a 400, 401, 404, 409...) would invite a retry that fails the same way.
RETRY_AFTER_STATUSES = frozenset({429, 503})
ADMIN_MAX_RETRY_AFTER_S = 3600.0  # a longer wait asked for is reported as this


def parse_error_body(body: Any) -> tuple[str | None, str, str | None]:
    """``(AB code, message, param)`` from either body shape; missing parts are None or empty.

    Newer resources answer ``{"error": {"code", "message", "param", "type"}}``, older ones
    ``{"success": false, "data": {"message"}}``; some proxies answer ``{"message"}`` or plain text.
    """
    code = param = None
    message = ""
    if isinstance(body, dict):
        inner = body.get("error")
        if not isinstance(inner, dict):
            inner = body.get("data") if body.get("success") is False else None
        if isinstance(inner, dict):
            code, param = inner.get("code"), inner.get("param")
            message = str(inner.get("message") or "")
        elif isinstance(body.get("error"), str):
            message = body["error"]
        if not message and isinstance(body.get("message"), str):
            message = body["message"]
    elif isinstance(body, str):
        message = body
    code = code if isinstance(code, str) and code in CODES else None
    return code, short_upstream_text(message.strip()), param if isinstance(param, str) else None


# The taxonomy's default hints speak of models to route to; an Admin API call has none. These
# serve every failure of an Admin API call: an answer's status, no answer, an unusable one.
ADMIN_HINTS = {
    ErrorCode.RATE_LIMITED: "Wait for retry_after seconds: Portkey limits Admin API requests per key.",
    ErrorCode.UPSTREAM_ERROR: "Portkey's Admin API failed or could not be reached: retry later (reads "
                              "are retried already); if it persists, check PORTKEY_BASE_URL.",
    ErrorCode.UPSTREAM_TIMEOUT: "Portkey's Admin API was too slow: retry later, or raise "
                                "limits.read_timeout_s; if it persists, check PORTKEY_BASE_URL.",
    ErrorCode.CONTENT_POLICY: "Portkey refused the request's content; check the fields sent.",
}


def admin_error(status: int, body: Any, *, provider: str, retry_after: float | None = None
                ) -> GatewiseError:
    """The error for one non-2xx answer, before the endpoint adds what it needs (:func:`gated`)."""
    ab, message, param = parse_error_body(body)
    ab = ab or _STATUS_CODES.get(status)
    code = CODES[ab] if ab else code_for_status(status)
    text = f"{provider} answered HTTP {status}" + (f" ({ab})" if ab else "")
    hint = ADMIN_HINTS.get(code)
    if ab == "AB07":
        text += ": already exists"
        hint = "Pick another name or slug, or update the existing item instead of creating one."
    if message:
        text += f": {message}"
    if param and param not in message:
        text += f" (field: {param})"
    return GatewiseError(code, text, hint=hint, retry_after=_retry_after(status, retry_after),
                         status=status, details={"admin_code": ab, "param": param})


def _retry_after(status: int, seconds: float | None) -> float | None:
    """The wait worth reporting: for a 429 or 503 only, finite, at most ADMIN_MAX_RETRY_AFTER_S."""
    if status not in RETRY_AFTER_STATUSES or seconds is None or not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), ADMIN_MAX_RETRY_AFTER_S)


def gated(error: GatewiseError, gate: str | None, operation: str) -> GatewiseError:
    """Name what the endpoint needs on a permission failure; other errors pass unchanged."""
    need = gate or DEFAULT_GATE
    if error.code is ErrorCode.FORBIDDEN_SCOPE:
        error.message += f". {operation} needs {need}."
        error.hint = ("Use an organisation admin key with the needed scope, or ask an org owner to "
                      "grant it; Enterprise-gated endpoints answer 403 AB03 to workspace keys.")
    elif error.code is ErrorCode.UNAUTHORIZED:
        error.message += f". {operation} needs {need}; the key was rejected or lacks that scope."
        error.hint = "Check PORTKEY_API_KEY and the key's scopes in Portkey (API Keys page)."
    return error
