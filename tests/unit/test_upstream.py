"""The upstream client against the real sandbox over loopback: retries, backoff, errors, SSE."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import re
import socket
import ssl
import time
import zlib
from collections.abc import Sequence
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from compression_support import MB, gzip_zeros, peak_while
from gatewise.cache.embedders import UpstreamEmbedder
from gatewise.catalog import Catalog
from gatewise.config import Settings
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.portkey.client import PortkeyAdminClient
from gatewise.routing.analyze import estimated_tokens
from gatewise.runtime import Runtime
from gatewise.upstream.http import (
    _KEPT_URLS,
    MAX_RETRY_AFTER_S,
    HttpUpstream,
    RetryPolicy,
    parse_retry_after,
    tls_context,
)
from gatewise.upstream.openrouter import ChatResult, OpenRouterClient, UnusableAnswer
from gatewise.upstream.sse import iter_sse_json

MODEL = "openai/gpt-4o-mini"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "What is 2+3?"}]}


def client_for(settings: Settings, **limits) -> OpenRouterClient:
    if limits:
        settings = settings.model_copy(update={"limits": settings.limits.model_copy(update=limits)})
    return OpenRouterClient(settings)


def test_retry_after_parsing() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = time.time()
    assert parse_retry_after(formatdate(now + 10, usegmt=True), now=now) == pytest.approx(10, abs=1)
    assert parse_retry_after(formatdate(now - 10, usegmt=True), now=now) == 0.0


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400"])
def test_a_retry_after_that_is_not_a_finite_number_counts_as_absent(value: str) -> None:
    assert parse_retry_after(value) is None


def test_an_absurd_retry_after_is_capped_at_a_day() -> None:
    assert parse_retry_after("99999999999999999999") == MAX_RETRY_AFTER_S == 86400
    assert parse_retry_after(formatdate(time.time() + 10**9, usegmt=True)) == MAX_RETRY_AFTER_S


def test_an_error_refuses_a_retry_after_that_is_not_finite() -> None:
    for value in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError, match="finite"):
            GatewiseError(ErrorCode.RATE_LIMITED, "slow down", retry_after=value)
    assert GatewiseError(ErrorCode.RATE_LIMITED, "slow down", retry_after=2.5).retry_after == 2.5


async def test_a_429_with_retry_after_nan_is_retried_on_the_backoff(settings: Settings) -> None:
    """It stalled the call until its deadline and read "(retry after nans)"."""
    recorder = _Recorder(b'{"error": {"message": "slow down", "code": 429}}', status=b"429 Too Many Requests",
                         extra_headers=b"Retry-After: nan\r\n")
    limits = {"max_retries": 2, "backoff_base_s": 0.01, "backoff_max_s": 0.02, "deadline_s": 20}
    started = time.monotonic()
    with pytest.raises(GatewiseError) as refused:
        await _exchange(settings.model_copy(update={"limits": settings.limits.model_copy(update=limits)}),
                        recorder)
    assert time.monotonic() - started < 2 and len(recorder.requests) == 3
    assert refused.value.code is ErrorCode.RATE_LIMITED and refused.value.retry_after is None
    assert "nan" not in str(refused.value)


def test_backoff_is_capped_jittered_and_defers_to_the_server() -> None:
    policy = RetryPolicy(max_retries=5, backoff_base_s=0.5, backoff_max_s=2.0, retry_after_cap_s=10)
    rng = random.Random(1)
    delays = [policy.delay(n, None, rng) for n in range(8) for _ in range(50)]
    assert max(delays) <= 2.0 and min(delays) >= 0 and len(set(delays)) > 100
    assert policy.delay(0, 3.0, rng) == 3.0
    assert policy.delay(0, 99.0, rng) == 10


async def test_clients_share_one_tls_context(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each new context loads the CA bundle again, which a runtime and every test used to pay."""
    shared = tls_context()
    built: list[object] = []
    real = ssl.create_default_context
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **kw: built.append(a) or real(*a, **kw))
    for _ in range(2):
        runtime = await Runtime.open(settings)
        await runtime.close()
    async with client_for(settings) as client:
        await client.list_models()
    assert built == [] and tls_context() is shared


