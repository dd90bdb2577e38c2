"""Turn untrusted image bytes into something small and safe to send to a vision model.

The format is taken from the content, never the name; the pixel count is checked from the
header before any pixels are decoded, per image here and per call (all its images together)
through :func:`read_header` and :func:`check_call_budget`; large JPEGs are decoded at a reduced
scale (draft mode), which is where most of the time goes. Output is PNG for graphics and anything
transparent, JPEG for photos, and the original bytes (metadata removed) whenever nothing needed
changing.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from gatewise.config import MediaConfig
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.media.metadata import strip_metadata
from gatewise.media.sniff import image_format

_ACCEPTED = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
# Formats a vision API takes as they are, so an unchanged image is sent byte for byte.
_PASS_THROUGH = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg",
                 "WEBP": "image/webp", "GIF": "image/gif"}
_ORIENTATION_TAG = 0x0112
# Photo-vs-graphic heuristic: colours are counted on a nearest-neighbour sample of at most
# 256x256 pixels (no blending, so flat UI areas stay one colour). A graphic or screenshot has
# few distinct colours; a photo's sensor noise and gradients give thousands.
_SAMPLE_SIDE = 256
_GRAPHIC_MAX_COLOURS = 2048
# Colour modes PNG holds and vision APIs read; others (CMYK, YCbCr, LAB, 16-bit and float grey)
# are converted.
_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA"}


@dataclass(frozen=True)
class PreparedImage:
    """The bytes to send and what was done to get them.

    ``original_width``/``original_height`` are as stored in the file (before EXIF rotation);
    ``width``/``height`` are those of ``data``.
    """

    data: bytes
    mime_type: str
    width: int
    height: int
    original_width: int
    original_height: int
    original_format: str
    original_bytes: int
    sent_bytes: int
    resized: bool
    actions: list[str]

    def as_data_url(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"


@dataclass(frozen=True)
class ImageHeader:
    """What decoding one image will take, read from its header without decoding it."""

    pixels: int  # of the frame that will be decoded, JPEGs at their reduced (draft) scale
    decoded_bytes: int  # what those pixels take in memory once decoded


def read_header(data: bytes, settings: MediaConfig, *, source: str = "") -> ImageHeader:
    """The per-image checks of :func:`prepare_image`, and the decode cost it would then have."""
    im = _open_checked(data, settings, source or "the image")
    _draft(im, _target(im.size, settings))
    return _header(im)


def _header(im: Image.Image) -> ImageHeader:
    """What decoding ``im`` as it stands will cost."""
    pixels = im.width * im.height
    return ImageHeader(pixels, pixels * _bytes_per_pixel(im.mode))


def check_call_budget(headers: Sequence[ImageHeader], settings: MediaConfig) -> None:
    """Refuse a call whose images would together decode to more than the per-call budget."""
    count = f"The {len(headers)} images of this call" if len(headers) > 1 else "The image of this call"
    pixels = sum(h.pixels for h in headers)
    decoded = sum(h.decoded_bytes for h in headers)
    if pixels > settings.max_call_pixels:
        over = f"would decode to {pixels:,} pixels; the limit per call is {settings.max_call_pixels:,} " \
               "(media.max_call_pixels)"
    elif decoded > settings.max_call_decoded_bytes:
        over = f"would take {decoded:,} bytes decoded; the limit per call is " \
               f"{settings.max_call_decoded_bytes:,} (media.max_call_decoded_bytes)"
    else:
        return
    raise GatewiseError(ErrorCode.TOO_LARGE, f"{count} {over}. Nothing was decoded.",
                        hint="Send fewer or smaller images in one call.")


def prepare_image(
    data: bytes, settings: MediaConfig, *, keep_animation: bool = False, source: str = ""
) -> PreparedImage:
    """Validate, orient, scale and encode one image within the limits in ``settings``."""
    label = source or "the image"
    im = _open_checked(data, settings, label)
    fmt = im.format or "unknown"
    width, height = im.size
    actions: list[str] = []
    frames = getattr(im, "n_frames", 1) if fmt != "MPO" else 1  # MPO extra frames are previews
    target = _target((width, height), settings)
    if frames > 1 and keep_animation and fmt in ("GIF", "WEBP") and target is None:
        actions.append(f"animation kept ({frames} frames)")
        return _as_is(data, fmt, im.size, actions)
    if frames > 1:
        if keep_animation:
            actions.append("animation too large to keep")
        actions.append(f"first frame of {frames}")

    _draft(im, target)
    _load(im, settings, label)

    # Read after load(): for PNG the eXIf chunk may follow the pixel data.
    orientation = im.getexif().get(_ORIENTATION_TAG, 1)
    rotated = orientation in (2, 3, 4, 5, 6, 7, 8)
    if rotated:
        im = ImageOps.exif_transpose(im)
        actions.append("EXIF orientation applied")
    if target:
        shown = (height, width) if rotated and orientation >= 5 else (width, height)
        target = _scaled(shown, settings.max_long_side)
        if im.mode not in ("L", "LA", "RGB", "RGBA"):  # resampling needs plain grey or RGB pixels
            im = im.convert("RGBA" if _has_transparency(im) else "RGB")
        # Bicubic, as Pillow's thumbnail(): for downscaling it looks like Lanczos at a third less
        # cost, and reducing_gap box-shrinks very large images first. After draft decoding the
        # JPEG decoder has already done the heavy, well-filtered part (a 2-8x DCT-domain
        # reduction), so the remaining step of under 2x takes the cheaper Hamming filter.
        drafted = max(im.size) < max(width, height)
        resample = Image.Resampling.HAMMING if drafted else Image.Resampling.BICUBIC
        im = im.resize(target, resample, reducing_gap=2.0)
        actions.append(f"scaled {shown[0]}x{shown[1]} → {target[0]}x{target[1]}")

    if im.mode not in _PNG_MODES:
        actions.append(f"colour mode {im.mode} converted")
    if not actions and fmt in _PASS_THROUGH:
        return _as_is(data, fmt, im.size, actions)
    out, mime = _encode(im, fmt, settings, actions)
    return _result(out, mime, im.size, (width, height), fmt, actions, resized=target is not None,
                   original_bytes=len(data))


def verify_image(data: bytes, settings: MediaConfig, decoded: list[ImageHeader], *, source: str) -> str:
    """Decode all of an image a model returned, within the limits of ``settings``; return its MIME
    type, read from the content. Only formats a client can show (PNG, JPEG, WebP, GIF) pass.
    ``decoded`` holds the images of the same answer verified before this one, so that together
    they stay within the per-call decode budget; this one joins it."""
    im = _open_checked(data, settings, source)
    mime = _PASS_THROUGH.get(im.format or "")
    if mime is None:
        raise GatewiseError(ErrorCode.UNSUPPORTED_FORMAT,
                            f"{source} is {im.format}, not PNG, JPEG, WebP or GIF.")
    header = _header(im)
    check_call_budget([*decoded, header], settings)
    _load(im, settings, source)
    decoded.append(header)
    return mime


def _load(im: Image.Image, settings: MediaConfig, label: str) -> None:
    """Decode the pixels; a file that ends early or holds broken data is UNSUPPORTED_FORMAT."""
    try:
        im.load()
    except Image.DecompressionBombError:
        raise _too_many_pixels(label, settings) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise _damaged(label, im.format or "image") from None


def _as_is(data: bytes, fmt: str, size: tuple[int, int], actions: list[str]) -> PreparedImage:
    """The original pixels, byte for byte, minus metadata a model has no use for (GPS above all)."""
    sent, removed = strip_metadata(data, fmt)
    if removed:
        actions.append("removed metadata: " + ", ".join(removed))
    return _result(sent, _PASS_THROUGH[fmt], size, size, fmt, actions, resized=False,
                   original_bytes=len(data))


def _open_checked(data: bytes, settings: MediaConfig, label: str) -> Image.Image:
    """The image opened lazily (header only) once its byte and pixel counts are within limits."""
    if len(data) > settings.max_input_bytes:
        raise GatewiseError(
            ErrorCode.TOO_LARGE,
            f"{label} is {len(data):,} bytes; the limit is {settings.max_input_bytes:,} "
            "(media.max_input_bytes).",
        )
    im = _open(data, settings, label)
    width, height = im.size
    if width * height > settings.max_pixels:
        raise GatewiseError(
            ErrorCode.TOO_LARGE,
            f"{label} is {width}x{height} pixels; the limit is {settings.max_pixels:,} pixels "
            "(media.max_pixels).",
        )
    return im


def _open(data: bytes, settings: MediaConfig, label: str) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=_ACCEPTED)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # the warning, if made an error
        raise _too_many_pixels(label, settings) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        announced = image_format(data)
        if announced in _ACCEPTED:  # the right signature, but the header itself is cut or broken
            raise _damaged(label, announced) from None
        accepted = ", ".join(_ACCEPTED)
        raise GatewiseError(
            ErrorCode.UNSUPPORTED_FORMAT,
            f"{label} is not a readable image; accepted formats are {accepted}.",
        ) from None


def _damaged(label: str, fmt: str) -> GatewiseError:
    return GatewiseError(ErrorCode.UNSUPPORTED_FORMAT, f"{label} is a damaged or truncated {fmt} file.",
                         hint="Send the whole file again, or convert it to PNG or JPEG.")


def _too_many_pixels(label: str, settings: MediaConfig) -> GatewiseError:
    """Pillow's own decompression-bomb guard fired: the header claims far more pixels than any limit."""
    return GatewiseError(ErrorCode.TOO_LARGE, f"{label} has too many pixels to decode safely; the limit "
                                              f"is {settings.max_pixels:,} pixels (media.max_pixels).",
                         hint="Send a smaller image.")


