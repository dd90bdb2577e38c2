"""Load media a caller names (local path, http(s) URL or data: URL) within the media sandbox."""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

from gatewise.config import MediaConfig
from gatewise.errors import ErrorCode, GatewiseError, quoted
from gatewise.media.fetch import fetch_url
from gatewise.media.paths import read_allowed
from gatewise.media.sniff import audio_format, video_type
from gatewise.media.urls import check_url
from gatewise.upstream.chat import AudioPart, VideoPart

if TYPE_CHECKING:
    from gatewise.media.image import ImageHeader, PreparedImage

T = TypeVar("T")

_WEB_SCHEMES = ("http://", "https://")
# RFC 3986's scheme syntax, at least two characters (one is a Windows drive letter).
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]+):")
AudioFormat = Literal["wav", "mp3", "flac", "m4a", "ogg", "aac", "aiff"]  # OpenRouter's input_audio.format
AUDIO_FORMATS: tuple[str, ...] = get_args(AudioFormat)
VIDEO_FORMATS = "mp4, webm, mov or mpeg"


@dataclass(frozen=True)
class LoadedImage:
    label: str  # how reports name the image: the path or URL, never a data URL's payload
    image: PreparedImage


@dataclass(frozen=True)
class RawMedia:
    data: bytes
    mime_type: str | None  # from a data: URL header; None for a local file


def is_data_url(source: str) -> bool:
    """URL schemes are case-insensitive: ``DATA:IMAGE/PNG;BASE64,...`` is a data URL too."""
    return source[:5].lower() == "data:"


def label_of(source: str, index: int) -> str:
    return f"image {index + 1} (data URL)" if is_data_url(source) else source