async def test_chat_answer_parsed(settings: Settings, upstream) -> None:
    async with client_for(settings) as client:
        result = await client.chat(BODY)
    assert result.model == MODEL and "5" in result.content
    assert result.tokens_in > 0 and result.tokens_out > 0 and result.cost_usd > 0
    assert result.id.startswith("gen-") and result.finish_reason == "stop"


async def test_5xx_is_retried_then_succeeds(settings: Settings, upstream) -> None:
    upstream.fault(MODEL, error_rate=0.5, statuses=[502])
    async with client_for(settings, max_retries=6, backoff_base_s=0.001) as client:
        for _ in range(10):
            await client.chat(BODY)  # each call survives a 50 % failure rate
    stats = upstream.stats()["models"][MODEL]
    assert stats["requests"] > 10 and stats["injected"] > 0


async def test_429_honours_retry_after(settings: Settings, upstream) -> None:
    upstream.fault(MODEL, error_rate=1.0, statuses=[429], retry_after=0.2)
    async with client_for(settings, max_retries=2) as client:
        started = time.monotonic()
        with pytest.raises(GatewiseError) as info:
            await client.chat(BODY)
        elapsed = time.monotonic() - started
    assert info.value.code is ErrorCode.RATE_LIMITED and info.value.retry_after == 0.2
    assert elapsed >= 0.4  # two pauses of Retry-After seconds
    assert upstream.stats()["models"][MODEL]["requests"] == 3


async def test_retry_after_beyond_the_cap_fails_fast(settings: Settings, upstream) -> None:
    upstream.fault(MODEL, error_rate=1.0, statuses=[429], retry_after=120)
    async with client_for(settings, max_retries=3, retry_after_cap_s=5) as client:
        with pytest.raises(GatewiseError) as info:
            await client.chat(BODY)
    assert info.value.retry_after == 120
    assert upstream.stats()["models"][MODEL]["requests"] == 1


@pytest.mark.parametrize(("status", "code"), [(400, ErrorCode.INVALID_INPUT),
                                              (402, ErrorCode.INSUFFICIENT_CREDITS),
                                              (403, ErrorCode.FORBIDDEN_SCOPE)])
async def test_other_4xx_are_not_retried(settings: Settings, upstream, status, code) -> None:
    upstream.fault(MODEL, error_rate=1.0, statuses=[status])
    async with client_for(settings, max_retries=3) as client:
        with pytest.raises(GatewiseError) as info:
            await client.chat(BODY)
    assert info.value.code is code
    assert upstream.stats()["models"][MODEL]["requests"] == 1


async def test_bad_key_is_unauthorized_and_never_echoed(settings: Settings, upstream) -> None:
    key = "sk-bad-0123456789abcdef"
    bad = settings.model_copy(update={"openrouter_api_key": __import__("pydantic").SecretStr(key)})
    async with OpenRouterClient(bad) as client:
        with pytest.raises(GatewiseError) as info:
            await client.key_info()
    assert info.value.code is ErrorCode.UNAUTHORIZED
    assert key not in str(info.value)


async def test_deadline_bounds_a_hanging_upstream(settings: Settings, upstream) -> None:
    upstream.fault(MODEL, timeout_rate=1.0)
    async with client_for(settings, read_timeout_s=30) as client:
        started = time.monotonic()
        with pytest.raises(GatewiseError) as info:
            await client.chat(BODY, timeout_s=0.5)
    assert info.value.code is ErrorCode.UPSTREAM_TIMEOUT
    assert time.monotonic() - started < 3


async def test_connection_refused_is_an_upstream_error(settings: Settings) -> None:
    dead = settings.model_copy(update={"sandbox_url": "http://127.0.0.1:9/api/v1"})
    async with OpenRouterClient(dead) as client:
        with pytest.raises(GatewiseError) as info:
            await client.chat(BODY, retries=1)
    assert info.value.code is ErrorCode.UPSTREAM_ERROR and "could not reach" in info.value.message


