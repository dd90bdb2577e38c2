"""``PortkeyAdminClient``: the Admin (control-plane) API over the shared pooled, retrying client.

Every operation goes through :meth:`PortkeyAdminClient.call` by its catalogue name, so path
parameters are always URL-encoded, permission failures always name what the endpoint needs, and
writes are never blindly retried. :meth:`PortkeyAdminClient.list_all` walks all three pagination
styles with a page cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from gatewise.config import Limits
from gatewise.errors import ErrorCode, GatewiseError, quoted
from gatewise.portkey.endpoints import ENDPOINTS, Endpoint
from gatewise.portkey.errors import ADMIN_HINTS, admin_error, gated
from gatewise.upstream.http import HttpUpstream

PAGE_SIZE = 100  # the API's maximum for snake_case and camelCase pages
MAX_PAGES = 20  # so a runaway listing costs at most this many requests
# An Admin API answer is JSON of at most a page of items: far larger is a fault, not data to
# hand an agent whole.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# A write answered 429 was not applied, so it is safe to send again; a 5xx might have been.
WRITE_RETRY_ON = frozenset({429})


@dataclass(frozen=True)
class Page:
    """Items gathered from one or more pages; ``truncated`` when more exist than were fetched."""

    items: list[Any]
    total: int | None
    truncated: bool


class PortkeyAdminClient(HttpUpstream):
    error_from_response = staticmethod(admin_error)  # Portkey's AB-coded error bodies
    hints = ADMIN_HINTS

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        limits: Limits,
        name: str = "portkey",
        page_size: int = PAGE_SIZE,
        max_pages: int = MAX_PAGES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, limits=limits, secrets=(api_key,), transport=transport,
                         headers={"x-portkey-api-key": api_key, "Accept": "application/json"},
                         max_response_bytes=min(limits.max_response_bytes, MAX_ANSWER_BYTES))
        self.name = name
        self.page_size = page_size
        self.max_pages = max_pages

    async def call(
        self,
        operation: str,
        path_params: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        timeout_s: float | None = None,
    ) -> Any:
        """Run one catalogue operation and return the decoded answer (None for an empty body);
        ``timeout_s`` bounds it, retries included (default: ``limits.deadline_s``)."""
        endpoint = ENDPOINTS[operation]
        path = fill_path(endpoint, path_params or {})
        retry_on = None if endpoint.method == "GET" else WRITE_RETRY_ON
        try:
            reply = await self.request(endpoint.method, path, params=params, json=body, retry_on=retry_on,
                                       resend_if_lost=endpoint.method == "GET",
                                       timeout_s=timeout_s)
        except GatewiseError as exc:
            if endpoint.method != "GET":
                _outcome_unknown(exc)
            raise gated(exc, endpoint.gate, f"{endpoint.method} {endpoint.path}") from None
        except UnicodeEncodeError:  # raised while httpx encodes the query or the JSON body
            raise _not_unicode("a query parameter or the request body") from None
        if isinstance(reply.body, str):
            if reply.body.strip():  # every Admin API answer is JSON: this is a proxy's page or a cut-off body
                raise GatewiseError(ErrorCode.UPSTREAM_ERROR, f"{self.name} answered HTTP {reply.status} to "
                                    f"{endpoint.method} {endpoint.path} with a body that is not JSON",
                                    hint=ADMIN_HINTS[ErrorCode.UPSTREAM_ERROR])
            return None
        return reply.body

    async def list_all(
        self,
        operation: str,
        path_params: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        limit: int = 50,
    ) -> Page:
        """Up to ``limit`` items, page by page, stopping at a short page, ``total`` or the page cap."""
        style = ENDPOINTS[operation].paging
        if style is None:  # the endpoint returns everything at once
            everything, count = list_items(await self.call(operation, path_params, params=params))
            return Page(everything[:limit], count if count is not None else len(everything),
                        len(everything) > limit)
        paging = style.value
        size = max(1, min(self.page_size, limit))
        items: list[Any] = []
        total: int | None = None
        page = paging.first
        pages = 0
        while True:
            query = {**(params or {}), paging.page: page, paging.size: size}
            got, total = list_items(await self.call(operation, path_params, params=query))
            items.extend(got)
            pages += 1
            done = len(got) < size or (total is not None and (page - paging.first + 1) * size >= total)
            if done or len(items) >= limit or pages >= self.max_pages:
                break
            page += 1
        kept = items[:limit]
        more = total > len(kept) if total is not None else (not done or len(items) > limit)
        return Page(kept, total, more)


def fill_path(endpoint: Endpoint, values: Mapping[str, str]) -> str:
    """The endpoint path with every ``{name}`` replaced by its URL-encoded value."""
    path = endpoint.path
    for name, value in values.items():
        if not value:
            raise GatewiseError(ErrorCode.INVALID_INPUT, f"`{name}` must not be empty")
        if not _one_segment(name, str(value)):
            raise GatewiseError(ErrorCode.INVALID_INPUT, f"`{name}` {quoted(str(value))} is not an id",
                                hint="Pass the id as the API returned it.")
        try:
            path = path.replace(f"{{{name}}}", quote(str(value), safe=""))
        except UnicodeEncodeError:
            raise _not_unicode(f"`{name}`") from None
    if "{" in path:
        missing = path[path.index("{") + 1:path.index("}")]
        raise GatewiseError(ErrorCode.INVALID_INPUT, f"`{missing}` is required for this action")
    return path


# Model names hold a slash ("meta-llama/llama-3.1-8b"); an id never does.
_SLASHED = frozenset({"model"})


def _one_segment(name: str, value: str) -> bool:
    """Whether ``value`` names one item wherever the path is decoded: "." and ".." are path steps,
    even percent-encoded (a client or server that normalises the path would send ".../users/.."
    to the workspace itself), and a slash, even encoded, is one a proxy may decode ("x/users");
    control characters are in no id."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return False
    steps = value.replace("\\", "/").split("/")
    if len(steps) > 1 and name not in _SLASHED:
        return False
    return all(step not in ("", ".", "..") for step in steps)


