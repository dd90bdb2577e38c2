"""``POST /chat/completions``: model choice with fallbacks, faults, plain and streamed answers."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gatewise.catalog import ModelInfo
from gatewise_sandbox import answers, imagegen, vision, websearch
from gatewise_sandbox.checks import (
    BadRequest,
    ChatRequest,
    check_auth,
    header_fault,
    json_body,
    parse_chat,
)
from gatewise_sandbox.faults import Fault
from gatewise_sandbox.state import SandboxState
from gatewise_sandbox.wire import (
    INJECTED,
    MESSAGES,
    STOPPED,
    Generation,
    Usage,
    chunk,
    completion,
    delta,
    error_response,
    json_response,
)

KEEPALIVE = b": OPENROUTER PROCESSING\n\n"
DONE = b"data: [DONE]\n\n"
_PIECE = re.compile(r"\S+\s*|\s+")
WORDS_PER_CHUNK = 4


def new_id() -> str:
    return f"gen-{int(time.time())}-{secrets.token_hex(10)}"


@dataclass(frozen=True)
class Plan:
    """The model that answers, the fault it suffers, and the failures failed over on the way."""

    info: ModelInfo
    fault: Fault
    prompt_tokens: int
    failed_over: tuple[int, ...]
    media: vision.Media = vision.NO_MEDIA
    wanted: imagegen.ImageRequest | None = None  # image output asked for through `modalities`
    search: websearch.Search | None = None  # the web search run for this request


async def chat_completions(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    started = time.perf_counter()
    if (denied := check_auth(request)) is not None:
        return denied
    try:
        body = await json_body(request)
        named = body.get("model")
        state.receive(named if isinstance(named, str) and named else state.config.default_model,
                      body.get("messages"))
        chat = parse_chat(body, state.config.default_model)
        wanted = imagegen.requested(body)
        searching = websearch.requested(body, chat.candidates[0])
        forced = header_fault(request)
        plan = _plan(state, chat, forced, vision.inspect(chat.messages), wanted, searching)
    except BadRequest as exc:
        return exc.response()
    if isinstance(plan, Response):
        return plan
    fault = plan.fault
    latency_s = (state.config.base_latency_ms + fault.latency_ms) / 1000
    if fault.kind == "timeout":
        return await hang(state, request)
    if fault.kind == "error" or not chat.stream:
        if not await state.pause(latency_s, disconnect_waiter(request)):
            return error_response(503, STOPPED, error_type="server")
        if fault.kind == "error":
            return injected_error(fault, plan.info)
        return _plain(state, chat, plan, started, _origin(request))
    return _streamed(state, chat, plan, started, latency_s, _origin(request))


def _plan(state: SandboxState, chat: ChatRequest, forced: Fault | None, media: vision.Media,
          wanted: imagegen.ImageRequest | None,
          searching: websearch.SearchRequest | None) -> Plan | Response:
    """Walk the model and its fallbacks: models lacking a needed modality or refusing the search
    tool, context overflows and injected errors move on."""
    infos: list[ModelInfo] = []
    for name in chat.candidates:
        info = state.model(name)
        if info is None:
            return error_response(404, f"{name} is not a valid model ID",
                                  error_type="model_not_found")
        if "text" not in info.output_modalities:
            return error_response(400, f"{name} does not produce text; it has no chat endpoint",
                                  error_type="wrong_endpoint")
        infos.append(info)
    tokens = answers.prompt_tokens(chat.messages, media.tokens)
    failed: list[int] = []
    for i, info in enumerate(infos):
        last = i == len(infos) - 1
        if (unsupported := _unsupported(info, media, wanted)) is not None:
            if last:  # as OpenRouter answers: no endpoint of the model serves the request
                return error_response(404, unsupported, error_type="no_endpoints")
            continue  # upstream only routes to endpoints that take the request's modalities
        if searching is not None and searching.server_tool and state.rejects_server_tool(info.id):
            if last:
                return error_response(404, websearch.rejection(info.id), error_type="not_found")
            continue
        if info.context_length and tokens > info.context_length:
            if last:
                return error_response(400, _too_long(info, tokens),
                                      error_type="context_length_exceeded")
            failed.append(400)
            continue
        fault = state.fault_for(info.id, forced)
        if fault.kind == "error" and not fault.forced and not last:
            failed.append(fault.status)
            continue
        search = websearch.run(searching, info.id, chat.messages) if searching else None
        return Plan(info, fault, tokens, tuple(failed), media, wanted, search)
    raise AssertionError("unreachable: the last candidate always returns")


def _unsupported(info: ModelInfo, media: vision.Media,
                 wanted: imagegen.ImageRequest | None) -> str | None:
    missing = sorted(media.modalities.difference(info.input_modalities))
    if missing:
        return f"No endpoints found for {info.id} that support {missing[0]} input"
    if wanted is not None and "image" not in info.output_modalities:
        return f"No endpoints found for {info.id} that support image output"
    return None


def _too_long(info: ModelInfo, tokens: int) -> str:
    return (f"This model's maximum context length is {info.context_length} tokens, but the "
            f"prompt has about {tokens} tokens. Shorten the messages or pick a larger model.")


def injected_error(fault: Fault, info: ModelInfo) -> Response:
    error_type = fault.error_type_or_default
    if error_type == "context_length_exceeded":
        message = _too_long(info, info.context_length + 1)
    else:
        message = MESSAGES.get(fault.status, "Provider returned error")
    return error_response(fault.status, message + INJECTED, error_type=error_type,
                          retry_after=fault.retry_after,
                          metadata={"provider_name": "Sandbox", "injected": True})


async def hang(state: SandboxState, request: Request) -> Response:
    """A provider that never answers: wait far longer than any client would."""
    if await state.pause(state.config.timeout_s, disconnect_waiter(request)):
        return error_response(524, MESSAGES[524] + INJECTED, error_type="timeout")
    return error_response(503, STOPPED, error_type="server")


def disconnect_waiter(request: Request) -> Callable[[], Awaitable[None]]:
    """Waits until the client hangs up (the request body has been read by then)."""
    async def wait() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
    return wait


def _origin(request: Request) -> str:
    return request.headers.get("http-referer", "")[:200]


def _answer(state: SandboxState, chat: ChatRequest, plan: Plan) -> tuple[str, int, str, list[dict[str, Any]]]:
    """The text, its token count, the finish reason and the text's citations, honouring the
    output limit, with any tampering added."""
    info = plan.info
    citations: list[dict[str, Any]] = []
    if plan.wanted is not None:
        prompt = answers.last_user_text(chat.messages)
        text = answers.marker(info.id) + imagegen.caption(prompt, plan.wanted.count)
    elif plan.search is not None:
        text, citations = websearch.reply(info.id, plan.search)
    else:
        text = answers.answer(info.id, chat.messages, plan.media.notes)
    limits = [n for n in (chat.max_tokens, info.max_completion_tokens) if n]
    limit = min(limits) if limits else None
    tokens = answers.count_tokens(text)
    finish = "stop"
    if limit is not None and tokens > limit:
        text = answers.truncate(text, limit)
        tokens, finish, citations = limit, "length", websearch.surviving(citations, len(text))
    tamper = state.tamper
    return text + tamper.append_text, tokens, finish, citations + tamper.annotations()


def _pictures(state: SandboxState, chat: ChatRequest, plan: Plan) -> list[dict[str, Any]]:
    if state.tamper.images:
        return state.tamper.pictures()
    if plan.wanted is None:
        return []
    return imagegen.images(plan.wanted, answers.last_user_text(chat.messages))


def _usage(plan: Plan, text_tokens: int, pictures: int) -> Usage:
    """Generated images count as output tokens at the completion price, as upstream bills them;
    search results count as prompt tokens, and the search fee comes on top."""
    image_tokens = pictures * imagegen.IMAGE_TOKENS
    search = plan.search
    tokens_in = plan.prompt_tokens + (search.tokens if search else 0)
    usage = Usage.priced(plan.info, tokens_in, text_tokens + image_tokens)
    if image_tokens:
        usage = replace(usage, image_tokens=image_tokens)
    if search:
        usage = replace(usage, search_cost=search.fee, search_requests=1)
    return usage


def _plain(state: SandboxState, chat: ChatRequest, plan: Plan, started: float, origin: str
           ) -> Response:
    info = plan.info
    text, tokens_out, finish, citations = _answer(state, chat, plan)
    pictures = _pictures(state, chat, plan)
    error: dict[str, Any] | None = None
    if plan.fault.kind == "mid_stream":  # the provider died part-way: a partial, failed choice
        text = text[: max(1, len(text) // 2)]
        tokens_out = answers.count_tokens(text)
        finish = "error"
        pictures = []
        citations = websearch.surviving(citations, len(text))
        error = {"code": plan.fault.status,
                 "message": "Provider disconnected unexpectedly" + INJECTED,
                 "metadata": {"error_type": plan.fault.error_type_or_default}}
    usage = _usage(plan, tokens_out, len(pictures))
    gen_id, created = new_id(), int(time.time())
    body = completion(gen_id, created, info.id, text, finish, usage, error, pictures, citations)
    body["usage"] = plan.fault.usage_of(body["usage"])
    _remember(state, gen_id, plan, usage, started, finish, origin, streamed=False)
    return json_response(body, headers={"X-Generation-Id": gen_id})


def _streamed(state: SandboxState, chat: ChatRequest, plan: Plan, started: float,
              latency_s: float, origin: str) -> Response:
    gen_id, created = new_id(), int(time.time())
    info = plan.info

    async def events() -> AsyncIterator[bytes]:
        yield KEEPALIVE
        remaining = latency_s
        while remaining > 0:  # keep the connection visibly alive while "the model thinks"
            step = min(remaining, state.config.keepalive_s)
            if not await state.pause(step):
                return
            remaining -= step
            if remaining > 0:
                yield KEEPALIVE
        text, tokens_out, finish, citations = _answer(state, chat, plan)
        pieces = _pieces(text)
        pictures: list[dict[str, Any]] = []
        if plan.fault.kind == "mid_stream":
            pieces = pieces[: max(1, len(pieces) // 2)]
        else:
            pictures = _pictures(state, chat, plan)
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1 and plan.fault.kind != "mid_stream"
            choice = delta(piece, first=i == 0, finish_reason=finish if last else None)
            if last and pictures:
                choice["delta"]["images"] = pictures
            if last and citations:
                choice["delta"]["annotations"] = citations
            yield chunk(gen_id, created, info.id, [choice])
        if plan.fault.kind == "mid_stream":
            sent = "".join(pieces)
            usage = _usage(plan, answers.count_tokens(sent), 0)
            _remember(state, gen_id, plan, usage, started, "error", origin, streamed=True)
            error = {"code": "server_error",
                     "message": "Provider disconnected unexpectedly" + INJECTED,
                     "metadata": {"error_type": plan.fault.error_type_or_default}}
            yield chunk(gen_id, created, info.id, [delta("", finish_reason="error")], error=error)
            return  # no failover and no usage once a stream has started, as upstream
        usage = _usage(plan, tokens_out, len(pictures))
        _remember(state, gen_id, plan, usage, started, finish, origin, streamed=True)
        yield chunk(gen_id, created, info.id, [], usage=plan.fault.usage_of(usage.to_chat()))
        yield DONE

    headers = {"X-Generation-Id": gen_id, "Cache-Control": "no-cache"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def _remember(state: SandboxState, gen_id: str, plan: Plan, usage: Usage, started: float,
              finish: str, origin: str, *, streamed: bool) -> None:
    search = plan.search
    state.remember(Generation(gen_id, plan.info.id, time.time(), usage,
                              (time.perf_counter() - started) * 1000, finish, streamed,
                              origin=origin, attempts=plan.failed_over,
                              search_results=len(search.results) if search else 0,
                              search_engine=search.engine if search else None))


def _pieces(text: str) -> list[str]:
    words = _PIECE.findall(text)
    step = WORDS_PER_CHUNK
    return ["".join(words[i:i + step]) for i in range(0, len(words), step)] or [""]
