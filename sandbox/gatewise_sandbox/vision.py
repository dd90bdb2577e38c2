"""Facts about the media parts of a request: real image measurements, basic audio/video facts.

A vision model in the sandbox answers from what the image really holds (size, format, colours,
brightness, text-like regions), so clients that send pictures get replies they can check.
Nothing is fetched: http(s) URLs are only named.
"""

from __future__ import annotations

import base64
import binascii
import colorsys
import io
import math
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from PIL import Image, UnidentifiedImageError

from gatewise_sandbox.answers import MEDIA_PART_TOKENS
from gatewise_sandbox.checks import BadRequest

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
FORMATS = frozenset({"PNG", "JPEG", "WEBP", "GIF"})  # the formats OpenRouter accepts
# Image prompt tokens: one token per 750 pixels, between one fixed part charge and a cap, so
# a thumbnail costs about as much as any other part and a huge photo does not blow the context.
PIXELS_PER_TOKEN = 750
MAX_IMAGE_TOKENS = 1600
# Which input modality each part type needs; files are parsed for any model, as upstream.
PART_MODALITY = {"image_url": "image", "input_audio": "audio", "video_url": "video",
                 "input_video": "video"}

_COLOUR_SIDE = 64
_TEXT_SIDE = 512
_EDGE_STEP = 96  # a grey-level jump this large between neighbours is a sharp edge
_EDGE_ROW = 6  # a row crossing this many sharp edges looks like it runs through glyphs
_TEXT_ROW_SHARE = 0.03
# Hue bands (upper bound in degrees, name) for saturated colours.
_HUES: tuple[tuple[float, str], ...] = (
    (15, "red"), (45, "orange"), (70, "yellow"), (165, "green"), (195, "cyan"), (255, "blue"),
    (290, "purple"), (335, "pink"), (360, "red"),
)


@dataclass(frozen=True)
class Media:
    """One note per media part of the last user turn, and the cost of all non-text parts."""

    notes: tuple[str, ...] = ()
    tokens: int | None = None  # None: the request has no media parts
    modalities: frozenset[str] = frozenset()


NO_MEDIA = Media()


@dataclass(frozen=True)
class ImageFacts:
    width: int
    height: int
    format: str
    colours: tuple[str, ...]
    brightness: float  # 0 (black) to 1 (white)
    text_like: bool

    def describe(self) -> str:
        colours = " and ".join(self.colours)
        light = "dark" if self.brightness < 0.33 else "bright" if self.brightness > 0.66 else "mid-toned"
        text = "contains text-like regions" if self.text_like else "no text-like regions"
        return f"{self.width}x{self.height} {self.format}, mostly {colours}, {light}, {text}."


def inspect(messages: list[dict[str, Any]]) -> Media:
    """Measure every media part; text-only requests return at once without any decoding."""
    turns = [m.get("content") for m in messages]
    parted = [(i, c) for i, c in enumerate(turns) if isinstance(c, list)
              and any(isinstance(p, dict) and p.get("type") != "text" for p in c)]
    if not parted:
        return NO_MEDIA
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    described = users[-1] if users else len(turns) - 1
    notes: list[str] = []
    tokens = 0
    needed: set[str] = set()
    counters: dict[str, int] = {}
    for index, content in parted:
        for part in content:
            if not isinstance(part, dict) or part.get("type") == "text":
                continue
            kind = str(part["type"])
            if kind in PART_MODALITY:
                needed.add(PART_MODALITY[kind])
            note, part_tokens = _measure(kind, part, analyse=index == described)
            tokens += part_tokens
            if index == described and note:
                label = PART_MODALITY.get(kind, "file").capitalize()
                counters[label] = counters.get(label, 0) + 1
                notes.append(f"{label} {counters[label]}: {note}")
    return Media(tuple(notes), tokens, frozenset(needed))


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _measure(kind: str, part: dict[str, Any], *, analyse: bool) -> tuple[str, int]:
    if kind == "image_url":
        return _image(_url(part.get("image_url")), analyse)
    if kind == "input_audio":
        audio = _object(part.get("input_audio"))
        size = _b64_size(str(audio.get("data") or ""))
        return f"{audio.get('format') or 'unknown'} audio, {size} bytes.", MEDIA_PART_TOKENS
    if kind in ("video_url", "input_video"):
        url = _url(part.get("video_url"))
        if url.startswith("data:"):
            mime, _, data = url[5:].partition(",")
            return f"{mime.split(';')[0] or 'video'}, {_b64_size(data)} bytes.", MEDIA_PART_TOKENS
        return f"video at {_host(url)} not fetched by the sandbox.", MEDIA_PART_TOKENS
    if kind == "file":
        file = _object(part.get("file"))
        return f"{file.get('filename') or 'unnamed file'}.", MEDIA_PART_TOKENS
    return "", MEDIA_PART_TOKENS


def _url(holder: Any) -> str:
    if isinstance(holder, dict):
        return str(holder.get("url") or "")
    return str(holder or "")