def decode_data_url(source: str) -> RawMedia:
    header, sep, payload = source.partition(",")
    header = header.lower()
    if not sep or not header.endswith(";base64"):
        raise GatewiseError(ErrorCode.INVALID_INPUT,
                            "A data URL must look like data:<type>;base64,<payload>.")
    try:
        data = base64.b64decode(payload.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise GatewiseError(ErrorCode.INVALID_INPUT, "The data URL's payload is not valid base64.") from None
    mime = header.removeprefix("data:").removesuffix(";base64").strip() or None
    return RawMedia(data, mime)


def read_local(source: str, media: MediaConfig) -> bytes:
    return read_allowed(source, media.allowed_roots, media.max_input_bytes)


def _refuse_other_schemes(source: str) -> None:
    """A source that starts like a URL of another scheme (``gopher://``, ``javascript:``,
    ``mailto:``) is a URL, not a file name: refused by its scheme. One letter before the colon is
    a Windows drive, and a file whose name starts like a scheme is written ``./name``."""
    scheme = _URL_SCHEME.match(source)
    if scheme is not None:
        raise GatewiseError(ErrorCode.UNSAFE_URL, f"Only http(s) URLs are fetched, not "
                                                  f"{quoted(scheme.group(1).lower())} URLs.",
                            hint="Give an http(s) or data: URL, or a local path (./name for a file "
                                 "whose name contains a colon).")


async def load_images(sources: Sequence[str], media: MediaConfig) -> list[LoadedImage]:
    """Read the images of one call and prepare them for a vision model, within the call's budget.

    All are read first and their headers checked against the per-call budget
    (media.max_call_pixels, media.max_call_decoded_bytes), so a call that would decode too much
    is refused before anything is decoded. Decoding then runs in the shared decode threads one
    image at a time: a call never holds more than one thread or queue place, so a call with many
    images delays each other call by one image at most.
    """
    read = await asyncio.gather(*(_read_image(source, media, i) for i, source in enumerate(sources)))
    return await _prepare(read, media)


async def _read_image(source: str, media: MediaConfig, index: int) -> tuple[str, bytes]:
    """(label, bytes) of one image from wherever ``source`` points."""
    source = source.strip()
    if not source:
        raise GatewiseError(ErrorCode.INVALID_INPUT, f"Image {index + 1} is empty.")
    label = label_of(source, index)
    if is_data_url(source):
        return label, decode_data_url(source).data
    if source.lower().startswith(_WEB_SCHEMES):
        return label, (await fetch_url(source, media)).content
    _refuse_other_schemes(source)
    return label, await asyncio.to_thread(read_local, source, media)


async def _prepare(read: Sequence[tuple[str, bytes]], media: MediaConfig) -> list[LoadedImage]:
    if not read:
        return []
    # Imported with the first image rather than at start-up: it loads Pillow.
    from gatewise.media.image import check_call_budget, prepare_image

    check_call_budget(await in_decoders(media, _headers, read, media), media)
    return [LoadedImage(label, await in_decoders(media, prepare_image, data, media, source=label))
            for label, data in read]


def _headers(read: Sequence[tuple[str, bytes]], media: MediaConfig) -> list[ImageHeader]:
    from gatewise.media.image import read_header  # loaded by _prepare already

    return [read_header(data, media, source=label) for label, data in read]


@functools.cache
def _decoders(workers: int) -> ThreadPoolExecutor:
    """The threads that decode images, shared by every call of the process: however many calls
    arrive, at most this many images are decoded at once (CPU and memory stay bounded)."""
    return ThreadPoolExecutor(workers, thread_name_prefix="gatewise-decode")


async def in_decoders(media: MediaConfig, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` in the decode threads: off the event loop, queued behind at most one job per call."""
    executor = _decoders(media.decode_workers)
    return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(fn, *args, **kwargs))


def audio_part(source: str, media: MediaConfig, declared: str | None) -> tuple[AudioPart, int]:
    """An ``input_audio`` part (raw base64, never a URL) and the byte count sent. The format is
    read from the bytes (a name or data URL type may be wrong); ``declared``, when given, must
    agree with them."""
    source = source.strip()
    if source.lower().startswith(_WEB_SCHEMES):
        raise GatewiseError(ErrorCode.INVALID_INPUT,
                            "Audio cannot be sent as a URL; give a local file path or a data: URL.")
    if is_data_url(source):
        data, label = decode_data_url(source).data, "The data URL"
    else:
        _refuse_other_schemes(source)
        data, label = read_local(source, media), quoted(source, end=True)
    _check_size(data, media, "The audio")
    fmt = audio_format(data)
    if fmt is None:
        raise GatewiseError(ErrorCode.INVALID_INPUT, f"{label} holds no audio this tool reads "
                            f"({', '.join(AUDIO_FORMATS)}): its first bytes match none.",
                            hint="Send a whole audio file in one of those formats.")
    if declared is not None and declared.lower() != fmt:
        raise GatewiseError(ErrorCode.INVALID_INPUT,
                            f"audio_format is {quoted(declared)} but the audio is {fmt}.",
                            hint=f"Pass audio_format {fmt!r}, or leave it out: it is read from the file.")
    encoded = base64.b64encode(data).decode("ascii")
    return {"type": "input_audio", "input_audio": {"data": encoded, "format": fmt}}, len(data)


def video_part(source: str, media: MediaConfig) -> tuple[VideoPart, int]:
    """A ``video_url`` part: web URLs go as they are (the provider fetches them), files as base64
    with the type read from their bytes."""
    source = source.strip()
    if is_data_url(source) or source.lower().startswith(_WEB_SCHEMES):
        return {"type": "video_url", "video_url": {"url": source}}, forwarded_size(source, media, "video/")
    _refuse_other_schemes(source)
    data = read_local(source, media)
    mime = _video_type(data, quoted(source, end=True))
    url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return {"type": "video_url", "video_url": {"url": url}}, len(data)


def _video_type(data: bytes, label: str) -> str:
    mime = video_type(data)
    if mime is None:
        raise GatewiseError(ErrorCode.INVALID_INPUT,
                            f"{label} holds no video this tool reads ({VIDEO_FORMATS}): its first bytes "
                            "match none.", hint="Send a whole video file in one of those formats.")
    return mime


def _check_size(data: bytes, media: MediaConfig, what: str) -> None:
    if len(data) > media.max_input_bytes:
        raise GatewiseError(ErrorCode.TOO_LARGE, f"{what} holds {len(data):,} bytes; the limit is "
                                                 f"{media.max_input_bytes:,} (media.max_input_bytes).")


# Content-part fields whose URL the provider fetches, with the MIME family a data: URL must have.
_FORWARDED_FIELDS = {"image_url": ("url", "image/"), "video_url": ("url", "video/"),
                     "file": ("file_data", "")}


def forwarded_size(url: str, media: MediaConfig, mime_family: str) -> int:
    """Vet a URL the provider will fetch; return the bytes it carries inline (0 for a web URL).

    A web URL must pass the same URL policy as the URLs fetched here, by name and literal address
    only: the provider resolves it from its own network, so a lookup here would not tell what it
    will reach (and rebinding could change the answer in between). A data: URL must be base64 of
    ``mime_family`` within media.max_input_bytes.
    """
    if not is_data_url(url):
        check_url(url)
        return 0
    raw = decode_data_url(url)
    if not (raw.mime_type or "").startswith(mime_family):
        raise GatewiseError(ErrorCode.UNSUPPORTED_FORMAT,
                            f"The data URL does not hold a {mime_family}* type.")
    _check_size(raw.data, media, "The data URL")
    if mime_family == "video/":  # sent on undecoded: its signature is the only check before paying
        detected = _video_type(raw.data, "The data URL")
        if detected != raw.mime_type:
            raise GatewiseError(ErrorCode.INVALID_INPUT, f"The data URL says {quoted(raw.mime_type)} but "
                                                         f"holds {detected}.",
                                hint=f"Label it data:{detected};base64,…")
    return len(raw.data)


def check_forwarded_parts(messages: Sequence[Mapping[str, Any]], media: MediaConfig) -> None:
    """Vet every URL in chat ``messages`` that the provider would fetch (see :func:`forwarded_size`):
    image, video and file parts of the content, and images carried over from earlier answers."""
    for i, message in enumerate(messages):
        content = message.get("content")
        parts = [*(content if isinstance(content, list) else []), *(message.get("images") or [])]
        for part in parts:
            for key, (field, mime_family) in _FORWARDED_FIELDS.items():
                holder = part.get(key) if isinstance(part, dict) else None
                url = holder.get(field) if isinstance(holder, dict) else holder
                if url is None:  # no such part, or a file sent by id
                    continue
                try:
                    if not isinstance(url, str):
                        raise GatewiseError(ErrorCode.INVALID_INPUT, "the URL must be a string.")
                    forwarded_size(url, media, mime_family)
                except GatewiseError as exc:
                    raise GatewiseError(exc.code, f"messages[{i}] {key}: {exc.message}",
                                        hint=exc.hint) from None