async def test_streaming_yields_chunks_and_final_usage(settings: Settings, upstream) -> None:
    async with client_for(settings) as client:
        events = [e async for e in client.chat_stream(BODY)]
    text = "".join(c["delta"].get("content", "") for e in events for c in e["choices"])
    assert "5" in text
    assert events[-1]["choices"] == [] and events[-1]["usage"]["cost"] > 0


async def test_mid_stream_error_is_raised(settings: Settings, upstream) -> None:
    async with client_for(settings) as client:
        with pytest.raises(GatewiseError) as info:
            async for _ in client.chat_stream(BODY, headers={"X-Gatewise-Fault": "mid_stream_error=1"}):
                pass
    assert info.value.code is ErrorCode.UPSTREAM_ERROR and "mid-way" in info.value.message


async def test_catalogue_key_credits_generation_embeddings(settings: Settings, upstream) -> None:
    async with client_for(settings) as client:
        models = await client.list_models()
        assert any(m["id"] == MODEL for m in models["data"])
        result = await client.chat(BODY)
        generation = await client.generation(result.id)
        assert generation["total_cost"] == pytest.approx(result.cost_usd)
        vectors, usage = await client.embeddings("openai/text-embedding-3-large", ["a", "b"], 64)
        assert len(vectors) == 2 and len(vectors[0]) == 64 and usage["prompt_tokens"] > 0


async def test_sse_parser_handles_comments_multiline_and_done() -> None:
    async def lines():
        for line in [": OPENROUTER PROCESSING", "", 'data: {"a":', "data: 1}", "", "data: [DONE]",
                     "", 'data: {"never": 1}', ""]:
            yield line

    assert [e async for e in iter_sse_json(lines())] == [{"a": 1}]


def test_reasoning_without_an_answer_is_a_failure_not_an_empty_success() -> None:
    def body(**message) -> dict:
        return {"id": "gen-1", "model": "openai/gpt-5-mini", "choices": [
            {"finish_reason": "length", "message": {"role": "assistant", **message}}]}

    with pytest.raises(GatewiseError) as caught:
        ChatResult.from_body(body(content="", reasoning="Let me think step by step…"), 1.0)
    assert caught.value.code is ErrorCode.UPSTREAM_ERROR
    assert "spent its whole output budget on reasoning" in caught.value.message
    assert "max_tokens" in (caught.value.hint or "")
    # Reasoning with an answer, a tool call or an image is a normal answer.
    assert ChatResult.from_body(body(content="42", reasoning="…"), 1.0).content == "42"
    assert ChatResult.from_body(body(content=None, reasoning="…", tool_calls=[{"id": "t"}]), 1.0)
    assert ChatResult.from_body(body(content="", reasoning="…", images=[{"type": "image_url"}]), 1.0)


def choice_body(**choice: object) -> dict:
    return {"id": "gen-1", "model": MODEL, "choices": [{"finish_reason": "stop", **choice}]}


@pytest.mark.parametrize(("choice", "code", "said"), [
    ({"message": {"role": "assistant", "content": None}}, ErrorCode.UPSTREAM_ERROR, "content was null"),
    ({"message": {"role": "assistant", "content": " \n"}}, ErrorCode.UPSTREAM_ERROR, "content was empty"),
    ({"message": {"content": {"a": 1}}}, ErrorCode.UPSTREAM_ERROR, "an object, not text"),
    ({"message": {"role": "assistant", "content": 7}}, ErrorCode.UPSTREAM_ERROR, "a number, not text"),
    ({"message": {"content": [{"type": "text", "text": 5}, "x"]}}, ErrorCode.UPSTREAM_ERROR, "no text part"),
    ({"message": "not an object"}, ErrorCode.UPSTREAM_ERROR, "content was null"),
    ({"message": {"content": "half an ans"}, "finish_reason": "error"}, ErrorCode.UPSTREAM_ERROR,
     "failed (finish_reason error); any partial answer was dropped"),
    ({"message": {"content": "half"}, "error": "provider went away"}, ErrorCode.UPSTREAM_ERROR,
     "failed (provider went away)"),
    ({"message": {"content": ""}, "finish_reason": "length"}, ErrorCode.UPSTREAM_ERROR,
     "spent its whole output budget and returned no answer"),
    ({"message": {"content": None}, "finish_reason": "content_filter"}, ErrorCode.CONTENT_POLICY,
     "filtered the whole answer"),
])
def test_a_choice_without_a_whole_answer_is_a_failure(choice: dict, code: ErrorCode, said: str) -> None:
    with pytest.raises(GatewiseError) as caught:
        ChatResult.from_body(choice_body(**choice), 1.0)
    assert caught.value.code is code and said in caught.value.message, caught.value.message
    assert "half" not in caught.value.message