def _host(url: str) -> str:
    return urlsplit(url).hostname or "an unknown host"


def _b64_size(data: str) -> int:
    """Decoded byte length, worked out from the base64 text alone."""
    data = data.strip()
    return max(0, len(data) * 3 // 4 - data[-2:].count("="))


def _image(url: str, analyse: bool) -> tuple[str, int]:
    if not url.startswith("data:"):
        return f"image at {_host(url)} not fetched by the sandbox.", MEDIA_PART_TOKENS
    _, _, data = url.partition(",")
    if _b64_size(data) > MAX_IMAGE_BYTES:
        raise BadRequest(f"Image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB",
                         error_type="image_too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(base64.b64decode(data, validate=False)))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadRequest(f"Image has more than {MAX_IMAGE_PIXELS} pixels",
                         error_type="image_too_large") from None
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError):
        return "not a decodable image.", MEDIA_PART_TOKENS
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise BadRequest(f"Image has {width}x{height} pixels, more than {MAX_IMAGE_PIXELS}",
                         error_type="image_too_large")
    if image.format not in FORMATS:
        raise BadRequest(f"Image format {image.format} is not supported; use png, jpeg, webp or gif",
                         error_type="unsupported_image_format")
    tokens = max(MEDIA_PART_TOKENS, min(MAX_IMAGE_TOKENS, math.ceil(width * height / PIXELS_PER_TOKEN)))
    if not analyse:
        return "", tokens
    try:
        return _facts(image).describe(), tokens
    except OSError:  # a truncated file: the header was fine, the pixels are not
        return f"{width}x{height} {image.format}, but its pixel data is damaged.", tokens


def _facts(image: Image.Image) -> ImageFacts:
    image.seek(0)
    rgb = image.convert("RGBA")
    backdrop = Image.new("RGBA", rgb.size, (255, 255, 255, 255))  # transparency shows as white
    flat = Image.alpha_composite(backdrop, rgb).convert("RGB")
    grey = np.asarray(flat.convert("L"), dtype=np.float32)
    return ImageFacts(image.width, image.height, str(image.format), _colours(flat),
                      float(grey.mean()) / 255, _text_like(flat))


def _colours(image: Image.Image) -> tuple[str, ...]:
    """Quantise a 64x64 thumbnail to four colours; name the ones covering at least 15%."""
    thumb = image.resize((_COLOUR_SIDE, _COLOUR_SIDE), Image.Resampling.BOX)
    quantised = thumb.quantize(colors=4, method=Image.Quantize.MEDIANCUT)
    palette = quantised.getpalette() or []
    shares: dict[str, int] = {}
    for count, index in quantised.getcolors() or []:
        if not isinstance(index, int):  # a palette image's colours are indexes; never else
            continue
        r, g, b = palette[index * 3: index * 3 + 3]
        name = colour_name(r, g, b)
        shares[name] = shares.get(name, 0) + count
    ranked = sorted(shares.items(), key=lambda item: (-item[1], item[0]))
    total = _COLOUR_SIDE * _COLOUR_SIDE
    names = [name for name, count in ranked if count >= 0.15 * total][:2]
    return tuple(names or [ranked[0][0]])


def colour_name(r: int, g: int, b: int) -> str:
    """A plain colour word: greys by lightness, other colours by hue band."""
    hue, lightness, saturation = colorsys.rgb_to_hls(r / 255, g / 255, b / 255)
    value = max(r, g, b) / 255
    if value < 0.18:
        return "black"
    if saturation < 0.2 or value - min(r, g, b) / 255 < 0.12:
        return "white" if lightness > 0.85 else "grey"
    degrees = hue * 360
    name = next(label for bound, label in _HUES if degrees <= bound)
    if name in ("orange", "red") and value < 0.55:
        return "brown"
    return name


def _text_like(image: Image.Image) -> bool:
    """Text shows as many rows that cross several sharp light/dark edges within a short span.

    On a greyscale copy (at most 512 pixels wide) a row "looks like text" when it crosses at
    least six neighbour-to-neighbour jumps of 96 grey levels; the image has text-like regions
    when at least 3% of its rows do. Smooth photos and gradients have almost no such jumps and
    plain shapes only cross two per row. Stripes, checkerboards and noisy textures are false
    positives.
    """
    grey = image.convert("L")
    if grey.width > _TEXT_SIDE:
        grey = grey.resize((_TEXT_SIDE, max(1, round(grey.height * _TEXT_SIDE / grey.width))),
                           Image.Resampling.BILINEAR)
    pixels = np.asarray(grey, dtype=np.int16)
    if pixels.shape[1] < 2:
        return False
    edges = np.abs(np.diff(pixels, axis=1)) >= _EDGE_STEP
    rows = (edges.sum(axis=1) >= _EDGE_ROW).sum()
    return bool(rows >= max(2, _TEXT_ROW_SHARE * pixels.shape[0]))
