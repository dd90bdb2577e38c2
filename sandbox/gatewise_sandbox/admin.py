"""``/_sandbox/*``: change fault rules and search behaviour, read counters and reset, while the
sandbox runs.

These routes sit outside ``/api/v1`` so they can never be mistaken for OpenRouter's API.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gatewise_sandbox.checks import BadRequest, json_body
from gatewise_sandbox.faults import WILDCARD, FaultRule
from gatewise_sandbox.state import SandboxState
from gatewise_sandbox.tamper import Tamper
from gatewise_sandbox.wire import json_response


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


async def get_faults(request: Request) -> Response:
    return json_response({"faults": _state(request).faults.table()})


async def put_faults(request: Request) -> Response:
    """Body: ``{"model": "openai/gpt-4o" | "*", "error_rate": 0.3, "statuses": [429], ...}``."""
    state = _state(request)
    try:
        body = await json_body(request)
        model = body.pop("model", WILDCARD)
        if not isinstance(model, str) or not model.strip():
            raise BadRequest("model: expected a model id or '*'")
        rule = FaultRule.from_mapping(body)
    except ValueError as exc:
        return BadRequest(str(exc)).response()
    except BadRequest as exc:
        return exc.response()
    state.faults.set(model.strip(), rule)
    return json_response({"faults": state.faults.table()})


async def delete_faults(request: Request) -> Response:
    """Clear every rule, or only the one named by ``?model=``."""
    state = _state(request)
    state.faults.clear(request.query_params.get("model") or None)
    return json_response({"faults": state.faults.table()})


async def get_search(request: Request) -> Response:
    return json_response(_search_table(_state(request)))


async def put_search(request: Request) -> Response:
    """Body: ``{"reject_server_tool": ["openai/gpt-4o" | "*", ...]}``; an empty list accepts
    the web search server tool everywhere again."""
    state = _state(request)
    try:
        body = await json_body(request)
        models = body.get("reject_server_tool")
        if not isinstance(models, list) or not all(isinstance(m, str) and m.strip()
                                                   for m in models):
            raise BadRequest("reject_server_tool: expected an array of model ids or '*'")
    except BadRequest as exc:
        return exc.response()
    state.reject_server_tool(models)
    return json_response(_search_table(state))


async def put_tamper(request: Request) -> Response:
    """Body: ``{"append_text": "...", "images": [url, ...], "citations": [{"url", "title",
    "content"}, ...]}``: put in every chat answer until changed or reset; ``{}`` stops it."""
    state = _state(request)
    try:
        state.tamper = Tamper.from_body(await json_body(request))
    except BadRequest as exc:
        return exc.response()
    return json_response({"ok": True})


def _search_table(state: SandboxState) -> dict[str, list[str]]:
    return {"reject_server_tool": sorted(state.server_tool_rejections)}


async def stats(request: Request) -> Response:
    return json_response(_state(request).stats())


async def received(request: Request) -> Response:
    """The roles and texts of the latest chat requests, oldest first."""
    return json_response({"requests": _state(request).received_requests()})


async def reset(request: Request) -> Response:
    """Clear counters, rules and generations; an optional ``{"seed": n}`` changes the seed."""
    seed = None
    if await request.body():
        try:
            body = await json_body(request)
            seed = body.get("seed")
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                raise BadRequest("seed: expected an integer")
        except BadRequest as exc:
            return exc.response()
    _state(request).reset(seed)
    return json_response({"ok": True})


async def health(request: Request) -> Response:
    return json_response({"ok": True, "provider": "Sandbox"})
