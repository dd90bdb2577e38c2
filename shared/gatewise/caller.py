"""Who is making the current call, when a server is reached over authenticated HTTP.

The HTTP auth layer sets :data:`CALLER` for each request; the MCP SDK carries the request's
context variables into the task that runs the tool, so the call pipeline reads them here without
knowing about HTTP. Over stdio (a desktop client on its own machine) there is no caller.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from gatewise.errors import ErrorCode, GatewiseError, quoted


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: a configured token's name or a JWT's subject, never the token."""

    name: str
    project: str | None = None


CALLER: ContextVar[Caller | None] = ContextVar("gatewise_caller", default=None)


def caller_name() -> str | None:
    """The name the ledger records for the current call's caller; None over stdio or in-process."""
    caller = CALLER.get()
    return None if caller is None else caller.name


def call_project(asked: str | None) -> str | None:
    """The project a model call is billed to: the caller's own when its credential names one.

    A caller bound to a project cannot bill another (its budgets would not hold otherwise).
    """
    caller = CALLER.get()
    if caller is None or caller.project is None:
        return asked
    if asked is not None and asked != caller.project:
        raise GatewiseError(ErrorCode.FORBIDDEN_SCOPE,
                            f"this caller's calls belong to project {caller.project!r}, not {quoted(asked)}")
    return caller.project


def whole_gateway(what: str) -> None:
    """Refuse a caller bound to a project what covers every project (``what``: the gateway's
    analytics, its cache, its budgets): its token was given for one project's calls, and these
    would show or change the others'."""
    caller = CALLER.get()
    if caller is not None and caller.project is not None:
        raise GatewiseError(ErrorCode.FORBIDDEN_SCOPE,
                            f"this caller is bound to project {caller.project!r}, and {what} covers "
                            "every project",
                            hint="Use a token that names no project for the whole gateway's figures "
                                 "and settings.")


def budget_scope(asked: str | None) -> str | None:
    """The budget scope a caller may read: a caller bound to a project reads its own only."""
    caller = CALLER.get()
    if caller is None or caller.project is None:
        return asked
    own = f"project:{caller.project}"
    if asked is not None and asked != own:
        raise GatewiseError(ErrorCode.FORBIDDEN_SCOPE,
                            f"this caller is bound to project {caller.project!r}; it may read the "
                            f"budget {own!r} only, not {quoted(asked)}")
    return own
