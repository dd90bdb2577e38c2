"""Turn every tool failure into one short error text: a code from the closed taxonomy, a message
and a hint, nothing more.

Anticipated failures keep their own words. Anything else becomes ``INTERNAL`` with a request id;
its traceback goes to the log under the same id, so a report can be matched to it.
"""

from __future__ import annotations

import functools
import logging
import secrets
import traceback
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from mcp import MCPError
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from gatewise.errors import QUOTED_CHARS, ErrorCode, GatewiseError, quoted

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

# Whole error texts, and the parts of an argument error that come from the caller's input.
MAX_ERROR_CHARS = 1024
_MAX_REASON_CHARS = 200


def cap_error_text(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """Every error text that leaves the process passes here, so none echoes an input at length."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_arguments(exc: ValidationError) -> str:
    """The first problem as ``<field>: <reason>``, showing at most a short prefix of the value."""
    first = exc.errors(include_url=False)[0]
    field = ".".join(cap_error_text(str(part), QUOTED_CHARS) for part in first["loc"])
    reason = cap_error_text(str(first["msg"]).removeprefix("Value error, "), _MAX_REASON_CHARS)
    value = first.get("input")
    if isinstance(value, str) and first["type"] != "missing":
        reason += f" (got {quoted(value)})"
    if exc.error_count() > 1:
        reason += f" (and {exc.error_count() - 1} more)"
    return f"{field or 'arguments'}: {reason}"


def failure_text(exc: BaseException, where: str) -> str:
    """What the client reads for a failed call: ``CODE: message Hint: hint``, capped."""
    if isinstance(exc, GatewiseError):
        error = exc
    elif isinstance(exc, ValidationError):
        error = GatewiseError(ErrorCode.INVALID_INPUT, describe_arguments(exc))
    else:
        request_id = secrets.token_hex(6)
        # The traceback goes into the message rather than exc_info so the redacting filter,
        # which scrubs messages, sees it too.
        log.error("%s failed unexpectedly (request id %s)\n%s", where, request_id,
                  "".join(traceback.format_exception(exc)).rstrip())
        error = GatewiseError(ErrorCode.INTERNAL,
                              f"an unexpected error occurred (request id {request_id}).")
    return cap_error_text(str(error))


def tool_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Wrap a tool body so every failure in it reaches the client as a short, coded ToolError.

    The server (``gatewise.mcpkit.server``) applies the same translation to what fails outside
    the body: arguments the input schema rejects, and results that do not convert.
    """

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except (ToolError, MCPError):
            raise  # already worded for the client, or a protocol-level rejection
        except Exception as exc:
            raise ToolError(failure_text(exc, f"tool {fn.__name__}")) from None

    return wrapper
