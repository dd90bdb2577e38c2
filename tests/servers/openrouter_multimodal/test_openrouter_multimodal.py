"""openrouter-multimodal through a real in-memory MCP client (protocol-level checks in both eras)."""

from __future__ import annotations

import base64
import functools
import io
import sys
from pathlib import Path

import pytest
from gatewise.servers.openrouter_multimodal.server import create_server
from mcp import Client, StdioServerParameters
from PIL import Image

from gatewise.bounds import format_usd
from gatewise.catalog import Catalog
from gatewise.config import Settings, load_settings
from repo_paths import CONTRACTS
from tool_support import call, check_contract, error_text, ledger_rows, server_env

CONTRACT = CONTRACTS / "openrouter_multimodal_tools.json"
SCRIPT = Path(sys.executable).parent / "gatewise-openrouter-multimodal"
CATALOG = Catalog.snapshot()
SERVER = "openrouter-multimodal"


@pytest.fixture
def mm_settings(tmp_path: Path, sandbox) -> Settings:
    return load_settings({}, data_dir=tmp_path / "data", sandbox_url=sandbox.url,
                         media={"allowed_roots": [str(tmp_path)], "output_root": str(tmp_path / "out")})


@pytest.fixture
def connect(era: str, mm_settings: Settings):
    def factory(settings: Settings | None = None) -> Client:
        return Client(create_server(settings or mm_settings), mode=era)

    return factory


def png(tmp_path: Path, name: str = "red.png", colour: tuple[int, int, int] = (220, 20, 20)) -> Path:
    path = tmp_path / name
    Image.new("RGB", (64, 32), colour).save(path, "PNG")
    return path


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


@pytest.mark.both_eras
async def test_tools_list_matches_the_contract(connect) -> None:
    async with connect() as client:
        current = check_contract((await client.list_tools()).tools, CONTRACT)
        assert len(current) == 9
        assert current["analyze_image"]["annotations"]["readOnlyHint"] is False
        assert current["search_models"]["annotations"]["readOnlyHint"] is True
        assert "answer" in current["analyze_image"]["outputSchema"]["properties"]


async def test_analyze_image_reports_cost_cache_and_ledger(connect, upstream, mm_settings, tmp_path) -> None:
    path = png(tmp_path)
    blue = data_url("image/png", png(tmp_path, "blue.png", (10, 10, 200)).read_bytes())
    args = {"images": [str(path), blue], "question": "What colours are these?"}
    async with connect() as client:
        first = await client.call_tool("analyze_image", args)
        assert not first.is_error, first.content
        out = first.structured_content
        assert "[sandbox" in out["answer"] and out["untrusted_output"] is True
        assert out["provider"] == "sandbox" and out["cache_status"] == "miss"
        assert out["model"] == "mistralai/mistral-small-3.2-24b-instruct"  # cheapest vision model
        assert out["cost_usd"] > 0 and out["tokens_in"] > 0
        assert [i["source"] for i in out["images"]] == [str(path), "image 2 (data URL)"]
        assert out["images"][0]["original_size"] == "64x32" and out["images"][0]["original_format"] == "PNG"
        assert "<untrusted_model_output" in first.content[0].text
        second = await client.call_tool("analyze_image", args)
        assert second.structured_content["cache_status"] == "hit_exact"
        assert second.structured_content["answer"] == out["answer"]
        assert second.structured_content["cost_usd"] == 0
        fresh = await client.call_tool("analyze_image", {**args, "force_refresh": True})
        assert fresh.structured_content["cache_status"] == "refresh"
    rows = await ledger_rows(mm_settings)
    assert {r.server for r in rows} == {SERVER} and len(rows) == 3
    assert sorted(r.cache_status for r in rows) == ["hit_exact", "miss", "refresh"]


