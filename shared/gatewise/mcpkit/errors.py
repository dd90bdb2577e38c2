"""Turn core failures into MCP tool errors: the code, the message and the hint, nothing more."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from gatewise.config import describe_validation_error
from gatewise.errors import ErrorCode, GatewiseError

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def as_tool_error(exc: GatewiseError) -> ToolError:
    return ToolError(str(exc))


def tool_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Wrap a tool so every anticipated failure reaches the client as a clear ToolError.

    Anything unexpected is left to the SDK, which masks it (no internals leak) and logs it.
    """

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except GatewiseError as exc:
            log.info("tool %s failed: %s", fn.__name__, exc.code.value)
            raise as_tool_error(exc) from None
        except ValidationError as exc:
            error = GatewiseError(ErrorCode.INVALID_INPUT, describe_validation_error(exc, "input"))
            raise as_tool_error(error) from None

    return wrapper
