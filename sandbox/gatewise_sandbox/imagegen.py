"""Deterministic image output: a PNG drawn from a hash of the prompt, sized by aspect ratio.

The same prompt always gives the same bytes, so clients can test caching and storage of images;
the prompt's words are drawn into the picture so a human can tell images apart.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import textwrap
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gatewise_sandbox.checks import BadRequest

# Output tokens charged per image at the model's completion price (Gemini bills a 1024px image
# as 1290 output tokens), so generated images have a visible, catalogue-based cost.
IMAGE_TOKENS = 1290
MAX_IMAGES = 4
# Gemini's sizes at the 1K tier; image_size scales them (4K is drawn at 2K to stay fast).
SIZES: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024), "2:3": (832, 1248), "3:2": (1248, 832), "3:4": (864, 1184),
    "4:3": (1184, 864), "4:5": (896, 1152), "5:4": (1152, 896), "9:16": (768, 1344),
    "16:9": (1344, 768), "21:9": (1536, 672),
}
SCALES: dict[str, float] = {"0.5K": 0.5, "1K": 1.0, "2K": 2.0, "4K": 2.0}


@dataclass(frozen=True)
class ImageRequest:
    """What a chat request asked for through ``modalities`` and ``image_config``."""

    width: int
    height: int
    count: int


def requested(body: dict[str, Any]) -> ImageRequest | None:
    """The image output a chat body asks for, or None when it wants text only."""
    modalities = body.get("modalities")
    if modalities is None:
        return None
    if not isinstance(modalities, list) or not all(isinstance(m, str) for m in modalities):
        raise BadRequest("modalities: expected an array of strings")
    if "image" not in modalities:
        return None
    config = body.get("image_config") or {}
    if not isinstance(config, dict):
        raise BadRequest("image_config: expected an object")
    ratio = config.get("aspect_ratio") or "1:1"
    if ratio not in SIZES:
        raise BadRequest(f"image_config.aspect_ratio: expected one of {', '.join(SIZES)}")
    tier = config.get("image_size") or "1K"
    if tier not in SCALES:
        raise BadRequest(f"image_config.image_size: expected one of {', '.join(SCALES)}")
    count = body.get("n", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_IMAGES:
        raise BadRequest(f"n: expected an integer from 1 to {MAX_IMAGES}")
    width, height = SIZES[ratio]
    scale = SCALES[tier]
    return ImageRequest(round(width * scale), round(height * scale), count)


def images(wanted: ImageRequest, prompt: str) -> list[dict[str, Any]]:
    """``message.images`` entries: PNG data URLs, one per requested image."""
    return [{"type": "image_url", "image_url": {"url": data_url(draw(prompt, wanted.width,
                                                                     wanted.height, i))}}
            for i in range(wanted.count)]


def caption(prompt: str, count: int) -> str:
    subject = " ".join(prompt.split()[:16]) or "an empty prompt"
    noun = "an image" if count == 1 else f"{count} images"
    return f'Here is {noun} for "{subject}" (drawn by the sandbox; no model was called).'


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def draw(prompt: str, width: int, height: int, index: int = 0) -> bytes:
    """A gradient with a few shapes and the prompt's text, all chosen by a hash of the prompt."""
    seed = hashlib.blake2b(f"{index}\n{prompt}".encode(), digest_size=32).digest()
    start = np.array(list(seed[0:3]), dtype=np.float32)
    end = np.array(list(seed[3:6]), dtype=np.float32)
    angle = seed[6] / 255 * 2 * math.pi
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :] * math.cos(angle)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None] * math.sin(angle)
    ramp = xs + ys
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    pixels = start + (end - start) * ramp[..., None]
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    pen = ImageDraw.Draw(image)
    for k in range(3):
        b = seed[8 + 6 * k: 14 + 6 * k]
        x, y = b[0] / 255 * width, b[1] / 255 * height
        r = (0.08 + b[2] / 255 * 0.17) * min(width, height)
        box = (x - r, y - r, x + r, y + r)
        fill = (b[3], b[4], b[5])
        (pen.ellipse if b[2] % 2 else pen.rectangle)(box, fill=fill)
    _caption(pen, prompt, width, height)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)  # fast; the bytes are still deterministic
    return out.getvalue()


def _caption(pen: ImageDraw.ImageDraw, prompt: str, width: int, height: int) -> None:
    size = max(12, width // 32)
    font = ImageFont.load_default(size=size)
    lines = textwrap.wrap(" ".join(prompt.split())[:240], width=max(8, width * 2 // size - 4))[:4]
    if not lines:
        return
    margin = size
    top = height - margin - len(lines) * (size + 4)
    pen.rectangle((0, top - margin // 2, width, height), fill=(255, 255, 255))
    for i, line in enumerate(lines):
        pen.text((margin, top + i * (size + 4)), line, fill=(0, 0, 0), font=font)