def _target(size: tuple[int, int], settings: MediaConfig) -> tuple[int, int] | None:
    """The size to scale down to, or None when the image already fits."""
    return None if max(size) <= settings.max_long_side else _scaled(size, settings.max_long_side)


def _draft(im: Image.Image, target: tuple[int, int] | None) -> None:
    """Have a large JPEG decoded at 1/2, 1/4 or 1/8 scale, still no smaller than ``target``.
    Nothing is decoded here: the decoder is only told the size and mode to produce."""
    if target and im.format in ("JPEG", "MPO"):
        im.draft("RGB", target)


def _bytes_per_pixel(mode: str) -> int:
    """Pillow holds 1, L and P in a byte a pixel, I;16 in two, every other mode in four."""
    return 1 if mode in ("1", "L", "P") else 2 if mode.startswith("I;16") else 4


def _scaled(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    scale = long_side / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _has_transparency(im: Image.Image) -> bool:
    """True when some pixel is actually see-through (an all-opaque alpha channel does not count)."""
    if "A" in im.getbands():
        lowest = im.getchannel("A").getextrema()[0]  # one band: (min, max) as numbers
        return isinstance(lowest, int | float) and lowest < 255
    return "transparency" in im.info


def _looks_like_photo(im: Image.Image, fmt: str) -> bool:
    if fmt in ("JPEG", "MPO"):
        return True
    scale = min(1.0, _SAMPLE_SIDE / max(im.size))
    sample = im.resize(
        (max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.NEAREST
    ).convert("RGB")
    limit = min(_GRAPHIC_MAX_COLOURS, sample.width * sample.height // 4)
    return sample.getcolors(maxcolors=limit) is None


def _encode(im: Image.Image, fmt: str, settings: MediaConfig, actions: list[str]) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    if not _has_transparency(im) and _looks_like_photo(im, fmt):
        if im.mode not in ("L", "RGB"):
            im = im.convert("RGB")
        im.save(buffer, "JPEG", quality=settings.jpeg_quality, optimize=False)
        actions.append(f"encoded as JPEG (quality {settings.jpeg_quality})")
        return buffer.getvalue(), "image/jpeg"
    if im.mode not in _PNG_MODES:
        im = im.convert("RGBA" if _has_transparency(im) else "RGB")
    im.save(buffer, "PNG", compress_level=3)  # a quarter faster than the default 6, ~15 % larger
    actions.append("encoded as PNG")
    return buffer.getvalue(), "image/png"


def _result(
    data: bytes,
    mime: str,
    size: tuple[int, int],
    original: tuple[int, int],
    fmt: str,
    actions: list[str],
    *,
    resized: bool,
    original_bytes: int,
) -> PreparedImage:
    return PreparedImage(
        data=data,
        mime_type=mime,
        width=size[0],
        height=size[1],
        original_width=original[0],
        original_height=original[1],
        original_format=fmt,
        original_bytes=original_bytes,
        sent_bytes=len(data),
        resized=resized,
        actions=actions,
    )
