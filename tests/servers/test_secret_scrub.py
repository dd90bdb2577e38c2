"""Secrets never leave the process: the scrubber itself, and every server against a hostile upstream.

The hostile upstream (tests/hostile_upstream.py) echoes the keys it is sent in every form it can
think of. After driving all four servers through it, every tool output, every log line and every
file in the data directory is searched for the keys, any 8 characters of them, and their base64
and percent encodings.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import random
import re
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from mcp import Client
from mcp.types import ContentBlock, TextContent
from PIL import Image
from pydantic import BaseModel

from gatewise.config import Settings, load_settings
from gatewise.errors import ErrorCode, GatewiseError, error_from_response
from gatewise.mcpkit.redaction import scrub_tool_result
from gatewise.mcpkit.structured import tool_result
from gatewise.mcpkit.transport import configure_logging
from gatewise.mcpkit.untrusted import fence_json
from gatewise.portkey.errors import admin_error
from gatewise.redact import RedactingFilter, Scrubber, mask, remember, scrub, scrub_data
from gatewise.upstream.openrouter import ChatResult, OpenRouterClient
from hostile_upstream import ADMIN_MODES, CHAT_MODES, HostileUpstream, bare, encodings, percent_all

# Fake keys shaped like the real ones; mixed case, so case folding is exercised.
OR_KEY = "sk-or-v1-9f3a7c21d4e8b6a05f1e2d3c4b5a69788a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2"
PK_KEY = "pk-Qx7mT2vKp9LwR4zNc8YbH3sJd6Fg"
VIRTUAL_KEY = "vk-8Tn5Rq2Wm6Xc9Lp3Hd4"
SECRETS = (OR_KEY, PK_KEY, VIRTUAL_KEY)
MIN_LEAK = 8


# --- an independent leak detector ---------------------------------------------------------------


def _base64_cores(value: str) -> list[str]:
    """The characters of value's base64 that do not depend on its neighbours, found by brute
    force: encode it between different neighbours at each alignment and keep what agrees."""
    raw, cores = value.encode(), []
    for lead in range(3):
        one = base64.b64encode(b"\x00" * lead + raw + b"\x00\x00").decode()
        two = base64.b64encode(b"\xff" * lead + raw + b"\xff\xff").decode()
        same = "".join(a if a == b else " " for a, b in zip(one, two, strict=True)).split()
        core = max(same, key=len)
        cores += [core, core.translate(str.maketrans("+/", "-_"))]
    return cores


def leak_grams(secret: str) -> set[str]:
    """Every 8-character piece (lower-cased) of the secret's part after its prefix and of its
    base64 encodings: finding any of them in output is a leak."""
    sources = [bare(secret), *_base64_cores(bare(secret))]
    return {s[i: i + MIN_LEAK].lower() for s in sources for i in range(len(s) - MIN_LEAK + 1)}


LEAK_GRAMS = set().union(*(leak_grams(s) for s in SECRETS))


def leaks(text: str) -> list[str]:
    """The leaked pieces found in ``text`` as it is and percent-decoded (case-insensitively).
    Only runs of key-alphabet characters can hold a piece, so only those are cut into grams."""
    found = set()
    for variant in {text, unquote(text)}:
        runs = re.findall(r"[\w+/=\-]{8,}", variant.lower())
        found |= {run[i: i + MIN_LEAK] for run in runs for i in range(len(run) - MIN_LEAK + 1)} & LEAK_GRAMS
    return sorted(found)


def test_the_detector_sees_every_disguise() -> None:
    """The check the servers are held to must itself catch each echo the hostile upstream sends."""
    for secret in SECRETS:
        for disguise in [*encodings(secret).split(" | "), percent_all(secret), secret.upper()]:
            assert leaks(f"error: {disguise}!"), disguise
    assert leaks("nothing to see; sk-or-v1-… and pk-…") == []


# --- the scrubber ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scrubber() -> Scrubber:
    return Scrubber(SECRETS)


@pytest.mark.parametrize("secret", SECRETS)
def test_every_disguise_of_a_secret_is_masked(scrubber: Scrubber, secret: str) -> None:
    for disguise in [secret, secret.upper(), secret.lower(), bare(secret), percent_all(secret),
                     quote(secret, safe=""), *encodings(secret).split(" | ")]:
        clean = scrubber.scrub(f"upstream said: {disguise} (end)", shapes=False)
        assert not leaks(clean), (disguise, clean)
        assert clean.startswith("upstream said: ") and clean.endswith(" (end)")


@pytest.mark.parametrize("secret", SECRETS)
def test_every_eight_character_piece_is_masked_and_shorter_ones_are_not(scrubber: Scrubber,
                                                                        secret: str) -> None:
    part = bare(secret)
    for start in range(len(part) - MIN_LEAK + 1):
        for piece in (part[start: start + MIN_LEAK], part[start:]):
            for shown in (piece, piece.swapcase()):
                clean = scrubber.scrub(f"[{shown}]", shapes=False)
                assert clean == f"[{mask(secret)}]", (shown, clean)
    assert scrubber.scrub(f"[{part[:7]}]", shapes=False) == f"[{part[:7]}]"


@pytest.mark.parametrize("lead", range(3))
def test_base64_of_text_holding_a_secret_is_masked_at_every_alignment(scrubber: Scrubber, lead: int) -> None:
    for alphabet in (base64.b64encode, base64.urlsafe_b64encode):
        blob = alphabet(b"u" * lead + f"Authorization: Bearer {OR_KEY}\r\n".encode()).decode()
        assert not leaks(scrubber.scrub(blob, shapes=False))


def test_ordinary_text_is_left_alone(scrubber: Scrubber) -> None:
    texts = [
        "The capital of France is Paris. sk-learn (scikit-learn) is a Python library.",
        "Use model openai/gpt-5-nano or anthropic/claude-sonnet-5.5; see https://x.example/a%20b?q=1%2B1",
        "pk-sandbox and sk-or-v1- are just prefixes; 50% of 8 is 4. abcdefgh 12345678 deadbeef",
        base64.b64encode(b"an ordinary attachment with nothing secret in it at all").decode(),
        json.dumps({"id": "gen-123", "usage": {"prompt_tokens": 5}, "model": "hostile/answer"}),
    ]
    for text in texts:
        assert scrubber.scrub(text, shapes=False) == text


def test_a_human_chosen_secret_is_matched_whole_only() -> None:
    named = Scrubber(["anthropic-prod"])
    assert named.scrub("key anthropic-prod and ANTHROPIC-PROD", shapes=False) == "key …prod and …prod"
    assert named.scrub("model anthropic/claude is anthropic's", shapes=False) == \
        "model anthropic/claude is anthropic's"


def test_a_word_inside_a_key_is_not_a_leak_by_itself() -> None:
    worded = Scrubber(["sk-provider-Zz9Yy8Xx7Ww6Vv5"])
    assert worded.scrub('{"provider": "openrouter"}', shapes=False) == '{"provider": "openrouter"}'
    assert worded.scrub("provider-Zz9 PROVIDER-ZZ9", shapes=False) == "sk-…6Vv5 sk-…6Vv5"


def test_generic_key_shapes_only_where_asked(scrubber: Scrubber) -> None:
    text = "header Bearer abcdefghijklmnop and sk-unrelated-key-1234"
    assert scrubber.scrub(text, shapes=False) == text
    assert scrubber.scrub(text) == "header …mnop and sk-…1234"


def test_the_process_scrubber_learns_secrets_and_keeps_them() -> None:
    first, second = "sk-first-" + "Ab12" * 6, "sk-second-" + "Cd34" * 6
    remember([first])
    remember([second])
    assert scrub(f"{first} {second}") == f"{mask(first)} {mask(second)}"
    assert scrub_data({"a": [first], second: 1}) == {"a": [mask(first)], mask(second): 1}


def test_a_secret_among_non_ascii_text_is_masked_in_place(scrubber: Scrubber) -> None:
    # "İ" lower-cases to two characters: the offsets of what follows must not move.
    for around in ("déjà vu · ", "İstanbul İ ", "ΣΊΣΥΦΟΣ — ", "ǅ K "):
        for secret in SECRETS:
            for shown in (secret, secret.upper(), bare(secret)[3:14]):
                assert scrubber.scrub(f"{around}{shown}{around}", shapes=False) == \
                    f"{around}{mask(secret)}{around}", (around, shown)


def test_data_is_scrubbed_at_any_depth_and_clean_data_comes_back_as_is() -> None:
    remember(SECRETS)
    rng = random.Random(3)
    disguises = [OR_KEY, bare(PK_KEY)[2:12], quote(VIRTUAL_KEY, safe=""), *encodings(OR_KEY).split(" | "),
                 "Bearer abcdefgh1234", "sk-learn", "plain", "é · İ", ""]

    def value(depth: int) -> Any:
        roll = rng.random()
        if depth > 3 or roll < 0.4:
            return rng.choice([f"a {rng.choice(disguises)} z", rng.choice(disguises), 7, 1.5, None, True])
        if roll < 0.7:
            return {f"{rng.choice(disguises)}{i}": value(depth + 1) for i in range(rng.randint(0, 4))}
        items = [value(depth + 1) for _ in range(rng.randint(0, 4))]
        return items if roll < 0.9 else tuple(items)

    def each(item: Any, shapes: bool) -> Any:  # the plain definition: every string on its own
        if isinstance(item, str):
            return scrub(item, shapes=shapes)
        if isinstance(item, dict):
            return {each(k, shapes): each(v, shapes) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return type(item)(each(v, shapes) for v in item)
        return item

    for _ in range(3000):
        data = value(0)
        for shapes in (False, True):
            assert scrub_data(data, shapes=shapes) == each(data, shapes)
    clean = {"choices": [{"message": {"content": "déjà vu · 17*23 = 391"}}], "usage": (1, 2.5, None)}
    assert scrub_data(clean) is clean


def test_data_is_left_as_is_without_a_secret_to_find_but_shapes_still_masked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gatewise.redact._active", Scrubber(["abc"]))  # too short to look for
    data = {"content": f"{OR_KEY} {quote(OR_KEY, safe='')} %41%42 Bearer abcdefgh1234", "n": [1, "sk-learn"]}
    assert scrub_data(data) is data
    assert scrub_data(data["content"]) is data["content"]
    assert scrub_data(data, shapes=True)["content"] == scrub(data["content"], shapes=True) != data["content"]
    monkeypatch.setattr("gatewise.redact._active", Scrubber([OR_KEY]))
    assert scrub_data(data)["content"].startswith(mask(OR_KEY))


def test_a_string_found_clean_is_searched_again_once_a_new_secret_is_known(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gatewise.redact._active", Scrubber([PK_KEY]))
    answer = {"content": f"the key is {OR_KEY}"}
    assert scrub_data(answer) is answer  # OR_KEY is not known yet: clean, and remembered so
    assert scrub_data(answer) is answer
    remember([OR_KEY])
    assert scrub_data(answer) == {"content": f"the key is {mask(OR_KEY)}"}


class _Planted(BaseModel):
    answer: str
    model: str
    notes: list[str]
    extra: dict[str, str]


@pytest.mark.parametrize("disguise", [OR_KEY, bare(PK_KEY)[3:15], quote(VIRTUAL_KEY, safe=""),
                                      encodings(OR_KEY).split(" | ")[1]])
def test_a_key_in_any_field_of_a_result_leaks_neither_as_structure_nor_as_fenced_text(
        monkeypatch: pytest.MonkeyPatch, disguise: str) -> None:
    monkeypatch.setattr("gatewise.redact._active", Scrubber(SECRETS))
    planted = _Planted(answer=f"x {disguise} y", model=disguise, notes=["a", disguise],
                       extra={disguise: f"<{disguise}>"})
    def fenced(data: dict[str, Any]) -> list[ContentBlock]:
        return [TextContent(type="text", text=fence_json(data, notice="N.", model=disguise))]

    for render in (None, fenced):
        result = tool_result(planted, render)
        wire = scrub_tool_result(result.model_dump(mode="json", by_alias=True, exclude_none=True))
        assert not leaks(json.dumps(wire, ensure_ascii=False)), render
    # A fenced text made of strings never scrubbed is not taken as clean: the exit searches it.
    raw = fence_json(planted.model_dump(), notice="N.", model=disguise)
    assert leaks(raw) and not leaks(scrub_data(raw))


def test_settings_name_every_secret_they_hold(tmp_path: Path) -> None:
    provider_key = "sk-provider-Zz9Yy8Xx7Ww6Vv5"
    token = "AbCdEfGh1234567890XyZ"
    settings = load_settings(
        {}, data_dir=tmp_path, openrouter_api_key=OR_KEY, portkey_api_key=PK_KEY,
        portkey_route={"virtual_key": VIRTUAL_KEY, "config": {"targets": [
            {"provider": "openai", "api_key": provider_key}, {"virtual_key": "vk-second-Qq1Ww2Ee3"}]}},
        budgets={"webhook_url": f"https://hooks.slack.com/services/T0001/B0001/{token}"})
    assert set(settings.secrets) == {OR_KEY, PK_KEY, VIRTUAL_KEY, provider_key, "vk-second-Qq1Ww2Ee3", token}
    # Built settings are known to the process scrubber at once.
    assert provider_key not in scrub(f"echo {provider_key}") and token not in scrub(f"/{token}")


# --- the exits ---------------------------------------------------------------------------------


def test_error_text_is_scrubbed_before_it_is_cut() -> None:
    remember(SECRETS)
    # The key straddles the 300-character cut: cut first, 29 characters of it would survive.
    body = {"error": {"message": "x" * 250 + f" key {OR_KEY}"}}
    err = error_from_response(401, body, provider="openrouter")
    assert not leaks(str(err)) and not leaks(repr(err.args))
    admin = admin_error(401, {"error": {"code": "AB05", "message": "y" * 280 + PK_KEY}},
                        provider="portkey", retry_after=None)
    assert not leaks(str(admin))
    built = GatewiseError(ErrorCode.UPSTREAM_ERROR, f"proxy said {bare(OR_KEY).upper()}",
                          hint=f"retry with {percent_all(PK_KEY)}")
    assert not leaks(str(built)) and not leaks(json.dumps(built.to_dict()))


def test_chat_result_scrubs_answers_and_failures() -> None:
    remember(SECRETS)
    body = {"id": "g", "model": f"m-{OR_KEY}", "choices": [{"finish_reason": "stop", "message": {
        "content": f"your key: {OR_KEY}", "reasoning": bare(OR_KEY),
        "annotations": [{"url_citation": {"url": f"https://x/?k={quote(PK_KEY)}"}}]}}]}
    result = ChatResult.from_body(body, 1.0)
    assert not leaks(json.dumps([result.content, result.model, result.annotations, result.raw]))
    assert mask(OR_KEY) in result.content
    failed = {"choices": [{"finish_reason": "error", "error": {"message": f"bad key {OR_KEY}"}}]}
    with pytest.raises(GatewiseError) as info:
        ChatResult.from_body(failed, 1.0)
    assert not leaks(str(info.value))


def test_log_records_are_scrubbed_with_their_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("gatewise.test.secret_scrub")
    redacting = RedactingFilter(SECRETS)
    caplog.handler.addFilter(redacting)
    with caplog.at_level(logging.DEBUG, logger=logger.name):
        logger.info("calling with %s and %r", OR_KEY, {"k": PK_KEY})
        try:
            raise ValueError(f"upstream echoed {VIRTUAL_KEY} and {bare(OR_KEY)}")
        except ValueError:
            logger.exception("failed for %s", PK_KEY.upper())
        logger.warning("stack", stack_info=True, extra={"x": 1})
        logger.info("%s %s", "too few")  # a bad format is still logged, and scrubbed
    caplog.handler.removeFilter(redacting)
    text = caplog.text + "".join(str(r.msg) + (r.exc_text or "") for r in caplog.records)
    assert not leaks(text), leaks(text)
    assert "Traceback" in caplog.text and "ValueError: upstream echoed" in caplog.text


# --- every server against the hostile upstream ---------------------------------------------------


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileUpstream]:
    with HostileUpstream() as server:
        yield server


def hostile_settings(hostile: HostileUpstream, data_dir: Path) -> Settings:
    return load_settings(
        {}, data_dir=data_dir, log_level="DEBUG",
        openrouter_api_key=OR_KEY, openrouter_base_url=f"{hostile.root_url}/api/v1",
        portkey_api_key=PK_KEY, portkey_base_url=f"{hostile.root_url}/v1",
        portkey_route={"virtual_key": VIRTUAL_KEY},
        # Room for some 40 calls at once into one in-process upstream on a busy machine; a drip
        # still ends at the deadline.
        limits={"max_retries": 0, "connect_timeout_s": 4, "read_timeout_s": 4, "deadline_s": 5},
        search={"default_model": "hostile/answer"})


@pytest.fixture
def production_logging(tmp_path: Path, hostile: HostileUpstream, caplog: pytest.LogCaptureFixture,
                       capsys: pytest.CaptureFixture[str]) -> Iterator[Settings]:
    """Settings for the hostile upstream, with logging set up exactly as a server process does
    (on the stderr capsys captures); caplog's handler goes after the production one, so it sees
    what stderr sees."""
    settings = hostile_settings(hostile, tmp_path / "data")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging(settings)
    root.addHandler(caplog.handler)
    try:
        yield settings
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.captureWarnings(False)


def _png_data_url() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _chat(mode: str) -> dict[str, Any]:
    return {"model": f"hostile/{mode}", "messages": [{"role": "user", "content": "hello"}]}


SERVER_CALLS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "routing_gateway": [
        *[("routed_complete", {"prompt": "say hello", "model": f"hostile/{m}"}) for m in CHAT_MODES],
        *[("routed_complete", {"prompt": "say hello", "model": f"portkey:hostile/{m}"})
          for m in ("err_full", "err_base64", "finish_error", "answer", "garbage", "drip")],
        ("get_gateway_analytics", {}),
    ],
    "openrouter_multimodal": [
        *[("chat_completion", _chat(m)) for m in CHAT_MODES],
        ("analyze_image", {"images": [_png_data_url()], "question": "what?", "model": "hostile/answer"}),
        ("analyze_image", {"images": [_png_data_url()], "question": "what?", "model": "hostile/err_bare"}),
        ("check_account", {}),
    ],
    "openrouter_search": [
        ("web_search", {"query": f"latest news {m}", "model": f"hostile/{m}"})
        for m in ("answer", "err_full", "err_percent", "finish_error", "garbage", "truncated", "drip")
    ],
}
ADMIN_CALLS = [("get_api_keys", {}), ("manage_configs", {"action": "list"})]
# Modes whose every call must fail (the others answer, with the echoes masked).
FAILING_CHAT = set(CHAT_MODES) - {"answer", "huge_answer"}


def _create(server: str, settings: Settings) -> Any:
    module = __import__(f"gatewise.servers.{server}.server", fromlist=["create_server"])
    return module.create_server(settings)


async def _run_all(client: Client, calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Any]]:
    results = await asyncio.gather(*(client.call_tool(tool, args) for tool, args in calls))
    return [(f"{tool} {args.get('model', '')}", r) for (tool, args), r in zip(calls, results, strict=True)]


def _output_text(result: Any) -> str:
    content = [c.model_dump(mode="json") for c in result.content]
    return json.dumps([content, result.structured_content], ensure_ascii=False)


def _assert_clear_failure(label: str, result: Any) -> None:
    text = result.content[0].text
    assert result.is_error, (label, text[:300])
    assert any(f"{code.value}:" in text for code in ErrorCode), (label, text[:300])
    assert "Traceback" not in text


async def test_no_server_leaks_a_key_to_a_hostile_upstream(
        production_logging: Settings, hostile: HostileUpstream, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    settings = production_logging
    outputs: list[tuple[str, str]] = []

    async def drive(server: str) -> None:
        async with Client(_create(server, settings)) as client:
            for label, result in await _run_all(client, SERVER_CALLS[server]):
                outputs.append((f"{server}: {label}", _output_text(result)))
                mode = label.split("/")[-1]
                if server == "openrouter_multimodal" and mode in FAILING_CHAT:
                    _assert_clear_failure(label, result)
                elif server == "openrouter_multimodal" and mode.endswith("answer"):
                    assert not result.is_error, result.content[0].text[:300]
                if mode.endswith("answer") and not result.is_error:  # the echo came, masked
                    assert mask(PK_KEY if "portkey:" in label else OR_KEY) in _output_text(result)

    async def drive_admin() -> None:
        server = __import__("gatewise.servers.portkey_admin.server", fromlist=["create_server"])
        async with Client(server.create_server(settings)) as client:
            for mode in ADMIN_MODES:
                hostile.admin_mode = mode
                for label, result in await _run_all(client, ADMIN_CALLS):
                    outputs.append((f"portkey_admin {mode}: {label}", _output_text(result)))
                    if mode != "echo_list":
                        _assert_clear_failure(f"{mode} {label}", result)
                    elif label.startswith("get_api_keys"):
                        assert mask(PK_KEY) in _output_text(result)

    async with asyncio.timeout(60):  # a hang (a drip never ends) fails here, not the suite
        await asyncio.gather(drive("routing_gateway"), drive("openrouter_multimodal"),
                             drive("openrouter_search"), drive_admin())

    stream = await _stream_through(settings)
    outputs.append(("chat_stream", stream))
    outputs += [("stderr log", capsys.readouterr().err), ("caplog", caplog.text)]
    outputs += [(f"file {p.name}", p.read_bytes().decode("latin-1"))
                for p in sorted(settings.data_dir.rglob("*")) if p.is_file()]
    assert any(name.startswith("file ledger.sqlite3") for name, _ in outputs)
    assert "DEBUG" in dict(outputs)["stderr log"]  # the logs were captured, not lost
    hits = {name: found for name, text in outputs if (found := leaks(text))}
    print(f"secret scan: {sum(len(v) for v in hits.values())} hits in {len(outputs)} outputs")
    assert hits == {}


async def _stream_through(settings: Settings) -> str:
    """A streamed answer carries the key in a chunk, then fails mid-stream naming it."""
    client = OpenRouterClient(settings)
    seen = []
    try:
        with pytest.raises(GatewiseError) as info:
            async for event in client.chat_stream(_chat("answer")):
                seen.append(event)
    finally:
        await client.aclose()
    assert seen and info.value.details.get("mid_stream")
    return json.dumps(seen) + str(info.value)


async def test_a_stream_line_that_never_ends_is_cut_off_at_the_response_bound(
        hostile: HostileUpstream, tmp_path: Path) -> None:
    """A line is held only up to ``limits.max_response_bytes`` of stream: never the whole of a
    line that does not end."""
    settings = load_settings({}, data_dir=tmp_path, openrouter_api_key=OR_KEY,
                             openrouter_base_url=f"{hostile.root_url}/api/v1",
                             limits={"max_response_bytes": 4_000_000, "max_retries": 0, "deadline_s": 10})
    client = OpenRouterClient(settings)
    tracemalloc.start()
    try:
        with pytest.raises(GatewiseError) as info:
            async for _ in client.chat_stream({**_chat("answer"), "model": "hostile/endless_line"}):
                pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        await client.aclose()
    assert info.value.code is ErrorCode.UPSTREAM_ERROR
    assert "streamed answer passed 4,000,000 bytes; it was cut off" in info.value.message
    assert peak < 3 * 4_000_000  # the line up to the bound, not the stream


def test_a_stdio_server_process_keeps_keys_out_of_stderr(hostile: HostileUpstream, tmp_path: Path) -> None:
    """The console script as a client runs it: whatever it logs on stderr is scrubbed."""
    calls = [("routed_complete", {"prompt": "hi", "model": f"hostile/{m}"})
             for m in ("err_full", "err_base64", "garbage", "answer")]
    messages = [
        {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        *[{"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": t, "arguments": a}}
          for i, (t, a) in enumerate(calls, start=1)],
    ]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(OPENROUTER_API_KEY=OR_KEY, OPENROUTER_BASE_URL=f"{hostile.root_url}/api/v1",
               PORTKEY_API_KEY=PK_KEY, PORTKEY_BASE_URL=f"{hostile.root_url}/v1",
               GATEWISE_DATA_DIR=str(tmp_path / "data"), GATEWISE_LOG_LEVEL="DEBUG")
    script = Path(sys.executable).parent / "gatewise-routing-gateway"
    with subprocess.Popen([str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stdin and proc.stdout and proc.stderr
        proc.stdin.write("\n".join(json.dumps(m) for m in messages) + "\n")
        proc.stdin.flush()
        answered: list[dict[str, Any]] = []
        while sum(1 for m in answered if m.get("id", 0) > 0) < len(calls):  # id 0: initialize
            line = proc.stdout.readline()
            assert line, "the server closed stdout early"
            answered.append(json.loads(line))
        proc.stdin.close()
        stdout = json.dumps(answered, ensure_ascii=False) + proc.stdout.read()
        stderr = proc.stderr.read()
    files = "".join(p.read_bytes().decode("latin-1") for p in (tmp_path / "data").rglob("*") if p.is_file())
    assert "DEBUG" in stderr and mask(OR_KEY) in stdout
    assert leaks(stdout) == [] and leaks(stderr) == [] and leaks(files) == []
