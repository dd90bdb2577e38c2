"""The sandbox upstream, exercised over real loopback HTTP: answers, prices, streams, faults."""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from gatewise.catalog import Catalog, snapshot_json
from gatewise_sandbox import FaultRule, SandboxConfig, SandboxServer, parse_fault_header

HAIKU = "anthropic/claude-3-haiku"
GPT4O = "openai/gpt-4o"
EMBED = "openai/text-embedding-3-large"
SMALL_CONTEXT = "google/gemini-2.5-flash-image"  # 32,768 tokens


def tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def ask(text: str, model: str = HAIKU, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    config = SandboxConfig(seed=7, keepalive_s=0.05)
    with SandboxServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        yield client


@pytest.fixture(autouse=True)
def clean(sandbox: SandboxServer) -> None:
    sandbox.reset()


@pytest.fixture(scope="module")
def admin(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.root_url + "/_sandbox", timeout=10) as client:
        yield client


def sse(text: str) -> tuple[list[str], list[dict[str, Any]], list[str]]:
    """(comment lines, JSON events, raw data payloads) of an SSE body."""
    comments = [line for line in text.splitlines() if line.startswith(":")]
    payloads = [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]
    events = [json.loads(p) for p in payloads if p != "[DONE]"]
    return comments, events, payloads


# -- answers ---------------------------------------------------------------------------------

def test_plain_answer_shape_and_arithmetic(http: httpx.Client) -> None:
    reply = http.post("/chat/completions", json=ask("What is 17*23?"))
    assert reply.status_code == 200
    body = reply.json()
    assert body["id"].startswith("gen-") and reply.headers["X-Generation-Id"] == body["id"]
    assert body["object"] == "chat.completion"
    assert (body["model"], body["provider"]) == (HAIKU, "Sandbox")
    assert isinstance(body["created"], int) and abs(body["created"] - time.time()) < 60
    choice = body["choices"][0]
    assert choice["index"] == 0
    assert choice["finish_reason"] == choice["native_finish_reason"] == "stop"
    content = choice["message"]["content"]
    assert choice["message"]["role"] == "assistant"
    assert content == "[sandbox · anthropic/claude-3-haiku] 17*23 = 391"
    usage = body["usage"]
    assert usage["prompt_tokens"] == tokens("What is 17*23?") == 4
    assert usage["completion_tokens"] == tokens(content)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0


def test_answers_are_deterministic_and_name_the_model(http: httpx.Client) -> None:
    first = http.post("/chat/completions", json=ask("Tell me about otters please")).json()
    again = http.post("/chat/completions", json=ask("Tell me about otters please")).json()
    other = http.post("/chat/completions", json=ask("Tell me about otters please", GPT4O)).json()
    assert first["id"] != again["id"]
    assert first["choices"] == again["choices"] and first["usage"] == again["usage"]
    text = first["choices"][0]["message"]["content"]
    assert "Tell me about otters please" in text
    assert other["choices"][0]["message"]["content"].startswith("[sandbox · openai/gpt-4o] ")


@pytest.mark.parametrize(("prompt", "expected"), [
    ("Compute (2+3)*4 - 1", "(2+3)*4 - 1 = 19"),
    ("what is 2^10?", "2^10 = 1024"),
    ("10 / 4", "10 / 4 = 2.5"),
    ("Write a python function to reverse a string", "```python\ndef reverse_string("),
    ("Write a javascript function that adds numbers", "```javascript\n"),
    ("Translate into French: good morning to everyone here", "Translation into French"),
    ("Summarize: the cat sat on the mat all day long", "Summary (sandbox stand-in): the cat sat"),
])
def test_answer_kinds(http: httpx.Client, prompt: str, expected: str) -> None:
    body = http.post("/chat/completions", json=ask(prompt)).json()
    content = body["choices"][0]["message"]["content"]
    assert content.startswith("[sandbox · anthropic/claude-3-haiku] ")
    assert expected in content


@pytest.mark.parametrize("unit", ["1 ", "1, ", "12345678 "])
def test_a_long_run_of_numbers_without_an_operator_is_answered_soon(http: httpx.Client, unit: str) -> None:
    """100 KB of numbers, no arithmetic among them: answered within the client's 10 s timeout
    (it used to take minutes, each number starting a scan to the end of the run)."""
    prompt = unit * (100_000 // len(unit))
    content = http.post("/chat/completions", json=ask(prompt)).json()["choices"][0]["message"]["content"]
    assert content.startswith("[sandbox · anthropic/claude-3-haiku] You asked:")


def test_content_parts_and_system_messages(http: httpx.Client) -> None:
    parts = [{"type": "text", "text": "What is 6*7?"},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    body = {"model": GPT4O, "messages": [{"role": "system", "content": "Be terse."},
                                         {"role": "user", "content": parts}]}
    reply = http.post("/chat/completions", json=body).json()
    assert reply["choices"][0]["message"]["content"].endswith("6*7 = 42")
    # all message text counts, and each non-text part adds a fixed 85 tokens
    assert reply["usage"]["prompt_tokens"] == tokens("Be terse.\nWhat is 6*7?") + 85


def test_cost_is_catalogue_price_times_tokens(http: httpx.Client) -> None:
    catalog = Catalog.snapshot()
    for model in (HAIKU, GPT4O, "deepseek/deepseek-r1"):
        reply = http.post("/chat/completions", json=ask("Price this, please.", model))
        usage = reply.json()["usage"]
        info = catalog.get(model)
        assert info is not None
        assert usage["cost"] == info.cost(usage["prompt_tokens"], usage["completion_tokens"])
        details = usage["cost_details"]
        assert details["upstream_inference_prompt_cost"] == pytest.approx(
            usage["prompt_tokens"] * info.prompt_price)
        assert details["upstream_inference_completions_cost"] == pytest.approx(
            usage["completion_tokens"] * info.completion_price)
        assert usage["cost"] > 0


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_truncates_with_finish_length(http: httpx.Client, field: str) -> None:
    full = http.post("/chat/completions", json=ask("Tell me a long story about the sea")).json()
    cut = http.post("/chat/completions",
                    json=ask("Tell me a long story about the sea", **{field: 3})).json()
    assert cut["choices"][0]["finish_reason"] == "length"
    assert cut["usage"]["completion_tokens"] == 3
    text = cut["choices"][0]["message"]["content"]
    assert len(text) == 12 and full["choices"][0]["message"]["content"].startswith(text)


# -- streaming -------------------------------------------------------------------------------

def test_stream_shape_matches_plain_answer(http: httpx.Client) -> None:
    plain = http.post("/chat/completions", json=ask("What is 17*23?")).json()
    reply = http.post("/chat/completions", json=ask("What is 17*23?", stream=True))
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.text.startswith(": OPENROUTER PROCESSING\n\n")
    comments, events, payloads = sse(reply.text)
    assert comments and payloads[-1] == "[DONE]"
    gen_id = reply.headers["X-Generation-Id"]
    assert all(e["object"] == "chat.completion.chunk" and e["id"] == gen_id for e in events)
    content_events, usage_event = events[:-1], events[-1]
    assert content_events[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(e["choices"][0]["delta"]["content"] for e in content_events)
    assert text == plain["choices"][0]["message"]["content"]
    assert [e["choices"][0]["finish_reason"] for e in content_events][-1] == "stop"
    assert usage_event["choices"] == []
    assert usage_event["usage"]["cost"] == plain["usage"]["cost"]
    assert usage_event["usage"]["completion_tokens"] == plain["usage"]["completion_tokens"]


def test_stream_latency_sends_keepalives(http: httpx.Client) -> None:
    started = time.perf_counter()
    reply = http.post("/chat/completions", json=ask("hello", stream=True),
                      headers={"X-Gatewise-Fault": "latency_ms=300"})
    elapsed = time.perf_counter() - started
    comments, events, _ = sse(reply.text)
    assert elapsed >= 0.3
    assert len(comments) >= 4  # one at once, then one every 50 ms while waiting
    assert events[-1]["usage"]["total_tokens"] > 0


def test_stream_respects_max_tokens(http: httpx.Client) -> None:
    reply = http.post("/chat/completions",
                      json=ask("Tell me a long story", stream=True, max_tokens=2))
    _, events, _ = sse(reply.text)
    assert "".join(e["choices"][0]["delta"]["content"] for e in events[:-1]) == "[sandbox"
    assert events[-2]["choices"][0]["finish_reason"] == "length"
    assert events[-1]["usage"]["completion_tokens"] == 2


# -- faults ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "status", "error_type"), [
    ("status=429;retry_after=1", 429, "rate_limit_exceeded"),
    ("status=503", 503, "provider_overloaded"),
    ("status=502", 502, "provider_unavailable"),
    ("error_type=context_length_exceeded", 400, "context_length_exceeded"),
])
def test_header_fault_statuses(http: httpx.Client, sandbox: SandboxServer, header: str,
                               status: int, error_type: str) -> None:
    reply = http.post("/chat/completions", json=ask("hi"), headers={"X-Gatewise-Fault": header})
    assert reply.status_code == status
    error = reply.json()["error"]
    assert error["code"] == status and error["metadata"]["error_type"] == error_type
    assert "sandbox" in error["message"]
    if status == 429:
        assert reply.headers["Retry-After"] == "1"
        assert reply.headers["X-RateLimit-Remaining"] == "0"
        assert int(reply.headers["X-RateLimit-Reset"]) > time.time() * 1000
    else:
        assert "X-RateLimit-Limit" not in reply.headers
    assert sandbox.stats()["models"][HAIKU]["statuses"] == {str(status): 1}


def test_latency_header_delays_the_answer(http: httpx.Client) -> None:
    started = time.perf_counter()
    http.post("/chat/completions", json=ask("quick"))
    quick = time.perf_counter() - started
    started = time.perf_counter()
    reply = http.post("/chat/completions", json=ask("slow"),
                      headers={"X-Gatewise-Fault": "latency_ms=250"})
    slow = time.perf_counter() - started
    assert reply.status_code == 200
    assert slow >= 0.25 and quick < slow - 0.15


def test_error_rate_is_seeded_and_round_robin(http: httpx.Client, admin: httpx.Client) -> None:
    def run() -> list[int]:
        put = admin.put("/faults", json={"model": GPT4O, "error_rate": 0.3, "statuses": [502, 503]})
        assert put.status_code == 200
        return [http.post("/chat/completions", json=ask(f"n{i}", GPT4O)).status_code
                for i in range(200)]

    first = run()
    counts = Counter(first)
    assert 40 <= counts[502] + counts[503] <= 80  # 30% of 200, within 3 standard deviations
    assert abs(counts[502] - counts[503]) <= 1  # statuses taken in turn
    failures = [s for s in first if s != 200]
    assert failures[:4] == [502, 503, 502, 503]
    stats = admin.get("/stats").json()["models"][GPT4O]
    assert stats["requests"] == 200 and stats["ok"] == counts[200]
    assert stats["errors"] == 200 - counts[200]
    assert stats["statuses"] == {"502": counts[502], "503": counts[503]}
    assert admin.post("/reset").status_code == 200
    assert run() == first  # same seed, same sequence


def test_wildcard_rule_and_fallback_models(http: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.set_fault(HAIKU, FaultRule(error_rate=1.0, statuses=(429,), retry_after=2))
    direct = http.post("/chat/completions", json=ask("hi"))
    assert direct.status_code == 429 and direct.headers["Retry-After"] == "2"
    routed = http.post("/chat/completions", json=ask("hi", models=[HAIKU, GPT4O]))
    assert routed.status_code == 200 and routed.json()["model"] == GPT4O
    stats = http.get("/generation", params={"id": routed.json()["id"]}).json()["data"]
    assert [r["status"] for r in stats["provider_responses"]] == [429, 200]
    sandbox.clear_faults()
    sandbox.set_fault("*", FaultRule(error_rate=1.0, statuses=(500,)))
    assert http.post("/chat/completions", json=ask("hi", GPT4O)).status_code == 500


def test_a_usage_rule_rewrites_the_usage_of_every_answer(http: httpx.Client, admin: httpx.Client) -> None:
    put = admin.put("/faults", json={"model": GPT4O, "usage": {"completion_tokens": 1e308, "cost": -5}})
    assert put.status_code == 200 and put.json()["faults"][GPT4O]["usage"] == {
        "completion_tokens": 1e308, "cost": -5}
    usage = http.post("/chat/completions", json=ask("hi", GPT4O)).json()["usage"]
    assert (usage["completion_tokens"], usage["cost"]) == (1e308, -5) and usage["prompt_tokens"] > 0
    streamed = http.post("/chat/completions", json=ask("hi", GPT4O, stream=True)).text
    assert '"completion_tokens":1e+308' in streamed.replace(" ", "")
    for bad in ([1], "x", {f"f{i}": i for i in range(17)}):
        refused = admin.put("/faults", json={"model": GPT4O, "usage": bad})
        assert refused.status_code == 400 and "usage" in refused.json()["error"]["message"]
    assert http.post("/chat/completions", json=ask("hi", HAIKU)).json()["usage"]["cost"] > 0


def test_rule_latency_and_base_latency() -> None:
    config = SandboxConfig(base_latency_ms=100, faults={GPT4O: FaultRule(latency_ms=150)})
    with SandboxServer(config) as server, httpx.Client(base_url=server.url) as client:
        started = time.perf_counter()
        assert client.post("/chat/completions", json=ask("a", HAIKU)).status_code == 200
        base = time.perf_counter() - started
        started = time.perf_counter()
        assert client.post("/chat/completions", json=ask("a", GPT4O)).status_code == 200
        slow = time.perf_counter() - started
    assert base >= 0.1 and slow >= 0.25  # 100 ms base, plus 150 ms for the slow model


def test_timeout_fault_outlasts_the_client(http: httpx.Client, sandbox: SandboxServer) -> None:
    with pytest.raises(httpx.ReadTimeout):
        http.post("/chat/completions", json=ask("hang"), headers={"X-Gatewise-Fault": "timeout=1"},
                  timeout=httpx.Timeout(0.3, connect=2.0))
    sandbox.set_fault(GPT4O, FaultRule(timeout_rate=1.0))
    with pytest.raises(httpx.ReadTimeout):
        http.post("/chat/completions", json=ask("hang", GPT4O, stream=True),
                  timeout=httpx.Timeout(0.3, connect=2.0))
    stats = sandbox.stats()["models"]
    assert stats[HAIKU]["timeouts"] == 1 and stats[GPT4O]["timeouts"] == 1
    assert http.post("/chat/completions", json=ask("still alive")).status_code == 200


def test_shutdown_releases_a_hanging_request() -> None:
    server = SandboxServer(SandboxConfig(faults={"*": FaultRule(timeout_rate=1.0)})).start()
    outcome: list[Any] = []

    def call() -> None:
        try:
            outcome.append(httpx.post(server.url + "/chat/completions", json=ask("x"), timeout=30))
        except httpx.HTTPError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)
    started = time.perf_counter()
    server.stop()
    caller.join(5)
    assert time.perf_counter() - started < 2.5
    assert outcome and not caller.is_alive()


def test_mid_stream_error_event(http: httpx.Client, sandbox: SandboxServer) -> None:
    reply = http.post("/chat/completions", json=ask("Tell me about the weather today", stream=True),
                      headers={"X-Gatewise-Fault": "mid_stream_error=1"})
    assert reply.status_code == 200
    _, events, payloads = sse(reply.text)
    assert "[DONE]" not in payloads and all("usage" not in e for e in events)
    last = events[-1]
    assert last["error"]["code"] == "server_error" and last["error"]["message"]
    assert last["choices"][0]["finish_reason"] == "error"
    assert all("error" not in e for e in events[:-1]) and len(events) >= 2
    generation = http.get("/generation", params={"id": last["id"]}).json()["data"]
    assert generation["finish_reason"] == "error" and generation["streamed"] is True
    assert sandbox.stats()["models"][HAIKU]["mid_stream_errors"] == 1


def test_mid_stream_rule_on_a_plain_request(http: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.set_fault(HAIKU, FaultRule(error_rate=1.0, mid_stream_error=True))
    body = http.post("/chat/completions", json=ask("Tell me about the weather today")).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "error" and choice["error"]["message"]
    assert body["usage"]["completion_tokens"] == tokens(choice["message"]["content"])


def test_fault_header_parsing() -> None:
    fault = parse_fault_header("status=429; retry_after=1.5 ;latency_ms=20")
    assert (fault.kind, fault.status) == ("error", 429)
    assert (fault.retry_after, fault.latency_ms) == (1.5, 20.0)
    assert parse_fault_header("timeout=1").kind == "timeout"
    assert parse_fault_header("latency_ms=5").kind is None
    for bad in ("status=200", "bogus=1", "status", "timeout=maybe", "latency_ms=-1"):
        with pytest.raises(ValueError):
            parse_fault_header(bad)


# -- request errors ------------------------------------------------------------------------

def test_unknown_model(http: httpx.Client) -> None:
    reply = http.post("/chat/completions", json=ask("hi", "nobody/no-such-model"))
    assert reply.status_code == 404
    error = reply.json()["error"]
    assert error["code"] == 404 and "nobody/no-such-model" in error["message"]
    assert error["metadata"]["error_type"] == "model_not_found"


@pytest.mark.parametrize(("body", "fragment"), [
    ({"model": HAIKU}, "messages"),
    ({"model": HAIKU, "messages": []}, "messages"),
    ({"model": HAIKU, "messages": [{"role": "wizard", "content": "x"}]}, "role"),
    ({"model": HAIKU, "messages": [{"role": "user", "content": 5}]}, "content"),
    (ask("hi", max_tokens=0), "max_tokens"),
    (ask("hi", temperature=3), "temperature"),
    (ask("hi", models="not-a-list"), "models"),
])
def test_bad_bodies(http: httpx.Client, body: dict[str, Any], fragment: str) -> None:
    reply = http.post("/chat/completions", json=body)
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == 400 and fragment in error["message"]


def test_bad_json_and_bad_fault_header(http: httpx.Client) -> None:
    reply = http.post("/chat/completions", content=b"{not json",
                      headers={"content-type": "application/json"})
    assert reply.status_code == 400 and reply.json()["error"]["code"] == 400
    reply = http.post("/chat/completions", json=ask("hi"), headers={"X-Gatewise-Fault": "nope"})
    assert reply.status_code == 400 and "X-Gatewise-Fault" in reply.json()["error"]["message"]


def test_bad_key_is_rejected_and_never_echoed(http: httpx.Client) -> None:
    secret = "sk-bad-0123456789abcdef"
    for method, path, body in (("POST", "/chat/completions", ask("hi")), ("GET", "/key", None),
                               ("GET", "/credits", None), ("POST", "/embeddings", None)):
        reply = http.request(method, path, json=body, headers={"Authorization": f"Bearer {secret}"})
        assert reply.status_code == 401
        assert reply.json() == {"error": {"code": 401, "message": "User not found.",
                                          "metadata": {"error_type": "authentication"}}}
        assert secret not in reply.text and "0123456789abcdef" not in str(reply.headers)
    good = http.get("/key", headers={"Authorization": "Bearer sk-or-v1-good-key-42"})
    assert good.status_code == 200 and "good-key-42" not in good.text
    # /models is public upstream, so even a bad key does not matter there
    assert http.get("/models", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_context_length_exceeded(http: httpx.Client) -> None:
    long_prompt = "word " * 27_000  # 135,000 characters: about 33,750 tokens > 32,768
    reply = http.post("/chat/completions", json=ask(long_prompt, SMALL_CONTEXT))
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["metadata"]["error_type"] == "context_length_exceeded"
    assert "32768" in error["message"]
    # a fallback with a larger context answers instead
    routed = http.post("/chat/completions", json=ask(long_prompt, SMALL_CONTEXT, models=[GPT4O]))
    assert routed.status_code == 200 and routed.json()["model"] == GPT4O


def test_unknown_path_has_the_error_shape(http: httpx.Client) -> None:
    reply = http.get("/no/such/endpoint")
    assert reply.status_code == 404 and reply.json()["error"]["code"] == 404


# -- other endpoints -------------------------------------------------------------------------

def test_models_default_text_and_filters(http: httpx.Client) -> None:
    snapshot_ids = [m["id"] for m in snapshot_json()["data"]]
    every = http.get("/models", params={"output_modalities": "all"}).json()
    assert [m["id"] for m in every["data"]] == snapshot_ids
    assert every["total_count"] == len(snapshot_ids)
    default = http.get("/models").json()["data"]
    assert EMBED not in {m["id"] for m in default} and len(default) == len(snapshot_ids) - 1
    assert all("text" in m["architecture"]["output_modalities"] for m in default)
    embeds = http.get("/models", params={"output_modalities": "embeddings"}).json()["data"]
    assert [m["id"] for m in embeds] == [EMBED]
    images = http.get("/models", params={"output_modalities": "image"}).json()["data"]
    assert [m["id"] for m in images] == [SMALL_CONTEXT]
    audio_in = http.get("/models", params={"input_modalities": "audio"}).json()["data"]
    assert audio_in and all("audio" in m["architecture"]["input_modalities"] for m in audio_in)


def test_generation_round_trip(http: httpx.Client) -> None:
    made = http.post("/chat/completions", json=ask("What is 2+2?", GPT4O),
                     headers={"HTTP-Referer": "https://example.test"}).json()
    reply = http.get("/generation", params={"id": made["id"]})
    assert reply.status_code == 200
    data = reply.json()["data"]
    assert (data["id"], data["model"], data["provider_name"]) == (made["id"], GPT4O, "Sandbox")
    assert data["tokens_prompt"] == made["usage"]["prompt_tokens"]
    assert data["tokens_completion"] == made["usage"]["completion_tokens"]
    assert data["total_cost"] == made["usage"]["cost"] and data["streamed"] is False
    assert data["finish_reason"] == "stop" and data["latency"] >= 0
    assert data["origin"] == "https://example.test"
    missing = http.get("/generation", params={"id": "gen-0-doesnotexist"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 404


def test_generation_store_is_bounded() -> None:
    with SandboxServer(SandboxConfig(max_generations=3)) as server, \
            httpx.Client(base_url=server.url) as client:
        ids = [client.post("/chat/completions", json=ask(f"q{i}")).json()["id"] for i in range(5)]
        found = [client.get("/generation", params={"id": i}).status_code for i in ids]
    assert found == [404, 404, 200, 200, 200]


def test_key_and_credits_track_usage(http: httpx.Client) -> None:
    costs = [http.post("/chat/completions", json=ask(f"bill {i}", GPT4O)).json()["usage"]["cost"]
             for i in range(3)]
    key = http.get("/key").json()["data"]
    assert key["usage"] == pytest.approx(sum(costs)) and key["limit"] is None
    assert key["is_free_tier"] is False and key["is_management_key"] is False
    assert key["limit_remaining"] is None and key["usage_daily"] == key["usage"]
    credits = http.get("/credits").json()["data"]
    assert credits["total_credits"] == 100.0 and credits["total_usage"] == pytest.approx(sum(costs))


def test_embeddings_dimensions_determinism_and_price(http: httpx.Client) -> None:
    texts = ["the cat sat on the mat", "the cat sat on a mat", "quarterly revenue forecast"]
    body = http.post("/embeddings", json={"model": EMBED, "input": texts}).json()
    assert body["object"] == "list" and body["model"] == EMBED
    vectors = np.array([row["embedding"] for row in sorted(body["data"], key=lambda r: r["index"])])
    assert vectors.shape == (3, 256)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert vectors[0] @ vectors[1] > 0.5 > abs(vectors[0] @ vectors[2])  # shared words point alike
    again = http.post("/embeddings", json={"model": EMBED, "input": texts[0]}).json()
    assert again["data"][0]["embedding"] == body["data"][0]["embedding"]
    info = Catalog.snapshot().get(EMBED)
    assert info is not None
    prompt_tokens = sum(tokens(t) for t in texts)
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] == prompt_tokens
    assert body["usage"]["cost"] == pytest.approx(prompt_tokens * info.prompt_price)

    small = http.post("/embeddings", json={"model": EMBED, "input": "hi", "dimensions": 64}).json()
    packed = http.post("/embeddings", json={"model": EMBED, "input": "hi", "dimensions": 64,
                                            "encoding_format": "base64"}).json()
    decoded = np.frombuffer(base64.b64decode(packed["data"][0]["embedding"]), dtype="<f4")
    assert len(small["data"][0]["embedding"]) == 64
    assert np.allclose(decoded, small["data"][0]["embedding"])


@pytest.mark.parametrize(("body", "status"), [
    ({"model": EMBED}, 400),
    ({"model": EMBED, "input": ""}, 400),
    ({"model": EMBED, "input": "x", "dimensions": 0}, 400),
    ({"model": GPT4O, "input": "x"}, 400),
    ({"model": "nobody/embedder", "input": "x"}, 404),
])
def test_embeddings_errors(http: httpx.Client, body: dict[str, Any], status: int) -> None:
    reply = http.post("/embeddings", json=body)
    assert reply.status_code == status and reply.json()["error"]["code"] == status


# -- admin and runner --------------------------------------------------------------------------

def test_received_requests_are_bounded(http: httpx.Client, admin: httpx.Client) -> None:
    """/_sandbox/received keeps the last 64 requests, the last 32 messages of each, 4000 characters
    of each text: a long test run or a huge request cannot grow the sandbox's memory."""
    long = [{"role": "assistant" if i % 2 else "user", "content": f"turn {i} " + "x" * 4_100}
            for i in range(101)]
    assert http.post("/chat/completions", json={"model": HAIKU, "messages": long}).status_code == 200
    [request] = admin.get("/received").json()["requests"]
    assert request["model"] == HAIKU and len(request["messages"]) == 32
    assert request["messages"][0]["text"].startswith("turn 69 ") and request["messages"][-1]["role"] == "user"
    assert {len(m["text"]) for m in request["messages"]} == {4000}
    for i in range(70):
        assert http.post("/chat/completions", json=ask(f"question {i}")).status_code == 200
    kept = admin.get("/received").json()["requests"]
    assert len(kept) == 64 and kept[0]["messages"] == [{"role": "user", "text": "question 6"}]
    assert admin.post("/reset").status_code == 200 and admin.get("/received").json()["requests"] == []


def test_refused_requests_are_received_too(http: httpx.Client, admin: httpx.Client) -> None:
    """A request refused as malformed still shows it was sent, bounded like any other."""
    bad = {"model": "x" * 5_000, "messages": [{"role": "user", "content": ["{}"]}, "not a message"]}
    assert http.post("/chat/completions", json=bad).status_code == 400
    assert http.post("/chat/completions", json={"messages": 7}).status_code == 400
    assert admin.get("/received").json()["requests"] == [
        {"model": "x" * 128, "messages": [{"role": "user", "text": ""}]},
        {"model": "openai/gpt-4o-mini", "messages": []}]


def test_admin_fault_table_stats_and_reset(http: httpx.Client, admin: httpx.Client) -> None:
    rule = {"model": GPT4O, "error_rate": 1.0, "statuses": [529], "retry_after": 3}
    table = admin.put("/faults", json=rule).json()["faults"]
    assert table[GPT4O]["statuses"] == [529] and table[GPT4O]["retry_after"] == 3.0
    assert admin.get("/faults").json()["faults"] == table
    for bad in ({"error_rate": 2}, {"statuses": [200]}, {"colour": "red"}, {"model": 7}):
        reply = admin.put("/faults", json=bad)
        assert reply.status_code == 400 and reply.json()["error"]["code"] == 400
    failed = http.post("/chat/completions", json=ask("x", GPT4O))
    assert failed.status_code == 529 and failed.headers["Retry-After"] == "3"
    made = http.post("/chat/completions", json=ask("x")).json()
    stats = admin.get("/stats").json()
    assert stats["totals"] == {"requests": 2, "ok": 1, "injected": 1, "errors": 1, "timeouts": 0,
                               "mid_stream_errors": 0}
    assert stats["generations"] == 1
    assert admin.delete("/faults").json() == {"faults": {}}
    assert http.post("/chat/completions", json=ask("x", GPT4O)).status_code == 200
    admin.put("/faults", json={"model": "*", "latency_ms": 5})
    assert admin.post("/reset").json() == {"ok": True}
    assert admin.get("/faults").json() == {"faults": {}}
    assert admin.get("/stats").json()["totals"]["requests"] == 0
    assert http.get("/generation", params={"id": made["id"]}).status_code == 404


def test_config_faults_apply_from_start() -> None:
    config = SandboxConfig(faults={HAIKU: FaultRule(error_rate=1.0, statuses=(503,))})
    with SandboxServer(config) as server, httpx.Client(base_url=server.url) as client:
        assert client.post("/chat/completions", json=ask("x")).status_code == 503
        assert client.post("/chat/completions", json=ask("x", GPT4O)).status_code == 200


async def test_async_context_manager() -> None:
    async with SandboxServer() as server:
        assert server.url == f"http://127.0.0.1:{server.port}/api/v1"
        async with httpx.AsyncClient(base_url=server.url) as client:
            reply = await client.post("/chat/completions", json=ask("What is 3*3?"))
            assert reply.json()["choices"][0]["message"]["content"].endswith("3*3 = 9")
        url = server.url
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/models", timeout=2)
