"""A hostile upstream on loopback: an OpenRouter and Portkey stand-in that echoes the key it is
sent in every form it can, answers garbage and drips.

Chat behaviour is picked by the model id (``hostile/<mode>``, or ``portkey:hostile/<mode>``
through the Portkey gateway); the Portkey Admin API answers by :attr:`HostileUpstream.admin_mode`.
Every echo uses the credentials from the request's own headers, as a careless proxy would;
admin mode "answer" serves a canned answer instead (:attr:`HostileUpstream.admin_answer`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from gatewise.redact import KNOWN_PREFIXES

CHAT_MODES = ("err_full", "err_bare", "err_base64", "err_percent", "err_upper", "finish_error",
              "answer", "garbage", "truncated", "huge_error", "huge_answer", "drip")
# Answers that look like success (HTTP 200, a choice) but hold no whole answer.
BROKEN_ANSWER_MODES = ("null_content", "object_content", "cut_off", "empty_at_length")
# Answers whose text is fine but a field read beyond it has the wrong type (billed all the same).
MALFORMED_ANSWER_MODES = ("tool_calls_text", "reasoning_object", "finish_reason_number")
# HTTP 200 bodies that are no JSON object.
NOT_AN_OBJECT_MODES = ("html_page", "cut_json", "json_array", "empty_body")
ADMIN_MODES = ("full", "bare", "encoded", "upper", "echo_list", "garbage", "truncated", "drip")
DRIP_INTERVAL_S = 0.1


def bare(key: str) -> str:
    """The key without its public prefix."""
    return next((key[len(p):] for p in KNOWN_PREFIXES if key.startswith(p)), key)


def percent_all(text: str) -> str:
    return "".join(f"%{b:02X}" for b in text.encode())


def encodings(key: str) -> str:
    """One line carrying the key in every disguise: base64 at three alignments and in both
    alphabets, percent-encoded wholly and partly, upper-cased, bare, and a slice of it."""
    return " | ".join([
        base64.b64encode(key.encode()).decode(),
        base64.b64encode(f"api:{key}".encode()).decode(),
        base64.urlsafe_b64encode(f"xy{key}".encode()).decode(),
        f"https://proxy.example/?key={percent_all(key)}&k2={quote(key, safe='')}",
        key.upper(),
        bare(key),
        bare(key)[3:15].upper(),
    ])


def _keys(request: Request) -> list[str]:
    auth = request.headers.get("authorization", "")
    found = [auth.removeprefix("Bearer ").strip()] if auth else []
    found += [request.headers[h] for h in ("x-portkey-api-key", "x-portkey-virtual-key")
              if h in request.headers]
    return [k for k in found if k] or ["(no key sent)"]


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": status, "message": message, **extra}}, status_code=status)


def _completion(model: str, content: str, **choice: Any) -> dict[str, Any]:
    message = {"role": "assistant", "content": content, **choice.pop("message", {})}
    return {"id": "gen-hostile", "model": model, "provider": "Hostile",
            "choices": [{"index": 0, "finish_reason": "stop", "message": message, **choice}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "cost": 0.00001}}


async def _drip() -> AsyncIterator[bytes]:
    """A byte at a time, for ever (until the client hangs up): each read succeeds in time, so
    only a deadline on the whole exchange ends it."""
    yield b'{"choices": [{"message": {"content": "'
    while True:
        await asyncio.sleep(DRIP_INTERVAL_S)
        yield b"."


def _chat_answer(mode: str, model: str, keys: list[str]) -> Response:
    key, every = keys[0], " / ".join(keys)
    if mode == "err_full":
        return _error(401, f"provider rejected key {every}")
    if mode == "err_bare":
        return _error(400, f"invalid credential {bare(key)}", metadata={"raw": key})
    if mode == "err_base64":
        return _error(403, "Authorization: Basic " + " ".join(encodings(k).split(" | ")[1] for k in keys))
    if mode == "err_percent":
        return _error(404, " ".join(percent_all(k) for k in keys))
    if mode == "err_upper":
        return _error(429, every.upper(), metadata={"error_type": "rate_limit_exceeded"})
    if mode == "finish_error":
        return JSONResponse(_completion(model, "", finish_reason="error",
                                        error={"code": 502, "message": f"upstream key {every} failed"}))
    if mode == "null_content":
        return JSONResponse(_completion(model, "", message={"content": None}))
    if mode == "object_content":
        return JSONResponse(_completion(model, "", message={"content": {"text": f"key {key}"}}))
    if mode == "cut_off":  # the provider broke off: OpenRouter says so only by the finish reason
        return JSONResponse(_completion(model, f"half an answer, key {key}", finish_reason="error"))
    if mode == "empty_at_length":
        return JSONResponse(_completion(model, "", finish_reason="length"))
    if mode == "tool_calls_text":
        return JSONResponse(_completion(model, "hello", message={"tool_calls": "notalist"}))
    if mode == "reasoning_object":
        return JSONResponse(_completion(model, "hello", message={"reasoning": {"effort": "x"}}))
    if mode == "finish_reason_number":
        return JSONResponse(_completion(model, "hello", finish_reason=7))
    if mode == "html_page":
        return Response(f"<html>200 OK for {key}</html>", media_type="text/html")
    if mode == "cut_json":
        return Response(json.dumps(_completion(model, f"hello {key}"))[:60], media_type="application/json")
    if mode == "json_array":
        return JSONResponse([1, 2, 3])
    if mode == "empty_body":
        return Response(b"", media_type="application/json")
    if mode == "answer":
        text = f"Your key is {every}. Also: " + " || ".join(encodings(k) for k in keys)
        body = _completion(model, text, message={
            "reasoning": f"the header held {key}",
            "annotations": [{"type": "url_citation", "url_citation": {
                "url": f"https://leak.example/{bare(key)}", "title": key.upper(),
                "content": encodings(key), "start_index": 0, "end_index": 5}}]})
        return JSONResponse(body)
    if mode == "garbage":
        return PlainTextResponse(f"<html><body>502 proxy error for {every}</body></html>", status_code=502)
    if mode == "truncated":
        return Response(f'{{"id": "x", "choices": [{{"message": {{"content": "{every}',
                        media_type="application/json")
    if mode == "huge_error":
        filler = "x" * 2390
        return _error(500, f"{key} {filler}{key} " + "y" * 1_000_000 + every)
    if mode == "huge_answer":
        filler = "lorem ipsum " * 20_000
        return JSONResponse(_completion(model, f"{filler}{every}{filler}{encodings(key)}"))
    if mode == "drip":
        return StreamingResponse(_drip(), media_type="application/json")
    return _error(400, f"unknown hostile mode {mode!r}")


def _endless_line() -> StreamingResponse:
    """An event stream whose one line never ends: 64 KiB pieces of one data field, for ever."""
    async def events() -> AsyncIterator[bytes]:
        yield b'data: {"choices": [{"delta": {"content": "'
        piece = b"x" * 65536
        while True:
            yield piece
            await asyncio.sleep(0)

    return StreamingResponse(events(), media_type="text/event-stream")


def _sse(keys: list[str]) -> StreamingResponse:
    async def events() -> AsyncIterator[bytes]:
        chunk = {"choices": [{"delta": {"content": f"partial {keys[0]}"}}]}
        yield f"data: {json.dumps(chunk)}\n\n".encode()
        yield f"data: {json.dumps({'error': {'message': f'stream broke for {keys[0]}'}})}\n\n".encode()

    return StreamingResponse(events(), media_type="text/event-stream")


def _model_entry(model_id: str) -> dict[str, Any]:
    return {"id": model_id, "name": f"Hostile {model_id}", "created": 1789430400,
            "context_length": 128000,
            "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["text"]},
            "pricing": {"prompt": "0.0000001", "completion": "0.0000004", "request": "0"},
            "top_provider": {"context_length": 128000, "max_completion_tokens": 4096},
            "supported_parameters": ["max_tokens", "temperature", "tools"]}


class HostileUpstream:
    """The app plus a uvicorn server in a background thread; ``with`` starts and stops it."""

    def __init__(self) -> None:
        self.admin_mode = "full"
        # Admin mode "answer": every Admin API call gets this status, raw JSON text (so it can hold
        # what Python would not write: "\\ud800", 1e999) and headers.
        self.admin_answer: tuple[int, str, dict[str, str]] = (200, "{}", {})
        self.admin_calls: list[tuple[str, str]] = []  # (method, path) of every Admin API call
        self.requests = 0
        self.app = Starlette(routes=[
            Route("/api/v1/models", self._models),
            Route("/api/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/api/v1/{rest:path}", self._openrouter_other, methods=["GET", "POST"]),
            Route("/v1/{rest:path}", self._admin, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ])
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def root_url(self) -> str:
        assert self._socket is not None
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    async def _models(self, request: Request) -> Response:
        models = (*CHAT_MODES, *BROKEN_ANSWER_MODES, *MALFORMED_ANSWER_MODES, *NOT_AN_OBJECT_MODES)
        return JSONResponse({"data": [_model_entry(f"hostile/{m}") for m in models]})

    async def _chat(self, request: Request) -> Response:
        self.requests += 1
        body = await request.json()
        model = str(body.get("model", ""))
        if body.get("stream"):
            return _endless_line() if model.endswith("/endless_line") else _sse(_keys(request))
        return _chat_answer(model.rsplit("/", 1)[-1], model, _keys(request))

    async def _openrouter_other(self, request: Request) -> Response:
        """``/key`` hands the full key back as its label; everything else refuses it by name."""
        self.requests += 1
        key = _keys(request)[0]
        if request.path_params["rest"] == "key":
            return JSONResponse({"data": {"label": key, "limit": 10, "usage": 1, "is_free_tier": False}})
        return _error(401, f"key {key} ({encodings(key)}) may not read this")

    async def _admin(self, request: Request) -> Response:
        self.requests += 1
        self.admin_calls.append((request.method, request.url.path))
        keys = _keys(request)
        key, mode = keys[0], self.admin_mode
        if mode == "answer":
            status, text, headers = self.admin_answer
            return Response(text, status_code=status, headers=headers, media_type="application/json")
        if mode == "full":
            return JSONResponse({"error": {"code": "AB05", "message": f"api key {key} is invalid"}},
                                status_code=401)
        if mode == "bare":
            return JSONResponse({"success": False, "data": {"message": f"{bare(key)} lacks logs.view"}},
                                status_code=403)
        if mode == "encoded":
            return JSONResponse({"message": encodings(key), "param": key}, status_code=400)
        if mode == "upper":
            return PlainTextResponse(key.upper(), status_code=429)
        if mode == "echo_list":
            item = {"id": "k1", "name": key, "description": encodings(key), "key": key,
                    "note": f"created by {bare(key)}"}
            return JSONResponse({"object": "list", "total": 1, "data": [item]})
        if mode == "garbage":
            return PlainTextResponse(f"<html>{key}</html>", status_code=502)
        if mode == "truncated":
            return Response(f'{{"object": "list", "data": [{{"name": "{key}', media_type="application/json")
        return StreamingResponse(_drip(), media_type="application/json")

    def __enter__(self) -> HostileUpstream:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        config = uvicorn.Config(self.app, log_config=None, log_level="warning", lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve(sockets=[sock])),
                                        name="hostile-upstream", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            assert time.monotonic() < deadline and self._thread.is_alive(), "hostile upstream did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None and self._socket is not None
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()