async def test_analyze_image_refuses_bad_sources(connect, upstream, tmp_path) -> None:
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    async with connect() as client:
        ask = {"question": "What is this?"}
        assert "UNSAFE_PATH" in await error_text(client, "analyze_image", {**ask, "images": ["/etc/passwd"]})
        assert "UNSAFE_URL" in await error_text(client, "analyze_image",
                                                {**ask, "images": ["http://127.0.0.1/x.png"]})
        assert "UNSUPPORTED_FORMAT" in await error_text(client, "analyze_image",
                                                        {**ask, "images": [str(corrupt)]})
        text = await error_text(client, "analyze_image",
                                {**ask, "images": [str(png(tmp_path))], "model": "gpt-5-nanoo"})
        assert "NOT_FOUND" in text and "openai/gpt-5-nano" in text
        text = await error_text(client, "analyze_image", {**ask, "images": [str(png(tmp_path))],
                                                          "model": "deepseek/deepseek-r1"})
        assert "INVALID_INPUT" in text and "does not accept image input" in text


@functools.cache
def bilevel_bomb() -> bytes:
    """A 10000x10000 1-bit PNG: 12 KB to send, 100 million pixels to decode."""
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, "PNG")
    return buffer.getvalue()


# As in production, where Pillow only warns (on stderr) about an image this size.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
async def test_many_small_bombs_in_one_call_are_refused_before_decoding(connect, upstream,
                                                                         mm_settings) -> None:
    images = [data_url("image/png", bilevel_bomb())] * 16  # each alone is within media.max_pixels
    async with connect() as client:
        text = await error_text(client, "analyze_image", {"images": images, "question": "What is it?"})
    assert "TOO_LARGE" in text and "media.max_call_pixels" in text and "Nothing was decoded" in text
    assert upstream.stats()["totals"]["requests"] == 0
    assert await ledger_rows(mm_settings) == []


async def test_chat_completion(connect, upstream, mm_settings) -> None:
    async with connect() as client:
        result = await client.call_tool("chat_completion", {
            "model": "openai/gpt-5-nano", "messages": [{"role": "user", "content": "What is 6*7?"}],
            "models": ["openai/gpt-4o-mini"], "provider": {"sort": "price"}})
        assert not result.is_error, result.content
        out = result.structured_content
        assert "[sandbox" in out["content"] and out["untrusted_output"] is True
        assert out["cost_usd"] > 0 and out["citations"] == []
        searched = await call(client, "chat_completion", {
            "model": "openai/gpt-5-nano", "tools": [{"type": "openrouter:web_search"}],
            "messages": [{"role": "user", "content": "SQLite WAL concurrency"}]})
        assert [c["number"] for c in searched["citations"]] == [1, 2]
        assert all(searched["content"][c["position"]:].startswith("[") for c in searched["citations"])
        text = await error_text(client, "chat_completion", {
            "model": "openai/gpt-5-nano", "messages": [{"content": "no role"}]})
        assert "INVALID_INPUT" in text
        assert "NOT_FOUND" in await error_text(client, "chat_completion", {
            "model": "nope/nothing-like-it", "messages": [{"role": "user", "content": "hi"}]})
    rows = await ledger_rows(mm_settings)
    assert [(r.server, r.tool, r.status) for r in rows] == [(SERVER, "chat_completion", "ok")] * 2


# URLs the provider would fetch on the gateway's behalf; each must be refused before it is sent.
FORWARD_REFUSED = [
    "http://127.0.0.1/clip.mp4", "http://10.0.0.7/clip.mp4", "https://172.16.5.4/", "http://192.168.0.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.64.0.1/", "http://224.0.0.1/", "http://0.0.0.0/", "http://[::]/", "http://[::1]/",
    "http://[fe80::1]/", "http://[ff02::1]/",
    "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://0x7f000001/", "http://127.1/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:a9fe:a9fe]/", "http://[64:ff9b::a9fe:a9fe]/",
    "http://localhost/", "http://LOCALHOST./", "http://media.localhost/", "http://printer.local/",
    "http://metadata.google.internal/computeMetadata/v1/", "http://metadata/", "http://\u24dbocalhost/",
    "http://user:pw@example.com/", "ftp://example.com/clip.mp4", "gopher://example.com/_", "file:///etc/passwd",
]
VIDEO_MODEL = "google/gemini-2.5-flash-lite"
TEXT_ONLY = "deepseek/deepseek-r1"