@pytest.mark.parametrize("choices", [["text"], [None], [], {"0": {}}])
def test_choices_that_are_not_objects_are_no_answer(choices: object) -> None:
    with pytest.raises(GatewiseError, match="had no choices"):
        ChatResult.from_body({"model": MODEL, "choices": choices}, 1.0)


@pytest.mark.parametrize(("message", "said"), [
    ({"content": "hi", "tool_calls": [{"id": "t"}, "call"]},
     "its message.tool_calls was an array holding something other than objects, not an array of objects"),
    ({"content": "hi", "annotations": "https://example.com"}, "its message.annotations was a string"),
    ({"content": "", "images": {"url": "x"}}, "its message.images was an object, not an array"),
    ({"content": "hi", "reasoning": ["step"]}, "its message.reasoning was an array, not text"),
])
def test_a_field_of_the_wrong_type_makes_a_billed_answer_unusable(message: dict, said: str) -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "cost": 0.01}
    body = {**choice_body(message=message), "usage": usage}
    with pytest.raises(UnusableAnswer) as caught:
        ChatResult.from_body(body, 1.0)
    assert caught.value.code is ErrorCode.UPSTREAM_ERROR and said in caught.value.message
    billed = caught.value.billed
    assert (billed.tokens_in, billed.tokens_out, billed.cost_usd) == (3, 2, 0.01)


def test_text_parts_and_a_cut_but_not_empty_answer_are_answers() -> None:
    parts = {"content": [{"type": "text", "text": "4"}, {"type": "image_url"}, {"type": "text", "text": "2"}]}
    assert ChatResult.from_body(choice_body(message=parts), 1.0).content == "42"
    cut = ChatResult.from_body(choice_body(message={"content": "The answer is"}, finish_reason="length"), 1.0)
    assert (cut.content, cut.finish_reason) == ("The answer is", "length")


def answer_with(usage: object) -> dict:
    return {"id": "gen-1", "model": MODEL, "usage": usage,
            "choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": "5"}}]}


@pytest.mark.parametrize(("usage", "tokens", "cost", "unknown"), [
    ({"prompt_tokens": 10, "completion_tokens": 4, "cost": 0.002}, (10, 4), 0.002, ()),
    ({"prompt_tokens": 10.0, "completion_tokens": 4, "cost": 0}, (10, 4), 0.0, ()),
    ({"prompt_tokens": 10, "completion_tokens": 1e308}, (10, 0), None, ("completion_tokens",)),
    ({"prompt_tokens": -1, "completion_tokens": 5, "cost": -5}, (0, 5), None, ("prompt_tokens",)),
    ({"prompt_tokens": 10**9 + 1, "completion_tokens": True, "cost": float("nan")}, (0, 0), None,
     ("prompt_tokens", "completion_tokens")),
    ({"prompt_tokens": "10", "completion_tokens": 2.5, "cost": float("inf")}, (0, 0), None,
     ("prompt_tokens", "completion_tokens")),
    ({"cost": 10**400}, (0, 0), None, ()),  # absent counts stay 0, as before: nothing to correct
    ("not an object", (0, 0), None, ()),
])
def test_usage_figures_are_checked_where_they_come_in(usage, tokens, cost, unknown, caplog) -> None:
    result = ChatResult.from_body(answer_with(usage), 1.0, source="sandbox")
    assert (result.tokens_in, result.tokens_out) == tokens
    assert result.cost_usd == cost and result.unknown_tokens == unknown
    warned = [r.getMessage() for r in caplog.records if r.name == "gatewise.upstream.usage"]
    assert len(warned) == len(unknown) + (isinstance(usage, dict) and "cost" in usage and cost is None)
    assert all(w.startswith("sandbox sent usage.") and len(w) < 150 for w in warned)


