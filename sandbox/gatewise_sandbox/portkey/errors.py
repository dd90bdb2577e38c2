"""Portkey's Admin API errors: the AB01–AB09 codes and the two body shapes they travel in."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from gatewise_sandbox.wire import json_response

STATUS_BY_CODE: dict[str, int] = {
    "AB01": 400, "AB02": 404, "AB03": 403, "AB04": 500, "AB05": 401, "AB06": 429, "AB07": 409,
    "AB08": 404, "AB09": 402,
}
CODE_BY_STATUS: dict[int, str] = {400: "AB01", 401: "AB05", 402: "AB09", 403: "AB03", 404: "AB08",
                                  409: "AB07", 429: "AB06"}
MESSAGES: dict[str, str] = {
    "AB01": "Request Validation Error", "AB02": "Request Validation Error",
    "AB03": "You do not have enough permissions", "AB04": "Internal Server Error",
    "AB05": "Unauthorized access", "AB06": "Rate limit exceeded",
    "AB07": "Resource already exists", "AB08": "Resource not found",
    "AB09": "Subscription exhausted",
}
_TYPES: dict[str, str] = {
    "AB01": "invalid_request_error", "AB02": "invalid_request_error", "AB03": "permission_error",
    "AB04": "api_error", "AB05": "authentication_error", "AB06": "rate_limit_error",
    "AB07": "conflict_error", "AB08": "not_found_error", "AB09": "billing_error",
}


class AdminError(Exception):
    """An Admin API failure. ``message`` must never contain a key or any other secret."""

    def __init__(self, code: str, message: str | None = None, *, param: str | None = None,
                 status: int | None = None, retry_after: float | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES[code]
        super().__init__(self.message)
        self.param = param
        self.status = status or STATUS_BY_CODE[code]
        self.retry_after = retry_after

    def body(self, legacy: bool) -> dict[str, Any]:
        if legacy:  # older resources (virtual keys, configs, feedback, logs)
            return {"success": False, "data": {"message": self.message, "code": self.code}}
        return {"error": {"code": self.code, "message": self.message, "param": self.param,
                          "type": _TYPES.get(self.code, "api_error")}}

    def response(self, legacy: bool = False) -> Response:
        retry = self.retry_after if self.retry_after is not None else (
            1.0 if self.status == 429 else None)  # rate limits always say when to come back
        headers = {} if retry is None else {"Retry-After": format(retry, "g")}
        return json_response(self.body(legacy), self.status, headers)


def invalid(param: str, message: str) -> AdminError:
    """AB01 naming the offending field."""
    return AdminError("AB01", f"{param}: {message}", param=param)


def not_found(what: str, ref: str) -> AdminError:
    return AdminError("AB08", f"{what} not found: {ref[:80]}")


def forbidden() -> AdminError:
    return AdminError("AB03")