def _outcome_unknown(error: GatewiseError) -> None:
    """A write that timed out, or lost its connection, after it was sent may have been applied:
    say so, rather than invite a retry that could apply it twice. A failed connect sent nothing
    and is left as it is."""
    timed_out = error.code is ErrorCode.UPSTREAM_TIMEOUT and not error.details.get("connect")
    if timed_out or error.details.get("connection"):
        error.message += "; the change may have been applied"
        error.hint = ("Check whether it was (list or get the item) before sending it again: a "
                      "repeat could apply it twice.")


def _not_unicode(where: str) -> GatewiseError:
    # A lone surrogate has no UTF-8 form. JSON-RPC frames cannot carry one, but an in-process
    # caller can pass one.
    return GatewiseError(ErrorCode.INVALID_INPUT,
                         f"{where} holds text that is not valid Unicode (a lone surrogate)",
                         hint="Send the text as valid UTF-8.")


def list_items(body: Any) -> tuple[list[Any], int | None]:
    """The items and the total of a list answer in any of the API's shapes.

    ``{"data": [...], "total"}``, ``{"success": true, "data": [...]}``, a nested
    ``{"data": {"<name>": [...]}}``, a bare array, or SCIM's ``{"mappings": [...], "total_count"}``.
    """
    if isinstance(body, list):
        return body, None
    if body is None:  # an empty answer: nothing listed
        return [], None
    data = body.get("data", body) if isinstance(body, dict) else body
    if not isinstance(data, dict | list):  # text or a number where items belong: not an empty list
        raise GatewiseError(ErrorCode.UPSTREAM_ERROR, "the answer to a list request holds no list of items",
                            hint=ADMIN_HINTS[ErrorCode.UPSTREAM_ERROR])
    total = body.get("total", body.get("total_count"))
    if isinstance(data, dict):
        total = data.get("total", total)
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list):
        return [], None
    return data, total if isinstance(total, int) and not isinstance(total, bool) else None


def unwrap(body: Any) -> Any:
    """The object inside the older ``{"success": true, "data": {...}}`` envelope."""
    if isinstance(body, dict) and body.get("success") is True and "data" in body and len(body) <= 3:
        return body["data"]
    return body