def test_search_counts_are_bounded_too() -> None:
    body = answer_with({"prompt_tokens": 3, "server_tool_use": {"web_search_requests": 1e300}})
    assert ChatResult.from_body(body, 1.0).search_requests == 0
    body = answer_with({"prompt_tokens": 3, "server_tool_use": {"web_search_requests": 2}})
    assert ChatResult.from_body(body, 1.0).search_requests == 2


class _Memo:
    """Remembers nothing: every text is embedded upstream."""

    async def recall(self, embedder: str, texts: Sequence[str]) -> list[None]:
        return [None] * len(texts)

    async def remember(self, embedder: str, texts: Sequence[str], vectors: object) -> None:
        return None


async def test_embedding_usage_is_checked_and_estimated(settings: Settings, upstream) -> None:
    model, text = "openai/text-embedding-3-large", "how do tides work"
    catalog = Catalog.snapshot()
    upstream.fault(model, usage={"prompt_tokens": -3, "total_tokens": -3, "cost": -1})
    async with client_for(settings) as client:
        embedder = UpstreamEmbedder(client, model, _Memo(),
                                    cost_of=lambda m, tokens: catalog.cost_of(m, tokens, 0))
        embedded = await embedder.embed([text])
    assert embedded.tokens == estimated_tokens(text)
    assert embedded.cost_usd == catalog.cost_of(model, estimated_tokens(text), 0) > 0


class _Recorder:
    """A real HTTP server on loopback that keeps each request and answers with fixed bytes."""

    def __init__(self, answer: bytes, content_type: str = "application/json", *,
                 extra_headers: bytes = b"", status: bytes = b"200 OK") -> None:
        self.answer, self.content_type, self.extra_headers = answer, content_type, extra_headers
        self.status = status
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.heads: list[bytes] = []  # each request's line and header lines, as sent

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raw_head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(raw_head)
        request_line, *head = raw_head.decode().split("\r\n")
        headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in head if line)}
        headers[":target"] = request_line.split()[1]
        body = await reader.readexactly(int(headers.get("content-length", 0)))
        self.requests.append((headers, body))
        writer.write(b"HTTP/1.1 " + self.status + b"\r\n" + self.extra_headers
                     + b"Content-Type: " + self.content_type.encode()
                     + b"\r\nContent-Length: " + str(len(self.answer)).encode() + b"\r\n\r\n" + self.answer)
        try:
            await writer.drain()
        except ConnectionError:  # a client that refuses the answer hangs up before reading it
            pass
        finally:
            writer.close()


class _HangUp(_Recorder):
    """Reads each request whole, then closes the connection without an answer: the request may
    have been applied."""

    def __init__(self) -> None:
        super().__init__(b"")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raw_head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: (\d+)", raw_head)
        body = await reader.readexactly(int(length.group(1)) if length else 0)
        self.requests.append(({}, body))
        writer.close()