def _chat(*parts: dict) -> dict:
    return {"model": VIDEO_MODEL, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in these?"}, *parts]}]}


async def test_urls_the_provider_fetches_pass_the_url_policy(connect, upstream, mm_settings) -> None:
    async with connect() as client:
        for url in FORWARD_REFUSED:
            text = await error_text(client, "analyze_video", {"video": url})
            assert "UNSAFE_URL" in text, (url, text)
            image = {"type": "image_url", "image_url": {"url": url}}
            text = await error_text(client, "chat_completion", _chat(image))
            assert "UNSAFE_URL" in text and "messages[0] image_url" in text, (url, text)
        for part in ({"type": "video_url", "video_url": {"url": "http://169.254.169.254/"}},
                     {"type": "input_video", "video_url": {"url": "http://0x7f.1/"}},
                     {"type": "file", "file": {"filename": "a.pdf", "file_data": "http://localhost/a.pdf"}}):
            assert "UNSAFE_URL" in await error_text(client, "chat_completion", _chat(part)), part
        bad_data = _chat({"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}})
        assert "INVALID_INPUT" in await error_text(client, "chat_completion", bad_data)
        not_video = data_url("text/html", b"<script>")
        assert "UNSUPPORTED_FORMAT" in await error_text(client, "analyze_video", {"video": not_video})
        assert upstream.stats()["totals"]["requests"] == 0
        assert await ledger_rows(mm_settings) == []

        # Public URLs still go to the provider as they are (the sandbox names what it was given).
        clip = await call(client, "analyze_video", {"video": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"})
        assert "video at www.youtube.com" in clip["answer"] and clip["media_bytes"] == 0
        chat = await call(client, "chat_completion", _chat(
            {"type": "image_url", "image_url": {"url": "https://upload.wikimedia.org/cat.png"}},
            {"type": "video_url", "video_url": {"url": "https://www.youtube.com/watch?v=x"}},
            {"type": "file", "file": {"filename": "a.pdf", "file_data": "https://example.com/a.pdf"}}))
        assert "image at upload.wikimedia.org" in chat["content"]
        assert "video at www.youtube.com" in chat["content"]


@pytest.mark.parametrize(("part", "problem"), [
    ({"type": "image_url", "image_url": "http://[::1]/a.png"},
     "messages[0].content[1]: image_url parts need `image_url` as an object, not 'http://[::1]/a.png'."),
    ("a bare string",
     "messages[0].content[1]: expected a part object ({\"type\": ...}), not 'a bare string'."),
    ({"type": "input_audio", "input_audio": {"data": "UklGRg=="}},
     "messages[0].content[1]: input_audio parts need input_audio.format as a non-empty string."),
    ({"type": "file", "file": {"filename": "a.pdf"}},
     "messages[0].content[1]: file parts need file.file_data or file.file_id as a non-empty string."),
])
async def test_chat_completion_refuses_a_malformed_part_before_any_call(connect, upstream, mm_settings, part,
                                                                        problem: str) -> None:
    async with connect() as client:
        text = await error_text(client, "chat_completion", _chat(part))
    assert f"INVALID_INPUT: {problem}" in text
    assert upstream.received() == [] and await ledger_rows(mm_settings) == []


async def test_chat_completion_input_a_model_lacks_is_its_own_refusal(connect, upstream, mm_settings) -> None:
    """OpenRouter answers 404 no_endpoints for a model none of whose endpoints take the input."""
    image = {"type": "image_url", "image_url": {"url": data_url("image/png", b"\x89PNG")}}
    args = {**_chat(image), "model": TEXT_ONLY}
    async with connect() as client:
        text = await error_text(client, "chat_completion", args)
    assert (f"NOT_FOUND: sandbox answered HTTP 404: No endpoints found for {TEXT_ONLY} that support "
            "image input") in text
    assert [r["model"] for r in upstream.received()] == [TEXT_ONLY]
    assert [(r.model, r.error_code) for r in await ledger_rows(mm_settings)] == [(TEXT_ONLY, "NOT_FOUND")]


async def test_catalogue_tools(connect, upstream) -> None:
    async with connect() as client:
        found = await call(client, "search_models", {"input_modalities": ["audio"], "limit": 1})
        assert found["total"] >= 1 and len(found["models"]) == 1
        assert "audio" in found["models"][0]["input_modalities"]
        assert found["next_offset"] == (1 if found["total"] > 1 else None)
        tools = await call(client, "search_models", {"supported_parameters": ["tools"],
                                                           "max_price_per_million": 1})
        assert all(m["prompt_per_million"] <= 1 for m in tools["models"])
        images = await call(client, "search_models", {"output_modalities": ["image"]})
        assert [m["id"] for m in images["models"]] == ["google/gemini-2.5-flash-image"]

        info = await call(client, "get_model_info", {"model": "gpt-5-nano"})
        assert info["id"] == "openai/gpt-5-nano" and info["supported_parameters"]
        assert "NOT_FOUND" in await error_text(client, "get_model_info", {"model": "gpt-5-nanoo"})

        ok = await call(client, "validate_model", {"model": "openai/gpt-5-nano:nitro"})
        assert ok["valid"] and ok["variant"] == "nitro" and ok["model_id"] == "openai/gpt-5-nano:nitro"
        free = await call(client, "validate_model", {"model": "openai/gpt-5-nano:free"})
        assert not free["valid"] and "free" in free["reason"]
        odd = await call(client, "validate_model", {"model": "openai/gpt-5-nano:turbo"})
        assert not odd["valid"] and "not an OpenRouter variant" in odd["reason"]
        typo = await call(client, "validate_model", {"model": "gpt-5-nanoo"})
        assert not typo["valid"] and "openai/gpt-5-nano" in typo["suggestions"]
        assert "limit" in await error_text(client, "search_models", {"limit": 0})


async def test_check_account(connect, upstream) -> None:
    async with connect() as client:
        out = await call(client, "check_account", {})
        assert out["provider"] == "sandbox" and out["key"] == "none (local sandbox)"
        assert out["total_credits_usd"] == 100.0 and out["balance_usd"] is not None


async def test_generate_image(connect, upstream, mm_settings, tmp_path) -> None:
    async with connect() as client:
        result = await client.call_tool("generate_image", {"prompt": "a red cube", "aspect_ratio": "1:1",
                                                           "save": True})
        assert not result.is_error, result.content[0].text
        out = result.structured_content
        assert out["model"] == "google/gemini-2.5-flash-image" and out["cost_usd"] > 0
        assert any(c.type == "image" for c in result.content)
        saved = [Path(i["saved_path"]) for i in out["images"]]
        assert saved and all(p.is_file() and p.is_relative_to(tmp_path / "out") for p in saved)
        styled = await client.call_tool("generate_image", {"prompt": "the same cube, blue",
                                                           "reference_images": [str(png(tmp_path))]})
        assert not styled.is_error and styled.structured_content["images"]
        assert "UNSAFE_PATH" in await error_text(client, "generate_image",
                                                 {"prompt": "x", "reference_images": ["/etc/hosts"]})
        assert "INVALID_INPUT" in await error_text(client, "generate_image",
                                                   {"prompt": "x", "model": "openai/gpt-5-nano"})
    rows = await ledger_rows(mm_settings)
    assert [(r.server, r.tool) for r in rows] == [(SERVER, "generate_image")] * 2
    unsaved = mm_settings.model_copy(update={"media": mm_settings.media.model_copy(
        update={"output_root": None})})
    async with Client(create_server(unsaved)) as client:
        text = await error_text(client, "generate_image", {"prompt": "x", "save": True})
        assert "CONFIG_ERROR" in text
    assert len(await ledger_rows(mm_settings)) == 2  # refused before any paid call


async def test_analyze_audio_and_video(connect, upstream, mm_settings, tmp_path) -> None:
    wav = tmp_path / "clip.wav"
    wav.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32))
    async with connect() as client:
        out = (await client.call_tool("analyze_audio", {"audio": str(wav)})).structured_content
        assert "[sandbox" in out["answer"] and out["model"] == "google/gemini-2.5-flash-lite"
        assert out["media_bytes"] == wav.stat().st_size and out["cost_usd"] > 0
        by_url = await client.call_tool("analyze_audio", {"audio": data_url("audio/wav", wav.read_bytes())})
        assert not by_url.is_error
        assert "INVALID_INPUT" in await error_text(client, "analyze_audio",
                                                   {"audio": "https://example.com/a.mp3"})
        assert "UNSAFE_PATH" in await error_text(client, "analyze_audio", {"audio": "/etc/hosts.wav"})
        text = await error_text(client, "analyze_audio", {"audio": str(png(tmp_path))})
        assert "INVALID_INPUT" in text and "holds no audio" in text
        video = tmp_path / "clip.mp4"
        video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(16))
        clip = (await client.call_tool("analyze_video", {"video": str(video)})).structured_content
        assert "[sandbox" in clip["answer"] and clip["cost_usd"] > 0
        assert CATALOG.get(clip["model"]).supports("video")
        text = await error_text(client, "analyze_video", {"video": str(video), "model": "openai/gpt-5-nano"})
        assert "INVALID_INPUT" in text and "video" in text
        assert "UNSAFE_PATH" in await error_text(client, "analyze_video", {"video": "/etc/clip.mp4"})
        assert "UNSAFE_URL" in await error_text(client, "analyze_video", {"video": "ftp://host/clip.mp4"})
    rows = await ledger_rows(mm_settings)
    assert sorted((r.server, r.tool) for r in rows) == [(SERVER, "analyze_audio")] * 2 + [
        (SERVER, "analyze_video")]


async def test_console_script_over_stdio(sandbox, tmp_path: Path) -> None:
    env = server_env(sandbox.url, tmp_path)
    async with Client(StdioServerParameters(command=str(SCRIPT), args=[], env=env)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"analyze_image", "check_account", "generate_image"} <= names
        result = await client.call_tool("validate_model", {"model": "openai/gpt-5-nano:online"})
        assert result.structured_content["valid"]


IMAGE_MODEL = min((m for m in CATALOG.models.values() if "image" in m.output_modalities
                   and "text" in m.output_modalities), key=lambda m: (m.blended_price, m.id)).id
HOSTILE_IMAGES = [data_url("text/html", b"<script>alert(document.cookie)</script>"),
                  data_url("image/png", b"\x89PNG\r\n\x1a\n" + b"garbage!" * 2 + bytes(6)),  # 30 bytes
                  "file:///etc/passwd", "http://169.254.169.254/x.png", "https://cdn.example.com/cat.png"]
DROPPED = ("Dropped 4 of the {total} images the model returned: declared 'text/html', not an image type (1); "
           "not a whole PNG, JPEG, WebP or GIF image (1); a file: link, not http(s) (1); a link to a "
           "local, private or invalid host (1).")


async def test_returned_images_are_checked_before_they_are_shown_or_saved(connect, upstream,
                                                                           tmp_path) -> None:
    picture = data_url("image/jpeg", png(tmp_path).read_bytes())  # a PNG, whatever it is called
    upstream.tamper(images=[picture, *HOSTILE_IMAGES])
    async with connect() as client:
        made = await client.call_tool("generate_image", {"prompt": "a cat", "save": True})
        chat = await client.call_tool("chat_completion", {
            "model": IMAGE_MODEL, "modalities": ["image", "text"],
            "messages": [{"role": "user", "content": "draw a cat"}]})
    assert not made.is_error and not chat.is_error, (made.content, chat.content)
    out = made.structured_content
    assert [(i.get("mime_type"), i.get("url")) for i in out["images"]] == [
        ("image/png", None), (None, "https://cdn.example.com/cat.png")]
    assert out["warnings"] == [DROPPED.format(total=6)]
    assert [(c.type, c.mime_type) for c in made.content if c.type == "image"] == [("image", "image/png")]
    saved = sorted((tmp_path / "out").iterdir())
    assert len(saved) == 1 and saved[0].name.endswith("-1.png")
    assert out["images"][0]["saved_path"] == str(saved[0])
    assert saved[0].read_bytes() == png(tmp_path).read_bytes()
    assert chat.structured_content["images"] == ["image/png"]
    assert chat.structured_content["warnings"] == [DROPPED.format(total=6)]
    assert [c.mime_type for c in chat.content if c.type == "image"] == ["image/png"]


async def test_an_answer_with_no_usable_image_is_an_error_that_names_the_cost(connect, upstream, mm_settings,
                                                                             tmp_path) -> None:
    upstream.tamper(images=HOSTILE_IMAGES[:4])
    async with connect() as client:
        text = await error_text(client, "generate_image", {"prompt": "a cat", "model": IMAGE_MODEL,
                                                           "save": True})
    assert text.startswith(f"Error executing tool generate_image: UPSTREAM_ERROR: {IMAGE_MODEL}: the model "
                           f"returned no usable image. {DROPPED.format(total=4)} The call cost $")
    assert "<script>" not in text and not (tmp_path / "out").exists()
    (row,) = await ledger_rows(mm_settings)
    assert row.tool == "generate_image" and row.cost_usd > 0 and format_usd(row.cost_usd) in text


async def test_audio_and_video_are_checked_by_content_before_any_call(connect, upstream, mm_settings,
                                                                      tmp_path) -> None:
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"just some text..\n")
    wav = data_url("audio/wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32))
    text_mp4 = tmp_path / "text.mp4"
    text_mp4.write_bytes(b"hello")
    async with connect() as client:
        for args, said in (({"audio": str(fake)}, "holds no audio"),
                           ({"audio": "data:audio/wav;base64,anVuaw=="}, "holds no audio"),
                           ({"audio": wav, "audio_format": "mp3"},
                            "audio_format is 'mp3' but the audio is wav")):
            text = await error_text(client, "analyze_audio", args)
            assert "INVALID_INPUT" in text and said in text, text
        text = await error_text(client, "analyze_video", {"video": str(text_mp4)})
        assert "INVALID_INPUT" in text and "holds no video" in text
    assert upstream.stats()["totals"]["requests"] == 0
    assert await ledger_rows(mm_settings) == []


async def test_long_hosts_are_quoted_briefly_and_upper_case_data_urls_work(connect, upstream,
                                                                            tmp_path) -> None:
    shout = data_url("image/png", png(tmp_path).read_bytes()).replace("data:image/png;base64",
                                                                     "DATA:IMAGE/PNG;BASE64")
    long_host = "http://" + "d" * 5000 + ".com/x"
    local = "http://" + "c" * 60 + "." + "c" * 60 + ".internal/x.mp4"
    part = {"type": "image_url", "image_url": {"url": local}}
    async with connect() as client:
        ok = await call(client, "analyze_image", {"images": [shout], "question": "What colour?"})
        (report,) = ok["images"]
        assert (report["source"], report["original_format"]) == ("image 1 (data URL)", "PNG")
        for tool, args in (("analyze_image", {"images": [long_host], "question": "q"}),
                           ("analyze_video", {"video": local}),
                           ("chat_completion", {"model": "openai/gpt-5-nano",
                                                "messages": [{"role": "user", "content": [part]}]})):
            text = await error_text(client, tool, args)
            assert "UNSAFE_URL" in text and "c" * 61 not in text and "d" * 61 not in text and len(text) < 400
