"""The sandbox's multimodal side over real HTTP: image facts in answers, and image generation."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from gatewise.catalog import Catalog
from gatewise_sandbox import SandboxConfig, SandboxServer

VISION = "google/gemini-2.5-flash"  # text, image and audio in
TEXT_ONLY = "deepseek/deepseek-r1"
IMAGE_OUT = "google/gemini-2.5-flash-image"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with SandboxServer(SandboxConfig(keepalive_s=0.05)) as server, \
            httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def data_url(image: Image.Image, fmt: str = "PNG") -> str:
    out = io.BytesIO()
    image.save(out, fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(out.getvalue()).decode()


def text_image() -> Image.Image:
    image = Image.new("RGB", (400, 200), "white")
    pen = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=22)
    for row, line in enumerate(["Quarterly report 2026", "Revenue up 14 percent",
                                "Costs flat, margin better", "Next review in March"]):
        pen.text((12, 12 + row * 44), line, fill="black", font=font)
    return image


def gradient() -> Image.Image:
    xs = np.linspace(0, 1, 320)[None, :]
    ys = np.linspace(0, 1, 240)[:, None]
    pixels = np.stack([40 + 150 * xs + 0 * ys, 90 + 80 * ys + 0 * xs, 200 - 60 * xs * ys], axis=-1)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def ask(model: str, *parts: dict[str, Any], text: str = "What is in this picture?",
        **extra: Any) -> dict[str, Any]:
    content = [{"type": "text", "text": text}, *parts]
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def content(http: httpx.Client, body: dict[str, Any]) -> str:
    reply = http.post("/chat/completions", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()["choices"][0]["message"]["content"]


def test_red_png_facts(http: httpx.Client) -> None:
    red = data_url(Image.new("RGB", (64, 32), (220, 20, 30)))
    reply = http.post("/chat/completions", json=ask(VISION, image_part(red))).json()
    text = reply["choices"][0]["message"]["content"]
    assert text.startswith(f"[sandbox · {VISION}] Image 1: 64x32 PNG, mostly red,")
    assert "no text-like regions" in text
    assert 'You asked: "What is in this picture?"' in text
    # a small image costs the fixed minimum of 85 tokens on top of the text
    assert reply["usage"]["prompt_tokens"] == 6 + 85


def test_text_on_white_is_text_like(http: httpx.Client) -> None:
    text = content(http, ask(VISION, image_part(data_url(text_image()))))
    assert "400x200 PNG, mostly white" in text
    assert "bright, contains text-like regions" in text


def test_gradient_photo_has_no_text(http: httpx.Client) -> None:
    text = content(http, ask(VISION, image_part(data_url(gradient(), "JPEG"))))
    assert "320x240 JPEG" in text
    assert "no text-like regions" in text


def test_two_images_and_a_url(http: httpx.Client) -> None:
    blue = data_url(Image.new("RGB", (10, 10), (20, 40, 230)))
    parts = (image_part(blue), image_part(data_url(text_image())),
             image_part("https://example.com/cat.jpg"))
    text = content(http, ask(VISION, *parts))
    assert "Image 1: 10x10 PNG, mostly blue" in text
    assert "Image 2: 400x200 PNG" in text
    assert "Image 3: image at example.com not fetched by the sandbox." in text


def test_large_image_tokens_follow_pixels(http: httpx.Client) -> None:
    big = data_url(Image.new("RGB", (750, 400), "green"))
    usage = http.post("/chat/completions", json=ask(VISION, image_part(big))).json()["usage"]
    assert usage["prompt_tokens"] == 6 + 400


def test_audio_is_acknowledged(http: httpx.Client) -> None:
    audio = {"type": "input_audio", "input_audio": {"data": base64.b64encode(b"x" * 300).decode(),
                                                   "format": "wav"}}
    assert "Audio 1: wav audio, 300 bytes." in content(http, ask(VISION, audio))


def test_non_vision_model_refuses_images(http: httpx.Client) -> None:
    """As OpenRouter answers a model none of whose endpoints take the input: 404 no_endpoints, a
    refusal of the model (another may serve it), not of the request."""
    red = data_url(Image.new("RGB", (8, 8), "red"))
    reply = http.post("/chat/completions", json=ask(TEXT_ONLY, image_part(red)))
    assert reply.status_code == 404
    error = reply.json()["error"]
    assert error["code"] == 404
    assert error["message"] == f"No endpoints found for {TEXT_ONLY} that support image input"
    assert error["metadata"]["error_type"] == "no_endpoints"
    # a vision-capable fallback takes over instead
    fallback = ask(TEXT_ONLY, image_part(red), models=[VISION])
    assert http.post("/chat/completions", json=fallback).json()["model"] == VISION


def generate(http: httpx.Client, prompt: str, **extra: Any) -> dict[str, Any]:
    body = {"model": IMAGE_OUT, "messages": [{"role": "user", "content": prompt}],
            "modalities": ["image", "text"], **extra}
    reply = http.post("/chat/completions", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def decode(entry: dict[str, Any]) -> Image.Image:
    header, _, data = entry["image_url"]["url"].partition(",")
    assert header == "data:image/png;base64"
    return Image.open(io.BytesIO(base64.b64decode(data)))


def test_image_generation(http: httpx.Client) -> None:
    reply = generate(http, "A lighthouse at dusk", image_config={"aspect_ratio": "16:9"})
    message = reply["choices"][0]["message"]
    assert message["content"].startswith(f"[sandbox · {IMAGE_OUT}] Here is an image")
    (entry,) = message["images"]
    image = decode(entry)
    assert (image.format, image.size) == ("PNG", (1344, 768))
    usage = reply["usage"]
    assert usage["completion_tokens_details"]["image_tokens"] == 1290
    info = Catalog.snapshot().get(IMAGE_OUT)
    assert info is not None
    assert usage["cost"] == pytest.approx(info.cost(usage["prompt_tokens"],
                                                    usage["completion_tokens"]))
    assert usage["cost"] > 1290 * info.completion_price * 0.99
    again = generate(http, "A lighthouse at dusk", image_config={"aspect_ratio": "16:9"})
    assert again["choices"][0]["message"]["images"] == message["images"]
    other = generate(http, "A lighthouse at dawn", image_config={"aspect_ratio": "16:9"})
    assert other["choices"][0]["message"]["images"] != message["images"]


def test_several_images_default_square_and_streamed(http: httpx.Client) -> None:
    reply = generate(http, "Two cats", n=2)
    entries = reply["choices"][0]["message"]["images"]
    assert [decode(e).size for e in entries] == [(1024, 1024)] * 2
    assert entries[0] != entries[1]
    body = {"model": IMAGE_OUT, "messages": [{"role": "user", "content": "Two cats"}],
            "modalities": ["image", "text"], "stream": True}
    events = [json.loads(line[6:]) for line in http.post("/chat/completions", json=body).text
              .splitlines() if line.startswith("data: {")]
    streamed = [img for e in events for c in e["choices"] for img in c["delta"].get("images", [])]
    assert streamed == entries[:1]


def test_image_output_needs_an_image_model(http: httpx.Client) -> None:
    body = {"model": VISION, "messages": [{"role": "user", "content": "A cat"}],
            "modalities": ["image", "text"]}
    reply = http.post("/chat/completions", json=body)
    assert reply.status_code == 404
    assert reply.json()["error"]["message"] == f"No endpoints found for {VISION} that support image output"
    assert reply.json()["error"]["metadata"]["error_type"] == "no_endpoints"
    ratio = http.post("/chat/completions", json={**body, "model": IMAGE_OUT,
                                                 "image_config": {"aspect_ratio": "7:3"}})
    assert ratio.status_code == 400


def test_oversized_image_is_refused_without_decoding(http: httpx.Client) -> None:
    huge = data_url(Image.new("1", (8000, 6000)))  # 48 MP, but a tiny file
    reply = http.post("/chat/completions", json=ask(VISION, image_part(huge)))
    assert reply.status_code == 400
    assert reply.json()["error"]["metadata"]["error_type"] == "image_too_large"