@pytest.mark.parametrize(("resend_if_lost", "sent"), [(True, 3), (False, 1)])
async def test_a_request_lost_after_it_was_sent_is_resent_only_when_its_caller_allows_it(
        settings: Settings, resend_if_lost: bool, sent: int) -> None:
    """A write (which may have been applied) is not sent again once its connection is lost after
    it went out; a read or a chat call is, whatever statuses it retries on."""
    recorder = _HangUp()
    server = await asyncio.start_server(recorder.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, HttpUpstream(f"http://127.0.0.1:{port}/api/v1", limits=settings.limits) as client:
        with pytest.raises(GatewiseError) as info:
            await client.request("POST", "/api-keys", json={"name": "ci"}, retries=2,
                                 retry_on=frozenset({429}), resend_if_lost=resend_if_lost)
    assert info.value.code is ErrorCode.UPSTREAM_ERROR and info.value.details == {"connection": True}
    assert len(recorder.requests) == sent


async def test_a_portkey_write_lost_after_it_was_sent_says_it_may_have_been_applied(
        settings: Settings) -> None:
    recorder = _HangUp()
    server = await asyncio.start_server(recorder.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, PortkeyAdminClient(f"http://127.0.0.1:{port}/v1", "pk-test-key",
                                          limits=settings.limits) as client:
        with pytest.raises(GatewiseError) as info:
            await client.call("virtual_keys.create", body={"name": "ci", "provider": "openai"})
    assert len(recorder.requests) == 1  # not sent again
    assert "the change may have been applied" in info.value.message
    assert info.value.hint.startswith("Check whether it was (list or get the item)")


async def test_a_failed_connect_is_marked_as_never_sent(settings: Settings) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nothing listens there once closed
    async with HttpUpstream(f"http://127.0.0.1:{port}/api/v1", limits=settings.limits) as client:
        with pytest.raises(GatewiseError) as info:
            await client.request("POST", "/api-keys", json={}, retries=1, retry_on=frozenset({429}))
    assert info.value.details == {"connect": True}


async def _exchange(settings: Settings, recorder: _Recorder, *paths: str, **kwargs: Any) -> Any:
    server = await asyncio.start_server(recorder.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, HttpUpstream(f"http://127.0.0.1:{port}/api/v1/", limits=settings.limits) as client:
        return [(await client.request("POST", path, **kwargs)).body for path in paths or ["/echo"]][-1]


async def test_each_path_is_joined_to_the_base_url_with_its_parameters(settings: Settings) -> None:
    recorder = _Recorder(b"{}")
    paths = [f"/keys/{n}" for n in range(40)] + ["/echo", "echo", "/keys/3"]
    await _exchange(settings, recorder, *paths, params={"q": "a b", "n": 2})
    assert [headers[":target"] for headers, _ in recorder.requests] == \
        [f"/api/v1/{path.lstrip('/')}?q=a+b&n=2" for path in paths]


async def test_json_requests_to_many_paths_keep_a_bounded_number_of_header_lines(settings: Settings) -> None:
    """Header lines are kept for the first paths a client calls (some paths carry ids); a path
    past the bound is still sent whole, to its own URL, with its own length."""
    recorder = _Recorder(b"{}")
    paths = [f"/keys/{n}" for n in range(40)] + ["/keys/3", "/keys/39"]
    server = await asyncio.start_server(recorder.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, HttpUpstream(f"http://127.0.0.1:{port}/api/v1", limits=settings.limits) as client:
        for n, path in enumerate(paths):
            await client.request("POST", path, json={"n": "x" * n})
        assert len(client._json_heads) == _KEPT_URLS
    assert [(h[":target"], h["content-length"], body) for h, body in recorder.requests] == \
        [(f"/api/v1{path}", str(len(body)), body) for path, body in
         ((path, json.dumps({"n": "x" * n}, separators=(",", ":")).encode()) for n, path in enumerate(paths))]


async def test_a_json_body_is_sent_as_compact_utf8_json_with_its_type(settings: Settings) -> None:
    recorder = _Recorder(b'{"ok": true}')
    body = {"prompt": "déjà vu · 17*23", "n": [1, 2.5, None, True], "nested": {"k": "✓"}}
    assert await _exchange(settings, recorder, json=body) == {"ok": True}
    assert await _exchange(settings, recorder, json=body, headers={"Content-Type": "application/x-test"})
    (sent_headers, sent), (own_headers, _) = recorder.requests
    assert sent == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert sent_headers["content-type"] == "application/json"
    assert own_headers["content-type"] == "application/x-test"  # the caller's type wins


def _nested(depth: int) -> dict[str, Any]:
    top: dict[str, Any] = {}
    inner = top
    for _ in range(depth):
        inner["a"] = {}
        inner = inner["a"]
    return top


async def test_a_deeply_nested_body_is_sent_or_refused_clearly(settings: Settings) -> None:
    # Deeper than pydantic_core writes, still within the json module: the same bytes go out.
    recorder = _Recorder(b'{"ok": true}')
    deep = _nested(500)
    assert await _exchange(settings, recorder, json=deep) == {"ok": True}
    assert recorder.requests[0][1] == json.dumps(deep, separators=(",", ":")).encode()
    with pytest.raises(GatewiseError) as refused:  # beyond both: a clear error, nothing sent
        await _exchange(settings, recorder, json=_nested(100_000))
    assert refused.value.code == ErrorCode.INVALID_INPUT and len(recorder.requests) == 1


async def test_a_non_finite_number_is_refused_not_sent(settings: Settings) -> None:
    recorder = _Recorder(b'{"ok": true}')
    words = {"note": "NaN and Infinity are words here"}
    assert await _exchange(settings, recorder, json=words) == {"ok": True}
    assert recorder.requests[0][1] == json.dumps(words, separators=(",", ":")).encode()
    for number in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(GatewiseError) as refused:
            await _exchange(settings, recorder, json={"temperature": number})
        assert refused.value.code == ErrorCode.INVALID_INPUT
    assert len(recorder.requests) == 1  # none of them sent


@pytest.mark.parametrize(("answer", "parsed"), [
    ('{"a": "é", "b": [1, 2.5]}'.encode(), {"a": "é", "b": [1, 2.5]}),
    ('{"a": "é"}'.encode("utf-16"), {"a": "é"}),  # only the json module reads it
    (b'{"big": 1e400}', {"big": float("inf")}),
    (b"<html>bad gateway</html>", "<html>bad gateway</html>"),
    (b"[" * 100_000, "[" * 2000),  # nested beyond both parsers: its text, not an internal error
])
async def test_an_answer_is_parsed_as_the_json_module_would(settings: Settings, answer: bytes,
                                                             parsed: Any) -> None:
    assert await _exchange(settings, _Recorder(answer)) == parsed


def _bounded(settings: Settings, limit: int) -> Settings:
    limits = settings.limits.model_copy(update={"max_response_bytes": limit})
    return settings.model_copy(update={"limits": limits})


@pytest.mark.parametrize(("answer", "headers"), [
    (b'{"data": "' + b"A" * (2 << 20) + b'"}', b""),  # its length declared: refused unread
    (gzip.compress(b'{"data": "' + b"0" * (8 << 20) + b'"}'), b"Content-Encoding: gzip\r\n"),  # 8 KB sent
])
async def test_an_answer_over_the_byte_bound_is_refused(settings: Settings, answer: bytes,
                                                        headers: bytes) -> None:
    bounded = _bounded(settings, 1 << 20)
    recorder = _Recorder(answer, extra_headers=headers)
    with pytest.raises(GatewiseError) as refused:
        await _exchange(bounded, recorder)
    assert refused.value.code == ErrorCode.UPSTREAM_ERROR
    assert refused.value.message == \
        "upstream answered HTTP 200 with a body over 1,048,576 bytes; it was not read"
    assert await _exchange(bounded, _Recorder(b'{"data": "' + b"A" * 1000 + b'"}')) == {"data": "A" * 1000}


@pytest.mark.parametrize(("layers", "said"), [
    # 100 MB of zeros in 100 KB: httpx alone decodes each 64 KiB read whole (64 MB at once).
    (1, "upstream answered HTTP 200 with a body over 1,048,576 bytes; it was not read"),
    # 500 MB in 1 KB, gzipped twice: decoded whole it took 1 GB before the bound could answer.
    (2, "upstream answered unusably: the answer's content-encoding is 'gzip, gzip': only one of "
        "gzip or deflate is accepted"),
])
async def test_a_compression_bomb_is_refused_within_the_byte_bound(settings: Settings, layers: int,
                                                                   said: str) -> None:
    recorder = _Recorder(gzip_zeros(100 if layers == 1 else 500, layers),
                         extra_headers=b"Content-Encoding: " + b", ".join([b"gzip"] * layers) + b"\r\n")
    refused, peak = await peak_while(_exchange(_bounded(settings, 1 << 20), recorder))
    assert isinstance(refused, GatewiseError) and refused.code == ErrorCode.UPSTREAM_ERROR
    assert refused.message == said
    assert peak < 8 * MB
    assert recorder.requests[0][0]["accept-encoding"] == "gzip, deflate"  # what it decodes itself


@pytest.mark.parametrize(("encoding", "encode"), [
    (b"gzip", gzip.compress),
    (b"deflate", zlib.compress),  # zlib-wrapped, as the standard says
    (b"deflate", lambda data: zlib.compress(data)[2:-4]),  # raw, as some servers send it
    (b"identity", lambda data: data),
])
async def test_a_compressed_answer_within_the_bound_is_read_whole(settings: Settings, encoding: bytes,
                                                                  encode: Any) -> None:
    answer = {"data": "é" * 300_000}  # more than a decoded piece, under the bound
    body = encode(json.dumps(answer, ensure_ascii=False).encode())
    recorder = _Recorder(body, extra_headers=b"Content-Encoding: " + encoding + b"\r\n")
    assert await _exchange(_bounded(settings, 1 << 20), recorder) == answer


@pytest.mark.parametrize(("encoding", "said"), [
    (b"br", "content-encoding is 'br': only one of gzip or deflate is accepted"),
    (b"gzip", "the answer's gzip body is damaged"),
])
async def test_an_encoding_not_asked_for_or_damaged_is_an_upstream_error(settings: Settings, encoding: bytes,
                                                                         said: str) -> None:
    recorder = _Recorder(b"\x1f\x8b not gzip", extra_headers=b"Content-Encoding: " + encoding + b"\r\n")
    with pytest.raises(GatewiseError, match=said) as refused:
        await _exchange(settings, recorder)
    assert refused.value.code == ErrorCode.UPSTREAM_ERROR


@pytest.mark.parametrize("cookie", [b"", b"Set-Cookie: session=abc; Path=/\r\n"])
async def test_a_json_request_goes_out_as_httpx_itself_writes_it(settings: Settings, cookie: bytes) -> None:
    """Chat calls skip httpx's per-call header merging: the same request line and header lines,
    in the same order, as a plain httpx client with the same headers sends; a cookie the upstream
    set goes back as httpx would send it."""
    ours, theirs = _Recorder(b"{}", extra_headers=cookie), _Recorder(b"{}", extra_headers=cookie)
    attribution = {"HTTP-Referer": "https://example.org/app", "X-Title": "app"}
    bodies = [{"model": MODEL, "messages": [{"role": "user", "content": "é " * n}]} for n in (1, 2, 30)]
    for recorder in (ours, theirs):
        server = await asyncio.start_server(recorder.handle, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/api/v1"
        async with server:
            if recorder is ours:
                async with HttpUpstream(base, limits=settings.limits, headers=attribution) as client:
                    for body in bodies:
                        await client.request("POST", "/chat/completions", json=body)
            else:
                async with httpx.AsyncClient(base_url=base, headers=attribution) as plain:
                    for body in bodies:
                        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
                        await plain.post("/chat/completions", content=content,
                                         headers={"Content-Type": "application/json"})
    port = re.compile(rb"127\.0\.0\.1:\d+")
    def heads(recorder: _Recorder) -> list[bytes]:
        return [port.sub(b"host", head) for head in recorder.heads]

    assert heads(ours) == heads(theirs)
    assert [body for _, body in ours.requests] == [body for _, body in theirs.requests]
    assert (b"cookie: session=abc" in ours.heads[-1].lower()) == bool(cookie)
