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


def bound_project() -> str | None:
    """The project the current caller's credential binds it to, if any."""
    caller = CALLER.get()
    return None if caller is None else caller.project


def call_project(asked: str | None) -> str | None:
    """The project a model call is billed to: the caller's own when its credential names one.

    A caller bound to a project cannot bill another (its budgets would not hold otherwise).
    """
    own = bound_project()
    if own is None:
        return asked
    if asked is not None and asked != own:
        raise GatewiseError(ErrorCode.FORBIDDEN_SCOPE,
                            f"this caller's calls belong to project {own!r}, not {quoted(asked)}")
    return own


def whole_gateway(what: str) -> None:
    """Refuse a caller bound to a project what covers every project (``what``: the gateway's
    analytics, its cache, its budgets): its token was given for one project's calls, and these
    would show or change the others'."""
    own = bound_project()
    if own is not None:
        raise GatewiseError(ErrorCode.FORBIDDEN_SCOPE,
                            f"this caller is bound to project {own!r}, and {what} covers every project",
                            hint="Use a token that names no project for the whole gateway's figures "
                                 "and settings.")


def budget_scope(asked: str | None) -> str | None:
    """The budget scope a caller may read: a caller bound to a project reads its own only."""
    own = bound_project()
    if own is None:
        return asked
    if asked is not None and asked != f"project:{own}":
        raise GatewiseError(ErrorCode.FORBIDDEN_SCOPE,
                            f"this caller is bound to project {own!r}; it may read the budget "
                            f"'project:{own}' only, not {quoted(asked)}")
    return f"project:{own}"
